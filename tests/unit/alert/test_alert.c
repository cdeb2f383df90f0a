/* test_alert.c - webhook normalisation (lib/alert/alert.c): every family in both
 * states and both severities, the ignored notices, detection order, source
 * hints, lenient types, refused types, hostile text and alert_key_id.
 *
 * Fixtures live in tests/fixtures/alerts/, read relative to the repository
 * root (where `make test` runs) or to $AUTOSCALE_SRC_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "jsonx.h"
#include "utf8.h"

/* ---- helpers ---- */

static char *read_fixture(const char *name, size_t *len)
{
    const char *root = getenv("AUTOSCALE_SRC_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/alerts/%s", root && *root ? root : ".",
             name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s (run from the repository root or set "
                 "AUTOSCALE_SRC_DIR)",
                 path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static struct json_object *parse_text(const char *text, size_t len)
{
    struct as_error err = {0};
    struct json_object *o =
        jx_parse(text, len, "fixture", "bad_fixture", AS_EXIT_BADINPUT, &err);
    if (!o)
        fail_msg("fixture does not parse: %s", err.message);
    return o;
}

static struct json_object *fixture(const char *name)
{
    size_t len;
    char *text = read_fixture(name, &len);
    struct json_object *o = parse_text(text, len);
    free(text);
    return o;
}

/* A raw body (form text) as st2 passes on what it could not parse: a JSON
 * string. */
static struct json_object *fixture_string(const char *name)
{
    size_t len;
    char *text = read_fixture(name, &len);
    struct json_object *o = json_object_new_string_len(text, (int)len);
    free(text);
    return o;
}

static bool clean_text(const char *s)
{
    size_t len = strlen(s);
    if (!utf8_valid(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F ||
            (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9F))
            return false;
    }
    return true;
}

/* Every successful result must keep the invariants the fuzzer checks. */
static void check_events(const struct alert_event *ev, size_t n)
{
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        const struct alert_event *e = &ev[i];
        assert_non_null(e->source);
        assert_true(e->state == ALERT_OPEN || e->state == ALERT_CLOSED ||
                    e->state == ALERT_IGNORE);
        assert_true(e->severity == ALERT_CRITICAL || e->severity == ALERT_WARNING);
        assert_true(clean_text(e->group));
        assert_true(clean_text(e->id));
        assert_true(clean_text(e->title));
        assert_true(clean_text(e->why));
        assert_non_null(e->names);
        size_t k = 0;
        for (char **p = e->names; *p; p++, k++) {
            assert_true(clean_text(*p));
            assert_true((*p)[0] != '\0');
        }
        assert_true(k <= ALERT_NAMES_MAX);
        if (e->state == ALERT_IGNORE)
            assert_true(e->why[0] != '\0');
    }
}

/* Normalise (taking ownership of body) and expect success. */
static struct alert_event *norm(struct json_object *body, const char *hint, size_t *n)
{
    struct alert_event *ev = NULL;
    struct as_error err = {0};
    int rc = alert_normalise(body, hint, &ev, n, &err);
    json_object_put(body);
    if (rc != 0)
        fail_msg("alert_normalise failed: %s: %s", err.code, err.message);
    check_events(ev, *n);
    return ev;
}

static struct alert_event *norm1(struct json_object *body, const char *hint)
{
    size_t n = 0;
    struct alert_event *ev = norm(body, hint, &n);
    assert_int_equal(n, 1);
    return ev;
}

/* Normalise (taking ownership of body) and expect a BADINPUT failure. */
static void expect_fail(struct json_object *body, const char *hint, const char *code,
                        const char *needle)
{
    struct alert_event *ev = (void *)1;
    size_t n = 99;
    struct as_error err = {0};
    int rc = alert_normalise(body, hint, &ev, &n, &err);
    json_object_put(body);
    if (rc == 0) {
        alert_events_free(ev, n);
        fail_msg("alert_normalise succeeded, expected %s", code);
    }
    assert_int_equal(rc, -1);
    assert_null(ev);
    assert_int_equal(n, 0);
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_string_equal(err.code, code);
    assert_true(clean_text(err.message));
    if (needle && !strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s'", err.message, needle);
}

static struct json_object *js(const char *text)
{
    return parse_text(text, strlen(text));
}

static bool has_name(const struct alert_event *e, const char *name)
{
    for (char **p = e->names; *p; p++)
        if (strcmp(*p, name) == 0)
            return true;
    return false;
}

static size_t count_names(const struct alert_event *e)
{
    size_t k = 0;
    while (e->names[k])
        k++;
    return k;
}

static void key_of(const struct alert_event *e, char *out)
{
    alert_key_id(e, out, ALERT_KEY_MAX);
}

/* ---- New Relic legacy ---- */

static void test_legacy_open_critical(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_legacy_open_critical.json"), NULL);
    assert_string_equal(e->source, "newrelic_legacy");
    assert_int_equal(e->state, ALERT_OPEN);
    assert_int_equal(e->severity, ALERT_CRITICAL);
    assert_string_equal(e->id, "12345"); /* alert_url's incident number */
    assert_string_equal(e->group, "");
    assert_int_equal(e->at, 1425480067);
    assert_non_null(strstr(e->title, "Alert opened on Storefront"));
    assert_true(has_name(e, "Storefront"));
    assert_true(has_name(e, "Storefront Apdex"));
    assert_int_equal(count_names(e), 2);
    alert_events_free(e, 1);
}

static void test_legacy_closed_warning_servers(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_legacy_closed_warning.json"), NULL);
    assert_int_equal(e->state, ALERT_CLOSED);
    assert_int_equal(e->severity, ALERT_WARNING); /* "Caution" */
    assert_string_equal(e->id, "67890");          /* trailing slash tolerated */
    assert_int_equal(e->at, 1425481331);
    assert_true(has_name(e, "web-1.acme.internal"));
    assert_true(has_name(e, "web-2.acme.internal"));
    assert_true(has_name(e, "Web servers"));
    alert_events_free(e, 1);
}

static void test_legacy_downtime_pairs_by_hash(void **state)
{
    (void)state;
    struct alert_event *open = norm1(fixture("nr_legacy_downtime.json"), NULL);
    struct alert_event *rec = norm1(fixture("nr_legacy_downtime_recovered.json"), NULL);
    assert_int_equal(open->state, ALERT_OPEN);
    assert_int_equal(open->severity, ALERT_CRITICAL); /* "downtime" */
    assert_int_equal(rec->state, ALERT_CLOSED);
    assert_int_equal(open->at, 1425513600); /* +01:00 offset applied */
    /* alert_url ends in a placeholder: the id is a hash, the same for both */
    assert_true(strncmp(open->id, "legacy-", 7) == 0);
    assert_int_equal(strlen(open->id), 7 + 16);
    assert_string_equal(open->id, rec->id);
    assert_string_equal(open->group, "checkout"); /* the form's asg field */
    assert_string_equal(rec->group, "checkout");
    alert_events_free(open, 1);
    alert_events_free(rec, 1);
}

static void test_legacy_acknowledged_is_ignored(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_legacy_acknowledged.json"), NULL);
    assert_int_equal(e->state, ALERT_IGNORE);
    assert_string_equal(e->why, "acknowledged");
    assert_string_equal(e->id, "12345");
    alert_events_free(e, 1);
}

static void test_legacy_deployment_is_ignored(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_legacy_deployment.json"), NULL);
    assert_string_equal(e->source, "newrelic_legacy");
    assert_int_equal(e->state, ALERT_IGNORE);
    assert_string_equal(e->why, "deployment notice");
    assert_non_null(strstr(e->title, "Storefront"));
    assert_int_equal(e->at, 1425500065);
    alert_events_free(e, 1);

    e = norm1(fixture_string("nr_legacy_form_deployment.txt"), NULL);
    assert_int_equal(e->state, ALERT_IGNORE);
    assert_string_equal(e->why, "deployment notice");
    alert_events_free(e, 1);

    /* unreadable deployment details still make a deploy notice */
    e = norm1(js("{\"deployment\": \"{not json\"}"), NULL);
    assert_string_equal(e->why, "deployment notice");
    alert_events_free(e, 1);
}

static void test_legacy_raw_form_body(void **state)
{
    (void)state;
    struct alert_event *form = norm1(fixture_string("nr_legacy_form.txt"), NULL);
    struct alert_event *json = norm1(fixture("nr_legacy_open_critical.json"), NULL);
    assert_string_equal(form->source, "newrelic_legacy");
    assert_int_equal(form->state, ALERT_OPEN);
    assert_int_equal(form->severity, ALERT_CRITICAL);
    assert_string_equal(form->id, json->id);
    assert_string_equal(form->title, json->title);
    assert_int_equal(form->at, json->at);
    alert_events_free(form, 1);
    alert_events_free(json, 1);

    /* '+' for spaces, and another form field carrying the group */
    struct alert_event *e = norm1(fixture_string("nr_legacy_form_plus.txt"), "newrelic");
    assert_int_equal(e->state, ALERT_CLOSED);
    assert_string_equal(e->group, "web");
    assert_true(has_name(e, "Web servers"));
    alert_events_free(e, 1);
}

static void test_legacy_list_values_and_object(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_legacy_list_values.json"), NULL);
    assert_int_equal(e->state, ALERT_CLOSED);
    assert_string_equal(e->group, "web");
    alert_events_free(e, 1);

    e = norm1(fixture("nr_legacy_object.json"), NULL);
    assert_int_equal(e->state, ALERT_OPEN);
    assert_string_equal(e->group, "storefront-a"); /* lower-cased */
    alert_events_free(e, 1);
}

static void test_legacy_states_and_errors(void **state)
{
    (void)state;
    struct alert_event *e = norm1(
        js("{\"alert\": \"{\\\"long_description\\\": \\\"ALERT CANCELED on x\\\","
           "\\\"severity\\\": \\\"WARNING\\\"}\"}"),
        NULL);
    assert_int_equal(e->state, ALERT_CLOSED);
    assert_int_equal(e->severity, ALERT_WARNING);
    assert_true(strncmp(e->id, "legacy-", 7) == 0);
    alert_events_free(e, 1);

    /* the number at the end of alert_url's path, query or not */
    e = norm1(js("{\"alert\": {\"long_description\": \"Alert ended\", \"alert_url\": "
                 "\"https://rpm.newrelic.com/accounts/1/incidents/777?utm=x#top\"}}"),
              NULL);
    assert_string_equal(e->id, "777");
    alert_events_free(e, 1);
    e = norm1(js("{\"alert\": {\"long_description\": \"Alert ended\", \"alert_url\": "
                 "\"https://rpm.newrelic.com/accounts/1/incidents/x777\"}}"),
              NULL);
    assert_true(strncmp(e->id, "legacy-", 7) == 0);
    alert_events_free(e, 1);

    /* no long_description: the short one still says it */
    e = norm1(js("{\"alert\": {\"short_description\": \"[app] alert ended\"}}"), NULL);
    assert_int_equal(e->state, ALERT_CLOSED);
    alert_events_free(e, 1);

    /* unknown severity means warning */
    e = norm1(js("{\"alert\": {\"long_description\": \"Alert opened\", \"severity\": 7}}"),
              NULL);
    assert_int_equal(e->severity, ALERT_WARNING);
    alert_events_free(e, 1);

    expect_fail(js("{\"alert\": {\"long_description\": \"Alert exploded on x\"}}"), NULL,
                "invalid_payload", "Alert exploded");
    expect_fail(js("{\"alert\": {\"severity\": \"critical\"}}"), NULL, "invalid_payload",
                "long_description");
    expect_fail(js("{\"alert\": \"{\\\"a\\\": \"}"), NULL, "invalid_payload",
                "not valid JSON");
    expect_fail(js("{\"alert\": \"{} []\"}"), NULL, "invalid_payload", "trailing");
}

/* ---- New Relic notification channel ---- */

static void test_channel_open_critical(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_channel_open_critical.json"), NULL);
    assert_string_equal(e->source, "newrelic_channel");
    assert_int_equal(e->state, ALERT_OPEN);
    assert_int_equal(e->severity, ALERT_CRITICAL);
    assert_string_equal(e->id, "87654321");
    assert_string_equal(e->group, "web"); /* label key "ASG", value "Web" */
    assert_string_equal(e->title, "Web CPU high");
    assert_int_equal(e->at, 1605133931);
    assert_true(has_name(e, "Web CPU high"));
    assert_true(has_name(e, "Web tier"));
    assert_true(has_name(e, "web-3"));
    assert_true(has_name(e, "web-4"));
    alert_events_free(e, 1);
}

static void test_channel_closed_warning_strings(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_channel_closed_warning.json"), NULL);
    assert_int_equal(e->state, ALERT_CLOSED); /* "CLOSED" */
    assert_int_equal(e->severity, ALERT_WARNING);
    assert_string_equal(e->id, "87654322"); /* a string id */
    assert_int_equal(e->at, 1605137531);    /* a string timestamp */
    assert_string_equal(e->group, "web");   /* label key "Asg" */
    alert_events_free(e, 1);
}

static void test_channel_acknowledged_and_test(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_channel_acknowledged.json"), NULL);
    assert_int_equal(e->state, ALERT_IGNORE);
    assert_string_equal(e->why, "acknowledged");
    alert_events_free(e, 1);

    e = norm1(fixture("nr_channel_test.json"), NULL);
    assert_int_equal(e->state, ALERT_IGNORE);
    assert_string_equal(e->why, "test notification");
    assert_string_equal(e->id, "0");
    alert_events_free(e, 1);
}

static void test_channel_minimal_with_nulls(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_channel_info_minimal.json"), NULL);
    assert_int_equal(e->state, ALERT_OPEN);
    assert_int_equal(e->severity, ALERT_WARNING); /* INFO */
    assert_string_equal(e->id, "1234");
    assert_int_equal(e->at, 0);
    assert_string_equal(e->group, "");
    assert_int_equal(count_names(e), 2);
    alert_events_free(e, 1);

    /* incident_id null: no id, not an error */
    e = norm1(js("{\"current_state\": \"open\", \"incident_id\": null}"), NULL);
    assert_string_equal(e->id, "");
    alert_events_free(e, 1);
    /* a float id that is a whole number is that number */
    e = norm1(js("{\"current_state\": \"open\", \"incident_id\": 42.0}"), NULL);
    assert_string_equal(e->id, "42");
    alert_events_free(e, 1);

    expect_fail(js("{\"incident_id\": 5, \"policy_name\": \"p\"}"), NULL, "invalid_payload",
                "current_state");
}

/* ---- New Relic Workflows ---- */

static void test_workflow_created_is_open(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_workflow_created_critical.json"), NULL);
    assert_string_equal(e->source, "newrelic_workflow");
    assert_int_equal(e->state, ALERT_OPEN);
    assert_int_equal(e->severity, ALERT_CRITICAL);
    assert_string_equal(e->id, "208c5e92-f250-40be-b7c2-50508c268c15");
    assert_string_equal(e->group, "web"); /* tags.asg: the first of the list */
    assert_string_equal(e->title, "web-5 query result is > 2.0 for 1 minutes on 'High CPU'");
    assert_int_equal(e->at, 1713767789);
    assert_true(has_name(e, "web-5"));
    assert_true(has_name(e, "Golden Signals"));
    assert_true(has_name(e, "High CPU"));
    alert_events_free(e, 1);
}

static void test_workflow_activated_high(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_workflow_activated_high.json"), NULL);
    assert_int_equal(e->state, ALERT_OPEN);
    assert_int_equal(e->severity, ALERT_CRITICAL); /* "high" */
    assert_string_equal(e->group, "web");          /* labels.ASG "Web" */
    assert_int_equal(e->at, 1713769708);           /* updatedAt as a string */
    alert_events_free(e, 1);
}

static void test_workflow_closed_low_title_array(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_workflow_closed_low.json"), NULL);
    assert_int_equal(e->state, ALERT_CLOSED);
    assert_int_equal(e->severity, ALERT_WARNING);
    assert_string_equal(e->group, "web"); /* top-level asg */
    assert_string_equal(e->title, "web-5 query result is > 2.0; on 'High CPU'");
    /* "WEB-5" is "web-5" again: names are de-duplicated in any case */
    assert_true(has_name(e, "web-5"));
    assert_true(has_name(e, "web-6"));
    assert_false(has_name(e, "WEB-5"));
    assert_int_equal(count_names(e), 4);
    alert_events_free(e, 1);
}

static void test_workflow_medium_missing_fields(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_workflow_medium.json"), NULL);
    assert_int_equal(e->state, ALERT_OPEN);
    assert_int_equal(e->severity, ALERT_WARNING);
    assert_int_equal(e->at, 1713755131); /* updatedAt null: createdAt */
    assert_string_equal(e->group, "");
    assert_false(has_name(e, "Golden Signals")); /* alertPolicyNames null */
    alert_events_free(e, 1);

    /* a bare template: no priority at all means warning */
    e = norm1(js("{\"id\": \"x1\", \"state\": \"activated\"}"), NULL);
    assert_string_equal(e->source, "newrelic_workflow");
    assert_int_equal(e->severity, ALERT_WARNING);
    alert_events_free(e, 1);
}

static void test_workflow_acknowledged_is_ignored(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_workflow_acknowledged.json"), NULL);
    assert_int_equal(e->state, ALERT_IGNORE);
    assert_string_equal(e->why, "acknowledged");
    alert_events_free(e, 1);
}

/* ---- Alertmanager ---- */

static void test_am_firing_critical(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("am_firing_critical.json"), NULL);
    assert_string_equal(e->source, "alertmanager");
    assert_int_equal(e->state, ALERT_OPEN);
    assert_int_equal(e->severity, ALERT_CRITICAL);
    assert_string_equal(e->id, "1a30ba71cca2921f");
    assert_string_equal(e->group, "web");
    assert_string_equal(e->title, "High request latency on web");
    assert_int_equal(e->at, 1675688925);
    assert_true(has_name(e, "HighRequestLatency"));
    assert_true(has_name(e, "node"));
    assert_true(has_name(e, "storefront"));
    assert_true(has_name(e, "10.0.0.11:9100"));
    assert_int_equal(count_names(e), 4);
    alert_events_free(e, 1);
}

static void test_am_resolved_warning(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("am_resolved_warning.json"), NULL);
    assert_int_equal(e->state, ALERT_CLOSED);
    assert_int_equal(e->severity, ALERT_WARNING);
    assert_string_equal(e->id, "1a30ba71cca2921f");
    assert_int_equal(e->at, 1675690725); /* endsAt */
    alert_events_free(e, 1);
}

static void test_am_mixed_alerts(void **state)
{
    (void)state;
    size_t n = 0;
    struct alert_event *ev = norm(fixture("am_mixed.json"), NULL, &n);
    assert_int_equal(n, 3);

    assert_int_equal(ev[0].state, ALERT_OPEN);
    assert_int_equal(ev[0].severity, ALERT_CRITICAL); /* "page" */
    assert_string_equal(ev[0].group, "web");          /* from commonLabels */
    assert_string_equal(ev[0].title, "load15 above 8");
    assert_int_equal(ev[0].at, 1675685400);

    assert_int_equal(ev[1].state, ALERT_CLOSED);
    assert_int_equal(ev[1].severity, ALERT_WARNING);
    assert_string_equal(ev[1].group, "api"); /* its own label wins */
    assert_string_equal(ev[1].title, "Node load is high"); /* commonAnnotations */
    assert_int_equal(ev[1].at, 1675686600);

    assert_int_equal(ev[2].state, ALERT_OPEN);        /* "FIRING" */
    assert_int_equal(ev[2].severity, ALERT_CRITICAL); /* "Critical" */
    assert_int_equal(ev[2].at, 0);                    /* unparsable startsAt */
    assert_int_equal(strlen(ev[2].id), 16);           /* label hash */
    alert_events_free(ev, n);
}

static void test_am_label_hash_ignores_order(void **state)
{
    (void)state;
    struct alert_event *a = norm1(
        js("{\"alerts\": [{\"status\": \"firing\", \"labels\": {\"a\": \"1\", \"b\": \"2\"}}]}"),
        NULL);
    struct alert_event *b = norm1(
        js("{\"alerts\": [{\"status\": \"resolved\", \"labels\": {\"b\": \"2\", \"a\": \"1\"}}]}"),
        NULL);
    struct alert_event *c = norm1(
        js("{\"alerts\": [{\"status\": \"firing\", \"labels\": {\"a\": \"12\", \"b\": \"\"}}]}"),
        NULL);
    assert_string_equal(a->id, b->id);
    assert_string_not_equal(a->id, c->id);
    alert_events_free(a, 1);
    alert_events_free(b, 1);
    alert_events_free(c, 1);

    /* an alert without status takes the body's */
    a = norm1(js("{\"status\": \"resolved\", \"alerts\": [{\"fingerprint\": \"f1\"}]}"), NULL);
    assert_int_equal(a->state, ALERT_CLOSED);
    alert_events_free(a, 1);

    expect_fail(js("{\"alerts\": []}"), NULL, "invalid_payload", "empty");
    expect_fail(js("{\"alerts\": [{\"status\": \"firing\"}, 3]}"), NULL, "invalid_payload",
                "alerts[1]");
    expect_fail(js("{\"alerts\": [{\"labels\": {}}]}"), NULL, "invalid_payload", "status");
    expect_fail(js("{\"alerts\": [{\"status\": \"pending\"}]}"), NULL, "invalid_payload",
                "pending");
}

static void test_am_alert_count_is_capped(void **state)
{
    (void)state;
    size_t cap = 64 + (size_t)ALERT_MAX_EVENTS * 40;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap, "{\"alerts\": [");
    for (int i = 0; i < ALERT_MAX_EVENTS + 5; i++) {
        if (len + 40 >= cap) {
            cap *= 2;
            text = realloc(text, cap);
            assert_non_null(text);
        }
        len += (size_t)snprintf(text + len, cap - len, "%s{\"status\":\"firing\",\"fingerprint\":\"f%d\"}",
                                i ? "," : "", i);
    }
    len += (size_t)snprintf(text + len, cap - len, "]}");
    size_t n = 0;
    struct alert_event *ev = norm(parse_text(text, len), NULL, &n);
    assert_int_equal(n, ALERT_MAX_EVENTS);
    assert_string_equal(ev[0].id, "f0");
    alert_events_free(ev, n);
    free(text);
}

