/* End-to-end tests of add_node, remove_node, reconcile and node_list with
 * the local provider: real processes (the pack's demo app) on their own
 * loopback addresses, and the datastore checked afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

#define PORT "18080"

struct fixture {
    struct store_fixture st;
    char local[128], local_arg[160];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(store_fixture_open(&f->st, "as-nodes"), 0);
    snprintf(f->local, sizeof f->local, "%s/local", f->st.dir);
    snprintf(f->local_arg, sizeof f->local_arg, "--local_dir=%s", f->local);
    *state = f;
    return 0;
}

/* Whatever a failed test left running is stopped through the provider. */
static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "for j in '%s'/*.json; do [ -f \"$j\" ] || continue; "
             "p=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' \"$j\"); "
             "[ -n \"$p\" ] && kill -9 -\"$p\" 2>/dev/null; done; rm -rf '%s'",
             f->local, f->st.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "teardown: cleanup command failed\n");
    free(f);
    return 0;
}

/* Run an action with up to 8 arguments; the group's local settings are
 * always passed, as st2 would from the pack config. */
static int run(struct fixture *f, const char *name, struct action_result *r, ...)
{
    const char *args[12] = {f->local_arg, "--local_port=" PORT};
    size_t n = 2;
    va_list ap;
    va_start(ap, r);
    for (const char *a; n < 11 && (a = va_arg(ap, const char *));)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    if (strncmp(name, "asg_", 4) == 0) /* group actions take no provider settings */
        memmove(args, args + 2, (n - 1) * sizeof *args);
    return store_runv(&f->st, name, args, r);
}

static void create_group(struct fixture *f, const char *extra)
{
    struct action_result r;
    assert_int_equal(run(f, "asg_define", &r, "--compute_provider=local", "--name=web", "--min=1", extra, NULL), 0);
    action_result_free(&r);
}

/* GET / from a node; returns the body (static) or "" when it did not answer. */
static const char *http_get(const char *address)
{
    static char buf[512];
    buf[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(PORT))};
    inet_pton(AF_INET, address, &sa.sin_addr);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        const char *req = "GET / HTTP/1.0\r\n\r\n";
        if (write(fd, req, strlen(req)) > 0) {
            size_t got = 0;
            ssize_t n;
            while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
                got += (size_t)n;
            buf[got] = '\0';
        }
    }
    close(fd);
    char *body = strstr(buf, "\r\n\r\n");
    return body ? body + 4 : "";
}

static size_t records(struct fixture *f)
{
    return store_count(&f->st, "autoscale.node.web.");
}

static void put_record(struct fixture *f, const char *node, const char *json)
{
    char key[KEY_MAX];
    store_put(&f->st, key_node(key, "web", node), json);
}

static void drop_record(struct fixture *f, const char *node)
{
    char key[KEY_MAX];
    store_del(&f->st, key_node(key, "web", node));
}

static int machines(struct fixture *f)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s'/web.*.json 2>/dev/null | wc -l", f->local);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (fscanf(p, "%d", &n) != 1)
        n = -1;
    pclose(p);
    return n;
}

