/* compute_digitalocean.c - DigitalOcean droplets as machines (API v2).
 *
 * A node is one droplet, named after the node and tagged "autoscale-<group>".
 * The tag is what find() and list() ask DO for (the filter runs server-side),
 * and how a listed droplet tells which group it belongs to. Group names are
 * DNS labels, so the tag fits DO's rule (letters, digits, ':', '-', '_').
 *
 * Requests go through http.c, which retries GET and DELETE on 429 (with
 * Retry-After), 5xx and connection errors, and never retries a POST: a
 * create that failed ambiguously may have made a droplet, and the caller
 * looks for it with find() before asking again.
 *
 * The session remembers, for the droplets it created or deleted, the create
 * action's id (DO reports a failed build there, not on the droplet, which
 * just stays "new") and that a delete was asked, so get() can say ERROR or
 * DELETING. Another process sees neither; a later get() still sees the
 * droplet's own status, and 404 once it is gone.
 *
 * The token goes only into the Authorization header and the secret registry;
 * error messages carry DO's own words, its request_id, and never the token
 * (http_error_text() and as_fail() scrub registered secrets, and DO does not
 * echo it anyway). */
#include "compute_int.h"
#include "digitalocean.h"

#include "clock.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "settings.h"
#include "utf8.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DO_DEFAULT_REGION "nyc3"
/* What a spec without flavor/image gets: the smallest general size and the
 * current Ubuntu LTS, as DO's own control panel suggests. */
#define DO_DEFAULT_SIZE "s-1vcpu-1gb"
#define DO_DEFAULT_IMAGE "ubuntu-24-04-x64"
#define DO_TAG_PREFIX "autoscale-"

/* What this session knows about a droplet beyond what DO shows. */
struct tracked {
    char id[32];
    long long action; /* its create action while not known completed, else 0 */
    int errored;      /* that action errored */
    int deleting;     /* we asked for its deletion */
};

struct compute_be {
    struct http_api api;
    char *region;
    int want_public; /* address_type=public */
    struct tracked *tracked;
    size_t ntracked, cap;
};

/* call() flags */
#define CALL_ABSENT_OK 0x1 /* a 404 "not_found" is an answer, not an error */
#define CALL_CREATE 0x2    /* a 404 means something the spec names is missing */

/* -------------------------------------------------------------- settings -- */

/* Region slugs are short lowercase words with digits ("nyc3", "sfo3"). */
static int slug_ok(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");
    return n > 0 && n <= 32 && s[n] == '\0';
}

static void do_close(struct compute_be *c)
{
    if (!c)
        return;
    http_api_close(&c->api);
    free(c->region);
    free(c->tracked);
    free(c);
}

static struct compute_be *do_open(struct json_object *settings, struct as_error *err)
{
    const char *token = settings_str(settings, "token");
    if (digitalocean_token_check(token, "digitalocean_token: an API token with read and "
                                        "write scope", err) < 0)
        return NULL;
    const char *addr = settings_str(settings, "address_type");
    if (!addr)
        addr = "private";
    if (strcmp(addr, "private") != 0 && strcmp(addr, "public") != 0) {
        digitalocean_bad_setting(err, "address_type", "must be private or public");
        return NULL;
    }
    const char *region = settings_str(settings, "region");
    if (!region)
        region = DO_DEFAULT_REGION;
    if (!slug_ok(region)) {
        digitalocean_bad_setting(err, "region", "must be a region slug such as nyc3");
        return NULL;
    }

    struct compute_be *c = xcalloc(1, sizeof *c);
    c->want_public = strcmp(addr, "public") == 0;
    if (digitalocean_api_open(&c->api, token, settings_str(settings, "api_url"),
                              settings_str(settings, "ca_bundle"), err) < 0) {
        do_close(c);
        return NULL;
    }
    c->region = xstrdup(region);
    return c;
}

/* ------------------------------------------------------------- requests -- */

static int bad_reply(struct as_error *err, const char *method, const char *label,
                     const char *why)
{
    return as_fail(err, AS_EXIT_FAILURE, "provider_bad_reply", "digitalocean: %s %s: %s",
                   method, label, why);
}

