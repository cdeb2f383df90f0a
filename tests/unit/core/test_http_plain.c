/* test_http_plain.c - lib/core/http_plain.c and http_parse.c, the plain
 * transport, against a raw socket server in this file that sends crafted
 * replies byte for byte: chunked, split across reads, kept alive or closed,
 * slow, malformed. What every transport must do alike (retries, budgets,
 * capture, JSON) is in test_http.c, which runs over this transport too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "http_int.h"
#include "log.h"
#include "signals.h"
#include "test_util.h"

/* ------------------------------------------------------ the raw server -- */

#define MAX_REPLIES 40
#define MAX_SEEN 16

/* One scripted answer to one request. */
struct raw_reply {
    char *text;      /* sent as is (owned copy); NULL: nothing */
    size_t len;
    size_t piece;    /* > 0: in sends of this many bytes, piece_ms apart */
    long piece_ms;
    long delay_ms;   /* before the first byte */
    int close;       /* close the connection after the reply (or instead) */
};

struct raw_server {
    int fd, port, v6;
    char url[80];
    pthread_t thread;
    pthread_mutex_t lock;
    struct test_waker waker;
    struct raw_reply replies[MAX_REPLIES];
    size_t n, next;
    int conns, requests;
    int conn_of[MAX_SEEN];    /* which connection request i came on */
    char seen[MAX_SEEN][2048]; /* request i's head and body as received */
    volatile int stop;
};

static int is_stopping(struct raw_server *s)
{
    pthread_mutex_lock(&s->lock);
    int stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

/* Read one request (head and Content-Length body) from fd: 1, or 0 when
 * the client closed or the server stops. */
static int read_request(struct raw_server *s, int fd, char *out, size_t size)
{
    size_t len = 0;
    long want = -1;
    out[0] = '\0';
    while (!is_stopping(s)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, out + len, size - 1 - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        out[len] = '\0';
        char *end = strstr(out, "\r\n\r\n");
        if (!end)
            continue;
        if (want < 0) {
            const char *cl = strcasestr(out, "\r\nContent-Length:");
            want = (long)(end + 4 - out) + (cl && cl < end ? atol(cl + 17) : 0);
        }
        if ((long)len >= want || len == size - 1)
            return 1;
    }
    return 0;
}

static void send_reply(struct raw_server *s, int fd, const struct raw_reply *r)
{
    if (r->delay_ms)
        test_waker_sleep_ms(&s->waker, r->delay_ms);
    size_t piece = r->piece ? r->piece : r->len;
    for (size_t off = 0; r->text && off < r->len && !is_stopping(s); off += piece) {
        size_t n = r->len - off < piece ? r->len - off : piece;
        if (send(fd, r->text + off, n, MSG_NOSIGNAL) < 0)
            return;
        if (r->piece_ms && off + n < r->len)
            test_waker_sleep_ms(&s->waker, r->piece_ms);
    }
}

/* Serve one connection until the client or a reply closes it. */
static void serve(struct raw_server *s, int fd, int conn)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
    for (;;) {
        char req[2048];
        if (!read_request(s, fd, req, sizeof req))
            break;
        pthread_mutex_lock(&s->lock);
        int i = s->requests++;
        if (i < MAX_SEEN) {
            s->conn_of[i] = conn;
            snprintf(s->seen[i], sizeof s->seen[i], "%s", req);
        }
        struct raw_reply r = {0};
        int have = s->next < s->n;
        if (have)
            r = s->replies[s->next++];
        pthread_mutex_unlock(&s->lock);
        if (!have)
            break;
        send_reply(s, fd, &r);
        if (r.close)
            break;
    }
    close(fd);
}

static void *server_main(void *arg)
{
    struct raw_server *s = arg;
    while (!is_stopping(s)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->lock);
        int conn = s->conns++;
        pthread_mutex_unlock(&s->lock);
        serve(s, fd, conn);
    }
    return NULL;
}

