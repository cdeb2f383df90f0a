/* clock.h - the wall clock, in one place so tests can pin it.
 * AUTOSCALE_TEST_NOW=<epoch seconds> fixes "now" (tests and simulations
 * only: cooldowns, TTLs and leases then become deterministic). */
#ifndef AS_CLOCK_H
#define AS_CLOCK_H

long long as_now(void);

#endif
