/* End-to-end tests of the warm pool's actions (issue 17) as st2 runs them:
 * add_node warm, node_park, pool_plan, pool_take and node_activate on the
 * local provider (real processes: a warm local node is a started process,
 * parked running), pool_take's exclusivity under concurrent scale-outs,
 * the pool's upkeep (pool_plan's remove list: surplus and outdated nodes,
 * marked so that no pool_take gets them and concurrent plans never remove
 * more than the surplus; pool_take never handing out an outdated node),
 * dns_register against a concurrent asg_delete, and bad input refused
 * before anything is written. The OpenStack side
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
#include "asg.h"
#include "build_spec.h"
#include "datastore.h"
#include "fake_do_dns.h"
#include "jsonx.h"
#include "store_fixture.h"
#include "store_node.h"

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
    const char *settings[] = {f->local_arg, "--local_port=" PORT, NULL};
    va_list ap;
    va_start(ap, r);
    int status = store_vrun_node(&f->st, name, settings, r, ap);
    va_end(ap);
    return status;
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
    return store_node_state(&f->st, "web", node);
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

/* The group's build spec id now (build_spec.h), as add_node records it. */
static void spec_id_of(struct fixture *f, const char *group, char id[BUILD_SPEC_ID_LEN + 1])
{
    struct ds *ds = store_open(&f->st);
    struct group g;
    struct as_error err;
    assert_int_equal(asg_load_spec(ds, group, &g, &err), 0);
    build_spec_id(&g, id);
    group_clear(&g);
    ds_close(ds);
}

/* A pool node record: state, created_at, built from spec_id. */
static void put_pool_node(struct fixture *f, const char *name, const char *state,
                          long long created, const char *spec_id)
{
    struct json_object *rec = store_node_record("web", name, state, "127.0.0.9", 1, NULL);
    jx_add_int(rec, "created_at", created);
    jx_add_int(rec, "parked_at", created + 1);
    jx_add_str(rec, "spec_id", spec_id);
    store_put_node(&f->st, rec);
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
    char id[BUILD_SPEC_ID_LEN + 1];
    define(f, "web", NULL);
    spec_id_of(f, "web", id);
    for (int i = 0; i < 2 * RACERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "web-p%02d", i);
        put_pool_node(f, name, "warm", 1000 + i, id);
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

/* ---- the pool's upkeep ---- */

/* The names of an array member, joined by ','. */
static const char *names_of(struct json_object *o, const char *key)
{
    static char buf[512];
    struct json_object *a = jx_arr(o, key);
    buf[0] = '\0';
    for (size_t i = 0; a && i < json_object_array_length(a); i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "",
                 json_object_get_string(json_object_array_get_idx(a, i)));
    return buf;
}

/* warm_pool 2 with three up-to-date warm nodes, one outdated (built before
 * a refresh), one warming, one taken and one active: the outdated one and
 * the two newest up-to-date ones are to go (3 + 1 warming - 2 = 2 beyond
 * warm_pool), never the warming, taken or active ones. Without mark nothing
 * is written; with mark they are draining, pool_take hands out only the
 * oldest up-to-date one, and a plan again chooses nothing new. */
static void test_plan_lists_surplus_and_outdated(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char id[BUILD_SPEC_ID_LEN + 1];
    define(f, "web", NULL);
    spec_id_of(f, "web", id);
    put_pool_node(f, "web-f1", "warm", 100, id);
    put_pool_node(f, "web-f2", "warm", 200, id);
    put_pool_node(f, "web-f3", "warm", 300, id);
    put_pool_node(f, "web-o1", "warm", 400, "0123456789abcdef"); /* the old image */
    put_pool_node(f, "web-w1", "warming", 500, id);
    put_pool_node(f, "web-b1", "building", 600, id);
    put_pool_node(f, "web-a1", "active", 700, id);
    char *before = store_snapshot(&f->st);

    assert_int_equal(run(f, "pool_plan", &r, "--name=web", NULL), 0);
    assert_int_equal(jx_int(r.json, "warm", -1), 3);
    assert_int_equal(jx_int(r.json, "outdated", -1), 1);
    assert_int_equal(jx_int(r.json, "warming", -1), 1);
    assert_int_equal(jx_int(r.json, "need", -1), 0);
    assert_int_equal(jx_int(r.json, "surplus", -1), 3);
    assert_string_equal(names_of(r.json, "remove"), "web-o1,web-f3,web-f2");
    assert_false(jx_bool(r.json, "marked", true));
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(after, before); /* a plan without mark reads only */
    free(after);
    free(before);

    assert_int_equal(run(f, "pool_plan", &r, "--name=web", "--mark=true", NULL), 0);
    assert_string_equal(names_of(r.json, "remove"), "web-o1,web-f3,web-f2");
    action_result_free(&r);
    assert_string_equal(state_of(f, "web-o1"), "draining");
    assert_string_equal(state_of(f, "web-f3"), "draining");
    assert_string_equal(state_of(f, "web-f2"), "draining");
    assert_string_equal(state_of(f, "web-f1"), "warm");
    assert_string_equal(state_of(f, "web-w1"), "warming");

    /* marked nodes are out of the pool: a scale-out gets the one left */
    assert_int_equal(run(f, "pool_take", &r, "--name=web", "--count=5",
                         "--lease_id=" LEASE_A, NULL), 0);
    assert_string_equal(names_of(r.json, "nodes"), "web-f1");
    action_result_free(&r);

    /* again: the marked ones (not gone yet) come back, nothing new is
     * chosen although the pool is now 1 warming + 0 warm for 2 */
    assert_int_equal(run(f, "pool_plan", &r, "--name=web", "--mark=true", NULL), 0);
    assert_string_equal(names_of(r.json, "remove"), "web-f2,web-f3,web-o1");
    assert_int_equal(jx_int(r.json, "need", -1), 1);
    assert_int_equal(jx_int(r.json, "surplus", -1), 0);
    action_result_free(&r);
    assert_int_equal(store_count(&f->st, "autoscale.node.web."), 7);
}

/* Lowered warm_pool, many fills planning at once: exactly the surplus is
 * marked, however the plans interleave (the pool's claim). */
#define PLANNERS 6
static void test_concurrent_plans_mark_only_the_surplus(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char id[BUILD_SPEC_ID_LEN + 1];
    define(f, "web", NULL);
    spec_id_of(f, "web", id);
    for (int i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof name, "web-p%02d", i);
        put_pool_node(f, name, "warm", 1000 + i, id);
    }
    assert_int_equal(run(f, "asg_update", &r, "--name=web", "--warm_pool=3", NULL), 0);
    action_result_free(&r);
    pid_t pid[PLANNERS];
    int out[PLANNERS], errfd[PLANNERS];
    const char *args[] = {"--name=web", "--mark=true", NULL};
    for (int i = 0; i < PLANNERS; i++) {
        pid[i] = action_start("pool_plan", args, store_env(&f->st), &out[i], &errfd[i]);
        assert_true(pid[i] > 0);
    }
    for (int i = 0; i < PLANNERS; i++) {
        assert_int_equal(action_wait(pid[i], out[i], errfd[i], &r), 0);
        /* every plan lists the same five: whoever marked them */
        assert_int_equal(json_object_array_length(jx_arr(r.json, "remove")), 5);
        action_result_free(&r);
    }
    int draining = 0;
    for (int i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof name, "web-p%02d", i);
        draining += strcmp(state_of(f, name), "draining") == 0;
        /* the newest went: the three oldest stay warm */
        if (i < 3)
            assert_string_equal(state_of(f, name), "warm");
    }
    assert_int_equal(draining, 5);
    assert_int_equal(run(f, "pool_plan", &r, "--name=web", NULL), 0);
    assert_int_equal(jx_int(r.json, "warm", -1), 3);
    assert_int_equal(jx_int(r.json, "need", -1), 0);
    action_result_free(&r);
}