/* A server on the loopback (::1 when v6); NULL if it cannot listen. */
static struct raw_server *raw_start(int v6)
{
    struct raw_server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&ss, len) < 0 || listen(s->fd, 8) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) {
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        return NULL;
    }
    s->port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                       : ((struct sockaddr_in *)&ss)->sin_port);
    s->v6 = v6;
    snprintf(s->url, sizeof s->url, v6 ? "http://[::1]:%d" : "http://127.0.0.1:%d", s->port);
    pthread_mutex_init(&s->lock, NULL);
    test_waker_init(&s->waker);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

static void raw_stop(struct raw_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_mutex_unlock(&s->lock);
    test_waker_stop(&s->waker);
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (size_t i = 0; i < s->n; i++)
        free(s->replies[i].text);
    test_waker_destroy(&s->waker);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Queue a reply; len 0: strlen(text). */
static void raw_queue(struct raw_server *s, const struct raw_reply *r)
{
    pthread_mutex_lock(&s->lock);
    assert_true(s->n < MAX_REPLIES);
    struct raw_reply *q = &s->replies[s->n++];
    *q = *r;
    if (r->text) {
        q->len = r->len ? r->len : strlen(r->text);
        q->text = malloc(q->len + 1);
        assert_non_null(q->text);
        memcpy(q->text, r->text, q->len);
        q->text[q->len] = '\0';
    }
    pthread_mutex_unlock(&s->lock);
}

static void raw_text(struct raw_server *s, const char *text)
{
    raw_queue(s, &(struct raw_reply){.text = (char *)text});
}

static int raw_count(struct raw_server *s, int *conns)
{
    pthread_mutex_lock(&s->lock);
    int n = s->requests;
    if (conns)
        *conns = s->conns;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ---------------------------------------------------------------- client -- */

static int setup(void **state)
{
    test_unset_proxies();
    http_force_transport(NULL);
    as_set_interrupted(false);
    struct raw_server *s = raw_start(0);
    assert_non_null(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    as_set_interrupted(false);
    raw_stop(*state);
    return 0;
}

static struct http_client *client(int attempts, long timeout_ms)
{
    struct http_options o;
    http_options_default(&o);
    o.max_attempts = attempts;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 5;
    o.timeout_ms = timeout_ms;
    struct as_error err;
    struct http_client *c = http_client_new(&o, &err);
    assert_non_null(c);
    return c;
}

/* method path on s; the return of http_do. */
static int req(struct http_client *c, struct raw_server *s, const char *method,
               const char *path, struct http_response *resp, struct as_error *err)
{
    char url[160];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    struct http_request r = {.method = method, .url = url, .retry = -1};
    return http_do(c, &r, resp, err);
}

/* GET / answered 200 with this body, by a fresh client. */
static void expect_body(struct raw_server *s, const char *want)
{
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err = {0};
    if (req(c, s, "GET", "/", &resp, &err) != 0)
        fail_msg("%s: %s", err.code, err.message);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_len, strlen(want));
    assert_string_equal(resp.body, want);
    http_response_clear(&resp);
    http_client_free(c);
}

/* ---------------------------------------------------------------- bodies -- */

static const char chunked[] = "HTTP/1.1 200 OK\r\n"
                              "Transfer-Encoding: Chunked\r\n"
                              "Content-Type: text/plain\r\n"
                              "\r\n"
                              "5;name=value\r\nhello\r\n"
                              "6\r\n world\r\n"
                              "A \r\n, chunked!\r\n"
                              "0\r\n"
                              "X-Trailer: t\r\n"
                              "\r\n";

static void test_chunked(void **state)
{
    struct raw_server *s = *state;
    raw_text(s, chunked);
    expect_body(s, "hello world, chunked!");
}

/* Every line and chunk split across reads: one byte per send. */
static void test_split_across_reads(void **state)
{
    struct raw_server *s = *state;
    raw_queue(s, &(struct raw_reply){.text = (char *)chunked, .piece = 1, .piece_ms = 1});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
                                             "\r\nhello world",
                                     .piece = 3, .piece_ms = 1});
    expect_body(s, "hello world, chunked!");
    expect_body(s, "hello world");
}

