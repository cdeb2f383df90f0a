/* node.c - see node.h. */
#include "node.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"building", "active", "draining",
                                          "failed", "deleting", "warming",
                                          "warm", "unknown"};

const char *node_state_name(enum node_state s)
{
    return state_names[s <= NODE_UNKNOWN ? s : NODE_UNKNOWN];
}

enum node_state node_state_parse(const char *s)
{
    for (int i = 0; s && i < NODE_UNKNOWN; i++)
        if (strcmp(s, state_names[i]) == 0)
            return (enum node_state)i;
    return NODE_UNKNOWN;
}

enum node_state node_record_state(struct json_object *record)
{
    return node_state_parse(jx_str(record, "state", NULL));
}

bool node_state_is_capacity(enum node_state s)
{
    return s == NODE_BUILDING || s == NODE_ACTIVE;
}

int node_check_name(const char *name, struct as_error *err)
{
    if (!name || !key_label_ok(name, strlen(name)))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_node_name",
                       "node name must be a DNS label of lowercase letters, digits "
                       "and '-' (at most 63)");
    return 0;
}

int node_record_load(struct ds *ds, const char *group, const char *node,
                     struct json_object **rec, struct as_error *err)
{
    char key[KEY_MAX], *text = NULL;
    *rec = NULL;
    int rc = ds_get(ds, key_node(key, group, node), &text, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    *rec = jx_parse_record(text);
    free(text);
    if (!*rec)
        return as_fail(err, AS_EXIT_FAILURE, "corrupt_record",
                       "the record of node %s is not a JSON object", node);
    return 1;
}

int node_records_load(struct ds *ds, const char *group, struct node_records *out,
                      struct as_error *err)
{
    char prefix[KEY_MAX];
    struct ds_list l;
    memset(&l, 0, sizeof l);
    memset(out, 0, sizeof *out);
    if (ds_list(ds, key_node_prefix(prefix, group), &l, err) < 0)
        return -1;
    out->items = xcalloc(l.count + 1, sizeof *out->items);
    for (size_t i = 0; i < l.count; i++) {
        struct node_entry *e = &out->items[out->count++];
        e->name = xstrdup(key_leaf(l.items[i].name));
        e->name_ok = node_check_name(e->name, NULL) == 0;
        e->rec = jx_parse_record(l.items[i].value);
        e->state = e->rec ? node_record_state(e->rec) : NODE_UNKNOWN;
    }
    /* The parsed records are all a caller reads: the text goes now, not at
     * the caller's clear. */
    ds_list_clear(&l);
    return 0;
}

void node_records_clear(struct node_records *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].name);
        json_object_put(r->items[i].rec);
    }
    free(r->items);
    memset(r, 0, sizeof *r);
}

bool node_entry_ok(const struct node_entry *e)
{
    return e->name_ok && e->rec;
}

size_t node_records_capacity(const struct node_records *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        n += r->items[i].rec && node_state_is_capacity(r->items[i].state);
    return n;
}
