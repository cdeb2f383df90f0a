/* test_schedule.c - lib/model/schedule.c on an embedded datastore in a
 * fresh directory per test: the checks (names, crons, zones, limits), set
 * (unknown group, created, the same again unchanged, a replacement keeping
 * created_at, the 51st refused), delete (absent is deleted false), whether
 * a schedule is active (08:00-18:00 Mon-Fri in Europe/Berlin, across the
 * spring change; no end; unreadable records), which of several is in force
 * (schedule_fold), and the list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asg.h"
#include "clock.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "schedule.h"
#include "test_util.h"

struct fixture {
    char dir[64], path[128];
    struct ds *ds;
};

static long long utc(int y, int mo, int d, int h, int mi)
{
    return as_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600LL + mi * 60LL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_schedule"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    struct as_error err = {0};
    f->ds = ds_open_embedded(f->path, &err);
    if (!f->ds)
        fail_msg("ds_open_embedded: %s: %s", err.code, err.message);
    log_set_level(LOG_ERROR);
    struct group g;
    group_init(&g, "web");
    if (asg_save_spec(f->ds, &g, &err) != 0)
        fail_msg("asg_save_spec: %s", err.message);
    group_clear(&g);
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

static size_t count(struct fixture *f)
{
    char prefix[KEY_MAX];
    struct ds_list l = {0};
    struct as_error err = {0};
    assert_int_equal(ds_list(f->ds, key_schedule_prefix(prefix, NULL), &l, &err), 0);
    size_t n = l.count;
    ds_list_clear(&l);
    return n;
}

static struct schedule_spec office(void)
{
    return (struct schedule_spec){.group = "web", .name = "office", .start = "0 8 * * MON-FRI",
                                  .end = "0 18 * * MON-FRI", .time_zone = "Europe/Berlin",
                                  .min = 4, .max = 10, .desired = -1};
}

static void refused(const struct schedule_spec *s, const char *code, const char *says)
{
    struct as_error err = {0};
    assert_int_equal(schedule_check(s, &err), -1);
    assert_string_equal(err.code, code);
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    if (says && !strstr(err.message, says))
        fail_msg("\"%s\" does not say \"%s\"", err.message, says);
}

static void test_check(void **state)
{
    (void)state;
    struct schedule_spec s = office();
    assert_int_equal(schedule_check(&s, NULL), 0);
    s.time_zone = NULL; /* UTC */
    s.end = "";         /* none */
    assert_int_equal(schedule_check(&s, NULL), 0);

    const char *names[] = {"", "Office", "a;b", "a\nb", "-a", "a.b",
                           "abcdefghijklmnopqrstuvwxyz012345" /* 32 */};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        s = office();
        s.name = names[i];
        refused(&s, "invalid_name", "'schedule'");
    }
    s = office();
    s.group = "web;rm";
    refused(&s, "invalid_name", NULL);
    s = office();
    s.start = "0 25 * * *";
    refused(&s, "invalid_parameter", "'start'");
    s = office();
    s.end = "0 18 * * MON-FRY";
    refused(&s, "invalid_parameter", "'end'");
    s = office();
    s.time_zone = "Mars/Olympus";
    refused(&s, "invalid_parameter", "'time_zone'");
    s.time_zone = "../etc/passwd";
    refused(&s, "invalid_parameter", "'time_zone'");
    s = office();
    s.min = s.max = s.desired = -1;
    refused(&s, "missing_parameter", NULL);
    s = office();
    s.min = 11;
    refused(&s, "invalid_limits", "min");
    s = office();
    s.desired = 11;
    refused(&s, "invalid_limits", "desired");
    s.desired = 3;
    refused(&s, "invalid_limits", "desired");
    s = office();
    s.max = 1001;
    refused(&s, "invalid_limits", "max");
    s.max = -2;
    refused(&s, "invalid_limits", "max");
    s = office();
    s.min = -1;
    s.max = 0; /* scale to nothing at night: allowed */
    assert_int_equal(schedule_check(&s, NULL), 0);
}

