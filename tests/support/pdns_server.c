/* pdns_server.c - see pdns_server.h. */
#include "pdns_server.h"
#include "spawn.h"
#include "test_util.h"

#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PDNS_BIN "/usr/sbin/pdns_server"
#define PDNS_SCHEMA "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"
#define START_TRIES 5
#define READY_WAIT_MS 20000 /* a loaded shared machine can be slow */

struct pdns_server {
    char dir[64];
    char key[128];
    char api_url[96];
    int dns_port, api_port;
    pid_t pid;
    struct http_client *http;
};

/* ------------------------------------------------------------- files -- */

static int write_config(struct pdns_server *p)
{
    char path[128];
    snprintf(path, sizeof path, "%s/pdns.conf", p->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "launch=gsqlite3\n"
            "gsqlite3-database=%s/pdns.sqlite3\n"
            "local-address=127.0.0.1\n"
            "local-port=%d\n"
            "socket-dir=%s\n"
            "daemon=no\n"
            "guardian=no\n"
            "disable-syslog=yes\n"
            "security-poll-suffix=\n"
            "webserver=yes\n"
            "webserver-address=127.0.0.1\n"
            "webserver-port=%d\n"
            "webserver-allow-from=127.0.0.1/32\n"
            "api=yes\n"
            "api-key=%s\n"
            "default-soa-content=ns1.@ hostmaster.@ 0 10800 3600 604800 3600\n"
            "receiver-threads=1\n"
            "distributor-threads=1\n",
            p->dir, p->dns_port, p->dir, p->api_port, p->key);
    return fclose(f) == 0 ? 0 : -1;
}

static int create_db(struct pdns_server *p)
{
    char path[128], *schema = NULL;
    size_t n = 0;
    FILE *f = fopen(PDNS_SCHEMA, "r");
    if (!f) {
        fprintf(stderr, "pdns_server: %s: %s (install pdns-backend-sqlite3)\n", PDNS_SCHEMA,
                strerror(errno));
        return -1;
    }
    FILE *m = open_memstream(&schema, &n);
    char buf[4096];
    size_t got;
    while (m && (got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, m);
    fclose(f);
    if (!m || fclose(m) != 0)
        return -1;

    sqlite3 *db = NULL;
    char *msg = NULL;
    snprintf(path, sizeof path, "%s/pdns.sqlite3", p->dir);
    int rc = sqlite3_open(path, &db) == SQLITE_OK &&
                     sqlite3_exec(db, schema, NULL, NULL, &msg) == SQLITE_OK
                 ? 0
                 : -1;
    if (rc < 0)
        fprintf(stderr, "pdns_server: schema: %s\n", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    free(schema);
    return rc;
}

/* ------------------------------------------------------------ process -- */

static pid_t spawn(const struct pdns_server *p)
{
    char arg[96], log[128];
    snprintf(arg, sizeof arg, "--config-dir=%s", p->dir);
    snprintf(log, sizeof log, "%s/pdns.log", p->dir);
    char *const argv[] = {PDNS_BIN, arg, NULL};
    return spawn_logged(log, argv);
}

static void reap(struct pdns_server *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 500; i++) { /* 5 s */
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

static int dns_answers(const struct pdns_server *p)
{
    char st[16];
    return pdns_dig_status(p, "ready.invalid", st) == 0;
}

/* Wait until the API and the DNS port answer; -1 if the daemon died. */
static int wait_ready(struct pdns_server *p)
{
    long long until = test_now_ms() + READY_WAIT_MS;
    while (test_now_ms() < until) {
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            return -1;
        }
        if (pdns_server_api(p, "GET", "", NULL, NULL) == 200 && dns_answers(p))
            return 0;
        test_sleep_ms(20);
    }
    return -1;
}

static void show_log(const struct pdns_server *p)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "tail -n 5 '%s/pdns.log' >&2", p->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "pdns_server: no log\n");
}

static int launch(struct pdns_server *p)
{
    snprintf(p->api_url, sizeof p->api_url, "http://127.0.0.1:%d/api/v1/servers/localhost",
             p->api_port);
    if (write_config(p) < 0 || (p->pid = spawn(p)) < 0)
        return -1;
    if (wait_ready(p) == 0)
        return 0;
    show_log(p);
    reap(p);
    return -1;
}

struct pdns_server *pdns_server_start(const char *api_key)
{
    struct pdns_server *p = calloc(1, sizeof *p);
    struct http_options o;
    struct as_error err;

    if (!p)
        return NULL;
    snprintf(p->key, sizeof p->key, "%s", api_key);
    http_options_default(&o);
    o.max_attempts = 1;
    o.timeout_ms = 5000;
    if (access(PDNS_BIN, X_OK) != 0)
        fprintf(stderr, "pdns_server: %s missing (install pdns-server)\n", PDNS_BIN);
    if (test_tmpdir(p->dir, sizeof p->dir, "as-pdns") < 0 || create_db(p) < 0 ||
        !(p->http = http_client_new(&o, &err))) {
        pdns_server_stop(p);
        return NULL;
    }
    for (int i = 0; i < START_TRIES; i++) {
        p->dns_port = test_free_port(NULL, true);
        p->api_port = test_free_port(NULL, false);
        if (p->dns_port > 0 && p->api_port > 0 && p->dns_port != p->api_port &&
            launch(p) == 0)
            return p;
    }
    fprintf(stderr, "pdns_server: did not start after %d tries\n", START_TRIES);
    pdns_server_stop(p);
    return NULL;
}

