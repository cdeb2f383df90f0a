/* lib/compute/nodes.c against the OpenStack fake, in-process: the node life as
 * add_node/remove_node run it, counting the requests the cloud sees. The
 * 2015 original leaked machines and raced; these check that a retry never
 * makes a second machine and a failed build leaves nothing behind. */
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
#include "fake_openstack.h"
#include "jsonx.h"
#include "keys.h"
#include "nodes.h"

struct fixture {
    char dir[64], db[128];
    struct fake_openstack *os;
    struct ds *ds;
    struct group g;
    struct node_ctx nc;
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
    struct as_error err;
    struct json_object *out = NULL;
    snprintf(f->dir, sizeof f->dir, "/tmp/as-nodes-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/store.db", f->dir);
    assert_non_null(f->ds = ds_open_embedded(f->db, &err));
    assert_non_null(f->os = fake_openstack_start(NULL));

    group_init(&f->g, "web");
    free(f->g.compute_provider);
    f->g.compute_provider = strdup("openstack");
    f->g.flavor = strdup("2");
    f->g.image = strdup(FAKE_OS_IMAGE_ID);
    f->g.network = strdup(FAKE_OS_NET_PRIVATE_ID);
    assert_int_equal(asg_define(f->ds, &f->g, &out, &err), 0);
    json_object_put(out);

