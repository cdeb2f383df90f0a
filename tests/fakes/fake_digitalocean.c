/* fake_digitalocean.c - see fake_digitalocean.h.
 *
 * Built like fake_st2.c: one mutex guards everything, replies are built under
 * it and sent after it is released, libmicrohttpd runs a thread per
 * connection so a delayed reply holds up only its own client. Droplets are
 * kept in id order (ids only grow and removal keeps the order), which is the
 * order the real API lists them in. */
#include "fake_digitalocean.h"
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

#define API_PREFIX "/v2"
#define DEFAULT_PER_PAGE 20 /* the API's default page */
#define MAX_PER_PAGE 200    /* and its maximum */
#define USER_DATA_MAX 65536 /* DO's documented limit on user_data */
#define RATE_LIMIT 5000     /* requests per hour, as DO's ratelimit-limit says */

struct droplet {
    long long id;
    char *name, *size, *region, *image_slug, *vpc_uuid, *user_data;
    long long image_id; /* when the image was named by id */
    char **tags;
    size_t ntags;
    char status[16];
    long long created;
    int polls;       /* fetches by id so far */
    int deleted;     /* a DELETE was accepted */
    int gone_in;     /* fetches by id left before it is 404 */
    int private_net; /* has a private address */
    long long action; /* its create action */
    long long power;  /* its pending shutdown/power_off/power_on action, 0 if none */
};

struct action {
    long long id, droplet;
    char status[16];
    long long started, completed;
    char region[16];
    char type[16];   /* "create", "shutdown", "power_off", "power_on" */
    int looks;       /* fetches of it or its droplet while in progress */
    int will_error;  /* it ends "errored", the droplet unchanged */
};

struct fake_do {
    struct fake_httpd *httpd;
    char *token;

    pthread_mutex_t lock;
    struct droplet *drops;
    size_t ndrops, cap;
    struct action *acts;
    size_t nacts, acap;
    long long next_id, next_action;
    unsigned long long next_request;

    int active_after, gone_after, fail_creates, private_net, max_per_page, echo_token;
    int power_after, fail_power, shutdown_ignored;
    char *link_base;
    int fail_n, fail_status, after_n, after_status, malformed_n;
    long fail_retry_after, delay_ms;

    struct fake_do_stats stats;
    struct fake_httpd_last last;
    char *last_create_body; /* kept across later requests */
    char *last_power_body;  /* of the last POST /v2/droplets/{id}/actions */
};

/* What to answer; built under the lock, sent after it is released. */
struct reply {
    unsigned status;
    char *body;
    long retry_after; /* -1: no header */
    long remaining;
    long long reset;
};

enum endpoint {
    EP_NONE, EP_CREATE, EP_GET, EP_DELETE, EP_LIST, EP_ACTION, EP_POWER, EP_DROPLET_ACTION,
    EP_BAD_METHOD
};

/* ------------------------------------------------------------- helpers -- */

static void iso_time(long long t, char *out, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A whole positive decimal number, or -1. */
static long long parse_id(const char *s)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || *end || v <= 0 ? -1 : v;
}

