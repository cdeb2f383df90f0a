/* test_governor_tick.c - a tick over every group (lib/model/governor_tick.c,
 * governor_load.c) against the reference it replaced: asg_state_load_all,
 * governor_input_from_state, governor_decide and a json-c tree printed with
 * the front end's flags (health and protection joined as asg_state_load
 * reads them for one group). Stores of generated groups of every shape (odd
 * specs, node states, health and protection records, incidents, events,
 * leases, records of no group, keys of odd shapes, expired keys) on both
 * backends must print byte for byte the same document; then acting (the
 * leases taken, the ones found taken, a replacement's, the history kept and
 * the notices printed) and a tick that fails part-way (the leases it took
 * given back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asg.h"
#include "controls.h"
#include "datastore.h"
#include "ds_int.h" /* a store that fails on demand wraps the embedded one */
#include "fake_st2.h"
#include "governor.h"
#include "governor_tick.h"
#include "health.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "test_util.h"
#include "xalloc.h"

#define TOKEN "tok-tick-0123456789abcdef"
#define T0 1700000000LL      /* when the records are written */
#define LATER "1700000100"   /* the store's clock for the tick: short TTLs gone */
#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct fixture {
    char dir[64], path[128];
    struct fake_st2 *fake;
    struct ds *ds;
};

static struct ds *open_embedded(struct fixture *f, const char *now)
{
    struct as_error err = {0};
    setenv("AUTOSCALE_TEST_NOW", now, 1);
    struct ds *ds = ds_open_embedded(f->path, &err);
    if (!ds)
        fail_msg("ds_open_embedded: %s: %s", err.code, err.message);
    return ds;
}

static int setup_embedded(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_governor_tick"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    f->ds = open_embedded(f, "1700000000");
    log_set_level(LOG_ERROR);
    *state = f;
    return 0;
}

static int setup_st2(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fake = fake_st2_start(TOKEN, NULL);
    assert_non_null(f->fake);
    struct ds_st2_config cfg = {.base_url = fake_st2_url(f->fake), .auth_token = TOKEN};
    struct as_error err = {0};
    f->ds = ds_open_st2(&cfg, &err);
    assert_non_null(f->ds);
    log_set_level(LOG_ERROR);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    if (f->fake)
        fake_st2_stop(f->fake);
    else
        test_rmtree(f->dir);
    unsetenv("AUTOSCALE_TEST_NOW");
    free(f);
    return 0;
}

/* The store's clock moves on past the short TTLs. */
static void later(struct fixture *f)
{
    if (f->fake) {
        fake_st2_advance(f->fake, 100);
        return;
    }
    ds_close(f->ds);
    f->ds = open_embedded(f, LATER);
}

static void put(struct ds *ds, const char *key, const char *value, long ttl)
{
    struct as_error err = {0};
    if (ds_put(ds, key, value, ttl, &err) < 0)
        fail_msg("put %s: %s: %s", key, err.code, err.message);
}

/* ---- a world of odd groups ---- */

static uint64_t rng;

static unsigned pick(unsigned n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 2685821657736338717ULL) >> 33) % n;
}

#define ONE_OF(a) (a)[pick(sizeof(a) / sizeof(a)[0])]

static const char *const ints[] = {"0", "1", "2", "3", "5", "10", "20", "-1", "600",
                                   "1800", "21600", "null", "\"4\"", "2.0", "007"};
/* $ stands for the group's name. */
static const char *const odd_specs[] = {
    "", "[]", "{\"name\":\"$\"", "{\"name\":\"$\",\"min\":\"2\"}",
    "{\"name\":\"$\",\"settings\":{\"flavor\":\"m1\"},\"status\":\"active\"}",
    "{\"n\\u0061me\":\"$\",\"user_data\":\"a\\nb\",\"max\":4}",
    "{\"name\":\"$\",\"status\":\"deleting\"}", "{\"name\":\"$\",\"status\":99}",
    "{\"name\":\"$\",\"flavor\":\"caf\xc3\xa9\",\"min\":1,\"max\":1}",
    "{\"name\":\"web\",\"min\":1}",
};
static const char *const states[] = {"building", "active", "active", "active", "draining",
                                     "failed", "deleting", "exploded", ""};
