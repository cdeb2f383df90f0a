/* test_metric_newrelic.c - the New Relic NRQL metric source
 * (lib/metric/metric_newrelic.c) against the NerdGraph fake
 * (tests/fakes/fake_newrelic.h), and the fake itself refusing what
 * NerdGraph refuses, so the client's tests mean something. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_newrelic.h"
#include "http.h"
#include "log.h"
#include "metric.h"
#include "secret.h"
#include "test_util.h"

#define ACCOUNT 1234567
#define KEY "NRAK-TESTKEY0123456789ABCDEFGHIJ"
#define NRQL "SELECT average(duration) FROM Transaction WHERE appName = 'web' SINCE 1 minute ago"

static int setup(void **state)
{
    log_set_level(LOG_ERROR);
    test_unset_proxies();
    struct fake_newrelic *f = fake_newrelic_start(ACCOUNT, KEY);
    assert_non_null(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fake_newrelic_stop(*state);
    secret_clear();
    return 0;
}

static int read_nr(struct fake_newrelic *f, const char *key, long long account,
                   const char *query, double *v, struct as_error *err)
{
    struct metric_params p;
    memset(&p, 0, sizeof p);
    p.newrelic_api_url = fake_newrelic_url(f);
    p.newrelic_account_id = account;
    p.newrelic_api_key = key;
    p.lb_server_port = PARAM_ABSENT;
    char *q = metric_query_expand(query, "web", err);
    assert_non_null(q);
    struct metric_request req = {.group = "web", .query = q};
    int rc = metric_read(&p, "newrelic", &req, v, err);
    free(q);
    return rc;
}

static void test_first_numeric_field_of_first_result(void **state)
{
    struct fake_newrelic *f = *state;
    struct as_error err = {0};
    double v = -1;
    fake_newrelic_set_results(f, NRQL,
                              "[{\"appName\":\"web\",\"average.duration\":0.25},{\"x\":9}]");
    assert_int_equal(read_nr(f, KEY, ACCOUNT,
                             "SELECT average(duration) FROM Transaction WHERE appName = "
                             "'$group' SINCE 1 minute ago",
                             &v, &err),
                     0);
    assert_true(v == 0.25);
    char *sent = fake_newrelic_last_nrql(f);
    assert_string_equal(sent, NRQL); /* $group replaced, quotes survived */
    free(sent);
}

/* '"' in the NRQL must be escaped in the GraphQL string literal. */
static void test_quotes_in_nrql_are_escaped(void **state)
{
    struct fake_newrelic *f = *state;
    struct as_error err = {0};
    double v = -1;
    fake_newrelic_set_results(f, "SELECT count(*) FROM Transaction WHERE name = \"x\"",
                              "[{\"count\":1000}]");
    assert_int_equal(read_nr(f, KEY, ACCOUNT,
                             "SELECT count(*) FROM Transaction WHERE name = \"x\"", &v, &err),
                     0);
    assert_true(v == 1000);
}

static void test_errors_array_is_rejected(void **state)
{
    struct fake_newrelic *f = *state;
    struct as_error err = {0};
    double v = 123;
    assert_int_equal(read_nr(f, KEY, ACCOUNT, "SELEKT nonsense", &v, &err), -1);
    assert_string_equal(err.code, "metric_rejected");
    assert_non_null(strstr(err.message, "NRQL Syntax Error"));
    /* another account: errors with HTTP 200 too */
    assert_int_equal(read_nr(f, KEY, 42, NRQL, &v, &err), -1);
    assert_string_equal(err.code, "metric_rejected");
    assert_true(v == 123);
}

static void test_wrong_key_is_unauthorized_and_not_shown(void **state)
{
    struct fake_newrelic *f = *state;
    struct as_error err = {0};
    double v = 123;
    const char *wrong = "NRAK-WRONGKEY999999999999999999";
    assert_int_equal(read_nr(f, wrong, ACCOUNT, NRQL, &v, &err), -1);
    assert_string_equal(err.code, "metric_unauthorized");
    assert_null(strstr(err.message, wrong));
    assert_null(strstr(err.message, "WRONGKEY"));
    assert_true(v == 123);
}

