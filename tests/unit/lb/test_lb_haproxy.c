/* test_lb_haproxy.c - the HAProxy provider (lib/lb/lb_haproxy.c) through its
 * ops table, against a real HAProxy started per test (haproxy_server.c)
 * with a real node process behind it (the pack's demo app).
 *
 * Nothing here waits on a clock to decide an outcome: slow requests are
 * seen in flight through the node's own /stats before anything else
 * happens, and the spy on the admin socket counts the commands sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "haproxy_server.h"
#include "lb_int.h"
#include "log.h"
#include "test_httpd.h"
#include "test_util.h"

#define NODE_ADDR "127.0.1.21"
#define WAIT_MS 20000 /* an upper bound on waiting for a state, never an assertion */

static const struct lb_ops *ops = &lb_haproxy_ops;

struct fixture {
    struct haproxy_server *h;
    struct demo_node node;
    struct lb *lb;
    struct lb_target t;
};

static struct json_object *settings(const char *socket, const char *check)
{
    struct json_object *s = json_object_new_object();
    if (socket)
        json_object_object_add(s, "socket", json_object_new_string(socket));
    if (check)
        json_object_object_add(s, "check", json_object_new_string(check));
    return s;
}

static struct lb *open_lb(const char *socket, const char *check, const char *backend,
                          struct as_error *err)
{
    struct json_object *s = settings(socket, check);
    struct lb *lb = ops->open(s, backend, err);
    json_object_put(s);
    return lb;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct as_error err = {0};
    log_set_level(LOG_ERROR);
    f->h = haproxy_start("web");
    assert_non_null(f->h);
    assert_int_equal(demo_node_start(&f->node, "web-1", NODE_ADDR), 0);
    f->lb = open_lb(f->h->sock, NULL, "web", &err);
    assert_non_null(f->lb);
    f->t = (struct lb_target){"web-1", f->node.addr, f->node.port, NULL};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->lb)
        ops->close(f->lb);
    demo_node_stop(&f->node);
    haproxy_stop(f->h);
    free(f);
    return 0;
}

/* A request through the frontend, on a thread of its own. */
struct request {
    pthread_t thread;
    int port;
    int status;
    char *body;
};

static void *request_main(void *arg)
{
    struct request *r = arg;
    r->status = hx_http_get("127.0.0.1", r->port, "/", &r->body);
    return NULL;
}

/* Start a request to a node made slow, and return once the node has it. */
static void slow_request(struct fixture *f, long ms, struct request *r)
{
    assert_int_equal(demo_node_slow(&f->node, ms), 0);
    memset(r, 0, sizeof *r);
    r->port = f->h->port;
    assert_int_equal(pthread_create(&r->thread, NULL, request_main, r), 0);
    for (int i = 0; i < WAIT_MS / 10 && demo_node_in_flight(&f->node) < 1; i++)
        test_sleep_ms(10);
    assert_int_equal(demo_node_in_flight(&f->node), 1);
}

static void finish_request(struct request *r)
{
    pthread_join(r->thread, NULL);
}

/* A checked server takes traffic once its check has passed (enable forces
 * its health down first): wait for that, never assert on a time. */
static void wait_up(struct fixture *f, const char *server)
{
    char status[64] = "";
    for (int i = 0; i < WAIT_MS / 10; i++) {
        if (haproxy_status(f->h, server, status, sizeof status) == 1 &&
            strncmp(status, "UP", 2) == 0)
            return;
        test_sleep_ms(10);
    }
    fail_msg("%s never became UP (last %s)", server, status);
}

static void add_enabled(struct fixture *f)
{
    struct as_error err = {0};
    assert_int_equal(ops->add(f->lb, &f->t, &err), 1);
    assert_int_equal(ops->enable(f->lb, "web-1", LB_MAINT, &err), 0);
    wait_up(f, "web-1");
}

/* ------------------------------------------------------------------ tests -- */