static const char *const odd_nodes[] = {
    "{\"state\":5}", "{\"name\":\"n\"}", "{\"state\":\"act\\u0069ve\"}",
    "{\"x\":{\"state\":\"active\"},\"state\":\"failed\"}", "{\"state\":\"active\"",
    "{\"state\":\"building\",\"state\":\"failed\"}", "not json",
};
static const char *const odd_keys[] = {
    "autoscale.node.nospec.n1", "autoscale.node.web", "autoscale.node..x",
    "autoscale.node.qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq.n", "autoscale.incident.nospec.i",
    "autoscale.lease.nospec", "autoscale.event.web-2.x", "autoscale.nodes.g0001.x",
};

static void spec_record(char *buf, size_t size, const char *name)
{
    if (!pick(12)) {
        size_t n = 0;
        for (const char *p = ONE_OF(odd_specs); *p && n + 40 < size; p++)
            if (*p == '$')
                n += (size_t)snprintf(buf + n, size - n, "%s", name);
            else
                buf[n++] = *p;
        buf[n] = '\0';
        return;
    }
    int n = snprintf(buf, size, "{\"name\":\"%s\"", name);
    static const char *const fields[] = {"min", "max", "desired", "scale_out_step",
                                         "scale_out_cooldown", "scale_in_step",
                                         "scale_in_cooldown", "warning_step",
                                         "incident_max_age"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (pick(2))
            n += snprintf(buf + n, size - (size_t)n, ",\"%s\":%s", fields[i],
                          i < 2 && pick(4) ? (const char *[]){"0", "2", "3", "9", "20"}[pick(5)]
                                           : ONE_OF(ints));
    /* health and controls: 0/1 flags, min_healthy, a forced resize */
    static const char *const flags[] = {"health_replace", "suspend_scale_out",
                                        "suspend_scale_in", "suspend_replace"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (!pick(4))
            n += snprintf(buf + n, size - (size_t)n, ",\"%s\":%s", flags[i],
                          pick(2) ? "0" : "1");
    if (pick(2))
        n += snprintf(buf + n, size - (size_t)n, ",\"min_healthy\":%s",
                      (const char *[]){"-1", "0", "2", "5", "25"}[pick(5)]);
    if (!pick(4))
        n += snprintf(buf + n, size - (size_t)n, ",\"forced_at\":%s",
                      pick(4) ? (const char *[]){"1699999000", "1699990000", "1700000050",
                                                 "1699996000"}[pick(4)]
                              : ONE_OF(ints));
    if (pick(3))
        n += snprintf(buf + n, size - (size_t)n, ",\"compute_provider\":\"local\"");
    snprintf(buf + n, size - (size_t)n, ",\"status\":\"%s\",\"created_at\":1}",
             pick(8) ? "active" : "deleting");
}

static void group(struct ds *ds, const char *g)
{
    char key[KEY_MAX], value[1024];
    spec_record(value, sizeof value, g);
    snprintf(key, sizeof key, "autoscale.spec.%s", g);
    put(ds, key, value, 0);
    for (unsigned i = 0, n = pick(14); i < n; i++) {
        snprintf(key, sizeof key, "autoscale.node.%s.%s-n%02u", g, g, i);
        if (pick(10))
            snprintf(value, sizeof value, "{\"name\":\"%s-n%02u\",\"group\":\"%s\",\"state\":\"%s\"}",
                     g, i, g, ONE_OF(states));
        else
            snprintf(value, sizeof value, "%s", ONE_OF(odd_nodes));
        put(ds, key, value, 0);
    }
    /* health and protection: of the nodes above and of nodes not there
     * (up to 16), some unreadable, some expired by the tick */
    static const char *const health[] = {
        "{\"status\":\"unhealthy\",\"failures\":3}", "{\"status\":\"unhealthy\"}",
        "{\"node\":\"x\",\"status\":\"healthy\"}", "{\"status\":\"grace\"}",
        "{\"status\":\"unhe\\u0061lthy\",\"reason\":\"caf\u00e9\"}", "not json",
        "{\"status\":5}", "{\"reason\":\"a \\\"quote\\\"\",\"status\":\"unhealthy\"}",
    };
    for (unsigned i = 0, n = pick(3) ? 0 : pick(17); i < n; i++) {
        snprintf(key, sizeof key, "autoscale.health.%s.%s-n%02u", g, g, pick(16));
        put(ds, key, ONE_OF(health), pick(6) ? 0 : 10);
    }
    for (unsigned i = 0, n = pick(3) ? 0 : pick(8); i < n; i++) {
        snprintf(key, sizeof key, "autoscale.protect.%s.%s-n%02u", g, g, pick(16));
        put(ds, key, pick(6) ? "{\"node\":\"x\",\"at\":1}" : "not json", pick(6) ? 0 : 10);
    }
    for (unsigned i = 0, n = pick(3) ? 0 : 1 + pick(3); i < n; i++) {
        snprintf(key, sizeof key, "autoscale.incident.%s.i%u", g, i);
        snprintf(value, sizeof value,
                 "{\"id\":\"i%u\",\"state\":\"%s\",\"severity\":\"%s\",\"opened_at\":%lld%s}", i,
                 pick(3) ? "open" : "closed", pick(2) ? "critical" : "warning",
                 pick(10) ? T0 - (long long)pick(30000) : 0,
                 pick(2) ? "" : ",\"closed_at\":1699999000,\"title\":\"disk \\u00e9\"");
        put(ds, key, value, 0);
    }
    for (unsigned i = 0, n = pick(3); i < n; i++) {
        snprintf(key, sizeof key, "autoscale.event.%s.%012lld-scale_out-%u", g, T0 - i, i);
        snprintf(value, sizeof value, "{\"op\":\"%s\",\"at\":%lld,\"count\":2}",
                 (const char *[]){"scale_out", "scale_in", "replace"}[pick(3)],
                 T0 - (long long)pick(4000));
        put(ds, key, value, pick(5) ? 0 : 10); /* some expired by the tick */
    }
    /* a lease, or two keys of one (st2's claim candidates): the last counts */
    for (unsigned i = 0, n = pick(6) ? 0 : 1 + pick(2); i < n; i++) {
        snprintf(key, sizeof key, "autoscale.lease.%s%s", g, pick(2) ? "" : ".00000000deadbeef");
        snprintf(value, sizeof value, "{\"op\":\"%s\",\"at\":%lld,\"expires_at\":%lld}",
                 (const char *[]){"scale_out", "scale_in", "replace"}[pick(3)],
                 T0 - (long long)pick(4000),
                 T0 + (long long)pick(400) - 100); /* held at T0 + 100, or not */
        put(ds, key, value, pick(4) ? 600 : 10);
    }
}

static void world(struct fixture *f, uint64_t seed, int groups)
{
    static const char *const named[] = {"web", "web-2", "web2", "a-b", "a", "api-1"};
    char g[32];
    rng = seed;
    for (int i = 0; i < groups; i++) {
        if (pick(8))
            snprintf(g, sizeof g, "g%04d", i);
        else
            snprintf(g, sizeof g, "%s", ONE_OF(named));
        group(f->ds, g);
    }
    for (size_t i = 0; i < sizeof odd_keys / sizeof odd_keys[0]; i++)
        put(f->ds, odd_keys[i], "{\"state\":\"active\",\"op\":\"scale_in\",\"at\":5}", 0);
    later(f);
}

/* ---- the reference: the tick as it was built before 0.9 ---- */

static struct json_object *decision(const char *group, const struct gov_input *in,
                                    const struct gov_decision *d)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", group);
    jx_add_str(o, "action", gov_action_name(d->action));
    jx_add_str(o, "code", d->code);
    jx_add_int(o, "count", d->count);
    jx_add_int(o, "remove", d->remove);
    jx_add_int(o, "capacity_before", d->capacity_before);
    jx_add_int(o, "capacity_after", d->capacity_after);
    jx_add_str(o, "alert", gov_severity_name(in->alert));
    jx_add_str(o, "reason", d->reason);
    jx_add_str(o, "lease_id", NULL);
    return o;
}

/* Health and protection as asg_state_load() reads them for one group
 * (health_load, controls_load_protected, the node records) through
 * governor_input_from_state(), into in read from asg_state_load_all's
 * counts. Not asg_state_load() itself: the group may be one whose spec
 * only another key holds (an odd spec above). */
static int join_health(struct ds *ds, const char *group, long long now,
                       struct gov_input *in)
{
    struct asg_state each = {0};
    struct as_error err = {0};
    struct ds_list l = {0};
    char prefix[KEY_MAX];
    group_init(&each.spec, group);
    each.nodes = jx_new_array();
    each.incidents = jx_new_array();
    each.events = jx_new_array();
    if (ds_list(ds, key_node_prefix(prefix, group), &l, &err) < 0 ||
        health_load(ds, group, &each.health, &err) < 0 ||
        controls_load_protected(ds, group, &each.protect, &err) < 0) {
        ds_list_clear(&l);
        asg_state_clear(&each);
        return -1;
    }
    for (size_t i = 0; i < l.count; i++) {
        struct json_object *rec = jx_parse_record(l.items[i].value);
        if (rec)
            json_object_array_add(each.nodes, rec);
    }
    ds_list_clear(&l);
    struct gov_input joined;
    governor_input_from_state(&each, now, &joined);
    in->active -= joined.unhealthy;
    in->unhealthy = joined.unhealthy;
    in->protected_capacity = joined.protected_capacity;
    asg_state_clear(&each);
    return 0;
}

static int by_state_name(const void *name, const void *st)
{
    return strcmp(name, ((const struct asg_state *)st)->spec.name);
}

static char *reference(struct ds *ds, const char *name, long long now)
{
    struct asg_state one, *st = &one;
    size_t n = 1;
    long long acting = 0;
    struct as_error err = {0};
    if ((name ? asg_state_load(ds, name, &one, &err) : asg_state_load_all(ds, &st, &n, &err)) < 0)
        return xasprintf("error %s", err.code);
    struct json_object *list = jx_new_array();
    for (size_t i = 0; i < n; i++) {
        struct gov_input in;
        struct gov_decision d;
        if (strcmp(st[i].spec.status, "active") != 0)
            continue;
        governor_input_from_state(&st[i], now, &in);
        /* asg_state_load_all finds a record's group by binary search over
         * the specs in key order: a group it cannot find (odd specs out of
         * order) gets no records, and no health either */
        if (!name && bsearch(st[i].spec.name, st, n, sizeof *st, by_state_name) == &st[i] &&
            join_health(ds, st[i].spec.name, now, &in) < 0)
            return xstrdup("error joining health");
        governor_decide(&in, &d);
        acting += d.action != GOV_NONE;
        json_object_array_add(list, decision(st[i].spec.name, &in, &d));
    }
    if (name)
        asg_state_clear(&one);
    else
        asg_state_free_all(st, n);
    struct json_object *doc = jx_new_object();
    jx_add_int(doc, "evaluated", (long long)n);
    jx_add_int(doc, "acting", acting);
    jx_add_bool(doc, "dry_run", true);
    jx_add_int(doc, "now", now);
    json_object_object_add(doc, "decisions", list);
    json_object_object_add(doc, "notices", jx_new_array()); /* a dry run's */
    char *text = xstrdup(json_object_to_json_string_ext(doc, FLAGS));
    json_object_put(doc);
    return text;
}

static char *tick(struct ds *ds, const char *name, bool act, long long now)
{
    struct gov_tick t = {.name = name, .act = act, .lease_ttl = 1800};
    struct json_object *out = NULL;
    struct as_error err = {0};
    if (gov_tick_run(ds, &t, now, &out, &err) < 0)
        return xasprintf("error %s", err.code);
    char *text = xstrdup(json_object_to_json_string_ext(out, FLAGS));
    json_object_put(out);
    return text;
}

static void assert_same(const char *what, char *got, char *want)
{
    if (strcmp(got, want) != 0) {
        size_t i = 0;
        while (got[i] && got[i] == want[i])
            i++;
        fail_msg("%s differs at byte %zu:\n got  ...%.160s\n want ...%.160s", what, i,
                 got + (i > 40 ? i - 40 : 0), want + (i > 40 ? i - 40 : 0));
    }
    free(got);
    free(want);
}

/* ---- the tests ---- */

static void test_dry_run_as_reference(void **state)
{
    struct fixture *f = *state;
    int groups = f->fake ? 120 : 600;
    world(f, 0x5eed0001, groups);
    const long long nows[] = {T0 + 100, T0 + 100000, T0 - 50000};
    for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "tick at %lld", nows[i]);
        assert_same(what, tick(f->ds, NULL, false, nows[i]), reference(f->ds, NULL, nows[i]));
    }
    /* the world reaches the rules of health and controls */
    char *text = tick(f->ds, NULL, false, T0 + 100);
    const char *codes[] = {"replace", "suspended", "forced", "below_min"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"code\":\"%s\"", codes[i]);
        if (!strstr(text, want))
            fail_msg("no decision coded %s in the world", codes[i]);
    }
    free(text);
    const char *names[] = {"web", "web-2", "g0003", "g0004", "nospec", "a-b"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_same(names[i], tick(f->ds, names[i], false, T0 + 100),
                    reference(f->ds, names[i], T0 + 100));
}

