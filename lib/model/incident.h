/* incident.h - a group's alert state: one record per monitor incident, under
 * autoscale.incident.<group>.<key id>, written only by alert_event for that
 * incident. The group is in alert while any incident is open and younger
 * than the group's incident_max_age.
 *
 * Incidents only move forward: absent -> open -> closed. A close that arrives
 * before its open creates a closed record, so the late open finds it and
 * changes nothing (New Relic and Alertmanager deliver out of order on
 * retries). Repeats of either are no-ops. */
#ifndef AS_INCIDENT_H
#define AS_INCIDENT_H

#include <json-c/json.h>

#include "alert.h"
#include "datastore.h"
#include "error.h"

enum incident_change {
    INC_OPENED,       /* a new open incident */
    INC_ESCALATED,    /* already open, now at a higher severity */
    INC_CLOSED,       /* was open, now closed */
    INC_CLOSED_EARLY, /* closed before its open arrived: remembered */
    INC_DUPLICATE,    /* nothing new */
    INC_IGNORED       /* acknowledged, deployment notice, ...: changes nothing */
};

/* How long records are kept: an open one a day past the max age (it no
 * longer counts by then anyway), a closed one a week, to remember closes. */
#define INCIDENT_CLOSED_TTL (7 * 86400L)
#define INCIDENT_OPEN_GRACE 86400L

const char *incident_change_name(enum incident_change c);

/* Apply one event to its group's stored incident. *record (may be NULL) is
 * the record after the change, a new reference. */
int incident_apply(struct ds *ds, const char *group, const struct alert_event *e,
                   long long now, long long max_age, enum incident_change *change,
                   struct json_object **record, struct as_error *err);

#endif
