/* test_httpd.c - see test_httpd.h.
 *
 * libmicrohttpd with one thread per connection, so a delayed reply holds up
 * only its own connection (a client that timed out and retried gets through).
 * Replies and recorded requests live under one mutex; a recorded request is
 * never changed once published, so handing out pointers to it is safe. */
#include "test_httpd.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct reply {
    struct test_httpd_reply r; /* strings point to owned copies */
    char **headers;
    struct reply *next;
};

struct test_httpd {
    struct MHD_Daemon *daemon;
    int port;
    char url[64];
    pthread_mutex_t lock;
    struct test_waker waker; /* delayed replies sleep on it; stop wakes them */
    struct reply *queue, *queue_tail;
    struct reply *spent; /* served out, but a handler may still read them */
    struct test_httpd_request **reqs;
    int nreqs, capreqs;
};

/* Per request, from the first line until MHD reports completion. */
struct pending {
    struct test_httpd_request *rec; /* NULL once published */
    size_t body_cap, nheaders;
    int started;
};

static const struct test_httpd_reply no_script = {
    .status = 500, .body = "test_httpd: no scripted reply", .content_type = "text/plain",
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "test_httpd: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xcalloc(n + 1, 1);
    memcpy(d, s, n);
    return d;
}

static char **copy_list(const char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = xstrndup(list[i], strlen(list[i]));
    return out;
}

static void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

static void free_request(struct test_httpd_request *r)
{
    if (!r)
        return;
    free(r->url);
    free(r->body);
    free_list(r->headers);
    free(r);
}

static void free_replies(struct reply *r)
{
    while (r) {
        struct reply *next = r->next;
        free((char *)r->r.body);
        free((char *)r->r.content_type);
        free_list(r->headers);
        free(r);
        r = next;
    }
}

/* ------------------------------------------------------- server threads -- */

/* MHD hands the access handler the path without its query; this callback
 * sees the raw request target, so the recorded URL is what the client sent. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls, (void)conn;
    struct pending *p = xcalloc(1, sizeof *p);
    p->rec = xcalloc(1, sizeof *p->rec);
    p->rec->url = xstrndup(uri, strlen(uri));
    p->rec->body = xcalloc(1, 1);
    return p;
}

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct pending *p = cls;
    (void)kind;
    char **h = realloc(p->rec->headers, (p->nheaders + 2) * sizeof *h);
    if (!h)
        abort();
    size_t len = strlen(key) + strlen(value ? value : "") + 3;
    h[p->nheaders] = xcalloc(len, 1);
    snprintf(h[p->nheaders], len, "%s: %s", key, value ? value : "");
    h[++p->nheaders] = NULL;
    p->rec->headers = h;
    return MHD_YES;
}

static void append_body(struct pending *p, const char *data, size_t n)
{
    struct test_httpd_request *r = p->rec;
    if (r->body_len + n + 1 > p->body_cap) {
        size_t cap = p->body_cap ? p->body_cap : 1024;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            abort();
        r->body = b;
        p->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
}

/* Record the request and pick its reply in one step, so request i is
 * always the one that got reply i. */
