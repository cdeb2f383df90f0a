/* test_metric_haproxy.c - the HAProxy metric source: a per-server column of
 * "show stat", averaged over the group's servers that are UP
 * (lib/metric/metric_haproxy.c, read through lb_node_health in
 * lib/lb/lb_member.c), against a real HAProxy (haproxy_server.h).
 *
 * The servers are sockets that listen and never accept: HAProxy's TCP
 * check passes (the kernel completes the connection), and a request sent
 * through the frontend stays a current session (scur) for as long as the
 * test keeps its client connection open. Three requests over two UP
 * servers (round robin) are 2 + 1 sessions: an average of 1.5 whichever
 * server got two; a third server whose socket is closed (its check fails:
 * DOWN) gets none, so averaging it in would read 1.0. The test waits,
 * bounded, for HAProxy's own stats to show each state before reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asg.h"
#include "datastore.h"
#include "group.h"
#include "haproxy_server.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "metric.h"
#include "store_fixture.h"
#include "test_util.h"
#include "xalloc.h"

#define BACKEND "web-be"
#define WAIT_MS 20000 /* an upper bound on waiting for a state, never an assertion */
#define NCLIENTS 3

struct server {
    int fd, port;
};

struct fixture {
    struct store_fixture st;
    struct haproxy_server *h;
    struct server srv[3];
    int clients[NCLIENTS];
    struct ds *ds;
};

static const char *const names[] = {"web-a", "web-b", "web-c"};

static int listen_never_accept(struct server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->fd, 64) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return 0;
}

static void put_spec(struct fixture *f, const char *lb_provider, const char *query)
{
    struct group g;
    group_init(&g, "web");
    free(g.lb_provider);
    g.lb_provider = xstrdup(lb_provider);
    free(g.lb_backend);
    g.lb_backend = xstrdup(BACKEND);
    free(g.metric_source);
    g.metric_source = xstrdup("haproxy");
    free(g.metric_query);
    g.metric_query = xstrdup(query);
    g.target_value = 10;
    snprintf(g.status, sizeof g.status, "active");
    struct json_object *o = group_to_json(&g);
    char key[KEY_MAX];
    store_put(&f->st, key_spec(key, "web"), json_object_to_json_string(o));
    json_object_put(o);
    group_clear(&g);
}

/* Wait until the server's status starts with want. */
static void wait_status(struct fixture *f, const char *server, const char *want)
{
    char st[64] = "";
    for (int i = 0; i < WAIT_MS / 20; i++) {
        if (haproxy_status(f->h, server, st, sizeof st) == 1 &&
            strncmp(st, want, strlen(want)) == 0)
            return;
        test_sleep_ms(20);
    }
    fail_msg("%s never became %s (is %s)", server, want, st);
}

/* "<verb> <backend>/<server><tail>" over the admin socket. */
static void cmd_ok(struct fixture *f, const char *verb, const char *server, const char *tail)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s %s/%s%s", verb, BACKEND, server, tail);
    char *reply = haproxy_cmd(f->h, cmd);
    assert_non_null(reply);
    free(reply);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    log_set_level(LOG_ERROR);
    *state = f;
    assert_int_equal(store_fixture_open(&f->st, "as-metric-hx"), 0);
    f->h = haproxy_start(BACKEND);
    assert_non_null(f->h);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(listen_never_accept(&f->srv[i]), 0);
        char tail[96];
        snprintf(tail, sizeof tail, " 127.0.0.1:%d check inter 1s rise 1 fall 1",
                 f->srv[i].port);
        cmd_ok(f, "add server", names[i], tail);
        cmd_ok(f, "enable health", names[i], "");
        cmd_ok(f, "enable server", names[i], "");
        store_put_node(&f->st, store_node_record("web", names[i], "active", "127.0.0.1",
                                                 f->srv[i].port, NULL));
    }
    for (int i = 0; i < 3; i++)
        wait_status(f, names[i], "UP");
    for (int i = 0; i < NCLIENTS; i++)
        f->clients[i] = -1;
    f->ds = store_open(&f->st);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < NCLIENTS; i++)
        if (f->clients[i] >= 0)
            close(f->clients[i]);
    if (f->ds)
        ds_close(f->ds);
    haproxy_stop(f->h);
    for (int i = 0; i < 3; i++)
        if (f->srv[i].fd > 0)
            close(f->srv[i].fd);
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

/* Server i stops listening: its check fails for real, and HAProxy marks it
 * DOWN (fall 1) - a forced "health down" would be undone by the next
 * passing check. */
static void server_down(struct fixture *f, int i)
{
    close(f->srv[i].fd);
    f->srv[i].fd = -1;
    wait_status(f, names[i], "DOWN");
}

