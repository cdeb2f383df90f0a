/* http_worker_serve.c - the helper's end of http_worker.c: each request
 * frame is one attempt by the in-process libcurl transport (http_curl.c),
 * answered with its response or its failure. A file of its own so that a
 * static binary, which links http_worker.c, never links http_curl.c and its
 * dlopen(). The helper never logs: the client logs what it decides. */
#include "http_worker.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The next field, read from fd as needed, copied out (NUL-terminated):
 * 1, 0 at the end of the input before it started, -1 on a bad frame. */
static int next_field(struct http_wframe *in, int fd, char **out, size_t *len)
{
    for (;;) {
        const char *f;
        int r = http_wframe_next(in, &f, len);
        if (r == 1) {
            *out = http_wfield_dup(f, *len);
            return 1;
        }
        if (r < 0)
            return -1;
        /* Drop what was consumed, then read more. */
        if (in->pos) {
            memmove(in->b.s, in->b.s + in->pos, in->b.len - in->pos);
            in->b.len -= in->pos;
            in->pos = 0;
        }
        http_wframe_reserve(in, 65536);
        ssize_t n = read(fd, in->b.s + in->b.len, in->b.cap - in->b.len);
        if (n == 0)
            return in->b.len == 0 ? 0 : -1;
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0)
            in->b.len += (size_t)n;
    }
}

static int next_num(struct http_wframe *in, int fd, long long min, long long max,
                    long long *v)
{
    char *s;
    size_t n;
    if (next_field(in, fd, &s, &n) != 1)
        return -1;
    int rc = http_wfield_num(s, n, min, max, v);
    free(s);
    return rc;
}

static struct http_client *read_options(struct http_wframe *in, int fd)
{
    char *magic = NULL, *ca = NULL, *ua = NULL;
    size_t n;
    long long connect_ms, insecure;
    struct http_client *c = NULL;
    if (next_field(in, fd, &magic, &n) == 1 && strcmp(magic, HTTP_WORKER_MAGIC) == 0 &&
        next_num(in, fd, 1, LONG_MAX, &connect_ms) == 0 &&
        next_field(in, fd, &ca, &n) == 1 && next_num(in, fd, 0, 1, &insecure) == 0 &&
        next_field(in, fd, &ua, &n) == 1) {
        struct http_options o;
        struct as_error err;
        http_options_default(&o);
        o.connect_timeout_ms = (long)connect_ms;
        o.ca_bundle = *ca ? ca : NULL;
        o.insecure = (int)insecure;
        if (*ua)
            o.user_agent = ua;
        c = http_client_new(&o, &err); /* copies the strings */
    }
    free(magic), free(ca), free(ua);
    return c;
}

/* One request frame. 1, 0 at a clean end, -1 on a bad frame. */
struct wreq {
    struct http_request req;
    char *method, *url, *body;
    char *headers[HTTP_WORKER_HEADERS_MAX + 1];
    long long timeout_ms, resend_ok;
};

static void wreq_free(struct wreq *r)
{
    free(r->method), free(r->url), free(r->body);
    for (size_t i = 0; r->headers[i]; i++)
        free(r->headers[i]);
}

static int read_request(struct http_wframe *in, int fd, struct wreq *r)
{
    size_t n, body_len;
    long long nh, has_body, secret;
    memset(r, 0, sizeof *r);
    int first = next_field(in, fd, &r->method, &n);
    if (first != 1)
        return first;
    if (next_field(in, fd, &r->url, &n) != 1 ||
        next_num(in, fd, 0, HTTP_WORKER_HEADERS_MAX, &nh) < 0)
        return -1;
    for (long long i = 0; i < nh; i++)
        if (next_field(in, fd, &r->headers[i], &n) != 1)
            return -1;
    if (next_field(in, fd, &r->body, &body_len) != 1 ||
        next_num(in, fd, 0, 1, &has_body) < 0 ||
        next_num(in, fd, 0, 1, &secret) < 0 ||
        next_num(in, fd, 1, LONG_MAX, &r->timeout_ms) < 0 ||
        next_num(in, fd, 0, 1, &r->resend_ok) < 0)
        return -1;
    r->req = (struct http_request){
        .method = r->method,
        .url = r->url,
        .headers = (const char *const *)r->headers,
        .body = has_body ? r->body : NULL,
        .body_len = body_len,
        .retry = 0,
        .secret_url = (int)secret,
    };
    return 1;
}

/* The header lines of the response, as received (http_xfer.header_tap). */
struct tap {
    struct http_wframe lines;
    long long n;
};

static void tap_line(void *arg, const char *line, size_t len)
{
    struct tap *t = arg;
    if (t->n < HTTP_WORKER_REPLY_LINES_MAX) {
        http_wframe_put(&t->lines, line, len);
        t->n++;
    }
}

static void put_reply(struct http_wframe *out, int rc, const struct http_response *resp,
                      const struct tap *t, const struct http_failure *f)
{
    if (rc == 0) {
        http_wframe_str(out, "ok");
        http_wframe_num(out, resp->status);
        http_wframe_num(out, t->n);
        strbuf_addn(&out->b, t->lines.b.s, t->lines.b.len); /* already framed */
        http_wframe_put(out, resp->body ? resp->body : "", resp->body ? resp->body_len : 0);
    } else {
        http_wframe_str(out, "fail");
        http_wframe_str(out, f->code ? f->code : "http_transport");
        http_wframe_num(out, f->exit);
        http_wframe_num(out, f->retryable);
        http_wframe_str(out, f->text);
    }
}

static int send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n, len -= (size_t)n;
    }
    return 0;
}

int http_worker_serve(int fd)
{
    struct http_wframe in = {0};
    struct http_client *c = read_options(&in, fd);
    int rc = c ? 0 : -1;
    while (c) {
        struct wreq r;
        int got = read_request(&in, fd, &r);
        if (got <= 0) {
            rc = got;
            wreq_free(&r);
            break;
        }
        /* No capture here: the client captures from the lines it replays. */
        struct http_response resp = {0};
        struct tap t = {0};
        struct http_xfer x = {.resp = &resp, .retry_after_ms = -1,
                              .header_tap = tap_line, .header_tap_arg = &t};
        struct http_failure f = {0};
        int done = http_curl_transport.perform(c, &r.req, &x, (long)r.timeout_ms,
                                               (int)r.resend_ok, &f);
        struct http_wframe out = {0};
        put_reply(&out, done, &resp, &t, &f);
        http_wframe_clear(&t.lines);
        int sent = send_all(fd, out.b.s, out.b.len);
        http_wframe_clear(&out);
        http_response_clear(&resp);
        wreq_free(&r);
        if (sent < 0)
            break; /* the client is gone: nothing to tell it */
    }
    if (rc < 0)
        fprintf(stderr, "%s: a frame it cannot read; exiting\n", HTTP_WORKER_PROGRAM);
    http_client_free(c);
    http_wframe_clear(&in);
    return rc;
}
