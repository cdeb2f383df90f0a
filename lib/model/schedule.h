/* schedule.h - a group's scheduled actions: for a period a cron expression
 * starts (and another may end), in an IANA time zone, a min, max and/or
 * desired that replace the spec's, without the spec being rewritten
 * (docs/schedules.md). The governor's loader evaluates every record each
 * tick (schedule_eval, schedule_fold) and the governor applies the one in
 * force (governor.h, struct gov_schedule).
 *
 * One record per schedule at key_schedule(group, name):
 *   {"name","group","start","end","time_zone","min","max","desired",
 *    "created_at","updated_at"}
 * "end" absent: the schedule never ends by itself (the next start of
 * another schedule, or its deletion, takes over); min/max/desired -1 or
 * absent: not set. Written only by asg_schedule_set and deleted by
 * asg_schedule_delete and the group's deletion (asg.c deletes the whole
 * prefix); each write is one whole record, so two operators setting one
 * schedule at once leave one of the two, never a mixture.
 *
 * Active at `now` iff start has an occurrence (cron_prev, five years back)
 * and either there is no end or end's latest occurrence is earlier than
 * start's: a period runs from a start to the next end. `since` is that
 * start occurrence. Of several active schedules the one started last is in
 * force (a tie: the smaller name), so "weekdays 08:00" and "Friday 16:00"
 * hand over to each other as an operator reading them expects. */
#ifndef AS_SCHEDULE_H
#define AS_SCHEDULE_H

#include <json-c/json.h>

#include "datastore.h"
#include "error.h"
#include "governor.h"

#define SCHEDULE_MAX 50          /* schedules per group */
#define SCHEDULE_VALUE_MAX 1000  /* the highest min, max or desired (group.h's max) */

/* What asg_schedule_set was given (borrowed). end NULL or "": none;
 * time_zone NULL: "UTC"; min, max, desired -1: not set. */
struct schedule_spec {
    const char *group, *name, *start, *end, *time_zone;
    long long min, max, desired;
};

/* The checks that need no datastore: group name, schedule name (a DNS
 * label of at most GOV_SCHEDULE_NAME_MAX: "invalid_name"), start and end
 * (cron.h), time zone (tz.h), at least one of min, max, desired
 * ("missing_parameter"), each -1 or 0..SCHEDULE_VALUE_MAX, min <= max and
 * desired within those set ("invalid_limits"). 0, or -1 with err. */
int schedule_check(const struct schedule_spec *s, struct as_error *err);
/* Only the two names (asg_schedule_delete's checks before the store). */
int schedule_check_names(const char *group, const char *name, struct as_error *err);

/* Create or replace the schedule: checks first, then the group must exist
 * ("unknown_group"), not be being deleted ("group_conflict"), and have fewer than SCHEDULE_MAX schedules unless this
 * one is among them ("invalid_parameter"); nothing is written before all
 * of that passed. The same schedule again writes nothing (created_at and
 * updated_at stay). *out (new) = {"group","schedule","created","changed",
 * "record"}. */
int schedule_set(struct ds *ds, const struct schedule_spec *s, long long now,
                 struct json_object **out, struct as_error *err);

/* Delete one schedule; an absent one is success. *out (new) =
 * {"group","schedule","deleted": whether it existed}. */
int schedule_delete(struct ds *ds, const char *group, const char *name,
                    struct json_object **out, struct as_error *err);

/* Every schedule of the group as of now, by name: each record with
 * "active", "since" (epoch, 0 when inactive), "next_start", "next_end"
 * (UTC ISO 8601, or null) and "next_start_at", "next_end_at" (epoch, 0:
 * none within five years), "in_force" (true for the one schedule_fold
 * picks); an unreadable record is listed as {"key","error"}. *out (new) =
 * {"group","now","in_force": name or null,"count","schedules":[...]}. */
int schedule_list(struct ds *ds, const char *group, long long now, struct json_object **out,
                  struct as_error *err);

/* Evaluate one stored record (its text, borrowed) at now into *out: 1
 * active, 0 inactive, -1 unreadable or invalid (a record edited by hand:
 * bad JSON, cron or zone; out->active false then too). */
int schedule_eval(const char *text, long long now, struct gov_schedule *out);

/* Fold cand into best (best starts with active false): of active ones the
 * latest `since` wins, a tie the smaller name. An inactive cand changes
 * nothing. */
void schedule_fold(struct gov_schedule *best, const struct gov_schedule *cand);

#endif
