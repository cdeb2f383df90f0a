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
 * that dns.c repairs by putting the previous set back, and that any later
 * replace converges from, since every step is decided from a fresh listing.
 *
 * http.c retries GET, PUT and DELETE (connection errors, 429 with
 * Retry-After, 5xx). It never retries a POST, because a POST cut off may have
 * created the record; a 429, though, is DO refusing before doing anything,
 * so a POST is sent again after Retry-After here. An ambiguous failure is
 * reported, and the next run's listing shows whether the record exists.
 *
 * The token goes only into the Authorization header and the secret
 * registry. */
#include "digitalocean.h"
#include "dns.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "st2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DO_PER_PAGE 200     /* the API's largest page */
#define DO_MAX_PAGES 1000   /* only a server sending us round in circles gets here */
#define DO_POST_ATTEMPTS 4  /* a POST refused with 429, sent again */
#define DO_WAIT_MAX_MS 10000

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

static const char *setting(struct json_object *settings, const char *key, const char *fallback)
{
    const char *v = jx_str(settings, key, NULL);
    return v && *v ? v : fallback;
}

static void do_close(struct dns *d)
{
    if (!d)
        return;
    http_api_close(&d->api);
    free(d);
}

static struct dns *do_open(struct json_object *settings, struct as_error *err)
{
    const char *token = setting(settings, "token", NULL);
    if (digitalocean_token_check(token, "digitalocean_token: an API token with read and "
                                        "write scope", err) < 0)
        return NULL;
    struct dns *d = calloc(1, sizeof *d);
    if (!d) {
        as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
        return NULL;
    }
    if (digitalocean_api_open(&d->api, token, setting(settings, "api_url", NULL),
                              setting(settings, "ca_bundle", NULL), err) < 0) {
        free(d);
        return NULL;
    }
    return d;
}

/* ------------------------------------------------------------- requests -- */

struct reply {
    long status;
    struct json_object *doc; /* the reply's JSON (2xx or not), NULL if none */
    char *text;              /* a non-2xx reply's words, one line */
};

static void reply_free(struct reply *r)
{
    json_object_put(r->doc);
    free(r->text);
    memset(r, 0, sizeof *r);
}

static int send_once(struct dns *d, const char *method, const char *url, const char *body,
                     struct http_response *resp, struct as_error *err)
{
    const char *headers[] = {d->api.auth, "Accept: application/json",
                             body ? "Content-Type: application/json" : NULL, NULL};
    struct http_request req = {.method = method, .url = url, .headers = headers, .body = body,
                               .body_len = body ? strlen(body) : 0, .retry = -1};
    return http_do(d->api.http, &req, resp, err);
}

/* Send; a POST refused with 429 is sent again after DO's Retry-After. */
static int send_req(struct dns *d, const char *method, const char *url, const char *body,
                    struct http_response *resp, struct as_error *err)
{
    for (int attempt = 1;; attempt++) {
        if (send_once(d, method, url, body, resp, err) < 0)
            return -1;
        if (resp->status != 429 || strcmp(method, "POST") != 0 || attempt == DO_POST_ATTEMPTS)
            return 0;
        long wait = resp->retry_after_ms >= 0 ? resp->retry_after_ms : 1000L * attempt;
        if (wait > DO_WAIT_MAX_MS)
            wait = DO_WAIT_MAX_MS;
        http_response_free(resp);
        log_debug("digitalocean: POST refused with 429, again in %ld ms", wait);
        if (as_sleep_ms(wait) < 0)
            return as_fail(err, AS_EXIT_FAILURE, "interrupted", "digitalocean: interrupted");
    }
}

/* One request to base+path. 0 when a reply came, whatever its status (a
 * JSON body parsed into out->doc); -1 when none did or a 2xx is not JSON. */
static int call(struct dns *d, const char *method, const char *path, struct json_object *body,
                struct reply *out, struct as_error *err)
{
    struct http_response resp;
    char *url = NULL, *text = body ? jx_dump(body) : NULL;

    memset(out, 0, sizeof *out);
    if (asprintf(&url, "%s%s", d->api.base, path) < 0 || (body && !text)) {
        free(text);
        return as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
    }
    int rc = send_req(d, method, url, text, &resp, err);
    free(url);
    free(text);
    if (rc < 0) {
        as_error_prefix(err, "digitalocean");
        return -1;
    }
    out->status = resp.status;
    int ok = resp.status >= 200 && resp.status <= 299;
    if (!ok)
        out->text = http_error_text(&resp);
    if (resp.body_len > 0) {
        struct as_error e = {0};
        out->doc = jx_parse(resp.body, resp.body_len, "DigitalOcean reply", "dns_bad_reply",
                            AS_EXIT_FAILURE, ok ? err : &e);
        if (!out->doc && ok) {
            http_response_free(&resp);
            as_error_prefix(err, "digitalocean: %s %s", method, path);
            return -1;
        }
    }
    http_response_free(&resp);
    return 0;
}