/* ---- generic ---- */

static void test_generic_open_and_closed(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("generic_open_critical.json"), NULL);
    assert_string_equal(e->source, "generic");
    assert_int_equal(e->state, ALERT_OPEN);
    assert_int_equal(e->severity, ALERT_CRITICAL);
    assert_string_equal(e->id, "deploy-check-7");
    assert_string_equal(e->group, "web");
    assert_string_equal(e->title, "Synthetic check failing");
    assert_int_equal(e->at, 1700000000);
    assert_true(has_name(e, "Storefront"));
    alert_events_free(e, 1);

    e = norm1(fixture("generic_closed_warning.json"), NULL);
    assert_int_equal(e->state, ALERT_CLOSED);
    assert_int_equal(e->severity, ALERT_WARNING);
    assert_string_equal(e->id, "deploy-check-7");
    alert_events_free(e, 1);
}

static void test_generic_aliases(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("generic_aliases.json"), NULL);
    assert_int_equal(e->state, ALERT_CLOSED); /* status "Resolved" */
    assert_int_equal(e->severity, ALERT_WARNING);
    assert_string_equal(e->id, "42"); /* incident_id, a number */
    assert_string_equal(e->group, "web");
    assert_string_equal(e->title, "disk filling");
    assert_int_equal(e->at, 1700000000);
    alert_events_free(e, 1);

    e = norm1(js("{\"state\": \"OPEN\", \"at\": 1700000000123}"), NULL); /* ms */
    assert_int_equal(e->at, 1700000000);
    assert_int_equal(e->severity, ALERT_WARNING);
    alert_events_free(e, 1);
    /* "acknowledged" is also a workflow state, so detection reads it as one
     * (ignored either way); the generic hint keeps it generic */
    e = norm1(js("{\"state\": \"acknowledged\", \"severity\": \"page\"}"), "generic");
    assert_string_equal(e->source, "generic");
    assert_int_equal(e->state, ALERT_IGNORE);
    assert_int_equal(e->severity, ALERT_CRITICAL);
    alert_events_free(e, 1);
    e = norm1(js("{\"state\": \"acknowledged\"}"), NULL);
    assert_string_equal(e->source, "newrelic_workflow");
    assert_int_equal(e->state, ALERT_IGNORE);
    alert_events_free(e, 1);

    expect_fail(js("{\"state\": \"open\", \"severity\": \"critcal\"}"), NULL,
                "invalid_payload", "critcal");
    expect_fail(js("{\"state\": \"\", \"asg\": \"web\"}"), NULL, "invalid_payload",
                "no state");
}

