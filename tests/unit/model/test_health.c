/* test_health.c - the health rule (lib/model/health.c): health_judge on
 * literal observations (grace, the threshold of consecutive failures, the
 * reset on a pass, sources that cannot say), the status names, and
 * health_load on an embedded store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore.h"
#include "group.h"
#include "health.h"
#include "jsonx.h"
#include "keys.h"
#include "test_util.h"

#define NOW 1700000000LL
#define UP (NOW - 3600) /* active for an hour: well past the default grace */

static struct group G;

static int setup(void **state)
{
    (void)state;
    group_init(&G, "web"); /* grace 300 s, threshold 3 */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    group_clear(&G);
    return 0;
}

static struct health_obs pass(void)
{
    return (struct health_obs){.provider_known = true, .provider_ok = true,
                               .lb_known = true, .lb_ok = true};
}

static struct health_obs provider_down(void)
{
    struct health_obs o = pass();
    o.provider_ok = false;
    snprintf(o.detail, sizeof o.detail, "provider: error (process exited)");
    return o;
}

/* Judge, then carry the verdict over as the next probe's previous record. */
static void step(struct health_prev *prev, const struct health_obs *o, long long since,
                 long long now, struct health_verdict *v)
{
    health_judge(&G, prev, o, since, now, v);
    prev->status = v->status;
    prev->failures = v->failures;
    prev->since = v->since;
}

static void test_defaults_from_the_group(void **state)
{
    (void)state;
    assert_int_equal(G.health_grace, 300);
    assert_int_equal(G.health_threshold, 3);
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int s = HEALTH_GRACE; s <= HEALTH_UNHEALTHY; s++)
        assert_int_equal(health_status_parse(health_status_name(s)), s);
    assert_string_equal(health_status_name(HEALTH_UNHEALTHY), "unhealthy");
    assert_int_equal(health_status_parse(NULL), HEALTH_GRACE);
    assert_int_equal(health_status_parse("UNHEALTHY"), HEALTH_GRACE);
    assert_int_equal(health_status_parse("sick"), HEALTH_GRACE);
}

static void test_grace_counts_no_failure(void **state)
{
    (void)state;
    struct health_prev prev = {0};
    struct health_verdict v;
    struct health_obs o = provider_down();
    long long active = NOW - 10;
    for (int i = 0; i < 10; i++) { /* more failures than the threshold */
        step(&prev, &o, active, NOW + i, &v);
        assert_int_equal(v.status, HEALTH_GRACE);
        assert_int_equal(v.failures, 0);
    }
    assert_non_null(strstr(v.reason, "grace"));
    /* the last second of grace is grace; the first one past it counts */
    step(&prev, &o, active, active + 299, &v);
    assert_int_equal(v.status, HEALTH_GRACE);
    step(&prev, &o, active, active + 300, &v);
    assert_int_equal(v.failures, 1);
    assert_int_equal(v.status, HEALTH_HEALTHY);
    assert_int_equal(v.since, active + 300);
}

static void test_zero_grace_judges_at_once(void **state)
{
    (void)state;
    struct health_prev prev = {0};
    struct health_verdict v;
    struct health_obs o = provider_down();
    G.health_grace = 0;
    G.health_threshold = 1;
    step(&prev, &o, NOW, NOW, &v);
    assert_int_equal(v.status, HEALTH_UNHEALTHY);
}

static void test_threshold_exactly(void **state)
{
    (void)state;
    struct health_prev prev = {.status = HEALTH_HEALTHY, .since = UP};
    struct health_verdict v;
    struct health_obs o = provider_down();
    step(&prev, &o, UP, NOW, &v);
    assert_int_equal(v.status, HEALTH_HEALTHY);
    assert_int_equal(v.failures, 1);
    assert_int_equal(v.since, UP); /* still healthy since then */
    step(&prev, &o, UP, NOW + 30, &v);
    assert_int_equal(v.status, HEALTH_HEALTHY);
    assert_int_equal(v.failures, 2);
    step(&prev, &o, UP, NOW + 60, &v);
    assert_int_equal(v.status, HEALTH_UNHEALTHY);
    assert_int_equal(v.failures, 3);
    assert_int_equal(v.since, NOW + 60);
    assert_non_null(strstr(v.reason, "3 of 3"));
    assert_non_null(strstr(v.reason, "process exited"));
    step(&prev, &o, UP, NOW + 90, &v); /* stays, since unchanged */
    assert_int_equal(v.status, HEALTH_UNHEALTHY);
    assert_int_equal(v.failures, 4);
    assert_int_equal(v.since, NOW + 60);
}