static int in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* DO's error shape: {"id": ..., "message": ..., "request_id": ...}. */
static void api_error(struct fake_do *f, struct reply *r, unsigned status, const char *id,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void api_error(struct fake_do *f, struct reply *r, unsigned status, const char *id,
                      const char *fmt, ...)
{
    char msg[1024], rid[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(rid, sizeof rid, "f4ce0000-0000-4000-8000-%012llx", f->next_request);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "message", json_object_new_string(msg));
    json_object_object_add(o, "request_id", json_object_new_string(rid));
    r->status = status;
    free(r->body);
    r->body = fake_httpd_json(o);
}

static void not_found(struct fake_do *f, struct reply *r)
{
    f->stats.rejected++;
    api_error(f, r, 404, "not_found", "The resource you were accessing could not be found.");
}

/* Returns -1 so a failed check reads `return unprocessable(...)`. */
static int unprocessable(struct fake_do *f, struct reply *r, const char *msg)
{
    f->stats.rejected++;
    api_error(f, r, 422, "unprocessable_entity", "%s", msg);
    return -1;
}

/* --------------------------------------------------------------- store -- */

static struct droplet *find_droplet(struct fake_do *f, long long id)
{
    for (size_t i = 0; i < f->ndrops; i++)
        if (f->drops[i].id == id)
            return &f->drops[i];
    return NULL;
}

static struct action *find_action(struct fake_do *f, long long id)
{
    for (size_t i = 0; i < f->nacts; i++)
        if (f->acts[i].id == id)
            return &f->acts[i];
    return NULL;
}

static void droplet_free(struct droplet *d)
{
    free(d->name);
    free(d->size);
    free(d->region);
    free(d->image_slug);
    free(d->vpc_uuid);
    free(d->user_data);
    for (size_t i = 0; i < d->ntags; i++)
        free(d->tags[i]);
    free(d->tags);
}

/* memmove, not swap-with-last: listings stay in id order. */
static void remove_droplet(struct fake_do *f, struct droplet *d)
{
    size_t i = (size_t)(d - f->drops);
    droplet_free(d);
    memmove(&f->drops[i], &f->drops[i + 1], (f->ndrops - i - 1) * sizeof *d);
    f->ndrops--;
}

static struct droplet *new_droplet(struct fake_do *f, const char *name)
{
    if (f->ndrops == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct droplet *v = realloc(f->drops, cap * sizeof *v);
        if (!v)
            return NULL;
        f->drops = v;
        f->cap = cap;
    }
    struct droplet *d = &f->drops[f->ndrops];
    memset(d, 0, sizeof *d);
    if (!(d->name = strdup(name)))
        return NULL;
    f->ndrops++;
    d->id = f->next_id++;
    d->created = (long long)time(NULL);
    d->private_net = f->private_net;
    snprintf(d->status, sizeof d->status, "new");
    return d;
}

static int add_tag(struct droplet *d, const char *tag)
{
    char **v = realloc(d->tags, (d->ntags + 1) * sizeof *v);
    if (!v)
        return -1;
    d->tags = v;
    if (!(v[d->ntags] = strdup(tag)))
        return -1;
    d->ntags++;
    return 0;
}

static int has_tag(const struct droplet *d, const char *tag)
{
    for (size_t i = 0; i < d->ntags; i++)
        if (strcmp(d->tags[i], tag) == 0)
            return 1;
    return 0;
}

static struct action *new_action(struct fake_do *f, struct droplet *d)
{
    if (f->nacts == f->acap) {
        size_t cap = f->acap ? f->acap * 2 : 64;
        struct action *v = realloc(f->acts, cap * sizeof *v);
        if (!v)
            return NULL;
        f->acts = v;
        f->acap = cap;
    }
    struct action *a = &f->acts[f->nacts++];
    memset(a, 0, sizeof *a);
    a->id = f->next_action++;
    a->droplet = d->id;
    a->started = (long long)time(NULL);
    snprintf(a->status, sizeof a->status, "in-progress");
    snprintf(a->region, sizeof a->region, "%s", d->region ? d->region : "nyc3");
    snprintf(a->type, sizeof a->type, "create");
    return a;
}

/* A droplet is "new" for its first active_after fetches, unless its create
 * action errored; then the action completes with it. */
static void advance(struct fake_do *f, struct droplet *d)
{
    struct action *a = find_action(f, d->action);
    d->polls++;
    if (strcmp(d->status, "new") != 0 || (a && strcmp(a->status, "errored") == 0))
        return;
    if (d->polls > f->active_after) {
        snprintf(d->status, sizeof d->status, "active");
        if (a) {
            snprintf(a->status, sizeof a->status, "completed");
            a->completed = (long long)time(NULL);
        }
    }
}

/* A power action completes after power_after looks at it or its droplet,
 * and only then does the droplet's status change (DO changes it when the
 * hypervisor is done; a client sees the action in progress meanwhile). A
 * shutdown the droplet ignores (shutdown_ignored) still completes: DO
 * "guarantees that the command is issued, not that it succeeds"
 * (dropletActions_post, digitalocean/api-v2 issue 79). */
static void advance_power(struct fake_do *f, struct droplet *d)
{
    struct action *a = d->power ? find_action(f, d->power) : NULL;
    if (!a || ++a->looks <= f->power_after)
        return;
    d->power = 0;
    a->completed = (long long)time(NULL);
    if (a->will_error) {
        snprintf(a->status, sizeof a->status, "errored");
        return;
    }
    snprintf(a->status, sizeof a->status, "completed");
    if (strcmp(a->type, "power_on") == 0)
        snprintf(d->status, sizeof d->status, "active");
    else if (strcmp(a->type, "power_off") == 0 || !f->shutdown_ignored)
        snprintf(d->status, sizeof d->status, "off");
}

/* ---------------------------------------------------------------- JSON -- */

static struct json_object *address(const char *ip, const char *mask, const char *gw,
                                   const char *type)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ip_address", json_object_new_string(ip));
    json_object_object_add(o, "netmask", json_object_new_string(mask));
    json_object_object_add(o, "gateway", gw ? json_object_new_string(gw) : NULL);
    json_object_object_add(o, "type", json_object_new_string(type));
    return o;
}

/* Addresses come once the droplet is up, as on DO: a "new" droplet has none. */
static struct json_object *networks_json(const struct droplet *d)
{
    struct json_object *n = json_object_new_object(), *v4 = json_object_new_array();
    if (strcmp(d->status, "new") != 0) {
        char ip[32];
        if (d->private_net) {
            snprintf(ip, sizeof ip, "10.10.%lld.%lld", (d->id >> 8) & 255, d->id & 255);
            json_object_array_add(v4, address(ip, "255.255.0.0", NULL, "private"));
        }
        snprintf(ip, sizeof ip, "203.0.113.%lld", d->id % 254 + 1);
        json_object_array_add(v4, address(ip, "255.255.255.0", "203.0.113.254", "public"));
    }
    json_object_object_add(n, "v4", v4);
    json_object_object_add(n, "v6", json_object_new_array());
    return n;
}

static struct json_object *droplet_json(const struct droplet *d)
{
    struct json_object *o = json_object_new_object(), *tags = json_object_new_array();
    struct json_object *image = json_object_new_object(), *size = json_object_new_object();
    struct json_object *region = json_object_new_object();
    char ts[32];