static void test_times(void **state)
{
    (void)state;
    static const struct {
        const char *at;
        long long want;
    } cases[] = {
        {"\"2023-11-14T22:13:20Z\"", 1700000000},
        {"\"2023-11-14t22:13:20z\"", 1700000000},
        {"\"2023-11-14 22:13:20.999999+00:00\"", 1700000000},
        {"\"2023-11-15T00:13:20+02:00\"", 1700000000},
        {"\"2023-11-14T20:13:20-02:00\"", 1700000000},
        {"\"2024-02-29T00:00:00Z\"", 1709164800},
        {"\"1700000000\"", 1700000000},
        {"1700000000.5", 1700000000},
        {"\"2023-02-30T00:00:00Z\"", 0},
        {"\"2023-11-14T22:13:20\"", 0}, /* no offset */
        {"\"0001-01-01T00:00:00Z\"", 0},
        {"\"yesterday\"", 0},
        {"-5", 0},
        {"{}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"state\": \"open\", \"at\": %s}", cases[i].at);
        struct alert_event *e = norm1(js(text), NULL);
        if (e->at != cases[i].want)
            fail_msg("at %s: got %lld, want %lld", cases[i].at, e->at, cases[i].want);
        alert_events_free(e, 1);
    }
}

/* ---- detection, hints, bodies ---- */

