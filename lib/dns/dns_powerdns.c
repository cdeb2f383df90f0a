/* dns_powerdns.c - PowerDNS Authoritative through its HTTP API (v1).
 *
 *   zone_check  GET   {api_url}/zones/{zone}.?rrsets=false
 *   get         GET   {api_url}/zones/{zone}.?rrset_name={name}&rrset_type=A
 *   replace     PATCH {api_url}/zones/{zone}.  changetype REPLACE
 *   remove      PATCH {api_url}/zones/{zone}.  changetype DELETE
 *
 * A PATCH replaces a whole rrset in one transaction, so an rrset is never
 * seen half-written, and both changetypes are idempotent: unlike most
 * PATCHes they are retried (http.c: connection errors, 429, 5xx).
 *
 * The API answers 404 "Not Found" as plain text both for a zone that does
 * not exist and for a URL that is not the API at all (a wrong server id or
 * path in api_url). Telling them apart matters, since one is the operator's
 * zone and the other their config, so a 404 on the zone is followed by one
 * GET of the server object itself.
 *
 * The key goes in the X-API-Key header only; a 401's body is plain text and
 * never carries it, and every message passes the secret scrubber anyway. */
#include "dns_int.h"
#include "jsonx.h"
#include "secret.h"
#include "settings.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dns {
    struct http_api api;
};

/* -------------------------------------------------------------- settings -- */

static int bad_setting(struct as_error *err, const char *key, const char *why)
{
    return as_fail(err, AS_EXIT_BADINPUT, "bad_settings", "powerdns: setting '%s' %s", key,
                   why);
}

/* Plain http is allowed anywhere: PowerDNS's own web server speaks nothing
 * else (TLS comes from a proxy in front of it, if at all). */
static char *base_url(const char *url, struct as_error *err)
{
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strpbrk(url, "?#@ \t\r\n") || strlen(url) > 1024) {
        bad_setting(err, "api_url", "must be an http(s) URL without query, fragment or user "
                                    "name, such as " DNS_POWERDNS_URL);
        return NULL;
    }
    return http_base_url(url);
}

static void pdns_close(struct dns *d)
{
    if (!d)
        return;
    http_api_close(&d->api);
    free(d);
}

static struct dns *pdns_open(struct json_object *settings, struct as_error *err)
{
    const char *key = settings_str(settings, "api_key");
    if (!key) {
        bad_setting(err, "api_key", "is required (powerdns_api_key: the server's api-key)");
        return NULL;
    }
    secret_register(key); /* a group's own settings may have brought it */
    if (!http_header_value_ok(key)) {
        bad_setting(err, "api_key", "has spaces or control characters");
        return NULL;
    }
    struct dns *d = xcalloc(1, sizeof *d);
    const char *url = settings_str(settings, "api_url");
    if (http_api_open(&d->api, base_url(url ? url : DNS_POWERDNS_URL, err), "X-API-Key: ", key,
                      settings_str(settings, "ca_bundle"), err) < 0) {
        free(d);
        return NULL;
    }
    return d;
}

/* ------------------------------------------------------------- requests -- */

/* Every request we send is idempotent: GETs, and PATCHes that REPLACE or
 * DELETE a whole rrset, so all are retried. */
static const struct dns_http pdns_http = {"powerdns", "PowerDNS reply", 1};

/* One request to base+path. 0 when a reply came (whatever its status),
 * -1 with err when none did or a 2xx reply is not JSON. */
static int call(struct dns *d, const char *method, const char *path, struct json_object *body,
                struct dns_reply *out, struct as_error *err)
{
    return dns_http_call(&d->api, &pdns_http, method, path, body, out, err);
}

/* The error for a reply that is not what we asked for (not the 404 of a
 * zone: callers handle that first). */
static int reply_error(const char *what, const struct dns_reply *r, struct as_error *err)
{
    const char *text = r->text ? r->text : "";
    if (r->status == 401 || r->status == 403)
        return as_fail(err, AS_EXIT_FAILURE, "dns_unauthorized",
                       "powerdns: %s: the server refused the API key (HTTP %ld; check "
                       "powerdns_api_key)",
                       what, r->status);
    if (r->status == 422 || r->status == 400)
        return as_fail(err, AS_EXIT_BADINPUT, "dns_rejected", "powerdns: %s: %s", what, text);
    return as_fail(err, AS_EXIT_FAILURE, "dns_error", "powerdns: %s: HTTP %ld: %s", what,
                   r->status, text);
}

/* After a 404 on the zone: is api_url the API of a server (then the zone is
 * missing) or something else? */
static int zone_404(struct dns *d, const char *zone, struct as_error *err)
{
    struct dns_reply r;
    int is_server = 0;
    struct as_error probe = {0};

    if (call(d, "GET", "", NULL, &r, &probe) == 0) {
        const char *type = jx_str(r.doc, "type", "");
        is_server = r.status == 200 && strcmp(type, "Server") == 0;
        dns_reply_clear(&r);
    }
    if (is_server)
        return as_fail(err, AS_EXIT_BADINPUT, "dns_zone_not_found",
                       "powerdns: zone %s. does not exist on the server (create it first)",
                       zone);
    return as_fail(err, AS_EXIT_BADINPUT, "dns_bad_api_url",
                   "powerdns: %s is not the API of a PowerDNS server (expected "
                   "http://HOST:PORT/api/v1/servers/localhost)",
                   d->api.base);
}

