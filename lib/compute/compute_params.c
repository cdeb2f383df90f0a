/* compute_params.c - see compute_params.h. */
#include "compute_params.h"
#include "settings.h"

#define COMPUTE_DESC(n, kind, def, flags) PARAM_DESC(struct compute_params, n, kind)
const struct param_desc compute_param_desc[] = {COMPUTE_PARAMS(COMPUTE_DESC)};
const size_t compute_param_count = sizeof compute_param_desc / sizeof compute_param_desc[0];

int compute_settings(const struct compute_params *p, const char *provider, const struct group *g,
                     const char *allowed, struct json_object **out, struct as_error *err)
{
    return settings_build(compute_param_desc, compute_param_count, p, provider, NULL, g,
                          allowed, out, err);
}
