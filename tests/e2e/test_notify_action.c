/* End-to-end tests of the notify action: the binary is run as st2 runs it,
 * against a local receiver that answers like a Slack incoming webhook (200
 * "ok"; plain-text errors; 429 with Retry-After; 5xx). The key contract:
 * an undelivered notification is exit 0 with delivered=false, unless
 * fail_on_error; bad input is exit 2 and sends nothing; the webhook URL
 * (its path is the credential) never shows in stdout or stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "store_fixture.h"
#include "test_httpd.h"
#include "test_util.h"

#define SECRET_PATH "/services/T1/B2/secretpart"
#define NOW "1700000000"

struct fixture {
    struct store_fixture st;
    struct test_httpd *rx; /* the Slack-like receiver */
    char url[128];         /* its webhook URL, with the secret path */
    char url_arg[192];     /* --slack_webhook_url=... */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    /* The child inherits our environment: a proxy would swallow 127.0.0.1. */
    test_unset_proxies();
    assert_int_equal(store_fixture_open(&f->st, "as-notify"), 0);
    f->st.env[1] = "AUTOSCALE_TEST_NOW=" NOW;
    f->rx = test_httpd_start();
    assert_non_null(f->rx);
    snprintf(f->url, sizeof f->url, "%s" SECRET_PATH, test_httpd_url(f->rx));
    snprintf(f->url_arg, sizeof f->url_arg, "--slack_webhook_url=%s", f->url);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    test_httpd_stop(f->rx);
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

/* Group web, channel #web-ops, nodes: 2 active, 1 building. */
static void create_web(struct fixture *f)
{
    struct action_result r;
    const char *args[] = {"--compute_provider=local", "--name=web", "--min=1", "--max=6", "--notify_channel=#web-ops",
                          NULL};
    assert_int_equal(store_runv(&f->st, "asg_define", args, &r), 0);
    action_result_free(&r);
    store_put(&f->st, "autoscale.node.web.web-1", "{\"name\":\"web-1\",\"state\":\"active\"}");
    store_put(&f->st, "autoscale.node.web.web-2", "{\"name\":\"web-2\",\"state\":\"active\"}");
    store_put(&f->st, "autoscale.node.web.web-3", "{\"name\":\"web-3\",\"state\":\"building\"}");
}

/* The common Slack call, plus up to 4 more arguments. */
static int notify_slack(struct fixture *f, struct action_result *r, const char *a1,
                        const char *a2)
{
    const char *args[] = {"--notify_provider=slack", f->url_arg, "--name=web",
                          "--event=scale_out_started", "--count=2",
                          "--reason=critical alert: Web p95 > 2s", a1, a2, NULL};
    return store_runv(&f->st, "notify", args, r);
}

static struct json_object *request_json(struct fixture *f, int i)
{
    const struct test_httpd_request *q = test_httpd_request_at(f->rx, i);
    assert_non_null(q);
    struct json_object *o = json_tokener_parse(q->body);
    assert_non_null(o);
    return o;
}

/* ------------------------------------------------------------ delivery -- */

static void test_slack_delivered(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    create_web(f);
    test_httpd_queue(f->rx, &(struct test_httpd_reply){.status = 200, .body = "ok",
                                                      .content_type = "text/plain"});

    assert_int_equal(notify_slack(f, &r, NULL, NULL), 0);
    assert_true(jx_bool(r.json, "delivered", false));
    assert_int_equal(jx_int(r.json, "attempts", 0), 1);
    assert_int_equal(jx_int(r.json, "status", 0), 200);
    assert_string_equal(jx_str(r.json, "provider", ""), "slack");
    assert_string_equal(jx_str(r.json, "group", ""), "web");
    assert_string_equal(jx_str(r.json, "channel", ""), "#web-ops"); /* the group's */
    assert_int_equal(jx_int(jx_obj(r.json, "counts"), "total", -1), 3);
    assert_int_equal(jx_int(r.json, "at", 0), 1700000000);
    assert_false(json_object_object_get_ex(r.json, "error", NULL));
    action_result_free(&r);

    assert_int_equal(test_httpd_request_count(f->rx), 1);
    const struct test_httpd_request *q = test_httpd_request_at(f->rx, 0);
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->url, SECRET_PATH);
    assert_string_equal(test_httpd_header(q, "Content-Type"), "application/json");
    struct json_object *body = request_json(f, 0);
    assert_string_equal(jx_str(body, "text", ""),
                        "[autoscale] web: scale_out_started: +2 nodes (3 -> 5): "
                        "critical alert: Web p95 &gt; 2s");
    assert_string_equal(jx_str(body, "channel", ""), "#web-ops");
    char *blocks = jx_dump(jx_arr(body, "blocks"));
    assert_non_null(strstr(blocks, "web: scale_out_started"));
    assert_non_null(strstr(blocks, "*Group*\\nweb"));
    assert_non_null(strstr(blocks, "total 3 \xc2\xb7 active 2 \xc2\xb7 building 1"));
    assert_non_null(strstr(blocks, "+2 nodes (3 -> 5)"));
    assert_non_null(strstr(blocks, "Web p95 &gt; 2s"));
    free(blocks);
    json_object_put(body);
}

