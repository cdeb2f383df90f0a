/* test_metric_prometheus.c - the Prometheus metric source
 * (lib/metric/metric_prometheus.c) against a real Prometheus (Debian's
 * package) scraping an exporter the test serves (prometheus_server.h).
 *
 * One Prometheus serves every test (it takes seconds to start); each test
 * sets what the exporter serves and waits, bounded, until Prometheus has
 * scraped it before reading: no assertion depends on timing. The faults
 * are Prometheus's own: a real 400 for a syntax error, a real empty vector,
 * real NaN, a stopped process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metric.h"
#include "prometheus_server.h"
#include "test_httpd.h"
#include "test_util.h"

#define WAIT_MS 30000 /* an upper bound on waiting for a scrape, never an assertion */

static struct prometheus_server *prom;

static int group_setup(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR);
    test_unset_proxies();
    prom = prometheus_start();
    if (!prom)
        return -1;
    prometheus_export(prom, "app_load{group=\"web\",node=\"web-a\"} 42\n"
                            "app_load{group=\"two\",node=\"two-a\"} 1\n"
                            "app_load{group=\"two\",node=\"two-b\"} 2\n");
    if (prometheus_wait_value(prom, "count(app_load)", "3", WAIT_MS) < 0) {
        fprintf(stderr, "prometheus never scraped the exporter\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    prometheus_stop(prom);
    return 0;
}

static struct metric_params params(const char *url)
{
    struct metric_params p;
    memset(&p, 0, sizeof p);
    p.prometheus_url = url;
    p.newrelic_account_id = PARAM_ABSENT;
    p.lb_server_port = PARAM_ABSENT;
    return p;
}

/* Read query (with $group) for group through the source. */
static int read_q(const char *url, const char *group, const char *query, double *v,
                  struct as_error *err)
{
    struct metric_params p = params(url);
    char *q = metric_query_expand(query, group, err);
    assert_non_null(q);
    struct metric_request req = {.group = group, .query = q};
    int rc = metric_read(&p, "prometheus", &req, v, err);
    free(q);
    return rc;
}

static void test_one_series_is_the_value(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = -1;
    assert_int_equal(read_q(prometheus_url(prom), "web", "sum(app_load{group=\"$group\"})", &v,
                            &err),
                     0);
    assert_true(v == 42.0);
    /* the exporter's new value, once scraped, is what is read: not a cache */
    prometheus_export(prom, "app_load{group=\"web\",node=\"web-a\"} 7.5\n"
                            "app_load{group=\"two\",node=\"two-a\"} 1\n"
                            "app_load{group=\"two\",node=\"two-b\"} 2\n");
    assert_int_equal(prometheus_wait_value(prom, "app_load{group=\"web\"}", "7.5", WAIT_MS), 0);
    assert_int_equal(read_q(prometheus_url(prom), "web", "app_load{group=\"$group\"}", &v, &err),
                     0);
    assert_true(v == 7.5);
}

static void test_scalar_is_a_value(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = -1;
    assert_int_equal(read_q(prometheus_url(prom), "web", "scalar(count(app_load{group=\"two\"}))",
                            &v, &err),
                     0);
    assert_true(v == 2.0);
}

static void test_empty_vector_is_no_data(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = 123;
    assert_int_equal(read_q(prometheus_url(prom), "nosuch", "app_load{group=\"$group\"}", &v,
                            &err),
                     -1);
    assert_string_equal(err.code, "metric_no_data");
    assert_true(v == 123); /* never a value made up */
}

static void test_two_series_are_ambiguous(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = 123;
    assert_int_equal(read_q(prometheus_url(prom), "two", "app_load{group=\"$group\"}", &v, &err),
                     -1);
    assert_string_equal(err.code, "metric_ambiguous");
    assert_non_null(strstr(err.message, "2 series"));
    assert_true(v == 123);
}

static void test_syntax_error_is_rejected(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = 123;
    assert_int_equal(read_q(prometheus_url(prom), "web", "sum(app_load{group=", &v, &err), -1);
    assert_string_equal(err.code, "metric_rejected");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "400 bad_data"));
    assert_true(v == 123);
}

static void test_nan_is_not_a_number(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = 123;
    /* 0/0 over a real series: Prometheus answers "NaN" */
    assert_int_equal(read_q(prometheus_url(prom), "web",
                            "sum(app_load{group=\"$group\"}) * 0 / 0", &v, &err),
                     -1);
    assert_string_equal(err.code, "metric_not_a_number");
    assert_int_equal(read_q(prometheus_url(prom), "web", "sum(app_load{group=\"$group\"}) / 0",
                            &v, &err),
                     -1);
    assert_string_equal(err.code, "metric_not_a_number");
    assert_true(v == 123);
}

static void test_range_vector_is_rejected(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = 123;
    assert_int_equal(read_q(prometheus_url(prom), "web", "app_load{group=\"$group\"}[1m]", &v,
                            &err),
                     -1);
    assert_string_equal(err.code, "metric_rejected");
}

/* A reply that is not JSON, and a 503 in Prometheus's own error shape,
 * from a scripted server (Prometheus will not produce them on demand). */
static void test_bad_json_and_503(void **state)
{
    (void)state;
    struct test_httpd *s = test_httpd_start();
    assert_non_null(s);
    struct as_error err = {0};
    double v = 123;
    test_httpd_queue_simple(s, 200, "<html>not prometheus</html>");
    assert_int_equal(read_q(test_httpd_url(s), "web", "up", &v, &err), -1);
    assert_string_equal(err.code, "metric_bad_reply");
    test_httpd_queue_simple(s, 503, "{\"status\":\"error\",\"errorType\":\"unavailable\","
                                    "\"error\":\"TSDB not ready\"}");
    assert_int_equal(read_q(test_httpd_url(s), "web", "up", &v, &err), -1);
    assert_string_equal(err.code, "metric_unavailable");
    assert_non_null(strstr(err.message, "TSDB not ready"));
    /* the query went URL-encoded to /api/v1/query */
    assert_string_equal(test_httpd_request_at(s, 0)->url, "/api/v1/query?query=up");
    assert_int_equal(test_httpd_request_count(s), 2); /* one attempt each */
    test_httpd_stop(s);
    assert_true(v == 123);
}

static void test_bad_url_is_bad_settings(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = 123;
    assert_int_equal(read_q("http://127.0.0.1:9090/?x=1", "web", "up", &v, &err), -1);
    assert_string_equal(err.code, "bad_settings");
}

/* Last: stops the shared Prometheus. */
static void test_prometheus_down_is_unavailable(void **state)
{
    (void)state;
    struct as_error err = {0};
    double v = 123;
    prometheus_halt(prom);
    assert_int_equal(read_q(prometheus_url(prom), "web", "app_load{group=\"$group\"}", &v, &err),
                     -1);
    assert_string_equal(err.code, "metric_unavailable");
    assert_true(v == 123);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_series_is_the_value),
        cmocka_unit_test(test_scalar_is_a_value),
        cmocka_unit_test(test_empty_vector_is_no_data),
        cmocka_unit_test(test_two_series_are_ambiguous),
        cmocka_unit_test(test_syntax_error_is_rejected),
        cmocka_unit_test(test_nan_is_not_a_number),
        cmocka_unit_test(test_range_vector_is_rejected),
        cmocka_unit_test(test_bad_json_and_503),
        cmocka_unit_test(test_bad_url_is_bad_settings),
        cmocka_unit_test(test_prometheus_down_is_unavailable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
