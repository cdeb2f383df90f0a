/* fake_st2.h - a stateful, in-process fake of StackStorm's key-value REST API
 * (the /v1/keys endpoints of st2api) on libmicrohttpd, for tests.
 *
 * It follows st2's own source (st2api/controllers/v1/keyvalue.py,
 * st2api/controllers/resource.py, st2common/models/api/keyvalue.py,
 * st2common/router.py):
 *
 *   GET    /v1/keys/{name}[?scope=]  200 KeyValuePairAPI object | 404
 *   PUT    /v1/keys/{name}           body {"name","value","ttl","secret","scope"}
 *                                    200 object | 400 {"faultstring"}
 *   DELETE /v1/keys/{name}           204 | 404
 *   GET    /v1/keys?prefix=&limit=&offset=&scope=
 *                                    200 array, X-Total-Count and X-Limit headers
 *
 * Every request needs X-Auth-Token or St2-Api-Key matching what the fake was
 * started with (not both: st2 refuses two auth sources), else 401
 * {"faultstring": "Unauthorized - ..."}. Only the st2kv.system scope exists.
 * A token may be given a life (seconds or requests) and more tokens may be
 * minted, as st2's create_token() does for a sensor's datastore client; an
 * expired one gets st2's 401 "Unauthorized - Token has expired."
 * (st2common/util/auth.py validate_token, st2common/router.py).
 *
 * Where st2 offers a choice the fake takes the one that is harder on a client:
 * listing order is by name, limits above the maximum page are clamped (so a
 * client that asks for "everything" silently gets one page and must paginate),
 * and a wrong credential is echoed back in the 401 body so tests prove the
 * client keeps it out of its own error messages.
 *
 * The fake's clock is the real clock plus an adjustable offset, so TTL tests
 * advance it instead of sleeping. Thread-safe: the server runs one thread per
 * connection and every knob may be turned while it runs. */
#ifndef FAKE_ST2_H
#define FAKE_ST2_H

#include <stddef.h>

struct fake_st2;

/* Listen on an ephemeral port of 127.0.0.1. token/api_key: the credential the
 * server accepts (NULL: that kind is refused). NULL on failure. */
struct fake_st2 *fake_st2_start(const char *token, const char *api_key);
void fake_st2_stop(struct fake_st2 *f);

/* "http://127.0.0.1:PORT/v1" - what ST2_ACTION_API_URL would hold. */
const char *fake_st2_url(const struct fake_st2 *f);

/* ---- clock ---- */
long long fake_st2_now(struct fake_st2 *f); /* unix seconds */
void fake_st2_advance(struct fake_st2 *f, long long seconds); /* may be < 0 */

/* ---- tokens: st2's TokenDB, written by st2auth and create_token() ---- */
/* Accept token, or change the life of one already accepted: it expires ttl_s
 * seconds from now by the fake's clock (0: never) or after `uses` more
 * authorised requests (0: no limit), whichever comes first. The token the
 * fake started with never expires unless this is called. -1: out of memory. */
int fake_st2_set_token(struct fake_st2 *f, const char *token, long long ttl_s, int uses);
/* A new random token living ttl_s seconds (0: forever), as
 * st2common/services/access.py create_token() makes one. Newly allocated;
 * NULL if out of memory. */
char *fake_st2_mint_token(struct fake_st2 *f, long long ttl_s);
/* Every token accepted so far expires now, as if a day had passed; tokens
 * minted afterwards live normally. */
void fake_st2_expire_tokens(struct fake_st2 *f);
/* Serve the test-only control endpoints, for harnesses that run the fake as
 * a program and cannot call the functions above (no authentication, not
 * counted in the stats, not recorded as the last request):
 *   POST /v1/_fake/tokens  {"ttl": S}      201 {"token": "..."}  (mint)
 *   POST /v1/_fake/expire                  200 {"expired": N}
 *   POST /v1/_fake/clock   {"advance": S}  200 {"now": unix seconds}
 *   GET  /v1/_fake/stats                   200 the fake_st2_stats fields
 * Off by default: without it those paths are answered as st2 would (401
 * without a credential, else 404). */
void fake_st2_set_control(struct fake_st2 *f, int on);

/* ---- listing behaviour ---- */
enum fake_st2_limit_mode {
    FAKE_ST2_LIMIT_CLAMP,    /* limit > max page: serve max page (default) */
    FAKE_ST2_LIMIT_REJECT,   /* st2 with RBAC, non-admin: 403 (and limit=-1) */
    FAKE_ST2_LIMIT_UNLIMITED /* st2 without RBAC (everyone is admin) */
};
void fake_st2_set_limit_mode(struct fake_st2 *f, enum fake_st2_limit_mode m,
                             int max_page /* <= 0: 100 */);
/* 1: list in insertion order (MongoDB's natural order, what st2 really does
 * without ?sort=) instead of by name. */
void fake_st2_set_insertion_order(struct fake_st2 *f, int on);
/* A broken server: treat every offset as 0. */
void fake_st2_set_ignore_offset(struct fake_st2 *f, int on);
/* A broken server: ignore ?prefix= and list every key. */
void fake_st2_set_ignore_prefix(struct fake_st2 *f, int on);

/* ---- fault injection ---- */
/* The next n requests get `status` (500, 503, 429, ...) with a faultstring
 * body, before authentication, as a proxy in front of st2 would answer.
 * retry_after_s >= 0 adds "Retry-After: <s>". */
void fake_st2_fail_next(struct fake_st2 *f, int n, int status, long retry_after_s);
/* The next n PUTs of a key starting with prefix (NULL: any key) are
 * applied, then answered with `status` (500, 503, ...) instead of 200, or,
 * with status 0, not answered at all (the connection is dropped): the
 * ambiguous write whose reply was lost after the server committed it.
 * n 0 turns it off. */
void fake_st2_fail_after_commit(struct fake_st2 *f, int n, int status, const char *prefix);
/* Hold every response this long (0: off). */
void fake_st2_set_delay_ms(struct fake_st2 *f, long ms);

/* ---- direct access to the stored keys (no HTTP, not counted) ---- */
int fake_st2_set_key(struct fake_st2 *f, const char *name, const char *value,
                     long ttl_s);
/* Newly allocated copy of a live key's value, or NULL. */
char *fake_st2_get_key(struct fake_st2 *f, const char *name);
size_t fake_st2_key_count(struct fake_st2 *f); /* live keys */
void fake_st2_clear_keys(struct fake_st2 *f);

/* ---- what the server saw ---- */
struct fake_st2_stats {
    int requests;     /* every request, faults and 401s included */
    int gets, puts, deletes, lists; /* authorised requests reaching an endpoint */
    int unauthorized; /* 401 answers */
    int faults;       /* answers from fake_st2_fail_next */
    int expired;      /* 401 answers for a known token past its life */
    int minted;       /* tokens made by fake_st2_mint_token */
};
void fake_st2_stats(struct fake_st2 *f, struct fake_st2_stats *out);
void fake_st2_reset_stats(struct fake_st2 *f);

/* Newly allocated copies from the last request, NULL when absent. The path
 * and the key name are as the server decoded them. */
char *fake_st2_last_header(struct fake_st2 *f, const char *name); /* any case */
char *fake_st2_last_query(struct fake_st2 *f, const char *name);
char *fake_st2_last_method(struct fake_st2 *f);
char *fake_st2_last_path(struct fake_st2 *f);
char *fake_st2_last_key(struct fake_st2 *f); /* for /v1/keys/{name} */
char *fake_st2_last_body(struct fake_st2 *f);

#endif