static void test_detection_not_fooled(void **state)
{
    (void)state;
    /* the generic form carries asg, state and id like a workflow does */
    struct alert_event *e =
        norm1(js("{\"asg\": \"web\", \"state\": \"closed\", \"id\": \"abc\"}"), NULL);
    assert_string_equal(e->source, "generic");
    alert_events_free(e, 1);
    /* a workflow state value is not generic */
    e = norm1(js("{\"asg\": \"web\", \"state\": \"CREATED\", \"id\": \"abc\"}"), NULL);
    assert_string_equal(e->source, "newrelic_workflow");
    assert_int_equal(e->state, ALERT_OPEN);
    alert_events_free(e, 1);
    /* a workflow CLOSED with one template field */
    e = norm1(js("{\"state\": \"CLOSED\", \"id\": \"abc\", \"priority\": \"HIGH\"}"), NULL);
    assert_string_equal(e->source, "newrelic_workflow");
    alert_events_free(e, 1);
    /* a channel payload also has `severity` and could carry `state` */
    e = norm1(js("{\"current_state\": \"open\", \"state\": \"x\", \"severity\": \"CRITICAL\"}"),
              NULL);
    assert_string_equal(e->source, "newrelic_channel");
    alert_events_free(e, 1);
    /* a generic alert whose `alert` field is prose is not legacy */
    e = norm1(js("{\"alert\": \"disk full\", \"state\": \"open\"}"), NULL);
    assert_string_equal(e->source, "generic");
    alert_events_free(e, 1);
    /* Alertmanager's top-level status does not make it generic */
    e = norm1(fixture("am_firing_critical.json"), NULL);
    assert_string_equal(e->source, "alertmanager");
    alert_events_free(e, 1);
}

