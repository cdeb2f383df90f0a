/* metric_collect.c - what the metric_collect action does above the source
 * interface, once for every source (metric.h): read each group's one
 * number and keep it as the group's samples (lib/model/samples.h), which
 * the governor's loader hands to target tracking.
 *
 * Order of work, as health_probe.c does it, and why:
 *  - the reading first, with no claim held: a query can take seconds, and
 *    a claim held that long would block the next collector as long after a
 *    crash;
 *  - then the group's sample claim (CLAIM_ONCE: a collector that finds
 *    another at work leaves the record to it and says collected: false),
 *    the record read, the sample appended, the record written, the claim
 *    released. Reading under the claim is what keeps two collectors from
 *    each appending to the same old record and losing the other's sample;
 *    and one sample per second at most (the record's newest is not older
 *    than now) is what makes a retried or doubled run write once.
 *  - a failed reading is stored too, as a failed sample: the governor must
 *    see that the newest reading failed and hold, not act on an older one. */
#include "metric_int.h"

#include "asg.h"
#include "claim.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "samples.h"
#include "signals.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long to contend for the claim before deciding another collector has
 * it. */
#define CLAIM_WAIT_MS 2000

/* One group's node records (node.h's reader): the capacity count, and the
 * active ones (for a source reading the load balancer). */
struct group_nodes {
    struct node_records all;
    int capacity;
    struct json_object **active; /* borrowed from all */
    size_t n_active;
};

static void nodes_clear(struct group_nodes *n)
{
    node_records_clear(&n->all);
    free(n->active);
    memset(n, 0, sizeof *n);
}

static int nodes_load(struct ds *ds, const char *group, struct group_nodes *out,
                      struct as_error *err)
{
    memset(out, 0, sizeof *out);
    if (node_records_load(ds, group, &out->all, err) < 0)
        return -1;
    out->capacity = (int)node_records_capacity(&out->all);
    out->active = xcalloc(out->all.count + 1, sizeof *out->active);
    for (size_t i = 0; i < out->all.count; i++)
        if (out->all.items[i].state == NODE_ACTIVE)
            out->active[out->n_active++] = out->all.items[i].rec;
    return 0;
}

/* The group's load balancer members as the haproxy source reads them:
 * one listing of its backend (lb_node_health), the stat the query names. */
static int read_members(struct ds *ds, const struct metric_params *p, const struct group *g,
                        const char *stat_name, const char *allowed,
                        const struct group_nodes *nodes, struct metric_member **out,
                        struct as_error *err)
{
    enum lb_stat stat;
    if (!lb_stat_lookup(stat_name, &stat))
        return as_fail(err, AS_EXIT_BADINPUT, "metric_rejected",
                       "haproxy: '%.60s' is not a stat the pack reads (scur, qcur, rate, "
                       "qtime, ctime, rtime, ttime)",
                       stat_name);
    /* The load balancer's settings as lb_sync would have them: the HAProxy
     * rows this action takes, every other provider's absent. */
    struct lb_params lp;
#define METRIC_LB_ABSENT_STR NULL
#define METRIC_LB_ABSENT_INT PARAM_ABSENT
#define METRIC_LB_ABSENT(n, kind, def, flags) lp.n = METRIC_LB_ABSENT_##kind;
#define METRIC_LB_COPY(n, kind, def, flags) lp.n = p->n;
    LB_PARAMS(METRIC_LB_ABSENT)
    LB_PARAMS_HAPROXY(METRIC_LB_COPY)
#undef METRIC_LB_COPY
#undef METRIC_LB_ABSENT
#undef METRIC_LB_ABSENT_INT
#undef METRIC_LB_ABSENT_STR
    lp.ca_bundle = p->ca_bundle;
    struct lb_ctx c;
    if (lb_ctx_open(&c, ds, g->name, &lp, allowed, err) < 0)
        return -1;
    int rc = -1;
    struct lb_node_health *h = xcalloc(nodes->n_active + 1, sizeof *h);
    if (!c.lb || strcmp(lb_ctx_provider(&c), "haproxy") != 0) {
        as_fail(err, AS_EXIT_BADINPUT, "metric_rejected",
                "group %s: metric_source haproxy needs lb_provider haproxy (it has %s)",
                g->name, lb_ctx_provider(&c));
    } else if (lb_node_health(&c, nodes->active, nodes->n_active, h, err) == 0) {
        *out = xcalloc(nodes->n_active + 1, sizeof **out);
        for (size_t i = 0; i < nodes->n_active; i++) {
            struct metric_member *m = &(*out)[i];
            snprintf(m->name, sizeof m->name, "%s", jx_str(nodes->active[i], "name", ""));
            m->up = h[i].health == LB_HEALTH_UP;
            m->value = h[i].stats_known && h[i].stats[stat] >= 0 ? (double)h[i].stats[stat]
                                                                 : -1;
        }
        rc = 0;
    }
    free(h);
    lb_ctx_close(&c);
    return rc;
}

