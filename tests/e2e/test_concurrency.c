/* End-to-end tests of one writer per group (docs/datastore.md, "One writer:
 * leases and spec locks") with real, parallel action processes, on both
 * datastores: the embedded SQLite file, and the st2 keys API (the fake,
 * which orders requests as st2's MongoDB primary would).
 *
 *  - many governor_tick --act at once (the sensor's way, and asg_create's
 *    --name=<group> way, mixed): per trial exactly one lease is held for the
 *    group and exactly one caller reports it; the others report "none";
 *  - 9 asg_update of different fields at once: all 9 changes stay;
 *  - 10 asg_define of the same spec at once: exactly one reports created;
 *  - st2 answering 500 (or dropping the connection) after committing a lease
 *    write: the tick resolves it (the lease taken, or cleanly not), and the
 *    group is never left blocked by a lease nobody dispatched. */
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
#include "claim.h"
#include "datastore.h"
#include "fake_st2.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "store_fixture.h"

#define TOKEN "tok-concurrency-4c1d"
#define TICKERS 10
#define TICK_TRIALS 50
#define UPDATE_TRIALS 10
#define DEFINE_TRIALS 10
#define DEFINERS 10
#define MAX_PROCS 16

struct world {
    struct store_fixture fs; /* embedded: the store; st2: only its temp dir */
    struct fake_st2 *st2;    /* NULL: embedded */
    char url[128];
    const char *env[4];
    struct ds *ds; /* the test's own handle on the same store */
};

static int setup_embedded(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    if (store_fixture_open(&w->fs, "as-conc") < 0)
        return -1;
    w->env[0] = w->fs.env_db;
    w->env[1] = "AUTOSCALE_LOG_LEVEL=error";
    w->ds = store_open(&w->fs);
    *state = w;
    return 0;
}

static int setup_st2(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    struct as_error err;
    if (store_fixture_open(&w->fs, "as-conc") < 0 || !(w->st2 = fake_st2_start(TOKEN, NULL)))
        return -1;
    snprintf(w->url, sizeof w->url, "ST2_ACTION_API_URL=%s", fake_st2_url(w->st2));
    w->env[0] = w->url;
    w->env[1] = "ST2_ACTION_AUTH_TOKEN=" TOKEN;
    w->env[2] = "AUTOSCALE_LOG_LEVEL=error";
    struct ds_st2_config cfg = {.base_url = fake_st2_url(w->st2), .auth_token = TOKEN};
    if (!(w->ds = ds_open_st2(&cfg, &err)))
        fail_msg("ds_open_st2: %s", err.message);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    ds_close(w->ds);
    fake_st2_stop(w->st2);
    store_fixture_close(&w->fs);
    free(w);
    return 0;
}

/* Run count actions at once: all started before any is waited for. */
static void run_parallel(struct world *w, int count, const char *const names[],
                         const char *const *args[], struct action_result r[])
{
    pid_t pid[MAX_PROCS];
    int out[MAX_PROCS], err[MAX_PROCS];
    for (int i = 0; i < count; i++)
        pid[i] = action_start(names[i], args[i], w->env, &out[i], &err[i]);
    for (int i = 0; i < count; i++)
        action_wait(pid[i], out[i], err[i], &r[i]);
}

static void run_ok(struct world *w, const char *name, const char *const *args)
{
    struct action_result r;
    if (action_run(name, args, w->env, &r) != 0)
        fail_msg("%s: exit %d: %s %s", name, r.status, r.out, r.err);
    action_result_free(&r);
}

static void define(struct world *w, const char *group, const char *min)
{
    char name[64], minarg[32];
    snprintf(name, sizeof name, "--name=%s", group);
    snprintf(minarg, sizeof minarg, "--min=%s", min);
    const char *args[] = {"--compute_provider=local", name, minarg, NULL};
    run_ok(w, "asg_define", args);
}

/* The keys of the group's lease claim, whatever their layout. */
static size_t lease_keys(struct world *w, const char *group, char *id, size_t idsz)
{
    char base[KEY_MAX];
    struct ds_list l = {0};
    struct as_error err;
    if (claim_list(w->ds, key_lease(base, group), &l, &err) < 0)
        fail_msg("claim_list: %s", err.message);
    if (id) {
        struct json_object *o = l.count ? jx_parse_record(l.items[0].value) : NULL;
        snprintf(id, idsz, "%s", jx_str(o, "id", ""));
        json_object_put(o);
    }
    size_t n = l.count;
    for (size_t i = 0; i < l.count; i++)
        if (ds_del(w->ds, l.items[i].name, &err) < 0)
            fail_msg("ds_del: %s", err.message);
    ds_list_clear(&l);
    return n;
}

