/* health_probe.c - look at every active node of a group and judge it
 * (health_probe.h; the rule is health_judge in lib/model/health.c).
 *
 * Order of work, and why:
 *  - the probe first, with no claim held: the provider's list, one listing
 *    of the load balancer, then one HTTP GET per node, each bounded by a
 *    short timeout. That can take seconds, and a claim held for that long
 *    would block the next prober for as long after a crash;
 *  - then, when writing, the group's health claim (CLAIM_ONCE: a prober
 *    that finds another at work leaves the records to it), the previous
 *    records read, each node judged and written, records of nodes that no
 *    longer exist deleted, the claim released. Reading the previous
 *    records under the claim is what makes `failures` count one probe
 *    once: two probers never both read 2 and write 3;
 *  - a source that cannot be reached (the provider's API down, HAProxy's
 *    socket gone) makes that source unknown for every node: an outage of
 *    the pack's own view must never read as every node failing, which
 *    would replace the whole group. */
#include "health_probe.h"

#include "claim.h"
#include "compute.h"
#include "health.h"
#include "http.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "signals.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_TIMEOUT_DEFAULT_MS 2000
/* How long to contend for the claim before deciding another prober has it. */
#define CLAIM_WAIT_MS 2000

/* One active node as probed. */
struct probe {
    char name[64];
    struct json_object *rec; /* its node record (owned) */
    struct health_obs obs;
    char provider[128], lb[64], http[128]; /* each source's words */
    /* The same, typed (health_probe.h): set beside each word, since a
     * program must never have to read the words back. */
    enum health_check check[HEALTH_SOURCE_COUNT];
};

struct probe_set {
    struct probe *p;
    size_t n;
    struct json_object *names; /* every node with a record: name -> true */
};

static void set_clear(struct probe_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_object_put(s->p[i].rec);
    free(s->p);
    json_object_put(s->names);
    memset(s, 0, sizeof *s);
}

/* Append "<source>: <words>" to the one line of failing sources. */
static void detail_add(struct health_obs *o, const char *source, const char *words)
{
    size_t n = strlen(o->detail);
    if (n < sizeof o->detail - 1)
        snprintf(o->detail + n, sizeof o->detail - n, "%s%s: %s", n ? "; " : "", source,
                 words);
}

/* Every node record of the group; the active ones become probes. */
static int load_nodes(struct ds *ds, const char *group, struct probe_set *s,
                      struct as_error *err)
{
    struct node_records all;
    if (node_records_load(ds, group, &all, err) < 0)
        return -1;
    s->names = jx_new_object();
    s->p = xcalloc(all.count ? all.count : 1, sizeof *s->p);
    for (size_t i = 0; i < all.count; i++) {
        const struct node_entry *e = &all.items[i];
        if (!e->name_ok)
            continue;
        /* An unreadable record still names a node: its health record stays. */
        json_object_object_add(s->names, e->name, jx_new_bool(true));
        if (e->state == NODE_ACTIVE) {
            struct probe *p = &s->p[s->n++];
            snprintf(p->name, sizeof p->name, "%s", e->name);
            p->rec = json_object_get(e->rec);
        }
    }
    node_records_clear(&all);
    return 0;
}

/* ------------------------------------------------------------ provider -- */

static const struct machine *machine_of(const struct machine *m, size_t n,
                                        const struct probe *p)
{
    const char *id = jx_str(p->rec, "provider_id", NULL);
    for (size_t i = 0; i < n; i++)
        if (id && *id ? strcmp(m[i].id, id) == 0 : strcmp(m[i].name, p->name) == 0)
            return &m[i];
    return NULL;
}

