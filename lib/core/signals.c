/* signals.c - SIGTERM/SIGINT handling and the action's deadline (signals.h).
 *
 * st2 ends a timed-out action with SIGTERM to its whole session and never
 * follows up with SIGKILL, so an action that ignored it would hang the
 * execution. The handler only sets a flag: every wait in the library (HTTP
 * transfers, backoff sleeps, SQLite busy waits, provider polls) checks it and
 * unwinds with the error code "interrupted", so nothing is left half-written.
 * as_action_main() installs it before anything else and checks the flag
 * again before the command runs, so a SIGTERM that arrives during start-up
 * stops the action before its first write. */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t interrupted;
static long long deadline_ms; /* CLOCK_MONOTONIC ms; 0: none */

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void as_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed socket is an error value, not a death */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

bool as_interrupted(void) { return interrupted != 0; }

void as_set_interrupted(bool on) { interrupted = on ? 1 : 0; }

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void as_deadline_set_ms(long long ms)
{
    deadline_ms = ms > 0 ? mono_ms() + ms : 0;
}

long long as_deadline_left_ms(void)
{
    if (!deadline_ms)
        return AS_NO_DEADLINE;
    long long left = deadline_ms - mono_ms();
    return left > 0 ? left : 0;
}

long long as_deadline_cap_ms(long long ms)
{
    long long left = as_deadline_left_ms();
    return ms < left ? ms : left;
}

int as_sleep_ms(long ms)
{
    long long capped = as_deadline_cap_ms(ms);
    /* Sleep in short slices: a signal may land between the flag check and
     * nanosleep(), and must not cost the whole wait. */
    for (long long left = capped; left > 0 && !interrupted;) {
        long slice = left < 50 ? (long)left : 50;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted)
            ;
        left -= slice;
    }
    if (interrupted)
        return -1;
    return capped < ms ? 1 : 0;
}
