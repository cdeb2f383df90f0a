/* http.c - see http.h.
 *
 * One libcurl easy handle per client: libcurl keeps the connection (and the
 * TLS session) alive on the handle, so a provider that makes a dozen calls to
 * one API pays for one handshake. Every request starts from curl_easy_reset()
 * and the client's options, so nothing set for one request (a body, a HEAD)
 * can leak into the next one.
 *
 * What never happens here: logging request headers or bodies (they carry API
 * keys), logging response bodies (servers echo requests), logging the path
 * of a secret URL (a Slack webhook's path is the credential), following a
 * redirect (libcurl would resend our Authorization header to wherever the
 * Location points), or talking anything but http and https.
 *
 * libcurl is loaded lazily, with dlopen() on the first http_client_new(),
 * not linked: Debian's libcurl4 pulls in some 30 shared libraries (OpenSSL,
 * GnuTLS via librtmp, Kerberos, LDAP/SASL, libssh2, nghttp2, ...), and
 * loading and relocating them cost ~20 ms of a ~28 ms action start and ~6 MiB
 * of ~9.7 MiB peak RSS (perf stat, bench/README.md), even for actions on the
 * embedded SQLite store that never make a request. Every curl_* function used
 * here goes through the `curl` table below, filled once by load_curl(). */
#include "http.h"

#include "jsonx.h"
#include "log.h"
#include "path.h"
#include "secret.h"
#include "signals.h"
#include "utf8.h"
#include "xalloc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
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

#define HTTP_BODY_MAX (16u * 1024 * 1024) /* no API we call answers more */
#define HTTP_ERROR_TEXT_MAX 300
#define HTTP_URL_LOG_MAX 512

struct http_client {
    CURL *curl;
    struct http_options opt; /* strings point into the copies below */
    char *ca_bundle;
    char *user_agent;
    uint64_t rng; /* jitter only: needs to differ between processes, no more */
    char errbuf[CURL_ERROR_SIZE];
};

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

/* ------------------------------------------------------- lazy libcurl -- */

#define CURL_SONAME "libcurl.so.4"

/* The libcurl functions this file calls, resolved from CURL_SONAME. The
 * types are libcurl's own (<curl/curl.h>); setopt and getinfo are variadic
 * there too. */
struct curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *h);
    void (*easy_reset)(CURL *h);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
    time_t (*getdate)(const char *s, const time_t *unused);
};

static struct curl_api curl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_load_error[512]; /* empty once libcurl is loaded and initialised */

/* Runs once, on the first client. The handle is never dlclose()d and
 * curl_global_cleanup() never called: the process exits soon, and libcurl's
 * global state stays reachable through it (no leak for ASan to report). */
static void load_curl(void)
{
    /* RTLD_LOCAL: libcurl's dependencies stay out of the global namespace, so
     * they cannot interpose on anything the binary already linked. */
    void *lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(curl_load_error, sizeof curl_load_error,
                 "cannot load %s (%s); install Debian package libcurl4 "
                 "(or libcurl4-openssl-dev)", CURL_SONAME, why ? why : "unknown error");
        return;
    }

    struct curl_api api;
    void *sym;
    /* POSIX lets a dlsym() result convert to a function pointer; memcpy
     * keeps that conversion out of strict ISO C's sight. */
#define RESOLVE(member, symbol)                                                     \
    do {                                                                            \
        if (!(sym = dlsym(lib, symbol)))                                            \
            goto missing;                                                           \
        memcpy(&api.member, &sym, sizeof api.member);                               \
    } while (0)
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_reset, "curl_easy_reset");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_perform, "curl_easy_perform");
    RESOLVE(easy_getinfo, "curl_easy_getinfo");
    RESOLVE(easy_strerror, "curl_easy_strerror");
    RESOLVE(slist_append, "curl_slist_append");
    RESOLVE(slist_free_all, "curl_slist_free_all");
    RESOLVE(getdate, "curl_getdate");