/* No Content-Length, no chunking: the body ends when the server closes. */
static void test_body_until_close(void **state)
{
    struct raw_server *s = *state;
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\n\r\nall of it", .close = 1});
    expect_body(s, "all of it");
}

/* Equal Content-Lengths repeated, a status line without a reason, an
 * empty body: fine. */
static void test_lenient_where_harmless(void **state)
{
    struct raw_server *s = *state;
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello");
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello");
    raw_text(s, "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok");
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    expect_body(s, "hello");
    expect_body(s, "hello");
    expect_body(s, "ok");
    expect_body(s, ""); /* found by fuzz_http_response: a body, not garbage */
}

/* 1xx responses are skipped, their headers forgotten. */
static void test_interim_responses_skipped(void **state)
{
    struct raw_server *s = *state;
    raw_text(s, "HTTP/1.1 100 Continue\r\nRetry-After: 5\r\n\r\n"
                "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err;
    assert_int_equal(req(c, s, "GET", "/", &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "done");
    assert_int_equal(resp.retry_after_ms, -1);
    http_response_clear(&resp);
    http_client_free(c);
}

/* HEAD, 204 and 304 carry no body whatever their headers say, and the
 * connection goes on to the next request. */
static void test_no_body_replies(void **state)
{
    struct raw_server *s = *state;
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    raw_text(s, "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n");
    raw_text(s, "HTTP/1.1 304 Not Modified\r\n\r\n");
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend");
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err;
    static const char *const methods[] = {"HEAD", "DELETE", "GET", "GET"};
    static const long status[] = {200, 204, 304, 200};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(req(c, s, methods[i], "/", &resp, &err), 0);
        assert_int_equal(resp.status, status[i]);
        assert_string_equal(resp.body, i == 3 ? "end" : "");
        http_response_clear(&resp);
    }
    int conns;
    assert_int_equal(raw_count(s, &conns), 4);
    assert_int_equal(conns, 1);
    http_client_free(c);
}

/* ------------------------------------------------------------ keep-alive -- */

static void test_keep_alive_one_connection(void **state)
{
    struct raw_server *s = *state;
    for (int i = 0; i < 3; i++)
        raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(req(c, s, "GET", "/k", &resp, &err), 0);
        http_response_clear(&resp);
    }
    int conns;
    assert_int_equal(raw_count(s, &conns), 3);
    assert_int_equal(conns, 1);
    http_client_free(c);
}

/* "Connection: close", HTTP/1.0, or bytes past the reply: a new connection
 * for the next request. */
static void test_connection_not_reused(void **state)
{
    struct raw_server *s = *state;
    raw_queue(s, &(struct raw_reply){
                     .text = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na",
                     .close = 1});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb",
                                     .close = 1});
    /* kept open: "XX" must not be taken for the start of the next reply */
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ncXX");
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd");
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err;
    static const char *const want[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(req(c, s, "GET", "/", &resp, &err), 0);
        assert_string_equal(resp.body, want[i]);
        http_response_clear(&resp);
    }
    int conns;
    assert_int_equal(raw_count(s, &conns), 4);
    assert_int_equal(conns, 4);
    http_client_free(c);
}

/* The server closes an idle kept-alive connection: the next request sees
 * it and connects again, with no error and no attempt spent. */
static void test_server_closed_idle_connection(void **state)
{
    struct raw_server *s = *state;
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1",
                                     .close = 1});
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err;
    assert_int_equal(req(c, s, "GET", "/", &resp, &err), 0);
    http_response_clear(&resp);
    test_sleep_ms(100); /* the FIN arrives */
    /* a POST: the closed connection was seen before it was sent, or it
     * would fail here (it may not go twice) */
    assert_int_equal(req(c, s, "POST", "/", &resp, &err), 0);
    assert_string_equal(resp.body, "2");
    assert_int_equal(resp.attempts, 1);
    http_response_clear(&resp);
    http_client_free(c);
}

/* The server takes a request on a kept-alive connection and closes it
 * unanswered (its idle timer fired as the request came): a request safe to
 * retry goes again at once on a new connection, unseen; a POST does not. */
