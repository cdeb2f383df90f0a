/* The warm pool on OpenStack, in-process against the fake (lib/compute/
 * node_park.c, lib/compute/node_pool.c): a warm add stays warming, node_park stops
 * the server (os-stop, then polls until SHUTOFF), pool_take hands it to a
 * scale-out's lease, node_activate starts it (os-start, polls until
 * ACTIVE) and records it active. Each step is idempotent, and counted in
 * the requests the cloud sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asg.h"
#include "clock.h"
#include "fake_openstack.h"
#include "jsonx.h"
#include "keys.h"
#include "node.h"
#include "nodes.h"
#include "node_ctx_fixture.h"
#include "node_pool.h"

#define LEASE "000000001000-scale_out-0000abcd"

struct fixture {
    struct node_fixture n; /* the store, group "web" and the node context */
    struct fake_openstack *os;
};

static struct json_object *settings(struct fake_openstack *os)
{
    struct json_object *s = json_object_new_object();
    jx_add_str(s, "auth_url", fake_openstack_auth_url(os));
    jx_add_str(s, "username", FAKE_OS_USERNAME);
    jx_add_str(s, "password", FAKE_OS_PASSWORD);
    jx_add_str(s, "project_name", FAKE_OS_PROJECT);
    jx_add_str(s, "user_domain_name", FAKE_OS_DOMAIN);
    jx_add_str(s, "project_domain_name", FAKE_OS_DOMAIN);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    node_fixture_open(&f->n, "as-park", "openstack");
    assert_non_null(f->os = fake_openstack_start(NULL));

    f->n.g.flavor = strdup("2");
    f->n.g.image = strdup(FAKE_OS_IMAGE_ID);
    f->n.g.network = strdup(FAKE_OS_NET_PRIVATE_ID);
    node_fixture_define(&f->n, settings(f->os));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    node_fixture_close(&f->n);
    fake_openstack_stop(f->os);
    free(f);
    return 0;
}

static struct fake_openstack_stats stats(struct fixture *f)
{
    struct fake_openstack_stats s;
    fake_openstack_stats(f->os, &s);
    return s;
}

static const char *state_of(struct fixture *f, const char *node)
{
    return node_fixture_state(&f->n, node);
}

static char *server_status(struct fixture *f, const char *node)
{
    char *id = fake_openstack_server_id(f->os, node);
    assert_non_null(id);
    char *st = fake_openstack_server_status(f->os, id);
    free(id);
    return st;
}

static void assert_server(struct fixture *f, const char *node, const char *want)
{
    char *st = server_status(f, node);
    assert_string_equal(st, want);
    free(st);
}

/* A warm add, then node_park: the node warm, its server SHUTOFF. */
static void warm_node(struct fixture *f, const char *node)
{
    struct json_object *out = NULL;
    struct as_error err;
    assert_int_equal(node_add(&f->n.nc, node, NULL, true, &out, &err), 0);
    assert_string_equal(jx_str(jx_obj(out, "node"), "state", ""), "warming");
    json_object_put(out);
    assert_int_equal(node_park(&f->n.nc, node, &out, &err), 0);
    json_object_put(out);
}

