/* End-to-end tests of scheduled actions (lib/model/schedule.h):
 * asg_schedule_set, asg_schedule_list and asg_schedule_delete run as st2
 * runs them. Set then set again (unchanged, nothing written), replace,
 * list with what is active and in force at a pinned clock (a New York job
 * in the spring-forward gap listed at the gap's end), delete twice (the
 * second deleted false), the 51st refused (also when eight new ones race
 * for the last place: exactly one gets it), and bad input - unknown
 * zones, "../etc/passwd", bad cron, ';' and newlines in names - refused
 * with one JSON error and nothing written. A group being deleted takes no
 * new schedule; asg_forget takes the schedules with the group.
 *
 * "Nothing written" is every key and value of the store, before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_run.h"
#include "clock.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

static long long utc(int y, int mo, int d, int h, int mi)
{
    return as_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600LL + mi * 60LL;
}

static int setup(void **state)
{
    struct store_fixture *s = calloc(1, sizeof *s);
    assert_int_equal(store_fixture_open(s, "as-schedule"), 0);
    s->now = utc(2026, 4, 3, 13, 0); /* Friday 15:00 in Berlin */
    struct action_result r;
    if (store_run(s, "asg_define", &r, "--compute_provider=local", "--name=web", "--min=1",
                  "--max=6", NULL) != 0)
        fail_msg("asg_define: %s %s", r.out, r.err);
    action_result_free(&r);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct store_fixture *s = *state;
    assert_int_equal(store_fixture_close(s), 0);
    free(s);
    return 0;
}

/* Run an action that must succeed; its output in *r. */
static void ok(struct store_fixture *s, const char *action, struct action_result *r, ...)
{
    va_list ap;
    va_start(ap, r);
    int status = store_vrun(s, action, r, ap);
    va_end(ap);
    if (status != 0)
        fail_msg("%s: exit %d: %s %s", action, r->status, r->out, r->err);
}

static void set_office(struct store_fixture *s, struct action_result *r)
{
    ok(s, "asg_schedule_set", r, "--name=web", "--schedule=office", "--start=0 8 * * MON-FRI",
       "--end=0 18 * * MON-FRI", "--time_zone=Europe/Berlin", "--min=3", "--max=6", NULL);
}

static void test_set_twice_list_delete(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    set_office(s, &r);
    assert_true(jx_bool(r.json, "created", false));
    assert_true(jx_bool(r.json, "changed", false));
    assert_int_equal(jx_int(jx_obj(r.json, "record"), "desired", 0), -1);
    action_result_free(&r);

    /* again, an hour later: unchanged, nothing written */
    s->now += 3600;
    char *before = store_snapshot(s);
    set_office(s, &r);
    assert_false(jx_bool(r.json, "created", true));
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    char *after = store_snapshot(s);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* list at Friday 16:00 Berlin: office active and in force */
    ok(s, "asg_schedule_list", &r, "--name=web", NULL);
    assert_string_equal(jx_str(r.json, "in_force", ""), "office");
    assert_int_equal(jx_int(r.json, "count", 0), 1);
    struct json_object *o = json_object_array_get_idx(jx_arr(r.json, "schedules"), 0);
    assert_true(jx_bool(o, "active", false));
    assert_true(jx_bool(o, "in_force", false));
    assert_string_equal(jx_str(o, "next_end", ""), "2026-04-03T16:00:00Z");
    assert_string_equal(jx_str(o, "next_start", ""), "2026-04-06T06:00:00Z");
    assert_int_equal(jx_int(o, "next_start_at", 0), utc(2026, 4, 6, 6, 0));
    action_result_free(&r);

    ok(s, "asg_schedule_delete", &r, "--name=web", "--schedule=office", NULL);
    assert_true(jx_bool(r.json, "deleted", false));
    action_result_free(&r);
    ok(s, "asg_schedule_delete", &r, "--name=web", "--schedule=office", NULL);
    assert_false(jx_bool(r.json, "deleted", true));
    action_result_free(&r);
    assert_int_equal(store_count(s, "autoscale.schedule."), 0);

    ok(s, "asg_schedule_list", &r, "--name=web", NULL);
    assert_int_equal(jx_int(r.json, "count", -1), 0);
    assert_true(json_object_is_type(json_object_object_get(r.json, "in_force"),
                                    json_type_null));
    action_result_free(&r);
}

