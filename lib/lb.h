/* lb.h - the load balancer interface: one table of operations per kind of
 * load balancer (like compute.h), so a new one is one file (lib/lb_<name>.c)
 * and one line in lb.c's table.
 *
 * A provider knows members of one backend (HAProxy servers, droplets of a
 * DigitalOcean load balancer); it knows nothing of groups, node records or
 * the datastore. What the actions do with them - add and enable, drain and
 * wait, remove, bring a whole backend back in line with the node records -
 * lives in lb.c, above this interface, once for every provider.
 *
 * Everything a provider puts into a command or URL has been validated here
 * first (lb_name_ok, lb_check_target): a name that could smuggle a command
 * (space, ';', newline) never reaches a socket. */
#ifndef AS_LB_H
#define AS_LB_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "group.h"
#include "params.h"
#include "st2.h"

/* The provider settings every lb_* action takes, as parameters whose
 * defaults st2 renders from the pack config (key = parameter name).
 * X(name, type INT|STR, default outside st2, flags).
 * A parameter "<provider>_<key>" reaches that provider as settings[key],
 * "lb_<key>" reaches every provider as settings[key], ca_bundle as itself;
 * a group's own `settings.<provider>` object then overrides key by key, as
 * far as lib/settings.c lets a group.
 * haproxy_check is a string ("on"/"off"), not a boolean: st2 passes a false
 * boolean as nothing at all, so a boolean defaulting to true could never be
 * turned off. */
#define LB_PARAMS(X)                                                               \
    X(haproxy_socket, STR, NULL, 0)                                                \
    X(haproxy_check, STR, "on", 0)                                                 \
    X(lb_server_port, INT, "80", 0)                                                \
    PARAMS_DIGITALOCEAN(X)                                                         \
    X(digitalocean_lb_id, STR, NULL, 0)                                            \
    PARAMS_TLS(X)

struct lb_params {
    LB_PARAMS(PARAM_FIELD)
};
extern const struct param_desc lb_param_desc[];
extern const size_t lb_param_count;

/* lb_remove's and lb_sync's drain_timeout: seconds, config lb_drain_timeout. */
#define LB_DRAIN_PARAM {"drain_timeout", AS_T_INTEGER, 0, "60", "lb_drain_timeout", AS_NAMED},
#define LB_DRAIN_MAX_S 3600

/* ------------------------------------------------------------ providers -- */

enum lb_admin {
    LB_READY, /* takes new traffic (whatever its health) */
    LB_DRAIN, /* finishes what it has, gets nothing new */
    LB_MAINT  /* out of rotation (a dynamic HAProxy server starts here) */
};

const char *lb_admin_name(enum lb_admin a); /* "ready", "drain", "maint" */

struct lb_member {
    char key[64];       /* its identity: server name (haproxy), droplet id (digitalocean) */
    char address[64];   /* IP, "" when the provider does not say */
    int port;           /* 0 when the provider does not say */
    enum lb_admin admin;
    char status[32];    /* the provider's own words: "UP 1/3", "DOWN", "MAINT", "active" */
    long long sessions; /* current sessions, -1 when unknown */
};

/* A node as the load balancer should hold it. */
struct lb_target {
    const char *name;        /* node name: the HAProxy server name */
    const char *address;     /* IPv4 */
    int port;
    const char *provider_id; /* the compute provider's id (droplet id), or NULL */
};

struct lb; /* an open session with one backend of one provider */

struct lb_ops {
    const char *name;
    /* Members are keyed by the node's provider_id (true) or name (false). */
    bool by_id;
    /* settings: this provider's keys without prefix (see LB_PARAMS);
     * backend: the validated backend name. Does no I/O. */
    struct lb *(*open)(struct json_object *settings, const char *backend,
                       struct as_error *err);
    /* Every member of the backend (*out malloc'd, may be NULL when *n is 0).
     * An unknown backend is AS_EXIT_BADINPUT "lb_backend_not_found". */
    int (*list)(struct lb *lb, struct lb_member **out, size_t *n, struct as_error *err);
    /* One member: 1 found (*out filled), 0 absent, -1 error. */
    int (*get)(struct lb *lb, const char *key, struct lb_member *out,
               struct as_error *err);
    /* Put the target in: 1 added, 0 a member with this key already exists
     * (the caller compares addresses), -1 error. When enable is not NULL the
     * new member takes no traffic until enabled. */
    int (*add)(struct lb *lb, const struct lb_target *t, struct as_error *err);
    /* Health checks on (if configured) and ready. Idempotent. NULL: add is
     * enough. */
    int (*enable)(struct lb *lb, const char *key, struct as_error *err);
    /* No new traffic: 1 done, 0 absent, -1 error. NULL: the provider cannot
     * drain one member (removal is then immediate). */
    int (*drain)(struct lb *lb, const char *key, struct as_error *err);
    /* Take it out: 1 removed, 0 was absent, -1 error. A provider that must
     * wait for connections to end (HAProxy refuses to delete a server that
     * has some) retries with backoff until deadline_ms (lb_mono_ms clock),
     * then fails with "lb_busy". cut: end the member's sessions first. */
    int (*remove)(struct lb *lb, const char *key, long long deadline_ms, bool cut,
                  struct as_error *err);
    void (*close)(struct lb *lb);
    long poll_ms; /* between two looks at a draining member's sessions */
};

/* The provider of that name, or NULL ("none" has none). */
const struct lb_ops *lb_lookup(const char *name);

/* Settings for `provider` from the parsed LB_PARAMS, then the group's
 * settings.<provider> overrides, as far as lib/settings.c lets a group (the
 * action's table needs SETTINGS_ALLOW_PARAM). 0 with *out a new object, or
 * -1 with err. */
int lb_settings(const struct lb_params *p, const char *provider, const struct group *g,
                const char *allowed, struct json_object **out, struct as_error *err);

/* Settings helpers for providers: a non-empty string or NULL; an integer
 * (fallback when absent; a string of digits counts). */
const char *lb_setting(struct json_object *settings, const char *key);
long long lb_setting_int(struct json_object *settings, const char *key, long long fallback);

/* A name safe to put into a command or URL: 1 to 63 of [A-Za-z0-9_.:-]
 * (HAProxy's own rule for proxy and server names). */
bool lb_name_ok(const char *s);

/* A monotonic clock in milliseconds, for deadlines. */
long long lb_mono_ms(void);

/* -------------------------------------------------------------- actions -- */

struct ds;
struct as_ctx;

struct lb_ctx {
    struct group group;
    struct ds *ds;
    const struct lb_ops *ops; /* NULL when the group's lb_provider is "none" */
    struct lb *lb;
    char backend[64];         /* the group's lb_backend, else its name */
    int server_port;          /* for nodes whose record has no port */
};

/* Load the group named by the "name" parameter, validate its backend and
 * open its provider with lb_settings(). */
int lb_ctx_open(struct lb_ctx *c, struct as_ctx *ctx, struct as_error *err);
void lb_ctx_close(struct lb_ctx *c);

/* lb_add: the node (active, with an address) in the backend and taking
 * traffic. A half-added member is removed again when a later step fails. */
int lb_add_node(struct lb_ctx *c, const char *node, struct json_object **out,
                struct as_error *err);
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
 * c->ops must not be NULL. */
int lb_node_sessions(const struct lb_ctx *c, struct json_object *const *recs, size_t n,
                     long long *sessions, struct as_error *err);

#endif
