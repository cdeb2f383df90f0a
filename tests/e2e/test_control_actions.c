/* End-to-end tests of the operator's controls (lib/model/controls.h):
 * asg_suspend, asg_resume, asg_resize and node_protect run as st2 runs
 * them, what asg_get then shows of them (and of health and the last
 * decision), add_node protecting new nodes of a protect_new group,
 * remove_node and asg_forget taking the records with them.
 *
 * "Nothing changed" is every key and value of the store, before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

#define T0 1800000000LL
#define PORT "18180"

struct fixture {
    struct store_fixture st;
    char local[128], local_arg[160];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(store_fixture_open(&f->st, "as-controls"), 0);
    f->st.now = T0;
    snprintf(f->local, sizeof f->local, "%s/local", f->st.dir);
    snprintf(f->local_arg, sizeof f->local_arg, "--local_dir=%s", f->local);
    *state = f;
    return 0;
}

/* Whatever a failed test left running is stopped through its pid file. */
static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "for j in '%s'/*.json; do [ -f \"$j\" ] || continue; "
             "p=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' \"$j\"); "
             "[ -n \"$p\" ] && kill -9 -\"$p\" 2>/dev/null; done",
             f->local);
    if (system(cmd) != 0)
        fprintf(stderr, "teardown: cleanup command failed\n");
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

/* Run an action that must succeed; its output in *r. */
static void ok(struct fixture *f, const char *action, struct action_result *r, ...)
{
    va_list ap;
    va_start(ap, r);
    int status = store_vrun(&f->st, action, r, ap);
    va_end(ap);
    if (status != 0)
        fail_msg("%s: exit %d: %s %s", action, r->status, r->out, r->err);
}

/* web: max 6, min 1 unless extra names another */
static void define_web(struct fixture *f, const char *extra)
{
    struct action_result r;
    bool min_given = extra && strncmp(extra, "--min=", 6) == 0;
    ok(f, "asg_define", &r, "--compute_provider=local", "--name=web", "--max=6",
       min_given ? extra : "--min=1", min_given ? NULL : extra, NULL);
    action_result_free(&r);
}

static void put_node(struct fixture *f, const char *name, const char *state)
{
    struct json_object *o = store_node_record("web", name, state, "127.0.1.80", 8080, NULL);
    jx_add_int(o, "created_at", T0 - 100);
    store_put_node(&f->st, o);
}

static const char *joined(struct json_object *arr)
{
    static char buf[256];
    buf[0] = '\0';
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        strncat(buf, i ? "," : "", sizeof buf - strlen(buf) - 1);
        strncat(buf, json_object_get_string(json_object_array_get_idx(arr, i)),
                sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

/* asg_get's output (a new reference). */
static struct json_object *status(struct fixture *f)
{
    struct action_result r;
    ok(f, "asg_get", &r, "--name=web", NULL);
    struct json_object *o = json_object_get(r.json);
    action_result_free(&r);
    return o;
}

static struct json_object *node_of(struct json_object *st, const char *name)
{
    struct json_object *nodes = jx_arr(st, "nodes");
    for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
        struct json_object *n = json_object_array_get_idx(nodes, i);
        if (strcmp(jx_str(n, "name", ""), name) == 0)
            return n;
    }
    fail_msg("no node %s in asg_get", name);
    return NULL;
}

/* ------------------------------------------------------------ suspend -- */

static void test_suspend_resume(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define_web(f, NULL);

    ok(f, "asg_suspend", &r, "--name=web", "--processes=scale_in,replace", NULL);
    assert_string_equal(joined(jx_arr(r.json, "suspended")), "scale_in,replace");
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);

    /* again, or a part of it: the same, nothing written */
    char *before = store_snapshot(&f->st);
    ok(f, "asg_suspend", &r, "--name=web", "--processes=replace", NULL);
    assert_string_equal(joined(jx_arr(r.json, "suspended")), "scale_in,replace");
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);

    struct json_object *st = status(f);
    struct json_object *c = jx_obj(st, "controls");
    assert_string_equal(joined(jx_arr(c, "suspended")), "scale_in,replace");
    assert_int_equal(jx_int(jx_obj(st, "group"), "suspend_scale_in", -1), 1);
    assert_int_equal(jx_int(jx_obj(st, "group"), "suspend_scale_out", -1), 0);
    json_object_put(st);

    /* the default is every process */
    ok(f, "asg_suspend", &r, "--name=web", NULL);
    assert_string_equal(joined(jx_arr(r.json, "suspended")), "scale_out,scale_in,replace");
    action_result_free(&r);
    ok(f, "asg_resume", &r, "--name=web", "--processes=scale_out", NULL);
    assert_string_equal(joined(jx_arr(r.json, "suspended")), "scale_in,replace");
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    ok(f, "asg_resume", &r, "--name=web", "--processes=all", NULL);
    assert_string_equal(joined(jx_arr(r.json, "suspended")), "");
    action_result_free(&r);
    ok(f, "asg_resume", &r, "--name=web", NULL);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);

    /* asg_update sees the same fields: one spec, one writer */
    ok(f, "asg_update", &r, "--name=web", "--suspend_scale_out=1", NULL);
    action_result_free(&r);
    st = status(f);
    assert_string_equal(joined(jx_arr(jx_obj(st, "controls"), "suspended")), "scale_out");
    json_object_put(st);
}