    iso_time(d->created, ts, sizeof ts);
    json_object_object_add(o, "id", json_object_new_int64(d->id));
    json_object_object_add(o, "name", json_object_new_string(d->name));
    json_object_object_add(o, "memory", json_object_new_int(1024));
    json_object_object_add(o, "vcpus", json_object_new_int(1));
    json_object_object_add(o, "disk", json_object_new_int(25));
    json_object_object_add(o, "locked", json_object_new_boolean(0));
    json_object_object_add(o, "status", json_object_new_string(d->status));
    json_object_object_add(o, "kernel", NULL);
    json_object_object_add(o, "created_at", json_object_new_string(ts));
    json_object_object_add(o, "features", json_object_new_array());
    json_object_object_add(o, "backup_ids", json_object_new_array());
    json_object_object_add(o, "snapshot_ids", json_object_new_array());
    json_object_object_add(o, "volume_ids", json_object_new_array());

    json_object_object_add(image, "id", json_object_new_int64(d->image_id ? d->image_id
                                                                          : 100000001));
    json_object_object_add(image, "slug",
                           d->image_slug ? json_object_new_string(d->image_slug) : NULL);
    json_object_object_add(image, "public", json_object_new_boolean(d->image_slug != NULL));
    json_object_object_add(o, "image", image);

    json_object_object_add(size, "slug", json_object_new_string(d->size ? d->size
                                                                       : "s-1vcpu-1gb"));
    json_object_object_add(o, "size", size);
    json_object_object_add(o, "size_slug",
                           json_object_new_string(d->size ? d->size : "s-1vcpu-1gb"));
    json_object_object_add(o, "networks", networks_json(d));

    json_object_object_add(region, "slug", json_object_new_string(d->region ? d->region
                                                                           : "nyc3"));
    json_object_object_add(region, "available", json_object_new_boolean(1));
    json_object_object_add(o, "region", region);

    for (size_t i = 0; i < d->ntags; i++)
        json_object_array_add(tags, json_object_new_string(d->tags[i]));
    json_object_object_add(o, "tags", tags);
    json_object_object_add(o, "vpc_uuid",
                           json_object_new_string(d->vpc_uuid ? d->vpc_uuid
                                                              : "5a4981aa-9653-4bd1-bef5-"
                                                                "d6bff52042e4"));
    return o;
}

static struct json_object *action_json(const struct action *a)
{
    struct json_object *o = json_object_new_object(), *region = json_object_new_object();
    char ts[32];

    json_object_object_add(o, "id", json_object_new_int64(a->id));
    json_object_object_add(o, "status", json_object_new_string(a->status));
    json_object_object_add(o, "type", json_object_new_string(a->type));
    iso_time(a->started, ts, sizeof ts);
    json_object_object_add(o, "started_at", json_object_new_string(ts));
    if (a->completed) {
        iso_time(a->completed, ts, sizeof ts);
        json_object_object_add(o, "completed_at", json_object_new_string(ts));
    } else {
        json_object_object_add(o, "completed_at", NULL);
    }
    json_object_object_add(o, "resource_id", json_object_new_int64(a->droplet));
    json_object_object_add(o, "resource_type", json_object_new_string("droplet"));
    json_object_object_add(region, "slug", json_object_new_string(a->region));
    json_object_object_add(o, "region", region);
    json_object_object_add(o, "region_slug", json_object_new_string(a->region));
    return o;
}

static struct json_object *wrap(const char *key, struct json_object *v)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, key, v);
    return o;
}

/* ------------------------------------------------------------ validation -- */

static const char *const regions[] = {"nyc1", "nyc3", "sfo2", "sfo3", "ams3", "fra1",
                                      "lon1", "sgp1", "tor1", "blr1", "syd1", NULL};
static const char *const sizes[] = {"s-1vcpu-512mb-10gb", "s-1vcpu-1gb", "s-1vcpu-2gb",
                                    "s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb",
                                    "c-2", "g-2vcpu-8gb", NULL};
static const char *const images[] = {"ubuntu-22-04-x64", "ubuntu-24-04-x64",
                                     "debian-12-x64", "rockylinux-9-x64", NULL};
static const long long image_ids[] = {123456789, 987654321, 0}; /* "custom images" */

