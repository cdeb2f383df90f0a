/* test_cron.c - cron expressions (lib/core/cron.c): what parses (lists,
 * ranges, steps, names, Sunday as 0 and 7) and each kind of refusal with
 * the field it names; cron_prev and cron_next across month and year ends,
 * on leap days, for a date that never comes ("0 0 30 2 *"), by Vixie's
 * day-of-month OR day-of-week rule; and on daylight-saving days, where a
 * skipped time fires once at the gap's end and a repeated one once, at its
 * first occurrence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cron.h"
#include "error.h"

static long long utc(int y, int mo, int d, int h, int mi)
{
    return as_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600LL + mi * 60LL;
}

static struct cron parse(const char *text)
{
    struct cron c;
    struct as_error err = {0};
    if (cron_parse(text, "start", &c, &err) < 0)
        fail_msg("\"%s\": %s", text, err.message);
    return c;
}

static void test_parse_valid(void **state)
{
    (void)state;
    struct cron c = parse("*/15 * * * *");
    assert_true(c.minutes == (1ull << 0 | 1ull << 15 | 1ull << 30 | 1ull << 45));
    assert_int_equal(c.hours, 0xffffff);
    assert_int_equal(c.days, 0xfffffffe);
    assert_int_equal(c.months, 0x1ffe);
    assert_int_equal(c.weekdays, 0x7f);
    assert_true(c.dom_star && c.dow_star);

    c = parse("1-5/2 8,12,18-19 1,15 * MON-FRI");
    assert_true(c.minutes == (1ull << 1 | 1ull << 3 | 1ull << 5));
    assert_int_equal(c.hours, 1u << 8 | 1u << 12 | 1u << 18 | 1u << 19);
    assert_int_equal(c.days, 1u << 1 | 1u << 15);
    assert_int_equal(c.weekdays, 0x3e);
    assert_false(c.dom_star || c.dow_star);

    c = parse("0 0 * jan,JUL 7");
    assert_int_equal(c.months, 1u << 1 | 1u << 7);
    assert_int_equal(c.weekdays, 1u); /* 7 is Sunday, 0 */
    c = parse("0 0 * * 0");
    assert_int_equal(c.weekdays, 1u);
    c = parse("0 0 * * 5-7");
    assert_int_equal(c.weekdays, 1u | 1u << 5 | 1u << 6);
    c = parse("0 0 * * sun-sat/2");
    assert_int_equal(c.weekdays, 1u | 1u << 2 | 1u << 4 | 1u << 6);
    c = parse("  0   0  *  *  *  "); /* runs of spaces are one separator */
    assert_int_equal(c.hours, 1u);
    c = parse("59 23 31 DEC-DEC *");
    assert_int_equal(c.months, 1u << 12);
}

struct refusal {
    const char *text, *says;
};

static void test_parse_refused(void **state)
{
    (void)state;
    const struct refusal cases[] = {
        {"", "5 fields"},
        {"* * * *", "not 4"},
        {"* * * * * *", "not 6"},
        {"@daily", "digits, names"},
        {"0 8 * * *\n", "digits, names"},
        {"0 8 * * MON;", "digits, names"},
        {"0 8 ? * *", "digits, names"},
        {"60 * * * *", "field minute"},
        {"* 24 * * *", "field hour"},
        {"* * 0 * *", "field day-of-month"},
        {"* * 32 * *", "field day-of-month"},
        {"* * * 13 *", "field month"},
        {"* * * 0 *", "field month"},
        {"* * * * 8", "field day-of-week"},
        {"* * * FOO *", "field month"},
        {"* * * * MONDAY", "field day-of-week"},
        {"* MON * * *", "field hour"},
        {"5-1 * * * *", "upwards"},
        {"*/0 * * * *", "step"},
        {"*/JAN * * * *", "step"},
        {"5/15 * * * *", "step needs"},
        {"1,,2 * * * *", "empty"},
        {"1, * * * *", "empty"},
        {"1- * * * *", "range needs an end"},
        {"L * * * *", "not a number"},
        {"99999999999999999999 * * * *", "field minute"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct cron c;
        struct as_error err = {0};
        if (cron_parse(cases[i].text, "end", &c, &err) != -1)
            fail_msg("\"%s\" was accepted", cases[i].text);
        assert_string_equal(err.code, "invalid_parameter");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        if (!strstr(err.message, cases[i].says) || !strstr(err.message, "'end'"))
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", cases[i].text, err.message,
                     cases[i].says);
        assert_null(strchr(err.message, '\n'));
    }
    struct cron c;
    assert_int_equal(cron_parse(NULL, "start", &c, NULL), -1);
    char longer[CRON_TEXT_MAX + 10];
    memset(longer, ' ', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    memcpy(longer, "* * * * *", 9);
    assert_int_equal(cron_parse(longer, "start", &c, NULL), -1);
}

static void test_month_and_year_ends(void **state)
{
    (void)state;
    struct cron c = parse("0 0 1 * *");
    long long now = utc(2026, 12, 31, 23, 0);
    assert_int_equal(cron_next(&c, "UTC", now), utc(2027, 1, 1, 0, 0));
    assert_int_equal(cron_prev(&c, "UTC", now), utc(2026, 12, 1, 0, 0));
    /* exactly at an occurrence: prev is it, next the one after */
    assert_int_equal(cron_prev(&c, "UTC", utc(2027, 1, 1, 0, 0)), utc(2027, 1, 1, 0, 0));
    assert_int_equal(cron_next(&c, "UTC", utc(2027, 1, 1, 0, 0)), utc(2027, 2, 1, 0, 0));

    c = parse("59 23 31 12 *");
    assert_int_equal(cron_prev(&c, "UTC", utc(2027, 1, 1, 0, 0)), utc(2026, 12, 31, 23, 59));
    assert_int_equal(cron_next(&c, "UTC", utc(2027, 1, 1, 0, 0)), utc(2027, 12, 31, 23, 59));

    c = parse("30 12 31 * *"); /* only months with 31 days */
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 4, 1, 0, 0)), utc(2026, 5, 31, 12, 30));
    assert_int_equal(cron_prev(&c, "UTC", utc(2026, 5, 1, 0, 0)), utc(2026, 3, 31, 12, 30));

    c = parse("*/20 9-10 * * *");
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 6, 1, 10, 40)), utc(2026, 6, 2, 9, 0));
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 6, 1, 9, 59)), utc(2026, 6, 1, 10, 0));
    assert_int_equal(cron_prev(&c, "UTC", utc(2026, 6, 1, 9, 59)), utc(2026, 6, 1, 9, 40));
    assert_int_equal(cron_prev(&c, "UTC", utc(2026, 6, 1, 8, 0)), utc(2026, 5, 31, 10, 40));
}