/* ------------------------------------------------------------- resize -- */

static void test_resize_and_force(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define_web(f, "--min=2");

    ok(f, "asg_resize", &r, "--name=web", "--size=4", NULL);
    assert_int_equal(jx_int(r.json, "desired", -1), 4);
    assert_null(jx_obj(r.json, "previous_desired"));
    assert_false(jx_bool(r.json, "forced", true));
    assert_null(jx_obj(r.json, "forced_at"));
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);

    char *before = store_snapshot(&f->st);
    ok(f, "asg_resize", &r, "--name=web", "--size=4.0", NULL); /* st2's float form */
    assert_false(jx_bool(r.json, "changed", true));
    assert_int_equal(jx_int(r.json, "previous_desired", -1), 4);
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);

    struct json_object *st = status(f);
    assert_false(jx_bool(jx_obj(st, "controls"), "force_pending", true));
    json_object_put(st);

    /* a force stamps forced_at: pending until an operation starts or an
     * hour has passed */
    ok(f, "asg_resize", &r, "--name=web", "--size=6", "--force", NULL);
    assert_int_equal(jx_int(r.json, "desired", -1), 6);
    assert_int_equal(jx_int(r.json, "previous_desired", -1), 4);
    assert_true(jx_bool(r.json, "forced", false));
    assert_int_equal(jx_int(r.json, "forced_at", 0), T0);
    action_result_free(&r);
    st = status(f);
    struct json_object *c = jx_obj(st, "controls");
    assert_int_equal(jx_int(c, "forced_at", 0), T0);
    assert_true(jx_bool(c, "force_pending", false));
    assert_int_equal(jx_int(jx_obj(st, "group"), "desired", -1), 6);
    json_object_put(st);

    f->st.now = T0 + 3600;
    st = status(f);
    assert_false(jx_bool(jx_obj(st, "controls"), "force_pending", true));
    json_object_put(st);

    /* a scaling event after the force consumes it */
    f->st.now = T0 + 10;
    char key[KEY_MAX];
    store_put(&f->st, key_event(key, "web", T0 + 5, "scale_out"),
              "{\"op\":\"scale_out\",\"count\":4,\"result\":\"succeeded\",\"at\":1800000005}");
    st = status(f);
    assert_false(jx_bool(jx_obj(st, "controls"), "force_pending", true));
    json_object_put(st);

    /* a new force re-arms it, even to the same size */
    f->st.now = T0 + 20;
    ok(f, "asg_resize", &r, "--name=web", "--size=6", "--force", NULL);
    assert_true(jx_bool(r.json, "changed", false));
    assert_int_equal(jx_int(r.json, "forced_at", 0), T0 + 20);
    action_result_free(&r);
    st = status(f);
    assert_true(jx_bool(jx_obj(st, "controls"), "force_pending", false));
    json_object_put(st);
}