static int hostname_ok(const char *s)
{
    if (!*s || strlen(s) > 255)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

static int tag_ok(const char *s)
{
    if (!*s || strlen(s) > 255)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == ':' || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* An MD5 fingerprint as DO shows them: 16 hex pairs joined by colons. */
static int fingerprint_ok(const char *s)
{
    if (strlen(s) != 47)
        return 0;
    for (int i = 0; i < 47; i++) {
        char c = s[i];
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if (i % 3 == 2 ? c != ':' : !hex)
            return 0;
    }
    return 1;
}

static const char *opt_str(struct json_object *b, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(b, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* Is the string at key one of list? */
static int field_in(struct json_object *b, const char *key, const char *const *list)
{
    const char *v = opt_str(b, key);
    return v && in_list(v, list);
}

/* A known slug, or a known image id given as a number. */
static int image_ok(struct json_object *b)
{
    struct json_object *v;
    if (!json_object_object_get_ex(b, "image", &v))
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return field_in(b, "image", images);
    for (size_t i = 0; image_ids[i]; i++)
        if (image_ids[i] == json_object_get_int64(v))
            return 1;
    return 0;
}

/* The checks DO makes on a create body; 0 if it is acceptable, else the
 * reply is set. Unknown fields are ignored, as the API does. */
static int check_create(struct fake_do *f, struct json_object *b, struct reply *r)
{
    struct json_object *v;

    if (!json_object_is_type(b, json_type_object)) {
        f->stats.rejected++;
        api_error(f, r, 400, "bad_request", "request body must be a JSON object");
        return -1;
    }
    if (!opt_str(b, "name"))
        return unprocessable(f, r, "Name is required");
    if (!hostname_ok(opt_str(b, "name")))
        return unprocessable(f, r, "Only valid hostname characters are allowed. "
                                   "(a-z, A-Z, 0-9, . and -)");
    if (!field_in(b, "region", regions))
        return unprocessable(f, r, "You specified an invalid region for Droplet creation.");
    if (!field_in(b, "size", sizes))
        return unprocessable(f, r, "You specified an invalid size for Droplet creation.");
    if (!image_ok(b))
        return unprocessable(f, r, "You specified an invalid image for Droplet creation.");
    if (json_object_object_get_ex(b, "ssh_keys", &v) && v) {
        if (!json_object_is_type(v, json_type_array))
            return unprocessable(f, r, "ssh_keys must be an array");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *k = json_object_array_get_idx(v, i);
            int ok = json_object_is_type(k, json_type_int) ? json_object_get_int64(k) > 0
                     : json_object_is_type(k, json_type_string)
                         ? fingerprint_ok(json_object_get_string(k))
                         : 0;
            if (!ok)
                return unprocessable(f, r, "ssh_keys must be SSH key ids or fingerprints");
        }
    }
    if (json_object_object_get_ex(b, "tags", &v) && v) {
        if (!json_object_is_type(v, json_type_array))
            return unprocessable(f, r, "tags must be an array");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *t = json_object_array_get_idx(v, i);
            if (!json_object_is_type(t, json_type_string) ||
                !tag_ok(json_object_get_string(t)))
                return unprocessable(f, r, "tag names may only contain letters, numbers, "
                                           "colons, dashes, and underscores");
        }
    }
    if (json_object_object_get_ex(b, "user_data", &v) && v &&
        (!json_object_is_type(v, json_type_string) ||
         json_object_get_string_len(v) > USER_DATA_MAX))
        return unprocessable(f, r, "user_data must be a string of at most 64 KiB");
    if (json_object_object_get_ex(b, "vpc_uuid", &v) && v &&
        !json_object_is_type(v, json_type_string))
        return unprocessable(f, r, "vpc_uuid must be a string");
    return 0;
}

/* ------------------------------------------------------------ endpoints -- */

static struct droplet *store_create(struct fake_do *f, struct json_object *b)
{
    struct json_object *v = NULL, *img = NULL;
    struct droplet *d = new_droplet(f, opt_str(b, "name"));
    if (!d)
        return NULL;
    d->size = fake_httpd_dup(opt_str(b, "size"));
    d->region = fake_httpd_dup(opt_str(b, "region"));
    d->vpc_uuid = fake_httpd_dup(opt_str(b, "vpc_uuid"));
    d->user_data = fake_httpd_dup(opt_str(b, "user_data"));
    json_object_object_get_ex(b, "image", &img);
    if (json_object_is_type(img, json_type_int))
        d->image_id = json_object_get_int64(img);
    else
        d->image_slug = fake_httpd_dup(json_object_get_string(img));
    if (json_object_object_get_ex(b, "tags", &v) && json_object_is_type(v, json_type_array))
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!has_tag(d, json_object_get_string(json_object_array_get_idx(v, i))))
                add_tag(d, json_object_get_string(json_object_array_get_idx(v, i)));
    return d;
}

static void do_create(struct fake_do *f, const struct fake_httpd_body *up, struct reply *r)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *b =
        tok ? json_tokener_parse_ex(tok, up->buf ? up->buf : "", (int)up->len) : NULL;
    int bad_json = !tok || json_tokener_get_error(tok) != json_tokener_success;
    json_tokener_free(tok);
    if (bad_json || !b) {
        json_object_put(b);
        f->stats.rejected++;
        api_error(f, r, 400, "bad_request", "unexpected end of JSON input");
        return;
    }
    if (check_create(f, b, r) < 0) {
        json_object_put(b);
        return;
    }
    struct droplet *d = store_create(f, b);
    json_object_put(b);
    struct action *a = d ? new_action(f, d) : NULL;
    if (a)
        d->action = a->id;
    if (!a) {
        api_error(f, r, 500, "server_error", "out of memory");
        return;
    }
    if (f->fail_creates > 0) {
        f->fail_creates--;
        snprintf(a->status, sizeof a->status, "errored");
        a->completed = (long long)time(NULL);
    }

    char href[256];
    snprintf(href, sizeof href, "%s/actions/%lld",
             f->link_base ? f->link_base : fake_httpd_url(f->httpd),
             a->id);
    struct json_object *link = json_object_new_object(), *links = json_object_new_object();
    struct json_object *actions = json_object_new_array();
    struct json_object *o = wrap("droplet", droplet_json(d));
    json_object_object_add(link, "id", json_object_new_int64(a->id));
    json_object_object_add(link, "rel", json_object_new_string("create"));
    json_object_object_add(link, "href", json_object_new_string(href));
    json_object_array_add(actions, link);
    json_object_object_add(links, "actions", actions);
    json_object_object_add(o, "links", links);
    r->status = 202;
    r->body = fake_httpd_json(o);
}