/* A job at 02:30 New York time is listed, the day before the clocks
 * spring forward, as due at the end of the gap: 03:00 EDT = 07:00Z. */
static void test_list_dst(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    s->now = utc(2026, 3, 7, 12, 0);
    ok(s, "asg_schedule_set", &r, "--name=web", "--schedule=night", "--start=30 2 * * *",
       "--end=30 5 * * *", "--time_zone=America/New_York", "--desired=1", "--min=1", NULL);
    action_result_free(&r);
    ok(s, "asg_schedule_list", &r, "--name=web", NULL);
    struct json_object *o = json_object_array_get_idx(jx_arr(r.json, "schedules"), 0);
    assert_string_equal(jx_str(o, "next_start", ""), "2026-03-08T07:00:00Z");
    assert_string_equal(jx_str(o, "next_end", ""), "2026-03-08T09:30:00Z");
    assert_false(jx_bool(o, "active", true));
    action_result_free(&r);
    s->now = utc(2026, 3, 8, 8, 0);
    ok(s, "asg_schedule_list", &r, "--name=web", NULL);
    o = json_object_array_get_idx(jx_arr(r.json, "schedules"), 0);
    assert_true(jx_bool(o, "active", false));
    assert_int_equal(jx_int(o, "since", 0), utc(2026, 3, 8, 7, 0));
    assert_string_equal(jx_str(o, "next_start", ""), "2026-03-09T06:30:00Z");
    action_result_free(&r);
}

/* Each refused with its code, exit 2, one JSON error, nothing written. */
static void test_bad_input(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    set_office(s, &r);
    action_result_free(&r);
    static const struct {
        const char *action, *code;
        const char *args[8];
    } cases[] = {
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=mars", "--start=0 8 * * *", "--time_zone=Mars/Olympus",
          "--min=1"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *", "--time_zone=../etc/passwd",
          "--min=1"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *",
          "--time_zone=/usr/share/zoneinfo/UTC", "--min=1"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 25 * * *", "--min=1"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *", "--end=0 18 * *", "--min=1"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *\n0 9 * * *", "--min=1"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *;reboot", "--min=1"}},
        {"asg_schedule_set", "invalid_name",
         {"--name=web", "--schedule=a;b", "--start=0 8 * * *", "--min=1"}},
        {"asg_schedule_set", "invalid_name",
         {"--name=web", "--schedule=office\nx", "--start=0 8 * * *", "--min=1"}},
        {"asg_schedule_set", "invalid_name",
         {"--name=web;x", "--schedule=x", "--start=0 8 * * *", "--min=1"}},
        {"asg_schedule_set", "invalid_name",
         {"--name=web\n", "--schedule=x", "--start=0 8 * * *", "--min=1"}},
        {"asg_schedule_set", "unknown_group",
         {"--name=nosuch", "--schedule=x", "--start=0 8 * * *", "--min=1"}},
        {"asg_schedule_set", "missing_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *"}},
        {"asg_schedule_set", "missing_parameter", {"--name=web", "--schedule=x", "--min=1"}},
        {"asg_schedule_set", "invalid_limits",
         {"--name=web", "--schedule=x", "--start=0 8 * * *", "--min=5", "--max=2"}},
        {"asg_schedule_set", "invalid_limits",
         {"--name=web", "--schedule=x", "--start=0 8 * * *", "--min=1", "--max=4",
          "--desired=5"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *", "--min=1001"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *", "--max=-2"}},
        {"asg_schedule_set", "invalid_parameter",
         {"--name=web", "--schedule=x", "--start=0 8 * * *", "--min=one"}},
        {"asg_schedule_delete", "invalid_name", {"--name=web", "--schedule=office;x"}},
        {"asg_schedule_delete", "invalid_name", {"--name=web", "--schedule=office\n"}},
        {"asg_schedule_delete", "invalid_name", {"--name=web;x", "--schedule=office"}},
        {"asg_schedule_delete", "missing_parameter", {"--name=web"}},
        {"asg_schedule_list", "invalid_name", {"--name=web\nx"}},
        {"asg_schedule_list", "unknown_group", {"--name=nosuch"}},
    };
    char *before = store_snapshot(s);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int status = store_runv(s, cases[i].action, cases[i].args, &r);
        if (status != 2 || strcmp(action_error_code(&r), cases[i].code) != 0)
            fail_msg("case %zu (%s %s %s): exit %d, %s; wanted %s", i, cases[i].action,
                     cases[i].args[1], cases[i].args[3] ? cases[i].args[3] : "", status,
                     r.out, cases[i].code);
        action_result_free(&r);
        char *after = store_snapshot(s);
        if (strcmp(before, after) != 0)
            fail_msg("case %zu wrote to the store", i);
        free(after);
    }
    free(before);
}

