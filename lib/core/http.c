/* http.c - see http.h: the policy, whichever transport carries the bytes.
 *
 * A request goes by one of two transports (http_int.h), as curl's
 * connection filters do: http_plain.c, our own small HTTP/1.1 client, for
 * an http:// URL that no proxy variable sends elsewhere (st2's API on the
 * loopback, ST2_ACTION_API_URL = http://127.0.0.1:9101/v1, is the case it
 * is for); http_curl.c, libcurl loaded on first use, for https and
 * proxies. The rule is http_transport_for() below. What a request
 * means is decided here, once: the budget, the retries, Retry-After, header
 * capture, the body limit, the error codes.
 *
 * What never happens here: logging request headers or bodies (they carry API
 * keys), logging response bodies (servers echo requests), logging the path
 * of a secret URL (a Slack webhook's path is the credential), following a
 * redirect, or talking anything but http and https. */
#include "http.h"
#include "http_int.h"

#include "jsonx.h"
#include "log.h"
#include "path.h"
#include "secret.h"
#include "signals.h"
#include "utf8.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#ifndef AS_VERSION
#define AS_VERSION "0.1.0"
#endif

#define HTTP_ERROR_TEXT_MAX 300
#define HTTP_URL_LOG_MAX 512

/* ---------------------------------------------------------------- setup -- */

void http_options_default(struct http_options *o)
{
    memset(o, 0, sizeof *o);
    o->connect_timeout_ms = 5000;
    o->timeout_ms = 30000;
    o->max_attempts = 4;
    o->backoff_base_ms = 200;
    o->backoff_max_ms = 10000;
    o->budget_ms = HTTP_BUDGET_DEFAULT_MS;
    o->user_agent = "autoscale-stackstorm/" AS_VERSION;
}

static uint64_t seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
            ((uint64_t)getpid() << 16);
    }
    return s ? s : 0x9e3779b97f4a7c15ull; /* xorshift must not start at 0 */
}

