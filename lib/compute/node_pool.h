/* node_pool.h - the warm pool's bookkeeping (issue 17): how many nodes a
 * group's pool lacks, and handing warm nodes to a scale-out. Only records
 * change here; the machines are nodes.h's (node_park, node_activate).
 *
 * A group keeps warm_pool (group.h) nodes warm: built, configured, in DNS,
 * not in the LB, counted toward neither capacity nor max (node.h). */
#ifndef AS_NODE_POOL_H
#define AS_NODE_POOL_H

#include <json-c/json.h>
#include <stdbool.h>

#include "datastore.h"
#include "error.h"

#define POOL_TAKE_MAX 1000
#define POOL_LOCK_WAIT_MS 20000 /* how long a pool_take waits for another */

/* group NULL: every group. One group: {group, warm_pool, warm, warming,
 * outdated, need, surplus, remove, marked}. warm counts the warm nodes
 * built from the group's spec as it is now (build_spec.h); outdated the
 * warm ones built from another (a rolling refresh skips the pool): they
 * are no pool node. need = max(0, warm_pool - warm - warming), and 0 while
 * the group is being deleted or its scale-out is suspended
 * (suspend_scale_out: a pool only serves scale-outs). surplus = pool nodes
 * beyond warm_pool (it was lowered) plus the outdated ones. remove: the
 * nodes pool_fill takes down: those marked for removal before and not gone
 * yet (a retry), every outdated warm node, then the newest up-to-date warm
 * ones beyond warm_pool; never a warming, taken (building) or active node,
 * and none of a group being deleted (asg_delete takes them all).
 *
 * mark (one group only): under pool_take's claim, the nodes newly chosen
 * become "draining" with pool_remove true, so no pool_take hands them out
 * meanwhile and a concurrent plan does not choose the surplus twice. Without
 * mark nothing is written. Every group: {groups: [that, unmarked, for each
 * group with warm_pool > 0 or pool nodes], need: the sum}. An unknown group
 * is AS_EXIT_BADINPUT "unknown_group". */
int pool_plan(struct ds *ds, const char *group, bool mark, struct json_object **out,
              struct as_error *err);

/* Up to count warm nodes built from the group's spec now (longest parked
 * first; an outdated one never) become "building" with
 * take_lease = lease_id and taken_at. Nodes already taken with this lease
 * (in whatever state since) come back first and count toward count, so a
 * retry returns the same nodes. Two pool_takes of one group never run at
 * once (a claim on the group's pool, claim.h), so different leases never
 * get the same node. Nothing is taken for a group being deleted.
 * *out: {group, lease_id, nodes: [names], taken: their number, reused:
 * [names from before]}. Bad input (name, count outside 1..POOL_TAKE_MAX, a
 * lease id of the wrong shape) is AS_EXIT_BADINPUT before any read. */
int pool_take_check(const char *group, long long count, const char *lease_id,
                    struct as_error *err);
int pool_take(struct ds *ds, const char *group, long long count, const char *lease_id,
              struct json_object **out, struct as_error *err);

#endif
