/* dns_digitalocean.c - DigitalOcean's domains API (v2) as a DNS provider.
 *
 *   zone_check  GET    /domains/{zone}
 *   get         GET    /domains/{zone}/records?type=A&name={fqdn}  (every page)
 *   replace     POST   /domains/{zone}/records            an address not there yet
 *               PUT    /domains/{zone}/records/{id}       one with another TTL
 *               DELETE /domains/{zone}/records/{id}       one not wanted (or a repeat)
 *   remove      DELETE /domains/{zone}/records/{id}       each record of the name
 *
 * DO has no rrsets: each address is its own record with an id, and record
 * names are relative to the zone ("web-1.web", "@" for the apex) while the
 * name filter of a listing takes the full name. Replacing a set is several
 * requests, done in the order that keeps the name answering: additions
 * first, TTL changes, deletions last. A failure in the middle leaves a mix
 * that dns_record.c repairs by putting the previous set back, and that any
 * later replace converges from, since every step is decided from a fresh
 * listing.
 *
 * http.c retries GET, PUT and DELETE (connection errors, 429 with
 * Retry-After, 5xx). It never retries a POST, because a POST cut off may have
 * created the record; a 429, though, is DO refusing before doing anything,
 * so a POST is sent again after Retry-After (dns_http.c). An ambiguous
 * failure is reported, and the next run's listing shows whether the record
 * exists.
 *
 * The token goes only into the Authorization header and the secret
 * registry. */
#include "digitalocean.h"
#include "dns_int.h"
#include "jsonx.h"
#include "log.h"
#include "settings.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dns {
    struct http_api api;
};

/* One A record as DO lists it. */
struct rec {
    long long id;
    char data[DNS_ADDR_MAX];
    long ttl;
};

struct recs {
    struct rec *v;
    size_t n, cap;
};

/* -------------------------------------------------------------- settings -- */

static void do_close(struct dns *d)
{
    if (!d)
        return;
    http_api_close(&d->api);
    free(d);
}

static struct dns *do_open(struct json_object *settings, struct as_error *err)
{
    const char *token = settings_str(settings, "token");
    if (digitalocean_token_check(token, "digitalocean_token: an API token with read and "
                                        "write scope", err) < 0)
        return NULL;
    struct dns *d = xcalloc(1, sizeof *d);
    if (digitalocean_api_open(&d->api, token, settings_str(settings, "api_url"),
                              settings_str(settings, "ca_bundle"), err) < 0) {
        free(d);
        return NULL;
    }
    return d;
}

/* ------------------------------------------------------------- requests -- */

/* GET, PUT and DELETE are retried by http.c, a POST only after a 429. */
static const struct dns_http do_http = {"digitalocean", "DigitalOcean reply", -1};

/* One request to base+path. 0 when a reply came, whatever its status (a
 * JSON body parsed into out->doc); -1 when none did or a 2xx is not JSON. */
static int call(struct dns *d, const char *method, const char *path, struct json_object *body,
                struct dns_reply *out, struct as_error *err)
{
    return dns_http_call(&d->api, &do_http, method, path, body, out, err);
}

/* DO's own "not found" (a proxy's 404 page is not proof of anything). */
static int is_not_found(const struct dns_reply *r)
{
    return digitalocean_not_found(r->status, r->doc);
}

/* DO's refusal as our error. The codes map as for the other DO providers;
 * the wording is DNS's own where the status points at a setting to check. */
static int reply_error(const char *what, const char *zone, const struct dns_reply *r,
                       struct as_error *err)
{
    struct digitalocean_codes codes = {
        .unauthorized = "dns_unauthorized",
        .forbidden = "dns_unauthorized",
        .not_found = NULL, /* set below: which 404 it is */
        .rejected = "dns_rejected",
        .over_limit = "dns_over_limit",
        .other = "dns_error",
    };
    const char *text = r->text ? r->text : "";
    struct json_object *doc = r->doc;
    const char *why = NULL;
    char *buf = NULL;

