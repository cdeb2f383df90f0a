/* test_health_probe.c - the probe's typed checks (lib/health/health_probe.h,
 * health_probe_group_checks) say what its words say, source by source, on
 * nodes the local provider runs (the pack's demo app) behind a real
 * HAProxy: PASS for an active machine, a member UP and /health 200; FAIL
 * for a member DOWN and /health 503; LOST for a process that exited;
 * UNKNOWN for a member in MAINT and for an admin socket that does not
 * answer; NOT_CONFIGURED with no load balancer, a member HAProxy runs no
 * check on ("no check") and no health_check_path.
 * Writes nothing (dry run). No assertion depends on timing: HAProxy's
 * state is waited for in its own stats, a killed process until it is
 * dead, each wait bounded (a bound is never an assertion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy_server.h"
#include "health_probe.h"
#include "jsonx.h"
#include "lb.h"
#include "node.h"
#include "node_ctx_fixture.h"
#include "nodes.h"
#include "params.h"
#include "test_util.h"

#define BACKEND "web-be"
#define WAIT_MS 20000

struct fx {
    struct node_fixture n;
    struct haproxy_server *h;
    char local[128];
};

static int setup(void **state)
{
    const char *bin = getenv("AUTOSCALE_BIN_DIR");
    char command[512];
    if (!bin || !*bin)
        fail_msg("AUTOSCALE_BIN_DIR is not set (the demo app's directory)");
    struct fx *f = calloc(1, sizeof *f);
    *state = f;
    f->h = haproxy_start(BACKEND);
    assert_non_null(f->h);
    node_fixture_open(&f->n, "as-hprobe", "local");
    free(f->n.g.lb_provider);
    f->n.g.lb_provider = strdup("haproxy");
    f->n.g.lb_backend = strdup(BACKEND);
    snprintf(f->local, sizeof f->local, "%s/local", f->n.dir);
    snprintf(command, sizeof command, "%s/demo_app --listen={address}:{port} --name={name}",
             bin);
    struct json_object *s = jx_new_object();
    jx_add_str(s, "dir", f->local);
    jx_add_str(s, "command", command);
    jx_add_int(s, "port", test_free_port(NULL, false));
    node_fixture_define(&f->n, s);
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "for j in '%s'/*.json; do [ -f \"$j\" ] || continue; "
             "p=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' \"$j\"); "
             "[ -n \"$p\" ] && kill -9 -\"$p\" 2>/dev/null; done",
             f->local);
    if (system(cmd) != 0)
        fprintf(stderr, "teardown: cleanup command failed\n");
    node_fixture_close(&f->n);
    haproxy_stop(f->h);
    free(f);
    return 0;
}

#define ABSENT_STR NULL
#define ABSENT_INT PARAM_ABSENT
#define ABSENT_FIELD(n, kind, def, flags) .n = ABSENT_##kind,

/* The group's load balancer through `sock` (the fixture's HAProxy, or a
 * path nothing listens on). */
static void lb_open_check(struct fx *f, const char *sock, const char *check, struct lb_ctx *lb)
{
    struct lb_params p = {LB_PARAMS(ABSENT_FIELD)};
    struct as_error err;
    memset(&err, 0, sizeof err);
    p.haproxy_socket = sock;
    p.haproxy_check = check;
    if (lb_ctx_open(lb, f->n.ds, "web", &p, NULL, &err) < 0)
        fail_msg("lb_ctx_open: %s: %s", err.code, err.message);
}

static void lb_open_sock(struct fx *f, const char *sock, struct lb_ctx *lb)
{
    lb_open_check(f, sock, NULL, lb);
}

static void wait_status(struct fx *f, const char *server, const char *prefix)
{
    char status[64] = "";
    for (int i = 0; i < WAIT_MS / 10; i++) {
        if (haproxy_status(f->h, server, status, sizeof status) == 1 &&
            strncmp(status, prefix, strlen(prefix)) == 0)
            return;
        test_sleep_ms(10);
    }
    fail_msg("%s never became %s (last %s)", server, prefix, status);
}

