/* End-to-end tests of health_check: the action binary run as st2 runs it,
 * on nodes the local provider started (the pack's demo app, on their own
 * loopback addresses) behind a real HAProxy, with the datastore checked
 * afterwards.
 *
 * The clock of every health_check run is pinned (AUTOSCALE_TEST_NOW)
 * relative to the node record's own updated_at, so the grace period is
 * exact; no assertion depends on timing: a killed process is seen dead by
 * the provider at once, and a server HAProxy is told to mark DOWN is waited
 * for in HAProxy's own stats before any probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "haproxy_server.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"
#include "test_util.h"

#define BACKEND "web-be"
#define WAIT_MS 20000 /* upper bound on waiting for a state: never an assertion */

struct fixture {
    struct store_fixture st;
    struct haproxy_server *h;
    char local[128], local_arg[160], port_arg[48], sock_arg[192];
    long long up;   /* the later of the nodes' updated_at: both active by then */
    long long up_a; /* web-a's own updated_at: where its grace period starts */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(store_fixture_open(&f->st, "as-health"), 0);
    *state = f;
    snprintf(f->local, sizeof f->local, "%s/local", f->st.dir);
    snprintf(f->local_arg, sizeof f->local_arg, "--local_dir=%s", f->local);
    int port = test_free_port(NULL, false);
    assert_true(port > 0);
    snprintf(f->port_arg, sizeof f->port_arg, "--local_port=%d", port);
    f->h = haproxy_start(BACKEND);
    assert_non_null(f->h);
    snprintf(f->sock_arg, sizeof f->sock_arg, "--haproxy_socket=%s", f->h->sock);
    return 0;
}

/* Whatever a test left running is stopped by its pid in the registry. */
static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "for j in '%s'/*.json; do [ -f \"$j\" ] || continue; "
             "p=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' \"$j\"); "
             "[ -n \"$p\" ] && kill -9 -\"$p\" 2>/dev/null; done",
             f->local);
    if (system(cmd) != 0)
        fprintf(stderr, "teardown: cleanup command failed\n");
    haproxy_stop(f->h);
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

/* Run an action with the pack config's provider settings, as st2 passes
 * them, and up to 6 more arguments. */
static int run(struct fixture *f, const char *name, struct action_result *r, ...)
{
    const char *args[12] = {f->local_arg, f->port_arg, f->sock_arg};
    size_t n = 3;
    va_list ap;
    va_start(ap, r);
    for (const char *a; n < 11 && (a = va_arg(ap, const char *));)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    if (strncmp(name, "asg_", 4) == 0) /* group actions take no provider settings */
        memmove(args, args + 3, (n - 2) * sizeof *args);
    else if (strcmp(name, "add_node") == 0) /* nor the lb's */
        memmove(args + 2, args + 3, (n - 2) * sizeof *args);
    else if (strcmp(name, "lb_add") == 0) /* nor the compute ones */
        memmove(args, args + 2, (n - 1) * sizeof *args);
    return store_runv(&f->st, name, args, r);
}

static void ok(struct fixture *f, const char *name, ...)
{
    struct action_result r;
    const char *a[8] = {0};
    va_list ap;
    va_start(ap, name);
    for (int i = 0; i < 7 && (a[i] = va_arg(ap, const char *)); i++)
        ;
    va_end(ap);
    if (run(f, name, &r, a[0], a[1], a[2], a[3], a[4], a[5], a[6], NULL) != 0)
        fail_msg("%s: %s %s", name, r.out, r.err);
    action_result_free(&r);
}

static struct json_object *node_record(struct fixture *f, const char *node)
{
    char key[KEY_MAX], *v = NULL;
    struct as_error err;
    struct ds *ds = store_open(&f->st);
    assert_int_equal(ds_get(ds, key_node(key, "web", node), &v, &err), 0);
    ds_close(ds);
    struct json_object *o = json_tokener_parse(v);
    free(v);
    assert_non_null(o);
    return o;
}

