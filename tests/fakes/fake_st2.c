/* fake_st2.c - see fake_st2.h.
 *
 * One mutex guards everything: requests are tiny and a test fake needs
 * obviously-correct more than it needs concurrency. It also makes every
 * request atomic and totally ordered, which is what the pack's claims
 * (lib/store/claim.c) assume of st2: st2api takes a coordination lock per key
 * around PUT and DELETE (st2api/controllers/v1/keyvalue.py, put/delete) and
 * MongoDB's primary serves a read after an acknowledged write. libmicrohttpd runs one
 * thread per connection so a delayed response holds up only its own client,
 * and hands us the path already percent-decoded (the split at '?' happens
 * before decoding, so an encoded '?' stays in the name). */
#include "fake_st2.h"
#include "fake_httpd.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SYSTEM_SCOPE "st2kv.system"
#define KEYS_PATH "/v1/keys"
#define DEFAULT_PAGE 100 /* st2's ResourceController.default_limit */
#define CONTROL_PATH "/v1/_fake/"

struct kv {
    char *name;
    char *value;
    long long expire;        /* unix seconds, 0: never */
    unsigned long long seq;  /* insertion order, also the object id */
};

/* An accepted token and its life. */
struct tok {
    char *value;
    long long expire; /* fake-clock unix seconds, 0: never */
    int uses_left;    /* authorised requests left, -1: no limit, 0: expired */
};

struct fake_st2 {
    struct fake_httpd *httpd;
    char *api_key;
    struct tok *toks;
    size_t ntoks, tokcap;
    int control;

    pthread_mutex_t lock;
    struct kv *keys;
    size_t nkeys, cap;
    unsigned long long seq;
    long long clock_offset;

    enum fake_st2_limit_mode limit_mode;
    int max_page;
    int insertion_order, ignore_offset, ignore_prefix;
    int fail_n, fail_status;
    long fail_retry_after;
    int commit_fail_n, commit_fail_status; /* fake_st2_fail_after_commit */
    char *commit_fail_prefix;
    long delay_ms;

    struct fake_st2_stats stats;
    struct fake_httpd_last last;
    char *last_key; /* the key named in the path, st2's own addition */
};

/* What to answer; built under the lock, sent after it is released. */
struct reply {
    unsigned status;
    char *body; /* JSON text or NULL */
    long retry_after;
    long long total_count, limit; /* -1: no header */
};

/* ------------------------------------------------------------- helpers -- */

static long long now_locked(struct fake_st2 *f)
{
    return (long long)time(NULL) + f->clock_offset;
}

static int live(const struct kv *k, long long now)
{
    return k->expire == 0 || k->expire > now;
}

/* st2's error shape: {"faultstring": "..."} (st2common/router.py abort). */
static void fault(struct reply *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fault(struct reply *r, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "faultstring", json_object_new_string(msg));
    r->status = status;
    free(r->body);
    r->body = fake_httpd_json(o);
}

/* ---------------------------------------------------------------- store -- */

static struct kv *find(struct fake_st2 *f, const char *name)
{
    for (size_t i = 0; i < f->nkeys; i++)
        if (strcmp(f->keys[i].name, name) == 0)
            return &f->keys[i];
    return NULL;
}

static void remove_at(struct fake_st2 *f, size_t i)
{
    free(f->keys[i].name);
    free(f->keys[i].value);
    f->keys[i] = f->keys[--f->nkeys];
}

/* MongoDB's TTL index removes expired documents; here they go on the next
 * request, which looks the same from outside. */
static void purge(struct fake_st2 *f)
{
    long long now = now_locked(f);
    for (size_t i = 0; i < f->nkeys;)
        if (!live(&f->keys[i], now))
            remove_at(f, i);
        else
            i++;
}

/* Create or overwrite. An overwrite without a ttl clears the expiry, as
 * st2's KeyValuePairAPI.to_model builds a fresh model each time. */
