/* store_node.c - see store_node.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_node.h"

static bool is_node_action(const char *name)
{
    static const char *const node_actions[] = {"add_node", "node_park", "node_activate",
                                               "remove_node"};
    for (size_t i = 0; i < sizeof node_actions / sizeof *node_actions; i++)
        if (strcmp(name, node_actions[i]) == 0)
            return true;
    return false;
}

int store_vrun_node(struct store_fixture *s, const char *name, const char *const *settings,
                    struct action_result *r, va_list ap)
{
    return store_vrun_after(s, name, is_node_action(name) ? settings : NULL, r, ap);
}

const char *store_node_state(const struct store_fixture *s, const char *group,
                             const char *node)
{
    static char buf[32];
    char key[KEY_MAX];
    struct ds *ds = store_open(s);
    char *text = NULL;
    struct as_error err;
    buf[0] = '\0';
    if (ds_get(ds, key_node(key, group, node), &text, &err) == 0) {
        struct json_object *o = jx_parse_record(text);
        snprintf(buf, sizeof buf, "%s", jx_str(o, "state", ""));
        json_object_put(o);
    }
    free(text);
    ds_close(ds);
    return buf;
}
