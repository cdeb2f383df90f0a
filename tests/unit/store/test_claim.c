/* test_claim.c - lib/store/claim.c, the one-holder primitive under leases and
 * spec locks, on both backends: the embedded store (atomic create) and the
 * st2 fake (candidate keys and a listing). Also the embedded ds_create it
 * relies on. Parallel callers are in tests/e2e/test_concurrency.c; here the
 * paths one caller can take: win, find it held, stale and old-format keys,
 * a lost reply after the server committed, a failing store, SIGTERM, and a
 * holder that stalled past what its TTL lets it rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "claim.h"
#include "datastore.h"
#include "fake_st2.h"
#include "log.h"
#include "st2.h"
#include "test_util.h"

#define TOKEN "tok-claim-77aa"
#define BASE "autoscale.lease.web"

struct fixture {
    char dir[64], path[128];
    struct fake_st2 *st2; /* NULL: embedded */
    struct ds *ds;
};

static int setup_embedded(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct as_error err;
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_claim"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    unsetenv("AUTOSCALE_TEST_NOW");
    if (!(f->ds = ds_open_embedded(f->path, &err)))
        fail_msg("%s", err.message);
    *state = f;
    return 0;
}

static int setup_st2(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct as_error err;
    assert_non_null(f->st2 = fake_st2_start(TOKEN, NULL));
    struct ds_st2_config cfg = {.base_url = fake_st2_url(f->st2), .auth_token = TOKEN};
    if (!(f->ds = ds_open_st2(&cfg, &err)))
        fail_msg("%s", err.message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    fake_st2_stop(f->st2);
    if (f->dir[0])
        test_rmtree(f->dir);
    as_set_interrupted(false);
    claim_set_clock(NULL);
    free(f);
    return 0;
}

static size_t keys_of(struct fixture *f, const char *base)
{
    struct ds_list l = {0};
    struct as_error err;
    assert_int_equal(claim_list(f->ds, base, &l, &err), 0);
    size_t n = l.count;
    ds_list_clear(&l);
    return n;
}

static int take(struct fixture *f, enum claim_wait wait, long ttl, long wait_ms,
                struct claim *c, struct as_error *err)
{
    return claim_take(f->ds, BASE, "{\"id\":\"x\"}", ttl, wait, wait_ms, c, err);
}

static void put(struct fixture *f, const char *key, long ttl)
{
    struct as_error err;
    if (ds_put(f->ds, key, "{}", ttl, &err) < 0)
        fail_msg("%s", err.message);
}

/* Won, then held against a second taker in either mode; released, free. */
static void test_take_hold_release(void **state)
{
    struct fixture *f = *state;
    struct claim c, d;
    struct as_error err;

    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &c, &err), CLAIM_WON);
    if (f->st2) { /* a candidate of its own, extended to the full TTL */
        assert_int_equal(strlen(c.key), strlen(BASE) + 1 + CLAIM_TOKEN_LEN);
        assert_true(claim_key_of(BASE, c.key));
        assert_int_equal(c.ttl_s, 600);
    } else {
        assert_string_equal(c.key, BASE);
    }
    assert_int_equal(claim_check(&c, &err), 0);
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &d, &err), CLAIM_TAKEN);
    assert_int_equal(take(f, CLAIM_WAIT, 600, 50, &d, &err), CLAIM_TAKEN);
    assert_int_equal(keys_of(f, BASE), 1); /* the losers left nothing */

    assert_int_equal(claim_release(f->ds, &c, &err), 0);
    assert_int_equal(keys_of(f, BASE), 0);
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &d, &err), CLAIM_WON);
}

/* Another group whose name starts with this one's is not a holder. */
static void test_other_groups_do_not_count(void **state)
{
    struct fixture *f = *state;
    struct claim c;
    struct as_error err;
    put(f, "autoscale.lease.web-2", 600);
    put(f, "autoscale.lease.web-2.0123456789abcdef", 600);
    put(f, "autoscale.lease.webx", 600);
    assert_int_equal(keys_of(f, BASE), 0);
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &c, &err), CLAIM_WON);
    assert_false(claim_key_of(BASE, "autoscale.lease.web-2"));
    assert_true(claim_key_of(BASE, "autoscale.lease.web"));
}

/* A lease written before claims (the bare key) is held; so is a stray
 * candidate, until its TTL passes, and then it is no obstacle. */
static void test_old_and_stray_keys_hold_until_expiry(void **state)
{
    struct fixture *f = *state;
    struct claim c;
    struct as_error err;

    put(f, BASE, 600);
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &c, &err), CLAIM_TAKEN);
    assert_int_equal(keys_of(f, BASE), 1);
    assert_int_equal(ds_del(f->ds, BASE, &err), 0);

    put(f, BASE ".00000000deadbeef", CLAIM_TTL);
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &c, &err), CLAIM_TAKEN);
    fake_st2_advance(f->st2, CLAIM_TTL + 1);
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &c, &err), CLAIM_WON);
    assert_int_equal(keys_of(f, BASE), 1);
}

/* The embedded store's put-if-absent: a live key stops it, an expired one
 * does not, and it writes nothing when it refuses. */