static struct kv *upsert(struct fake_st2 *f, const char *name, const char *value,
                         long long ttl_s)
{
    struct kv *k = find(f, name);
    char *v = strdup(value);
    if (!v)
        return NULL;
    if (!k) {
        if (f->nkeys == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 64;
            struct kv *keys = realloc(f->keys, cap * sizeof *keys);
            if (!keys) {
                free(v);
                return NULL;
            }
            f->keys = keys;
            f->cap = cap;
        }
        k = &f->keys[f->nkeys];
        if (!(k->name = strdup(name))) {
            free(v);
            return NULL;
        }
        k->value = NULL;
        k->seq = ++f->seq;
        f->nkeys++;
    }
    free(k->value);
    k->value = v;
    k->expire = ttl_s ? now_locked(f) + ttl_s : 0;
    return k;
}

/* The KeyValuePairAPI document st2 returns for a system-scope, non-secret
 * key (st2common/models/api/keyvalue.py from_model: None fields dropped). */
static struct json_object *kv_json(const struct kv *k)
{
    struct json_object *o = json_object_new_object();
    char id[32], *uid = NULL;

    snprintf(id, sizeof id, "%024llx", k->seq);
    if (asprintf(&uid, "key_value_pair:%s:%s", SYSTEM_SCOPE, k->name) < 0)
        uid = NULL;
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "uid", json_object_new_string(uid ? uid : ""));
    json_object_object_add(o, "name", json_object_new_string(k->name));
    json_object_object_add(o, "value", json_object_new_string(k->value));
    json_object_object_add(o, "secret", json_object_new_boolean(0));
    json_object_object_add(o, "encrypted", json_object_new_boolean(0));
    json_object_object_add(o, "scope", json_object_new_string(SYSTEM_SCOPE));
    if (k->expire) {
        /* st2's isotime.format(offset=False): microseconds and a 'Z'. */
        char ts[64];
        struct tm tm;
        time_t t = (time_t)k->expire;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
        json_object_object_add(o, "expire_timestamp", json_object_new_string(ts));
    }
    free(uid);
    return o;
}

static void not_found(struct reply *r, const char *name)
{
    fault(r, 404, "KeyValuePair with name: %s and scope: %s not found in db.", name,
          SYSTEM_SCOPE);
}

/* --------------------------------------------------------------- tokens -- */

static struct tok *find_tok(struct fake_st2 *f, const char *value)
{
    for (size_t i = 0; i < f->ntoks; i++)
        if (strcmp(f->toks[i].value, value) == 0)
            return &f->toks[i];
    return NULL;
}

static int tok_live(const struct tok *t, long long now)
{
    return t->uses_left != 0 && (t->expire == 0 || t->expire > now);
}

static int set_tok_locked(struct fake_st2 *f, const char *value, long long ttl_s, int uses)
{
    struct tok *t = find_tok(f, value);
    if (!t) {
        if (f->ntoks == f->tokcap) {
            size_t cap = f->tokcap ? f->tokcap * 2 : 8;
            struct tok *toks = realloc(f->toks, cap * sizeof *toks);
            if (!toks)
                return -1;
            f->toks = toks;
            f->tokcap = cap;
        }
        t = &f->toks[f->ntoks];
        if (!(t->value = strdup(value)))
            return -1;
        f->ntoks++;
    }
    t->expire = ttl_s > 0 ? now_locked(f) + ttl_s : 0;
    t->uses_left = uses > 0 ? uses : -1;
    return 0;
}

/* 32 hex digits like the uuid4().hex st2 uses; /dev/urandom, or a counter
 * mixed with the clock should that be missing (uniqueness is what counts). */
