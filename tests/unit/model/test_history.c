/* test_history.c - a group's history (lib/model/history.c) on an embedded
 * datastore in a fresh directory per test: ISO-8601 times both ways and
 * what the parser refuses, decisions kept only when they change, bounded
 * (decisions and events, never the latest event of an op), the notices of
 * alert and capacity transitions, the node list of an outcome, and
 * history_show merging decisions with events in time order, filtered by
 * time and kind and cut by the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "test_util.h"

struct fixture {
    char dir[64];
    char path[128];
    struct ds *ds;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_history"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    struct as_error err = {0};
    f->ds = ds_open_embedded(f->path, &err);
    if (!f->ds)
        fail_msg("ds_open_embedded: %s: %s", err.code, err.message);
    log_set_level(LOG_ERROR);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static void put(struct ds *ds, const char *key, const char *value)
{
    struct as_error err = {0};
    if (ds_put(ds, key, value, 0, &err) != 0)
        fail_msg("put %s: %s: %s", key, err.code, err.message);
}

static size_t count(struct ds *ds, const char *prefix)
{
    struct ds_list l = {0};
    struct as_error err = {0};
    if (ds_list(ds, prefix, &l, &err) != 0)
        fail_msg("list %s: %s", prefix, err.message);
    size_t n = l.count;
    ds_list_clear(&l);
    return n;
}

/* A decision as governor_tick prints one. */
static struct json_object *decision(const char *action, const char *code, const char *alert,
                                    int n, const char *reason)
{
    struct json_object *d = jx_new_object();
    jx_add_str(d, "group", "web");
    jx_add_str(d, "action", action);
    jx_add_str(d, "code", code);
    jx_add_int(d, "count", n);
    jx_add_int(d, "remove", 0);
    jx_add_int(d, "capacity_before", 2);
    jx_add_int(d, "capacity_after", 2 + n);
    jx_add_str(d, "alert", alert);
    jx_add_str(d, "reason", reason);
    return d;
}

/* history_note must succeed; returns whether it recorded. *prev (if
 * asked) receives the record before. */
static bool note(struct ds *ds, struct json_object *d, long long ms, struct json_object **prev)
{
    struct as_error err = {0};
    bool recorded = false;
    if (history_note(ds, "web", d, ms, &recorded, prev, &err) != 0)
        fail_msg("history_note: %s: %s", err.code, err.message);
    json_object_put(d);
    return recorded;
}

static struct json_object *last(struct ds *ds)
{
    struct json_object *o = NULL;
    struct as_error err = {0};
    if (history_last(ds, "web", &o, &err) != 0)
        fail_msg("history_last: %s", err.message);
    return o;
}

/* ---- time ---- */

static void test_iso8601_known(void **state)
{
    (void)state;
    char buf[21];
    assert_string_equal(history_iso8601(buf, 0), "1970-01-01T00:00:00Z");
    assert_string_equal(history_iso8601(buf, 1796662988), "2026-12-07T17:03:08Z");
    assert_string_equal(history_iso8601(buf, 951782400), "2000-02-29T00:00:00Z");
    /* out of the form's range: clamped, never longer than the buffer */
    assert_string_equal(history_iso8601(buf, -5), "1970-01-01T00:00:00Z");
    assert_string_equal(history_iso8601(buf, 999999999999999LL), "9999-12-31T23:59:59Z");
}

static void test_time_round_trip(void **state)
{
    (void)state;
    char buf[21];
    long long back;
    /* a prime step crosses every month, leap day and time of day */
    for (long long t = 0; t <= 253402300799LL; t += 7919LL * 3607) {
        history_iso8601(buf, t);
        if (history_parse_time(buf, &back) != 0 || back != t)
            fail_msg("%lld -> %s -> %lld", t, buf, back);
    }
    assert_int_equal(history_parse_time("9999-12-31T23:59:59Z", &back), 0);
    assert_true(back == 253402300799LL);
    assert_int_equal(history_parse_time("1796662988", &back), 0);
    assert_true(back == 1796662988LL);
    assert_int_equal(history_parse_time("0", &back), 0);
    assert_true(back == 0);
    assert_int_equal(history_parse_time("2024-02-29T23:59:59Z", &back), 0);
    assert_true(back == 1709251199LL);
}