static void test_embedded_create(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    char *v = NULL;
    assert_true(ds_can_create(f->ds));
    setenv("AUTOSCALE_TEST_NOW", "1700000000", 1);
    struct ds *then = ds_open_embedded(f->path, &err);
    assert_int_equal(ds_create(then, "k", "one", 10, &err), 0);
    assert_int_equal(ds_create(then, "k", "two", 10, &err), DS_EXISTS);
    assert_int_equal(ds_get(then, "k", &v, &err), 0);
    assert_string_equal(v, "one");
    free(v);
    ds_close(then);
    setenv("AUTOSCALE_TEST_NOW", "1700000011", 1); /* past its TTL */
    struct ds *later = ds_open_embedded(f->path, &err);
    assert_int_equal(ds_create(later, "k", "three", 0, &err), 0);
    assert_int_equal(ds_get(later, "k", &v, &err), 0);
    assert_string_equal(v, "three");
    free(v);
    ds_close(later);
    unsetenv("AUTOSCALE_TEST_NOW");
}

static void test_st2_has_no_create(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    assert_false(ds_can_create(f->ds));
    assert_int_equal(ds_create(f->ds, "k", "v", 0, &err), -1);
    assert_string_equal(err.code, "unsupported");
    assert_int_equal(fake_st2_key_count(f->st2), 0);
}

/* st2 commits our candidate but every reply is lost (500 or a dropped
 * connection, past the HTTP client's retries): the listing finds it, so the
 * claim is won, exactly once. */
static void test_lost_reply_resolved_by_listing(void **state)
{
    struct fixture *f = *state;
    struct claim c;
    struct as_error err;
    for (int status = 500; status >= 0; status -= 500) {
        fake_st2_fail_after_commit(f->st2, 4, status, BASE);
        assert_int_equal(take(f, CLAIM_ONCE, CLAIM_TTL, 2000, &c, &err), CLAIM_WON);
        fake_st2_fail_after_commit(f->st2, 0, 0, NULL);
        assert_int_equal(keys_of(f, BASE), 1);
        assert_int_equal(claim_release(f->ds, &c, &err), 0);
    }
}

/* The extension to the full TTL is lost too: the claim is given up and
 * its candidate deleted, rather than left to block. */
static void test_lost_extension_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct claim c;
    struct as_error err;
    fake_st2_fail_after_commit(f->st2, 1000, 500, BASE);
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &c, &err), -1);
    fake_st2_fail_after_commit(f->st2, 0, 0, NULL);
    assert_int_equal(keys_of(f, BASE), 0);
}

/* Refused before anything was stored: an error, nothing left. */
static void test_store_failing(void **state)
{
    struct fixture *f = *state;
    struct claim c;
    struct as_error err;
    fake_st2_fail_next(f->st2, 1000, 503, -1);
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &c, &err), -1);
    fake_st2_fail_next(f->st2, 0, 503, -1);
    assert_int_equal(keys_of(f, BASE), 0);
}

/* SIGTERM while waiting for a holder: "interrupted", nothing of ours left. */
static void test_interrupted_wait(void **state)
{
    struct fixture *f = *state;
    struct claim c, d;
    struct as_error err;
    assert_int_equal(take(f, CLAIM_ONCE, 600, 2000, &c, &err), CLAIM_WON);
    as_set_interrupted(true);
    assert_int_equal(take(f, CLAIM_WAIT, 600, 60000, &d, &err), -1);
    assert_string_equal(err.code, "interrupted");
    as_set_interrupted(false);
    assert_int_equal(keys_of(f, BASE), 1);
}

static long long fake_ms;
static long long fake_clock(void) { return fake_ms; }

/* A holder that stalled until less than CLAIM_MARGIN of its TTL remains
 * must not act on the claim any more. */
static void test_stalled_holder_refused(void **state)
{
    struct fixture *f = *state;
    struct claim c;
    struct as_error err;
    fake_ms = 1000000;
    claim_set_clock(fake_clock);
    assert_int_equal(take(f, CLAIM_WAIT, CLAIM_TTL, 2000, &c, &err), CLAIM_WON);
    fake_ms += (CLAIM_TTL - CLAIM_MARGIN) * 1000 - 1;
    assert_int_equal(claim_check(&c, &err), 0);
    fake_ms += 1;
    assert_int_equal(claim_check(&c, &err), -1);
    assert_string_equal(err.code, "claim_expired");
}

int main(void)
{
    log_set_level(LOG_ERROR);
#define BOTH(fn)                                                     \
    cmocka_unit_test_setup_teardown(fn, setup_embedded, teardown), \
        cmocka_unit_test_setup_teardown(fn, setup_st2, teardown)
#define ST2(fn) cmocka_unit_test_setup_teardown(fn, setup_st2, teardown)
    const struct CMUnitTest tests[] = {
        BOTH(test_take_hold_release),
        BOTH(test_other_groups_do_not_count),
        BOTH(test_interrupted_wait),
        BOTH(test_stalled_holder_refused),
        ST2(test_old_and_stray_keys_hold_until_expiry),
        cmocka_unit_test_setup_teardown(test_embedded_create, setup_embedded, teardown),
        ST2(test_st2_has_no_create),
        ST2(test_lost_reply_resolved_by_listing),
        ST2(test_lost_extension_leaves_nothing),
        ST2(test_store_failing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
