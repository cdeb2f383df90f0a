/* http_plain.c - the plain transport (http_int.h): HTTP/1.1 over a TCP
 * socket of our own, for http:// URLs that no proxy takes.
 *
 * It exists for st2's own API, which every action on the st2 datastore
 * calls a handful of times, usually on the loopback: loading libcurl (some
 * 30 libraries) cost 13 ms and 7 MiB of peak RSS per action there, ten
 * times what the requests themselves cost (docs/datastore.md, "The st2 back
 * end"). It is deliberately small: no TLS, no proxy, no redirect, no
 * compression, no pipelining; one connection per client, kept alive between
 * its requests to the same host and port.
 *
 * Every wait is a poll() of at most HTTP_WAIT_SLICE_MS bounded by the attempt's
 * end, checking as_interrupted() between slices, so neither a slow server
 * nor a SIGTERM arriving between the check and the poll holds the action
 * past its deadline or a slice (what libcurl's progress callback gives the
 * curl transport). Addresses come from http_resolve() (http_resolve.c),
 * bounded by the same end. */
#include "http_int.h"

#include "clock.h"
#include "log.h"
#include "signals.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUF 16384

/* A client's connection (http_client.conn[HTTP_T_PLAIN]). */
struct plain_conn {
    int fd;    /* -1: none */
    char *key; /* the peer's name ("host port N") it is connected to */
};

/* Where an attempt's messages say it went: "host port N". */
struct peer {
    char name[300];
};

/* ------------------------------------------------------------------ URL -- */

static int host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

int http_url_split(const char *url, struct http_url *u, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(u, 0, sizeof *u);
    if (!url || strncasecmp(url, "http://", 7) != 0)
        return *why = "not an http:// URL", -1;
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= ' ' || *c >= 0x7f)
            return *why = "a blank, control or non-ASCII character in the URL", -1;

    const char *h = url + 7, *p;
    size_t alen = strcspn(h, "/?#");
    if (memchr(h, '@', alen))
        return *why = "a user name or password in the URL", -1;
    if (*h == '[') {
        p = h + 1 + strspn(h + 1, "0123456789abcdefABCDEF:.");
        if (*p != ']' || p == h + 1)
            return *why = "a bad IPv6 address in the URL", -1;
        u->host = h + 1;
        u->host_len = (size_t)(p - h - 1);
        u->is_ip = u->is_ipv6 = 1;
        p++;
    } else {
        for (p = h; host_char((unsigned char)*p); p++)
            ;
        u->host = h;
        u->host_len = (size_t)(p - h);
        u->is_ip = u->host_len > 0 && strspn(h, "0123456789.") == u->host_len;
    }
    if (u->host_len == 0 || u->host_len > 253)
        return *why = "no host in the URL", -1;
    u->port = 80;
    if (*p == ':') {
        size_t n = strspn(p + 1, "0123456789");
        long port = n && n <= 5 ? strtol(p + 1, NULL, 10) : n ? 0 : 80;
        if (port < 1 || port > 65535)
            return *why = "a port outside 1..65535 in the URL", -1;
        u->port = (unsigned)port;
        p += 1 + n;
    }
    if (p != h + alen)
        return *why = "a bad host in the URL", -1;
    u->target = p;
    u->target_len = strcspn(p, "#");
    return 0;
}

/* ---------------------------------------------------------------- waits -- */

int http_wait_fd(int fd, short events, long long end)
{
    for (;;) {
        if (as_interrupted())
            return -1;
        long long left = end - as_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left < HTTP_WAIT_SLICE_MS ? (int)left : HTTP_WAIT_SLICE_MS);
        if (n > 0 || (n < 0 && errno != EINTR))
            return 1;
    }
}

static int interrupted(struct http_failure *f)
{
    return http_failure_set(f, "interrupted", 0, "interrupted");
}

/* ----------------------------------------------------------- connecting -- */

static void conn_close(struct plain_conn *k)
{
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
    free(k->key);
    k->key = NULL;
}

/* A connection to one address by end: the socket, or -1 with *e the
 * errno (ETIMEDOUT at end, EINTR when interrupted). */
