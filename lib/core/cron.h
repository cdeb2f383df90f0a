/* cron.h - standard five-field cron expressions, as scheduled actions
 * (lib/model/schedule.h) write their start and end: when one last fired,
 * and when it fires next, in an IANA time zone (tz.h).
 *
 * "minute hour day-of-month month day-of-week", each field `*`, a value, a
 * range `1-5`, a step `*\/15` or `1-5/2`, or a comma list of those; months
 * JAN-DEC and weekdays SUN-SAT by name (any case), 0 and 7 both Sunday.
 * When both day fields are restricted (neither starts with `*`), a day
 * matches when EITHER does, as Vixie cron has it ("0 0 13 * FRI": every
 * 13th and every Friday). Nothing else: no seconds, years, `@daily`, `L`,
 * `W`, `#` or `?`; a refusal names the field.
 *
 * Occurrences are wall-clock times of the zone turned into instants by
 * tz.h's rule: a time skipped by a spring-forward fires when the gap ends,
 * a time repeated by a fall-back fires at its first occurrence, so each
 * fires once on such a day. The search goes day by day (a day's times by
 * bisection, tz.h's mapping never going backwards), so a whole five-year
 * search that finds nothing costs date arithmetic only: cheap enough for
 * every schedule at every governor tick. */
#ifndef AS_CRON_H
#define AS_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* Longest expression accepted (characters). */
#define CRON_TEXT_MAX 200
/* How far cron_prev and cron_next look: five years. */
#define CRON_HORIZON_DAYS (5 * 366 + 1)

struct cron {
    uint64_t minutes;  /* bit 0-59 */
    uint32_t hours;    /* bit 0-23 */
    uint32_t days;     /* bit 1-31 */
    uint16_t months;   /* bit 1-12 */
    uint8_t weekdays;  /* bit 0-6, 0 Sunday */
    bool dom_star, dow_star; /* the field starts with '*' (Vixie's rule) */
};

/* Parse text into *out: 0, or -1 with BADINPUT "invalid_parameter" whose
 * message names the parameter `what` and the field at fault. */
int cron_parse(const char *text, const char *what, struct cron *out, struct as_error *err);

/* The latest occurrence at or before now in zone (valid: tz_valid), or 0
 * when there is none within CRON_HORIZON_DAYS ("0 0 30 2 *"). */
long long cron_prev(const struct cron *c, const char *zone, long long now);
/* The first occurrence after now, or 0 when none within the horizon. */
long long cron_next(const struct cron *c, const char *zone, long long now);

/* Whether the day (days since 1970-01-01 of the zone's calendar) is one the
 * expression fires on. */
bool cron_day_matches(const struct cron *c, long long days);

#endif