/* Seeds of every size, the embedded store only (st2's is slower to fill). */
static void test_many_worlds(void **state)
{
    struct fixture *f = *state;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        ds_close(f->ds);
        remove(f->path);
        f->ds = open_embedded(f, "1700000000");
        world(f, seed * 0x9e3779b97f4a7c15ULL, (int)(seed * seed * 3));
        char what[64];
        snprintf(what, sizeof what, "world %llu", (unsigned long long)seed);
        assert_same(what, tick(f->ds, NULL, false, T0 + 100), reference(f->ds, NULL, T0 + 100));
    }
}

static void test_empty_store(void **state)
{
    struct fixture *f = *state;
    char *got = tick(f->ds, NULL, false, T0);
    assert_string_equal(got, "{\"evaluated\":0,\"acting\":0,\"dry_run\":true,\"now\":"
                             "1700000000,\"decisions\":[],\"notices\":[]}");
    free(got);
    assert_same("empty", tick(f->ds, NULL, false, T0), reference(f->ds, NULL, T0));
    got = tick(f->ds, "web", false, T0);
    assert_string_equal(got, "error unknown_group");
    free(got);
}

/* Four groups: two to scale, one whose lease record says expired while its
 * key still lives (so the governor decides, and the lease is found taken),
 * one at rest. Acting takes the two leases and prints their ids; the next
 * tick finds them held. */