static void test_time_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "2026-12-07 17:03:08Z", "2026-12-07T17:03:08", "2026-12-07T17:03:08+00:00",
        "2026-12-07T17:03:08.5Z", "2026-12-07t17:03:08z", "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-12-32T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-00T00:00:00Z",
        "2026-12-07T24:00:00Z", "2026-12-07T23:60:00Z", "2026-12-07T23:59:60Z",
        "1969-12-31T23:59:59Z", "+026-12-07T17:03:08Z", "2026-12-07T17:03:0xZ",
        "-1", "+5", " 5", "5 ", "1e9", "0x10", "1234567890123", "253402300800", "12;3",
        "yesterday", "2026-12-07", "2026-12-07T17:03:08Z ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long long v = 42;
        if (history_parse_time(bad[i], &v) != -1)
            fail_msg("'%s' accepted as %lld", bad[i], v);
    }
    long long v;
    assert_int_equal(history_parse_time(NULL, &v), -1);
}

/* ---- decisions ---- */

static void test_note_keeps_changes_only(void **state)
{
    struct fixture *f = *state;
    struct json_object *prev = (void *)1;
    char key[KEY_MAX];

    assert_true(note(f->ds, decision("none", "rest", "none", 0, "at min"), 1000000, &prev));
    assert_null(prev);
    /* the same action, code and alert: nothing new, whatever the reason */
    assert_false(note(f->ds, decision("none", "rest", "none", 0, "still at min"), 1030000,
                      &prev));
    /* prev is what decisions are compared on: action, code and alert */
    assert_string_equal(jx_str(prev, "code", ""), "rest");
    assert_string_equal(jx_str(prev, "alert", ""), "none");
    json_object_put(prev);
    assert_int_equal(count(f->ds, key_history_prefix(key, "web")), 1);
    /* another code */
    assert_true(note(f->ds, decision("scale_out", "alert", "critical", 2, "cpu"), 1060000,
                     &prev));
    assert_string_equal(jx_str(prev, "code", ""), "rest");
    json_object_put(prev);
    /* the same action and code under another alert: kept, so that the alert's
     * change is not announced again at the next tick */
    assert_true(note(f->ds, decision("scale_out", "alert", "warning", 1, "cpu"), 1090000, NULL));
    assert_int_equal(count(f->ds, key_history_prefix(key, "web")), 3);

    struct json_object *l = last(f->ds);
    assert_string_equal(jx_str(l, "kind", ""), "decision");
    assert_string_equal(jx_str(l, "action", ""), "scale_out");
    assert_string_equal(jx_str(l, "alert", ""), "warning");
    assert_int_equal(jx_int(l, "at", 0), 1090);
    assert_string_equal(jx_str(l, "time", ""), "1970-01-01T00:18:10Z");
    assert_int_equal(jx_int(l, "count", -1), 1);
    assert_int_equal(jx_int(l, "capacity_after", -1), 3);
    assert_null(jx_obj(l, "group")); /* the key says it */
    json_object_put(l);
    /* another group's history is its own */
    struct json_object *o = (void *)1;
    struct as_error err = {0};
    assert_int_equal(history_last(f->ds, "web-2", &o, &err), 0);
    assert_null(o);
}

/* A clock stepped back still writes after the latest record, which stays
 * the one history_last reads. */
