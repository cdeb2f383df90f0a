/* test_metric.c - the metric area's dispatch (lib/metric/metric.c): the
 * table of sources ("none" included), the rule for "$group" in a query,
 * and metric_read's refusals before any source is asked. The sources
 * themselves: test_metric_{prometheus,haproxy,newrelic}.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "metric.h"

static void test_table_has_every_source(void **state)
{
    (void)state;
    const char *reading[] = {"prometheus", "haproxy", "newrelic"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(metric_source_known(reading[i]));
        assert_true(metric_source_reads(reading[i]));
    }
    assert_true(metric_source_known("none"));
    assert_false(metric_source_reads("none"));
    assert_false(metric_source_known("graphite"));
    assert_false(metric_source_known(NULL));
    assert_true(metric_source_reads_lb("haproxy"));
    assert_false(metric_source_reads_lb("prometheus"));
}

static void test_group_is_replaced_everywhere(void **state)
{
    (void)state;
    struct as_error err = {0};
    char *q = metric_query_expand("sum(x{g=\"$group\"}) / count(y{g=\"$group\"}) + $grou",
                                  "web-2", &err);
    assert_string_equal(q, "sum(x{g=\"web-2\"}) / count(y{g=\"web-2\"}) + $grou");
    free(q);
    q = metric_query_expand("scur", "web", &err);
    assert_string_equal(q, "scur");
    free(q);
}

static void test_bad_queries_are_refused(void **state)
{
    (void)state;
    struct as_error err = {0};
    assert_null(metric_query_expand(NULL, "web", &err));
    assert_string_equal(err.code, "invalid_target");
    assert_null(metric_query_expand("", "web", &err));
    assert_null(metric_query_expand("up\n}", "web", &err));
    assert_string_equal(err.code, "invalid_target");
    char *big = malloc(METRIC_QUERY_MAX + 2);
    memset(big, 'a', METRIC_QUERY_MAX + 1);
    big[METRIC_QUERY_MAX + 1] = '\0';
    assert_null(metric_query_expand(big, "web", &err));
    free(big);
}

static void test_read_refuses_none_and_unknown(void **state)
{
    (void)state;
    struct metric_params p;
    memset(&p, 0, sizeof p);
    struct metric_request req = {.group = "web", .query = "up"};
    struct as_error err = {0};
    double v = 7;
    assert_int_equal(metric_read(&p, "none", &req, &v, &err), -1);
    assert_string_equal(err.code, "metric_no_data");
    assert_int_equal(metric_read(&p, "graphite", &req, &v, &err), -1);
    assert_string_equal(err.code, "unknown_provider");
    assert_true(v == 7);
}

/* The haproxy source's rule alone: the average over members UP that report
 * the stat; none such is no reading. */
static void test_haproxy_average_rule(void **state)
{
    (void)state;
    struct metric_params p;
    memset(&p, 0, sizeof p);
    struct metric_member m[] = {{"web-a", true, 4}, {"web-b", true, 2}, {"web-c", false, 30},
                                {"web-d", true, -1}};
    struct metric_request req = {.group = "web", .query = "scur", .members = m, .n_members = 4};
    struct as_error err = {0};
    double v = 0;
    assert_int_equal(metric_read(&p, "haproxy", &req, &v, &err), 0);
    assert_true(v == 3.0);
    req.n_members = 0;
    assert_int_equal(metric_read(&p, "haproxy", &req, &v, &err), -1);
    assert_string_equal(err.code, "metric_no_data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_has_every_source),
        cmocka_unit_test(test_group_is_replaced_everywhere),
        cmocka_unit_test(test_bad_queries_are_refused),
        cmocka_unit_test(test_read_refuses_none_and_unknown),
        cmocka_unit_test(test_haproxy_average_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
