/* End-to-end tests of the warm pool's actions (issue 17) as st2 runs them:
 * add_node warm, node_park, pool_plan, pool_take and node_activate on the
 * local provider (real processes: a warm local node is a started process,
 * parked running), pool_take's exclusivity under concurrent scale-outs,
 * and bad input refused before anything is written. The OpenStack side
 * (os-stop / os-start) is tests/unit/compute/test_node_park.c. */
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
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "fake_do_dns.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

#define PORT "18081"
#define LEASE_A "000000001000-scale_out-0000000a"
#define LEASE_B "000000001000-scale_out-0000000b"

struct fixture {
    struct store_fixture st;
    char local[128], local_arg[160];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(store_fixture_open(&f->st, "as-pool"), 0);
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

/* Run an action; node actions get the local provider's settings, as st2
 * would pass them from the pack config. */
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
    bool node_action = strcmp(name, "add_node") == 0 || strcmp(name, "node_park") == 0 ||
                       strcmp(name, "node_activate") == 0 || strcmp(name, "remove_node") == 0;
    if (!node_action)
        memmove(args, args + 2, (n - 1) * sizeof *args);
    return store_runv(&f->st, name, args, r);
}

static void define(struct fixture *f, const char *name, const char *extra)
{
    struct action_result r;
    char arg[64];
    snprintf(arg, sizeof arg, "--name=%s", name);
    assert_int_equal(run(f, "asg_define", &r, "--compute_provider=local", arg, "--min=1",
                         "--warm_pool=2", extra, NULL), 0);
    action_result_free(&r);
}

/* GET / from a node: 1 when it answered "node <name>". */
static int serves(const char *address, const char *name)
{
    char buf[512] = "", want[80];
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
    snprintf(want, sizeof want, "\r\n\r\nnode %s\n", name);
    return strstr(buf, want) != NULL;
}

static const char *state_of(struct fixture *f, const char *node)
{
    static char buf[32];
    char key[KEY_MAX];
    struct ds *ds = store_open(&f->st);
    char *text = NULL;
    struct as_error err;
    buf[0] = '\0';
    if (ds_get(ds, key_node(key, "web", node), &text, &err) == 0) {
        struct json_object *o = jx_parse_record(text);
        snprintf(buf, sizeof buf, "%s", jx_str(o, "state", ""));
        json_object_put(o);
    }
    free(text);
    ds_close(ds);
    return buf;
}

static void plan(struct fixture *f, long long warm, long long warming, long long need)
{
    struct action_result r;
    assert_int_equal(run(f, "pool_plan", &r, "--name=web", NULL), 0);
    assert_int_equal(jx_int(r.json, "warm_pool", -1), 2);
    assert_int_equal(jx_int(r.json, "warm", -1), warm);
    assert_int_equal(jx_int(r.json, "warming", -1), warming);
    assert_int_equal(jx_int(r.json, "need", -1), need);
    action_result_free(&r);
}

/* The local pool's whole cycle: built warming (serving directly, not
 * capacity), parked warm (still running: local parks running), taken for
 * a lease (the same lease again: the same node), activated. */
static void test_local_cycle(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f, "web", NULL);
    plan(f, 0, 0, 2);

    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-w1", "--warm=true",
                         NULL), 0);
    char address[64];
    snprintf(address, sizeof address, "%s", jx_str(jx_obj(r.json, "node"), "address", ""));
    assert_string_equal(jx_str(jx_obj(r.json, "node"), "state", ""), "warming");
    action_result_free(&r);
    plan(f, 0, 1, 1);
    assert_int_equal(run(f, "node_park", &r, "--name=web", "--node=web-w1", NULL), 0);
    assert_string_equal(jx_str(jx_obj(r.json, "node"), "state", ""), "warm");
    action_result_free(&r);
    assert_true(serves(address, "web-w1")); /* parked running */
    plan(f, 1, 0, 1);

    /* not capacity: the group's counts say so */
    assert_int_equal(run(f, "asg_get", &r, "--name=web", NULL), 0);
    assert_non_null(strstr(r.out, "\"capacity\":0,"));
    action_result_free(&r);

    assert_int_equal(run(f, "pool_take", &r, "--name=web", "--count=3",
                         "--lease_id=" LEASE_A, NULL), 0);
    assert_int_equal(jx_int(r.json, "taken", -1), 1);
    assert_string_equal(json_object_get_string(
                            json_object_array_get_idx(jx_arr(r.json, "nodes"), 0)),
                        "web-w1");
    action_result_free(&r);
    assert_string_equal(state_of(f, "web-w1"), "building");
    /* a retry of the same lease: the same node, nothing more */
    assert_int_equal(run(f, "pool_take", &r, "--name=web", "--count=3",
                         "--lease_id=" LEASE_A, NULL), 0);
    assert_int_equal(jx_int(r.json, "taken", -1), 1);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "reused")), 1);
    action_result_free(&r);
    /* another lease finds the pool empty */
    assert_int_equal(run(f, "pool_take", &r, "--name=web", "--count=1",
                         "--lease_id=" LEASE_B, NULL), 0);
    assert_int_equal(jx_int(r.json, "taken", -1), 0);
    action_result_free(&r);

    assert_int_equal(run(f, "node_activate", &r, "--name=web", "--node=web-w1", NULL), 0);
    assert_string_equal(jx_str(jx_obj(r.json, "node"), "state", ""), "active");
    assert_string_equal(jx_str(jx_obj(r.json, "node"), "address", ""), address);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    assert_true(serves(address, "web-w1"));
    assert_int_equal(run(f, "node_activate", &r, "--name=web", "--node=web-w1", NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    plan(f, 0, 0, 2);
}

/* A local warm node whose process died cannot be activated: exit 1, the
 * record failed (the scale-out takes it down like any failed node). */
static void test_local_dead_process_fails(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char cmd[512];
    define(f, "web", NULL);
    assert_int_equal(run(f, "add_node", &r, "--name=web", "--node=web-w2", "--warm=true",
                         NULL), 0);
    action_result_free(&r);
    assert_int_equal(run(f, "node_park", &r, "--name=web", "--node=web-w2", NULL), 0);
    action_result_free(&r);
    assert_int_equal(run(f, "pool_take", &r, "--name=web", "--count=1",
                         "--lease_id=" LEASE_A, NULL), 0);
    action_result_free(&r);
    snprintf(cmd, sizeof cmd,
             "p=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' '%s'/web.web-w2.json); "
             "kill -9 -\"$p\" && while kill -0 \"$p\" 2>/dev/null; do sleep 0.05; done",
             f->local);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run(f, "node_activate", &r, "--name=web", "--node=web-w2",
                         "--deadline=20", NULL), 1);
    assert_string_equal(action_error_code(&r), "node_failed");
    action_result_free(&r);
    assert_string_equal(state_of(f, "web-w2"), "failed");
}