/* The reading: 0 with *value, or -1 with e (a failed reading, or
 * "interrupted"). */
static int read_metric(struct ds *ds, const struct metric_params *p, const struct group *g,
                       const char *allowed, const struct group_nodes *nodes, double *value,
                       struct as_error *e)
{
    struct metric_request req = {.group = g->name};
    struct metric_member *members = NULL;
    char *query = metric_query_expand(g->metric_query, g->name, e);
    if (!query)
        return -1;
    req.query = query;
    int rc = 0;
    if (metric_source_reads_lb(g->metric_source)) {
        rc = read_members(ds, p, g, query, allowed, nodes, &members, e);
        req.members = members;
        req.n_members = nodes->n_active;
    }
    if (rc == 0)
        rc = metric_read(p, g->metric_source, &req, value, e);
    free(members);
    free(query);
    return rc;
}

/* Under the group's sample claim, append the sample: 0 written, 1 not
 * (*why says: another collector, or this second's sample exists), -1
 * with err. */
static int store_sample(struct ds *ds, const struct group *g, const struct gov_sample *s,
                        const char *code, long long now, const char **why,
                        struct as_error *err)
{
    struct claim cl;
    char lock[KEY_MAX], key[KEY_MAX], value[64], *text = NULL;
    snprintf(value, sizeof value, "{\"op\":\"metric_collect\",\"at\":%lld}", now);
    int rc = claim_take(ds, key_sample_lock(lock, g->name), value, CLAIM_TTL, CLAIM_ONCE,
                        CLAIM_WAIT_MS, &cl, err);
    if (rc == CLAIM_TAKEN)
        *why = "another collector holds the group's sample claim: nothing written";
    if (rc != CLAIM_WON)
        return rc;
    rc = ds_get(ds, key_samples(key, g->name), &text, err);
    if (rc >= 0) {
        struct json_object *rec = rc == 0 ? jx_parse_record(text) : NULL;
        struct gov_sample *old = NULL;
        int n = 0;
        samples_read(text, &old, &n);
        if (n > 0 && old[n - 1].at >= s->at) {
            *why = "a sample of this second is stored already: nothing written";
            rc = 1;
        } else {
            struct json_object *out = samples_append(rec, g->name, g->metric_source, s, code,
                                                     now);
            rc = claim_check(&cl, err);
            if (rc == 0)
                rc = ds_put(ds, key, json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),
                            0, err) < 0
                         ? -1
                         : 0;
            json_object_put(out);
        }
        free(old);
        json_object_put(rec);
        free(text);
    }
    claim_drop(ds, &cl);
    return rc;
}

static struct json_object *skipped(const char *group, const char *reason)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", group);
    jx_add_str(o, "reason", reason);
    return o;
}

