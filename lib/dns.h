/* dns.h - DNS records for a group's nodes: the provider interface (one table
 * of operations per DNS service, as curl has one per protocol, so a new
 * service is one file, lib/dns_<name>.c, and one line in dns.c's table) and
 * what dns_register/dns_unregister do above it, once for every provider.
 *
 * Two kinds of A records per group:
 *   - one per node, named from a template (default "{node}.{group}.{zone}");
 *   - one for the group ("{group}.{zone}") holding the address of every
 *     active node: round robin by DNS.
 * The group record is never edited address by address: it is recomputed
 * from the datastore's node records (active ones, plus the node being
 * registered, minus the node being unregistered) and replaced whole, so a
 * retried or re-run action converges instead of accumulating mistakes.
 *
 * A provider knows rrsets; it knows nothing of groups, nodes or the
 * datastore. Names given to it are absolute with a trailing dot
 * ("web-1.web.example.com."), the zone is without one ("example.com"), and
 * both were validated (lowercase DNS names, the name inside the zone) before
 * it is called, so a provider may put them in URLs and JSON as they are. */
#ifndef AS_DNS_H
#define AS_DNS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "params.h"

#define DNS_NAME_MAX 256 /* 253 characters, the trailing dot, the NUL */
#define DNS_ADDR_MAX 16  /* dotted IPv4 and its NUL */
#define DNS_TTL_MIN 1
#define DNS_TTL_MAX 604800 /* a week: longer only delays the end of a node */
#define DNS_DEFAULT_TTL 60
#define DNS_DEFAULT_TEMPLATE "{node}.{group}.{zone}"

/* An A rrset: a set of IPv4 addresses (sorted, no repeats) and a TTL. */
struct dns_rrset {
    char (*addr)[DNS_ADDR_MAX];
    size_t n, cap;
    long ttl; /* 0 when the rrset does not exist; -1 when its records
                 disagree (a provider storing one record per address) */
};

/* Add a dotted IPv4 address (kept sorted, a repeat ignored): 0, or -1 when
 * it is not one (or out of memory). */
int dns_rrset_add(struct dns_rrset *s, const char *addr);
bool dns_rrset_has(const struct dns_rrset *s, const char *addr);
/* Same addresses (the TTL is not compared). */
bool dns_rrset_same(const struct dns_rrset *a, const struct dns_rrset *b);
/* Copy src into dst (dst freed first); -1 when out of memory. */
int dns_rrset_copy(struct dns_rrset *dst, const struct dns_rrset *src);
void dns_rrset_free(struct dns_rrset *s);
/* The addresses as a JSON array of strings. */
struct json_object *dns_rrset_json(const struct dns_rrset *s);

/* Is s a dotted-quad IPv4 address? */
bool dns_is_ipv4(const char *s);

struct dns; /* an open session with one DNS service */

struct dns_ops {
    const char *name;
    /* settings: this provider's settings without the provider prefix
     * ("api_key", not "powerdns_api_key"), plus "ca_bundle". No I/O. A
     * missing or malformed setting is AS_EXIT_BADINPUT "bad_settings". */
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

/* The provider of that name, or NULL ("none" has none: callers check it). */
const struct dns_ops *dns_lookup(const char *name);

/* Open a provider by name; a name with no provider is AS_EXIT_BADINPUT
 * "unknown_dns_provider". */
struct dns *dns_open(const char *provider, struct json_object *settings,
                     const struct dns_ops **ops, struct as_error *err);

/* ---- names ---- */

/* The node's record name from a template (NULL: the default) with
 * placeholders {node} {group} {zone}, as an absolute name with a trailing
 * dot, lowercase, into out (DNS_NAME_MAX bytes). The template must use
 * {node} (else every node would share one name), the result must be a
 * valid DNS name strictly inside the zone and not the group's own name.
 * Otherwise AS_EXIT_BADINPUT "invalid_template". zone: with or without a
 * trailing dot. */
int dns_record_name(const char *tmpl, const char *node, const char *group, const char *zone,
                    char *out, struct as_error *err);
/* "{group}.{zone}." into out (DNS_NAME_MAX bytes). */
int dns_group_name(const char *group, const char *zone, char *out, struct as_error *err);

/* ---- parameters ---- */

/* The settings every DNS action takes, as parameters whose defaults st2
 * renders from the pack config (config key = parameter name). The
 * DigitalOcean ones and ca_bundle are the very parameters the compute
 * actions take (compute_params.h): one token, one config key. Integers have
 * defaults here and in config.schema.yaml (st2 renders an unset key as "").
 *
 * X(name, type INT|STR, default outside st2, flags): "<provider>_<key>" and
 * "dns_<key>" reach the provider as settings[key], ca_bundle as itself. */
#define DNS_PARAMS(X)                                                                   \
    X(powerdns_api_url, STR, "http://127.0.0.1:8081/api/v1/servers/localhost", 0)       \
    X(powerdns_api_key, STR, NULL, PARAM_SECRET)                                         \
    PARAMS_DIGITALOCEAN(X)                                                              \
    PARAMS_TLS(X)                                                                       \
    X(dns_ttl, INT, "60", 0)                                                            \
    X(dns_record_template, STR, DNS_DEFAULT_TEMPLATE, 0)

struct dns_params {
    DNS_PARAMS(PARAM_FIELD)
};
extern const struct param_desc dns_param_desc[];
extern const size_t dns_param_count;

struct group;

/* The settings object for `provider`: each of its own parameters (and
 * ca_bundle, ttl, record_template) given or defaulted, then the group's
 * settings.<provider> object overriding them key by key, as far as
 * lib/settings.c lets a group (the action's table needs
 * SETTINGS_ALLOW_PARAM). 0 with *out a new object, or -1 with err. */
int dns_settings(const struct dns_params *p, const char *provider, const struct group *g,
                 const char *allowed, struct json_object **out, struct as_error *err);

/* ---- the operations ---- */

struct ds;
struct as_args;

/* The group record's addresses: every node of the group whose record is
 * active with an IPv4 address, plus `add_addr` (if not NULL), minus the
 * node named `without` (if not NULL). */
int dns_group_addresses(struct ds *ds, const char *group, const char *add_addr,
                        const char *without, struct dns_rrset *out, struct as_error *err);

/* dns_register: parameters "name" (group), "node" and DNS_PARAMS. Writes the
 * node's record, then the group record; if the group record cannot be
 * written, puts both back as they were. *out: what was done, "changed"
 * false when everything already was so. */
int dns_register(struct ds *ds, const struct as_args *a, struct json_object **out,
                 struct as_error *err);
/* dns_unregister: same parameters. Takes the node's address out of the
 * group record (deleting the rrset when none is left), then deletes the
 * node's record. The node's datastore record need not exist any more. */
int dns_unregister(struct ds *ds, const struct as_args *a, struct json_object **out,
                   struct as_error *err);

#endif
