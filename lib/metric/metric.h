/* metric.h - a group's metric, as target tracking reads it: ONE number per
 * group from a source (Prometheus, HAProxy's own statistics, New Relic
 * NRQL, or none), and the collector that stores it as the group's samples
 * (lib/model/samples.h) for the governor.
 *
 * The sources and the table of their operations are metric_int.h's
 * business; what the metric_collect action does with them is
 * metric_collect.c, once for every source. Actions parse their argv into
 * struct metric_params and pass it here: nothing below sees argv. */
#ifndef AS_METRIC_H
#define AS_METRIC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "lb.h"
#include "params.h"

/* The settings of every source, as parameters whose defaults st2 renders
 * from the pack config (key = parameter name). X(name, type, default
 * outside st2, flags). The haproxy source reads the group's load balancer
 * (lb.h), so it takes the load balancer's HAProxy rows; the New Relic key
 * is a credential (handed over in the environment, never logged). */
#define METRIC_PARAMS(X)                                                           \
    X(prometheus_url, STR, "http://127.0.0.1:9090", 0)                             \
    X(newrelic_api_url, STR, "https://api.newrelic.com/graphql", 0)                \
    X(newrelic_account_id, INT, "0", 0)                                            \
    X(newrelic_api_key, STR, NULL, PARAM_SECRET)                                   \
    LB_PARAMS_HAPROXY(X)                                                           \
    PARAMS_TLS(X)

struct metric_params {
    METRIC_PARAMS(PARAM_FIELD)
};
extern const struct param_desc metric_param_desc[];
extern const size_t metric_param_count;

/* Longest query text a group may keep (metric_query). */
#define METRIC_QUERY_MAX 1024

/* Whether a source of that name exists ("none" included). */
bool metric_source_known(const char *source);
/* Whether it reads anything: false for "none" (and unknown names). */
bool metric_source_reads(const char *source);
/* Whether it reads the group's load balancer members (haproxy) rather than
 * sending the query somewhere. */
bool metric_source_reads_lb(const char *source);

/* A load balancer member as the haproxy source sees it. */
struct metric_member {
    char name[64];
    bool up;      /* its check says UP */
    double value; /* the stat the query names; < 0: not reported */
};

struct metric_request {
    const char *group;  /* the group's name: a DNS label */
    const char *query;  /* as the group's spec has it; "$group" is replaced */
    /* metric_source_reads_lb sources: the group's members (borrowed) */
    const struct metric_member *members;
    size_t n_members;
};

/* The group's one number from `source`: 0 with *value (finite), or -1 with
 * err (a metric_* code, or the HTTP client's: never a value made up). */
int metric_read(const struct metric_params *p, const char *source,
                const struct metric_request *req, double *value, struct as_error *err);

/* The query with every "$group" replaced by group (new), or NULL with err
 * when the query is missing, too long or has a control character. */
char *metric_query_expand(const char *query, const char *group, struct as_error *err);

struct ds;

/* metric_collect for one group: read its metric (without any claim held),
 * count its capacity nodes (building + active), then under the group's
 * sample claim append the sample (a failed one on a failed read) to
 * autoscale.samples.<group>. write false (dry run): read and report only.
 * Returns 0 with *out (new) {group, source, value | error {code, message},
 * nodes, collected: bool (false: another collector held the claim, or a
 * dry run: nothing written)}; 1 when the group is not collected (no
 * metric_source, target_value 0, being deleted) with *out (new) {group,
 * reason}; -1 with err (unknown group, datastore, SIGTERM). */
int metric_collect_group(struct ds *ds, const struct metric_params *p, const char *group,
                         const char *allowed, long long now, bool write,
                         struct json_object **out, struct as_error *err);

/* The action: group `name` (NULL: every group, in name order; SIGTERM
 * stops between groups), each as metric_collect_group. *out (new):
 * {collected: [...], skipped: [...], dry_run}. -1 with err: an unknown
 * group, the datastore, "interrupted", or (every group) any group that
 * failed (the others still collected; err names the first). */
int metric_collect(struct ds *ds, const struct metric_params *p, const char *name,
                   const char *allowed, long long now, bool write, struct json_object **out,
                   struct as_error *err);

#endif