/* A tick's decision for group, or NULL. */
static struct json_object *decision(const struct action_result *r, const char *group)
{
    struct json_object *ds = jx_arr(r->json, "decisions");
    for (size_t i = 0; i < json_object_array_length(ds); i++) {
        struct json_object *d = json_object_array_get_idx(ds, i);
        if (strcmp(jx_str(d, "group", ""), group) == 0)
            return d;
    }
    return NULL;
}

/* The lease id a tick's output reports for group, "" when none. */
static const char *reported_lease(const struct action_result *r, const char *group)
{
    return jx_str(decision(r, group), "lease_id", "");
}

/* TICKERS ticks at once against a group that wants to scale out: half as
 * the sensor runs it (every group), half as asg_create does (--name). Every
 * trial ends with the lease of the one reporter, and only that, held. */
static void test_parallel_ticks_one_lease(void **state)
{
    struct world *w = *state;
    const char *all[] = {"--act", NULL}, *one[] = {"--name=web", "--act", NULL};
    const char *names[TICKERS];
    const char *const *args[TICKERS];
    int doubles = 0, none = 0;

    define(w, "web", "2");
    for (int i = 0; i < TICKERS; i++) {
        names[i] = "governor_tick";
        args[i] = i % 2 ? one : all;
    }
    for (int trial = 0; trial < TICK_TRIALS; trial++) {
        struct action_result r[TICKERS];
        char held[LEASE_ID_MAX + 8], reporter[LEASE_ID_MAX + 8] = "";
        int reporters = 0;
        run_parallel(w, TICKERS, names, args, r);
        for (int i = 0; i < TICKERS; i++) {
            if (r[i].status != 0)
                fail_msg("trial %d: tick %d: exit %d: %s %s", trial, i, r[i].status,
                         r[i].out, r[i].err);
            const char *id = reported_lease(&r[i], "web");
            if (*id) {
                reporters++;
                snprintf(reporter, sizeof reporter, "%s", id);
            } else if (strcmp(jx_str(decision(&r[i], "web"), "action", ""), "none") != 0) {
                fail_msg("trial %d: tick %d decided %s without a lease", trial, i,
                         jx_str(decision(&r[i], "web"), "action", "(no decision)"));
            }
            action_result_free(&r[i]);
        }
        size_t holders = lease_keys(w, "web", held, sizeof held); /* and reset */
        doubles += holders > 1 || reporters > 1;
        none += reporters == 0;
        if (holders != 1 || reporters != 1 || strcmp(held, reporter) != 0)
            fail_msg("trial %d: %zu lease key(s), %d caller(s) reported a lease "
                     "(held %s, reported %s); %d double trial(s) so far",
                     trial, holders, reporters, held, reporter, doubles);
    }
    assert_int_equal(doubles, 0);
    assert_int_equal(none, 0);
}

/* Nine updates of nine different fields at once: each is a read-modify-
 * write of the one spec key, so without serialisation some are lost. */
static void test_parallel_updates_lose_nothing(void **state)
{
    struct world *w = *state;
    static const struct {
        const char *field, *value;
    } changes[] = {
        {"min", "2"},           {"max", "30"},
        {"desired", "5"},       {"scale_out_step", "7"},
        {"scale_out_cooldown", "601"}, {"scale_in_step", "3"},
        {"scale_in_cooldown", "1801"}, {"warning_step", "2"},
        {"incident_max_age", "3601"},
    };
    enum { N = sizeof changes / sizeof changes[0] };

    for (int trial = 0; trial < UPDATE_TRIALS; trial++) {
        char group[32], name[48], argbuf[N][64], key[KEY_MAX], *text = NULL;
        const char *names[N], *argv[N][3];
        const char *const *args[N];
        struct action_result r[N];
        struct as_error err;

        snprintf(group, sizeof group, "up%d", trial);
        snprintf(name, sizeof name, "--name=%s", group);
        define(w, group, "3");
        for (int i = 0; i < N; i++) {
            snprintf(argbuf[i], sizeof argbuf[i], "--%s=%s", changes[i].field,
                     changes[i].value);
            argv[i][0] = name;
            argv[i][1] = argbuf[i];
            argv[i][2] = NULL;
            names[i] = "asg_update";
            args[i] = argv[i];
        }
        run_parallel(w, N, names, args, r);
        for (int i = 0; i < N; i++) {
            if (r[i].status != 0)
                fail_msg("trial %d: update %s: exit %d: %s", trial, changes[i].field,
                         r[i].status, r[i].out);
            action_result_free(&r[i]);
        }
        if (ds_get(w->ds, key_spec(key, group), &text, &err) != 0)
            fail_msg("trial %d: no spec", trial);
        struct json_object *spec = jx_parse_record(text);
        free(text);
        int kept = 0;
        char lost[256] = "";
        for (int i = 0; i < N; i++) {
            if (jx_int(spec, changes[i].field, -2) == atoll(changes[i].value))
                kept++;
            else
                snprintf(lost + strlen(lost), sizeof lost - strlen(lost), " %s",
                         changes[i].field);
        }
        json_object_put(spec);
        if (kept != N)
            fail_msg("trial %d: %d of %d changes kept; lost:%s", trial, kept, N, lost);
    }
}

