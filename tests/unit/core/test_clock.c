/* test_clock.c - the wall clock (lib/core/clock.c): AUTOSCALE_TEST_NOW pins
 * as_now(); without it (or when empty) as_now() is the real time. And the
 * backoff every poll loop waits by: its sequences, which read no clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"

static int reset(void **state)
{
    (void)state;
    unsetenv("AUTOSCALE_TEST_NOW");
    return 0;
}

static void test_pinned(void **state)
{
    (void)state;
    setenv("AUTOSCALE_TEST_NOW", "1700000000", 1);
    assert_true(as_now() == 1700000000LL);
    assert_true(as_now() == 1700000000LL); /* stays put */
    setenv("AUTOSCALE_TEST_NOW", "42", 1);
    assert_true(as_now() == 42);
    /* beyond 2038 and 32 bits */
    setenv("AUTOSCALE_TEST_NOW", "4102444800", 1);
    assert_true(as_now() == 4102444800LL);
}

static void test_unpinned_is_real_time(void **state)
{
    (void)state;
    long long before = (long long)time(NULL);
    long long now = as_now();
    long long after = (long long)time(NULL);
    assert_true(now >= before && now <= after);

    setenv("AUTOSCALE_TEST_NOW", "", 1); /* empty: not pinned */
    before = (long long)time(NULL);
    now = as_now();
    after = (long long)time(NULL);
    assert_true(now >= before && now <= after);
}

#define FAR 1000000LL /* a deadline far away */

/* n waits of b, far from any deadline, into out */
static void waits(struct as_backoff *b, long *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = as_backoff_next(b, FAR);
}

/* The civil-date arithmetic the webhook and history parsers share, against
 * days counted by hand: the epoch, a leap day, the day before the epoch and
 * a date far past 2038. */
static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(as_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(as_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(as_days_from_civil(2000, 2, 29), 11016);
    assert_int_equal(as_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(as_days_from_civil(2026, 12, 7) * 86400, 1796601600LL);
    assert_int_equal(as_days_from_civil(9999, 12, 31) * 86400 + 86399, 253402300799LL);
}

static void test_backoff_doubles_to_the_ceiling(void **state)
{
    (void)state;
    struct as_backoff b;
    long got[9];
    /* the local provider's: 2 ms doubling to its 100 ms interval */
    as_backoff_init(&b, 2, 100);
    waits(&b, got, 9);
    const long local[] = {2, 4, 8, 16, 32, 64, 100, 100, 100};
    assert_memory_equal(got, local, sizeof local);
    /* the clouds': half the interval, then the interval */
    as_backoff_init(&b, 1000, 2000);
    waits(&b, got, 3);
    const long cloud[] = {1000, 2000, 2000};
    assert_memory_equal(got, cloud, 3 * sizeof(long));
    /* a doubling that would pass the ceiling stops at it */
    as_backoff_init(&b, 3, 10);
    waits(&b, got, 4);
    const long capped[] = {3, 6, 10, 10};
    assert_memory_equal(got, capped, 4 * sizeof(long));
    /* a huge ceiling does not overflow */
    as_backoff_init(&b, LONG_MAX / 2 + 1, LONG_MAX);
    assert_true(as_backoff_next(&b, LLONG_MAX) == LONG_MAX / 2 + 1);
    assert_true(as_backoff_next(&b, LLONG_MAX) == LONG_MAX);
    assert_true(as_backoff_next(&b, LLONG_MAX) == LONG_MAX);
}

/* A first wait out of range is a fixed interval: one above the ceiling
 * (poll_interval_ms below a provider's first poll) or below 1 (a table
 * that does not say). A ceiling below 1 is 1: never a busy loop. */
static void test_backoff_out_of_range_is_fixed(void **state)
{
    (void)state;
    struct as_backoff b;
    long got[3];
    const long ten[] = {10, 10, 10}, fifty[] = {50, 50, 50}, one[] = {1, 1, 1};
    as_backoff_init(&b, 1000, 10);
    waits(&b, got, 3);
    assert_memory_equal(got, ten, sizeof ten);
    as_backoff_init(&b, 0, 50);
    waits(&b, got, 3);
    assert_memory_equal(got, fifty, sizeof fifty);
    as_backoff_init(&b, -5, 50);
    waits(&b, got, 3);
    assert_memory_equal(got, fifty, sizeof fifty);
    as_backoff_init(&b, 5, 0);
    waits(&b, got, 3);
    assert_memory_equal(got, one, sizeof one);
}

/* The deadline cuts a wait short, and the sequence goes on doubling as if
 * it had not: what is left decides only this wait. */
static void test_backoff_never_past_the_deadline(void **state)
{
    (void)state;
    struct as_backoff b;
    as_backoff_init(&b, 2, 100);
    assert_int_equal(as_backoff_next(&b, 5), 2);
    assert_int_equal(as_backoff_next(&b, 3), 3); /* 4 due, 3 left */
    assert_int_equal(as_backoff_next(&b, 0), 0); /* none left: no sleep */
    assert_int_equal(as_backoff_next(&b, -7), 0);
    assert_int_equal(as_backoff_next(&b, FAR), 32);
    /* so a wait of 20 ms looks at 2, 6, 14 and 20 ms, then no more */
    as_backoff_init(&b, 2, 100);
    long left = 20, looks = 0;
    while (left > 0) {
        left -= as_backoff_next(&b, left);
        looks++;
    }
    assert_int_equal(looks, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pinned, reset, reset),
        cmocka_unit_test_setup_teardown(test_unpinned_is_real_time, reset, reset),
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_backoff_doubles_to_the_ceiling),
        cmocka_unit_test(test_backoff_out_of_range_is_fixed),
        cmocka_unit_test(test_backoff_never_past_the_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