/* ------------------------------------------------------------ protect -- */

static void test_protect_shown_and_idempotent(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char key[KEY_MAX];
    define_web(f, NULL);
    put_node(f, "web-a", "active");
    put_node(f, "web-b", "active");

    ok(f, "node_protect", &r, "--name=web", "--node=web-a", "--reason=debugging a leak", NULL);
    assert_true(jx_bool(r.json, "protected", false));
    assert_true(jx_bool(r.json, "changed", false));
    assert_string_equal(jx_str(jx_obj(r.json, "record"), "reason", ""), "debugging a leak");
    assert_int_equal(jx_int(jx_obj(r.json, "record"), "at", 0), T0);
    action_result_free(&r);

    /* the same again writes nothing; a new reason keeps the first "at" */
    f->st.now = T0 + 60;
    char *before = store_snapshot(&f->st);
    ok(f, "node_protect", &r, "--name=web", "--node=web-a", "--reason=debugging a leak", NULL);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
    ok(f, "node_protect", &r, "--name=web", "--node=web-a", "--reason=still debugging", NULL);
    assert_true(jx_bool(r.json, "changed", false));
    assert_int_equal(jx_int(jx_obj(r.json, "record"), "at", 0), T0);
    action_result_free(&r);

    /* health records: shown per node, and one of a node without a record
     * (removed a moment ago) is not */
    store_put(&f->st, key_health(key, "web", "web-b"),
              "{\"node\":\"web-b\",\"group\":\"web\",\"status\":\"unhealthy\",\"failures\":4,"
              "\"checked_at\":1800000050,\"since\":1800000020,\"reason\":\"lb: DOWN\"}");
    store_put(&f->st, key_health(key, "web", "web-z"),
              "{\"node\":\"web-z\",\"group\":\"web\",\"status\":\"unhealthy\"}");
    store_put(&f->st, key_protect(key, "web", "web-z"), "{\"node\":\"web-z\"}");

    struct json_object *st = status(f);
    struct json_object *a = node_of(st, "web-a"), *b = node_of(st, "web-b");
    assert_true(jx_bool(a, "protected", false));
    assert_null(jx_obj(a, "health"));
    assert_false(jx_bool(b, "protected", true));
    assert_string_equal(jx_str(jx_obj(b, "health"), "status", ""), "unhealthy");
    assert_int_equal(jx_int(jx_obj(b, "health"), "failures", 0), 4);
    assert_string_equal(jx_str(jx_obj(b, "health"), "reason", ""), "lb: DOWN");
    assert_int_equal(json_object_array_length(jx_arr(st, "nodes")), 2);
    assert_null(jx_obj(st, "last_decision"));
    json_object_put(st);

    /* unprotect, twice */
    ok(f, "node_protect", &r, "--name=web", "--node=web-a", "--unprotect", NULL);
    assert_false(jx_bool(r.json, "protected", true));
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    ok(f, "node_protect", &r, "--name=web", "--node=web-a", "--unprotect", NULL);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    assert_int_equal(store_count(&f->st, key_protect(key, "web", "web-a")), 0);
    st = status(f);
    assert_false(jx_bool(node_of(st, "web-a"), "protected", true));
    json_object_put(st);
}

/* The governor's latest decision record is shown as it is. */
static void test_last_decision_shown(void **state)
{
    struct fixture *f = *state;
    char key[KEY_MAX];
    define_web(f, NULL);
    store_put(&f->st, key_history(key, "web", T0 * 1000 - 5000),
              "{\"at\":1799999995,\"kind\":\"decision\",\"action\":\"none\",\"code\":\"rest\"}");
    /* the newest record, and its copy under the group's decision key, as
     * history_note writes them: asg_get reads the copy */
    const char *newest = "{\"at\":1800000000,\"kind\":\"decision\",\"action\":\"scale_out\","
                         "\"code\":\"alert\",\"count\":2}";
    store_put(&f->st, key_history(key, "web", T0 * 1000), newest);
    store_put(&f->st, key_decision(key, "web"), newest);
    struct json_object *st = status(f);
    struct json_object *d = jx_obj(st, "last_decision");
    assert_string_equal(jx_str(d, "action", ""), "scale_out");
    assert_string_equal(jx_str(d, "code", ""), "alert");
    json_object_put(st);
}