static uint64_t next_random(struct http_client *c)
{
    /* xorshift64*: backoff jitter only has to decorrelate clients that
     * failed together, it is not a security primitive. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545f4914f6cdd1dull;
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* Creating a client connects nowhere and loads nothing: the first request
 * does, by its transport (libcurl only for a request that goes by it). */
struct http_client *http_client_new(const struct http_options *o,
                                    struct as_error *err)
{
    static int warned_insecure;
    struct http_options def;

    http_options_default(&def);
    if (!o)
        o = &def;

    if (o->ca_bundle && as_path_check(o->ca_bundle, "ca_bundle", err) < 0)
        return NULL;
    if (o->ca_bundle && access(o->ca_bundle, R_OK) != 0) {
        as_fail(err, AS_EXIT_BADINPUT, "http_bad_ca_bundle",
                "CA bundle %s is not readable", o->ca_bundle);
        return NULL;
    }

    struct http_client *c = xcalloc(1, sizeof *c);
    c->opt = *o;
    /* Zero means "not set" for values where zero would be nonsense, so a
     * caller may fill only the fields it cares about. */
    if (c->opt.connect_timeout_ms <= 0)
        c->opt.connect_timeout_ms = def.connect_timeout_ms;
    if (c->opt.timeout_ms <= 0)
        c->opt.timeout_ms = def.timeout_ms;
    if (c->opt.max_attempts <= 0)
        c->opt.max_attempts = def.max_attempts;
    if (c->opt.backoff_base_ms < 0)
        c->opt.backoff_base_ms = def.backoff_base_ms;
    if (c->opt.backoff_max_ms < 0)
        c->opt.backoff_max_ms = def.backoff_max_ms;
    if (c->opt.budget_ms <= 0)
        c->opt.budget_ms = def.budget_ms;

    c->ca_bundle = dup_or_null(o->ca_bundle);
    c->user_agent = xstrdup(o->user_agent ? o->user_agent : def.user_agent);
    c->opt.ca_bundle = c->ca_bundle;
    c->opt.user_agent = c->user_agent;
    c->rng = seed();

    if (c->opt.insecure && !warned_insecure) {
        warned_insecure = 1;
        log_warn("TLS certificate verification is disabled (insecure); "
                 "use it only against test endpoints");
    }
    return c;
}

/* ------------------------------------------------------------ transports -- */

/* The transport that keeps its connection in slot `id`. */
static const struct http_transport *transport_of(enum http_transport_id id)
{
    switch (id) {
    case HTTP_T_PLAIN: return &http_plain_transport;
    case HTTP_T_WORKER: return &http_worker_transport;
    default: return http_libcurl_transport;
    }
}

static const struct http_transport *forced;

/* "curl" is libcurl however this binary reaches it (http_libcurl_transport);
 * "worker" the helper process, in any binary. */
static const struct http_transport *transport_named(const char *name)
{
    if (strcmp(name, "plain") == 0)
        return &http_plain_transport;
    if (strcmp(name, "curl") == 0)
        return http_libcurl_transport;
    if (strcmp(name, "worker") == 0)
        return &http_worker_transport;
    return NULL;
}

int http_force_transport(const char *name)
{
    forced = name ? transport_named(name) : NULL;
    return !name || forced ? 0 : -1;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < HTTP_T_COUNT; i++)
        if (c->conn[i])
            transport_of((enum http_transport_id)i)->close(c->conn[i]);
    free(c->ca_bundle);
    free(c->user_agent);
    free(c);
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

/* Does curl's no_proxy list (no_proxy, else NO_PROXY) certainly exempt this
 * host? Only the forms every libcurl since 7.x reads alike: the whole list
 * "*", or an entry equal to the host, or (for a name) to a domain it is in
 * (".example.com" and "example.com" both cover "st2.example.com"). CIDR
 * blocks and the rest are left to libcurl, which applies them itself. */
static int no_proxy_exempts(const char *host, size_t hlen, int is_ip)
{
    const char *list = getenv("no_proxy");
    if (!list)
        list = getenv("NO_PROXY");
    if (!list || !*list)
        return 0;
    if (strcmp(list, "*") == 0)
        return 1;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++;
        size_t n = (size_t)(p - tok);
        if (!is_ip && n && *tok == '.')
            tok++, n--;
        if (n == 0 || n > hlen)
            continue;
        if (n == hlen && strncasecmp(tok, host, n) == 0)
            return 1;
        if (!is_ip && n < hlen && host[hlen - n - 1] == '.' &&
            strncasecmp(tok, host + hlen - n, n) == 0)
            return 1;
    }
    return 0;
}

/* The rule: https:// goes by libcurl; anything else by the plain
 * transport (which refuses what is not an http:// URL it can send, as
 * http_bad_url) unless a proxy would carry it. libcurl's own proxy
 * variables decide that, read as it reads them for http: http_proxy in
 * lower case only (not HTTP_PROXY, which a CGI client can set through a
 * Proxy: header), else all_proxy, else ALL_PROXY; unless no_proxy exempts
 * the host (no_proxy_exempts). A static binary, which cannot resolve names
 * (http_resolve_none.c), sends a URL naming a host other than localhost to
 * libcurl too. AUTOSCALE_HTTP_TRANSPORT=curl (or plain, or
 * worker) overrides the rule for every request: the operator's way out if
 * the small client and some server disagree, and the tests' way to drive
 * libcurl through a static binary (an unknown name is ignored). */
const struct http_transport *http_transport_for(const char *url)
{
    struct http_url u;

    if (forced)
        return forced;
    const char *by = getenv("AUTOSCALE_HTTP_TRANSPORT");
    const struct http_transport *t = by && *by ? transport_named(by) : NULL;
    if (t)
        return t;
    if (!url || strncasecmp(url, "https://", 8) == 0)
        return http_libcurl_transport;
    if (http_url_split(url, &u, NULL) < 0)
        return &http_plain_transport; /* which refuses it, saying why */
    if ((env_set("http_proxy") || env_set("all_proxy") || env_set("ALL_PROXY")) &&
        !no_proxy_exempts(u.host, u.host_len, u.is_ip))
        return http_libcurl_transport;
    if (!http_resolves_names && http_host_needs_resolver(&u))
        return http_libcurl_transport; /* a static binary: no resolver */
    return &http_plain_transport;
}