    if (r->status == 401 || r->status == 403) {
        why = buf = xasprintf("the API refused the token (HTTP %ld: %s; check "
                              "digitalocean_token and its write scope)",
                              r->status, text);
    } else if (is_not_found(r)) {
        codes.not_found = "dns_zone_not_found";
        why = buf = xasprintf("domain %s is not in the account (add it first)", zone);
    } else if (r->status == 404) {
        /* Not DO's own 404 (a proxy's page): no request_id of DO's to show. */
        codes.not_found = "dns_bad_api_url";
        why = "HTTP 404 that is not DigitalOcean's (check digitalocean_api_url)";
        doc = NULL;
    } else if (r->status == 400 || r->status == 422) {
        why = text;
    } else if (r->status == 429) {
        why = "rate limited (HTTP 429) after retries";
    }
    digitalocean_refusal(err, &codes, r->status, doc, text, why, "%s", what);
    free(buf);
    return -1;
}

/* ----------------------------------------------------------------- names -- */

/* The record's name relative to the zone, as DO writes it ("@" for the
 * apex), and the full name without its dot, as the list filter takes it. */
static void names_of(const char *name, const char *zone, char *rel, char *full)
{
    size_t n = strlen(name), zl = strlen(zone);
    snprintf(full, DNS_NAME_MAX, "%.*s", (int)(n - 1), name);
    if (n - 1 == zl)
        snprintf(rel, DNS_NAME_MAX, "@");
    else /* dns_record.c made sure the name ends in ".zone." */
        snprintf(rel, DNS_NAME_MAX, "%.*s", (int)(n - zl - 2), name);
}

/* ------------------------------------------------------------ operations -- */

static int do_zone_check(struct dns *d, const char *zone, struct as_error *err)
{
    char path[DNS_NAME_MAX + 16];
    struct dns_reply r;

    snprintf(path, sizeof path, "/domains/%s", zone);
    if (call(d, "GET", path, NULL, &r, err) < 0)
        return -1;
    int rc = r.status == 200 ? 0 : reply_error("GET domain", zone, &r, err);
    dns_reply_clear(&r);
    return rc;
}

static void recs_add(struct recs *l, long long id, const char *data, long ttl)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == id)
            return; /* offset paging over a changing list repeats one */
    l->v = xgrow(l->v, l->n + 1, &l->cap, sizeof *l->v);
    l->v[l->n].id = id;
    snprintf(l->v[l->n].data, DNS_ADDR_MAX, "%s", data);
    l->v[l->n].ttl = ttl;
    l->n++;
}

/* The A records of one page named rel into l. */
static int take_page(struct json_object *doc, const char *rel, struct recs *l,
                     struct as_error *err)
{
    struct json_object *arr = jx_arr(doc, "domain_records");
    if (!arr)
        return as_fail(err, AS_EXIT_FAILURE, "dns_bad_reply",
                       "digitalocean: the records reply has no domain_records");
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *r = json_object_array_get_idx(arr, i);
        /* The filter is the server's: a server that ignored it must not have
         * us delete another name's records. */
        if (strcmp(jx_str(r, "type", ""), "A") != 0 || strcmp(jx_str(r, "name", ""), rel) != 0)
            continue;
        long long id = jx_int(r, "id", 0);
        const char *data = jx_str(r, "data", "");
        if (id <= 0 || !dns_is_ipv4(data))
            return as_fail(err, AS_EXIT_FAILURE, "dns_bad_reply",
                           "digitalocean: an A record of %s has no id or no IPv4 data", rel);
        recs_add(l, id, data, (long)jx_int(r, "ttl", 0));
    }
    return 0;
}

/* Every A record of `name`, all pages. */
static int list_records(struct dns *d, const char *zone, const char *name, struct recs *l,
                        struct as_error *err)
{
    char rel[DNS_NAME_MAX], full[DNS_NAME_MAX], path[3 * DNS_NAME_MAX];
    long page = 1;

    names_of(name, zone, rel, full);
    for (int pages = 0;; pages++) {
        struct dns_reply r;
        if (pages == DIGITALOCEAN_MAX_PAGES)
            return as_fail(err, AS_EXIT_FAILURE, "dns_bad_reply",
                           "digitalocean: more pages of records than any domain has");
        snprintf(path, sizeof path, "/domains/%s/records?type=A&name=%s&per_page=%d&page=%ld",
                 zone, full, DIGITALOCEAN_PER_PAGE, page);
        if (call(d, "GET", path, NULL, &r, err) < 0)
            return -1;
        int rc = r.status == 200 ? take_page(r.doc, rel, l, err)
                                 : reply_error("GET records", zone, &r, err);
        if (rc == 0 && (page = digitalocean_next_page(r.doc, page)) < 0)
            rc = as_fail(err, AS_EXIT_FAILURE, "dns_bad_reply",
                         "digitalocean: links.pages.next names no later page");
        dns_reply_clear(&r);
        if (rc < 0)
            return -1;
        if (page == 0)
            return 0;
    }
}