/* N scale-outs with different leases take from one pool at once: no node
 * is handed out twice, and together they take the whole pool. */
#define RACERS 6
static void test_take_exclusive_under_concurrency(void **state)
{
    struct fixture *f = *state;
    define(f, "web", NULL);
    for (int i = 0; i < 2 * RACERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "web-p%02d", i);
        struct json_object *rec = store_node_record("web", name, "warm", "127.0.0.9", 1, NULL);
        jx_add_int(rec, "parked_at", 1000 + i);
        store_put_node(&f->st, rec); /* and drops it */
    }
    pid_t pid[RACERS];
    int out[RACERS], errfd[RACERS];
    char lease[RACERS][64], arg[RACERS][96];
    for (int i = 0; i < RACERS; i++) {
        snprintf(lease[i], sizeof lease[i], "000000001000-scale_out-%08x", 0x100 + i);
        snprintf(arg[i], sizeof arg[i], "--lease_id=%s", lease[i]);
        const char *args[] = {"--name=web", "--count=3", arg[i], NULL};
        pid[i] = action_start("pool_take", args, store_env(&f->st), &out[i], &errfd[i]);
        assert_true(pid[i] > 0);
    }
    int seen[2 * RACERS] = {0}, total = 0;
    for (int i = 0; i < RACERS; i++) {
        struct action_result r;
        assert_int_equal(action_wait(pid[i], out[i], errfd[i], &r), 0);
        struct json_object *nodes = jx_arr(r.json, "nodes");
        assert_non_null(nodes);
        for (size_t k = 0; k < json_object_array_length(nodes); k++) {
            int idx = atoi(json_object_get_string(json_object_array_get_idx(nodes, k)) + 5);
            assert_int_equal(seen[idx]++, 0); /* never twice */
            total++;
        }
        action_result_free(&r);
    }
    assert_int_equal(total, 2 * RACERS);
    /* each node remembers its one lease, and the oldest went first */
    struct action_result r;
    assert_int_equal(run(f, "pool_plan", &r, "--name=web", NULL), 0);
    assert_int_equal(jx_int(r.json, "warm", -1), 0);
    action_result_free(&r);
}

/* pool_plan without a name: every group with a pool, and their needs;
 * a group whose scale-out is suspended needs none. */
static void test_plan_every_group(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f, "web", NULL);
    define(f, "api", "--suspend_scale_out=1");
    assert_int_equal(run(f, "asg_define", &r, "--compute_provider=local", "--name=nopool",
                         NULL), 0);
    action_result_free(&r);
    assert_int_equal(run(f, "pool_plan", &r, NULL), 0);
    struct json_object *groups = jx_arr(r.json, "groups");
    assert_int_equal(json_object_array_length(groups), 2);
    assert_string_equal(jx_str(json_object_array_get_idx(groups, 0), "group", ""), "api");
    assert_int_equal(jx_int(json_object_array_get_idx(groups, 0), "need", -1), 0);
    assert_int_equal(jx_int(json_object_array_get_idx(groups, 1), "need", -1), 2);
    assert_int_equal(jx_int(r.json, "need", -1), 2);
    action_result_free(&r);
}

