/* tz.h - IANA time zones for scheduled actions (lib/model/schedule.h):
 * whether a zone name is one this host can use, what the wall clock of a
 * zone reads at an instant, and the instant a wall-clock time stands for.
 *
 * A wall-clock time can occur twice (the hour repeated when clocks fall
 * back) or never (the hour skipped when they spring forward). The one rule
 * here, which cron.h and every schedule follow:
 *  - a time that occurs twice is its FIRST occurrence: a job at 01:30 on
 *    America/New_York's fall-back day fires at 05:30Z (EDT), once;
 *  - a time that does not exist is the instant the gap ends: 02:30 on its
 *    spring-forward day is 03:00 EDT = 07:00Z, so the job still runs that
 *    day, once, as early as it can.
 * So local -> UTC never decreases as local time increases, which is what
 * lets cron.c search a day's times by bisection.
 *
 * Implementation: the C library's own reading of the zone file (TZ=":zone",
 * tzset, localtime_r's tm_gmtoff) rather than a TZif reader of our own:
 * glibc already reads the zone files and the POSIX rule in their footer
 * (dates past the last listed transition), and a second reader would be a
 * second place for a zone to be read wrong. UTC never touches the C
 * library. The zone is set only while a call (or a tz_begin scope) runs
 * and TZ is put back after, without a tzset: glibc re-reads a zone file
 * only when TZ differs from the one it loaded last, so a tick over many
 * groups in one zone reads its file once (a tick alternating between zones
 * reads each file again at each switch: tens of microseconds), and
 * anything else that reads local time calls tzset() (as localtime(),
 * mktime() and strftime() do) and so sees the process's own TZ again. Not
 * thread-safe (TZ is process-wide); actions are not threaded.
 * The name is checked (tz_check) before it is ever put in TZ: glibc falls
 * back to UTC, silently, for a zone it cannot read. */
#ifndef AS_TZ_H
#define AS_TZ_H

#include <stdbool.h>

#include "error.h"

#define TZ_NAME_MAX 64

/* A wall-clock time: year, month 1-12, day 1-31, hour 0-23, minute, second,
 * weekday 0-6 (0 Sunday; ignored by tz_to_utc). */
struct tz_civil {
    int year, month, day, hour, minute, second, weekday;
};

/* Whether zone is an IANA name this host has: "UTC", or at most
 * TZ_NAME_MAX of [A-Za-z0-9_+-/], relative, no empty, "." or ".."
 * component, naming a file under $TZDIR (else /usr/share/zoneinfo) that
 * starts with "TZif". tz_check says why not: BADINPUT "invalid_parameter"
 * naming the parameter `what`. */
bool tz_valid(const char *zone);
int tz_check(const char *zone, const char *what, struct as_error *err);

/* Many conversions in one zone: between tz_begin(zone) and tz_end() the
 * zone stays set, sparing each conversion the switch of TZ (a schedule's
 * cron searches make dozens). Scopes nest (only the outermost counts);
 * a conversion in another zone inside one still answers right, slowly. */
void tz_begin(const char *zone);
void tz_end(void);

/* The wall clock of zone (valid, tz_valid) at epoch second t, and its
 * offset east of UTC in seconds (NULL: not wanted). */
void tz_to_local(const char *zone, long long t, struct tz_civil *out, long *gmtoff);

/* The instant of wall-clock time c in zone (valid), by the rule above. */
long long tz_to_utc(const char *zone, const struct tz_civil *c);

/* The same for a wall-clock time given as seconds since 1970-01-01 00:00
 * of the zone's own calendar (days_from_civil * 86400 + time of day). */
long long tz_local_to_utc(const char *zone, long long local);

/* Days since 1970-01-01 back to a date (Howard Hinnant's
 * civil_from_days), and that day's weekday (0 Sunday). */
void tz_civil_from_days(long long days, int *year, int *month, int *day);
int tz_weekday(long long days);

#endif
