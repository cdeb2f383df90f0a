/* test_http.c - lib/core/http.c against the scripted server in tests/support.
 *
 * The requests of every test below go by each transport in turn: first by
 * the rule (http:// on the loopback: the plain transport, http_plain.c),
 * then all by libcurl (http_curl.c), then all by libcurl in the helper a
 * static binary uses (http_worker.c, actions/bin/autoscale_curl), so all
 * keep the one policy. What only
 * the plain transport does (crafted replies, keep-alive, strict parsing) is
 * in test_http_plain.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/test_httpd.h"
#include "http.h"
#include "http_int.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"
#include "st2.h"
#include "test_util.h"
#include "utf8.h"

/* ---------------------------------------------------------------- helpers -- */

static int setup(void **state)
{
    /* A proxy from the environment would swallow 127.0.0.1 requests. */
    test_unset_proxies();
    as_set_interrupted(false);
    struct test_httpd *s = test_httpd_start();
    assert_non_null(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    as_set_interrupted(false);
    secret_clear();
    log_set_level(LOG_INFO);
    test_httpd_stop(*state);
    return 0;
}

static struct http_client *fast_client(int max_attempts)
{
    struct http_options o;
    http_options_default(&o);
    o.max_attempts = max_attempts;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 5;
    o.timeout_ms = 20000;
    struct as_error err;
    struct http_client *c = http_client_new(&o, &err);
    assert_non_null(c);
    return c;
}

static char *url_of(struct test_httpd *s, const char *path)
{
    char *u = NULL;
    assert_true(asprintf(&u, "%s%s", test_httpd_url(s), path) > 0);
    return u;
}

static int do_req(struct http_client *c, const char *method, const char *url, int retry,
                  struct http_response *resp, struct as_error *err)
{
    struct http_request req = {.method = method, .url = url, .retry = retry};
    return http_do(c, &req, resp, err);
}

/* stderr into a temporary file for the length of one call. */
struct capture {
    int saved;
    FILE *tmp;
};

static void capture_start(struct capture *cap)
{
    fflush(stderr);
    cap->tmp = tmpfile();
    assert_non_null(cap->tmp);
    cap->saved = dup(2);
    assert_true(cap->saved >= 0);
    assert_true(dup2(fileno(cap->tmp), 2) >= 0);
}

static char *capture_end(struct capture *cap)
{
    fflush(stderr);
    dup2(cap->saved, 2);
    close(cap->saved);
    long n = ftell(cap->tmp);
    assert_true(n >= 0);
    char *text = calloc((size_t)n + 1, 1);
    assert_non_null(text);
    rewind(cap->tmp);
    assert_int_equal(fread(text, 1, (size_t)n, cap->tmp), (size_t)n);
    fclose(cap->tmp);
    return text;
}

static void set_interrupted(void *arg)
{
    (void)arg;
    as_set_interrupted(true);
}

/* ------------------------------------------------------------ basic GETs -- */

static void test_get_200_body(void **state)
{
    struct test_httpd *s = *state;
    const char *extra[] = {"X-Api-Key: k-123", NULL};
    struct test_httpd_reply r = {.status = 200, .body = "hello world",
                                 .content_type = "text/plain; charset=utf-8"};
    test_httpd_queue(s, &r);

    struct http_client *c = fast_client(3);
    char *url = url_of(s, "/v1/hello?x=1&y=two");
    struct http_request req = {.method = "GET", .url = url, .headers = extra, .retry = -1};
    struct http_response resp;
    struct as_error err;
    assert_int_equal(http_do(c, &req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello world");
    assert_int_equal(resp.body_len, 11);
    assert_string_equal(resp.content_type, "text/plain; charset=utf-8");
    assert_int_equal(resp.attempts, 1);
    assert_int_equal(resp.retry_after_ms, -1);

    assert_int_equal(test_httpd_request_count(s), 1);
    const struct test_httpd_request *got = test_httpd_request_at(s, 0);
    assert_string_equal(got->method, "GET");
    assert_string_equal(got->url, "/v1/hello?x=1&y=two");
    assert_string_equal(test_httpd_header(got, "x-api-key"), "k-123");
    assert_non_null(strstr(test_httpd_header(got, "User-Agent"), "autoscale-stackstorm/"));
    assert_int_equal(got->body_len, 0);

    http_response_clear(&resp);
    http_response_clear(&resp); /* twice is harmless */

    /* the second request rides the first one's connection */
    test_httpd_queue_simple(s, 200, "again");
    assert_int_equal(http_do(c, &req, &resp, &err), 0);
    assert_string_equal(resp.body, "again");
    assert_int_equal(test_httpd_request_at(s, 1)->client_port, got->client_port);
    assert_true(got->client_port > 0);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_empty_body_is_not_null(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 204, NULL);
    test_httpd_queue_simple(s, 200, "ignored for HEAD");

    struct http_client *c = fast_client(1);
    char *url = url_of(s, "/x");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "DELETE", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 204);
    assert_non_null(resp.body);
    assert_string_equal(resp.body, "");
    http_response_clear(&resp);

    assert_int_equal(do_req(c, "HEAD", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "");
    http_response_clear(&resp);

    assert_string_equal(test_httpd_request_at(s, 0)->method, "DELETE");
    assert_string_equal(test_httpd_request_at(s, 1)->method, "HEAD");
    free(url);
    http_client_free(c);
}

static void test_put_body_and_bodiless_put(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 200, "ok");
    test_httpd_queue_simple(s, 200, "ok");

    struct http_client *c = fast_client(1);
    char *url = url_of(s, "/kv");
    struct http_request req = {.method = "PUT", .url = url, .body = "a=1", .retry = -1};
    struct http_response resp;
    struct as_error err;
    assert_int_equal(http_do(c, &req, &resp, &err), 0); /* body_len 0: strlen */
    http_response_clear(&resp);
    req.body = NULL;
    assert_int_equal(http_do(c, &req, &resp, &err), 0);
    http_response_clear(&resp);

    const struct test_httpd_request *first = test_httpd_request_at(s, 0);
    const struct test_httpd_request *second = test_httpd_request_at(s, 1);
    assert_string_equal(first->method, "PUT");
    assert_string_equal(first->body, "a=1");
    assert_string_equal(second->method, "PUT");
    assert_int_equal(second->body_len, 0);
    assert_string_equal(test_httpd_header(second, "Content-Length"), "0");
    assert_null(test_httpd_header(first, "Expect"));
    free(url);
    http_client_free(c);
}

static void test_json_round_trip(void **state)
{
    struct test_httpd *s = *state;
    struct test_httpd_reply r = {.status = 201, .body = "{\"id\":\"i-42\",\"n\":3}",
                                 .content_type = "application/json"};
    test_httpd_queue(s, &r);

    struct http_client *c = fast_client(1);
    char *url = url_of(s, "/groups");
    const char *extra[] = {"Authorization: Bearer tok", NULL};
    struct json_object *body = json_object_new_object(), *out = NULL;
    json_object_object_add(body, "name", json_object_new_string("web"));
    json_object_object_add(body, "size", json_object_new_int(3));
    struct http_response resp;
    struct as_error err;

    assert_int_equal(http_json(c, "POST", url, extra, body, &resp, &out, &err), 0);
    assert_int_equal(resp.status, 201);
    assert_non_null(out);
    assert_string_equal(json_object_get_string(json_object_object_get(out, "id")), "i-42");
    assert_int_equal(json_object_get_int(json_object_object_get(out, "n")), 3);

    const struct test_httpd_request *got = test_httpd_request_at(s, 0);
    assert_string_equal(got->method, "POST");
    assert_string_equal(test_httpd_header(got, "Content-Type"), "application/json");
    assert_string_equal(test_httpd_header(got, "Accept"), "application/json");
    assert_string_equal(test_httpd_header(got, "Authorization"), "Bearer tok");
    struct json_object *sent = json_tokener_parse(got->body);
    assert_non_null(sent);
    assert_true(json_object_equal(sent, body));

    json_object_put(sent);
    json_object_put(body);
    json_object_put(out);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_json_bad_and_error_replies(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 200, "<html>not json</html>");
    test_httpd_queue_simple(s, 502, "<html>bad gateway</html>");
    struct test_httpd_reply nf = {.status = 404, .body = "{\"error\":\"no such group\"}",
                                  .content_type = "application/json"};
    test_httpd_queue(s, &nf);
    test_httpd_queue_simple(s, 204, NULL);

    struct http_client *c = fast_client(1); /* 502 is not retried with 1 attempt */
    char *url = url_of(s, "/g?secret=abc");
    struct json_object *out = (struct json_object *)&out; /* must be reset */
    struct http_response resp;
    struct as_error err;

    assert_int_equal(http_json(c, "GET", url, NULL, NULL, &resp, &out, &err), -1);
    assert_string_equal(err.code, "http_bad_json");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_null(out);
    assert_null(resp.body);
    assert_null(strstr(err.message, "secret=abc"));
    assert_non_null(strstr(err.message, "/g"));
    http_response_clear(&resp);

    assert_int_equal(http_json(c, "GET", url, NULL, NULL, &resp, &out, &err), 0);
    assert_int_equal(resp.status, 502);
    assert_null(out);
    char *text = http_error_text(&resp);
    assert_string_equal(text, "<html>bad gateway</html>");
    free(text);
    http_response_clear(&resp);

    assert_int_equal(http_json(c, "GET", url, NULL, NULL, &resp, &out, &err), 0);
    assert_int_equal(resp.status, 404);
    assert_non_null(out);
    assert_string_equal(json_object_get_string(json_object_object_get(out, "error")),
                        "no such group");
    json_object_put(out);
    http_response_clear(&resp);

    assert_int_equal(http_json(c, "DELETE", url, NULL, NULL, &resp, &out, &err), 0);
    assert_int_equal(resp.status, 204);
    assert_null(out);
    http_response_clear(&resp);

    /* no body sent: no Content-Type claimed */
    assert_null(test_httpd_header(test_httpd_request_at(s, 0), "Content-Type"));
    free(url);
    http_client_free(c);
}

/* ---------------------------------------------------------------- retries -- */

static void test_retry_503_then_200(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 503, "busy");
    test_httpd_queue_simple(s, 200, "fine");

    struct http_client *c = fast_client(4);
    char *url = url_of(s, "/r");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "fine");
    assert_int_equal(resp.attempts, 2);
    assert_int_equal(test_httpd_request_count(s), 2);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_retry_after_seconds_honoured(void **state)
{
    struct test_httpd *s = *state;
    const char *ra[] = {"Retry-After: 1", NULL};
    struct test_httpd_reply r = {.status = 429, .body = "slow down", .headers = ra};
    test_httpd_queue(s, &r);
    test_httpd_queue_simple(s, 200, "ok");

    struct http_options o;
    http_options_default(&o);
    o.backoff_base_ms = 1; /* jitter alone would wait 0..1 ms */
    o.backoff_max_ms = 100; /* caps Retry-After's 1000 ms too */
    struct as_error err;
    struct http_client *c = http_client_new(&o, &err);
    assert_non_null(c);
    char *url = url_of(s, "/ra");
    struct http_response resp;

    log_set_level(LOG_DEBUG);
    struct capture cap;
    capture_start(&cap);
    int rc = do_req(c, "GET", url, -1, &resp, &err);
    char *log = capture_end(&cap);

    assert_int_equal(rc, 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    assert_int_equal(resp.retry_after_ms, 1000);
    assert_non_null(strstr(log, "retrying in 100 ms (Retry-After)"));
    free(log);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_retry_after_http_date(void **state)
{
    struct test_httpd *s = *state;
    char date[80], header[100];
    time_t when = time(NULL) + 30;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(header, sizeof header, "Retry-After: %s", date);
    const char *ra[] = {header, NULL};
    /* repeat: every attempt gets a 503 with the date, so the last one has it */
    struct test_httpd_reply r = {.status = 503, .headers = ra, .repeat = -1};
    test_httpd_queue(s, &r);

    struct http_client *c = fast_client(2);
    char *url = url_of(s, "/date");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 503);
    assert_int_equal(resp.attempts, 2);
    /* 30 s ahead, give or take the clock ticking over during the test */
    assert_in_range(resp.retry_after_ms, 25000, 31000);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_post_not_retried_unless_asked(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 503, "busy");
    test_httpd_queue_simple(s, 503, "busy");
    test_httpd_queue_simple(s, 200, "done");

    struct http_client *c = fast_client(4);
    char *url = url_of(s, "/create");
    struct http_response resp;
    struct as_error err;

    assert_int_equal(do_req(c, "POST", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 503);
    assert_int_equal(resp.attempts, 1);
    assert_int_equal(test_httpd_request_count(s), 1);
    http_response_clear(&resp);

    assert_int_equal(do_req(c, "POST", url, 1, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    assert_int_equal(test_httpd_request_count(s), 3);
    http_response_clear(&resp);

    /* retry = 0 beats the method */
    test_httpd_queue_simple(s, 500, "x");
    assert_int_equal(do_req(c, "GET", url, 0, &resp, &err), 0);
    assert_int_equal(resp.attempts, 1);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_exhausted_returns_last_response(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 500, "first");
    test_httpd_queue_simple(s, 502, "second");
    test_httpd_queue_simple(s, 503, "third");
    test_httpd_queue_simple(s, 200, "never reached");

    struct http_client *c = fast_client(3);
    char *url = url_of(s, "/x");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 503);
    assert_string_equal(resp.body, "third");
    assert_int_equal(resp.attempts, 3);
    assert_int_equal(test_httpd_request_count(s), 3);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_4xx_not_retried(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 404, "nope");
    struct http_client *c = fast_client(4);
    char *url = url_of(s, "/x");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 404);
    assert_int_equal(resp.attempts, 1);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_connection_refused(void **state)
{
    (void)state;
    int fd;
    int port = test_refusing_port(&fd);
    assert_true(port > 0);
    char url[128], shown[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/path?token=abcdef", port);
    snprintf(shown, sizeof shown, "GET http://127.0.0.1:%d/v1/path:", port);

    struct http_client *c = fast_client(3);
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), -1);
    assert_string_equal(err.code, "http_unreachable");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_int_equal(resp.attempts, 3);
    assert_int_equal(resp.status, 0);
    assert_null(resp.body);
    assert_non_null(strstr(err.message, shown));
    assert_null(strstr(err.message, "token"));
    assert_non_null(strstr(err.message, "after 3 attempts"));
    http_response_clear(&resp);
    http_client_free(c);
    close(fd);
}

static void test_dropped_connection(void **state)
{
    struct test_httpd *s = *state;
    struct test_httpd_reply drop = {.drop = 1};
    test_httpd_queue(s, &drop);
    test_httpd_queue_simple(s, 200, "second time lucky");
    drop.repeat = -1;
    struct http_client *c = fast_client(3);
    char *url = url_of(s, "/d");
    struct http_response resp;
    struct as_error err;

    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    http_response_clear(&resp);

    test_httpd_queue(s, &drop);
    assert_int_equal(do_req(c, "POST", url, -1, &resp, &err), -1);
    assert_string_equal(err.code, "http_transport");
    assert_int_equal(resp.attempts, 1);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

/* GET from a server that never answers, with a per-attempt timeout, an
 * attempt limit and a budget (0: the default); asserts the timeout error
 * and that exactly `sent` requests reached the server. */
static void expect_attempts(struct test_httpd *s, int timeout_ms, int attempts,
                            long budget_ms, int sent)
{
    /* the delay is cut short when the server stops, so teardown is quick */
    struct test_httpd_reply slow = {.status = 200, .body = "late", .delay_ms = 60000,
                                    .repeat = -1};
    test_httpd_queue(s, &slow);
    struct http_options o;
    http_options_default(&o);
    o.timeout_ms = timeout_ms;
    o.max_attempts = attempts;
    o.backoff_base_ms = 1;
    if (budget_ms)
        o.budget_ms = budget_ms;
    struct as_error err;
    struct http_client *c = http_client_new(&o, &err);
    assert_non_null(c);
    char *url = url_of(s, "/slow");
    struct http_response resp;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), -1);
    assert_string_equal(err.code, "http_timeout");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_int_equal(resp.attempts, sent);
    assert_int_equal(test_httpd_request_count(s), sent);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_timeout(void **state)
{
    expect_attempts(*state, 200, 2, 0, 2);
}

/* A server that never answers, four attempts of 400 ms allowed, but a
 * budget of 600 ms for them all: the second attempt gets what is left and
 * no third is made. Without the budget all four would be sent. */
static void test_budget_bounds_all_attempts(void **state)
{
    expect_attempts(*state, 400, 4, 600, 2);
}

/* The default budget fits st2's default 60 s action timeout with room to
 * report, and one attempt's timeout fits in it. */
static void test_default_budget_below_st2_timeout(void **state)
{
    (void)state;
    struct http_options o;
    http_options_default(&o);
    assert_true(o.budget_ms > 0 && o.budget_ms <= 50000);
    assert_true(o.timeout_ms <= o.budget_ms);
    assert_true((long long)o.max_attempts * o.timeout_ms > o.budget_ms); /* it does bind */
}

/* An action's deadline cuts the budget: with none left nothing is sent. */
static void test_action_deadline_cuts_the_budget(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 200, "ok");
    struct http_client *c = fast_client(3);
    char *url = url_of(s, "/x");
    struct http_response resp;
    struct as_error err;
    as_deadline_set_ms(1);
    while (as_deadline_left_ms() > 0)
        ;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), -1);
    as_deadline_set_ms(0);
    assert_string_equal(err.code, "http_timeout");
    assert_int_equal(test_httpd_request_count(s), 0);
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_url_problem(void **state)
{
    (void)state;
    static const char *const good[] = {
        "http://127.0.0.1:5000/v3", "https://keystone.example.com/identity/v3",
        "https://[::1]:5000", "http://h", "https://a-b.example:65535/"};
    static const char *const bad[] = {
        "file:///etc/passwd", "gopher://h/", "ftp://h/", "http://", "http:///v3",
        "http://h:0/", "http://h:65536/", "http://h:99999/", "http://h:x/",
        "http://user:pw@h/", "http://h/?q=1", "http://h/#f", "http://h /v3",
        "http://h/\nx", "HTTP://h/", "//h/v3", "h:5000/v3", "", "http://[::1/"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (http_url_problem(good[i]))
            fail_msg("refused %s: %s", good[i], http_url_problem(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (!http_url_problem(bad[i]))
            fail_msg("accepted '%s'", bad[i]);
}

/* ----------------------------------------------------------- interruption -- */

static void test_interrupted_before_retry_wait(void **state)
{
    struct test_httpd *s = *state;
    /* The flag goes up while the server answers the first 503; the client
     * must give up instead of retrying into the 200. */
    struct test_httpd_reply r = {.status = 503, .body = "busy", .hook = set_interrupted};
    test_httpd_queue(s, &r);
    test_httpd_queue_simple(s, 200, "must not be fetched");

    struct http_client *c = fast_client(4);
    char *url = url_of(s, "/i");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), -1);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_int_equal(resp.attempts, 1);
    assert_int_equal(test_httpd_request_count(s), 1);
    http_response_clear(&resp);

    /* once cleared, the same client works again */
    as_set_interrupted(false);
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_interrupted_during_transfer(void **state)
{
    struct test_httpd *s = *state;
    /* Without the progress callback the client would sit out the whole
     * delay and come back with the 200. */
    struct test_httpd_reply r = {.status = 200, .body = "late", .delay_ms = 60000,
                                 .hook = set_interrupted};
    test_httpd_queue(s, &r);

    /* One attempt: otherwise a transfer that ignored the flag until its own
     * timeout would still end "interrupted", at the check before a retry. */
    struct http_client *c = fast_client(1);
    char *url = url_of(s, "/i");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), -1);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(resp.attempts, 1);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_interrupted_before_start(void **state)
{
    struct test_httpd *s = *state;
    struct http_client *c = fast_client(4);
    char *url = url_of(s, "/i");
    struct http_response resp;
    struct as_error err;
    as_set_interrupted(true);
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), -1);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(resp.attempts, 0);
    assert_int_equal(test_httpd_request_count(s), 0);
    free(url);
    http_client_free(c);
}

