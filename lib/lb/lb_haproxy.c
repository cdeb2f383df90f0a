/* lb_haproxy.c - HAProxy (2.6 or later) through its runtime API: the stats
 * socket at "level admin", a UNIX socket path or "tcp:IP:PORT".
 *
 * Each command is one connection: connect, write "command\n", read to EOF
 * (HAProxy closes after answering a non-interactive client). Replies are
 * plain text; an empty one means success. Commands are never joined with
 * ';' and every name in them has passed lb_name_ok(), so nothing a caller
 * passes can become a second command.
 *
 * Members are dynamic servers ("add server"). What 2.6 requires of them:
 *  - they start in maintenance, with health checks off: "enable health",
 *    then "enable server". The "enabled" keyword on "add server" is not used:
 *    on 2.6 it corrupts the backend's count of servers (HAProxy bug 2497);
 *  - leaving maintenance, a checked server is taken for UP before its first
 *    check (it served ~12 ms after "enable server", checked or not), so a
 *    new one goes maintenance -> drain (no new traffic) -> health forced
 *    down -> ready: it gets traffic once its own check has passed "rise"
 *    times, and fastinter/downinter make that ~0.2 s, not 2 x inter;
 *  - "default-server" does not apply to them: options go on every add;
 *  - "del server" wants the server in maintenance and without connections,
 *    and answers "still has connections" until they are gone: retried with
 *    backoff until the caller's deadline;
 *  - a reload or restart forgets them all: lb_sync puts them back.
 * Sessions and states come from "show stat <backend> 4 -1" (CSV, servers
 * only), read by column name so a later HAProxy adding columns is fine. */
#include "lb_int.h"

#include "clock.h"
#include "log.h"
#include "settings.h"
#include "signals.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define HX_TIMEOUT_MS 5000          /* one command, connect to last byte */
#define HX_REPLY_MAX (8u << 20)     /* "show stat" is ~1 KiB per server */
#define HX_POLL_MS 250              /* between two looks at a draining server */
#define HX_BACKOFF_MIN_MS 100       /* "del server" retries */
#define HX_BACKOFF_MAX_MS 2000
/* Health check options for every dynamic server (default-server does not
 * reach them): a check every 2 s while steady, every 100 ms while the
 * server is DOWN or changing state (so a new server is UP ~0.2 s after it
 * answers, and a failing one is out in ~0.3 s), up after 2 good ones,
 * down after 3 bad. */
#define HX_CHECK_OPTS " check inter 2s fastinter 100ms downinter 100ms rise 2 fall 3"

struct lb {
    char backend[64];
    bool check;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char where[128]; /* the socket as the operator wrote it, for messages */
};

/* ------------------------------------------------------------ settings -- */

static int bad_setting(struct as_error *err, const char *key, const char *why)
{
    return as_fail(err, AS_EXIT_BADINPUT, "bad_settings", "haproxy: setting '%s' %s", key,
                   why);
}

/* "tcp:127.0.0.1:9999" or "tcp:[::1]:9999" into lb->addr. */
static int parse_tcp(struct lb *lb, const char *spec, struct as_error *err)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    size_t hlen = colon ? (size_t)(colon - spec) : 0;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;

    if (!colon || hlen == 0 || hlen >= sizeof host || !end || *end || port < 1 ||
        port > 65535)
        return bad_setting(err, "socket", "must be a path or tcp:IP:PORT");
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    struct sockaddr_in *v4 = (struct sockaddr_in *)&lb->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&lb->addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        lb->addrlen = sizeof *v4;
        return 0;
    }
    if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((unsigned short)port);
            lb->addrlen = sizeof *v6;
            return 0;
        }
    }
    return bad_setting(err, "socket", "tcp: needs an IP address, not a host name");
}

static int parse_socket(struct lb *lb, const char *spec, struct as_error *err)
{
    if (!spec)
        return bad_setting(err, "socket", "is required (haproxy_socket: the admin socket's "
                                          "path, or tcp:127.0.0.1:9999)");
    for (const char *p = spec; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            return bad_setting(err, "socket", "has control characters");
    snprintf(lb->where, sizeof lb->where, "%s", spec);
    if (strncmp(spec, "tcp:", 4) == 0)
        return parse_tcp(lb, spec + 4, err);
    struct sockaddr_un *un = (struct sockaddr_un *)&lb->addr;
    if (strlen(spec) >= sizeof un->sun_path)
        return bad_setting(err, "socket", "is too long for a UNIX socket path");
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, spec, strlen(spec) + 1);
    lb->addrlen = sizeof *un;
    return 0;
}

