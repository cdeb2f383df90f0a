/* End-to-end tests of phases 1-3 through the binaries: alert_event records
 * incidents from real payload shapes, governor_tick turns them plus the clock
 * into decisions under a lease, scaling_record ends an operation. The clock
 * is pinned with AUTOSCALE_TEST_NOW so cooldowns are exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

#define T0 1800000000LL

static int setup(void **state)
{
    return store_setup(state, "as-gov", T0);
}

static char *slurp(const char *name)
{
    char path[256];
    const char *root = getenv("AUTOSCALE_SRC_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/alerts/%s", root ? root : ".", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("no fixture %s", path);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* Send one body (given as text) to alert_event; returns the exit status. */
static int alert(struct store_fixture *f, const char *body, const char *asg,
                 struct action_result *r)
{
    char *b = malloc(strlen(body) + 8), a[64];
    sprintf(b, "--body=%s", body);
    snprintf(a, sizeof a, "--asg=%s", asg ? asg : "");
    const char *args[] = {b, asg ? a : NULL, NULL};
    int rc = store_runv(f, "alert_event", args, r);
    free(b);
    return rc;
}

static bool in_alert(struct store_fixture *f, const char *group)
{
    struct action_result r;
    char n[64];
    snprintf(n, sizeof n, "--name=%s", group);
    const char *args[] = {n, NULL};
    assert_int_equal(store_runv(f, "asg_get", args, &r), 0);
    bool v = jx_bool(jx_obj(r.json, "alert"), "in_alert", false);
    action_result_free(&r);
    return v;
}

static void create(struct store_fixture *f, const char *const *args)
{
    struct action_result r;
    assert_int_equal(store_runv(f, "asg_define", args, &r), 0);
    action_result_free(&r);
}

static void put_node(struct store_fixture *f, const char *group, const char *node,
                     const char *state)
{
    char key[KEY_MAX], val[128];
    snprintf(val, sizeof val, "{\"name\":\"%s\",\"state\":\"%s\"}", node, state);
    store_put(f, key_node(key, group, node), val);
}

static void test_every_family_opens_and_closes(void **state)
{
    struct store_fixture *f = *state;
    static const struct {
        const char *open, *close;
    } pairs[] = {
        {"nr_channel_open_critical.json", "nr_channel_closed_warning.json"},
        {"nr_legacy_open_critical.json", "nr_legacy_closed_warning.json"},
        {"nr_workflow_created_critical.json", "nr_workflow_closed_low.json"},
        {"am_firing_critical.json", "am_resolved_warning.json"},
        {"generic_open_critical.json", "generic_closed_warning.json"},
    };
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", NULL};
    create(f, web);
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        struct action_result r;
        char *open = slurp(pairs[i].open), *close = slurp(pairs[i].close);
        assert_int_equal(alert(f, open, "web", &r), 0);
        assert_true(jx_int(r.json, "changed", 0) >= 1);
        action_result_free(&r);
        if (!in_alert(f, "web"))
            fail_msg("%s did not put web in alert", pairs[i].open);
        /* Closing every incident of the pair ends the alert. Fixture pairs
         * may carry different ids, so close by replaying ids where needed. */
        assert_int_equal(alert(f, close, "web", &r), 0);
        action_result_free(&r);
        free(open);
        free(close);
    }
    assert_true(store_count(f, "autoscale.incident.web.") >= 5);
}

static void test_open_close_same_incident(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", NULL};
    const char *open = "{\"asg\":\"web\",\"state\":\"open\",\"severity\":\"critical\",\"id\":\"i-1\"}";
    const char *close = "{\"asg\":\"web\",\"state\":\"closed\",\"severity\":\"critical\",\"id\":\"i-1\"}";
    create(f, web);

    assert_int_equal(alert(f, open, NULL, &r), 0);
    assert_string_equal(jx_str(json_object_array_get_idx(jx_arr(r.json, "events"), 0),
                               "change", ""), "opened");
    action_result_free(&r);
    assert_int_equal(alert(f, open, NULL, &r), 0); /* a repeat is idempotent */
    assert_int_equal(jx_int(r.json, "changed", -1), 0);
    action_result_free(&r);
    assert_true(in_alert(f, "web"));
    assert_int_equal(alert(f, close, NULL, &r), 0);
    assert_int_equal(jx_int(r.json, "changed", -1), 1);
    action_result_free(&r);
    assert_false(in_alert(f, "web"));
}

