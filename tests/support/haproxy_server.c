/* haproxy_server.c - see haproxy_server.h. */
#include "haproxy_server.h"

#include "action_run.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_WAIT_MS 15000 /* a loaded shared machine can be slow to start a process */
#define STOP_WAIT_MS 5000
#define IO_TIMEOUT_S 30

static int tcp_connect(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    struct timeval tv = {IO_TIMEOUT_S, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {IO_TIMEOUT_S, 0};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Everything until EOF, newly allocated; NULL on error. */
static char *read_all(int fd)
{
    size_t len = 0, cap = 8192;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* -------------------------------------------------------------- haproxy -- */

static const char *haproxy_bin(void)
{
    return access("/usr/sbin/haproxy", X_OK) == 0 ? "/usr/sbin/haproxy" : "haproxy";
}

static int write_config(struct haproxy_server *h, int stats_port)
{
    FILE *f = fopen(h->cfg, "w");
    if (!f)
        return -1;
    fprintf(f,
            "global\n"
            "    stats socket %s mode 600 level admin\n"
            "    stats socket ipv4@127.0.0.1:%d level admin\n"
            "    nbthread 1\n"
            "defaults\n"
            "    mode http\n"
            "    timeout connect 2s\n"
            "    timeout client 60s\n"
            "    timeout server 60s\n"
            "frontend fe\n"
            "    bind 127.0.0.1:%d\n"
            "    default_backend %s\n"
            "backend %s\n"
            "    balance roundrobin\n",
            h->sock, stats_port, h->port, h->backend, h->backend);
    return fclose(f);
}

/* Run "haproxy -f cfg a1 [a2]", output to the log; its PID. */
static pid_t spawn(const struct haproxy_server *h, const char *a1, const char *a2)
{
    char log[160];
    snprintf(log, sizeof log, "%s/haproxy.log", h->dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp(haproxy_bin(), "haproxy", "-f", h->cfg, a1, a2, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int config_valid(const struct haproxy_server *h)
{
    int status;
    pid_t pid = spawn(h, "-c", NULL);
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0
               ? 0
               : -1;
}

static int wait_ready(struct haproxy_server *h)
{
    long long until = test_now_ms() + READY_WAIT_MS;
    while (test_now_ms() < until) {
        int status;
        if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
            h->pid = 0;
            return -1; /* died: a port taken meanwhile, say */
        }
        char *info = haproxy_cmd(h, "show info");
        int fd = info ? tcp_connect("127.0.0.1", h->port) : -1;
        bool ok = info && strstr(info, "Name: HAProxy") && fd >= 0;
        free(info);
        if (fd >= 0)
            close(fd);
        if (ok)
            return 0;
        test_sleep_ms(20);
    }
    return -1;
}

static void kill_wait(pid_t pid)
{
    int status;
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    long long until = test_now_ms() + STOP_WAIT_MS;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (test_now_ms() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return;
        }
        test_sleep_ms(10);
    }
}

static int launch(struct haproxy_server *h)
{
    if ((h->pid = spawn(h, "-db", NULL)) < 0) {
        h->pid = 0;
        return -1;
    }
    if (wait_ready(h) == 0)
        return 0;
    kill_wait(h->pid);
    h->pid = 0;
    return -1;
}

/* The log on stderr, before haproxy_stop() removes it. */
static void show_log(const struct haproxy_server *h)
{
    char path[160], line[512];
    snprintf(path, sizeof path, "%s/haproxy.log", h->dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        fputs(line, stderr);
    if (f)
        fclose(f);
}

struct haproxy_server *haproxy_start(const char *backend)
{
    struct haproxy_server *h = calloc(1, sizeof *h);
    if (test_tmpdir(h->dir, sizeof h->dir, "as-hx") < 0) {
        free(h);
        return NULL;
    }
    snprintf(h->cfg, sizeof h->cfg, "%s/haproxy.cfg", h->dir);
    snprintf(h->sock, sizeof h->sock, "%s/haproxy.sock", h->dir);
    snprintf(h->backend, sizeof h->backend, "%s", backend);
    for (int attempt = 0; attempt < 3; attempt++) {
        int stats = test_free_port(NULL, false);
        h->port = test_free_port(NULL, false);
        snprintf(h->tcp, sizeof h->tcp, "tcp:127.0.0.1:%d", stats);
        if (stats < 0 || h->port < 0 || stats == h->port || write_config(h, stats) < 0)
            continue;
        if (config_valid(h) < 0) {
            fprintf(stderr, "haproxy -c refused %s\n", h->cfg);
            break;
        }
        if (launch(h) == 0)
            return h;
    }
    fprintf(stderr, "haproxy did not start; its log:\n");
    show_log(h);
    haproxy_stop(h);
    return NULL;
}

int haproxy_restart(struct haproxy_server *h)
{
    kill_wait(h->pid);
    h->pid = 0;
    unlink(h->sock);
    for (int attempt = 0; attempt < 20; attempt++) { /* the port may linger a moment */
        if (launch(h) == 0)
            return 0;
        test_sleep_ms(100);
    }
    return -1;
}

void haproxy_stop(struct haproxy_server *h)
{
    char path[192];
    if (!h)
        return;
    kill_wait(h->pid);
    const char *files[] = {"haproxy.cfg", "haproxy.sock", "haproxy.log"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", h->dir, files[i]);
        unlink(path);
    }
    rmdir(h->dir);
    free(h);
}

char *haproxy_cmd(const struct haproxy_server *h, const char *cmd)
{
    int fd = unix_connect(h->sock);
    if (fd < 0)
        return NULL;
    char line[512];
    snprintf(line, sizeof line, "%s\n", cmd);
    char *reply = write_all(fd, line, strlen(line)) == 0 ? read_all(fd) : NULL;
    close(fd);
    size_t n = reply ? strlen(reply) : 0;
    while (n > 0 && (reply[n - 1] == '\n' || reply[n - 1] == ' '))
        reply[--n] = '\0';
    return reply;
}

/* The values of columns svname and status of each server row. */
static char *stat_rows(const struct haproxy_server *h)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "show stat %s 4 -1", h->backend);
    return haproxy_cmd(h, cmd);
}

static void csv_field(const char *line, int i, char *out, size_t size)
{
    const char *p = line;
    while (i-- > 0 && p && (p = strchr(p, ',')))
        p++;
    size_t n = p ? strcspn(p, ",\n") : 0;
    n = n < size ? n : size - 1;
    memcpy(out, p ? p : "", n);
    out[n] = '\0';
}

static int csv_column(const char *header, const char *name)
{
    char f[64];
    for (int i = 0; i < 200; i++) {
        csv_field(header, i, f, sizeof f);
        if (strcmp(f, name) == 0)
            return i;
    }
    return -1;
}

/* Calls fn(name, status, arg) for each server; -1 if the stats do not read. */
static int each_server(const struct haproxy_server *h,
                       void (*fn)(const char *, const char *, void *), void *arg)
{
    char *rows = stat_rows(h), *save = NULL;
    char *line = rows ? strtok_r(rows, "\n", &save) : NULL;
    if (!line || strncmp(line, "# ", 2) != 0) {
        free(rows);
        return -1;
    }
    int sv = csv_column(line + 2, "svname"), st = csv_column(line + 2, "status");
    while ((line = strtok_r(NULL, "\n", &save))) {
        char name[128], status[64];
        csv_field(line, sv, name, sizeof name);
        csv_field(line, st, status, sizeof status);
        fn(name, status, arg);
    }
    free(rows);
    return 0;
}

struct joined {
    char *s;
};

static void join_one(const char *name, const char *status, void *arg)
{
    struct joined *j = arg;
    size_t n = strlen(j->s);
    j->s = realloc(j->s, n + strlen(name) + strlen(status) + 3);
    sprintf(j->s + n, "%s%s:%s", n ? "," : "", name, status);
}

char *haproxy_servers(const struct haproxy_server *h)
{
    struct joined j = {calloc(1, 1)};
    if (each_server(h, join_one, &j) < 0) {
        free(j.s);
        return NULL;
    }
    return j.s;
}

struct finder {
    const char *name;
    char *out;
    size_t size;
    int found;
};

static void find_one(const char *name, const char *status, void *arg)
{
    struct finder *f = arg;
    if (strcmp(name, f->name) == 0) {
        snprintf(f->out, f->size, "%s", status);
        f->found = 1;
    }
}

int haproxy_status(const struct haproxy_server *h, const char *server, char *out,
                   size_t size)
{
    struct finder f = {server, out, size, 0};
    return each_server(h, find_one, &f) < 0 ? -1 : f.found;
}

/* ---------------------------------------------------------------- nodes -- */

int hx_http_get(const char *addr, int port, const char *path, char **body)
{
    char req[256];
    if (body)
        *body = NULL;
    int fd = tcp_connect(addr, port);
    if (fd < 0)
        return 0;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path,
             addr);
    char *resp = write_all(fd, req, strlen(req)) == 0 ? read_all(fd) : NULL;
    close(fd);
    int status = 0;
    if (resp && sscanf(resp, "HTTP/1.%*d %d", &status) == 1 && body) {
        char *b = strstr(resp, "\r\n\r\n");
        *body = strdup(b ? b + 4 : "");
    }
    free(resp);
    return status;
}

static long long stat_num(const struct demo_node *n, const char *key)
{
    char *body = NULL, pat[64];
    long long v = -1;
    if (hx_http_get(n->addr, n->port, "/stats", &body) == 200) {
        snprintf(pat, sizeof pat, "\"%s\":", key);
        char *p = strstr(body, pat);
        if (p)
            v = strtoll(p + strlen(pat), NULL, 10);
    }
    free(body);
    return v;
}

long long demo_node_served(const struct demo_node *n)
{
    return stat_num(n, "served");
}

int demo_node_in_flight(const struct demo_node *n)
{
    return (int)stat_num(n, "in_flight");
}

int demo_node_slow(const struct demo_node *n, long ms)
{
    char path[64];
    snprintf(path, sizeof path, "/slow?ms=%ld", ms);
    return hx_http_get(n->addr, n->port, path, NULL) == 200 ? 0 : -1;
}

int demo_node_start(struct demo_node *n, const char *name, const char *addr)
{
    const char *bin = action_path("demo_app");
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->addr, sizeof n->addr, "%s", addr);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "no demo app at %s (make all)\n", bin);
        return -1;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        char listen[64], nameopt[64];
        n->port = test_free_port(addr, false);
        snprintf(listen, sizeof listen, "--listen=%s:%d", addr, n->port);
        snprintf(nameopt, sizeof nameopt, "--name=%s", name);
        n->pid = fork();
        if (n->pid == 0) {
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            execl(bin, "demo_app", listen, nameopt, (char *)NULL);
            _exit(127);
        }
        long long until = test_now_ms() + READY_WAIT_MS;
        while (test_now_ms() < until) {
            int status;
            if (waitpid(n->pid, &status, WNOHANG) == n->pid) {
                n->pid = 0;
                break;
            }
            if (demo_node_served(n) >= 0)
                return 0;
            test_sleep_ms(20);
        }
        demo_node_stop(n);
    }
    fprintf(stderr, "demo app %s on %s did not start\n", name, addr);
    return -1;
}