/* "on"/"off" (what the haproxy_check parameter carries) or a JSON boolean
 * (a group's own settings); absent means on. */
static int parse_check(struct json_object *settings, bool *on, struct as_error *err)
{
    int v = settings_switch(settings, "check", 1);
    if (v < 0)
        return bad_setting(err, "check", "must be on or off");
    *on = v == 1;
    return 0;
}

static struct lb *hx_open(struct json_object *settings, const char *backend,
                          struct as_error *err)
{
    struct lb *lb = xcalloc(1, sizeof *lb);
    if (!lb_name_ok(backend)) {
        as_fail(err, AS_EXIT_BADINPUT, "invalid_backend",
                "haproxy: backend names are 1 to 63 of letters, digits and _.:-");
        goto fail;
    }
    snprintf(lb->backend, sizeof lb->backend, "%s", backend);
    if (parse_socket(lb, settings_str(settings, "socket"), err) < 0 ||
        parse_check(settings, &lb->check, err) < 0)
        goto fail;
    return lb;
fail:
    free(lb);
    return NULL;
}

static void hx_close(struct lb *lb)
{
    free(lb);
}

/* ------------------------------------------------------------ commands -- */

static int unreachable(const struct lb *lb, const char *what, int e, struct as_error *err)
{
    return as_fail(err, AS_EXIT_FAILURE, "lb_unreachable", "haproxy: cannot %s %s: %s",
                   what, lb->where, strerror(e));
}

static long long left_ms(long long deadline)
{
    long long d = deadline - as_mono_ms();
    return d > 0 ? d : 0;
}

/* Wait for fd to be ready for `events` until the deadline: 1 ready, 0 timed
 * out, -1 error (errno). */
static int wait_fd(int fd, short events, long long deadline)
{
    struct pollfd p = {fd, events, 0};
    for (;;) {
        long long ms = left_ms(deadline);
        int rc = poll(&p, 1, (int)ms);
        if (rc >= 0 || errno != EINTR)
            return rc;
    }
}

static int hx_connect(const struct lb *lb, long long deadline, struct as_error *err)
{
    int fd = socket(lb->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return unreachable(lb, "open a socket for", errno, err);
    if (connect(fd, (const struct sockaddr *)&lb->addr, lb->addrlen) == 0)
        return fd;
    int e = errno, soerr = 0;
    socklen_t len = sizeof soerr;
    if (e == EINPROGRESS) {
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && !soerr)
            return fd;
        e = rc == 0 ? ETIMEDOUT : soerr ? soerr : errno;
    }
    close(fd);
    return unreachable(lb, "connect to", e, err);
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            if (wait_fd(fd, POLLOUT, deadline) <= 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Read to EOF into a new string. 0, or -1 with errno (ETIMEDOUT, EFBIG). */
static int read_all(int fd, long long deadline, char **out)
{
    size_t len = 0, cap = 0;
    char *buf = NULL;
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= HX_REPLY_MAX) {
                free(buf);
                errno = EFBIG;
                return -1;
            }
            buf = xgrow(buf, cap + 1, &cap, 1);
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == 0)
            break;
        if (errno == EINTR)
            continue;
        int rc = errno == EAGAIN ? wait_fd(fd, POLLIN, deadline) : -1;
        if (rc <= 0) {
            if (rc == 0)
                errno = ETIMEDOUT;
            int e = errno;
            free(buf);
            errno = e;
            return -1;
        }
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* Run one command; *reply is HAProxy's answer with trailing blanks cut. A
 * command is never interrupted half-way by SIGTERM: each is short (bounded
 * by HX_TIMEOUT_MS), and undoing a half-added server must still go out. */
static int hx_cmd(const struct lb *lb, const char *cmd, char **reply, struct as_error *err)
{
    char line[512];
    long long deadline = as_mono_ms() + HX_TIMEOUT_MS;

    *reply = NULL;
    /* The last line of defence: callers validated every name already. */
    if (strpbrk(cmd, ";\r\n") || strlen(cmd) + 2 > sizeof line)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_name",
                       "haproxy: refusing to send a command with ';' or a line break");
    snprintf(line, sizeof line, "%s\n", cmd);
    log_debug("haproxy %s: %s", lb->where, cmd);
    int fd = hx_connect(lb, deadline, err);
    if (fd < 0)
        return -1;
    if (send_all(fd, line, strlen(line), deadline) < 0 || read_all(fd, deadline, reply) < 0) {
        int e = errno;
        close(fd);
        if (e == ETIMEDOUT)
            return as_fail(err, AS_EXIT_FAILURE, "lb_timeout",
                           "haproxy: no answer from %s within %d ms", lb->where,
                           HX_TIMEOUT_MS);
        return unreachable(lb, "talk to", e, err);
    }
    close(fd);
    size_t n = strlen(*reply);
    while (n > 0 && (unsigned char)(*reply)[n - 1] <= ' ')
        (*reply)[--n] = '\0';
    return 0;
}