/* A recovery delivered before its alert is remembered: the late alert must
 * not put the group in alert for ever. */
static void test_close_before_open(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", NULL};
    const char *open = "{\"asg\":\"web\",\"state\":\"open\",\"severity\":\"warning\",\"id\":77}";
    const char *close = "{\"asg\":\"web\",\"state\":\"closed\",\"severity\":\"warning\",\"id\":\"77\"}";
    create(f, web);
    assert_int_equal(alert(f, close, NULL, &r), 0);
    assert_string_equal(jx_str(json_object_array_get_idx(jx_arr(r.json, "events"), 0),
                               "change", ""), "closed_early");
    action_result_free(&r);
    assert_int_equal(alert(f, open, NULL, &r), 0);
    assert_int_equal(jx_int(r.json, "changed", -1), 0);
    action_result_free(&r);
    assert_false(in_alert(f, "web"));
}

static void test_ignored_notices_change_nothing(void **state)
{
    struct store_fixture *f = *state;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", NULL};
    const char *names[] = {"nr_legacy_deployment.json", "nr_channel_acknowledged.json",
                           "nr_workflow_acknowledged.json", "nr_legacy_acknowledged.json"};
    create(f, web);
    for (size_t i = 0; i < 4; i++) {
        struct action_result r;
        char *body = slurp(names[i]);
        assert_int_equal(alert(f, body, "web", &r), 0);
        assert_int_equal(jx_int(r.json, "changed", -1), 0);
        struct json_object *ev = json_object_array_get_idx(jx_arr(r.json, "events"), 0);
        assert_string_equal(jx_str(ev, "change", ""), "ignored");
        assert_non_null(jx_str(ev, "why", NULL));
        action_result_free(&r);
        free(body);
    }
    assert_int_equal(store_count(f, "autoscale.incident."), 0);
}

static void test_routing_by_alert_match(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", "--alert_match=Storefront Apdex, other", NULL};
    const char *api[] = {"--compute_provider=local", "--name=api", "--min=1", NULL};
    create(f, web);
    create(f, api);
    char *body = slurp("nr_legacy_open_critical.json"); /* names no group */
    assert_int_equal(alert(f, body, NULL, &r), 0);
    assert_string_equal(jx_str(json_object_array_get_idx(jx_arr(r.json, "events"), 0),
                               "group", ""), "web");
    action_result_free(&r);
    assert_true(in_alert(f, "web"));
    assert_false(in_alert(f, "api"));
    free(body);
}

/* Every bad body: exit 2, one JSON error, and no incident written. */
static void test_bad_bodies_change_nothing(void **state)
{
    struct store_fixture *f = *state;
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", NULL};
    create(f, web);
    /* Linux caps one argument at 128 KiB (st2 caps the whole command line
     * alike), so the largest body an action can be handed is just under it;
     * 1 MiB bodies are covered by test_alert against the normaliser. */
    size_t pad = 120 * 1024;
    char *huge = malloc(pad + 128);
    strcpy(huge, "{\"asg\":\"nope\",\"state\":\"open\",\"id\":\"x\",\"pad\":\"");
    size_t at = strlen(huge);
    memset(huge + at, 'a', pad);
    strcpy(huge + at + pad, "\"}");
    char *unknown = slurp("unrecognised_object.json");
    static const char *const bodies[] = {
        "not json at all", "[1, 2]", "42",
        "{\"asg\":\"web\",\"state\":\"open\",\"id\":{\"a\":1}}",
        "{\"asg\":\"web\",\"state\":\"exploding\",\"id\":\"1\"}",
        "{\"asg\":\"nope\",\"state\":\"open\",\"id\":\"1\"}",
        "{\"asg\":\"web;rm -rf /\",\"state\":\"open\",\"id\":\"1\"}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0] + 2; i++) {
        struct action_result r;
        const char *b = i < 7 ? bodies[i] : i == 7 ? unknown : huge;
        int rc = alert(f, b, NULL, &r);
        if (rc != 2 || !*action_error_code(&r))
            fail_msg("body %zu: exit %d, %s", i, rc, r.out);
        action_result_free(&r);
        assert_int_equal(store_count(f, "autoscale.incident."), 0);
    }
    free(huge);
    free(unknown);
}