static int probe_provider(struct node_ctx *nc, struct probe_set *s, struct as_error *err)
{
    struct machine *m = NULL;
    size_t n = 0;
    struct as_error e;
    memset(&e, 0, sizeof e);
    if (compute_list(nc->compute, nc->group->name, &m, &n, &e) < 0) {
        if (as_interrupted() || as_error_is(&e, "interrupted")) {
            *err = e;
            return -1;
        }
        log_warn("health: %s: the provider cannot list machines (%s: %s): its source is "
                 "unknown this time", nc->group->name, e.code, e.message);
        for (size_t i = 0; i < s->n; i++) {
            snprintf(s->p[i].provider, sizeof s->p[i].provider, "unknown: %.100s", e.code);
            s->p[i].check[HEALTH_SOURCE_PROVIDER] = HEALTH_CHECK_UNKNOWN;
        }
        return 0;
    }
    for (size_t i = 0; i < s->n; i++) {
        struct probe *p = &s->p[i];
        const struct machine *mm = machine_of(m, n, p);
        p->obs.provider_known = true;
        p->obs.provider_ok = mm && mm->state == MACHINE_ACTIVE;
        if (p->obs.provider_ok) {
            snprintf(p->provider, sizeof p->provider, "active");
            p->check[HEALTH_SOURCE_PROVIDER] = HEALTH_CHECK_PASS;
            continue;
        }
        /* Gone or in error: no wait brings it back (the provider gave up,
         * compute.h); building, stopped, deleting may still change. */
        p->check[HEALTH_SOURCE_PROVIDER] =
            !mm || mm->state == MACHINE_GONE || mm->state == MACHINE_ERROR ? HEALTH_CHECK_LOST
                                                                           : HEALTH_CHECK_FAIL;
        if (mm)
            snprintf(p->provider, sizeof p->provider, "%s%s%.100s",
                     machine_state_name(mm->state), mm->detail[0] ? ": " : "", mm->detail);
        else
            snprintf(p->provider, sizeof p->provider, "gone: the provider has no such machine");
        detail_add(&p->obs, "provider", p->provider);
    }
    free(m);
    return 0;
}

/* ------------------------------------------------------------------ lb -- */

/* A member the load balancer gives no verdict on (lb.h NO_CHECK: HAProxy
 * runs no check on it, or DigitalOcean, which reports none per member) has
 * no check to pass, as when there is no load balancer, and a wait need not
 * wait on it. Any other member lb.h cannot read (not in the backend,
 * MAINT, DRAIN) is unknown. */
static enum health_check lb_check_of(const struct lb_node_health *h)
{
    switch (h->health) {
    case LB_HEALTH_UP:
        return HEALTH_CHECK_PASS;
    case LB_HEALTH_DOWN:
        return HEALTH_CHECK_FAIL;
    case LB_HEALTH_NO_CHECK:
        return HEALTH_CHECK_NOT_CONFIGURED;
    default:
        return HEALTH_CHECK_UNKNOWN;
    }
}

static int probe_lb(struct lb_ctx *lb, struct probe_set *s, struct as_error *err)
{
    if (!lb || !lb->lb) {
        for (size_t i = 0; i < s->n; i++) {
            snprintf(s->p[i].lb, sizeof s->p[i].lb, "none");
            s->p[i].check[HEALTH_SOURCE_LB] = HEALTH_CHECK_NOT_CONFIGURED;
        }
        return 0;
    }
    struct json_object **recs = xcalloc(s->n + 1, sizeof *recs);
    struct lb_node_health *h = xcalloc(s->n + 1, sizeof *h);
    struct as_error e;
    memset(&e, 0, sizeof e);
    for (size_t i = 0; i < s->n; i++)
        recs[i] = s->p[i].rec;
    int rc = lb_node_health(lb, recs, s->n, h, &e);
    if (rc < 0 && (as_interrupted() || as_error_is(&e, "interrupted"))) {
        *err = e;
    } else if (rc < 0) {
        log_warn("health: %s: the load balancer cannot be read (%s: %s): its source is "
                 "unknown this time", lb->group.name, e.code, e.message);
        for (size_t i = 0; i < s->n; i++) {
            snprintf(s->p[i].lb, sizeof s->p[i].lb, "unknown: %.50s", e.code);
            s->p[i].check[HEALTH_SOURCE_LB] = HEALTH_CHECK_UNKNOWN;
        }
        rc = 0;
    } else {
        for (size_t i = 0; i < s->n; i++) {
            struct probe *p = &s->p[i];
            p->obs.lb_known = h[i].health == LB_HEALTH_UP || h[i].health == LB_HEALTH_DOWN;
            p->obs.lb_ok = h[i].health == LB_HEALTH_UP;
            snprintf(p->lb, sizeof p->lb, "%s", h[i].status[0] ? h[i].status : "not a member");
            p->check[HEALTH_SOURCE_LB] = lb_check_of(&h[i]);
            if (p->obs.lb_known && !p->obs.lb_ok)
                detail_add(&p->obs, "lb", p->lb);
        }
    }
    free(recs);
    free(h);
    return rc;
}

