/* End-to-end tests of the rolling refresh's actions (refresh_start,
 * refresh_step, refresh_wait, refresh_batch_done) and of what add_node
 * records for them, run as st2 runs them: nodes the local provider starts
 * (the pack's demo app on their own loopback addresses), a real HAProxy for
 * refresh_wait, the datastore checked afterwards. The workflow's part
 * (node_up, node_down) is played here by add_node and remove_node; the
 * whole workflow on st2lite is tests/workflows/test_refresh.py.
 *
 * No assertion depends on timing: refresh_wait is given a short timeout,
 * and a server HAProxy is told to mark DOWN is waited for in HAProxy's own
 * stats before it is asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct haproxy_server *h; /* only the tests that need one */
    char local[128], local_arg[160], port_arg[48], sock_arg[192];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(store_fixture_open(&f->st, "as-refresh"), 0);
    *state = f;
    snprintf(f->local, sizeof f->local, "%s/local", f->st.dir);
    snprintf(f->local_arg, sizeof f->local_arg, "--local_dir=%s", f->local);
    int port = test_free_port(NULL, false);
    assert_true(port > 0);
    snprintf(f->port_arg, sizeof f->port_arg, "--local_port=%d", port);
    snprintf(f->sock_arg, sizeof f->sock_arg, "--haproxy_socket=%s/none.sock", f->st.dir);
    return 0;
}

