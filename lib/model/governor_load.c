/* governor_load.c - see governor_load.h. */
#include "governor_load.h"
#include "jsonx.h"
#include "keys.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loader {
    struct gov_groups *gs;
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

/* Only a node's state matters, so it is picked out of the text rather than
 * parsed: 100,000 node records through json-c cost most of a tick. */
static int add_node(void *arg, const char *key, const char *value, struct as_error *err)
{
    struct gov_group *gg = group_of(arg, key);
    char state[16];
    (void)err;
    if (gg)
        gov_input_add_node(&gg->in, jx_peek_str(value, "state", state, sizeof state) == 0
                                        ? state_of(arg, state)
                                        : NODE_UNKNOWN);
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
    char prefix[4][KEY_MAX];
    const struct {
        const char *prefix;
        ds_each_fn add;
    } records[] = {
        {key_node_prefix(prefix[0], NULL), add_node},
        {key_incident_prefix(prefix[1], NULL), add_incident},
        {key_event_prefix(prefix[2], NULL), add_event},
        {key_lease_prefix(prefix[3]), add_lease},
    };
    struct loader l = {.gs = gs, .now = now, .last_parsed = NODE_UNKNOWN};
    char specs[KEY_MAX];

    *gs = (struct gov_groups){0};
    int rc = ds_each(ds, key_spec_prefix(specs), add_spec, &l, err);
    l.sorted = names_ascend(gs);
    for (size_t i = 0; i < sizeof records / sizeof records[0] && rc == 0; i++) {
        l.last_len = 0; /* a key of another kind never matches the last */
        l.last_hit = NULL;
        rc = ds_each(ds, records[i].prefix, records[i].add, &l, err);
    }
    if (rc < 0)
        gov_groups_clear(gs);
    return rc;
}

void gov_groups_clear(struct gov_groups *gs)
{
    free(gs->v);
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