static void test_one_pass_resets(void **state)
{
    (void)state;
    struct health_prev prev = {.status = HEALTH_HEALTHY, .since = UP};
    struct health_verdict v;
    struct health_obs bad = provider_down(), good = pass();
    step(&prev, &bad, UP, NOW, &v);
    step(&prev, &bad, UP, NOW + 1, &v);
    step(&prev, &good, UP, NOW + 2, &v); /* 2 failures, then a pass */
    assert_int_equal(v.failures, 0);
    assert_int_equal(v.status, HEALTH_HEALTHY);
    step(&prev, &bad, UP, NOW + 3, &v);
    step(&prev, &bad, UP, NOW + 4, &v);
    assert_int_equal(v.status, HEALTH_HEALTHY); /* not consecutive: 2, not 4 */
    step(&prev, &bad, UP, NOW + 5, &v);
    assert_int_equal(v.status, HEALTH_UNHEALTHY);
    step(&prev, &good, UP, NOW + 6, &v); /* unhealthy, then one pass: healthy */
    assert_int_equal(v.status, HEALTH_HEALTHY);
    assert_int_equal(v.failures, 0);
    assert_int_equal(v.since, NOW + 6);
}

static void test_each_source_fails_alone(void **state)
{
    (void)state;
    struct health_verdict v;
    struct health_prev prev = {.status = HEALTH_HEALTHY, .since = UP};
    G.health_threshold = 1;
    struct health_obs lb = pass(), http = pass();
    lb.lb_ok = false;
    http.http_known = true;
    http.http_ok = false;
    health_judge(&G, &prev, &lb, UP, NOW, &v);
    assert_int_equal(v.status, HEALTH_UNHEALTHY);
    health_judge(&G, &prev, &http, UP, NOW, &v);
    assert_int_equal(v.status, HEALTH_UNHEALTHY);
    http.http_ok = true;
    health_judge(&G, &prev, &http, UP, NOW, &v);
    assert_int_equal(v.status, HEALTH_HEALTHY);
}

static void test_unknown_sources_count_neither_way(void **state)
{
    (void)state;
    struct health_verdict v;
    struct health_prev prev = {.status = HEALTH_HEALTHY, .since = UP};
    G.health_threshold = 1;
    /* a failing value of a source that cannot say is no failure */
    struct health_obs o = {.provider_known = true, .provider_ok = true,
                           .lb_known = false, .lb_ok = false,
                           .http_known = false, .http_ok = false};
    health_judge(&G, &prev, &o, UP, NOW, &v);
    assert_int_equal(v.status, HEALTH_HEALTHY);
    /* nothing can say: no pass either, so the count and status stay */
    struct health_obs none = {0};
    prev = (struct health_prev){.status = HEALTH_UNHEALTHY, .failures = 5, .since = NOW - 60};
    health_judge(&G, &prev, &none, UP, NOW, &v);
    assert_int_equal(v.status, HEALTH_UNHEALTHY);
    assert_int_equal(v.failures, 5);
    assert_int_equal(v.since, NOW - 60);
    G.health_threshold = 3;
    prev = (struct health_prev){.status = HEALTH_HEALTHY, .failures = 2, .since = UP};
    health_judge(&G, &prev, &none, UP, NOW, &v);
    assert_int_equal(v.failures, 2);
    struct health_obs bad = provider_down();
    prev.failures = v.failures;
    health_judge(&G, &prev, &bad, UP, NOW, &v); /* the unknown probe broke no run */
    assert_int_equal(v.status, HEALTH_UNHEALTHY);
    /* leaving grace with nothing known: healthy, nothing counted */
    prev = (struct health_prev){.status = HEALTH_GRACE, .since = UP};
    health_judge(&G, &prev, &none, UP, NOW, &v);
    assert_int_equal(v.status, HEALTH_HEALTHY);
    assert_int_equal(v.failures, 0);
}

static void test_load_reads_every_record_of_one_group(void **state)
{
    (void)state;
    char dir[64], path[128], key[KEY_MAX];
    struct as_error err;
    struct json_object *all = NULL;
    assert_int_equal(test_tmpdir(dir, sizeof dir, "as-health"), 0);
    snprintf(path, sizeof path, "%s/store.db", dir);
    struct ds *ds = ds_open_embedded(path, &err);
    assert_non_null(ds);
    assert_int_equal(ds_put(ds, key_health(key, "web", "web-1"),
                            "{\"node\":\"web-1\",\"status\":\"unhealthy\"}", 0, &err), 0);
    assert_int_equal(ds_put(ds, key_health(key, "web", "web-2"), "not json", 0, &err), 0);
    assert_int_equal(ds_put(ds, key_health(key, "web-2", "web-2-a"),
                            "{\"node\":\"web-2-a\",\"status\":\"healthy\"}", 0, &err), 0);
    assert_int_equal(health_load(ds, "web", &all, &err), 0);
    assert_int_equal(json_object_object_length(all), 1); /* corrupt skipped, other group not */
    assert_string_equal(jx_str(jx_obj(all, "web-1"), "status", ""), "unhealthy");
    json_object_put(all);
    assert_int_equal(health_load(ds, "none", &all, &err), 0);
    assert_int_equal(json_object_object_length(all), 0);
    json_object_put(all);
    ds_close(ds);
    assert_int_equal(test_rmtree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_from_the_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grace_counts_no_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_grace_judges_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threshold_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_pass_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_source_fails_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_sources_count_neither_way, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_load_reads_every_record_of_one_group, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
