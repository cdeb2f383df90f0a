/* notify_deliver.c - POSTing a provider's document to its URL: the HTTP
 * budget, retries, headers, and judging the reply into struct
 * notify_result (notify_int.h). Once for every provider. */
#include "notify_int.h"

#include "http.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Delivery budget. st2 kills an action after 60 s by default; the worst
 * case here is 4 attempts x 8 s plus 3 waits of at most 5 s = 47 s. */
#define NOTIFY_ATTEMPTS 4
#define NOTIFY_CONNECT_MS 3000
#define NOTIFY_TIMEOUT_MS 8000
#define NOTIFY_BACKOFF_MS 500
#define NOTIFY_WAIT_MAX_MS 5000 /* also caps Retry-After: a minute-long
                                   Retry-After would outlive the action */

void notify_result_fail(struct notify_result *res, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    as_failv(&res->error, AS_EXIT_FAILURE, code, fmt, ap);
    va_end(ap);
    res->delivered = false;
}

/* "Content-Type: application/json" plus the configured headers, when the
 * provider takes them. A NULL-terminated list of new strings. */
static char **request_headers(const struct notify_ops *ops, const struct notify_config *cfg)
{
    size_t n = ops->takes_headers && cfg->headers ? (size_t)json_object_object_length(cfg->headers) : 0;
    char **list = xcalloc(n + 2, sizeof *list);
    size_t k = 0;
    bool own_type = false;

    if (n) {
        json_object_object_foreach(cfg->headers, name, val) {
            own_type |= strcasecmp(name, "Content-Type") == 0;
            list[k++] = xasprintf("%s: %s", name, json_object_get_string(val));
        }
    }
    if (!own_type)
        list[k++] = xstrdup("Content-Type: application/json");
    return list;
}

static void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

/* Turn a reply into the result: any 2xx is delivered (Slack says 200 "ok");
 * anything else, after the retries, is reported with the server's words,
 * which for Slack are plain text such as "invalid_payload". */
static void judge(const struct notify_ops *ops, const char *host,
                  const struct http_response *r, struct notify_result *res)
{
    res->status = r->status;
    if (r->status >= 200 && r->status <= 299) {
        res->delivered = true;
        return;
    }
    char *text = http_error_text(r); /* scrubbed, one line, bounded */
    const char *code = r->status == 429  ? "notify_rate_limited"
                       : r->status >= 500 ? "notify_server_error"
                                          : "notify_rejected";
    notify_result_fail(res, code, "%s webhook at %s answered HTTP %ld: %s (%d attempt%s)",
                ops->name, host, r->status, text ? text : "(no text)", r->attempts,
                r->attempts == 1 ? "" : "s");
    free(text);
}

static void http_opts(struct http_options *o, const struct notify_config *cfg)
{
    http_options_default(o);
    o->connect_timeout_ms = NOTIFY_CONNECT_MS;
    o->timeout_ms = NOTIFY_TIMEOUT_MS;
    o->max_attempts = NOTIFY_ATTEMPTS;
    o->backoff_base_ms = NOTIFY_BACKOFF_MS;
    o->backoff_max_ms = NOTIFY_WAIT_MAX_MS;
    o->ca_bundle = cfg->ca_bundle;
}

int notify_deliver(const struct notify_ops *ops, const struct notify_config *cfg,
                const char *body, struct notify_result *res, struct as_error *err)
{
    struct http_options o;
    struct as_error herr;
    struct http_response resp;
    const char *host;
    size_t hlen;
    char shown[256];

    if (notify_url_host(cfg->url, &host, &hlen) < 0) /* notify_check() refused those */
        hlen = 0;
    snprintf(shown, sizeof shown, "%.*s", (int)(hlen < 200 ? hlen : 200), host);

    http_opts(&o, cfg);
    char **headers = request_headers(ops, cfg);
    struct http_client *c = http_client_new(&o, &herr);
    if (!c) {
        free_list(headers);
        notify_result_fail(res, herr.code, "%s", herr.message);
        return 0;
    }
    /* retry = 1: a POST is retried on 429, 5xx and connection errors even
     * though a 5xx or a cut connection may come after Slack posted it. A
     * duplicate message is better than none: the people reading the channel
     * can tell, a missing "node failed" they cannot. secret_url: the path is
     * the credential, log only scheme and host. */
    struct http_request req = {
        .method = "POST", .url = cfg->url, .headers = (const char *const *)headers,
        .body = body, .body_len = strlen(body), .retry = 1, .secret_url = 1,
    };
    int rc = http_do(c, &req, &resp, &herr);
    res->attempts = resp.attempts;
    if (rc < 0) {
        res->status = 0;
        if (as_error_is(&herr, "interrupted")) {
            *err = herr;
            rc = -1;
        } else {
            notify_result_fail(res, herr.code, "%s webhook: %s", ops->name, herr.message);
            rc = 0;
        }
    } else {
        judge(ops, shown, &resp, res);
    }
    http_response_clear(&resp);
    http_client_free(c);
    free_list(headers);
    return rc;
}
