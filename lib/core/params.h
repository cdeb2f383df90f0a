/* params.h - provider settings as typed values, declared once.
 *
 * Each area lists the settings its actions take as an X-macro list of
 * X(name, kind, default outside st2, flags) rows (dns.h's DNS_PARAMS, ...),
 * and settings shared by several areas are listed once here
 * (PARAMS_DIGITALOCEAN, PARAMS_TLS). One list makes three things:
 *   - the fields of the area's typed struct (PARAM_FIELD), which the
 *     actions fill from argv and lib/ reads: a misspelled name does not
 *     compile;
 *   - the action's parameter table rows (AS_PARAM_ROW in st2.h, the only
 *     place that knows argv);
 *   - the descriptor (PARAM_DESC) the one settings builder,
 *     settings_build() in settings.h, walks.
 * Absent is one convention everywhere: a string is NULL, an integer is
 * PARAM_ABSENT. The config key of every such parameter is its name. */
#ifndef AS_PARAMS_H
#define AS_PARAMS_H

#include <limits.h>
#include <stddef.h>

#define PARAM_ABSENT LLONG_MIN

enum param_kind { PARAM_STR, PARAM_INT };

/* Flags of a row. PARAM_SECRET: a credential (scrubbed, and handed over by
 * st2 in the environment, not argv: secret.h). Same value as st2.h's
 * AS_P_SECRET, which st2.c checks at compile time. */
#define PARAM_SECRET 0x2u

#define PARAM_CTYPE_STR const char *
#define PARAM_CTYPE_INT long long

/* A field of the typed struct. */
#define PARAM_FIELD(n, kind, def, flags) PARAM_CTYPE_##kind n;

struct param_desc {
    const char *name;
    enum param_kind kind;
    size_t offset; /* of the field in the typed struct */
};

/* A descriptor row for the field n of `type` (use inside a one-argument
 * wrapper: #define DNS_DESC(n, k, d, f) PARAM_DESC(struct dns_params, n, k)). */
#define PARAM_DESC(type, n, kind) {#n, PARAM_##kind, offsetof(type, n)},

/* The field a descriptor row names, in the struct at `values`. */
#define PARAM_STR_AT(values, d) (*(const char *const *)((const char *)(values) + (d)->offset))
#define PARAM_INT_AT(values, d) (*(const long long *)((const char *)(values) + (d)->offset))

/* The longest wait between two provider polls (poll_interval_ms), and the
 * longest a local node may take to stop after SIGTERM (local_grace_ms):
 * both are waits inside an action, so neither may approach st2's timeout.
 * The parameters' ranges (st2.c) and a group's (settings.c) say so too. */
#define NODE_POLL_MAX_MS 60000
#define NODE_GRACE_MAX_MS 60000

/* ---- settings shared by several areas, declared once ---- */

/* One DigitalOcean account serves compute, DNS and the load balancer. */
#define PARAMS_DIGITALOCEAN(X)                                                     \
    X(digitalocean_token, STR, NULL, PARAM_SECRET)                                 \
    X(digitalocean_api_url, STR, "https://api.digitalocean.com/v2", 0)

/* The CA bundle every HTTPS provider trusts (NULL: the system's). */
#define PARAMS_TLS(X) X(ca_bundle, STR, NULL, 0)

#endif