static void test_empty_results_and_null_are_no_data(void **state)
{
    struct fake_newrelic *f = *state;
    struct as_error err = {0};
    double v = 123;
    assert_int_equal(read_nr(f, KEY, ACCOUNT, "SELECT count(*) FROM Nothing", &v, &err), -1);
    assert_string_equal(err.code, "metric_no_data");
    fake_newrelic_set_results(f, "SELECT average(x) FROM T", "[{\"average.x\":null}]");
    assert_int_equal(read_nr(f, KEY, ACCOUNT, "SELECT average(x) FROM T", &v, &err), -1);
    assert_string_equal(err.code, "metric_no_data");
    assert_true(v == 123);
}

static void test_5xx_is_unavailable_one_attempt(void **state)
{
    struct fake_newrelic *f = *state;
    struct as_error err = {0};
    double v = 123;
    fake_newrelic_fail_next(f, 1, 503);
    int before = fake_newrelic_requests(f);
    assert_int_equal(read_nr(f, KEY, ACCOUNT, NRQL, &v, &err), -1);
    assert_string_equal(err.code, "metric_unavailable");
    assert_int_equal(fake_newrelic_requests(f), before + 1);
}

static void test_missing_settings_are_bad_settings(void **state)
{
    struct fake_newrelic *f = *state;
    struct as_error err = {0};
    double v = 123;
    assert_int_equal(read_nr(f, NULL, ACCOUNT, NRQL, &v, &err), -1);
    assert_string_equal(err.code, "bad_settings");
    assert_int_equal(read_nr(f, KEY, PARAM_ABSENT, NRQL, &v, &err), -1);
    assert_string_equal(err.code, "bad_settings");
    assert_int_equal(read_nr(f, "NRAK-a\r\nX-Evil: 1", ACCOUNT, NRQL, &v, &err), -1);
    assert_string_equal(err.code, "bad_settings");
    assert_int_equal(fake_newrelic_requests(f), 0); /* nothing sent */
}

/* The fake itself: NerdGraph's refusals, as a raw client sees them. */
static long post(struct fake_newrelic *f, const char *key_header, const char *body,
                 struct json_object **doc)
{
    struct http_options o;
    http_options_default(&o);
    o.max_attempts = 1;
    struct as_error err = {0};
    struct http_client *c = http_client_new(&o, &err);
    struct http_response r = {0};
    const char *headers[] = {"Content-Type: application/json", key_header, NULL};
    struct http_request req = {.method = "POST", .url = fake_newrelic_url(f),
                               .headers = headers, .body = body,
                               .body_len = strlen(body), .retry = 0};
    assert_int_equal(http_do(c, &req, &r, &err), 0);
    *doc = json_tokener_parse(r.body);
    long status = r.status;
    http_response_clear(&r);
    http_client_free(c);
    return status;
}

static void test_fake_refuses_what_nerdgraph_refuses(void **state)
{
    struct fake_newrelic *f = *state;
    struct json_object *doc = NULL, *errs = NULL;
    char body[512];
    snprintf(body, sizeof body,
             "{\"query\":\"{ actor { account(id: %d) { nrql(query: \\\"%s\\\") { results } } } }\"}",
             ACCOUNT, "SELECT count(*) FROM T");
    /* no API-Key: refused with the errors shape, no data */
    assert_int_equal(post(f, NULL, body, &doc), 401);
    assert_true(json_object_object_get_ex(doc, "errors", &errs));
    assert_false(json_object_object_get_ex(doc, "data", NULL));
    json_object_put(doc);
    /* bad NRQL: HTTP 200, an errors array, nrql null */
    snprintf(body, sizeof body,
             "{\"query\":\"{ actor { account(id: %d) { nrql(query: \\\"%s\\\") { results } } } }\"}",
             ACCOUNT, "DROP TABLE x");
    assert_int_equal(post(f, "API-Key: " KEY, body, &doc), 200);
    assert_true(json_object_object_get_ex(doc, "errors", &errs));
    assert_int_equal(json_object_array_length(errs), 1);
    json_object_put(doc);
    /* a good one answers data */
    snprintf(body, sizeof body,
             "{\"query\":\"{ actor { account(id: %d) { nrql(query: \\\"%s\\\") { results } } } }\"}",
             ACCOUNT, "SELECT count(*) FROM T");
    assert_int_equal(post(f, "API-Key: " KEY, body, &doc), 200);
    assert_false(json_object_object_get_ex(doc, "errors", NULL));
    assert_true(json_object_object_get_ex(doc, "data", NULL));
    json_object_put(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_numeric_field_of_first_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quotes_in_nrql_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_array_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_is_unauthorized_and_not_shown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_results_and_null_are_no_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_5xx_is_unavailable_one_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_settings_are_bad_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fake_refuses_what_nerdgraph_refuses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
