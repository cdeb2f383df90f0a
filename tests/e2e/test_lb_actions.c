/* End-to-end tests of lb_add, lb_remove and lb_sync: each action binary runs
 * as st2 runs it, against a real HAProxy (started per test on free loopback
 * ports) with real node processes behind it (the pack's demo app on
 * 127.0.1.11-13), and real HTTP goes through the frontend. The DigitalOcean
 * provider runs against the fake of DO's load balancer API.
 *
 * No assertion depends on timing: a slow request is seen in flight in the
 * node's own /stats before the drain starts, the drain is seen in HAProxy's
 * own stats before traffic is sent, and the spy on the admin socket proves
 * what was (not) sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "fake_do_lb.h"
#include "haproxy_server.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"
#include "test_util.h"

#define NODES 3
#define BACKEND "web-be"
#define WAIT_MS 20000 /* upper bound on waiting for a state: never an assertion */
#define DO_TOKEN "dop_v1_e2e5ecret0123456789abcdef0123456789abcdef"
#define DO_LB "4de7ac8b-495b-4884-9a69-1050c6793cd6"

struct fixture {
    struct store_fixture st;
    char sock_arg[192];
    struct haproxy_server *h;
    struct demo_node node[NODES];
};

static void put_node(struct fixture *f, const char *group, const char *name, const char *state,
                     const char *addr, int port, const char *provider_id)
{
    store_put_node(&f->st, store_node_record(group, name, state, addr, port, provider_id));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct action_result r;
    assert_int_equal(store_fixture_open(&f->st, "as-lb"), 0);
    *state = f;
    f->h = haproxy_start(BACKEND);
    assert_non_null(f->h);
    snprintf(f->sock_arg, sizeof f->sock_arg, "--haproxy_socket=%s", f->h->sock);
    for (int i = 0; i < NODES; i++) {
        char name[32], addr[32];
        snprintf(name, sizeof name, "web-%d", i + 1);
        snprintf(addr, sizeof addr, "127.0.1.%d", 11 + i);
        assert_int_equal(demo_node_start(&f->node[i], name, addr), 0);
    }
    assert_int_equal(store_run(&f->st, "asg_define", &r, "--compute_provider=local", "--name=web", "--lb_provider=haproxy",
                               "--lb_backend=" BACKEND, NULL),
                     0);
    action_result_free(&r);
    for (int i = 0; i < NODES; i++)
        put_node(f, "web", f->node[i].name, "active", f->node[i].addr, f->node[i].port, NULL);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < NODES; i++)
        demo_node_stop(&f->node[i]);
    haproxy_stop(f->h);
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

static void lb_add(struct fixture *f, const char *node, bool changed)
{
    struct action_result r;
    char arg[64];
    snprintf(arg, sizeof arg, "--node=%s", node);
    if (store_run(&f->st, "lb_add", &r, "--name=web", arg, f->sock_arg, NULL) != 0)
        fail_msg("lb_add %s: %s %s", node, r.out, r.err);
    assert_int_equal(jx_bool(r.json, "changed", !changed), changed);
    action_result_free(&r);
}

/* Requests through the frontend; how many each node answered. */
static void spread(struct fixture *f, int requests, int counts[NODES])
{
    memset(counts, 0, sizeof(int) * NODES);
    for (int i = 0; i < requests; i++) {
        char *body = NULL;
        assert_int_equal(hx_http_get("127.0.0.1", f->h->port, "/", &body), 200);
        for (int k = 0; k < NODES; k++) {
            char want[32];
            snprintf(want, sizeof want, "node %s\n", f->node[k].name);
            counts[k] += strcmp(body, want) == 0;
        }
        free(body);
    }
}

static void wait_status(struct fixture *f, const char *server, const char *prefix)
{
    char status[64] = "";
    for (int i = 0; i < WAIT_MS / 10; i++) {
        if (haproxy_status(f->h, server, status, sizeof status) == 1 &&
            strncmp(status, prefix, strlen(prefix)) == 0)
            return;
        test_sleep_ms(10);
    }
    fail_msg("%s never became %s (last %s)", server, prefix, status);
}

