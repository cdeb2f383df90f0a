/* End-to-end tests of lease_release, the hand tool that frees a group whose
 * lease no workflow will ever end, and of how an action run by hand names
 * (or refuses to guess) its datastore. Each binary runs with argv built as
 * st2 builds it, on an embedded store in a fresh directory, the clock pinned
 * with AUTOSCALE_TEST_NOW. The leases are real ones, taken by
 * governor_tick --act; "nothing changed" compares every key and value of the
 * store before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "store_fixture.h"

#define T0 1800000000LL
/* Well formed, but never one governor_tick hands out at T0. */
#define OTHER_ID "001800000000-scale_out-0badcafe"

/* A group below its min with no node: every tick with act wants to scale
 * out, so every tick that finds the group free takes a lease. */
static int setup(void **state)
{
    struct action_result r;
    store_setup(state, "as-lease", T0);
    struct store_fixture *f = *state;
    if (store_run(f, "asg_define", &r, "--compute_provider=local", "--name=web", "--min=2", "--max=4", NULL) != 0)
        fail_msg("asg_define: %s", r.out);
    action_result_free(&r);
    return 0;
}

static void assert_snapshot(struct store_fixture *f, const char *before)
{
    char *after = store_snapshot(f);
    if (strcmp(before, after) != 0)
        fail_msg("the store changed:\nbefore:\n%s\nafter:\n%s", before, after);
    free(after);
}

/* One governor_tick --act for web: its decision's action, and the lease id
 * it took into id ("" when none). */
static void tick_act(struct store_fixture *f, char *action, size_t asz, char *id, size_t idsz)
{
    struct action_result r;
    if (store_run(f, "governor_tick", &r, "--name=web", "--act", NULL) != 0)
        fail_msg("governor_tick: %s", r.out);
    struct json_object *d = json_object_array_get_idx(jx_arr(r.json, "decisions"), 0);
    snprintf(action, asz, "%s", jx_str(d, "action", ""));
    snprintf(id, idsz, "%s", jx_str(d, "lease_id", ""));
    action_result_free(&r);
}

/* Take web's lease; its id into id. */
static void take_lease(struct store_fixture *f, char *id)
{
    char action[32];
    tick_act(f, action, sizeof action, id, LEASE_ID_MAX);
    assert_string_equal(action, "scale_out");
    assert_int_not_equal(id[0], '\0');
    assert_int_equal(store_count(f, "autoscale.lease.web"), 1);
}

/* The id of the lease web holds now, as asg_get shows it ("" when none). */
static void held_lease(struct store_fixture *f, char *id)
{
    struct action_result r;
    assert_int_equal(store_run(f, "asg_get", &r, "--name=web", NULL), 0);
    snprintf(id, LEASE_ID_MAX, "%s", jx_str(jx_obj(r.json, "lease"), "id", ""));
    action_result_free(&r);
}

/* A successful lease_release: whether it released, and the released
 * lease's id checked against want (NULL: the output's lease must be null). */
static void release_ok(struct store_fixture *f, const char *lease_arg, bool released,
                       const char *want)
{
    struct action_result r;
    if (store_run(f, "lease_release", &r, "--name=web", lease_arg, NULL) != 0)
        fail_msg("lease_release: exit %d: %s", r.status, r.out);
    assert_string_equal(jx_str(r.json, "group", ""), "web");
    assert_int_equal(jx_bool(r.json, "released", !released), released);
    struct json_object *lease = NULL;
    assert_true(json_object_object_get_ex(r.json, "lease", &lease));
    if (want)
        assert_string_equal(jx_str(lease, "id", ""), want);
    else
        assert_null(lease);
    action_result_free(&r);
}

static void test_release_with_matching_id(void **state)
{
    struct store_fixture *f = *state;
    char id[LEASE_ID_MAX], arg[80];
    take_lease(f, id);
    snprintf(arg, sizeof arg, "--lease_id=%s", id);

    release_ok(f, arg, true, id);
    assert_int_equal(store_count(f, "autoscale.lease."), 0);
    /* a retried release of the same lease is a success that does nothing */
    release_ok(f, arg, false, NULL);
}