static void test_limit(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    char name[32];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "--schedule=s%02d", i);
        ok(s, "asg_schedule_set", &r, "--name=web", name, "--start=0 8 * * *", "--max=4", NULL);
        action_result_free(&r);
    }
    char *before = store_snapshot(s);
    assert_int_equal(store_run(s, "asg_schedule_set", &r, "--name=web", "--schedule=s50",
                               "--start=0 8 * * *", "--max=4", NULL),
                     2);
    assert_string_equal(action_error_code(&r), "invalid_parameter");
    assert_non_null(strstr(r.out, "50 schedules"));
    action_result_free(&r);
    char *after = store_snapshot(s);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* replacing one of them still works */
    ok(s, "asg_schedule_set", &r, "--name=web", "--schedule=s49", "--start=0 9 * * *",
       "--max=4", NULL);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    ok(s, "asg_schedule_list", &r, "--name=web", NULL);
    assert_int_equal(jx_int(r.json, "count", 0), 50);
    action_result_free(&r);
}

/* With 49 schedules, eight new ones set at once: each counts and writes
 * under the group's schedule claim, so exactly one takes the 50th place and
 * seven are refused; never a 51st. */
#define RACERS 8
static void test_limit_under_concurrency(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    char name[RACERS][32];
    for (int i = 0; i < 49; i++) {
        snprintf(name[0], sizeof name[0], "--schedule=s%02d", i);
        ok(s, "asg_schedule_set", &r, "--name=web", name[0], "--start=0 8 * * *", "--max=4",
           NULL);
        action_result_free(&r);
    }
    pid_t pid[RACERS];
    int out_fd[RACERS], err_fd[RACERS];
    for (int i = 0; i < RACERS; i++) {
        snprintf(name[i], sizeof name[i], "--schedule=new%d", i);
        const char *args[] = {"--name=web", name[i], "--start=0 8 * * *", "--max=4", NULL};
        pid[i] = action_start("asg_schedule_set", args, store_env(s), &out_fd[i], &err_fd[i]);
    }
    int won = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        action_wait(pid[i], out_fd[i], err_fd[i], &r);
        won += r.status == 0;
        refused += r.status == 2 && strcmp(action_error_code(&r), "invalid_parameter") == 0;
        action_result_free(&r);
    }
    assert_int_equal(won, 1);
    assert_int_equal(refused, RACERS - 1);
    ok(s, "asg_schedule_list", &r, "--name=web", NULL);
    assert_int_equal(jx_int(r.json, "count", 0), 50);
    action_result_free(&r);
    char prefix[KEY_MAX];
    assert_int_equal(store_count(s, key_schedule_lock(prefix, "web")), 0); /* let go */
}

/* A group being deleted takes no new schedule (it would outlive the
 * group); deleting and listing still work. */
static void test_retired_group(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    set_office(s, &r);
    action_result_free(&r);
    ok(s, "asg_retire", &r, "--name=web", NULL);
    action_result_free(&r);
    char *before = store_snapshot(s);
    assert_int_equal(store_run(s, "asg_schedule_set", &r, "--name=web", "--schedule=late",
                               "--start=0 20 * * *", "--max=2", NULL),
                     2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    action_result_free(&r);
    char *after = store_snapshot(s);
    assert_string_equal(before, after);
    free(before);
    free(after);
    ok(s, "asg_schedule_list", &r, "--name=web", NULL);
    assert_int_equal(jx_int(r.json, "count", 0), 1);
    action_result_free(&r);
    ok(s, "asg_schedule_delete", &r, "--name=web", "--schedule=office", NULL);
    assert_true(jx_bool(r.json, "deleted", false));
    action_result_free(&r);
}

/* The group's schedules go with it. */
static void test_forget_takes_schedules(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    set_office(s, &r);
    action_result_free(&r);
    assert_int_equal(store_count(s, "autoscale.schedule.web."), 1);
    ok(s, "asg_forget", &r, "--name=web", NULL);
    action_result_free(&r);
    assert_int_equal(store_count(s, "autoscale.schedule."), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_twice_list_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_dst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_under_concurrency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retired_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget_takes_schedules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
