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

#include <stdbool.h>

#include "datastore.h"
#include "error.h"
#include "health_probe.h"
#include "lb.h"
#include "nodes.h"

/* Look at the nodes named in `nodes` (an array of strings, borrowed) of
 * the group nc was opened on, lb its load balancer (opened; "none" and
 * NULL are fine), until every one is ready or never can be (its machine
 * gone or failed by the provider's word, or no node record that is or may
 * still become active), or timeout_s has passed: the first look at once,
 * then after 250 ms, doubling up to 4 s. *out (new): {"healthy": [...],
 * "unhealthy": [...], "checks": {node: what each source said}} of the
 * last look (the verdicts from the probe's typed checks; the words are
 * only shown). 0 whatever the verdicts, or -1 with err: the datastore, or
 * SIGTERM ("interrupted"). */
int health_wait_ready(struct node_ctx *nc, struct lb_ctx *lb, struct json_object *nodes,
                      long long timeout_s, struct json_object **out, struct as_error *err);

/* One probed node, from its typed checks only (health_probe.h), never from
 * the words: READY when the provider passes and the load balancer and the
 * HTTP check pass or are not configured; LOST when the provider says the
 * machine is lost for good; NOT_YET otherwise (a failing or unknown source
 * may still come round). */
enum health_wait_node { HEALTH_WAIT_NOT_YET, HEALTH_WAIT_READY, HEALTH_WAIT_LOST };
enum health_wait_node health_wait_node_of(const struct health_node_checks *c);

/* One look's verdicts: want (names, borrowed) sorted by checks (one
 * probe's) into *out (new) {"healthy","unhealthy","checks"}, where each
 * node's "checks" is the words of its entry in probe's "nodes" (borrowed),
 * copied as they are. *settled: every node ready or never can be. nc is
 * read only for a node checks does not hold (its node record's state).
 * 0, or -1 with err (the datastore). */
int health_wait_sort(struct node_ctx *nc, struct json_object *want, struct json_object *probe,
                     const struct health_checks *checks, struct json_object **out,
                     bool *settled, struct as_error *err);

#endif