static void test_slack_429_retry_after(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    create_web(f);
    const char *ra[] = {"Retry-After: 1", NULL};
    test_httpd_queue(f->rx, &(struct test_httpd_reply){.status = 429, .body = "rate_limited",
                                                      .headers = ra});
    test_httpd_queue_simple(f->rx, 200, "ok");

    assert_int_equal(notify_slack(f, &r, NULL, NULL), 0);
    assert_true(jx_bool(r.json, "delivered", false));
    assert_int_equal(jx_int(r.json, "attempts", 0), 2);
    assert_int_equal(test_httpd_request_count(f->rx), 2);
    action_result_free(&r);
}

static void test_slack_5xx_then_ok(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    test_httpd_queue_simple(f->rx, 500, "internal_error");
    test_httpd_queue(f->rx, &(struct test_httpd_reply){.status = 503, .body = "unavailable"});
    test_httpd_queue_simple(f->rx, 200, "ok");

    assert_int_equal(notify_slack(f, &r, NULL, NULL), 0);
    assert_true(jx_bool(r.json, "delivered", false));
    assert_int_equal(jx_int(r.json, "attempts", 0), 3);
    assert_int_equal(test_httpd_request_count(f->rx), 3);
    action_result_free(&r);
}

/* The key contract: not delivered is still success, with the reason. */
static void test_invalid_payload_exit_0(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    create_web(f);
    test_httpd_queue(f->rx, &(struct test_httpd_reply){.status = 400, .body = "invalid_payload",
                                                      .content_type = "text/plain"});

    assert_int_equal(notify_slack(f, &r, NULL, NULL), 0);
    assert_false(jx_bool(r.json, "delivered", true));
    assert_int_equal(jx_int(r.json, "status", 0), 400);
    assert_int_equal(jx_int(r.json, "attempts", 0), 1); /* a 400 is not retried */
    struct json_object *e = jx_obj(r.json, "error");
    assert_string_equal(jx_str(e, "code", ""), "notify_rejected");
    assert_non_null(strstr(jx_str(e, "message", ""), "invalid_payload"));
    assert_int_equal(jx_int(jx_obj(r.json, "counts"), "total", -1), 3);
    action_result_free(&r);
    assert_int_equal(test_httpd_request_count(f->rx), 1);
}

static void test_invalid_payload_fail_on_error(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    test_httpd_queue(f->rx, &(struct test_httpd_reply){.status = 400, .body = "invalid_payload",
                                                      .content_type = "text/plain"});

    assert_int_equal(notify_slack(f, &r, "--fail_on_error", NULL), 1);
    assert_string_equal(action_error_code(&r), "notify_rejected");
    assert_non_null(strstr(jx_str(jx_obj(r.json, "error"), "message", ""), "invalid_payload"));
    action_result_free(&r);
}

static void test_receiver_down(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    int fd, port = test_refusing_port(&fd);
    assert_true(port > 0);
    char arg[160];
    snprintf(arg, sizeof arg, "--slack_webhook_url=http://127.0.0.1:%d" SECRET_PATH, port);
    const char *args[] = {"--notify_provider=slack", arg, "--event=node_failed",
                          "--node=web-3", "--debug", NULL};

    assert_int_equal(store_runv(&f->st, "notify", args, &r), 0);
    assert_false(jx_bool(r.json, "delivered", true));
    assert_string_equal(jx_str(jx_obj(r.json, "error"), "code", ""), "http_unreachable");
    assert_int_equal(jx_int(r.json, "status", -1), 0);
    assert_null(strstr(r.out, "secretpart"));
    assert_null(strstr(r.err, "secretpart"));
    action_result_free(&r);

    const char *strict[] = {"--notify_provider=slack", arg, "--event=node_failed",
                            "--fail_on_error", NULL};
    assert_int_equal(store_runv(&f->st, "notify", strict, &r), 1);
    assert_string_equal(action_error_code(&r), "http_unreachable");
    action_result_free(&r);
    close(fd);
}

