/* test_notify.c - lib/notify*.c: validation, message building, Slack and
 * webhook payloads, and delivery against the scripted server answering
 * like Slack (200 "ok", plain-text errors, 429 with Retry-After). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/test_httpd.h"
#include "jsonx.h"
#include "log.h"
#include "notify.h"
#include "notify_int.h" /* the providers' table and message helpers */
#include "secret.h"
#include "signals.h"
#include "test_util.h"

#define AT 1700000000LL /* 2023-11-14 22:13:20 UTC */

static int setup(void **state)
{
    /* A proxy from the environment would swallow 127.0.0.1 requests. */
    test_unset_proxies();
    as_set_interrupted(false);
    log_set_level(LOG_ERROR);
    struct test_httpd *s = test_httpd_start();
    assert_non_null(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    as_set_interrupted(false);
    secret_clear();
    test_httpd_stop(*state);
    return 0;
}

/* web: 3 nodes (2 active, 1 building), capacity 3. */
static struct json_object *web_counts(void)
{
    struct json_object *c = json_object_new_object();
    jx_add_int(c, "total", 3);
    jx_add_int(c, "capacity", 3);
    jx_add_int(c, "building", 1);
    jx_add_int(c, "active", 2);
    jx_add_int(c, "draining", 0);
    jx_add_int(c, "failed", 0);
    jx_add_int(c, "deleting", 0);
    jx_add_int(c, "unknown", 0);
    return c;
}

static struct notify_event web_event(struct json_object *counts)
{
    struct notify_event ev = {
        .group = "web", .event = "scale_out_started", .reason = "critical alert",
        .count = 2, .counts = counts, .at = AT,
    };
    return ev;
}

static char *url_of(struct test_httpd *s, const char *path)
{
    char *u = NULL;
    assert_true(asprintf(&u, "%s%s", test_httpd_url(s), path) > 0);
    return u;
}

/* -------------------------------------------------------- validation -- */

static void expect_bad_event(struct notify_event ev)
{
    struct as_error err;
    assert_int_equal(notify_check_event(&ev, &err), -1);
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
}

static void test_event_names(void **state)
{
    (void)state;
    struct as_error err;
    const char *good[] = {"scale_out_started", "node_up", "node_failed", "scale_in_done",
                          "alert_opened", "x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct notify_event ev = {.event = good[i], .count = -1};
        assert_int_equal(notify_check_event(&ev, &err), 0);
    }
    const char *badnames[] = {"", "Scale_out", "scale-out", "scale out", "node_up\n",
                              "scale_out_2", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof badnames / sizeof *badnames; i++) {
        struct notify_event ev = {.event = badnames[i], .count = -1};
        assert_int_equal(notify_check_event(&ev, &err), -1);
        assert_string_equal(err.code, "invalid_parameter");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
    struct notify_event none = {.event = NULL, .count = -1};
    expect_bad_event(none);
}

static void test_event_fields(void **state)
{
    (void)state;
    char big[NOTIFY_MESSAGE_MAX + 2];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';

    expect_bad_event((struct notify_event){.event = "node_up", .node = "Web_1", .count = -1});
    expect_bad_event((struct notify_event){.event = "node_up", .group = "Web", .count = -1});
    expect_bad_event((struct notify_event){.event = "node_up", .channel = "#o ps", .count = -1});
    expect_bad_event((struct notify_event){.event = "node_up", .channel = "#", .count = -1});
    expect_bad_event((struct notify_event){.event = "node_up", .message = big, .count = -1});
    expect_bad_event((struct notify_event){.event = "node_up", .reason = big, .count = -1});
    expect_bad_event((struct notify_event){.event = "node_up", .message = "\xff", .count = -1});
    expect_bad_event((struct notify_event){.event = "node_up", .count = NOTIFY_COUNT_MAX + 1LL});
    expect_bad_event((struct notify_event){.event = "node_up", .count = -2});

    big[NOTIFY_MESSAGE_MAX] = '\0'; /* exactly the limit is fine */
    struct notify_event ok = {.event = "node_up", .group = "web", .node = "web-7",
                              .channel = "#ops", .message = big, .count = NOTIFY_COUNT_MAX};
    struct as_error err;
    assert_int_equal(notify_check_event(&ok, &err), 0);
}

/* The limits count characters, as the metadata's maxLength does in st2's
 * schema check: a reason of 500 two-byte characters that st2 let through to
 * a workflow must not be refused here (it was, counting 1000 bytes). */
static void test_text_limits_count_characters(void **state)
{
    (void)state;
    struct as_error err;
    char reason[NOTIFY_REASON_MAX * 2 + 3];
    for (size_t i = 0; i < NOTIFY_REASON_MAX; i++)
        memcpy(reason + 2 * i, "\xc3\xa9", 2); /* e-acute, 2 bytes */
    reason[2 * NOTIFY_REASON_MAX] = '\0';
    struct notify_event ok = {.event = "node_up", .reason = reason, .count = -1};
    assert_int_equal(notify_check_event(&ok, &err), 0);

    memcpy(reason + 2 * NOTIFY_REASON_MAX, "x", 2); /* one character more */
    expect_bad_event((struct notify_event){.event = "node_up", .reason = reason, .count = -1});
}

static void test_provider_lookup(void **state)
{
    (void)state;
    assert_string_equal(notify_lookup("slack")->name, "slack");
    assert_string_equal(notify_lookup("webhook")->name, "webhook");
    assert_string_equal(notify_lookup("none")->name, "none");
    assert_null(notify_lookup("email"));
    assert_null(notify_lookup(NULL));

    struct notify_config cfg = {0};
    struct as_error err;
    assert_int_equal(notify_check("email", &cfg, &err), -1);
    assert_string_equal(err.code, "unknown_provider");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
}

/* A bad URL is refused without echoing it; a good one has its path and
 * token registered as secrets. */
static void test_check_url(void **state)
{
    (void)state;
    struct as_error err;
    const char *bad[] = {"ftp://hooks.example/services/T1/B2/tok", "hooks.example/x",
                         "https:///services/x", "https://h/a b", "javascript:alert(1)"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct notify_config cfg = {.url = bad[i]};
        assert_int_equal(notify_check("slack", &cfg, &err), -1);
        assert_string_equal(err.code, "invalid_parameter");
        assert_non_null(strstr(err.message, "slack_webhook_url"));
        assert_null(strstr(err.message, bad[i]));
    }

    struct notify_config cfg = {.url = "http://127.0.0.1:9/services/T1/B2/secretpart"};
    assert_int_equal(notify_check("slack", &cfg, &err), 0);
    char *s = secret_scrub("echo /services/T1/B2/secretpart and secretpart alone");
    assert_string_equal(s, "echo *** and *** alone");
    free(s);

    /* provider none ignores whatever URL is configured */
    struct notify_config junk = {.url = "not a url"};
    assert_int_equal(notify_check("none", &junk, &err), 0);

    struct notify_config ca = {.url = "https://h/x", .ca_bundle = "/nonexistent/ca.pem"};
    assert_int_equal(notify_check("webhook", &ca, &err), -1);
    assert_string_equal(err.code, "invalid_parameter");
}

/* Each provider reads the URL parameter its table names, and headers only
 * when it takes them. */
static void test_config_read(void **state)
{
    (void)state;
    struct as_error err;
    struct notify_config cfg;
    struct notify_params p = {
        .slack_webhook_url = "https://hooks.example/services/T1/B2/slacktoken",
        .webhook_url = "https://alerts.example/hook",
        .webhook_headers = "{\"X-Token\": \"hdr-secret-1\"}",
        .ca_bundle = NULL,
    };
    assert_int_equal(notify_config_read("slack", &p, &cfg, &err), 0);
    assert_string_equal(cfg.url, p.slack_webhook_url);
    assert_null(cfg.headers);
    assert_int_equal(notify_config_read("webhook", &p, &cfg, &err), 0);
    assert_string_equal(cfg.url, p.webhook_url);
    assert_non_null(cfg.headers);
    json_object_put(cfg.headers);
    assert_int_equal(notify_config_read("none", &p, &cfg, &err), 0);
    assert_null(cfg.url);
    assert_null(cfg.headers);
    assert_int_equal(notify_config_read("email", &p, &cfg, &err), -1);
    assert_string_equal(err.code, "unknown_provider");

    p.webhook_headers = "{not json";
    assert_int_equal(notify_config_read("webhook", &p, &cfg, &err), -1);
    assert_string_equal(err.code, "invalid_parameter");
    assert_non_null(strstr(err.message, "webhook_headers"));
    assert_int_equal(notify_config_read("slack", &p, &cfg, &err), 0); /* not read */
}

static struct json_object *headers_of(const char *json)
{
    struct json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    return o;
}

static void test_webhook_headers_check(void **state)
{
    (void)state;
    struct as_error err;
    const char *bad[] = {
        "{\"Bad Name\": \"x\"}", "{\"Host\": \"evil\"}", "{\"content-length\": \"1\"}",
        "{\"X-A\": \"a\\r\\nX-B: b\"}", "{\"X-A\": 5}", "[\"X-A: b\"]",
        "{\"a\":\"1\",\"b\":\"1\",\"c\":\"1\",\"d\":\"1\",\"e\":\"1\",\"f\":\"1\",\"g\":\"1\","
        "\"h\":\"1\",\"i\":\"1\",\"j\":\"1\",\"k\":\"1\",\"l\":\"1\",\"m\":\"1\",\"n\":\"1\","
        "\"o\":\"1\",\"p\":\"1\",\"q\":\"1\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct notify_config cfg = {.url = "https://h/x", .headers = headers_of(bad[i])};
        assert_int_equal(notify_check("webhook", &cfg, &err), -1);
        assert_string_equal(err.code, "invalid_parameter");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        json_object_put(cfg.headers);
    }
    struct notify_config cfg = {.url = "https://h/x",
                                .headers = headers_of("{\"Authorization\": \"Bearer tok-42x\"}")};
    assert_int_equal(notify_check("webhook", &cfg, &err), 0);
    char *s = secret_scrub("sent Bearer tok-42x");
    assert_string_equal(s, "sent ***");
    free(s);
    json_object_put(cfg.headers);
}

/* --------------------------------------------------- message building -- */

static void test_escape(void **state)
{
    (void)state;
    char *e = notify_escape("<!channel> & <http://evil|click>", SIZE_MAX);
    assert_string_equal(e, "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;");
    free(e);
    e = notify_escape("plain text, caf\xc3\xa9", SIZE_MAX);
    assert_string_equal(e, "plain text, caf\xc3\xa9");
    free(e);
    e = notify_escape(NULL, 10);
    assert_string_equal(e, "");
    free(e);
}

/* Cut to fit, never inside an entity or a UTF-8 character. */
static void test_escape_cut(void **state)
{
    (void)state;
    char *e = notify_escape("&&&&", 12); /* 20 escaped: room 9 = one entity */
    assert_string_equal(e, "&amp;...");
    free(e);
    e = notify_escape("&&", 10); /* exactly fits */
    assert_string_equal(e, "&amp;&amp;");
    free(e);
    e = notify_escape("\xc3\xa9\xc3\xa9\xc3\xa9", 6);
    assert_string_equal(e, "\xc3\xa9\xc3\xa9\xc3\xa9");
    free(e);
    e = notify_escape("\xc3\xa9\xc3\xa9\xc3\xa9", 6 - 1); /* room 2: one é */
    assert_string_equal(e, "\xc3\xa9...");
    free(e);
    e = notify_escape("abcdef\xc3\xa9", 7); /* 8 bytes: room 4 */
    assert_string_equal(e, "abcd...");
    free(e);
}

static void test_change(void **state)
{
    (void)state;
    struct json_object *counts = web_counts();
    char buf[96];

    struct notify_event ev = web_event(counts);
    notify_change(&ev, buf, sizeof buf);
    assert_string_equal(buf, "+2 nodes (3 -> 5)");

    ev.event = "scale_in_started";
    ev.count = 1;
    notify_change(&ev, buf, sizeof buf);
    assert_string_equal(buf, "-1 node (3 -> 2)");

    ev.event = "scale_in_done"; /* after the fact: the counts already say it */
    notify_change(&ev, buf, sizeof buf);
    assert_string_equal(buf, "-1 node (capacity 3)");

    ev.event = "node_up";
    ev.count = 3;
    ev.counts = NULL;
    notify_change(&ev, buf, sizeof buf);
    assert_string_equal(buf, "3 nodes");

    ev.count = -1;
    notify_change(&ev, buf, sizeof buf);
    assert_string_equal(buf, "");
    json_object_put(counts);
}

static void test_text(void **state)
{
    (void)state;
    struct json_object *counts = web_counts();
    struct notify_event ev = web_event(counts);
    ev.reason = "critical alert <Web p95> & more";

    char *t = notify_text(&ev, true);
    assert_string_equal(t, "[autoscale] web: scale_out_started: +2 nodes (3 -> 5): "
                           "critical alert &lt;Web p95&gt; &amp; more");
    free(t);
    t = notify_text(&ev, false);
    assert_string_equal(t, "[autoscale] web: scale_out_started: +2 nodes (3 -> 5): "
                           "critical alert <Web p95> & more");
    free(t);

    struct notify_event bare = {.event = "node_failed", .node = "web-7", .count = -1,
                                .message = "did not boot"};
    t = notify_text(&bare, true);
    assert_string_equal(t, "[autoscale] node_failed: web-7: did not boot");
    free(t);
    json_object_put(counts);

    char when[64];
    notify_time(AT, when, sizeof when);
    assert_string_equal(when, "2023-11-14 22:13:20 UTC");
}

/* ----------------------------------------------------------- payloads -- */

/* The text of every block (section text, fields, header, context) joined. */
static void blocks_text(struct json_object *blocks, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(blocks); i++) {
        struct json_object *b = json_object_array_get_idx(blocks, i);
        struct json_object *t = jx_obj(b, "text"), *f = jx_arr(b, "fields"),
                           *els = jx_arr(b, "elements");
        if (t)
            strncat(buf, jx_str(t, "text", ""), size - strlen(buf) - 1);
        for (size_t k = 0; f && k < json_object_array_length(f); k++)
            strncat(buf, jx_str(json_object_array_get_idx(f, k), "text", ""),
                    size - strlen(buf) - 1);
        for (size_t k = 0; els && k < json_object_array_length(els); k++)
            strncat(buf, jx_str(json_object_array_get_idx(els, k), "text", ""),
                    size - strlen(buf) - 1);
        strncat(buf, "|", size - strlen(buf) - 1);
    }
}

static void test_slack_payload(void **state)
{
    (void)state;
    struct json_object *counts = web_counts();
    struct notify_event ev = web_event(counts);
    ev.channel = "#ops";
    ev.node = "web-4";
    ev.reason = "<!channel> p95 & errors";
    ev.message = "see <http://evil|dashboard>";

    struct json_object *doc = notify_lookup("slack")->payload(&ev);
    assert_non_null(doc);
    assert_non_null(strstr(jx_str(doc, "text", ""), "[autoscale] web: scale_out_started"));
    assert_string_equal(jx_str(doc, "channel", ""), "#ops");
    struct json_object *blocks = jx_arr(doc, "blocks");
    assert_non_null(blocks);
    struct json_object *header = json_object_array_get_idx(blocks, 0);
    assert_string_equal(jx_str(header, "type", ""), "header");
    assert_string_equal(jx_str(jx_obj(header, "text"), "text", ""), "web: scale_out_started");
    assert_string_equal(jx_str(jx_obj(header, "text"), "type", ""), "plain_text");

    char all[8192];
    blocks_text(blocks, all, sizeof all);
    assert_non_null(strstr(all, "*Group*\nweb"));
    assert_non_null(strstr(all, "*Event*\nscale_out_started"));
    /* only states with nodes besides active and building; fields follow */
    assert_non_null(strstr(all, "*Nodes*\ntotal 3 \xc2\xb7 active 2 \xc2\xb7 building 1*Change*"));
    assert_non_null(strstr(all, "*Change*\n+2 nodes (3 -> 5)"));
    assert_non_null(strstr(all, "*Node*\nweb-4"));
    assert_non_null(strstr(all, "*Reason*\n&lt;!channel&gt; p95 &amp; errors"));
    assert_non_null(strstr(all, "see &lt;http://evil|dashboard&gt;"));
    assert_non_null(strstr(all, "<!date^1700000000^{date_num} {time_secs}|2023-11-14 22:13:20 UTC>"));
    /* no user markup survives anywhere in the document */
    char *dump = jx_dump(doc);
    assert_null(strstr(dump, "<!channel"));
    assert_null(strstr(dump, "<http://evil"));
    free(dump);
    json_object_put(doc);
    json_object_put(counts);
}

/* A message of '&' escapes to five times its size: the section is cut to
 * Slack's 3000-character limit rather than the whole post refused. */
static void test_slack_block_limits(void **state)
{
    (void)state;
    char msg[NOTIFY_MESSAGE_MAX + 1];
    memset(msg, '&', NOTIFY_MESSAGE_MAX);
    msg[NOTIFY_MESSAGE_MAX] = '\0';
    struct notify_event ev = {.event = "node_up", .message = msg, .reason = msg,
                              .count = -1, .at = AT};
    struct json_object *doc = notify_lookup("slack")->payload(&ev);
    struct json_object *blocks = jx_arr(doc, "blocks");
    for (size_t i = 0; i < json_object_array_length(blocks); i++) {
        struct json_object *t = jx_obj(json_object_array_get_idx(blocks, i), "text");
        if (t)
            assert_true(strlen(jx_str(t, "text", "")) <= 3000);
    }
    /* no group: the header names the pack */
    assert_string_equal(jx_str(jx_obj(json_object_array_get_idx(blocks, 0), "text"), "text", ""),
                        "autoscale: node_up");
    json_object_put(doc);
}

static void test_webhook_payload(void **state)
{
    (void)state;
    struct json_object *counts = web_counts();
    struct notify_event ev = web_event(counts);
    ev.message = "a <raw> & message";
    ev.node = "web-4";

    struct json_object *doc = notify_lookup("webhook")->payload(&ev);
    assert_string_equal(jx_str(doc, "source", ""), "autoscale");
    assert_string_equal(jx_str(doc, "group", ""), "web");
    assert_string_equal(jx_str(doc, "event", ""), "scale_out_started");
    assert_string_equal(jx_str(doc, "message", ""), "a <raw> & message"); /* JSON: no escaping */
    assert_string_equal(jx_str(doc, "reason", ""), "critical alert");
    assert_int_equal(jx_int(doc, "count", -1), 2);
    assert_string_equal(jx_str(doc, "node", ""), "web-4");
    assert_int_equal(jx_int(jx_obj(doc, "counts"), "building", -1), 1);
    assert_int_equal(jx_int(doc, "at", 0), AT);
    assert_non_null(strstr(jx_str(doc, "text", ""), "+2 nodes (3 -> 5)"));
    json_object_put(doc);

    /* absent values are null, the keys are always there */
    struct notify_event bare = {.event = "node_up", .count = -1, .at = AT};
    doc = notify_lookup("webhook")->payload(&bare);
    const char *keys[] = {"group", "message", "reason", "count", "node", "channel", "counts"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        struct json_object *v = NULL;
        assert_true(json_object_object_get_ex(doc, keys[i], &v));
        assert_null(v);
    }
    json_object_put(doc);
    json_object_put(counts);
}

/* ----------------------------------------------------------- delivery -- */

static void test_send_slack_ok(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .body = "ok",
                                                   .content_type = "text/plain"});
    char *url = url_of(s, "/services/T1/B2/secretpart");
    struct notify_config cfg = {.url = url};
    struct json_object *counts = web_counts();
    struct notify_event ev = web_event(counts);
    struct notify_result res;
    struct as_error err;

    assert_int_equal(notify_check("slack", &cfg, &err), 0);
    assert_int_equal(notify_send("slack", &cfg, &ev, &res, &err), 0);
    assert_true(res.delivered);
    assert_null(res.skipped);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(res.status, 200);

    const struct test_httpd_request *r = test_httpd_request_at(s, 0);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, "/services/T1/B2/secretpart");
    assert_string_equal(test_httpd_header(r, "Content-Type"), "application/json");
    struct json_object *body = json_tokener_parse(r->body);
    assert_non_null(jx_arr(body, "blocks"));
    assert_non_null(strstr(jx_str(body, "text", ""), "web: scale_out_started"));
    json_object_put(body);

    struct json_object *out = notify_result_json("slack", &ev, &res);
    assert_true(jx_bool(out, "delivered", false));
    assert_false(json_object_object_get_ex(out, "error", NULL));
    json_object_put(out);
    json_object_put(counts);
    free(url);
}

