/* health.h - is each node of a group working? Judged from what the pack can
 * see: the compute provider's state (ERROR, SHUTOFF, a local process gone),
 * the load balancer's own check (HAProxy `show stat` DOWN) and, when the
 * group sets health_check_path, an HTTP GET of that path on the node.
 *
 * One record per node, autoscale.health.<group>.<node>, written only by the
 * prober holding the group's health claim (key_health_lock, claim.h), so
 * two probes at once never interleave their read-count-write of `failures`:
 * the second one sees the claim held and leaves the records alone.
 *
 * Record: {"node","group","status":"healthy|unhealthy|grace",
 *  "failures": consecutive failed probes, "checked_at": epoch s,
 *  "since": epoch s the status began, "reason": one line a person reads,
 *  "checks": {"provider": "...", "lb": "...", "http": "..."}}.
 *
 * Rules (health_judge, pure):
 *  - only active nodes are judged; a building node has add_node's own
 *    timeout, a draining one is leaving anyway;
 *  - within health_grace seconds of the node becoming active (its record's
 *    updated_at, else created_at) the status is "grace": failures are not
 *    counted, since a booting service fails every check;
 *  - a probe fails when any source says so: provider state not active,
 *    LB status DOWN (or NOLB/MAINT set by someone else: not counted), HTTP
 *    not 2xx/3xx within the timeout; a source that cannot say (no LB, no
 *    path) does not count either way;
 *  - health_threshold consecutive failures make it "unhealthy"; below that
 *    a node keeps its status (one just out of grace is "healthy": nothing
 *    has shown otherwise); one passing probe makes it "healthy" again and
 *    resets failures;
 *  - a probe no source could answer is neither: count and status stay;
 *  - `since` changes only with the status, so an unhealthy node's `since`
 *    is when it crossed the threshold.
 * The governor reads only `status` (an unhealthy active node is not
 * capacity, governor.h). The probing itself (provider, LB, HTTP) is an
 * area above this one: lib/health/health_probe.h. */
#ifndef AS_HEALTH_H
#define AS_HEALTH_H

#include <json-c/json.h>
#include <stdbool.h>

#include "datastore.h"
#include "error.h"
#include "group.h"

enum health_status { HEALTH_GRACE, HEALTH_HEALTHY, HEALTH_UNHEALTHY };

const char *health_status_name(enum health_status s);
/* HEALTH_GRACE for anything unrecognised or absent. */
enum health_status health_status_parse(const char *s);

/* What one probe saw of one node. */
struct health_obs {
    bool provider_ok, provider_known; /* known: the provider answered for it */
    bool lb_ok, lb_known;             /* known: a member with a check result */
    bool http_ok, http_known;         /* known: a path is set and it was tried */
    char detail[200];                 /* the failing sources' words, one line */
};

/* The previous record's fields (all 0 / HEALTH_GRACE when none). */
struct health_prev {
    enum health_status status;
    long long failures, since;
};

struct health_verdict {
    enum health_status status;
    long long failures, since;
    char reason[256];
};

/* The pure rule above: active_since is when the node became active. */
void health_judge(const struct group *g, const struct health_prev *prev,
                  const struct health_obs *obs, long long active_since, long long now,
                  struct health_verdict *out);

/* The group's stored health records as an object node -> record (new), for
 * readers (asg_get, the governor's one-group input). */
int health_load(struct ds *ds, const char *group, struct json_object **out,
                struct as_error *err);

#endif
