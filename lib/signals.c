/* signals.c - SIGTERM/SIGINT handling (declared in st2.h).
 *
 * st2 ends a timed-out action with SIGTERM to its whole session and never
 * follows up with SIGKILL, so an action that ignored it would hang the
 * execution. The handler only sets a flag: every wait in the library (HTTP
 * transfers, backoff sleeps, SQLite busy waits, provider polls) checks it and
 * unwinds with the error code "interrupted", so nothing is left half-written. */
#include "st2.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t interrupted;

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
}

bool as_interrupted(void) { return interrupted != 0; }

void as_set_interrupted(bool on) { interrupted = on ? 1 : 0; }

int as_sleep_ms(long ms)
{
    /* Sleep in short slices: a signal may land between the flag check and
     * nanosleep(), and must not cost the whole wait. */
    while (ms > 0 && !interrupted) {
        long slice = ms < 50 ? ms : 50;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted)
            ;
        ms -= slice;
    }
    return interrupted ? -1 : 0;
}
