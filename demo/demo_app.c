/* demo_app.c - the small web app the local compute provider runs as a node,
 * as the 2015 original's demo app did:
 *
 *   demo_app --listen=ADDR:PORT --name=NAME
 *
 * serves HTTP/1.1 on that address only, one connection per request
 * (Connection: close):
 *
 *   GET /                200 "node NAME\n" (500 "node NAME failing\n" when failing)
 *   GET /health          200 "ok", 503 "failing" when failing
 *   GET|POST /fail       switch to failing mode
 *   GET|POST /sick       only /health fails (503 "sick"); "/" still serves:
 *                        what a load balancer's check takes out of service
 *                        while the process lives on
 *   GET|POST /recover    back to normal (ends failing and sick)
 *   GET|POST /slow?ms=N  delay every later "/" by N ms (0 resets; capped at 60000)
 *   GET /stats           {"name","served","failing","sick","delay_ms","in_flight"}
 *
 * "served" counts answered "/" requests; "in_flight" the requests read and
 * not yet answered, besides the /stats request itself (tests wait on it
 * instead of guessing with sleeps). Every response carries "X-Node: NAME".
 * Successful /health requests are not logged: health checks would fill
 * the log, whose last line tells the provider why a node died.
 *
 * A thread per connection, so a slow "/" never blocks /health. SIGTERM or
 * SIGINT stops accepting, lets requests in flight finish (for up to
 * DRAIN_MS), and exits 0: that is what a load balancer's drain expects.
 * Bad arguments: a message on stderr and exit 2. Logs go to stderr. */
#include "node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAX 8192   /* request line + headers */
#define BODY_MAX 65536     /* a POST body we read and ignore */
#define CONN_MAX 256       /* connections handled at once; more get 503 */
#define IO_TIMEOUT_S 10    /* a client that stalls loses its connection */
#define DRAIN_MS 10000     /* how long shutdown waits for requests in flight */
#define SLOW_CAP_MS 60000

static struct {
    char name[64];
    pthread_mutex_t lock;
    pthread_cond_t idle; /* signalled when in_flight drops to 0 */
    unsigned long long served;
    bool failing;
    bool sick; /* /health fails, "/" serves */
    long delay_ms;
    int in_flight; /* connections being served (what shutdown waits for) */
    int busy;      /* requests read and not yet answered (what /stats shows) */
} app = {.lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[512];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02dZ demo_app[%s]: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, app.name, line);
}

/* ------------------------------------------------------------ arguments -- */

static int usage(const char *why)
{
    fprintf(stderr,
            "demo_app: %s\n"
            "usage: demo_app --listen=ADDR:PORT --name=NAME\n"
            "  ADDR an IPv4 literal (such as 127.0.1.5), PORT 1-65535,\n"
            "  NAME a DNS label (lowercase letters, digits, '-')\n",
            why);
    return 2;
}

static int parse_listen(const char *v, struct sockaddr_in *sa)
{
    char host[INET_ADDRSTRLEN];
    const char *colon = strrchr(v, ':');
    if (!colon || (size_t)(colon - v) >= sizeof host)
        return -1;
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    const char *p = colon + 1;
    long port = 0;
    for (; *p >= '0' && *p <= '9' && port <= 65535; p++)
        port = port * 10 + (*p - '0');
    if (p == colon + 1 || *p || port < 1 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* ----------------------------------------------------------------- HTTP -- */

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void respond(int fd, bool head, int status, const char *type, const char *body)
{
    char hdr[512];
    size_t len = strlen(body);
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "X-Node: %s\r\nConnection: close\r\n%s\r\n",
                     status, reason(status), type, len, app.name,
                     status == 405 ? "Allow: GET, HEAD, POST\r\n" : "");
    if (send_all(fd, hdr, (size_t)n) == 0 && !head)
        send_all(fd, body, len);
}

static void respond_text(int fd, bool head, int status, const char *body)
{
    respond(fd, head, status, "text/plain; charset=utf-8", body);
}

/* Read the request head into buf (NUL-terminated, ending in a blank line).
 * Returns its length, 0 if the peer closed first, -1 if too large or
 * broken. *extra gets how many bytes of body came along. */
static ssize_t read_head(int fd, char *buf, size_t size, size_t *extra)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + got, size - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 && got == 0 ? 0 : -1;
        got += (size_t)r;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        size_t endlen = 4;
        if (!end && (end = strstr(buf, "\n\n")))
            endlen = 2;
        if (end) {
            size_t head = (size_t)(end - buf) + endlen;
            *extra = got - head;
            buf[head] = '\0';
            return (ssize_t)head;
        }
        if (got >= size - 1)
            return -2;
    }
}

/* The value of a header (case-insensitive name), or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strchr(head, '\n'); p; p = strchr(p, '\n')) {
        p++;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Read and drop a request body: closing a socket with unread data sends a
 * reset, which can destroy our response before the client reads it. */