/* Ten defines of the same new group at once: one creates it, nine find it
 * identical (created false); none fails. */
static void test_parallel_defines_create_once(void **state)
{
    struct world *w = *state;
    for (int trial = 0; trial < DEFINE_TRIALS; trial++) {
        char name[48];
        const char *names[DEFINERS];
        const char *const *args[DEFINERS];
        struct action_result r[DEFINERS];
        snprintf(name, sizeof name, "--name=def%d", trial);
        const char *argv[] = {"--compute_provider=local", name, "--min=1", NULL};
        for (int i = 0; i < DEFINERS; i++) {
            names[i] = "asg_define";
            args[i] = argv;
        }
        run_parallel(w, DEFINERS, names, args, r);
        int created = 0;
        for (int i = 0; i < DEFINERS; i++) {
            if (r[i].status != 0)
                fail_msg("trial %d: define %d: exit %d: %s", trial, i, r[i].status,
                         r[i].out);
            created += jx_bool(r[i].json, "created", false);
            action_result_free(&r[i]);
        }
        if (created != 1)
            fail_msg("trial %d: %d defines reported created: true", trial, created);
    }
}

/* One tick for web: its exit status, and the lease it reports into id. */
static int tick_web(struct world *w, char *id, size_t idsz)
{
    struct action_result r;
    const char *args[] = {"--name=web", "--act", NULL};
    int status = action_run("governor_tick", args, w->env, &r);
    snprintf(id, idsz, "%s", status == 0 ? reported_lease(&r, "web") : "");
    action_result_free(&r);
    return status;
}

/* st2 commits the lease write but the reply is lost, on every attempt the
 * client makes: the tick finds its key by listing and takes the lease. */
static void test_lost_reply_lease_taken(void **state)
{
    struct world *w = *state;
    char id[LEASE_ID_MAX + 8], held[LEASE_ID_MAX + 8];
    define(w, "web", "2");
    for (int status = 500; status >= 0; status -= 500) { /* 500, then a dropped connection */
        fake_st2_fail_after_commit(w->st2, 4, status, "autoscale.lease.web");
        assert_int_equal(tick_web(w, id, sizeof id), 0);
        assert_int_not_equal(id[0], '\0');
        fake_st2_fail_after_commit(w->st2, 0, 0, NULL);
        assert_int_equal(lease_keys(w, "web", held, sizeof held), 1);
        assert_string_equal(held, id);
    }
}

/* Every lease write is committed and answered 500: nothing can be trusted,
 * so the tick fails, but deletes what it wrote; the next tick is free to
 * take the lease at once instead of waiting out lease_ttl. */
static void test_lost_replies_leave_nothing_blocking(void **state)
{
    struct world *w = *state;
    char id[LEASE_ID_MAX + 8];
    define(w, "web", "2");
    fake_st2_fail_after_commit(w->st2, 1000, 500, "autoscale.lease.web");
    assert_int_not_equal(tick_web(w, id, sizeof id), 0);
    fake_st2_fail_after_commit(w->st2, 0, 0, NULL);
    assert_int_equal(lease_keys(w, "web", NULL, 0), 0);
    assert_int_equal(tick_web(w, id, sizeof id), 0);
    assert_int_not_equal(id[0], '\0');
}

int main(void)
{
    log_set_level(LOG_ERROR);
#define BOTH(fn)                                                     \
    cmocka_unit_test_setup_teardown(fn, setup_embedded, teardown), \
        cmocka_unit_test_setup_teardown(fn, setup_st2, teardown)
    const struct CMUnitTest tests[] = {
        BOTH(test_parallel_ticks_one_lease),
        BOTH(test_parallel_updates_lose_nothing),
        BOTH(test_parallel_defines_create_once),
        cmocka_unit_test_setup_teardown(test_lost_reply_lease_taken, setup_st2, teardown),
        cmocka_unit_test_setup_teardown(test_lost_replies_leave_nothing_blocking,
                                        setup_st2, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