/* ---------------------------------------------------------------- http -- */

static bool ipv4_ok(const char *s)
{
    struct in_addr a;
    return s && strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1;
}

/* One GET of the group's path on the node: 0 (the source's words in
 * p->http, known or not), or -1 only when interrupted. */
static int probe_http_one(const char *path, int default_port, long timeout_ms,
                          struct probe *p, struct as_error *err)
{
    const char *addr = jx_str(p->rec, "address", NULL);
    long long port = jx_int(p->rec, "port", 0);
    char url[384];
    if (port <= 0)
        port = default_port;
    if (!ipv4_ok(addr) || port < 1 || port > 65535) {
        snprintf(p->http, sizeof p->http, "not checked: no usable address in the record");
        p->check[HEALTH_SOURCE_HTTP] = HEALTH_CHECK_UNKNOWN;
        return 0;
    }
    snprintf(url, sizeof url, "http://%s:%lld%s", addr, port, path);
    const char *problem = http_url_problem(url);
    if (problem) {
        snprintf(p->http, sizeof p->http, "not checked: %.100s", problem);
        p->check[HEALTH_SOURCE_HTTP] = HEALTH_CHECK_UNKNOWN;
        return 0;
    }
    struct http_options o;
    http_options_default(&o);
    o.connect_timeout_ms = o.timeout_ms = o.budget_ms = timeout_ms;
    o.max_attempts = 1; /* the next probe is the retry, and the threshold counts it */
    struct as_error e;
    memset(&e, 0, sizeof e);
    struct http_client *c = http_client_new(&o, &e);
    struct http_response r;
    memset(&r, 0, sizeof r);
    struct http_request req = {.method = "GET", .url = url, .retry = 0};
    int rc = c ? http_do(c, &req, &r, &e) : -1;
    http_client_free(c);
    if (rc < 0 && (as_interrupted() || as_error_is(&e, "interrupted"))) {
        *err = e;
        return -1;
    }
    p->obs.http_known = true;
    p->obs.http_ok = rc == 0 && r.status >= 200 && r.status < 400;
    p->check[HEALTH_SOURCE_HTTP] = p->obs.http_ok ? HEALTH_CHECK_PASS : HEALTH_CHECK_FAIL;
    if (rc < 0)
        snprintf(p->http, sizeof p->http, "%.40s: %.80s", e.code, e.message);
    else
        snprintf(p->http, sizeof p->http, "%ld", r.status);
    if (!p->obs.http_ok)
        detail_add(&p->obs, "http", p->http);
    http_response_clear(&r);
    return 0;
}