static void test_source_hint(void **state)
{
    (void)state;
    struct alert_event *e = norm1(fixture("nr_channel_open_critical.json"), "newrelic");
    assert_string_equal(e->source, "newrelic_channel");
    alert_events_free(e, 1);
    e = norm1(fixture("nr_workflow_created_critical.json"), "newrelic_workflow");
    alert_events_free(e, 1);
    e = norm1(fixture("am_firing_critical.json"), "alertmanager");
    alert_events_free(e, 1);
    e = norm1(fixture("nr_legacy_open_critical.json"), "NewRelic_Legacy");
    alert_events_free(e, 1);
    e = norm1(fixture("generic_open_critical.json"), "");
    alert_events_free(e, 1);

    expect_fail(fixture("am_firing_critical.json"), "newrelic", "unrecognised_payload",
                "looks like alertmanager");
    expect_fail(fixture("nr_channel_open_critical.json"), "alertmanager",
                "unrecognised_payload", "alerts array");
    expect_fail(fixture("nr_legacy_open_critical.json"), "newrelic_channel",
                "unrecognised_payload", "newrelic_legacy");
    /* restricted to generic, a workflow body is read as generic, and fails */
    expect_fail(fixture("nr_workflow_created_critical.json"), "generic", "invalid_payload",
                "CREATED");
    expect_fail(fixture("generic_open_critical.json"), "prometheus", "invalid_parameter",
                "prometheus");
}