static void test_send_retry_after(void **state)
{
    struct test_httpd *s = *state;
    const char *ra[] = {"Retry-After: 1", NULL};
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 429, .body = "rate_limited",
                                                   .headers = ra});
    test_httpd_queue_simple(s, 200, "ok");
    char *url = url_of(s, "/services/T1/B2/secretpart");
    struct notify_config cfg = {.url = url};
    struct notify_event ev = web_event(NULL);
    struct notify_result res;
    struct as_error err;

    assert_int_equal(notify_send("slack", &cfg, &ev, &res, &err), 0);
    assert_true(res.delivered);
    assert_int_equal(res.attempts, 2);
    assert_int_equal(test_httpd_request_count(s), 2);
    /* the same message both times */
    assert_string_equal(test_httpd_request_at(s, 0)->body, test_httpd_request_at(s, 1)->body);
    free(url);
}

/* Plain-text refusals are not retried and are reported in Slack's words. */
static void test_send_rejected(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 403, .body = "action_prohibited",
                                                   .content_type = "text/plain"});
    char *url = url_of(s, "/services/T1/B2/secretpart");
    struct notify_config cfg = {.url = url};
    struct notify_event ev = web_event(NULL);
    struct notify_result res;
    struct as_error err;

    assert_int_equal(notify_send("slack", &cfg, &ev, &res, &err), 0);
    assert_false(res.delivered);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(res.status, 403);
    assert_string_equal(res.error.code, "notify_rejected");
    assert_int_equal(res.error.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(res.error.message, "HTTP 403: action_prohibited"));

    struct json_object *out = notify_result_json("slack", &ev, &res);
    assert_false(jx_bool(out, "delivered", true));
    assert_string_equal(jx_str(jx_obj(out, "error"), "code", ""), "notify_rejected");
    json_object_put(out);
    free(url);
}

