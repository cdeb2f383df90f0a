/* tz.c - see tz.h. */
#include "tz.h"
#include "clock.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY 86400LL

static bool is_utc(const char *zone) { return strcmp(zone, "UTC") == 0; }

static bool name_ok(const char *zone)
{
    size_t n = strlen(zone);
    if (n == 0 || n > TZ_NAME_MAX || zone[0] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = zone[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '/'))
            return false;
    }
    /* every component non-empty and neither "." nor "..": the name is
     * joined to a directory, and must stay inside it */
    for (const char *p = zone; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += len;
        if (*p == '/' && *++p == '\0')
            return false;
    }
    return true;
}

/* Where the C library reads zone files from. */
static const char *zone_dir(void)
{
    const char *dir = getenv("TZDIR");
    return dir && *dir ? dir : "/usr/share/zoneinfo";
}

static bool file_ok(const char *zone, const char *dir)
{
    char *path = xasprintf("%s/%s", dir, zone);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return false;
    char magic[4];
    bool ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    fclose(f);
    return ok;
}

bool tz_valid(const char *zone)
{
    /* the last zone found good (and where): every schedule of a tick
     * re-checks its zone, and most share one */
    static char last[TZ_NAME_MAX + 1], last_dir[256];
    if (!zone || !name_ok(zone))
        return false;
    const char *dir = zone_dir();
    if (is_utc(zone) || (strcmp(zone, last) == 0 && strcmp(dir, last_dir) == 0))
        return true;
    if (!file_ok(zone, dir))
        return false;
    snprintf(last, sizeof last, "%s", zone);
    snprintf(last_dir, sizeof last_dir, "%s", dir);
    return true;
}

int tz_check(const char *zone, const char *what, struct as_error *err)
{
    if (tz_valid(zone))
        return 0;
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                   "parameter '%s' must be an IANA time zone this host has (such as "
                   "\"UTC\" or \"Europe/Berlin\")",
                   what);
}

void tz_civil_from_days(long long days, int *year, int *month, int *day)
{
    days += 719468;
    long long era = (days >= 0 ? days : days - 146096) / 146097;
    long long doe = days - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = m;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

int tz_weekday(long long days)
{
    return (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
}

static long long floor_div(long long a, long long b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void civil_of(long long local, struct tz_civil *out)
{
    long long days = floor_div(local, DAY), sod = local - days * DAY;
    tz_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(sod / 3600);
    out->minute = (int)(sod / 60 % 60);
    out->second = (int)(sod % 60);
    out->weekday = tz_weekday(days);
}

/* The zone in TZ for the length of a scope (tz_begin .. tz_end), the
 * process's own put back after it without a tzset (tz.h says why). Inner
 * scopes only count; a conversion in another zone than the scope's
 * switches to it and back. */
static int depth;
static char scope_zone[TZ_NAME_MAX + 1];
static char *saved_tz;
static bool had_tz;

static void use(const char *zone)
{
    char want[TZ_NAME_MAX + 2];
    snprintf(want, sizeof want, ":%s", zone);
    setenv("TZ", want, 1);
    tzset();
}

void tz_begin(const char *zone)
{
    if (depth++ > 0)
        return;
    const char *cur = getenv("TZ");
    had_tz = cur != NULL;
    saved_tz = cur ? xstrdup(cur) : NULL;
    snprintf(scope_zone, sizeof scope_zone, "%s", zone);
    if (!is_utc(zone))
        use(zone);
}

void tz_end(void)
{
    if (depth == 0 || --depth > 0)
        return;
    if (had_tz)
        setenv("TZ", saved_tz, 1);
    else
        unsetenv("TZ");
    free(saved_tz);
    saved_tz = NULL;
    scope_zone[0] = '\0';
}

/* Before a conversion in zone: 0 nothing to undo, 1 a scope of its own to
 * end, 2 the enclosing scope's zone to put back. */
static int zone_on(const char *zone)
{
    if (depth == 0) {
        tz_begin(zone);
        return 1;
    }
    if (strcmp(zone, scope_zone) == 0)
        return 0;
    use(zone);
    return 2;
}

static void zone_off(int how)
{
    if (how == 1)
        tz_end();
    else if (how == 2)
        use(scope_zone);
}

static long offset_at(long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return 0;
    return tm.tm_gmtoff;
}

void tz_to_local(const char *zone, long long t, struct tz_civil *out, long *gmtoff)
{
    long off = 0;
    if (!is_utc(zone)) {
        int how = zone_on(zone);
        off = offset_at(t);
        zone_off(how);
    }
    civil_of(t + off, out);
    if (gmtoff)
        *gmtoff = off;
}

/* Zones change offset at most once in any two days, so the offsets a day
 * either side of `local` are the only ones it can be read with. */
long long tz_local_to_utc(const char *zone, long long local)
{
    if (is_utc(zone))
        return local;
    int how = zone_on(zone);
    long o1 = offset_at(local - DAY), o2 = offset_at(local + DAY);
    long long best = 0;
    bool found = false;
    long offs[2] = {o1, o2};
    for (int i = 0; i < 2; i++) {
        long long t = local - offs[i];
        if (offset_at(t) == offs[i] && (!found || t < best))
            best = t, found = true; /* the earlier: a repeated time's first occurrence */
    }
    if (!found) {
        /* in the gap: the transition lies in (local - o2, local - o1]; the
         * first instant with the new offset is where the gap ends */
        long long lo = local - (o2 > o1 ? o2 : o1), hi = local - (o2 > o1 ? o1 : o2);
        long before = offset_at(lo);
        while (hi - lo > 1) {
            long long mid = lo + (hi - lo) / 2;
            if (offset_at(mid) == before)
                lo = mid;
            else
                hi = mid;
        }
        best = hi;
    }
    zone_off(how);
    return best;
}

long long tz_to_utc(const char *zone, const struct tz_civil *c)
{
    long long local = as_days_from_civil(c->year, (unsigned)c->month, (unsigned)c->day) * DAY +
                      c->hour * 3600LL + c->minute * 60LL + c->second;
    return tz_local_to_utc(zone, local);
}
