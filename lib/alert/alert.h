/* alert.h - turn one monitoring webhook body into normalised alert events.
 *
 * Five payload families are understood. A body reaches us through st2's
 * webhook rule as `{{ trigger.body | to_json_string }}`: st2 parses JSON and
 * form-encoded bodies into an object (a form field may arrive as a string or
 * as a one-element list of strings); a body st2 could not parse arrives as a
 * JSON *string* holding the raw text. A string body is unwrapped once: text
 * starting with `{` is parsed as JSON, anything holding `=` is decoded as
 * application/x-www-form-urlencoded (`+` and %XX) into an object of strings.
 *
 * Detection, first match wins (a source hint only skips families; when the
 * body would have matched a skipped family the error says so):
 *
 *  1. newrelic_legacy    an `alert` or `deployment` field holding a JSON
 *                        object, or a string (or [string]) starting with `{`.
 *                        Checked first: its envelope has nothing else.
 *  2. alertmanager       an `alerts` array (Prometheus Alertmanager webhook
 *                        version 4; Grafana's webhook uses the same shape).
 *  3. newrelic_channel   a `current_state` field, or `incident_id` together
 *                        with `condition_name`, `policy_name` or `targets`.
 *                        All snake_case: none of these appear in 4 or 5.
 *  4. newrelic_workflow  one of the template's camelCase fields: `issueUrl`,
 *                        `priority`, `impactedEntities`, `alertPolicyNames`,
 *                        `alertConditionNames`, `workflowName`,
 *                        `totalIncidents`, `isCorrelated`, `createdAt`,
 *                        `updatedAt`; or a `state` of CREATED, ACTIVATED or
 *                        ACKNOWLEDGED (values the generic form never uses).
 *                        Must precede 5: both carry `id` and `state`.
 *  5. generic            a `state` or `status` field. The pack's own form:
 *                        {"asg": "web", "state": "open|closed",
 *                         "severity": "critical|warning", "id": "..."}
 *                        aliases: `status` for state, `incident_id` for id,
 *                        state firing/resolved/acknowledged, severity
 *                        page/error (critical) and info (warning); optional
 *                        `title` (or `summary`, `message`), `names` [..],
 *                        `at` or `timestamp` (epoch seconds, milliseconds
 *                        when above 1e11, or RFC 3339 text). Being our own
 *                        contract, an unknown severity is an error here,
 *                        where the vendors' unknown severities mean warning.
 *
 * Per family (values are matched case-insensitively everywhere):
 *  - legacy: state from the prefix of long_description (Alert opened /
 *    escalated to downtime: open; ended / canceled / downtime recovered:
 *    closed; acknowledged: ignore), else from the same phrase in
 *    short_description. Severity critical|downtime: critical. id: the
 *    trailing number of alert_url, else "legacy-" + a hash of policy,
 *    application and servers. A `deployment` is one ignored event.
 *  - channel: current_state open|acknowledged|closed (and "test", NR's
 *    "send test notification", ignored); severity CRITICAL: critical;
 *    id incident_id; time `timestamp` (ms).
 *  - workflow: state CREATED|ACTIVATED: open, ACKNOWLEDGED: ignore, CLOSED:
 *    closed; priority CRITICAL|HIGH: critical; id `id` (else `issueId`);
 *    title a string or an array of strings; time updatedAt, else createdAt.
 *  - alertmanager: one event per alert (at most ALERT_MAX_EVENTS; the rest
 *    are dropped with a warning, as Alertmanager's own max_alerts does);
 *    status firing|resolved (an alert without one takes the body's);
 *    labels.severity critical|page|error: critical; id the fingerprint, else
 *    a hash of the sorted labels; time startsAt (firing) or endsAt.
 *  The group: a top-level `asg` field, else an `asg` label (key in any case)
 *  in the family's labels (channel: targets[].labels; alertmanager:
 *  alert labels then commonLabels; others: a `labels` or `tags` object),
 *  whose value is a string or an array of strings (the first is taken). It
 *  is trimmed and lower-cased (group names are lower-case DNS labels).
 *
 * Untrusted text: every output string is valid UTF-8 on one line with no
 * control characters (invalid bytes become U+FFFD, controls a space).
 * Titles and names are cut at a character boundary; ids and groups are
 * never cut - a longer one is invalid_payload, since a cut could merge two
 * incidents or route to the wrong group - and an id holding control
 * characters or invalid UTF-8 is invalid_payload for the same reason. */
#ifndef AS_ALERT_H
#define AS_ALERT_H

#include <json-c/json.h>
#include <stddef.h>

#include "error.h"

enum alert_state { ALERT_OPEN, ALERT_CLOSED, ALERT_IGNORE };
enum alert_severity { ALERT_CRITICAL, ALERT_WARNING };

#define ALERT_ID_MAX 128
#define ALERT_GROUP_MAX 32
#define ALERT_NAMES_MAX 64    /* names kept per event; more are dropped */
#define ALERT_NAME_MAX 256    /* bytes per name, cut at a UTF-8 boundary */
#define ALERT_MAX_EVENTS 1000 /* alerts taken from one Alertmanager body */
#define ALERT_KEY_MAX 80      /* alert_key_id's output size */

struct alert_event {
    const char *source;          /* static: "newrelic_legacy", "newrelic_channel",
                                    "newrelic_workflow", "alertmanager", "generic" */
    char group[ALERT_GROUP_MAX]; /* from an explicit `asg` label/tag, "" if none */
    char id[ALERT_ID_MAX];       /* the incident id as given (a number in decimal), "" if none */
    enum alert_state state;
    enum alert_severity severity;
    char title[256]; /* for people: condition/title/summary, one line */
    char why[160];   /* for ALERT_IGNORE: why it changes nothing */
    long long at;    /* event time, epoch seconds, 0 if unknown */
    /* Names a group's alert_match list can route on: policy, condition,
     * application, entity names. NULL-terminated, owned, never NULL after
     * a successful alert_normalise; de-duplicated case-insensitively. */
    char **names;
};

/* Normalise one webhook body (already parsed JSON; a JSON string holding
 * form text or JSON is also accepted) into events. source_hint NULL or ""
 * means any family; else one of the source names, or "newrelic" for any New
 * Relic generation (another value is AS_EXIT_BADINPUT "invalid_parameter").
 * Returns 0 with *events and *n set (n >= 1; an Alertmanager body may carry several
 * alerts), or -1 with err: AS_EXIT_BADINPUT "unrecognised_payload" (message
 * names what was looked for), "invalid_payload" (wrong types such as a
 * non-object or empty body, an id that is an object/array/bool or too long,
 * an unknown state value). */
int alert_normalise(struct json_object *body, const char *source_hint,
                    struct alert_event **events, size_t *n, struct as_error *err);
void alert_events_free(struct alert_event *events, size_t n);

const char *alert_state_name(enum alert_state s);       /* "open" "closed" "ignore" */
const char *alert_severity_name(enum alert_severity s); /* "critical" "warning" */

/* A datastore-safe form of an incident id, prefixed by the source family
 * ("nr-", "am-", "gen-") so that New Relic id 42 and Alertmanager
 * fingerprint 42 differ. An id matching [A-Za-z0-9_-]{1,64} is kept as is;
 * anything else becomes "h" + 16 hex digits of a 64-bit FNV-1a hash of the
 * id. Kept ids that themselves look like "h" + 16 lower-case hex digits are
 * hashed too, so a kept id can never equal a hashed one. Never contains a
 * dot (keys are dotted paths). Writes into out (ALERT_KEY_MAX bytes). */
void alert_key_id(const struct alert_event *e, char *out, size_t outsz);

#endif
