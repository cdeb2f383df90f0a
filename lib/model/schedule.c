/* schedule.c - see schedule.h. */
#include "schedule.h"
#include "claim.h"
#include "cron.h"
#include "group.h"
#include "history.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *zone_of(const char *z) { return z && *z ? z : "UTC"; }
static bool has_end(const char *end) { return end && *end; }

static int check_name(const char *name, struct as_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > GOV_SCHEDULE_NAME_MAX || !key_label_ok(name, n))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_name",
                       "parameter 'schedule' must be a DNS label (lowercase letters, digits, "
                       "'-', not at either end) of at most %d characters",
                       GOV_SCHEDULE_NAME_MAX);
    return 0;
}

static int check_values(long long min, long long max, long long desired, struct as_error *err)
{
    const long long v[3] = {min, max, desired};
    const char *names[3] = {"min", "max", "desired"};
    if (min < 0 && max < 0 && desired < 0)
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "a schedule sets at least one of min, max and desired");
    for (int i = 0; i < 3; i++)
        if (v[i] < -1 || v[i] > SCHEDULE_VALUE_MAX)
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_limits",
                           "%s (%lld) must lie between 0 and %d (-1: not set)", names[i], v[i],
                           SCHEDULE_VALUE_MAX);
    if (min >= 0 && max >= 0 && min > max)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_limits",
                       "min (%lld) must not be above max (%lld)", min, max);
    if (desired >= 0 && ((min >= 0 && desired < min) || (max >= 0 && desired > max)))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_limits",
                       "desired (%lld) must lie within the schedule's min and max", desired);
    return 0;
}

int schedule_check_names(const char *group, const char *name, struct as_error *err)
{
    return group_check_name(group, err) < 0 || check_name(name, err) < 0 ? -1 : 0;
}

int schedule_check(const struct schedule_spec *s, struct as_error *err)
{
    struct cron c;
    if (group_check_name(s->group, err) < 0 || check_name(s->name, err) < 0 ||
        cron_parse(s->start, "start", &c, err) < 0 ||
        (has_end(s->end) && cron_parse(s->end, "end", &c, err) < 0) ||
        tz_check(zone_of(s->time_zone), "time_zone", err) < 0)
        return -1;
    return check_values(s->min, s->max, s->desired, err);
}

static struct json_object *record_of(const struct schedule_spec *s, long long created,
                                     long long updated)
{
    struct json_object *r = jx_new_object();
    jx_add_str(r, "name", s->name);
    jx_add_str(r, "group", s->group);
    jx_add_str(r, "start", s->start);
    if (has_end(s->end))
        jx_add_str(r, "end", s->end);
    jx_add_str(r, "time_zone", zone_of(s->time_zone));
    jx_add_int(r, "min", s->min);
    jx_add_int(r, "max", s->max);
    jx_add_int(r, "desired", s->desired);
    jx_add_int(r, "created_at", created);
    jx_add_int(r, "updated_at", updated);
    return r;
}

static bool str_eq(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

/* Whether the stored record already says what s says. */
static bool same(struct json_object *old, const struct schedule_spec *s)
{
    return str_eq(jx_str(old, "start", NULL), s->start) &&
           str_eq(jx_str(old, "end", NULL), has_end(s->end) ? s->end : NULL) &&
           str_eq(jx_str(old, "time_zone", NULL), zone_of(s->time_zone)) &&
           jx_int(old, "min", -1) == s->min && jx_int(old, "max", -1) == s->max &&
           jx_int(old, "desired", -1) == s->desired;
}

static struct json_object *set_result(const struct schedule_spec *s, bool created, bool changed,
                                      struct json_object *rec)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", s->group);
    jx_add_str(o, "schedule", s->name);
    jx_add_bool(o, "created", created);
    jx_add_bool(o, "changed", changed);
    json_object_object_add(o, "record", rec);
    return o;
}

/* The group's schedules other than `name`: SCHEDULE_MAX of them refuse a
 * new one. */
static int check_room(struct ds *ds, const struct schedule_spec *s, struct as_error *err)
{
    char prefix[KEY_MAX], key[KEY_MAX];
    struct ds_list l = {0};
    if (ds_list(ds, key_schedule_prefix(prefix, s->group), &l, err) < 0)
        return -1;
    key_schedule(key, s->group, s->name);
    size_t others = 0;
    for (size_t i = 0; i < l.count; i++)
        others += strcmp(l.items[i].name, key) != 0;
    ds_list_clear(&l);
    if (others >= SCHEDULE_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "group '%s' has %d schedules, the most a group may have; delete one "
                       "first",
                       s->group, SCHEDULE_MAX);
    return 0;
}