static void random_token(struct fake_st2 *f, char out[33])
{
    unsigned char b[16] = {0};
    FILE *u = fopen("/dev/urandom", "rb");
    size_t got = u ? fread(b, 1, sizeof b, u) : 0;
    if (u)
        fclose(u);
    if (got != sizeof b)
        snprintf((char *)b, sizeof b, "%llx%llx", (unsigned long long)time(NULL),
                 (unsigned long long)f->stats.minted);
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static char *mint_locked(struct fake_st2 *f, long long ttl_s)
{
    char value[33];
    random_token(f, value);
    if (set_tok_locked(f, value, ttl_s, 0) < 0)
        return NULL;
    f->stats.minted++;
    return strdup(value);
}

static int expire_all_locked(struct fake_st2 *f)
{
    for (size_t i = 0; i < f->ntoks; i++)
        f->toks[i].uses_left = 0;
    return (int)f->ntoks;
}

/* ------------------------------------------------------------ endpoints -- */

static void do_get(struct fake_st2 *f, const char *name, struct reply *r)
{
    struct kv *k = find(f, name);
    f->stats.gets++;
    if (!k) {
        not_found(r, name);
        return;
    }
    r->status = 200;
    r->body = fake_httpd_json(kv_json(k));
}

static void do_delete(struct fake_st2 *f, const char *name, struct reply *r)
{
    struct kv *k = find(f, name);
    f->stats.deletes++;
    if (!k) {
        not_found(r, name);
        return;
    }
    remove_at(f, (size_t)(k - f->keys));
    r->status = 204;
}

/* The body check st2's router does against KeyValuePairAPI.schema
 * ("additionalProperties": false, "value" a required string, "ttl" an
 * integer), then the controller's scope check. 0 if acceptable. */
static int check_put_body(struct json_object *b, struct reply *r)
{
    static const char *const known[] = {"id", "uid", "name", "description", "value",
                                        "secret", "encrypted", "scope",
                                        "expire_timestamp", "ttl", "user"};
    if (!json_object_is_type(b, json_type_object)) {
        fault(r, 400, "Failed to parse request body: expected a JSON object");
        return -1;
    }
    json_object_object_foreach(b, key, val) {
        size_t i = 0;
        while (i < sizeof known / sizeof *known && strcmp(known[i], key) != 0)
            i++;
        if (i == sizeof known / sizeof *known) {
            fault(r, 400, "Additional properties are not allowed ('%s' was unexpected)",
                  key);
            return -1;
        }
        (void)val;
    }
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(b, "value", &v)) {
        fault(r, 400, "'value' is a required property");
        return -1;
    }
    if (!json_object_is_type(v, json_type_string)) {
        fault(r, 400, "%s is not of type 'string'", json_object_to_json_string(v));
        return -1;
    }
    struct json_object *t = NULL;
    if (json_object_object_get_ex(b, "ttl", &t) && !json_object_is_type(t, json_type_int)) {
        fault(r, 400, "%s is not of type 'integer'", json_object_to_json_string(t));
        return -1;
    }
    struct json_object *s = NULL;
    if (json_object_object_get_ex(b, "scope", &s)) {
        const char *scope = json_object_get_string(s);
        if (!json_object_is_type(s, json_type_string) ||
            (strcmp(scope, SYSTEM_SCOPE) != 0 && strcmp(scope, "system") != 0)) {
            fault(r, 400, "Invalid scope \"%s\"! This fake only has scope %s.", scope,
                  SYSTEM_SCOPE);
            return -1;
        }
    }
    struct json_object *sec = NULL;
    if (json_object_object_get_ex(b, "secret", &sec) && json_object_get_boolean(sec)) {
        /* What st2 answers without a datastore crypto key: the fake has none. */
        fault(r, 400, "Crypto key not found in /etc/st2/keys/datastore_key.json. "
                      "Unable to encrypt / decrypt value for key.");
        return -1;
    }
    return 0;
}

