/* End-to-end tests of metric_collect: the action binary run as st2 runs
 * it, reading a real Prometheus (scraping an exporter the test serves) and
 * the New Relic fake, with the datastore checked afterwards: the samples
 * record it writes (bounded), the failed sample a failed reading leaves,
 * one write per run however many collectors race, bad input refused with
 * nothing written, and the API key never printed.
 *
 * Every run's clock is pinned (AUTOSCALE_TEST_NOW): a sample's "at" is
 * exact, and "one sample per second" makes racing runs comparable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "fake_newrelic.h"
#include "jsonx.h"
#include "keys.h"
#include "prometheus_server.h"
#include "samples.h"
#include "store_fixture.h"
#include "test_httpd.h"
#include "test_util.h"

#define WAIT_MS 30000 /* an upper bound on waiting for a scrape, never an assertion */
#define NOW 1800000000LL
#define NR_ACCOUNT 7654321
#define NR_KEY "NRAK-E2ESECRETKEY0123456789ABCD"
#define RACERS 8

static struct prometheus_server *prom;

struct fixture {
    struct store_fixture st;
    char prom_arg[128];
};

static int group_setup(void **state)
{
    (void)state;
    test_unset_proxies();
    prom = prometheus_start();
    if (!prom)
        return -1;
    prometheus_export(prom, "app_load{group=\"web\"} 42\n");
    return prometheus_wait_value(prom, "app_load{group=\"web\"}", "42", WAIT_MS);
}

static int group_teardown(void **state)
{
    (void)state;
    prometheus_stop(prom);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(store_fixture_open(&f->st, "as-metric"), 0);
    f->st.now = NOW;
    snprintf(f->prom_arg, sizeof f->prom_arg, "--prometheus_url=%s", prometheus_url(prom));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

static void ok(struct fixture *f, const char *name, ...)
{
    struct action_result r;
    va_list ap;
    va_start(ap, name);
    int rc = store_vrun(&f->st, name, &r, ap);
    va_end(ap);
    if (rc != 0)
        fail_msg("%s: %s %s", name, r.out, r.err);
    action_result_free(&r);
}

/* Group `name` tracking `query` on `source`, with two capacity nodes (one
 * building, one active) and one draining that is not capacity. */
static void define(struct fixture *f, const char *name, const char *source, const char *query)
{
    char n[64], s[64], q[256], node[64];
    snprintf(n, sizeof n, "--name=%s", name);
    snprintf(s, sizeof s, "--metric_source=%s", source);
    snprintf(q, sizeof q, "--metric_query=%s", query);
    ok(f, "asg_define", n, "--compute_provider=local", "--min=1", s, q, "--target_value=10",
       NULL);
    const char *states[] = {"building", "active", "draining"};
    for (int i = 0; i < 3; i++) {
        snprintf(node, sizeof node, "%s-%c", name, 'a' + i);
        store_put_node(&f->st, store_node_record(name, node, states[i], "127.0.1.9", 80, NULL));
    }
}

/* The group's samples, oldest first (free() them). */
static int samples(struct fixture *f, const char *group, struct gov_sample **out)
{
    char key[KEY_MAX], *text = NULL;
    struct as_error err;
    struct ds *ds = store_open(&f->st);
    int rc = ds_get(ds, key_samples(key, group), &text, &err);
    ds_close(ds);
    assert_true(rc >= 0);
    int n = 0;
    samples_read(text, out, &n);
    free(text);
    return n;
}

static struct json_object *first_collected(struct action_result *r)
{
    struct json_object *a = jx_arr(r->json, "collected");
    assert_non_null(a);
    assert_int_equal(json_object_array_length(a), 1);
    return json_object_array_get_idx(a, 0);
}

static void test_collect_writes_the_value_and_nodes(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f, "web", "prometheus", "sum(app_load{group=\"$group\"})");
    assert_int_equal(store_run(&f->st, "metric_collect", &r, f->prom_arg, NULL), 0);
    struct json_object *c = first_collected(&r);
    assert_string_equal(jx_str(c, "group", ""), "web");
    assert_true(jx_bool(c, "collected", false));
    assert_int_equal(jx_int(c, "nodes", 0), 2);
    assert_true(json_object_get_double(json_object_object_get(c, "value")) == 42.0);
    action_result_free(&r);

    struct gov_sample *s = NULL;
    assert_int_equal(samples(f, "web", &s), 1);
    assert_true(s[0].ok);
    assert_true(s[0].value == 42.0);
    assert_int_equal(s[0].nodes, 2);
    assert_int_equal(s[0].at, NOW);
    free(s);

    /* the same second again: nothing more written (an idempotent retry) */
    assert_int_equal(store_run(&f->st, "metric_collect", &r, "--name=web", f->prom_arg, NULL),
                     0);
    assert_false(jx_bool(first_collected(&r), "collected", true));
    action_result_free(&r);
    assert_int_equal(samples(f, "web", &s), 1);
    free(s);
}

