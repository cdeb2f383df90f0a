/* history.h - why a group did what it did: every decision the governor
 * takes for it, "nothing, because ..." included, kept per group under
 * autoscale.history.<group>.<epoch ms> and written only by the governor
 * tick that decided (the sensor's tick; a dry run writes nothing).
 *
 * A decision is kept when it differs from the group's previous one in
 * action, code or alert (a group resting for a day is one record, not
 * 2,880; the alert is compared too because the notices below come from
 * the latest record: an alert that changed without being recorded would be
 * announced again at every tick), and the group keeps at most HISTORY_MAX
 * records: the writer deletes the oldest beyond that. Record: {"at":
 * epoch s, "time": ISO-8601 UTC, "kind": "decision", "action", "code",
 * "count", "remove",
 * "capacity_before", "capacity_after", "alert", "reason", "lease_id"}.
 *
 * The outcome of an operation is its scaling event (scaling_record:
 * op, result, nodes, reason, lease_id); history_show merges both in time
 * order, each with its ISO-8601 time. Events are bounded per group too
 * (history_record_outcome), keeping always the latest event of each op:
 * the governor's cooldowns read them. Both kinds of key also carry
 * EVENT_TTL, so the history of a group nobody ticks any more fades. */
#ifndef AS_HISTORY_H
#define AS_HISTORY_H

#include <json-c/json.h>
#include <stdbool.h>

#include "datastore.h"
#include "error.h"
#include "lease.h"

#define HISTORY_MAX 100        /* decisions kept per group, and events */
#define HISTORY_REASON_MAX 500 /* characters of an outcome's reason */
#define HISTORY_NODES_MAX 1000 /* node names in an outcome */

/* "2026-12-07T17:03:08Z" into buf (at least 21 bytes). */
char *history_iso8601(char *buf, long long epoch_s);
/* Parse exactly that form (from 1970, "Z" only, no fraction) or plain
 * epoch seconds (1 to 12 digits) into *epoch_s: 0, or -1. */
int history_parse_time(const char *s, long long *epoch_s);

/* Record the decision (an object as governor_tick prints one: group,
 * action, code, count, remove, capacity_before, capacity_after, alert,
 * reason, lease_id) for its group at now_ms, unless it repeats the group's
 * latest record; prune beyond HISTORY_MAX. *recorded says which. When
 * *prev is not NULL it receives the latest record before this one (new
 * reference, or NULL): the tick compares them to notify on changes. */
int history_note(struct ds *ds, const char *group, struct json_object *decision,
                 long long now_ms, bool *recorded, struct json_object **prev,
                 struct as_error *err);

/* What a decision is compared on, from the group's latest decision record
 * (autoscale.decision.<group>, a copy of its newest history record): a tick
 * over every group reads them all in one listing (governor_load.h) instead
 * of one request per group. */
struct history_mark {
    bool set; /* false: the group has no decision recorded */
    char action[16], code[24], alert[16];
    long long ms; /* its history key's milliseconds */
};

/* The mark of a decision record's text: 0 with *m filled, or -1 when the
 * text is not a readable record (m left unset: the next decision is kept). */
int history_mark_read(const char *text, struct history_mark *m);

/* history_note with the group's latest mark already known (borrowed). */
int history_note_after(struct ds *ds, const char *group, struct json_object *decision,
                       const struct history_mark *last, long long now_ms, bool *recorded,
                       struct json_object **prev, struct as_error *err);

/* What people should hear about, from a group's previous decision record
 * (may be NULL) and its new decision: an array (new, maybe empty) of
 * {"group","event","reason","count"} where event is alert_opened
 * (alert none -> warning/critical), alert_closed (the reverse),
 * capacity_exhausted (code alert_at_max, not already so before). The tick
 * prints them; the governor sensor dispatches each as an autoscale.notice
 * trigger, which a rule hands to the notify action. */
struct json_object *history_notices(struct json_object *prev, struct json_object *decision);

/* The group's latest decision record (new), or *out NULL when none: one
 * read of autoscale.decision.<group>. */
int history_last(struct ds *ds, const char *group, struct json_object **out,
                 struct as_error *err);

struct history_query {
    const char *group;
    long long since, until; /* epoch s; 0: unbounded */
    const char *kind;       /* "decision", "event", or an action/op name
                               (scale_out, scale_in, replace, none); NULL: all */
    int limit;              /* newest first is cut to this many; <= 0: 50 */
};

/* Decisions and scaling events of the group, oldest first, filtered.
 * An entry's time is when it happened: a decision's "at", an event's
 * "finished_at" (its "at" is when the operation began); since and until
 * are inclusive. Events gain "kind": "event" and "time" (ISO-8601 of
 * finished_at) and "started" (of at).
 * *out = {"group","entries":[...], "count", "matched" (before the limit)}.
 * Unknown group: BADINPUT "unknown_group"; a kind not listed above, or
 * until before since: BADINPUT "invalid_parameter". */
int history_show(struct ds *ds, const struct history_query *q, struct json_object **out,
                 struct as_error *err);

/* A kind history_show accepts (NULL: all): 0, or BADINPUT
 * "invalid_parameter". */
int history_check_kind(const char *kind, struct as_error *err);

/* The nodes of an outcome: "" or NULL is none, else node names separated
 * by commas, each a valid node name (node_check_name), none repeated, at
 * most HISTORY_NODES_MAX. *out is a new array of them. BADINPUT
 * "invalid_parameter" (or "invalid_node_name") otherwise. */
int history_nodes_parse(const char *csv, struct json_object **out, struct as_error *err);

/* What the scaling_record action is told besides the counts: the reason
 * (UTF-8, at most HISTORY_REASON_MAX characters) checked, and the nodes
 * parsed (history_nodes_parse) into *nodes (new). Before anything opens
 * the store: a refusal changes nothing. */
int history_outcome_parse(const char *reason, const char *nodes_csv,
                          struct json_object **nodes, struct as_error *err);

/* The end of an operation (lease.h's scaling_outcome, checked as above):
 * scaling_record_outcome writes the event and releases the lease, then the
 * group's events beyond HISTORY_MAX are deleted, oldest first, except the
 * latest event of each op. */
int history_record_outcome(struct ds *ds, const char *group, const char *lease_id,
                           const struct scaling_outcome *o, long long now,
                           struct json_object **out, struct as_error *err);

/* Delete the group's events beyond HISTORY_MAX as above: 0, or -1. */
int history_prune_events(struct ds *ds, const char *group, struct as_error *err);

#endif