static void test_acting(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"a", "b", "c", "d"};
    char key[KEY_MAX], value[256];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "autoscale.spec.%s", names[i]);
        snprintf(value, sizeof value, "{\"name\":\"%s\",\"min\":%d,\"max\":9}", names[i],
                 i == 3 ? 0 : 2);
        put(f->ds, key, value, 0);
    }
    put(f->ds, "autoscale.lease.c", "{\"op\":\"scale_out\",\"at\":1,\"expires_at\":2}", 600);

    char *text = tick(f->ds, NULL, true, T0 + 10);
    struct json_object *doc = json_tokener_parse(text);
    assert_non_null(doc);
    assert_int_equal(jx_int(doc, "acting", -1), 2);
    assert_false(jx_bool(doc, "dry_run", true));
    struct json_object *list = jx_arr(doc, "decisions");
    assert_int_equal(json_object_array_length(list), 4);
    for (int i = 0; i < 4; i++) {
        struct json_object *d = json_object_array_get_idx(list, i);
        const char *lease = jx_str(d, "lease_id", NULL);
        assert_string_equal(jx_str(d, "group", ""), names[i]);
        if (i < 2) {
            assert_string_equal(jx_str(d, "action", ""), "scale_out");
            assert_non_null(lease);
            struct as_error err = {0};
            snprintf(key, sizeof key, "autoscale.lease.%s", names[i]);
            struct ds_list l = {0};
            assert_int_equal(ds_list(f->ds, key, &l, &err), 0);
            assert_int_equal(l.count, 1);
            assert_non_null(strstr(l.items[0].value, lease));
            ds_list_clear(&l);
        } else {
            assert_string_equal(jx_str(d, "action", ""), "none");
            assert_null(lease);
        }
    }
    assert_non_null(strstr(jx_str(json_object_array_get_idx(list, 2), "reason", ""),
                           "another operation took the group's lease first"));
    json_object_put(doc);
    free(text);

    text = tick(f->ds, NULL, true, T0 + 20);
    doc = json_tokener_parse(text);
    assert_int_equal(jx_int(doc, "acting", -1), 0);
    for (int i = 0; i < 3; i++) /* c's own record still says it expired */
        assert_non_null(strstr(jx_str(json_object_array_get_idx(jx_arr(doc, "decisions"), i),
                                      "reason", ""),
                               i < 2 ? "lease held" : "took the group's lease first"));
    json_object_put(doc);
    free(text);
}

