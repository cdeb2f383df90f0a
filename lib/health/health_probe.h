/* health_probe.h - look at every active node of a group and judge it
 * (lib/model/health.h): the compute provider's state (compute_list), the
 * load balancer's check (its member status) and the optional HTTP check.
 * What the health_check action runs, on a timer rule and by hand. */
#ifndef AS_HEALTH_PROBE_H
#define AS_HEALTH_PROBE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "datastore.h"
#include "error.h"
#include "lb.h"
#include "nodes.h"

/* What one source said of one node, typed: what a program decides from
 * (health_wait). The words of each record's "checks" are for people and
 * may be reworded; these values are the contract. */
enum health_check {
    HEALTH_CHECK_NOT_CONFIGURED, /* the group has no such check: no load
                                  * balancer, a member HAProxy runs no check
                                  * on ("no check"), no health_check_path */
    HEALTH_CHECK_UNKNOWN,        /* there is one, but it could not say this
                                  * time (unreachable, no usable address,
                                  * not a member, MAINT/DRAIN, ...) */
    HEALTH_CHECK_PASS,
    HEALTH_CHECK_FAIL, /* fails now; may pass later (building, DOWN, 5xx) */
    HEALTH_CHECK_LOST  /* the provider's only: fails for good, the machine
                        * gone or in error by the provider's word */
};
enum health_source { HEALTH_SOURCE_PROVIDER, HEALTH_SOURCE_LB, HEALTH_SOURCE_HTTP,
                     HEALTH_SOURCE_COUNT };

/* One probed node: check[s] what source s said of it. */
struct health_node_checks {
    char node[64];
    enum health_check check[HEALTH_SOURCE_COUNT];
};

/* Every node of one probe, in the order of its output's "nodes". */
struct health_checks {
    struct health_node_checks *nodes; /* owned; health_checks_clear frees it */
    size_t n;
};

/* The node's entry, or NULL when the probe did not judge it (not an
 * active node of the group). */
const struct health_node_checks *health_checks_find(const struct health_checks *c,
                                                    const char *node);
/* Free what c holds and empty it; c itself is the caller's. */
void health_checks_clear(struct health_checks *c);

struct health_probe_opts {
    bool write;           /* false: judge and report, write nothing (dry run) */
    long http_timeout_ms; /* per node HTTP check; <= 0: 2000 */
};

/* Probe every active node of the group nc was opened on (lb: its load
 * balancer, opened; "none" is fine, and so is NULL) and judge each one;
 * when opts->write, store each verdict under the group's health claim
 * (taken after the probe, for the read-judge-write only) and delete the
 * records of nodes that no longer have a node record. *out (new):
 * {"group","probed":bool (false when another prober held the claim:
 * nothing judged nor written),"dry_run":bool,"nodes":[{node, group,
 * status, failures, checked_at, since, reason, checks}] (each the record
 * written),"unhealthy": n,"forgotten":[node names whose records went]}.
 * A provider or LB that cannot be reached makes its source unknown for
 * every node, never a failure of the probe. 0, or -1 with err (datastore,
 * SIGTERM: "interrupted", nothing written after it). */
int health_probe_group(struct ds *ds, struct node_ctx *nc, struct lb_ctx *lb, long long now,
                       const struct health_probe_opts *opts, struct json_object **out,
                       struct as_error *err);

/* health_probe_group, and also *checks (the caller's, filled on 0 only:
 * free with health_checks_clear) each judged node's typed checks, the same
 * observations the words of its "checks" describe; empty when another
 * prober held the claim. */
int health_probe_group_checks(struct ds *ds, struct node_ctx *nc, struct lb_ctx *lb,
                              long long now, const struct health_probe_opts *opts,
                              struct json_object **out, struct health_checks *checks,
                              struct as_error *err);

#endif