static bool starts(const char *reply, const char *prefix)
{
    return strncmp(reply, prefix, strlen(prefix)) == 0;
}

static bool no_such_server(const char *reply)
{
    return starts(reply, "No such server");
}

/* A reply that is not the expected one, as the right error. */
static int reply_error(const struct lb *lb, const char *what, const char *key,
                       const char *reply, struct as_error *err)
{
    if (starts(reply, "No such backend") || starts(reply, "No such proxy") ||
        starts(reply, "Can't find backend"))
        return as_fail(err, AS_EXIT_BADINPUT, "lb_backend_not_found",
                       "haproxy at %s has no backend named %s", lb->where, lb->backend);
    if (starts(reply, "Permission denied"))
        return as_fail(err, AS_EXIT_FAILURE, "lb_permission_denied",
                       "haproxy: %s: permission denied (the stats socket needs "
                       "'level admin')",
                       lb->where);
    if (starts(reply, "Unknown command"))
        return as_fail(err, AS_EXIT_FAILURE, "lb_error",
                       "haproxy at %s does not know '%s' (HAProxy 2.6 or later is needed)",
                       lb->where, what);
    if (starts(reply, "Backend must use a dynamic"))
        return as_fail(err, AS_EXIT_BADINPUT, "lb_backend_not_dynamic",
                       "haproxy: backend %s cannot take dynamic servers: give it "
                       "'balance roundrobin', leastconn, first or a consistent hash",
                       lb->backend);
    size_t n = strcspn(reply, "\n");
    return as_fail(err, AS_EXIT_FAILURE, "lb_error", "haproxy: %s %s/%s: %.*s", what,
                   lb->backend, key, (int)(n > 200 ? 200 : n), reply);
}

/* Run "<verb> <backend>/<key><tail>": 0 with *reply (caller frees), or -1. */
static int server_cmd(const struct lb *lb, const char *verb, const char *key,
                      const char *tail, char **reply, struct as_error *err)
{
    char cmd[256];
    if (!lb_name_ok(key))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_name",
                       "haproxy: server names are 1 to 63 of letters, digits and _.:-");
    snprintf(cmd, sizeof cmd, "%s %s/%s%s", verb, lb->backend, key, tail ? tail : "");
    return hx_cmd(lb, cmd, reply, err);
}

/* The same for a command whose success is an empty answer: 1 done, 0 "No
 * such server", -1 error. */
static int server_do(const struct lb *lb, const char *verb, const char *key,
                     const char *tail, struct as_error *err)
{
    char *reply = NULL;
    if (server_cmd(lb, verb, key, tail, &reply, err) < 0)
        return -1;
    int rc = reply[0] == '\0' ? 1 : no_such_server(reply) ? 0
                                 : reply_error(lb, verb, key, reply, err);
    free(reply);
    return rc;
}

/* ---------------------------------------------------------- show stat -- */

/* The i-th comma-separated field of line (no quoting in HAProxy's CSV for
 * these columns) into out. */