/* ------------------------------------------------------------- secrets -- */

static void assert_no_secret(const struct action_result *r, const char *url)
{
    const char *streams[] = {r->out, r->err};
    for (int i = 0; i < 2; i++) {
        if (strstr(streams[i], "secretpart") || strstr(streams[i], "/services/T1") ||
            strstr(streams[i], url))
            fail_msg("the webhook URL leaked: %s", streams[i]);
    }
}

/* Even with --debug and st2's debug flag, and with a receiver that echoes
 * the path back in its error text, neither stream shows the URL or token. */
static void test_url_never_shown(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *env[] = {f->st.env_db, "AUTOSCALE_TEST_NOW=" NOW, "ST2_ACTION_DEBUG=True", NULL};
    const char *args[] = {"--notify_provider=slack", f->url_arg, "--event=node_up",
                          "--debug", NULL};

    test_httpd_queue_simple(f->rx, 200, "ok");
    action_run("notify", args, env, &r);
    assert_int_equal(r.status, 0);
    assert_true(jx_bool(r.json, "delivered", false));
    assert_non_null(strstr(r.err, "debug")); /* debug logging was on */
    assert_no_secret(&r, f->url);
    action_result_free(&r);

    test_httpd_queue_simple(f->rx, 404, "channel_not_found for " SECRET_PATH);
    action_run("notify", args, env, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "channel_not_found"));
    assert_no_secret(&r, f->url);
    action_result_free(&r);

    const char *strict[] = {"--notify_provider=slack", f->url_arg, "--event=node_up",
                            "--debug", "--fail_on_error", NULL};
    test_httpd_queue_simple(f->rx, 410, "channel_is_archived secretpart");
    action_run("notify", strict, env, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "channel_is_archived"));
    assert_no_secret(&r, f->url);
    action_result_free(&r);

    /* a malformed URL is refused without being echoed */
    const char *bad[] = {"--notify_provider=slack",
                         "--slack_webhook_url=hooks.slack.example" SECRET_PATH,
                         "--event=node_up", "--debug", NULL};
    action_run("notify", bad, env, &r);
    assert_int_equal(r.status, 2);
    assert_no_secret(&r, "hooks.slack.example");
    action_result_free(&r);
}

/* ------------------------------------------------------------ escaping -- */

static void test_user_text_escaped(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    test_httpd_queue_simple(f->rx, 200, "ok");
    const char *args[] = {"--notify_provider=slack", f->url_arg, "--event=alert_opened",
                          "--reason=<!channel> & <http://evil.example|click>",
                          "--message=a < b && c > d", NULL};

    assert_int_equal(store_runv(&f->st, "notify", args, &r), 0);
    assert_true(jx_bool(r.json, "delivered", false));
    action_result_free(&r);

    const struct test_httpd_request *q = test_httpd_request_at(f->rx, 0);
    assert_null(strstr(q->body, "<!channel"));
    assert_null(strstr(q->body, "<http://evil"));
    struct json_object *body = request_json(f, 0);
    assert_string_equal(jx_str(body, "text", ""),
                        "[autoscale] alert_opened: &lt;!channel&gt; &amp; "
                        "&lt;http://evil.example|click&gt;: a &lt; b &amp;&amp; c &gt; d");
    char *blocks = jx_dump(jx_arr(body, "blocks"));
    assert_non_null(strstr(blocks, "a &lt; b &amp;&amp; c &gt; d"));
    free(blocks);
    json_object_put(body);
}

/* ------------------------------------------------------ generic webhook -- */