/* pool_take never hands out a node of the old spec: it takes the
 * up-to-date one, then nothing (the scale-out builds cold); the plan of
 * every group (the refill timer) shows the outdated node to remove. */
static void test_take_skips_outdated(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char id[BUILD_SPEC_ID_LEN + 1];
    define(f, "web", NULL);
    spec_id_of(f, "web", id);
    put_pool_node(f, "web-old", "warm", 100, "0123456789abcdef"); /* longest parked */
    put_pool_node(f, "web-new", "warm", 200, id);
    assert_int_equal(run(f, "pool_plan", &r, NULL), 0);
    struct json_object *g0 = json_object_array_get_idx(jx_arr(r.json, "groups"), 0);
    assert_int_equal(jx_int(g0, "warm", -1), 1);
    assert_int_equal(jx_int(g0, "need", -1), 1);
    assert_string_equal(names_of(g0, "remove"), "web-old");
    action_result_free(&r);
    assert_int_equal(run(f, "pool_take", &r, "--name=web", "--count=2",
                         "--lease_id=" LEASE_A, NULL), 0);
    assert_string_equal(names_of(r.json, "nodes"), "web-new");
    action_result_free(&r);
    assert_string_equal(state_of(f, "web-old"), "warm");
    assert_int_equal(run(f, "pool_take", &r, "--name=web", "--count=1",
                         "--lease_id=" LEASE_B, NULL), 0);
    assert_int_equal(jx_int(r.json, "taken", -1), 0);
    action_result_free(&r);
}

/* ---- dns_register against asg_delete ---- */

#define DO_TOKEN "dop_v1_pool0123456789abcdef0123456789abcdef0123456789ab"

static struct fake_do_dns *dns_group(struct fixture *f, char *url, size_t size)
{
    struct action_result r;
    struct fake_do_dns *dns = fake_do_dns_start(DO_TOKEN);
    assert_non_null(dns);
    assert_int_equal(fake_do_dns_add_domain(dns, "example.test"), 0);
    snprintf(url, size, "--digitalocean_api_url=%s", fake_do_dns_url(dns));
    define(f, "web", "--dns_provider=digitalocean");
    assert_int_equal(run(f, "asg_update", &r, "--name=web", "--dns_zone=example.test", NULL),
                     0);
    action_result_free(&r);
    return dns;
}