static int connect_one(const struct http_addr *ai, long long end, int *e)
{
    int fd = socket(ai->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *e = errno;
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&ai->sa, ai->len) < 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            *e = errno;
            close(fd);
            return -1;
        }
        int w = http_wait_fd(fd, POLLOUT, end), soerr = 0;
        socklen_t len = sizeof soerr;
        if (w <= 0) {
            *e = w < 0 ? EINTR : ETIMEDOUT;
            close(fd);
            return -1;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
            *e = soerr ? soerr : errno;
            close(fd);
            return -1;
        }
    }
    /* The request goes out in one write; Nagle would only delay it. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Connect k to u, trying each address in turn within the connect timeout
 * (cend), each getting an equal share of what is left, so an address that
 * swallows packets does not starve the next one. */
static int conn_open(struct plain_conn *k, const struct http_url *u, const struct peer *pr, long connect_ms, long long cend,
                     struct http_failure *f)
{
    struct http_addrs res;
    if (http_resolve(u, pr->name, cend, &res, f) < 0)
        return -1;
    int e = ECONNREFUSED;
    size_t n = res.n;
    for (const struct http_addr *ai = res.a; ai < res.a + res.n && k->fd < 0; ai++, n--) {
        long long now = as_mono_ms();
        long long slot = n > 1 ? now + (cend - now) / (long long)n : cend;
        if (now >= cend) {
            e = ETIMEDOUT;
            break;
        }
        k->fd = connect_one(ai, slot, &e);
        if (e == EINTR && k->fd < 0)
            break;
    }
    if (k->fd >= 0) {
        k->key = xstrdup(pr->name);
        return 0;
    }
    if (e == EINTR)
        return interrupted(f);
    if (e == ETIMEDOUT)
        return http_failure_set(f, "http_timeout", 1, "connecting to %s timed out after %ld ms",
                                pr->name, connect_ms);
    return http_failure_set(f, "http_unreachable", 1, "cannot connect to %s: %s", pr->name,
                            strerror(e));
}

/* Has the server closed (or written to) a connection we kept idle? Either
 * way it cannot carry the next request. */
static int conn_dead(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) != 0;
}

/* ------------------------------------------------------------- requests -- */

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The length of a "Name: value" header's name, or 0 if the line is not one
 * we may send (a CR or LF in it would start a header of its own). */
static size_t header_name(const char *h)
{
    size_t n = 0;
    while (is_tchar((unsigned char)h[n]))
        n++;
    if (n == 0 || h[n] != ':' || strpbrk(h, "\r\n"))
        return 0;
    return n;
}

static int names(const char *h, size_t n, const char *name)
{
    return n == strlen(name) && strncasecmp(h, name, n) == 0;
}

/* Does the caller's list set this header (so ours is not sent)? */
static int caller_sets(const char *const *list, const char *name)
{
    for (size_t i = 0; list && list[i]; i++)
        if (names(list[i], header_name(list[i]), name))
            return 1;
    return 0;
}

/* The request line and headers, as libcurl would send them: Host,
 * User-Agent and Accept unless the caller sets its own, the caller's
 * headers ("Name:" with nothing after it only removes ours, as in
 * libcurl), then Content-Length. */
static int build_head(const struct http_client *c, const struct http_request *req,
                      const struct http_url *u, int has_body, size_t blen, struct strbuf *b,
                      struct http_failure *f)
{
    const char *const *list = req->headers;
    char line[64];