/* ------------------------------------------------------- limits, policy -- */

static void test_no_redirects(void **state)
{
    struct test_httpd *s = *state;
    char loc[128];
    snprintf(loc, sizeof loc, "Location: %s/elsewhere", test_httpd_url(s));
    const char *h[] = {loc, NULL};
    struct test_httpd_reply r = {.status = 302, .headers = h};
    test_httpd_queue(s, &r);
    test_httpd_queue_simple(s, 200, "followed");

    struct http_client *c = fast_client(3);
    char *url = url_of(s, "/start");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.status, 302);
    assert_int_equal(test_httpd_request_count(s), 1);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_only_http_and_https(void **state)
{
    (void)state;
    struct http_client *c = fast_client(3);
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", "file:///etc/passwd", -1, &resp, &err), -1);
    assert_string_equal(err.code, "http_bad_url");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_int_equal(resp.attempts, 1);
    assert_int_equal(do_req(c, "GET", "ftp://127.0.0.1/x", -1, &resp, &err), -1);
    assert_string_equal(err.code, "http_bad_url");
    http_client_free(c);
}

static void test_too_large(void **state)
{
    struct test_httpd *s = *state;
    size_t n = 16u * 1024 * 1024 + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    /* With a Content-Length libcurl refuses up front; chunked, the body
     * buffer has to stop growing by itself. */
    struct test_httpd_reply r = {.status = 200, .body = big, .body_len = n};
    test_httpd_queue(s, &r);
    r.chunked = 1;
    test_httpd_queue(s, &r);
    r.body_len = n - 1; /* exactly the limit is fine */
    test_httpd_queue(s, &r);
    free(big);

    struct http_client *c = fast_client(3);
    char *url = url_of(s, "/big");
    struct http_response resp;
    struct as_error err;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), -1);
        assert_string_equal(err.code, "http_too_large");
        assert_int_equal(resp.attempts, 1);
        assert_null(resp.body);
    }
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_int_equal(resp.body_len, n - 1);
    assert_int_equal(resp.body[n - 2], 'a');
    assert_int_equal(resp.body[n - 1], '\0');
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