/* --------------------------------------------------- nodes come and go -- */

static int run_local(struct fixture *f, const char *action, struct action_result *r,
                     const char *node)
{
    char n[96];
    snprintf(n, sizeof n, "--node=%s", node);
    const char *args[] = {f->local_arg, "--local_port=" PORT, "--name=web", n, NULL};
    return store_runv(&f->st, action, args, r);
}

/* add_node protects a new node of a protect_new group (once: a retry
 * writes nothing); remove_node deletes the node's protection and health
 * with it, and a retry finding nothing still cleans what is left. */
static void test_protect_new_and_remove(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char key[KEY_MAX];
    f->st.now = 0; /* the local provider's waits need the real clock */
    define_web(f, "--protect_new=1");

    assert_int_equal(run_local(f, "add_node", &r, "web-a"), 0);
    assert_string_equal(jx_str(jx_obj(r.json, "node"), "state", ""), "active");
    action_result_free(&r);
    assert_int_equal(store_count(&f->st, key_protect(key, "web", "web-a")), 1);
    struct json_object *st = status(f);
    assert_true(jx_bool(node_of(st, "web-a"), "protected", false));
    assert_true(jx_bool(jx_obj(st, "controls"), "protect_new", false));
    json_object_put(st);

    char *before = store_snapshot(&f->st);
    assert_int_equal(run_local(f, "add_node", &r, "web-a"), 0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* a scale-in cannot take it */
    assert_int_equal(store_run(&f->st, "asg_update", &r, "--name=web", "--min=0", NULL), 0);
    action_result_free(&r);
    ok(f, "node_pick", &r, "--name=web", "--count=1", NULL);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "nodes")), 0);
    assert_string_equal(joined(jx_arr(r.json, "protected")), "web-a");
    action_result_free(&r);

    store_put(&f->st, key_health(key, "web", "web-a"),
              "{\"node\":\"web-a\",\"group\":\"web\",\"status\":\"healthy\"}");
    assert_int_equal(run_local(f, "remove_node", &r, "web-a"), 0);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    assert_int_equal(store_count(&f->st, key_protect_prefix(key, "web")), 0);
    assert_int_equal(store_count(&f->st, key_health_prefix(key, "web")), 0);

    /* leftovers of a remove interrupted after the node's record went */
    store_put(&f->st, key_protect(key, "web", "web-a"), "{\"node\":\"web-a\"}");
    store_put(&f->st, key_health(key, "web", "web-a"), "{\"node\":\"web-a\"}");
    assert_int_equal(run_local(f, "remove_node", &r, "web-a"), 0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    assert_int_equal(store_count(&f->st, key_protect_prefix(key, "web")), 0);
    assert_int_equal(store_count(&f->st, key_health_prefix(key, "web")), 0);
}

/* asg_forget takes the group's health, protection and history along. */
static void test_forget_takes_everything(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char key[KEY_MAX];
    define_web(f, NULL);
    ok(f, "asg_define", &r, "--compute_provider=local", "--name=web-2", NULL);
    action_result_free(&r);
    put_node(f, "web-a", "active");
    ok(f, "node_protect", &r, "--name=web", "--node=web-a", NULL);
    action_result_free(&r);
    store_put(&f->st, key_health(key, "web", "web-a"), "{\"status\":\"healthy\"}");
    store_put(&f->st, key_history(key, "web", T0 * 1000), "{\"action\":\"none\"}");
    store_put(&f->st, key_health_lock(key, "web"), "{\"op\":\"health_check\"}");
    store_put(&f->st, key_history(key, "web-2", T0 * 1000), "{\"action\":\"none\"}");
    store_put(&f->st, key_decision(key, "web"), "{\"action\":\"none\"}");
    store_put(&f->st, key_decision(key, "web-2"), "{\"action\":\"none\"}");

    ok(f, "asg_forget", &r, "--name=web", "--forget_nodes", NULL);
    assert_true(jx_bool(r.json, "deleted", false));
    action_result_free(&r);
    char *keys = store_snapshot(&f->st);
    assert_null(strstr(keys, "autoscale.health."));
    assert_null(strstr(keys, "autoscale.healthlock."));
    assert_null(strstr(keys, "autoscale.protect."));
    assert_null(strstr(keys, "autoscale.history.web."));
    assert_non_null(strstr(keys, "autoscale.history.web-2.")); /* another group's */
    assert_null(strstr(keys, "autoscale.decision.web="));
    assert_non_null(strstr(keys, "autoscale.decision.web-2"));
    free(keys);
}

