/* compute_params.c - see compute_params.h. */
#include "compute_params.h"
#include "group.h"
#include "jsonx.h"

#include <string.h>

struct setting {
    const char *name;
    int is_int;
};

#define COMPUTE_SETTING(n, kind, def, flags) {#n, COMPUTE_IS_##kind},
#define COMPUTE_IS_INT 1
#define COMPUTE_IS_STR 0
static const struct setting settings[] = {COMPUTE_PARAMS(COMPUTE_SETTING)};

/* The key a parameter gives `provider`, or NULL if not one of its own.
 * ca_bundle and poll_interval_ms are every provider's. */
static const char *key_for(const char *param, const char *provider)
{
    size_t n = strlen(provider);
    if (strncmp(param, provider, n) == 0 && param[n] == '_')
        return param + n + 1;
    if (strcmp(param, "ca_bundle") == 0 || strcmp(param, "poll_interval_ms") == 0)
        return param;
    return NULL;
}

struct json_object *compute_settings(const struct as_args *a, const char *provider,
                                     const struct group *g)
{
    struct json_object *o = json_object_new_object();
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const char *key = key_for(settings[i].name, provider);
        if (!key)
            continue;
        if (settings[i].is_int) {
            long long v = as_arg_int(a, settings[i].name, -1);
            if (v >= 0)
                jx_add_int(o, key, v);
        } else if (as_arg_str(a, settings[i].name)) {
            jx_add_str(o, key, as_arg_str(a, settings[i].name));
        }
    }
    struct json_object *own = g ? jx_obj(g->settings, provider) : NULL;
    if (own) {
        json_object_object_foreach(own, k, v) {
            json_object_object_add(o, k, json_object_get(v));
        }
    }
    return o;
}