static void test_bad_ca_bundle(void **state)
{
    (void)state;
    struct http_options o;
    http_options_default(&o);
    o.ca_bundle = "/nonexistent/ca.pem";
    struct as_error err;
    assert_null(http_client_new(&o, &err));
    assert_string_equal(err.code, "http_bad_ca_bundle");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    /* Relative or roundabout paths are refused before being tried. */
    static const char *const paths[] = {"ca.pem", "../../etc/ssl/certs/ca-certificates.crt",
                                        "/etc/ssl/../ssl/certs/ca-certificates.crt"};
    for (size_t i = 0; i < 3; i++) {
        o.ca_bundle = paths[i];
        assert_null(http_client_new(&o, &err));
        assert_string_equal(err.code, "invalid_parameter");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
}

/* ------------------------------------------------------- header capture -- */

/* One request to `path` capturing `name`; the reply must be received. */
static void capture_req(struct http_client *c, struct test_httpd *s, const char *method,
                        int retry, const char *name, struct http_response *resp)
{
    char *url = url_of(s, "/cap");
    struct http_request req = {.method = method, .url = url, .retry = retry,
                               .capture_header = name};
    struct as_error err = {0};
    if (http_do(c, &req, resp, &err) != 0)
        fail_msg("http_do: %s: %s", err.code, err.message);
    free(url);
}

static void test_capture_header_any_case(void **state)
{
    struct test_httpd *s = *state;
    const char *h1[] = {"X-Subject-Token-Id: not-this-one", "x-SUBJECT-token: tok-abc123",
                        NULL};
    const char *h2[] = {"X-Request-Id: req-77", NULL};
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 201, .body = "{}",
                                                   .headers = h1});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .headers = h2});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .headers = h1});

    struct http_client *c = fast_client(1);
    struct http_response resp;
    capture_req(c, s, "POST", -1, "X-Subject-Token", &resp);
    assert_int_equal(resp.status, 201);
    assert_string_equal(resp.body, "{}");
    assert_non_null(resp.captured_header);
    assert_string_equal(resp.captured_header, "tok-abc123");
    http_response_clear(&resp);
    assert_null(resp.captured_header);
    http_response_clear(&resp); /* twice is harmless */

    capture_req(c, s, "GET", -1, "x-request-ID", &resp);
    assert_string_equal(resp.captured_header, "req-77");
    http_response_clear(&resp);

    /* not asked for: nothing captured, as before the field existed */
    capture_req(c, s, "GET", -1, NULL, &resp);
    assert_int_equal(resp.status, 200);
    assert_null(resp.captured_header);
    http_response_clear(&resp);
    http_client_free(c);
}

