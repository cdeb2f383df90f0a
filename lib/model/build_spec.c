/* build_spec.c - see build_spec.h. The id hashes the canonical text rather
 * than the struct so that a built_from read back from a record (a rollback
 * restores one) gives the same id as the group it came from. */
#include "build_spec.h"

#include "jsonx.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A deep copy of v with every object's keys sorted (new; NULL stays NULL). */
static struct json_object *canonical(struct json_object *v)
{
    if (json_object_is_type(v, json_type_object)) {
        size_t n = (size_t)json_object_object_length(v), i = 0;
        const char **keys = xcalloc(n ? n : 1, sizeof *keys);
        json_object_object_foreach(v, k, val)
        {
            (void)val;
            keys[i++] = k;
        }
        qsort(keys, n, sizeof *keys, cmp_str);
        struct json_object *o = jx_new_object();
        for (i = 0; i < n; i++)
            json_object_object_add(o, keys[i], canonical(json_object_object_get(v, keys[i])));
        free(keys);
        return o;
    }
    if (json_object_is_type(v, json_type_array)) {
        struct json_object *a = jx_new_array();
        for (size_t i = 0; i < json_object_array_length(v); i++)
            json_object_array_add(a, canonical(json_object_array_get_idx(v, i)));
        return a;
    }
    return json_object_get(v); /* scalars are immutable: share them */
}

struct json_object *build_spec_json(const struct group *g)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "compute_provider", g->compute_provider);
    jx_add_str(o, "flavor", g->flavor);
    jx_add_str(o, "image", g->image);
    jx_add_str(o, "key_pair", g->key_pair);
    jx_add_str(o, "network", g->network);
    jx_add_str(o, "run_list", g->run_list);
    /* No settings and an empty object build the same machine. */
    if (g->settings && json_object_object_length(g->settings) > 0)
        json_object_object_add(o, "settings", canonical(g->settings));
    else
        json_object_object_add(o, "settings", NULL);
    jx_add_str(o, "user_data", g->user_data);
    return o;
}

static void id_of_text(const char *s, char out[BUILD_SPEC_ID_LEN + 1])
{
    unsigned long long h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    snprintf(out, BUILD_SPEC_ID_LEN + 1, "%016llx", h);
}

void build_spec_id(const struct group *g, char out[BUILD_SPEC_ID_LEN + 1])
{
    struct json_object *o = build_spec_json(g);
    id_of_text(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), out);
    json_object_put(o);
}

void build_spec_id_json(struct json_object *built_from, char out[BUILD_SPEC_ID_LEN + 1])
{
    out[0] = '\0';
    if (!json_object_is_type(built_from, json_type_object))
        return;
    struct json_object *c = canonical(built_from);
    struct json_object *s = jx_obj(c, "settings");
    if (s && json_object_object_length(s) == 0)
        json_object_object_add(c, "settings", NULL);
    id_of_text(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN), out);
    json_object_put(c);
}

bool build_spec_matches(struct json_object *node_record, const char *id)
{
    const char *have = jx_str(node_record, "spec_id", NULL);
    return have && *have && id && strcmp(have, id) == 0;
}