#define SCHEDULE_LOCK_TTL 30        /* s: a crashed holder frees the group this soon */
#define SCHEDULE_LOCK_WAIT_MS 10000 /* another set holding it this long is a failure */

/* Room for a new schedule, counted under the group's schedule claim and
 * kept until the caller has written it (claim_drop): two sets at once
 * would each count 49 others and write the 50th and the 51st. 0 with *cl
 * held, or -1 with err and nothing held. */
static int room_claim(struct ds *ds, const struct schedule_spec *s, struct claim *cl,
                      struct as_error *err)
{
    char base[KEY_MAX];
    int rc = claim_take(ds, key_schedule_lock(base, s->group), s->name, SCHEDULE_LOCK_TTL,
                        CLAIM_WAIT, SCHEDULE_LOCK_WAIT_MS, cl, err);
    if (rc == CLAIM_TAKEN)
        return as_fail(err, AS_EXIT_FAILURE, "schedule_busy",
                       "group '%s': another asg_schedule_set held its schedules for %d ms",
                       s->group, SCHEDULE_LOCK_WAIT_MS);
    if (rc < 0)
        return -1;
    if (check_room(ds, s, err) < 0) {
        claim_drop(ds, cl);
        return -1;
    }
    return 0;
}

/* The group must exist and not be on its way out: a schedule written while
 * asg_delete runs would outlive the group it was for. */
static int check_group(struct ds *ds, const char *group, struct as_error *err)
{
    char key[KEY_MAX], *text = NULL, status[16];
    int rc = ds_get(ds, key_spec(key, group), &text, err);
    bool deleting = rc == 0 && jx_peek_str(text, "status", status, sizeof status) == 0 &&
                    strcmp(status, "deleting") == 0;
    free(text);
    if (rc < 0)
        return -1;
    if (rc == DS_ABSENT)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_group", "no group named '%s'", group);
    if (deleting)
        return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                       "group '%s' is being deleted", group);
    return 0;
}

int schedule_set(struct ds *ds, const struct schedule_spec *s, long long now,
                 struct json_object **out, struct as_error *err)
{
    char key[KEY_MAX], *text = NULL;
    if (schedule_check(s, err) < 0 || check_group(ds, s->group, err) < 0)
        return -1;
    key_schedule(key, s->group, s->name);
    int rc = ds_get(ds, key, &text, err);
    if (rc < 0)
        return -1;
    struct json_object *old = rc == DS_ABSENT ? NULL : jx_parse_record(text);
    free(text);
    if (old && same(old, s)) {
        *out = set_result(s, false, false, old);
        return 0;
    }
    long long created = old ? jx_int(old, "created_at", now) : now;
    bool existed = rc != DS_ABSENT;
    json_object_put(old);
    struct claim cl;
    bool held = false;
    if (!existed && (rc = room_claim(ds, s, &cl, err)) < 0)
        return -1;
    held = !existed;
    struct json_object *rec = record_of(s, created, now);
    char *json = jx_dump(rec);
    rc = ds_put(ds, key, json, 0, err);
    free(json);
    if (held)
        claim_drop(ds, &cl);
    if (rc < 0) {
        json_object_put(rec);
        return -1;
    }
    log_info("group %s: schedule %s %s (start \"%s\"%s%s%s, %s)", s->group, s->name,
             existed ? "replaced" : "created", s->start, has_end(s->end) ? ", end \"" : "",
             has_end(s->end) ? s->end : "", has_end(s->end) ? "\"" : "", zone_of(s->time_zone));
    *out = set_result(s, !existed, true, rec);
    return 0;
}

int schedule_delete(struct ds *ds, const char *group, const char *name,
                    struct json_object **out, struct as_error *err)
{
    char key[KEY_MAX], *text = NULL;
    if (schedule_check_names(group, name, err) < 0)
        return -1;
    key_schedule(key, group, name);
    int rc = ds_get(ds, key, &text, err);
    free(text);
    if (rc < 0)
        return -1;
    bool existed = rc != DS_ABSENT;
    if (existed && ds_del(ds, key, err) < 0)
        return -1;
    if (existed)
        log_info("group %s: schedule %s deleted", group, name);
    *out = jx_new_object();
    jx_add_str(*out, "group", group);
    jx_add_str(*out, "schedule", name);
    jx_add_bool(*out, "deleted", existed);
    return 0;
}

/* A record's fields as schedule_eval reads them: 0, or -1 when one is
 * missing or invalid. The crons parsed, the zone checked. */
struct parsed {
    struct gov_schedule g;
    struct cron start, end;
    bool has_end;
    char zone[TZ_NAME_MAX + 1]; /* a copy: the record is freed before it is used */
};