/* The id names another operation's lease: refused, and the lease held
 * stays exactly as it was. */
static void test_release_with_wrong_id_refused(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    char id[LEASE_ID_MAX], still[LEASE_ID_MAX];
    take_lease(f, id);
    assert_string_not_equal(id, OTHER_ID);
    char *before = store_snapshot(f);

    assert_int_equal(store_run(f, "lease_release", &r, "--name=web",
                               "--lease_id=" OTHER_ID, NULL), 2);
    assert_string_equal(action_error_code(&r), "lease_mismatch");
    assert_non_null(strstr(r.out, id)); /* says which lease is held */
    action_result_free(&r);

    assert_snapshot(f, before);
    held_lease(f, still);
    assert_string_equal(still, id);
    free(before);
}

static void test_release_without_id(void **state)
{
    struct store_fixture *f = *state;
    char id[LEASE_ID_MAX], now[LEASE_ID_MAX];
    take_lease(f, id);
    release_ok(f, NULL, true, id);
    assert_int_equal(store_count(f, "autoscale.lease."), 0);
    held_lease(f, now);
    assert_string_equal(now, "");
}

/* A lease that is not a JSON record is as stuck as any other: without an id
 * it is released; with one it is not that lease, so it stays. */
static void test_unreadable_lease(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    char key[KEY_MAX];
    store_put(f, key_lease(key, "web"), "not json");
    char *before = store_snapshot(f);
    assert_int_equal(store_run(f, "lease_release", &r, "--name=web",
                               "--lease_id=" OTHER_ID, NULL), 2);
    assert_string_equal(action_error_code(&r), "lease_mismatch");
    action_result_free(&r);
    assert_snapshot(f, before);
    free(before);

    release_ok(f, NULL, true, NULL);
    assert_int_equal(store_count(f, "autoscale.lease."), 0);
}

static void test_no_lease_is_idempotent(void **state)
{
    struct store_fixture *f = *state;
    char *before = store_snapshot(f);
    release_ok(f, NULL, false, NULL);
    release_ok(f, "--lease_id=" OTHER_ID, false, NULL);
    assert_snapshot(f, before);
    free(before);
}

/* Refused even when a lease key with that name is lying around: the action
 * frees groups, it does not clean up after ones that are gone. */