static void test_generic_webhook(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    create_web(f);
    test_httpd_queue_simple(f->rx, 202, "{\"accepted\": true}");
    char url[192];
    snprintf(url, sizeof url, "--webhook_url=%s/hooks/autoscale?token=tok-9f8e7d6c",
             test_httpd_url(f->rx));
    const char *args[] = {"--notify_provider=webhook", url,
                          "--webhook_headers={\"Authorization\": \"Bearer hdr-5a4b3c\"}",
                          "--name=web", "--event=scale_in_done", "--count=1",
                          "--node=web-3", "--reason=quiet for 30 min",
                          "--message=<b>raw</b> & unescaped", "--channel=#other", NULL};

    assert_int_equal(store_runv(&f->st, "notify", args, &r), 0);
    assert_true(jx_bool(r.json, "delivered", false));
    assert_string_equal(jx_str(r.json, "provider", ""), "webhook");
    assert_string_equal(jx_str(r.json, "channel", ""), "#other"); /* given wins */
    assert_null(strstr(r.out, "tok-9f8e7d6c"));
    assert_null(strstr(r.err, "tok-9f8e7d6c"));
    assert_null(strstr(r.out, "hdr-5a4b3c"));
    action_result_free(&r);

    const struct test_httpd_request *q = test_httpd_request_at(f->rx, 0);
    assert_string_equal(q->url, "/hooks/autoscale?token=tok-9f8e7d6c");
    assert_string_equal(test_httpd_header(q, "Authorization"), "Bearer hdr-5a4b3c");
    struct json_object *b = request_json(f, 0);
    assert_string_equal(jx_str(b, "group", ""), "web");
    assert_string_equal(jx_str(b, "event", ""), "scale_in_done");
    assert_string_equal(jx_str(b, "message", ""), "<b>raw</b> & unescaped");
    assert_string_equal(jx_str(b, "reason", ""), "quiet for 30 min");
    assert_int_equal(jx_int(b, "count", -1), 1);
    assert_string_equal(jx_str(b, "node", ""), "web-3");
    assert_string_equal(jx_str(b, "channel", ""), "#other");
    assert_int_equal(jx_int(b, "at", 0), 1700000000);
    struct json_object *counts = jx_obj(b, "counts");
    assert_int_equal(jx_int(counts, "total", -1), 3);
    assert_int_equal(jx_int(counts, "active", -1), 2);
    assert_int_equal(jx_int(counts, "building", -1), 1);
    assert_int_equal(jx_int(counts, "capacity", -1), 3);
    assert_string_equal(jx_str(b, "text", ""),
                        "[autoscale] web: scale_in_done: web-3: -1 node (capacity 3): "
                        "quiet for 30 min: <b>raw</b> & unescaped");
    json_object_put(b);
}

/* ------------------------------------------------- off, unset, unknown -- */

/* Provider none: delivered false, skipped "disabled", no error, nothing
 * sent, exit 0 even with fail_on_error (switched off is not a failure). */
static void test_provider_none(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--notify_provider=none", f->url_arg, "--event=node_up",
                          "--fail_on_error", NULL};

    assert_int_equal(store_runv(&f->st, "notify", args, &r), 0);
    assert_false(jx_bool(r.json, "delivered", true));
    assert_string_equal(jx_str(r.json, "skipped", ""), "disabled");
    assert_false(json_object_object_get_ex(r.json, "error", NULL));
    assert_int_equal(jx_int(r.json, "attempts", -1), 0);
    action_result_free(&r);

    /* the default outside st2 is none too */
    const char *bare[] = {"--event=node_up", NULL};
    assert_int_equal(store_runv(&f->st, "notify", bare, &r), 0);
    assert_string_equal(jx_str(r.json, "skipped", ""), "disabled");
    action_result_free(&r);
    assert_int_equal(test_httpd_request_count(f->rx), 0);
}

static void test_not_configured(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--notify_provider=slack", "--event=node_up", NULL};

    assert_int_equal(store_runv(&f->st, "notify", args, &r), 0);
    assert_false(jx_bool(r.json, "delivered", true));
    assert_string_equal(jx_str(jx_obj(r.json, "error"), "code", ""), "notify_not_configured");
    action_result_free(&r);

    const char *strict[] = {"--notify_provider=webhook", "--event=node_up",
                            "--fail_on_error", NULL};
    assert_int_equal(store_runv(&f->st, "notify", strict, &r), 1);
    assert_string_equal(action_error_code(&r), "notify_not_configured");
    action_result_free(&r);
}

/* A group that does not exist (deleted, say) does not stop the message. */
static void test_unknown_group_still_notifies(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    test_httpd_queue_simple(f->rx, 200, "ok");
    const char *args[] = {"--notify_provider=slack", f->url_arg, "--name=gone",
                          "--event=scale_in_done", NULL};

    assert_int_equal(store_runv(&f->st, "notify", args, &r), 0);
    assert_true(jx_bool(r.json, "delivered", false));
    struct json_object *counts = NULL;
    assert_true(json_object_object_get_ex(r.json, "counts", &counts));
    assert_null(counts);
    assert_non_null(strstr(r.err, "gone"));
    action_result_free(&r);
    struct json_object *b = request_json(f, 0);
    assert_non_null(strstr(jx_str(b, "text", ""), "[autoscale] gone: scale_in_done"));
    json_object_put(b);
}