static void do_get(struct fake_do *f, long long id, struct reply *r)
{
    struct droplet *d = id > 0 ? find_droplet(f, id) : NULL;
    if (d && d->deleted && d->gone_in-- <= 0) {
        remove_droplet(f, d);
        d = NULL;
    }
    if (!d) {
        not_found(f, r);
        return;
    }
    if (!d->deleted) {
        advance(f, d);
        advance_power(f, d);
    }
    r->status = 200;
    r->body = fake_httpd_json(wrap("droplet", droplet_json(d)));
}

static void do_delete(struct fake_do *f, long long id, struct reply *r)
{
    struct droplet *d = id > 0 ? find_droplet(f, id) : NULL;
    if (!d) {
        not_found(f, r);
        return;
    }
    if (!d->deleted) {
        d->deleted = 1;
        d->gone_in = f->gone_after;
    }
    if (d->gone_in <= 0)
        remove_droplet(f, d);
    r->status = 204;
}

/* GET /v2/actions/{id}, or /v2/droplets/{droplet}/actions/{id} when
 * droplet > 0: 404 for an action of another droplet ("Retrieve a Droplet
 * Action", dropletActions_get). Looking at a power action moves it on. */
static void do_action(struct fake_do *f, long long droplet, long long id, struct reply *r)
{
    struct action *a = id > 0 ? find_action(f, id) : NULL;
    if (!a || (droplet && a->droplet != droplet)) {
        not_found(f, r);
        return;
    }
    struct droplet *d = find_droplet(f, a->droplet);
    if (d && d->power == a->id) {
        advance_power(f, d);
        a = find_action(f, id);
    }
    r->status = 200;
    r->body = fake_httpd_json(wrap("action", action_json(a)));
}

/* POST /v2/droplets/{id}/actions (dropletActions_post,
 * https://docs.digitalocean.com/reference/api/api-reference/
 * #operation/dropletActions_post): body {"type": ...}; 201 {"action": {id,
 * status "in-progress", type, started_at, completed_at null, resource_id,
 * resource_type "droplet", region, region_slug}}. Refused as DO refuses:
 * 404 for no such droplet; 422 unprocessable_entity while another event is
 * pending ("Droplet already has a pending event.", as hashicorp/packer
 * issues 1786 and 1814 quote it; a droplet still "new" has its create
 * pending), for a power_off or shutdown of a droplet already off and a
 * power_on of one already on, and for a type the API does not know. Only
 * the power types are carried out here; the rest of DO's list (reboot,
 * resize, snapshot, ...) is refused 422 as not implemented by the fake. */
static void do_power(struct fake_do *f, long long id, const struct fake_httpd_body *up,
                     struct reply *r)
{
    static const char *const power[] = {"shutdown", "power_off", "power_on", NULL};
    struct droplet *d = id > 0 ? find_droplet(f, id) : NULL;
    if (!d || d->deleted) {
        not_found(f, r);
        return;
    }
    struct json_object *b = json_tokener_parse(up->buf ? up->buf : "");
    const char *type = json_object_is_type(b, json_type_object) ? opt_str(b, "type") : NULL;
    char t[16] = "";
    if (type)
        snprintf(t, sizeof t, "%s", type);
    json_object_put(b);
    if (!b) {
        f->stats.rejected++;
        api_error(f, r, 400, "bad_request", "unexpected end of JSON input");
        return;
    }
    if (!type || !in_list(t, power)) {
        unprocessable(f, r, type ? "fake_digitalocean: this action type is not implemented"
                                 : "Type is not a valid action type.");
        return;
    }
    if (d->power || strcmp(d->status, "new") == 0) {
        unprocessable(f, r, "Droplet already has a pending event.");
        return;
    }
    int on = strcmp(t, "power_on") == 0;
    if (!on && strcmp(d->status, "off") == 0) {
        unprocessable(f, r, "Droplet is already powered off.");
        return;
    }
    if (on && strcmp(d->status, "active") == 0) {
        unprocessable(f, r, "Droplet is already powered on.");
        return;
    }
    if (strcmp(d->status, "active") != 0 && strcmp(d->status, "off") != 0) {
        unprocessable(f, r, "Droplet is not in a state that allows this action.");
        return;
    }
    struct action *a = new_action(f, d);
    if (!a) {
        api_error(f, r, 500, "server_error", "out of memory");
        return;
    }
    snprintf(a->type, sizeof a->type, "%s", t);
    if (f->fail_power > 0) {
        f->fail_power--;
        a->will_error = 1;
    }
    d->power = a->id;
    r->status = 201;
    r->body = fake_httpd_json(wrap("action", action_json(a)));
}

static long long query_num(struct MHD_Connection *c, const char *name, long long fallback)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    long long v = parse_id(s);
    return v > 0 ? v : fallback;
}