#undef RESOLVE

    /* curl_global_init() is not thread-safe in older libcurl and is costly;
     * it runs here, once. */
    CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(curl_load_error, sizeof curl_load_error,
                 "libcurl initialisation failed: %s", api.easy_strerror(rc));
        return;
    }
    curl = api;
    return;

missing: {
        const char *why = dlerror();
        snprintf(curl_load_error, sizeof curl_load_error,
                 "%s lacks a libcurl function (%s); install Debian package libcurl4 "
                 "(or libcurl4-openssl-dev)", CURL_SONAME, why ? why : "unknown error");
        dlclose(lib);
    }
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

struct http_client *http_client_new(const struct http_options *o,
                                    struct as_error *err)
{
    static int warned_insecure;
    struct http_options def;

    http_options_default(&def);
    if (!o)
        o = &def;

    pthread_once(&curl_once, load_curl);
    if (curl_load_error[0]) {
        as_fail(err, AS_EXIT_FAILURE, "http_init", "%s", curl_load_error);
        return NULL;
    }
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
    if (!(c->curl = curl.easy_init())) /* after the global init, only memory fails */
        xalloc_die(0);
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

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl.easy_cleanup(c->curl);
    free(c->ca_bundle);
    free(c->user_agent);
    free(c);
}

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

/* -------------------------------------------------------------- transfer -- */

struct transfer {
    struct http_response *resp;
    size_t cap;
    int too_large;
    long retry_after_ms; /* from this response, -1 none */
    const char *capture; /* request.capture_header, NULL or "" for none */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    struct http_response *r = t->resp;
    size_t len = size * n;

    if (len > HTTP_BODY_MAX - r->body_len) {
        t->too_large = 1;
        return 0; /* anything but len aborts the transfer */
    }
    r->body = xgrow(r->body, r->body_len + len + 1, &t->cap, 1);
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

/* Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3). */
static long parse_retry_after(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (isdigit((unsigned char)*v)) {
        char *end;
        unsigned long long s = strtoull(v, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end)
            return -1;
        return s > 86400ull * 365 ? 86400L * 365 * 1000 : (long)s * 1000; /* a year */
    }
    time_t when = curl.getdate(v, NULL);
    if (when == (time_t)-1)
        return -1;
    time_t now = time(NULL);
    if (when <= now)
        return 0;
    long s = when - now > 86400L * 365 ? 86400L * 365 : (long)(when - now);
    return s * 1000;
}

/* If this header line is "<t->capture>: value", keep the trimmed value in
 * the response (the last one wins). libcurl hands over whole lines, CRLF
 * included, not NUL-terminated. Nothing here logs the value, which may be a
 * credential. */
static void capture_header(struct transfer *t, const char *data, size_t len)
{
    size_t n = strlen(t->capture);

    if (n == 0 || len <= n || data[n] != ':' || strncasecmp(data, t->capture, n) != 0)
        return;
    const char *v = data + n + 1, *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
                       end[-1] == '\n'))
        end--;
    struct http_response *r = t->resp;
    secret_free(r->captured_header);
    r->captured_header = NULL;
    if ((size_t)(end - v) > HTTP_CAPTURE_MAX) {
        /* A cut credential would only fail later, and more obscurely. */
        log_debug("response header %.64s: %zu bytes, over %d: not captured", t->capture,
                  (size_t)(end - v), HTTP_CAPTURE_MAX);
        return;
    }
    r->captured_header = xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";

    /* A new status line (after a 100 Continue, say) starts a new header set. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        t->retry_after_ms = -1;
        secret_free(t->resp->captured_header);
        t->resp->captured_header = NULL;
    } else if (len > sizeof name - 1 && len < 256 &&
               strncasecmp(data, name, sizeof name - 1) == 0) {
        char v[256];
        memcpy(v, data + sizeof name - 1, len - (sizeof name - 1));
        v[len - (sizeof name - 1)] = '\0';
        t->retry_after_ms = parse_retry_after(v);
    } else if (t->capture) {
        capture_header(t, data, len);
    }
    return len;
}

/* libcurl calls this while data flows and about once a second while it
 * waits, so a SIGTERM stops a transfer stuck on a slow server within a
 * second rather than at the (much longer) request timeout. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    (void)arg, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return as_interrupted() ? 1 : 0;
}

static int method_is(const char *method, const char *m) { return strcasecmp(method, m) == 0; }

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

static int setup(struct http_client *c, const struct http_request *req,
                 struct curl_slist *headers, struct transfer *t, long timeout_ms)
{
    CURL *h = c->curl;
    CURLcode rc = CURLE_OK;

    curl.easy_reset(h);
#define SET(opt, val) \
    do { if (rc == CURLE_OK) rc = curl.easy_setopt(h, opt, val); } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM games: we own the signals */
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        c->opt.connect_timeout_ms < timeout_ms ? c->opt.connect_timeout_ms : timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(CURLOPT_USERAGENT, c->opt.user_agent);
    SET(CURLOPT_SSL_VERIFYPEER, c->opt.insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, c->opt.insecure ? 0L : 2L);
    if (c->opt.ca_bundle)
        SET(CURLOPT_CAINFO, c->opt.ca_bundle);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_HTTPHEADER, headers);

    /* body_len 0 with a body means "it is a C string", so callers holding
     * one need not count it; an empty body is "" either way. */
    size_t blen = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
    if (req->body || method_is(req->method, "POST") || method_is(req->method, "PUT") ||
        method_is(req->method, "PATCH")) {
        /* A bodiless PUT still needs "Content-Length: 0" or some servers
         * answer 411; POSTFIELDS "" gives exactly that. */
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
        if (!method_is(req->method, "POST"))
            SET(CURLOPT_CUSTOMREQUEST, req->method);
    } else if (method_is(req->method, "HEAD")) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (method_is(req->method, "GET")) {
        SET(CURLOPT_HTTPGET, 1L);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    }