/* The decision for `name` in a tick's document (borrowed from doc). */
static struct json_object *decision_of(struct json_object *doc, const char *name)
{
    struct json_object *list = jx_arr(doc, "decisions");
    for (size_t i = 0; list && i < json_object_array_length(list); i++)
        if (strcmp(jx_str(json_object_array_get_idx(list, i), "group", ""), name) == 0)
            return json_object_array_get_idx(list, i);
    fail_msg("no decision for %s", name);
    return NULL;
}

/* Target tracking and schedules through both readers (every group:
 * governor_load.c's walks; one group: gov_input_load_extras): the samples
 * stored reach the governor, which prints its formula; a schedule in force
 * bounds the decision and is named; a group that stopped tracking ignores
 * the samples it left; a sample that failed holds. */
static void test_metric_and_schedule(void **state)
{
    struct fixture *f = *state;
    /* m: 3 nodes at 90 per node against 50 -> ceil(3 x 90 / 50) = 6 */
    put(f->ds, "autoscale.spec.m",
        "{\"name\":\"m\",\"min\":1,\"max\":10,\"scale_out_step\":10,"
        "\"scale_out_cooldown\":0,\"metric_source\":\"prometheus\","
        "\"metric_query\":\"up\",\"target_value\":50}", 0);
    /* s: no metric; a schedule raising min to 4 from a minute past */
    put(f->ds, "autoscale.spec.s", "{\"name\":\"s\",\"min\":1,\"max\":10}", 0);
    /* h: tracking, but its newest sample failed */
    put(f->ds, "autoscale.spec.h",
        "{\"name\":\"h\",\"min\":1,\"max\":10,\"scale_in_cooldown\":0,"
        "\"metric_source\":\"prometheus\",\"metric_query\":\"up\",\"target_value\":50}",
        0);
    for (int i = 0; i < 3; i++) {
        char key[KEY_MAX], value[128];
        const char *g[] = {"m", "h", "s"};
        for (int j = 0; j < 3; j++) {
            snprintf(key, sizeof key, "autoscale.node.%s.%s-%d", g[j], g[j], i);
            snprintf(value, sizeof value, "{\"name\":\"%s-%d\",\"state\":\"active\"}",
                     g[j], i);
            put(f->ds, key, value, 0);
        }
    }
    put(f->ds, "autoscale.samples.m",
        "{\"group\":\"m\",\"samples\":[{\"at\":1700000000,\"value\":40,\"nodes\":3},"
        "{\"at\":1700000030,\"value\":90,\"nodes\":3}]}", 0);
    put(f->ds, "autoscale.samples.h",
        "{\"group\":\"h\",\"samples\":[{\"at\":1700000000,\"value\":5,\"nodes\":3},"
        "{\"at\":1700000030,\"error\":\"metric_unavailable\"}]}", 0);
    /* s's samples are nobody's: s tracks no target */
    put(f->ds, "autoscale.samples.s",
        "{\"group\":\"s\",\"samples\":[{\"at\":1700000030,\"value\":900,\"nodes\":3}]}",
        0);
    put(f->ds, "autoscale.schedule.s.peak",
        "{\"name\":\"peak\",\"group\":\"s\",\"start\":\"* * * * *\","
        "\"time_zone\":\"UTC\",\"min\":4}", 0);

    for (int one = 0; one < 2; one++) {
        const char *names[] = {"m", "s", "h"};
        for (int i = 0; i < 3; i++) {
            char *text = tick(f->ds, one ? names[i] : NULL, false, T0 + 40);
            struct json_object *doc = json_tokener_parse(text);
            assert_non_null(doc);
            struct json_object *d = decision_of(doc, names[i]), *m = NULL;
            if (i == 0) {
                assert_string_equal(jx_str(d, "code", ""), "metric_out");
                assert_int_equal(jx_int(d, "count", 0), 3);
                assert_true(json_object_object_get_ex(d, "metric", &m));
                assert_string_equal(jx_str(m, "formula", ""), "ceil(3 x 90 / 50) = 6");
                assert_int_equal(jx_int(m, "scale_out_recommendation", 0), 6);
                /* the older sample (40 on 3 nodes: 20% under, outside the
                 * tolerance) recommends ceil(3 x 40 / 50) = 3; the highest of
                 * the scale-in window is still the newest's 6 */
                assert_int_equal(jx_int(m, "scale_in_recommendation", 0), 6);
                assert_false(json_object_object_get_ex(d, "schedule", NULL));
            } else if (i == 1) {
                assert_string_equal(jx_str(d, "code", ""), "below_min");
                assert_int_equal(jx_int(d, "count", 0), 1);
                assert_string_equal(jx_str(d, "schedule", ""), "peak");
                assert_false(json_object_object_get_ex(d, "metric", NULL));
            } else {
                assert_string_equal(jx_str(d, "code", ""), "metric_hold");
                assert_string_equal(jx_str(d, "action", ""), "none");
                assert_true(json_object_object_get_ex(d, "metric", &m));
                assert_true(jx_bool(m, "held", false));
            }
            json_object_put(doc);
            free(text);
            if (!one)
                break; /* every group's tick: the three in one document */
        }
        if (!one) { /* the same document holds all three: check s and h too */
            char *text = tick(f->ds, NULL, false, T0 + 40);
            struct json_object *doc = json_tokener_parse(text);
            assert_string_equal(jx_str(decision_of(doc, "s"), "schedule", ""), "peak");
            assert_string_equal(jx_str(decision_of(doc, "h"), "code", ""), "metric_hold");
            json_object_put(doc);
            free(text);
        }
    }
}

