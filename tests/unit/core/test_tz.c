/* test_tz.c - time zones (lib/core/tz.c): which names are accepted (and
 * that no name leaves the zone directory), UTC -> wall clock, and wall
 * clock -> UTC by the pack's rule on daylight-saving days: a repeated time
 * is its first occurrence, a skipped one the end of the gap. In the north
 * (New York, Paris), the south (Sydney, which falls back in April) and
 * Lord Howe, whose clocks move by 30 minutes. The process's own TZ is put
 * back after each call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "tz.h"

/* Epoch seconds of a UTC time. */
static long long utc(int y, int mo, int d, int h, int mi)
{
    return as_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600LL + mi * 60LL;
}

static long long local_to_utc(const char *zone, int y, int mo, int d, int h, int mi)
{
    struct tz_civil c = {y, mo, d, h, mi, 0, 0};
    return tz_to_utc(zone, &c);
}

static void test_names(void **state)
{
    (void)state;
    const char *good[] = {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                          "America/Argentina/Buenos_Aires", "Etc/GMT+5"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(tz_valid(good[i]));
    const char *bad[] = {"",          "Mars/Olympus",    "../etc/passwd",  "/etc/localtime",
                         "Europe/../Europe/Paris", "Europe//Paris", "Europe/",
                         "Europe/Paris;rm", "Europe/Paris\n", "Europe Paris", "zone.tab",
                         "Europe",    "./UTC"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct as_error err = {0};
        assert_false(tz_valid(bad[i]));
        assert_int_equal(tz_check(bad[i], "time_zone", &err), -1);
        assert_string_equal(err.code, "invalid_parameter");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        assert_non_null(strstr(err.message, "'time_zone'"));
    }
    assert_false(tz_valid(NULL));
}

/* A zone directory of our own: a file must start with "TZif" to count. */
static void test_tzdir(void **state)
{
    (void)state;
    char dir[] = "/tmp/as-tz-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/Fake", dir);
    FILE *f = fopen(path, "w");
    fputs("not a zone file", f);
    fclose(f);
    setenv("TZDIR", dir, 1);
    assert_false(tz_valid("Fake"));
    assert_false(tz_valid("Europe/Berlin")); /* not under this TZDIR */
    assert_true(tz_valid("UTC"));            /* needs no file */
    unsetenv("TZDIR");
    assert_true(tz_valid("Europe/Berlin"));
    remove(path);
    rmdir(dir);
}

static void test_to_local(void **state)
{
    (void)state;
    struct tz_civil c;
    long off;
    tz_to_local("UTC", utc(2024, 2, 29, 23, 59), &c, &off);
    assert_int_equal(c.year, 2024);
    assert_int_equal(c.month, 2);
    assert_int_equal(c.day, 29);
    assert_int_equal(c.hour, 23);
    assert_int_equal(c.minute, 59);
    assert_int_equal(c.weekday, 4); /* a Thursday */
    assert_int_equal(off, 0);

    tz_to_local("America/New_York", utc(2026, 1, 1, 3, 0), &c, &off);
    assert_int_equal(off, -5 * 3600);
    assert_int_equal(c.year, 2025);
    assert_int_equal(c.month, 12);
    assert_int_equal(c.day, 31);
    assert_int_equal(c.hour, 22);
    assert_int_equal(c.weekday, 3);

    tz_to_local("Australia/Lord_Howe", utc(2026, 7, 1, 0, 0), &c, &off);
    assert_int_equal(off, 10 * 3600 + 1800);
    assert_int_equal(c.hour, 10);
    assert_int_equal(c.minute, 30);
    tz_to_local("Australia/Lord_Howe", utc(2026, 1, 1, 0, 0), &c, &off);
    assert_int_equal(off, 11 * 3600);
}

static void test_new_york(void **state)
{
    (void)state;
    const char *z = "America/New_York";
    /* ordinary days */
    assert_int_equal(local_to_utc(z, 2026, 1, 15, 9, 0), utc(2026, 1, 15, 14, 0));
    assert_int_equal(local_to_utc(z, 2026, 7, 15, 9, 0), utc(2026, 7, 15, 13, 0));
    /* spring forward: 02:00-03:00 does not exist; it ends at 03:00 EDT = 07:00Z */
    assert_int_equal(local_to_utc(z, 2026, 3, 8, 2, 30), utc(2026, 3, 8, 7, 0));
    assert_int_equal(local_to_utc(z, 2026, 3, 8, 2, 0), utc(2026, 3, 8, 7, 0));
    assert_int_equal(local_to_utc(z, 2026, 3, 8, 1, 59), utc(2026, 3, 8, 6, 59));
    assert_int_equal(local_to_utc(z, 2026, 3, 8, 3, 0), utc(2026, 3, 8, 7, 0));
    assert_int_equal(local_to_utc(z, 2026, 3, 8, 3, 1), utc(2026, 3, 8, 7, 1));
    /* fall back: 01:00-02:00 happens twice; the first (EDT) counts */
    assert_int_equal(local_to_utc(z, 2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30));
    assert_int_equal(local_to_utc(z, 2026, 11, 1, 0, 59), utc(2026, 11, 1, 4, 59));
    assert_int_equal(local_to_utc(z, 2026, 11, 1, 2, 0), utc(2026, 11, 1, 7, 0));
}

static void test_paris(void **state)
{
    (void)state;
    const char *z = "Europe/Paris";
    assert_int_equal(local_to_utc(z, 2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 0));
    assert_int_equal(local_to_utc(z, 2026, 3, 29, 1, 30), utc(2026, 3, 29, 0, 30));
    assert_int_equal(local_to_utc(z, 2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30));
    assert_int_equal(local_to_utc(z, 2026, 10, 25, 3, 0), utc(2026, 10, 25, 2, 0));
}