static void test_capture_header_absent(void **state)
{
    struct test_httpd *s = *state;
    const char *h[] = {"X-Other: value", NULL};
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .body = "ok",
                                                   .headers = h});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .headers = h});

    struct http_client *c = fast_client(1);
    struct http_response resp;
    capture_req(c, s, "GET", -1, "X-Subject-Token", &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "ok");
    assert_null(resp.captured_header);
    http_response_clear(&resp);

    capture_req(c, s, "GET", -1, "", &resp); /* an empty name asks for nothing */
    assert_null(resp.captured_header);
    http_response_clear(&resp);
    http_client_free(c);
}

static void test_capture_header_trimmed(void **state)
{
    struct test_httpd *s = *state;
    const char *h1[] = {"X-Token: \t  spaced  value \t  ", NULL};
    const char *h2[] = {"X-Token: \t ", NULL};
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .headers = h1});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .headers = h2});

    struct http_client *c = fast_client(1);
    struct http_response resp;
    capture_req(c, s, "GET", -1, "X-Token", &resp);
    assert_string_equal(resp.captured_header, "spaced  value"); /* inner blanks kept */
    http_response_clear(&resp);

    capture_req(c, s, "GET", -1, "X-Token", &resp); /* present but blank */
    assert_non_null(resp.captured_header);
    assert_string_equal(resp.captured_header, "");
    http_response_clear(&resp);
    http_client_free(c);
}

