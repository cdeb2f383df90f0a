/* test_health_wait.c - refresh_wait's readiness rule (lib/health/
 * health_wait.c) decides from the probe's typed checks (health_probe.h),
 * never from the words of each node's "checks": health_wait_node_of over
 * every combination of the three sources, and health_wait_sort on a probe
 * output whose words say the opposite of its typed checks (the words
 * shown unchanged, the verdicts following the enums). A node the probe
 * did not judge is read from its node record, on an embedded store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore.h"
#include "group.h"
#include "health_probe.h"
#include "health_wait.h"
#include "jsonx.h"
#include "keys.h"
#include "nodes.h"
#include "test_util.h"

#define NCHECKS (HEALTH_CHECK_LOST + 1)

struct fx {
    char dir[64], db[128];
    struct group g;
    struct node_ctx nc;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct as_error err;
    memset(&err, 0, sizeof err);
    snprintf(f->dir, sizeof f->dir, "/tmp/as-hwait-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/store.db", f->dir);
    group_init(&f->g, "web");
    f->nc.ds = ds_open_embedded(f->db, &err);
    assert_non_null(f->nc.ds);
    f->nc.group = &f->g;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    ds_close(f->nc.ds);
    group_clear(&f->g);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct health_node_checks node_checks(const char *node, enum health_check provider,
                                             enum health_check lb, enum health_check http)
{
    struct health_node_checks c;
    memset(&c, 0, sizeof c);
    snprintf(c.node, sizeof c.node, "%.63s", node);
    c.check[HEALTH_SOURCE_PROVIDER] = provider;
    c.check[HEALTH_SOURCE_LB] = lb;
    c.check[HEALTH_SOURCE_HTTP] = http;
    return c;
}

static bool passes(enum health_check c)
{
    return c == HEALTH_CHECK_PASS || c == HEALTH_CHECK_NOT_CONFIGURED;
}

/* Every combination: ready only when the provider passes and the other two
 * pass or have no check; lost only on the provider's LOST; an unknown
 * source is never ready (waiting on is the safe side). */
static void test_every_combination(void **state)
{
    (void)state;
    int ready = 0, lost = 0;
    for (int p = 0; p < NCHECKS; p++)
        for (int l = 0; l < NCHECKS; l++)
            for (int h = 0; h < NCHECKS; h++) {
                struct health_node_checks c = node_checks("web-a", p, l, h);
                enum health_wait_node v = health_wait_node_of(&c);
                enum health_wait_node want =
                    p == HEALTH_CHECK_LOST ? HEALTH_WAIT_LOST
                    : p == HEALTH_CHECK_PASS && passes(l) && passes(h) ? HEALTH_WAIT_READY
                                                                        : HEALTH_WAIT_NOT_YET;
                assert_int_equal(v, want);
                ready += v == HEALTH_WAIT_READY;
                lost += v == HEALTH_WAIT_LOST;
            }
    assert_int_equal(ready, 4);             /* lb x http in {PASS, NOT_CONFIGURED} */
    assert_int_equal(lost, NCHECKS * NCHECKS); /* whatever lb and http say */
    /* the cases a reword once broke, named */
    struct health_node_checks c =
        node_checks("web-a", HEALTH_CHECK_PASS, HEALTH_CHECK_UNKNOWN, HEALTH_CHECK_PASS);
    assert_int_equal(health_wait_node_of(&c), HEALTH_WAIT_NOT_YET);
    c = node_checks("web-a", HEALTH_CHECK_FAIL, HEALTH_CHECK_PASS, HEALTH_CHECK_PASS);
    assert_int_equal(health_wait_node_of(&c), HEALTH_WAIT_NOT_YET);
    c = node_checks("web-a", HEALTH_CHECK_UNKNOWN, HEALTH_CHECK_NOT_CONFIGURED,
                    HEALTH_CHECK_NOT_CONFIGURED);
    assert_int_equal(health_wait_node_of(&c), HEALTH_WAIT_NOT_YET);
}

