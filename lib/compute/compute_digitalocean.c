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
 * A warm pool parks a droplet powered off (stop/start below): droplet
 * actions "shutdown" then, if that does not take, "power_off"; and
 * "power_on" to take it back. A powered-off droplet shows status "off",
 * which get() reports STOPPED. The session remembers its own power_off or
 * power_on action as it does the create action: DO reports one that errored
 * on the action only. (DO bills a droplet that is off as one that runs, per
 * its doctl reference for power-off: parking saves no money there, it
 * keeps a pool node idle, unreachable and out of Chef runs; the price is
 * the boot at power_on.)
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
#include "signals.h"
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
    long long power;  /* our power_off/power_on action while not known completed */
    char power_type[12];
    int power_errored; /* that action errored */
};

struct compute_be {
    struct http_api api;
    char *region;
    int want_public; /* address_type=public */
    struct tracked *tracked;
    size_t ntracked, cap;
    long poll_max_ms; /* the ceiling of stop()'s own waits (poll_interval_ms) */
};

/* call() flags */
#define CALL_ABSENT_OK 0x1 /* a 404 "not_found" is an answer, not an error */
#define CALL_CREATE 0x2    /* a 404 means something the spec names is missing */

/* How long a graceful "shutdown" gets before stop() cuts the power; at most
 * half of what is left of the action's deadline, so that the power_off and
 * the caller's wait for "off" still fit. A configured Ubuntu droplet shuts
 * down in a few seconds; one that has not in 30 will not (a hung unit). */
#define DO_SHUTDOWN_GRACE_MS 30000L

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
    long long poll = settings_int(settings, "poll_interval_ms", 0);
    c->poll_max_ms = poll > 0 && poll <= 60000 ? (long)poll : compute_digitalocean_ops.poll_ms;
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
        /* A parked pool node (power_off); to anyone waiting for ACTIVE it
         * is unusable, which the detail says. */
        m->state = MACHINE_STOPPED;
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

/* A power_off or power_on we asked for, while the droplet is not yet where
 * it sends it: did it error? DO reports that on the action only; the
 * droplet just stays as it was, and a wait for "off" or "active" would last
 * until its deadline. Completed (or gone: 404) is forgotten; the droplet's
 * own status follows a few seconds later (droplet_kit issue 50), which the
 * caller's wait sees. Best effort, as above. */
