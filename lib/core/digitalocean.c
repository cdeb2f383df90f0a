/* digitalocean.c - see digitalocean.h. */
#include "digitalocean.h"
#include "jsonx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "xalloc.h"

#define DO_DEFAULT_URL "https://api.digitalocean.com/v2"

int digitalocean_bad_setting(struct as_error *err, const char *key, const char *why)
{
    return as_fail(err, AS_EXIT_BADINPUT, "bad_settings", "digitalocean: setting '%s' %s",
                   key, why);
}

int digitalocean_token_check(const char *token, const char *hint, struct as_error *err)
{
    if (!token) {
        char why[160];
        snprintf(why, sizeof why, "is required (%s)", hint);
        return digitalocean_bad_setting(err, "token", why);
    }
    secret_register(token);
    /* One header value: a CR or LF would let it add headers of its own. */
    if (!http_header_value_ok(token))
        return digitalocean_bad_setting(err, "token", "has spaces or control characters");
    return 0;
}

int digitalocean_api_open(struct http_api *a, const char *token, const char *api_url,
                          const char *ca_bundle, struct as_error *err)
{
    char *base = digitalocean_base_url(api_url ? api_url : DO_DEFAULT_URL, err);
    return http_api_open(a, base, "Authorization: Bearer ", token, ca_bundle, err);
}

int digitalocean_not_found(long status, struct json_object *doc)
{
    const char *id = jx_str(doc, "id", NULL);
    return status == 404 && id && strcmp(id, "not_found") == 0;
}

long digitalocean_next_page(struct json_object *doc, long page)
{
    const char *next = jx_str(jx_obj(jx_obj(doc, "links"), "pages"), "next", NULL);
    const char *q = next ? strchr(next, '?') : NULL;

    if (!next)
        return 0;
    while (q) {
        q++;
        if (strncmp(q, "page=", 5) == 0) {
            char *end;
            long n = strtol(q + 5, &end, 10);
            return (*end == '\0' || *end == '&' || *end == '#') && n > page ? n : -1;
        }
        q = strchr(q, '&');
    }
    return -1;
}

static int loopback(const char *host, size_t len)
{
    return (len == 9 && memcmp(host, "127.0.0.1", 9) == 0) ||
           (len == 9 && memcmp(host, "localhost", 9) == 0) ||
           (len == 5 && memcmp(host, "[::1]", 5) == 0);
}

char *digitalocean_base_url(const char *url, struct as_error *err)
{
    const char *host = strncmp(url, "https://", 8) == 0  ? url + 8
                       : strncmp(url, "http://", 7) == 0 ? url + 7
                                                         : NULL;
    if (!host || !*host || strpbrk(url, "?#@ \t\r\n") || strlen(url) > 1024) {
        digitalocean_bad_setting(err, "api_url", "must be an http(s) URL without query, "
                                                 "fragment or user name");
        return NULL;
    }
    if (host == url + 7 && !loopback(host, strcspn(host, ":/"))) {
        digitalocean_bad_setting(err, "api_url", "must use https (plain http only to 127.0.0.1)");
        return NULL;
    }
    return http_base_url(url);
}

int digitalocean_refusal(struct as_error *err, const struct digitalocean_codes *codes,
                         long status, struct json_object *doc, const char *text,
                         const char *why, const char *fmt, ...)
{
    const char *code = codes->other;
    enum as_exit exit = AS_EXIT_FAILURE;

    if (status == 401)
        code = codes->unauthorized;
    else if (status == 403)
        code = codes->forbidden;
    else if (status == 404 && codes->not_found)
        code = codes->not_found, exit = AS_EXIT_BADINPUT;
    else if (status == 429)
        code = codes->over_limit;
    else if (status == 400 || status == 422)
        code = codes->rejected, exit = AS_EXIT_BADINPUT;

    /* Formatted whole, not into a fixed buffer: as_fail() scrubs secrets
     * before it cuts the message to size. */
    va_list ap;
    va_start(ap, fmt);
    char *what = xvasprintf(fmt, ap);
    va_end(ap);
    const char *rid = jx_str(doc, "request_id", NULL);
    if (!text)
        text = "";
    if (why)
        as_fail(err, exit, code, "digitalocean: %s: %s%s%.64s%s", what, why,
                rid ? " (request_id " : "", rid ? rid : "", rid ? ")" : "");
    else
        as_fail(err, exit, code, "digitalocean: %s: HTTP %ld: %s%s%.64s%s", what,
                status, text, rid ? " (request_id " : "", rid ? rid : "", rid ? ")" : "");
    free(what);
    return -1;
}
