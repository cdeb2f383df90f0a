/* fake_curl.c - a stand-in for libcurl.so.4, for the fuzzers only.
 *
 * lib/core/http_curl.c dlopen()s "libcurl.so.4" on first use; run.sh builds
 * this file as build/fuzz/fakecurl/libcurl.so.4 and puts that directory first
 * on LD_LIBRARY_PATH, so the whole of http.c and http_curl.c (header and body
 * callbacks, Retry-After and its dates, header capture, retries, JSON
 * handling) and every provider above them run unchanged, on replies the
 * fuzzer scripted instead of replies from a network (fuzz_http.c sends every
 * request by the curl transport). The fuzzer reaches this library with
 * dlopen() of the same name (the same instance) and fakecurl_script(). */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* One scripted reply. status 0 means the transfer fails (CURLE_RECV_ERROR). */
struct fakecurl_reply {
    long status;
    const char *head; /* header lines, '\n'-separated, not NUL-terminated */
    size_t head_len;
    const char *body;
    size_t body_len;
};

struct fake_handle {
    curl_write_callback write_fn, header_fn;
    void *write_data, *header_data;
    long status;
    char content_type[256];
    int has_content_type;
};

static const struct fakecurl_reply *script;
static size_t script_n, script_next;

/* The replies for the next transfers, in order; after the last one every
 * transfer fails to connect. The array must outlive the transfers. */
void fakecurl_script(const struct fakecurl_reply *r, size_t n);
size_t fakecurl_used(void);

void fakecurl_script(const struct fakecurl_reply *r, size_t n)
{
    script = r;
    script_n = n;
    script_next = 0;
}

size_t fakecurl_used(void) { return script_next; }

CURLcode curl_global_init(long flags)
{
    (void)flags;
    return CURLE_OK;
}

CURL *curl_easy_init(void) { return calloc(1, sizeof(struct fake_handle)); }

void curl_easy_cleanup(CURL *h) { free(h); }

void curl_easy_reset(CURL *h) { memset(h, 0, sizeof(struct fake_handle)); }

CURLcode curl_easy_setopt(CURL *curl, CURLoption opt, ...)
{
    struct fake_handle *h = curl;
    va_list ap;
    va_start(ap, opt);
    switch (opt) {
    case CURLOPT_WRITEFUNCTION:
        h->write_fn = va_arg(ap, curl_write_callback);
        break;
    case CURLOPT_WRITEDATA:
        h->write_data = va_arg(ap, void *);
        break;
    case CURLOPT_HEADERFUNCTION:
        h->header_fn = va_arg(ap, curl_write_callback);
        break;
    case CURLOPT_HEADERDATA:
        h->header_data = va_arg(ap, void *);
        break;
    default:
        break; /* the rest only shapes a real request */
    }
    va_end(ap);
    return CURLE_OK;
}

/* Hand one line to the header callback as libcurl does: a separate
 * buffer, CRLF included, not NUL-terminated (a copy, so ASan sees a read
 * past its end). */
static int header_line(struct fake_handle *h, const char *s, size_t n)
{
    char *line = malloc(n + 2);
    if (!line)
        return -1;
    memcpy(line, s, n);
    memcpy(line + n, "\r\n", 2);
    size_t got = h->header_fn ? h->header_fn(line, 1, n + 2, h->header_data) : n + 2;
    free(line);
    return got == n + 2 ? 0 : -1;
}

CURLcode curl_easy_perform(CURL *curl)
{
    struct fake_handle *h = curl;
    if (script_next >= script_n)
        return CURLE_COULDNT_CONNECT;
    const struct fakecurl_reply *r = &script[script_next++];
    if (r->status <= 0)
        return CURLE_RECV_ERROR;
    h->status = r->status;
    h->has_content_type = 0;

    char status_line[64];
    int n = snprintf(status_line, sizeof status_line, "HTTP/1.1 %ld X", r->status);
    if (header_line(h, status_line, (size_t)n) < 0)
        return CURLE_WRITE_ERROR;
    const char *p = r->head, *end = r->head + r->head_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len >= 13 && strncasecmp(p, "content-type:", 13) == 0) {
            size_t v = len - 13 < sizeof h->content_type - 1 ? len - 13
                                                              : sizeof h->content_type - 1;
            memcpy(h->content_type, p + 13, v);
            h->content_type[v] = '\0';
            h->has_content_type = 1;
        }
        if (header_line(h, p, len) < 0)
            return CURLE_WRITE_ERROR;
        p = nl ? nl + 1 : end;
    }
    if (header_line(h, "", 0) < 0)
        return CURLE_WRITE_ERROR;

    if (r->body_len > 0) {
        /* A private copy, as libcurl's buffer would be. */
        char *body = malloc(r->body_len);
        if (!body)
            return CURLE_OUT_OF_MEMORY;
        memcpy(body, r->body, r->body_len);
        size_t got = h->write_fn ? h->write_fn(body, 1, r->body_len, h->write_data)
                                 : r->body_len;
        free(body);
        if (got != r->body_len)
            return CURLE_WRITE_ERROR;
    }
    return CURLE_OK;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    struct fake_handle *h = curl;
    va_list ap;
    va_start(ap, info);
    if (info == CURLINFO_RESPONSE_CODE) {
        *va_arg(ap, long *) = h->status;
    } else if (info == CURLINFO_CONTENT_TYPE) {
        *va_arg(ap, char **) = h->has_content_type ? h->content_type : NULL;
    }
    va_end(ap);
    return CURLE_OK;
}

const char *curl_easy_strerror(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT ? "Couldn't connect to server" : "Failure";
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
    struct curl_slist *n = calloc(1, sizeof *n);
    if (!n || !(n->data = strdup(s))) {
        free(n);
        return NULL;
    }
    if (!list)
        return n;
    struct curl_slist *last = list;
    while (last->next)
        last = last->next;
    last->next = n;
    return list;
}

void curl_slist_free_all(struct curl_slist *list)
{
    while (list) {
        struct curl_slist *next = list->next;
        free(list->data);
        free(list);
        list = next;
    }
}
