/* alert_intake.h - one monitor webhook from text to stored incidents: parse
 * the body (alert.h normalises it into events), route each event to its
 * group(s) (alert_route.h), and apply it to each group's incident
 * (incident.h). What the alert_event action runs, in two steps so that a
 * body that cannot be read is refused before any datastore is opened.
 * Everything is validated before anything is written: a body with one bad
 * alert, or one that routes nowhere, changes no group. */
#ifndef AS_ALERT_INTAKE_H
#define AS_ALERT_INTAKE_H

#include <json-c/json.h>
#include <stddef.h>

#include "alert.h"
#include "datastore.h"
#include "error.h"

#define ALERT_BODY_MAX (4L << 20) /* bytes of body text accepted */
#define ALERT_ROUTES_MAX 16       /* groups one event may reach */

/* A parsed body and its events. */
struct alert_batch {
    struct json_object *body;
    struct alert_event *events;
    size_t n;
};

/* Parse body text: JSON (a rule passes trigger.body | to_json_string), or,
 * when it is not JSON, the raw text as a string (a form post). source_hint
 * as alert_normalise() takes it. Refusals are AS_EXIT_BADINPUT:
 * "payload_too_large" (over ALERT_BODY_MAX), and alert_normalise()'s. 0, or
 * -1 with err and *b empty. */
int alert_batch_parse(const char *text, const char *source_hint, struct alert_batch *b,
                      struct as_error *err);

/* Empty b (which may then be parsed into again). */
void alert_batch_clear(struct alert_batch *b);

/* Route every event (to asg when given, see alert_route.h) and record it
 * in its group's incident at `now`. *out is {changed: how many incidents
 * opened, escalated or closed, events: [{group, source, id, state,
 * severity, title, change, why (ignored events)}]}: one entry per event
 * and group, and one with group null per ignored event. */
int alert_batch_record(struct ds *ds, const struct alert_batch *b, const char *asg,
                       long long now, struct json_object **out, struct as_error *err);

#endif
