/* http_curl.c - the libcurl transport (http_int.h): https, and http through a
 * proxy.
 *
 * One libcurl easy handle per client: libcurl keeps the connection (and the
 * TLS session) alive on the handle, so a provider that makes a dozen calls to
 * one API pays for one handshake. Every request starts from curl_easy_reset()
 * and the client's options, so nothing set for one request (a body, a HEAD)
 * can leak into the next one. libcurl never follows a redirect (it would
 * resend our Authorization header to wherever the Location points) and
 * speaks nothing but http and https.
 *
 * libcurl is loaded lazily, with dlopen() on the first request it carries,
 * not linked: Debian's libcurl4 pulls in some 30 shared libraries (OpenSSL,
 * GnuTLS via librtmp, Kerberos, LDAP/SASL, libssh2, nghttp2, ...), and
 * loading and initialising them costs ~13 ms and ~7 MiB of peak RSS
 * (bench/README.md), which the actions on the embedded store and those on
 * st2's own plain-http API (http_plain.c) do not pay. Every curl_* function
 * used here goes through the `curl` table below, filled once by load_curl(). */
#include "http_int.h"

#include "signals.h"
#include "xalloc.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
};

static struct curl_api curl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_load_error[512]; /* empty once libcurl is loaded and initialised */

/* A client's libcurl state (http_client.conn[HTTP_T_CURL]). */
struct curl_conn {
    CURL *h;
    char errbuf[CURL_ERROR_SIZE];
};

/* Runs once, on the first request by libcurl. The handle is never
 * dlclose()d and curl_global_cleanup() never called: the process exits
 * soon, and libcurl's global state stays reachable through it (no leak for
 * ASan to report). */
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

/* ------------------------------------------------------------- callbacks -- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    size_t len = size * n;
    /* anything but len aborts the transfer */
    return http_xfer_body(arg, data, len) < 0 ? 0 : len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    http_xfer_header(arg, data, size * n);
    return size * n;
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

/* ----------------------------------------------------------------- setup -- */

static int method_is(const char *method, const char *m) { return strcasecmp(method, m) == 0; }

static int setup(struct http_client *c, struct curl_conn *k, const struct http_request *req,
                 struct curl_slist *headers, struct http_xfer *x, long timeout_ms)
{
    CURL *h = k->h;
    CURLcode rc = CURLE_OK;

    curl.easy_reset(h);
#define SET(opt, val) \
    do { if (rc == CURLE_OK) rc = curl.easy_setopt(h, opt, val); } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_ERRORBUFFER, k->errbuf);
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
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_HTTPHEADER, headers);

    /* body_len 0 with a body means "it is a C string", so callers holding
     * one need not count it; an empty body is "" either way. */
    size_t blen = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
    if (req->body || http_method_has_body(req->method)) {
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

/* The client's easy handle, made on its first request by libcurl. */
static struct curl_conn *conn_of(struct http_client *c, struct http_failure *f)
{
    pthread_once(&curl_once, load_curl);
    if (curl_load_error[0]) {
        http_failure_set(f, "http_init", 0, "%s", curl_load_error);
        return NULL;
    }
    struct curl_conn *k = c->conn[HTTP_T_CURL];
    if (!k) {
        k = xcalloc(1, sizeof *k);
        if (!(k->h = curl.easy_init())) /* after the global init, only memory fails */
            xalloc_die(0);
        c->conn[HTTP_T_CURL] = k;
    }
    return k;
}

/* Send the request once. resend_ok is libcurl's business: it resends on a
 * dead kept-alive connection by itself. */
static int curl_perform(struct http_client *c, const struct http_request *req,
                        struct http_xfer *x, long timeout_ms, int resend_ok,
                        struct http_failure *f)
{
    (void)resend_ok;
    struct curl_conn *k = conn_of(c, f);
    if (!k)
        return -1;
    struct curl_slist *headers = build_headers(req->headers);
    k->errbuf[0] = '\0';
    if (setup(c, k, req, headers, x, timeout_ms) < 0) {
        curl.slist_free_all(headers);
        return http_failure_set(f, "http_transport", 0, "cannot set request options");
    }
    CURLcode rc = curl.easy_perform(k->h);
    curl.slist_free_all(headers);
    if (rc == CURLE_OK) {
        curl.easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &x->resp->status);
        return 0;
    }

    if (rc == CURLE_ABORTED_BY_CALLBACK && as_interrupted())
        return http_failure_set(f, "interrupted", 0, "interrupted");
    if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return http_failure_set(f, "http_too_large", 0, "reply body exceeds %u bytes",
                                HTTP_BODY_MAX);
    int retryable;
    enum as_exit exit;
    const char *code = classify(rc, &retryable, &exit);
    /* libcurl's detailed text names hosts, not paths, as far as we know;
     * for a secret URL "as far as we know" is not enough. */
    http_failure_set(f, code, retryable, "%s",
                     k->errbuf[0] && !req->secret_url ? k->errbuf : curl.easy_strerror(rc));
    f->exit = exit;
    return -1;
}

static void curl_close(void *conn)
{
    struct curl_conn *k = conn;
    if (!k)
        return;
    curl.easy_cleanup(k->h);
    free(k);
}

const struct http_transport http_curl_transport = {
    .name = "curl",
    .id = HTTP_T_CURL,
    .perform = curl_perform,
    .close = curl_close,
};
