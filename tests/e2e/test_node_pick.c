/* End-to-end tests of node_pick: the binary runs as st2 runs it, on an
 * embedded store whose node records are written straight in with distinct
 * created_at values. least_loaded runs against a real HAProxy (started by
 * the test on free loopback ports) with the pack's demo app behind it, slow
 * requests held open on chosen nodes, and against the fake of
 * DigitalOcean's load balancer API, which reports no sessions.
 *
 * "Nothing changed" is checked by comparing every key and value of the store
 * before and after. No assertion depends on timing: the held requests are
 * seen in flight in each node's own /stats before node_pick runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action_run.h"
#include "asg.h"
#include "build_spec.h"
#include "datastore.h"
#include "fake_do_lb.h"
#include "haproxy_server.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"
#include "test_util.h"

#define T0 1800000000LL
#define LEASE1 "001799999000-scale_in-0000abcd"
#define LEASE2 "001799999500-scale_in-12345678"
#define BACKEND "pick-be"
#define NODES 3
#define WAIT_MS 20000 /* upper bound on waiting for a state: never an assertion */
#define HELD_MAX 8
#define DO_TOKEN "dop_v1_e2e5ecret0123456789abcdef0123456789abcdef"
#define DO_LB "4de7ac8b-495b-4884-9a69-1050c6793cd6"

/* A request through the frontend, on its own thread. */
struct request {
    pthread_t thread;
    int port;
    int status;
    char *body;
    volatile int done;
};

struct fixture {
    struct store_fixture st;
    /* least_loaded only */
    struct haproxy_server *h;
    struct demo_node node[NODES];
    int nodes_started;
    struct request held[HELD_MAX];
    int nheld;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(store_fixture_open(&f->st, "as-pick"), 0);
    f->st.now = T0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];
    if (f->h) /* end the held requests so their threads can be joined */
        for (int k = 0; k < f->nodes_started; k++) {
            snprintf(cmd, sizeof cmd, "shutdown sessions server %s/%s", BACKEND,
                     f->node[k].name);
            free(haproxy_cmd(f->h, cmd));
        }
    for (int k = 0; k < f->nodes_started; k++)
        demo_node_stop(&f->node[k]);
    for (int i = 0; i < f->nheld; i++) {
        pthread_join(f->held[i].thread, NULL);
        free(f->held[i].body);
    }
    if (f->h)
        haproxy_stop(f->h);
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

/* A node record as add_node leaves it, created at T0 - age. */
static void put_node_at(struct fixture *f, const char *group, const char *name,
                        const char *state, long long age, const char *addr, int port,
                        const char *provider_id)
{
    struct json_object *o = store_node_record(group, name, state, addr, port, provider_id);
    jx_add_int(o, "created_at", T0 - age);
    jx_add_int(o, "updated_at", T0 - age);
    store_put_node(&f->st, o);
}

static void put_node(struct fixture *f, const char *name, const char *state, long long age)
{
    put_node_at(f, "web", name, state, age, "127.0.1.50", 8080, NULL);
}

/* A stored record (a new reference), or NULL. */
static struct json_object *record(struct fixture *f, const char *group, const char *node)
{
    char key[KEY_MAX], *text = NULL;
    struct as_error err;
    struct ds *ds = store_open(&f->st);
    int rc = ds_get(ds, key_node(key, group, node), &text, &err);
    ds_close(ds);
    if (rc != 0)
        return NULL;
    struct json_object *o = json_tokener_parse(text);
    free(text);
    return o;
}

static void drop_node(struct fixture *f, const char *group, const char *node)
{
    char key[KEY_MAX];
    store_del(&f->st, key_node(key, group, node));
}

/* "name=state[/lease]" of every node of the group, comma-joined. */
static char *states(struct fixture *f, const char *group)
{
    char prefix[KEY_MAX];
    struct ds_list l;
    store_list(&f->st, key_node_prefix(prefix, group), &l);
    char *s = calloc(1, 4096);
    for (size_t i = 0; i < l.count; i++) {
        struct json_object *o = json_tokener_parse(l.items[i].value);
        const char *lease = jx_str(o, "drain_lease", NULL);
        size_t n = strlen(s);
        snprintf(s + n, 4096 - n, "%s%s=%s%s%s", i ? "," : "", jx_str(o, "name", "?"),
                 jx_str(o, "state", "?"), lease ? "/" : "", lease ? lease : "");
        json_object_put(o);
    }
    ds_list_clear(&l);
    return s;
}

