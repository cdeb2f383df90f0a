/* node_life.h - what the node lifecycle's files share (nodes.c, the add
 * and remove; node_park.c, the warm pool's park and activate): the record
 * writes and the wait on the provider. Included by those files only;
 * everyone else uses nodes.h. */
#ifndef AS_NODE_LIFE_H
#define AS_NODE_LIFE_H

#include <stdbool.h>

#include "nodes.h"

/* A machine state as a bit of node_wait_machine's `until`. */
#define MACHINE_BIT(s) (1u << (unsigned)(s))

/* Put the record (updated_at set now) under its node's key. */
int node_save_record(struct node_ctx *nc, struct json_object *rec, struct as_error *err);
/* The machine's id, address and port into the record. */
void node_record_machine(struct json_object *rec, const struct machine *m);

/* Poll machine id (into *m) until it is gone or in one of the states of
 * `until` (MACHINE_BIT()s; 0: only gone): 0 then, 1 at the deadline
 * (epoch seconds), -1 with err. The waits back off from the provider's
 * first poll to the poll interval (as_backoff), and never sleep through
 * the deadline. known: *m is what the provider said a moment ago (the
 * create, find or get before this wait), so a first look would only
 * repeat it: wait first. */
int node_wait_machine(struct node_ctx *nc, const char *id, long long deadline,
                      unsigned until, bool known, struct machine *m, struct as_error *err);

#endif
