/* test_clock.c - the wall clock (lib/core/clock.c): AUTOSCALE_TEST_NOW pins
 * as_now(); without it (or when empty) as_now() is the real time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pinned, reset, reset),
        cmocka_unit_test_setup_teardown(test_unpinned_is_real_time, reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