/* A spy between the actions and HAProxy; arg gets the --haproxy_socket
 * that goes through it. */
static struct hx_spy *spy_on(struct fixture *f, char *arg, size_t size)
{
    char spy_path[160];
    snprintf(spy_path, sizeof spy_path, "%s/spy.sock", f->st.dir);
    snprintf(arg, size, "--haproxy_socket=%s", spy_path);
    struct hx_spy *spy = hx_spy_start(spy_path, f->h->sock);
    assert_non_null(spy);
    return spy;
}

/* SIGTERM to the action once server shows status: it ends "interrupted". */
static void term_while(struct fixture *f, const char *action, const char **args,
                       const char *server, const char *status)
{
    struct action_result r;
    int out_fd, err_fd;
    pid_t pid = action_start(action, args, store_env(&f->st), &out_fd, &err_fd);
    wait_status(f, server, status);
    kill(pid, SIGTERM);
    action_wait(pid, out_fd, err_fd, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
}

/* A request through the frontend, on its own thread. */
struct request {
    pthread_t thread;
    int port;
    int status;
    char *body;
    volatile int done;
};

static void *request_main(void *arg)
{
    struct request *r = arg;
    r->status = hx_http_get("127.0.0.1", r->port, "/", &r->body);
    __atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* A slow request in flight on node k. Round robin decides where a request
 * lands, so fire until one lands on k (the others, fast, just finish). */
static void slow_request_on(struct fixture *f, int k, long ms, struct request *r)
{
    assert_int_equal(demo_node_slow(&f->node[k], ms), 0);
    for (int attempt = 0; attempt < 2 * NODES; attempt++) {
        memset(r, 0, sizeof *r);
        r->port = f->h->port;
        assert_int_equal(pthread_create(&r->thread, NULL, request_main, r), 0);
        for (int i = 0; i < WAIT_MS / 10; i++) {
            if (demo_node_in_flight(&f->node[k]) == 1)
                return;
            if (__atomic_load_n(&r->done, __ATOMIC_SEQ_CST))
                break;
            test_sleep_ms(10);
        }
        pthread_join(r->thread, NULL);
        free(r->body);
    }
    fail_msg("no request landed on %s", f->node[k].name);
}

/* ------------------------------------------------------------------ tests -- */

static void test_add_three_spreads_traffic(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    int counts[NODES];

    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1", f->sock_arg,
                               NULL),
                     0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_string_equal(jx_str(r.json, "backend", ""), BACKEND);
    struct json_object *srv = jx_obj(r.json, "server");
    assert_string_equal(jx_str(srv, "member", ""), "web-1");
    assert_string_equal(jx_str(srv, "address", ""), "127.0.1.11");
    assert_int_equal(jx_int(srv, "port", 0), f->node[0].port);
    assert_string_equal(jx_str(srv, "state", ""), "ready");
    action_result_free(&r);
    lb_add(f, "web-2", true);
    lb_add(f, "web-3", true);

    spread(f, 30, counts);
    for (int k = 0; k < NODES; k++)
        if (counts[k] < 5)
            fail_msg("%s answered %d of 30", f->node[k].name, counts[k]);
    assert_int_equal(counts[0] + counts[1] + counts[2], 30);
}

static void test_add_retry_is_idempotent(void **state)
{
    struct fixture *f = *state;
    char *servers, cmd[128];
    lb_add(f, "web-1", true);
    lb_add(f, "web-1", false);
    servers = haproxy_servers(f->h);
    assert_non_null(servers);
    assert_null(strchr(servers, ',')); /* one server, not two */
    free(servers);

    /* a server left in maintenance (a crash between add and enable) is enabled */
    snprintf(cmd, sizeof cmd, "add server %s/web-2 %s:%d check inter 2s rise 2 fall 3",
             BACKEND, f->node[1].addr, f->node[1].port);
    free(haproxy_cmd(f->h, cmd));
    wait_status(f, "web-2", "MAINT");
    lb_add(f, "web-2", true);
    wait_status(f, "web-2", "UP");
}

static void test_add_conflicting_address_refused(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "add server %s/web-1 127.0.1.99:%d", BACKEND, f->node[0].port);
    free(haproxy_cmd(f->h, cmd));
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1", f->sock_arg,
                               NULL),
                     2);
    assert_string_equal(action_error_code(&r), "lb_conflict");
    action_result_free(&r);
    char *stat = haproxy_cmd(f->h, "show stat " BACKEND " 4 -1");
    assert_non_null(strstr(stat, "127.0.1.99:")); /* left as it was */
    free(stat);
}