/* A pool fill's node_up and an asg_delete, in the bad order: the fill's
 * add_node is done, asg_delete marks the group and its node_down
 * unregisters the node, then the fill's dns_register comes. It must
 * refuse (nothing written), or the node's A record would outlive the
 * group: node_down's remove_node drops the only record of its name. */
static void test_dns_register_after_delete_began(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char url[160];
    struct fake_do_dns *dns = dns_group(f, url, sizeof url);
    store_put_node(&f->st, store_node_record("web", "web-w", "warming", "127.0.1.9", 1, "web.web-w"));
    assert_int_equal(run(f, "asg_retire", &r, "--name=web", NULL), 0);
    action_result_free(&r);
    assert_int_equal(run(f, "dns_unregister", &r, "--name=web", "--node=web-w", url,
                         "--digitalocean_token=" DO_TOKEN, NULL), 0);
    action_result_free(&r);
    char *before = store_snapshot(&f->st);
    size_t total = fake_do_dns_total(dns, "example.test");
    assert_int_equal(run(f, "dns_register", &r, "--name=web", "--node=web-w", url,
                         "--digitalocean_token=" DO_TOKEN, NULL), 2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(after, before);
    free(after);
    free(before);
    assert_int_equal(fake_do_dns_count(dns, "example.test", "web-w.web"), 0);
    assert_int_equal(fake_do_dns_total(dns, "example.test"), total);
    /* node_down finishes, asg_delete forgets: not a record left */
    assert_int_equal(run(f, "remove_node", &r, "--name=web", "--node=web-w", NULL), 0);
    action_result_free(&r);
    assert_int_equal(run(f, "asg_forget", &r, "--name=web", NULL), 0);
    action_result_free(&r);
    assert_int_equal(fake_do_dns_count(dns, "example.test", "web-w.web"), 0);
    fake_do_dns_stop(dns);
}

/* The narrower window: dns_register has passed its first check and is
 * waiting on the DNS API (a 429 with Retry-After) when asg_delete marks
 * the group and unregisters the node. Its write lands after the
 * unregister; its second check finds the group leaving and withdraws it. */
static void test_dns_register_racing_delete_withdraws(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char url[160], tok[96] = "--digitalocean_token=" DO_TOKEN;
    struct fake_do_dns *dns = dns_group(f, url, sizeof url);
    store_put_node(&f->st, store_node_record("web", "web-w", "warming", "127.0.1.9", 1, NULL));
    fake_do_dns_fail_next(dns, 1, 429, 3); /* its first request waits 3 s */
    const char *args[] = {"--name=web", "--node=web-w", url, tok, NULL};
    int out, errfd;
    pid_t pid = action_start("dns_register", args, store_env(&f->st), &out, &errfd);
    assert_true(pid > 0);
    struct fake_do_dns_stats st;
    do { /* until the register is in its wait: past its first check */
        usleep(10000);
        fake_do_dns_stats(dns, &st);
    } while (st.faults == 0);
    assert_int_equal(run(f, "asg_retire", &r, "--name=web", NULL), 0);
    action_result_free(&r);
    assert_int_equal(run(f, "dns_unregister", &r, "--name=web", "--node=web-w", url, tok,
                         NULL), 0);
    action_result_free(&r);
    assert_int_equal(action_wait(pid, out, errfd, &r), 1);
    assert_string_equal(action_error_code(&r), "group_deleting");
    action_result_free(&r);
    assert_int_equal(fake_do_dns_count(dns, "example.test", "web-w.web"), 0);
    assert_int_equal(fake_do_dns_count(dns, "example.test", "web"), 0);
    fake_do_dns_stop(dns);
}

/* DNS: a warming node gets its own name (so taking it needs no DNS wait)
 * but stays out of the group's round robin until it is active. */
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
        {"pool_plan", "--mark=true", NULL, NULL, NULL, "invalid_parameter"},
        {"pool_plan", "--name=web", "--mark=maybe", NULL, NULL, NULL},
        {"node_park", "--name=web", "--node=web;x", NULL, NULL, NULL},
        {"node_park", "--name=web", "--node=web-none", NULL, NULL, "unknown_node"},
        {"node_activate", "--name=web", "--node=web-x", NULL, NULL, "node_not_taken"},
        {"node_activate", "--name=web", NULL, NULL, NULL, NULL},
        {"add_node", "--name=web", "--warm=maybe", NULL, NULL, NULL},
        {"asg_update", "--name=web", "--warm_pool=101", NULL, NULL, NULL},
        {"asg_update", "--name=web", "--warm_pool=-1", NULL, NULL, NULL},
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
        cmocka_unit_test_setup_teardown(test_plan_lists_surplus_and_outdated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_plans_mark_only_the_surplus, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_take_skips_outdated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_register_after_delete_began, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_register_racing_delete_withdraws, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