static void test_capture_header_from_final_response(void **state)
{
    struct test_httpd *s = *state;
    const char *stale[] = {"X-Subject-Token: stale-from-503", NULL};
    const char *fresh[] = {"X-Subject-Token: fresh-from-201", NULL};
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 503, .body = "busy",
                                                   .headers = stale});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 201, .body = "{}",
                                                   .headers = fresh});
    /* a retried reply's header does not survive into a final reply without one */
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 503, .headers = stale});
    test_httpd_queue_simple(s, 200, "no token");

    struct http_client *c = fast_client(4);
    struct http_response resp;
    capture_req(c, s, "POST", 1, "X-Subject-Token", &resp);
    assert_int_equal(resp.status, 201);
    assert_int_equal(resp.attempts, 2);
    assert_string_equal(resp.captured_header, "fresh-from-201");
    http_response_clear(&resp);

    capture_req(c, s, "POST", 1, "X-Subject-Token", &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    assert_null(resp.captured_header);
    http_response_clear(&resp);
    assert_int_equal(test_httpd_request_count(s), 4);
    http_client_free(c);
}

static void test_capture_header_bounded(void **state)
{
    struct test_httpd *s = *state;
    char *fits = NULL, *over = NULL;
    assert_true(asprintf(&fits, "X-Big: %0*d", HTTP_CAPTURE_MAX, 7) > 0);
    assert_true(asprintf(&over, "X-Big: %0*d", HTTP_CAPTURE_MAX + 1, 7) > 0);
    const char *h1[] = {fits, NULL}, *h2[] = {over, NULL};
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .body = "a",
                                                   .headers = h1});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .body = "b",
                                                   .headers = h2});

    struct http_client *c = fast_client(1);
    struct http_response resp;
    capture_req(c, s, "GET", -1, "X-Big", &resp);
    assert_non_null(resp.captured_header);
    assert_int_equal(strlen(resp.captured_header), HTTP_CAPTURE_MAX);
    assert_string_equal(resp.captured_header, fits + strlen("X-Big: "));
    http_response_clear(&resp);

    /* one byte more: not returned at all (a cut credential is no credential),
     * and the reply itself is unharmed */
    capture_req(c, s, "GET", -1, "X-Big", &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "b");
    assert_null(resp.captured_header);
    http_response_clear(&resp);
    free(fits);
    free(over);
    http_client_free(c);
}