static void test_wrong_id_types(void **state)
{
    (void)state;
    expect_fail(fixture("invalid_channel_id_object.json"), NULL, "invalid_payload",
                "incident_id");
    expect_fail(fixture("invalid_am_id_array.json"), NULL, "invalid_payload", "fingerprint");
    expect_fail(js("{\"state\": \"open\", \"id\": true}"), NULL, "invalid_payload", "boolean");
    expect_fail(js("{\"state\": \"ACTIVATED\", \"id\": [\"a\"]}"), NULL, "invalid_payload",
                "array");
    expect_fail(js("{\"current_state\": \"open\", \"incident_id\": 1.5}"), NULL,
                "invalid_payload", "incident_id");
    expect_fail(js("{\"state\": \"open\", \"id\": \"a\\nb\"}"), NULL, "invalid_payload",
                "control");
    expect_fail(js("{\"state\": \"open\", \"id\": \"a\\u0000b\"}"), NULL, "invalid_payload",
                "control");

    /* an id is never cut: 127 bytes is fine, 128 is refused */
    char text[400], id[200];
    memset(id, 'x', 127);
    id[127] = '\0';
    snprintf(text, sizeof text, "{\"state\": \"open\", \"id\": \"%s\"}", id);
    struct alert_event *e = norm1(js(text), NULL);
    assert_string_equal(e->id, id);
    alert_events_free(e, 1);
    snprintf(text, sizeof text, "{\"state\": \"open\", \"id\": \"%sy\"}", id);
    expect_fail(js(text), NULL, "invalid_payload", "limit");
}

static void test_unknown_state(void **state)
{
    (void)state;
    expect_fail(fixture("invalid_workflow_state.json"), NULL, "invalid_payload", "EXPLODED");
    expect_fail(js("{\"current_state\": \"reopened\"}"), NULL, "invalid_payload",
                "reopened");
    expect_fail(js("{\"state\": \"maybe\"}"), NULL, "invalid_payload", "maybe");
    /* a long hostile value is named cut and cleaned */
    char text[3000] = "{\"state\": \"evil\\n\\u0007";
    size_t len = strlen(text);
    memset(text + len, 'A', 2000);
    strcpy(text + len + 2000, "\"}");
    struct alert_event *ev = NULL;
    size_t n = 0;
    struct as_error err = {0};
    struct json_object *body = js(text);
    assert_int_equal(alert_normalise(body, NULL, &ev, &n, &err), -1);
    json_object_put(body);
    assert_string_equal(err.code, "invalid_payload");
    assert_non_null(strstr(err.message, "evil AAA"));
    assert_true(strlen(err.message) < 200);
    assert_true(clean_text(err.message));
}

static void test_non_object_bodies(void **state)
{
    (void)state;
    expect_fail(NULL, NULL, "invalid_payload", "empty");
    expect_fail(fixture("invalid_array_body.json"), NULL, "invalid_payload", "array");
    expect_fail(json_object_new_int(5), NULL, "invalid_payload", "int");
    expect_fail(json_object_new_boolean(1), NULL, "invalid_payload", "boolean");
    expect_fail(json_object_new_string(""), NULL, "invalid_payload", "empty");
    expect_fail(json_object_new_string(" \r\n"), NULL, "invalid_payload", "empty");
    expect_fail(json_object_new_string("hello"), NULL, "invalid_payload", "neither");
    expect_fail(json_object_new_string("[1, 2]"), NULL, "invalid_payload", "array");
    expect_fail(json_object_new_string("{\"state\": "), NULL, "invalid_payload",
                "not valid JSON");
    expect_fail(fixture("unrecognised_object.json"), NULL, "unrecognised_payload",
                "alerts array");
    expect_fail(js("{}"), NULL, "unrecognised_payload", "current_state");
    expect_fail(json_object_new_string("a=1&b=2"), NULL, "unrecognised_payload", NULL);
}

static void test_string_body_holding_json(void **state)
{
    (void)state;
    size_t len;
    char *text = read_fixture("nr_channel_closed_warning.json", &len);
    struct alert_event *e = norm1(json_object_new_string_len(text, (int)len), NULL);
    free(text);
    assert_string_equal(e->source, "newrelic_channel");
    assert_int_equal(e->state, ALERT_CLOSED);
    alert_events_free(e, 1);

    /* a generic alert sent form-encoded */
    e = norm1(json_object_new_string("asg=Web&state=open&severity=critical&id=7"), NULL);
    assert_string_equal(e->source, "generic");
    assert_string_equal(e->group, "web");
    assert_string_equal(e->id, "7");
    assert_int_equal(e->severity, ALERT_CRITICAL);
    alert_events_free(e, 1);
}

/* ---- hostile text ---- */

