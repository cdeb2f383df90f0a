/* governor_load.c - see governor_load.h. */
#include "governor_load.h"
#include "jsonx.h"
#include "keys.h"
#include "samples.h"
#include "schedule.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The nodes one walk flagged (unhealthy, or protected), as "<group>.<node>"
 * with the node named as asg_state_load() names it (the key's last part).
 * Only flagged nodes are kept (a few bytes each), so the join costs memory
 * in proportion to the unhealthy and protected nodes, never to every node. */
struct flagged {
    char *text; /* NUL-separated names */
    size_t len, cap;
    size_t *at; /* offsets into text, sorted once the walk ends */
    size_t n, at_cap;
};

struct loader {
    struct gov_groups *gs;
    struct flagged unhealthy, protect;
    long long now;
    /* The last record's key up to the end of its group's name, and the
     * group found for it: a group's records come one after another, so
     * most records need no search. */
    char last[KEY_MAX];
    size_t last_len;
    struct gov_group *last_hit;
    bool sorted; /* the groups' names strictly ascend: see find */
    /* The last node state read, and what node_state_parse made of it. */
    char last_state[16];
    enum node_state last_parsed;
};

static int add_spec(void *arg, const char *key, const char *value, struct as_error *err)
{
    struct loader *l = arg;
    struct gov_groups *gs = l->gs;
    (void)key, (void)err;
    gs->v = xgrow(gs->v, gs->n + 1, &gs->cap, sizeof *gs->v);
    struct gov_group *gg = &gs->v[gs->n];
    if (gov_spec_read(value, &gg->spec) == 0)
        return 0; /* not a spec the pack can read: not a group of this tick */
    gov_input_init(&gg->in, NULL, l->now);
    gg->has_lease = false;
    gs->n++;
    return 0;
}

static int by_name(const void *name, const void *gg)
{
    return strcmp(name, ((const struct gov_group *)gg)->spec.name);
}

/* The group named g, found as asg_state_load_all finds it: by binary
 * search over the groups in spec key order, whatever that order is. When
 * the names strictly ascend (always, unless a spec names another group
 * than its key does), g has one match at most, which any search finds, so
 * the group after the last one found is tried first: a merge walk where
 * the order allows it. (Key order can still differ from name order:
 * "web-2." < "web." but "web" < "web-2"; the search covers that.) */
static struct gov_group *find(struct loader *l, const char *g)
{
    struct gov_groups *gs = l->gs;
    struct gov_group *next = l->last_hit ? l->last_hit + 1 : gs->v;
    if (l->sorted && next < gs->v + gs->n && strcmp(g, next->spec.name) == 0)
        return next;
    return bsearch(g, gs->v, gs->n, sizeof *gs->v, by_name);
}

/* The group a record's key belongs to (key_group), or NULL: a record of a
 * group without a spec is reconcile's business. A key that starts with
 * the last key's "autoscale.<kind>.<group>" and goes on with '.' or ends
 * there names the same group, so the last answer is the answer. */
static struct gov_group *group_of(struct loader *l, const char *key)
{
    char g[GROUP_NAME_MAX + 1];
    if (l->last_len && strncmp(key, l->last, l->last_len) == 0 &&
        (key[l->last_len] == '.' || key[l->last_len] == '\0'))
        return l->last_hit;
    if (key_group(key, g, sizeof g) < 0)
        return NULL;
    struct gov_group *hit = find(l, g);
    /* key_group found g right after the key's second dot */
    size_t len = (size_t)(strchr(strchr(key, '.') + 1, '.') + 1 - key) + strlen(g);
    l->last_len = len < sizeof l->last ? len : 0;
    memcpy(l->last, key, l->last_len);
    return l->last_hit = hit;
}

static bool names_ascend(const struct gov_groups *gs)
{
    for (size_t i = 1; i < gs->n; i++)
        if (strcmp(gs->v[i - 1].spec.name, gs->v[i].spec.name) >= 0)
            return false;
    return true;
}

/* node_state_parse, remembering the last answer: most nodes are active. */
static enum node_state state_of(struct loader *l, const char *state)
{
    if (strcmp(state, l->last_state) != 0) {
        snprintf(l->last_state, sizeof l->last_state, "%s", state);
        l->last_parsed = node_state_parse(state);
    }
    return l->last_parsed;
}

static void flag(struct flagged *f, const struct gov_group *gg, const char *key)
{
    const char *leaf = key_leaf(key);
    size_t g = strlen(gg->spec.name), n = strlen(leaf);
    f->text = xgrow(f->text, f->len + g + n + 2, &f->cap, 1);
    char *w = f->text + f->len;
    memcpy(w, gg->spec.name, g);
    w[g] = '.';
    memcpy(w + g + 1, leaf, n + 1);
    f->at = xgrow(f->at, f->n + 1, &f->at_cap, sizeof *f->at);
    f->at[f->n++] = f->len;
    f->len += g + n + 2;
}

static const char *flagged_text; /* for the comparators: qsort has no argument */

static int by_text(const void *a, const void *b)
{
    return strcmp(flagged_text + *(const size_t *)a, flagged_text + *(const size_t *)b);
}

/* ds_each gives keys in order already; sorted only if it did not. */
static void flagged_sort(struct flagged *f)
{
    flagged_text = f->text;
    for (size_t i = 1; i < f->n; i++)
        if (by_text(&f->at[i - 1], &f->at[i]) > 0) {
            qsort(f->at, f->n, sizeof *f->at, by_text);
            break;
        }
}

static int text_at(const void *name, const void *at)
{
    return strcmp(name, flagged_text + *(const size_t *)at);
}

static bool flagged_has(const struct flagged *f, const char *name)
{
    flagged_text = f->text;
    return f->n && bsearch(name, f->at, f->n, sizeof *f->at, text_at);
}

static void flagged_clear(struct flagged *f)
{
    free(f->text);
    free(f->at);
}

/* A health record says "unhealthy" (governor.h): its status picked out of
 * the text, json-c reading what jx_peek_str declines (escapes, say). */
static bool says_unhealthy(const char *value)
{
    char status[16];
    if (jx_peek_str(value, "status", status, sizeof status) == 0)
        return strcmp(status, "unhealthy") == 0;
    struct json_object *o = jx_parse_record(value);
    bool yes = o && strcmp(jx_str(o, "status", ""), "unhealthy") == 0;
    json_object_put(o);
    return yes;
}

/* A record of a group without a spec is nobody's: not kept. */
static int add_health(void *arg, const char *key, const char *value,
                      struct as_error *err)
{
    struct loader *l = arg;
    struct gov_group *gg = group_of(l, key);
    (void)err;
    if (gg && says_unhealthy(value))
        flag(&l->unhealthy, gg, key);
    return 0;
}

/* The key's presence is what protects, readable or not (controls.h:
 * controls_load_protected keeps an unreadable record as protected). */
static int add_protect(void *arg, const char *key, const char *value,
                       struct as_error *err)
{
    struct loader *l = arg;
    struct gov_group *gg = group_of(l, key);
    (void)value, (void)err;
    if (gg)
        flag(&l->protect, gg, key);
    return 0;
}

/* "<group>.<name>" of a node record into buf, its "name" as
 * governor_input_from_state() reads it (jx_str); false when it has none. */
static bool node_name(const struct gov_group *gg, const char *value, char *buf, size_t size)
{
    char name[KEY_MAX];
    size_t g = strlen(gg->spec.name);
    if (jx_peek_str(value, "name", name, sizeof name) < 0) {
        struct json_object *o = jx_parse_record(value);
        const char *s = o ? jx_str(o, "name", NULL) : NULL;
        bool fits = s && strlen(s) < sizeof name;
        if (fits)
            strcpy(name, s);
        json_object_put(o);
        if (!fits)
            return false;
    }
    if (g + 1 + strlen(name) >= size)
        return false;
    memcpy(buf, gg->spec.name, g);
    buf[g] = '.';
    strcpy(buf + g + 1, name);
    return true;
}

/* Only a node's state matters, so it is picked out of the text rather than
 * parsed: 100,000 node records through json-c cost most of a tick. Its
 * health and protection come from the walks before (gov_groups_load); its
 * name is read only when some node is flagged at all. */
static int add_node(void *arg, const char *key, const char *value, struct as_error *err)
{
    struct loader *l = arg;
    struct gov_group *gg = group_of(l, key);
    char state[16], name[2 * KEY_MAX];
    bool unhealthy = false, protected_node = false;
    (void)err;
    if (!gg)
        return 0;
    enum node_state s = jx_peek_str(value, "state", state, sizeof state) == 0
                            ? state_of(l, state)
                            : NODE_UNKNOWN;
    bool capacity = s == NODE_BUILDING || s == NODE_ACTIVE;
    if (capacity && (l->unhealthy.n || l->protect.n) &&
        node_name(gg, value, name, sizeof name)) {
        unhealthy = s == NODE_ACTIVE && flagged_has(&l->unhealthy, name);
        protected_node = flagged_has(&l->protect, name);
    }
    gov_input_add_node_health(&gg->in, s, unhealthy, protected_node);
    return 0;
}

static int add_incident(void *arg, const char *key, const char *value,
                        struct as_error *err)
{
    struct gov_group *gg = group_of(arg, key);
    struct gov_incident inc;
    (void)err;
    if (gg && gov_incident_read(value, &inc))
        gov_input_add_incident(&gg->in, &inc, gg->spec.incident_max_age);
    return 0;
}

static int add_event(void *arg, const char *key, const char *value, struct as_error *err)
{
    struct gov_group *gg = group_of(arg, key);
    struct gov_op ev;
    (void)err;
    if (gg && gov_op_read(value, &ev))
        gov_input_add_event(&gg->in, &ev);
    return 0;
}

static int add_mark(void *arg, const char *key, const char *value, struct as_error *err)
{
    struct loader *l = arg;
    struct gov_group *gg = group_of(l, key);
    (void)err;
    if (gg && strcmp(key_leaf(key), gg->spec.name) == 0) /* unreadable: unset, so recorded anew */
        history_mark_read(value, &l->gs->marks[gg - l->gs->v]);
    return 0;
}

/* A samples record read into in, replacing (and freeing) what it held:
 * both readers, every group's and one group's, keep them so. */
static void take_samples(struct gov_input *in, const char *text)
{
    struct gov_sample *v;
    int n;
    samples_read(text, &v, &n);
    free((void *)in->samples);
    in->samples = v;
    in->n_samples = n;
}

/* A schedule record judged at in->now; the one in force is kept. */
static void fold_schedule(struct gov_input *in, const char *text)
{
    struct gov_schedule s;
    if (schedule_eval(text, in->now, &s) == 1)
        schedule_fold(&in->schedule, &s);
}

/* Only a group that tracks a target reads its samples: a record left by
 * a group that stopped tracking costs nothing. */
static int add_samples(void *arg, const char *key, const char *value,
                       struct as_error *err)
{
    struct gov_group *gg = group_of(arg, key);
    (void)err;
    if (gg && gg->spec.target_value > 0 && strcmp(key_leaf(key), gg->spec.name) == 0)
        take_samples(&gg->in, value);
    return 0;
}

static int add_schedule(void *arg, const char *key, const char *value,
                        struct as_error *err)
{
    struct gov_group *gg = group_of(arg, key);
    (void)err;
    if (gg)
        fold_schedule(&gg->in, value);
    return 0;
}

/* A group has one lease, but more than one key may hold a record for it
 * (st2's claim candidates): the last in key order counts. */
static int add_lease(void *arg, const char *key, const char *value, struct as_error *err)
{
    struct gov_group *gg = group_of(arg, key);
    struct gov_op lease;
    (void)err;
    if (gg && gov_op_read(value, &lease)) {
        gg->lease = lease;
        gg->has_lease = true;
    }
    return 0;
}

int gov_groups_load(struct ds *ds, long long now, struct gov_groups *gs,
                    struct as_error *err)
{
    return gov_groups_load_marked(ds, now, false, gs, err);
}

int gov_groups_load_marked(struct ds *ds, long long now, bool marks,
                           struct gov_groups *gs, struct as_error *err)
{
    char prefix[9][KEY_MAX];
    /* health and protection first: the node walk joins them */
    const struct {
        const char *prefix;
        ds_each_fn add;
    } records[] = {
        {key_health_prefix(prefix[0], NULL), add_health},
        {key_protect_prefix(prefix[1], NULL), add_protect},
        {key_node_prefix(prefix[2], NULL), add_node},
        {key_incident_prefix(prefix[3], NULL), add_incident},
        {key_event_prefix(prefix[4], NULL), add_event},
        {key_lease_prefix(prefix[5]), add_lease},
        {key_samples_prefix(prefix[6]), add_samples},
        {key_schedule_prefix(prefix[7], NULL), add_schedule},
        {key_decision_prefix(prefix[8]), add_mark}, /* last: only with marks */
    };
    size_t walks = sizeof records / sizeof records[0] - (marks ? 0 : 1);
    struct loader l = {.gs = gs, .now = now, .last_parsed = NODE_UNKNOWN};
    char specs[KEY_MAX];

    *gs = (struct gov_groups){0};
    int rc = ds_each(ds, key_spec_prefix(specs), add_spec, &l, err);
    l.sorted = names_ascend(gs);
    if (marks)
        gs->marks = xcalloc(gs->n ? gs->n : 1, sizeof *gs->marks);
    for (size_t i = 0; i < walks && rc == 0; i++) {
        l.last_len = 0; /* a key of another kind never matches the last */
        l.last_hit = NULL;
        if (records[i].add == add_node) {
            flagged_sort(&l.unhealthy);
            flagged_sort(&l.protect);
        }
        rc = ds_each(ds, records[i].prefix, records[i].add, &l, err);
    }
    flagged_clear(&l.unhealthy);
    flagged_clear(&l.protect);
    if (rc < 0)
        gov_groups_clear(gs);
    return rc;
}

void gov_groups_clear(struct gov_groups *gs)
{
    for (size_t i = 0; i < gs->n; i++)
        free((void *)gs->v[i].in.samples);
    free(gs->v);
    free(gs->marks);
    *gs = (struct gov_groups){0};
}

void gov_group_input(const struct gov_group *gg, struct group *spec,
                     struct gov_input *in)
{
    gov_spec_to_group(&gg->spec, spec);
    *in = gg->in;
    in->spec = spec;
    if (gg->has_lease)
        gov_input_set_lease(in, &gg->lease);
}

static int one_schedule(void *arg, const char *key, const char *value, struct as_error *err)
{
    (void)key, (void)err;
    fold_schedule(arg, value);
    return 0;
}

int gov_input_load_extras(struct ds *ds, struct gov_input *in, struct gov_sample **samples,
                          struct as_error *err)
{
    char key[KEY_MAX], *text = NULL;
    struct gov_input with = *in;

    *samples = NULL;
    with.schedule = (struct gov_schedule){0};
    with.samples = NULL;
    with.n_samples = 0;
    if (ds_each(ds, key_schedule_prefix(key, in->spec->name), one_schedule, &with, err) < 0)
        return -1;
    if (in->spec->target_value > 0) {
        int rc = ds_get(ds, key_samples(key, in->spec->name), &text, err);
        if (rc < 0)
            return -1;
        take_samples(&with, rc == 0 ? text : NULL);
        free(text);
    }
    *samples = (struct gov_sample *)with.samples;
    *in = with;
    return 0;
}