static void test_record_stays_bounded(void **state)
{
    struct fixture *f = *state;
    define(f, "web", "prometheus", "sum(app_load{group=\"$group\"})");
    for (int i = 0; i < SAMPLES_MAX + 6; i++) {
        f->st.now = NOW + i;
        ok(f, "metric_collect", "--name=web", f->prom_arg, NULL);
    }
    struct gov_sample *s = NULL;
    assert_int_equal(samples(f, "web", &s), SAMPLES_MAX);
    assert_int_equal(s[0].at, NOW + 6); /* the oldest went */
    assert_int_equal(s[SAMPLES_MAX - 1].at, NOW + SAMPLES_MAX + 5);
    free(s);
}

static void test_failed_reading_is_a_failed_sample(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    int fd = -1, port = test_refusing_port(&fd);
    char arg[96];
    assert_true(port > 0);
    snprintf(arg, sizeof arg, "--prometheus_url=http://127.0.0.1:%d", port);
    define(f, "web", "prometheus", "sum(app_load{group=\"$group\"})");
    ok(f, "metric_collect", f->prom_arg, NULL); /* a good one first */
    f->st.now = NOW + 15;
    assert_int_equal(store_run(&f->st, "metric_collect", &r, arg, NULL), 0);
    close(fd);
    struct json_object *c = first_collected(&r);
    assert_true(jx_bool(c, "collected", false));
    assert_string_equal(jx_str(jx_obj(c, "error"), "code", ""), "metric_unavailable");
    assert_false(json_object_object_get_ex(c, "value", NULL));
    action_result_free(&r);

    struct gov_sample *s = NULL;
    assert_int_equal(samples(f, "web", &s), 2);
    assert_true(s[0].ok);
    assert_false(s[1].ok); /* the newest reading failed: the governor holds */
    assert_int_equal(s[1].at, NOW + 15);
    free(s);

    /* an empty vector from the real Prometheus is a failed sample too */
    define(f, "api", "prometheus", "sum(app_load{group=\"$group\"}) > 1000");
    assert_int_equal(store_run(&f->st, "metric_collect", &r, "--name=api", f->prom_arg, NULL),
                     0);
    assert_string_equal(jx_str(jx_obj(first_collected(&r), "error"), "code", ""),
                        "metric_no_data");
    action_result_free(&r);
    assert_int_equal(samples(f, "api", &s), 1);
    assert_false(s[0].ok);
    free(s);
}

