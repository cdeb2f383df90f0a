/* ds_st2.c - the "st2" datastore backend: StackStorm's key-value REST API.
 *
 *   GET    {base}/keys/{name}?scope=st2kv.system        200 object | 404
 *   PUT    {base}/keys/{name}  {"name","value","scope"[,"ttl"]}   200
 *   DELETE {base}/keys/{name}?scope=st2kv.system        204 | 404
 *   GET    {base}/keys?prefix=P&scope=st2kv.system&limit=N&offset=K
 *
 * (st2api/controllers/v1/keyvalue.py, st2common/models/api/keyvalue.py.)
 *
 * Opening contacts nobody: an action that never touches the datastore must
 * not fail because st2's API is slow. One http_client serves every call, so
 * the connection is reused; retries (5xx, 429, connection errors) happen in
 * http.c, since GET, PUT and DELETE are all idempotent here.
 *
 * Secrets: the token or API key lives in one header string and is never
 * logged; error text from the server is scrubbed of it before it reaches a
 * message, because a server may echo what it refused. Values are never
 * logged either (large, and may be sensitive); key names only at debug. */
#include "ds_int.h"

#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"
#include "utf8.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ST2_SCOPE "st2kv.system"
#define ST2_PAGE_DEFAULT 100      /* st2's default and non-admin maximum page */
#define ST2_LIST_MAX_KEYS 1000000 /* a listing this long is a broken server */

struct st2 {
    char *base;        /* without the trailing slash */
    char *auth_header; /* "X-Auth-Token: ..." / "St2-Api-Key: ...", or NULL */
    char *credential;  /* the bare secret, to scrub from server text */
    int page_size;
    struct http_client *http;
};

/* ------------------------------------------------------------- helpers -- */

/* NULL-terminated header list for one request. */
static void headers_for(const struct st2 *st, int has_body, const char *out[4])
{
    int n = 0;
    out[n++] = "Accept: application/json";
    if (has_body)
        out[n++] = "Content-Type: application/json";
    if (st->auth_header)
        out[n++] = st->auth_header;
    out[n] = NULL;
}

/* {base}/keys/{encoded name}[?scope=...]. Dots are unreserved, so "." and
 * ".." would stay dot-segments that libcurl resolves away ("/v1/keys/.."
 * becomes "/v1/"); spelled %2E they are a name like any other. */
static char *key_url(const struct st2 *st, const char *key, int with_scope)
{
    const char *dots = strcmp(key, ".") == 0 ? "%2E" : strcmp(key, "..") == 0 ? "%2E%2E" : NULL;
    char *enc = dots ? xstrdup(dots) : http_urlencode(key);
    char *url = xasprintf("%s/keys/%s%s", st->base, enc, with_scope ? "?scope=" ST2_SCOPE : "");
    free(enc);
    return url;
}

static char *list_url(const struct st2 *st, const char *prefix, size_t offset)
{
    char *enc = http_urlencode(prefix);
    char *url = xasprintf("%s/keys?prefix=%s&scope=" ST2_SCOPE "&limit=%d&offset=%zu",
                          st->base, enc, st->page_size, offset);
    free(enc);
    return url;
}

/* A copy of s with every copy of the credential replaced by "***". */
static char *without_credential(const struct st2 *st, const char *s)
{
    const char *cred = st->credential;
    size_t n = cred ? strlen(cred) : 0, count = 0;
    if (n == 0)
        return xstrdup(s);
    for (const char *p = strstr(s, cred); p; p = strstr(p + n, cred))
        count++;
    char *out = xmalloc(strlen(s) + count * 3 + 1), *w = out;
    for (const char *p; (p = strstr(s, cred)); s = p + n) {
        memcpy(w, s, (size_t)(p - s));
        w += p - s;
        memcpy(w, "***", 3);
        w += 3;
    }
    strcpy(w, s);
    return out;
}

/* http_error_text() of a reply, the credential scrubbed from the whole body
 * first: scrubbing the bounded text after would miss a token cut in half. */
static char *error_text(const struct st2 *st, const struct http_response *r)
{
    struct http_response clean = *r;
    char *body = r->body ? without_credential(st, r->body) : NULL;
    clean.body = body;
    clean.body_len = body ? strlen(body) : 0;
    char *text = http_error_text(&clean);
    free(body);
    return text;
}

/* The error for a reply we did not expect. 401/403 get their own code so a
 * workflow can tell "fix the credentials" from "st2 is unwell". */