/* A probe output entry, as health_probe_group writes one. */
static void add_entry(struct json_object *nodes, const char *node, const char *provider,
                      const char *lb, const char *http)
{
    struct json_object *e = jx_new_object(), *c = jx_new_object();
    jx_add_str(e, "node", node);
    jx_add_str(e, "group", "web");
    jx_add_str(e, "status", "healthy");
    jx_add_str(c, "provider", provider);
    jx_add_str(c, "lb", lb);
    jx_add_str(c, "http", http);
    json_object_object_add(e, "checks", c);
    json_object_array_add(nodes, e);
}

static bool listed(struct json_object *arr, const char *name)
{
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), name) == 0)
            return true;
    return false;
}

static void put_node(struct fx *f, const char *node, const char *state)
{
    char key[KEY_MAX], value[256];
    struct as_error err;
    memset(&err, 0, sizeof err);
    snprintf(value, sizeof value, "{\"name\":\"%s\",\"group\":\"web\",\"state\":\"%s\"}", node,
             state);
    assert_int_equal(ds_put(f->nc.ds, key_node(key, "web", node), value, 0, &err), 0);
}

/* Words that read the opposite of the typed checks: the verdicts follow
 * the checks, and the words come out as they went in. */
static void test_words_do_not_decide(void **state)
{
    struct fx *f = *state;
    struct as_error err;
    memset(&err, 0, sizeof err);
    struct json_object *probe = jx_new_object(), *nodes = jx_new_array();
    json_object_object_add(probe, "nodes", nodes);
    /* reworded passes: no "active", no "UP", no status number */
    add_entry(nodes, "web-a", "running (reworded)", "serving", "fine");
    /* the old words of a ready node, over failing checks */
    add_entry(nodes, "web-b", "active", "UP", "200");
    /* the old words of a lost machine, over a machine still building */
    add_entry(nodes, "web-c", "gone: the provider has no such machine", "none", "none");
    /* the old words of a live machine, over one the provider lost */
    add_entry(nodes, "web-d", "active", "UP", "none");
    struct health_node_checks c[] = {
        node_checks("web-a", HEALTH_CHECK_PASS, HEALTH_CHECK_PASS, HEALTH_CHECK_PASS),
        node_checks("web-b", HEALTH_CHECK_PASS, HEALTH_CHECK_FAIL, HEALTH_CHECK_PASS),
        node_checks("web-c", HEALTH_CHECK_FAIL, HEALTH_CHECK_NOT_CONFIGURED,
                    HEALTH_CHECK_NOT_CONFIGURED),
        node_checks("web-d", HEALTH_CHECK_LOST, HEALTH_CHECK_PASS,
                    HEALTH_CHECK_NOT_CONFIGURED),
    };
    struct health_checks checks = {.nodes = c, .n = 4};
    struct json_object *want = jx_new_array(), *out = NULL;
    json_object_array_add(want, jx_new_string("web-a"));
    json_object_array_add(want, jx_new_string("web-b"));
    bool settled = true;

    assert_int_equal(health_wait_sort(&f->nc, want, probe, &checks, &out, &settled, &err), 0);
    assert_true(listed(jx_arr(out, "healthy"), "web-a"));
    assert_true(listed(jx_arr(out, "unhealthy"), "web-b"));
    assert_false(settled); /* web-b may still pass */
    /* each node's words as the probe wrote them, byte for byte */
    assert_string_equal(json_object_to_json_string_ext(jx_obj(jx_obj(out, "checks"), "web-a"),
                                                       JSON_C_TO_STRING_PLAIN),
                        "{\"provider\":\"running (reworded)\",\"lb\":\"serving\","
                        "\"http\":\"fine\"}");
    json_object_put(out);

    /* web-c reads "gone" but is building: wait on. web-d reads "active"
     * but is lost: no more waiting makes it ready. */
    json_object_put(want);
    want = jx_new_array();
    json_object_array_add(want, jx_new_string("web-c"));
    assert_int_equal(health_wait_sort(&f->nc, want, probe, &checks, &out, &settled, &err), 0);
    assert_true(listed(jx_arr(out, "unhealthy"), "web-c"));
    assert_false(settled);
    json_object_put(out);
    json_object_array_put_idx(want, 0, jx_new_string("web-d"));
    assert_int_equal(health_wait_sort(&f->nc, want, probe, &checks, &out, &settled, &err), 0);
    assert_true(listed(jx_arr(out, "unhealthy"), "web-d"));
    assert_true(settled);
    json_object_put(out);

    /* The same words with every check passing: all ready, settled. */
    for (size_t i = 0; i < 4; i++)
        c[i] = node_checks(c[i].node, HEALTH_CHECK_PASS, HEALTH_CHECK_NOT_CONFIGURED,
                           HEALTH_CHECK_PASS);
    json_object_put(want);
    want = jx_new_array();
    for (size_t i = 0; i < 4; i++)
        json_object_array_add(want, jx_new_string(c[i].node));
    assert_int_equal(health_wait_sort(&f->nc, want, probe, &checks, &out, &settled, &err), 0);
    assert_int_equal(json_object_array_length(jx_arr(out, "healthy")), 4);
    assert_int_equal(json_object_array_length(jx_arr(out, "unhealthy")), 0);
    assert_true(settled);
    json_object_put(out);
    json_object_put(want);
    json_object_put(probe);
}

