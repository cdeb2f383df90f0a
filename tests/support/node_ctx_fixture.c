/* node_ctx_fixture.c - see node_ctx_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asg.h"
#include "compute.h"
#include "jsonx.h"
#include "node.h"
#include "node_ctx_fixture.h"

void node_fixture_open(struct node_fixture *n, const char *prefix, const char *provider)
{
    struct as_error err;
    snprintf(n->dir, sizeof n->dir, "/tmp/%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(n->dir));
    snprintf(n->db, sizeof n->db, "%s/store.db", n->dir);
    if (!(n->ds = ds_open_embedded(n->db, &err)))
        fail_msg("ds_open_embedded: %s: %s", err.code, err.message);
    group_init(&n->g, "web");
    free(n->g.compute_provider);
    n->g.compute_provider = strdup(provider);
}

void node_fixture_define(struct node_fixture *n, struct json_object *settings)
{
    struct as_error err;
    struct json_object *out = NULL;
    if (asg_define(n->ds, &n->g, &out, &err) != 0)
        fail_msg("asg_define: %s: %s", err.code, err.message);
    json_object_put(out);
    n->nc.compute = compute_open(n->g.compute_provider, settings, &err);
    json_object_put(settings);
    if (!n->nc.compute)
        fail_msg("compute_open: %s: %s", err.code, err.message);
    n->nc.ds = n->ds;
    n->nc.group = &n->g;
    n->nc.poll_ms = 10;
    n->nc.deadline = 60;
}

void node_fixture_close(struct node_fixture *n)
{
    char cmd[128];
    node_ctx_close(&n->nc);
    group_clear(&n->g);
    ds_close(n->ds);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", n->dir);
    assert_int_equal(system(cmd), 0);
}

const char *node_fixture_state(const struct node_fixture *n, const char *node)
{
    static char buf[32];
    struct json_object *rec = NULL;
    struct as_error err;
    buf[0] = '\0';
    if (node_record_load(n->ds, "web", node, &rec, &err) == 1)
        snprintf(buf, sizeof buf, "%s", jx_str(rec, "state", ""));
    json_object_put(rec);
    return buf;
}