/* SIGKILL: a node still sleeping through a slow request it was cut from
 * would otherwise hold the test up for its own drain time. */
void demo_node_stop(struct demo_node *n)
{
    int status;
    if (n->pid > 0) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, &status, 0);
    }
    n->pid = 0;
}

/* ------------------------------------------------------------------ spy -- */

struct hx_spy {
    char path[108];
    char target[108];
    int fd;
    int stop_pipe[2];
    pthread_t thread;
    pthread_mutex_t lock;
    char *log;
    int count;
    char fail_prefix[128];
    char fail_reply[256];
};

/* One command line from the client, without its newline; NULL on error. */
static char *read_line(int fd)
{
    char buf[1024];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + len, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return len ? strdup(buf) : NULL;
}

static void spy_serve(struct hx_spy *s, int fd)
{
    char *cmd = read_line(fd), *reply = NULL;
    if (!cmd)
        return;
    pthread_mutex_lock(&s->lock);
    size_t n = strlen(s->log);
    s->log = realloc(s->log, n + strlen(cmd) + 2);
    sprintf(s->log + n, "%s\n", cmd);
    s->count++;
    bool inject = s->fail_prefix[0] &&
                  strncmp(cmd, s->fail_prefix, strlen(s->fail_prefix)) == 0;
    if (inject) {
        reply = strdup(s->fail_reply);
        s->fail_prefix[0] = '\0';
    }
    pthread_mutex_unlock(&s->lock);
    if (!inject) {
        int up = unix_connect(s->target);
        char line[1100];
        snprintf(line, sizeof line, "%s\n", cmd);
        if (up >= 0 && write_all(up, line, strlen(line)) == 0)
            reply = read_all(up);
        if (up >= 0)
            close(up);
    }
    if (reply)
        write_all(fd, reply, strlen(reply));
    free(reply);
    free(cmd);
}