static void test_leap_day(void **state)
{
    (void)state;
    struct cron c = parse("0 12 29 2 *");
    assert_int_equal(cron_next(&c, "UTC", utc(2025, 3, 1, 0, 0)), utc(2028, 2, 29, 12, 0));
    assert_int_equal(cron_prev(&c, "UTC", utc(2027, 1, 1, 0, 0)), utc(2024, 2, 29, 12, 0));
    /* 2100 is no leap year: from 2096 the next is 2104, past five years */
    assert_int_equal(cron_next(&c, "UTC", utc(2096, 3, 1, 0, 0)), 0);
}

static void test_never(void **state)
{
    (void)state;
    struct cron c = parse("0 0 30 2 *");
    long long now = utc(2026, 12, 7, 12, 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(cron_prev(&c, "Europe/Berlin", now), 0);
        assert_int_equal(cron_next(&c, "Europe/Berlin", now), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    /* reported, not asserted: a five-year search both ways, 100 times */
    fprintf(stderr, "# 0 0 30 2 *: %.1f us per prev+next\n",
            ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 100 / 1e3);
    c = parse("0 0 31 4,6,9,11 *");
    assert_int_equal(cron_next(&c, "UTC", now), 0);
}

/* Both day fields restricted: either matches (Vixie cron). */
static void test_dom_or_dow(void **state)
{
    (void)state;
    struct cron c = parse("0 0 13 * FRI"); /* 2026-04: Fridays 3, 10, 17; the 13th a Monday */
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 4, 1, 0, 0)), utc(2026, 4, 3, 0, 0));
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 4, 10, 0, 0)), utc(2026, 4, 13, 0, 0));
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 4, 13, 0, 0)), utc(2026, 4, 17, 0, 0));
    assert_int_equal(cron_prev(&c, "UTC", utc(2026, 4, 16, 0, 0)), utc(2026, 4, 13, 0, 0));
    /* one of them "*": both must match */
    c = parse("0 0 13 * *");
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 4, 1, 0, 0)), utc(2026, 4, 13, 0, 0));
    c = parse("0 0 * * FRI");
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 4, 10, 0, 0)), utc(2026, 4, 17, 0, 0));
    /* a field starting with '*' counts as unrestricted: odd days AND Fridays */
    c = parse("0 0 */2 * FRI");
    assert_int_equal(cron_next(&c, "UTC", utc(2026, 4, 3, 0, 0)), utc(2026, 4, 17, 0, 0));
    c = parse("0 0 13 * 5");
    assert_true(cron_day_matches(&c, as_days_from_civil(2026, 4, 13)));  /* the 13th */
    assert_true(cron_day_matches(&c, as_days_from_civil(2026, 4, 17)));  /* a Friday */
    assert_false(cron_day_matches(&c, as_days_from_civil(2026, 4, 14)));
}

