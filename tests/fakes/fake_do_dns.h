/* fake_do_dns.h - a stateful, in-process fake of DigitalOcean's API v2
 * domains and domain records endpoints, on libmicrohttpd, for tests of
 * lib/dns/dns_digitalocean.c. Never linked into the pack.
 *
 * It follows DigitalOcean's OpenAPI description (digitalocean/openapi,
 * specification/resources/domains):
 *
 *   GET    /v2/domains/{domain}            200 {"domain": {name, ttl, zone_file}}
 *   GET    /v2/domains/{domain}/records?type=&name=&page=&per_page=
 *                                          200 {"domain_records": [...],
 *                                               "links": {"pages": {first, prev,
 *                                               next, last}}, "meta": {"total"}}
 *                                          `name` filters on the FULL name
 *                                          ("www.example.com"); records carry
 *                                          names relative to the domain ("www",
 *                                          "@" for the apex)
 *   POST   /v2/domains/{domain}/records    201 {"domain_record": {...}}
 *   GET    /v2/domains/{domain}/records/{id}   200 | 404
 *   PUT    /v2/domains/{domain}/records/{id}   200 {"domain_record": {...}}
 *   PATCH  /v2/domains/{domain}/records/{id}   (the same)
 *   DELETE /v2/domains/{domain}/records/{id}   204 | 404
 *
 * A record: {id, type, name, data, priority, port, ttl, weight, flags, tag},
 * unused fields null. A new domain holds an SOA and three NS records, as on
 * DO. Validation answers 422 {"id": "unprocessable_entity", ...}: a missing
 * or unknown type, an A record whose data is not IPv4, a name that is not a
 * host name, a TTL under 30. An unknown domain or record is 404 {"id":
 * "not_found", "message": "The resource you were accessing could not be
 * found."}. Every request needs "Authorization: Bearer <token>", else 401
 * {"id": "unauthorized", "message": "Unable to authenticate you."}. Every
 * error body carries a request_id; every reply ratelimit-* headers.
 *
 * Listing is by ascending id; per_page defaults to 20 and is clamped to the
 * maximum (200, settable lower), so a client must follow links.pages.next.
 *
 * Thread-safe: one thread per connection, every knob may be turned while it
 * runs. */
#ifndef FAKE_DO_DNS_H
#define FAKE_DO_DNS_H

#include <stddef.h>

struct fake_do_dns;

/* Listen on an ephemeral port of 127.0.0.1, accepting `token`. */
struct fake_do_dns *fake_do_dns_start(const char *token);
void fake_do_dns_stop(struct fake_do_dns *f);

/* "http://127.0.0.1:PORT/v2" - what digitalocean_api_url holds in tests. */
const char *fake_do_dns_url(const struct fake_do_dns *f);

/* ---- state, directly (no HTTP, not counted) ---- */
/* Add a domain with its SOA and NS records; 0, or -1 if it exists. */
int fake_do_dns_add_domain(struct fake_do_dns *f, const char *domain);
/* Add a record ("A", relative name, data, ttl); its id, or -1. */
long long fake_do_dns_add_record(struct fake_do_dns *f, const char *domain, const char *type,
                                 const char *name, const char *data, long ttl);
/* The data of the A records named `name` (relative), sorted, joined by
 * ','; "" if none. Newly allocated. */
char *fake_do_dns_addresses(struct fake_do_dns *f, const char *domain, const char *name);
/* The TTL of those records: -1 if there are none, -2 if they differ. */
long fake_do_dns_ttl(struct fake_do_dns *f, const char *domain, const char *name);
/* How many A records named `name` (repeats of one address included). */
size_t fake_do_dns_count(struct fake_do_dns *f, const char *domain, const char *name);
/* Every record of the domain (SOA and NS included). */
size_t fake_do_dns_total(struct fake_do_dns *f, const char *domain);

/* ---- behaviour ---- */
void fake_do_dns_set_max_per_page(struct fake_do_dns *f, int n);
/* 1: a 401 names the bearer token it refused (a client must scrub it). */
void fake_do_dns_set_echo_token(struct fake_do_dns *f, int on);

/* ---- fault injection ---- */
/* The next n requests get `status` in the API's error shape before
 * anything is done; retry_after_s >= 0 adds "Retry-After". */
void fake_do_dns_fail_next(struct fake_do_dns *f, int n, int status, long retry_after_s);
/* Of the requests with this method ("POST", "DELETE", ...), let `skip`
 * through, then answer the next `count` with `status` (a 429 with
 * "Retry-After: 0"), doing nothing. count 0 turns it off. */
void fake_do_dns_fail_method(struct fake_do_dns *f, const char *method, int skip, int count,
                             int status);
/* Every write (POST, PUT, PATCH, DELETE) to a record named `name` (relative)
 * is refused with `status` (0: off): the group record that cannot be
 * written. */
void fake_do_dns_fail_name(struct fake_do_dns *f, const char *name, int status);

/* ---- what the server saw ---- */
struct fake_do_dns_stats {
    int requests; /* every request */
    int domain_gets, lists, creates, record_gets, updates, deletes;
    int unauthorized, faults, rejected; /* 401s, injected answers, 4xx of validation */
};
void fake_do_dns_stats(struct fake_do_dns *f, struct fake_do_dns_stats *out);
void fake_do_dns_reset_stats(struct fake_do_dns *f);
/* The last request's Authorization header, newly allocated, or NULL. */
char *fake_do_dns_last_auth(struct fake_do_dns *f);

#endif
