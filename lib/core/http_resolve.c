/* http_resolve.c - a host name to addresses for the plain transport
 * (http_int.h: http_resolve_name), by getaddrinfo() on a thread of its own,
 * as libcurl's threaded resolver does: getaddrinfo() has no timeout, and a
 * dead DNS server must not hold the action past its deadline. A static
 * binary links lib/link/http_resolve_none.c in its place. */
#include "http_int.h"

#include "clock.h"
#include "signals.h"
#include "xalloc.h"

#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const int http_resolves_names = 1;

/* One getaddrinfo() on its own thread. Whoever lets go last (the thread
 * when it finishes, or the attempt when it stops waiting) frees it: an
 * attempt that gives up leaves the thread to finish on its own. */
struct resolve_job {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int refs, done, rc;
    struct addrinfo *res;
    char host[256];
    char port[8];
};

static void job_drop(struct resolve_job *j)
{
    pthread_mutex_lock(&j->lock);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last)
        return;
    if (j->res)
        freeaddrinfo(j->res);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static void *resolve_main(void *arg)
{
    struct resolve_job *j = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(j->host, j->port, &hints, &res);

    pthread_mutex_lock(&j->lock);
    j->rc = rc;
    j->res = rc == 0 ? res : NULL;
    j->done = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->lock);
    job_drop(j);
    return NULL;
}

static struct resolve_job *job_start(const char *host, unsigned port)
{
    struct resolve_job *j = xcalloc(1, sizeof *j);
    pthread_condattr_t ca;
    pthread_attr_t ta;
    sigset_t all, old;
    pthread_t t;

    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(j->host, sizeof j->host, "%s", host);
    snprintf(j->port, sizeof j->port, "%u", port);
    j->refs = 2;

    /* The thread blocks every signal: SIGTERM is for the main thread, whose
     * waits it must cut short. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &ta, resolve_main, j);
    pthread_attr_destroy(&ta);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) { /* no thread: resolve here, without a bound */
        j->refs = 1;
        resolve_main(j);
        return NULL;
    }
    return j;
}

/* The job's addresses, as many as fit. */
static void take(struct http_addrs *out, const struct addrinfo *res)
{
    out->n = 0;
    for (const struct addrinfo *ai = res; ai && out->n < HTTP_ADDRS_MAX; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof out->a[0].sa)
            continue;
        memset(&out->a[out->n], 0, sizeof out->a[out->n]);
        memcpy(&out->a[out->n].sa, ai->ai_addr, ai->ai_addrlen);
        out->a[out->n++].len = ai->ai_addrlen;
    }
}

int http_resolve_name(const char *host, unsigned port, const char *peer, long long end,
                      struct http_addrs *out, struct http_failure *f)
{
    out->n = 0;
    struct resolve_job *j = job_start(host, port);
    if (!j)
        return http_failure_set(f, "http_unreachable", 1, "cannot resolve %s: no thread",
                                host);
    int rc = 0, done, stop = 0;
    pthread_mutex_lock(&j->lock);
    while (!(done = j->done)) {
        long long now = as_mono_ms();
        if ((stop = as_interrupted() ? -1 : now >= end ? 1 : 0))
            break;
        long long until = now + HTTP_WAIT_SLICE_MS < end ? now + HTTP_WAIT_SLICE_MS : end;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long ns = ts.tv_nsec + (until - now) * 1000000LL;
        ts.tv_sec += ns / 1000000000LL;
        ts.tv_nsec = ns % 1000000000LL;
        pthread_cond_timedwait(&j->cv, &j->lock, &ts);
    }
    if (done) {
        rc = j->rc;
        if (rc == 0)
            take(out, j->res);
    }
    pthread_mutex_unlock(&j->lock);
    job_drop(j);

    if (stop < 0)
        return http_failure_set(f, "interrupted", 0, "interrupted");
    if (stop > 0)
        return http_failure_set(f, "http_timeout", 1, "resolving %s timed out", peer);
    if (rc != 0)
        return http_failure_set(f, "http_unreachable", 1, "cannot resolve %s: %s", host,
                                gai_strerror(rc));
    if (out->n == 0)
        return http_failure_set(f, "http_unreachable", 1, "cannot resolve %s: no address",
                                host);
    return 0;
}