static int setup_haproxy(void **state)
{
    setup(state);
    struct fixture *f = *state;
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
    if (f->h)
        haproxy_stop(f->h);
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

/* Run an action with the provider settings it takes, as st2 passes them
 * from the pack config, and up to 7 more arguments. */
static int run(struct fixture *f, const char *name, struct action_result *r, ...)
{
    const char *args[14] = {f->local_arg, f->port_arg, f->sock_arg};
    size_t n = 3;
    va_list ap;
    va_start(ap, r);
    for (const char *a; n < 13 && (a = va_arg(ap, const char *));)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    if (strncmp(name, "asg_", 4) == 0 || strncmp(name, "refresh_", 8) == 0) {
        if (strcmp(name, "refresh_wait") != 0) /* the rest take no provider settings */
            memmove(args, args + 3, (n - 2) * sizeof *args);
    } else if (strcmp(name, "add_node") == 0 || strcmp(name, "remove_node") == 0) {
        memmove(args + 2, args + 3, (n - 2) * sizeof *args); /* nor the lb's */
    } else if (strcmp(name, "lb_add") == 0) {
        memmove(args, args + 2, (n - 1) * sizeof *args); /* nor the compute ones */
    }
    return store_runv(&f->st, name, args, r);
}

/* Run and require exit 0; *r is kept for the caller (free it). */
static void ok6(struct fixture *f, const char *name, struct action_result *r, const char *a0,
                const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
    if (run(f, name, r, a0, a1, a2, a3, a4, a5, NULL) != 0)
        fail_msg("%s: %s %s", name, r->out, r->err);
    assert_non_null(r->json);
}

static void ok(struct fixture *f, const char *name, struct action_result *r, const char *a0,
               const char *a1, const char *a2, const char *a3, const char *a4)
{
    ok6(f, name, r, a0, a1, a2, a3, a4, NULL);
}

static void ok_free(struct fixture *f, const char *name, const char *a0, const char *a1,
                    const char *a2, const char *a3)
{
    struct action_result r;
    ok(f, name, &r, a0, a1, a2, a3, NULL);
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

static bool listed(struct json_object *arr, const char *s)
{
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ tests -- */

static void test_add_node_records_build_spec(void **state)
{
    struct fixture *f = *state;
    ok_free(f, "asg_define", "--compute_provider=local", "--name=web", "--min=1",
            "--image=img-a");
    ok_free(f, "add_node", "--name=web", "--node=web-a", NULL, NULL);
    ok_free(f, "asg_update", "--name=web", "--image=img-b", NULL, NULL);
    ok_free(f, "add_node", "--name=web", "--node=web-b", NULL, NULL);
    struct json_object *a = node_record(f, "web-a"), *b = node_record(f, "web-b");
    const char *ia = jx_str(a, "spec_id", ""), *ib = jx_str(b, "spec_id", "");
    assert_int_equal(strlen(ia), 16);
    assert_int_equal(strspn(ia, "0123456789abcdef"), 16);
    assert_int_equal(strlen(ib), 16);
    assert_string_not_equal(ia, ib);
    assert_string_equal(jx_str(jx_obj(a, "built_from"), "image", ""), "img-a");
    assert_string_equal(jx_str(jx_obj(b, "built_from"), "image", ""), "img-b");
    assert_string_equal(jx_str(jx_obj(a, "built_from"), "compute_provider", ""), "local");
    /* A refresh to img-b has exactly web-a to replace. */
    struct action_result r;
    ok(f, "refresh_start", &r, "--name=web", NULL, NULL, NULL, NULL);
    assert_int_equal(jx_int(r.json, "to_replace", -1), 1);
    assert_string_equal(jx_str(jx_obj(r.json, "refresh"), "target", ""), ib);
    action_result_free(&r);
    json_object_put(a);
    json_object_put(b);
}

/* The workflow's loop played with the real actions: two nodes on img-a,
 * refreshed to img-b one at a time, every node replaced. */
static void test_refresh_replaces_every_node(void **state)
{
    struct fixture *f = *state;
    struct action_result r, s, d;
    char id[64], lease[64], add_arg[128], rm_arg[128], new_node[32], nodes_arg[64];
    ok_free(f, "asg_define", "--compute_provider=local", "--name=web", "--min=1",
            "--image=img-a");
    ok_free(f, "add_node", "--name=web", "--node=web-a", NULL, NULL);
    ok_free(f, "add_node", "--name=web", "--node=web-b", NULL, NULL);
    ok(f, "refresh_start", &r, "--name=web", "--image=img-b", "--min_healthy_percentage=100",
       NULL, NULL);
    assert_true(jx_bool(r.json, "started", false));
    assert_int_equal(jx_int(r.json, "to_replace", -1), 2);
    assert_int_equal(jx_int(jx_obj(r.json, "refresh"), "batch", 0), 1);
    const char *target = jx_str(jx_obj(r.json, "refresh"), "target", "");
    char target_id[32];
    snprintf(target_id, sizeof target_id, "%s", target);
    snprintf(id, sizeof id, "--refresh_id=%s", jx_str(jx_obj(r.json, "refresh"), "id", ""));
    action_result_free(&r);
    /* A second start is refused while this one runs, and changes nothing. */
    char *before = store_snapshot(&f->st);
    assert_int_equal(run(f, "refresh_start", &r, "--name=web", "--image=img-c", NULL), 2);
    assert_string_equal(action_error_code(&r), "refresh_running");
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);

    for (int batch = 1; batch <= 2; batch++) {
        ok(f, "refresh_step", &s, "--name=web", id, NULL, NULL, NULL);
        assert_string_equal(jx_str(s.json, "do", ""), "batch");
        assert_int_equal(jx_int(s.json, "add", 0), 1);
        struct json_object *rm = jx_arr(s.json, "remove");
        assert_int_equal(json_object_array_length(rm), 1);
        const char *old = json_object_get_string(json_object_array_get_idx(rm, 0));
        assert_string_equal(old, batch == 1 ? "web-a" : "web-b"); /* oldest first */
        snprintf(lease, sizeof lease, "--lease_id=%s", jx_str(s.json, "lease_id", ""));
        snprintf(new_node, sizeof new_node, "web-n%d", batch);
        char node_arg[64];
        snprintf(node_arg, sizeof node_arg, "--node=%s", new_node);
        ok_free(f, "add_node", "--name=web", node_arg, NULL, NULL);
        snprintf(nodes_arg, sizeof nodes_arg, "--nodes=%s", new_node);
        ok(f, "refresh_wait", &r, "--name=web", nodes_arg, "--health_timeout=20", NULL, NULL);
        assert_true(listed(jx_arr(r.json, "healthy"), new_node));
        action_result_free(&r);
        snprintf(node_arg, sizeof node_arg, "--node=%s", old);
        ok_free(f, "remove_node", "--name=web", node_arg, NULL, NULL);
        snprintf(add_arg, sizeof add_arg, "--added=%s", new_node);
        snprintf(rm_arg, sizeof rm_arg, "--removed=%s", old);
        char healthy_arg[64];
        snprintf(healthy_arg, sizeof healthy_arg, "--healthy=%s", new_node);
        ok6(f, "refresh_batch_done", &d, "--name=web", id, lease, add_arg, healthy_arg, rm_arg);
        assert_string_equal(jx_str(d.json, "do_next", ""), "continue");
        assert_int_equal(jx_int(d.json, "replaced", 0), batch);
        action_result_free(&d);
        /* A retry (its answer lost) answers the same and counts nothing twice. */
        ok6(f, "refresh_batch_done", &d, "--name=web", id, lease, add_arg, healthy_arg, rm_arg);
        assert_int_equal(jx_int(d.json, "replaced", 0), batch);
        action_result_free(&d);
        action_result_free(&s);
    }
    ok(f, "refresh_step", &s, "--name=web", id, NULL, NULL, NULL);
    assert_string_equal(jx_str(s.json, "do", ""), "done");
    assert_string_equal(jx_str(s.json, "state", ""), "succeeded");
    action_result_free(&s);
    /* Every node left is built from the target spec; no lease is held. */
    struct json_object *n1 = node_record(f, "web-n1"), *n2 = node_record(f, "web-n2");
    assert_string_equal(jx_str(n1, "spec_id", ""), target_id);
    assert_string_equal(jx_str(n2, "spec_id", ""), target_id);
    json_object_put(n1);
    json_object_put(n2);
    assert_int_equal(store_count(&f->st, "autoscale.node.web."), 2);
    assert_int_equal(store_count(&f->st, "autoscale.lease.web"), 0);
}

static void test_wait_up_and_down(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char cmd[160], *reply;
    ok_free(f, "asg_define", "--compute_provider=local", "--name=web", "--min=1",
            "--lb_provider=haproxy");
    ok_free(f, "asg_update", "--name=web", "--lb_backend=" BACKEND, NULL, NULL);
    ok_free(f, "add_node", "--name=web", "--node=web-a", NULL, NULL);
    ok_free(f, "add_node", "--name=web", "--node=web-b", NULL, NULL);
    ok_free(f, "lb_add", "--name=web", "--node=web-a", NULL, NULL);
    ok_free(f, "lb_add", "--name=web", "--node=web-b", NULL, NULL);
    wait_status(f, "web-a", "UP");
    /* web-b's check goes to a port nobody serves: HAProxy keeps it DOWN
     * while its process lives on. */
    int closed = test_free_port("127.0.0.1", false);
    snprintf(cmd, sizeof cmd, "set server " BACKEND "/web-b check-port %d", closed);
    reply = haproxy_cmd(f->h, cmd);
    assert_non_null(reply);
    free(reply);
    reply = haproxy_cmd(f->h, "set server " BACKEND "/web-b health down");
    assert_non_null(reply);
    free(reply);
    wait_status(f, "web-b", "DOWN");
    char *before = store_snapshot(&f->st);
    ok(f, "refresh_wait", &r, "--name=web", "--nodes=web-a,web-b,web-zz", "--health_timeout=2",
       NULL, NULL);
    struct json_object *h = jx_arr(r.json, "healthy"), *u = jx_arr(r.json, "unhealthy");
    assert_true(listed(h, "web-a"));
    assert_true(listed(u, "web-b"));
    assert_true(listed(u, "web-zz")); /* no such node: never healthy */
    assert_int_equal(json_object_array_length(h), 1);
    assert_int_equal(strncmp(jx_str(jx_obj(jx_obj(r.json, "checks"), "web-b"), "lb", ""),
                             "DOWN", 4),
                     0);
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after); /* refresh_wait writes nothing */
    free(before);
    free(after);
}

/* SIGTERM (st2's timeout) ends a wait at once with one JSON error. */
static void test_wait_stops_on_sigterm(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    int out_fd, err_fd;
    ok_free(f, "asg_define", "--compute_provider=local", "--name=web", "--min=1", NULL);
    /* A node still building: it may yet come up, so the wait goes on. */
    store_put_node(&f->st, store_node_record("web", "web-a", "building", NULL, 0, NULL));
    const char *args[] = {f->local_arg, f->port_arg, f->sock_arg, "--name=web",
                          "--nodes=web-a", "--health_timeout=600", NULL};
    pid_t pid = action_start("refresh_wait", args, store_env(&f->st), &out_fd, &err_fd);
    assert_true(pid > 0);
    test_sleep_ms(300); /* let it start waiting; nothing below depends on how long */
    kill(pid, SIGTERM);
    action_wait(pid, out_fd, err_fd, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
}

static void test_step_refuses_other_refresh(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    ok_free(f, "asg_define", "--compute_provider=local", "--name=web", "--min=1",
            "--image=img-a");
    ok_free(f, "add_node", "--name=web", "--node=web-a", NULL, NULL);
    ok(f, "refresh_start", &r, "--name=web", "--image=img-b", NULL, NULL, NULL);
    action_result_free(&r);
    char *before = store_snapshot(&f->st);
    assert_int_equal(run(f, "refresh_step", &r, "--name=web", "--refresh_id=1-00000000", NULL),
                     2);
    assert_string_equal(action_error_code(&r), "refresh_mismatch");
    action_result_free(&r);
    assert_int_equal(
        run(f, "refresh_batch_done", &r, "--name=web", "--refresh_id=1-00000000",
            "--lease_id=001700000000-refresh-0badcafe", NULL),
        2);
    assert_string_equal(action_error_code(&r), "refresh_mismatch");
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* Every bad input: one JSON error, a non-zero exit, nothing written. */
static void test_bad_input_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    ok_free(f, "asg_define", "--compute_provider=local", "--name=web", "--min=1",
            "--image=img-a");
    ok_free(f, "add_node", "--name=web", "--node=web-a", NULL, NULL);
    static const char *const cases[][5] = {
        {"refresh_start", "--name=nosuch", NULL},
        {"refresh_start", "--name=web;rm", NULL},
        {"refresh_start", "--name=web\nx", NULL},
        {"refresh_start", NULL},
        {"refresh_start", "--name=web", "--image=img;b", NULL},
        {"refresh_start", "--name=web", "--image=img\nb", NULL},
        {"refresh_start", "--name=web", "--checkpoints=50,10", NULL},
        {"refresh_start", "--name=web", "--checkpoints=0", NULL},
        {"refresh_start", "--name=web", "--on_failure=explode", NULL},
        {"refresh_start", "--name=web", "--min_healthy_percentage=101", NULL},
        {"refresh_start", "--name=web", "--batch=-1", NULL},
        {"refresh_start", "--name=web", "--health_timeout=0", NULL},
        {"refresh_start", "--name=web", "--cancel=maybe", NULL},
        {"refresh_step", "--name=web", NULL},
        {"refresh_step", "--name=web", "--refresh_id=abc", NULL},
        {"refresh_step", "--name=web", "--refresh_id=1-0000000g", NULL},
        {"refresh_batch_done", "--name=web", "--refresh_id=1-00000000", NULL},
        {"refresh_batch_done", "--name=web", "--refresh_id=1-00000000", "--lease_id=x;y", NULL},
        {"refresh_batch_done", "--name=web", "--refresh_id=1-00000000",
         "--lease_id=001700000000-refresh-0badcafe", "--added=web-a;reboot"},
        {"refresh_batch_done", "--name=web", "--refresh_id=1-00000000",
         "--lease_id=001700000000-refresh-0badcafe", "--removed=web-a,"},
        {"refresh_wait", "--name=web", NULL},
        {"refresh_wait", "--name=web", "--nodes=web-a\nweb-b", NULL},
        {"refresh_wait", "--name=web", "--nodes=web-a", "--health_timeout=0", NULL},
        {"refresh_wait", "--name=nosuch", "--nodes=web-a", NULL},
    };
    char *before = store_snapshot(&f->st);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int st = run(f, cases[i][0], &r, cases[i][1], cases[i][2], cases[i][3], cases[i][4],
                     NULL);
        if (st == 0 || !r.json || !*action_error_code(&r))
            fail_msg("case %zu (%s %s %s): exit %d, %s", i, cases[i][0],
                     cases[i][1] ? cases[i][1] : "", cases[i][2] ? cases[i][2] : "", st, r.out);
        assert_ptr_equal(strchr(r.out, '\n'), r.out + strlen(r.out) - 1); /* one line */
        action_result_free(&r);
    }
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

int main(void)
{
    test_unset_proxies();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_node_records_build_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_replaces_every_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_up_and_down, setup_haproxy, teardown),
        cmocka_unit_test_setup_teardown(test_wait_stops_on_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_refuses_other_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