static size_t count_keys(struct ds *ds, const char *prefix)
{
    struct ds_list l = {0};
    struct as_error err = {0};
    if (ds_list(ds, prefix, &l, &err) < 0)
        fail_msg("list %s: %s", prefix, err.code);
    size_t n = l.count;
    ds_list_clear(&l);
    return n;
}

/* A replacement takes the lease as "replace" and prints its remove; acting
 * keeps each decision in the group's history (once while it repeats) and
 * prints the notices; a dry run writes nothing and notices nothing. */
static void test_acting_history_and_replace(void **state)
{
    struct fixture *f = *state;
    put(f->ds, "autoscale.spec.r", "{\"name\":\"r\",\"min\":2,\"max\":9}", 0);
    put(f->ds, "autoscale.spec.x", "{\"name\":\"x\",\"min\":1,\"max\":2}", 0);
    for (int i = 1; i <= 3; i++) {
        char key[KEY_MAX], value[128];
        snprintf(key, sizeof key, "autoscale.node.r.r-n%d", i);
        snprintf(value, sizeof value, "{\"name\":\"r-n%d\",\"state\":\"active\"}", i);
        put(f->ds, key, value, 0);
        snprintf(key, sizeof key, "autoscale.node.x.x-n%d", i);
        snprintf(value, sizeof value, "{\"name\":\"x-n%d\",\"state\":\"%s\"}", i,
                 i < 3 ? "active" : "failed");
        put(f->ds, key, value, 0);
    }
    put(f->ds, "autoscale.health.r.r-n3", "{\"node\":\"r-n3\",\"status\":\"unhealthy\"}", 0);
    put(f->ds, "autoscale.protect.r.r-n1", "{\"node\":\"r-n1\",\"at\":1}", 0);
    put(f->ds, "autoscale.incident.x.i1",
        "{\"id\":\"i1\",\"state\":\"open\",\"severity\":\"critical\",\"opened_at\":1700000000}", 0);

    char *text = tick(f->ds, NULL, false, T0 + 10);
    assert_non_null(strstr(text, "\"notices\":[]}"));
    assert_non_null(strstr(text, "\"group\":\"r\",\"action\":\"replace\",\"code\":\"replace\","
                                 "\"count\":1,\"remove\":1,\"capacity_before\":2,"
                                 "\"capacity_after\":3"));
    free(text);
    assert_int_equal(count_keys(f->ds, "autoscale.history."), 0);
    assert_int_equal(count_keys(f->ds, "autoscale.lease."), 0);

    text = tick(f->ds, NULL, true, T0 + 10);
    struct json_object *doc = json_tokener_parse(text);
    assert_non_null(doc);
    struct json_object *r = json_object_array_get_idx(jx_arr(doc, "decisions"), 0),
                       *x = json_object_array_get_idx(jx_arr(doc, "decisions"), 1);
    assert_string_equal(jx_str(r, "action", ""), "replace");
    assert_int_equal(jx_int(r, "remove", -1), 1);
    assert_non_null(strstr(jx_str(r, "lease_id", ""), "-replace-"));
    assert_string_equal(jx_str(x, "code", ""), "alert_at_max");
    struct json_object *notices = jx_arr(doc, "notices");
    assert_int_equal(json_object_array_length(notices), 2);
    for (size_t i = 0; i < 2; i++) {
        struct json_object *n = json_object_array_get_idx(notices, i);
        assert_string_equal(jx_str(n, "group", ""), "x");
        assert_string_equal(jx_str(n, "event", ""),
                            i == 0 ? "alert_opened" : "capacity_exhausted");
    }
    struct as_error err = {0};
    struct ds_list l = {0};
    assert_int_equal(ds_list(f->ds, "autoscale.lease.r", &l, &err), 0);
    assert_int_equal(l.count, 1);
    assert_non_null(strstr(l.items[0].value, "\"op\":\"replace\""));
    ds_list_clear(&l);
    assert_int_equal(count_keys(f->ds, "autoscale.history.r."), 1);
    assert_int_equal(count_keys(f->ds, "autoscale.history.x."), 1);
    json_object_put(doc);
    free(text);

    /* again: r's lease is held (a new code: kept), x repeats itself (not) */
    text = tick(f->ds, NULL, true, T0 + 20);
    doc = json_tokener_parse(text);
    assert_non_null(doc);
    r = json_object_array_get_idx(jx_arr(doc, "decisions"), 0);
    assert_string_equal(jx_str(r, "code", ""), "lease_held");
    assert_int_equal(json_object_array_length(jx_arr(doc, "notices")), 0);
    assert_int_equal(count_keys(f->ds, "autoscale.history.r."), 2);
    assert_int_equal(count_keys(f->ds, "autoscale.history.x."), 1);
    json_object_put(doc);
    free(text);
}

