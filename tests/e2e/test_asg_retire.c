/* End-to-end tests of asg_retire (the asg_delete workflow's first step) and
 * of what a retired group then refuses: each binary runs with argv built as
 * st2 builds it, on an embedded store in a fresh directory, the clock pinned
 * with AUTOSCALE_TEST_NOW. "Nothing changed" is checked by comparing every
 * key and value of the store before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

#define T0 1800000000LL

static int setup(void **state)
{
    return store_setup(state, "as-retire", T0);
}

static void put_node(struct store_fixture *f, const char *group, const char *node,
                     const char *state)
{
    char key[KEY_MAX], val[256];
    snprintf(val, sizeof val,
             "{\"name\":\"%s\",\"group\":\"%s\",\"state\":\"%s\",\"created_at\":%lld}", node,
             group, state, T0 - 100);
    store_put(f, key_node(key, group, node), val);
}

static void assert_snapshot(struct store_fixture *f, const char *before)
{
    char *after = store_snapshot(f);
    if (strcmp(before, after) != 0)
        fail_msg("the store changed:\nbefore:\n%s\nafter:\n%s", before, after);
    free(after);
}

static void define(struct store_fixture *f, const char *name, const char *extra)
{
    struct action_result r;
    char n[64];
    snprintf(n, sizeof n, "--name=%s", name);
    if (store_run(f, "asg_define", &r, "--compute_provider=local", n, "--min=1", "--max=4", extra, NULL) != 0)
        fail_msg("asg_define %s: %s", name, r.out);
    action_result_free(&r);
}

static const char *status_of(struct store_fixture *f, const char *group)
{
    static char buf[32];
    struct action_result r;
    char n[64];
    snprintf(n, sizeof n, "--name=%s", group);
    assert_int_equal(store_run(f, "asg_get", &r, n, NULL), 0);
    snprintf(buf, sizeof buf, "%s", jx_str(jx_obj(r.json, "group"), "status", "?"));
    action_result_free(&r);
    return buf;
}

static const char *joined(struct json_object *arr)
{
    static char buf[512];
    buf[0] = '\0';
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        strncat(buf, i ? "," : "", sizeof buf - strlen(buf) - 1);
        strncat(buf, json_object_get_string(json_object_array_get_idx(arr, i)),
                sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

/* ------------------------------------------------------------------ tests -- */

static void test_retire_marks_and_lists_every_node(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    define(f, "web", NULL);
    define(f, "web-2", NULL);
    put_node(f, "web", "web-c", "active");
    put_node(f, "web", "web-a", "failed");
    put_node(f, "web", "web-b", "draining");
    put_node(f, "web", "web-d", "building");
    put_node(f, "web-2", "web-2-a", "active"); /* another group's: not listed */

    assert_int_equal(store_run(f, "asg_retire", &r, "--name=web", NULL), 0);
    assert_string_equal(jx_str(r.json, "group", ""), "web");
    assert_true(jx_bool(r.json, "existed", false));
    assert_true(jx_bool(r.json, "changed", false));
    assert_string_equal(jx_str(r.json, "status", ""), "deleting");
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-a,web-b,web-c,web-d");
    action_result_free(&r);
    assert_string_equal(status_of(f, "web"), "deleting");
    assert_string_equal(status_of(f, "web-2"), "active");

    /* again, later: a success that changes nothing, not even updated_at */
    char *before = store_snapshot(f);
    f->now += 60;
    assert_int_equal(store_run(f, "asg_retire", &r, "--name=web", NULL), 0);
    assert_true(jx_bool(r.json, "existed", false));
    assert_false(jx_bool(r.json, "changed", true));
    assert_string_equal(jx_str(r.json, "status", ""), "deleting");
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-a,web-b,web-c,web-d");
    action_result_free(&r);
    assert_snapshot(f, before);
    free(before);
}

static void test_retire_absent_group(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    define(f, "web", NULL);
    char *before = store_snapshot(f);
    assert_int_equal(store_run(f, "asg_retire", &r, "--name=ghost", NULL), 0);
    assert_false(jx_bool(r.json, "existed", true));
    assert_false(jx_bool(r.json, "changed", true));
    assert_string_equal(jx_str(r.json, "group", ""), "ghost");
    assert_non_null(jx_arr(r.json, "nodes"));
    assert_int_equal(json_object_array_length(jx_arr(r.json, "nodes")), 0);
    action_result_free(&r);
    assert_snapshot(f, before);
    free(before);
}