static void field(const char *line, int i, char *out, size_t size)
{
    const char *p = line;
    for (; i > 0 && p; i--) {
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    size_t n = p ? strcspn(p, ",") : 0;
    if (n >= size)
        n = 0; /* too long to be ours: treated as empty */
    memcpy(out, p ? p : "", n);
    out[n] = '\0';
}

/* The index of a column in the CSV header, or -1. */
static int column(const char *header, const char *name)
{
    size_t len = strlen(name);
    int i = 0;
    for (const char *p = header; p; i++) {
        if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
            return i;
        if ((p = strchr(p, ',')))
            p++;
    }
    return -1;
}

struct columns {
    int px, sv, scur, status, addr;
    int stat[LB_STAT_COUNT]; /* lb.h LB_STATS, -1 when HAProxy has no such column */
};

static const char *const stat_names[] = {
#define HX_STAT_NAME(n) #n,
    LB_STATS(HX_STAT_NAME)
#undef HX_STAT_NAME
};

static void member_from_row(const char *row, const struct columns *col, struct lb_member *m)
{
    char buf[64];
    memset(m, 0, sizeof *m);
    field(row, col->sv, m->key, sizeof m->key);
    field(row, col->status, m->status, sizeof m->status);
    field(row, col->scur, buf, sizeof buf);
    m->sessions = buf[0] ? strtoll(buf, NULL, 10) : -1;
    m->admin = starts(m->status, "MAINT")   ? LB_MAINT
               : starts(m->status, "DRAIN") ? LB_DRAIN
                                            : LB_READY;
    if (col->addr >= 0) {
        field(row, col->addr, buf, sizeof buf);
        char *colon = strrchr(buf, ':');
        if (colon) {
            *colon = '\0';
            m->port = atoi(colon + 1);
        }
        char *host = buf;
        if (host[0] == '[') {
            host++;
            host[strcspn(host, "]")] = '\0';
        }
        snprintf(m->address, sizeof m->address, "%s", host);
    }
    m->stats_known = true;
    for (int i = 0; i < LB_STAT_COUNT; i++) {
        buf[0] = '\0';
        if (col->stat[i] >= 0)
            field(row, col->stat[i], buf, sizeof buf);
        m->stats[i] = buf[0] ? strtoll(buf, NULL, 10) : -1;
    }
}

/* Parse "show stat <backend> 4 -1" into members. */
static int parse_stat(const struct lb *lb, char *text, struct lb_member **out, size_t *n,
                      struct as_error *err)
{
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    struct columns col;

    if (!line || !starts(line, "# "))
        return reply_error(lb, "show stat", "*", line ? line : "", err);
    line += 2;
    col = (struct columns){column(line, "pxname"), column(line, "svname"),
                           column(line, "scur"), column(line, "status"),
                           column(line, "addr"), {0}};
    for (int i = 0; i < LB_STAT_COUNT; i++)
        col.stat[i] = column(line, stat_names[i]);
    if (col.px < 0 || col.sv < 0 || col.scur < 0 || col.status < 0)
        return as_fail(err, AS_EXIT_FAILURE, "lb_bad_reply",
                       "haproxy: 'show stat' has no pxname/svname/scur/status columns");
    size_t cap = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char px[64];
        field(line, col.px, px, sizeof px);
        if (strcmp(px, lb->backend) != 0)
            continue;
        *out = xgrow(*out, *n + 1, &cap, sizeof **out);
        member_from_row(line, &col, &(*out)[*n]);
        if (strcmp((*out)[*n].key, "BACKEND") != 0 && strcmp((*out)[*n].key, "FRONTEND") != 0)
            (*n)++;
    }
    return 0;
}

static int hx_list(struct lb *lb, struct lb_member **out, size_t *n, struct as_error *err)
{
    char cmd[128], *reply = NULL;
    *out = NULL;
    *n = 0;
    snprintf(cmd, sizeof cmd, "show stat %s 4 -1", lb->backend);
    if (hx_cmd(lb, cmd, &reply, err) < 0)
        return -1;
    int rc = parse_stat(lb, reply, out, n, err);
    free(reply);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static int hx_get(struct lb *lb, const char *key, struct lb_member *out, struct as_error *err)
{
    struct lb_member *all = NULL;
    size_t n = 0;
    if (!lb_name_ok(key))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_name",
                       "haproxy: server names are 1 to 63 of letters, digits and _.:-");
    if (hx_list(lb, &all, &n, err) < 0)
        return -1;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(all[i].key, key) == 0) {
            *out = all[i];
            found = 1;
        }
    free(all);
    return found;
}

/* ------------------------------------------------------------- members -- */

static int hx_add(struct lb *lb, const struct lb_target *t, struct as_error *err)
{
    char tail[128], *reply = NULL;
    struct in_addr a;
    if (!t->address || inet_pton(AF_INET, t->address, &a) != 1 || t->port < 1 ||
        t->port > 65535)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_address",
                       "haproxy: a server needs an IPv4 address and a port");
    snprintf(tail, sizeof tail, " %s:%d%s", t->address, t->port,
             lb->check ? HX_CHECK_OPTS : "");
    if (server_cmd(lb, "add server", t->name, tail, &reply, err) < 0)
        return -1;
    int rc = strcmp(reply, "New server registered.") == 0 ? 1
             : starts(reply, "Already exists")             ? 0
                                                           : reply_error(lb, "add server",
                                                                         t->name, reply, err);
    free(reply);
    return rc;
}

static int vanished(const struct lb *lb, const char *key, struct as_error *err)
{
    return as_fail(err, AS_EXIT_FAILURE, "lb_error",
                   "haproxy: %s/%s disappeared while being enabled", lb->backend, key);
}

