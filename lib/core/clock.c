/* clock.c - see clock.h. */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long as_now(void)
{
    const char *pinned = getenv("AUTOSCALE_TEST_NOW");
    if (pinned && *pinned)
        return strtoll(pinned, NULL, 10);
    return (long long)time(NULL);
}

long long as_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long as_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? 0 : (long long)t;
}

long long as_days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

void as_backoff_init(struct as_backoff *b, long first_ms, long max_ms)
{
    b->max_ms = max_ms < 1 ? 1 : max_ms;
    b->next_ms = first_ms < 1 || first_ms > b->max_ms ? b->max_ms : first_ms;
}

long as_backoff_next(struct as_backoff *b, long long left_ms)
{
    long wait = b->next_ms;
    b->next_ms = wait > b->max_ms / 2 ? b->max_ms : wait * 2;
    if (left_ms < wait)
        return left_ms > 0 ? (long)left_ms : 0;
    return wait;
}