static int probe_http(const struct group *g, struct lb_ctx *lb, long timeout_ms,
                      struct probe_set *s, struct as_error *err)
{
    const char *path = g->health_check_path;
    int port = lb && lb->server_port > 0 ? lb->server_port : 80;
    for (size_t i = 0; i < s->n; i++) {
        if (as_interrupted())
            return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                           "interrupted while probing; nothing written");
        if (!path || !*path) {
            snprintf(s->p[i].http, sizeof s->p[i].http, "none");
            s->p[i].check[HEALTH_SOURCE_HTTP] = HEALTH_CHECK_NOT_CONFIGURED;
            continue;
        }
        if (probe_http_one(path, port, timeout_ms, &s->p[i], err) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- judging -- */

static void prev_of(struct json_object *records, const char *node, struct health_prev *prev)
{
    struct json_object *r = jx_obj(records, node);
    memset(prev, 0, sizeof *prev);
    if (!r)
        return;
    prev->status = health_status_parse(jx_str(r, "status", NULL));
    prev->failures = jx_int(r, "failures", 0);
    prev->since = jx_int(r, "since", 0);
}

/* The record, which is also the node's entry of the output. */
static struct json_object *verdict_json(const struct group *g, const struct probe *p,
                                        const struct health_verdict *v, long long now)
{
    struct json_object *o = jx_new_object(), *checks = jx_new_object();
    jx_add_str(o, "node", p->name);
    jx_add_str(o, "group", g->name);
    jx_add_str(o, "status", health_status_name(v->status));
    jx_add_int(o, "failures", v->failures);
    jx_add_int(o, "checked_at", now);
    jx_add_int(o, "since", v->since);
    jx_add_str(o, "reason", v->reason);
    jx_add_str(checks, "provider", p->provider);
    jx_add_str(checks, "lb", p->lb);
    jx_add_str(checks, "http", p->http);
    json_object_object_add(o, "checks", checks);
    return o;
}

/* Judge every probe against the previous records (node -> record) into
 * out->nodes; with ds, write each verdict. */
static int judge_all(struct ds *ds, const struct group *g, struct probe_set *s,
                     struct json_object *records, long long now, const struct claim *cl,
                     struct json_object *nodes, long long *unhealthy, struct as_error *err)
{
    for (size_t i = 0; i < s->n; i++) {
        struct probe *p = &s->p[i];
        struct health_prev prev;
        struct health_verdict v;
        prev_of(records, p->name, &prev);
        long long since = jx_int(p->rec, "updated_at", 0);
        if (since <= 0)
            since = jx_int(p->rec, "created_at", 0);
        health_judge(g, &prev, &p->obs, since, now, &v);
        struct json_object *o = verdict_json(g, p, &v, now);
        *unhealthy += v.status == HEALTH_UNHEALTHY;
        if (ds) {
            char key[KEY_MAX];
            if (as_interrupted()) {
                json_object_put(o);
                return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                               "interrupted while writing health records");
            }
            if (claim_check(cl, err) < 0 ||
                ds_put(ds, key_health(key, g->name, p->name),
                       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), 0,
                       err) < 0) {
                json_object_put(o);
                return -1;
            }
        }
        json_object_array_add(nodes, o);
    }
    return 0;
}

/* Health records of nodes with no node record any more: listed in gone,
 * and deleted with ds. */
static int forget_gone(struct ds *ds, const struct group *g, struct json_object *records,
                       struct json_object *names, const struct claim *cl,
                       struct json_object *gone, struct as_error *err)
{
    json_object_object_foreach(records, node, rec)
    {
        (void)rec;
        if (json_object_object_get_ex(names, node, NULL))
            continue;
        if (ds) {
            char key[KEY_MAX];
            if (claim_check(cl, err) < 0 || ds_del(ds, key_health(key, g->name, node), err) < 0)
                return -1;
        }
        json_object_array_add(gone, jx_new_string(node));
    }
    return 0;
}

/* Judge (and with write, store) under the claim: 1 when another prober
 * held it (nothing done), 0, or -1 with err. */