/* A group of two active nodes in HAProxy (checks on), each shown UP. */
static void two_nodes(struct fixture *f, const char *spec)
{
    ok(f, "asg_define", "--compute_provider=local", "--name=web", "--min=1",
       "--lb_provider=haproxy", "--lb_backend=" BACKEND, spec, NULL);
    ok(f, "add_node", "--name=web", "--node=web-a", NULL);
    ok(f, "add_node", "--name=web", "--node=web-b", NULL);
    ok(f, "lb_add", "--name=web", "--node=web-a", NULL);
    ok(f, "lb_add", "--name=web", "--node=web-b", NULL);
    struct json_object *a = node_record(f, "web-a"), *b = node_record(f, "web-b");
    long long ua = jx_int(a, "updated_at", 0), ub = jx_int(b, "updated_at", 0);
    json_object_put(a);
    json_object_put(b);
    assert_true(ua > 0 && ub > 0);
    f->up = ua > ub ? ua : ub;
    f->up_a = ua;
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

/* health_check at `at` seconds after the nodes became active; *r kept. */
static void check_at(struct fixture *f, long long at, struct action_result *r, ...)
{
    const char *a[4] = {0};
    va_list ap;
    va_start(ap, r);
    for (int i = 0; i < 3 && (a[i] = va_arg(ap, const char *)); i++)
        ;
    va_end(ap);
    f->st.now = f->up + at;
    if (run(f, "health_check", r, "--name=web", a[0], a[1], a[2], NULL) != 0)
        fail_msg("health_check: %s %s", r->out, r->err);
    f->st.now = 0;
}

/* The output's entry for node. */
static struct json_object *entry(const struct action_result *r, const char *node)
{
    struct json_object *nodes = jx_arr(r->json, "nodes");
    for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
        struct json_object *o = json_object_array_get_idx(nodes, i);
        if (strcmp(jx_str(o, "node", ""), node) == 0)
            return o;
    }
    fail_msg("no entry for %s in %s", node, r->out);
    return NULL;
}

/* The stored record's status ("" when there is none) and failures. */
static const char *stored(struct fixture *f, const char *node, long long *failures)
{
    static char status[32];
    char key[KEY_MAX], *v = NULL;
    struct as_error err;
    struct ds *ds = store_open(&f->st);
    int rc = ds_get(ds, key_health(key, "web", node), &v, &err);
    ds_close(ds);
    status[0] = '\0';
    if (rc == 0) {
        struct json_object *o = json_tokener_parse(v);
        snprintf(status, sizeof status, "%s", jx_str(o, "status", ""));
        if (failures)
            *failures = jx_int(o, "failures", -1);
        json_object_put(o);
    }
    free(v);
    return status;
}

/* SIGKILL the node's process, and wait until it is dead (gone, or a zombie
 * nobody reaps): kill() returns before the signal has taken effect, and a
 * probe in between would still see the node serve. */
