/* health_wait.h - wait, polling with backoff, until some new nodes of a
 * group are ready to serve, or until a timeout: what a rolling refresh
 * (refresh_wait) asks before it takes old nodes down. A node is ready when
 * every source health_check uses that can say so says it is now: its
 * machine active (the provider), UP in the load balancer (if any), and the
 * HTTP path answering 2xx/3xx (if the group sets one). health_check's grace
 * and threshold are for nodes in service; here the only question is
 * whether this node is ready yet. Writes nothing. */
#ifndef AS_HEALTH_WAIT_H
#define AS_HEALTH_WAIT_H

#include <json-c/json.h>

#include "datastore.h"
#include "error.h"
#include "lb.h"
#include "nodes.h"

/* Look at the nodes named in `nodes` (an array of strings, borrowed) of
 * the group nc was opened on, lb its load balancer (opened; "none" and
 * NULL are fine), until every one is ready or never can be (its machine
 * gone or failed by the provider's word, or no node record that is or may
 * still become active), or timeout_s has passed: the first look at once,
 * then after 250 ms, doubling up to 4 s. *out (new): {"healthy": [...],
 * "unhealthy": [...], "checks": {node: what each source said}} of the
 * last look. 0 whatever the verdicts, or -1 with err: the datastore, or
 * SIGTERM ("interrupted"). */
int health_wait_ready(struct node_ctx *nc, struct lb_ctx *lb, struct json_object *nodes,
                      long long timeout_s, struct json_object **out, struct as_error *err);

#endif