static int settle(struct ds *ds, const struct group *g, struct probe_set *s, long long now,
                  bool write, struct json_object *nodes, struct json_object *gone,
                  long long *unhealthy, struct as_error *err)
{
    struct claim cl;
    struct json_object *records = NULL;
    char key[KEY_MAX], value[64];
    memset(&cl, 0, sizeof cl);
    if (write) {
        snprintf(value, sizeof value, "{\"op\":\"health_check\",\"at\":%lld}", now);
        int rc = claim_take(ds, key_health_lock(key, g->name), value, CLAIM_TTL, CLAIM_ONCE,
                            CLAIM_WAIT_MS, &cl, err);
        if (rc != CLAIM_WON)
            return rc;
    }
    int rc = health_load(ds, g->name, &records, err);
    if (rc == 0)
        rc = judge_all(write ? ds : NULL, g, s, records, now, &cl, nodes, unhealthy, err);
    if (rc == 0)
        rc = forget_gone(write ? ds : NULL, g, records, s->names, &cl, gone, err);
    json_object_put(records);
    if (write)
        claim_drop(ds, &cl);
    return rc;
}

const struct health_node_checks *health_checks_find(const struct health_checks *c,
                                                    const char *node)
{
    for (size_t i = 0; c && node && i < c->n; i++)
        if (strcmp(c->nodes[i].node, node) == 0)
            return &c->nodes[i];
    return NULL;
}

void health_checks_clear(struct health_checks *c)
{
    free(c->nodes);
    memset(c, 0, sizeof *c);
}

/* The typed checks of every probe, in the order judge_all wrote them. */
static void checks_fill(const struct probe_set *s, struct health_checks *c)
{
    c->nodes = xcalloc(s->n ? s->n : 1, sizeof *c->nodes);
    c->n = s->n;
    for (size_t i = 0; i < s->n; i++) {
        snprintf(c->nodes[i].node, sizeof c->nodes[i].node, "%s", s->p[i].name);
        memcpy(c->nodes[i].check, s->p[i].check, sizeof c->nodes[i].check);
    }
}

int health_probe_group(struct ds *ds, struct node_ctx *nc, struct lb_ctx *lb, long long now,
                       const struct health_probe_opts *opts, struct json_object **out,
                       struct as_error *err)
{
    return health_probe_group_checks(ds, nc, lb, now, opts, out, NULL, err);
}

int health_probe_group_checks(struct ds *ds, struct node_ctx *nc, struct lb_ctx *lb,
                              long long now, const struct health_probe_opts *opts,
                              struct json_object **out, struct health_checks *checks,
                              struct as_error *err)
{
    const struct group *g = nc->group;
    long timeout = opts->http_timeout_ms > 0 ? opts->http_timeout_ms : HTTP_TIMEOUT_DEFAULT_MS;
    struct probe_set s;
    long long unhealthy = 0;
    memset(&s, 0, sizeof s);

    if (load_nodes(ds, g->name, &s, err) < 0 || probe_provider(nc, &s, err) < 0 ||
        probe_lb(lb, &s, err) < 0 || probe_http(g, lb, timeout, &s, err) < 0) {
        set_clear(&s);
        return -1;
    }
    struct json_object *nodes = jx_new_array(), *gone = jx_new_array();
    int rc = settle(ds, g, &s, now, opts->write, nodes, gone, &unhealthy, err);
    if (rc == 0 && checks)
        checks_fill(&s, checks);
    else if (checks)
        memset(checks, 0, sizeof *checks); /* nothing judged: no node has checks */
    set_clear(&s);
    if (rc < 0) {
        json_object_put(nodes);
        json_object_put(gone);
        return -1;
    }
    *out = jx_new_object();
    jx_add_str(*out, "group", g->name);
    jx_add_bool(*out, "probed", rc == 0);
    jx_add_bool(*out, "dry_run", !opts->write);
    if (rc == CLAIM_TAKEN) {
        jx_add_str(*out, "message", "another health check holds the group's health claim: "
                                    "nothing written");
        json_object_put(nodes);
        json_object_put(gone);
        nodes = jx_new_array();
        gone = jx_new_array();
    }
    json_object_object_add(*out, "nodes", nodes);
    jx_add_int(*out, "unhealthy", unhealthy);
    json_object_object_add(*out, "forgotten", gone);
    return 0;
}