/* The error for a reply DO refused with, in DO's own words:
 * "unprocessable_entity: You specified an invalid size ..." plus its
 * request_id, which is what DO's support asks for. A 404 on a create means
 * something the spec names (size, image, region) is missing: rejected, as a
 * 422 is; elsewhere it is no proof of anything (digitalocean_not_found()).
 * GET and DELETE reach a 429 only after http.c's retries. */
static int reply_error(const char *method, const char *label, const struct http_response *r,
                       struct json_object *doc, int creating, struct as_error *err)
{
    const struct digitalocean_codes codes = {
        .unauthorized = "provider_unauthorized",
        .forbidden = "provider_forbidden",
        .not_found = creating ? "provider_rejected" : NULL,
        .rejected = "provider_rejected",
        .over_limit = "provider_over_limit",
        .other = "provider_error",
    };
    char *text = http_error_text(r);
    digitalocean_refusal(err, &codes, r->status, doc, text, NULL, "%s %s", method, label);
    free(text);
    return -1;
}

/* One request to base+path; `label` names it in messages (no query).
 * 0 with *status and *out (the parsed reply, NULL if empty) on a 2xx, or on
 * DO's 404 with CALL_ABSENT_OK (*out NULL); -1 with err set otherwise. */
static int call(struct compute_be *c, const char *method, const char *path, const char *label,
                struct json_object *body, int flags, long *status, struct json_object **out,
                struct as_error *err)
{
    const char *headers[] = {c->api.auth, NULL};
    struct http_response resp;
    struct json_object *doc = NULL;
    struct as_error local;

    if (!err) /* the code of a failure is read below */
        err = &local;
    *out = NULL;
    *status = 0;
    char *url = xasprintf("%s%s", c->api.base, path);
    int rc = http_json(c->api.http, method, url, headers, body, &resp, &doc, err);
    free(url);
    if (rc < 0) {
        if (as_error_is(err, "http_bad_json")) {
            char why[64];
            snprintf(why, sizeof why, "HTTP %ld reply is not valid JSON", resp.status);
            return bad_reply(err, method, label, why);
        }
        as_error_prefix(err, "digitalocean"); /* http.c named method and URL */
        return -1;
    }
    *status = resp.status;
    if (resp.status >= 200 && resp.status <= 299) {
        http_response_clear(&resp);
        *out = doc;
        return 0;
    }
    if ((flags & CALL_ABSENT_OK) && digitalocean_not_found(resp.status, doc)) {
        http_response_clear(&resp);
        json_object_put(doc);
        return 0;
    }
    reply_error(method, label, &resp, doc, flags & CALL_CREATE, err);
    http_response_clear(&resp);
    json_object_put(doc);
    return -1;
}

/* ------------------------------------------------------------- droplets -- */

/* Droplet and action ids are positive integers; ours arrive as strings and
 * go into URLs, so nothing else gets that far. */
static int id_ok(const char *id)
{
    size_t n = id ? strspn(id, "0123456789") : 0;
    return n > 0 && n <= 19 && id[n] == '\0' && id[0] != '0';
}

static int name_ok(const char *s, size_t max)
{
    size_t n = s ? strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789-_") : 0;
    return n > 0 && n <= max && s[n] == '\0';
}

static int check_group(const char *group, struct as_error *err)
{
    if (name_ok(group, sizeof ((struct machine *)0)->group - 1))
        return 0;
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_name",
                   "digitalocean: group name '%.40s' cannot be a droplet tag",
                   group ? group : "");
}

static int check_id(const char *id, struct as_error *err)
{
    if (id_ok(id))
        return 0;
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_id",
                   "digitalocean: '%.40s' is not a droplet id", id ? id : "");
}

