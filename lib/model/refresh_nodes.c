/* refresh_nodes.c - which nodes a refresh still has to replace: the
 * group's capacity nodes not built from the target spec, oldest first, so
 * that a refresh (or its rollback) always takes down the longest-serving
 * nodes first and counts what is left from the store, never from memory. */
#include "refresh.h"

#include "build_spec.h"
#include "jsonx.h"
#include "keys.h"
#include "node.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct old_node {
    char name[64];
    long long created_at;
};

static int cmp_old(const void *a, const void *b)
{
    const struct old_node *x = a, *y = b;
    if (x->created_at != y->created_at)
        return x->created_at < y->created_at ? -1 : 1;
    return strcmp(x->name, y->name);
}

int refresh_remaining(struct ds *ds, const char *group, const char *target,
                      struct json_object **remaining, long long *capacity,
                      struct as_error *err)
{
    char prefix[KEY_MAX];
    struct ds_list l;
    memset(&l, 0, sizeof l);
    if (ds_list(ds, key_node_prefix(prefix, group), &l, err) < 0)
        return -1;
    struct old_node *old = xcalloc(l.count ? l.count : 1, sizeof *old);
    size_t n = 0;
    *capacity = 0;
    for (size_t i = 0; i < l.count; i++) {
        const char *name = key_leaf(l.items[i].name);
        struct json_object *rec = jx_parse_record(l.items[i].value);
        if (rec && node_check_name(name, NULL) == 0 &&
            node_state_is_capacity(node_record_state(rec))) {
            ++*capacity;
            if (!build_spec_matches(rec, target)) {
                snprintf(old[n].name, sizeof old[n].name, "%s", name);
                old[n++].created_at = jx_int(rec, "created_at", 0);
            }
        }
        json_object_put(rec);
    }
    ds_list_clear(&l);
    qsort(old, n, sizeof *old, cmp_old);
    *remaining = jx_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(*remaining, jx_new_string(old[i].name));
    free(old);
    return 0;
}
