/* cron.c - see cron.h. */
#include "cron.h"
#include "clock.h"
#include "tz.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DAY 86400LL

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is lo + i; NULL: numbers only */
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

/* day-of-week runs to 7 (Sunday again), folded onto 0 once parsed */
static const struct field fields[5] = {
    {"minute", 0, 59, NULL},      {"hour", 0, 23, NULL},       {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, month_names}, {"day-of-week", 0, 7, day_names},
};

struct parse {
    const char *what;
    const struct field *f;
    struct as_error *err;
};

static int refuse(const struct parse *p, const char *text, size_t len, const char *why)
{
    return as_fail(p->err, AS_EXIT_BADINPUT, "invalid_parameter",
                   "parameter '%s': cron field %s (\"%.*s\"): %s", p->what, p->f->name,
                   (int)len, text, why);
}

/* A number or (where the field has them) a name, at *s; advances *s. */
static int value(const struct parse *p, const char **s, const char *end, int *out)
{
    const char *q = *s;
    if (q < end && isdigit((unsigned char)*q)) {
        long v = 0;
        while (q < end && isdigit((unsigned char)*q) && v < 1000)
            v = v * 10 + (*q++ - '0');
        if (q < end && isdigit((unsigned char)*q))
            v = 1000;
        *out = (int)v;
        *s = q;
        return 0;
    }
    for (int i = 0; p->f->names && p->f->names[i]; i++) {
        if (end - q >= 3 && strncasecmp(q, p->f->names[i], 3) == 0 &&
            (end - q == 3 || !isalpha((unsigned char)q[3]))) {
            *out = p->f->lo + i;
            *s = q + 3;
            return 0;
        }
    }
    return -1;
}

/* One comma-separated item: *, a value, a range, each with an optional
 * step (a step after a lone value is refused: it means nothing standard). */
static int item(const struct parse *p, const char *s, const char *end, uint64_t *bits)
{
    const char *start = s;
    int lo = p->f->lo, hi = p->f->hi, step = 1;
    bool ranged = true;
    if (s < end && *s == '*') {
        s++;
        if (p->f->hi == 7)
            hi = 6; /* "*" already holds Sunday once */
    } else {
        if (value(p, &s, end, &lo) < 0)
            return refuse(p, start, (size_t)(end - start), "not a number or name");
        hi = lo;
        ranged = false;
        if (s < end && *s == '-') {
            s++;
            if (value(p, &s, end, &hi) < 0)
                return refuse(p, start, (size_t)(end - start), "a range needs an end");
            ranged = true;
        }
        if (lo < p->f->lo || lo > p->f->hi || hi < p->f->lo || hi > p->f->hi) {
            char why[64];
            snprintf(why, sizeof why, "out of range %d-%d", p->f->lo, p->f->hi);
            return refuse(p, start, (size_t)(end - start), why);
        }
        if (lo > hi)
            return refuse(p, start, (size_t)(end - start), "a range must go upwards");
    }
    if (s < end && *s == '/') {
        s++;
        if (!ranged)
            return refuse(p, start, (size_t)(end - start), "a step needs * or a range");
        bool digits = s < end && isdigit((unsigned char)*s);
        if (!digits || value(p, &s, end, &step) < 0 || step < 1 || step > p->f->hi)
            return refuse(p, start, (size_t)(end - start), "a step must be a number from 1");
    }
    if (s != end)
        return refuse(p, start, (size_t)(end - start), "unexpected characters");
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ull << (p->f->hi == 7 && v == 7 ? 0 : v);
    return 0;
}

static int field(const struct parse *p, const char *s, size_t len, uint64_t *bits)
{
    const char *end = s + len;
    *bits = 0;
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        if (stop == s)
            return refuse(p, s, (size_t)(end - s), "an empty list item");
        if (item(p, s, stop, bits) < 0)
            return -1;
        s = stop + 1;
    }
    return 0;
}

