/* node.h - a node record: one machine of a group, stored under its own key
 * (autoscale.node.<group>.<node>) and written only by the action working on
 * that node. The compute providers (add_node/remove_node) own its life; the
 * group model only reads it. */
#ifndef AS_NODE_H
#define AS_NODE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "error.h"

enum node_state {
    NODE_BUILDING, /* recorded before the cloud is asked: a crash leaves a trace */
    NODE_ACTIVE,
    NODE_DRAINING, /* leaving: out of the LB rotation, about to be destroyed */
    NODE_FAILED,
    NODE_DELETING,
    /* The warm pool (group.h warm_pool): a node built ahead of demand,
     * configured and in DNS but never in the LB. Warming until node_park
     * stops it (or leaves it running, as the provider parks), warm after;
     * pool_take makes a warm node building again for a scale-out. */
    NODE_WARMING,
    NODE_WARM,
    NODE_UNKNOWN
};

const char *node_state_name(enum node_state s);
enum node_state node_state_parse(const char *s); /* NODE_UNKNOWN if unrecognised */
enum node_state node_record_state(struct json_object *record);

/* Building and active nodes are capacity; draining, failed and deleting
 * ones are not (the governor must replace them, not count them); warming
 * and warm ones neither (a pool is counted toward neither capacity nor
 * max: they wait for a scale-out to take them). */
bool node_state_is_capacity(enum node_state s);

/* Node names become host names and LB server names: a DNS label of at most
 * 63 characters, [a-z0-9-], not starting or ending with '-'. */
int node_check_name(const char *name, struct as_error *err);

struct ds;

/* A node's record: 1 with *rec (a new reference), 0 if there is none, -1
 * on error. Fields: name, group, state, provider, provider_id, address,
 * port, created_at, updated_at, execution_id; a pool node also parked_at,
 * take_lease and taken_at (node_pool.h). */
int node_record_load(struct ds *ds, const char *group, const char *node,
                     struct json_object **rec, struct as_error *err);

#endif