static void add_link(struct fake_do *f, struct json_object *pages, const char *rel,
                     long long page, long long per_page, const char *tag)
{
    char *enc = tag ? fake_httpd_urlencode(tag) : NULL, *url = NULL;
    if (asprintf(&url, "%s/droplets?page=%lld&per_page=%lld%s%s",
                 f->link_base ? f->link_base : fake_httpd_url(f->httpd), page, per_page,
                 enc ? "&tag_name=" : "", enc ? enc : "") >= 0) {
        json_object_object_add(pages, rel, json_object_new_string(url));
        free(url);
    }
    free(enc);
}

static void do_list(struct fake_do *f, struct MHD_Connection *c, struct reply *r)
{
    const char *tag = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tag_name");
    long long per_page = query_num(c, "per_page", DEFAULT_PER_PAGE);
    long long page = query_num(c, "page", 1);
    if (page > 1000000000) /* far past the end; keeps the offset from overflowing */
        page = 1000000000;
    if (per_page > f->max_per_page)
        per_page = f->max_per_page;

    size_t total = 0;
    for (size_t i = 0; i < f->ndrops; i++)
        if (!tag || has_tag(&f->drops[i], tag))
            total++;

    struct json_object *arr = json_object_new_array();
    size_t first = (size_t)((page - 1) * per_page), seen = 0;
    for (size_t i = 0; i < f->ndrops && seen < first + (size_t)per_page; i++) {
        if (tag && !has_tag(&f->drops[i], tag))
            continue;
        if (seen++ >= first)
            json_object_array_add(arr, droplet_json(&f->drops[i]));
    }

    long long last = total ? ((long long)total + per_page - 1) / per_page : 1;
    struct json_object *pages = json_object_new_object(), *links = json_object_new_object();
    if (page > 1) {
        add_link(f, pages, "first", 1, per_page, tag);
        add_link(f, pages, "prev", page - 1, per_page, tag);
    }
    if (page < last) {
        add_link(f, pages, "next", page + 1, per_page, tag);
        add_link(f, pages, "last", last, per_page, tag);
    }
    json_object_object_add(links, "pages", pages);
    struct json_object *meta = json_object_new_object(), *o = wrap("droplets", arr);
    json_object_object_add(meta, "total", json_object_new_int64((long long)total));
    json_object_object_add(o, "links", links);
    json_object_object_add(o, "meta", meta);
    r->status = 200;
    r->body = fake_httpd_json(o);
}

/* --------------------------------------------------------------- routing -- */

/* Which endpoint a request is for, and the id in its path if any. */
static enum endpoint classify(const char *method, const char *path, long long *id,
                              long long *aid)
{
    static const char droplets[] = API_PREFIX "/droplets", actions[] = API_PREFIX "/actions";
    int get = strcmp(method, "GET") == 0;

    *id = 0;
    *aid = 0;
    if (strcmp(path, droplets) == 0 || strcmp(path, API_PREFIX "/droplets/") == 0)
        return get ? EP_LIST : strcmp(method, "POST") == 0 ? EP_CREATE : EP_BAD_METHOD;
    if (strncmp(path, droplets, sizeof droplets - 1) == 0 &&
        path[sizeof droplets - 1] == '/' && strstr(path + sizeof droplets, "/actions")) {
        /* /droplets/{id}/actions and /droplets/{id}/actions/{action} */
        char num[24];
        const char *rest = path + sizeof droplets;
        size_t n = strspn(rest, "0123456789");
        snprintf(num, sizeof num, "%.*s", (int)(n < 20 ? n : 20), rest);
        *id = parse_id(num);
        rest += n;
        if (strcmp(rest, "/actions") == 0)
            return strcmp(method, "POST") == 0 ? EP_POWER : EP_BAD_METHOD;
        if (strncmp(rest, "/actions/", 9) == 0) {
            *aid = parse_id(rest + 9);
            return get ? EP_DROPLET_ACTION : EP_BAD_METHOD;
        }
        return EP_NONE;
    }
    if (strncmp(path, droplets, sizeof droplets - 1) == 0 &&
        path[sizeof droplets - 1] == '/') {
        *id = parse_id(path + sizeof droplets);
        return get ? EP_GET : strcmp(method, "DELETE") == 0 ? EP_DELETE : EP_BAD_METHOD;
    }
    if (strncmp(path, actions, sizeof actions - 1) == 0 && path[sizeof actions - 1] == '/') {
        *id = parse_id(path + sizeof actions);
        return get ? EP_ACTION : EP_BAD_METHOD;
    }
    return EP_NONE;
}

static void count(struct fake_do *f, enum endpoint ep)
{
    switch (ep) {
    case EP_CREATE: f->stats.creates++; break;
    case EP_GET: f->stats.gets++; break;
    case EP_DELETE: f->stats.deletes++; break;
    case EP_LIST: f->stats.lists++; break;
    case EP_ACTION:
    case EP_DROPLET_ACTION: f->stats.actions++; break;
    case EP_POWER: f->stats.power++; break;
    default: break;
    }
}

static int authorised(struct fake_do *f, struct MHD_Connection *c, struct reply *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    static const char bearer[] = "Bearer ";

    if (h && f->token && strncmp(h, bearer, sizeof bearer - 1) == 0 &&
        strcmp(h + sizeof bearer - 1, f->token) == 0)
        return 1;
    f->stats.unauthorized++;
    if (f->echo_token && h)
        api_error(f, r, 401, "unauthorized", "Unable to authenticate you (%s).", h);
    else
        api_error(f, r, 401, "unauthorized", "Unable to authenticate you.");
    return 0;
}