static void test_reused_connection_dropped(void **state)
{
    struct raw_server *s = *state;
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
    raw_queue(s, &(struct raw_reply){.close = 1});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2"});
    raw_queue(s, &(struct raw_reply){.close = 1});
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err;
    assert_int_equal(req(c, s, "GET", "/", &resp, &err), 0);
    http_response_clear(&resp);
    assert_int_equal(req(c, s, "GET", "/", &resp, &err), 0);
    assert_string_equal(resp.body, "2");
    assert_int_equal(resp.attempts, 1);
    http_response_clear(&resp);
    int conns;
    assert_int_equal(raw_count(s, &conns), 3);
    assert_int_equal(conns, 2);

    assert_int_equal(req(c, s, "POST", "/", &resp, &err), -1);
    assert_string_equal(err.code, "http_transport");
    assert_non_null(strstr(err.message, "without a reply"));
    assert_int_equal(raw_count(s, &conns), 4); /* sent once only */
    http_client_free(c);
}

/* A fresh connection closed with no reply, or a body cut short: a broken
 * transfer, retried by the policy for a GET. */
static void test_truncated_replies(void **state)
{
    struct raw_server *s = *state;
    raw_queue(s, &(struct raw_reply){.close = 1});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345",
                                     .close = 1});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                             "\r\n5\r\n12345\r\n",
                                     .close = 1});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                                     .close = 1});
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err;
    static const char *const why[] = {"without a reply", "before the reply ended",
                                      "before the reply ended"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(req(c, s, "GET", "/", &resp, &err), -1);
        assert_string_equal(err.code, "http_transport");
        if (!strstr(err.message, why[i]))
            fail_msg("%d: %s", i, err.message);
        assert_null(resp.body);
    }
    http_client_free(c);
    c = client(2, 5000); /* the same, retried, then answered */
    raw_queue(s, &(struct raw_reply){.close = 1});
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(req(c, s, "GET", "/", &resp, &err), 0);
    assert_string_equal(resp.body, "ok");
    http_response_clear(&resp);
    assert_int_equal(req(c, s, "GET", "/", &resp, &err), 0);
    assert_int_equal(resp.attempts, 2);
    assert_string_equal(resp.body, "ok");
    http_response_clear(&resp);
    http_client_free(c);
}

/* --------------------------------------------------------------- limits -- */

/* A server that never answers, and one that drips a byte at a time
 * forever: the attempt ends at its timeout either way. */
static void test_slow_server_times_out(void **state)
{
    struct raw_server *s = *state;
    static char drip[4096];
    memcpy(drip, "HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n", 41);
    memset(drip + 41, 'x', sizeof drip - 42);
    /* the drip first: the silent one holds the server thread till the end */
    raw_queue(s, &(struct raw_reply){.text = drip, .piece = 1, .piece_ms = 20});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\n\r\n", .delay_ms = 60000});
    struct http_client *c = client(1, 300);
    struct http_response resp;
    struct as_error err;
    for (int i = 0; i < 2; i++) {
        long long t0 = test_now_ms();
        assert_int_equal(req(c, s, "GET", "/", &resp, &err), -1);
        assert_string_equal(err.code, "http_timeout");
        assert_true(test_now_ms() - t0 < 20000); /* not the server's pace */
        assert_null(resp.body);
    }
    http_client_free(c);
}

static void test_too_large(void **state)
{
    struct raw_server *s = *state;
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nContent-Length: 16777217\r\n\r\n",
                                     .close = 1});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                             "\r\n1000001\r\n",
                                     .close = 1});
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                             "\r\nffffffffffffffffffffffff\r\n",
                                     .close = 1});
    struct http_client *c = client(3, 5000);
    struct http_response resp;
    struct as_error err;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(req(c, s, "GET", "/", &resp, &err), -1);
        assert_string_equal(err.code, "http_too_large");
        assert_int_equal(resp.attempts, 1);
    }
    http_client_free(c);
}

/* Each refused, clearly, and not retried: a server that sends these will
 * send them again. */