static void assert_states(struct fixture *f, const char *group, const char *want)
{
    char *got = states(f, group);
    if (strcmp(got, want) != 0)
        fail_msg("node states of %s:\n got %s\nwant %s", group, got, want);
    free(got);
}

static const char *joined(struct json_object *arr)
{
    static char buf[512];
    buf[0] = '\0';
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        strncat(buf, i ? "," : "", sizeof buf - strlen(buf) - 1);
        strncat(buf, json_object_get_string(json_object_array_get_idx(arr, i)),
                sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

static void define(struct fixture *f, const char *name, const char *min, const char *extra1,
                   const char *extra2)
{
    struct action_result r;
    char n[64], m[32];
    snprintf(n, sizeof n, "--name=%s", name);
    snprintf(m, sizeof m, "--min=%s", min);
    /* local unless the caller names the provider (asg_define needs one) */
    const char *provider = "--compute_provider=local";
    if (extra2 && strncmp(extra2, "--compute_provider=", 19) == 0)
        provider = extra2, extra2 = NULL;
    if (store_run(&f->st, "asg_define", &r, provider, n, m, extra1, extra2, NULL) != 0)
        fail_msg("asg_define %s: %s", name, r.out);
    action_result_free(&r);
}

/* node_pick that must succeed; its output in *r. */
static void pick_ok(struct fixture *f, struct action_result *r, ...)
{
    va_list ap;
    va_start(ap, r);
    int status = store_vrun(&f->st, "node_pick", r, ap);
    va_end(ap);
    if (status != 0)
        fail_msg("node_pick: exit %d: %s %s", r->status, r->out, r->err);
}

/* web: min 1; web-a (oldest) .. web-e, web-d and web-b created together. */
static void five_nodes(struct fixture *f)
{
    define(f, "web", "1", NULL, NULL);
    put_node(f, "web-a", "active", 500);
    put_node(f, "web-b", "active", 100);
    put_node(f, "web-c", "active", 300);
    put_node(f, "web-d", "active", 100);
    put_node(f, "web-e", "active", 400);
}

/* ------------------------------------------------------------ strategies -- */

static void test_newest_is_default(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    five_nodes(f);
    pick_ok(f, &r, "--name=web", "--count=3", NULL);
    assert_string_equal(jx_str(r.json, "group", ""), "web");
    assert_int_equal(jx_int(r.json, "requested", 0), 3);
    assert_string_equal(jx_str(r.json, "strategy", ""), "newest");
    assert_string_equal(jx_str(r.json, "strategy_used", ""), "newest");
    /* web-b and web-d tie: by name */
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-b,web-d,web-c");
    assert_int_equal(jx_int(r.json, "active_before", 0), 5);
    assert_int_equal(jx_int(r.json, "min", -1), 1);
    assert_false(jx_bool(r.json, "capped", true));
    assert_null(jx_str(r.json, "fallback_reason", NULL));
    action_result_free(&r);
    assert_states(f, "web", "web-a=active,web-b=draining,web-c=draining,web-d=draining,"
                            "web-e=active");
    /* the rest of the record is kept; drain_lease is there, null */
    struct json_object *rec = record(f, "web", "web-b");
    assert_string_equal(jx_str(rec, "address", ""), "127.0.1.50");
    assert_int_equal(jx_int(rec, "created_at", 0), T0 - 100);
    assert_int_equal(jx_int(rec, "updated_at", 0), T0);
    struct json_object *lease = (struct json_object *)1;
    assert_true(json_object_object_get_ex(rec, "drain_lease", &lease));
    assert_null(lease);
    json_object_put(rec);
}

static void test_oldest(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    five_nodes(f);
    pick_ok(f, &r, "--name=web", "--count=2", "--strategy=oldest", NULL);
    assert_string_equal(jx_str(r.json, "strategy_used", ""), "oldest");
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-a,web-e");
    action_result_free(&r);
    assert_states(f, "web", "web-a=draining,web-b=active,web-c=active,web-d=active,"
                            "web-e=draining");
}

/* A node built from the group's spec as it is now, as add_node records it. */
static void current_spec(struct fixture *f, const char *node)
{
    struct group g;
    struct as_error err;
    char id[BUILD_SPEC_ID_LEN + 1];
    struct ds *ds = store_open(&f->st);
    assert_int_equal(asg_load_spec(ds, "web", &g, &err), 0);
    build_spec_id(&g, id);
    group_clear(&g);
    ds_close(ds);
    struct json_object *rec = record(f, "web", node);
    jx_add_str(rec, "spec_id", id);
    store_put_node(&f->st, rec);
}

/* After an image change (or between a rolling refresh's batches) a
 * scale-in takes the nodes not built from the spec as it is first, the
 * strategy's order kept within each part: the newest two, web-b and
 * web-d, are current, so web-c and web-e go. */
static void test_outdated_nodes_go_first(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    five_nodes(f);
    current_spec(f, "web-b");
    current_spec(f, "web-d");
    pick_ok(f, &r, "--name=web", "--count=2", NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-c,web-e");
    action_result_free(&r);
    pick_ok(f, &r, "--name=web", "--count=1", "--strategy=oldest", NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-a");
    action_result_free(&r);
    assert_states(f, "web", "web-a=draining,web-b=active,web-c=draining,web-d=active,"
                            "web-e=draining");
}

/* Only active nodes go, and never below min; picking none is success. */
static void test_min_respected_only_active(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f, "web", "3", NULL, NULL);
    put_node(f, "web-a", "active", 500);
    put_node(f, "web-b", "active", 400);
    put_node(f, "web-c", "active", 300);
    put_node(f, "web-d", "active", 200);
    put_node(f, "web-n", "building", 1); /* newer, but not active: never picked */
    put_node(f, "web-f", "failed", 2);
    put_node(f, "web-x", "draining", 3);

    pick_ok(f, &r, "--name=web", "--count=5", NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-d");
    assert_int_equal(jx_int(r.json, "active_before", 0), 4);
    assert_int_equal(jx_int(r.json, "min", 0), 3);
    assert_true(jx_bool(r.json, "capped", false));
    action_result_free(&r);

    char *before = store_snapshot(&f->st);
    pick_ok(f, &r, "--name=web", "--count=1", "--strategy=oldest", NULL);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "nodes")), 0);
    assert_int_equal(jx_int(r.json, "active_before", 0), 3);
    assert_true(jx_bool(r.json, "capped", false));
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_states(f, "web", "web-a=active,web-b=active,web-c=active,web-d=draining,"
                            "web-f=failed,web-n=building,web-x=draining");

    /* min 0 lets the last one go */
    define(f, "solo", "0", NULL, NULL);
    put_node_at(f, "solo", "solo-a", "active", 10, "127.0.1.51", 80, NULL);
    pick_ok(f, &r, "--name=solo", "--count=2", NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "solo-a");
    action_result_free(&r);
}

/* The same lease gets the same nodes back; a top-up only when some are
 * gone, and still within min; another lease picks anew. */
static void test_lease_idempotent(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    five_nodes(f);
    pick_ok(f, &r, "--name=web", "--count=2", "--lease_id=" LEASE1, NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-b,web-d");
    assert_string_equal(jx_str(r.json, "lease_id", ""), LEASE1);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "reused")), 0);
    action_result_free(&r);
    char *marked = store_snapshot(&f->st);

    /* a retry: the same nodes, nothing more marked, nothing rewritten */
    pick_ok(f, &r, "--name=web", "--count=2", "--lease_id=" LEASE1, NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-b,web-d");
    assert_string_equal(joined(jx_arr(r.json, "reused")), "web-b,web-d");
    assert_int_equal(jx_int(r.json, "active_before", 0), 3);
    action_result_free(&r);
    char *again = store_snapshot(&f->st);
    assert_string_equal(marked, again);
    free(marked);
    free(again);
    assert_states(f, "web", "web-a=active,web-b=draining/" LEASE1 ",web-c=active,"
                            "web-d=draining/" LEASE1 ",web-e=active");

    /* one of them got as far as remove_node (deleting), the other is gone */
    struct json_object *rec = record(f, "web", "web-b");
    jx_add_str(rec, "state", "deleting");
    char key[KEY_MAX];
    store_put(&f->st, key_node(key, "web", "web-b"), json_object_to_json_string(rec));
    json_object_put(rec);
    drop_node(f, "web", "web-d");
    pick_ok(f, &r, "--name=web", "--count=2", "--lease_id=" LEASE1, NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-b,web-c"); /* topped up by 1 */
    assert_string_equal(joined(jx_arr(r.json, "reused")), "web-b");
    action_result_free(&r);

    /* another lease is another scale-in: it picks anew, min still holds */
    pick_ok(f, &r, "--name=web", "--count=5", "--lease_id=" LEASE2, NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-e");
    assert_int_equal(json_object_array_length(jx_arr(r.json, "reused")), 0);
    assert_true(jx_bool(r.json, "capped", false));
    action_result_free(&r);
    assert_states(f, "web", "web-a=active,web-b=deleting/" LEASE1 ",web-c=draining/" LEASE1
                            ",web-e=draining/" LEASE2);

    /* LEASE1 again: its two, no top-up possible (at min) and none needed */
    pick_ok(f, &r, "--name=web", "--count=2", "--lease_id=" LEASE1, NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-b,web-c");
    assert_false(jx_bool(r.json, "capped", true));
    action_result_free(&r);
}

/* ------------------------------------------------------------ least_loaded -- */

static void *request_main(void *arg)
{
    struct request *r = arg;
    r->status = hx_http_get("127.0.0.1", r->port, "/", &r->body);
    __atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Hold `want` slow requests open on node k. Round robin decides where a
 * request lands, so fire until enough are in flight there; requests that
 * land elsewhere are fast and just finish. */
static void hold_on(struct fixture *f, int k, int want)
{
    assert_int_equal(demo_node_slow(&f->node[k], 60000), 0);
    for (int attempt = 0; demo_node_in_flight(&f->node[k]) < want; attempt++) {
        if (attempt > 6 * NODES || f->nheld == HELD_MAX)
            fail_msg("could not hold %d requests on %s", want, f->node[k].name);
        struct request *r = &f->held[f->nheld++];
        memset(r, 0, sizeof *r);
        r->port = f->h->port;
        int before = demo_node_in_flight(&f->node[k]);
        assert_int_equal(pthread_create(&r->thread, NULL, request_main, r), 0);
        for (int i = 0; i < WAIT_MS / 10; i++) {
            if (demo_node_in_flight(&f->node[k]) > before ||
                __atomic_load_n(&r->done, __ATOMIC_SEQ_CST))
                break;
            test_sleep_ms(10);
        }
    }
    assert_int_equal(demo_node_slow(&f->node[k], 0), 0); /* later requests are fast */
}

/* web-1..3 in HAProxy; web-2 (the newest) holds 2 sessions, web-1 (the
 * oldest) 1, web-3 none: least_loaded picks web-3 then web-1, where newest
 * would pick web-2, web-3 and oldest web-1, web-3. */
static void test_least_loaded_haproxy(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char sock_arg[192];
    static const long long age[NODES] = {300, 100, 200};

    f->h = haproxy_start(BACKEND);
    assert_non_null(f->h);
    snprintf(sock_arg, sizeof sock_arg, "--haproxy_socket=%s", f->h->sock);
    for (int k = 0; k < NODES; k++) {
        char name[32], addr[32];
        snprintf(name, sizeof name, "web-%d", k + 1);
        snprintf(addr, sizeof addr, "127.0.1.%d", 21 + k);
        assert_int_equal(demo_node_start(&f->node[k], name, addr), 0);
        f->nodes_started++;
    }
    define(f, "web", "0", "--lb_provider=haproxy", "--lb_backend=" BACKEND);
    for (int k = 0; k < NODES; k++) {
        char node[64];
        put_node_at(f, "web", f->node[k].name, "active", age[k], f->node[k].addr,
                    f->node[k].port, NULL);
        snprintf(node, sizeof node, "--node=%s", f->node[k].name);
        if (store_run(&f->st, "lb_add", &r, "--name=web", node, sock_arg, NULL) != 0)
            fail_msg("lb_add %s: %s", node, r.out);
        action_result_free(&r);
    }
    hold_on(f, 1, 2);
    hold_on(f, 0, 1);
    assert_int_equal(demo_node_in_flight(&f->node[1]), 2);
    assert_int_equal(demo_node_in_flight(&f->node[0]), 1);
    assert_int_equal(demo_node_in_flight(&f->node[2]), 0);

    pick_ok(f, &r, "--name=web", "--count=2", "--strategy=least_loaded", sock_arg,
            "--lease_id=" LEASE1, NULL);
    assert_string_equal(jx_str(r.json, "strategy_used", ""), "least_loaded");
    assert_null(jx_str(r.json, "fallback_reason", NULL));
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-3,web-1");
    struct json_object *s = jx_obj(r.json, "sessions");
    assert_int_equal(jx_int(s, "web-1", -1), 1);
    assert_int_equal(jx_int(s, "web-2", -1), 2);
    assert_int_equal(jx_int(s, "web-3", -1), 0);
    action_result_free(&r);
    assert_states(f, "web", "web-1=draining/" LEASE1 ",web-2=active,web-3=draining/" LEASE1);

    /* choosing is not draining: HAProxy still sends traffic to all three */
    for (int k = 0; k < NODES; k++) {
        char status[64] = "";
        assert_int_equal(haproxy_status(f->h, f->node[k].name, status, sizeof status), 1);
        if (strncmp(status, "DRAIN", 5) == 0 || strncmp(status, "MAINT", 5) == 0)
            fail_msg("%s is %s after node_pick", f->node[k].name, status);
    }

    /* the same lease again, even with the load changed: the same nodes */
    pick_ok(f, &r, "--name=web", "--count=2", "--strategy=least_loaded", sock_arg,
            "--lease_id=" LEASE1, NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-1,web-3");
    assert_string_equal(joined(jx_arr(r.json, "reused")), "web-1,web-3");
    action_result_free(&r);
}

/* No load balancer, one that cannot be reached, one that reports no
 * sessions: newest instead, and the output says why. */
static void test_least_loaded_falls_back(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char missing[160], url[192];

    five_nodes(f); /* lb_provider none */
    pick_ok(f, &r, "--name=web", "--count=1", "--strategy=least_loaded", NULL);
    assert_string_equal(jx_str(r.json, "strategy", ""), "least_loaded");
    assert_string_equal(jx_str(r.json, "strategy_used", ""), "newest");
    assert_non_null(strstr(jx_str(r.json, "fallback_reason", ""), "lb_provider none"));
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-b");
    assert_null(jx_obj(r.json, "sessions"));
    action_result_free(&r);

    define(f, "hx", "0", "--lb_provider=haproxy", NULL);
    put_node_at(f, "hx", "hx-a", "active", 20, "127.0.1.60", 80, NULL);
    put_node_at(f, "hx", "hx-b", "active", 10, "127.0.1.61", 80, NULL);
    snprintf(missing, sizeof missing, "--haproxy_socket=%s/missing.sock", f->st.dir);
    pick_ok(f, &r, "--name=hx", "--count=1", "--strategy=least_loaded", missing, NULL);
    assert_string_equal(jx_str(r.json, "strategy_used", ""), "newest");
    assert_non_null(strstr(jx_str(r.json, "fallback_reason", ""), "lb_unreachable"));
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "hx-b");
    action_result_free(&r);

    struct fake_dolb *fake = fake_dolb_start(DO_TOKEN);
    assert_non_null(fake);
    fake_dolb_add_lb(fake, DO_LB, NULL);
    fake_dolb_add_droplet(fake, 3164444);
    fake_dolb_add_droplet(fake, 3164445);
    fake_dolb_attach(fake, DO_LB, 3164444);
    fake_dolb_attach(fake, DO_LB, 3164445);
    snprintf(url, sizeof url, "--digitalocean_api_url=%s", fake_dolb_url(fake));
    define(f, "dob", "0", "--lb_provider=digitalocean", "--compute_provider=digitalocean");
    put_node_at(f, "dob", "dob-a", "active", 10, "10.0.0.11", 0, "3164444");
    put_node_at(f, "dob", "dob-b", "active", 20, "10.0.0.12", 0, "3164445");
    pick_ok(f, &r, "--name=dob", "--count=1", "--strategy=least_loaded",
            "--digitalocean_token=" DO_TOKEN, url, "--digitalocean_lb_id=" DO_LB, NULL);
    assert_string_equal(jx_str(r.json, "strategy_used", ""), "newest");
    assert_non_null(strstr(jx_str(r.json, "fallback_reason", ""), "does not report"));
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "dob-a");
    assert_null(strstr(r.out, DO_TOKEN));
    assert_null(strstr(r.err, DO_TOKEN));
    action_result_free(&r);
    fake_dolb_stop(fake);
    assert_states(f, "dob", "dob-a=draining,dob-b=active");
}

/* ------------------------------------------------- protection and health -- */

static void protect(struct fixture *f, const char *group, const char *node)
{
    struct action_result r;
    char g[64], n[96];
    snprintf(g, sizeof g, "--name=%s", group);
    snprintf(n, sizeof n, "--node=%s", node);
    if (store_run(&f->st, "node_protect", &r, g, n, "--reason=debugging", NULL) != 0)
        fail_msg("node_protect %s %s: %s", group, node, r.out);
    action_result_free(&r);
}

/* A health record as the health check writes it (lib/model/health.h). */
static void put_health(struct fixture *f, const char *group, const char *node,
                       const char *status, long long since)
{
    char key[KEY_MAX], value[512];
    snprintf(value, sizeof value,
             "{\"node\":\"%s\",\"group\":\"%s\",\"status\":\"%s\",\"failures\":%d,"
             "\"checked_at\":%lld,\"since\":%lld,\"reason\":\"test\"}",
             node, group, status, strcmp(status, "unhealthy") == 0 ? 3 : 0, T0, since);
    store_put(&f->st, key_health(key, group, node), value);
}

/* Scale-in orders pass over protected nodes, which still count towards
 * min: protection takes nodes out of the choice, not out of the group. */
static void test_protected_never_picked(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    five_nodes(f);
    protect(f, "web", "web-b");
    protect(f, "web", "web-d");
    pick_ok(f, &r, "--name=web", "--count=2", NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-c,web-e");
    assert_string_equal(joined(jx_arr(r.json, "protected")), "web-b,web-d");
    assert_int_equal(jx_int(r.json, "active_before", 0), 5);
    assert_false(jx_bool(r.json, "capped", true));
    action_result_free(&r);

    /* 3 active left (a, b, d), min 1: 2 may go, but only web-a is free */
    pick_ok(f, &r, "--name=web", "--count=2", "--strategy=oldest", NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-a");
    assert_true(jx_bool(r.json, "capped", false));
    action_result_free(&r);

    /* only protected ones left: none is chosen, nothing changes */
    char *before = store_snapshot(&f->st);
    pick_ok(f, &r, "--name=web", "--count=1", NULL);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "nodes")), 0);
    assert_true(jx_bool(r.json, "capped", false));
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_states(f, "web", "web-a=draining,web-b=active,web-c=draining,web-d=active,"
                            "web-e=draining");
}

/* unhealthy: only nodes judged unhealthy, longest unhealthy first, protected
 * or not (replacement is not scale-in); grace and healthy ones never. */
static void test_unhealthy_strategy(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f, "web", "2", NULL, NULL);
    put_node(f, "web-a", "active", 500);
    put_node(f, "web-b", "active", 400);
    put_node(f, "web-c", "active", 300);
    put_node(f, "web-d", "active", 200);
    put_node(f, "web-e", "building", 100);
    put_health(f, "web", "web-a", "grace", T0 - 10);
    put_health(f, "web", "web-b", "unhealthy", T0 - 50);
    put_health(f, "web", "web-c", "healthy", T0 - 60);
    put_health(f, "web", "web-d", "unhealthy", T0 - 90);
    put_health(f, "web", "web-e", "unhealthy", T0 - 99); /* building: never */
    protect(f, "web", "web-d");

    pick_ok(f, &r, "--name=web", "--count=3", "--strategy=unhealthy", NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "web-d,web-b");
    assert_string_equal(jx_str(r.json, "strategy_used", ""), "unhealthy");
    assert_int_equal(jx_int(r.json, "healthy", -1), 2); /* web-a (grace), web-c */
    assert_int_equal(jx_int(r.json, "unhealthy", -1), 2);
    assert_int_equal(jx_int(r.json, "min_healthy", -1), 2); /* -1: min */
    assert_true(jx_bool(r.json, "capped", false));
    action_result_free(&r);
    assert_states(f, "web", "web-a=active,web-b=draining,web-c=active,web-d=draining,"
                            "web-e=building");
}

/* The min_healthy guard: no unhealthy node goes while fewer healthy active
 * nodes than min_healthy remain (they may still carry some of the load). */
static void test_unhealthy_min_healthy_guard(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f, "db", "1", "--min_healthy=3", NULL);
    put_node_at(f, "db", "db-a", "active", 300, "127.0.1.60", 80, NULL);
    put_node_at(f, "db", "db-b", "active", 200, "127.0.1.61", 80, NULL);
    put_node_at(f, "db", "db-c", "active", 100, "127.0.1.62", 80, NULL);
    put_health(f, "db", "db-c", "unhealthy", T0 - 30);

    char *before = store_snapshot(&f->st);
    pick_ok(f, &r, "--name=db", "--count=1", "--strategy=unhealthy", NULL);
    assert_int_equal(json_object_array_length(jx_arr(r.json, "nodes")), 0);
    assert_int_equal(jx_int(r.json, "healthy", -1), 2);
    assert_int_equal(jx_int(r.json, "min_healthy", -1), 3);
    assert_true(jx_bool(r.json, "capped", false));
    action_result_free(&r);
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* a new node up and healthy: now the unhealthy one may go */
    put_node_at(f, "db", "db-d", "active", 10, "127.0.1.63", 80, NULL);
    put_health(f, "db", "db-d", "healthy", T0 - 5);
    pick_ok(f, &r, "--name=db", "--count=1", "--strategy=unhealthy", NULL);
    assert_string_equal(joined(jx_arr(r.json, "nodes")), "db-c");
    assert_false(jx_bool(r.json, "capped", true));
    action_result_free(&r);
    assert_states(f, "db", "db-a=active,db-b=active,db-c=draining,db-d=active");
}