/* --------------------------------------------------------------- URLs -- */

void http_response_clear(struct http_response *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->content_type);
    secret_free(r->captured_header); /* it may be a credential */
    r->body = NULL;
    r->content_type = NULL;
    r->captured_header = NULL;
    r->body_len = 0;
}

const char *http_url_problem(const char *url)
{
    const char *host = !url                                ? NULL
                       : strncmp(url, "https://", 8) == 0 ? url + 8
                       : strncmp(url, "http://", 7) == 0  ? url + 7
                                                          : NULL;
    if (!host)
        return "must start with http:// or https://";
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#' || *c == '@' ||
            *c == '\\')
            return "must have no blank, control character, '@', '?', '#' or '\\'";
    size_t hlen = host[0] == '['
                      ? strspn(host + 1, "0123456789abcdefABCDEF:.") + 2
                      : strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789.-");
    if (hlen == 0 || (host[0] == '[' && host[hlen - 1] != ']') || hlen > 253)
        return "must name a host";
    const char *p = host + hlen;
    if (*p == ':') {
        size_t n = strspn(p + 1, "0123456789");
        long port = n && n <= 5 ? strtol(p + 1, NULL, 10) : 0;
        if (port < 1 || port > 65535)
            return "must have a port between 1 and 65535";
        p += 1 + n;
    }
    if (*p && *p != '/')
        return "must name a host";
    if (strlen(url) > 2048)
        return "is longer than 2048 bytes";
    return NULL;
}

/* ------------------------------------------------------------ redaction -- */

/* What may appear in a log line or error message for a URL: never the
 * userinfo ("user:pass@"), never the query string (tokens travel there) or
 * fragment, and for a secret URL nothing after the host. */
