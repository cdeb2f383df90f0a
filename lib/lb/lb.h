/* lb.h - the load balancer, as the actions see it: open a group's load
 * balancer, then add a node to it, take one out, or bring the whole backend
 * in line with the node records (lb_add, lb_remove, lb_sync), or read each
 * node's sessions (node_pick's least_loaded) or check (health_check).
 *
 * The providers themselves (HAProxy, DigitalOcean, "none") and the table
 * of operations they fill are lb_int.h's business; what the actions do with
 * them is lb_member.c, once for every provider. Actions parse their argv
 * into struct lb_params and pass it here: nothing below sees argv. */
#ifndef AS_LB_H
#define AS_LB_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "group.h"
#include "params.h"

/* The provider settings every lb_* action (and node_pick) takes, as
 * parameters whose defaults st2 renders from the pack config (key =
 * parameter name). X(name, type INT|STR, default outside st2, flags).
 * A parameter "<provider>_<key>" reaches that provider as settings[key],
 * "lb_<key>" reaches every provider as settings[key], ca_bundle as itself;
 * a group's own `settings.<provider>` object then overrides key by key, as
 * far as lib/model/settings.c lets a group.
 * haproxy_check is a string ("on"/"off"), not a boolean: st2 passes a false
 * boolean as nothing at all, so a boolean defaulting to true could never be
 * turned off. */
#define LB_PARAMS(X)                                                               \
    LB_PARAMS_HAPROXY(X)                                                           \
    PARAMS_DIGITALOCEAN(X)                                                         \
    LB_PARAMS_DIGITALOCEAN_LB(X)                                                   \
    PARAMS_TLS(X)
#define LB_PARAMS_HAPROXY(X)                                                       \
    X(haproxy_socket, STR, NULL, 0)                                                \
    X(haproxy_check, STR, "on", 0)                                                 \
    X(lb_server_port, INT, "80", 0)
#define LB_PARAMS_DIGITALOCEAN_LB(X) X(digitalocean_lb_id, STR, NULL, 0)
/* The rows an action taking COMPUTE_PARAMS as well adds for its load
 * balancer (health_check): the shared DigitalOcean and TLS rows once, since
 * a parameter twice in one table would be read twice from st2's env. */
#define LB_PARAMS_NOT_COMPUTE(X) LB_PARAMS_HAPROXY(X) LB_PARAMS_DIGITALOCEAN_LB(X)

struct lb_params {
    LB_PARAMS(PARAM_FIELD)
};
extern const struct param_desc lb_param_desc[];
extern const size_t lb_param_count;

/* lb_remove's and lb_sync's drain_timeout: seconds, config lb_drain_timeout.
 * A row of an action's parameter table (st2.h). */
#define LB_DRAIN_PARAM {"drain_timeout", AS_T_INTEGER, 0, "60", "lb_drain_timeout", AS_NAMED},
#define LB_DRAIN_MAX_S 3600

/* Settings for `provider` from the parsed LB_PARAMS, then the group's
 * settings.<provider> overrides, as far as lib/model/settings.c lets a group (the
 * action's table needs SETTINGS_ALLOW_PARAM). 0 with *out a new object, or
 * -1 with err. */
int lb_settings(const struct lb_params *p, const char *provider, const struct group *g,
                const char *allowed, struct json_object **out, struct as_error *err);

struct ds;
struct lb;
struct lb_ops;

/* A group's load balancer, open. */
struct lb_ctx {
    struct group group;
    struct ds *ds;
    const struct lb_ops *ops; /* its provider (lb_int.h) */
    struct lb *lb;            /* NULL: the group has no load balancer (none) */
    char backend[64];         /* the group's lb_backend, else its name */
    int server_port;          /* for nodes whose record has no port */
};

/* Load group `name` from ds, validate its backend and open its provider
 * with lb_settings(p, ..., allowed). A group whose lb_provider is "none"
 * opens too, with c->lb NULL: every action then says there is nothing to
 * do. */
int lb_ctx_open(struct lb_ctx *c, struct ds *ds, const char *name, const struct lb_params *p,
                const char *allowed, struct as_error *err);
void lb_ctx_close(struct lb_ctx *c);