static void do_put(struct fake_st2 *f, const char *name, const struct fake_httpd_body *up,
                   struct reply *r)
{
    f->stats.puts++;
    struct json_tokener *tok = json_tokener_new();
    struct json_object *b =
        tok ? json_tokener_parse_ex(tok, up->buf ? up->buf : "", (int)up->len) : NULL;
    int bad_json = !tok || json_tokener_get_error(tok) != json_tokener_success;
    json_tokener_free(tok);
    if (bad_json || !b) {
        json_object_put(b);
        fault(r, 400, "Failed to parse request body: not valid JSON");
        return;
    }
    if (check_put_body(b, r) < 0) {
        json_object_put(b);
        return;
    }
    struct json_object *v = NULL, *t = NULL;
    json_object_object_get_ex(b, "value", &v);
    long long ttl = json_object_object_get_ex(b, "ttl", &t) ? json_object_get_int64(t) : 0;
    /* The body's "name" is ignored: st2 sets kvp.name from the path. */
    struct kv *k = upsert(f, name, json_object_get_string(v), ttl);
    json_object_put(b);
    if (!k) {
        fault(r, 500, "out of memory");
        return;
    }
    if (!live(k, now_locked(f))) {
        /* A ttl <= 0 gives an expire_timestamp in the past: st2 answers with
         * the document, then MongoDB drops it. */
        r->status = 200;
        r->body = fake_httpd_json(kv_json(k));
        remove_at(f, (size_t)(k - f->keys));
        return;
    }
    r->status = 200;
    r->body = fake_httpd_json(kv_json(k));
}

/* Parse a whole decimal integer query value; 0 and *out, or -1. */
static int query_int(const char *s, long long *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno || *end ? -1 : 0;
}

/* st2's validate_limit_query_param() with the knob for who is "admin".
 * Returns the page length to serve (0: everything) or -1 after a fault. */
static long long page_limit(struct fake_st2 *f, const char *s, struct reply *r)
{
    long long limit;
    if (!s) /* st2's default page, cut to a smaller maximum if one is set */
        return f->limit_mode != FAKE_ST2_LIMIT_UNLIMITED && f->max_page < DEFAULT_PAGE
                   ? f->max_page
                   : DEFAULT_PAGE;
    if (query_int(s, &limit) < 0) {
        fault(r, 400, "Invalid limit \"%s\"", s);
        return -1;
    }
    if (limit == 0) {
        fault(r, 400, "Limit, \"0\" specified, must be a positive number or -1 for "
                      "full result set.");
        return -1;
    }
    if (limit <= -2) {
        fault(r, 400, "Limit, \"%lld\" specified, must be a positive number.", limit);
        return -1;
    }
    if (f->limit_mode == FAKE_ST2_LIMIT_UNLIMITED)
        return limit == -1 ? 0 : limit;
    if (f->limit_mode == FAKE_ST2_LIMIT_REJECT && limit == -1) {
        fault(r, 403, "Administrator access required to be able to specify limit=-1 "
                      "and retrieve all the records");
        return -1;
    }
    if (f->limit_mode == FAKE_ST2_LIMIT_REJECT && limit > f->max_page) {
        fault(r, 403, "Limit \"%lld\" specified, maximum value is \"%d\"", limit,
              f->max_page);
        return -1;
    }
    return limit == -1 || limit > f->max_page ? f->max_page : limit;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const struct kv *const *)a)->name, (*(const struct kv *const *)b)->name);
}

static int by_seq(const void *a, const void *b)
{
    unsigned long long x = (*(const struct kv *const *)a)->seq;
    unsigned long long y = (*(const struct kv *const *)b)->seq;
    return x < y ? -1 : x > y;
}

