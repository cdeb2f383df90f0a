/* compute_params.h - the provider settings every node action takes, as
 * parameters whose defaults st2 renders from the pack config. One list, so
 * add_node, remove_node, reconcile and node_list cannot disagree.
 *
 * Integers have defaults here and in config.schema.yaml: st2 renders an
 * unset config key as an empty string, which an integer cannot take.
 *
 * X(name, type INT|STR, default outside st2, flags) - the parameter is
 * "<provider>_<key>" and reaches the provider as settings["<key>"]; a
 * group's own `settings.<provider>` object overrides them key by key, as
 * far as lib/model/settings.c lets a group. */
#ifndef AS_COMPUTE_PARAMS_H
#define AS_COMPUTE_PARAMS_H

#include "error.h"
#include "params.h"

#define COMPUTE_PARAMS(X)                                                          \
    X(local_command, STR, NULL, 0)                                                 \
    X(local_dir, STR, NULL, 0)                                                     \
    X(local_port, INT, "8080", 0)                                                  \
    X(local_grace_ms, INT, "3000", 0)                                              \
    X(openstack_auth_url, STR, NULL, 0)                                            \
    X(openstack_username, STR, NULL, 0)                                            \
    X(openstack_password, STR, NULL, PARAM_SECRET)                                  \
    X(openstack_project_name, STR, NULL, 0)                                        \
    X(openstack_user_domain_name, STR, "Default", 0)                               \
    X(openstack_project_domain_name, STR, "Default", 0)                            \
    X(openstack_application_credential_id, STR, NULL, 0)                          \
    X(openstack_application_credential_secret, STR, NULL, PARAM_SECRET)            \
    X(openstack_region, STR, NULL, 0)                                              \
    X(openstack_interface, STR, "public", 0)                                       \
    PARAMS_DIGITALOCEAN(X)                                                         \
    X(digitalocean_region, STR, "nyc3", 0)                                         \
    X(digitalocean_address_type, STR, "private", 0)                                \
    PARAMS_TLS(X)                                                                  \
    X(poll_interval_ms, INT, "0", 0)

/* The typed values every node action passes to compute_settings(). */
struct compute_params {
    COMPUTE_PARAMS(PARAM_FIELD)
};
extern const struct param_desc compute_param_desc[];
extern const size_t compute_param_count;

struct json_object;
struct group;

/* The settings object for `provider`: every "<provider>_<key>" parameter
 * given (or defaulted) as settings[key], plus the shared ca_bundle and
 * poll_interval_ms, then the group's settings.<provider> overrides, which
 * settings_build() (settings.h) refuses when they name what only the
 * operator may set, unless `allowed` (the operator's allow-list) lists them.
 * 0 with *out a new object, or -1 with err. */
int compute_settings(const struct compute_params *p, const char *provider, const struct group *g,
                     const char *allowed, struct json_object **out, struct as_error *err);

#endif
