/* incident.c - see incident.h. */
#include "incident.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static const char *const change_names[] = {"opened",       "escalated", "closed",
                                           "closed_early", "duplicate", "ignored"};

const char *incident_change_name(enum incident_change c)
{
    return change_names[c];
}

static struct json_object *new_record(const struct alert_event *e, const char *state,
                                      long long now)
{
    struct json_object *r = jx_new_object();
    jx_add_str(r, "id", e->id);
    jx_add_str(r, "source", e->source);
    jx_add_str(r, "state", state);
    jx_add_str(r, "severity", alert_severity_name(e->severity));
    jx_add_str(r, "title", e->title);
    if (strcmp(state, "open") == 0)
        jx_add_int(r, "opened_at", now);
    else
        json_object_object_add(r, "opened_at", NULL);
    json_object_object_add(r, "closed_at", NULL);
    jx_add_int(r, "event_at", e->at);
    return r;
}

/* Decide the change and mutate (or create) the record accordingly. */
static enum incident_change transition(struct json_object **rec,
                                       const struct alert_event *e, long long now)
{
    const char *state = *rec ? jx_str(*rec, "state", "") : NULL;

    if (e->state == ALERT_IGNORE)
        return INC_IGNORED;
    if (e->state == ALERT_OPEN) {
        if (!state) {
            *rec = new_record(e, "open", now);
            return INC_OPENED;
        }
        if (strcmp(state, "open") == 0 && e->severity == ALERT_CRITICAL &&
            strcmp(jx_str(*rec, "severity", ""), "critical") != 0) {
            jx_add_str(*rec, "severity", "critical");
            return INC_ESCALATED;
        }
        return INC_DUPLICATE; /* open again, or open after its close */
    }
    if (!state) {
        *rec = new_record(e, "closed", now);
        jx_add_int(*rec, "closed_at", now);
        return INC_CLOSED_EARLY;
    }
    if (strcmp(state, "open") != 0)
        return INC_DUPLICATE;
    jx_add_str(*rec, "state", "closed");
    jx_add_int(*rec, "closed_at", now);
    return INC_CLOSED;
}

int incident_apply(struct ds *ds, const char *group, const struct alert_event *e,
                   long long now, long long max_age, enum incident_change *change,
                   struct json_object **record, struct as_error *err)
{
    char id[96], key[KEY_MAX], *text = NULL;
    struct json_object *rec = NULL;

    if (record)
        *record = NULL;
    if (e->state != ALERT_IGNORE && !e->id[0])
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_payload",
                       "the event carries no incident id, so its close could never "
                       "be matched to its open");
    alert_key_id(e, id, sizeof id);
    key_incident(key, group, id);
    int rc = e->state == ALERT_IGNORE ? DS_ABSENT : ds_get(ds, key, &text, err);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        rec = jx_parse_record(text);
        free(text);
        if (!json_object_is_type(rec, json_type_object)) {
            json_object_put(rec);
            rec = NULL; /* a corrupt record is replaced, not trusted */
        }
    }
    *change = transition(&rec, e, now);
    if (*change != INC_DUPLICATE && *change != INC_IGNORED) {
        jx_add_int(rec, "updated_at", now);
        bool open = strcmp(jx_str(rec, "state", ""), "open") == 0;
        long ttl = open ? (long)max_age + INCIDENT_OPEN_GRACE : INCIDENT_CLOSED_TTL;
        if (ds_put(ds, key, json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN),
                   ttl, err) < 0) {
            json_object_put(rec);
            return -1;
        }
        log_info("group %s: incident %s %s", group, e->id, incident_change_name(*change));
    }
    if (record)
        *record = rec;
    else
        json_object_put(rec);
    return 0;
}