static void test_set(void **state)
{
    struct fixture *f = *state;
    struct schedule_spec s = office();
    struct json_object *out = NULL;
    struct as_error err = {0};

    s.group = "nosuch";
    assert_int_equal(schedule_set(f->ds, &s, 1000, &out, &err), -1);
    assert_string_equal(err.code, "unknown_group");
    assert_int_equal(count(f), 0);

    s = office();
    assert_int_equal(schedule_set(f->ds, &s, 1000, &out, &err), 0);
    assert_true(jx_bool(out, "created", false));
    assert_true(jx_bool(out, "changed", false));
    char *first = jx_dump(jx_obj(out, "record"));
    json_object_put(out);

    /* the same again, later: unchanged, the record as it was */
    assert_int_equal(schedule_set(f->ds, &s, 2000, &out, &err), 0);
    assert_false(jx_bool(out, "created", true));
    assert_false(jx_bool(out, "changed", true));
    char *again = jx_dump(jx_obj(out, "record"));
    assert_string_equal(first, again);
    json_object_put(out);
    free(again);
    free(first);

    char key[KEY_MAX], *text = NULL;
    assert_int_equal(ds_get(f->ds, key_schedule(key, "web", "office"), &text, &err), 0);
    struct json_object *rec = jx_parse_record(text);
    free(text);
    assert_string_equal(jx_str(rec, "name", ""), "office");
    assert_string_equal(jx_str(rec, "group", ""), "web");
    assert_string_equal(jx_str(rec, "start", ""), "0 8 * * MON-FRI");
    assert_string_equal(jx_str(rec, "end", ""), "0 18 * * MON-FRI");
    assert_string_equal(jx_str(rec, "time_zone", ""), "Europe/Berlin");
    assert_int_equal(jx_int(rec, "min", 0), 4);
    assert_int_equal(jx_int(rec, "max", 0), 10);
    assert_int_equal(jx_int(rec, "desired", 0), -1);
    assert_int_equal(jx_int(rec, "updated_at", 0), 1000);
    json_object_put(rec);

    /* replaced: created_at stays, updated_at moves, no end any more */
    s.max = 12;
    s.end = NULL;
    assert_int_equal(schedule_set(f->ds, &s, 3000, &out, &err), 0);
    assert_false(jx_bool(out, "created", true));
    assert_true(jx_bool(out, "changed", false));
    rec = jx_obj(out, "record");
    assert_int_equal(jx_int(rec, "created_at", 0), 1000);
    assert_int_equal(jx_int(rec, "updated_at", 0), 3000);
    assert_int_equal(jx_int(rec, "max", 0), 12);
    assert_null(jx_str(rec, "end", NULL));
    json_object_put(out);

    /* refused by the checks: nothing written */
    s.time_zone = "Mars/Olympus";
    assert_int_equal(schedule_set(f->ds, &s, 4000, &out, &err), -1);
    assert_int_equal(count(f), 1);
}

static void test_limit(void **state)
{
    struct fixture *f = *state;
    struct schedule_spec s = office();
    struct json_object *out = NULL;
    struct as_error err = {0};
    char name[32];
    for (int i = 0; i < SCHEDULE_MAX; i++) {
        snprintf(name, sizeof name, "s%02d", i);
        s.name = name;
        if (schedule_set(f->ds, &s, 1000, &out, &err) != 0)
            fail_msg("%s: %s", name, err.message);
        json_object_put(out);
    }
    s.name = "one-more";
    assert_int_equal(schedule_set(f->ds, &s, 1000, &out, &err), -1);
    assert_string_equal(err.code, "invalid_parameter");
    assert_non_null(strstr(err.message, "50"));
    assert_int_equal(count(f), SCHEDULE_MAX);
    /* replacing one of the fifty is no 51st */
    s.name = "s07";
    s.max = 20;
    assert_int_equal(schedule_set(f->ds, &s, 1000, &out, &err), 0);
    json_object_put(out);
    /* another group's schedules do not count */
    assert_int_equal(count(f), SCHEDULE_MAX);
}

static void test_delete(void **state)
{
    struct fixture *f = *state;
    struct schedule_spec s = office();
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(schedule_delete(f->ds, "web", "office", &out, &err), 0);
    assert_false(jx_bool(out, "deleted", true));
    json_object_put(out);
    assert_int_equal(schedule_set(f->ds, &s, 1000, &out, &err), 0);
    json_object_put(out);
    assert_int_equal(schedule_delete(f->ds, "web", "office", &out, &err), 0);
    assert_true(jx_bool(out, "deleted", false));
    json_object_put(out);
    assert_int_equal(count(f), 0);
    assert_int_equal(schedule_delete(f->ds, "web", "a;b", &out, &err), -1);
    assert_string_equal(err.code, "invalid_name");
}

