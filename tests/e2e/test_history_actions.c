/* End-to-end tests of a group's history as st2 runs the actions: asg_history
 * (its filters, and the input it refuses without touching anything) and
 * scaling_record's reason and nodes, the replace op, and the bound on a
 * group's events. Each binary runs with argv built as st2 builds it, on an
 * embedded store in a fresh directory, the clock pinned with
 * AUTOSCALE_TEST_NOW. Decisions are written with history_note, as the
 * governor's tick writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_run.h"
#include "datastore.h"
#include "history.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

#define T0 1800000000LL /* 2027-01-15T08:00:00Z */

static int setup(void **state)
{
    struct action_result r;
    store_setup(state, "as-history", T0);
    struct store_fixture *f = *state;
    if (store_run(f, "asg_define", &r, "--compute_provider=local", "--name=web", "--min=1",
                  "--max=4", NULL) != 0)
        fail_msg("asg_define: %s", r.out);
    action_result_free(&r);
    return 0;
}

static void assert_snapshot(struct store_fixture *f, const char *before)
{
    char *after = store_snapshot(f);
    if (strcmp(before, after) != 0)
        fail_msg("the store changed:\nbefore:\n%s\nafter:\n%s", before, after);
    free(after);
}

/* A decision of web's, at `at` seconds, as the tick records one. */
static void decide(struct store_fixture *f, const char *action, const char *code, long long at)
{
    /* the store's TTLs count from the clock the actions read */
    char now[32];
    snprintf(now, sizeof now, "%lld", f->now);
    setenv("AUTOSCALE_TEST_NOW", now, 1);
    struct ds *ds = store_open(f);
    struct json_object *d = jx_new_object();
    struct as_error err = {0};
    bool recorded = false;
    jx_add_str(d, "group", "web");
    jx_add_str(d, "action", action);
    jx_add_str(d, "code", code);
    jx_add_int(d, "count", strcmp(action, "none") ? 1 : 0);
    jx_add_str(d, "alert", strcmp(action, "none") ? "critical" : "none");
    jx_add_str(d, "reason", code);
    if (history_note(ds, "web", d, at * 1000, &recorded, NULL, &err) != 0 || !recorded)
        fail_msg("history_note: %s", err.message);
    json_object_put(d);
    ds_close(ds);
    unsetenv("AUTOSCALE_TEST_NOW");
}

/* scaling_record of web, which must succeed; its event (new). */
static struct json_object *record_ok(struct store_fixture *f, const char *lease_id,
                                     const char *reason, const char *nodes)
{
    struct action_result r;
    char id[80], why[600], ns[200];
    snprintf(id, sizeof id, "--lease_id=%s", lease_id);
    snprintf(why, sizeof why, "--reason=%s", reason);
    snprintf(ns, sizeof ns, "--nodes=%s", nodes);
    if (store_run(f, "scaling_record", &r, "--name=web", id, "--requested=2", "--succeeded=1",
                  "--failed=1", why, ns, NULL) != 0)
        fail_msg("scaling_record: %s", r.out);
    struct json_object *ev = json_object_get(jx_obj(r.json, "event"));
    action_result_free(&r);
    return ev;
}

/* asg_history with args, which must succeed: its output (new). */
static struct json_object *history_ok(struct store_fixture *f, ...)
{
    struct action_result r;
    va_list ap;
    va_start(ap, f);
    int rc = store_vrun(f, "asg_history", &r, ap);
    va_end(ap);
    if (rc != 0)
        fail_msg("asg_history: exit %d: %s", rc, r.out);
    struct json_object *o = json_object_get(r.json);
    action_result_free(&r);
    return o;
}

/* The entries' kinds and op/action: "decision:none,event:scale_out". */
static const char *entries(struct json_object *out, char *buf, size_t size)
{
    struct json_object *arr = jx_arr(out, "entries");
    buf[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        bool d = strcmp(jx_str(e, "kind", ""), "decision") == 0;
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s:%s", i ? "," : "",
                 jx_str(e, "kind", "?"), jx_str(e, d ? "action" : "op", "?"));
    }
    return buf;
}