static void test_add_starts_in_maintenance_then_enable(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member m;
    char *body = NULL;

    assert_int_equal(ops->add(f->lb, &f->t, &err), 1);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 1);
    assert_int_equal(m.admin, LB_MAINT); /* 2.6: a dynamic server starts in maintenance */
    assert_string_equal(m.address, NODE_ADDR);
    assert_int_equal(m.port, f->node.port);
    /* in maintenance it takes nothing */
    assert_int_equal(hx_http_get("127.0.0.1", f->h->port, "/", NULL), 503);

    assert_int_equal(ops->enable(f->lb, "web-1", LB_MAINT, &err), 0);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 1);
    assert_int_equal(m.admin, LB_READY);
    /* ready, but given traffic only once its own check passes */
    assert_true(strncmp(m.status, "DOWN", 4) == 0 || strncmp(m.status, "UP", 2) == 0);
    wait_up(f, "web-1");
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 1);
    assert_int_equal(m.sessions, 0);
    assert_int_equal(hx_http_get("127.0.0.1", f->h->port, "/", &body), 200);
    assert_string_equal(body, "node web-1\n");
    free(body);

    /* enable again: nothing to do, still fine */
    assert_int_equal(ops->enable(f->lb, "web-1", LB_READY, &err), 0);
    struct lb_member *all = NULL;
    size_t n = 0;
    assert_int_equal(ops->list(f->lb, &all, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].key, "web-1");
    free(all);
}

static void test_add_existing_is_zero(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    add_enabled(f);
    assert_int_equal(ops->add(f->lb, &f->t, &err), 0);
    char *servers = haproxy_servers(f->h);
    assert_non_null(servers);
    assert_null(strchr(servers, ',')); /* still one */
    free(servers);
}

static void test_check_on_and_off(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char status[64];
    add_enabled(f);
    char *reply = haproxy_cmd(f->h, "show servers state web");
    assert_non_null(reply);
    free(reply);
    assert_int_equal(haproxy_status(f->h, "web-1", status, sizeof status), 1);
    assert_non_null(strstr(status, "UP"));
    assert_null(strstr(status, "no check"));

    struct lb *nocheck = open_lb(f->h->sock, "off", "web", &err);
    assert_non_null(nocheck);
    struct lb_target t2 = {"web-2", f->node.addr, f->node.port, NULL};
    assert_int_equal(ops->add(nocheck, &t2, &err), 1);
    assert_int_equal(ops->enable(nocheck, "web-2", LB_MAINT, &err), 0);
    assert_int_equal(haproxy_status(f->h, "web-2", status, sizeof status), 1);
    assert_string_equal(status, "no check");
    /* a checked session enabling a server added without checks: tolerated */
    assert_int_equal(ops->enable(f->lb, "web-2", LB_READY, &err), 0);
    ops->close(nocheck);
}

static void test_tcp_socket(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member m;
    struct lb *tcp = open_lb(f->h->tcp, NULL, "web", &err);
    assert_non_null(tcp);
    assert_int_equal(ops->add(tcp, &f->t, &err), 1);
    assert_int_equal(ops->enable(tcp, "web-1", LB_MAINT, &err), 0);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 1); /* seen over the UNIX socket */
    assert_int_equal(m.admin, LB_READY);
    assert_int_equal(ops->remove(tcp, "web-1", as_mono_ms() + 5000, false, &err), 1);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 0);
    ops->close(tcp);
}

static void test_unknown_backend(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member *all = NULL, m;
    size_t n = 0;
    struct lb *lb = open_lb(f->h->sock, NULL, "nope", &err);
    assert_non_null(lb);
    struct lb_target t = f->t;
    assert_int_equal(ops->list(lb, &all, &n, &err), -1);
    assert_string_equal(err.code, "lb_backend_not_found");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    memset(&err, 0, sizeof err);
    assert_int_equal(ops->get(lb, "web-1", &m, &err), -1);
    assert_string_equal(err.code, "lb_backend_not_found");
    memset(&err, 0, sizeof err);
    assert_int_equal(ops->add(lb, &t, &err), -1);
    assert_string_equal(err.code, "lb_backend_not_found");
    memset(&err, 0, sizeof err);
    assert_int_equal(ops->drain(lb, "web-1", &err), -1);
    assert_string_equal(err.code, "lb_backend_not_found");
    memset(&err, 0, sizeof err);
    assert_int_equal(ops->remove(lb, "web-1", as_mono_ms() + 1000, false, &err), -1);
    assert_string_equal(err.code, "lb_backend_not_found");
    ops->close(lb);
}

