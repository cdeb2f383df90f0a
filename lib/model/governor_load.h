/* governor_load.h - every group's input to the governor, as a tick over all
 * groups needs it: read in nine walks of the store (ds_each: specs, health,
 * protection, nodes, incidents, events, leases, metric samples, schedules),
 * each record folded into its group's input as it passes (governor.h's
 * gov_input_add_*) and then forgotten; only the names of unhealthy and
 * protected nodes are kept until the node walk joins them to their nodes'
 * states, and the samples of a group that tracks a target (owned by the
 * group's input: gov_groups_clear frees them). A schedule is judged at `now`
 * as it passes (schedule.h), and only the one in force is kept.
 *
 * It reads what asg_state_load_all() and governor_input_from_state() read,
 * to the same input, for ~200 bytes a group instead of a struct asg_state
 * with three JSON arrays: which groups count (a spec group_from_json
 * refuses is left out), which record goes to which group, a corrupt
 * record skipped, node states read with jx_peek_str, and the last lease
 * record of a group the one that counts; and health and protection as
 * asg_state_load() reads them for one group, joined by the node record's
 * "name" to the last part of their keys: an unhealthy record counts for an
 * active node only, a protection key (readable or not) for a capacity node
 * only. */
#ifndef AS_GOVERNOR_LOAD_H
#define AS_GOVERNOR_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "datastore.h"
#include "error.h"
#include "governor.h"
#include "governor_record.h"
#include "history.h"

struct gov_group {
    struct gov_spec spec;
    struct gov_input in; /* its nodes, incidents and events; in.spec NULL */
    struct gov_op lease; /* the group's lease record, when has_lease */
    bool has_lease;
};

struct gov_groups {
    struct gov_group *v; /* in the order of their spec keys */
    size_t n, cap;
    /* marks[i]: v[i]'s latest decision (history.h), when loaded with marks;
     * else NULL. Apart from v, so a dry run's groups stay small (cache). */
    struct history_mark *marks;
};

/* Every group's spec and records, judged at `now`: 0 with *gs filled (clear
 * it with gov_groups_clear), or -1 with err and *gs empty. */
int gov_groups_load(struct ds *ds, long long now, struct gov_groups *gs,
                    struct as_error *err);
/* The same, and with marks each group's latest decision (history.h) too, in
 * one more listing: what an acting tick compares its decisions with. A dry
 * run keeps no history, so it does not pay for the listing. */
int gov_groups_load_marked(struct ds *ds, long long now, bool marks,
                           struct gov_groups *gs, struct as_error *err);
void gov_groups_clear(struct gov_groups *gs);

/* One group's metric samples and scheduled action, read as
 * gov_groups_load reads them for every group, into in (whose in->spec is
 * the group's): in->samples points at *samples (new: free() it after the
 * decision). 0, or -1 with err and in unchanged. */
int gov_input_load_extras(struct ds *ds, struct gov_input *in, struct gov_sample **samples,
                          struct as_error *err);

/* The input governor_decide() takes for gg, its spec built into *spec
 * (which must outlive *in). */
void gov_group_input(const struct gov_group *gg, struct group *spec,
                     struct gov_input *in);

#endif