    size_t mlen = strlen(req->method);
    if (mlen == 0 || mlen > 32 || strspn(req->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != mlen)
        return http_failure_set(f, "http_transport", 0, "a bad request method");
    for (size_t i = 0; list && list[i]; i++) {
        size_t n = header_name(list[i]);
        if (n == 0)
            return http_failure_set(f, "http_transport", 0,
                                    "request header %zu is not a single Name: value line", i);
        if (names(list[i], n, "Content-Length") || names(list[i], n, "Transfer-Encoding") ||
            names(list[i], n, "Connection"))
            return http_failure_set(f, "http_transport", 0,
                                    "request header %.*s is the transport's to send", (int)n,
                                    list[i]);
    }

    strbuf_add(b, req->method);
    strbuf_add(b, " ");
    if (u->target_len == 0 || u->target[0] == '?')
        strbuf_add(b, "/");
    strbuf_addn(b, u->target, u->target_len);
    strbuf_add(b, " HTTP/1.1\r\n");
    if (!caller_sets(list, "Host")) {
        strbuf_add(b, "Host: ");
        strbuf_add(b, u->is_ipv6 ? "[" : "");
        strbuf_addn(b, u->host, u->host_len);
        strbuf_add(b, u->is_ipv6 ? "]" : "");
        if (u->port != 80) {
            snprintf(line, sizeof line, ":%u", u->port);
            strbuf_add(b, line);
        }
        strbuf_add(b, "\r\n");
    }
    if (!caller_sets(list, "User-Agent") && c->opt.user_agent && *c->opt.user_agent &&
        !strpbrk(c->opt.user_agent, "\r\n")) {
        strbuf_add(b, "User-Agent: ");
        strbuf_add(b, c->opt.user_agent);
        strbuf_add(b, "\r\n");
    }
    if (!caller_sets(list, "Accept"))
        strbuf_add(b, "Accept: */*\r\n");
    for (size_t i = 0; list && list[i]; i++) {
        const char *v = list[i] + header_name(list[i]) + 1;
        if (v[strspn(v, " \t")] == '\0')
            continue; /* "Name:" removes, sends nothing */
        strbuf_add(b, list[i]);
        strbuf_add(b, "\r\n");
    }
    if (has_body) {
        snprintf(line, sizeof line, "Content-Length: %zu\r\n", blen);
        strbuf_add(b, line);
    }
    strbuf_add(b, "\r\n");
    return 0;
}

/* What exchange() ends with besides 0 and -1: the connection died before a
 * byte of the reply came, so the request may be sent again on a new one. */
#define NOTHING_CAME (-2)

static int send_all(int fd, const struct strbuf *head, const char *body, size_t blen,
                    long long end, const struct peer *pr, struct http_failure *f)
{
    size_t off = 0, total = head->len + blen;
    while (off < total) {
        struct iovec iov[2];
        int n = 0;
        if (off < head->len)
            iov[n++] = (struct iovec){head->s + off, head->len - off};
        size_t boff = off > head->len ? off - head->len : 0;
        if (blen > boff)
            iov[n++] = (struct iovec){(char *)body + boff, blen - boff};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = http_wait_fd(fd, POLLOUT, end);
            if (r < 0)
                return interrupted(f);
            if (r == 0)
                return http_failure_set(f, "http_timeout", 1,
                                        "sending the request to %s timed out", pr->name);
            continue;
        }
        int e = w < 0 ? errno : EPIPE;
        http_failure_set(f, "http_transport", 1, "sending to %s failed: %s", pr->name,
                         strerror(e));
        return off == 0 && (e == EPIPE || e == ECONNRESET) ? NOTHING_CAME : -1;
    }
    return 0;
}

static int parse_failure(struct http_parser *p, const struct peer *pr, struct http_failure *f)
{
    if (p->x->too_large)
        return http_failure_set(f, "http_too_large", 0, "reply body exceeds %u bytes",
                                HTTP_BODY_MAX);
    return http_failure_set(f, "http_transport", 0, "malformed reply from %s: %s", pr->name,
                            p->error);
}

/* Read the reply into p until it is complete, by end. */
static int receive(int fd, struct http_parser *p, long long end, const struct peer *pr,
                   struct http_failure *f)
{
    char buf[RECV_BUF];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            long used = http_parser_feed(p, buf, (size_t)n);
            if (used < 0)
                return parse_failure(p, pr, f);
            if (p->state == HP_DONE) {
                if ((size_t)used < (size_t)n)
                    p->keep_alive = 0; /* bytes past the reply: not to be trusted */
                return 0;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = http_wait_fd(fd, POLLIN, end);
            if (r < 0)
                return interrupted(f);
            if (r == 0)
                return http_failure_set(f, "http_timeout", 1, "no complete reply from %s in time",
                                        pr->name);
            continue;
        }
        if (n == 0 && http_parser_eof(p) == 0) {
            p->keep_alive = 0;
            return 0;
        }
        if (p->state == HP_ERROR && p->received > 0)
            return http_failure_set(f, "http_transport", 1, "%s: %s", pr->name, p->error);
        if (n < 0 && p->received > 0)
            return http_failure_set(f, "http_transport", 1, "receiving from %s failed: %s",
                                    pr->name, strerror(errno));
        http_failure_set(f, "http_transport", 1, "%s closed the connection without a reply",
                         pr->name);
        return NOTHING_CAME;
    }
}