static void test_huge_body(void **state)
{
    (void)state;
    /* about 1 MB: a workflow with 60,000 entities, a 200 KB title, and an
     * Alertmanager body of one alert with 30,000 labels */
    size_t cap = 1200000, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len,
                            "{\"id\": \"big\", \"state\": \"ACTIVATED\", \"title\": \"");
    for (int i = 0; i < 200000; i++)
        text[len++] = i % 3 ? 'x' : ' ';
    len += (size_t)snprintf(text + len, cap - len, "\", \"impactedEntities\": [");
    for (int i = 0; i < 60000; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\"entity-%d\"", i ? "," : "", i);
    len += (size_t)snprintf(text + len, cap - len, "]}");
    assert_true(len > 1000000);
    struct alert_event *e = norm1(parse_text(text, len), NULL);
    assert_int_equal(count_names(e), ALERT_NAMES_MAX);
    assert_true(strlen(e->title) <= 255);
    alert_events_free(e, 1);

    len = (size_t)snprintf(text, cap, "{\"alerts\": [{\"status\": \"firing\", \"labels\": {");
    for (int i = 0; i < 30000; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\"label_%d\": \"value-%d\"",
                                i ? "," : "", i, i);
    len += (size_t)snprintf(text + len, cap - len, "}}]}");
    assert_true(len > 700000);
    e = norm1(parse_text(text, len), NULL);
    assert_int_equal(strlen(e->id), 16);
    alert_events_free(e, 1);

    /* large commonLabels without asg, shared by a thousand alerts: looked
     * up once per body, not once per alert */
    len = (size_t)snprintf(text, cap, "{\"commonLabels\": {");
    for (int i = 0; i < 25000; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\"Label_%d\": \"v\"", i ? "," : "",
                                i);
    len += (size_t)snprintf(text + len, cap - len, "}, \"status\": \"firing\", \"alerts\": [");
    for (int i = 0; i < ALERT_MAX_EVENTS; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s{}", i ? "," : "");
    len += (size_t)snprintf(text + len, cap - len, "]}");
    size_t n = 0;
    struct alert_event *ev = norm(parse_text(text, len), NULL, &n);
    assert_int_equal(n, ALERT_MAX_EVENTS);
    assert_string_equal(ev[0].id, ev[n - 1].id); /* same (empty) label set */
    alert_events_free(ev, n);
    free(text);
}

static void test_lone_surrogate_and_bad_bytes(void **state)
{
    (void)state;
    /* json-c turns a lone surrogate into U+FFFD: valid output either way */
    struct alert_event *e = norm1(
        js("{\"state\": \"open\", \"id\": \"ab\\udc80\", \"title\": \"x\\udc80y\\ud800\","
           " \"names\": [\"\\udc80\", \"n\\ud83d\\ude00\"]}"),
        NULL);
    assert_string_equal(e->title, "x\xEF\xBF\xBDy\xEF\xBF\xBD");
    assert_string_equal(e->id, "ab\xEF\xBF\xBD");
    assert_true(has_name(e, "n\xF0\x9F\x98\x80"));
    char key[ALERT_KEY_MAX];
    key_of(e, key);
    assert_true(strncmp(key, "gen-h", 5) == 0); /* not datastore-safe: hashed */
    alert_events_free(e, 1);

    /* raw invalid bytes inside a JSON string (json-c lets them through) */
    const char raw[] = "{\"state\": \"open\", \"title\": \"a\xff\xfe" "b\xc0\xaf" "c\xed\xa0\x80\"}";
    e = norm1(parse_text(raw, sizeof raw - 1), NULL);
    assert_true(clean_text(e->title));
    assert_non_null(strstr(e->title, "a\xEF\xBF\xBD"));
    alert_events_free(e, 1);

    const char rawid[] = "{\"state\": \"open\", \"id\": \"a\xff\"}";
    expect_fail(parse_text(rawid, sizeof rawid - 1), NULL, "invalid_payload", "UTF-8");
}

static void test_title_cut_at_boundary(void **state)
{
    (void)state;
    char text[2000];
    size_t len = (size_t)snprintf(text, sizeof text, "{\"state\": \"open\", \"title\": \"");
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "\xC3\xA9"); /* é */
    snprintf(text + len, sizeof text - len, "\"}");
    struct alert_event *e = norm1(js(text), NULL);
    assert_int_equal(strlen(e->title), 254); /* 127 whole characters */
    alert_events_free(e, 1);

    /* controls and runs of white space become single spaces, one line */
    e = norm1(js("{\"state\": \"open\", \"title\": \"  a\\n\\n\\tb\\u0001c\\u0085d\\u2028e\\u007f \"}"),
              NULL);
    assert_string_equal(e->title, "a b c d e");
    alert_events_free(e, 1);
}

static void test_group_rules(void **state)
{
    (void)state;
    struct alert_event *e = norm1(js("{\"state\": \"open\", \"asg\": \"  Web-2 \"}"), NULL);
    assert_string_equal(e->group, "web-2");
    alert_events_free(e, 1);
    /* non-string asg values are not a group */
    e = norm1(js("{\"state\": \"open\", \"asg\": 5, \"labels\": {\"asg\": [3, \"api\"]}}"),
              NULL);
    assert_string_equal(e->group, "api");
    alert_events_free(e, 1);
    /* too long to be a group name: refused, never cut to another group */
    expect_fail(js("{\"state\": \"open\", \"asg\": \"abcdefghijklmnopqrstuvwxyz0123456\"}"),
                NULL, "invalid_payload", "asg");
    expect_fail(js("{\"alerts\": [{\"status\": \"firing\", \"labels\": {\"asg\": "
                   "\"abcdefghijklmnopqrstuvwxyz0123456\"}}]}"),
                NULL, "invalid_payload", "asg");
}

/* ---- keys and names ---- */

