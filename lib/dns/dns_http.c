/* dns_http.c - one request to a DNS provider's HTTP API and its reply
 * (dns_int.h): what the PowerDNS and DigitalOcean providers share. What a
 * status means stays with each provider. */
#include "dns_int.h"
#include "jsonx.h"
#include "log.h"
#include "signals.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POST_ATTEMPTS 4  /* a POST refused with 429, sent again */
#define POST_WAIT_MAX_MS 10000

void dns_reply_clear(struct dns_reply *r)
{
    json_object_put(r->doc);
    free(r->text);
    memset(r, 0, sizeof *r);
}

static int send_once(struct http_api *api, const struct dns_http *how, const char *method,
                     const char *url, const char *body, struct http_response *resp,
                     struct as_error *err)
{
    const char *headers[] = {api->auth, "Accept: application/json",
                             body ? "Content-Type: application/json" : NULL, NULL};
    struct http_request req = {.method = method, .url = url, .headers = headers, .body = body,
                               .body_len = body ? strlen(body) : 0, .retry = how->retry};
    return http_do(api->http, &req, resp, err);
}

/* Send; a POST refused with 429 is sent again after the server's
 * Retry-After: a 429 is a refusal before anything was done. */
static int send_req(struct http_api *api, const struct dns_http *how, const char *method,
                    const char *url, const char *body, struct http_response *resp,
                    struct as_error *err)
{
    for (int attempt = 1;; attempt++) {
        if (send_once(api, how, method, url, body, resp, err) < 0)
            return -1;
        if (resp->status != 429 || strcmp(method, "POST") != 0 || attempt == POST_ATTEMPTS)
            return 0;
        long wait = resp->retry_after_ms >= 0 ? resp->retry_after_ms : 1000L * attempt;
        if (wait > POST_WAIT_MAX_MS)
            wait = POST_WAIT_MAX_MS;
        http_response_clear(resp);
        log_debug("%s: POST refused with 429, again in %ld ms", how->name, wait);
        if (as_sleep_ms(wait) < 0)
            return as_fail(err, AS_EXIT_FAILURE, "interrupted", "%s: interrupted", how->name);
    }
}

int dns_http_call(struct http_api *api, const struct dns_http *how, const char *method,
                  const char *path, struct json_object *body, struct dns_reply *out,
                  struct as_error *err)
{
    struct http_response resp;
    char *url = xasprintf("%s%s", api->base, path), *text = body ? jx_dump(body) : NULL;

    memset(out, 0, sizeof *out);
    int rc = send_req(api, how, method, url, text, &resp, err);
    free(url);
    free(text);
    if (rc < 0) {
        as_error_prefix(err, "%s", how->name);
        return -1;
    }
    out->status = resp.status;
    int ok = resp.status >= 200 && resp.status <= 299;
    if (!ok)
        out->text = http_error_text(&resp);
    if (resp.body_len > 0) {
        /* An error reply's JSON is read if it is JSON (DigitalOcean's names
         * a request_id); only a 2xx must be. */
        struct as_error ignored = {0};
        out->doc = jx_parse(resp.body, resp.body_len, how->reply, "dns_bad_reply",
                            AS_EXIT_FAILURE, ok ? err : &ignored);
        if (!out->doc && ok) {
            http_response_clear(&resp);
            as_error_prefix(err, "%s: %s %s", how->name, method, path);
            return -1;
        }
    }
    http_response_clear(&resp);
    return 0;
}