/* A store whose atomic create fails after `creates` successes: the tick
 * fails on the next lease it takes and must give back those it took. */
struct failing {
    struct ds ds;
    struct ds *inner;
    int creates;
};

static struct ds *inner(struct ds *ds) { return ((struct failing *)ds->impl)->inner; }

static int f_get(struct ds *ds, const char *k, char **v, struct as_error *e)
{
    return ds_get(inner(ds), k, v, e);
}
static int f_put(struct ds *ds, const char *k, const char *v, long t, struct as_error *e)
{
    return ds_put(inner(ds), k, v, t, e);
}
static int f_del(struct ds *ds, const char *k, struct as_error *e)
{
    return ds_del(inner(ds), k, e);
}
static int f_list(struct ds *ds, const char *p, struct ds_list *l, struct as_error *e)
{
    return ds_list(inner(ds), p, l, e);
}
static int f_create(struct ds *ds, const char *k, const char *v, long t, struct as_error *e)
{
    struct failing *f = ds->impl;
    if (f->creates-- <= 0)
        return as_fail(e, AS_EXIT_FAILURE, "datastore_error", "injected failure");
    return ds_create(f->inner, k, v, t, e);
}
static void f_close(struct ds *ds) { (void)ds; }

static const struct ds_ops failing_ops = {
    .name = "failing", .get = f_get, .put = f_put, .del = f_del, .list = f_list,
    .close = f_close, .create = f_create,
};