/* --------------------------------------------------------- bad input -- */

static void expect_bad(struct fixture *f, const char *a1, const char *a2, const char *code)
{
    struct action_result r;
    const char *args[] = {"--notify_provider=webhook", "--webhook_url=http://127.0.0.1:9/h",
                          a1, a2, NULL};
    if (store_runv(&f->st, "notify", args, &r) != 2)
        fail_msg("%s %s: exit %d, want 2: %s", a1, a2 ? a2 : "", r.status, r.out);
    assert_string_equal(action_error_code(&r), code);
    action_result_free(&r);
}

static void test_bad_input_exit_2(void **state)
{
    struct fixture *f = *state;
    expect_bad(f, "--event=Scale-Out", NULL, "invalid_parameter");
    expect_bad(f, "--event=scale out", NULL, "invalid_parameter");
    expect_bad(f, "--event=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, "invalid_parameter");
    expect_bad(f, "--reason=x", NULL, "missing_parameter"); /* no event */
    expect_bad(f, "--event=node_up", "--count=1000000001", "invalid_parameter");
    expect_bad(f, "--event=node_up", "--count=-1", "invalid_parameter");
    expect_bad(f, "--event=node_up", "--count=two", "invalid_parameter");
    expect_bad(f, "--event=node_up", "--node=Web_1", "invalid_node_name");
    expect_bad(f, "--event=node_up", "--name=Web", "invalid_name");
    expect_bad(f, "--event=node_up", "--channel=#a b", "invalid_parameter");
    expect_bad(f, "--event=node_up", "--webhook_headers={not json", "invalid_parameter");
    expect_bad(f, "--event=node_up", "--webhook_headers={\"X\": \"a\\r\\nB: c\"}",
               "invalid_parameter");
    expect_bad(f, "--event=node_up", "--ca_bundle=/nonexistent/ca.pem", "invalid_parameter");
    expect_bad(f, "--event=node_up", "--unknown=1", "unknown_parameter");

    char big[2100];
    memset(big, 'x', sizeof big);
    memcpy(big, "--message=", 10);
    big[sizeof big - 1] = '\0';
    expect_bad(f, "--event=node_up", big, "invalid_parameter");

    struct action_result r;
    const char *unknown[] = {"--notify_provider=email", "--event=node_up", NULL};
    assert_int_equal(store_runv(&f->st, "notify", unknown, &r), 2);
    assert_string_equal(action_error_code(&r), "invalid_parameter"); /* the enum, at parse */
    action_result_free(&r);
    const char *ftp[] = {"--notify_provider=slack", "--slack_webhook_url=ftp://h/x/y",
                         "--event=node_up", "--fail_on_error", NULL};
    assert_int_equal(store_runv(&f->st, "notify", ftp, &r), 2);
    action_result_free(&r);

    /* nothing was sent for any of them */
    assert_int_equal(test_httpd_request_count(f->rx), 0);
}

/* ------------------------------------------------------------- SIGTERM -- */

static void mark(void *arg) { *(volatile int *)arg = 1; }

/* st2's timeout: SIGTERM mid-request ends the action with "interrupted". */
static void test_sigterm_mid_request(void **state)
{
    struct fixture *f = *state;
    static volatile int arrived;
    arrived = 0;
    test_httpd_queue(f->rx, &(struct test_httpd_reply){.status = 200, .body = "ok",
                                                      .delay_ms = 60000, .hook = mark,
                                                      .hook_arg = (void *)&arrived});
    const char *args[] = {"--notify_provider=slack", f->url_arg, "--event=node_up", NULL};
    int out, err;
    pid_t pid = action_start("notify", args, store_env(&f->st), &out, &err);
    assert_true(pid > 0);
    /* wait (bounded) until the request is in the receiver's hands */
    for (int i = 0; i < 3000 && !arrived; i++)
        usleep(10000);
    assert_true(arrived);
    assert_int_equal(kill(pid, SIGTERM), 0);

    struct action_result r;
    action_wait(pid, out, err, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_slack_delivered),
        T(test_slack_429_retry_after),
        T(test_slack_5xx_then_ok),
        T(test_invalid_payload_exit_0),
        T(test_invalid_payload_fail_on_error),
        T(test_receiver_down),
        T(test_url_never_shown),
        T(test_user_text_escaped),
        T(test_generic_webhook),
        T(test_provider_none),
        T(test_not_configured),
        T(test_unknown_group_still_notifies),
        T(test_bad_input_exit_2),
        T(test_sigterm_mid_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