/* DNS: a warming node gets its own name (so taking it needs no DNS wait)
 * but stays out of the group's round robin until it is active. */
#define DO_TOKEN "dop_v1_pool0123456789abcdef0123456789abcdef0123456789ab"
static void test_dns_keeps_warming_out_of_round_robin(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    struct fake_do_dns *dns = fake_do_dns_start(DO_TOKEN);
    assert_non_null(dns);
    assert_int_equal(fake_do_dns_add_domain(dns, "example.test"), 0);
    char url[160];
    snprintf(url, sizeof url, "--digitalocean_api_url=%s", fake_do_dns_url(dns));
    define(f, "web", "--dns_provider=digitalocean");
    assert_int_equal(run(f, "asg_update", &r, "--name=web", "--dns_zone=example.test", NULL),
                     0);
    action_result_free(&r);
    store_put_node(&f->st, store_node_record("web", "web-1", "active", "127.0.1.1", 1, NULL));
    store_put_node(&f->st, store_node_record("web", "web-w", "warming", "127.0.1.9", 1, NULL));
    const char *nodes[] = {"--node=web-1", "--node=web-w"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run(f, "dns_register", &r, "--name=web", nodes[i], url,
                             "--digitalocean_token=" DO_TOKEN, NULL), 0);
        action_result_free(&r);
    }
    char *own = fake_do_dns_addresses(dns, "example.test", "web-w.web");
    char *group = fake_do_dns_addresses(dns, "example.test", "web");
    assert_string_equal(own, "127.0.1.9");
    assert_string_equal(group, "127.0.1.1");
    free(own);
    free(group);
    /* activated (node_activate), registered again: now in the round robin */
    store_put_node(&f->st, store_node_record("web", "web-w", "active", "127.0.1.9", 1, NULL));
    assert_int_equal(run(f, "dns_register", &r, "--name=web", "--node=web-w", url,
                         "--digitalocean_token=" DO_TOKEN, NULL), 0);
    action_result_free(&r);
    group = fake_do_dns_addresses(dns, "example.test", "web");
    assert_string_equal(group, "127.0.1.1,127.0.1.9");
    free(group);
    fake_do_dns_stop(dns);
}

/* Bad input: exit 2, a JSON error, and the store exactly as it was. */
static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f, "web", NULL);
    struct json_object *rec = store_node_record("web", "web-x", "warm", "127.0.0.9", 1, NULL);
    store_put_node(&f->st, rec); /* and drops it */
    char *before = store_snapshot(&f->st);
    static const struct {
        const char *action, *a, *b, *c, *d, *code;
    } cases[] = {
        {"pool_take", "--name=web", "--count=0", "--lease_id=" LEASE_A, NULL,
         "invalid_parameter"},
        {"pool_take", "--name=web", "--count=1001", "--lease_id=" LEASE_A, NULL,
         "invalid_parameter"},
        {"pool_take", "--name=web", "--count=1", "--lease_id=nonsense", NULL, NULL},
        {"pool_take", "--name=web", "--count=1", NULL, NULL, NULL},
        {"pool_take", "--name=Web!", "--count=1", "--lease_id=" LEASE_A, NULL, NULL},
        {"pool_take", "--name=nope", "--count=1", "--lease_id=" LEASE_A, NULL,
         "unknown_group"},
        {"pool_plan", "--name=-bad", NULL, NULL, NULL, NULL},
        {"pool_plan", "--name=nope", NULL, NULL, NULL, "unknown_group"},
        {"node_park", "--name=web", "--node=web;x", NULL, NULL, NULL},
        {"node_park", "--name=web", "--node=web-none", NULL, NULL, "unknown_node"},
        {"node_activate", "--name=web", "--node=web-x", NULL, NULL, "node_not_taken"},
        {"node_activate", "--name=web", NULL, NULL, NULL, NULL},
        {"add_node", "--name=web", "--warm=maybe", NULL, NULL, NULL},
        {"asg_update", "--name=web", "--warm_pool=101", NULL, NULL, NULL},
        {"asg_update", "--name=web", "--warm_pool=-1", NULL, NULL, NULL},
        {"asg_define", "--name=web2", "--compute_provider=digitalocean", "--warm_pool=1",
         NULL, "warm_pool_unsupported"},
        {"asg_update", "--name=web", "--compute_provider=digitalocean", NULL, NULL,
         "warm_pool_unsupported"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run(f, cases[i].action, &r, cases[i].a, cases[i].b, cases[i].c, cases[i].d,
                     NULL);
        if (rc != 2 || !r.json)
            fail_msg("case %zu (%s %s %s): exit %d: %s%s", i, cases[i].action, cases[i].a,
                     cases[i].b ? cases[i].b : "", rc, r.out, r.err);
        if (cases[i].code)
            assert_string_equal(action_error_code(&r), cases[i].code);
        action_result_free(&r);
        char *after = store_snapshot(&f->st);
        assert_string_equal(after, before);
        free(after);
    }
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_local_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_dead_process_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_exclusive_under_concurrency, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plan_every_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_keeps_warming_out_of_round_robin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
