/* node.h - a node record: one machine of a group, stored under its own key
 * (autoscale.node.<group>.<node>) and written only by the action working on
 * that node. The compute providers (add_node/remove_node) own its life; the
 * group model only reads it. */
#ifndef AS_NODE_H
#define AS_NODE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

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

/* One node record of a group, as node_records_load read it. Every key
 * under the group's node prefix is an entry, even one whose leaf is no node
 * name or whose value no JSON object: callers differ in what they do with
 * those (health keeps the name of an unreadable record, reconcile reports
 * it as corrupt, lb_sync as skipped), so the reader says what it found and
 * leaves the judgement to them. Readers of one field of many records
 * (dns_group_addresses, the governor's loader) peek at the text instead:
 * parsing every record is what they avoid. */
struct node_entry {
    char *name;              /* the key's leaf, valid or not (owned by the set) */
    bool name_ok;            /* name passes node_check_name */
    struct json_object *rec; /* the parsed record (owned by the set); NULL when
                                unreadable: not a JSON object */
    enum node_state state;   /* rec's; NODE_UNKNOWN when rec is NULL */
};

/* A group's node records, in key order (ds_list's: bytewise by name). A
 * caller keeping a rec past node_records_clear takes its own reference
 * (json_object_get). */
struct node_records {
    struct node_entry *items; /* owned */
    size_t count;
};

/* Every node record of group (one ds_list, each value parsed once): 0 with
 * *out filled, or -1 with err (the store's failure) and *out empty. */
int node_records_load(struct ds *ds, const char *group, struct node_records *out,
                      struct as_error *err);
void node_records_clear(struct node_records *r);
/* A record to work on: a valid node name and a readable record. */
bool node_entry_ok(const struct node_entry *e);
/* How many readable records are capacity (node_state_is_capacity), whatever
 * their name: what target tracking divides the group's load by. */
size_t node_records_capacity(const struct node_records *r);

#endif