static void test_failed_add_leaves_no_server(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char arg[192];
    struct hx_spy *spy = spy_on(f, arg, sizeof arg);

    /* the server is added, then taking it out of maintenance fails */
    hx_spy_fail_next(spy, "set server", "Permission denied");
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1", arg, NULL), 1);
    assert_string_equal(action_error_code(&r), "lb_permission_denied");
    assert_non_null(strstr(r.out, "removed again"));
    action_result_free(&r);
    char *log = hx_spy_log(spy);
    assert_non_null(strstr(log, "add server " BACKEND "/web-1"));
    assert_non_null(strstr(log, "del server " BACKEND "/web-1"));
    free(log);
    char *servers = haproxy_servers(f->h);
    assert_string_equal(servers, ""); /* no disabled server left behind */
    free(servers);

    /* the same when the health check step fails */
    hx_spy_fail_next(spy, "enable health", "Unknown command, but maybe one of the following");
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-2", arg, NULL), 1);
    assert_string_equal(action_error_code(&r), "lb_error");
    action_result_free(&r);
    servers = haproxy_servers(f->h);
    assert_string_equal(servers, "");
    free(servers);

    /* and the retry, with HAProxy behaving, succeeds */
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1", arg, NULL), 0);
    action_result_free(&r);
    hx_spy_stop(spy);
}

static void test_remove_drains_gently(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    struct request slow;
    int counts[NODES];
    for (int k = 0; k < NODES; k++)
        lb_add(f, f->node[k].name, true);

    slow_request_on(f, 0, 4000, &slow);
    long long served_before = demo_node_served(&f->node[0]);
    const char *args[] = {"--name=web", "--node=web-1", "--drain_timeout=60", f->sock_arg,
                          NULL};
    int out_fd, err_fd;
    pid_t pid = action_start("lb_remove", args, store_env(&f->st), &out_fd, &err_fd);
    wait_status(f, "web-1", "DRAIN");

    /* during the drain: traffic goes on, none of it to web-1 */
    spread(f, 12, counts);
    assert_int_equal(counts[0], 0);
    assert_int_equal(counts[1] + counts[2], 12);

    action_wait(pid, out_fd, err_fd, &r);
    if (r.status != 0 || !r.json)
        fail_msg("lb_remove: %s %s", r.out, r.err);
    assert_true(jx_bool(r.json, "changed", false));
    assert_true(jx_bool(r.json, "drained", false));
    assert_false(jx_bool(r.json, "sessions_cut", true));
    action_result_free(&r);

    /* the request in flight when the drain began completed */
    pthread_join(slow.thread, NULL);
    assert_int_equal(slow.status, 200);
    assert_string_equal(slow.body, "node web-1\n");
    free(slow.body);
    assert_int_equal(demo_node_served(&f->node[0]), served_before + 1);

    /* removed: it gets nothing more */
    char status[64];
    assert_int_equal(haproxy_status(f->h, "web-1", status, sizeof status), 0);
    spread(f, 12, counts);
    assert_int_equal(counts[0], 0);
    assert_int_equal(demo_node_served(&f->node[0]), served_before + 1);

    /* a retry finds it gone */
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-1", f->sock_arg,
                               NULL),
                     0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_false(jx_bool(r.json, "existed", true));
    action_result_free(&r);
}