/* The group named by the droplet's first "autoscale-" tag, "" if none. */
static void group_of(struct json_object *d, char *out, size_t size)
{
    struct json_object *tags = jx_arr(d, "tags");
    size_t plen = strlen(DO_TAG_PREFIX);

    out[0] = '\0';
    for (size_t i = 0; tags && i < json_object_array_length(tags); i++) {
        struct json_object *t = json_object_array_get_idx(tags, i);
        const char *s = json_object_is_type(t, json_type_string) ? json_object_get_string(t)
                                                                 : "";
        if (strncmp(s, DO_TAG_PREFIX, plen) == 0 && name_ok(s + plen, size - 1)) {
            snprintf(out, size, "%s", s + plen);
            return;
        }
    }
}

static int has_tag(struct json_object *d, const char *tag)
{
    struct json_object *tags = jx_arr(d, "tags");
    for (size_t i = 0; tags && i < json_object_array_length(tags); i++) {
        struct json_object *t = json_object_array_get_idx(tags, i);
        if (json_object_is_type(t, json_type_string) &&
            strcmp(json_object_get_string(t), tag) == 0)
            return 1;
    }
    return 0;
}

/* The first IPv4 address of this type ("private"/"public") into out. */
static int address_of(struct json_object *d, const char *type, char *out, size_t size)
{
    struct json_object *v4 = jx_arr(jx_obj(d, "networks"), "v4");
    for (size_t i = 0; v4 && i < json_object_array_length(v4); i++) {
        struct json_object *a = json_object_array_get_idx(v4, i);
        const char *ip = jx_str(a, "ip_address", NULL), *t = jx_str(a, "type", "");
        struct in_addr bin;
        if (ip && strcmp(t, type) == 0 && strlen(ip) < size &&
            inet_pton(AF_INET, ip, &bin) == 1) {
            snprintf(out, size, "%s", ip);
            return 1;
        }
    }
    return 0;
}

/* DO's status as our state. "active" without an address yet stays BUILDING:
 * ACTIVE promises an address to reach the machine on. The preferred address
 * type falls back to the other one rather than leaving a running droplet
 * unreachable on paper (a droplet without a VPC address, say). */
static void set_state(const struct compute_be *c, struct json_object *d, const char *status,
                      struct machine *m)
{
    const char *first = c->want_public ? "public" : "private";
    const char *second = c->want_public ? "private" : "public";

    if (strcmp(status, "new") == 0) {
        m->state = MACHINE_BUILDING;
    } else if (strcmp(status, "active") == 0) {
        m->state = address_of(d, first, m->address, sizeof m->address) ||
                           address_of(d, second, m->address, sizeof m->address)
                       ? MACHINE_ACTIVE
                       : MACHINE_BUILDING;
    } else if (strcmp(status, "off") == 0) {
        m->state = MACHINE_ERROR;
        snprintf(m->detail, sizeof m->detail, "droplet is powered off (status off)");
    } else if (strcmp(status, "archive") == 0) {
        m->state = MACHINE_ERROR;
        snprintf(m->detail, sizeof m->detail, "droplet is archived (status archive)");
    } else {
        m->state = MACHINE_ERROR;
        snprintf(m->detail, sizeof m->detail, "droplet has unknown status '%.40s'", status);
        utf8_clean_line(m->detail); /* DO's word, cut anywhere */
    }
}

/* A droplet object as a machine; -1 if it lacks an id, name or status. */
static int parse_droplet(const struct compute_be *c, struct json_object *d, struct machine *m)
{
    struct json_object *idv = NULL;
    const char *name = jx_str(d, "name", NULL), *status = jx_str(d, "status", NULL);

    memset(m, 0, sizeof *m);
    if (!json_object_object_get_ex(d, "id", &idv) ||
        !json_object_is_type(idv, json_type_int) || json_object_get_int64(idv) <= 0 ||
        !name || !status)
        return -1;
    snprintf(m->id, sizeof m->id, "%lld", (long long)json_object_get_int64(idv));
    snprintf(m->name, sizeof m->name, "%s", name);
    utf8_clean_line(m->name); /* goes into records and output, UTF-8 only */
    group_of(d, m->group, sizeof m->group);
    m->created_at = as_parse_time(jx_str(d, "created_at", NULL));
    set_state(c, d, status, m);
    return 0;
}