static void test_note_clock_back(void **state)
{
    struct fixture *f = *state;
    assert_true(note(f->ds, decision("none", "rest", "none", 0, "a"), 5000000, NULL));
    assert_true(note(f->ds, decision("none", "cooldown", "none", 0, "b"), 4000000, NULL));
    struct json_object *l = last(f->ds);
    assert_string_equal(jx_str(l, "reason", ""), "b");
    assert_int_equal(jx_int(l, "at", 0), 4000); /* the clock's own reading */
    json_object_put(l);
    char key[KEY_MAX];
    struct ds_list ls = {0};
    struct as_error err = {0};
    assert_int_equal(ds_list(f->ds, key_history_prefix(key, "web"), &ls, &err), 0);
    assert_int_equal(ls.count, 2);
    assert_string_equal(ls.items[1].name, key_history(key, "web", 5000001));
    ds_list_clear(&ls);
}

static void test_note_bounded(void **state)
{
    struct fixture *f = *state;
    char key[KEY_MAX], reason[32];
    for (int i = 0; i < HISTORY_MAX + 30; i++) {
        snprintf(reason, sizeof reason, "r%d", i);
        assert_true(note(f->ds, decision("none", i % 2 ? "rest" : "cooldown", "none", 0, reason),
                         1000000 + i * 1000LL, NULL));
    }
    struct ds_list l = {0};
    struct as_error err = {0};
    assert_int_equal(ds_list(f->ds, key_history_prefix(key, "web"), &l, &err), 0);
    assert_int_equal(l.count, HISTORY_MAX);
    struct json_object *oldest = jx_parse_record(l.items[0].value);
    assert_string_equal(jx_str(oldest, "reason", ""), "r30");
    json_object_put(oldest);
    ds_list_clear(&l);
    struct json_object *newest = last(f->ds);
    snprintf(reason, sizeof reason, "r%d", HISTORY_MAX + 29);
    assert_string_equal(jx_str(newest, "reason", ""), reason);
    json_object_put(newest);
}

static void test_note_refuses_bad_group(void **state)
{
    struct fixture *f = *state;
    bool recorded = true;
    struct as_error err = {0};
    struct json_object *d = decision("none", "rest", "none", 0, "x");
    assert_int_equal(history_note(f->ds, "web;rm", d, 1000, &recorded, NULL, &err), -1);
    assert_true(as_error_is(&err, "invalid_name"));
    assert_false(recorded);
    json_object_put(d);
    assert_int_equal(count(f->ds, "autoscale."), 0);
}

/* ---- notices ---- */

/* The events of history_notices(prev, d), joined by ',' into buf. */
static const char *notices(struct json_object *prev, struct json_object *d, char *buf,
                           size_t size)
{
    struct json_object *arr = history_notices(prev, d);
    buf[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *n = json_object_array_get_idx(arr, i);
        assert_string_equal(jx_str(n, "group", ""), "web");
        assert_string_equal(jx_str(n, "reason", ""), jx_str(d, "reason", "?"));
        assert_int_equal(jx_int(n, "count", -1), jx_int(d, "count", -2));
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "," : "",
                 jx_str(n, "event", ""));
    }
    json_object_put(arr);
    json_object_put(prev);
    json_object_put(d);
    return buf;
}