/* ------------------------------------------------------------- perform -- */

static struct plain_conn *conn_of(struct http_client *c)
{
    struct plain_conn *k = c->conn[HTTP_T_PLAIN];
    if (!k) {
        k = xcalloc(1, sizeof *k);
        k->fd = -1;
        c->conn[HTTP_T_PLAIN] = k;
    }
    return k;
}

/* One exchange on k's connection, opened first if need be. */
static int exchange(struct http_client *c, struct plain_conn *k, const struct http_url *u,
                    const struct peer *pr, const struct strbuf *head,
                    const char *body, size_t blen, struct http_parser *p, long long end,
                    struct http_failure *f)
{
    if (k->fd < 0) {
        long connect_ms = c->opt.connect_timeout_ms;
        long long cend = as_mono_ms() + connect_ms;
        if (cend > end) {
            cend = end;
            connect_ms = (long)(end - as_mono_ms());
        }
        if (conn_open(k, u, pr, connect_ms, cend, f) < 0)
            return -1;
    }
    int rc = send_all(k->fd, head, body, blen, end, pr, f);
    return rc < 0 ? rc : receive(k->fd, p, end, pr, f);
}

static int plain_perform(struct http_client *c, const struct http_request *req,
                         struct http_xfer *x, long timeout_ms, int resend_ok,
                         struct http_failure *f)
{
    long long end = as_mono_ms() + timeout_ms;
    struct http_url u;
    const char *why;
    struct peer pr;

    if (http_url_split(req->url, &u, &why) < 0) {
        http_failure_set(f, "http_bad_url", 0, "%s", why);
        f->exit = AS_EXIT_BADINPUT;
        return -1;
    }
    snprintf(pr.name, sizeof pr.name, "%s%.*s%s port %u", u.is_ipv6 ? "[" : "",
             (int)u.host_len, u.host, u.is_ipv6 ? "]" : "", u.port);

    int has_body = req->body || http_method_has_body(req->method);
    size_t blen = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
    struct strbuf head = {0};
    if (build_head(c, req, &u, has_body, blen, &head, f) < 0) {
        strbuf_clear(&head);
        return -1;
    }

    struct plain_conn *k = conn_of(c);
    if (k->fd >= 0 && (strcmp(k->key, pr.name) != 0 || conn_dead(k->fd)))
        conn_close(k);
    int reused = k->fd >= 0;
    struct http_parser p;
    int rc;
    for (;;) {
        http_parser_init(&p, x, strcasecmp(req->method, "HEAD") == 0);
        rc = exchange(c, k, &u, &pr, &head, req->body, blen, &p, end, f);
        if (rc == 0)
            break;
        conn_close(k);
        http_parser_clear(&p);
        /* A kept-alive connection the server closed as we used it (its idle
         * timer fired), before a byte of reply: a request safe to send again
         * goes once more, on a new connection, as libcurl does. */
        if (rc != NOTHING_CAME || !reused || !resend_ok)
            break;
        log_debug("http: %s closed a kept-alive connection; reconnecting", pr.name);
        reused = 0;
    }
    strbuf_clear(&head);
    if (rc != 0)
        return -1;
    if (!p.keep_alive)
        conn_close(k);
    x->resp->status = p.status;
    http_parser_clear(&p);
    return 0;
}

static void plain_close(void *conn)
{
    struct plain_conn *k = conn;
    if (!k)
        return;
    conn_close(k);
    free(k);
}

const struct http_transport http_plain_transport = {
    .name = "plain",
    .id = HTTP_T_PLAIN,
    .perform = plain_perform,
    .close = plain_close,
};