static void kill_node(struct fixture *f, const char *node)
{
    char cmd[768];
    snprintf(cmd, sizeof cmd,
             "p=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' '%s/web.%s.json'); "
             "[ -n \"$p\" ] && kill -9 -\"$p\" || exit 1; "
             "i=0; while [ -e /proc/$p ] && ! grep -q ') Z' /proc/$p/stat 2>/dev/null; do "
             "i=$((i+1)); [ $i -gt %d ] && exit 1; sleep 0.01; done; exit 0",
             f->local, node, WAIT_MS / 10);
    assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------------ tests -- */

static void test_healthy_nodes_are_healthy(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    two_nodes(f, "--health_grace=60");
    wait_status(f, "web-a", "UP");
    wait_status(f, "web-b", "UP");
    check_at(f, 3600, &r, NULL);
    assert_true(jx_bool(r.json, "probed", false));
    assert_false(jx_bool(r.json, "dry_run", true));
    assert_int_equal(jx_int(r.json, "unhealthy", -1), 0);
    struct json_object *a = entry(&r, "web-a");
    assert_string_equal(jx_str(a, "status", ""), "healthy");
    assert_string_equal(jx_str(jx_obj(a, "checks"), "provider", ""), "active");
    /* "UP", or "UP 1/3" while HAProxy has yet to run its first check */
    assert_int_equal(strncmp(jx_str(jx_obj(a, "checks"), "lb", ""), "UP", 2), 0);
    assert_string_equal(jx_str(jx_obj(a, "checks"), "http", ""), "none");
    action_result_free(&r);
    assert_string_equal(stored(f, "web-a", NULL), "healthy");
    assert_string_equal(stored(f, "web-b", NULL), "healthy");
}

static void test_killed_node_unhealthy_after_threshold_not_before(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    long long failures = -1;
    two_nodes(f, "--health_grace=60");
    check_at(f, 3600, &r, NULL);
    action_result_free(&r);
    kill_node(f, "web-a");
    for (int probe = 1; probe <= 3; probe++) {
        check_at(f, 3600 + 30 * probe, &r, NULL);
        struct json_object *a = entry(&r, "web-a");
        assert_int_equal(jx_int(a, "failures", -1), probe);
        assert_string_equal(jx_str(a, "status", ""), probe < 3 ? "healthy" : "unhealthy");
        assert_int_equal(strncmp(jx_str(jx_obj(a, "checks"), "provider", ""), "error", 5), 0);
        assert_string_equal(jx_str(entry(&r, "web-b"), "status", ""), "healthy");
        assert_int_equal(jx_int(r.json, "unhealthy", -1), probe < 3 ? 0 : 1);
        action_result_free(&r);
        assert_string_equal(stored(f, "web-a", &failures), probe < 3 ? "healthy" : "unhealthy");
        assert_int_equal(failures, probe);
    }
}

static void test_grace_period_counts_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    long long failures = -1;
    two_nodes(f, "--health_grace=300");
    kill_node(f, "web-a");
    /* Counted from web-a's own activation: web-b's may be a second later
     * (a slow machine between the two add_node runs), which would move the
     * edge this test looks at. */
    f->up = f->up_a;
    for (int probe = 0; probe < 5; probe++) { /* more than the threshold */
        check_at(f, 10 + probe, &r, NULL);
        struct json_object *a = entry(&r, "web-a");
        assert_string_equal(jx_str(a, "status", ""), "grace");
        assert_int_equal(jx_int(a, "failures", -1), 0);
        action_result_free(&r);
    }
    check_at(f, 299, &r, NULL);
    assert_string_equal(jx_str(entry(&r, "web-a"), "status", ""), "grace");
    action_result_free(&r);
    check_at(f, 300, &r, NULL); /* the first probe past grace counts one */
    assert_int_equal(jx_int(entry(&r, "web-a"), "failures", -1), 1);
    action_result_free(&r);
    assert_string_equal(stored(f, "web-a", &failures), "healthy");
    assert_int_equal(failures, 1);
}

static void test_haproxy_down_makes_unhealthy(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char cmd[160], *reply;
    two_nodes(f, "--health_grace=0");
    wait_status(f, "web-a", "UP");
    /* The check goes to a port nobody serves, so HAProxy keeps it DOWN
     * (the process lives on: only the load balancer's view says so). */
    int closed = test_free_port("127.0.0.1", false);
    snprintf(cmd, sizeof cmd, "set server " BACKEND "/web-a check-port %d", closed);
    reply = haproxy_cmd(f->h, cmd);
    assert_non_null(reply);
    free(reply);
    reply = haproxy_cmd(f->h, "set server " BACKEND "/web-a health down");
    assert_non_null(reply);
    free(reply);
    wait_status(f, "web-a", "DOWN");
    for (int probe = 1; probe <= 3; probe++) {
        check_at(f, 30 * probe, &r, NULL);
        struct json_object *a = entry(&r, "web-a");
        assert_string_equal(jx_str(jx_obj(a, "checks"), "provider", ""), "active");
        assert_int_equal(strncmp(jx_str(jx_obj(a, "checks"), "lb", ""), "DOWN", 4), 0);
        assert_string_equal(jx_str(a, "status", ""), probe < 3 ? "healthy" : "unhealthy");
        assert_non_null(strstr(jx_str(a, "reason", ""), "lb: DOWN"));
        assert_string_equal(jx_str(entry(&r, "web-b"), "status", ""), "healthy");
        action_result_free(&r);
    }
    assert_string_equal(stored(f, "web-a", NULL), "unhealthy");
}