static int reply_error(const struct st2 *st, const char *what,
                       const struct http_response *r, struct as_error *err)
{
    char *text = error_text(st, r);
    char msg[320];

    snprintf(msg, sizeof msg, "%s", text);
    free(text);
    secret_scrub_buf(msg, sizeof msg); /* and every other registered secret */
    if (r->status == 401 || r->status == 403)
        return as_fail(err, AS_EXIT_FAILURE, "datastore_unauthorized",
                       "st2 datastore: %s refused (HTTP %ld): %s; check the auth "
                       "token or API key",
                       what, r->status, msg);
    return as_fail(err, AS_EXIT_FAILURE, "datastore_error",
                   "st2 datastore: %s failed (HTTP %ld): %s", what, r->status, msg);
}

static int bad_reply(const char *what, const char *why, struct as_error *err)
{
    return as_fail(err, AS_EXIT_FAILURE, "datastore_error",
                   "st2 datastore: %s: bad reply: %s", what, why);
}

/* One request; a transport failure keeps http.c's code, with context. */
static int call(struct st2 *st, const char *method, const char *url, const char *body,
                const char *what, struct http_response *resp, struct as_error *err)
{
    const char *headers[4];
    headers_for(st, body != NULL, headers);
    struct http_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .retry = -1, /* by method: all of ours are idempotent */
    };
    if (http_do(st->http, &req, resp, err) < 0) {
        as_error_prefix(err, "st2 datastore: %s", what);
        return -1;
    }
    return 0;
}

/* st2 leaves expired keys to MongoDB's TTL monitor, which runs once a minute,
 * so a key can be served for a while after its expire_timestamp. Honour the
 * timestamp ourselves: TTL'd keys are leases and must end on time. The format
 * is st2's isotime.format(): "2024-05-01T12:00:00.000000Z". */
static int expired(struct json_object *item)
{
    const char *ts = jx_str(item, "expire_timestamp", NULL);
    struct tm tm;
    if (!ts)
        return 0;
    memset(&tm, 0, sizeof tm);
    /* The fraction and the 'Z' are left unparsed: whole seconds will do. */
    if (!strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0; /* unreadable: trust the server, which did serve it */
    return timegm(&tm) <= time(NULL);
}

/* call() on one key's URL (key_url). */
static int key_call(struct st2 *st, const char *method, const char *key, int with_scope,
                    const char *body, const char *what, struct http_response *resp,
                    struct as_error *err)
{
    char *url = key_url(st, key, with_scope);
    int rc = call(st, method, url, body, what, resp, err);
    free(url);
    return rc;
}

/* ----------------------------------------------------------- operations -- */

static int st2_get(struct ds *ds, const char *key, char **value, struct as_error *err)
{
    struct st2 *st = ds->impl;
    struct http_response r;
    int rc = 0;

    *value = NULL;
    log_debug("st2 datastore: get %s", key);
    if (key_call(st, "GET", key, 1, NULL, "get", &r, err) < 0)
        return -1;
    if (r.status == 404) {
        http_response_clear(&r);
        return DS_ABSENT;
    }
    if (r.status != 200) {
        rc = reply_error(st, "get", &r, err);
        http_response_clear(&r);
        return rc;
    }

    struct json_object *o = jx_parse(r.body, r.body_len, "st2 datastore: get reply",
                                     "datastore_error", AS_EXIT_FAILURE, err);
    http_response_clear(&r);
    if (!o)
        return -1;
    const char *v = jx_str(o, "value", NULL);
    if (!v)
        rc = bad_reply("get", "no string \"value\" in the key object", err);
    else if (expired(o))
        rc = DS_ABSENT;
    else
        *value = xstrdup(v);
    json_object_put(o);
    return rc;
}

static int st2_put(struct ds *ds, const char *key, const char *value, long ttl_s,
                   struct as_error *err)
{
    struct st2 *st = ds->impl;
    struct http_response r;

    /* JSON strings must be UTF-8; st2 would store mojibake or refuse. */
    if (!utf8_valid(value, strlen(value)))
        return as_fail(err, AS_EXIT_BADINPUT, "bad_value",
                       "st2 datastore: value for %s is not valid UTF-8", key);

    struct json_object *b = jx_new_object();
    jx_add_str(b, "name", key);
    jx_add_str(b, "value", value);
    jx_add_str(b, "scope", ST2_SCOPE);
    if (ttl_s > 0)
        jx_add_int(b, "ttl", ttl_s);
    char *body = jx_dump(b);
    json_object_put(b);

    log_debug("st2 datastore: put %s (ttl %ld)", key, ttl_s);
    int rc = key_call(st, "PUT", key, 0, body, "put", &r, err);
    free(body);
    if (rc < 0)
        return -1;
    if (r.status != 200 && r.status != 201)
        rc = reply_error(st, "put", &r, err);
    http_response_clear(&r);
    return rc;
}

static int st2_del(struct ds *ds, const char *key, struct as_error *err)
{
    struct st2 *st = ds->impl;
    struct http_response r;
    int rc = 0;

    log_debug("st2 datastore: delete %s", key);
    if (key_call(st, "DELETE", key, 1, NULL, "delete", &r, err) < 0)
        return -1;
    /* 404: already gone, which is what the caller wanted. */
    if (r.status != 204 && r.status != 200 && r.status != 404)
        rc = reply_error(st, "delete", &r, err);
    http_response_clear(&r);
    return rc;
}

/* A fingerprint of a page's names (FNV-1a), to notice a server that hands
 * back the same page whatever the offset. */
static uint64_t page_hash(struct json_object *arr)
{
    uint64_t h = 14695981039346656037ull;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        const char *name = jx_str(json_object_array_get_idx(arr, i), "name", "");
        for (const unsigned char *p = (const unsigned char *)name;; p++) {
            h = (h ^ *p) * 1099511628211ull; /* the NUL separates names */
            if (!*p)
                break;
        }
    }
    return h;
}