/* Nodes web-a and web-b active and in the backend, both UP. */
static void two_nodes(struct fx *f, struct lb_ctx *lb)
{
    struct as_error err;
    struct json_object *out = NULL;
    memset(&err, 0, sizeof err);
    const char *names[] = {"web-a", "web-b"};
    for (int i = 0; i < 2; i++) {
        if (node_add(&f->n.nc, names[i], NULL, false, &out, &err) < 0)
            fail_msg("node_add: %s: %s", err.code, err.message);
        json_object_put(out);
        if (lb_add_node(lb, names[i], 60, &out, &err) < 0)
            fail_msg("lb_add_node: %s: %s", err.code, err.message);
        json_object_put(out);
        wait_status(f, names[i], "UP");
    }
}

/* One dry probe: *checks filled, the output kept in *out. */
static void probe(struct fx *f, struct lb_ctx *lb, struct health_checks *checks,
                  struct json_object **out)
{
    struct health_probe_opts opts = {.write = false, .http_timeout_ms = 2000};
    struct as_error err;
    memset(&err, 0, sizeof err);
    if (health_probe_group_checks(f->n.ds, &f->n.nc, lb, 1700000000LL, &opts, out, checks,
                                  &err) < 0)
        fail_msg("probe: %s: %s", err.code, err.message);
    assert_int_equal(checks->n, json_object_array_length(jx_arr(*out, "nodes")));
}

static enum health_check check_of(const struct health_checks *c, const char *node,
                                  enum health_source s)
{
    const struct health_node_checks *n = health_checks_find(c, node);
    assert_non_null(n);
    return n->check[s];
}

static const char *words_of(struct json_object *out, const char *node, const char *source)
{
    struct json_object *nodes = jx_arr(out, "nodes");
    for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
        struct json_object *e = json_object_array_get_idx(nodes, i);
        if (strcmp(jx_str(e, "node", ""), node) == 0)
            return jx_str(jx_obj(e, "checks"), source, "");
    }
    fail_msg("no entry for %s", node);
    return "";
}

/* SIGKILL the node's process group and wait until it is dead (or a zombie
 * nobody reaps), as tests/e2e/test_health_check.c does. */
static void kill_node(struct fx *f, const char *node)
{
    char cmd[768];
    snprintf(cmd, sizeof cmd,
             "p=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' '%s/web.%s.json'); "
             "[ -n \"$p\" ] && kill -9 -\"$p\" || exit 1; "
             "i=0; while [ -e /proc/$p ] && ! grep -q ') Z' /proc/$p/stat 2>/dev/null; do "
             "i=$((i+1)); [ $i -gt %d ] && exit 1; sleep 0.01; done; exit 0",
             f->local, node, WAIT_MS / 10);
    assert_int_equal(system(cmd), 0);
}

static void cmd_ok(struct fx *f, const char *cmd)
{
    char *reply = haproxy_cmd(f->h, cmd);
    assert_non_null(reply);
    free(reply);
}