static void test_remove_cuts_at_deadline(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    struct request slow;
    lb_add(f, "web-1", true);
    slow_request_on(f, 0, 30000, &slow);
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-1",
                               "--drain_timeout=1", f->sock_arg, NULL),
                     0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_false(jx_bool(r.json, "drained", true));
    assert_true(jx_bool(r.json, "sessions_cut", false));
    assert_int_equal(jx_int(r.json, "sessions_left", 0), 1);
    assert_non_null(strstr(jx_str(r.json, "message", ""), "cut"));
    action_result_free(&r);
    char status[64];
    assert_int_equal(haproxy_status(f->h, "web-1", status, sizeof status), 0);
    pthread_join(slow.thread, NULL);
    assert_int_not_equal(slow.status, 200);
    free(slow.body);
}

/* The teardown chain: lb_remove works on a draining node of a group being
 * deleted, and succeeds when its target is already gone - the member, or
 * the node's record (the member is then found by the node's name). */
static void test_remove_draining_node_of_retired_group(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    int counts[NODES];
    for (int k = 0; k < NODES; k++)
        lb_add(f, f->node[k].name, true);
    put_node(f, "web", "web-1", "draining", f->node[0].addr, f->node[0].port, NULL);
    assert_int_equal(store_run(&f->st, "asg_retire", &r, "--name=web", NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);

    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-1",
                               "--drain_timeout=5", f->sock_arg, NULL),
                     0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_true(jx_bool(r.json, "existed", false));
    action_result_free(&r);
    char status[64];
    assert_int_equal(haproxy_status(f->h, "web-1", status, sizeof status), 0);
    /* member already absent */
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-1", f->sock_arg,
                               NULL),
                     0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_false(jx_bool(r.json, "existed", true));
    action_result_free(&r);

    /* web-2's record is gone but its member is still there: found by name */
    char key[KEY_MAX];
    store_del(&f->st, key_node(key, "web", "web-2"));
    assert_int_equal(haproxy_status(f->h, "web-2", status, sizeof status), 1);
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-2",
                               "--drain_timeout=5", f->sock_arg, NULL),
                     0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_string_equal(jx_str(r.json, "member", ""), "web-2");
    action_result_free(&r);
    assert_int_equal(haproxy_status(f->h, "web-2", status, sizeof status), 0);
    /* and a retry of that: record and member both gone */
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-2", f->sock_arg,
                               NULL),
                     0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_false(jx_bool(r.json, "existed", true));
    action_result_free(&r);

    /* web-3 still serves everything */
    spread(f, 6, counts);
    assert_int_equal(counts[2], 6);
}