static const char *OFFICE = "{\"name\":\"office\",\"group\":\"web\",\"start\":\"0 8 * * MON-FRI\","
                            "\"end\":\"0 18 * * MON-FRI\",\"time_zone\":\"Europe/Berlin\","
                            "\"min\":4,\"max\":10,\"desired\":-1}";

static int active_at(const char *text, long long now, long long *since)
{
    struct gov_schedule g;
    int rc = schedule_eval(text, now, &g);
    assert_int_equal(rc == 1, g.active);
    if (since)
        *since = g.since;
    return rc;
}

/* 08:00-18:00 Mon-Fri Berlin: CET (UTC+1) until 2026-03-29, CEST (UTC+2) after. */
static void test_eval_office(void **state)
{
    (void)state;
    long long since;
    /* Wednesday 2026-03-25, CET */
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 25, 6, 59), NULL), 0);
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 25, 7, 0), &since), 1);
    assert_int_equal(since, utc(2026, 3, 25, 7, 0));
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 25, 16, 59), &since), 1);
    assert_int_equal(since, utc(2026, 3, 25, 7, 0));
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 25, 17, 0), NULL), 0);
    /* the weekend, the change on Sunday 2026-03-29 included */
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 28, 10, 0), NULL), 0);
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 29, 10, 0), NULL), 0);
    /* Monday 2026-03-30, CEST: an hour earlier in UTC */
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 30, 5, 59), NULL), 0);
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 30, 6, 0), &since), 1);
    assert_int_equal(since, utc(2026, 3, 30, 6, 0));
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 30, 15, 59), NULL), 1);
    assert_int_equal(active_at(OFFICE, utc(2026, 3, 30, 16, 0), NULL), 0);
    /* what it sets */
    struct gov_schedule g;
    assert_int_equal(schedule_eval(OFFICE, utc(2026, 3, 30, 12, 0), &g), 1);
    assert_string_equal(g.name, "office");
    assert_int_equal(g.min, 4);
    assert_int_equal(g.max, 10);
    assert_int_equal(g.desired, -1);
}

static void test_eval_edges(void **state)
{
    (void)state;
    /* no end: active from the first start on; absent values are "not set" */
    const char *open = "{\"name\":\"launch\",\"start\":\"0 9 1 12 *\",\"max\":50}";
    struct gov_schedule g;
    assert_int_equal(schedule_eval(open, utc(2026, 11, 30, 12, 0), &g), 1); /* 2025-12-01 */
    assert_int_equal(g.since, utc(2025, 12, 1, 9, 0));
    assert_int_equal(g.min, -1);
    assert_int_equal(g.desired, -1);
    assert_int_equal(g.max, 50);
    /* a start that never comes */
    const char *never = "{\"name\":\"x\",\"start\":\"0 0 30 2 *\",\"min\":1}";
    assert_int_equal(schedule_eval(never, utc(2026, 6, 1, 0, 0), &g), 0);
    /* unreadable or invalid: -1 and inactive */
    const char *bad[] = {
        "not json",
        "{\"name\":\"x\",\"start\":\"0 0 * * *\",\"min\":1,\"time_zone\":\"Mars/Olympus\"}",
        "{\"name\":\"x\",\"start\":\"0 0 * *\",\"min\":1}",
        "{\"name\":\"x\",\"start\":\"0 0 * * *\",\"end\":\"bad\",\"min\":1}",
        "{\"name\":\"x\",\"start\":\"0 0 * * *\"}",
        "{\"name\":\"x\",\"start\":\"0 0 * * *\",\"min\":5,\"max\":2}",
        "{\"name\":\"X;\",\"start\":\"0 0 * * *\",\"min\":1}",
        "{\"start\":\"0 0 * * *\",\"min\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(schedule_eval(bad[i], utc(2026, 6, 1, 0, 0), &g), -1);
        assert_false(g.active);
    }
    assert_int_equal(schedule_eval(NULL, 0, &g), -1);
}

