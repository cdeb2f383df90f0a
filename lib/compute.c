/* compute.c - the table of compute providers (see compute.h). */
#include "compute.h"
#include "jsonx.h"

#include <string.h>

extern const struct compute_ops compute_local_ops;
extern const struct compute_ops compute_openstack_ops;
extern const struct compute_ops compute_digitalocean_ops;

static const struct compute_ops *const providers[] = {
    &compute_local_ops,
    &compute_openstack_ops,
    &compute_digitalocean_ops,
};

static const char *const state_names[] = {"building", "active", "error", "deleting",
                                          "gone"};

const char *machine_state_name(enum machine_state s)
{
    return s <= MACHINE_GONE ? state_names[s] : "unknown";
}

const struct compute_ops *compute_lookup(const char *name)
{
    for (size_t i = 0; name && i < sizeof providers / sizeof providers[0]; i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

struct compute *compute_open(const char *provider, struct json_object *settings,
                             const struct compute_ops **ops, struct as_error *err)
{
    *ops = compute_lookup(provider);
    if (!*ops) {
        as_fail(err, AS_EXIT_BADINPUT, "unknown_provider",
                "no compute provider named '%.40s' (local, openstack, digitalocean)",
                provider ? provider : "");
        return NULL;
    }
    return (*ops)->open(settings, err);
}

const char *compute_setting(struct json_object *settings, const char *key)
{
    const char *v = jx_str(settings, key, NULL);
    return v && *v ? v : NULL;
}

long long compute_setting_int(struct json_object *settings, const char *key,
                              long long fallback)
{
    return jx_int(settings, key, fallback);
}