static void test_malformed_replies_refused(void **state)
{
    struct raw_server *s = *state;
    static char big[70 * 1024];
    size_t n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big + n, 'x', sizeof big - n - 8);
    memcpy(big + sizeof big - 8, "\r\n\r\n", 5);
    static char many[40 * 26 + 64];
    many[0] = '\0';
    for (int i = 0; i < 17; i++)
        strcat(many, "HTTP/1.1 100 Continue\r\n\r\n");
    strcat(many, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    static const char nul[] = "HTTP/1.1 200 O\0K\r\nContent-Length: 0\r\n\r\n";
    const struct {
        const char *text;
        size_t len;
        const char *why;
    } bad[] = {
        {"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0, "CRLF"},
        {"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nok", 0, "obs-fold"},
        {"HTTP/1.1 200 OK\r\n\tX-A: 1\r\nContent-Length: 2\r\n\r\nok", 0, "obs-fold"},
        {"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", 0, "name: value"},
        {"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", 0, "name: value"},
        {"HTTP/2 200\r\n\r\n", 0, "HTTP/1.x"},
        {"ICY 200 OK\r\n\r\n", 0, "HTTP/1.x"},
        {"HTTP/1.1 20 OK\r\n\r\n", 0, "three digits"},
        {"HTTP/1.1 2000 OK\r\n\r\n", 0, "three digits"},
        {"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", 0, "100-599"},
        {"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", 0, "Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0, "Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 0,
         "Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", 0,
         "two different"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", 0, "two different"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
         "2\r\nok\r\n0\r\n\r\n", 0, "both"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, "Transfer-Encoding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         0, "Transfer-Encoding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, "chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\nok\r\n", 0, "chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n", 0,
         "longer than its size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n"
         " folded\r\n\r\n", 0, "obs-fold"},
        {"HTTP/1.1 200 OK\r\nX-A: a\001b\r\nContent-Length: 0\r\n\r\n", 0, "control"},
        {"HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\nContent-Length: 0\r\n\r\n", 0, "bare CR"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 0, "101"},
        {nul, sizeof nul - 1, "control"},
        {big, sizeof big - 1, "64 KiB"},
        {many, 0, "1xx"},
    };
    size_t count = sizeof bad / sizeof *bad;
    for (size_t i = 0; i < count; i++)
        raw_queue(s, &(struct raw_reply){.text = (char *)bad[i].text, .len = bad[i].len,
                                         .close = 1});
    struct http_client *c = client(3, 5000);
    for (size_t i = 0; i < count; i++) {
        struct http_response resp;
        struct as_error err = {0};
        if (req(c, s, "GET", "/", &resp, &err) != -1)
            fail_msg("reply %zu accepted (HTTP %ld)", i, resp.status);
        if (strcmp(err.code, "http_transport") != 0 || !strstr(err.message, "malformed reply") ||
            !strstr(err.message, bad[i].why))
            fail_msg("reply %zu: %s: %s (want %s)", i, err.code, err.message, bad[i].why);
        assert_int_equal(resp.attempts, 1);
        assert_int_equal(raw_count(s, NULL), (int)i + 1);
    }
    http_client_free(c);
}

/* ------------------------------------------------------------- requests -- */

static void test_request_as_sent(void **state)
{
    struct raw_server *s = *state;
    for (int i = 0; i < 3; i++)
        raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err;
    char url[160];
    snprintf(url, sizeof url, "%s/v1/keys/a%%2Eb?scope=st2kv.system#frag", s->url);
    const char *h1[] = {"X-Auth-Token: tok", NULL};
    struct http_request r = {.method = "GET", .url = url, .headers = h1, .retry = -1};
    assert_int_equal(http_do(c, &r, &resp, &err), 0);
    http_response_clear(&resp);
    const char *h2[] = {"Accept: application/json", "User-Agent:", NULL};
    snprintf(url, sizeof url, "%s?q=1", s->url);
    r = (struct http_request){.method = "PUT", .url = url, .headers = h2, .retry = -1};
    assert_int_equal(http_do(c, &r, &resp, &err), 0);
    http_response_clear(&resp);
    snprintf(url, sizeof url, "%s/kv", s->url);
    r = (struct http_request){.method = "POST", .url = url, .body = "{\"a\":1}", .retry = -1};
    assert_int_equal(http_do(c, &r, &resp, &err), 0);
    http_response_clear(&resp);

    char want[512];
    snprintf(want, sizeof want,
             "GET /v1/keys/a%%2Eb?scope=st2kv.system HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "User-Agent: autoscale-stackstorm/", s->port);
    assert_int_equal(strncmp(s->seen[0], want, strlen(want)), 0);
    assert_non_null(strstr(s->seen[0], "\r\nAccept: */*\r\nX-Auth-Token: tok\r\n\r\n"));
    assert_null(strstr(s->seen[0], "Content-Length"));
    snprintf(want, sizeof want,
             "PUT /?q=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: application/json\r\n"
             "Content-Length: 0\r\n\r\n", s->port);
    assert_string_equal(s->seen[1], want);
    assert_non_null(strstr(s->seen[2], "POST /kv HTTP/1.1\r\n"));
    assert_non_null(strstr(s->seen[2], "\r\nContent-Length: 7\r\n\r\n{\"a\":1}"));
    http_client_free(c);
}

/* A header that would end its line, a method that is no token, a URL the
 * plain transport does not send: refused before anything is sent. */
static void test_bad_requests_refused(void **state)
{
    struct raw_server *s = *state;
    struct http_client *c = client(3, 5000);
    struct http_response resp;
    struct as_error err;
    char url[160];
    snprintf(url, sizeof url, "%s/x", s->url);
    const char *inject[] = {"X-Key: a\r\nX-Admin: yes", NULL};
    const char *nameless[] = {": value", NULL};
    const char *ours[] = {"Content-Length: 5", NULL};
    const char *const *lists[] = {inject, nameless, ours};
    for (int i = 0; i < 3; i++) {
        struct http_request r = {.method = "GET", .url = url, .headers = lists[i], .retry = -1};
        assert_int_equal(http_do(c, &r, &resp, &err), -1);
        assert_string_equal(err.code, "http_transport");
        assert_int_equal(resp.attempts, 1);
    }
    struct http_request r = {.method = "GET /x", .url = url, .retry = -1};
    assert_int_equal(http_do(c, &r, &resp, &err), -1);
    assert_string_equal(err.code, "http_transport");

    static const char *const urls[] = {"http://127.0.0.1:0/", "http://127.0.0.1:70000/",
                                       "http://127.0.0.1/a b", "http://127.0.0.1/\xc3\xa9",
                                       "http://[::1/", "http:///x", "ftp://127.0.0.1/",
                                       "http://127.0.0.1/\x7f"};
    for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
        r = (struct http_request){.method = "GET", .url = urls[i], .retry = -1};
        if (http_do(c, &r, &resp, &err) != -1 || strcmp(err.code, "http_bad_url") != 0)
            fail_msg("%s: %s", urls[i], err.code);
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
    assert_int_equal(raw_count(s, NULL), 0);
    http_client_free(c);
}

static void test_url_split(void **state)
{
    (void)state;
    struct http_url u;
    assert_int_equal(http_url_split("http://127.0.0.1:9101/v1/keys?x=1#f", &u, NULL), 0);
    assert_int_equal(u.port, 9101);
    assert_true(u.is_ip && !u.is_ipv6);
    assert_int_equal(u.target_len, strlen("/v1/keys?x=1"));
    assert_int_equal(http_url_split("HTTP://St2.Example:80", &u, NULL), 0);
    assert_int_equal(u.port, 80);
    assert_int_equal(u.target_len, 0);
    assert_false(u.is_ip);
    assert_int_equal(http_url_split("http://[fe80::1]:8080?x", &u, NULL), 0);
    assert_true(u.is_ipv6);
    assert_int_equal(u.host_len, 7);
    assert_int_equal(u.target[0], '?');
    assert_int_equal(http_url_split("http://h:/", &u, NULL), 0);
    assert_int_equal(u.port, 80);
    const char *why = NULL;
    assert_int_equal(http_url_split("http://u:p@h/", &u, &why), -1);
    assert_non_null(strstr(why, "user"));
    assert_int_equal(http_url_split("https://h/", &u, NULL), -1);
    assert_int_equal(http_url_split("http://h;x/", &u, NULL), -1);
}

/* ---------------------------------------------------- hosts and signals -- */

static void test_ipv6_literal(void **state)
{
    (void)state;
    struct raw_server *s6 = raw_start(1);
    if (!s6)
        skip(); /* no IPv6 on this loopback */
    raw_text(s6, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6");
    expect_body(s6, "v6");
    char want[64];
    snprintf(want, sizeof want, "\r\nHost: [::1]:%d\r\n", s6->port);
    assert_non_null(strstr(s6->seen[0], want));
    raw_stop(s6);
}

/* A name goes through the resolver (on its thread): "localhost" may come
 * back as ::1 first, where nothing listens, and then as 127.0.0.1. */
static void test_host_name(void **state)
{
    struct raw_server *s = *state;
    raw_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nname");
    struct http_client *c = client(1, 5000);
    struct http_response resp;
    struct as_error err = {0};
    char url[96];
    snprintf(url, sizeof url, "http://localhost:%d/", s->port);
    struct http_request r = {.method = "GET", .url = url, .retry = -1};
    if (http_do(c, &r, &resp, &err) != 0)
        fail_msg("%s: %s", err.code, err.message);
    assert_string_equal(resp.body, "name");
    http_response_clear(&resp);

    /* and a name nobody has: refused, within the budget */
    r.url = "http://no-such-host.invalid/";
    assert_int_equal(http_do(c, &r, &resp, &err), -1);
    if (strcmp(err.code, "http_unreachable") != 0 && strcmp(err.code, "http_timeout") != 0)
        fail_msg("%s: %s", err.code, err.message);
    http_client_free(c);
}

static void *kill_later(void *arg)
{
    (void)arg;
    test_sleep_ms(200);
    /* to this thread: the handler runs here, and the waiting thread's
     * poll() is not interrupted; it must notice the flag by itself */
    raise(SIGTERM);
    return NULL;
}

/* A real SIGTERM, caught by lib/core/signals.c's handler, ends a request
 * waiting on a silent server long before its timeout. */
static void test_sigterm_ends_the_wait(void **state)
{
    struct raw_server *s = *state;
    raw_queue(s, &(struct raw_reply){.text = "HTTP/1.1 200 OK\r\n\r\n", .delay_ms = 60000});
    as_signals_install();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kill_later, NULL), 0);
    struct http_client *c = client(4, 30000);
    struct http_response resp;
    struct as_error err;
    long long t0 = test_now_ms();
    assert_int_equal(req(c, s, "GET", "/", &resp, &err), -1);
    pthread_join(t, NULL);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(resp.attempts, 1);
    assert_true(test_now_ms() - t0 < 20000);
    http_client_free(c);
}

/* All of the above without ever loading libcurl: the point of the plain
 * transport. Last, so it sees every request of this program. */
static void test_libcurl_never_loaded(void **state)
{
    (void)state;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_NOLOAD);
    if (h)
        dlclose(h);
    assert_null(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_chunked),
        T(test_split_across_reads),
        T(test_body_until_close),
        T(test_lenient_where_harmless),
        T(test_interim_responses_skipped),
        T(test_no_body_replies),
        T(test_keep_alive_one_connection),
        T(test_connection_not_reused),
        T(test_server_closed_idle_connection),
        T(test_reused_connection_dropped),
        T(test_truncated_replies),
        T(test_slow_server_times_out),
        T(test_too_large),
        T(test_malformed_replies_refused),
        T(test_request_as_sent),
        T(test_bad_requests_refused),
        T(test_url_split),
        T(test_ipv6_literal),
        T(test_host_name),
        T(test_sigterm_ends_the_wait),
        T(test_libcurl_never_loaded),
#undef T
    };
    log_init("test_http_plain");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