/* New York, 2026-03-08: 02:00-03:00 is skipped; 02:30 fires once, at 07:00Z. */
static void test_spring_forward(void **state)
{
    (void)state;
    const char *z = "America/New_York";
    struct cron c = parse("30 2 * * *");
    assert_int_equal(cron_next(&c, z, utc(2026, 3, 7, 12, 0)), utc(2026, 3, 8, 7, 0));
    assert_int_equal(cron_next(&c, z, utc(2026, 3, 8, 7, 0)), utc(2026, 3, 9, 6, 30));
    assert_int_equal(cron_prev(&c, z, utc(2026, 3, 8, 12, 0)), utc(2026, 3, 8, 7, 0));
    assert_int_equal(cron_prev(&c, z, utc(2026, 3, 8, 6, 59)), utc(2026, 3, 7, 7, 30));
    /* every quarter hour: the gap's four collapse into 07:00Z, once */
    c = parse("*/15 * * * *");
    assert_int_equal(cron_next(&c, z, utc(2026, 3, 8, 6, 45)), utc(2026, 3, 8, 7, 0));
    assert_int_equal(cron_next(&c, z, utc(2026, 3, 8, 7, 0)), utc(2026, 3, 8, 7, 15));
    /* Paris, 2026-03-29: 02:30 is at 01:00Z */
    c = parse("30 2 * * *");
    assert_int_equal(cron_next(&c, "Europe/Paris", utc(2026, 3, 28, 12, 0)),
                     utc(2026, 3, 29, 1, 0));
    /* Lord Howe, 2026-10-04: 02:00-02:30 is skipped (half an hour) */
    c = parse("15 2 * * *");
    assert_int_equal(cron_next(&c, "Australia/Lord_Howe", utc(2026, 10, 3, 12, 0)),
                     utc(2026, 10, 3, 15, 30));
    assert_int_equal(cron_next(&c, "Australia/Lord_Howe", utc(2026, 10, 3, 15, 30)),
                     utc(2026, 10, 4, 15, 15));
}

/* New York, 2026-11-01: 01:00-02:00 happens twice; 01:30 fires at 05:30Z only. */
static void test_fall_back(void **state)
{
    (void)state;
    const char *z = "America/New_York";
    struct cron c = parse("30 1 * * *");
    assert_int_equal(cron_next(&c, z, utc(2026, 11, 1, 0, 0)), utc(2026, 11, 1, 5, 30));
    assert_int_equal(cron_next(&c, z, utc(2026, 11, 1, 5, 30)), utc(2026, 11, 2, 6, 30));
    assert_int_equal(cron_prev(&c, z, utc(2026, 11, 1, 6, 45)), utc(2026, 11, 1, 5, 30));
    /* Sydney falls back in April: 02:30 on 2026-04-05 is first at 15:30Z */
    c = parse("30 2 * * *");
    assert_int_equal(cron_next(&c, "Australia/Sydney", utc(2026, 4, 4, 12, 0)),
                     utc(2026, 4, 4, 15, 30));
    assert_int_equal(cron_next(&c, "Australia/Sydney", utc(2026, 4, 4, 15, 30)),
                     utc(2026, 4, 5, 16, 30));
    /* Lord Howe: 01:45 on 2026-04-05 happens at 14:45Z and 15:15Z; the first */
    c = parse("45 1 * * *");
    assert_int_equal(cron_next(&c, "Australia/Lord_Howe", utc(2026, 4, 4, 12, 0)),
                     utc(2026, 4, 4, 14, 45));
    assert_int_equal(cron_next(&c, "Australia/Lord_Howe", utc(2026, 4, 4, 14, 45)),
                     utc(2026, 4, 5, 15, 15));
    /* Paris, 2026-10-25: 02:30 first at 00:30Z */
    c = parse("30 2 * * *");
    assert_int_equal(cron_prev(&c, "Europe/Paris", utc(2026, 10, 25, 2, 0)),
                     utc(2026, 10, 25, 0, 30));
}

/* Each occurrence next() finds, prev() finds again, and between two of
 * them there is no other: checked minute by minute over a week in Berlin
 * across the autumn change. */
static void test_prev_next_agree(void **state)
{
    (void)state;
    struct cron c = parse("*/7 1-3,22 * * SAT,SUN");
    const char *z = "Europe/Berlin";
    long long t = utc(2026, 10, 22, 0, 0), end = utc(2026, 10, 29, 0, 0);
    long long next = cron_next(&c, z, t - 60);
    while (t < end) {
        long long n = cron_next(&c, z, t);
        long long p = cron_prev(&c, z, t);
        assert_true(n > t && (p <= t));
        if (t >= next) {
            assert_int_equal(p, next);
            next = n;
        }
        assert_int_equal(n, next);
        t += 60;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),      cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_month_and_year_ends), cmocka_unit_test(test_leap_day),
        cmocka_unit_test(test_never),            cmocka_unit_test(test_dom_or_dow),
        cmocka_unit_test(test_spring_forward),   cmocka_unit_test(test_fall_back),
        cmocka_unit_test(test_prev_next_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
