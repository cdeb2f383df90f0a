/* asg.h - group operations over the datastore: what the asg_* actions call.
 *
 * A group's state is reassembled from its keys (keys.h): the spec, one
 * record per node, per open/closed incident, per scaling event, and the
 * lease of an operation in flight. */
#ifndef AS_ASG_H
#define AS_ASG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "datastore.h"
#include "error.h"
#include "group.h"
#include "node.h"

struct asg_state {
    struct group spec;
    /* Node records by name (asg_state_load), or NULL when loaded with every
     * group (asg_state_load_all): 100,000 parsed records held at once cost
     * ~1 KiB each, and listing every group only needs the counts. */
    struct json_object *nodes;
    long long node_counts[NODE_UNKNOWN + 1]; /* by state, when nodes is NULL */
    struct json_object *incidents; /* array of incident records */
    struct json_object *events;    /* array of scaling events, oldest first */
    struct json_object *lease;     /* the operation in flight, or NULL */
    /* asg_state_load only (NULL from asg_state_load_all): node name ->
     * its health record (health.h), and node name -> its protection record
     * (controls.h); a record of a node without a node record is left out. */
    struct json_object *health;
    struct json_object *protect;
    /* asg_state_load only: the group's latest decision record (history.h),
     * or NULL when the governor never recorded one. */
    struct json_object *last_decision;
};

/* The spec alone. An unknown group is AS_EXIT_BADINPUT "unknown_group". */
int asg_load_spec(struct ds *ds, const char *name, struct group *g,
                  struct as_error *err);
/* A bare write of the spec. The operations below hold the group's spec lock
 * (docs/datastore.md, "One writer") around their read-modify-write; nothing
 * else may write a spec (tests arranging a store aside). */
int asg_save_spec(struct ds *ds, const struct group *g, struct as_error *err);

/* One group's whole state, or every group's (sorted by name). */
int asg_state_load(struct ds *ds, const char *name, struct asg_state *st,
                   struct as_error *err);
int asg_state_load_all(struct ds *ds, struct asg_state **out, size_t *n,
                       struct as_error *err);
/* Free what st holds and leave it empty. */
void asg_state_clear(struct asg_state *st);
/* Clear each of the n states, then free the array itself. */
void asg_state_free_all(struct asg_state *st, size_t n);

/* Node counts by state, from the records or the loaded counts. */
void asg_state_node_counts(const struct asg_state *st,
                           long long counts[NODE_UNKNOWN + 1]);

/* Node counts by state plus "capacity" (building + active), and whether any
 * incident is open. */
struct json_object *asg_state_counts(const struct asg_state *st);
bool asg_state_in_alert(const struct asg_state *st);

/* What asg_define and asg_update are asked: the group's name, its spec
 * fields as parsed (struct group_params: absent is NULL / PARAM_ABSENT), its
 * settings object (borrowed; NULL: none given) and the operator's allow-list
 * for them (settings.h; NULL: none). */
struct asg_request {
    const char *name;
    struct group_params p;
    struct json_object *settings;
    const char *allowed;
};

/* The spec asg_define is asked for, built (defaults, then the fields present,
 * then the settings) and checked whole - the settings against the
 * allow-list first - before any datastore is opened, so a refusal touches
 * nothing. 0 with *g filled (the caller clears it), or -1 with err and *g
 * empty. */
int asg_spec_build(const struct asg_request *r, struct group *g, struct as_error *err);

/* The operations, one per action of the same name. Each returns 0 with
 * *out set, or -1 with err. asg_define, asg_update, asg_forget and
 * asg_retire are serialised per group by its spec lock: concurrent calls
 * behave as if run one after another (one define reports created; no
 * update is lost); one kept waiting past its bound fails with "group_busy". */
int asg_define(struct ds *ds, struct group *g, struct json_object **out,
               struct as_error *err);
/* Only the fields present in r->p change, and r->settings (when non-NULL)
 * replaces the group's; the caller has checked r->settings (settings_check)
 * before opening the datastore. */
int asg_update(struct ds *ds, const struct asg_request *r, struct json_object **out,
               struct as_error *err);
int asg_status(struct ds *ds, const char *name, int events, struct json_object **out,
               struct as_error *err);
int asg_list(struct ds *ds, struct json_object **out, struct as_error *err);
int asg_forget(struct ds *ds, const char *name, bool forget_nodes,
               struct json_object **out, struct as_error *err);
/* Mark the group "deleting" (the governor leaves it alone, nothing adds a
 * node or a load balancer member, asg_define/asg_update refuse it) and list
 * every node record it has, any state, sorted by name. Idempotent; an
 * absent group is success with existed=false and no nodes. */
int asg_retire(struct ds *ds, const char *name, struct json_object **out,
               struct as_error *err);

#endif