static void redact_url(const char *url, int secret, char *out, size_t size)
{
    const char *p = url ? strstr(url, "://") : NULL;

    /* "://" inside a query is not a scheme separator */
    if (p && (p == url || strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789+.-") != (size_t)(p - url)))
        p = NULL;
    if (!p) {
        snprintf(out, size, "%s", secret ? "(secret url)" : "(not a url)");
        return;
    }
    const char *auth = p + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', alen);
    const char *host = at ? at + 1 : auth;
    size_t hlen = alen - (size_t)(host - auth);
    const char *path = auth + alen;
    size_t plen = secret ? 0 : strcspn(path, "?#");

    snprintf(out, size, "%.*s://%.*s%.*s", (int)(p - url), url, (int)hlen, host,
             (int)plen, path);
}

/* ------------------------------------------------------- the response -- */

int http_xfer_body(struct http_xfer *x, const char *data, size_t len)
{
    struct http_response *r = x->resp;

    if (len > HTTP_BODY_MAX - r->body_len) {
        x->too_large = 1;
        return -1;
    }
    r->body = xgrow(r->body, r->body_len + len + 1, &x->cap, 1);
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

void http_xfer_expect(struct http_xfer *x, size_t len)
{
    struct http_response *r = x->resp;
    if (len == 0 || len > HTTP_BODY_MAX - r->body_len)
        return;
    r->body = xgrow(r->body, r->body_len + len + 1, &x->cap, 1);
    r->body[r->body_len] = '\0'; /* a body, even before its first byte */
}

static int month_of(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int m = 0; m < 12; m++)
        if (strncasecmp(s, names + 3 * m, 3) == 0 && s[3] == '\0')
            return m;
    return -1;
}

/* An HTTP-date (RFC 9110 5.6.7) in any of its three forms, as seconds
 * since the epoch; -1 if it is none:
 *   Sun, 06 Nov 1994 08:49:37 GMT   (IMF-fixdate)
 *   Sunday, 06-Nov-94 08:49:37 GMT  (RFC 850)
 *   Sun Nov  6 08:49:37 1994        (asctime) */
static time_t http_date(const char *v)
{
    struct tm tm;
    char mon[4] = "";
    int day, year, h, mi, s, end = 0;
    size_t wd = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

    memset(&tm, 0, sizeof tm);
    if (wd < 3 || wd > 9)
        return -1;
    v += wd;
    if (v[0] == ',' && v[1] == ' ' && v[2] && v[3] && v[4] == '-') {
        if (sscanf(v + 2, "%2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", &day, mon, &year, &h, &mi,
                   &s, &end) != 6)
            return -1;
        year += year < 70 ? 2000 : 1900;
        v += 2;
    } else if (v[0] == ',' && v[1] == ' ') {
        if (sscanf(v + 2, "%2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", &day, mon, &year, &h, &mi,
                   &s, &end) != 6)
            return -1;
        v += 2;
    } else if (v[0] == ' ') {
        if (sscanf(v + 1, "%3[A-Za-z] %2d %2d:%2d:%2d %4d%n", mon, &day, &h, &mi, &s, &year,
                   &end) != 6)
            return -1;
        v += 1;
    } else {
        return -1;
    }
    if (end == 0 || v[end + strspn(v + end, " \t")] != '\0')
        return -1;
    int m = month_of(mon);
    if (m < 0 || day < 1 || day > 31 || year < 1970 || h > 23 || mi > 59 || s > 60 ||
        h < 0 || mi < 0 || s < 0)
        return -1;
    tm.tm_year = year - 1900;
    tm.tm_mon = m;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return timegm(&tm);
}

/* Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3), in ms,
 * at most a year; -1 if it is neither. */
static long parse_retry_after(const char *v)
{
    static const long year_s = 86400L * 365;
    while (*v == ' ' || *v == '\t')
        v++;
    if (isdigit((unsigned char)*v)) {
        char *end;
        unsigned long long s = strtoull(v, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end)
            return -1;
        return s > (unsigned long long)year_s ? year_s * 1000 : (long)s * 1000;
    }
    time_t when = http_date(v);
    if (when == (time_t)-1)
        return -1;
    time_t now = time(NULL);
    if (when <= now)
        return 0;
    return (when - now > year_s ? year_s : (long)(when - now)) * 1000;
}

/* The value of a "name: value" line if its name is `name` (any case),
 * blanks and CRLF trimmed; NULL otherwise. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
    size_t n = strlen(name);
    if (n == 0 || len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return NULL;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
                       end[-1] == '\n'))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

/* Keep the captured header's value (the last one wins). Nothing here logs
 * the value, which may be a credential. */
static void capture_header(struct http_xfer *x, const char *v, size_t n)
{
    struct http_response *r = x->resp;
    secret_free(r->captured_header);
    r->captured_header = NULL;
    if (n > HTTP_CAPTURE_MAX) {
        /* A cut credential would only fail later, and more obscurely. */
        log_debug("response header %.64s: %zu bytes, over %d: not captured", x->capture, n,
                  HTTP_CAPTURE_MAX);
        return;
    }
    r->captured_header = xstrndup(v, n);
}

void http_xfer_header(struct http_xfer *x, const char *line, size_t len)
{
    struct http_response *r = x->resp;
    const char *v;
    size_t n;

    if (x->header_tap)
        x->header_tap(x->header_tap_arg, line, len);
    /* A new status line (after a 100 Continue, say) starts a new header set. */
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        x->retry_after_ms = -1;
        secret_free(r->captured_header);
        r->captured_header = NULL;
        free(r->content_type);
        r->content_type = NULL;
    } else if ((v = header_value(line, len, "Retry-After", &n))) {
        char buf[256];
        if (n < sizeof buf) {
            memcpy(buf, v, n);
            buf[n] = '\0';
            x->retry_after_ms = parse_retry_after(buf);
        } else {
            x->retry_after_ms = -1;
        }
    } else if ((v = header_value(line, len, "Content-Type", &n))) {
        free(r->content_type);
        r->content_type = xstrndup(v, n);
    }
    if (x->capture && (v = header_value(line, len, x->capture, &n)))
        capture_header(x, v, n);
}

int http_failure_set(struct http_failure *f, const char *code, int retryable,
                     const char *fmt, ...)
{
    va_list ap;
    f->code = code;
    f->exit = AS_EXIT_FAILURE;
    f->retryable = retryable;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof f->text, fmt, ap);
    va_end(ap);
    return -1;
}