/* "enable health": 1 the server has a check, 0 it has none (added by hand
 * without "check": it is enabled unchecked, with a warning), -1 error. */
static int enable_health(struct lb *lb, const char *key, struct as_error *err)
{
    char *reply = NULL;
    if (server_cmd(lb, "enable health", key, NULL, &reply, err) < 0)
        return -1;
    int rc = 1;
    if (strstr(reply, "not configured")) {
        log_warn("haproxy: %s/%s has no health check configured", lb->backend, key);
        rc = 0;
    } else if (reply[0])
        rc = no_such_server(reply) ? vanished(lb, key, err)
                                   : reply_error(lb, "enable health", key, reply, err);
    free(reply);
    return rc;
}

/* Out of maintenance without a moment of unchecked traffic (see the top):
 * drain takes it out of maintenance but gives it no new requests, and
 * once its health is forced down, ready waits for the check. */
static int ready_after_check(struct lb *lb, const char *key, struct as_error *err)
{
    static const char *const steps[][2] = {
        {"set server", " state drain"},
        {"set server", " health down"},
        {"set server", " state ready"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int rc = server_do(lb, steps[i][0], key, steps[i][1], err);
        if (rc <= 0)
            return rc == 0 ? vanished(lb, key, err) : -1;
    }
    return 0;
}

static int hx_enable(struct lb *lb, const char *key, enum lb_admin was, struct as_error *err)
{
    int checked = 0;
    if (lb->check && (checked = enable_health(lb, key, err)) < 0)
        return -1;
    /* Only a server leaving maintenance is taken for UP unchecked; one in
     * drain keeps its real check state, and forcing it down would cut a
     * healthy server's traffic for no reason. */
    if (checked && was == LB_MAINT)
        return ready_after_check(lb, key, err);
    int rc = server_do(lb, "enable server", key, NULL, err);
    return rc > 0 ? 0 : rc == 0 ? vanished(lb, key, err) : -1;
}

static int hx_drain(struct lb *lb, const char *key, struct as_error *err)
{
    return server_do(lb, "set server", key, " state drain", err);
}

/* One "del server": 1 deleted, 0 absent, 2 still has connections, 3 not in
 * maintenance (someone enabled it meanwhile), -1 error. */
static int del_once(const struct lb *lb, const char *key, struct as_error *err)
{
    char *reply = NULL;
    if (server_cmd(lb, "del server", key, NULL, &reply, err) < 0)
        return -1;
    int rc = strcmp(reply, "Server deleted.") == 0          ? 1
             : no_such_server(reply)                         ? 0
             : strstr(reply, "still has connections")        ? 2
             : starts(reply, "Only servers in maintenance")  ? 3
                                                             : reply_error(lb, "del server",
                                                                           key, reply, err);
    free(reply);
    return rc;
}

static int hx_remove(struct lb *lb, const char *key, long long deadline, bool cut,
                     struct as_error *err)
{
    long backoff = HX_BACKOFF_MIN_MS;
    int rc = server_do(lb, "set server", key, " state maint", err);
    if (rc <= 0)
        return rc;
    if (cut && (rc = server_do(lb, "shutdown sessions server", key, NULL, err)) <= 0)
        return rc;
    while ((rc = del_once(lb, key, err)) >= 2) {
        if (rc == 3 && (rc = server_do(lb, "set server", key, " state maint", err)) <= 0)
            return rc;
        long long left = deadline - as_mono_ms();
        if (left <= 0)
            return as_fail(err, AS_EXIT_FAILURE, "lb_busy",
                           "haproxy: %s/%s still has connections at the deadline; it is "
                           "in maintenance (no new traffic): run lb_remove again",
                           lb->backend, key);
        log_debug("haproxy: %s/%s still has connections: retrying in %ld ms", lb->backend,
                  key, backoff);
        if (as_sleep_ms(backoff < left ? backoff : (long)left) < 0)
            return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                           "interrupted while %s/%s still had connections (left in "
                           "maintenance)",
                           lb->backend, key);
        backoff = backoff * 2 > HX_BACKOFF_MAX_MS ? HX_BACKOFF_MAX_MS : backoff * 2;
    }
    return rc;
}

const struct lb_ops lb_haproxy_ops = {
    .name = "haproxy",
    .by_id = false,
    .member_checks = true,
    .open = hx_open,
    .list = hx_list,
    .get = hx_get,
    .add = hx_add,
    .enable = hx_enable,
    .drain = hx_drain,
    .remove = hx_remove,
    .close = hx_close,
    .poll_ms = HX_POLL_MS,
};