static void test_http_check_and_one_pass_resets(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char *body = NULL;
    two_nodes(f, "--health_grace=0");
    ok(f, "asg_update", "--name=web", "--health_check_path=/health", "--health_threshold=2",
       NULL);
    struct json_object *rec = node_record(f, "web-a");
    const char *addr = jx_str(rec, "address", "");
    int port = (int)jx_int(rec, "port", 0);
    assert_int_equal(hx_http_get(addr, port, "/sick", &body), 200);
    free(body);
    check_at(f, 30, &r, NULL);
    struct json_object *a = entry(&r, "web-a");
    assert_string_equal(jx_str(jx_obj(a, "checks"), "http", ""), "503");
    assert_int_equal(jx_int(a, "failures", -1), 1);
    assert_string_equal(jx_str(jx_obj(entry(&r, "web-b"), "checks"), "http", ""), "200");
    action_result_free(&r);
    check_at(f, 60, &r, NULL);
    assert_string_equal(jx_str(entry(&r, "web-a"), "status", ""), "unhealthy");
    action_result_free(&r);
    assert_int_equal(hx_http_get(addr, port, "/recover", &body), 200);
    free(body);
    json_object_put(rec);
    check_at(f, 90, &r, NULL); /* one passing probe: healthy, count reset */
    assert_string_equal(jx_str(entry(&r, "web-a"), "status", ""), "healthy");
    assert_int_equal(jx_int(entry(&r, "web-a"), "failures", -1), 0);
    action_result_free(&r);
}

static void test_dry_run_writes_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    two_nodes(f, "--health_grace=0");
    kill_node(f, "web-a");
    store_put(&f->st, "autoscale.health.web.web-gone", "{\"node\":\"web-gone\"}");
    char *before = store_snapshot(&f->st);
    check_at(f, 30, &r, "--dry_run=true", NULL);
    assert_true(jx_bool(r.json, "dry_run", false));
    assert_int_equal(jx_int(entry(&r, "web-a"), "failures", -1), 1);
    assert_string_equal(json_object_get_string(
                            json_object_array_get_idx(jx_arr(r.json, "forgotten"), 0)),
                        "web-gone");
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* and for real: the stale record goes, the others are written */
    check_at(f, 30, &r, NULL);
    action_result_free(&r);
    assert_string_equal(stored(f, "web-gone", NULL), "");
    assert_string_equal(stored(f, "web-a", NULL), "healthy");
}