/* A request through the frontend that stays open (the server never answers). */
static int open_request(struct fixture *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->h->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char req[] = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
    return fd;
}

/* The i-th comma-separated field of line, as a number (0 when absent). */
static long long field_at(const char *line, int i)
{
    for (; i > 0 && line; i--)
        if ((line = strchr(line, ',')))
            line++;
    return line ? atoll(line) : 0;
}

/* The servers' total scur from HAProxy's own stats. */
static long long total_scur(struct fixture *f)
{
    char cmd[64], *save = NULL;
    snprintf(cmd, sizeof cmd, "show stat %s 4 -1", BACKEND);
    char *reply = haproxy_cmd(f->h, cmd);
    assert_non_null(reply);
    char *header = strtok_r(reply, "\n", &save), *p = header ? strstr(header, ",scur,") : NULL;
    int col = 1;
    for (char *c = header; p && c < p; c++)
        col += *c == ',';
    long long total = 0;
    for (char *line; p && (line = strtok_r(NULL, "\n", &save));)
        total += field_at(line, col);
    free(reply);
    return total;
}

static struct metric_params params(struct fixture *f)
{
    struct metric_params p;
    memset(&p, 0, sizeof p);
    p.haproxy_socket = f->h->sock;
    p.newrelic_account_id = PARAM_ABSENT;
    p.lb_server_port = PARAM_ABSENT;
    return p;
}

/* One dry-run collection: 0 with its entry in *out, as metric_collect_group. */
static struct json_object *collect(struct fixture *f)
{
    struct metric_params p = params(f);
    struct json_object *out = NULL;
    struct as_error err = {0};
    if (metric_collect_group(f->ds, &p, "web", NULL, 1000000, false, &out, &err) != 0)
        fail_msg("collect: %s: %s", err.code, err.message);
    return out;
}

static double value_of(struct json_object *o)
{
    struct json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, "value", &v));
    return json_object_get_double(v);
}

static void test_average_over_up_servers_down_ignored(void **state)
{
    struct fixture *f = *state;
    put_spec(f, "haproxy", "scur");
    server_down(f, 2);
    for (int i = 0; i < NCLIENTS; i++)
        f->clients[i] = open_request(f);
    for (int i = 0; i < WAIT_MS / 20 && total_scur(f) < NCLIENTS; i++)
        test_sleep_ms(20);
    assert_int_equal(total_scur(f), NCLIENTS);

    struct json_object *o = collect(f);
    assert_true(value_of(o) == 1.5); /* (2 + 1) / 2 UP servers; DOWN web-c left out */
    assert_int_equal(jx_int(o, "nodes", 0), 3);
    assert_false(jx_bool(o, "collected", true)); /* dry run */
    json_object_put(o);
}

static void test_no_server_up_is_no_data(void **state)
{
    struct fixture *f = *state;
    put_spec(f, "haproxy", "qcur");
    for (int i = 0; i < 3; i++)
        server_down(f, i);
    struct json_object *o = collect(f), *e = jx_obj(o, "error");
    assert_non_null(e);
    assert_string_equal(jx_str(e, "code", ""), "metric_no_data");
    assert_false(json_object_object_get_ex(o, "value", NULL));
    json_object_put(o);
}

static void test_stat_outside_the_allowlist_is_rejected(void **state)
{
    struct fixture *f = *state;
    put_spec(f, "haproxy", "pxname");
    struct json_object *o = collect(f);
    assert_string_equal(jx_str(jx_obj(o, "error"), "code", ""), "metric_rejected");
    json_object_put(o);
}

static void test_group_without_haproxy_is_rejected(void **state)
{
    struct fixture *f = *state;
    put_spec(f, "none", "scur");
    struct json_object *o = collect(f);
    assert_string_equal(jx_str(jx_obj(o, "error"), "code", ""), "metric_rejected");
    json_object_put(o);
}

static void test_haproxy_gone_is_a_failed_reading(void **state)
{
    struct fixture *f = *state;
    put_spec(f, "haproxy", "scur");
    struct metric_params p = params(f);
    p.haproxy_socket = "/nonexistent/haproxy.sock";
    struct json_object *o = NULL;
    struct as_error err = {0};
    assert_int_equal(metric_collect_group(f->ds, &p, "web", NULL, 1000000, false, &o, &err), 0);
    assert_string_equal(jx_str(jx_obj(o, "error"), "code", ""), "lb_unreachable");
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_average_over_up_servers_down_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_server_up_is_no_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stat_outside_the_allowlist_is_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_without_haproxy_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_haproxy_gone_is_a_failed_reading, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