static int skip_body(int fd, const char *head, size_t already)
{
    if (header(head, "Transfer-Encoding"))
        return 411;
    const char *cl = header(head, "Content-Length");
    if (!cl)
        return 0;
    char *end;
    errno = 0;
    unsigned long long len = strtoull(cl, &end, 10);
    if (errno || end == cl || (*end != '\r' && *end != '\n'))
        return 400;
    if (len > BODY_MAX)
        return 413;
    char sink[4096];
    for (size_t left = len > already ? (size_t)len - already : 0; left > 0;) {
        ssize_t r = recv(fd, sink, left < sizeof sink ? left : sizeof sink, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 400;
        left -= (size_t)r;
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* /slow?ms=N: N digits only; above the cap is the cap. */
static int parse_ms(const char *query, long *ms)
{
    const char *v = NULL;
    for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
        if (strncmp(p, "ms=", 3) == 0)
            v = p + 3;
    if (!v || !(*v >= '0' && *v <= '9'))
        return -1;
    long n = 0;
    for (; *v >= '0' && *v <= '9'; v++)
        n = n < SLOW_CAP_MS ? n * 10 + (*v - '0') : n;
    if (*v && *v != '&')
        return -1;
    *ms = n < SLOW_CAP_MS ? n : SLOW_CAP_MS;
    return 0;
}

static int route(int fd, const char *method, const char *path, const char *query)
{
    bool get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    char body[256];

    if (strcmp(path, "/") == 0 && (get || head)) {
        pthread_mutex_lock(&app.lock);
        long delay = app.delay_ms;
        pthread_mutex_unlock(&app.lock);
        if (delay > 0)
            sleep_ms(delay);
        pthread_mutex_lock(&app.lock);
        bool failing = app.failing;
        app.served++;
        pthread_mutex_unlock(&app.lock);
        snprintf(body, sizeof body, "node %s%s\n", app.name, failing ? " failing" : "");
        respond_text(fd, head, failing ? 500 : 200, body);
        return failing ? 500 : 200;
    }
    if (strcmp(path, "/health") == 0 && (get || head)) {
        pthread_mutex_lock(&app.lock);
        bool failing = app.failing, sick = app.sick;
        pthread_mutex_unlock(&app.lock);
        const char *text = failing ? "failing" : sick ? "sick" : "ok";
        respond_text(fd, head, failing || sick ? 503 : 200, text);
        return failing || sick ? 503 : 200;
    }
    bool fail = strcmp(path, "/fail") == 0, sick = strcmp(path, "/sick") == 0;
    if ((fail || sick || strcmp(path, "/recover") == 0) && (get || post)) {
        pthread_mutex_lock(&app.lock);
        app.failing = fail;
        app.sick = sick;
        pthread_mutex_unlock(&app.lock);
        respond_text(fd, false, 200, fail ? "failing\n" : sick ? "sick\n" : "recovered\n");
        return 200;
    }
    if (strcmp(path, "/slow") == 0 && (get || post)) {
        long ms;
        if (parse_ms(query, &ms) < 0) {
            respond_text(fd, false, 400, "usage: /slow?ms=N\n");
            return 400;
        }
        pthread_mutex_lock(&app.lock);
        app.delay_ms = ms;
        pthread_mutex_unlock(&app.lock);
        snprintf(body, sizeof body, "delay_ms %ld\n", ms);
        respond_text(fd, false, 200, body);
        return 200;
    }
    if (strcmp(path, "/stats") == 0 && (get || head)) {
        pthread_mutex_lock(&app.lock);
        /* the name is a DNS label: nothing in it needs escaping */
        snprintf(body, sizeof body,
                 "{\"name\":\"%s\",\"served\":%llu,\"failing\":%s,\"sick\":%s,"
                 "\"delay_ms\":%ld,\"in_flight\":%d}\n",
                 app.name, app.served, app.failing ? "true" : "false",
                 app.sick ? "true" : "false", app.delay_ms,
                 app.busy - 1);
        pthread_mutex_unlock(&app.lock);
        respond(fd, head, 200, "application/json", body);
        return 200;
    }
    bool known = strcmp(path, "/") == 0 || strcmp(path, "/health") == 0 ||
                 fail || sick || strcmp(path, "/recover") == 0 ||
                 strcmp(path, "/slow") == 0 || strcmp(path, "/stats") == 0;
    respond_text(fd, head, known ? 405 : 404, known ? "method not allowed\n" : "not found\n");
    return known ? 405 : 404;
}

static void handle(int fd)
{
    char buf[REQUEST_MAX], method[16], target[2048];
    size_t extra = 0;
    ssize_t n = read_head(fd, buf, sizeof buf, &extra);
    if (n == 0)
        return; /* a probe: connected and closed (the provider's get()) */
    if (n < 0) {
        if (n == -2)
            respond_text(fd, false, 431, "request too large\n");
        return;
    }
    if (sscanf(buf, "%15s %2047s HTTP/1.%*c", method, target) != 2 || target[0] != '/') {
        respond_text(fd, false, 400, "bad request\n");
        return;
    }
    int status = skip_body(fd, buf, extra);
    if (status) {
        respond_text(fd, false, status, "bad request body\n");
    } else {
        char *q = strchr(target, '?');
        if (q)
            *q++ = '\0';
        pthread_mutex_lock(&app.lock);
        app.busy++;
        pthread_mutex_unlock(&app.lock);
        status = route(fd, method, target, q);
        pthread_mutex_lock(&app.lock);
        app.busy--;
        pthread_mutex_unlock(&app.lock);
    }
    if (status != 200 || strcmp(target, "/health") != 0) /* checks come every few s */
        say("%s %s %d", method, target, status);
}

/* ----------------------------------------------------------- connections -- */

static void finished(void)
{
    pthread_mutex_lock(&app.lock);
    if (--app.in_flight == 0)
        pthread_cond_broadcast(&app.idle);
    pthread_mutex_unlock(&app.lock);
}

/* Close without a reset: closing with unread input (a refused oversized
 * request, say) makes the kernel send RST, which may destroy our response
 * before the client reads it. So send FIN, then read what is left until
 * the client closes, for a bounded time and amount. */
static void linger_close(int fd)
{
    struct timeval tv = {1, 0};
    char sink[4096];
    size_t total = 0;
    shutdown(fd, SHUT_WR);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (ssize_t r; total < BODY_MAX && (r = recv(fd, sink, sizeof sink, 0)) != 0;) {
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0)
            total += (size_t)r;
    }
    close(fd);
}

static void *connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    handle(fd);
    linger_close(fd);
    finished();
    return NULL;
}

static void start_connection(int fd, pthread_attr_t *attr)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    pthread_mutex_lock(&app.lock);
    bool room = app.in_flight < CONN_MAX;
    if (room)
        app.in_flight++;
    pthread_mutex_unlock(&app.lock);
    pthread_t t;
    if (room && pthread_create(&t, attr, connection, (void *)(intptr_t)fd) == 0)
        return;
    if (room)
        finished();
    respond_text(fd, false, 503, "busy\n");
    close(fd);
}