static void test_failure_gives_leases_back(void **state)
{
    struct fixture *f = *state;
    char key[KEY_MAX];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "autoscale.spec.g%d", i);
        char value[96];
        snprintf(value, sizeof value, "{\"name\":\"g%d\",\"min\":3,\"max\":9}", i);
        put(f->ds, key, value, 0);
    }
    struct failing fl = {.ds = {&failing_ops, &fl}, .inner = f->ds, .creates = 2};
    struct gov_tick t = {.act = true, .lease_ttl = 600};
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(gov_tick_run(&fl.ds, &t, T0, &out, &err), -1);
    assert_null(out);
    assert_string_equal(err.code, "datastore_error");
    assert_int_equal(fl.creates, -1); /* two taken, the third refused */
    struct ds_list l = {0};
    assert_int_equal(ds_list(f->ds, "autoscale.lease.", &l, &err), 0);
    assert_int_equal(l.count, 0);
    ds_list_clear(&l);
}

#define E(fn) cmocka_unit_test_setup_teardown(fn, setup_embedded, teardown)
#define S(fn) cmocka_unit_test_setup_teardown(fn, setup_st2, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        E(test_dry_run_as_reference), S(test_dry_run_as_reference),
        E(test_many_worlds),
        E(test_empty_store),          S(test_empty_store),
        E(test_acting),
        E(test_metric_and_schedule),
        S(test_metric_and_schedule),               S(test_acting),
        E(test_acting_history_and_replace), S(test_acting_history_and_replace),
        E(test_failure_gives_leases_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