void pdns_server_halt(struct pdns_server *p)
{
    if (p)
        reap(p);
}

int pdns_server_resume(struct pdns_server *p)
{
    return p->pid > 0 ? 0 : launch(p);
}

void pdns_server_stop(struct pdns_server *p)
{
    if (!p)
        return;
    reap(p);
    http_client_free(p->http);
    if (p->dir[0] && strstr(p->dir, "/tmp/as-pdns-") == p->dir && test_rmtree(p->dir) < 0)
        fprintf(stderr, "pdns_server: could not remove %s\n", p->dir);
    free(p);
}

const char *pdns_server_api_url(const struct pdns_server *p) { return p->api_url; }
const char *pdns_server_api_key(const struct pdns_server *p) { return p->key; }
int pdns_server_dns_port(const struct pdns_server *p) { return p->dns_port; }
int pdns_server_api_port(const struct pdns_server *p) { return p->api_port; }

/* ---------------------------------------------------------------- API -- */

int pdns_server_api(struct pdns_server *p, const char *method, const char *path,
                    const char *json, char **body)
{
    char url[512], auth[160];
    struct http_response resp;
    struct as_error err;

    if (body)
        *body = NULL;
    snprintf(url, sizeof url, "%s%s", p->api_url, path);
    snprintf(auth, sizeof auth, "X-API-Key: %s", p->key);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    struct http_request req = {.method = method, .url = url, .headers = headers, .body = json,
                               .body_len = json ? strlen(json) : 0, .retry = 0};
    if (http_do(p->http, &req, &resp, &err) < 0)
        return 0;
    int status = (int)resp.status;
    if (body)
        *body = strdup(resp.body ? resp.body : "");
    http_response_clear(&resp);
    return status;
}

int pdns_server_create_zone(struct pdns_server *p, const char *zone)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"name\":\"%s.\",\"kind\":\"Native\",\"nameservers\":[\"ns1.%s.\"]}", zone, zone);
    int status = pdns_server_api(p, "POST", "/zones", json, NULL);
    return status == 201 ? 0 : -1;
}

int pdns_server_delete_zone(struct pdns_server *p, const char *zone)
{
    char path[300];
    snprintf(path, sizeof path, "/zones/%s.", zone);
    int status = pdns_server_api(p, "DELETE", path, NULL, NULL);
    return status == 204 || status == 404 ? 0 : -1;
}

/* ---------------------------------------------------------------- dig -- */

/* Only names a test would write reach the shell. */
static int safe_name(const char *s)
{
    return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == strlen(s);
}

/* Run dig with `opts` for name A; its stdout, newly allocated, or NULL. */
static char *dig(const struct pdns_server *p, const char *opts, const char *name, int *rc)
{
    char cmd[512], *out = NULL;
    size_t n = 0;
    if (!safe_name(name))
        return NULL;
    snprintf(cmd, sizeof cmd, "dig @127.0.0.1 -p %d +time=2 +tries=2 %s %s A 2>/dev/null",
             p->dns_port, opts, name);
    FILE *f = popen(cmd, "r"), *m = open_memstream(&out, &n);
    char buf[1024];
    size_t got;
    while (f && m && (got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, m);
    int status = f ? pclose(f) : -1;
    if (m)
        fclose(m);
    *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (*rc != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *pdns_dig(const struct pdns_server *p, const char *name)
{
    int rc;
    char *out = dig(p, "+short", name, &rc), *save = NULL, *lines[256];
    size_t n = 0, len = 0, size;
    if (!out)
        return NULL;
    size = strlen(out) + 2; /* before strtok_r cuts it up */
    for (char *l = strtok_r(out, "\n", &save); l && n < 256; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof lines[0], cmp_str);
    char *joined = calloc(1, size);
    for (size_t i = 0; joined && i < n; i++) {
        len += (size_t)sprintf(joined + len, "%s%s", i ? "," : "", lines[i]);
    }
    free(out);
    return joined;
}

long pdns_dig_ttl(const struct pdns_server *p, const char *name)
{
    int rc;
    char *out = dig(p, "+noall +answer", name, &rc);
    long ttl = -1;
    char owner[300], cls[16], type[16];
    if (out && sscanf(out, "%299s %ld %15s %15s", owner, &ttl, cls, type) != 4)
        ttl = -1;
    free(out);
    return ttl;
}

int pdns_dig_status(const struct pdns_server *p, const char *name, char *out)
{
    int rc;
    char *text = dig(p, "+noall +comments", name, &rc);
    const char *s = text ? strstr(text, "status: ") : NULL;
    int ok = s && sscanf(s, "status: %15[A-Z]", out) == 1;
    free(text);
    return ok ? 0 : -1;
}
