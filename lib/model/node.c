/* node.c - see node.h. */
#include "node.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"

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