static void test_sync_after_restart(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    int counts[NODES];
    char cmd[128];
    for (int k = 0; k < NODES; k++)
        lb_add(f, f->node[k].name, true);

    assert_int_equal(haproxy_restart(f->h), 0);
    char *servers = haproxy_servers(f->h);
    assert_string_equal(servers, ""); /* a restart forgets dynamic servers */
    free(servers);
    /* a stranger, added by hand, and a node on its way out */
    free(haproxy_cmd(f->h, "add server " BACKEND "/stray 127.0.1.99:9"));
    free(haproxy_cmd(f->h, "enable server " BACKEND "/stray"));
    put_node(f, "web", "web-9", "draining", "127.0.1.19", 9, NULL);
    free(haproxy_cmd(f->h, "add server " BACKEND "/web-9 127.0.1.19:9"));
    /* and a record that cannot be added: active without an address */
    put_node(f, "web", "web-8", "active", "", 0, NULL);

    assert_int_equal(store_run(&f->st, "lb_sync", &r, "--name=web", "--dry_run", f->sock_arg, NULL),
                     0);
    assert_true(jx_bool(r.json, "dry_run", false));
    assert_int_equal(json_object_array_length(jx_arr(r.json, "added")), 3);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "removed")), 2);
    action_result_free(&r);
    servers = haproxy_servers(f->h);
    assert_non_null(strstr(servers, "stray")); /* a dry run changes nothing */
    assert_null(strstr(servers, "web-1"));
    free(servers);

    assert_int_equal(store_run(&f->st, "lb_sync", &r, "--name=web", f->sock_arg, NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_string_equal(json_object_to_json_string(jx_arr(r.json, "added")),
                        "[ \"web-1\", \"web-2\", \"web-3\" ]");
    assert_string_equal(json_object_to_json_string(jx_arr(r.json, "removed")),
                        "[ \"stray\", \"web-9\" ]");
    struct json_object *skipped = jx_arr(r.json, "skipped");
    assert_int_equal(json_object_array_length(skipped), 1);
    assert_string_equal(jx_str(json_object_array_get_idx(skipped, 0), "name", ""), "web-8");
    action_result_free(&r);
    servers = haproxy_servers(f->h);
    assert_null(strstr(servers, "stray"));
    assert_null(strstr(servers, "web-9"));
    free(servers);

    /* lb_sync does not wait for checks: each is ready once its own passes */
    for (int k = 0; k < NODES; k++)
        wait_status(f, f->node[k].name, "UP");
    spread(f, 30, counts);
    for (int k = 0; k < NODES; k++)
        if (counts[k] < 5)
            fail_msg("%s answered %d of 30 after the sync", f->node[k].name, counts[k]);

    /* run again: nothing to do */
    assert_int_equal(store_run(&f->st, "lb_sync", &r, "--name=web", f->sock_arg, NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_int_equal(json_object_array_length(jx_arr(r.json, "kept")), 3);
    action_result_free(&r);

    /* a server in maintenance and one at a wrong address are put right */
    free(haproxy_cmd(f->h, "set server " BACKEND "/web-2 state maint"));
    free(haproxy_cmd(f->h, "set server " BACKEND "/web-3 state maint"));
    free(haproxy_cmd(f->h, "del server " BACKEND "/web-3"));
    snprintf(cmd, sizeof cmd, "add server %s/web-3 127.0.1.98:%d", BACKEND, f->node[2].port);
    free(haproxy_cmd(f->h, cmd));
    assert_int_equal(store_run(&f->st, "lb_sync", &r, "--name=web", f->sock_arg, NULL), 0);
    assert_string_equal(json_object_to_json_string(jx_arr(r.json, "enabled")), "[ \"web-2\" ]");
    assert_string_equal(json_object_to_json_string(jx_arr(r.json, "replaced")), "[ \"web-3\" ]");
    action_result_free(&r);
    wait_status(f, "web-2", "UP");
    wait_status(f, "web-3", "UP");
    spread(f, 30, counts);
    for (int k = 0; k < NODES; k++)
        assert_true(counts[k] >= 5);
}

/* Nothing reaches the socket when a name could carry a command. */
static void test_injection_refused_before_sending(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char spy_path[160], arg[192], key[KEY_MAX];
    snprintf(spy_path, sizeof spy_path, "%s/spy.sock", f->st.dir);
    snprintf(arg, sizeof arg, "--haproxy_socket=%s", spy_path);
    struct hx_spy *spy = hx_spy_start(spy_path, f->h->sock);
    assert_non_null(spy);

    const char *nodes[] = {"--node=web-1;shutdown sessions server " BACKEND "/web-2",
                           "--node=web-1 x", "--node=web-1\nshow info",
                           "--node=../web-1"};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", nodes[i], arg, NULL), 2);
        action_result_free(&r);
        assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", nodes[i], arg, NULL), 2);
        action_result_free(&r);
    }
    /* a record whose address would smuggle options */
    put_node(f, "web", "web-5", "active", "127.0.1.11:80 check;show info", 0, NULL);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-5", arg, NULL), 2);
    assert_string_equal(action_error_code(&r), "invalid_address");
    action_result_free(&r);

    /* a stored spec whose backend would (asg_define refuses such a name) */
    struct as_error err;
    char *text = NULL;
    struct ds *ds = store_open(&f->st);
    assert_int_equal(ds_get(ds, key_spec(key, "web"), &text, &err), 0);
    struct json_object *spec = json_tokener_parse(text);
    free(text);
    jx_add_str(spec, "lb_backend", BACKEND ";shutdown sessions server " BACKEND "/web-2");
    assert_int_equal(ds_put(ds, key, json_object_to_json_string(spec), 0, &err), 0);
    json_object_put(spec);
    ds_close(ds);
    assert_int_equal(store_run(&f->st, "lb_sync", &r, "--name=web", arg, NULL), 2);
    assert_string_equal(action_error_code(&r), "invalid_backend");
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1", arg, NULL), 2);
    action_result_free(&r);

    assert_int_equal(hx_spy_count(spy), 0);
    char *servers = haproxy_servers(f->h);
    assert_string_equal(servers, "");
    free(servers);
    hx_spy_stop(spy);
}

static void test_errors(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char arg[192];

    /* unknown backend */
    assert_int_equal(store_run(&f->st, "asg_define", &r, "--compute_provider=local", "--name=other", "--lb_provider=haproxy",
                               "--lb_backend=nope", NULL),
                     0);
    action_result_free(&r);
    put_node(f, "other", "other-1", "active", "127.0.1.11", f->node[0].port, NULL);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=other", "--node=other-1", f->sock_arg,
                               NULL),
                     2);
    assert_string_equal(action_error_code(&r), "lb_backend_not_found");
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_sync", &r, "--name=other", f->sock_arg, NULL), 2);
    assert_string_equal(action_error_code(&r), "lb_backend_not_found");
    action_result_free(&r);

    /* no socket there */
    snprintf(arg, sizeof arg, "--haproxy_socket=%s/missing.sock", f->st.dir);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1", arg, NULL), 1);
    assert_string_equal(action_error_code(&r), "lb_unreachable");
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-1", arg, NULL),
                     1);
    assert_string_equal(action_error_code(&r), "lb_unreachable");
    action_result_free(&r);

    /* no socket configured */
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1", NULL), 2);
    assert_string_equal(action_error_code(&r), "bad_settings");
    action_result_free(&r);

    /* unknown group, unknown node, a node not active, bad parameters */
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=ghost", "--node=web-1", f->sock_arg,
                               NULL),
                     2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-7", f->sock_arg,
                               NULL),
                     2);
    assert_string_equal(action_error_code(&r), "unknown_node");
    action_result_free(&r);
    /* a node without a record (a previous run removed it) is not an error
     * for lb_remove: nothing of it is in the backend, nothing changes */
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-7", f->sock_arg,
                               NULL),
                     0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_false(jx_bool(r.json, "existed", true));
    action_result_free(&r);
    put_node(f, "web", "web-6", "building", "", 0, NULL);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-6", f->sock_arg,
                               NULL),
                     2);
    assert_string_equal(action_error_code(&r), "node_not_active");
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", f->sock_arg, NULL), 2);
    assert_string_equal(action_error_code(&r), "missing_parameter");
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=web", "--node=web-1",
                               "--drain_timeout=99999", f->sock_arg, NULL),
                     2);
    assert_string_equal(action_error_code(&r), "invalid_parameter");
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1",
                               "--haproxy_check=maybe", f->sock_arg, NULL),
                     2);
    assert_string_equal(action_error_code(&r), "invalid_parameter"); /* the enum, at parse */
    action_result_free(&r);

    /* a group without a load balancer: success, saying so */
    assert_int_equal(store_run(&f->st, "asg_define", &r, "--compute_provider=local", "--name=plain", NULL), 0);
    action_result_free(&r);
    put_node(f, "plain", "plain-1", "active", "127.0.1.11", 80, NULL);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=plain", "--node=plain-1", NULL), 0);
    assert_string_equal(jx_str(r.json, "provider", ""), "none");
    assert_false(jx_bool(r.json, "changed", true));
    assert_non_null(strstr(jx_str(r.json, "message", ""), "nothing to do"));
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_sync", &r, "--name=plain", NULL), 0);
    action_result_free(&r);
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=plain", "--node=plain-1", NULL), 0);
    action_result_free(&r);

    char *servers = haproxy_servers(f->h);
    assert_string_equal(servers, "");
    free(servers);
}

