/* dns_int.h - the DNS providers' interface: the table of operations each
 * DNS service fills (one file per service, lib/dns_<name>.c, and one line
 * in lib/dns/dns.c's table), and the helpers they share. Included by lib/dns/dns.c,
 * the action logic (lib/dns/dns_record.c) and the providers; never by actions.
 *
 * A provider knows rrsets; it knows nothing of groups, nodes or the
 * datastore. Names given to it are absolute with a trailing dot
 * ("web-1.web.example.com."), the zone is without one ("example.com"), and
 * both were validated (lowercase DNS names, the name inside the zone) before
 * it is called, so a provider may put them in URLs and JSON as they are. */
#ifndef AS_DNS_INT_H
#define AS_DNS_INT_H

#include "dns.h"
#include "http.h"

struct dns; /* an open session with one DNS service, the provider's own */

struct dns_ops {
    const char *name;
    /* settings: this provider's settings without the provider prefix
     * ("api_key", not "powerdns_api_key"), plus "ca_bundle", "ttl" and
     * "record_template". No I/O. A missing or malformed setting is
     * AS_EXIT_BADINPUT "bad_settings". NULL for a provider that keeps no
     * records (none): the actions succeed doing nothing and say so, and
     * the operations below are never called. */
    struct dns *(*open)(struct json_object *settings, struct as_error *err);
    /* 0 if the zone exists; "dns_zone_not_found" (AS_EXIT_BADINPUT) if not. */
    int (*zone_check)(struct dns *d, const char *zone, struct as_error *err);
    /* The A rrset `name` into *out (which starts empty); an absent rrset is
     * success with no addresses and ttl 0. */
    int (*get)(struct dns *d, const char *zone, const char *name, struct dns_rrset *out,
               struct as_error *err);
    /* Make the A rrset `name` exactly want's addresses with want->ttl
     * (want->n >= 1). Idempotent: sending it twice does no harm. */
    int (*replace)(struct dns *d, const char *zone, const char *name,
                   const struct dns_rrset *want, struct as_error *err);
    /* Delete the A rrset `name`; an absent one is success. */
    int (*remove)(struct dns *d, const char *zone, const char *name, struct as_error *err);
    void (*close)(struct dns *d);
};

extern const struct dns_ops dns_none_ops;
extern const struct dns_ops dns_powerdns_ops;
extern const struct dns_ops dns_digitalocean_ops;

/* The provider of that name (NULL: none, as a group that names no
 * provider), or NULL when there is no such provider. */
const struct dns_ops *dns_lookup(const char *name);

/* Open a provider by name: *ops its table. A name with no provider (or
 * one that keeps no records) is AS_EXIT_BADINPUT "unknown_provider". */
struct dns *dns_open(const char *provider, struct json_object *settings,
                     const struct dns_ops **ops, struct as_error *err);

/* ---- for providers with an HTTP API (lib/dns/dns_http.c) ---- */

/* How one provider calls its API: the same for all its requests. */
struct dns_http {
    const char *name;  /* "powerdns": what our messages start with */
    const char *reply; /* "PowerDNS reply": what a malformed reply is called */
    int retry;         /* http_request.retry of every request (http.h) */
};

/* A reply, whatever its status. */
struct dns_reply {
    long status;
    struct json_object *doc; /* its JSON, NULL if empty (or, not 2xx, not JSON) */
    char *text;              /* a non-2xx reply's words, one line */
};

void dns_reply_clear(struct dns_reply *r);

/* One request to api->base + path with api->auth, body (NULL: none) sent
 * as JSON. A POST refused with 429 is sent again after Retry-After (the
 * server did nothing; http.c never resends a POST). 0 when a reply came,
 * whatever its status; -1 with err when none did, or a 2xx one is not JSON
 * (AS_EXIT_FAILURE "dns_bad_reply"). */
int dns_http_call(struct http_api *api, const struct dns_http *how, const char *method,
                  const char *path, struct json_object *body, struct dns_reply *out,
                  struct as_error *err);

#endif