static void test_fold(void **state)
{
    (void)state;
    struct gov_schedule best = {.active = false};
    struct gov_schedule a = {.active = true, .name = "b-late", .since = 200, .min = 1};
    struct gov_schedule b = {.active = true, .name = "a-early", .since = 100, .min = 2};
    struct gov_schedule c = {.active = true, .name = "a-tie", .since = 200, .min = 3};
    struct gov_schedule off = {.active = false, .name = "a", .since = 900};
    schedule_fold(&best, &off);
    assert_false(best.active);
    schedule_fold(&best, &b);
    assert_string_equal(best.name, "a-early");
    schedule_fold(&best, &a);
    assert_string_equal(best.name, "b-late");
    schedule_fold(&best, &off);
    assert_string_equal(best.name, "b-late");
    schedule_fold(&best, &c); /* the same since: the smaller name */
    assert_string_equal(best.name, "a-tie");
    schedule_fold(&best, &a);
    assert_string_equal(best.name, "a-tie");
    assert_int_equal(best.min, 3);
}

static void test_list(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    struct schedule_spec s = office();
    assert_int_equal(schedule_set(f->ds, &s, 1000, &out, &err), 0);
    json_object_put(out);
    s.name = "friday";
    s.start = "0 16 * * FRI";
    s.end = "0 20 * * FRI";
    s.min = 8;
    s.max = 8;
    assert_int_equal(schedule_set(f->ds, &s, 1000, &out, &err), 0);
    json_object_put(out);
    char key[KEY_MAX];
    assert_int_equal(ds_put(f->ds, key_schedule(key, "web", "broken"), "{", 0, &err), 0);

    /* Friday 2026-04-03 15:00 CEST: office active since 06:00Z, friday not yet */
    assert_int_equal(schedule_list(f->ds, "web", utc(2026, 4, 3, 13, 0), &out, &err), 0);
    assert_string_equal(jx_str(out, "in_force", ""), "office");
    assert_int_equal(jx_int(out, "count", 0), 3);
    struct json_object *arr = jx_arr(out, "schedules");
    assert_string_equal(jx_str(json_object_array_get_idx(arr, 0), "key", ""),
                        "autoscale.schedule.web.broken");
    struct json_object *fri = json_object_array_get_idx(arr, 1);
    struct json_object *off = json_object_array_get_idx(arr, 2);
    assert_string_equal(jx_str(fri, "name", ""), "friday");
    assert_false(jx_bool(fri, "active", true));
    assert_false(jx_bool(fri, "in_force", true));
    assert_string_equal(jx_str(fri, "next_start", ""), "2026-04-03T14:00:00Z");
    assert_int_equal(jx_int(fri, "next_start_at", 0), utc(2026, 4, 3, 14, 0));
    assert_string_equal(jx_str(fri, "next_end", ""), "2026-04-03T18:00:00Z");
    assert_true(jx_bool(off, "active", false));
    assert_true(jx_bool(off, "in_force", false));
    assert_int_equal(jx_int(off, "since", 0), utc(2026, 4, 3, 6, 0));
    assert_string_equal(jx_str(off, "next_start", ""), "2026-04-06T06:00:00Z");
    assert_string_equal(jx_str(off, "next_end", ""), "2026-04-03T16:00:00Z");
    json_object_put(out);

    /* 17:00 CEST: both active, friday started later and is in force */
    assert_int_equal(schedule_list(f->ds, "web", utc(2026, 4, 3, 15, 0), &out, &err), 0);
    assert_string_equal(jx_str(out, "in_force", ""), "friday");
    json_object_put(out);
    /* Saturday: none */
    assert_int_equal(schedule_list(f->ds, "web", utc(2026, 4, 4, 12, 0), &out, &err), 0);
    assert_null(jx_str(out, "in_force", NULL));
    json_object_put(out);

    assert_int_equal(schedule_list(f->ds, "nosuch", 0, &out, &err), -1);
    assert_string_equal(err.code, "unknown_group");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test_setup_teardown(test_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test(test_eval_office),
        cmocka_unit_test(test_eval_edges),
        cmocka_unit_test(test_fold),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