/* An error reply as DO's edge or API gives it for an injected status. */
static void status_error(struct fake_do *f, struct reply *r, int status)
{
    const char *id = "error", *msg = "Injected fault";
    switch (status) {
    case 401: id = "unauthorized", msg = "Unable to authenticate you."; break;
    case 403:
        id = "forbidden", msg = "You do not have access for the attempted action.";
        break;
    case 404:
        id = "not_found", msg = "The resource you were accessing could not be found.";
        break;
    case 429: id = "too_many_requests", msg = "API Rate limit exceeded."; break;
    case 500: id = "server_error", msg = "Unexpected server-side error"; break;
    case 503: id = "service_unavailable", msg = "Service Unavailable"; break;
    default: break;
    }
    f->stats.faults++;
    api_error(f, r, (unsigned)status, id, "%s", msg);
}

/* After the endpoint ran: the ambiguous failure, or a cut body. */
static void spoil(struct fake_do *f, struct reply *r)
{
    if (f->after_n > 0) {
        f->after_n--;
        status_error(f, r, f->after_status);
    } else if (f->malformed_n > 0) {
        f->malformed_n--;
        f->stats.faults++;
        if (r->body && *r->body)
            r->body[strlen(r->body) / 2] = '\0';
        else {
            free(r->body);
            r->body = strdup("{\"droplet\":");
        }
    }
}

static void route(struct fake_do *f, struct MHD_Connection *c, const char *method,
                  const char *path, const struct fake_httpd_body *up, struct reply *r)
{
    long long id, aid;
    enum endpoint ep = classify(method, path, &id, &aid);

    count(f, ep);
    if (f->fail_n > 0) {
        f->fail_n--;
        status_error(f, r, f->fail_status);
        r->retry_after = f->fail_retry_after;
        return;
    }
    if (!authorised(f, c, r))
        return;
    switch (ep) {
    case EP_CREATE: do_create(f, up, r); break;
    case EP_GET: do_get(f, id, r); break;
    case EP_DELETE: do_delete(f, id, r); break;
    case EP_LIST: do_list(f, c, r); break;
    case EP_ACTION: do_action(f, 0, id, r); break;
    case EP_DROPLET_ACTION: do_action(f, id, aid, r); break;
    case EP_POWER: do_power(f, id, up, r); break;
    case EP_BAD_METHOD:
        f->stats.rejected++;
        api_error(f, r, 405, "method_not_allowed", "Method Not Allowed");
        return;
    case EP_NONE: not_found(f, r); return;
    }
    spoil(f, r);
}

/* ------------------------------------------------------------ recording -- */

static void record(struct fake_do *f, struct MHD_Connection *c, const char *method,
                   const char *path, const struct fake_httpd_body *up)
{
    f->stats.requests++;
    f->next_request++;
    fake_httpd_last_set(&f->last, c, method, path, up);
    if (strcmp(method, "POST") == 0 && strcmp(path, API_PREFIX "/droplets") == 0) {
        free(f->last_create_body);
        f->last_create_body = fake_httpd_dup(f->last.body);
    } else if (strcmp(method, "POST") == 0 && strstr(path, "/actions")) {
        free(f->last_power_body);
        f->last_power_body = fake_httpd_dup(f->last.body);
    }
}