static void test_sigterm_during_drain(void **state)
{
    struct fixture *f = *state;
    struct request slow;
    lb_add(f, "web-1", true);
    slow_request_on(f, 0, 30000, &slow);
    const char *args[] = {"--name=web", "--node=web-1", "--drain_timeout=600", f->sock_arg,
                          NULL};
    term_while(f, "lb_remove", args, "web-1", "DRAIN");
    char status[64];
    assert_int_equal(haproxy_status(f->h, "web-1", status, sizeof status), 1);
    assert_true(strncmp(status, "DRAIN", 5) == 0); /* left draining: a rerun finishes it */
    /* end the slow request so the thread can be joined */
    free(haproxy_cmd(f->h, "shutdown sessions server " BACKEND "/web-1"));
    pthread_join(slow.thread, NULL);
    free(slow.body);
}

/* Where in the spy's log a command first appears (-1: never). */
static long log_at(const char *log, const char *cmd)
{
    const char *p = strstr(log, cmd);
    return p ? (long)(p - log) : -1;
}

/* A new server gets no request before its own check has passed: it leaves
 * maintenance through drain with its health forced down, and lb_add
 * returns once HAProxy says UP. A node that never answers is refused with
 * lb_unhealthy while every request keeps going to the healthy one (with a
 * plain "enable server" HAProxy takes it for UP and sends it requests for
 * the seconds its checks take to fail). */
