/* refresh_int.h - what the files of the rolling refresh share and nothing
 * else may call: the record's state and its one write, which refresh and
 * which batch a call is about, and the group spec as a refresh loads and
 * changes it. Included only by lib/model/refresh_*.c; everything else
 * includes refresh.h, the interface the actions use.
 *
 * The files, one purpose each: refresh.c (the parameters' parsing and the
 * batch size: no datastore), refresh_record.c (the record), refresh_nodes.c
 * (the nodes still to replace), refresh_spec.c (the group spec),
 * refresh_start.c, refresh_step.c and refresh_batch.c (one action each). */
#ifndef AS_REFRESH_INT_H
#define AS_REFRESH_INT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "datastore.h"
#include "error.h"
#include "refresh.h"

struct group;
struct group_params;

/* ---- the record (refresh_record.c) ---- */

/* Write rec (borrowed) as the group's record, its updated_at set to now
 * first: the one write of every operation. */
int refresh_save(struct ds *ds, const char *group, struct json_object *rec, long long now,
                 struct as_error *err);

/* Whether the record's state is `state` (a record without one is none). */
bool refresh_state_is(struct json_object *rec, const char *state);

/* End the refresh in rec: state, finished_at (now) and reason set; the
 * caller saves it. */
void refresh_finish(struct json_object *rec, const char *state, const char *reason,
                    long long now);

/* The record of refresh id: 0 with *rec (new), or -1 ("refresh_mismatch"
 * when the group's current refresh is another, or none). */
int refresh_load_current(struct ds *ds, const char *group, const char *id,
                         struct json_object **rec, struct as_error *err);

/* Whether the lease the record's batch took is still the group's: *held
 * false when the record has no batch in flight. */
int refresh_batch_lease_held(struct ds *ds, const char *group, struct json_object *rec,
                             bool *held, struct as_error *err);

/* ---- the group spec (refresh_spec.c) ---- */

/* Every field of *p absent (NULL, PARAM_ABSENT): a request that changes
 * only what is then set. */
void refresh_params_absent(struct group_params *p);

/* Set image, flavor and run_list (those non-NULL; "" clears) through
 * asg_update, under the spec lock, and read the spec back into *g (group
 * may be g->name). */
int refresh_spec_set(struct ds *ds, const char *group, const char *image, const char *flavor,
                     const char *run_list, struct group *g, struct as_error *err);

/* The spec loaded into *g, refused when it is being deleted
 * ("group_conflict"). */
int refresh_load_group(struct ds *ds, const char *group, struct group *g,
                       struct as_error *err);

#endif
