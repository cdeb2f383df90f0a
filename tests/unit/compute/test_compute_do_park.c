/* test_compute_do_park.c - the warm pool on DigitalOcean: the provider's
 * stop/start (lib/compute/compute_digitalocean.c: droplet actions shutdown,
 * power_off, power_on) and node_park/node_activate above it
 * (lib/compute/node_park.c), in-process against the fake
 * (tests/fakes/fake_digitalocean.c).
 *
 * No test depends on timing: the fake moves an action on per look, and
 * what is counted is requests. The one bounded wait (a shutdown the guest
 * ignores) is cut by an action deadline of a fraction of a second; the
 * outcome is the same however long it lasts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asg.h"
#include "clock.h"
#include "compute_int.h"
#include "digitalocean.h"
#include "fake_digitalocean.h"
#include "http.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "node_ctx_fixture.h"
#include "node_pool.h"
#include "nodes.h"
#include "secret.h"
#include "signals.h"
#include "xalloc.h"

#define TOKEN "dop_v1_5ecret0123456789abcdef0123456789abcdef"
#define LEASE "000000001000-scale_out-0000d0d0"

static const struct compute_ops *ops = &compute_digitalocean_ops;

struct fixture {
    struct fake_do *fake;
    struct compute_be *c;
    struct node_fixture n; /* for the node-level tests */
};

/* The fake's API, a poll ceiling of 10 ms (the fake moves per look, not
 * per second). */