/* -------------------------------------------------------------- requests -- */

static int method_is(const char *method, const char *m) { return strcasecmp(method, m) == 0; }

int http_method_has_body(const char *method)
{
    return method_is(method, "POST") || method_is(method, "PUT") || method_is(method, "PATCH");
}

static int method_retryable(const struct http_request *req)
{
    if (req->retry >= 0)
        return req->retry != 0;
    static const char *const idempotent[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof idempotent / sizeof *idempotent; i++)
        if (method_is(req->method, idempotent[i]))
            return 1;
    return 0;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long backoff_ms(struct http_client *c, int retry_index)
{
    long base = c->opt.backoff_base_ms, cap = c->opt.backoff_max_ms;
    long ceiling = base;

    for (int i = 0; i < retry_index && ceiling < cap; i++)
        ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
    if (ceiling > cap)
        ceiling = cap;
    if (ceiling <= 0)
        return 0;
    return (long)(next_random(c) % ((uint64_t)ceiling + 1)); /* full jitter */
}

/* Send the request once, by its transport. 0: a response is in *resp;
 * -1: *f says why not. */
static int attempt_once(struct http_client *c, const struct http_request *req,
                        struct http_response *resp, struct http_xfer *x, long timeout_ms,
                        int resend_ok, struct http_failure *f)
{
    http_response_clear(resp);
    resp->status = 0;
    const struct http_transport *t = http_transport_for(req->url);
    if (t->perform(c, req, x, timeout_ms, resend_ok, f) < 0) {
        http_response_clear(resp);
        resp->status = 0;
        return -1;
    }
    if (!resp->body)
        resp->body = xcalloc(1, 1);
    return 0;
}

int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct as_error *err)
{
    char shown[HTTP_URL_LOG_MAX];
    struct http_failure f = {0};
    int may_retry = method_retryable(req);
    int max = c->opt.max_attempts;
    int attempt;

    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    /* One budget for every attempt and wait: four attempts of a 30 s
     * timeout would otherwise outlast st2's 60 s default action timeout. */
    long long end = mono_ms() + as_deadline_cap_ms(c->opt.budget_ms);
    redact_url(req->url, req->secret_url, shown, sizeof shown);

    for (attempt = 1;; attempt++) {
        struct http_xfer x = {.resp = resp, .retry_after_ms = -1,
                              .capture = req->capture_header};
        long wait;

        if (as_interrupted()) {
            http_failure_set(&f, "interrupted", 0, "interrupted");
            break;
        }
        long long left = end - mono_ms();
        if (left <= 0) {
            http_failure_set(&f, "http_timeout", 0, "%s", attempt == 1
                             ? "no time left before the action's deadline"
                             : "the request's time budget is spent");
            attempt--; /* this one was not sent */
            break;
        }
        log_debug("%s %s: attempt %d/%d", req->method, shown, attempt, max);
        int rc = attempt_once(c, req, resp, &x,
                              left < c->opt.timeout_ms ? (long)left : c->opt.timeout_ms,
                              may_retry, &f);
        resp->attempts = attempt;
        if (x.retry_after_ms >= 0)
            resp->retry_after_ms = x.retry_after_ms;

        if (rc < 0) {
            log_debug("%s %s: attempt %d failed: %s", req->method, shown, attempt, f.code);
            if (!f.retryable || !may_retry || attempt >= max)
                break;
            wait = backoff_ms(c, attempt - 1);
        } else {
            log_debug("%s %s: HTTP %ld (attempt %d)", req->method, shown, resp->status,
                      attempt);
            int again = resp->status == 429 || resp->status >= 500;
            if (!again || !may_retry || attempt >= max)
                return 0;
            wait = backoff_ms(c, attempt - 1);
            if (x.retry_after_ms >= 0) /* the server knows better than our guess */
                wait = x.retry_after_ms < c->opt.backoff_max_ms ? x.retry_after_ms
                                                                : c->opt.backoff_max_ms;
        }
        if (wait >= end - mono_ms()) { /* no time would be left to try again */
            if (rc == 0)
                return 0;
            break;
        }
        log_debug("%s %s: retrying in %ld ms%s", req->method, shown, wait,
                  rc == 0 && x.retry_after_ms >= 0 ? " (Retry-After)" : "");
        if (as_sleep_ms(wait) < 0) {
            http_failure_set(&f, "interrupted", 0, "interrupted");
            break;
        }
    }

    http_response_clear(resp);
    resp->status = 0;
    if (attempt < 1)
        attempt = 1;
    if (attempt > 1 && strcmp(f.code, "interrupted") != 0)
        return as_fail(err, f.exit, f.code, "%s %s: %s (after %d attempts)", req->method,
                       shown, f.text, attempt);
    return as_fail(err, f.exit, f.code, "%s %s: %s", req->method, shown, f.text);
}