static void test_add_waits_for_health_check(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char arg[192];
    struct hx_spy *spy = spy_on(f, arg, sizeof arg);

    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-1", arg, NULL), 0);
    assert_true(strncmp(jx_str(jx_obj(r.json, "server"), "status", ""), "UP", 2) == 0);
    assert_true(jx_int(r.json, "health_wait_ms", -1) >= 0);
    action_result_free(&r);
    char *log = hx_spy_log(spy);
    long add = log_at(log, "add server " BACKEND "/web-1"),
         health = log_at(log, "enable health " BACKEND "/web-1"),
         drain = log_at(log, "set server " BACKEND "/web-1 state drain"),
         down = log_at(log, "set server " BACKEND "/web-1 health down"),
         ready = log_at(log, "set server " BACKEND "/web-1 state ready");
    assert_true(add >= 0 && add < health && health < drain && drain < down && down < ready);
    assert_int_equal(log_at(log, "enable server " BACKEND "/web-1"), -1);
    free(log);
    hx_spy_stop(spy);

    /* nothing listens at 127.0.1.27:9 */
    put_node(f, "web", "web-7", "active", "127.0.1.27", 9, NULL);
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-7",
                               "--check_timeout=1", f->sock_arg, NULL),
                     1);
    assert_string_equal(action_error_code(&r), "lb_unhealthy");
    action_result_free(&r);
    char status[64];
    assert_int_equal(haproxy_status(f->h, "web-7", status, sizeof status), 1);
    assert_true(strncmp(status, "DOWN", 4) == 0); /* in, ready, and given nothing */
    for (int i = 0; i < 20; i++) {
        char *body = NULL;
        assert_int_equal(hx_http_get("127.0.0.1", f->h->port, "/", &body), 200);
        assert_string_equal(body, "node web-1\n");
        free(body);
    }

    /* SIGTERM while waiting: prompt, "interrupted", the server left in */
    put_node(f, "web", "web-6", "active", "127.0.1.26", 9, NULL);
    const char *args[] = {"--name=web", "--node=web-6", "--check_timeout=600", f->sock_arg,
                          NULL};
    term_while(f, "lb_add", args, "web-6", "DOWN");

    /* with checks off there is nothing to wait for */
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=web", "--node=web-2",
                               "--haproxy_check=off", f->sock_arg, NULL),
                     0);
    assert_int_equal(jx_int(r.json, "health_wait_ms", -1), 0);
    action_result_free(&r);
}

