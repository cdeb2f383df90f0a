/* signals.h - SIGTERM/SIGINT and the action's own deadline (lib/core/signals.c).
 *
 * st2's timeout sends SIGTERM to the whole session and never follows up with
 * SIGKILL. Handlers only set a flag; long waits poll it and give up cleanly.
 * The deadline is the time an action has given itself (its `deadline`
 * parameter, say): every wait and every HTTP retry budget is cut to what is
 * left of it, so no setting can make a wait outlast the action. */
#ifndef AS_SIGNALS_H
#define AS_SIGNALS_H

#include <stdbool.h>

/* Install the handlers (and unblock both signals: a mask inherited from the
 * parent must not keep st2's SIGTERM from us). A signal already pending is
 * delivered here, so as_interrupted() says so right after. */
void as_signals_install(void);
bool as_interrupted(void);
/* For tests: pretend a signal arrived (or clear it). */
void as_set_interrupted(bool on);

/* The action's deadline, ms from now (monotonic clock); <= 0 clears it.
 * A later call replaces an earlier one. */
void as_deadline_set_ms(long long ms);
/* Milliseconds left before the deadline: 0 once it passed, AS_NO_DEADLINE
 * when none is set. */
#define AS_NO_DEADLINE (1LL << 62)
long long as_deadline_left_ms(void);
/* ms cut to what is left of the deadline. */
long long as_deadline_cap_ms(long long ms);

/* Sleep up to ms, never past the deadline: 0 after the full sleep, -1 early
 * when interrupted (a signal), 1 when the deadline cut it short. */
int as_sleep_ms(long ms);

#endif