int metric_collect_group(struct ds *ds, const struct metric_params *p, const char *name,
                         const char *allowed, long long now, bool write,
                         struct json_object **out, struct as_error *err)
{
    struct group g;
    struct group_nodes nodes;
    if (asg_load_spec(ds, name, &g, err) < 0)
        return -1;
    if (strcmp(g.status, "active") != 0 || !metric_source_reads(g.metric_source) ||
        g.target_value <= 0) {
        *out = skipped(name, strcmp(g.status, "active") != 0 ? "the group is being deleted"
                             : !metric_source_reads(g.metric_source)
                                 ? "the group has no metric_source"
                                 : "the group's target_value is 0 (target tracking off)");
        group_clear(&g);
        return 1;
    }
    if (nodes_load(ds, name, &nodes, err) < 0) {
        group_clear(&g);
        return -1;
    }
    struct as_error e;
    memset(&e, 0, sizeof e);
    struct gov_sample s = {.at = now, .nodes = nodes.capacity};
    s.ok = read_metric(ds, p, &g, allowed, &nodes, &s.value, &e) == 0;
    nodes_clear(&nodes);
    if (!s.ok && (as_interrupted() || as_error_is(&e, "interrupted"))) {
        group_clear(&g);
        return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                       "interrupted while reading group %s's metric; nothing written", name);
    }
    if (!s.ok)
        log_warn("metric: %s: %s: %s: %s", name, g.metric_source, e.code, e.message);

    const char *why = write ? NULL : "dry run: nothing written";
    int rc = write ? store_sample(ds, &g, &s, s.ok ? NULL : e.code, now, &why, err) : 1;
    if (rc < 0) {
        group_clear(&g);
        return -1;
    }
    *out = jx_new_object();
    jx_add_str(*out, "group", name);
    jx_add_str(*out, "source", g.metric_source);
    if (s.ok) {
        json_object_object_add(*out, "value", json_object_new_double(s.value));
    } else {
        struct json_object *eo = jx_new_object();
        jx_add_str(eo, "code", e.code);
        jx_add_str(eo, "message", e.message);
        json_object_object_add(*out, "error", eo);
    }
    jx_add_int(*out, "nodes", s.nodes);
    jx_add_int(*out, "at", now);
    jx_add_bool(*out, "collected", rc == 0);
    if (why)
        jx_add_str(*out, "message", why);
    group_clear(&g);
    return 0;
}

/* One group into the right list; a group that failed is logged, named in
 * *first (the first failure) and counted. */
static int collect_into(struct ds *ds, const struct metric_params *p, const char *name,
                        const char *allowed, long long now, bool write,
                        struct json_object *collected, struct json_object *skip, int *failed,
                        struct as_error *first)
{
    struct json_object *o = NULL;
    struct as_error e;
    memset(&e, 0, sizeof e);
    int rc = metric_collect_group(ds, p, name, allowed, now, write, &o, &e);
    if (rc >= 0) {
        json_object_array_add(rc == 0 ? collected : skip, o);
        return 0;
    }
    if (as_error_is(&e, "interrupted")) {
        *first = e;
        return -1;
    }
    log_error("metric: %s: %s: %s", name, e.code, e.message);
    if (!(*failed)++)
        *first = e;
    return 0;
}

int metric_collect(struct ds *ds, const struct metric_params *p, const char *name,
                   const char *allowed, long long now, bool write, struct json_object **out,
                   struct as_error *err)
{
    struct json_object *collected = jx_new_array(), *skip = jx_new_array();
    struct as_error first;
    int failed = 0, rc = 0;
    size_t total = 1;
    memset(&first, 0, sizeof first);
    if (name) {
        struct json_object *one = NULL;
        rc = metric_collect_group(ds, p, name, allowed, now, write, &one, &first);
        if (rc >= 0) {
            json_object_array_add(rc == 0 ? collected : skip, one);
            rc = 0;
        }
    } else {
        char prefix[KEY_MAX];
        struct ds_list l;
        memset(&l, 0, sizeof l);
        rc = ds_list(ds, key_spec_prefix(prefix), &l, &first);
        total = l.count;
        /* SIGTERM stops between groups: each group's write is whole. */
        for (size_t i = 0; rc == 0 && i < l.count; i++) {
            if (as_interrupted())
                rc = as_fail(&first, AS_EXIT_FAILURE, "interrupted",
                             "interrupted between groups");
            else
                rc = collect_into(ds, p, key_leaf(l.items[i].name), allowed, now, write,
                                  collected, skip, &failed, &first);
        }
        ds_list_clear(&l);
    }
    if (rc < 0 || failed) {
        json_object_put(collected);
        json_object_put(skip);
        if (err) {
            *err = first;
            if (failed)
                snprintf(err->message, sizeof err->message, "%d of %zu groups failed; first: %.200s",
                         failed, total, first.message);
        }
        return -1;
    }
    *out = jx_new_object();
    json_object_object_add(*out, "collected", collected);
    json_object_object_add(*out, "skipped", skip);
    jx_add_bool(*out, "dry_run", !write);
    return 0;
}