/* Take the live entries of one page that really start with the prefix. */
static int take_page(struct json_object *arr, const char *prefix, struct ds_list *out,
                     struct as_error *err)
{
    size_t n = json_object_array_length(arr), plen = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(arr, i);
        const char *name = jx_str(item, "name", NULL);
        const char *value = jx_str(item, "value", NULL);
        if (!name || !value)
            return bad_reply("list", "an entry without string name and value", err);
        if (strncmp(name, prefix, plen) != 0 || expired(item))
            continue; /* defensive: the server filtered for us, or should have */
        ds_list_add(out, name, value);
    }
    return 0;
}

/* Fetch one page into *arr (a JSON array the caller puts). */
static int fetch_page(struct st2 *st, const char *prefix, size_t offset,
                      struct json_object **arr, struct as_error *err)
{
    struct http_response r;
    char *url = list_url(st, prefix, offset);

    *arr = NULL;
    int rc = call(st, "GET", url, NULL, "list", &r, err);
    free(url);
    if (rc < 0)
        return -1;
    if (r.status != 200) {
        rc = reply_error(st, "list", &r, err);
        http_response_clear(&r);
        return rc;
    }
    *arr = jx_parse(r.body, r.body_len, "st2 datastore: list reply", "datastore_error",
                    AS_EXIT_FAILURE, err);
    http_response_clear(&r);
    if (!*arr)
        return -1;
    if (!json_object_is_type(*arr, json_type_array)) {
        json_object_put(*arr);
        *arr = NULL;
        return bad_reply("list", "not a JSON array", err);
    }
    return 0;
}

/* An entry and when it arrived, so equal names sort in arrival order. */
struct arrival {
    struct ds_entry e;
    size_t at;
};