static void test_unreachable(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member *all = NULL;
    size_t n = 0;
    char path[160], tcp[48];
    snprintf(path, sizeof path, "%s/missing.sock", f->h->dir);
    struct lb *lb = open_lb(path, NULL, "web", &err);
    assert_non_null(lb); /* opening does no I/O */
    assert_int_equal(ops->list(lb, &all, &n, &err), -1);
    assert_string_equal(err.code, "lb_unreachable");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "missing.sock"));
    ops->close(lb);

    int fd, port = test_refusing_port(&fd);
    snprintf(tcp, sizeof tcp, "tcp:127.0.0.1:%d", port);
    lb = open_lb(tcp, NULL, "web", &err);
    assert_non_null(lb);
    assert_int_equal(ops->add(lb, &f->t, &err), -1);
    assert_string_equal(err.code, "lb_unreachable");
    ops->close(lb);
    close(fd);
}

static void test_settings_refused(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    struct {
        const char *socket, *check, *backend, *code;
    } cases[] = {
        {NULL, NULL, "web", "bad_settings"},
        {f->h->sock, "maybe", "web", "bad_settings"},
        {"tcp:localhost:9999", NULL, "web", "bad_settings"},
        {"tcp:127.0.0.1:0", NULL, "web", "bad_settings"},
        {"tcp:127.0.0.1", NULL, "web", "bad_settings"},
        {"/tmp/x\nshow info", NULL, "web", "bad_settings"},
        {f->h->sock, NULL, "web;shutdown", "invalid_backend"},
        {f->h->sock, NULL, "web be", "invalid_backend"},
        {f->h->sock, NULL, "", "invalid_backend"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&err, 0, sizeof err);
        struct lb *lb = open_lb(cases[i].socket, cases[i].check, cases[i].backend, &err);
        if (lb)
            fail_msg("case %zu opened", i);
        assert_string_equal(err.code, cases[i].code);
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
}

static void test_unsafe_names_never_sent(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member m;
    char spy_path[160];
    snprintf(spy_path, sizeof spy_path, "%s/spy.sock", f->h->dir);
    struct hx_spy *spy = hx_spy_start(spy_path, f->h->sock);
    assert_non_null(spy);
    struct lb *lb = open_lb(spy_path, NULL, "web", &err);
    assert_non_null(lb);

    const char *bad[] = {"web-1;shutdown sessions server web/web-2", "web 1", "web-1\nshow info",
                         "", "a/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct lb_target t = {bad[i], f->node.addr, f->node.port, NULL};
        assert_int_equal(ops->add(lb, &t, &err), -1);
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        assert_int_equal(ops->get(lb, bad[i], &m, &err), -1);
        assert_int_equal(ops->enable(lb, bad[i], LB_MAINT, &err), -1);
        assert_int_equal(ops->drain(lb, bad[i], &err), -1);
        assert_int_equal(ops->remove(lb, bad[i], as_mono_ms() + 1000, true, &err), -1);
        assert_string_equal(err.code, "invalid_name");
    }
    const char *addrs[] = {"127.0.1.21 check;shutdown", "localhost", "127.0.1.21\n", ""};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        struct lb_target t = {"web-1", addrs[i], 80, NULL};
        assert_int_equal(ops->add(lb, &t, &err), -1);
        assert_string_equal(err.code, "invalid_address");
    }
    assert_int_equal(hx_spy_count(spy), 0);
    char *servers = haproxy_servers(f->h);
    assert_string_equal(servers, "");
    free(servers);
    ops->close(lb);
    hx_spy_stop(spy);
}