/* The controls and asg_update at once: every change lands (each holds the
 * spec lock around its read-modify-write), whatever order they ran in. */
static void test_concurrent_spec_changes_all_land(void **state)
{
    struct fixture *f = *state;
    struct action_result r[8];
    define_web(f, NULL);
    static const char *const suspend[] = {"--name=web", "--processes=scale_in", NULL};
    static const char *const resize[] = {"--name=web", "--size=4", "--force", NULL};
    static const char *const step[] = {"--name=web", "--scale_out_step=7", NULL};
    static const char *const grace[] = {"--name=web", "--health_grace=100", NULL};
    static const char *const replace[] = {"--name=web", "--processes=replace", NULL};
    static const char *const protect_new[] = {"--name=web", "--protect_new=1", NULL};
    const char *names[] = {"asg_suspend", "asg_resize", "asg_update",
                           "asg_update",  "asg_suspend", "asg_update"};
    const char *const *args[] = {suspend, resize, step, grace, replace, protect_new};
    const size_t n = sizeof names / sizeof names[0];
    pid_t pid[8];
    int out[8], err[8];
    for (size_t i = 0; i < n; i++)
        pid[i] = action_start(names[i], args[i], store_env(&f->st), &out[i], &err[i]);
    for (size_t i = 0; i < n; i++) {
        action_wait(pid[i], out[i], err[i], &r[i]);
        if (r[i].status != 0)
            fail_msg("%s: exit %d: %s %s", names[i], r[i].status, r[i].out, r[i].err);
        action_result_free(&r[i]);
    }
    struct json_object *st = status(f);
    struct json_object *g = jx_obj(st, "group");
    assert_int_equal(jx_int(g, "suspend_scale_in", -1), 1);
    assert_int_equal(jx_int(g, "suspend_replace", -1), 1);
    assert_int_equal(jx_int(g, "desired", -1), 4);
    assert_int_equal(jx_int(g, "forced_at", -1), T0);
    assert_int_equal(jx_int(g, "scale_out_step", -1), 7);
    assert_int_equal(jx_int(g, "health_grace", -1), 100);
    assert_int_equal(jx_int(g, "protect_new", -1), 1);
    json_object_put(st);
    char key[KEY_MAX];
    assert_int_equal(store_count(&f->st, key_spec_lock(key, "web")), 0);
}

/* ---------------------------------------------------------- bad input -- */