static void test_capture_header_not_logged(void **state)
{
    struct test_httpd *s = *state;
    static const char token[] = "gAAAAABsubjectTOKENvalue-4f1c9e";
    char *big = NULL;
    assert_true(asprintf(&big, "X-Subject-Token: %s%0*d", token, HTTP_CAPTURE_MAX, 0) > 0);
    const char *h1[] = {"X-Subject-Token: gAAAAABsubjectTOKENvalue-4f1c9e", NULL};
    const char *h2[] = {big, NULL};
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 503, .headers = h1});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 201, .headers = h1});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 201, .headers = h2});

    struct http_client *c = fast_client(3);
    struct http_response r1, r2;
    log_set_level(LOG_DEBUG);
    struct capture cap;
    capture_start(&cap);
    capture_req(c, s, "POST", 1, "X-Subject-Token", &r1);
    capture_req(c, s, "POST", 1, "X-Subject-Token", &r2);
    char *log = capture_end(&cap);

    assert_string_equal(r1.captured_header, token);
    assert_null(r2.captured_header);
    /* the log did run, through a retry and the over-long value */
    assert_non_null(strstr(log, "HTTP 503"));
    assert_non_null(strstr(log, "HTTP 201"));
    assert_non_null(strstr(log, "retrying in"));
    assert_non_null(strstr(log, "not captured"));
    assert_null(strstr(log, "gAAAAAB"));
    assert_null(strstr(log, "TOKENvalue"));
    http_response_clear(&r1);
    http_response_clear(&r2);
    free(log);
    free(big);
    http_client_free(c);
}

/* ---------------------------------------------------------------- secrets -- */

static void test_secret_url_not_logged(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 503, "busy");
    test_httpd_queue_simple(s, 200, "ok");
    struct http_client *c = fast_client(3);
    char *url = url_of(s, "/services/T0ABC/B0DEF/HOOKPATHSECRET");
    int fd, port = test_refusing_port(&fd);
    assert_true(port > 0);
    char dead[128];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d/services/T0ABC/B0DEF/HOOKPATHSECRET",
             port);
    struct http_request req = {.method = "POST", .url = url, .body = "{}", .retry = 1,
                               .secret_url = 1};
    struct http_response resp;
    struct as_error err;

    log_set_level(LOG_DEBUG);
    struct capture cap;
    capture_start(&cap);
    int rc1 = http_do(c, &req, &resp, &err);
    http_response_clear(&resp);
    req.url = dead;
    int rc2 = http_do(c, &req, &resp, &err);
    char *log = capture_end(&cap);

    assert_int_equal(rc1, 0);
    assert_int_equal(resp.attempts, 3);
    assert_int_equal(rc2, -1);
    assert_string_equal(err.code, "http_unreachable");
    /* the log did run, and named the host */
    assert_non_null(strstr(log, "POST http://127.0.0.1:"));
    assert_non_null(strstr(log, "HTTP 503"));
    assert_non_null(strstr(log, "retrying in"));
    assert_null(strstr(log, "services"));
    assert_null(strstr(log, "HOOKPATHSECRET"));
    assert_null(strstr(err.message, "services"));
    assert_non_null(strstr(err.message, "POST http://127.0.0.1:"));
    free(log);
    free(url);
    http_client_free(c);
    close(fd);
}

static void test_userinfo_never_shown(void **state)
{
    (void)state;
    int fd, port = test_refusing_port(&fd);
    assert_true(port > 0);
    char url[128];
    snprintf(url, sizeof url, "http://admin:hunter2pw@127.0.0.1:%d/x", port);
    struct http_client *c = fast_client(1);
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), -1);
    assert_null(strstr(err.message, "hunter2pw"));
    assert_null(strstr(err.message, "admin"));
    assert_non_null(strstr(err.message, "127.0.0.1"));
    http_client_free(c);
    close(fd);
}

/* ------------------------------------------------------------- error text -- */

static char *text_of(long status, const char *body)
{
    struct http_response r = {.status = status, .body = (char *)body,
                              .body_len = body ? strlen(body) : 0, .retry_after_ms = -1};
    char *t = http_error_text(&r);
    assert_non_null(t);
    return t;
}

static void expect_text(long status, const char *body, const char *want)
{
    char *t = text_of(status, body);
    assert_string_equal(t, want);
    free(t);
}

static void test_error_text_shapes(void **state)
{
    (void)state;
    expect_text(400, "{\"error\":\"x\"}", "x");
    expect_text(400, "{\"error\":{\"message\":\"y\"}}", "y");
    expect_text(400, "{\"error\":{\"code\":\"Throttled\",\"message\":\"y\"}}", "Throttled: y");
    expect_text(400, "{\"message\":\"z\"}", "z");
    expect_text(404, "{\"id\":\"not_found\",\"message\":\"no droplet\"}",
                "not_found: no droplet");
    expect_text(500, "{\"faultstring\":\"Internal error: boom\"}", "Internal error: boom");
    expect_text(400, "{\"error\":\"invalid_grant\",\"error_description\":\"expired\"}",
                "invalid_grant: expired");
    expect_text(400, "{\"errors\":[{\"message\":\"first\"},{\"message\":\"second\"}]}",
                "first");
    expect_text(502, "  upstream\nfailed:\r\n\tconnection reset  \n", "upstream failed: connection reset");
    expect_text(503, "", "HTTP 503");
    expect_text(503, " \n ", "HTTP 503");
    expect_text(503, NULL, "HTTP 503");
    /* JSON without a known shape: the text itself, on one line */
    expect_text(418, "{\"teapot\":\n true}", "{\"teapot\": true}");
}