/* 5xx every time: bounded attempts, then not delivered. */
static void test_send_server_error_bounded(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 503, .body = "service_unavailable",
                                                   .repeat = -1});
    char *url = url_of(s, "/services/T1/B2/secretpart");
    struct notify_config cfg = {.url = url};
    struct notify_event ev = web_event(NULL);
    struct notify_result res;
    struct as_error err;

    assert_int_equal(notify_send("slack", &cfg, &ev, &res, &err), 0);
    assert_false(res.delivered);
    assert_int_equal(res.attempts, 4);
    assert_int_equal(test_httpd_request_count(s), 4);
    assert_string_equal(res.error.code, "notify_server_error");
    assert_non_null(strstr(res.error.message, "service_unavailable"));
    free(url);
}

static void test_send_none_and_unconfigured(void **state)
{
    struct test_httpd *s = *state;
    struct notify_config cfg = {0};
    struct notify_event ev = web_event(NULL);
    struct notify_result res;
    struct as_error err;

    assert_int_equal(notify_send("none", &cfg, &ev, &res, &err), 0);
    assert_false(res.delivered);
    assert_string_equal(res.skipped, "disabled");
    struct json_object *out = notify_result_json("none", &ev, &res);
    assert_string_equal(jx_str(out, "skipped", ""), "disabled");
    assert_false(json_object_object_get_ex(out, "error", NULL));
    json_object_put(out);

    assert_int_equal(notify_send("slack", &cfg, &ev, &res, &err), 0);
    assert_false(res.delivered);
    assert_null(res.skipped);
    assert_string_equal(res.error.code, "notify_not_configured");
    assert_non_null(strstr(res.error.message, "slack_webhook_url"));
    assert_int_equal(test_httpd_request_count(s), 0);
}