/* DO's own "not found" (a proxy's 404 page is not proof of anything). */
static int is_not_found(const struct reply *r)
{
    return r->status == 404 && strcmp(jx_str(r->doc, "id", ""), "not_found") == 0;
}

/* DO's refusal as our error. The codes map as for the other DO providers;
 * the wording is DNS's own where the status points at a setting to check. */
static int reply_error(const char *what, const char *zone, const struct reply *r,
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
        if (asprintf(&buf, "the API refused the token (HTTP %ld: %s; check "
                           "digitalocean_token and its write scope)", r->status, text) < 0)
            buf = NULL;
        why = buf ? buf : "the API refused the token";
    } else if (is_not_found(r)) {
        codes.not_found = "dns_zone_not_found";
        if (asprintf(&buf, "domain %s is not in the account (add it first)", zone) < 0)
            buf = NULL;
        why = buf ? buf : "domain not in the account";
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
    else /* dns.c made sure the name ends in ".zone." */
        snprintf(rel, DNS_NAME_MAX, "%.*s", (int)(n - zl - 2), name);
}

/* ------------------------------------------------------------ operations -- */

static int do_zone_check(struct dns *d, const char *zone, struct as_error *err)
{
    char path[DNS_NAME_MAX + 16];
    struct reply r;

    snprintf(path, sizeof path, "/domains/%s", zone);
    if (call(d, "GET", path, NULL, &r, err) < 0)
        return -1;
    int rc = r.status == 200 ? 0 : reply_error("GET domain", zone, &r, err);
    reply_free(&r);
    return rc;
}

/* The page a links.pages.next URL asks for: 0 if none, -1 if it names no
 * later page. Only the number is taken: the next request goes to our own
 * api_url, so the token never follows a link elsewhere. */
static long next_page(struct json_object *doc, long page)
{
    const char *next = jx_str(jx_obj(jx_obj(doc, "links"), "pages"), "next", NULL);
    const char *q = next ? strchr(next, '?') : NULL;
    if (!next)
        return 0;
    while (q) {
        q++;
        if (strncmp(q, "page=", 5) == 0) {
            char *end;
            long n = strtol(q + 5, &end, 10);
            return (*end == '\0' || *end == '&' || *end == '#') && n > page ? n : -1;
        }
        q = strchr(q, '&');
    }
    return -1;
}

static int recs_add(struct recs *l, long long id, const char *data, long ttl)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == id)
            return 0; /* offset paging over a changing list repeats one */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct rec *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].id = id;
    snprintf(l->v[l->n].data, DNS_ADDR_MAX, "%s", data);
    l->v[l->n].ttl = ttl;
    l->n++;
    return 0;
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
        if (recs_add(l, id, data, (long)jx_int(r, "ttl", 0)) < 0)
            return as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
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
        struct reply r;
        if (pages == DO_MAX_PAGES)
            return as_fail(err, AS_EXIT_FAILURE, "dns_bad_reply",
                           "digitalocean: more pages of records than any domain has");
        snprintf(path, sizeof path, "/domains/%s/records?type=A&name=%s&per_page=%d&page=%ld",
                 zone, full, DO_PER_PAGE, page);
        if (call(d, "GET", path, NULL, &r, err) < 0)
            return -1;
        int rc = r.status == 200 ? take_page(r.doc, rel, l, err)
                                 : reply_error("GET records", zone, &r, err);
        if (rc == 0 && (page = next_page(r.doc, page)) < 0)
            rc = as_fail(err, AS_EXIT_FAILURE, "dns_bad_reply",
                         "digitalocean: links.pages.next names no later page");
        reply_free(&r);
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
        if (dns_rrset_add(out, l.v[i].data) < 0)
            rc = as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
        /* Records of one name with different TTLs: -1, which no wanted TTL
         * equals, so the next replace evens them out. */
        out->ttl = i == 0 ? l.v[i].ttl : (out->ttl == l.v[i].ttl ? out->ttl : -1);
    }
    free(l.v);
    return rc;
}

static struct json_object *record_body(const char *rel, const char *data, long ttl)
{
    struct json_object *o = json_object_new_object();
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
    struct reply r;

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
    reply_free(&r);
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
