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

#endif