/* The provider's name: "none", "haproxy", "digitalocean". */
const char *lb_ctx_provider(const struct lb_ctx *c);

/* lb_add: the node (active, with an address) in the backend and taking
 * traffic. A half-added member is removed again when a later step fails.
 * Returns once the member's health check has passed (a provider with no
 * verdict: at once); still failing after check_timeout_s is
 * "lb_unhealthy", the member left in (it joins when the check passes). */
#define LB_CHECK_PARAM                                                                    \
    {"check_timeout", AS_T_INTEGER, 0, "60", "lb_check_timeout", AS_NAMED},
#define LB_CHECK_MAX_S 3600
int lb_add_node(struct lb_ctx *c, const char *node, long long check_timeout_s,
                struct json_object **out, struct as_error *err);
/* lb_remove: drain, wait until its sessions end or drain_s passes (then
 * cut them and say so), remove. An absent member is success, changed=false,
 * and so is an absent node record (a previous run removed the node): the
 * member is then looked up by the node's name where the provider keys
 * members by name, and reported unidentifiable (changed=false) where it
 * keys them by the compute provider's id. */
int lb_remove_node(struct lb_ctx *c, const char *node, long long drain_s,
                   struct json_object **out, struct as_error *err);
/* lb_sync: every active node present and enabled, every other member
 * ("stranger") drained and removed. */
int lb_sync_group(struct lb_ctx *c, long long drain_s, bool dry_run,
                  struct json_object **out, struct as_error *err);

/* node_pick's least_loaded: the current sessions of each node's member
 * (recs[i] a node record) from one listing of the backend, into
 * sessions[i]: 0 when the node is not in the backend (it serves nothing),
 * -1 when the provider does not say (or the record cannot name a member).
 * c->lb must not be NULL. */
int lb_node_sessions(const struct lb_ctx *c, struct json_object *const *recs, size_t n,
                     long long *sessions, struct as_error *err);

/* health_check's load balancer source (lib/health/health_probe.h): what the
 * provider's own check says of each node's member (recs[i] a node record),
 * from one listing of the backend. UP: the check passes ("UP", "UP 1/3":
 * still up while it counts failures); DOWN: it fails ("DOWN", "DOWN 1/2":
 * down until it counts passes); NO_CHECK: a member with no verdict to wait
 * for - HAProxy runs no check on it ("no check"), or the provider does not
 * report one per member (DigitalOcean: its status is the load balancer's
 * own; a refresh waiting on it would wait for ever); UNKNOWN: the provider
 * cannot say of this member - not in the backend (lb_sync's business, not
 * the node's), or taken out by a person (MAINT, DRAIN, NOLB).
 * status[i]: the provider's words, "" when absent;
 * stats[i]: its LB_STATS when the provider reports them.
 * c->lb must not be NULL. 0, or -1 with err (nothing filled). */
enum lb_health { LB_HEALTH_UNKNOWN, LB_HEALTH_UP, LB_HEALTH_DOWN, LB_HEALTH_NO_CHECK };
/* The per-member numbers a metric may read from the same listing
 * (lib/metric/, the haproxy source): HAProxy's "show stat" columns of
 * current sessions, queued requests, new sessions in the last second, and
 * the average queue, connect, response and total times (ms) over the last
 * 1024 requests. Only a provider that reports them fills them. The list
 * is group.h's, which a group's metric_query is checked against. */
#define LB_STATS(X) GROUP_LB_STATS(X)
#define LB_STAT_ENUM(n) LB_STAT_##n,
enum lb_stat { LB_STATS(LB_STAT_ENUM) LB_STAT_COUNT };
/* The stat named so: 1 with *out, 0 when no stat has that name. */
int lb_stat_lookup(const char *name, enum lb_stat *out);
struct lb_node_health {
    enum lb_health health;
    char status[32];
    bool stats_known;                 /* the provider reported stats[] for it */
    long long stats[LB_STAT_COUNT];   /* -1: the column was empty */
};
int lb_node_health(const struct lb_ctx *c, struct json_object *const *recs, size_t n,
                   struct lb_node_health *out, struct as_error *err);

#endif