static void do_list(struct fake_st2 *f, struct MHD_Connection *c, struct reply *r)
{
    const char *prefix = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "prefix");
    const char *off_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset");
    long long offset = 0;

    f->stats.lists++;
    long long limit =
        page_limit(f, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"), r);
    if (limit < 0)
        return;
    if (off_s && (query_int(off_s, &offset) < 0 || offset < 0)) {
        fault(r, 400, "Invalid offset \"%s\"", off_s);
        return;
    }
    if (f->ignore_offset)
        offset = 0;
    if (f->ignore_prefix)
        prefix = NULL;

    struct kv **match = calloc(f->nkeys + 1, sizeof *match);
    if (!match) {
        fault(r, 500, "out of memory");
        return;
    }
    size_t n = 0, plen = prefix ? strlen(prefix) : 0;
    for (size_t i = 0; i < f->nkeys; i++)
        if (!prefix || strncmp(f->keys[i].name, prefix, plen) == 0)
            match[n++] = &f->keys[i];
    qsort(match, n, sizeof *match, f->insertion_order ? by_seq : by_name);

    struct json_object *arr = json_object_new_array();
    size_t end = limit == 0 || (unsigned long long)offset + (unsigned long long)limit > n
                     ? n
                     : (size_t)(offset + limit);
    for (size_t i = (size_t)offset; i < end; i++)
        json_object_array_add(arr, kv_json(match[i]));
    free(match);

    r->status = 200;
    r->body = fake_httpd_json(arr);
    /* st2's ResourceController._get_all sets both headers. */
    r->total_count = (long long)n;
    r->limit = limit ? limit : -1;
}

/* --------------------------------------------------------------- routing -- */

/* st2's validate_token (st2common/util/auth.py): unknown, expired, or good;
 * a good one spends one of its uses. */
static int token_ok(struct fake_st2 *f, const char *value, struct reply *r)
{
    struct tok *t = find_tok(f, value);
    if (!t) {
        /* Echoing the credential is the worst a server can do; the client
         * must keep it out of its own messages anyway. */
        fault(r, 401, "Unauthorized - Token with value \"%s\" not found.", value);
    } else if (!tok_live(t, now_locked(f))) {
        fault(r, 401, "Unauthorized - Token has expired.");
        f->stats.expired++;
    } else {
        if (t->uses_left > 0)
            t->uses_left--;
        return 1;
    }
    f->stats.unauthorized++;
    return 0;
}

/* st2's auth middleware (st2common/router.py): exactly one of the two
 * headers, and it must be valid. 1 if authorised, else a 401 is set. */
static int authorised(struct fake_st2 *f, struct MHD_Connection *c, struct reply *r)
{
    const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Auth-Token");
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "St2-Api-Key");

    if (tok && key)
        fault(r, 401, "Unauthorized - Only one of Token or API key expected.");
    else if (!tok && !key)
        fault(r, 401, "Unauthorized - One of Token or API key required.");
    else if (tok)
        return token_ok(f, tok, r);
    else if (!(f->api_key && strcmp(key, f->api_key) == 0))
        fault(r, 401, "Unauthorized - ApiKey with key \"%s\" not found.", key);
    else
        return 1;
    f->stats.unauthorized++;
    return 0;
}

static int scope_ok(struct MHD_Connection *c, struct reply *r)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "scope");
    if (!s || !*s || strcmp(s, SYSTEM_SCOPE) == 0 || strcmp(s, "system") == 0)
        return 1;
    fault(r, 400, "Invalid scope \"%s\"! This fake only has scope %s.", s, SYSTEM_SCOPE);
    return 0;
}

static void inject_fault(struct fake_st2 *f, struct reply *r)
{
    const char *text = f->fail_status == 429   ? "Too Many Requests"
                       : f->fail_status == 503 ? "Service Unavailable"
                       : f->fail_status == 500 ? "Internal Server Error"
                                               : "Injected fault";
    f->fail_n--;
    f->stats.faults++;
    fault(r, (unsigned)f->fail_status, "%s", text);
    r->retry_after = f->fail_retry_after;
}

/* After a PUT was applied: turn its success into the configured failure (a
 * proxy timing out, st2api dying after MongoDB acknowledged). 1 when the
 * reply is replaced; with status 0 the caller drops the connection. */
