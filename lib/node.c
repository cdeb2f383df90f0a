/* node.c - see node.h. */
#include "node.h"
#include "jsonx.h"

#include <string.h>

static const char *const state_names[] = {"building", "active", "draining",
                                          "failed", "deleting", "unknown"};

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
    size_t n = name ? strlen(name) : 0;
    bool ok = n >= 1 && n <= 63 && name[0] != '-' && name[n - 1] != '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
             name[i] == '-';
    if (!ok)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_node_name",
                       "node name must be a DNS label of lowercase letters, digits "
                       "and '-' (at most 63)");
    return 0;
}
