/* history.c - see history.h. */
#include "history.h"
#include "group.h"
#include "clock.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "node.h"
#include "utf8.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 9999-12-31T23:59:59Z: the last second the 20-character form can say. */
#define TIME_LAST 253402300799LL
/* The last millisecond a decision key's 15 digits hold (key_history). */
#define KEY_MS_LAST 999999999999999LL

/* ---------------------------------------------------------------- time -- */

char *history_iso8601(char *buf, long long epoch_s)
{
    /* Clamped rather than refused: a record's time is shown, never trusted,
     * and a wild one must still fit the buffer. */
    time_t t = (time_t)(epoch_s < 0 ? 0 : epoch_s > TIME_LAST ? TIME_LAST : epoch_s);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
        snprintf(buf, 21, "1970-01-01T00:00:00Z");
    return buf;
}

static bool leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The number s[0..n) (digits only), or -1. */
static long long digits(const char *s, size_t n)
{
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ", from 1970 on: what history_iso8601
 * prints, and nothing looser (no offset, no fraction, no second 60), so
 * that a time given is never read as another one. */
static int parse_iso(const char *s, long long *epoch_s)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return -1;
    long long y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2),
              h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 59)
        return -1;
    if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return -1;
    *epoch_s = as_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
               mi * 60 + sec;
    return 0;
}

int history_parse_time(const char *s, long long *epoch_s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return -1;
    if (n <= 12) {
        long long v = digits(s, n);
        if (v >= 0 && v <= TIME_LAST) {
            *epoch_s = v;
            return 0;
        }
    }
    return parse_iso(s, epoch_s);
}

/* ----------------------------------------------------------- decisions -- */

/* The milliseconds of a decision key's leaf, or -1 if it has not that shape. */
static long long key_ms(const char *key)
{
    const char *leaf = key_leaf(key);
    return strlen(leaf) == 15 ? digits(leaf, 15) : -1;
}