#undef SET
    return rc == CURLE_OK ? 0 : -1;
}

/* The error code for a failed transfer, and whether another try may help. */
static const char *classify(CURLcode rc, int *retryable, enum as_exit *exit)
{
    *retryable = 0;
    *exit = AS_EXIT_FAILURE;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        *retryable = 1;
        return "http_unreachable";
    case CURLE_OPERATION_TIMEDOUT:
        *retryable = 1;
        return "http_timeout";
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: /* connection cut in the middle of the body */
        *retryable = 1;
        return "http_transport";
    case CURLE_SSL_CONNECT_ERROR: /* handshake cut short: may be transient */
        *retryable = 1;
        return "http_tls";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return "http_tls";
    case CURLE_FILESIZE_EXCEEDED:
        return "http_too_large";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        *exit = AS_EXIT_BADINPUT;
        return "http_bad_url";
    default:
        return "http_transport";
    }
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

static struct curl_slist *build_headers(const char *const *list)
{
    /* "Expect:" stops libcurl from waiting up to a second for a 100 Continue
     * before sending a large body: every server we talk to answers directly. */
    struct curl_slist *h = curl.slist_append(NULL, "Expect:");
    for (size_t i = 0; h && list && list[i]; i++)
        h = curl.slist_append(h, list[i]);
    if (!h) /* libcurl's copy of a string: only memory fails */
        xalloc_die(0);
    return h;
}

/* How one attempt ended when no response came. */
struct failure {
    const char *code;
    enum as_exit exit;
    int retryable;
    char text[CURL_ERROR_SIZE + 32];
};

/* Send the request once. 0: a response is in *resp; -1: *f says why not. */
static int attempt_once(struct http_client *c, const struct http_request *req,
                        struct curl_slist *headers, struct http_response *resp,
                        struct transfer *t, long timeout_ms, struct failure *f)
{
    http_response_clear(resp);
    resp->status = 0;
    c->errbuf[0] = '\0';
    f->exit = AS_EXIT_FAILURE;
    f->retryable = 0;