static void test_racing_collectors_write_once(void **state)
{
    struct fixture *f = *state;
    define(f, "web", "prometheus", "sum(app_load{group=\"$group\"})");
    const char *args[] = {"--name=web", f->prom_arg, NULL};
    for (int round = 0; round < 2; round++) {
        pid_t pid[RACERS];
        int out[RACERS], err[RACERS], wrote = 0;
        f->st.now = NOW + round;
        for (int i = 0; i < RACERS; i++)
            pid[i] = action_start("metric_collect", args, store_env(&f->st), &out[i], &err[i]);
        for (int i = 0; i < RACERS; i++) {
            struct action_result r;
            assert_true(pid[i] > 0);
            assert_int_equal(action_wait(pid[i], out[i], err[i], &r), 0);
            assert_non_null(r.json);
            wrote += jx_bool(first_collected(&r), "collected", false);
            action_result_free(&r);
        }
        assert_int_equal(wrote, 1); /* exactly one wrote this second's sample */
        struct gov_sample *s = NULL;
        assert_int_equal(samples(f, "web", &s), round + 1);
        free(s);
    }
    /* and no claim is left behind */
    assert_int_equal(store_count(&f->st, "autoscale.samplelock."), 0);
}

static void test_bad_input_changes_nothing(void **state)
{
    struct fixture *f = *state;
    define(f, "web", "prometheus", "sum(app_load{group=\"$group\"})");
    char *before = store_snapshot(&f->st);
    const char *bad[][2] = {{"--name=web;rm -rf /", "invalid_name"},
                            {"--name=web\nx", "invalid_name"},
                            {"--name=nosuch", "unknown_group"},
                            {"--name=Web", "invalid_name"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct action_result r;
        assert_int_equal(store_run(&f->st, "metric_collect", &r, bad[i][0], f->prom_arg, NULL),
                         2);
        assert_string_equal(action_error_code(&r), bad[i][1]);
        action_result_free(&r);
    }
    struct action_result r;
    assert_int_equal(store_run(&f->st, "metric_collect", &r, "--name=web",
                               "--newrelic_account_id=-5", f->prom_arg, NULL),
                     2);
    assert_string_equal(action_error_code(&r), "invalid_parameter");
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_dry_run_and_skips_write_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f, "web", "prometheus", "sum(app_load{group=\"$group\"})");
    ok(f, "asg_define", "--name=plain", "--compute_provider=local", "--min=1", NULL);
    char *before = store_snapshot(&f->st);
    assert_int_equal(store_run(&f->st, "metric_collect", &r, "--dry_run=true", f->prom_arg,
                               NULL),
                     0);
    struct json_object *c = first_collected(&r);
    assert_false(jx_bool(c, "collected", true));
    assert_true(json_object_get_double(json_object_object_get(c, "value")) == 42.0);
    struct json_object *sk = jx_arr(r.json, "skipped");
    assert_int_equal(json_object_array_length(sk), 1);
    assert_string_equal(jx_str(json_object_array_get_idx(sk, 0), "group", ""), "plain");
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* a group being deleted is left alone */
    char key[KEY_MAX], *spec = NULL;
    struct as_error err;
    struct ds *ds = store_open(&f->st);
    assert_int_equal(ds_get(ds, key_spec(key, "web"), &spec, &err), 0);
    ds_close(ds);
    struct json_object *o = json_tokener_parse(spec);
    free(spec);
    json_object_object_add(o, "status", json_object_new_string("deleting"));
    store_put(&f->st, key, json_object_to_json_string(o));
    json_object_put(o);
    assert_int_equal(store_run(&f->st, "metric_collect", &r, f->prom_arg, NULL), 0);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "collected")), 0);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "skipped")), 2);
    action_result_free(&r);
    assert_int_equal(store_count(&f->st, "autoscale.samples."), 0);
}

/* The key reaches NerdGraph from the environment, as st2 hands it over, and
 * appears in no output: not on success, not when refused. */