/* A node with no typed checks (the probe judges active nodes only) is
 * waited on while its record is building or active, and given up when it
 * has none or it is leaving; its words say so. */
static void test_unjudged_nodes_by_record(void **state)
{
    struct fx *f = *state;
    struct as_error err;
    memset(&err, 0, sizeof err);
    struct json_object *probe = jx_new_object(), *out = NULL;
    json_object_object_add(probe, "nodes", jx_new_array());
    struct health_checks none = {0};
    const struct {
        const char *node, *state;
        bool settled;
    } cases[] = {{"web-b1", "building", false}, {"web-a1", "active", false},
                 {"web-d1", "draining", true},   {"web-zz", NULL, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct json_object *want = jx_new_array();
        bool settled = !cases[i].settled;
        if (cases[i].state)
            put_node(f, cases[i].node, cases[i].state);
        json_object_array_add(want, jx_new_string(cases[i].node));
        assert_int_equal(health_wait_sort(&f->nc, want, probe, &none, &out, &settled, &err),
                         0);
        assert_true(listed(jx_arr(out, "unhealthy"), cases[i].node));
        assert_int_equal(settled, cases[i].settled);
        struct json_object *words = NULL;
        assert_true(json_object_object_get_ex(jx_obj(out, "checks"), cases[i].node, &words));
        assert_string_equal(json_object_get_string(words), "not an active node of the group");
        json_object_put(out);
        json_object_put(want);
    }
    json_object_put(probe);
}

static void test_find_and_clear(void **state)
{
    (void)state;
    struct health_checks c = {.nodes = calloc(2, sizeof(struct health_node_checks)), .n = 2};
    c.nodes[0] = node_checks("web-a", HEALTH_CHECK_PASS, HEALTH_CHECK_PASS, HEALTH_CHECK_PASS);
    c.nodes[1] = node_checks("web-ab", HEALTH_CHECK_FAIL, HEALTH_CHECK_PASS, HEALTH_CHECK_PASS);
    assert_ptr_equal(health_checks_find(&c, "web-ab"), &c.nodes[1]);
    assert_ptr_equal(health_checks_find(&c, "web-a"), &c.nodes[0]);
    assert_null(health_checks_find(&c, "web"));
    assert_null(health_checks_find(&c, NULL));
    assert_null(health_checks_find(NULL, "web-a"));
    health_checks_clear(&c);
    assert_null(c.nodes);
    assert_int_equal(c.n, 0);
    assert_null(health_checks_find(&c, "web-a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_combination),
        cmocka_unit_test_setup_teardown(test_words_do_not_decide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unjudged_nodes_by_record, setup, teardown),
        cmocka_unit_test(test_find_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