static int do_get(struct dns *d, const char *zone, const char *name, struct dns_rrset *out,
                  struct as_error *err)
{
    struct recs l = {0};
    int rc = list_records(d, zone, name, &l, err);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        dns_rrset_add(out, l.v[i].data); /* take_page checked each one */
        /* Records of one name with different TTLs: -1, which no wanted TTL
         * equals, so the next replace evens them out. */
        out->ttl = i == 0 ? l.v[i].ttl : (out->ttl == l.v[i].ttl ? out->ttl : -1);
    }
    free(l.v);
    return rc;
}

static struct json_object *record_body(const char *rel, const char *data, long ttl)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "type", "A");
    jx_add_str(o, "name", rel);
    jx_add_str(o, "data", data);
    jx_add_int(o, "ttl", ttl);
    return o;
}

/* POST or PUT one record; DELETE one (DO's 404 counts as done). */
static int write_record(struct dns *d, const char *zone, const char *method, long long id,
                        const char *rel, const char *data, long ttl, struct as_error *err)
{
    char path[DNS_NAME_MAX + 64], what[DNS_NAME_MAX + 64];
    struct json_object *body = strcmp(method, "DELETE") ? record_body(rel, data, ttl) : NULL;
    struct dns_reply r;

    if (id)
        snprintf(path, sizeof path, "/domains/%s/records/%lld", zone, id);
    else
        snprintf(path, sizeof path, "/domains/%s/records", zone);
    snprintf(what, sizeof what, "%s record %s %s", method, rel, data);
    int rc = call(d, method, path, body, &r, err);
    json_object_put(body);
    if (rc < 0)
        return -1;
    int deleted_already = strcmp(method, "DELETE") == 0 && is_not_found(&r);
    if (!(r.status >= 200 && r.status <= 299) && !deleted_already)
        rc = reply_error(what, zone, &r, err);
    else
        log_debug("digitalocean: %s", what);
    dns_reply_clear(&r);
    return rc;
}

static struct rec *find_data(struct recs *l, const char *data)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].data, data) == 0)
            return &l->v[i];
    return NULL;
}

static int do_replace(struct dns *d, const char *zone, const char *name,
                      const struct dns_rrset *want, struct as_error *err)
{
    char rel[DNS_NAME_MAX], full[DNS_NAME_MAX];
    struct recs l = {0};
    int rc = list_records(d, zone, name, &l, err);

    names_of(name, zone, rel, full);
    /* Additions and TTL changes first: the name keeps answering throughout. */
    for (size_t i = 0; rc == 0 && i < want->n; i++) {
        struct rec *r = find_data(&l, want->addr[i]);
        if (!r)
            rc = write_record(d, zone, "POST", 0, rel, want->addr[i], want->ttl, err);
        else if (r->ttl != want->ttl)
            rc = write_record(d, zone, "PUT", r->id, rel, r->data, want->ttl, err);
    }
    /* Then whatever is not wanted, and any second record of one address. */
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        struct rec *first = find_data(&l, l.v[i].data);
        if (!dns_rrset_has(want, l.v[i].data) || first != &l.v[i])
            rc = write_record(d, zone, "DELETE", l.v[i].id, rel, l.v[i].data, 0, err);
    }
    free(l.v);
    return rc;
}

static int do_remove(struct dns *d, const char *zone, const char *name, struct as_error *err)
{
    char rel[DNS_NAME_MAX], full[DNS_NAME_MAX];
    struct recs l = {0};
    int rc = list_records(d, zone, name, &l, err);

    names_of(name, zone, rel, full);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = write_record(d, zone, "DELETE", l.v[i].id, rel, l.v[i].data, 0, err);
    free(l.v);
    return rc;
}

const struct dns_ops dns_digitalocean_ops = {
    .name = "digitalocean",
    .open = do_open,
    .zone_check = do_zone_check,
    .get = do_get,
    .replace = do_replace,
    .remove = do_remove,
    .close = do_close,
};
