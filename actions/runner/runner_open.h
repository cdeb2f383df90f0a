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

#endif