static void test_retire_bad_input_changes_nothing(void **state)
{
    struct store_fixture *f = *state;
    define(f, "web", NULL);
    put_node(f, "web", "web-a", "active");
    char *before = store_snapshot(f);
    static const struct {
        const char *args[3];
        const char *code;
    } cases[] = {
        {{NULL}, "missing_parameter"},
        {{"--name=web;reboot", NULL}, "invalid_name"},
        {{"--name=web\nx", NULL}, "invalid_name"},
        {{"--name=Web", NULL}, "invalid_name"},
        {{"--name=", NULL}, "missing_parameter"},
        {{"--name=web", "--forget_nodes", NULL}, "unknown_parameter"},
        {{"--name=web", "--name=api", NULL}, "duplicate_parameter"},
        {{"--name=web", "extra", NULL}, "unexpected_argument"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct action_result r;
        const char *const *a = cases[i].args;
        int st = store_run(f, "asg_retire", &r, a[0], a[1], a[2], NULL);
        if (st != 2 || strcmp(action_error_code(&r), cases[i].code) != 0)
            fail_msg("case %zu: exit %d, wanted 2 %s: %s", i, st, cases[i].code, r.out);
        action_result_free(&r);
    }
    assert_snapshot(f, before);
    free(before);
    assert_string_equal(status_of(f, "web"), "active");
}

/* Once retired, nothing may grow or reshape the group. */
static void test_retired_group_refuses_changes(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    define(f, "web", NULL);
    store_put(f, "autoscale.node.web.web-a",
              "{\"name\":\"web-a\",\"group\":\"web\",\"state\":\"active\",\"provider\":\"local\","
              "\"provider_id\":\"web.web-a\",\"address\":\"127.0.1.5\",\"port\":8080}");
    assert_int_equal(store_run(f, "asg_retire", &r, "--name=web", NULL), 0);
    action_result_free(&r);
    char *before = store_snapshot(f);

    /* the very spec it was defined with */
    assert_int_equal(store_run(f, "asg_define", &r, "--compute_provider=local", "--name=web",
                               "--min=1", "--max=4", NULL),
                     2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    action_result_free(&r);
    assert_int_equal(store_run(f, "asg_update", &r, "--name=web", "--max=6", NULL), 2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    action_result_free(&r);
    assert_int_equal(store_run(f, "add_node", &r, "--name=web", "--node=web-b", NULL), 2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    action_result_free(&r);
    assert_int_equal(store_run(f, "lb_add", &r, "--name=web", "--node=web-a", NULL), 2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    action_result_free(&r);
    assert_int_equal(store_run(f, "node_pick", &r, "--name=web", "--count=1", NULL), 2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    action_result_free(&r);
    assert_snapshot(f, before);
    free(before);
}

static struct json_object *decision_for(struct json_object *tick, const char *group)
{
    struct json_object *list = jx_arr(tick, "decisions");
    size_t n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++) {
        struct json_object *d = json_object_array_get_idx(list, i);
        if (strcmp(jx_str(d, "group", ""), group) == 0)
            return d;
    }
    return NULL;
}

/* A group in alert gets a scale-out decision; once retired it gets none,
 * and no lease is taken for it. */
static void test_governor_skips_retired_group(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    define(f, "web", NULL);
    define(f, "api", NULL);
    put_node(f, "web", "web-a", "active");
    put_node(f, "api", "api-a", "active");
    const char *open[] = {
        "--body={\"asg\":\"web\",\"state\":\"open\",\"severity\":\"critical\",\"id\":\"i-1\"}",
        "--body={\"asg\":\"api\",\"state\":\"open\",\"severity\":\"critical\",\"id\":\"i-2\"}"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_run(f, "alert_event", &r, open[i], NULL), 0);
        action_result_free(&r);
    }

    assert_int_equal(store_run(f, "governor_tick", &r, NULL), 0);
    struct json_object *d = decision_for(r.json, "web");
    assert_non_null(d);
    assert_string_equal(jx_str(d, "action", ""), "scale_out");
    action_result_free(&r);

    assert_int_equal(store_run(f, "asg_retire", &r, "--name=web", NULL), 0);
    action_result_free(&r);
    f->now += 5;
    assert_int_equal(store_run(f, "governor_tick", &r, "--act", NULL), 0);
    assert_null(decision_for(r.json, "web"));
    d = decision_for(r.json, "api"); /* the other group still gets its decision */
    assert_non_null(d);
    assert_string_equal(jx_str(d, "action", ""), "scale_out");
    action_result_free(&r);
    assert_int_equal(store_run(f, "governor_tick", &r, "--name=web", "--act", NULL), 0);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "decisions")), 0);
    action_result_free(&r);

    char *all = store_snapshot(f);
    assert_null(strstr(all, "autoscale.lease.web="));
    assert_non_null(strstr(all, "autoscale.lease.api="));
    free(all);
}

/* The asg_delete workflow's ends: retire, then forget once the nodes are
 * gone; a re-run after the group is forgotten finds nothing to do. */
static void test_retire_then_forget(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    define(f, "web", NULL);
    put_node(f, "web", "web-a", "active");
    assert_int_equal(store_run(f, "asg_retire", &r, "--name=web", NULL), 0);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-a");
    action_result_free(&r);

    assert_int_equal(store_run(f, "asg_forget", &r, "--name=web", NULL), 2);
    assert_string_equal(action_error_code(&r), "nodes_remain");
    action_result_free(&r);
    assert_string_equal(status_of(f, "web"), "deleting");

    char key[KEY_MAX];
    store_del(f, key_node(key, "web", "web-a"));
    assert_int_equal(store_run(f, "asg_forget", &r, "--name=web", NULL), 0);
    assert_true(jx_bool(r.json, "deleted", false));
    action_result_free(&r);
    char *all = store_snapshot(f);
    assert_string_equal(all, "");
    free(all);

    assert_int_equal(store_run(f, "asg_retire", &r, "--name=web", NULL), 0);
    assert_false(jx_bool(r.json, "existed", true));
    action_result_free(&r);
    assert_int_equal(store_run(f, "asg_forget", &r, "--name=web", NULL), 0);
    assert_false(jx_bool(r.json, "existed", true));
    action_result_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, store_teardown)
    const struct CMUnitTest tests[] = {
        T(test_retire_marks_and_lists_every_node),
        T(test_retire_absent_group),
        T(test_retire_bad_input_changes_nothing),
        T(test_retired_group_refuses_changes),
        T(test_governor_skips_retired_group),
        T(test_retire_then_forget),
    };
#undef T
    return cmocka_run_group_tests_name("asg_retire", tests, NULL, NULL);
}