static void test_notices_transitions(void **state)
{
    (void)state;
    char b[128];
#define D decision
    /* no previous record */
    assert_string_equal(notices(NULL, D("none", "rest", "none", 0, "r"), b, sizeof b), "");
    assert_string_equal(notices(NULL, D("scale_out", "alert", "critical", 2, "r"), b, sizeof b),
                        "alert_opened");
    assert_string_equal(notices(NULL, D("none", "alert_at_max", "critical", 0, "r"), b, sizeof b),
                        "alert_opened,capacity_exhausted");
    /* opened, changed, closed */
    assert_string_equal(notices(D("none", "rest", "none", 0, "p"),
                                D("scale_out", "alert", "warning", 1, "w"), b, sizeof b),
                        "alert_opened");
    assert_string_equal(notices(D("scale_out", "alert", "warning", 1, "p"),
                                D("scale_out", "alert", "critical", 2, "c"), b, sizeof b),
                        "");
    assert_string_equal(notices(D("scale_out", "alert", "critical", 1, "p"),
                                D("none", "cooldown", "none", 0, "ok"), b, sizeof b),
                        "alert_closed");
    /* reaching max under alert: once */
    assert_string_equal(notices(D("scale_out", "alert", "critical", 2, "p"),
                                D("none", "alert_at_max", "critical", 0, "max"), b, sizeof b),
                        "capacity_exhausted");
    assert_string_equal(notices(D("none", "alert_at_max", "critical", 0, "p"),
                                D("none", "alert_at_max", "critical", 0, "max"), b, sizeof b),
                        "");
    /* leaving max and coming back is news again */
    assert_string_equal(notices(D("none", "cooldown", "critical", 0, "p"),
                                D("none", "alert_at_max", "critical", 0, "max"), b, sizeof b),
                        "capacity_exhausted");
    /* a record without an alert field counts as none */
    struct json_object *bare = jx_new_object();
    jx_add_str(bare, "action", "none");
    assert_string_equal(notices(bare, D("none", "suspended", "warning", 0, "s"), b, sizeof b),
                        "alert_opened");
#undef D
}

/* ---- outcomes ---- */

static void test_nodes_parse(void **state)
{
    (void)state;
    struct json_object *a = NULL;
    struct as_error err = {0};
    assert_int_equal(history_nodes_parse("", &a, &err), 0);
    assert_int_equal(json_object_array_length(a), 0);
    json_object_put(a);
    assert_int_equal(history_nodes_parse(NULL, &a, &err), 0);
    assert_int_equal(json_object_array_length(a), 0);
    json_object_put(a);
    assert_int_equal(history_nodes_parse("web-1,web-20", &a, &err), 0);
    assert_int_equal(json_object_array_length(a), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 1)), "web-20");
    json_object_put(a);

    static const struct {
        const char *csv, *code;
    } bad[] = {
        {"web-1,", "invalid_parameter"},       {",web-1", "invalid_parameter"},
        {",", "invalid_parameter"},            {"web-1,,web-2", "invalid_parameter"},
        {"web-1,web-1", "invalid_parameter"},  {"Web-1", "invalid_node_name"},
        {"web-1;rm", "invalid_node_name"},     {"web-1, web-2", "invalid_node_name"},
        {"-web", "invalid_node_name"},         {"web.1", "invalid_node_name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        a = (void *)1;
        as_error_clear(&err);
        if (history_nodes_parse(bad[i].csv, &a, &err) != -1 || !as_error_is(&err, bad[i].code))
            fail_msg("'%s': %s", bad[i].csv, err.code);
        assert_ptr_equal(a, (void *)1); /* untouched */
    }
    /* at most HISTORY_NODES_MAX names */
    size_t size = (HISTORY_NODES_MAX + 1) * 8;
    char *many = calloc(1, size);
    assert_non_null(many);
    for (int i = 0; i < HISTORY_NODES_MAX; i++)
        snprintf(many + strlen(many), size - strlen(many), "%sn%d", i ? "," : "", i);
    assert_int_equal(history_nodes_parse(many, &a, &err), 0);
    assert_int_equal(json_object_array_length(a), HISTORY_NODES_MAX);
    json_object_put(a);
    strcat(many, ",last");
    assert_int_equal(history_nodes_parse(many, &a, &err), -1);
    assert_true(as_error_is(&err, "invalid_parameter"));
    free(many);
}

static void test_outcome_parse_reason(void **state)
{
    (void)state;
    struct json_object *a = NULL;
    struct as_error err = {0};
    char reason[HISTORY_REASON_MAX * 2 + 3] = "";
    /* 500 two-byte characters are 500 characters */
    for (int i = 0; i < HISTORY_REASON_MAX; i++)
        strcat(reason, "\xc3\xa9");
    assert_int_equal(history_outcome_parse(reason, "web-1", &a, &err), 0);
    json_object_put(a);
    strcat(reason, "x");
    assert_int_equal(history_outcome_parse(reason, "web-1", &a, &err), -1);
    assert_true(as_error_is(&err, "invalid_parameter"));
    assert_int_equal(history_outcome_parse("\xc3(", "", &a, &err), -1);
    assert_int_equal(history_outcome_parse("ok", "web-1,", &a, &err), -1);
}

