/* End-to-end: the warm pool on DigitalOcean as st2 runs the actions
 * (issue 17): asg_define accepts warm_pool for compute_provider
 * digitalocean now that the provider parks a droplet powered off; add_node
 * warm, node_park (shutdown: the droplet "off"), pool_take and
 * node_activate (power_on: "active" again) against the in-process fake of
 * the API (tests/fakes/fake_digitalocean.c); SIGTERM during a park; a
 * droplet archived under a warm node. The provider's own cases are
 * tests/unit/compute/test_compute_do_park.c. */
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
#include "fake_digitalocean.h"
#include "jsonx.h"
#include "store_fixture.h"
#include "store_node.h"

#define TOKEN "dop_v1_5ecret0123456789abcdef0123456789abcdef"
#define LEASE "000000001000-scale_out-0000d0e2"

struct fixture {
    struct store_fixture st;
    struct fake_do *fake;
    char url_arg[160];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(store_fixture_open(&f->st, "as-dopool"), 0);
    assert_non_null(f->fake = fake_do_start(TOKEN));
    snprintf(f->url_arg, sizeof f->url_arg, "--digitalocean_api_url=%s", fake_do_url(f->fake));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fake_do_stop(f->fake);
    store_fixture_close(&f->st);
    free(f);
    return 0;
}

/* Node actions get the provider's settings as st2 passes them from the
 * pack config; a 10 ms poll ceiling (the fake moves per look). */
static int run(struct fixture *f, const char *name, struct action_result *r, ...)
{
    const char *settings[] = {f->url_arg, "--digitalocean_token=" TOKEN,
                              "--poll_interval_ms=10", NULL};
    va_list ap;
    va_start(ap, r);
    int status = store_vrun_node(&f->st, name, settings, r, ap);
    va_end(ap);
    return status;
}

static const char *state_of(struct fixture *f, const char *node)
{
    return store_node_state(&f->st, "web", node);
}

static void assert_droplet(struct fixture *f, const char *node, const char *want)
{
    long long id = fake_do_find(f->fake, node);
    assert_true(id > 0);
    char *text = fake_do_droplet_json(f->fake, id);
    struct json_object *o = json_tokener_parse(text);
    free(text);
    assert_string_equal(jx_str(o, "status", ""), want);
    json_object_put(o);
}

static void define(struct fixture *f)
{
    struct action_result r;
    if (run(f, "asg_define", &r, "--name=web", "--compute_provider=digitalocean", "--min=1",
            "--warm_pool=2", NULL) != 0)
        fail_msg("asg_define: %s%s", r.out, r.err);
    action_result_free(&r);
}

static void warm_add(struct fixture *f, const char *node)
{
    struct action_result r;
    char arg[64];
    snprintf(arg, sizeof arg, "--node=%s", node);
    if (run(f, "add_node", &r, "--name=web", arg, "--warm=true", NULL) != 0)
        fail_msg("add_node: %s%s", r.out, r.err);
    assert_string_equal(jx_str(jx_obj(r.json, "node"), "state", ""), "warming");
    action_result_free(&r);
}

/* What was warm_pool_unsupported is accepted: define and update. */
static void test_define_accepts_warm_pool(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f);
    assert_int_equal(run(f, "asg_get", &r, "--name=web", NULL), 0);
    assert_non_null(strstr(r.out, "\"warm_pool\":2"));
    action_result_free(&r);
    assert_int_equal(run(f, "asg_update", &r, "--name=web", "--warm_pool=3", NULL), 0);
    action_result_free(&r);
    assert_int_equal(run(f, "pool_plan", &r, "--name=web", NULL), 0);
    assert_int_equal(jx_int(r.json, "need", -1), 3);
    action_result_free(&r);
}

static void test_park_take_activate(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f);
    warm_add(f, "web-w1");
    assert_droplet(f, "web-w1", "active");

    assert_int_equal(run(f, "node_park", &r, "--name=web", "--node=web-w1", NULL), 0);
    assert_string_equal(jx_str(jx_obj(r.json, "node"), "state", ""), "warm");
    action_result_free(&r);
    assert_droplet(f, "web-w1", "off");
    struct fake_do_stats s;
    fake_do_stats(f->fake, &s);
    assert_int_equal(s.power, 1);
    /* again: nothing posted */
    assert_int_equal(run(f, "node_park", &r, "--name=web", "--node=web-w1", NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);

    assert_int_equal(run(f, "pool_take", &r, "--name=web", "--count=1",
                         "--lease_id=" LEASE, NULL), 0);
    assert_int_equal(jx_int(r.json, "taken", -1), 1);
    action_result_free(&r);
    assert_int_equal(run(f, "node_activate", &r, "--name=web", "--node=web-w1", NULL), 0);
    assert_string_equal(jx_str(jx_obj(r.json, "node"), "state", ""), "active");
    assert_true(jx_str(jx_obj(r.json, "node"), "address", "")[0] != '\0');
    action_result_free(&r);
    assert_droplet(f, "web-w1", "active");
    assert_int_equal(run(f, "node_activate", &r, "--name=web", "--node=web-w1", NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    fake_do_stats(f->fake, &s);
    assert_int_equal(s.power, 2);
    assert_string_equal(state_of(f, "web-w1"), "active");
}

/* SIGTERM while node_park watches a shutdown the guest ignores: exit
 * non-zero with one JSON error, the record still warming, no power_off. */
static void test_sigterm_during_park(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f);
    warm_add(f, "web-w2");
    fake_do_set_shutdown_ignored(f->fake, 1);
    fake_do_reset_stats(f->fake);
    const char *args[] = {f->url_arg, "--digitalocean_token=" TOKEN, "--poll_interval_ms=10",
                          "--name=web", "--node=web-w2", NULL};
    int out, err;
    pid_t pid = action_start("node_park", args, store_env(&f->st), &out, &err);
    assert_true(pid > 0);
    struct fake_do_stats s = {0};
    for (int i = 0; i < 20000 && s.power < 1; i++) {
        usleep(1000);
        fake_do_stats(f->fake, &s);
    }
    assert_int_equal(s.power, 1);
    kill(pid, SIGTERM);
    action_wait(pid, out, err, &r);
    assert_true(r.status != 0);
    assert_non_null(r.json);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
    assert_string_equal(state_of(f, "web-w2"), "warming");
    fake_do_stats(f->fake, &s);
    assert_int_equal(s.power, 1); /* the shutdown only */
    assert_droplet(f, "web-w2", "active");
}

/* A warm node whose droplet was archived behind our back: neither active
 * nor off, so node_park fails with machine_conflict, posts nothing, and
 * leaves the record warming for the workflow's undo and reconcile. */
static void test_park_droplet_archived(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    define(f);
    warm_add(f, "web-w3");
    assert_int_equal(fake_do_set_status(f->fake, fake_do_find(f->fake, "web-w3"), "archive"),
                     0);
    assert_int_equal(run(f, "node_park", &r, "--name=web", "--node=web-w3", NULL), 1);
    assert_string_equal(action_error_code(&r), "machine_conflict");
    action_result_free(&r);
    assert_string_equal(state_of(f, "web-w3"), "warming");
    struct fake_do_stats s;
    fake_do_stats(f->fake, &s);
    assert_int_equal(s.power, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_define_accepts_warm_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_take_activate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_during_park, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_droplet_archived, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