/* ------------------------------------------------------------------ JSON -- */

static int has_header(const char *const *list, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; list && list[i]; i++)
        if (strncasecmp(list[i], name, n) == 0 && list[i][n] == ':')
            return 1;
    return 0;
}

static int blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A reply "null" is valid JSON meaning nothing; jx_parse rejects it because
 * for parameters it is a mistake, but for a reply it is just empty. */
static int json_null(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return len == 4 && memcmp(s, "null", 4) == 0;
}

/* A reply body as JSON, or NULL when it is not (or is JSON null). */
static struct json_object *json_or_null(const char *body, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        xalloc_die(0);
    struct json_object *doc = json_tokener_parse_ex(tok, body, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(doc);
        doc = NULL;
    }
    json_tokener_free(tok);
    return doc;
}

int http_json(struct http_client *c, const char *method, const char *url,
              const char *const *headers, struct json_object *body,
              struct http_response *resp, struct json_object **out,
              struct as_error *err)
{
    const char **list;
    size_t n = 0, k = 0;
    char *text = NULL;

    *out = NULL;
    while (headers && headers[n])
        n++;
    list = xcalloc(n + 3, sizeof *list);
    if (body)
        text = jx_dump(body);
    /* The caller's own Content-Type/Accept win: libcurl would send both. */
    if (body && !has_header(headers, "Content-Type"))
        list[k++] = "Content-Type: application/json";
    if (!has_header(headers, "Accept"))
        list[k++] = "Accept: application/json";
    for (size_t i = 0; i < n; i++)
        list[k++] = headers[i];

    struct http_request req = {
        .method = method, .url = url, .headers = list,
        .body = text, .body_len = text ? strlen(text) : 0, .retry = -1,
    };
    int rc = http_do(c, &req, resp, err);
    free(list);
    free(text);
    if (rc < 0)
        return -1;
    if (blank(resp->body, resp->body_len) || json_null(resp->body, resp->body_len))
        return 0;

    if (resp->status < 200 || resp->status > 299) {
        /* An error reply: JSON if it is, the caller reads it either way. */
        *out = json_or_null(resp->body, resp->body_len);
        return 0;
    }