static void record(struct ds *ds, const char *lease_id, const char *reason, const char *nodes,
                   long long now)
{
    struct json_object *arr = NULL, *out = NULL;
    struct as_error err = {0};
    if (history_outcome_parse(reason, nodes, &arr, &err) != 0)
        fail_msg("history_outcome_parse: %s", err.message);
    struct scaling_outcome o = {2, 2, 0, reason, arr};
    if (history_record_outcome(ds, "web", lease_id, &o, now, &out, &err) != 0)
        fail_msg("history_record_outcome: %s: %s", err.code, err.message);
    json_object_put(arr);
    json_object_put(out);
}

static void test_record_outcome(void **state)
{
    struct fixture *f = *state;
    char key[KEY_MAX], *text = NULL;
    struct as_error err = {0};
    record(f->ds, "001800000000-replace-0000abcd", "web-2 unhealthy", "web-3,web-2", 1800000090);
    assert_int_equal(ds_get(f->ds, key_event(key, "web", 1800000000, "replace-0000abcd"), &text,
                            &err), 0);
    struct json_object *ev = jx_parse_record(text);
    free(text);
    assert_string_equal(jx_str(ev, "op", ""), "replace");
    assert_string_equal(jx_str(ev, "reason", ""), "web-2 unhealthy");
    assert_string_equal(jx_str(ev, "result", ""), "success");
    assert_int_equal(jx_int(ev, "finished_at", 0), 1800000090);
    struct json_object *nodes = jx_arr(ev, "nodes");
    assert_int_equal(json_object_array_length(nodes), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(nodes, 0)), "web-3");
    json_object_put(ev);

    /* the record checks the reason again: a caller skipping the parse
     * cannot store more */
    char big[HISTORY_REASON_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct scaling_outcome o = {1, 1, 0, big, NULL};
    struct json_object *out = NULL;
    assert_int_equal(history_record_outcome(f->ds, "web", "001800000100-scale_out-0000abcd", &o,
                                            1800000200, &out, &err), -1);
    assert_true(as_error_is(&err, "invalid_parameter"));
    assert_int_equal(count(f->ds, key_event_prefix(key, "web")), 1);
}

/* Events beyond HISTORY_MAX go oldest first, but never the latest of an
 * op: the oldest two here are the only scale_in and the only replace. */
static void test_events_bounded(void **state)
{
    struct fixture *f = *state;
    char key[KEY_MAX], id[LEASE_ID_MAX];
    put(f->ds, key_event(key, "web", 1000, "scale_in-00000001"), "{\"op\":\"scale_in\",\"at\":1000}");
    put(f->ds, key_event(key, "web", 1001, "replace-00000002"), "{\"op\":\"replace\",\"at\":1001}");
    for (int i = 0; i < HISTORY_MAX + 5; i++) {
        snprintf(id, sizeof id, "%012d-scale_out-%08x", 2000 + i, i);
        record(f->ds, id, "", "", 2000 + i);
    }
    struct ds_list l = {0};
    struct as_error err = {0};
    assert_int_equal(ds_list(f->ds, key_event_prefix(key, "web"), &l, &err), 0);
    assert_int_equal(l.count, HISTORY_MAX);
    assert_string_equal(l.items[0].name, key_event(key, "web", 1000, "scale_in-00000001"));
    assert_string_equal(l.items[1].name, key_event(key, "web", 1001, "replace-00000002"));
    /* then the newest scale-outs: the oldest 7 went */
    snprintf(id, sizeof id, "scale_out-%08x", 7);
    assert_string_equal(l.items[2].name, key_event(key, "web", 2007, id));
    ds_list_clear(&l);

    /* another scale-in: now the old one may go */
    record(f->ds, "000000003000-scale_in-00000003", "", "", 3000);
    assert_int_equal(count(f->ds, key_event_prefix(key, "web")), HISTORY_MAX);
    char *text = NULL;
    assert_int_equal(ds_get(f->ds, key_event(key, "web", 1000, "scale_in-00000001"), &text, &err),
                     DS_ABSENT);
    assert_int_equal(ds_get(f->ds, key_event(key, "web", 1001, "replace-00000002"), &text, &err),
                     0);
    free(text);
}

