/* claim.c - see claim.h; the proof is in docs/datastore.md. */
#include "claim.h"
#include "clock.h"
#include "log.h"
#include "signals.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NAP_FIRST_MS 4   /* first backoff: a claim round trip is a few ms */
#define NAP_MAX_MS 250   /* cap, so a waiter still looks often */

static long long (*mono_ms)(void) = as_mono_ms;

void claim_set_clock(long long (*ms)(void)) { mono_ms = ms ? ms : as_mono_ms; }

unsigned long long claim_random64(void)
{
    unsigned long long v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((unsigned long long)getpid() << 32) ^ (unsigned long long)ts.tv_nsec ^
            ((unsigned long long)ts.tv_sec * 0x9E3779B97F4A7C15ull);
    }
    if (fd >= 0)
        close(fd);
    return v;
}

bool claim_key_of(const char *base, const char *key)
{
    size_t n = strlen(base);
    return strncmp(key, base, n) == 0 && (key[n] == '\0' || key[n] == '.');
}

/* Listing base without the dot also returns base itself (the old lease
 * layout, and the key an atomic create holds); the names of other groups
 * that merely start with it ("web-2" for "web") are dropped here. */
int claim_list(struct ds *ds, const char *base, struct ds_list *out,
               struct as_error *err)
{
    struct ds_list all = {0};
    if (ds_list(ds, base, &all, err) < 0)
        return -1;
    for (size_t i = 0; i < all.count; i++)
        if (claim_key_of(base, all.items[i].name))
            ds_list_add(out, all.items[i].name, all.items[i].value);
    ds_list_clear(&all);
    return 0;
}

int claim_clear(struct ds *ds, const char *base, struct as_error *err)
{
    struct ds_list l = {0};
    if (claim_list(ds, base, &l, err) < 0)
        return -1;
    int rc = ds_del_list(ds, &l, err);
    ds_list_clear(&l);
    return rc;
}

int claim_check(const struct claim *c, struct as_error *err)
{
    long long limit = (long long)(c->ttl_s - CLAIM_MARGIN) * 1000;
    if (mono_ms() - c->sent_ms < limit)
        return 0;
    return as_fail(err, AS_EXIT_FAILURE, "claim_expired",
                   "held %s too long to rely on it (more than %ld s of its %ld s TTL); "
                   "nothing written, run again",
                   c->base, c->ttl_s - CLAIM_MARGIN, c->ttl_s);
}

int claim_release(struct ds *ds, const struct claim *c, struct as_error *err)
{
    return ds_del(ds, c->key, err);
}

/* Delete our candidate on a path that will not hold it, or a claim its
 * holder is done with. A failure is only logged: the key's TTL (CLAIM_TTL)
 * ends it anyway. */
static void drop(struct ds *ds, const char *key)
{
    struct as_error ignored;
    if (ds_del(ds, key, &ignored) < 0)
        log_warn("claim: could not delete %s (%s); it expires within %d s", key,
                 ignored.code, CLAIM_TTL);
}

void claim_drop(struct ds *ds, const struct claim *c)
{
    drop(ds, c->key);
}

enum { TRY_WON, TRY_LOST, TRY_HELD };

/* The embedded store: one transaction decides. A failed create rolled back,
 * so an error here is never ambiguous. */
static int try_create(struct ds *ds, const char *value, long ttl_s, struct claim *c,
                      struct as_error *err)
{
    snprintf(c->key, sizeof c->key, "%s", c->base);
    c->sent_ms = mono_ms();
    c->ttl_s = ttl_s;
    int rc = ds_create(ds, c->key, value, ttl_s, err);
    return rc < 0 ? -1 : rc == DS_EXISTS ? TRY_HELD : TRY_WON;
}

static bool listed(const struct ds_list *l, const char *key)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].name, key) == 0)
            return true;
    return false;
}

/* After winning a short candidate, give it the claim's real TTL. Only safe
 * while the candidate cannot have lapsed: the rewrite is accepted only when
 * its reply came back within CLAIM_TTL - CLAIM_MARGIN of the candidate's
 * write being sent (the server applied it before replying). */
static int extend(struct ds *ds, const char *value, long ttl_s, struct claim *c,
                  struct as_error *err)
{
    long long sent = mono_ms();
    if (ds_put(ds, c->key, value, ttl_s, err) < 0) {
        drop(ds, c->key); /* applied or not, gone now */
        return -1;
    }
    if (claim_check(c, err) < 0) {
        drop(ds, c->key);
        return TRY_LOST;
    }
    c->sent_ms = sent;
    c->ttl_s = ttl_s;
    return TRY_WON;
}