static const struct test_httpd_reply *take_reply(struct test_httpd *s, struct pending *p)
{
    const struct test_httpd_reply *r = &no_script;

    pthread_mutex_lock(&s->lock);
    if (s->nreqs == s->capreqs) {
        int cap = s->capreqs ? s->capreqs * 2 : 16;
        struct test_httpd_request **v = realloc(s->reqs, (size_t)cap * sizeof *v);
        if (!v)
            abort();
        s->reqs = v;
        s->capreqs = cap;
    }
    s->reqs[s->nreqs++] = p->rec;
    p->rec = NULL;

    struct reply *q = s->queue;
    if (q) {
        r = &q->r;
        if (q->r.repeat > 0 && --q->r.repeat == 0) {
            s->queue = q->next;
            if (!s->queue)
                s->queue_tail = NULL;
            q->next = s->spent;
            s->spent = q;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

struct stream {
    const char *body; /* the reply's copy, alive until stop */
    size_t len, pos;
};

static ssize_t read_chunk(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    (void)pos;
    if (st->pos == st->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = st->len - st->pos < max ? st->len - st->pos : max;
    memcpy(buf, st->body + st->pos, n);
    st->pos += n;
    return (ssize_t)n;
}

static enum MHD_Result respond(struct MHD_Connection *conn, const struct test_httpd_reply *r)
{
    size_t len = r->body ? (r->body_len ? r->body_len : strlen(r->body)) : 0;
    struct MHD_Response *resp;

    if (r->chunked) {
        struct stream *st = xcalloc(1, sizeof *st);
        st->body = r->body ? r->body : "";
        st->len = len;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_chunk,
                                                 st, free);
    } else {
        resp = MHD_create_response_from_buffer(len, (void *)(r->body ? r->body : ""),
                                               MHD_RESPMEM_MUST_COPY);
    }
    if (!resp)
        return MHD_NO;
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        const char *h = r->headers[i], *colon = strchr(h, ':');
        if (!colon)
            continue;
        char *name = xstrndup(h, (size_t)(colon - h));
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        MHD_add_response_header(resp, name, value);
        free(name);
    }
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    struct test_httpd *s = cls;
    struct pending *p = *state;
    (void)version;

    if (!p) /* no URI callback ran (it always does; be safe) */
        p = *state = on_uri(NULL, url, conn);
    if (!p->started) {
        p->started = 1;
        snprintf(p->rec->method, sizeof p->rec->method, "%s", method);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            p->rec->client_port =
                ntohs(((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_port);
        p->rec->headers = xcalloc(1, sizeof *p->rec->headers);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, p);
        return MHD_YES;
    }
    if (*upload_size) {
        append_body(p, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }

    const struct test_httpd_reply *r = take_reply(s, p);
    if (r->hook)
        r->hook(r->hook_arg);
    if (r->delay_ms > 0)
        test_waker_sleep_ms(&s->waker, r->delay_ms);
    if (r->drop)
        return MHD_NO; /* MHD closes the socket: the client sees no reply */
    return respond(conn, r);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state,
                    enum MHD_RequestTerminationCode why)
{
    struct pending *p = *state;
    (void)cls, (void)conn, (void)why;
    if (p) {
        free_request(p->rec); /* only if it never got as far as a reply */
        free(p);
        *state = NULL;
    }
}

/* ------------------------------------------------------------------ API -- */

struct test_httpd *test_httpd_start(void)
{
    struct test_httpd *s = xcalloc(1, sizeof *s);
    struct sockaddr_in addr;

    /* A client that hangs up before its delayed reply is written must not
     * kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&s->lock, NULL);
    test_waker_init(&s->waker);

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0,
        NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, (void *)s, MHD_OPTION_NOTIFY_COMPLETED,
        on_done, (void *)s, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        s->daemon ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info || info->port == 0) {
        fprintf(stderr, "test_httpd: cannot start a server on 127.0.0.1\n");
        test_httpd_stop(s);
        return NULL;
    }
    s->port = info->port;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return s;
}

void test_httpd_stop(struct test_httpd *s)
{
    if (!s)
        return;
    test_waker_stop(&s->waker);
    if (s->daemon)
        MHD_stop_daemon(s->daemon); /* joins every connection thread */

    free_replies(s->queue);
    free_replies(s->spent);
    for (int i = 0; i < s->nreqs; i++)
        free_request(s->reqs[i]);
    free(s->reqs);
    test_waker_destroy(&s->waker);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int test_httpd_port(const struct test_httpd *s) { return s->port; }

const char *test_httpd_url(const struct test_httpd *s) { return s->url; }

void test_httpd_queue(struct test_httpd *s, const struct test_httpd_reply *r)
{
    struct reply *q = xcalloc(1, sizeof *q);
    q->r = *r;
    if (r->body) {
        size_t len = r->body_len ? r->body_len : strlen(r->body);
        q->r.body = xstrndup(r->body, len);
        q->r.body_len = len;
    }
    q->r.content_type = r->content_type ? xstrndup(r->content_type, strlen(r->content_type))
                                        : NULL;
    q->headers = copy_list(r->headers);
    q->r.headers = (const char *const *)q->headers;
    if (q->r.repeat == 0)
        q->r.repeat = 1;

    pthread_mutex_lock(&s->lock);
    if (s->queue_tail)
        s->queue_tail->next = q;
    else
        s->queue = q;
    s->queue_tail = q;
    pthread_mutex_unlock(&s->lock);
}

void test_httpd_queue_simple(struct test_httpd *s, int status, const char *body)
{
    struct test_httpd_reply r = {.status = status, .body = body,
                                 .content_type = "text/plain"};
    test_httpd_queue(s, &r);
}

int test_httpd_request_count(struct test_httpd *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->nreqs;
    pthread_mutex_unlock(&s->lock);
    return n;
}

const struct test_httpd_request *test_httpd_request_at(struct test_httpd *s, int i)
{
    const struct test_httpd_request *r = NULL;
    pthread_mutex_lock(&s->lock);
    if (i >= 0 && i < s->nreqs)
        r = s->reqs[i];
    pthread_mutex_unlock(&s->lock);
    return r;
}

const char *test_httpd_header(const struct test_httpd_request *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; r && r->headers && r->headers[i]; i++) {
        const char *h = r->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h[n + 1] == ' ' ? h + n + 2 : h + n + 1;
    }
    return NULL;
}

int test_refusing_port(int *fd)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;

    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0)
        return -1;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(*fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        getsockname(*fd, (struct sockaddr *)&addr, &len) < 0) {
        close(*fd);
        *fd = -1;
        return -1;
    }
    return ntohs(addr.sin_port);
}
