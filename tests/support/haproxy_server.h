/* haproxy_server.h - a real HAProxy for tests, the node processes behind
 * it, and a spy on its admin socket.
 *
 * haproxy_start() writes a config into a fresh temporary directory - a
 * frontend on a free 127.0.0.1 port, one backend with `balance roundrobin`
 * and no servers, the admin socket (`stats socket <dir>/haproxy.sock mode 600
 * level admin`) and the same API on a free TCP port - checks it with
 * `haproxy -c`, runs `haproxy -f cfg -db` in the foreground and waits until
 * both the socket and the frontend answer. haproxy_stop() ends it by PID
 * and removes the directory; call it from teardown so it runs on failure.
 *
 * demo_node_start() runs the pack's demo app (actions/bin/demo_app from
 * $AUTOSCALE_BIN_DIR) on its own 127.0.1.x address and a free port, and
 * waits for its /stats to answer.
 *
 * hx_spy listens on a UNIX socket of its own and relays each connection's
 * command to the real admin socket, recording every command; it can answer
 * one chosen command itself instead (a fault HAProxy would not produce on
 * demand). Tests point the actions at it to prove what was, or was not,
 * sent. */
#ifndef TEST_HAPROXY_SERVER_H
#define TEST_HAPROXY_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct haproxy_server {
    char dir[64];
    char cfg[128];
    char sock[128];    /* UNIX admin socket */
    char tcp[48];      /* "tcp:127.0.0.1:PORT": the same API over TCP */
    char backend[64];
    int port;          /* the frontend, on 127.0.0.1 */
    pid_t pid;
};

/* NULL (with a message on stderr) if HAProxy cannot be started. */
struct haproxy_server *haproxy_start(const char *backend);
/* Stop and start it again with the same config and ports: what a reload
 * does to dynamic servers (they are gone). 0, or -1. */
int haproxy_restart(struct haproxy_server *h);
void haproxy_stop(struct haproxy_server *h);

/* One command over the admin socket; the reply (newly allocated, trailing
 * blank lines cut) or NULL if the socket did not answer. */
char *haproxy_cmd(const struct haproxy_server *h, const char *cmd);
/* The backend's servers as "name:STATUS" joined by ',' in config order
 * ("" when none); NULL on error. */
char *haproxy_servers(const struct haproxy_server *h);
/* The status column of one server ("UP 1/3", "MAINT", "DRAIN"...) into out:
 * 1 found, 0 absent, -1 error. */
int haproxy_status(const struct haproxy_server *h, const char *server, char *out,
                   size_t size);

/* ------------------------------------------------------------ nodes -- */

struct demo_node {
    char name[32];
    char addr[32];
    int port;
    pid_t pid;
};

/* 0, or -1 with a message on stderr. */
int demo_node_start(struct demo_node *n, const char *name, const char *addr);
void demo_node_stop(struct demo_node *n);
/* Its /stats counters: answered "/" requests and requests in flight; -1 on
 * error. */
long long demo_node_served(const struct demo_node *n);
int demo_node_in_flight(const struct demo_node *n);
/* /slow?ms=N: every later "/" waits N ms. 0, or -1. */
int demo_node_slow(const struct demo_node *n, long ms);

/* A GET with Connection: close; returns the HTTP status (0 when no reply)
 * and the body in *body (newly allocated, may be NULL). */
int hx_http_get(const char *addr, int port, const char *path, char **body);

/* -------------------------------------------------------------- spy -- */

struct hx_spy;

/* Listen on `path`, relay to `target` (the real admin socket). */
struct hx_spy *hx_spy_start(const char *path, const char *target);
void hx_spy_stop(struct hx_spy *s);
/* The next command starting with `prefix` is answered with `reply` by the
 * spy itself and never reaches HAProxy. */
void hx_spy_fail_next(struct hx_spy *s, const char *prefix, const char *reply);
int hx_spy_count(struct hx_spy *s);
/* Every command seen, each followed by '\n' (newly allocated). */
char *hx_spy_log(struct hx_spy *s);
void hx_spy_reset(struct hx_spy *s);

#endif