/* Every refusal: exit 2, one JSON error, nothing in the store changed. */
static void test_bad_input_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define_web(f, "--min=2");
    put_node(f, "web-a", "active");
    ok(f, "asg_define", &r, "--compute_provider=local", "--name=gone", NULL);
    action_result_free(&r);
    ok(f, "asg_retire", &r, "--name=gone", NULL);
    action_result_free(&r);
    char long_reason[260] = "--reason=";
    memset(long_reason + 9, 'x', 201);
    char long_utf8[420] = "--reason=";
    for (int i = 0; i < 200; i++)
        strcat(long_utf8, "\xc3\xa9"); /* 200 characters, 400 bytes: accepted */

    char *before = store_snapshot(&f->st);
    const char *const cases[][5] = {
        {"asg_suspend", "--processes=scale_in", NULL, NULL, "missing_parameter"},
        {"asg_suspend", "--name=web", "--processes=scale-in", NULL, "invalid_parameter"},
        {"asg_suspend", "--name=web", "--processes=scale_in;reboot", NULL, "invalid_parameter"},
        {"asg_suspend", "--name=web", "--processes=scale_in\n", NULL, "invalid_parameter"},
        {"asg_suspend", "--name=web", "--processes=scale_in,", NULL, "invalid_parameter"},
        {"asg_suspend", "--name=web", "--processes=,scale_in", NULL, "invalid_parameter"},
        {"asg_suspend", "--name=web", "--processes=scale_in,,replace", NULL, "invalid_parameter"},
        {"asg_suspend", "--name=web", "--processes=All", NULL, "invalid_parameter"},
        {"asg_suspend", "--name=web", "--processes= scale_in", NULL, "invalid_parameter"},
        {"asg_suspend", "--name=web;id", NULL, NULL, "invalid_name"},
        {"asg_suspend", "--name=web\nx", NULL, NULL, "invalid_name"},
        {"asg_suspend", "--name=nope", NULL, NULL, "unknown_group"},
        {"asg_suspend", "--name=gone", NULL, NULL, "group_conflict"},
        {"asg_resume", "--name=web", "--processes=everything", NULL, "invalid_parameter"},
        {"asg_resume", "--name=nope", NULL, NULL, "unknown_group"},
        {"asg_resize", "--name=web", NULL, NULL, "missing_parameter"},
        {"asg_resize", "--name=web", "--size=1", NULL, "invalid_limits"},
        {"asg_resize", "--name=web", "--size=7", "--force", "invalid_limits"},
        {"asg_resize", "--name=web", "--size=-1", NULL, NULL},
        {"asg_resize", "--name=web", "--size=1001", NULL, NULL},
        {"asg_resize", "--name=web", "--size=3;", NULL, "invalid_parameter"},
        {"asg_resize", "--name=web", "--size=3", "--force=maybe", "invalid_parameter"},
        {"asg_resize", "--name=nope", "--size=3", NULL, "unknown_group"},
        {"asg_resize", "--name=gone", "--size=3", NULL, "group_conflict"},
        {"node_protect", "--name=web", NULL, NULL, "missing_parameter"},
        {"node_protect", "--name=web", "--node=web-x", NULL, "unknown_node"},
        {"node_protect", "--name=nope", "--node=web-a", NULL, "unknown_group"},
        {"node_protect", "--name=web", "--node=web-a;id", NULL, "invalid_node_name"},
        {"node_protect", "--name=web", "--node=Web-a", NULL, "invalid_node_name"},
        {"node_protect", "--name=web", "--node=web-a", "--reason=a\nb", "invalid_parameter"},
        {"node_protect", "--name=web", "--node=web-a", long_reason, "invalid_parameter"},
        {"node_protect", "--name=web", "--node=web-a", "--unprotect=2", "invalid_parameter"},
        {"node_protect", "--name=web", "--node=web-a", "--protect", "unknown_parameter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *c = cases[i];
        int st = store_run(&f->st, c[0], &r, c[1], c[2], c[3], NULL);
        /* NULL code: refused by whichever rule comes first, exit 2 */
        if (st != 2 || (c[4] && strcmp(action_error_code(&r), c[4]) != 0))
            fail_msg("case %zu (%s): exit %d, wanted 2 %s: %s", i, c[0], st,
                     c[4] ? c[4] : "", r.out);
        assert_non_null(r.json);
        action_result_free(&r);
    }
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* 200 characters of two bytes each: st2's maxLength counts characters */
    ok(f, "node_protect", &r, "--name=web", "--node=web-a", long_utf8, NULL);
    action_result_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_suspend_resume),
        T(test_resize_and_force),
        T(test_protect_shown_and_idempotent),
        T(test_last_decision_shown),
        T(test_protect_new_and_remove),
        T(test_forget_takes_everything),
        T(test_concurrent_spec_changes_all_land),
        T(test_bad_input_changes_nothing),
    };
#undef T
    return cmocka_run_group_tests_name("control_actions", tests, NULL, NULL);
}