static void test_newrelic_key_never_printed(void **state)
{
    struct fixture *f = *state;
    struct fake_newrelic *nr = fake_newrelic_start(NR_ACCOUNT, NR_KEY);
    assert_non_null(nr);
    fake_newrelic_set_results(nr, "SELECT average(duration) FROM Transaction WHERE appName = "
                                  "'web' SINCE 1 minute ago",
                              "[{\"average.duration\":0.5}]");
    define(f, "web", "newrelic",
           "SELECT average(duration) FROM Transaction WHERE appName = '$group' SINCE 1 minute "
           "ago");
    char url[160], acct[64];
    snprintf(url, sizeof url, "--newrelic_api_url=%s", fake_newrelic_url(nr));
    snprintf(acct, sizeof acct, "--newrelic_account_id=%d", NR_ACCOUNT);
    const char *args[] = {"--name=web", url, acct, NULL};
    const char *const *base = store_env(&f->st);
    const char *env[] = {base[0], base[1], "AUTOSCALE_SECRET_NEWRELIC_API_KEY=" NR_KEY,
                         "AUTOSCALE_LOG_LEVEL=debug", NULL};
    struct action_result r;
    assert_int_equal(action_run("metric_collect", args, env, &r), 0);
    assert_non_null(r.json);
    assert_true(json_object_get_double(json_object_object_get(first_collected(&r), "value")) ==
                0.5);
    assert_null(strstr(r.out, "E2ESECRETKEY"));
    assert_null(strstr(r.err, "E2ESECRETKEY"));
    action_result_free(&r);

    /* refused (401), the key given on the command line this time */
    f->st.now = NOW + 1;
    base = store_env(&f->st);
    const char *wrong_args[] = {"--name=web", url, acct,
                                "--newrelic_api_key=NRAK-E2ESECRETKEYWRONG000000000", NULL};
    const char *env2[] = {base[0], base[1], "AUTOSCALE_LOG_LEVEL=debug", NULL};
    assert_int_equal(action_run("metric_collect", wrong_args, env2, &r), 0);
    assert_string_equal(jx_str(jx_obj(first_collected(&r), "error"), "code", ""),
                        "metric_unauthorized");
    assert_null(strstr(r.out, "E2ESECRETKEY"));
    assert_null(strstr(r.err, "E2ESECRETKEY"));
    action_result_free(&r);
    struct gov_sample *s = NULL;
    assert_int_equal(samples(f, "web", &s), 2);
    assert_true(s[0].ok && !s[1].ok);
    free(s);
    fake_newrelic_stop(nr);
}

/* SIGTERM during the first group's reading: that reading ends
 * "interrupted", nothing is written for it, and the next group is never
 * read. The signal is sent once the scripted Prometheus has the request,
 * whose reply it holds back: no timing decides the outcome. */
static void test_sigterm_stops_between_groups(void **state)
{
    struct fixture *f = *state;
    struct test_httpd *s = test_httpd_start();
    assert_non_null(s);
    test_httpd_queue(s, &(struct test_httpd_reply){
                            .status = 200, .delay_ms = 20000,
                            .body = "{\"status\":\"success\",\"data\":{\"resultType\":"
                                    "\"scalar\",\"result\":[1,\"5\"]}}"});
    define(f, "alpha", "prometheus", "up");
    define(f, "beta", "prometheus", "up");
    char url[128];
    snprintf(url, sizeof url, "--prometheus_url=%s", test_httpd_url(s));
    const char *args[] = {url, NULL};
    int out = -1, err = -1;
    pid_t pid = action_start("metric_collect", args, store_env(&f->st), &out, &err);
    assert_true(pid > 0);
    for (int i = 0; i < WAIT_MS / 10 && test_httpd_request_count(s) < 1; i++)
        test_sleep_ms(10);
    assert_int_equal(test_httpd_request_count(s), 1);
    kill(pid, SIGTERM);
    struct action_result r;
    assert_int_equal(action_wait(pid, out, err, &r), 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
    assert_int_equal(test_httpd_request_count(s), 1); /* beta never read */
    assert_int_equal(store_count(&f->st, "autoscale.samples."), 0);
    assert_int_equal(store_count(&f->st, "autoscale.samplelock."), 0);
    test_httpd_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_collect_writes_the_value_and_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_stays_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_reading_is_a_failed_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_collectors_write_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_and_skips_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newrelic_key_never_printed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_stops_between_groups, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