static void test_drain_and_sessions(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member m;
    struct request r;
    add_enabled(f);
    slow_request(f, 1500, &r);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 1);
    assert_int_equal(m.sessions, 1);
    assert_int_equal(ops->drain(f->lb, "web-1", &err), 1);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 1);
    assert_int_equal(m.admin, LB_DRAIN);
    /* draining: new requests find no server, the one in flight goes on */
    assert_int_equal(hx_http_get("127.0.0.1", f->h->port, "/", NULL), 503);
    finish_request(&r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "node web-1\n");
    free(r.body);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 1);
    assert_int_equal(m.sessions, 0);
    assert_int_equal(ops->drain(f->lb, "ghost", &err), 0);
}

static void test_remove_retries_while_connected(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member m;
    struct request r;
    char spy_path[160];
    snprintf(spy_path, sizeof spy_path, "%s/spy.sock", f->h->dir);
    struct hx_spy *spy = hx_spy_start(spy_path, f->h->sock);
    struct lb *lb = open_lb(spy_path, NULL, "web", &err);
    assert_non_null(lb);

    add_enabled(f);
    slow_request(f, 1500, &r);
    assert_int_equal(ops->remove(lb, "web-1", as_mono_ms() + WAIT_MS, false, &err), 1);
    /* the first "del server" was refused while the request ran: retried */
    char *log = hx_spy_log(spy);
    int dels = 0;
    for (char *p = log; (p = strstr(p, "del server web/web-1")); p++)
        dels++;
    free(log);
    assert_true(dels >= 2);
    finish_request(&r);
    assert_int_equal(r.status, 200); /* not cut: it finished */
    free(r.body);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 0);
    ops->close(lb);
    hx_spy_stop(spy);
}

static void test_remove_busy_at_deadline_then_cut(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member m;
    struct request r;
    add_enabled(f);
    slow_request(f, 20000, &r);
    assert_int_equal(ops->remove(f->lb, "web-1", as_mono_ms() + 300, false, &err), -1);
    assert_string_equal(err.code, "lb_busy");
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 1);
    assert_int_equal(m.admin, LB_MAINT); /* left out of rotation */
    assert_int_equal(m.sessions, 1);

    assert_int_equal(ops->remove(f->lb, "web-1", as_mono_ms() + WAIT_MS, true, &err), 1);
    assert_int_equal(ops->get(f->lb, "web-1", &m, &err), 0);
    finish_request(&r);
    assert_int_not_equal(r.status, 200); /* its session was cut */
    free(r.body);
    demo_node_slow(&f->node, 0);
}

static void test_remove_absent(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    assert_int_equal(ops->remove(f->lb, "ghost", as_mono_ms() + 1000, false, &err), 0);
    assert_int_equal(ops->remove(f->lb, "ghost", as_mono_ms() + 1000, true, &err), 0);
}

static void test_reply_on_enable_failure_is_an_error(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char spy_path[160];
    snprintf(spy_path, sizeof spy_path, "%s/spy.sock", f->h->dir);
    struct hx_spy *spy = hx_spy_start(spy_path, f->h->sock);
    struct lb *lb = open_lb(spy_path, NULL, "web", &err);
    assert_int_equal(ops->add(lb, &f->t, &err), 1);
    hx_spy_fail_next(spy, "set server", "Permission denied");
    assert_int_equal(ops->enable(lb, "web-1", LB_MAINT, &err), -1);
    assert_string_equal(err.code, "lb_permission_denied");
    hx_spy_fail_next(spy, "enable health", "Unknown command, but maybe one of the following");
    assert_int_equal(ops->enable(lb, "web-1", LB_MAINT, &err), -1);
    assert_string_equal(err.code, "lb_error");
    ops->close(lb);
    hx_spy_stop(spy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_starts_in_maintenance_then_enable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_add_existing_is_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_on_and_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_backend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_names_never_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_and_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_retries_while_connected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_busy_at_deadline_then_cut, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remove_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_on_enable_failure_is_an_error, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