static void test_bad_input_refused_and_nothing_written(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    two_nodes(f, "--health_grace=0");
    char *before = store_snapshot(&f->st);
    static const char *const bad[] = {"--name=web;x", "--name=web\nx", "--name=Web",
                                      "--name=nosuch", "--dry_run=maybe", "--nosuch=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run(f, "health_check", &r, bad[i], NULL);
        if (rc != 2 || !r.json || !jx_obj(r.json, "error"))
            fail_msg("%s: exit %d, %s", bad[i], rc, r.out);
        /* one line: the whole document, then its newline */
        assert_ptr_equal(strchr(r.out, '\n'), r.out + strlen(r.out) - 1);
        action_result_free(&r);
    }
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_a_held_claim_means_nothing_written(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char key[KEY_MAX];
    two_nodes(f, "--health_grace=0");
    /* another prober at work: it holds the group's health claim */
    store_put(&f->st, key_health_lock(key, "web"), "{\"op\":\"health_check\"}");
    char *before = store_snapshot(&f->st);
    check_at(f, 30, &r, NULL);
    assert_false(jx_bool(r.json, "probed", true));
    assert_int_equal(json_object_array_length(jx_arr(r.json, "nodes")), 0);
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
    store_del(&f->st, key);
    check_at(f, 30, &r, NULL);
    assert_true(jx_bool(r.json, "probed", false));
    action_result_free(&r);
    assert_string_equal(stored(f, "web-a", NULL), "healthy");
    assert_int_equal(store_count(&f->st, "autoscale.healthlock."), 0); /* released */
}

/* Two runs at once, each of them counting a failure: whichever ran, the
 * count is the number of runs that wrote (never two writes read as one). */
static void test_concurrent_runs_count_once_each(void **state)
{
    struct fixture *f = *state;
    struct action_result r[2];
    long long failures = -1;
    two_nodes(f, "--health_grace=0");
    ok(f, "asg_update", "--name=web", "--health_threshold=100", NULL);
    kill_node(f, "web-a");
    const char *args[] = {"--name=web", f->local_arg, f->port_arg, f->sock_arg, NULL};
    f->st.now = f->up + 30;
    const char *const *env = store_env(&f->st);
    int out[2], err[2];
    pid_t pid[2];
    for (int i = 0; i < 2; i++)
        pid[i] = action_start("health_check", args, env, &out[i], &err[i]);
    int wrote = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(action_wait(pid[i], out[i], err[i], &r[i]), 0);
        wrote += jx_bool(r[i].json, "probed", false);
        action_result_free(&r[i]);
    }
    f->st.now = 0;
    assert_true(wrote >= 1);
    stored(f, "web-a", &failures);
    assert_int_equal(failures, wrote);
}

/* st2's timeout: SIGTERM while a node's HTTP check is in flight (seen in
 * the node's own /stats) ends the run, reporting it, with nothing written. */
static void test_sigterm_mid_probe_writes_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    two_nodes(f, "--health_grace=0");
    ok(f, "asg_update", "--name=web", "--health_check_path=/", NULL);
    struct json_object *rec = node_record(f, "web-a");
    struct demo_node n = {.port = (int)jx_int(rec, "port", 0)};
    snprintf(n.addr, sizeof n.addr, "%s", jx_str(rec, "address", ""));
    json_object_put(rec);
    assert_int_equal(demo_node_slow(&n, 60000), 0);
    char *before = store_snapshot(&f->st);
    const char *args[] = {"--name=web", f->local_arg, f->port_arg, f->sock_arg, NULL};
    int out_fd, err_fd;
    pid_t pid = action_start("health_check", args, store_env(&f->st), &out_fd, &err_fd);
    int seen = 0;
    for (int i = 0; i < WAIT_MS / 10 && !(seen = demo_node_in_flight(&n) == 1); i++)
        test_sleep_ms(10);
    assert_true(seen);
    kill(pid, SIGTERM);
    action_wait(pid, out_fd, err_fd, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(demo_node_slow(&n, 0), 0);
}

static void test_every_group_without_a_name(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    two_nodes(f, "--health_grace=0");
    f->st.now = f->up + 30;
    int rc = run(f, "health_check", &r, NULL);
    f->st.now = 0;
    if (rc != 0)
        fail_msg("%s %s", r.out, r.err);
    struct json_object *groups = jx_arr(r.json, "groups");
    assert_int_equal(json_object_array_length(groups), 1);
    struct json_object *g = json_object_array_get_idx(groups, 0);
    assert_string_equal(jx_str(g, "group", ""), "web");
    assert_int_equal(json_object_array_length(jx_arr(jx_obj(g, "result"), "nodes")), 2);
    action_result_free(&r);
}

int main(void)
{
    test_unset_proxies();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthy_nodes_are_healthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_node_unhealthy_after_threshold_not_before,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_grace_period_counts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_haproxy_down_makes_unhealthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_check_and_one_pass_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_refused_and_nothing_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_held_claim_means_nothing_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_runs_count_once_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_mid_probe_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_group_without_a_name, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