    struct json_object *s = settings(f->os);
    f->nc.compute = compute_open("openstack", s, &err);
    json_object_put(s);
    assert_non_null(f->nc.compute);
    f->nc.ds = f->ds;
    f->nc.group = &f->g;
    f->nc.poll_ms = 10; /* the fake changes state per poll, not per second */
    f->nc.deadline = 60;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    node_ctx_close(&f->nc);
    group_clear(&f->g);
    ds_close(f->ds);
    fake_openstack_stop(f->os);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct fake_openstack_stats stats(struct fixture *f)
{
    struct fake_openstack_stats s;
    fake_openstack_stats(f->os, &s);
    return s;
}

static int add(struct fixture *f, const char *node, struct json_object **out,
               struct as_error *err)
{
    *out = NULL;
    as_error_clear(err);
    return node_add(&f->nc, node, NULL, false, out, err);
}

static void test_add_costs_one_auth_one_create(void **state)
{
    struct fixture *f = *state;
    struct json_object *out;
    struct as_error err;

    assert_int_equal(add(f, "web-a", &out, &err), 0);
    struct json_object *node = jx_obj(out, "node");
    assert_string_equal(jx_str(node, "state", ""), "active");
    assert_non_null(jx_str(node, "address", NULL));
    json_object_put(out);
    struct fake_openstack_stats s = stats(f);
    assert_int_equal(s.auth, 1);
    assert_int_equal(s.create, 1);
    /* BUILD, BUILD, ACTIVE (the fake's default): the create said BUILD
     * itself, so the first GET waits for the first poll */
    assert_int_equal(s.get, 3);
    assert_int_equal(s.list, 1); /* the find() that makes a retry safe */

    /* a retry finds the finished node: no request at all */
    assert_int_equal(add(f, "web-a", &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
    assert_int_equal(stats(f).create, 1);
    assert_int_equal(fake_openstack_server_count(f->os), 1);
}

/* The process died after the cloud accepted the create: the record is
 * "building" with no id. The retry must find that server, not make one. */
static void test_retry_after_crash_finds_the_machine(void **state)
{
    struct fixture *f = *state;
    struct json_object *out;
    struct as_error err;
    char key[KEY_MAX];

    free(fake_openstack_add_server(f->os, "web-b", "web", "ACTIVE", NULL));
    assert_int_equal(ds_put(f->ds, key_node(key, "web", "web-b"),
                            "{\"name\":\"web-b\",\"group\":\"web\",\"state\":\"building\","
                            "\"provider\":\"openstack\",\"created_at\":1}",
                            0, &err), 0);
    fake_openstack_reset_stats(f->os);
    assert_int_equal(add(f, "web-b", &out, &err), 0);
    assert_string_equal(jx_str(jx_obj(out, "node"), "state", ""), "active");
    json_object_put(out);
    assert_int_equal(stats(f).create, 0);
    assert_int_equal(stats(f).get, 0); /* the find said ACTIVE: not asked again */
    assert_int_equal(fake_openstack_server_count(f->os), 1);
}

/* An ambiguous create failure (503) is not retried blindly; the next try
 * looks first, so there is never a duplicate. */
static void test_failed_create_then_retry_no_duplicate(void **state)
{
    struct fixture *f = *state;
    struct json_object *out;
    struct as_error err;

    fake_openstack_fail_next(f->os, FAKE_OS_CREATE, 1, 503, -1);
    assert_int_equal(add(f, "web-c", &out, &err), -1);
    assert_string_equal(err.code, "provider_error");
    assert_int_equal(add(f, "web-c", &out, &err), 0);
    json_object_put(out);
    assert_int_equal(fake_openstack_server_count(f->os), 1);
}

static void test_error_build_cleans_up(void **state)
{
    struct fixture *f = *state;
    struct json_object *out, *rec;
    struct as_error err;

    fake_openstack_fail_builds(f->os, 1, "No valid host was found.");
    assert_int_equal(add(f, "web-d", &out, &err), -1);
    assert_string_equal(err.code, "node_failed");
    assert_non_null(strstr(err.message, "No valid host"));
    assert_non_null(strstr(err.message, "deleted the machine and its record"));
    assert_int_equal(node_record_load(f->ds, "web", "web-d", &rec, &err), 0);
    assert_int_equal(fake_openstack_server_count(f->os), 0);
}

static void test_remove(void **state)
{
    struct fixture *f = *state;
    struct json_object *out, *rec;
    struct as_error err;

    assert_int_equal(add(f, "web-e", &out, &err), 0);
    json_object_put(out);
    fake_openstack_reset_stats(f->os);
    assert_int_equal(node_remove(&f->nc, "web-e", &out, &err), 0);
    assert_true(jx_bool(out, "changed", false));
    json_object_put(out);
    assert_int_equal(stats(f).delete, 1);
    assert_int_equal(stats(f).get, 2); /* "deleting" once (the fake's default), then 404 */
    assert_int_equal(fake_openstack_server_count(f->os), 0);
    assert_int_equal(node_record_load(f->ds, "web", "web-e", &rec, &err), 0);
    assert_int_equal(node_remove(&f->nc, "web-e", &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
}

static void test_reconcile_orphan_and_ghost(void **state)
{
    struct fixture *f = *state;
    struct json_object *out;
    struct as_error err;
    char key[KEY_MAX];

    free(fake_openstack_add_server(f->os, "web-orphan", "web", "ACTIVE", NULL));
    free(fake_openstack_add_server(f->os, "api-1", "api", "ACTIVE", NULL)); /* not ours */
    assert_int_equal(ds_put(f->ds, key_node(key, "web", "web-ghost"),
                            "{\"name\":\"web-ghost\",\"state\":\"active\","
                            "\"provider_id\":\"00000000-0000-0000-0000-000000000000\"}",
                            0, &err), 0);
    fake_openstack_reset_stats(f->os);
    assert_int_equal(node_reconcile(&f->nc, true, false, 1800, &out, &err), 0);
    assert_int_equal(json_object_array_length(jx_arr(out, "findings")), 2);
    json_object_put(out);
    /* one DELETE: the orphan's; the other group's server is not ours */
    assert_int_equal(stats(f).delete, 1);
    char *api = fake_openstack_server_id(f->os, "api-1");
    assert_non_null(api);
    free(api);
    struct json_object *rec;
    assert_int_equal(node_record_load(f->ds, "web", "web-ghost", &rec, &err), 0);
}

/* compute.c's table: a provider by name, its own poll interval, and an
 * unknown name refused with the table's names. */
static void test_compute_table(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    assert_string_equal(compute_provider(f->nc.compute), "openstack");
    assert_int_equal(compute_poll_ms(f->nc.compute), 2000);
    assert_int_equal(compute_poll_first_ms(f->nc.compute), 1000);
    assert_non_null(compute_lookup("local"));
    assert_null(compute_lookup("ec2"));
    assert_null(compute_lookup(NULL));
    assert_null(compute_open("ec2", NULL, &err));
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_string_equal(err.code, "unknown_provider");
    assert_string_equal(err.message,
                        "no compute provider named 'ec2' (local, openstack, digitalocean)");
    compute_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_costs_one_auth_one_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_crash_finds_the_machine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_create_then_retry_no_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_build_cleans_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_orphan_and_ghost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compute_table, setup, teardown),
    };
    return cmocka_run_group_tests_name("nodes", tests, NULL, NULL);
}
