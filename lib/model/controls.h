/* controls.h - what an operator does to a group by hand, besides its spec:
 * suspend and resume the governor's processes, force a resize past the
 * cooldowns once, protect a node from scale-in.
 *
 * Suspension and protect_new are spec fields (group.h), written under the
 * spec lock like any asg_update. A forced resize sets desired and forced_at
 * together under the same lock. Node protection is its own key per node,
 * autoscale.protect.<group>.<node> ({"node","group","at","reason"}; present
 * = protected), written only by node_protect; add_node writes it for a new
 * node when the group has protect_new; remove_node deletes it with the node.
 * node_pick never picks a protected node for scale-in, and the governor
 * never plans a scale-in larger than the unprotected capacity. */
#ifndef AS_CONTROLS_H
#define AS_CONTROLS_H

#include <json-c/json.h>
#include <stdbool.h>

#include "datastore.h"
#include "error.h"

/* The governor's processes, as named by asg_suspend/asg_resume. */
#define CONTROL_PROCESSES "scale_out,scale_in,replace"
#define CONTROL_SCALE_OUT 1u
#define CONTROL_SCALE_IN 2u
#define CONTROL_REPLACE 4u
#define CONTROL_ALL 7u
/* The largest size asg_resize takes: the highest max a group may have
 * (GROUP_FIELDS). */
#define CONTROL_SIZE_MAX 1000
/* node_protect's reason: one line, at most this many characters. */
#define CONTROL_REASON_MAX 200
/* The reason add_node writes when the group has protect_new. */
#define CONTROL_REASON_NEW "protect_new: the group protects its new nodes"
/* How long a forced resize waits to be acted on (governor.h): past it the
 * cooldowns count again. */
#define CONTROL_FORCE_WINDOW_S 3600

/* Whether a forced resize stamped at forced_at (0: none) still waits to be
 * acted on: no scaling operation has started since (last_op_at: the latest
 * scale-out, scale-in or replace, event or lease start) and it is younger
 * than CONTROL_FORCE_WINDOW_S (a clock stepped back keeps it pending). The
 * one rule for the governor (rule 2) and asg_get. */
bool controls_force_pending(long long forced_at, long long last_op_at, long long now);

/* Parse a comma-separated list of processes (or "all") into bits:
 * 1 scale_out, 2 scale_in, 4 replace. 0, or -1 with err (BADINPUT). */
int controls_parse_processes(const char *list, unsigned *mask, struct as_error *err);
/* The name of one bit ("scale_out"...), or NULL. */
const char *controls_process_name(unsigned bit);
/* The names of the bits of mask, in CONTROL_PROCESSES order (new array). */
struct json_object *controls_suspended_list(unsigned mask);

/* The checks of asg_suspend/asg_resume that need no datastore: the
 * group's name, and processes parsed into *mask. */
int controls_suspend_check(const char *group, const char *processes, unsigned *mask,
                           struct as_error *err);

/* Suspend (suspend = true) or resume the processes in mask (the spec's
 * suspend_* fields). Idempotent: *out (new) = {"group","suspended":[names
 * now suspended],"changed":bool}. Defined in asg.c (the spec's one writer,
 * under its lock). Unknown group, or one being deleted: BADINPUT. */
int controls_suspend(struct ds *ds, const char *group, unsigned mask, bool suspend,
                     struct json_object **out, struct as_error *err);

/* Set desired to size (within [min, max], else BADINPUT "invalid_limits")
 * and, when force, stamp forced_at = now so the governor skips cooldowns
 * once to reach it. *out = {"group","desired","forced","previous_desired",
 * "forced_at","changed"}. Without force the same size again changes
 * nothing; a force is an event, not a state, so each one stamps anew.
 * Defined in asg.c, like controls_suspend; controls_resize_check makes the
 * checks that need no datastore (name; size within 0..CONTROL_SIZE_MAX,
 * else "invalid_limits"). */
int controls_resize_check(const char *group, long long size, struct as_error *err);
int controls_resize(struct ds *ds, const char *group, long long size, bool force,
                    long long now, struct json_object **out, struct as_error *err);

/* The checks of node_protect that need no datastore: group and node names
 * (DNS labels), reason (one line, CONTROL_REASON_MAX characters). */
int controls_protect_check(const char *group, const char *node, const char *reason,
                           struct as_error *err);
/* Protect (or unprotect) one node: the group must exist (else BADINPUT
 * "unknown_group") and the node have a record (else BADINPUT
 * "unknown_node"). Idempotent: the same protection again writes nothing
 * (its "at" stays the first); a new reason replaces the old.
 * *out = {"group","node","protected","changed","record"}. */
int controls_protect(struct ds *ds, const char *group, const char *node, bool protect,
                     const char *reason, long long now, struct json_object **out,
                     struct as_error *err);

/* The group's protection records as an object node -> record (new). An
 * unreadable record still protects its node (as {}): presence is what
 * counts. */
int controls_load_protected(struct ds *ds, const char *group, struct json_object **out,
                            struct as_error *err);

/* Delete a node's protection (remove_node, once the node is gone); absent
 * is success. */
int controls_forget_node(struct ds *ds, const char *group, const char *node,
                         struct as_error *err);

#endif