static void test_scaling_record_reason_and_nodes(void **state)
{
    struct store_fixture *f = *state;
    struct json_object *ev =
        record_ok(f, "001800000000-replace-0badcafe", "web-2 failed 3 checks", "web-5,web-2");
    assert_string_equal(jx_str(ev, "op", ""), "replace");
    assert_string_equal(jx_str(ev, "result", ""), "partial");
    assert_string_equal(jx_str(ev, "reason", ""), "web-2 failed 3 checks");
    struct json_object *nodes = jx_arr(ev, "nodes");
    assert_int_equal(json_object_array_length(nodes), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(nodes, 1)), "web-2");
    json_object_put(ev);

    /* stored as printed, and what asg_history shows */
    char b[256];
    struct json_object *out = history_ok(f, "--name=web", NULL);
    assert_string_equal(entries(out, b, sizeof b), "event:replace");
    struct json_object *e = json_object_array_get_idx(jx_arr(out, "entries"), 0);
    assert_string_equal(jx_str(e, "reason", ""), "web-2 failed 3 checks");
    assert_string_equal(jx_str(e, "time", ""), "2027-01-15T08:00:00Z");
    json_object_put(out);

    /* without reason and nodes: "" and [] */
    ev = record_ok(f, "001800000060-scale_out-0badcafe", "", "");
    assert_string_equal(jx_str(ev, "reason", "?"), "");
    assert_int_equal(json_object_array_length(jx_arr(ev, "nodes")), 0);
    json_object_put(ev);
}

/* Refused with exit 2 and the code, nothing written. */
static void refused(struct store_fixture *f, const char *action, const char *code, ...)
{
    struct action_result r;
    char *before = store_snapshot(f);
    va_list ap;
    va_start(ap, code);
    int rc = store_vrun(f, action, &r, ap);
    va_end(ap);
    if (rc != 2 || strcmp(action_error_code(&r), code) != 0)
        fail_msg("%s: exit %d, wanted 2 %s: %s", action, rc, code, r.out);
    action_result_free(&r);
    assert_snapshot(f, before);
    free(before);
}

static void test_scaling_record_refuses_bad_input(void **state)
{
    struct store_fixture *f = *state;
    char reason[520];
    memset(reason, 'x', sizeof reason);
    memcpy(reason, "--reason=", 9);
    reason[9 + HISTORY_REASON_MAX + 1] = '\0'; /* 501 characters */
#define ID "--lease_id=001800000000-scale_out-0badcafe"
    refused(f, "scaling_record", "invalid_parameter", "--name=web", ID, "--requested=1",
            reason, NULL);
    refused(f, "scaling_record", "invalid_parameter", "--name=web", ID, "--requested=1",
            "--nodes=web-1,,web-2", NULL);
    refused(f, "scaling_record", "invalid_parameter", "--name=web", ID, "--requested=1",
            "--nodes=web-1,web-1", NULL);
    refused(f, "scaling_record", "invalid_node_name", "--name=web", ID, "--requested=1",
            "--nodes=web-1;reboot", NULL);
    refused(f, "scaling_record", "invalid_node_name", "--name=web", ID, "--requested=1",
            "--nodes=Web-1", NULL);
    refused(f, "scaling_record", "invalid_parameter", "--name=web",
            "--lease_id=001800000000-grow-0badcafe", "--requested=1", NULL);
#undef ID
    /* 500 characters are fine */
    reason[9 + HISTORY_REASON_MAX] = '\0';
    struct json_object *ev = record_ok(f, "001800000000-scale_in-0badcafe", reason + 9, "web-1");
    assert_int_equal(strlen(jx_str(ev, "reason", "")), HISTORY_REASON_MAX);
    json_object_put(ev);
}

static void test_history_refuses_bad_input(void **state)
{
    struct store_fixture *f = *state;
    decide(f, "none", "rest", T0 - 100);
    refused(f, "asg_history", "invalid_parameter", "--name=web", "--since=yesterday", NULL);
    refused(f, "asg_history", "invalid_parameter", "--name=web",
            "--since=2027-01-15 08:00:00", NULL);
    refused(f, "asg_history", "invalid_parameter", "--name=web",
            "--until=2027-02-29T00:00:00Z", NULL);
    refused(f, "asg_history", "invalid_parameter", "--name=web", "--until=-5", NULL);
    refused(f, "asg_history", "invalid_parameter", "--name=web", "--since=1800000000",
            "--until=1700000000", NULL);
    refused(f, "asg_history", "invalid_parameter", "--name=web", "--kind=scale", NULL);
    refused(f, "asg_history", "invalid_parameter", "--name=web", "--limit=0", NULL);
    refused(f, "asg_history", "invalid_parameter", "--name=web", "--limit=1001", NULL);
    refused(f, "asg_history", "unknown_group", "--name=nope", NULL);
    refused(f, "asg_history", "invalid_name", "--name=web;ls", NULL);
    refused(f, "asg_history", "invalid_name", "--name=web`id`", NULL);
    refused(f, "asg_history", "missing_parameter", NULL);
}

