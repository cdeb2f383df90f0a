/* group.h - the autoscaling group (ASG) model: its spec, defaults and
 * validation. The spec is stored as one flat JSON object whose keys are the
 * very parameter names of asg_create/asg_update, so one X-macro list
 * (GROUP_FIELDS) drives the struct, the typed parameters (struct
 * group_params; the actions' table rows are AS_GROUP_ROW in st2.h), the
 * defaults, the JSON and validation. */
#ifndef AS_GROUP_H
#define AS_GROUP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "params.h"

#define GROUP_NAME_MAX 31

/* X(name, kind INT|STR, default (YAML literal or NULL), pack config key or
 *   NULL, lowest, highest (INT), check function (STR) or NULL)
 * Defaults follow the 2015 original (min 3, max 20, out by 5 every 10 min,
 * in by 2 every 30 min): scale-in is slower than scale-out on purpose, since
 * removing capacity too early costs more than keeping it a little longer.
 * desired -1 means "not set". compute_provider has no default: asg_define
 * refuses a group that does not name one (nor the pack config), so no
 * production st2 starts the local provider's demo processes on its action
 * runner by accident. An incident open longer than
 * incident_max_age (6 h) no longer counts, so a lost recovery webhook cannot
 * pin a group at max for ever. alert_match: comma-separated policy,
 * condition, application or entity names that route an event naming no
 * group to this one.
 *
 * Health (lib/model/health.h): a node is judged by its provider's state, its
 * load balancer's check and, when health_check_path is set, an HTTP GET of
 * that path on the node; failures count only health_grace seconds after it
 * became active, and health_threshold consecutive ones make it unhealthy.
 * health_replace 1 replaces unhealthy nodes (new one up first), 0 only
 * reports them. min_healthy (-1: min) is the fewest healthy nodes a
 * replacement may leave. Controls (lib/model/controls.h): suspend_* stop
 * one process of the governor each (1 = suspended); protect_new protects
 * every new node from scale-in.
 *
 * Target tracking (governor.h, rule 7m): with metric_source set (not
 * "none") and target_value > 0, the governor keeps the per-node metric
 * metric_query reads (lib/metric/; "$group" in it names the group) at
 * target_value, within target_tolerance percent, as Kubernetes' HPA does:
 * desired = ceil(nodes x value / target). A scale-out follows the lowest
 * recommendation of the last scale_out_window seconds, a scale-in the
 * highest of the last scale_in_window (so a dip does not shed capacity a
 * spike will want back); steps and cooldowns still limit each move. A
 * newest sample that failed, or is older than metric_max_age, holds the
 * group where it is.
 *
 * Warm pool (lib/compute/node_pool.h, issue 17): warm_pool nodes kept built,
 * configured and in DNS but out of the LB (node.h "warm"), so that a
 * scale-out takes them instead of waiting for a build; they count toward
 * neither capacity nor max. DigitalOcean cannot park one yet: a group on
 * it is refused a warm_pool above 0. */
#define GROUP_FIELDS(X)                                                              \
    X(min, INT, "3", NULL, 0, 1000, NULL)                                            \
    X(max, INT, "20", NULL, 1, 1000, NULL)                                           \
    X(desired, INT, NULL, NULL, -1, 1000, NULL)                                      \
    X(scale_out_step, INT, "5", NULL, 1, 1000, NULL)                                 \
    X(scale_out_cooldown, INT, "600", NULL, 0, 604800, NULL)                         \
    X(scale_in_step, INT, "2", NULL, 1, 1000, NULL)                                  \
    X(scale_in_cooldown, INT, "1800", NULL, 0, 604800, NULL)                         \
    X(warning_step, INT, "1", NULL, 1, 1000, NULL)                                   \
    X(incident_max_age, INT, "21600", NULL, 60, 604800, NULL)                        \
    X(alert_match, STR, NULL, NULL, 0, 0, check_alert_match)                         \
    X(compute_provider, STR, NULL, "compute_provider", 0, 0, check_compute)          \
    X(flavor, STR, NULL, "flavor", 0, 0, check_cloud_name)                           \
    X(image, STR, NULL, "image", 0, 0, check_cloud_name)                             \
    X(network, STR, NULL, "network", 0, 0, check_cloud_name)                         \
    X(key_pair, STR, NULL, "key_pair", 0, 0, check_cloud_name)                       \
    X(user_data, STR, NULL, NULL, 0, 0, check_user_data)                             \
    X(dns_provider, STR, "none", "dns_provider", 0, 0, check_dns_provider)           \
    X(dns_zone, STR, NULL, "dns_zone", 0, 0, check_zone)                             \
    X(lb_provider, STR, "none", "lb_provider", 0, 0, check_lb_provider)              \
    X(lb_backend, STR, NULL, "lb_backend", 0, 0, check_lb_backend)                   \
    X(run_list, STR, NULL, "run_list", 0, 0, check_run_list)                         \
    X(notify_channel, STR, NULL, "notify_channel", 0, 0, check_channel)          \
    X(health_check_path, STR, NULL, NULL, 0, 0, check_health_path)                \
    X(health_grace, INT, "300", NULL, 0, 86400, NULL)                             \
    X(health_threshold, INT, "3", NULL, 1, 100, NULL)                             \
    X(health_replace, INT, "1", NULL, 0, 1, NULL)                                 \
    X(min_healthy, INT, NULL, NULL, -1, 1000, NULL)                               \
    X(suspend_scale_out, INT, "0", NULL, 0, 1, NULL)                              \
    X(suspend_scale_in, INT, "0", NULL, 0, 1, NULL)                               \
    X(suspend_replace, INT, "0", NULL, 0, 1, NULL)                                \
    X(protect_new, INT, "0", NULL, 0, 1, NULL)                                    \
    X(metric_source, STR, "none", NULL, 0, 0, check_metric_source)                \
    X(metric_query, STR, NULL, NULL, 0, 0, check_metric_query)                    \
    X(target_value, INT, "0", NULL, 0, 1000000000, NULL)                          \
    X(target_tolerance, INT, "10", NULL, 0, 100, NULL)                            \
    X(scale_out_window, INT, "0", NULL, 0, 3600, NULL)                            \
    X(scale_in_window, INT, "300", NULL, 0, 3600, NULL)                           \
    X(metric_max_age, INT, "120", NULL, 10, 3600, NULL)                          \
    X(warm_pool, INT, "0", NULL, 0, 100, NULL)

