/* test_util.h - the small helpers every test program, server stand-in and
 * fake shares: a sleep and a clock, a free port, an environment without
 * proxies, a temporary directory, and a sleep that a stop cuts short (so a
 * fake's long delay never holds a test's teardown up).
 *
 * None of them fails a cmocka test: fakes built without cmocka use them. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Sleep ms milliseconds, whatever signals arrive meanwhile. */
void test_sleep_ms(long ms);

/* Milliseconds on the monotonic clock. */
long long test_now_ms(void);

/* A TCP port nobody listens on at addr (NULL: 127.0.0.1) right now, free
 * for UDP as well when udp_too; -1 if none was found. The port is released
 * before the caller binds it, so another program may take it first: a
 * server started on it must be retried on a new port when it cannot bind.
 * `make test` runs each program in a network namespace of its own where it
 * can (tests/support/run_one.sh), so only a program's own servers compete. */
int test_free_port(const char *addr, bool udp_too);

/* Unset every proxy variable libcurl reads: a proxy from the environment
 * would swallow the requests a test sends to its 127.0.0.1 servers (and a
 * child started afterwards inherits the cleaned environment). */
void test_unset_proxies(void);

/* Make a fresh directory /tmp/<prefix>-XXXXXX into dir (size bytes): 0, or
 * -1 when it could not be made. */
int test_tmpdir(char *dir, size_t size, const char *prefix);

/* Remove dir and everything in it, not following symlinks: 0, or -1 when
 * something could not be removed. */
int test_rmtree(const char *dir);

/* A sleep that test_waker_stop() cuts short, for replies a fake delays on
 * purpose: after stop, every sleep in progress or to come returns at once. */
struct test_waker {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

void test_waker_init(struct test_waker *w);
void test_waker_sleep_ms(struct test_waker *w, long ms);
void test_waker_stop(struct test_waker *w);
void test_waker_destroy(struct test_waker *w);

#endif