/* -------------------------------------------------------------- tracking -- */

static struct tracked *find_tracked(struct compute_be *c, const char *id)
{
    for (size_t i = 0; i < c->ntracked; i++)
        if (strcmp(c->tracked[i].id, id) == 0)
            return &c->tracked[i];
    return NULL;
}

/* The entry for id, added if new. */
static struct tracked *track(struct compute_be *c, const char *id)
{
    struct tracked *t = find_tracked(c, id);
    if (t)
        return t;
    c->tracked = xgrow(c->tracked, c->ntracked + 1, &c->cap, sizeof *c->tracked);
    t = &c->tracked[c->ntracked++];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    return t;
}

/* The id of the "create" action in a create reply's links, 0 if none. */
static long long create_action(struct json_object *doc)
{
    struct json_object *actions = jx_arr(jx_obj(doc, "links"), "actions");
    for (size_t i = 0; actions && i < json_object_array_length(actions); i++) {
        struct json_object *a = json_object_array_get_idx(actions, i);
        const char *rel = jx_str(a, "rel", "");
        long long id = jx_int(a, "id", 0);
        if (strcmp(rel, "create") == 0 && id > 0)
            return id;
    }
    return 0;
}

/* A droplet still "new": did its create action fail? Best effort: if the
 * action cannot be read, the droplet just stays BUILDING and the caller's
 * own timeout decides. */
static void check_create_action(struct compute_be *c, struct tracked *t, struct machine *m)
{
    if (!t->errored && t->action) {
        char path[64];
        long status;
        struct json_object *doc = NULL;
        struct as_error e = {0};

        snprintf(path, sizeof path, "/actions/%lld", t->action);
        if (call(c, "GET", path, path, NULL, CALL_ABSENT_OK, &status, &doc, &e) < 0) {
            log_debug("%s", e.message);
            return;
        }
        const char *s = jx_str(jx_obj(doc, "action"), "status", "");
        if (strcmp(s, "errored") == 0)
            t->errored = 1;
        else if (strcmp(s, "completed") == 0 || status == 404)
            t->action = 0; /* nothing more to learn there */
        json_object_put(doc);
    }
    if (t->errored) {
        m->state = MACHINE_ERROR;
        snprintf(m->detail, sizeof m->detail, "droplet create action %lld errored",
                 t->action);
    }
}

/* ------------------------------------------------------------ operations -- */

/* An image or SSH key given as digits is DO's numeric id, sent as a JSON
 * number; anything else is a slug or fingerprint, sent as a string. */
static struct json_object *id_or_string(const char *s)
{
    return id_ok(s) ? jx_new_int(strtoll(s, NULL, 10)) : jx_new_string(s);
}

static struct json_object *create_body(const struct compute_be *c,
                                       const struct machine_spec *spec)
{
    struct json_object *o = jx_new_object(), *tags = jx_new_array();
    char tag[64];

    snprintf(tag, sizeof tag, DO_TAG_PREFIX "%s", spec->group);
    jx_add_str(o, "name", spec->name);
    jx_add_str(o, "region", c->region);
    jx_add_str(o, "size", spec->flavor ? spec->flavor : DO_DEFAULT_SIZE);
    json_object_object_add(o, "image", id_or_string(spec->image ? spec->image
                                                                : DO_DEFAULT_IMAGE));
    json_object_array_add(tags, jx_new_string(tag));
    json_object_object_add(o, "tags", tags);
    if (spec->key_pair) {
        struct json_object *keys = jx_new_array();
        json_object_array_add(keys, id_or_string(spec->key_pair));
        json_object_object_add(o, "ssh_keys", keys);
    }
    if (spec->network)
        jx_add_str(o, "vpc_uuid", spec->network);
    if (spec->user_data)
        jx_add_str(o, "user_data", spec->user_data);
    return o;
}

static int do_create(struct compute_be *c, const struct machine_spec *spec, struct machine *out,
                     struct as_error *err)
{
    struct json_object *doc = NULL;
    long status;