/* The southern hemisphere: summer time ends in April, starts in October. */
static void test_sydney(void **state)
{
    (void)state;
    const char *z = "Australia/Sydney";
    assert_int_equal(local_to_utc(z, 2026, 4, 5, 2, 30), utc(2026, 4, 4, 15, 30));
    assert_int_equal(local_to_utc(z, 2026, 4, 5, 3, 0), utc(2026, 4, 4, 17, 0));
    assert_int_equal(local_to_utc(z, 2026, 10, 4, 2, 30), utc(2026, 10, 3, 16, 0));
    assert_int_equal(local_to_utc(z, 2026, 1, 10, 12, 0), utc(2026, 1, 10, 1, 0));
    assert_int_equal(local_to_utc(z, 2026, 7, 10, 12, 0), utc(2026, 7, 10, 2, 0));
}

/* Lord Howe moves its clocks by half an hour. */
static void test_lord_howe(void **state)
{
    (void)state;
    const char *z = "Australia/Lord_Howe";
    /* 02:00 +11 -> 01:30 +1030 at 15:00Z: 01:45 is first at 14:45Z */
    assert_int_equal(local_to_utc(z, 2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45));
    assert_int_equal(local_to_utc(z, 2026, 4, 5, 2, 0), utc(2026, 4, 4, 15, 30));
    /* 02:00 +1030 -> 02:30 +11 at 15:30Z: 02:15 does not exist */
    assert_int_equal(local_to_utc(z, 2026, 10, 4, 2, 15), utc(2026, 10, 3, 15, 30));
    assert_int_equal(local_to_utc(z, 2026, 10, 4, 1, 59), utc(2026, 10, 3, 15, 29));
    assert_int_equal(local_to_utc(z, 2026, 10, 4, 2, 30), utc(2026, 10, 3, 15, 30));
}

/* Round trips every 17 minutes across a year: to local and back is the
 * same instant, except in a repeated hour's second pass (then the first). */
static void test_round_trip(void **state)
{
    (void)state;
    const char *zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
    for (size_t z = 0; z < 3; z++) {
        for (long long t = utc(2026, 1, 1, 0, 0); t < utc(2027, 1, 1, 0, 0); t += 17 * 60) {
            struct tz_civil c;
            long off;
            tz_to_local(zones[z], t, &c, &off);
            long long back = tz_to_utc(zones[z], &c);
            if (back != t) {
                struct tz_civil c2;
                tz_to_local(zones[z], back, &c2, NULL);
                assert_true(back < t && t - back <= 3600);
                assert_int_equal(c2.hour * 60 + c2.minute, c.hour * 60 + c.minute);
            }
        }
    }
}

/* The process's TZ is left as it was: set, or unset. */
static void test_tz_restored(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    tz_to_local("Europe/Berlin", utc(2026, 6, 1, 0, 0), &(struct tz_civil){0}, NULL);
    (void)tz_local_to_utc("America/New_York", utc(2026, 3, 8, 2, 30));
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    tzset();
    time_t t = (time_t)utc(2026, 6, 1, 0, 0);
    struct tm tm;
    localtime_r(&t, &tm);
    assert_int_equal(tm.tm_gmtoff, 9 * 3600);
    unsetenv("TZ");
    tz_to_local("Europe/Berlin", utc(2026, 6, 1, 0, 0), &(struct tz_civil){0}, NULL);
    assert_null(getenv("TZ"));
}

/* Inside a scope, conversions in its zone and in others are both right,
 * scopes nest, and the end puts the process's TZ back. */
static void test_scope(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    long off;
    struct tz_civil c;
    tz_begin("Europe/Berlin");
    tz_begin("Europe/Berlin");
    tz_to_local("Europe/Berlin", utc(2026, 7, 1, 0, 0), &c, &off);
    assert_int_equal(off, 7200);
    tz_to_local("America/New_York", utc(2026, 7, 1, 0, 0), &c, &off);
    assert_int_equal(off, -4 * 3600);
    assert_int_equal(local_to_utc("Australia/Lord_Howe", 2026, 10, 4, 2, 15),
                     utc(2026, 10, 3, 15, 30));
    tz_end();
    assert_int_equal(local_to_utc("Europe/Berlin", 2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 0));
    tz_to_local("Europe/Berlin", utc(2026, 1, 1, 0, 0), &c, &off);
    assert_int_equal(off, 3600);
    tz_end();
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    tz_end(); /* one too many: harmless */
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    unsetenv("TZ");
}

static void test_days(void **state)
{
    (void)state;
    int y, m, d;
    tz_civil_from_days(0, &y, &m, &d);
    assert_int_equal(y * 10000 + m * 100 + d, 19700101);
    tz_civil_from_days(as_days_from_civil(2024, 2, 29), &y, &m, &d);
    assert_int_equal(y * 10000 + m * 100 + d, 20240229);
    tz_civil_from_days(-1, &y, &m, &d);
    assert_int_equal(y * 10000 + m * 100 + d, 19691231);
    assert_int_equal(tz_weekday(0), 4);
    assert_int_equal(tz_weekday(-1), 3);
    assert_int_equal(tz_weekday(as_days_from_civil(2026, 12, 7)), 1); /* a Monday */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),      cmocka_unit_test(test_tzdir),
        cmocka_unit_test(test_to_local),   cmocka_unit_test(test_new_york),
        cmocka_unit_test(test_paris),      cmocka_unit_test(test_sydney),
        cmocka_unit_test(test_lord_howe),  cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tz_restored), cmocka_unit_test(test_scope),
        cmocka_unit_test(test_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