static int by_name_then_arrival(const void *a, const void *b)
{
    const struct arrival *x = a, *y = b;
    int c = strcmp(x->e.name, y->e.name);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* Sort, keeping a key seen twice (written between two page requests, which
 * shifts the rest) once: the copy that arrived last, the newer value. */
static void sort_dedup(struct ds_list *l)
{
    if (l->count < 2)
        return;
    struct arrival *v = xmalloc(l->count * sizeof *v);
    for (size_t i = 0; i < l->count; i++)
        v[i] = (struct arrival){l->items[i], i};
    qsort(v, l->count, sizeof *v, by_name_then_arrival);

    size_t w = 0;
    for (size_t i = 0; i < l->count; i++) {
        if (w > 0 && strcmp(l->items[w - 1].name, v[i].e.name) == 0) {
            l->items[w - 1] = v[i].e; /* the older copy stays in the arena */
        } else {
            l->items[w++] = v[i].e;
        }
    }
    l->count = w;
    free(v);
}

/* Move every entry of src to the end of dst, leaving src empty. */
static void append_all(struct ds_list *dst, struct ds_list *src)
{
    if (dst->count == 0) { /* the usual case: hand the array over */
        ds_list_clear(dst);
        *dst = *src;
        *src = (struct ds_list){0};
        return;
    }
    for (size_t i = 0; i < src->count; i++)
        ds_list_add(dst, src->items[i].name, src->items[i].value);
    ds_list_clear(src);
}

/* st2 sends no total count we could rely on, so page with a fixed limit
 * until a page comes back short. st2 refuses (403) rather than clamps a
 * limit above its maximum, so a short page really is the last one. */
static int st2_list(struct ds *ds, const char *prefix, struct ds_list *out,
                    struct as_error *err)
{
    struct st2 *st = ds->impl;
    struct ds_list got = {0};
    size_t offset = 0, max_pages = ST2_LIST_MAX_KEYS / (size_t)st->page_size + 1;
    uint64_t prev = 0;
    int rc = 0;

    log_debug("st2 datastore: list %s", prefix);
    for (size_t page = 0;; page++) {
        struct json_object *arr;
        if (page == max_pages) {
            rc = as_fail(err, AS_EXIT_FAILURE, "datastore_error",
                         "st2 datastore: list %s: more than %d keys; giving up", prefix,
                         ST2_LIST_MAX_KEYS);
            break;
        }
        if ((rc = fetch_page(st, prefix, offset, &arr, err)) < 0)
            break;
        size_t n = json_object_array_length(arr);
        uint64_t h = page_hash(arr);
        if (page > 0 && n > 0 && h == prev) {
            json_object_put(arr);
            rc = as_fail(err, AS_EXIT_FAILURE, "datastore_error",
                         "st2 datastore: list %s: the server sent the same page for "
                         "offsets %zu and %zu (is it ignoring offset?)",
                         prefix, offset - n, offset);
            break;
        }
        prev = h;
        rc = take_page(arr, prefix, &got, err);
        json_object_put(arr);
        if (rc < 0 || n < (size_t)st->page_size)
            break;
        offset += n;
    }
    if (rc == 0) {
        sort_dedup(&got);
        append_all(out, &got);
    }
    ds_list_clear(&got);
    return rc;
}

static void st2_close(struct ds *ds)
{
    struct st2 *st = ds->impl;
    http_client_free(st->http);
    free(st->base);
    secret_free(st->auth_header);
    secret_free(st->credential);
    free(st);
    free(ds);
}

static struct ds *st2_open(const struct ds_config *cfg, struct as_error *err);

const struct ds_ops ds_st2_ops = {
    .name = "st2",
    .open = st2_open,
    .get = st2_get,
    .put = st2_put,
    .del = st2_del,
    .list = st2_list,
    .close = st2_close,
    /* No .create: st2's keys API has no conditional write, so lib/store/claim.c
     * uses candidate keys and a listing instead. */
};

/* ----------------------------------------------------------------- open -- */

/* The token wins over the API key, as in st2's own client. No credential at
 * all is allowed: st2 then answers 401, which names the problem better than
 * we could here. */
static void set_auth(struct st2 *st, const struct ds_st2_config *cfg)
{
    const char *name = NULL, *val = NULL;
    if (cfg->auth_token && *cfg->auth_token)
        name = "X-Auth-Token", val = cfg->auth_token;
    else if (cfg->api_key && *cfg->api_key)
        name = "St2-Api-Key", val = cfg->api_key;
    if (!val)
        return;
    secret_register(val);
    st->auth_header = xasprintf("%s: %s", name, val);
    st->credential = xstrdup(val);
}

static struct ds *st2_open(const struct ds_config *config, struct as_error *err)
{
    const struct ds_st2_config *cfg = &config->st2;
    if (!cfg->base_url || !*cfg->base_url) {
        as_fail(err, AS_EXIT_BADINPUT, "bad_datastore", "st2 datastore: no API URL");
        return NULL;
    }
    if (strncmp(cfg->base_url, "http://", 7) != 0 &&
        strncmp(cfg->base_url, "https://", 8) != 0) {
        as_fail(err, AS_EXIT_BADINPUT, "bad_datastore",
                "st2 datastore: API URL must start with http:// or https://");
        return NULL;
    }

    struct ds *ds = xcalloc(1, sizeof *ds);
    struct st2 *st = xcalloc(1, sizeof *st);
    ds->ops = &ds_st2_ops;
    ds->impl = st;
    st->page_size = cfg->page_size > 0 ? cfg->page_size : ST2_PAGE_DEFAULT;
    st->base = http_base_url(cfg->base_url);
    set_auth(st, cfg);

    /* Creating the client sends nothing: the first request connects. */
    struct http_options opt;
    http_options_default(&opt);
    opt.ca_bundle = cfg->ca_bundle;
    if (!(st->http = http_client_new(&opt, err))) {
        as_error_prefix(err, "st2 datastore");
        st2_close(ds);
        return NULL;
    }
    return ds;
}
