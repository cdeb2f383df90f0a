/* dns.h - DNS records for a group's nodes: what the actions (and tests)
 * call. The providers' interface is dns_int.h; this header knows nothing
 * of it.
 *
 * Two kinds of A records per group:
 *   - one per node, named from a template (default "{node}.{group}.{zone}");
 *   - one for the group ("{group}.{zone}") holding the address of every
 *     active node: round robin by DNS.
 * The group record is never edited address by address: it is recomputed
 * from the datastore's node records (active ones, plus the node being
 * registered, minus the node being unregistered) and replaced whole, so a
 * retried or re-run action converges instead of accumulating mistakes
 * (lib/dns/dns_record.c). */
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
#define DNS_POWERDNS_URL "http://127.0.0.1:8081/api/v1/servers/localhost"

/* ---- rrsets (lib/dns/dns_rrset.c) ---- */

/* An A rrset: a set of IPv4 addresses (sorted, no repeats) and a TTL. */
struct dns_rrset {
    char (*addr)[DNS_ADDR_MAX];
    size_t n, cap;
    long ttl; /* 0 when the rrset does not exist; -1 when its records
                 disagree (a provider storing one record per address) */
};

/* Add a dotted IPv4 address (kept sorted, a repeat ignored): 0, or -1 when
 * it is not one. */
int dns_rrset_add(struct dns_rrset *s, const char *addr);
bool dns_rrset_has(const struct dns_rrset *s, const char *addr);
/* Same addresses (the TTL is not compared). */
bool dns_rrset_same(const struct dns_rrset *a, const struct dns_rrset *b);
void dns_rrset_clear(struct dns_rrset *s);
/* The addresses as a JSON array of strings. */
struct json_object *dns_rrset_json(const struct dns_rrset *s);

/* Is s a dotted-quad IPv4 address? */
bool dns_is_ipv4(const char *s);

/* ---- names (lib/dns/dns_name.c) ---- */

/* The node's record name from a template (NULL or "": the default) with
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
/* The zone without its trailing dot into out (size bytes): 0, or
 * AS_EXIT_BADINPUT "invalid_parameter" when it is not a DNS name. */
int dns_zone_plain(const char *zone, char *out, size_t size, struct as_error *err);

/* ---- parameters (lib/dns/dns.c) ---- */

/* DNS_DEFAULT_TTL as the parameter table's text. */
#define DNS_TEXT_(x) #x
#define DNS_TEXT(x) DNS_TEXT_(x)

/* The settings every DNS action takes, as parameters whose defaults st2
 * renders from the pack config (config key = parameter name). The
 * DigitalOcean ones and ca_bundle are the very parameters the compute
 * actions take (params.h): one token, one config key. Integers have
 * defaults here and in config.schema.yaml (st2 renders an unset key as "").
 *
 * X(name, type INT|STR, default outside st2, flags): "<provider>_<key>" and
 * "dns_<key>" reach the provider as settings[key], ca_bundle as itself. */
#define DNS_PARAMS(X)                                                                   \
    X(powerdns_api_url, STR, DNS_POWERDNS_URL, 0)                                       \
    X(powerdns_api_key, STR, NULL, PARAM_SECRET)                                         \
    PARAMS_DIGITALOCEAN(X)                                                              \
    PARAMS_TLS(X)                                                                       \
    X(dns_ttl, INT, DNS_TEXT(DNS_DEFAULT_TTL), 0)                                       \
    X(dns_record_template, STR, DNS_DEFAULT_TEMPLATE, 0)

/* Absent: NULL, PARAM_ABSENT (params.h); the TTL then is DNS_DEFAULT_TTL,
 * the template DNS_DEFAULT_TEMPLATE. */
struct dns_params {
    DNS_PARAMS(PARAM_FIELD)
};
extern const struct param_desc dns_param_desc[];
extern const size_t dns_param_count;

struct group;

/* The settings object for `provider`: each of its own parameters (and
 * ca_bundle, ttl, record_template) given, then the group's
 * settings.<provider> object overriding them key by key, as far as
 * lib/model/settings.c lets a group (the action's table needs
 * SETTINGS_ALLOW_PARAM). 0 with *out a new object, or -1 with err. */
int dns_settings(const struct dns_params *p, const char *provider, const struct group *g,
                 const char *allowed, struct json_object **out, struct as_error *err);

/* ---- the operations (lib/dns/dns_record.c) ---- */

struct ds;

/* What dns_register and dns_unregister are asked. */
struct dns_request {
    const char *group;   /* the group's name (the actions' "name") */
    const char *node;
    const char *allowed; /* the operator's allow-list (SETTINGS_ALLOW_NAME); NULL: none */
    struct dns_params p;
};

/* The group record's addresses: every node of the group whose record is
 * active with an IPv4 address, plus `add_addr` (if not NULL), minus the
 * node named `without` (if not NULL). */
int dns_group_addresses(struct ds *ds, const char *group, const char *add_addr,
                        const char *without, struct dns_rrset *out, struct as_error *err);

/* Writes the node's record, then the group record; if the group record
 * cannot be written, puts both back as they were. *out: what was done,
 * "changed" false when everything already was so. A group whose provider
 * keeps no records (none) is success doing nothing ("skipped"), once the
 * node is known to exist. A group being deleted is AS_EXIT_BADINPUT
 * "group_conflict" before anything is written; a group found deleting (or
 * gone) after the writes has them withdrawn, AS_EXIT_FAILURE
 * "group_deleting" (lib/dns/dns_record.c says why). */
int dns_register(struct ds *ds, const struct dns_request *rq, struct json_object **out,
                 struct as_error *err);
/* Takes the node's address out of the group record (deleting the rrset when
 * none is left), then deletes the node's record. The node's datastore
 * record need not exist any more. */
int dns_unregister(struct ds *ds, const struct dns_request *rq, struct json_object **out,
                   struct as_error *err);

#endif