    if (check_group(spec->group, err) < 0)
        return -1;
    if (!name_ok(spec->name, sizeof out->name - 1))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_name",
                       "digitalocean: '%.70s' cannot be a droplet name",
                       spec->name ? spec->name : "");

    struct json_object *body = create_body(c, spec);
    log_info("digitalocean: creating droplet %s for group %s in %s", spec->name, spec->group,
             c->region);
    int rc = call(c, "POST", "/droplets", "/droplets", body, CALL_CREATE, &status, &doc, err);
    json_object_put(body);
    if (rc < 0)
        return -1;
    if (parse_droplet(c, jx_obj(doc, "droplet"), out) < 0) {
        json_object_put(doc);
        /* Accepted, yet unreadable: the droplet may well exist. */
        return bad_reply(err, "POST", "/droplets",
                         "reply has no droplet id; the droplet may exist (find it by name)");
    }
    track(c, out->id)->action = create_action(doc);
    json_object_put(doc);
    return 0;
}

/* `method` on /droplets/<id> (into path, 64 bytes, for messages), DO's own
 * 404 an answer: call()'s 0 or -1. */
static int droplet_call(struct compute_be *c, const char *method, const char *id, char *path,
                        long *status, struct json_object **doc, struct as_error *err)
{
    if (check_id(id, err) < 0)
        return -1;
    snprintf(path, 64, "/droplets/%s", id);
    return call(c, method, path, path, NULL, CALL_ABSENT_OK, status, doc, err);
}

static int do_get(struct compute_be *c, const char *id, struct machine *out,
                  struct as_error *err)
{
    struct json_object *doc = NULL;
    char path[64];
    long status;

    if (droplet_call(c, "GET", id, path, &status, &doc, err) < 0)
        return -1;
    if (status == 404) {
        machine_gone(out, id);
        return 0;
    }
    int bad = parse_droplet(c, jx_obj(doc, "droplet"), out) < 0;
    json_object_put(doc);
    if (bad)
        return bad_reply(err, "GET", path, "reply has no droplet with id, name and status");

    struct tracked *t = find_tracked(c, id);
    if (t && t->deleting)
        out->state = MACHINE_DELETING;
    else if (t && out->state == MACHINE_BUILDING)
        check_create_action(c, t, out);
    return 0;
}

static int do_destroy(struct compute_be *c, const char *id, struct as_error *err)
{
    struct json_object *doc = NULL;
    char path[64];
    long status;

    if (droplet_call(c, "DELETE", id, path, &status, &doc, err) < 0)
        return -1;
    json_object_put(doc);
    if (status == 404) {
        log_debug("digitalocean: droplet %s was already gone", id);
        return 0;
    }
    log_info("digitalocean: deleting droplet %s", id);
    track(c, id)->deleting = 1;
    return 0;
}

/* What to do with each droplet of a listing: 0 go on, 1 stop, -1 error. */
typedef int (*droplet_fn)(struct compute_be *c, struct json_object *d, void *arg,
                          struct as_error *err);

/* Every droplet tagged with the group, page by page, until fn stops.
 * Returns 1 if fn stopped, 0 at the end, -1 on error. Droplets without the
 * tag are skipped: a server that ignored tag_name must not hand us another
 * group's machines, which reconcile would then delete. */
static int each_droplet(struct compute_be *c, const char *group, droplet_fn fn, void *arg,
                        struct as_error *err)
{
    char tag[64];
    snprintf(tag, sizeof tag, DO_TAG_PREFIX "%s", group);
    char *enc = http_urlencode(tag);