static void check_power_action(struct compute_be *c, struct tracked *t, struct machine *m)
{
    enum machine_state want = strcmp(t->power_type, "power_on") == 0 ? MACHINE_ACTIVE
                                                                     : MACHINE_STOPPED;
    if (m->state == want) {
        t->power = 0;
        t->power_errored = 0;
        return;
    }
    if (!t->power_errored) {
        char path[96];
        long status;
        struct json_object *doc = NULL;
        struct as_error e = {0};

        snprintf(path, sizeof path, "/droplets/%s/actions/%lld", t->id, t->power);
        if (call(c, "GET", path, path, NULL, CALL_ABSENT_OK, &status, &doc, &e) < 0) {
            log_debug("%s", e.message);
            return;
        }
        const char *s = jx_str(jx_obj(doc, "action"), "status", "");
        if (strcmp(s, "errored") == 0)
            t->power_errored = 1;
        else if (strcmp(s, "completed") == 0 || status == 404)
            t->power = 0;
        json_object_put(doc);
    }
    if (t->power_errored) {
        m->state = MACHINE_ERROR;
        snprintf(m->detail, sizeof m->detail, "droplet %s action %lld errored",
                 t->power_type, t->power);
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
    else if (t && out->state == MACHINE_BUILDING && (t->action || t->errored))
        check_create_action(c, t, out);
    else if (t && (t->power || t->power_errored))
        check_power_action(c, t, out);
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

/* ------------------------------------------------------ stop and start -- */

/* The droplet's own status word ("new", "active", "off", "archive") into
 * status: 1, 0 when DO says there is no such droplet, -1 with err. */
static int read_status(struct compute_be *c, const char *id, char *status, size_t size,
                       struct as_error *err)
{
    struct json_object *doc = NULL;
    char path[64];
    long st;

    if (droplet_call(c, "GET", id, path, &st, &doc, err) < 0)
        return -1;
    if (st == 404)
        return 0;
    const char *s = jx_str(jx_obj(doc, "droplet"), "status", NULL);
    if (!s) {
        json_object_put(doc);
        return bad_reply(err, "GET", path, "reply has no droplet status");
    }
    snprintf(status, size, "%s", s);
    utf8_clean_line(status); /* DO's word, into messages */
    json_object_put(doc);
    return 1;
}

static int gone(struct as_error *err, const char *id, const char *type)
{
    return as_fail(err, AS_EXIT_FAILURE, "machine_gone", "digitalocean %s %s: no such droplet",
                   type, id);
}

static int conflict(struct as_error *err, const char *id, const char *type, const char *status)
{
    return as_fail(err, AS_EXIT_FAILURE, "machine_conflict",
                   "digitalocean %s %s: the droplet is %.40s", type, id, status);
}

#define ACTION_REFUSED 1 /* power_action(): DO answered 422 */

/* POST /droplets/{id}/actions {"type": type} (API v2, "Initiate a Droplet
 * Action", https://docs.digitalocean.com/reference/api/api-reference/
 * #operation/dropletActions_post): 201 {"action": {id, status
 * "in-progress", type, ...}}; 404 for a droplet that is not there; 422
 * unprocessable_entity when its state does not allow it ("Droplet already
 * has a pending event.", hashicorp/packer issue 1814; a power_off of a
 * droplet already off). 0 with *action, ACTION_REFUSED with err (DO's
 * words), or -1 with err. Never retried (a POST): a retry sees the 422 or
 * the droplet already there. */
static int power_action(struct compute_be *c, const char *id, const char *type,
                        long long *action, struct as_error *err)
{
    char path[64], label[96];
    long status;
    struct json_object *doc = NULL, *body = jx_new_object();
    struct as_error local;

    if (!err) /* the code of a failure is read below */
        err = &local;
    snprintf(path, sizeof path, "/droplets/%s/actions", id);
    snprintf(label, sizeof label, "%s (%s)", path, type);
    jx_add_str(body, "type", type);
    int rc = call(c, "POST", path, label, body, CALL_ABSENT_OK, &status, &doc, err);
    json_object_put(body);
    if (rc < 0)
        return as_error_is(err, "provider_rejected") ? ACTION_REFUSED : -1;
    if (status == 404)
        return gone(err, id, type);
    *action = jx_int(jx_obj(doc, "action"), "id", 0);
    json_object_put(doc);
    if (*action <= 0) /* accepted: the droplet will change, we just cannot follow it */
        log_warn("digitalocean: %s accepted without an action id", label);
    else
        log_info("digitalocean: droplet %s: %s requested (action %lld)", id, type, *action);
    return 0;
}

/* After ACTION_REFUSED (err holds DO's words): a droplet already `want`
 * (another try got there first) is success; anything else is the conflict
 * compute.h promises. */
static int after_refusal(struct compute_be *c, const char *id, const char *want,
                         struct as_error *err)
{
    char status[32];
    struct as_error gerr = {0};
    if (read_status(c, id, status, sizeof status, &gerr) == 1 && strcmp(status, want) == 0) {
        log_debug("digitalocean: droplet %s is already %s", id, want);
        as_error_clear(err);
        return 0;
    }
    as_error_recode(err, "machine_conflict");
    err->exit = AS_EXIT_FAILURE; /* the state may change; the input was fine */
    return -1;
}

/* A new stop or start: what an earlier one of this session left (an
 * errored power_off, say) no longer describes the droplet. */
static void forget_power(struct compute_be *c, const char *id)
{
    struct tracked *t = find_tracked(c, id);
    if (t) {
        t->power = 0;
        t->power_errored = 0;
    }
}

static void track_power(struct compute_be *c, const char *id, const char *type, long long a)
{
    struct tracked *t = track(c, id);
    t->power = a;
    t->power_errored = 0;
    snprintf(t->power_type, sizeof t->power_type, "%s", type);
}

/* The graceful shutdown's grace: 1 the droplet is off, 0 it is not (the
 * action errored, or the grace ran out: time for power_off), -1 with err
 * (SIGTERM: "interrupted"; the droplet is left as it is, a retry of
 * node_park takes it from there). The droplet's status decides, not the
 * action's: DO completes a shutdown action once the command is issued,
 * whether or not the droplet went down (digitalocean/api-v2 issue 79). */
static int shutdown_wait(struct compute_be *c, const char *id, long long action,
                         struct as_error *err)
{
    long long left = as_deadline_left_ms();
    long long grace = left == AS_NO_DEADLINE || left / 2 > DO_SHUTDOWN_GRACE_MS
                          ? DO_SHUTDOWN_GRACE_MS
                          : left / 2;
    long long end = as_mono_ms() + grace;
    struct as_backoff b;
    as_backoff_init(&b, compute_digitalocean_ops.poll_first_ms, c->poll_max_ms);
    for (;;) {
        long long now = as_mono_ms();
        if (now >= end)
            return 0;
        if (as_sleep_ms(as_backoff_next(&b, end - now)) < 0)
            return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                           "digitalocean: interrupted while droplet %s shut down", id);
        char status[32];
        int rc = read_status(c, id, status, sizeof status, err);
        if (rc <= 0)
            return rc < 0 ? -1 : gone(err, id, "shutdown");
        if (strcmp(status, "off") == 0)
            return 1;
        if (action > 0) {
            struct machine m;
            struct tracked t = {.power = action, .power_type = "shutdown"};
            snprintf(t.id, sizeof t.id, "%s", id);
            m.state = MACHINE_ACTIVE;
            check_power_action(c, &t, &m);
            if (t.power_errored) {
                log_info("digitalocean: droplet %s: shutdown action %lld errored", id, action);
                return 0;
            }
            action = t.power; /* 0 once completed: only the status is left to watch */
        }
    }
}

/* Park: "shutdown" first, as DO recommends (power_off "is similar to
 * cutting the power ... and could lead to complications": a node Chef has
 * just configured must come back with its files intact), then "power_off"
 * if it is not off within the grace. Returns once the droplet is off or
 * the power_off was accepted; the caller polls get() for STOPPED, which
 * reports an errored power_off as ERROR. A droplet already off is done
 * without a request; one that is neither active nor off (new, archive)
 * is machine_conflict. */
static int do_stop(struct compute_be *c, const char *id, struct as_error *err)
{
    char status[32];
    long long action = 0;
    int rc = read_status(c, id, status, sizeof status, err);
    forget_power(c, id);
    if (rc <= 0)
        return rc < 0 ? -1 : gone(err, id, "shutdown");
    if (strcmp(status, "off") == 0) {
        log_debug("digitalocean: droplet %s is already off", id);
        return 0;
    }
    if (strcmp(status, "active") != 0)
        return conflict(err, id, "shutdown", status);
    if ((rc = power_action(c, id, "shutdown", &action, err)) != 0)
        return rc < 0 ? -1 : after_refusal(c, id, "off", err);
    if ((rc = shutdown_wait(c, id, action, err)) != 0)
        return rc < 0 ? -1 : 0;
    log_info("digitalocean: droplet %s did not shut down: powering it off", id);
    if ((rc = power_action(c, id, "power_off", &action, err)) != 0)
        return rc < 0 ? -1 : after_refusal(c, id, "off", err);
    track_power(c, id, "power_off", action);
    return 0;
}

/* Take back from the pool: "power_on" of a droplet that is off; one
 * already active is done without a request. Returns once DO accepted it;
 * the caller polls get() for ACTIVE (an errored power_on: ERROR). */
static int do_start(struct compute_be *c, const char *id, struct as_error *err)
{
    char status[32];
    long long action = 0;
    int rc = read_status(c, id, status, sizeof status, err);
    forget_power(c, id);
    if (rc <= 0)
        return rc < 0 ? -1 : gone(err, id, "power_on");
    if (strcmp(status, "active") == 0) {
        log_debug("digitalocean: droplet %s is already active", id);
        return 0;
    }
    if (strcmp(status, "off") != 0)
        return conflict(err, id, "power_on", status);
    if ((rc = power_action(c, id, "power_on", &action, err)) != 0)
        return rc < 0 ? -1 : after_refusal(c, id, "active", err);
    track_power(c, id, "power_on", action);
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
    .stop = do_stop,
    .start = do_start,
    .close = do_close,
    /* A droplet takes a minute or so, and a token has 5000 requests an
     * hour (250 a minute) for everything it does: half the interval first,
     * then every 3 s; as for openstack, no more GETs per add than a fixed
     * interval, at most one more per delete. */
    .poll_first_ms = 1500,
    .poll_ms = 3000,
};