static void test_each_source_typed_as_its_words_say(void **state)
{
    struct fx *f = *state;
    struct lb_ctx lb;
    struct health_checks c = {0};
    struct json_object *out = NULL;
    lb_open_sock(f, f->h->sock, &lb);
    two_nodes(f, &lb);

    /* no path: the HTTP source is not configured; both UP and active */
    probe(f, &lb, &c, &out);
    assert_int_equal(c.n, 2);
    for (int i = 0; i < 2; i++) {
        const char *node = i ? "web-b" : "web-a";
        assert_int_equal(check_of(&c, node, HEALTH_SOURCE_PROVIDER), HEALTH_CHECK_PASS);
        assert_int_equal(check_of(&c, node, HEALTH_SOURCE_LB), HEALTH_CHECK_PASS);
        assert_int_equal(check_of(&c, node, HEALTH_SOURCE_HTTP), HEALTH_CHECK_NOT_CONFIGURED);
        assert_string_equal(words_of(out, node, "provider"), "active");
        assert_string_equal(words_of(out, node, "http"), "none");
    }
    json_object_put(out);
    health_checks_clear(&c);

    /* HAProxy's check DOWN: FAIL; MAINT (set by a person): UNKNOWN */
    cmd_ok(f, "set server " BACKEND "/web-a health down");
    cmd_ok(f, "set server " BACKEND "/web-b state maint");
    wait_status(f, "web-a", "DOWN");
    wait_status(f, "web-b", "MAINT");
    probe(f, &lb, &c, &out);
    assert_int_equal(check_of(&c, "web-a", HEALTH_SOURCE_LB), HEALTH_CHECK_FAIL);
    assert_int_equal(strncmp(words_of(out, "web-a", "lb"), "DOWN", 4), 0);
    assert_int_equal(check_of(&c, "web-b", HEALTH_SOURCE_LB), HEALTH_CHECK_UNKNOWN);
    assert_int_equal(strncmp(words_of(out, "web-b", "lb"), "MAINT", 5), 0);
    json_object_put(out);
    health_checks_clear(&c);
    cmd_ok(f, "set server " BACKEND "/web-b state ready");
    wait_status(f, "web-b", "UP");

    /* the group's path: 200 passes, 503 ("sick") fails */
    f->n.g.health_check_path = strdup("/health");
    lb.group.health_check_path = strdup("/health");
    probe(f, &lb, &c, &out);
    assert_int_equal(check_of(&c, "web-b", HEALTH_SOURCE_HTTP), HEALTH_CHECK_PASS);
    assert_string_equal(words_of(out, "web-b", "http"), "200");
    json_object_put(out);
    health_checks_clear(&c);
    struct json_object *rec = NULL;
    struct as_error err;
    assert_int_equal(node_record_load(f->n.ds, "web", "web-b", &rec, &err), 1);
    char *body = NULL;
    assert_int_equal(hx_http_get(jx_str(rec, "address", ""), (int)jx_int(rec, "port", 0),
                                 "/sick", &body),
                     200);
    free(body);
    json_object_put(rec);
    probe(f, &lb, &c, &out);
    assert_int_equal(check_of(&c, "web-b", HEALTH_SOURCE_HTTP), HEALTH_CHECK_FAIL);
    assert_string_equal(words_of(out, "web-b", "http"), "503");
    json_object_put(out);
    health_checks_clear(&c);

    /* the process gone: the provider's error, for good */
    kill_node(f, "web-a");
    probe(f, &lb, &c, &out);
    assert_int_equal(check_of(&c, "web-a", HEALTH_SOURCE_PROVIDER), HEALTH_CHECK_LOST);
    assert_int_equal(strncmp(words_of(out, "web-a", "provider"), "error", 5), 0);
    assert_int_equal(check_of(&c, "web-b", HEALTH_SOURCE_PROVIDER), HEALTH_CHECK_PASS);
    json_object_put(out);
    health_checks_clear(&c);
    lb_ctx_close(&lb);

    /* a member HAProxy runs no check on ("no check"): nothing to pass */
    struct json_object *o = NULL;
    memset(&err, 0, sizeof err);
    lb_open_check(f, f->h->sock, "off", &lb);
    if (node_add(&f->n.nc, "web-c", NULL, false, &o, &err) < 0)
        fail_msg("node_add: %s: %s", err.code, err.message);
    json_object_put(o);
    if (lb_add_node(&lb, "web-c", 60, &o, &err) < 0)
        fail_msg("lb_add_node: %s: %s", err.code, err.message);
    json_object_put(o);
    wait_status(f, "web-c", "no check");
    probe(f, &lb, &c, &out);
    assert_int_equal(check_of(&c, "web-c", HEALTH_SOURCE_LB), HEALTH_CHECK_NOT_CONFIGURED);
    assert_string_equal(words_of(out, "web-c", "lb"), "no check");
    json_object_put(out);
    health_checks_clear(&c);
    lb_ctx_close(&lb);

    /* an admin socket nobody answers on: the LB unknown for every node */
    char sock[192];
    snprintf(sock, sizeof sock, "%s/nobody.sock", f->n.dir);
    lb_open_sock(f, sock, &lb);
    probe(f, &lb, &c, &out);
    assert_int_equal(check_of(&c, "web-b", HEALTH_SOURCE_LB), HEALTH_CHECK_UNKNOWN);
    assert_int_equal(strncmp(words_of(out, "web-b", "lb"), "unknown", 7), 0);
    json_object_put(out);
    health_checks_clear(&c);
    lb_ctx_close(&lb);

    /* no load balancer at all */
    probe(f, NULL, &c, &out);
    assert_int_equal(check_of(&c, "web-b", HEALTH_SOURCE_LB), HEALTH_CHECK_NOT_CONFIGURED);
    assert_string_equal(words_of(out, "web-b", "lb"), "none");
    assert_null(health_checks_find(&c, "web-zz"));
    json_object_put(out);
    health_checks_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_source_typed_as_its_words_say, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