/* st2: write our candidate, then list. */
static int try_candidate(struct ds *ds, const char *value, long ttl_s, struct claim *c,
                         struct as_error *err)
{
    struct ds_list l = {0};
    long first = ttl_s < CLAIM_TTL ? ttl_s : CLAIM_TTL;

    char token[CLAIM_TOKEN_LEN + 1];
    size_t n = strlen(c->base); /* claim_take checked that base.<token> fits */
    snprintf(token, sizeof token, "%016llx", claim_random64());
    memcpy(c->key, c->base, n);
    c->key[n] = '.';
    memcpy(c->key + n + 1, token, sizeof token);
    c->sent_ms = mono_ms();
    c->ttl_s = first;
    if (ds_put(ds, c->key, value, first, err) < 0) {
        if (err->exit == AS_EXIT_BADINPUT || as_error_is(err, "interrupted"))
            return -1; /* refused before sending, or we are stopping: TTL cleans */
        /* Ambiguous: the server may have committed before the reply was lost.
         * Seeing our key in a listing proves the write took effect before
         * that listing, which is all the protocol needs of the listing. */
        struct as_error put_err = *err, list_err;
        if (claim_list(ds, c->base, &l, &list_err) < 0 || !listed(&l, c->key)) {
            ds_list_clear(&l);
            drop(ds, c->key); /* in case it lands late */
            *err = put_err;
            return -1;
        }
        log_info("claim: the write of %s failed (%s) but took effect; going on", c->key,
                 put_err.code);
    } else if (claim_list(ds, c->base, &l, err) < 0) {
        drop(ds, c->key);
        return -1;
    }
    bool alone = l.count == 1 && listed(&l, c->key);
    ds_list_clear(&l);
    if (!alone || claim_check(c, err) < 0) {
        drop(ds, c->key);
        return TRY_LOST;
    }
    return ttl_s > first ? extend(ds, value, ttl_s, c, err) : TRY_WON;
}

/* 1 when a live key of the claim exists, 0 when none, -1 on error. */
static int occupied(struct ds *ds, const char *base, struct as_error *err)
{
    struct ds_list l = {0};
    if (claim_list(ds, base, &l, err) < 0)
        return -1;
    int n = l.count > 0;
    ds_list_clear(&l);
    return n;
}

/* Full jitter over an exponential base: contenders that collided once are
 * unlikely to collide again. */
static long nap_ms(int attempt)
{
    long base = NAP_FIRST_MS;
    for (int i = 1; i < attempt && base < NAP_MAX_MS; i++)
        base *= 2;
    if (base > NAP_MAX_MS)
        base = NAP_MAX_MS;
    return 1 + (long)(claim_random64() % (unsigned long long)base);
}

static int interrupted(const char *base, struct as_error *err)
{
    return as_fail(err, AS_EXIT_FAILURE, "interrupted", "interrupted while claiming %s",
                   base);
}

int claim_take(struct ds *ds, const char *base, const char *value, long ttl_s,
               enum claim_wait wait, long wait_ms, struct claim *c, struct as_error *err)
{
    memset(c, 0, sizeof *c);
    if (strlen(base) + 1 + CLAIM_TOKEN_LEN >= sizeof c->key || ttl_s <= 0)
        return as_fail(err, AS_EXIT_FAILURE, "internal_error", "bad claim on %s", base);
    snprintf(c->base, sizeof c->base, "%s", base);
    long long deadline = mono_ms() + wait_ms;

    for (int attempt = 0;; attempt++) {
        if (attempt > 0) {
            long nap = nap_ms(attempt);
            if (mono_ms() + nap > deadline)
                return CLAIM_TAKEN;
            if (as_sleep_ms(nap) < 0)
                return interrupted(base, err);
            /* Still there after a nap: held, not merely contended (a
             * contender that lost has deleted its candidate by now). */
            int busy = occupied(ds, base, err);
            if (busy < 0)
                return -1;
            if (busy && wait == CLAIM_ONCE)
                return CLAIM_TAKEN;
            if (busy)
                continue;
        }
        if (as_interrupted())
            return interrupted(base, err);
        int rc = ds_can_create(ds) ? try_create(ds, value, ttl_s, c, err)
                                   : try_candidate(ds, value, ttl_s, c, err);
        if (rc < 0)
            return -1;
        if (rc == TRY_WON)
            return CLAIM_WON;
        if (rc == TRY_HELD && wait == CLAIM_ONCE)
            return CLAIM_TAKEN;
    }
}