    int rc = 0;
    long page = 1;
    for (int pages = 0; rc == 0; pages++) {
        struct json_object *doc = NULL;
        char path[256]; /* the tag is unreserved characters: encoding keeps it 41 */
        long status;

        if (pages == DIGITALOCEAN_MAX_PAGES) {
            rc = bad_reply(err, "GET", "/droplets", "more pages than any account has");
            break;
        }
        snprintf(path, sizeof path, "/droplets?tag_name=%s&per_page=%d&page=%ld", enc,
                 DIGITALOCEAN_PER_PAGE, page);
        if (call(c, "GET", path, "/droplets", NULL, 0, &status, &doc, err) < 0) {
            rc = -1;
            break;
        }
        struct json_object *arr = jx_arr(doc, "droplets");
        if (!arr)
            rc = bad_reply(err, "GET", "/droplets", "reply has no droplets array");
        for (size_t i = 0; rc == 0 && arr && i < json_object_array_length(arr); i++) {
            struct json_object *d = json_object_array_get_idx(arr, i);
            if (has_tag(d, tag))
                rc = fn(c, d, arg, err);
        }
        if (rc == 0 && (page = digitalocean_next_page(doc, page)) < 0)
            rc = bad_reply(err, "GET", "/droplets", "links.pages.next names no later page");
        json_object_put(doc);
        if (rc == 0 && page == 0)
            break;
    }
    free(enc);
    return rc;
}

struct find_arg {
    const char *name;
    struct machine *out;
};

static int find_one(struct compute_be *c, struct json_object *d, void *arg, struct as_error *err)
{
    struct find_arg *a = arg;
    const char *name = jx_str(d, "name", NULL);
    if (!name || strcmp(name, a->name) != 0)
        return 0;
    if (parse_droplet(c, d, a->out) < 0)
        return bad_reply(err, "GET", "/droplets", "listed droplet has no id or status");
    return 1;
}

static int do_find(struct compute_be *c, const char *group, const char *name,
                   struct machine *out, struct as_error *err)
{
    struct find_arg a = {name, out};
    if (check_group(group, err) < 0)
        return -1;
    if (!name || !*name)
        return 0;
    int rc = each_droplet(c, group, find_one, &a, err);
    if (rc == 1) {
        struct tracked *t = find_tracked(c, out->id);
        if (t && t->deleting)
            out->state = MACHINE_DELETING;
    }
    return rc;
}

struct list_arg {
    struct machine *v;
    long long *ids; /* numeric ids, to drop repeats cheaply */
    size_t n, cap;
};

/* Offset paging over a changing list can show a droplet twice (one created
 * before our cursor shifts the rest back a place); it is listed once. */
static int list_one(struct compute_be *c, struct json_object *d, void *arg, struct as_error *err)
{
    struct list_arg *a = arg;
    long long id = jx_int(d, "id", 0);

    for (size_t i = 0; i < a->n; i++)
        if (a->ids[i] == id)
            return 0;
    size_t cap = a->cap; /* the two arrays grow together */
    a->v = xgrow(a->v, a->n + 1, &a->cap, sizeof *a->v);
    a->ids = xgrow(a->ids, a->n + 1, &cap, sizeof *a->ids);
    if (parse_droplet(c, d, &a->v[a->n]) < 0)
        return bad_reply(err, "GET", "/droplets", "listed droplet has no id, name or status");
    struct tracked *t = find_tracked(c, a->v[a->n].id);
    if (t && t->deleting)
        a->v[a->n].state = MACHINE_DELETING;
    a->ids[a->n++] = id;
    return 0;
}

static int do_list(struct compute_be *c, const char *group, struct machine **out, size_t *n,
                   struct as_error *err)
{
    struct list_arg a = {NULL, NULL, 0, 0};

    *out = NULL;
    *n = 0;
    if (check_group(group, err) < 0)
        return -1;
    if (each_droplet(c, group, list_one, &a, err) < 0) {
        free(a.v);
        free(a.ids);
        return -1;
    }
    free(a.ids);
    *out = a.v;
    *n = a.n;
    return 0;
}

const struct compute_ops compute_digitalocean_ops = {
    .name = "digitalocean",
    .open = do_open,
    .create = do_create,
    .get = do_get,
    .find = do_find,
    .destroy = do_destroy,
    .list = do_list,
    .close = do_close,
    /* A droplet takes a minute or so, and a token has 5000 requests an
     * hour (250 a minute) for everything it does: half the interval first,
     * then every 3 s; as for openstack, no more GETs per add than a fixed
     * interval, at most one more per delete. */
    .poll_first_ms = 1500,
    .poll_ms = 3000,
};