static int parse_record(struct json_object *r, struct parsed *p)
{
    memset(p, 0, sizeof *p);
    const char *name = jx_str(r, "name", NULL), *end = jx_str(r, "end", NULL);
    const char *zone = zone_of(jx_str(r, "time_zone", NULL));
    p->g.min = jx_int(r, "min", -1);
    p->g.max = jx_int(r, "max", -1);
    p->g.desired = jx_int(r, "desired", -1);
    p->has_end = has_end(end);
    if (!r || check_name(name, NULL) < 0 ||
        cron_parse(jx_str(r, "start", NULL), "start", &p->start, NULL) < 0 ||
        (p->has_end && cron_parse(end, "end", &p->end, NULL) < 0) || !tz_valid(zone) ||
        check_values(p->g.min, p->g.max, p->g.desired, NULL) < 0)
        return -1;
    snprintf(p->g.name, sizeof p->g.name, "%s", name);
    snprintf(p->zone, sizeof p->zone, "%s", zone);
    return 0;
}

/* Both searches in one tz scope: the zone is set once per schedule. */
static void eval_parsed(struct parsed *p, long long now)
{
    tz_begin(p->zone);
    long long start = cron_prev(&p->start, p->zone, now);
    long long end = p->has_end ? cron_prev(&p->end, p->zone, now) : 0;
    tz_end();
    p->g.active = start > 0 && (!p->has_end || end < start);
    p->g.since = p->g.active ? start : 0;
}

int schedule_eval(const char *text, long long now, struct gov_schedule *out)
{
    struct json_object *r = text ? jx_parse_record(text) : NULL;
    struct parsed p;
    int rc = parse_record(r, &p);
    json_object_put(r);
    memset(out, 0, sizeof *out);
    out->min = out->max = out->desired = -1;
    if (rc < 0)
        return -1;
    eval_parsed(&p, now);
    *out = p.g;
    return out->active ? 1 : 0;
}

void schedule_fold(struct gov_schedule *best, const struct gov_schedule *cand)
{
    if (!cand->active)
        return;
    if (!best->active || cand->since > best->since ||
        (cand->since == best->since && strcmp(cand->name, best->name) < 0))
        *best = *cand;
}

static void add_time(struct json_object *o, const char *name, long long t)
{
    char key[32], iso[32];
    snprintf(key, sizeof key, "%s_at", name);
    jx_add_str(o, name, t > 0 ? history_iso8601(iso, t) : NULL);
    jx_add_int(o, key, t);
}

/* One listed schedule: its record with what it means at now. */
static struct json_object *listed(const struct ds_entry *e, long long now,
                                  struct gov_schedule *in_force)
{
    struct json_object *r = jx_parse_record(e->value);
    struct parsed p;
    if (parse_record(r, &p) < 0) {
        json_object_put(r);
        struct json_object *o = jx_new_object();
        jx_add_str(o, "key", e->name);
        jx_add_str(o, "error", "unreadable or invalid record: set it again or delete it");
        return o;
    }
    eval_parsed(&p, now);
    schedule_fold(in_force, &p.g);
    jx_add_bool(r, "active", p.g.active);
    jx_add_int(r, "since", p.g.since);
    tz_begin(p.zone);
    add_time(r, "next_start", cron_next(&p.start, p.zone, now));
    add_time(r, "next_end", p.has_end ? cron_next(&p.end, p.zone, now) : 0);
    tz_end();
    return r;
}

int schedule_list(struct ds *ds, const char *group, long long now, struct json_object **out,
                  struct as_error *err)
{
    char prefix[KEY_MAX];
    struct ds_list l = {0};
    if (group_check_name(group, err) < 0 || group_exists(ds, group, err) < 0 ||
        ds_list(ds, key_schedule_prefix(prefix, group), &l, err) < 0)
        return -1;
    struct gov_schedule best = {.active = false};
    struct json_object *arr = jx_new_array();
    for (size_t i = 0; i < l.count; i++)
        json_object_array_add(arr, listed(&l.items[i], now, &best));
    ds_list_clear(&l);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *s = json_object_array_get_idx(arr, i);
        if (!jx_str(s, "error", NULL))
            jx_add_bool(s, "in_force",
                        best.active && strcmp(jx_str(s, "name", ""), best.name) == 0);
    }
    char iso[32];
    *out = jx_new_object();
    jx_add_str(*out, "group", group);
    jx_add_str(*out, "now", history_iso8601(iso, now));
    jx_add_str(*out, "in_force", best.active ? best.name : NULL);
    jx_add_int(*out, "count", (long long)json_object_array_length(arr));
    json_object_object_add(*out, "schedules", arr);
    return 0;
}