static void test_error_text_bounded(void **state)
{
    (void)state;
    char body[2001];
    memset(body, 'x', 2000);
    body[2000] = '\0';
    body[297] = (char)0xc3; /* "é" straddling the cut */
    body[298] = (char)0xa9;
    char *t = text_of(500, body);
    assert_in_range(strlen(t), 290, 300);
    assert_string_equal(t + strlen(t) - 3, "...");
    assert_true(utf8_valid(t, strlen(t)));
    free(t);
}

static void test_error_text_scrubs_secret(void **state)
{
    struct test_httpd *s = *state;
    secret_register("sk-live-0123456789");
    expect_text(401, "{\"message\":\"bad key sk-live-0123456789\"}", "bad key ***");
    expect_text(401, "key sk-live-0123456789 rejected", "key *** rejected");

    /* and over the wire */
    test_httpd_queue_simple(s, 403, "token sk-live-0123456789 is not allowed");
    struct http_client *c = fast_client(1);
    char *url = url_of(s, "/x");
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    char *t = http_error_text(&resp);
    assert_string_equal(t, "token *** is not allowed");
    free(t);
    http_response_clear(&resp);
    free(url);
    http_client_free(c);
}

/* ------------------------------------------------------ which transport -- */

static void set_env(const char *name, const char *value)
{
    if (value)
        assert_int_equal(setenv(name, value, 1), 0);
    else
        assert_int_equal(unsetenv(name), 0);
}

static void expect_transport(const char *url, const char *want)
{
    const struct http_transport *t = http_transport_for(url);
    if (strcmp(t->name, want) != 0)
        fail_msg("%s goes by %s, not %s", url, t->name, want);
}

/* The rule of http.c: https and proxied http by libcurl, the rest plain;
 * where curl's no_proxy reading is not certain, libcurl decides. */
static void test_transport_rule(void **state)
{
    (void)state;
    static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY",
                                       "no_proxy", "NO_PROXY"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        set_env(vars[i], NULL);
    http_force_transport(NULL);

    expect_transport("http://127.0.0.1:9101/v1/keys", "plain");
    expect_transport("HTTP://st2.example.com/v1", "plain");
    expect_transport("http://[::1]:9101/v1", "plain");
    expect_transport("https://127.0.0.1:9101/v1", "curl");
    expect_transport("https://hooks.slack.com/services/x", "curl");
    expect_transport("http://user:pw@127.0.0.1/", "plain"); /* which refuses it */
    expect_transport("ftp://127.0.0.1/", "plain");           /* and this */

    set_env("HTTP_PROXY", "http://proxy.example:3128"); /* curl ignores it: so do we */
    expect_transport("http://127.0.0.1:9101/v1", "plain");
    set_env("HTTP_PROXY", NULL);

    static const char *const proxies[] = {"http_proxy", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < 3; i++) {
        set_env(proxies[i], "http://proxy.example:3128");
        expect_transport("http://127.0.0.1:9101/v1", "curl");
        set_env("no_proxy", "localhost,127.0.0.1");
        expect_transport("http://127.0.0.1:9101/v1", "plain");
        expect_transport("http://localhost:9101/v1", "plain");
        expect_transport("http://10.0.0.1:9101/v1", "curl");
        set_env("no_proxy", NULL);
        set_env("NO_PROXY", ".example.com");
        expect_transport("http://st2.example.com/v1", "plain");
        expect_transport("http://example.com/v1", "plain");
        expect_transport("http://badexample.com/v1", "curl");
        set_env("NO_PROXY", "*");
        expect_transport("http://st2.example.org/v1", "plain");
        set_env("NO_PROXY", "127.0.0.0/8"); /* CIDR: libcurl's to judge */
        expect_transport("http://127.0.0.1/v1", "curl");
        set_env("no_proxy", "other.example"); /* no_proxy wins over NO_PROXY */
        set_env("NO_PROXY", "127.0.0.1");
        expect_transport("http://127.0.0.1/v1", "curl");
        set_env("no_proxy", NULL);
        set_env("NO_PROXY", NULL);
        set_env(proxies[i], "");
        expect_transport("http://127.0.0.1:9101/v1", "plain");
        set_env(proxies[i], NULL);
    }

    assert_int_equal(http_force_transport("curl"), 0);
    expect_transport("http://127.0.0.1:9101/v1", "curl");
    assert_int_equal(http_force_transport("nonesuch"), -1);
    expect_transport("http://127.0.0.1:9101/v1", "plain");
}

/* With a proxy variable set, a request really goes by libcurl, to the
 * proxy; no_proxy naming the host sends it straight, by the plain transport. */
static void test_proxy_variable_sends_by_curl(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 200, "via proxy");
    test_httpd_queue_simple(s, 200, "direct");
    http_force_transport(NULL);
    set_env("http_proxy", test_httpd_url(s));

    struct http_client *c = fast_client(1);
    struct http_response resp;
    struct as_error err;
    assert_int_equal(do_req(c, "GET", "http://st2.example.invalid:9101/v1/keys", -1, &resp,
                            &err), 0);
    assert_string_equal(resp.body, "via proxy");
    http_response_clear(&resp);
    /* the absolute form a client sends a proxy */
    assert_non_null(strstr(test_httpd_request_at(s, 0)->url, "st2.example.invalid"));

    set_env("no_proxy", "127.0.0.1");
    char *url = url_of(s, "/v1/keys");
    assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
    assert_string_equal(resp.body, "direct");
    assert_string_equal(test_httpd_request_at(s, 1)->url, "/v1/keys");
    http_response_clear(&resp);
    set_env("http_proxy", NULL);
    set_env("no_proxy", NULL);
    free(url);
    http_client_free(c);
}

