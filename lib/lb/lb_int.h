/* lb_int.h - the load balancer provider interface: one table of operations
 * per kind of load balancer, so a new one is one file (lib/lb_<name>.c),
 * one extern below and one line in lb.c's table.
 *
 * A provider knows members of one backend (HAProxy servers, droplets of a
 * DigitalOcean load balancer); it knows nothing of groups, node records or
 * the datastore. What the actions do with members - add and enable, drain
 * and wait, remove, bring a whole backend back in line with the node
 * records - is lb_member.c, above this interface, once for every provider.
 *
 * Included by lb.c (the table), lb_member.c (the one caller of the
 * operations) and the providers; never by actions or other areas (lb.h).
 *
 * Every name a provider puts into a command or URL has passed lb_name_ok()
 * (or the provider's own stricter check, such as a droplet id's) first: a
 * name that could smuggle a command (space, ';', newline) never reaches a
 * socket. */
#ifndef AS_LB_INT_H
#define AS_LB_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "lb.h"

enum lb_admin {
    LB_READY, /* takes new traffic (whatever its health) */
    LB_DRAIN, /* finishes what it has, gets nothing new */
    LB_MAINT  /* out of rotation (a dynamic HAProxy server starts here) */
};

struct lb_member {
    char key[64];       /* its identity: server name (haproxy), droplet id (digitalocean) */
    char address[64];   /* IP, "" when the provider does not say */
    int port;           /* 0 when the provider does not say */
    enum lb_admin admin;
    char status[32];    /* the provider's own words: "UP 1/3", "DOWN", "MAINT", "active" */
    long long sessions; /* current sessions, -1 when unknown */
    bool stats_known;   /* stats[] filled (HAProxy's "show stat"; lb.h LB_STATS) */
    long long stats[LB_STAT_COUNT]; /* -1: the column was empty */
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
    /* A member's status carries the provider's own check of it (HAProxy's
     * "UP"/"DOWN"); false: the provider checks members but does not say
     * per member (DigitalOcean's status is the load balancer's own). */
    bool member_checks;
    /* settings: this provider's keys without prefix (see LB_PARAMS);
     * backend: the validated backend name. Does no I/O. NULL: the provider
     * is no load balancer at all ("none"): no settings, nothing to open,
     * and every other operation NULL too. */
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
    /* Health checks on (if configured) and ready. Idempotent. was: the
     * member's state as the caller last saw it (LB_MAINT right after add),
     * so the provider need not look again. NULL: add is enough. */
    int (*enable)(struct lb *lb, const char *key, enum lb_admin was, struct as_error *err);
    /* No new traffic: 1 done, 0 absent, -1 error. NULL: the provider cannot
     * drain one member (removal is then immediate). */
    int (*drain)(struct lb *lb, const char *key, struct as_error *err);
    /* Take it out: 1 removed, 0 was absent, -1 error. A provider that must
     * wait for connections to end (HAProxy refuses to delete a server that
     * has some) retries with backoff until deadline_ms (as_mono_ms clock,
     * clock.h), then fails with "lb_busy". cut: end the member's sessions
     * first. */
    int (*remove)(struct lb *lb, const char *key, long long deadline_ms, bool cut,
                  struct as_error *err);
    void (*close)(struct lb *lb);
    long poll_ms; /* between two looks at a draining member's sessions */
};

extern const struct lb_ops lb_none_ops;
extern const struct lb_ops lb_haproxy_ops;
extern const struct lb_ops lb_digitalocean_ops;

/* The provider of that name ("none" included), or NULL. */
const struct lb_ops *lb_lookup(const char *name);

/* The provider of c->group's lb_provider into c->ops, its settings built
 * from p and the group (lb_settings) and, unless it is "none", opened on
 * c->backend into c->lb, with c->server_port set. 0, or -1 with err. */
int lb_open(struct lb_ctx *c, const struct lb_params *p, const char *allowed,
            struct as_error *err);

/* A name safe to put into a command or URL: 1 to 63 of [A-Za-z0-9_.:-]
 * (HAProxy's own rule for proxy and server names). */
bool lb_name_ok(const char *s);

#endif
