/* dns.c - the table of DNS providers (dns_int.h), and the settings they
 * are opened with (dns.h). */
#include "dns_int.h"
#include "settings.h"

#include <stdio.h>
#include <string.h>

static const struct dns_ops *const providers[] = {
    &dns_none_ops,
    &dns_powerdns_ops,
    &dns_digitalocean_ops,
};

#define NPROVIDERS (sizeof providers / sizeof providers[0])

static const char *provider_name(size_t i) { return providers[i]->name; }

const struct dns_ops *dns_lookup(const char *name)
{
    if (!name)
        return &dns_none_ops;
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

struct dns *dns_open(const char *provider, struct json_object *settings,
                     const struct dns_ops **ops, struct as_error *err)
{
    *ops = dns_lookup(provider);
    if (*ops && (*ops)->open)
        return (*ops)->open(settings, err);
    as_fail_unknown_provider(err, "DNS", provider, provider_name, NPROVIDERS);
    return NULL;
}

#define DNS_DESC(n, kind, def, flags) PARAM_DESC(struct dns_params, n, kind)
const struct param_desc dns_param_desc[] = {DNS_PARAMS(DNS_DESC)};
const size_t dns_param_count = sizeof dns_param_desc / sizeof dns_param_desc[0];

int dns_settings(const struct dns_params *p, const char *provider, const struct group *g,
                 const char *allowed, struct json_object **out, struct as_error *err)
{
    return settings_build(dns_param_desc, dns_param_count, p, provider, "dns", g, allowed, out,
                          err);
}