static void *spy_main(void *arg)
{
    struct hx_spy *s = arg;
    struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        struct timeval tv = {IO_TIMEOUT_S, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        spy_serve(s, c);
        close(c);
    }
    return NULL;
}

struct hx_spy *hx_spy_start(const char *path, const char *target)
{
    struct hx_spy *s = calloc(1, sizeof *s);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(s->path, sizeof s->path, "%s", path);
    snprintf(s->target, sizeof s->target, "%s", target);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    s->log = calloc(1, 1);
    pthread_mutex_init(&s->lock, NULL);
    unlink(path);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(s->fd, 16) < 0 || pipe2(s->stop_pipe, O_CLOEXEC) < 0 ||
        pthread_create(&s->thread, NULL, spy_main, s) != 0) {
        fprintf(stderr, "hx_spy: cannot listen on %s: %s\n", path, strerror(errno));
        if (s->fd >= 0)
            close(s->fd);
        free(s->log);
        free(s);
        return NULL;
    }
    return s;
}

void hx_spy_stop(struct hx_spy *s)
{
    if (!s)
        return;
    if (write(s->stop_pipe[1], "x", 1) != 1)
        perror("hx_spy_stop");
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    unlink(s->path);
    pthread_mutex_destroy(&s->lock);
    free(s->log);
    free(s);
}

void hx_spy_fail_next(struct hx_spy *s, const char *prefix, const char *reply)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->fail_prefix, sizeof s->fail_prefix, "%s", prefix);
    snprintf(s->fail_reply, sizeof s->fail_reply, "%s", reply);
    pthread_mutex_unlock(&s->lock);
}

int hx_spy_count(struct hx_spy *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

char *hx_spy_log(struct hx_spy *s)
{
    pthread_mutex_lock(&s->lock);
    char *l = strdup(s->log);
    pthread_mutex_unlock(&s->lock);
    return l;
}

void hx_spy_reset(struct hx_spy *s)
{
    pthread_mutex_lock(&s->lock);
    s->log[0] = '\0';
    s->count = 0;
    s->fail_prefix[0] = '\0';
    pthread_mutex_unlock(&s->lock);
}
