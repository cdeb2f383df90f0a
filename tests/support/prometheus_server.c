/* prometheus_server.c - see prometheus_server.h. */
#include "prometheus_server.h"
#include "spawn.h"
#include "test_util.h"

#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROMETHEUS_BIN "/usr/bin/prometheus"
#define START_TRIES 5
#define READY_WAIT_MS 30000 /* a loaded shared machine can be slow */

struct prometheus_server {
    char dir[64];
    char url[64];
    int port;
    pid_t pid;
    /* the exporter */
    int listen_fd, export_port;
    pthread_t thread;
    pthread_mutex_t lock;
    char *text;
    int stop_pipe[2];
};

/* ---------------------------------------------------------- exporter -- */

static void serve_one(struct prometheus_server *p, int fd)
{
    char req[4096];
    size_t len = 0;
    struct pollfd pf = {fd, POLLIN, 0};
    /* Read the request head; the reply does not depend on it. */
    while (len < sizeof req - 1 && poll(&pf, 1, 2000) > 0) {
        ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    pthread_mutex_lock(&p->lock);
    char *body = strdup(p->text ? p->text : "");
    pthread_mutex_unlock(&p->lock);
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      strlen(body));
    if (send(fd, head, (size_t)hn, MSG_NOSIGNAL) == hn)
        (void)!send(fd, body, strlen(body), MSG_NOSIGNAL);
    free(body);
}

static void *exporter_main(void *arg)
{
    struct prometheus_server *p = arg;
    for (;;) {
        struct pollfd pf[2] = {{p->listen_fd, POLLIN, 0}, {p->stop_pipe[0], POLLIN, 0}};
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            break;
        if (pf[1].revents)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        int fd = accept(p->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(p, fd);
        close(fd);
    }
    return NULL;
}

static int exporter_start(struct prometheus_server *p)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(p->listen_fd, 16) < 0 ||
        getsockname(p->listen_fd, (struct sockaddr *)&a, &alen) < 0 ||
        pipe(p->stop_pipe) < 0)
        return -1;
    p->export_port = ntohs(a.sin_port);
    pthread_mutex_init(&p->lock, NULL);
    return pthread_create(&p->thread, NULL, exporter_main, p) == 0 ? 0 : -1;
}

static void exporter_stop(struct prometheus_server *p)
{
    if (p->stop_pipe[1] > 0) {
        (void)!write(p->stop_pipe[1], "x", 1);
        pthread_join(p->thread, NULL);
        close(p->stop_pipe[0]);
        close(p->stop_pipe[1]);
        pthread_mutex_destroy(&p->lock);
    }
    if (p->listen_fd > 0)
        close(p->listen_fd);
    free(p->text);
}

void prometheus_export(struct prometheus_server *p, const char *text)
{
    pthread_mutex_lock(&p->lock);
    free(p->text);
    p->text = strdup(text);
    pthread_mutex_unlock(&p->lock);
}

/* -------------------------------------------------------- prometheus -- */

