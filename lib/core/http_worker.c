/* http_worker.c - the libcurl transport of a static binary: each attempt is
 * carried out by actions/bin/autoscale_curl, a dynamic helper process.
 *
 * actions/bin/autoscale is linked statically where the build can (Makefile,
 * STATIC_BIN): with no dynamic loader to run, an action starts ~0.9 ms
 * sooner and ~1 MiB smaller, and start-up is most of what an action costs.
 * A static glibc binary cannot dlopen() libcurl safely (the library would
 * bring a second libc), so its https requests, and http ones through a proxy,
 * go to a helper that can: the first one spawns autoscale_curl on a
 * socketpair (MSG_NOSIGNAL: a helper that died is an error, not a SIGPIPE),
 * and it then serves every attempt of this client, one at a time, keeping
 * its libcurl handle (and so its connections and TLS sessions) between them.
 * That helper pays libcurl's ~13 ms start once per client, as the dynamic
 * binary's dlopen() does; the actions that never leave st2's plain-http API
 * or the embedded store pay nothing.
 *
 * Only the attempt crosses the pipe: the budget, the retries, the backoff and
 * every log line stay in http.c, in this process. What crosses is framed as
 * netstrings ("LEN:BYTES,"), so a body or header value of any bytes is one
 * field; http_worker_serve.c is the other end. The helper's stderr is ours,
 * and it never logs. */
#include "http_worker.h"

#include "clock.h"
#include "error_codes.h"
#include "signals.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The helper gets this long past the attempt's own timeout (which it
 * enforces through libcurl) before it is presumed stuck and killed. */
#define WORKER_GRACE_MS 2000

/* A client's helper (http_client.conn[HTTP_T_WORKER]). */
struct worker {
    pid_t pid;
    int fd;                /* our end; the helper's stdin is the other */
    struct http_wframe in; /* the reply being read */
};

/* ---------------------------------------------------------------- frames -- */

void http_wframe_put(struct http_wframe *w, const void *data, size_t len)
{
    char head[32];
    int n = snprintf(head, sizeof head, "%zu:", len);
    strbuf_addn(&w->b, head, (size_t)n);
    strbuf_addn(&w->b, data, len);
    strbuf_addn(&w->b, ",", 1);
}

void http_wframe_str(struct http_wframe *w, const char *s)
{
    http_wframe_put(w, s ? s : "", s ? strlen(s) : 0);
}

void http_wframe_num(struct http_wframe *w, long long v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%lld", v);
    http_wframe_put(w, num, (size_t)n);
}

void http_wframe_clear(struct http_wframe *w)
{
    strbuf_clear(&w->b);
    w->pos = 0;
}

/* The netstring at w->b.s + w->pos: 1 and its bytes (not NUL-terminated in
 * the frame; *field points into it), 0 when it has not all arrived, -1 when
 * it cannot be one (a bad length, a missing ','). */
int http_wframe_next(struct http_wframe *w, const char **field, size_t *len)
{
    size_t at = w->pos, n = 0, digits = 0;
    while (at < w->b.len && w->b.s[at] >= '0' && w->b.s[at] <= '9') {
        if (++digits > 9) /* HTTP_WORKER_FIELD_MAX is under 10^9 */
            return -1;
        n = n * 10 + (size_t)(w->b.s[at++] - '0');
    }
    if (at == w->b.len)
        return 0;
    if (digits == 0 || w->b.s[at] != ':' || n > HTTP_WORKER_FIELD_MAX)
        return -1;
    at++;
    if (w->b.len - at < n + 1)
        return 0;
    if (w->b.s[at + n] != ',')
        return -1;
    *field = w->b.s + at;
    *len = n;
    w->pos = at + n + 1;
    return 1;
}

/* Make room for at least `more` bytes to be read in after w->b.len. */
void http_wframe_reserve(struct http_wframe *w, size_t more)
{
    w->b.s = xgrow(w->b.s, w->b.len + more, &w->b.cap, 1);
}

/* A field as a NUL-terminated copy (the caller frees it). */
char *http_wfield_dup(const char *field, size_t len)
{
    char *s = xmalloc(len + 1);
    memcpy(s, field, len);
    s[len] = '\0';
    return s;
}