static int fail_committed(struct fake_st2 *f, const char *method, const char *name,
                          struct reply *r)
{
    const char *p = f->commit_fail_prefix;
    if (f->commit_fail_n <= 0 || !name || strcmp(method, "PUT") != 0 ||
        r->status != 200 || (p && strncmp(name, p, strlen(p)) != 0))
        return 0;
    f->commit_fail_n--;
    f->stats.faults++;
    if (f->commit_fail_status)
        fault(r, (unsigned)f->commit_fail_status, "Internal Server Error");
    return 1;
}

static void route(struct fake_st2 *f, struct MHD_Connection *c, const char *method,
                  const char *path, const struct fake_httpd_body *up, struct reply *r)
{
    if (f->fail_n > 0) {
        inject_fault(f, r);
        return;
    }
    if (!authorised(f, c, r) || !scope_ok(c, r))
        return;
    purge(f);

    int is_list = strcmp(path, KEYS_PATH) == 0 || strcmp(path, KEYS_PATH "/") == 0;
    const char *name = !is_list && strncmp(path, KEYS_PATH "/", sizeof KEYS_PATH) == 0
                           ? path + sizeof KEYS_PATH
                           : NULL;
    if (is_list && strcmp(method, "GET") == 0)
        do_list(f, c, r);
    else if (name && strcmp(method, "GET") == 0)
        do_get(f, name, r);
    else if (name && strcmp(method, "PUT") == 0) {
        do_put(f, name, up, r);
        if (fail_committed(f, method, name, r) && !f->commit_fail_status)
            r->status = 0; /* on_request drops the connection */
    }
    else if (name && strcmp(method, "DELETE") == 0)
        do_delete(f, name, r);
    else if (is_list || name)
        fault(r, 405, "Method Not Allowed");
    else
        fault(r, 404, "The resource could not be found.");
}

/* ------------------------------------------------------------- control -- */

/* The integer field `name` of a JSON object body; dflt if the body or the
 * field is absent, -1 and a 400 if it is not an integer. */
static int body_int(const struct fake_httpd_body *up, const char *name, long long dflt,
                    long long *out, struct reply *r)
{
    struct json_object *b = up->buf && up->len ? json_tokener_parse(up->buf) : NULL, *v;
    *out = dflt;
    if (up->buf && up->len && !json_object_is_type(b, json_type_object)) {
        json_object_put(b);
        fault(r, 400, "control: the body must be a JSON object");
        return -1;
    }
    if (b && json_object_object_get_ex(b, name, &v)) {
        if (!json_object_is_type(v, json_type_int)) {
            json_object_put(b);
            fault(r, 400, "control: '%s' must be an integer", name);
            return -1;
        }
        *out = json_object_get_int64(v);
    }
    json_object_put(b);
    return 0;
}

static void reply_obj(struct reply *r, unsigned status, struct json_object *o)
{
    r->status = status;
    r->body = fake_httpd_json(o);
}

static void control(struct fake_st2 *f, const char *method, const char *what,
                    const struct fake_httpd_body *up, struct reply *r)
{
    struct json_object *o = json_object_new_object();
    long long n;
    int post = strcmp(method, "POST") == 0;

    if (post && strcmp(what, "tokens") == 0) {
        if (body_int(up, "ttl", 0, &n, r) < 0)
            goto bad;
        char *t = mint_locked(f, n);
        if (!t) {
            fault(r, 500, "out of memory");
            goto bad;
        }
        json_object_object_add(o, "token", json_object_new_string(t));
        free(t);
        reply_obj(r, 201, o);
    } else if (post && strcmp(what, "expire") == 0) {
        json_object_object_add(o, "expired", json_object_new_int(expire_all_locked(f)));
        reply_obj(r, 200, o);
    } else if (post && strcmp(what, "clock") == 0) {
        if (body_int(up, "advance", 0, &n, r) < 0)
            goto bad;
        f->clock_offset += n;
        json_object_object_add(o, "now", json_object_new_int64(now_locked(f)));
        reply_obj(r, 200, o);
    } else if (strcmp(method, "GET") == 0 && strcmp(what, "stats") == 0) {
        const struct fake_st2_stats *s = &f->stats;
        const struct {
            const char *name;
            int v;
        } fields[] = {{"requests", s->requests}, {"gets", s->gets},
                      {"puts", s->puts},         {"deletes", s->deletes},
                      {"lists", s->lists},       {"unauthorized", s->unauthorized},
                      {"faults", s->faults},     {"expired", s->expired},
                      {"minted", s->minted}};
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
            json_object_object_add(o, fields[i].name, json_object_new_int(fields[i].v));
        reply_obj(r, 200, o);
    } else {
        fault(r, 404, "control: no %s %s%s", method, CONTROL_PATH, what);
        goto bad;
    }
    return;
bad:
    json_object_put(o);
}

