/* clock.h - the clocks, in one place so tests can pin the wall clock, and
 * the one backoff every poll loop waits by.
 * AUTOSCALE_TEST_NOW=<epoch seconds> fixes "now" (tests and simulations
 * only: cooldowns, TTLs and leases then become deterministic). */
#ifndef AS_CLOCK_H
#define AS_CLOCK_H

/* The wall clock, epoch seconds (pinned by AUTOSCALE_TEST_NOW). */
long long as_now(void);

/* A monotonic clock in milliseconds, for measuring waits: never pinned, and
 * unmoved by changes to the wall clock. */
long long as_mono_ms(void);

/* An RFC 3339 time as the cloud APIs write it ("2024-05-01T12:00:00Z",
 * also with fractional seconds) as epoch seconds, read as UTC; 0 when s is
 * NULL or not that. */
long long as_parse_time(const char *s);

/* Days since 1970-01-01 of a date of the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): what the pack's own parsers of
 * webhook and operator times use instead of timegm(), which is neither C11
 * nor POSIX and depends on nothing but its arguments here. */
long long as_days_from_civil(long long y, unsigned m, unsigned d);

/* The waits between two looks at something that changes on its own (a
 * machine booting, a process exiting): short at first, since what is quick
 * is seen at once, then doubling up to a ceiling, so what is slow costs few
 * looks. Each caller picks its first wait (how soon a change can be worth a
 * look: milliseconds on this host, a second for a cloud API) and its
 * ceiling (a provider's poll interval, poll_interval_ms); the caller sleeps
 * (as_sleep_ms) and looks. No clock is read here: the sequence is the same
 * on every run. */
struct as_backoff {
    long next_ms; /* the wait as_backoff_next() gives next */
    long max_ms;  /* the ceiling */
};

/* first_ms doubling up to max_ms. A ceiling below 1 counts as 1; a first
 * wait below 1 or above the ceiling starts at the ceiling (a fixed
 * interval). */
void as_backoff_init(struct as_backoff *b, long first_ms, long max_ms);
/* The wait to make now, at most left_ms (what remains of the caller's
 * deadline; 0 when none remains), and the one after it doubled. */
long as_backoff_next(struct as_backoff *b, long long left_ms);

#endif