static void test_add_serves_and_remove_stops(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char address[64];
    create_group(f, NULL);

    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-a", NULL), 0);
    struct json_object *node = jx_obj(r.json, "node");
    assert_string_equal(jx_str(node, "state", ""), "active");
    assert_true(jx_bool(r.json, "changed", false));
    snprintf(address, sizeof address, "%s", jx_str(node, "address", ""));
    assert_int_equal(strncmp(address, "127.", 4), 0);
    action_result_free(&r);
    assert_string_equal(http_get(address), "node web-a\n");

    /* a retry changes nothing and makes no second machine */
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-a", NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    assert_int_equal(records(f), 1);
    assert_int_equal(machines(f), 1);

    assert_int_equal(run(f, "node_list", &r, "--name=web", NULL), 0);
    assert_int_equal(jx_int(r.json, "count", 0), 1);
    assert_string_equal(jx_str(json_object_array_get_idx(jx_arr(r.json, "nodes"), 0),
                               "provider_state", ""), "active");
    action_result_free(&r);

    assert_int_equal(run(f, "remove_node", &r, "--name=web", "--node=web-a", NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    assert_string_equal(http_get(address), "");
    assert_int_equal(records(f), 0);
    assert_int_equal(machines(f), 0);

    /* removing what is already gone is success */
    assert_int_equal(run(f, "remove_node", &r, "--name=web", "--node=web-a", NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
}

/* The decommission path: the group retired, the node draining (node_pick
 * marked it), remove_node destroys the machine and drops the record; again,
 * with both gone, it is a success that changes nothing. A retired group
 * gets no new node. */
static void test_remove_draining_node_of_retired_group(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char address[64];
    create_group(f, NULL);
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-a", NULL), 0);
    struct json_object *rec = json_object_get(jx_obj(r.json, "node"));
    snprintf(address, sizeof address, "%s", jx_str(rec, "address", ""));
    action_result_free(&r);
    assert_string_equal(http_get(address), "node web-a\n");
    jx_add_str(rec, "state", "draining");
    jx_add_str(rec, "drain_lease", "001799999000-scale_in-0000abcd");
    put_record(f, "web-a", json_object_to_json_string(rec));
    json_object_put(rec);

    assert_int_equal(run(f, "asg_retire", &r, "--name=web", NULL), 0);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(jx_arr(r.json, "nodes"),
                                                                          0)),
                        "web-a");
    action_result_free(&r);
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-b", NULL), 2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    action_result_free(&r);
    assert_int_equal(machines(f), 1);

    assert_int_equal(run(f, "remove_node", &r, "--name=web", "--node=web-a", NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    assert_string_equal(http_get(address), "");
    assert_int_equal(records(f), 0);
    assert_int_equal(machines(f), 0);

    assert_int_equal(run(f, "remove_node", &r, "--name=web", "--node=web-a", NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);

    /* the group record is left for asg_forget */
    assert_int_equal(run(f, "asg_forget", &r, "--name=web", NULL), 0);
    assert_true(jx_bool(r.json, "deleted", false));
    action_result_free(&r);
}

/* The name comes from st2's execution id: a retried execution finds the
 * machine the first try made. */
static void test_execution_id_names_the_node(void **state)
{
    struct fixture *f = *state;
    struct action_result r1, r2;
    const char *env[] = {f->st.env_db, "ST2_ACTION_EXECUTION_ID=5f0c1e2d3a4b", NULL};
    const char *args[] = {f->local_arg, "--local_port=" PORT, "--name=web", NULL};
    create_group(f, NULL);
    action_run("add_node", args, env, &r1);
    action_run("add_node", args, env, &r2);
    assert_int_equal(r1.status, 0);
    assert_int_equal(r2.status, 0);
    assert_string_equal(jx_str(jx_obj(r1.json, "node"), "name", "1"),
                        jx_str(jx_obj(r2.json, "node"), "name", "2"));
    assert_int_equal(strncmp(jx_str(jx_obj(r1.json, "node"), "name", ""), "web-", 4), 0);
    action_result_free(&r1);
    action_result_free(&r2);
    assert_int_equal(machines(f), 1);
}

static void test_failed_machine_is_cleaned_up(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    create_group(f, NULL);
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-bad",
                         "--local_command=/bin/false", NULL), 1);
    assert_string_equal(action_error_code(&r), "node_failed");
    assert_non_null(strstr(r.out, "deleted the machine and its record"));
    action_result_free(&r);
    assert_int_equal(records(f), 0);
    assert_int_equal(machines(f), 0);

    /* never listening: the deadline passes, the process is stopped */
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-slow",
                         "--local_command=sleep 600", "--deadline=1", NULL), 1);
    assert_string_equal(action_error_code(&r), "node_failed");
    assert_non_null(strstr(r.out, "deadline"));
    action_result_free(&r);
    assert_int_equal(records(f), 0);
    assert_int_equal(machines(f), 0);
}

static void test_reconcile_finds_and_fixes(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char rec[256];
    create_group(f, NULL);

    /* an orphan: a machine whose record was lost */
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-orphan", NULL), 0);
    action_result_free(&r);
    drop_record(f, "web-orphan");
    /* a ghost: a record whose machine is gone */
    put_record(f, "web-ghost", "{\"name\":\"web-ghost\",\"group\":\"web\",\"state\":\"active\","
                               "\"provider\":\"local\",\"provider_id\":\"web.web-ghost\"}");
    /* stuck: building for a day */
    snprintf(rec, sizeof rec, "{\"name\":\"web-stuck\",\"group\":\"web\",\"state\":\"building\","
                              "\"provider\":\"local\",\"created_at\":%lld}",
             (long long)time(NULL) - 86400);
    put_record(f, "web-stuck", rec);

    assert_int_equal(run(f, "reconcile", &r, "--name=web", NULL), 0);
    struct json_object *found = jx_arr(r.json, "findings");
    assert_int_equal(json_object_array_length(found), 3);
    char seen[128] = "";
    for (size_t i = 0; i < 3; i++) {
        struct json_object *x = json_object_array_get_idx(found, i);
        strcat(seen, jx_str(x, "problem", "?"));
        strcat(seen, ":");
        strcat(seen, jx_str(x, "node", "?"));
        strcat(seen, " ");
    }
    assert_non_null(strstr(seen, "orphan:web-orphan"));
    assert_non_null(strstr(seen, "ghost:web-ghost"));
    assert_non_null(strstr(seen, "stuck:web-stuck"));
    action_result_free(&r);
    assert_int_equal(records(f), 2); /* reporting changed nothing */
    assert_int_equal(machines(f), 1);

    assert_int_equal(run(f, "reconcile", &r, "--name=web", "--fix", NULL), 0);
    action_result_free(&r);
    assert_int_equal(records(f), 0);
    assert_int_equal(machines(f), 0);
    assert_int_equal(run(f, "reconcile", &r, "--name=web", NULL), 0);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "findings")), 0);
    action_result_free(&r);
}