/* ------------------------------------------------------------ recording -- */

static void record(struct fake_st2 *f, struct MHD_Connection *c, const char *method,
                   const char *path, const struct fake_httpd_body *up)
{
    f->stats.requests++;
    fake_httpd_last_set(&f->last, c, method, path, up);
    free(f->last_key);
    f->last_key = strncmp(path, KEYS_PATH "/", sizeof KEYS_PATH) == 0
                      ? fake_httpd_dup(path + sizeof KEYS_PATH)
                      : NULL;
}

/* ------------------------------------------------------------- plumbing -- */

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r)
{
    struct MHD_Response *resp =
        fake_httpd_response(r->body, "application/json", r->retry_after);
    if (!resp)
        return MHD_NO;
    if (r->total_count >= 0)
        fake_httpd_num_header(resp, "X-Total-Count", r->total_count);
    if (r->limit >= 0)
        fake_httpd_num_header(resp, "X-Limit", r->limit);
    return fake_httpd_reply(c, r->status, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *method,
                                  const char *url, const struct fake_httpd_body *up)
{
    struct fake_st2 *f = cls;
    struct reply r = {0, NULL, -1, -1, -1};
    pthread_mutex_lock(&f->lock);
    if (f->control && strncmp(url, CONTROL_PATH, strlen(CONTROL_PATH)) == 0) {
        control(f, method, url + strlen(CONTROL_PATH), up, &r);
    } else {
        record(f, c, method, url, up);
        route(f, c, method, url, up, &r);
    }
    long delay = f->delay_ms;
    pthread_mutex_unlock(&f->lock);
    if (delay > 0)
        fake_httpd_sleep_ms(f->httpd, delay);
    if (r.status == 0) { /* committed, then the connection dies unanswered */
        free(r.body);
        return MHD_NO;
    }
    return send_reply(c, &r);
}

struct fake_st2 *fake_st2_start(const char *token, const char *api_key)
{
    struct fake_st2 *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->api_key = fake_httpd_dup(api_key);
    f->limit_mode = FAKE_ST2_LIMIT_CLAMP;
    f->max_page = DEFAULT_PAGE;

    if ((api_key && !f->api_key) || (token && set_tok_locked(f, token, 0, 0) < 0) ||
        !(f->httpd = fake_httpd_start(on_request, f, "/v1"))) {
        fake_st2_stop(f);
        return NULL;
    }
    return f;
}

void fake_st2_stop(struct fake_st2 *f)
{
    if (!f)
        return;
    fake_httpd_stop(f->httpd);
    fake_st2_clear_keys(f);
    free(f->keys);
    for (size_t i = 0; i < f->ntoks; i++)
        free(f->toks[i].value);
    free(f->toks);
    free(f->api_key);
    free(f->commit_fail_prefix);
    fake_httpd_last_free(&f->last);
    free(f->last_key);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *fake_st2_url(const struct fake_st2 *f) { return fake_httpd_url(f->httpd); }

/* ---------------------------------------------------------------- knobs -- */

long long fake_st2_now(struct fake_st2 *f)
{
    long long now;
    FAKE_LOCKED(f, now = now_locked(f));
    return now;
}

void fake_st2_advance(struct fake_st2 *f, long long seconds)
{
    FAKE_LOCKED(f, f->clock_offset += seconds);
}

int fake_st2_set_token(struct fake_st2 *f, const char *token, long long ttl_s, int uses)
{
    int rc;
    FAKE_LOCKED(f, rc = set_tok_locked(f, token, ttl_s, uses));
    return rc;
}

char *fake_st2_mint_token(struct fake_st2 *f, long long ttl_s)
{
    char *t;
    FAKE_LOCKED(f, t = mint_locked(f, ttl_s));
    return t;
}

void fake_st2_expire_tokens(struct fake_st2 *f) { FAKE_LOCKED(f, expire_all_locked(f)); }

void fake_st2_set_control(struct fake_st2 *f, int on) { FAKE_LOCKED(f, f->control = on); }

void fake_st2_set_limit_mode(struct fake_st2 *f, enum fake_st2_limit_mode m, int max_page)
{
    FAKE_LOCKED(f, (f->limit_mode = m, f->max_page = max_page > 0 ? max_page : DEFAULT_PAGE));
}

void fake_st2_set_insertion_order(struct fake_st2 *f, int on)
{
    FAKE_LOCKED(f, f->insertion_order = on);
}

void fake_st2_set_ignore_offset(struct fake_st2 *f, int on)
{
    FAKE_LOCKED(f, f->ignore_offset = on);
}

void fake_st2_set_ignore_prefix(struct fake_st2 *f, int on)
{
    FAKE_LOCKED(f, f->ignore_prefix = on);
}

void fake_st2_fail_next(struct fake_st2 *f, int n, int status, long retry_after_s)
{
    FAKE_LOCKED(f, (f->fail_n = n, f->fail_status = status,
                    f->fail_retry_after = retry_after_s));
}

void fake_st2_fail_after_commit(struct fake_st2 *f, int n, int status, const char *prefix)
{
    char *p = prefix ? strdup(prefix) : NULL;
    pthread_mutex_lock(&f->lock);
    free(f->commit_fail_prefix);
    f->commit_fail_prefix = p;
    f->commit_fail_n = n;
    f->commit_fail_status = status;
    pthread_mutex_unlock(&f->lock);
}

void fake_st2_set_delay_ms(struct fake_st2 *f, long ms) { FAKE_LOCKED(f, f->delay_ms = ms); }

int fake_st2_set_key(struct fake_st2 *f, const char *name, const char *value, long ttl_s)
{
    struct kv *k;
    FAKE_LOCKED(f, k = upsert(f, name, value, ttl_s));
    return k ? 0 : -1;
}

char *fake_st2_get_key(struct fake_st2 *f, const char *name)
{
    char *v = NULL;
    pthread_mutex_lock(&f->lock);
    purge(f);
    struct kv *k = find(f, name);
    if (k)
        v = strdup(k->value);
    pthread_mutex_unlock(&f->lock);
    return v;
}

size_t fake_st2_key_count(struct fake_st2 *f)
{
    size_t n;
    FAKE_LOCKED(f, (purge(f), n = f->nkeys));
    return n;
}

void fake_st2_clear_keys(struct fake_st2 *f)
{
    pthread_mutex_lock(&f->lock);
    while (f->nkeys)
        remove_at(f, f->nkeys - 1);
    pthread_mutex_unlock(&f->lock);
}

void fake_st2_stats(struct fake_st2 *f, struct fake_st2_stats *out)
{
    FAKE_LOCKED(f, *out = f->stats);
}

void fake_st2_reset_stats(struct fake_st2 *f)
{
    FAKE_LOCKED(f, memset(&f->stats, 0, sizeof f->stats));
}

char *fake_st2_last_key(struct fake_st2 *f)
{
    return fake_httpd_locked_dup(&f->lock, &f->last_key);
}

FAKE_HTTPD_LAST_KNOBS(fake_st2, struct fake_st2)
