/* End-to-end tests of governor_tick --react, the tick an alert runs at once
 * (the alert_respond workflow) beside the sensor's, through the binaries on
 * an embedded store with the clock pinned (AUTOSCALE_TEST_NOW):
 *
 *  - react leases and records a scale_out exactly as a plain acting tick;
 *  - react never leases a scale_in (a group above max in alert): the
 *    decision is printed with lease_id null and nothing is written, so the
 *    sensor's next tick records and leases it as before;
 *  - a react decision of none (cooldown) writes nothing either;
 *  - many ticks at once, react and the sensor's mixed, on one group: per
 *    trial exactly one lease, reported by exactly one caller, the others
 *    saying lease_held;
 *  - a tick stopped between its reading and its claim while another
 *    operation starts and ends wins the claim on a stale reading, reads
 *    again and gives the lease back: never a second scale_out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

#define T0 1800000000LL
#define TICKERS 8
#define TRIALS 30

static int setup(void **state)
{
    return store_setup(state, "as-react", T0);
}

static void run_ok(struct store_fixture *f, const char *name, const char *const *args)
{
    struct action_result r;
    if (store_runv(f, name, args, &r) != 0)
        fail_msg("%s: exit %d: %s %s", name, r.status, r.out, r.err);
    action_result_free(&r);
}

static void put_node(struct store_fixture *f, const char *group, const char *node)
{
    char key[KEY_MAX], val[128];
    snprintf(val, sizeof val, "{\"name\":\"%s\",\"state\":\"active\"}", node);
    store_put(f, key_node(key, group, node), val);
}

static void critical(struct store_fixture *f, const char *group)
{
    char body[160];
    snprintf(body, sizeof body,
             "--body={\"asg\":\"%s\",\"state\":\"open\",\"severity\":\"critical\",\"id\":\"c1\"}",
             group);
    const char *args[] = {body, NULL};
    run_ok(f, "alert_event", args);
}

/* The one decision of a --name tick, kept in *r (free it). */
static struct json_object *tick(struct store_fixture *f, bool react, struct action_result *r)
{
    const char *args[] = {"--name=web", "--act", react ? "--react" : NULL, NULL};
    if (store_runv(f, "governor_tick", args, r) != 0)
        fail_msg("governor_tick: exit %d: %s %s", r->status, r->out, r->err);
    return json_object_array_get_idx(jx_arr(r->json, "decisions"), 0);
}

/* lease_id present and null, as the action prints a decision left alone. */
static bool null_lease(struct json_object *d)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(d, "lease_id", &v) && v == NULL;
}

static size_t history(struct store_fixture *f)
{
    char prefix[KEY_MAX];
    return store_count(f, key_history_prefix(prefix, "web"));
}

static size_t leases(struct store_fixture *f)
{
    char key[KEY_MAX];
    return store_count(f, key_lease(key, "web"));
}

/* An alert on a group under its alert's capacity: react leases the
 * scale_out and records it, with its alert_opened notice, like any tick. */
static void test_react_leases_and_records_a_scale_out(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", "--max=4",
                         "--scale_out_step=2", NULL};
    run_ok(f, "asg_define", web);
    put_node(f, "web", "web-a");
    critical(f, "web");

    struct json_object *d = tick(f, true, &r);
    assert_string_equal(jx_str(d, "action", ""), "scale_out");
    assert_int_equal(jx_int(d, "count", 0), 2);
    assert_true(strlen(jx_str(d, "lease_id", "")) > 0);
    assert_false(jx_bool(r.json, "dry_run", true));
    struct json_object *n = json_object_array_get_idx(jx_arr(r.json, "notices"), 0);
    assert_string_equal(jx_str(n, "event", ""), "alert_opened");
    action_result_free(&r);
    assert_int_equal(leases(f), 1);
    assert_int_equal(history(f), 1);

    /* the sensor's tick meanwhile: the operation is in flight */
    f->now += 1;
    d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "code", ""), "lease_held");
    action_result_free(&r);
    assert_int_equal(leases(f), 1);
}

/* Above max and in alert: the governor's decision is scale_in. React
 * reports it but leaves it alone: no lease, no history; the sensor's next
 * tick (no react) leases and records it. */
static void test_react_never_leases_a_scale_in(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", "--max=1",
                         NULL};
    run_ok(f, "asg_define", web);
    put_node(f, "web", "web-a");
    put_node(f, "web", "web-b");
    put_node(f, "web", "web-c");
    critical(f, "web");
    char *before = store_snapshot(f);

    struct json_object *d = tick(f, true, &r);
    assert_string_equal(jx_str(d, "action", ""), "scale_in");
    assert_true(null_lease(d));
    assert_int_equal(json_object_array_length(jx_arr(r.json, "notices")), 0);
    action_result_free(&r);
    char *after = store_snapshot(f);
    assert_string_equal(before, after); /* nothing written */
    free(before);
    free(after);

    d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "scale_in");
    assert_true(strlen(jx_str(d, "lease_id", "")) > 0);
    action_result_free(&r);
    assert_int_equal(leases(f), 1);
    assert_int_equal(history(f), 1);
}

/* In the cooldown after a scale-out, an alert's react tick decides none and
 * writes nothing: the sensor records that decision (and its notices). */