/* ---- show ---- */

/* Decisions at 100 s (none), 200 s (scale_out), 300 s (none), and the
 * outcomes of a scale-out begun at 200 s, done at 260 s, and a scale-in
 * begun at 400 s, done at 450 s. */
static void arrange_story(struct ds *ds)
{
    char key[KEY_MAX];
    put(ds, key_spec(key, "web"), "{\"name\":\"web\"}");
    assert_true(note(ds, decision("none", "rest", "none", 0, "at min"), 100000, NULL));
    assert_true(note(ds, decision("scale_out", "alert", "critical", 2, "cpu"), 200000, NULL));
    assert_true(note(ds, decision("none", "leased", "critical", 0, "in flight"), 300000, NULL));
    record(ds, "000000000200-scale_out-0000000a", "cpu", "web-3,web-4", 260);
    record(ds, "000000000400-scale_in-0000000b", "quiet", "web-4", 450);
}

/* history_show's entries as "d100,e260,..." (d: decision, e: event, and the
 * entry's time in seconds). */
static const char *show(struct ds *ds, const struct history_query *q, char *buf, size_t size,
                        long long *matched)
{
    struct json_object *out = NULL;
    struct as_error err = {0};
    if (history_show(ds, q, &out, &err) != 0)
        fail_msg("history_show: %s: %s", err.code, err.message);
    assert_string_equal(jx_str(out, "group", ""), "web");
    struct json_object *arr = jx_arr(out, "entries");
    assert_int_equal(jx_int(out, "count", -1), json_object_array_length(arr));
    buf[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        bool d = strcmp(jx_str(e, "kind", ""), "decision") == 0;
        long long t = d ? jx_int(e, "at", 0) : jx_int(e, "finished_at", 0);
        long long back = -1;
        assert_int_equal(history_parse_time(jx_str(e, "time", ""), &back), 0);
        assert_true(back == t);
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%c%lld", i ? "," : "", d ? 'd' : 'e',
                 t);
    }
    if (matched)
        *matched = jx_int(out, "matched", -1);
    json_object_put(out);
    return buf;
}

static void test_show_merges_oldest_first(void **state)
{
    struct fixture *f = *state;
    char b[256];
    long long matched = 0;
    arrange_story(f->ds);
    struct history_query q = {.group = "web"};
    assert_string_equal(show(f->ds, &q, b, sizeof b, &matched), "d100,d200,e260,d300,e450");
    assert_int_equal(matched, 5);

    /* an event's fields, and when it began */
    struct json_object *out = NULL;
    struct as_error err = {0};
    q.kind = "event";
    assert_int_equal(history_show(f->ds, &q, &out, &err), 0);
    struct json_object *e = json_object_array_get_idx(jx_arr(out, "entries"), 0);
    assert_string_equal(jx_str(e, "op", ""), "scale_out");
    assert_string_equal(jx_str(e, "started", ""), "1970-01-01T00:03:20Z");
    assert_string_equal(jx_str(e, "time", ""), "1970-01-01T00:04:20Z");
    assert_string_equal(jx_str(e, "reason", ""), "cpu");
    assert_int_equal(json_object_array_length(jx_arr(e, "nodes")), 2);
    json_object_put(out);
}

