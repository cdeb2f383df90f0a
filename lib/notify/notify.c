/* notify.c - the table of notification providers and the three calls that
 * pick one: reading its settings from the parameters, checking them, and
 * sending (notify.h). A provider only says what to POST (notify_int.h);
 * the checks every provider shares are here, delivery is notify_deliver.c. */
#include "notify.h"
#include "notify_int.h"

#include "jsonx.h"
#include "log.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* "none": notifications switched off. Nothing to check, nothing to send. */
static const struct notify_ops notify_none_ops = {"none", NULL, NULL, NULL, false};

static const struct notify_ops *const providers[] = {
    &notify_slack_ops,
    &notify_webhook_ops,
    &notify_none_ops,
};

#define NPROVIDERS (sizeof providers / sizeof providers[0])

static const char *provider_name(size_t i) { return providers[i]->name; }

const struct notify_ops *notify_lookup(const char *name)
{
    for (size_t i = 0; name && i < NPROVIDERS; i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

/* ----------------------------------------------------------- settings -- */

#define NOTIFY_DESC(n, kind, def, flags) PARAM_DESC(struct notify_params, n, kind)
const struct param_desc notify_param_desc[] = {NOTIFY_PARAMS(NOTIFY_DESC)};
const size_t notify_param_count = sizeof notify_param_desc / sizeof notify_param_desc[0];

/* The string parameter of that name (NULL: none, or absent). */
static const char *param_str(const struct notify_params *p, const char *name)
{
    for (size_t i = 0; name && i < notify_param_count; i++)
        if (notify_param_desc[i].kind == PARAM_STR &&
            strcmp(notify_param_desc[i].name, name) == 0)
            return PARAM_STR_AT(p, &notify_param_desc[i]);
    return NULL;
}

int notify_config_read(const char *provider, const struct notify_params *p,
                       struct notify_config *cfg, struct as_error *err)
{
    const struct notify_ops *ops = notify_lookup(provider);
    memset(cfg, 0, sizeof *cfg);
    cfg->url = ops ? param_str(p, ops->url_param) : NULL;
    cfg->ca_bundle = p->ca_bundle;
    if (ops && ops->takes_headers && p->webhook_headers &&
        !(cfg->headers = jx_parse(p->webhook_headers, strlen(p->webhook_headers),
                                  "parameter 'webhook_headers'", "invalid_parameter",
                                  AS_EXIT_BADINPUT, err)))
        return -1;
    return notify_check(provider, cfg, err);
}

/* ------------------------------------------------------------- checks -- */

int notify_url_host(const char *url, const char **host, size_t *len)
{
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else
        return -1;
    size_t n = strcspn(p, "/?#");
    const char *at = memrchr(p, '@', n);
    *host = at ? at + 1 : p;
    *len = n - (size_t)(*host - p);
    return *len ? 0 : -1;
}

static bool loopback(const char *host, size_t len)
{
    return (len >= 4 && strncmp(host, "127.", 4) == 0) ||
           (len >= 9 && strncasecmp(host, "localhost", 9) == 0 &&
            (len == 9 || host[9] == ':')) ||
           (len >= 5 && strncmp(host, "[::1]", 5) == 0);
}

/* Register what of the URL is a credential on its own: its path (Slack's
 * /services/T.../B.../<token>) and the last path segment, so a server
 * that echoes only the path or the token still cannot make us print it.
 * The whole URL was registered when the parameter was read. */
static void register_url_secrets(const char *host, size_t hlen)
{
    const char *path = host + hlen;
    secret_register(path);
    size_t plen = strcspn(path, "?#");
    while (plen && path[plen - 1] == '/')
        plen--;
    const char *last = path + plen;
    while (last > path && last[-1] != '/')
        last--;
    size_t llen = (size_t)(path + plen - last);
    /* 8 bytes at least: shorter segments ("hook", "v1") are not tokens and
     * masking them would garble ordinary words in every log line. */
    if (llen >= 8 && llen < 512) {
        char seg[512];
        memcpy(seg, last, llen);
        seg[llen] = '\0';
        secret_register(seg);
    }
}

static int check_url(const struct notify_ops *ops, const char *url, struct as_error *err)
{
    const char *host;
    size_t hlen;
    bool ok = notify_url_host(url, &host, &hlen) == 0;
    for (const char *p = url; ok && *p; p++)
        ok = (unsigned char)*p > 0x20 && *p != 0x7f;
    /* Never echo the value: it is the credential. */
    if (!ok)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be an http(s) URL with a host",
                       ops->url_param);
    register_url_secrets(host, hlen);
    if (strncasecmp(url, "http://", 7) == 0 && !loopback(host, hlen))
        log_warn("%s is plain http: its token travels unencrypted", ops->url_param);
    return 0;
}

int notify_check(const char *provider, const struct notify_config *cfg,
                 struct as_error *err)
{
    const struct notify_ops *ops = notify_lookup(provider);
    if (!ops) /* "(slack, webhook, none)" */
        return as_fail_unknown_provider(err, "notification", provider, provider_name,
                                        NPROVIDERS);
    if (!ops->payload)
        return 0; /* none: its settings do not matter */
    if (cfg->url && *cfg->url && check_url(ops, cfg->url, err) < 0)
        return -1;
    if (cfg->ca_bundle && access(cfg->ca_bundle, R_OK) != 0)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'ca_bundle': %.200s is not readable", cfg->ca_bundle);
    return ops->check ? ops->check(cfg, err) : 0;
}

/* -------------------------------------------------------------- send -- */

int notify_send(const char *provider, const struct notify_config *cfg,
                const struct notify_event *ev, struct notify_result *res,
                struct as_error *err)
{
    const struct notify_ops *ops = notify_lookup(provider);

    memset(res, 0, sizeof *res);
    as_error_clear(&res->error);
    if (!ops)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_provider",
                       "no notification provider named '%.40s'", provider ? provider : "");
    if (!ops->payload) {
        res->skipped = "disabled";
        log_info("notifications are disabled (notify_provider none): %s not sent",
                 ev->event);
        return 0;
    }
    if (!cfg->url || !*cfg->url) {
        notify_result_fail(res, "notify_not_configured",
                           "notify_provider is %s but %s is not set (pack config)",
                           ops->name, ops->url_param);
        log_warn("%s", res->error.message);
        return 0;
    }

    struct json_object *doc = ops->payload(ev);
    char *body = jx_dump(doc);
    json_object_put(doc);
    int rc = notify_deliver(ops, cfg, body, res, err);
    free(body);
    if (rc < 0)
        return -1;
    if (res->delivered)
        log_info("%s: %s %s delivered (%d attempt%s)", ops->name, ev->group ? ev->group : "-",
                 ev->event, res->attempts, res->attempts == 1 ? "" : "s");
    else
        log_warn("%s: %s %s not delivered: %s", ops->name, ev->group ? ev->group : "-",
                 ev->event, res->error.message);
    return 0;
}