/* ------------------------------------------------------------- plumbing -- */

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r)
{
    struct MHD_Response *resp =
        fake_httpd_response(r->body, "application/json; charset=utf-8", r->retry_after);
    if (!resp)
        return MHD_NO;
    fake_httpd_num_header(resp, "ratelimit-limit", RATE_LIMIT);
    fake_httpd_num_header(resp, "ratelimit-remaining", r->remaining);
    fake_httpd_num_header(resp, "ratelimit-reset", r->reset);
    return fake_httpd_reply(c, r->status, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *method,
                                  const char *url, const struct fake_httpd_body *up)
{
    struct fake_do *f = cls;
    struct reply r = {0, NULL, -1, 0, 0};
    pthread_mutex_lock(&f->lock);
    record(f, c, method, url, up);
    route(f, c, method, url, up, &r);
    r.remaining = f->stats.requests < RATE_LIMIT ? RATE_LIMIT - f->stats.requests : 0;
    r.reset = (long long)time(NULL) + 60;
    long delay = f->delay_ms;
    pthread_mutex_unlock(&f->lock);
    if (delay > 0)
        fake_httpd_sleep_ms(f->httpd, delay);
    return send_reply(c, &r);
}

struct fake_do *fake_do_start(const char *token)
{
    struct fake_do *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->token = fake_httpd_dup(token);
    f->next_id = 300000001; /* droplet ids are large integers on DO */
    f->next_action = 2000000001;
    f->active_after = 2;
    f->power_after = 2;
    f->gone_after = 1;
    f->private_net = 1;
    f->max_per_page = MAX_PER_PAGE;

    if (!(f->httpd = fake_httpd_start(on_request, f, API_PREFIX))) {
        fake_do_stop(f);
        return NULL;
    }
    return f;
}

void fake_do_stop(struct fake_do *f)
{
    if (!f)
        return;
    fake_httpd_stop(f->httpd);
    for (size_t i = 0; i < f->ndrops; i++)
        droplet_free(&f->drops[i]);
    free(f->drops);
    free(f->acts);
    free(f->token);
    free(f->link_base);
    fake_httpd_last_free(&f->last);
    free(f->last_create_body);
    free(f->last_power_body);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *fake_do_url(const struct fake_do *f) { return fake_httpd_url(f->httpd); }

/* ---------------------------------------------------------------- knobs -- */

void fake_do_set_active_after(struct fake_do *f, int polls)
{
    FAKE_LOCKED(f, f->active_after = polls < 0 ? 0 : polls);
}

void fake_do_set_gone_after(struct fake_do *f, int polls)
{
    FAKE_LOCKED(f, f->gone_after = polls < 0 ? 0 : polls);
}

void fake_do_fail_create_next(struct fake_do *f, int n) { FAKE_LOCKED(f, f->fail_creates = n); }

void fake_do_set_power_after(struct fake_do *f, int looks)
{
    FAKE_LOCKED(f, f->power_after = looks < 0 ? 0 : looks);
}

void fake_do_fail_power_next(struct fake_do *f, int n) { FAKE_LOCKED(f, f->fail_power = n); }

void fake_do_set_shutdown_ignored(struct fake_do *f, int on)
{
    FAKE_LOCKED(f, f->shutdown_ignored = on);
}

void fake_do_set_private_network(struct fake_do *f, int on)
{
    FAKE_LOCKED(f, f->private_net = on);
}

void fake_do_set_max_per_page(struct fake_do *f, int n)
{
    FAKE_LOCKED(f, f->max_per_page = n > 0 ? n : MAX_PER_PAGE);
}

void fake_do_set_link_base(struct fake_do *f, const char *base)
{
    char *b = fake_httpd_dup(base);
    FAKE_LOCKED(f, (free(f->link_base), f->link_base = b));
}

void fake_do_set_echo_token(struct fake_do *f, int on) { FAKE_LOCKED(f, f->echo_token = on); }

void fake_do_fail_next(struct fake_do *f, int n, int status, long retry_after_s)
{
    FAKE_LOCKED(f, (f->fail_n = n, f->fail_status = status,
                    f->fail_retry_after = retry_after_s));
}

void fake_do_fail_next_after(struct fake_do *f, int n, int status)
{
    FAKE_LOCKED(f, (f->after_n = n, f->after_status = status));
}

void fake_do_malformed_next(struct fake_do *f, int n) { FAKE_LOCKED(f, f->malformed_n = n); }

void fake_do_set_delay_ms(struct fake_do *f, long ms) { FAKE_LOCKED(f, f->delay_ms = ms); }

long long fake_do_add_droplet(struct fake_do *f, const char *name, const char *const *tags,
                              const char *status)
{
    long long id = -1;
    pthread_mutex_lock(&f->lock);
    struct droplet *d = new_droplet(f, name);
    if (d) {
        snprintf(d->status, sizeof d->status, "%s", status ? status : "active");
        for (size_t i = 0; tags && tags[i]; i++)
            add_tag(d, tags[i]);
        id = d->id;
    }
    pthread_mutex_unlock(&f->lock);
    return id;
}

int fake_do_set_status(struct fake_do *f, long long id, const char *status)
{
    pthread_mutex_lock(&f->lock);
    struct droplet *d = find_droplet(f, id);
    if (d)
        snprintf(d->status, sizeof d->status, "%s", status);
    pthread_mutex_unlock(&f->lock);
    return d ? 0 : -1;
}

char *fake_do_droplet_json(struct fake_do *f, long long id)
{
    char *s = NULL;
    pthread_mutex_lock(&f->lock);
    struct droplet *d = find_droplet(f, id);
    if (d) {
        struct json_object *o = droplet_json(d);
        json_object_object_add(o, "user_data",
                               d->user_data ? json_object_new_string(d->user_data) : NULL);
        s = fake_httpd_json(o);
    }
    pthread_mutex_unlock(&f->lock);
    return s;
}

long long fake_do_find(struct fake_do *f, const char *name)
{
    long long id = -1;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->ndrops && id < 0; i++)
        if (strcmp(f->drops[i].name, name) == 0)
            id = f->drops[i].id;
    pthread_mutex_unlock(&f->lock);
    return id;
}

size_t fake_do_droplet_count(struct fake_do *f)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->ndrops; i++)
        n += !f->drops[i].deleted;
    pthread_mutex_unlock(&f->lock);
    return n;
}

void fake_do_stats(struct fake_do *f, struct fake_do_stats *out)
{
    FAKE_LOCKED(f, *out = f->stats);
}

void fake_do_reset_stats(struct fake_do *f)
{
    FAKE_LOCKED(f, memset(&f->stats, 0, sizeof f->stats));
}

char *fake_do_last_create_body(struct fake_do *f)
{
    return fake_httpd_locked_dup(&f->lock, &f->last_create_body);
}

char *fake_do_last_power_body(struct fake_do *f)
{
    return fake_httpd_locked_dup(&f->lock, &f->last_power_body);
}

FAKE_HTTPD_LAST_KNOBS(fake_do, struct fake_do)