int cron_parse(const char *text, const char *what, struct cron *out, struct as_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n > CRON_TEXT_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be a cron expression of 5 fields (minute hour "
                       "day-of-month month day-of-week), at most %d characters",
                       what, CRON_TEXT_MAX);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)text[i]) && !strchr("*,-/ ", text[i]))
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter '%s' must be a cron expression of 5 fields separated "
                           "by spaces, of digits, names, '*', ',', '-' and '/' only",
                           what);
    const char *starts[6];
    size_t lens[6];
    int count = 0;
    for (const char *s = text; *s;) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        size_t len = strcspn(s, " ");
        if (count < 6)
            starts[count] = s, lens[count] = len;
        count++;
        s += len;
    }
    if (count != 5)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must have 5 fields (minute hour day-of-month month "
                       "day-of-week), not %d",
                       what, count);
    uint64_t bits[5];
    for (int i = 0; i < 5; i++) {
        struct parse p = {what, &fields[i], err};
        if (field(&p, starts[i], lens[i], &bits[i]) < 0)
            return -1;
    }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->days = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->weekdays = (uint8_t)bits[4];
    out->dom_star = starts[2][0] == '*';
    out->dow_star = starts[4][0] == '*';
    return 0;
}

bool cron_day_matches(const struct cron *c, long long days)
{
    int y, m, d;
    tz_civil_from_days(days, &y, &m, &d);
    if (!(c->months & (1u << m)))
        return false;
    bool dom = c->days & (1u << d), dow = c->weekdays & (1u << tz_weekday(days));
    return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

/* A day's times, ascending: k in [0, nh * nm) is hours[k / nm]:minutes[k % nm]. */
struct times {
    int hours[24], minutes[60], nh, nm;
};

static void times_of(const struct cron *c, struct times *t)
{
    t->nh = t->nm = 0;
    for (int h = 0; h < 24; h++)
        if (c->hours & (1u << h))
            t->hours[t->nh++] = h;
    for (int m = 0; m < 60; m++)
        if (c->minutes & (1ull << m))
            t->minutes[t->nm++] = m;
}

static long long at(const struct times *t, const char *zone, long long day, int k)
{
    return tz_local_to_utc(zone, day * DAY + t->hours[k / t->nm] * 3600LL +
                                     t->minutes[k % t->nm] * 60LL);
}

static long long local_day(const char *zone, long long now)
{
    struct tz_civil lc;
    tz_to_local(zone, now, &lc, NULL);
    return as_days_from_civil(lc.year, (unsigned)lc.month, (unsigned)lc.day);
}

/* The search starts a day beyond now's local date either way: a zone that
 * falls back across midnight repeats the first hour of the next date
 * (before now) or the last of the one before (after it). */
long long cron_prev(const struct cron *c, const char *zone, long long now)
{
    struct times t;
    times_of(c, &t);
    int n = t.nh * t.nm;
    if (n == 0)
        return 0;
    tz_begin(zone);
    long long found = 0, today = local_day(zone, now);
    for (long long d = today + 1; !found && d >= today - CRON_HORIZON_DAYS; d--) {
        if (!cron_day_matches(c, d))
            continue;
        long long last = at(&t, zone, d, n - 1);
        if (last <= now) {
            found = last;
            break;
        }
        if (at(&t, zone, d, 0) > now)
            continue; /* the whole day is after now (tomorrow, mostly) */
        int lo = -1, hi = n - 1; /* at(lo) <= now < at(hi); lo -1: none */
        while (hi - lo > 1) {
            int mid = lo + (hi - lo) / 2;
            if (at(&t, zone, d, mid) <= now)
                lo = mid;
            else
                hi = mid;
        }
        if (lo >= 0)
            found = at(&t, zone, d, lo);
    }
    tz_end();
    return found;
}

long long cron_next(const struct cron *c, const char *zone, long long now)
{
    struct times t;
    times_of(c, &t);
    int n = t.nh * t.nm;
    if (n == 0)
        return 0;
    tz_begin(zone);
    long long found = 0, today = local_day(zone, now);
    for (long long d = today - 1; !found && d <= today + CRON_HORIZON_DAYS; d++) {
        if (!cron_day_matches(c, d))
            continue;
        long long first = at(&t, zone, d, 0);
        if (first > now) {
            found = first;
            break;
        }
        if (at(&t, zone, d, n - 1) <= now)
            continue; /* the whole day is before now (yesterday, mostly) */
        int lo = 0, hi = n; /* at(lo) <= now < at(hi); hi n: none */
        while (hi - lo > 1) {
            int mid = lo + (hi - lo) / 2;
            if (at(&t, zone, d, mid) > now)
                hi = mid;
            else
                lo = mid;
        }
        if (hi < n)
            found = at(&t, zone, d, hi);
    }
    tz_end();
    return found;
}
