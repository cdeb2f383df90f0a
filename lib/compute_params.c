/* compute_params.c - see compute_params.h. */
#include "compute_params.h"
#include "settings.h"

#define COMPUTE_SETTING(n, kind, def, flags) {#n, COMPUTE_IS_##kind},
#define COMPUTE_IS_INT true
#define COMPUTE_IS_STR false
static const struct settings_param params[] = {COMPUTE_PARAMS(COMPUTE_SETTING)};

int compute_settings(const struct as_args *a, const char *provider, const struct group *g,
                     struct json_object **out, struct as_error *err)
{
    return settings_build(a, params, sizeof params / sizeof params[0], provider, NULL, g, out,
                          err);
}