int history_last(struct ds *ds, const char *group, struct json_object **out,
                 struct as_error *err)
{
    char key[KEY_MAX], *value = NULL;
    *out = NULL;
    if (group_check_name(group, err) < 0)
        return -1;
    int rc = ds_get(ds, key_decision(key, group), &value, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        *out = jx_parse_record(value);
    free(value);
    return 0;
}

static void copy_field(char *dst, size_t size, struct json_object *o, const char *name)
{
    snprintf(dst, size, "%s", jx_str(o, name, ""));
}

int history_mark_read(const char *text, struct history_mark *m)
{
    struct json_object *o = jx_parse_record(text);
    *m = (struct history_mark){0};
    if (!o)
        return -1;
    m->set = true;
    copy_field(m->action, sizeof m->action, o, "action");
    copy_field(m->code, sizeof m->code, o, "code");
    copy_field(m->alert, sizeof m->alert, o, "alert");
    m->ms = jx_int(o, "ms", jx_int(o, "at", 0) * 1000);
    json_object_put(o);
    return 0;
}

static bool same_as(const struct history_mark *m, struct json_object *d)
{
    return m->set && strcmp(m->action, jx_str(d, "action", "")) == 0 &&
           strcmp(m->code, jx_str(d, "code", "")) == 0 &&
           strcmp(m->alert, jx_str(d, "alert", "")) == 0;
}

/* What the notices compare with: the mark as a record. */
static struct json_object *mark_record(const struct history_mark *m)
{
    if (!m->set)
        return NULL;
    struct json_object *o = jx_new_object();
    jx_add_str(o, "action", m->action);
    jx_add_str(o, "code", m->code);
    jx_add_str(o, "alert", m->alert);
    return o;
}

/* What a decision record keeps of the tick's decision. */
static struct json_object *decision_record(struct json_object *decision, long long now_ms,
                                           long long key_ms)
{
    static const char *const fields[] = {"action", "code", "count", "remove",
                                         "capacity_before", "capacity_after", "alert",
                                         "reason", "lease_id"};
    char iso[21];
    struct json_object *rec = jx_new_object(), *v;
    jx_add_int(rec, "at", now_ms / 1000);
    jx_add_str(rec, "time", history_iso8601(iso, now_ms / 1000));
    jx_add_int(rec, "ms", key_ms);
    jx_add_str(rec, "kind", "decision");
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (json_object_object_get_ex(decision, fields[i], &v) && v)
            json_object_object_add(rec, fields[i], json_object_get(v));
    return rec;
}

/* Keep the group's records to HISTORY_MAX, the oldest going first. Only a
 * tick that recorded lists them, so a resting group costs no listing. A
 * failure is only logged: the decision is kept, and the next writer prunes
 * again. */
static void prune_history(struct ds *ds, const char *group)
{
    char key[KEY_MAX];
    struct ds_list l = {0}, old = {0};
    struct as_error err;
    if (ds_list(ds, key_history_prefix(key, group), &l, &err) < 0) {
        log_warn("group %s: listing its history: %s", group, err.message);
        return;
    }
    for (size_t i = 0; i + HISTORY_MAX < l.count; i++)
        ds_list_add(&old, l.items[i].name, NULL);
    if (old.count && ds_del_list(ds, &old, &err) < 0)
        log_warn("group %s: pruning its history: %s", group, err.message);
    ds_list_clear(&old);
    ds_list_clear(&l);
}

int history_note_after(struct ds *ds, const char *group, struct json_object *decision,
                       const struct history_mark *last, long long now_ms, bool *recorded,
                       struct json_object **prev, struct as_error *err)
{
    char key[KEY_MAX];
    *recorded = false;
    if (prev)
        *prev = NULL;
    if (group_check_name(group, err) < 0)
        return -1;
    if (same_as(last, decision))
        goto done;
    /* Keys stay in the order of writing: a clock stepped back, or two
     * ticks within one millisecond, still write after the latest record. */
    long long when = last->set && now_ms <= last->ms ? last->ms + 1 : now_ms;
    if (when > KEY_MS_LAST) /* keep 15 digits, so keys sort as numbers */
        when = KEY_MS_LAST;
    struct json_object *rec = decision_record(decision, now_ms, when);
    const char *text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
    /* The history record first: a tick killed between the two writes
     * leaves the old mark, so the next tick records the decision again
     * rather than never. */
    int rc = ds_put(ds, key_history(key, group, when), text, EVENT_TTL, err);
    if (rc == 0)
        rc = ds_put(ds, key_decision(key, group), text, EVENT_TTL, err);
    json_object_put(rec);
    if (rc < 0)
        return -1;
    *recorded = true;
    prune_history(ds, group);
done:
    if (prev)
        *prev = mark_record(last);
    return 0;
}

int history_note(struct ds *ds, const char *group, struct json_object *decision,
                 long long now_ms, bool *recorded, struct json_object **prev,
                 struct as_error *err)
{
    char key[KEY_MAX], *value = NULL;
    struct history_mark last = {0};
    *recorded = false;
    if (prev)
        *prev = NULL;
    if (group_check_name(group, err) < 0)
        return -1;
    int rc = ds_get(ds, key_decision(key, group), &value, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        history_mark_read(value, &last);
    free(value);
    return history_note_after(ds, group, decision, &last, now_ms, recorded, prev, err);
}

/* ------------------------------------------------------------- notices -- */

static void add_notice(struct json_object *arr, struct json_object *decision,
                       const char *event)
{
    struct json_object *n = jx_new_object();
    jx_add_str(n, "group", jx_str(decision, "group", ""));
    jx_add_str(n, "event", event);
    jx_add_str(n, "reason", jx_str(decision, "reason", ""));
    jx_add_int(n, "count", jx_int(decision, "count", 0));
    json_object_array_add(arr, n);
}

static bool alerting(struct json_object *o)
{
    const char *a = jx_str(o, "alert", "none");
    return a[0] && strcmp(a, "none") != 0;
}

struct json_object *history_notices(struct json_object *prev, struct json_object *decision)
{
    struct json_object *arr = jx_new_array();
    bool was = prev && alerting(prev), is = alerting(decision);
    if (!was && is)
        add_notice(arr, decision, "alert_opened");
    if (strcmp(jx_str(decision, "code", ""), "alert_at_max") == 0 &&
        !(prev && strcmp(jx_str(prev, "code", ""), "alert_at_max") == 0))
        add_notice(arr, decision, "capacity_exhausted");
    if (was && !is)
        add_notice(arr, decision, "alert_closed");
    return arr;
}

/* ------------------------------------------------------------ outcomes -- */

/* One name of the list, s[0..n): checked, and not already in arr. */
static int check_node(struct json_object *arr, const char *s, size_t n, struct as_error *err)
{
    if (n == 0)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'nodes' must be node names separated by commas, "
                       "without an empty one");
    char *name = xstrndup(s, n);
    int rc = node_check_name(name, err);
    for (size_t i = 0; rc == 0 && i < json_object_array_length(arr); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), name) == 0)
            rc = as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                         "parameter 'nodes' names %s twice", name);
    if (rc == 0 && json_object_array_length(arr) >= HISTORY_NODES_MAX)
        rc = as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                     "parameter 'nodes' names more than %d nodes", HISTORY_NODES_MAX);
    free(name);
    return rc;
}