/* ------------------------------------------------------------ operations -- */

static int pdns_zone_check(struct dns *d, const char *zone, struct as_error *err)
{
    char path[DNS_NAME_MAX + 64];
    struct dns_reply r;

    snprintf(path, sizeof path, "/zones/%s.?rrsets=false", zone);
    if (call(d, "GET", path, NULL, &r, err) < 0)
        return -1;
    int rc = 0;
    if (r.status == 404)
        rc = zone_404(d, zone, err);
    else if (r.status != 200)
        rc = reply_error("GET zone", &r, err);
    dns_reply_clear(&r);
    return rc;
}

/* The A rrset `name` out of a zone document. */
static int parse_rrset(struct json_object *doc, const char *name, struct dns_rrset *out,
                       struct as_error *err)
{
    struct json_object *sets = jx_arr(doc, "rrsets");
    if (!sets)
        return as_fail(err, AS_EXIT_FAILURE, "dns_bad_reply",
                       "powerdns: the zone reply has no rrsets");
    for (size_t i = 0; i < json_object_array_length(sets); i++) {
        struct json_object *s = json_object_array_get_idx(sets, i);
        struct json_object *recs = jx_arr(s, "records");
        if (strcmp(jx_str(s, "name", ""), name) != 0 || strcmp(jx_str(s, "type", ""), "A") != 0)
            continue; /* a server that ignored the filter sends them all */
        for (size_t k = 0; recs && k < json_object_array_length(recs); k++) {
            struct json_object *rec = json_object_array_get_idx(recs, k);
            if (jx_bool(rec, "disabled", false))
                continue; /* it does not answer: as good as absent */
            if (dns_rrset_add(out, jx_str(rec, "content", "")) < 0)
                return as_fail(err, AS_EXIT_FAILURE, "dns_bad_reply",
                               "powerdns: %s has an A record that is not an IPv4 address",
                               name);
        }
        out->ttl = out->n ? (long)jx_int(s, "ttl", 0) : 0;
    }
    return 0;
}

static int pdns_get(struct dns *d, const char *zone, const char *name, struct dns_rrset *out,
                    struct as_error *err)
{
    char path[2 * DNS_NAME_MAX + 64];
    struct dns_reply r;

    snprintf(path, sizeof path, "/zones/%s.?rrset_name=%s&rrset_type=A", zone, name);
    if (call(d, "GET", path, NULL, &r, err) < 0)
        return -1;
    int rc;
    if (r.status == 404)
        rc = zone_404(d, zone, err);
    else if (r.status != 200)
        rc = reply_error("GET rrset", &r, err);
    else
        rc = parse_rrset(r.doc, name, out, err);
    dns_reply_clear(&r);
    return rc;
}

/* PATCH one rrset change. */
static int patch(struct dns *d, const char *zone, const char *name, const char *changetype,
                 const struct dns_rrset *want, struct as_error *err)
{
    char path[DNS_NAME_MAX + 16], what[DNS_NAME_MAX + 32];
    struct json_object *body = jx_new_object(), *sets = jx_new_array();
    struct json_object *set = jx_new_object();
    struct dns_reply r;

    jx_add_str(set, "name", name);
    jx_add_str(set, "type", "A");
    jx_add_str(set, "changetype", changetype);
    if (want) {
        struct json_object *recs = jx_new_array();
        jx_add_int(set, "ttl", want->ttl);
        for (size_t i = 0; i < want->n; i++) {
            struct json_object *rec = jx_new_object();
            jx_add_str(rec, "content", want->addr[i]);
            jx_add_bool(rec, "disabled", false);
            json_object_array_add(recs, rec);
        }
        json_object_object_add(set, "records", recs);
    }
    json_object_array_add(sets, set);
    json_object_object_add(body, "rrsets", sets);

    snprintf(path, sizeof path, "/zones/%s.", zone);
    snprintf(what, sizeof what, "%s %s", changetype, name);
    int rc = call(d, "PATCH", path, body, &r, err);
    json_object_put(body);
    if (rc < 0)
        return -1;
    if (r.status == 404)
        rc = zone_404(d, zone, err);
    else if (r.status < 200 || r.status > 299)
        rc = reply_error(what, &r, err);
    dns_reply_clear(&r);
    return rc;
}

static int pdns_replace(struct dns *d, const char *zone, const char *name,
                        const struct dns_rrset *want, struct as_error *err)
{
    return patch(d, zone, name, "REPLACE", want, err);
}

static int pdns_remove(struct dns *d, const char *zone, const char *name, struct as_error *err)
{
    return patch(d, zone, name, "DELETE", NULL, err);
}

const struct dns_ops dns_powerdns_ops = {
    .name = "powerdns",
    .open = pdns_open,
    .zone_check = pdns_zone_check,
    .get = pdns_get,
    .replace = pdns_replace,
    .remove = pdns_remove,
    .close = pdns_close,
};