/* A field as a whole number in [min, max]: 0, or -1. */
int http_wfield_num(const char *field, size_t len, long long min, long long max,
                    long long *out)
{
    char num[24];
    if (len == 0 || len >= sizeof num)
        return -1;
    memcpy(num, field, len);
    num[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(num, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------ the helper -- */

/* $AUTOSCALE_CURL_WORKER, else autoscale_curl beside this executable. */
static char *worker_path(void)
{
    const char *env = getenv("AUTOSCALE_CURL_WORKER");
    if (env && *env)
        return xstrdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    size_t size = strlen(self) + sizeof "/" HTTP_WORKER_PROGRAM;
    char *path = xmalloc(size);
    snprintf(path, size, "%s/%s", self, HTTP_WORKER_PROGRAM);
    return path;
}

static void worker_stop(struct worker *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->pid > 0) {
        /* It exits on the end of its stdin; a helper stuck in a transfer is
         * not waited for. */
        int status;
        if (waitpid(w->pid, &status, WNOHANG) == 0) {
            kill(w->pid, SIGKILL);
            waitpid(w->pid, &status, 0);
        }
    }
    w->pid = -1;
    http_wframe_clear(&w->in);
}

static void worker_free(void *conn)
{
    struct worker *w = conn;
    if (!w)
        return;
    worker_stop(w);
    free(w);
}

/* The options every attempt of this client shares: the first frame. */
static void put_options(struct http_wframe *f, const struct http_client *c)
{
    http_wframe_str(f, HTTP_WORKER_MAGIC);
    http_wframe_num(f, c->opt.connect_timeout_ms);
    http_wframe_str(f, c->opt.ca_bundle);
    http_wframe_num(f, c->opt.insecure);
    http_wframe_str(f, c->opt.user_agent);
}

static int write_all(int fd, const char *data, size_t len, long long end)
{
    while (len) {
        if (http_wait_fd(fd, POLLOUT, end) <= 0)
            return -1;
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -1;
        if (n > 0)
            data += n, len -= (size_t)n;
    }
    return 0;
}

static struct worker *worker_start(struct http_client *c, struct http_failure *f)
{
    char *path = worker_path();
    if (!path) {
        http_failure_set(f, "http_init", 0, "cannot find %s beside this program",
                         HTTP_WORKER_PROGRAM);
        return NULL;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        free(path);
        http_failure_set(f, "http_init", 0, "socketpair: %s", strerror(errno));
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    /* Our stdout carries the action's one JSON document: nothing else. */
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    char *argv[] = {(char *)HTTP_WORKER_PROGRAM, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        http_failure_set(f, "http_init", 0, "cannot run %s: %s", path, strerror(rc));
        free(path);
        return NULL;
    }
    free(path);
    struct worker *w = xcalloc(1, sizeof *w);
    w->pid = pid, w->fd = sv[0];
    fcntl(w->fd, F_SETFL, O_NONBLOCK);
    c->conn[HTTP_T_WORKER] = w;
    return w;
}

static void put_request(struct http_wframe *f, const struct http_request *req,
                        long timeout_ms, int resend_ok)
{
    size_t nh = 0;
    while (req->headers && req->headers[nh])
        nh++;
    http_wframe_str(f, req->method);
    http_wframe_str(f, req->url);
    http_wframe_num(f, (long long)nh);
    for (size_t i = 0; i < nh; i++)
        http_wframe_str(f, req->headers[i]);
    if (req->body)
        http_wframe_put(f, req->body, req->body_len ? req->body_len : strlen(req->body));
    else
        http_wframe_put(f, "", 0);
    http_wframe_num(f, req->body != NULL);
    http_wframe_num(f, req->secret_url);
    http_wframe_num(f, timeout_ms);
    http_wframe_num(f, resend_ok);
}

/* How many fields the reply has, known from those before: -1 not yet. */
static long long reply_fields(int got, const char *tag_or_n, size_t len, int is_ok)
{
    long long n;
    if (got == 1 && !is_ok)
        return HTTP_WORKER_FAIL_FIELDS;
    if (got == 3 && is_ok &&
        http_wfield_num(tag_or_n, len, 0, HTTP_WORKER_REPLY_LINES_MAX, &n) == 0)
        return 4 + n; /* "ok", status, N, N lines, body */
    return -1;
}

/* Is a whole reply in w->in? 1 yes, 0 not yet, -1 malformed. */
static int reply_whole(struct worker *w)
{
    size_t save = w->in.pos;
    int got = 0, r, is_ok = 0;
    long long want = -1;
    const char *fld;
    size_t flen;
    while (want < 0 || got < want) {
        if ((r = http_wframe_next(&w->in, &fld, &flen)) != 1)
            break;
        got++;
        if (got == 1)
            is_ok = flen == 2 && memcmp(fld, "ok", 2) == 0;
        if (want < 0)
            want = reply_fields(got, fld, flen, is_ok);
        if (got == 3 && is_ok && want < 0)
            r = -1; /* a bad line count */
    }
    w->in.pos = save;
    return r < 0 ? -1 : want >= 0 && got >= want ? 1 : 0;
}

/* Read until a whole reply has arrived: 0; -1 on EOF, timeout,
 * interruption or a malformed frame (*why). The waits are the plain
 * transport's (http_wait_fd), so SIGTERM is seen within a slice. */
static int read_reply(struct worker *w, long long end, const char **why)
{
    for (;;) {
        int whole = reply_whole(w);
        if (whole > 0)
            return 0;
        if (whole < 0) {
            *why = "a malformed reply";
            return -1;
        }
        int ready = http_wait_fd(w->fd, POLLIN, end);
        if (ready <= 0) {
            *why = ready < 0 ? "interrupted" : "no reply in time";
            return -1;
        }
        http_wframe_reserve(&w->in, 65536);
        ssize_t n = read(w->fd, w->in.b.s + w->in.b.len, w->in.b.cap - w->in.b.len);
        if (n == 0) {
            *why = "it exited";
            return -1;
        }
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            *why = "read failed";
            return -1;
        }
        if (n > 0)
            w->in.b.len += (size_t)n;
    }
}

/* The next field of a reply known to be whole. */
static void field(struct worker *w, const char **data, size_t *len)
{
    if (http_wframe_next(&w->in, data, len) != 1) /* reply_whole() checked */
        *data = "", *len = 0;
}

static long long num_field(struct worker *w, long long min, long long max, int *bad)
{
    const char *d;
    size_t n;
    long long v = 0;
    field(w, &d, &n);
    if (http_wfield_num(d, n, min, max, &v) < 0)
        *bad = 1;
    return v;
}

/* A reply "ok": the status, the header lines replayed as if received here,
 * the body. */
static int take_response(struct worker *w, struct http_xfer *x)
{
    int bad = 0;
    const char *d;
    size_t n;
    x->resp->status = (long)num_field(w, 100, 999, &bad);
    long long lines = num_field(w, 0, HTTP_WORKER_REPLY_LINES_MAX, &bad);
    for (long long i = 0; i < lines; i++) {
        field(w, &d, &n);
        http_xfer_header(x, d, n);
    }
    field(w, &d, &n);
    if (n && http_xfer_body(x, d, n) < 0)
        bad = 1;
    return bad ? -1 : 0;
}

/* A reply "fail": code, exit, retryable, text. The code must be a
 * registered one: ours points at the registry's own string. */
static int take_failure(struct worker *w, struct http_failure *f)
{
    int bad = 0;
    const char *d;
    size_t n;
    field(w, &d, &n);
    char *code = http_wfield_dup(d, n);
    const struct as_error_code *row = as_error_code_find(code);
    free(code);
    enum as_exit exit = (enum as_exit)num_field(w, 0, 255, &bad);
    int retryable = (int)num_field(w, 0, 1, &bad);
    field(w, &d, &n);
    if (!row || bad)
        return -1;
    http_failure_set(f, row->code, retryable, "%.*s", (int)(n < 300 ? n : 300), d);
    f->exit = exit;
    return 0;
}

static int worker_perform(struct http_client *c, const struct http_request *req,
                          struct http_xfer *x, long timeout_ms, int resend_ok,
                          struct http_failure *f)
{
    struct worker *w = c->conn[HTTP_T_WORKER];
    struct http_wframe out = {0};
    if (!w) {
        if (!(w = worker_start(c, f)))
            return -1;
        put_options(&out, c);
    }
    put_request(&out, req, timeout_ms, resend_ok);
    long long end = as_mono_ms() + timeout_ms + WORKER_GRACE_MS;
    const char *why = "cannot send it the request";
    int rc = write_all(w->fd, out.b.s, out.b.len, end);
    http_wframe_clear(&out);
    if (rc == 0)
        rc = read_reply(w, end, &why);
    if (rc == 0) {
        const char *d;
        size_t n;
        field(w, &d, &n);
        int ok = n == 2 && memcmp(d, "ok", 2) == 0;
        rc = ok ? take_response(w, x) : take_failure(w, f);
        if (rc < 0)
            why = "a malformed reply";
        else if (!ok)
            rc = -1, why = NULL; /* a failure it reported: f says which */
        /* Keep what came after this reply (nothing, from a sane helper). */
        if (w->in.pos) {
            memmove(w->in.b.s, w->in.b.s + w->in.pos, w->in.b.len - w->in.pos);
            w->in.b.len -= w->in.pos;
            w->in.pos = 0;
        }
        if (rc == 0)
            return 0;
    }
    if (!why)
        return -1;
    /* The helper is out of step or gone: the next attempt starts a new one. */
    worker_free(w);
    c->conn[HTTP_T_WORKER] = NULL;
    if (as_interrupted())
        return http_failure_set(f, "interrupted", 0, "interrupted");
    if (strcmp(why, "no reply in time") == 0) /* libcurl's own timeout did not fire */
        return http_failure_set(f, "http_timeout", 1, "%s: %s", HTTP_WORKER_PROGRAM, why);
    return http_failure_set(f, "http_transport", 1, "%s: %s", HTTP_WORKER_PROGRAM, why);
}

const struct http_transport http_worker_transport = {
    .name = "worker",
    .id = HTTP_T_WORKER,
    .perform = worker_perform,
    .close = worker_free,
};