/* The per-server statistics a "haproxy" metric_query may name (the lb
 * area's LB_STATS: lb.h says what each is). */
#define GROUP_LB_STATS(X) X(scur) X(qcur) X(rate) X(qtime) X(ctime) X(rtime) X(ttime)

#define GROUP_DECL_INT(n) long long n;
#define GROUP_DECL_STR(n) char *n;
#define GROUP_DECL(n, kind, def, cfg, lo, hi, check) GROUP_DECL_##kind(n)

struct group {
    char name[GROUP_NAME_MAX + 1];
    GROUP_FIELDS(GROUP_DECL)
    struct json_object *settings; /* per-group provider overrides, or NULL */
    char status[16];              /* "active" or "deleting" */
    /* When an operator last asked for a forced resize (asg_resize force):
     * the governor skips cooldowns once to reach desired while no scaling
     * operation has started since (governor.h). 0: never. Not a parameter
     * of asg_define/asg_update: only asg_resize sets it. */
    long long forced_at;
    long long created_at, updated_at;
};

/* The spec fields as an action parsed them (as_args_fill with
 * group_param_desc): absent is NULL / PARAM_ABSENT (params.h), and a string
 * given as "" clears its field. asg_define's parameters carry each field's
 * default, asg_update's none, so there only what is given is present. */
#define GROUP_PARAM_FIELD(n, kind, def, cfg, lo, hi, check) PARAM_CTYPE_##kind n;
struct group_params {
    GROUP_FIELDS(GROUP_PARAM_FIELD)
};
extern const struct param_desc group_param_desc[];
extern const size_t group_param_count;

struct ds;

/* Whether group `name` has a spec record, without reading it whole: 0, or
 * -1 with err (AS_EXIT_BADINPUT "unknown_group" when it has none). For
 * modules below asg.h (history, controls) that only need to refuse an
 * unknown group; a spec being deleted still exists. */
int group_exists(struct ds *ds, const char *name, struct as_error *err);

/* Validate a group name: a DNS label (it becomes part of host names and LB
 * server names), ^[a-z]([a-z0-9-]{0,29}[a-z0-9])?$. */
int group_check_name(const char *name, struct as_error *err);

void group_init(struct group *g, const char *name); /* defaults */
/* Free what g holds and leave it empty (a second clear is harmless). */
void group_clear(struct group *g);

/* Set every field present in p (see struct group_params). */
void group_apply(struct group *g, const struct group_params *p);

/* Each field present in p against its own rule (range, charset), without a
 * stored spec: lets asg_update refuse before its first write (the spec
 * lock). Whole-spec rules wait for group_validate. */
int group_check_given(const struct group_params *p, struct as_error *err);

/* Target tracking is on: a metric source (not "none") and a target. */
bool group_tracks_target(const struct group *g);

/* Whole-spec checks: each field's own rule, then min <= desired <= max. */
int group_validate(const struct group *g, struct as_error *err);

struct json_object *group_to_json(const struct group *g);
/* From a stored record; missing fields take defaults. */
int group_from_json(struct group *g, struct json_object *o, struct as_error *err);

/* Names of the spec fields that differ (timestamps and status ignored),
 * comma-separated into buf; returns how many differ. For idempotent create
 * and for reporting what an update changed. */
int group_diff(const struct group *a, const struct group *b, char *buf,
               size_t size);

#endif