static void test_send_webhook_headers(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 204, NULL);
    char *url = url_of(s, "/hook");
    struct notify_config cfg = {
        .url = url, .headers = headers_of("{\"Authorization\": \"Bearer tok-42x\", "
                                          "\"X-Source\": \"autoscale\"}")};
    struct notify_event ev = web_event(NULL);
    struct notify_result res;
    struct as_error err;

    assert_int_equal(notify_check("webhook", &cfg, &err), 0);
    assert_int_equal(notify_send("webhook", &cfg, &ev, &res, &err), 0);
    assert_true(res.delivered);
    const struct test_httpd_request *r = test_httpd_request_at(s, 0);
    assert_string_equal(test_httpd_header(r, "Authorization"), "Bearer tok-42x");
    assert_string_equal(test_httpd_header(r, "X-Source"), "autoscale");
    assert_string_equal(test_httpd_header(r, "Content-Type"), "application/json");
    json_object_put(cfg.headers);
    free(url);
}

/* Slack gets no custom headers even when webhook_headers is configured. */
static void test_send_slack_ignores_headers(void **state)
{
    struct test_httpd *s = *state;
    test_httpd_queue_simple(s, 200, "ok");
    char *url = url_of(s, "/services/T1/B2/secretpart");
    struct notify_config cfg = {.url = url, .headers = headers_of("{\"X-Extra\": \"1\"}")};
    struct notify_event ev = web_event(NULL);
    struct notify_result res;
    struct as_error err;

    assert_int_equal(notify_send("slack", &cfg, &ev, &res, &err), 0);
    assert_true(res.delivered);
    assert_null(test_httpd_header(test_httpd_request_at(s, 0), "X-Extra"));
    json_object_put(cfg.headers);
    free(url);
}

/* A signal is not a delivery failure: it ends the action. */
static void test_send_interrupted(void **state)
{
    struct test_httpd *s = *state;
    char *url = url_of(s, "/services/T1/B2/secretpart");
    struct notify_config cfg = {.url = url};
    struct notify_event ev = web_event(NULL);
    struct notify_result res;
    struct as_error err;

    as_set_interrupted(true);
    assert_int_equal(notify_send("slack", &cfg, &ev, &res, &err), -1);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(test_httpd_request_count(s), 0);
    free(url);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_event_names),
        T(test_event_fields),
        T(test_text_limits_count_characters),
        T(test_provider_lookup),
        T(test_check_url),
        T(test_config_read),
        T(test_webhook_headers_check),
        T(test_escape),
        T(test_escape_cut),
        T(test_change),
        T(test_text),
        T(test_slack_payload),
        T(test_slack_block_limits),
        T(test_webhook_payload),
        T(test_send_slack_ok),
        T(test_send_retry_after),
        T(test_send_rejected),
        T(test_send_server_error_bounded),
        T(test_send_none_and_unconfigured),
        T(test_send_webhook_headers),
        T(test_send_slack_ignores_headers),
        T(test_send_interrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