/* Retry-After in the two older HTTP-date forms every recipient must read
 * (RFC 9110 5.6.7), and forms that are no date. */
static void test_retry_after_old_date_forms(void **state)
{
    struct test_httpd *s = *state;
    char rfc850[128], asc[80], h1[160], h2[100];
    time_t when = time(NULL) + 30;
    struct tm tm;
    gmtime_r(&when, &tm);
    char day_mon[40], rest[40];
    strftime(day_mon, sizeof day_mon, "%A, %d-%b-", &tm); /* %y: a warning */
    strftime(rest, sizeof rest, "%H:%M:%S GMT", &tm);
    snprintf(rfc850, sizeof rfc850, "%s%02d %s", day_mon, tm.tm_year % 100, rest);
    strftime(asc, sizeof asc, "%a %b %e %H:%M:%S %Y", &tm);
    snprintf(h1, sizeof h1, "Retry-After: %s", rfc850);
    snprintf(h2, sizeof h2, "Retry-After: %s", asc);
    const char *ra1[] = {h1, NULL}, *ra2[] = {h2, NULL};
    const char *bad[] = {"Retry-After: tomorrow", "Retry-After: 12abc",
                         "Retry-After: Sun, 06 Nov 1994 08:49:37 GMT junk"};
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 503, .headers = ra1});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 503, .headers = ra2});
    for (size_t i = 0; i < 3; i++) {
        const char *one[] = {bad[i], NULL};
        test_httpd_queue(s, &(struct test_httpd_reply){.status = 503, .headers = one});
    }

    struct http_client *c = fast_client(1);
    char *url = url_of(s, "/date");
    struct http_response resp;
    struct as_error err;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(do_req(c, "GET", url, -1, &resp, &err), 0);
        assert_int_equal(resp.status, 503);
        if (i < 2)
            assert_in_range(resp.retry_after_ms, 25000, 31000);
        else
            assert_int_equal(resp.retry_after_ms, -1);
        http_response_clear(&resp);
    }
    free(url);
    http_client_free(c);
}

/* -------------------------------------------------------------- urlencode -- */

static void expect_enc(const char *in, const char *want)
{
    char *got = http_urlencode(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_urlencode(void **state)
{
    (void)state;
    expect_enc("", "");
    expect_enc("AZaz09-._~", "AZaz09-._~");
    expect_enc("a b", "a%20b");
    expect_enc("a/b", "a%2Fb");
    expect_enc("k;v", "k%3Bv");
    expect_enc("line\nbreak", "line%0Abreak");
    expect_enc("caf\xc3\xa9", "caf%C3%A9");
    expect_enc("+&=?#%", "%2B%26%3D%3F%23%25");
}

int main(void)
{
    /* By each transport: the requests of these go over the wire. */
    const struct CMUnitTest wire[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_get_200_body),
        T(test_empty_body_is_not_null),
        T(test_put_body_and_bodiless_put),
        T(test_json_round_trip),
        T(test_json_bad_and_error_replies),
        T(test_retry_503_then_200),
        T(test_retry_after_seconds_honoured),
        T(test_retry_after_http_date),
        T(test_post_not_retried_unless_asked),
        T(test_exhausted_returns_last_response),
        T(test_4xx_not_retried),
        T(test_connection_refused),
        T(test_dropped_connection),
        T(test_timeout),
        T(test_budget_bounds_all_attempts),
        T(test_default_budget_below_st2_timeout),
        T(test_action_deadline_cuts_the_budget),
        T(test_url_problem),
        T(test_interrupted_before_retry_wait),
        T(test_interrupted_during_transfer),
        T(test_interrupted_before_start),
        T(test_no_redirects),
        T(test_only_http_and_https),
        T(test_too_large),
        T(test_bad_ca_bundle),
        T(test_capture_header_any_case),
        T(test_capture_header_absent),
        T(test_capture_header_trimmed),
        T(test_capture_header_from_final_response),
        T(test_capture_header_bounded),
        T(test_capture_header_not_logged),
        T(test_secret_url_not_logged),
        T(test_userinfo_never_shown),
        T(test_error_text_scrubs_secret),
        T(test_retry_after_old_date_forms),
    };
    /* Once: no request, or the choice of transport itself. */
    const struct CMUnitTest once[] = {
        T(test_transport_rule),
        T(test_proxy_variable_sends_by_curl),
        T(test_error_text_shapes),
        T(test_error_text_bounded),
        T(test_urlencode),
#undef T
    };
    log_init("test_http");
    int failed = cmocka_run_group_tests_name("by the rule (plain)", wire, NULL, NULL);
    if (http_force_transport("curl") != 0)
        return 1;
    failed += cmocka_run_group_tests_name("by libcurl", wire, NULL, NULL);
    /* libcurl as a static autoscale reaches it: in the autoscale_curl helper. */
    const char *bin = getenv("AUTOSCALE_BIN_DIR");
    char worker[4096];
    snprintf(worker, sizeof worker, "%s/autoscale_curl", bin ? bin : "actions/bin");
    setenv("AUTOSCALE_CURL_WORKER", worker, 1);
    if (http_force_transport("worker") != 0)
        return 1;
    failed += cmocka_run_group_tests_name("by the autoscale_curl helper", wire, NULL, NULL);
    http_force_transport(NULL);
    failed += cmocka_run_group_tests_name("the rule", once, NULL, NULL);
    return failed;
}