static void test_unknown_group_lists_what_was_seen(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    char *body = slurp("nr_legacy_open_critical.json");
    assert_int_equal(alert(f, body, NULL, &r), 2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    assert_non_null(strstr(r.out, "Storefront"));
    action_result_free(&r);
    free(body);
}

static struct json_object *tick(struct store_fixture *f, bool dry, struct action_result *r)
{
    const char *args[] = {dry ? NULL : "--act", NULL};
    assert_int_equal(store_runv(f, "governor_tick", args, r), 0);
    return json_object_array_get_idx(jx_arr(r->json, "decisions"), 0);
}

static void record(struct store_fixture *f, const char *lease, int n, int expect)
{
    struct action_result r;
    char l[96], c[32];
    snprintf(l, sizeof l, "--lease_id=%s", lease);
    snprintf(c, sizeof c, "--requested=%d", n);
    const char *args[] = {"--name=web", l, c, "--succeeded=1", NULL};
    assert_int_equal(store_runv(f, "scaling_record", args, &r), expect);
    action_result_free(&r);
}

/* The whole loop: alert -> scale out under a lease -> no double dispatch ->
 * cooldown -> recovery -> scale in after its cooldown -> rest at min. */
static void test_governor_loop(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    char lease[64];
    const char *web[] = {"--compute_provider=local", "--name=web", "--min=1", "--max=4", "--scale_out_step=2",
                         "--scale_out_cooldown=600", "--scale_in_step=1",
                         "--scale_in_cooldown=900", NULL};
    create(f, web);
    put_node(f, "web", "web-a", "active");

    struct json_object *d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "none"); /* at min, no alert */
    action_result_free(&r);

    assert_int_equal(alert(f, "{\"asg\":\"web\",\"state\":\"open\",\"severity\":\"critical\",\"id\":\"c1\"}", NULL, &r), 0);
    action_result_free(&r);

    /* dry run decides but takes no lease */
    d = tick(f, true, &r);
    assert_string_equal(jx_str(d, "action", ""), "scale_out");
    action_result_free(&r);
    assert_int_equal(store_count(f, "autoscale.lease."), 0);

    d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "scale_out");
    assert_int_equal(jx_int(d, "count", 0), 2);
    snprintf(lease, sizeof lease, "%s", jx_str(d, "lease_id", ""));
    action_result_free(&r);
    assert_int_equal(store_count(f, "autoscale.lease."), 1);

    f->now += 5; /* ticks faster than the workflow: no second dispatch */
    d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "none");
    action_result_free(&r);

    put_node(f, "web", "web-b", "active");
    put_node(f, "web", "web-c", "active");
    f->now += 60;
    record(f, lease, 2, 0);
    record(f, lease, 2, 0); /* a retried record rewrites the same event */
    assert_int_equal(store_count(f, "autoscale.event.web."), 1);
    assert_int_equal(store_count(f, "autoscale.lease."), 0);
    record(f, "not-a-lease", 2, 2);

    f->now += 60; /* still cooling down */
    d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "none");
    action_result_free(&r);

    f->now = T0 + 601; /* cooldown over, still critical: clamped at max 4 */
    d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "scale_out");
    assert_int_equal(jx_int(d, "count", 0), 1);
    snprintf(lease, sizeof lease, "%s", jx_str(d, "lease_id", ""));
    action_result_free(&r);
    put_node(f, "web", "web-d", "active");
    record(f, lease, 1, 0);

    /* recovery: nothing until the scale-in cooldown since the clear */
    assert_int_equal(alert(f, "{\"asg\":\"web\",\"state\":\"closed\",\"id\":\"c1\"}", NULL, &r), 0);
    action_result_free(&r);
    long long cleared = f->now;
    f->now += 899;
    d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "none");
    action_result_free(&r);
    f->now = cleared + 900;
    d = tick(f, false, &r);
    assert_string_equal(jx_str(d, "action", ""), "scale_in");
    assert_int_equal(jx_int(d, "count", 0), 1);
    action_result_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, store_teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_family_opens_and_closes),
        T(test_open_close_same_incident),
        T(test_close_before_open),
        T(test_ignored_notices_change_nothing),
        T(test_routing_by_alert_match),
        T(test_bad_bodies_change_nothing),
        T(test_unknown_group_lists_what_was_seen),
        T(test_governor_loop),
    };
#undef T
    return cmocka_run_group_tests_name("alert_governor", tests, NULL, NULL);
}