    char what[HTTP_URL_LOG_MAX + 64], shown[HTTP_URL_LOG_MAX];
    redact_url(url, 0, shown, sizeof shown);
    snprintf(what, sizeof what, "reply to %s %s (HTTP %ld)", method, shown, resp->status);
    if (resp->body_len > (size_t)INT32_MAX ||
        !(*out = jx_parse(resp->body, resp->body_len, what, "http_bad_json",
                          AS_EXIT_FAILURE, err))) {
        /* -1 leaves nothing to free, whatever the caller's habits. */
        http_response_clear(resp);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ error text -- */

static const char *str_field(struct json_object *o, const char *key)
{
    const char *s = jx_str(o, key, NULL);
    return s && *s ? s : NULL;
}

/* The human part of the error shapes the APIs we call use. Returns a
 * newly allocated string, or NULL when the document has none of them. */
static char *json_error_message(struct json_object *doc)
{
    const char *msg = NULL, *prefix = NULL;
    struct json_object *e = jx_obj(doc, "error"), *errs = jx_arr(doc, "errors");

    if ((msg = str_field(doc, "error"))) {
        const char *desc = str_field(doc, "error_description"); /* OAuth */
        if (desc)
            prefix = msg, msg = desc;
    } else if (e && (msg = str_field(e, "message"))) {
        prefix = str_field(e, "code");
    } else if ((msg = str_field(doc, "message"))) {
        prefix = str_field(doc, "id"); /* {"id":"not_found","message":...} */
        if (!prefix)
            prefix = str_field(doc, "code");
    } else if ((msg = str_field(doc, "faultstring"))) {
    } else if ((msg = str_field(doc, "detail"))) { /* RFC 9457 problem */
        prefix = str_field(doc, "title");
    } else if (errs && json_object_array_length(errs) > 0) {
        struct json_object *first = json_object_array_get_idx(errs, 0);
        if (json_object_is_type(first, json_type_string))
            msg = json_object_get_string(first);
        else
            msg = str_field(first, "message");
    }
    if (!msg)
        return NULL;
    return xasprintf("%s%s%s", prefix ? prefix : "", prefix ? ": " : "", msg);
}

/* One line, printable, bounded; cut on a UTF-8 character boundary. */
static void tidy(char *s)
{
    size_t w = 0;
    int valid = utf8_valid(s, strlen(s));

    for (size_t r = 0; s[r]; r++) {
        unsigned char ch = (unsigned char)s[r];
        if (ch < 0x20 || ch == 0x7f)
            ch = ' ';
        else if (ch >= 0x80 && !valid)
            ch = '?'; /* it ends up in JSON output, which must be UTF-8 */
        if (ch == ' ' && (w == 0 || s[w - 1] == ' '))
            continue;
        s[w++] = (char)ch;
    }
    while (w && s[w - 1] == ' ')
        w--;
    s[w] = '\0';
    if (w > HTTP_ERROR_TEXT_MAX) {
        size_t cut = HTTP_ERROR_TEXT_MAX - 3;
        while (cut && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
        memcpy(s + cut, "...", 4);
    }
}

char *http_error_text(const struct http_response *r)
{
    char *text = NULL;

    if (!r || !r->body || blank(r->body, r->body_len)) {
        if (!r || r->status == 0)
            return xstrdup("no response");
        return xasprintf("HTTP %ld", r->status);
    }
    struct json_object *doc = json_or_null(r->body, r->body_len);
    text = json_error_message(doc);
    json_object_put(doc);
    /* Scrub before cutting, so a secret cut in half cannot slip through;
     * the copy also stops at an embedded NUL. */
    char *clean = secret_scrub(text ? text : r->body);
    free(text);
    tidy(clean);
    return clean;
}

/* ----------------------------------------------------------------- URLs -- */

char *http_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = s ? strlen(s) : 0;
    char *out = xmalloc(n * 3 + 1), *w = out;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        /* explicit ranges: isalnum() follows the locale */
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            *w++ = (char)ch;
        } else {
            *w++ = '%';
            *w++ = hex[ch >> 4];
            *w++ = hex[ch & 15];
        }
    }
    *w = '\0';
    return out;
}

char *http_base_url(const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    return xstrndup(url, n);
}

int http_header_value_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* ------------------------------------------------------------ http_api -- */

int http_api_open(struct http_api *a, char *base, const char *prefix, const char *secret,
                  const char *ca_bundle, struct as_error *err)
{
    memset(a, 0, sizeof *a);
    a->base = base;
    if (!base)
        return -1; /* the caller's URL check set err */
    a->auth = xasprintf("%s%s", prefix, secret);
    struct http_options o;
    http_options_default(&o);
    o.ca_bundle = ca_bundle;
    if (!(a->http = http_client_new(&o, err))) {
        http_api_close(a);
        return -1;
    }
    return 0;
}

void http_api_close(struct http_api *a)
{
    http_client_free(a->http);
    secret_free(a->auth);
    free(a->base);
    memset(a, 0, sizeof *a);
}