static int write_config(struct prometheus_server *p)
{
    char path[128];
    snprintf(path, sizeof path, "%s/prometheus.yml", p->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: app\n"
            "    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            p->export_port);
    return fclose(f) == 0 ? 0 : -1;
}

/* One GET: the status (0: no reply), the body in *body (may be NULL). */
static long get(const char *url, char **body)
{
    struct http_options o;
    http_options_default(&o);
    o.max_attempts = 1;
    o.timeout_ms = o.budget_ms = o.connect_timeout_ms = 2000;
    struct as_error err = {0};
    struct http_client *c = http_client_new(&o, &err);
    struct http_response r = {0};
    struct http_request req = {.method = "GET", .url = url, .retry = 0};
    long status = c && http_do(c, &req, &r, &err) == 0 ? r.status : 0;
    if (body)
        *body = status && r.body ? strdup(r.body) : NULL;
    http_response_clear(&r);
    http_client_free(c);
    return status;
}

static void reap(struct prometheus_server *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 1000; i++) { /* 10 s */
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            return;
        }
        test_sleep_ms(10);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

/* Start on a free port and wait for /-/ready: 0, or -1 (the process is
 * reaped). */
static int start_once(struct prometheus_server *p)
{
    char cfg[160], tsdb[160], listen[64], log[160], ready[96];
    p->port = test_free_port("127.0.0.1", false);
    if (p->port <= 0)
        return -1;
    snprintf(cfg, sizeof cfg, "--config.file=%s/prometheus.yml", p->dir);
    snprintf(tsdb, sizeof tsdb, "--storage.tsdb.path=%s/data", p->dir);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", p->port);
    snprintf(log, sizeof log, "%s/prometheus.log", p->dir);
    char *argv[] = {PROMETHEUS_BIN, cfg, tsdb, listen, "--log.level=warn", NULL};
    p->pid = spawn_logged(log, argv);
    if (p->pid <= 0)
        return -1;
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
    snprintf(ready, sizeof ready, "%s/-/ready", p->url);
    for (long waited = 0; waited < READY_WAIT_MS; waited += 50) {
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            return -1; /* exited: most likely the port was taken meanwhile */
        }
        if (get(ready, NULL) == 200)
            return 0;
        test_sleep_ms(50);
    }
    reap(p);
    return -1;
}

struct prometheus_server *prometheus_start(void)
{
    struct prometheus_server *p = calloc(1, sizeof *p);
    if (access(PROMETHEUS_BIN, X_OK) != 0) {
        fprintf(stderr, "prometheus_start: %s is not installed (apt-get install prometheus)\n",
                PROMETHEUS_BIN);
        free(p);
        return NULL;
    }
    if (test_tmpdir(p->dir, sizeof p->dir, "as-prom") < 0 || exporter_start(p) < 0 ||
        write_config(p) < 0) {
        fprintf(stderr, "prometheus_start: cannot prepare %s or the exporter\n", p->dir);
        prometheus_stop(p);
        return NULL;
    }
    prometheus_export(p, "");
    for (int i = 0; i < START_TRIES; i++)
        if (start_once(p) == 0)
            return p;
    fprintf(stderr, "prometheus_start: prometheus did not become ready (log: %s/prometheus.log)\n",
            p->dir);
    prometheus_stop(p);
    return NULL;
}

void prometheus_halt(struct prometheus_server *p)
{
    if (p)
        reap(p);
}

void prometheus_stop(struct prometheus_server *p)
{
    if (!p)
        return;
    reap(p);
    exporter_stop(p);
    if (p->dir[0])
        test_rmtree(p->dir);
    free(p);
}

const char *prometheus_url(const struct prometheus_server *p) { return p->url; }

/* The first sample's value text of an instant query's reply, or "". */
static void first_value(const char *body, char *out, size_t size)
{
    struct json_object *doc = body ? json_tokener_parse(body) : NULL, *data, *res, *v;
    out[0] = '\0';
    if (doc && json_object_object_get_ex(doc, "data", &data) &&
        json_object_object_get_ex(data, "result", &res) &&
        json_object_array_length(res) > 0 &&
        json_object_object_get_ex(json_object_array_get_idx(res, 0), "value", &v))
        snprintf(out, size, "%s", json_object_get_string(json_object_array_get_idx(v, 1)));
    json_object_put(doc);
}

int prometheus_wait_value(struct prometheus_server *p, const char *query, const char *value,
                          long wait_ms)
{
    char *q = http_urlencode(query), *url = NULL, got[64];
    if (asprintf(&url, "%s/api/v1/query?query=%s", p->url, q) < 0)
        url = NULL;
    free(q);
    int rc = -1;
    for (long waited = 0; url && waited < wait_ms; waited += 100) {
        char *body = NULL;
        if (get(url, &body) == 200) {
            first_value(body, got, sizeof got);
            if (strcmp(got, value) == 0)
                rc = 0;
        }
        free(body);
        if (rc == 0)
            break;
        test_sleep_ms(100);
    }
    free(url);
    return rc;
}