static void test_react_none_writes_nothing(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", "--max=4",
                         "--scale_out_cooldown=600", NULL};
    run_ok(f, "asg_define", web);
    put_node(f, "web", "web-a");
    critical(f, "web");
    struct json_object *d = tick(f, false, &r);
    char lease[96];
    snprintf(lease, sizeof lease, "--lease_id=%s", jx_str(d, "lease_id", ""));
    action_result_free(&r);
    const char *rec[] = {"--name=web", lease, "--requested=2", "--succeeded=2", NULL};
    run_ok(f, "scaling_record", rec);
    put_node(f, "web", "web-b");
    put_node(f, "web", "web-c");

    f->now += 30;
    char *before = store_snapshot(f);
    d = tick(f, true, &r);
    assert_string_equal(jx_str(d, "action", ""), "none");
    assert_true(null_lease(d));
    action_result_free(&r);
    char *after = store_snapshot(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* TICKERS acting ticks on one group at once, half of them react (the
 * alert's), half the sensor's: exactly one lease per trial, reported by
 * exactly one caller; every other caller says lease_held. */
static void test_parallel_react_and_sensor_ticks_one_lease(void **state)
{
    struct store_fixture *f = *state;
    const char *react[] = {"--name=web", "--act", "--react", NULL};
    const char *sensor[] = {"--act", NULL};
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=2", NULL};
    int react_won = 0, sensor_won = 0;

    run_ok(f, "asg_define", web);
    critical(f, "web");
    for (int trial = 0; trial < TRIALS; trial++) {
        struct action_result r[TICKERS];
        pid_t pid[TICKERS];
        int out[TICKERS], err[TICKERS], reporters = 0, held = 0;
        const char *const *env = store_env(f);
        for (int i = 0; i < TICKERS; i++)
            pid[i] = action_start("governor_tick", i % 2 ? react : sensor, env, &out[i],
                                  &err[i]);
        for (int i = 0; i < TICKERS; i++)
            action_wait(pid[i], out[i], err[i], &r[i]);
        for (int i = 0; i < TICKERS; i++) {
            if (r[i].status != 0)
                fail_msg("trial %d: tick %d: exit %d: %s %s", trial, i, r[i].status,
                         r[i].out, r[i].err);
            struct json_object *ds = jx_arr(r[i].json, "decisions"), *d = NULL;
            for (size_t k = 0; k < json_object_array_length(ds); k++)
                if (strcmp(jx_str(json_object_array_get_idx(ds, k), "group", ""), "web") == 0)
                    d = json_object_array_get_idx(ds, k);
            if (strlen(jx_str(d, "lease_id", "")) > 0) {
                reporters++;
                if (i % 2)
                    react_won++;
                else
                    sensor_won++;
            } else {
                held += strcmp(jx_str(d, "code", ""), "lease_held") == 0;
            }
            action_result_free(&r[i]);
        }
        size_t keys = leases(f);
        if (keys != 1 || reporters != 1 || held != TICKERS - 1)
            fail_msg("trial %d: %zu lease key(s), %d caller(s) reported a lease, %d said "
                     "lease_held", trial, keys, reporters, held);
        const char *release[] = {"--name=web", NULL};
        run_ok(f, "lease_release", release); /* the next trial starts free */
    }
    assert_int_equal(react_won + sensor_won, TRIALS);
}

/* Tick B (react) reads the group in alert and is stopped before its claim
 * (AUTOSCALE_TEST_STOP_BEFORE_LEASE). Meanwhile the sensor's tick A leases
 * the scale_out and its operation ends: two nodes up, scaling_record (the
 * event written, the lease deleted). B, let go, wins the claim on its
 * reading from before A: it must read again, see A's cooldown and give the
 * lease back, not dispatch a second scale_out. */
static void test_stale_reading_never_leases_twice(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", "--max=10",
                         "--scale_out_step=2", NULL};
    run_ok(f, "asg_define", web);
    put_node(f, "web", "web-a");
    critical(f, "web");

    const char *const *base = store_env(f);
    const char *env[] = {base[0], base[1], "AUTOSCALE_TEST_STOP_BEFORE_LEASE=1", NULL};
    const char *args[] = {"--name=web", "--act", "--react", NULL};
    int out_fd, err_fd, status;
    pid_t b = action_start("governor_tick", args, env, &out_fd, &err_fd);
    assert_int_equal(waitpid(b, &status, WUNTRACED), b);
    assert_true(WIFSTOPPED(status)); /* B has read and decided, not claimed */

    struct json_object *d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "scale_out");
    char lease[64], arg[96];
    snprintf(lease, sizeof lease, "%s", jx_str(d, "lease_id", ""));
    action_result_free(&r);
    put_node(f, "web", "web-b");
    put_node(f, "web", "web-c");
    snprintf(arg, sizeof arg, "--lease_id=%s", lease);
    const char *rec[] = {"--name=web", arg, "--requested=2", "--succeeded=2",
                         "--nodes=web-b,web-c", NULL};
    run_ok(f, "scaling_record", rec);
    assert_int_equal(leases(f), 0);

    kill(b, SIGCONT);
    assert_int_equal(action_wait(b, out_fd, err_fd, &r), 0);
    assert_int_equal(r.status, 0);
    d = json_object_array_get_idx(jx_arr(r.json, "decisions"), 0);
    assert_string_equal(jx_str(d, "action", ""), "none");
    assert_string_equal(jx_str(d, "code", ""), "alert_cooldown");
    assert_true(null_lease(d));
    assert_non_null(strstr(r.err, "decided again"));
    action_result_free(&r);
    assert_int_equal(leases(f), 0); /* given back */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, store_teardown)
    const struct CMUnitTest tests[] = {
        T(test_react_leases_and_records_a_scale_out),
        T(test_react_never_leases_a_scale_in),
        T(test_react_none_writes_nothing),
        T(test_parallel_react_and_sensor_ticks_one_lease),
        T(test_stale_reading_never_leases_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
