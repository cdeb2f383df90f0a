/* clock.h - the clocks, in one place so tests can pin the wall clock.
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

#endif
