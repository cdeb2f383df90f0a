/* claim.h - one holder at a time for a name (a group's lease, a group's spec
 * lock), on a store without compare-and-swap. The argument is in
 * docs/datastore.md, "One writer: leases and spec locks".
 *
 * A claim on `base` is held by exactly one live key that is either `base`
 * itself or `base.<token>`:
 *
 *  - a backend with an atomic create (ds_can_create: the embedded store)
 *    creates `base` if no live key has that name, in one transaction;
 *  - otherwise (st2) each contender writes its own candidate
 *    `base.<16 hex token>` with a TTL, then lists `base`: it holds the claim
 *    only if it saw no other live key of the claim (old-format `base`
 *    included). Every contender that saw another deletes its own candidate.
 *    Under linearizable single-key writes and prefix reads, two contenders
 *    cannot both win: each one's list would have to precede the other's
 *    write, and each write precedes its own list.
 *
 * A candidate is first written with CLAIM_TTL seconds of life; a claim for
 * longer is extended by rewriting it only after winning, so a candidate
 * nobody could delete (its writer killed, or its PUT applied after the reply
 * was lost) blocks for at most CLAIM_TTL. A claim is only acted on while
 * less than its TTL minus CLAIM_MARGIN has passed since its write was sent
 * (claim_check), which leaves CLAIM_MARGIN for clock skew between the hosts
 * judging expiry and for the request's own time. */
#ifndef AS_CLAIM_H
#define AS_CLAIM_H

#include <stdbool.h>

#include "datastore.h"
#include "error.h"
#include "keys.h"

#define CLAIM_TTL 30    /* seconds a candidate lives until extended */
#define CLAIM_MARGIN 10 /* seconds of a claim's TTL never relied on */
#define CLAIM_TOKEN_LEN 16

#define CLAIM_WON 0
#define CLAIM_TAKEN 1 /* another holds the name (or kept contending) */

enum claim_wait {
    CLAIM_ONCE, /* give up as soon as the name is seen held */
    CLAIM_WAIT, /* wait for the holder to let go, until the deadline */
};

struct claim {
    char base[KEY_MAX];
    char key[KEY_MAX];    /* the key held: base, or base.<token> */
    long long sent_ms;    /* monotonic time the write that set its TTL was sent */
    long ttl_s;           /* that TTL */
};

/* Take the claim on base, storing value (ttl_s > 0) under the key held.
 * Contention is retried with jittered exponential backoff for up to wait_ms;
 * CLAIM_ONCE stops early once another holder is seen. Returns CLAIM_WON with
 * *c filled, CLAIM_TAKEN (nothing of ours left behind), or -1 with err (and
 * our candidate deleted, best effort; "interrupted" after SIGTERM). */
int claim_take(struct ds *ds, const char *base, const char *value, long ttl_s,
               enum claim_wait wait, long wait_ms, struct claim *c, struct as_error *err);

/* 0 while the claim may still be relied on, else -1 with "claim_expired". */
int claim_check(const struct claim *c, struct as_error *err);

/* Delete the key held. */
int claim_release(struct ds *ds, const struct claim *c, struct as_error *err);
/* The same, best effort, for a holder that has nothing to do about a
 * failure: it is logged, and the key's TTL (CLAIM_TTL unless extended) ends
 * the claim anyway. */
void claim_drop(struct ds *ds, const struct claim *c);

/* Delete every key of the claim on base, whoever holds it (forgetting a
 * group). */
int claim_clear(struct ds *ds, const char *base, struct as_error *err);

/* Whether key belongs to the claim on base (base itself or base.<x>). */
bool claim_key_of(const char *base, const char *key);

/* Every live key of the claim on base (held, contending or stray) into out,
 * sorted by name. */
int claim_list(struct ds *ds, const char *base, struct ds_list *out,
               struct as_error *err);

/* 64 random bits (/dev/urandom, else a mix of pid and clocks). */
unsigned long long claim_random64(void);

/* Tests only: replace the monotonic clock (milliseconds); NULL restores. */
void claim_set_clock(long long (*ms)(void));

#endif