static void test_reconcile_adopts(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    create_group(f, NULL);
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-x", NULL), 0);
    action_result_free(&r);
    drop_record(f, "web-x");
    assert_int_equal(run(f, "reconcile", &r, "--name=web", "--fix", "--adopt", NULL), 0);
    assert_string_equal(jx_str(json_object_array_get_idx(jx_arr(r.json, "findings"), 0),
                               "action", ""), "adopted");
    action_result_free(&r);
    assert_int_equal(records(f), 1);
    assert_int_equal(machines(f), 1);
    assert_int_equal(run(f, "remove_node", &r, "--name=web", "--node=web-x", NULL), 0);
    action_result_free(&r);
    assert_int_equal(machines(f), 0);
}

/* st2's timeout: SIGTERM mid-wait leaves a record reconcile resolves. */
static void test_sigterm_leaves_a_trace(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    int out_fd, err_fd;
    create_group(f, NULL);
    const char *args[] = {f->local_arg, "--local_port=" PORT, "--name=web", "--node=web-t",
                          "--local_command=sleep 600", "--deadline=120", NULL};
    pid_t pid = action_start("add_node", args, store_env(&f->st), &out_fd, &err_fd);
    for (int i = 0; i < 500 && machines(f) < 1; i++)
        usleep(10000);
    kill(pid, SIGTERM);
    action_wait(pid, out_fd, err_fd, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
    assert_int_equal(records(f), 1);

    char now[64];
    snprintf(now, sizeof now, "AUTOSCALE_TEST_NOW=%lld", (long long)time(NULL) + 3600);
    f->st.env[1] = now;
    assert_int_equal(run(f, "reconcile", &r, "--name=web", "--fix", "--stuck_after=60", NULL), 0);
    action_result_free(&r);
    f->st.env[1] = NULL;
    assert_int_equal(records(f), 0);
    assert_int_equal(machines(f), 0);
}

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    create_group(f, NULL);
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web;reboot", NULL), 2);
    assert_string_equal(action_error_code(&r), "invalid_node_name");
    action_result_free(&r);
    assert_int_equal(run(f, "add_node", &r, "--name=nope", NULL), 2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    action_result_free(&r);
    assert_int_equal(run(f, "remove_node", &r, "--name=web", "--node=a\nb", NULL), 2);
    action_result_free(&r);
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--deadline=0", NULL), 2);
    action_result_free(&r);
    assert_int_equal(records(f), 0);
    assert_int_equal(machines(f), 0);
}

/* A stored record whose provider id the provider refuses: remove_node has
 * already marked it deleting, so it must not answer "bad input, nothing
 * changed" (exit 2); found by the bad-input table with a malformed seed. */
static void test_refused_stored_id_is_not_bad_input(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    create_group(f, NULL);
    put_record(f, "web-x", "{\"name\":\"web-x\",\"state\":\"active\","
                           "\"provider\":\"local\",\"provider_id\":\"no-dot-here\"}");
    assert_int_equal(run(f, "remove_node", &r, "--name=web", "--node=web-x", NULL), 1);
    assert_string_equal(action_error_code(&r), "invalid_id");
    action_result_free(&r);
    assert_int_equal(run(f, "node_list", &r, "--name=web", NULL), 0);
    assert_non_null(strstr(r.out, "\"deleting\""));
    action_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_serves_and_remove_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_draining_node_of_retired_group, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_execution_id_names_the_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_machine_is_cleaned_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_finds_and_fixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_adopts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_leaves_a_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_stored_id_is_not_bad_input, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("node_actions", tests, NULL, NULL);
}