    if (setup(c, req, headers, t, timeout_ms) < 0) {
        f->code = "http_transport";
        snprintf(f->text, sizeof f->text, "cannot set request options");
        return -1;
    }
    CURLcode rc = curl.easy_perform(c->curl);
    if (rc == CURLE_OK) {
        char *ct = NULL;
        curl.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
        curl.easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct);
        if (ct)
            resp->content_type = xstrdup(ct);
        if (!resp->body)
            resp->body = xcalloc(1, 1);
        return 0;
    }

    if (rc == CURLE_ABORTED_BY_CALLBACK && as_interrupted()) {
        f->code = "interrupted";
        snprintf(f->text, sizeof f->text, "interrupted");
    } else if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        f->code = "http_too_large";
        snprintf(f->text, sizeof f->text, "reply body exceeds %u bytes", HTTP_BODY_MAX);
    } else {
        f->code = classify(rc, &f->retryable, &f->exit);
        /* libcurl's detailed text names hosts, not paths, as far as we know;
         * for a secret URL "as far as we know" is not enough. */
        snprintf(f->text, sizeof f->text, "%s",
                 c->errbuf[0] && !req->secret_url ? c->errbuf : curl.easy_strerror(rc));
    }
    return -1;
}

int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct as_error *err)
{
    char shown[HTTP_URL_LOG_MAX];
    struct failure f = {0};
    int may_retry = method_retryable(req);
    int max = c->opt.max_attempts;
    int attempt;

    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    /* One budget for every attempt and wait: four attempts of a 30 s
     * timeout would otherwise outlast st2's 60 s default action timeout. */
    long long end = mono_ms() + as_deadline_cap_ms(c->opt.budget_ms);
    redact_url(req->url, req->secret_url, shown, sizeof shown);

    struct curl_slist *headers = build_headers(req->headers);

    for (attempt = 1;; attempt++) {
        struct transfer t = {.resp = resp, .retry_after_ms = -1,
                             .capture = req->capture_header};
        long wait;

        if (as_interrupted()) {
            f.code = "interrupted";
            f.exit = AS_EXIT_FAILURE;
            snprintf(f.text, sizeof f.text, "interrupted");
            break;
        }
        long long left = end - mono_ms();
        if (left <= 0) {
            f.code = "http_timeout";
            f.exit = AS_EXIT_FAILURE;
            snprintf(f.text, sizeof f.text, "%s", attempt == 1
                     ? "no time left before the action's deadline"
                     : "the request's time budget is spent");
            attempt--; /* this one was not sent */
            break;
        }
        log_debug("%s %s: attempt %d/%d", req->method, shown, attempt, max);
        int rc = attempt_once(c, req, headers, resp, &t,
                              left < c->opt.timeout_ms ? (long)left : c->opt.timeout_ms, &f);
        resp->attempts = attempt;
        if (t.retry_after_ms >= 0)
            resp->retry_after_ms = t.retry_after_ms;

        if (rc < 0) {
            log_debug("%s %s: attempt %d failed: %s", req->method, shown, attempt, f.code);
            if (!f.retryable || !may_retry || attempt >= max)
                break;
            wait = backoff_ms(c, attempt - 1);
        } else {
            log_debug("%s %s: HTTP %ld (attempt %d)", req->method, shown, resp->status,
                      attempt);
            int again = resp->status == 429 || resp->status >= 500;
            if (!again || !may_retry || attempt >= max) {
                curl.slist_free_all(headers);
                return 0;
            }
            wait = backoff_ms(c, attempt - 1);
            if (t.retry_after_ms >= 0) /* the server knows better than our guess */
                wait = t.retry_after_ms < c->opt.backoff_max_ms ? t.retry_after_ms
                                                                : c->opt.backoff_max_ms;
        }
        if (wait >= end - mono_ms()) { /* no time would be left to try again */
            if (rc == 0) {
                curl.slist_free_all(headers);
                return 0;
            }
            break;
        }
        log_debug("%s %s: retrying in %ld ms%s", req->method, shown, wait,
                  rc == 0 && t.retry_after_ms >= 0 ? " (Retry-After)" : "");
        if (as_sleep_ms(wait) < 0) {
            f.code = "interrupted";
            f.exit = AS_EXIT_FAILURE;
            snprintf(f.text, sizeof f.text, "interrupted");
            break;
        }
    }

    curl.slist_free_all(headers);
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
