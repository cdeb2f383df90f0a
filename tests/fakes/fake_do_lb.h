/* fake_do_lb.h - an in-process fake of DigitalOcean's load balancer
 * endpoints (API v2) on libmicrohttpd, for tests. DigitalOcean cannot run
 * here; this follows its documented requests, replies and errors
 * (digitalocean/openapi, specification/resources/load_balancers):
 *
 *   GET    /v2/load_balancers/{id}           200 {"load_balancer": {id, name, ip,
 *                                            status, tag, droplet_ids, region, ...}}
 *   POST   /v2/load_balancers/{id}/droplets  {"droplet_ids": [n, ...]} -> 204, no body
 *   DELETE /v2/load_balancers/{id}/droplets  {"droplet_ids": [n, ...]} -> 204, no body
 *
 * Errors are {"id", "message", "request_id"} JSON:
 *   401 "unauthorized"  without "Authorization: Bearer <the token>";
 *   404 "not_found"     for an unknown load balancer;
 *   422 "unprocessable_entity" for a body without a non-empty integer
 *       droplet_ids, a droplet the account does not have, or droplets added
 *       to a load balancer that selects its droplets by tag (documented:
 *       "Individual Droplets can not be added to a load balancer configured
 *       with a Droplet tag");
 *   429 "too_many_requests" with Retry-After (injected).
 * Adding a droplet already in, or removing one that is not, is accepted and
 * changes nothing. Thread-safe; every knob may be turned while it runs. */
#ifndef FAKE_DO_LB_H
#define FAKE_DO_LB_H

#include <stddef.h>

struct fake_dolb;

/* Listen on an ephemeral port of 127.0.0.1 accepting `token`; NULL on
 * failure. */
struct fake_dolb *fake_dolb_start(const char *token);
void fake_dolb_stop(struct fake_dolb *f);
/* "http://127.0.0.1:PORT/v2": what the api_url setting holds. */
const char *fake_dolb_url(const struct fake_dolb *f);

/* A load balancer (tag NULL: droplets are added by id). */
void fake_dolb_add_lb(struct fake_dolb *f, const char *id, const char *tag);
/* A droplet of the account (only those may be added). */
void fake_dolb_add_droplet(struct fake_dolb *f, long long id);
/* Put a droplet in a load balancer directly (not counted). */
void fake_dolb_attach(struct fake_dolb *f, const char *lb, long long droplet);
int fake_dolb_has(struct fake_dolb *f, const char *lb, long long droplet);
size_t fake_dolb_count(struct fake_dolb *f, const char *lb);

/* The next n requests get `status` in the API's error shape, before
 * authentication, and change nothing; retry_after_s >= 0 adds Retry-After. */
void fake_dolb_fail_next(struct fake_dolb *f, int n, int status, long retry_after_s);
/* 1: a 401 quotes the token it refused (to prove the client scrubs it). */
void fake_dolb_set_echo_token(struct fake_dolb *f, int on);

struct fake_dolb_stats {
    int requests, gets, posts, deletes;
    int unauthorized, faults, rejected; /* 401s, injected, 404/422s */
};
void fake_dolb_stats(struct fake_dolb *f, struct fake_dolb_stats *out);
/* The body of the last POST or DELETE (newly allocated), or NULL. */
char *fake_dolb_last_body(struct fake_dolb *f);

#endif
