/* lb_none.c - "none": a group without a load balancer. Every operation is
 * NULL (lb_int.h), so nothing is opened and each action says it has
 * nothing to do. */
#include "lb_int.h"

const struct lb_ops lb_none_ops = {
    .name = "none",
};
