/* lb.c - the table of load balancer providers, their settings, and opening
 * the one a group names (see lb_int.h). What the actions do with it is
 * lb_member.c. */
#include "lb_int.h"

#include "settings.h"

#include <stdio.h>
#include <string.h>

static const struct lb_ops *const providers[] = {
    &lb_none_ops,
    &lb_haproxy_ops,
    &lb_digitalocean_ops,
};
#define NPROVIDERS (sizeof providers / sizeof providers[0])

const struct lb_ops *lb_lookup(const char *name)
{
    for (size_t i = 0; name && i < NPROVIDERS; i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

bool lb_name_ok(const char *s)
{
    size_t n = s ? strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789_.:-")
                 : 0;
    return n >= 1 && n <= 63 && s[n] == '\0';
}

/* ------------------------------------------------------------ settings -- */

#define LB_DESC(n, kind, def, flags) PARAM_DESC(struct lb_params, n, kind)
const struct param_desc lb_param_desc[] = {LB_PARAMS(LB_DESC)};
const size_t lb_param_count = sizeof lb_param_desc / sizeof lb_param_desc[0];

int lb_settings(const struct lb_params *p, const char *provider, const struct group *g,
                const char *allowed, struct json_object **out, struct as_error *err)
{
    return settings_build(lb_param_desc, lb_param_count, p, provider, "lb", g, allowed, out,
                          err);
}

/* ---------------------------------------------------------------- open -- */

static const char *provider_name(size_t i) { return providers[i]->name; }

int lb_open(struct lb_ctx *c, const struct lb_params *p, const char *allowed,
            struct as_error *err)
{
    const char *provider = c->group.lb_provider ? c->group.lb_provider : "none";
    struct json_object *settings = NULL;

    c->lb = NULL;
    if (!(c->ops = lb_lookup(provider)))
        return as_fail_unknown_provider(err, "load balancer", provider, provider_name,
                                        NPROVIDERS);
    if (!c->ops->open) /* none: its settings do not matter */
        return 0;
    if (lb_settings(p, provider, &c->group, allowed, &settings, err) < 0)
        return -1;
    long long port = settings_int(settings, "server_port", 80);
    if (port < 1 || port > 65535) {
        json_object_put(settings);
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "%s: setting 'server_port' must be a port number (1-65535)", provider);
    }
    c->server_port = (int)port;
    c->lb = c->ops->open(settings, c->backend, err);
    json_object_put(settings);
    return c->lb ? 0 : -1;
}