static void test_unknown_group_refused(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    char key[KEY_MAX];
    store_put(f, key_lease(key, "ghost"), "{\"id\":\"" OTHER_ID "\"}");
    char *before = store_snapshot(f);

    assert_int_equal(store_run(f, "lease_release", &r, "--name=ghost", NULL), 2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    action_result_free(&r);
    assert_int_equal(store_run(f, "lease_release", &r, "--name=ghost",
                               "--lease_id=" OTHER_ID, NULL), 2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    action_result_free(&r);
    assert_snapshot(f, before);
    free(before);
}

/* Every bad request: exit 2, one JSON error with the expected code, and the
 * lease web holds untouched. */
static void test_bad_input_changes_nothing(void **state)
{
    struct store_fixture *f = *state;
    char id[LEASE_ID_MAX];
    take_lease(f, id);
    char *before = store_snapshot(f);
    static const struct {
        const char *args[4], *code;
    } cases[] = {
        {{"--name=web\n", NULL}, "invalid_name"},
        {{"--name=web\nx", NULL}, "invalid_name"},
        {{"--name=web;", NULL}, "invalid_name"},
        {{"--name=web;rm -rf /", NULL}, "invalid_name"},
        {{"--name=Web", NULL}, "invalid_name"},
        {{"--name=", "--lease_id=" OTHER_ID, NULL}, "missing_parameter"},
        {{NULL}, "missing_parameter"},
        {{"--lease_id=" OTHER_ID, NULL}, "missing_parameter"},
        {{"--name=web", "--lease_id=not-a-lease", NULL}, "invalid_parameter"},
        {{"--name=web", "--lease_id=" OTHER_ID "\n", NULL}, "invalid_parameter"},
        {{"--name=web", "--lease_id=" OTHER_ID ";", NULL}, "invalid_parameter"},
        {{"--name=web", "--lease_id=001800000000-scale_up-0badcafe", NULL},
         "invalid_parameter"},
        {{"--name=web", "--force", NULL}, "unknown_parameter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct action_result r;
        if (store_runv(f, "lease_release", cases[i].args, &r) != 2 ||
            strcmp(action_error_code(&r), cases[i].code) != 0)
            fail_msg("case %zu: exit %d, %s (want %s)", i, r.status, r.out, cases[i].code);
        action_result_free(&r);
    }
    assert_snapshot(f, before);
    free(before);
}

/* The point of the action: a group frozen by a lease nobody will end is
 * free again, and the next tick with act takes a new lease at once. */
static void test_tick_takes_new_lease_after_release(void **state)
{
    struct store_fixture *f = *state;
    char first[LEASE_ID_MAX], second[LEASE_ID_MAX], action[32], held[LEASE_ID_MAX];
    take_lease(f, first);

    f->now += 5; /* frozen: the lease is held and far from expiry */
    tick_act(f, action, sizeof action, second, sizeof second);
    assert_string_equal(action, "none");
    assert_string_equal(second, "");
    held_lease(f, held);
    assert_string_equal(held, first);

    release_ok(f, NULL, true, first);
    f->now += 5;
    take_lease(f, second);
    assert_string_not_equal(second, first);
    held_lease(f, held);
    assert_string_equal(held, second);
}

/* Run by hand with no datastore named: refused with how to name one, and
 * no store invented where the old default path would have put it. */
static void test_no_datastore_refused(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    char home[128], xdg[160], def[128], db[160], stateh[128];
    const char *args[] = {"--name=web", NULL};
    snprintf(home, sizeof home, "HOME=%s", f->dir);
    snprintf(stateh, sizeof stateh, "%s/state", f->dir);
    snprintf(xdg, sizeof xdg, "XDG_STATE_HOME=%s", stateh);
    snprintf(def, sizeof def, "%s/.local", f->dir);
    /* the child inherits the rest of ours; the log level is the default */
    unsetenv("AUTOSCALE_DB");
    unsetenv("AUTOSCALE_LOG_LEVEL");
    const char *none[] = {home, xdg, NULL};

    action_run("lease_release", args, none, &r);
    assert_int_equal(r.status, 2);
    assert_string_equal(action_error_code(&r), "no_datastore");
    assert_non_null(strstr(r.out, "AUTOSCALE_DATASTORE=embedded"));
    assert_non_null(strstr(r.out, "AUTOSCALE_DB"));
    assert_non_null(strstr(r.out, "ST2_API_URL"));
    action_result_free(&r);
    struct stat st;
    assert_int_not_equal(stat(stateh, &st), 0);
    assert_int_not_equal(stat(def, &st), 0);

    /* chosen by name: the file in use is said on stderr at the default level */
    snprintf(db, sizeof db, "%s/state/autoscale/autoscale.db", f->dir);
    const char *chosen[] = {home, xdg, "AUTOSCALE_DATASTORE=embedded", NULL};
    action_run("lease_release", args, chosen, &r);
    assert_string_equal(action_error_code(&r), "unknown_group"); /* another, empty store */
    assert_non_null(strstr(r.err, db));
    action_result_free(&r);

    /* AUTOSCALE_DB alone is a choice too, and is said just the same */
    assert_int_equal(store_run(f, "lease_release", &r, "--name=web", NULL), 0);
    assert_non_null(strstr(r.err, f->db));
    action_result_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, store_teardown)
    const struct CMUnitTest tests[] = {
        T(test_release_with_matching_id),
        T(test_release_with_wrong_id_refused),
        T(test_release_without_id),
        T(test_unreadable_lease),
        T(test_no_lease_is_idempotent),
        T(test_unknown_group_refused),
        T(test_bad_input_changes_nothing),
        T(test_tick_takes_new_lease_after_release),
        T(test_no_datastore_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