static void test_key_id(void **state)
{
    (void)state;
    struct alert_event e;
    char k1[ALERT_KEY_MAX], k2[ALERT_KEY_MAX];

    memset(&e, 0, sizeof e);
    e.source = "newrelic_channel";
    strcpy(e.id, "42");
    key_of(&e, k1);
    assert_string_equal(k1, "nr-42");
    e.source = "newrelic_legacy";
    key_of(&e, k2);
    assert_string_equal(k2, "nr-42"); /* one family for all NR generations */
    e.source = "alertmanager";
    key_of(&e, k2);
    assert_string_equal(k2, "am-42");
    e.source = "generic";
    key_of(&e, k2);
    assert_string_equal(k2, "gen-42");

    strcpy(e.id, "208c5e92-f250-40be-b7c2-50508c268c15");
    key_of(&e, k1);
    assert_string_equal(k1, "gen-208c5e92-f250-40be-b7c2-50508c268c15");

    /* unsafe ids: "h" + 16 hex, stable, distinct */
    strcpy(e.id, "web.1/cpu high");
    key_of(&e, k1);
    assert_int_equal(strlen(k1), 4 + 17);
    assert_true(strncmp(k1, "gen-h", 5) == 0);
    assert_int_equal(strspn(k1 + 5, "0123456789abcdef"), 16);
    key_of(&e, k2);
    assert_string_equal(k1, k2);
    strcpy(e.id, "web.1/cpu higH");
    key_of(&e, k2);
    assert_string_not_equal(k1, k2);
    strcpy(e.id, "a");
    key_of(&e, k1);
    assert_string_equal(k1, "gen-a");
    /* FNV-1a 64 of "a.b", computed independently */
    strcpy(e.id, "a.b");
    key_of(&e, k1);
    assert_string_equal(k1, "gen-he61d99190466522c");
    strcpy(e.id, "");
    key_of(&e, k1);
    assert_string_equal(k1, "gen-hcbf29ce484222325"); /* the empty hash */

    /* 64 safe characters are kept, 65 hashed */
    memset(e.id, 'z', 64);
    e.id[64] = '\0';
    key_of(&e, k1);
    assert_int_equal(strlen(k1), 4 + 64);
    e.id[64] = 'z';
    e.id[65] = '\0';
    key_of(&e, k1);
    assert_int_equal(strlen(k1), 4 + 17);

    /* an id that looks like a hash is hashed, so it cannot collide with one */
    strcpy(e.id, "hcbf29ce484222325");
    key_of(&e, k1);
    assert_string_not_equal(k1, "gen-hcbf29ce484222325");
    assert_true(strncmp(k1, "gen-h", 5) == 0);

    /* a 127-byte id with dots fits and has no dot */
    memset(e.id, '.', 127);
    e.id[127] = '\0';
    e.source = "newrelic_workflow";
    key_of(&e, k1);
    assert_null(strchr(k1, '.'));
    assert_true(strncmp(k1, "nr-h", 4) == 0);
}

static void test_key_id_family_separation(void **state)
{
    (void)state;
    struct alert_event *nr = norm1(js("{\"current_state\": \"open\", \"incident_id\": 42}"),
                                   NULL);
    struct alert_event *am =
        norm1(js("{\"alerts\": [{\"status\": \"firing\", \"fingerprint\": \"42\"}]}"), NULL);
    char k1[ALERT_KEY_MAX], k2[ALERT_KEY_MAX];
    key_of(nr, k1);
    key_of(am, k2);
    assert_string_equal(nr->id, am->id);
    assert_string_not_equal(k1, k2);
    alert_events_free(nr, 1);
    alert_events_free(am, 1);
}

static void test_state_and_severity_names(void **state)
{
    (void)state;
    assert_string_equal(alert_state_name(ALERT_OPEN), "open");
    assert_string_equal(alert_state_name(ALERT_CLOSED), "closed");
    assert_string_equal(alert_state_name(ALERT_IGNORE), "ignore");
    assert_string_equal(alert_severity_name(ALERT_CRITICAL), "critical");
    assert_string_equal(alert_severity_name(ALERT_WARNING), "warning");
    alert_events_free(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_open_critical),
        cmocka_unit_test(test_legacy_closed_warning_servers),
        cmocka_unit_test(test_legacy_downtime_pairs_by_hash),
        cmocka_unit_test(test_legacy_acknowledged_is_ignored),
        cmocka_unit_test(test_legacy_deployment_is_ignored),
        cmocka_unit_test(test_legacy_raw_form_body),
        cmocka_unit_test(test_legacy_list_values_and_object),
        cmocka_unit_test(test_legacy_states_and_errors),
        cmocka_unit_test(test_channel_open_critical),
        cmocka_unit_test(test_channel_closed_warning_strings),
        cmocka_unit_test(test_channel_acknowledged_and_test),
        cmocka_unit_test(test_channel_minimal_with_nulls),
        cmocka_unit_test(test_workflow_created_is_open),
        cmocka_unit_test(test_workflow_activated_high),
        cmocka_unit_test(test_workflow_closed_low_title_array),
        cmocka_unit_test(test_workflow_medium_missing_fields),
        cmocka_unit_test(test_workflow_acknowledged_is_ignored),
        cmocka_unit_test(test_am_firing_critical),
        cmocka_unit_test(test_am_resolved_warning),
        cmocka_unit_test(test_am_mixed_alerts),
        cmocka_unit_test(test_am_label_hash_ignores_order),
        cmocka_unit_test(test_am_alert_count_is_capped),
        cmocka_unit_test(test_generic_open_and_closed),
        cmocka_unit_test(test_generic_aliases),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_detection_not_fooled),
        cmocka_unit_test(test_source_hint),
        cmocka_unit_test(test_wrong_id_types),
        cmocka_unit_test(test_unknown_state),
        cmocka_unit_test(test_non_object_bodies),
        cmocka_unit_test(test_string_body_holding_json),
        cmocka_unit_test(test_huge_body),
        cmocka_unit_test(test_lone_surrogate_and_bad_bytes),
        cmocka_unit_test(test_title_cut_at_boundary),
        cmocka_unit_test(test_group_rules),
        cmocka_unit_test(test_key_id),
        cmocka_unit_test(test_key_id_family_separation),
        cmocka_unit_test(test_state_and_severity_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