static void test_show_filters(void **state)
{
    struct fixture *f = *state;
    char b[256];
    long long matched = 0;
    arrange_story(f->ds);
    struct history_query q = {.group = "web", .since = 250};
    assert_string_equal(show(f->ds, &q, b, sizeof b, NULL), "e260,d300,e450");
    q = (struct history_query){.group = "web", .until = 300};
    assert_string_equal(show(f->ds, &q, b, sizeof b, NULL), "d100,d200,e260,d300");
    /* both ends inclusive */
    q = (struct history_query){.group = "web", .since = 200, .until = 260};
    assert_string_equal(show(f->ds, &q, b, sizeof b, NULL), "d200,e260");
    q = (struct history_query){.group = "web", .kind = "decision"};
    assert_string_equal(show(f->ds, &q, b, sizeof b, NULL), "d100,d200,d300");
    q = (struct history_query){.group = "web", .kind = "event"};
    assert_string_equal(show(f->ds, &q, b, sizeof b, NULL), "e260,e450");
    q = (struct history_query){.group = "web", .kind = "scale_out"};
    assert_string_equal(show(f->ds, &q, b, sizeof b, NULL), "d200,e260");
    q = (struct history_query){.group = "web", .kind = "scale_in"};
    assert_string_equal(show(f->ds, &q, b, sizeof b, NULL), "e450");
    q = (struct history_query){.group = "web", .kind = "none"};
    assert_string_equal(show(f->ds, &q, b, sizeof b, NULL), "d100,d300");
    q = (struct history_query){.group = "web", .kind = "replace"};
    assert_string_equal(show(f->ds, &q, b, sizeof b, &matched), "");
    assert_int_equal(matched, 0);
    /* the newest `limit`, still oldest first */
    q = (struct history_query){.group = "web", .limit = 2};
    assert_string_equal(show(f->ds, &q, b, sizeof b, &matched), "d300,e450");
    assert_int_equal(matched, 5);
    q = (struct history_query){.group = "web", .limit = 1, .kind = "decision", .until = 250};
    assert_string_equal(show(f->ds, &q, b, sizeof b, &matched), "d200");
    assert_int_equal(matched, 2);
}

static void test_show_refusals(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    arrange_story(f->ds);
    struct history_query q = {.group = "nope"};
    assert_int_equal(history_show(f->ds, &q, &out, &err), -1);
    assert_true(as_error_is(&err, "unknown_group"));
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    q = (struct history_query){.group = "web;ls"};
    assert_int_equal(history_show(f->ds, &q, &out, &err), -1);
    assert_true(as_error_is(&err, "invalid_name"));
    q = (struct history_query){.group = "web", .kind = "scale"};
    assert_int_equal(history_show(f->ds, &q, &out, &err), -1);
    assert_true(as_error_is(&err, "invalid_parameter"));
    q = (struct history_query){.group = "web", .since = 300, .until = 200};
    assert_int_equal(history_show(f->ds, &q, &out, &err), -1);
    assert_true(as_error_is(&err, "invalid_parameter"));
    assert_null(out);
    /* a known group with no history is an empty answer */
    char key[KEY_MAX];
    put(f->ds, key_spec(key, "db"), "{\"name\":\"db\"}");
    q = (struct history_query){.group = "db"};
    assert_int_equal(history_show(f->ds, &q, &out, &err), 0);
    assert_int_equal(jx_int(out, "count", -1), 0);
    json_object_put(out);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601_known),
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_time_refusals),
        T(test_note_keeps_changes_only),
        T(test_note_clock_back),
        T(test_note_bounded),
        T(test_note_refuses_bad_group),
        cmocka_unit_test(test_notices_transitions),
        cmocka_unit_test(test_nodes_parse),
        cmocka_unit_test(test_outcome_parse_reason),
        T(test_record_outcome),
        T(test_events_bounded),
        T(test_show_merges_oldest_first),
        T(test_show_filters),
        T(test_show_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