static void test_digitalocean(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char url[128];
    struct fake_dolb *fake = fake_dolb_start(DO_TOKEN);
    assert_non_null(fake);
    fake_dolb_add_lb(fake, DO_LB, NULL);
    fake_dolb_add_droplet(fake, 3164444);
    fake_dolb_add_droplet(fake, 3164445);
    fake_dolb_attach(fake, DO_LB, 777); /* a stranger */
    snprintf(url, sizeof url, "--digitalocean_api_url=%s", fake_dolb_url(fake));
    const char *tok = "--digitalocean_token=" DO_TOKEN, *lbid = "--digitalocean_lb_id=" DO_LB;

    assert_int_equal(store_run(&f->st, "asg_define", &r, "--name=dob", "--lb_provider=digitalocean",
                               "--compute_provider=digitalocean", NULL),
                     0);
    action_result_free(&r);
    put_node(f, "dob", "dob-1", "active", "10.0.0.11", 0, "3164444");
    put_node(f, "dob", "dob-2", "active", "10.0.0.12", 0, "3164445");

    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=dob", "--node=dob-1", tok, url, lbid,
                               NULL),
                     0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_string_equal(jx_str(jx_obj(r.json, "server"), "member", ""), "3164444");
    assert_null(strstr(r.out, DO_TOKEN));
    assert_null(strstr(r.err, DO_TOKEN));
    action_result_free(&r);
    assert_true(fake_dolb_has(fake, DO_LB, 3164444));
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=dob", "--node=dob-1", tok, url, lbid,
                               NULL),
                     0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);

    assert_int_equal(store_run(&f->st, "lb_sync", &r, "--name=dob", tok, url, lbid, NULL), 0);
    assert_string_equal(json_object_to_json_string(jx_arr(r.json, "added")), "[ \"dob-2\" ]");
    assert_string_equal(json_object_to_json_string(jx_arr(r.json, "removed")), "[ \"777\" ]");
    action_result_free(&r);
    assert_false(fake_dolb_has(fake, DO_LB, 777));
    assert_int_equal(fake_dolb_count(fake, DO_LB), 2);

    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=dob", "--node=dob-1", tok, url,
                               lbid, NULL),
                     0);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    assert_false(fake_dolb_has(fake, DO_LB, 3164444));

    /* a node whose record is gone: its droplet id is unknown, so nothing is
     * touched, and that is said */
    size_t before = fake_dolb_count(fake, DO_LB);
    assert_int_equal(store_run(&f->st, "lb_remove", &r, "--name=dob", "--node=dob-9", tok, url,
                               lbid, NULL),
                     0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_false(jx_bool(r.json, "existed", true));
    assert_non_null(strstr(jx_str(r.json, "message", ""), "cannot be identified"));
    action_result_free(&r);
    assert_int_equal(fake_dolb_count(fake, DO_LB), before);

    /* a wrong token: its own error, and the token in no output */
    assert_int_equal(store_run(&f->st, "lb_add", &r, "--name=dob", "--node=dob-1",
                               "--digitalocean_token=dop_v1_wrongwrongwrong", url, lbid, NULL),
                     1);
    assert_string_equal(action_error_code(&r), "lb_unauthorized");
    assert_null(strstr(r.out, "dop_v1_wrongwrongwrong"));
    assert_null(strstr(r.err, "dop_v1_wrongwrongwrong"));
    action_result_free(&r);
    fake_dolb_stop(fake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_three_spreads_traffic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_retry_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_conflicting_address_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_add_leaves_no_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_waits_for_health_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_drains_gently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_cuts_at_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_draining_node_of_retired_group, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sync_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injection_refused_before_sending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_during_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digitalocean, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