static void test_history_filters(void **state)
{
    struct store_fixture *f = *state;
    char b[256];
    decide(f, "none", "rest", T0 - 600);
    decide(f, "scale_out", "alert", T0 - 300);
    struct json_object *ev = record_ok(f, "001799999700-scale_out-00000001", "cpu", "web-2");
    json_object_put(ev); /* finished at T0 */
    decide(f, "none", "cooldown", T0 + 60);

    struct json_object *out = history_ok(f, "--name=web", NULL);
    assert_string_equal(entries(out, b, sizeof b),
                        "decision:none,decision:scale_out,event:scale_out,decision:none");
    assert_int_equal(jx_int(out, "matched", -1), 4);
    json_object_put(out);

    /* ISO-8601 or epoch seconds, both ends inclusive */
    out = history_ok(f, "--name=web", "--since=2027-01-15T07:55:00Z", "--until=1800000000",
                     NULL);
    assert_string_equal(entries(out, b, sizeof b), "decision:scale_out,event:scale_out");
    json_object_put(out);
    out = history_ok(f, "--name=web", "--kind=none", NULL);
    assert_string_equal(entries(out, b, sizeof b), "decision:none,decision:none");
    json_object_put(out);
    out = history_ok(f, "--name=web", "--kind=event", NULL);
    assert_string_equal(entries(out, b, sizeof b), "event:scale_out");
    json_object_put(out);
    /* "" is no filter, as st2 passes an optional string left empty */
    out = history_ok(f, "--name=web", "--since=", "--kind=", "--limit=2", NULL);
    assert_string_equal(entries(out, b, sizeof b), "event:scale_out,decision:none");
    assert_int_equal(jx_int(out, "count", -1), 2);
    assert_int_equal(jx_int(out, "matched", -1), 4);
    json_object_put(out);
}

/* A group keeps HISTORY_MAX events, always with the latest of each op. */
static void test_events_bounded(void **state)
{
    struct store_fixture *f = *state;
    char key[KEY_MAX], id[64];
    store_put(f, key_event(key, "web", T0 - 9999, "scale_in-00000001"),
              "{\"op\":\"scale_in\",\"at\":1799990001}");
    for (int i = 0; i < HISTORY_MAX + 2; i++) {
        snprintf(id, sizeof id, "scale_out-%08x", i);
        store_put(f, key_event(key, "web", T0 - 5000 + i, id), "{\"op\":\"scale_out\"}");
    }
    assert_int_equal(store_count(f, key_event_prefix(key, "web")), HISTORY_MAX + 3);
    struct json_object *ev = record_ok(f, "001800000000-replace-0badcafe", "", "web-1");
    json_object_put(ev);
    assert_int_equal(store_count(f, key_event_prefix(key, "web")), HISTORY_MAX);
    assert_int_equal(store_count(f, key_event(key, "web", T0 - 9999, "scale_in-00000001")), 1);
    assert_int_equal(store_count(f, key_event(key, "web", T0, "replace-0badcafe")), 1);
    /* the oldest scale-outs went: 0..3 */
    snprintf(id, sizeof id, "scale_out-%08x", 3);
    assert_int_equal(store_count(f, key_event(key, "web", T0 - 5000 + 3, id)), 0);
    snprintf(id, sizeof id, "scale_out-%08x", 4);
    assert_int_equal(store_count(f, key_event(key, "web", T0 - 5000 + 4, id)), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, store_teardown)
    const struct CMUnitTest tests[] = {
        T(test_scaling_record_reason_and_nodes),
        T(test_scaling_record_refuses_bad_input),
        T(test_history_refuses_bad_input),
        T(test_history_filters),
        T(test_events_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
