/* runner_open.h - the start every node action (add_node, remove_node,
 * reconcile, node_list) and every lb_* action shares: its request from
 * argv, checked before the datastore opens (so bad input changes nothing
 * and touches no store), then its group and provider opened (nodes.h,
 * lb.h). */
#ifndef AS_RUNNER_OPEN_H
#define AS_RUNNER_OPEN_H

#include <stdbool.h>

#include "group.h"
#include "lb.h"
#include "nodes.h"
#include "st2.h"

/* The "name" parameter, the compute parameters and the allow-list from the
 * action's argv, with this deadline (seconds) and any_status (false: the
 * group must be active). On success the caller ends with
 * as_node_close(nc, g); on failure nothing is left to close. */
int as_node_open(struct as_ctx *ctx, long long deadline, bool any_status,
                 struct node_ctx *nc, struct group *g, struct as_error *err);
void as_node_close(struct node_ctx *nc, struct group *g);

/* The "name" parameter, the LB_PARAMS and the allow-list from the action's
 * argv: the group's name checked, then the datastore and the group's load
 * balancer opened (lb_ctx_open). On success the caller ends with
 * lb_ctx_close(c). */
int as_lb_open(struct as_ctx *ctx, struct lb_ctx *c, struct as_error *err);
/* The same for group `name` (borrowed) instead of the "name" parameter. */
int as_lb_open_group(struct as_ctx *ctx, const char *name, struct lb_ctx *c,
                     struct as_error *err);
int as_node_open_group(struct as_ctx *ctx, const char *name, long long deadline,
                       bool any_status, struct node_ctx *nc, struct group *g,
                       struct as_error *err);

/* One group's work for as_each_group: 0 with *out (new) filled, 1 when the
 * group is left alone (*out: new, the reason), -1 with err. */
typedef int as_group_fn(struct as_ctx *ctx, const char *name, struct json_object **out,
                        struct as_error *err);

/* Run `one` for every group, in name order, as the timer rules do
 * (lb_sync and reconcile without a name). One group's failure is reported
 * and the others still run: a broken group must not keep every other one
 * out of its load balancer. *out (new): {groups: [{group, result} |
 * {group, skipped} | {group, error}], failed}; -1 when the groups cannot be
 * listed, or when any failed (err: the first failure's code, a message
 * naming every failed group). */
int as_each_group(struct as_ctx *ctx, as_group_fn *one, struct json_object **out,
                  struct as_error *err);

#endif