int history_nodes_parse(const char *csv, struct json_object **out, struct as_error *err)
{
    struct json_object *arr = jx_new_array();
    const char *start = csv ? csv : "", *p = start;
    /* "" is no node; otherwise every comma separates two names. */
    while (*p || (p != start && p[-1] == ',')) {
        size_t n = strcspn(p, ",");
        if (check_node(arr, p, n, err) < 0) {
            json_object_put(arr);
            return -1;
        }
        json_object_array_add(arr, jx_new_string_len(p, n));
        p += n + (p[n] == ',');
    }
    *out = arr;
    return 0;
}

/* Valid UTF-8 of at most HISTORY_REASON_MAX characters: code points, as
 * st2's maxLength counts them (notify's reason is checked the same way). */
static int check_reason(const char *s, struct as_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (!utf8_valid(s ? s : "", n) || utf8_chars(s, n) > HISTORY_REASON_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'reason' must be UTF-8 text of at most %d characters",
                       HISTORY_REASON_MAX);
    return 0;
}

int history_prune_events(struct ds *ds, const char *group, struct as_error *err)
{
    char key[KEY_MAX], op[16];
    struct ds_list l = {0}, old = {0};
    long long at;
    if (ds_list(ds, key_event_prefix(key, group), &l, err) < 0)
        return -1;
    /* The latest event of each op (keys sort by time): kept whatever its
     * age, since the governor's cooldowns start from it. */
    size_t latest[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    static const char *const ops[] = {"scale_out", "scale_in", "replace"};
    for (size_t i = 0; i < l.count; i++)
        if (lease_id_parse(key_leaf(l.items[i].name), &at, op, sizeof op, NULL) == 0)
            for (size_t k = 0; k < 3; k++)
                if (strcmp(op, ops[k]) == 0)
                    latest[k] = i;
    size_t extra = l.count > HISTORY_MAX ? l.count - HISTORY_MAX : 0;
    for (size_t i = 0; i < l.count && old.count < extra; i++)
        if (i != latest[0] && i != latest[1] && i != latest[2])
            ds_list_add(&old, l.items[i].name, NULL);
    int rc = ds_del_list(ds, &old, err);
    ds_list_clear(&old);
    ds_list_clear(&l);
    return rc < 0 ? -1 : 0;
}

int history_outcome_parse(const char *reason, const char *nodes_csv,
                          struct json_object **nodes, struct as_error *err)
{
    return check_reason(reason, err) < 0 ? -1 : history_nodes_parse(nodes_csv, nodes, err);
}

int history_record_outcome(struct ds *ds, const char *group, const char *lease_id,
                           const struct scaling_outcome *o, long long now,
                           struct json_object **out, struct as_error *err)
{
    struct as_error perr;
    if (group_check_name(group, err) < 0 || check_reason(o->reason, err) < 0 ||
        scaling_record_outcome(ds, group, lease_id, o, now, out, err) < 0)
        return -1;
    /* After the event and the release: a failure here leaves an event too
     * many, which the next outcome prunes, and must not fail the workflow's
     * last step. */
    if (history_prune_events(ds, group, &perr) < 0)
        log_warn("group %s: pruning its events: %s", group, perr.message);
    return 0;
}

/* ---------------------------------------------------------------- show -- */

int history_check_kind(const char *kind, struct as_error *err)
{
    static const char *const kinds[] = {"decision", "event", "scale_out", "scale_in",
                                        "replace", "none"};
    for (size_t i = 0; kind && i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return 0;
    return kind ? as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                          "parameter 'kind' must be one of decision, event, scale_out, "
                          "scale_in, replace, none")
                : 0;
}

struct entry {
    long long ms;  /* when it happened */
    size_t seq;    /* order read: decisions first, for equal times */
    struct json_object *o;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool kind_matches(const char *kind, bool decision, struct json_object *o)
{
    if (!kind)
        return true;
    if (strcmp(kind, "decision") == 0 || strcmp(kind, "event") == 0)
        return decision == (kind[0] == 'd');
    return strcmp(jx_str(o, decision ? "action" : "op", ""), kind) == 0;
}

struct entries {
    struct entry *v;
    size_t n, cap;
};

/* Read a listing's records into es, those the query keeps. */
static void collect(struct entries *es, const struct ds_list *l, bool decision,
                    const struct history_query *q)
{
    char iso[21];
    for (size_t i = 0; i < l->count; i++) {
        struct json_object *o = jx_parse_record(l->items[i].value);
        if (!o)
            continue;
        long long ms;
        if (decision) {
            jx_add_str(o, "kind", "decision");
            ms = key_ms(l->items[i].name);
            if (ms < 0)
                ms = jx_int(o, "at", 0) * 1000;
        } else {
            long long fin = jx_int(o, "finished_at", 0), at = jx_int(o, "at", 0);
            ms = (fin > 0 ? fin : at) * 1000;
            jx_add_str(o, "kind", "event");
            jx_add_str(o, "time", history_iso8601(iso, ms / 1000));
            jx_add_str(o, "started", history_iso8601(iso, at));
        }
        long long s = ms / 1000;
        if (!kind_matches(q->kind, decision, o) || (q->since > 0 && s < q->since) ||
            (q->until > 0 && s > q->until)) {
            json_object_put(o);
            continue;
        }
        es->v = xgrow(es->v, es->n + 1, &es->cap, sizeof *es->v);
        es->v[es->n] = (struct entry){ms, es->n, o};
        es->n++;
    }
}

int history_show(struct ds *ds, const struct history_query *q, struct json_object **out,
                 struct as_error *err)
{
    char key[KEY_MAX];
    struct ds_list dl = {0}, el = {0};
    struct entries es = {0};

    if (group_check_name(q->group, err) < 0 || history_check_kind(q->kind, err) < 0)
        return -1;
    if (q->since > 0 && q->until > 0 && q->until < q->since)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'until' is before 'since'");
    if (group_exists(ds, q->group, err) < 0 ||
        ds_list(ds, key_history_prefix(key, q->group), &dl, err) < 0 ||
        ds_list(ds, key_event_prefix(key, q->group), &el, err) < 0) {
        ds_list_clear(&dl);
        return -1;
    }
    collect(&es, &dl, true, q);
    collect(&es, &el, false, q);
    ds_list_clear(&dl);
    ds_list_clear(&el);
    if (es.n) /* qsort's base may not be NULL, even for no element */
        qsort(es.v, es.n, sizeof *es.v, entry_cmp);

    size_t limit = q->limit > 0 ? (size_t)q->limit : 50;
    size_t first = es.n > limit ? es.n - limit : 0;
    struct json_object *arr = jx_new_array();
    for (size_t i = 0; i < es.n; i++) {
        if (i >= first)
            json_object_array_add(arr, es.v[i].o);
        else
            json_object_put(es.v[i].o);
    }
    free(es.v);
    *out = jx_new_object();
    jx_add_str(*out, "group", q->group);
    json_object_object_add(*out, "entries", arr);
    jx_add_int(*out, "count", (long long)json_object_array_length(arr));
    jx_add_int(*out, "matched", (long long)es.n);
    return 0;
}