/* Wait (bounded) for the requests in flight; true if they all finished. */
static bool drain(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += DRAIN_MS / 1000;
    pthread_mutex_lock(&app.lock);
    while (app.in_flight > 0 &&
           pthread_cond_timedwait(&app.idle, &app.lock, &deadline) != ETIMEDOUT)
        ;
    bool done = app.in_flight == 0;
    pthread_mutex_unlock(&app.lock);
    return done;
}

static int listen_on(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 || listen(fd, 128) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    const char *listen_arg = NULL, *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--listen=", 9) == 0)
            listen_arg = argv[i] + 9;
        else if (strncmp(argv[i], "--name=", 7) == 0)
            name = argv[i] + 7;
        else
            return usage("unknown argument");
    }
    if (!listen_arg || parse_listen(listen_arg, &sa) < 0)
        return usage("--listen must be ADDR:PORT with an IPv4 address");
    if (!name || node_check_name(name, NULL) < 0)
        return usage("--name must be a DNS label of at most 63 characters");
    snprintf(app.name, sizeof app.name, "%s", name);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&app.idle, &ca);
    pthread_condattr_destroy(&ca);

    /* TERM and INT stay blocked except inside ppoll(): they reach only the
     * accepting thread, at the one point where it can act on them. */
    sigset_t stop, during;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, &during);
    sigdelset(&during, SIGTERM);
    sigdelset(&during, SIGINT);
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_stop;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = listen_on(&sa);
    if (lfd < 0) {
        say("cannot listen on %s: %s", listen_arg, strerror(errno));
        return 1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    say("listening on %s", listen_arg);

    while (!stopping) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (ppoll(&p, 1, NULL, &during) < 0) {
            if (errno == EINTR)
                continue;
            say("poll: %s", strerror(errno));
            break;
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            start_connection(fd, &attr);
        else if (errno == EMFILE || errno == ENFILE)
            sleep_ms(10); /* the backlog holds them meanwhile */
    }
    close(lfd);
    pthread_mutex_lock(&app.lock);
    int left = app.in_flight;
    pthread_mutex_unlock(&app.lock);
    say("stopping: waiting for %d request(s) in flight", left);
    bool clean = drain();
    if (!clean)
        say("requests still in flight after %d ms; exiting anyway", DRAIN_MS);
    pthread_attr_destroy(&attr);
    say("stopped");
    return 0;
}