static struct json_object *settings(struct fake_do *fake)
{
    struct json_object *s = json_object_new_object();
    jx_add_str(s, "token", TOKEN);
    jx_add_str(s, "api_url", fake_do_url(fake));
    jx_add_str(s, "poll_interval_ms", "10");
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct as_error err = {0};
    assert_non_null(f);
    assert_non_null(f->fake = fake_do_start(TOKEN));
    struct json_object *s = settings(f->fake);
    f->c = ops->open(s, &err);
    json_object_put(s);
    if (!f->c)
        fail_msg("open: %s: %s", err.code, err.message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ops->close(f->c);
    fake_do_stop(f->fake);
    as_deadline_set_ms(0);
    as_set_interrupted(false);
    free(f);
    secret_clear();
    return 0;
}

/* The group "web" on digitalocean in a fresh store, and a node context as
 * node_ctx_open() makes one. */
static int setup_nodes(void **state)
{
    setup(state);
    struct fixture *f = *state;
    node_fixture_open(&f->n, "as-dopark", "digitalocean");
    f->n.g.warm_pool = 2; /* refused for digitalocean before the park existed */
    node_fixture_define(&f->n, settings(f->fake));
    return 0;
}

static int teardown_nodes(void **state)
{
    struct fixture *f = *state;
    node_fixture_close(&f->n);
    return teardown(state);
}

static struct fake_do_stats stats(struct fake_do *fake)
{
    struct fake_do_stats s;
    fake_do_stats(fake, &s);
    return s;
}

/* A droplet of group web in this status; its id into id. */
static void droplet(struct fixture *f, const char *name, const char *status, char *id,
                    size_t size)
{
    const char *tags[] = {"autoscale-web", NULL};
    long long n = fake_do_add_droplet(f->fake, name, tags, status);
    assert_true(n > 0);
    snprintf(id, size, "%lld", n);
}

/* The droplet's status as the fake holds it (not a look). */
static void assert_status(struct fixture *f, const char *id, const char *want)
{
    char *text = fake_do_droplet_json(f->fake, strtoll(id, NULL, 10));
    assert_non_null(text);
    struct json_object *o = json_tokener_parse(text);
    free(text);
    assert_string_equal(jx_str(o, "status", ""), want);
    json_object_put(o);
}

/* The "type" of the last droplet action posted. */
static void assert_last_type(struct fixture *f, const char *want)
{
    char *body = fake_do_last_power_body(f->fake);
    assert_non_null(body);
    struct json_object *o = json_tokener_parse(body);
    free(body);
    assert_string_equal(jx_str(o, "type", ""), want);
    json_object_put(o);
}

/* get() until the state, at most 10 looks (the fake moves per look). */
static void poll_state(struct fixture *f, const char *id, enum machine_state want,
                       struct machine *m)
{
    struct as_error err = {0};
    for (int i = 0; i < 10; i++) {
        if (ops->get(f->c, id, m, &err) != 0)
            fail_msg("get: %s: %s", err.code, err.message);
        if (m->state == want)
            return;
    }
    fail_msg("droplet %s never %s (last %s: %s)", id, machine_state_name(want),
             machine_state_name(m->state), m->detail);
}

/* ------------------------------------------------------- the provider -- */

/* shutdown, watched until the droplet is off: one request that changes
 * anything, and no power_off. */
static void test_stop_shuts_down(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;
    char id[32];
    droplet(f, "web-1", "active", id, sizeof id);
    assert_int_equal(ops->stop(f->c, id, &err), 0);
    assert_int_equal(stats(f->fake).power, 1);
    assert_last_type(f, "shutdown");
    assert_status(f, id, "off");
    poll_state(f, id, MACHINE_STOPPED, &m);
    assert_non_null(strstr(m.detail, "off"));
}

/* Idempotent: a droplet already off (stop) or active (start) is done
 * without an action. */
static void test_already_there_no_action(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char off[32], on[32];
    droplet(f, "web-1", "off", off, sizeof off);
    droplet(f, "web-2", "active", on, sizeof on);
    assert_int_equal(ops->stop(f->c, off, &err), 0);
    assert_int_equal(ops->start(f->c, on, &err), 0);
    assert_int_equal(stats(f->fake).power, 0);
}

static void test_start_powers_on(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;
    char id[32];
    droplet(f, "web-1", "off", id, sizeof id);
    assert_int_equal(ops->start(f->c, id, &err), 0);
    assert_int_equal(stats(f->fake).power, 1);
    assert_last_type(f, "power_on");
    poll_state(f, id, MACHINE_ACTIVE, &m);
    assert_true(m.address[0] != '\0');
    assert_status(f, id, "active");
}

/* A guest that ignores the shutdown: DO completes the action anyway, the
 * droplet stays active, and after the grace the power is cut. */
static void test_ignored_shutdown_then_power_off(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;
    char id[32];
    droplet(f, "web-1", "active", id, sizeof id);
    fake_do_set_shutdown_ignored(f->fake, 1);
    as_deadline_set_ms(400); /* grace: half of it */
    assert_int_equal(ops->stop(f->c, id, &err), 0);
    as_deadline_set_ms(0);
    assert_int_equal(stats(f->fake).power, 2);
    assert_last_type(f, "power_off");
    poll_state(f, id, MACHINE_STOPPED, &m);
}

/* An errored shutdown: power_off at once, no grace spent. */
static void test_errored_shutdown_then_power_off(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;
    char id[32];
    droplet(f, "web-1", "active", id, sizeof id);
    fake_do_fail_power_next(f->fake, 1);
    assert_int_equal(ops->stop(f->c, id, &err), 0);
    assert_int_equal(stats(f->fake).power, 2);
    assert_last_type(f, "power_off");
    poll_state(f, id, MACHINE_STOPPED, &m);
}

/* An errored power_off or power_on: DO says so on the action only; get()
 * reports ERROR, so a wait ends instead of lasting to its deadline. */
static void test_errored_power_actions_are_error(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;
    char a[32], b[32];
    droplet(f, "web-1", "active", a, sizeof a);
    droplet(f, "web-2", "off", b, sizeof b);
    fake_do_fail_power_next(f->fake, 3); /* shutdown, power_off, power_on */
    assert_int_equal(ops->stop(f->c, a, &err), 0);
    poll_state(f, a, MACHINE_ERROR, &m);
    assert_non_null(strstr(m.detail, "power_off action"));
    assert_non_null(strstr(m.detail, "errored"));
    assert_status(f, a, "active");
    assert_int_equal(ops->start(f->c, b, &err), 0);
    poll_state(f, b, MACHINE_ERROR, &m);
    assert_non_null(strstr(m.detail, "power_on action"));
    assert_status(f, b, "off");
    /* A start of the one still active: done, and no longer reported ERROR
     * for the power_off that errored before. */
    assert_int_equal(ops->start(f->c, a, &err), 0);
    poll_state(f, a, MACHINE_ACTIVE, &m);
}

/* A droplet that is not there: machine_gone, nothing posted. */
static void test_absent_is_machine_gone(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    assert_int_equal(ops->stop(f->c, "999", &err), -1);
    assert_string_equal(err.code, "machine_gone");
    assert_int_equal(ops->start(f->c, "999", &err), -1);
    assert_string_equal(err.code, "machine_gone");
    assert_int_equal(ops->stop(f->c, "12abc", &err), -1);
    assert_string_equal(err.code, "invalid_id");
    assert_int_equal(stats(f->fake).power, 0);
}

/* Neither active nor off (still being created; archived): machine_conflict
 * without a request. Another client's action pending: DO's 422 becomes
 * machine_conflict with DO's words. */
static void test_conflicts(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char fresh[32], off[32];
    droplet(f, "web-1", "new", fresh, sizeof fresh);
    assert_int_equal(ops->stop(f->c, fresh, &err), -1);
    assert_string_equal(err.code, "machine_conflict");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_int_equal(stats(f->fake).power, 0);

    droplet(f, "web-2", "off", off, sizeof off);
    assert_int_equal(ops->start(f->c, off, &err), 0); /* pending for 2 looks */
    struct json_object *s = settings(f->fake);
    struct compute_be *other = ops->open(s, &err);
    json_object_put(s);
    assert_non_null(other);
    assert_int_equal(ops->start(other, off, &err), -1);
    assert_string_equal(err.code, "machine_conflict");
    assert_non_null(strstr(err.message, "pending event"));
    ops->close(other);
}

/* What SIGTERM's handler does, once the shutdown has been posted (the
 * stop is then watching a droplet that never goes off). */
static void *terminate_after_post(void *arg)
{
    struct fake_do *fake = arg;
    for (int i = 0; i < 20000 && stats(fake).power < 1; i++)
        usleep(1000);
    as_set_interrupted(true);
    return NULL;
}

/* SIGTERM while the shutdown is watched: "interrupted", no power_off
 * sent (without it the grace is 30 s: the test would hang, not pass). */
static void test_sigterm_while_polling(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char id[32];
    pthread_t th;
    droplet(f, "web-1", "active", id, sizeof id);
    fake_do_set_shutdown_ignored(f->fake, 1);
    assert_int_equal(pthread_create(&th, NULL, terminate_after_post, f->fake), 0);
    assert_int_equal(ops->stop(f->c, id, &err), -1);
    pthread_join(th, NULL);
    as_set_interrupted(false);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(stats(f->fake).power, 1);
    assert_last_type(f, "shutdown");
}

/* ----------------------------------------------------------- the fake -- */

static long post_type(struct fixture *f, const char *id, const char *body,
                      struct json_object **doc)
{
    struct http_api api;
    struct as_error err = {0};
    struct http_response r;
    assert_int_equal(digitalocean_api_open(&api, TOKEN, fake_do_url(f->fake), NULL, &err), 0);
    const char *headers[] = {api.auth, NULL};
    char *url = xasprintf("%s/droplets/%s/actions", api.base, id);
    struct json_object *b = body ? json_tokener_parse(body) : NULL;
    *doc = NULL;
    assert_int_equal(http_json(api.http, "POST", url, headers, b, &r, doc, &err), 0);
    long status = r.status;
    http_response_clear(&r);
    json_object_put(b);
    free(url);
    http_api_close(&api);
    return status;
}

/* The fake refuses what DO refuses: a power_off of a droplet already off,
 * a power_on of one already on, any action while one is pending, an
 * unknown type, a droplet that is not there; it answers 201 with the
 * documented action object otherwise. */
static void test_fake_refuses_what_do_refuses(void **state)
{
    struct fixture *f = *state;
    struct json_object *doc = NULL;
    char off[32], on[32];
    droplet(f, "web-1", "off", off, sizeof off);
    droplet(f, "web-2", "active", on, sizeof on);
    assert_int_equal(post_type(f, off, "{\"type\":\"power_off\"}", &doc), 422);
    assert_string_equal(jx_str(doc, "id", ""), "unprocessable_entity");
    json_object_put(doc);
    assert_int_equal(post_type(f, on, "{\"type\":\"power_on\"}", &doc), 422);
    json_object_put(doc);
    assert_int_equal(post_type(f, on, "{\"type\":\"explode\"}", &doc), 422);
    json_object_put(doc);
    assert_int_equal(post_type(f, "424242", "{\"type\":\"power_off\"}", &doc), 404);
    assert_string_equal(jx_str(doc, "id", ""), "not_found");
    json_object_put(doc);

    assert_int_equal(post_type(f, on, "{\"type\":\"power_off\"}", &doc), 201);
    struct json_object *a = jx_obj(doc, "action");
    assert_string_equal(jx_str(a, "status", ""), "in-progress");
    assert_string_equal(jx_str(a, "type", ""), "power_off");
    assert_string_equal(jx_str(a, "resource_type", ""), "droplet");
    assert_int_equal(jx_int(a, "resource_id", 0), strtoll(on, NULL, 10));
    json_object_put(doc);
    assert_int_equal(post_type(f, on, "{\"type\":\"shutdown\"}", &doc), 422);
    assert_non_null(strstr(jx_str(doc, "message", ""), "pending event"));
    json_object_put(doc);
}

/* ------------------------------------------------ node_park/activate -- */

static const char *state_of(struct fixture *f, const char *node)
{
    return node_fixture_state(&f->n, node);
}

static const char *droplet_of(struct fixture *f, const char *node, char *id, size_t size)
{
    long long n = fake_do_find(f->fake, node);
    assert_true(n > 0);
    snprintf(id, size, "%lld", n);
    return id;
}

/* The whole cycle on DigitalOcean: a warm add (droplet active, record
 * warming), node_park (shutdown: droplet off, record warm), pool_take,
 * node_activate (power_on: droplet active, record active with its
 * address); each step again changes nothing and posts nothing. */
static void test_node_cycle(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err;
    char id[32];

    assert_int_equal(node_add(&f->n.nc, "web-a", NULL, true, &out, &err), 0);
    assert_string_equal(jx_str(jx_obj(out, "node"), "state", ""), "warming");
    char address[64];
    snprintf(address, sizeof address, "%s", jx_str(jx_obj(out, "node"), "address", ""));
    assert_true(address[0] != '\0');
    json_object_put(out);
    droplet_of(f, "web-a", id, sizeof id);

    if (node_park(&f->n.nc, "web-a", &out, &err) != 0)
        fail_msg("node_park: %s: %s", err.code, err.message);
    assert_true(jx_bool(out, "changed", false));
    json_object_put(out);
    assert_string_equal(state_of(f, "web-a"), "warm");
    assert_status(f, id, "off");
    assert_int_equal(stats(f->fake).power, 1);
    assert_int_equal(node_park(&f->n.nc, "web-a", &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
    assert_int_equal(stats(f->fake).power, 1);

    assert_int_equal(pool_take(f->n.ds, "web", 1, LEASE, &out, &err), 0);
    assert_int_equal(jx_int(out, "taken", -1), 1);
    json_object_put(out);
    if (node_activate(&f->n.nc, "web-a", &out, &err) != 0)
        fail_msg("node_activate: %s: %s", err.code, err.message);
    assert_string_equal(jx_str(jx_obj(out, "node"), "state", ""), "active");
    assert_string_equal(jx_str(jx_obj(out, "node"), "address", ""), address);
    json_object_put(out);
    assert_status(f, id, "active");
    assert_int_equal(stats(f->fake).power, 2);
    assert_int_equal(node_activate(&f->n.nc, "web-a", &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
    assert_int_equal(stats(f->fake).power, 2);
}

/* Errored power actions: node_park fails with the record still warming
 * (the workflow's undo takes it down); node_activate records it failed. */
static void test_node_errored_actions(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err;

    assert_int_equal(node_add(&f->n.nc, "web-b", NULL, true, &out, &err), 0);
    json_object_put(out);
    fake_do_fail_power_next(f->fake, 2); /* shutdown, then power_off */
    assert_int_equal(node_park(&f->n.nc, "web-b", &out, &err), -1);
    assert_string_equal(err.code, "node_park_failed");
    assert_non_null(strstr(err.message, "power_off action"));
    assert_string_equal(state_of(f, "web-b"), "warming");

    assert_int_equal(node_park(&f->n.nc, "web-b", &out, &err), 0); /* a retry parks it */
    json_object_put(out);
    assert_int_equal(pool_take(f->n.ds, "web", 1, LEASE, &out, &err), 0);
    json_object_put(out);
    fake_do_fail_power_next(f->fake, 1);
    assert_int_equal(node_activate(&f->n.nc, "web-b", &out, &err), -1);
    assert_string_equal(err.code, "node_failed");
    assert_non_null(strstr(err.message, "power_on action"));
    assert_string_equal(state_of(f, "web-b"), "failed");
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_shuts_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_already_there_no_action, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_powers_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_shutdown_then_power_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errored_shutdown_then_power_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errored_power_actions_are_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_absent_is_machine_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_while_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fake_refuses_what_do_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_cycle, setup_nodes, teardown_nodes),
        cmocka_unit_test_setup_teardown(test_node_errored_actions, setup_nodes,
                                        teardown_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