static void test_park_stops_the_server(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err;

    assert_int_equal(node_add(&f->n.nc, "web-a", NULL, true, &out, &err), 0);
    struct json_object *node = jx_obj(out, "node");
    assert_string_equal(jx_str(node, "state", ""), "warming");
    assert_non_null(jx_str(node, "address", NULL)); /* for DNS and Chef, next */
    json_object_put(out);
    assert_server(f, "web-a", "ACTIVE");
    /* a retried warm add finds it and changes nothing */
    assert_int_equal(node_add(&f->n.nc, "web-a", NULL, true, &out, &err), 0);
    json_object_put(out);
    assert_int_equal(stats(f).create, 1);

    fake_openstack_reset_stats(f->os);
    assert_int_equal(node_park(&f->n.nc, "web-a", &out, &err), 0);
    assert_true(jx_bool(out, "changed", false));
    assert_string_equal(jx_str(jx_obj(out, "node"), "state", "warm"), "warm");
    assert_true(jx_int(jx_obj(out, "node"), "parked_at", 0) > 0);
    json_object_put(out);
    assert_int_equal(stats(f).stops, 1);
    /* powering-off twice (the fake's default), then SHUTOFF: polled */
    assert_true(stats(f).get >= 3);
    assert_server(f, "web-a", "SHUTOFF");
    assert_string_equal(state_of(f, "web-a"), "warm");

    /* again: success, no second os-stop */
    assert_int_equal(node_park(&f->n.nc, "web-a", &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
    assert_int_equal(stats(f).stops, 1);
    /* a warm add of a warm node is a finished add */
    assert_int_equal(node_add(&f->n.nc, "web-a", NULL, true, &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
}

/* The server was stopped behind our back (or a first park died after its
 * os-stop): Nova answers the second os-stop 409, which is success once a
 * GET shows SHUTOFF. */
static void test_park_after_409_already_stopped(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err;
    char key[KEY_MAX];

    char *id = fake_openstack_add_server(f->os, "web-b", "web", "SHUTOFF", NULL);
    char rec[512];
    snprintf(rec, sizeof rec,
             "{\"name\":\"web-b\",\"group\":\"web\",\"state\":\"warming\","
             "\"provider\":\"openstack\",\"provider_id\":\"%s\",\"created_at\":%lld}",
             id, as_now());
    free(id);
    assert_int_equal(ds_put(f->n.ds, key_node(key, "web", "web-b"), rec, 0, &err), 0);
    assert_int_equal(node_park(&f->n.nc, "web-b", &out, &err), 0);
    json_object_put(out);
    assert_int_equal(stats(f).stops, 0); /* refused with 409: not accepted */
    assert_int_equal(stats(f).action, 1);
    assert_string_equal(state_of(f, "web-b"), "warm");
}

static void test_activate_starts_the_server(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err;

    warm_node(f, "web-c");
    assert_int_equal(pool_take(f->n.ds, "web", 1, LEASE, &out, &err), 0);
    assert_int_equal(jx_int(out, "taken", -1), 1);
    json_object_put(out);
    assert_string_equal(state_of(f, "web-c"), "building");

    fake_openstack_reset_stats(f->os);
    assert_int_equal(node_activate(&f->n.nc, "web-c", &out, &err), 0);
    struct json_object *node = jx_obj(out, "node");
    assert_string_equal(jx_str(node, "state", ""), "active");
    assert_non_null(jx_str(node, "address", NULL));
    assert_string_equal(jx_str(node, "take_lease", ""), LEASE);
    json_object_put(out);
    assert_int_equal(stats(f).starts, 1);
    assert_int_equal(stats(f).create, 0); /* nothing built */
    assert_true(stats(f).get >= 3);       /* powering-on twice, then ACTIVE */
    assert_server(f, "web-c", "ACTIVE");

    assert_int_equal(node_activate(&f->n.nc, "web-c", &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
    assert_int_equal(stats(f).starts, 1);
}

/* A retried activation whose first try died after Nova accepted the
 * os-start: the second os-start is refused (409, task powering-on), which
 * is the start already under way, not a failure. */
static void test_activate_retry_while_powering_on(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL, *rec = NULL;
    struct as_error err;
    warm_node(f, "web-g");
    assert_int_equal(pool_take(f->n.ds, "web", 1, LEASE, &out, &err), 0);
    json_object_put(out);
    assert_int_equal(node_record_load(f->n.ds, "web", "web-g", &rec, &err), 1);
    assert_int_equal(compute_start(f->n.nc.compute, jx_str(rec, "provider_id", ""), &err), 0);
    json_object_put(rec);
    fake_openstack_reset_stats(f->os);
    assert_int_equal(node_activate(&f->n.nc, "web-g", &out, &err), 0);
    assert_string_equal(jx_str(jx_obj(out, "node"), "state", ""), "active");
    json_object_put(out);
    assert_int_equal(stats(f).action, 1); /* refused */
    assert_int_equal(stats(f).starts, 0);
    assert_server(f, "web-g", "ACTIVE");
}

/* Only pool_take hands pool nodes out: a warm node not taken is refused,
 * and nothing changes (no request to the cloud either). */
static void test_activate_refuses_untaken(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err;
    warm_node(f, "web-d");
    fake_openstack_reset_stats(f->os);
    assert_int_equal(node_activate(&f->n.nc, "web-d", &out, &err), -1);
    assert_string_equal(err.code, "node_not_taken");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_int_equal(stats(f).action, 0);
    assert_string_equal(state_of(f, "web-d"), "warm");
    assert_server(f, "web-d", "SHUTOFF");
    assert_int_equal(node_park(&f->n.nc, "web-nope", &out, &err), -1);
    assert_string_equal(err.code, "unknown_node");
}

/* A server that cannot start (locked: 409) leaves the record failed, for
 * the scale-out to take down and the governor to replace. */
static void test_activate_failure_records_failed(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err;
    warm_node(f, "web-e");
    assert_int_equal(pool_take(f->n.ds, "web", 1, LEASE, &out, &err), 0);
    json_object_put(out);
    char *id = fake_openstack_server_id(f->os, "web-e");
    fake_openstack_lock_server(f->os, id, 1);
    free(id);
    assert_int_equal(node_activate(&f->n.nc, "web-e", &out, &err), -1);
    assert_string_equal(err.code, "node_failed");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "locked"));
    assert_string_equal(state_of(f, "web-e"), "failed");
}

/* reconcile knows the pool: a warming node older than the bound is stuck,
 * a warm one whose server is gone a ghost; a node taken from the pool long
 * after it was built is judged by when it was taken, not created. */
static void test_reconcile_pool_states(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err;
    char key[KEY_MAX], rec[512];
    long long old = as_now() - 7200;

    warm_node(f, "web-f");
    snprintf(rec, sizeof rec, "{\"name\":\"web-g\",\"state\":\"warming\",\"created_at\":%lld}",
             old);
    assert_int_equal(ds_put(f->n.ds, key_node(key, "web", "web-g"), rec, 0, &err), 0);
    /* web-f: built two hours ago (as far as reconcile can tell), taken now */
    assert_int_equal(pool_take(f->n.ds, "web", 1, LEASE, &out, &err), 0);
    json_object_put(out);
    struct json_object *r = NULL;
    assert_int_equal(node_record_load(f->n.ds, "web", "web-f", &r, &err), 1);
    jx_add_int(r, "created_at", old);
    assert_int_equal(ds_put(f->n.ds, key_node(key, "web", "web-f"),
                            json_object_to_json_string(r), 0, &err), 0);
    json_object_put(r);
    assert_int_equal(ds_put(f->n.ds, key_node(key, "web", "web-h"),
                            "{\"name\":\"web-h\",\"state\":\"warm\",\"provider_id\":"
                            "\"00000000-0000-0000-0000-000000000000\"}", 0, &err), 0);

    assert_int_equal(node_reconcile(&f->n.nc, false, false, 1800, &out, &err), 0);
    struct json_object *fl = jx_arr(out, "findings");
    assert_int_equal(json_object_array_length(fl), 2);
    for (size_t i = 0; i < 2; i++) {
        struct json_object *x = json_object_array_get_idx(fl, i);
        const char *node = jx_str(x, "node", "");
        assert_string_equal(jx_str(x, "problem", ""),
                            strcmp(node, "web-g") == 0 ? "stuck" : "ghost");
        assert_string_not_equal(node, "web-f");
    }
    json_object_put(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_park_stops_the_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_after_409_already_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate_starts_the_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate_retry_while_powering_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_activate_refuses_untaken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate_failure_records_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_pool_states, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