/* ------------------------------------------------------------ bad input -- */

static void test_bad_input_changes_nothing(void **state)
{
    struct fixture *f = *state;
    five_nodes(f);
    define(f, "gone", "0", NULL, NULL);
    put_node_at(f, "gone", "gone-a", "active", 10, "127.0.1.70", 80, NULL);
    struct action_result r;
    assert_int_equal(store_run(&f->st, "asg_retire", &r, "--name=gone", NULL), 0);
    action_result_free(&r);
    char *before = store_snapshot(&f->st);
    static const struct {
        const char *args[4];
        const char *code;
    } cases[] = {
        {{"--count=1", NULL}, "missing_parameter"},
        {{"--name=web", NULL}, "missing_parameter"},
        {{"--name=web", "--count=0", NULL}, "invalid_parameter"},
        {{"--name=web", "--count=-1", NULL}, "invalid_parameter"},
        {{"--name=web", "--count=1001", NULL}, "invalid_parameter"},
        {{"--name=web", "--count=two", NULL}, "invalid_parameter"},
        {{"--name=web", "--count=1.5", NULL}, "invalid_parameter"},
        {{"--name=web", "--count=1", "--strategy=x", NULL}, "invalid_parameter"},
        {{"--name=web", "--count=1", "--strategy=newest;id", NULL}, "invalid_parameter"},
        {{"--name=web", "--count=1", "--strategy=unhealthy\n", NULL}, "invalid_parameter"},
        {{"--name=web;reboot", "--count=1", NULL}, "invalid_name"},
        {{"--name=web\nx", "--count=1", NULL}, "invalid_name"},
        {{"--name=Web", "--count=1", NULL}, "invalid_name"},
        {{"--name=web", "--count=1", "--lease_id=x;y", NULL}, "invalid_parameter"},
        {{"--name=web", "--count=1", "--lease_id=001799999000-scale_in-0000abcd\n", NULL},
         "invalid_parameter"},
        {{"--name=web", "--count=1", "--bogus=1", NULL}, "unknown_parameter"},
        {{"--name=nope", "--count=1", NULL}, "unknown_group"},
        {{"--name=gone", "--count=1", NULL}, "group_conflict"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;
        int st = store_run(&f->st, "node_pick", &r, a[0], a[1], a[2], a[3], NULL);
        if (st != 2 || strcmp(action_error_code(&r), cases[i].code) != 0)
            fail_msg("case %zu: exit %d, wanted 2 %s: %s", i, st, cases[i].code, r.out);
        action_result_free(&r);
    }
    char *after = store_snapshot(&f->st);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_newest_is_default),
        T(test_oldest),
        T(test_outdated_nodes_go_first),
        T(test_min_respected_only_active),
        T(test_lease_idempotent),
        T(test_least_loaded_haproxy),
        T(test_least_loaded_falls_back),
        T(test_protected_never_picked),
        T(test_unhealthy_strategy),
        T(test_unhealthy_min_healthy_guard),
        T(test_bad_input_changes_nothing),
    };
#undef T
    return cmocka_run_group_tests_name("node_pick", tests, NULL, NULL);
}
