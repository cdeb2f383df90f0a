/* test_controls.c - lib/model/controls.c on an embedded datastore in a
 * fresh directory per test: the processes list asg_suspend/asg_resume take,
 * node protection (checks, idempotence, what a reason change does, unknown
 * group and node), reading the protection records back (an unreadable one
 * still protects), forgetting a node's. The spec changes (controls_suspend,
 * controls_resize) live in asg.c and are tested in test_asg.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asg.h"
#include "controls.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "test_util.h"

struct fixture {
    char dir[64], path[128];
    struct ds *ds;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_controls"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    struct as_error err = {0};
    f->ds = ds_open_embedded(f->path, &err);
    if (!f->ds)
        fail_msg("ds_open_embedded: %s: %s", err.code, err.message);
    log_set_level(LOG_ERROR);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static void put(struct ds *ds, const char *key, const char *value)
{
    struct as_error err = {0};
    if (ds_put(ds, key, value, 0, &err) != 0)
        fail_msg("put %s: %s", key, err.message);
}

/* The stored value of key (new), or NULL. */
static char *get(struct ds *ds, const char *key)
{
    struct as_error err = {0};
    char *v = NULL;
    int rc = ds_get(ds, key, &v, &err);
    if (rc < 0)
        fail_msg("get %s: %s", key, err.message);
    return rc == 0 ? v : NULL;
}

/* Group web (a bare spec: controls.c only asks whether it exists) and its
 * node records. */
static void web_with_nodes(struct fixture *f)
{
    char key[KEY_MAX];
    struct group g;
    struct as_error err = {0};
    group_init(&g, "web");
    if (asg_save_spec(f->ds, &g, &err) != 0)
        fail_msg("asg_save_spec: %s", err.message);
    group_clear(&g);
    put(f->ds, key_node(key, "web", "web-a"), "{\"name\":\"web-a\",\"state\":\"active\"}");
    put(f->ds, key_node(key, "web", "web-b"), "{\"name\":\"web-b\",\"state\":\"building\"}");
}

/* ---- processes ---- */

static void test_parse_processes(void **state)
{
    (void)state;
    static const struct {
        const char *list;
        int rc;
        unsigned mask;
    } cases[] = {
        {"all", 0, CONTROL_ALL},
        {"scale_out", 0, CONTROL_SCALE_OUT},
        {"scale_in", 0, CONTROL_SCALE_IN},
        {"replace", 0, CONTROL_REPLACE},
        {"replace,scale_out", 0, CONTROL_REPLACE | CONTROL_SCALE_OUT},
        {"scale_out,scale_in,replace", 0, CONTROL_ALL},
        {"scale_in,scale_in", 0, CONTROL_SCALE_IN}, /* a repeat is harmless */
        {NULL, -1, 0},
        {"", -1, 0},
        {",", -1, 0},
        {"scale_in,", -1, 0},
        {",scale_in", -1, 0},
        {"scale_in,,replace", -1, 0},
        {"scale_in, replace", -1, 0},
        {"scale-in", -1, 0},
        {"Scale_in", -1, 0},
        {"ALL", -1, 0},
        {"all,scale_in", -1, 0},
        {"scale", -1, 0},
        {"scale_inx", -1, 0},
        {"scale_in;reboot", -1, 0},
        {"scale_in\n", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned mask = 99;
        struct as_error err = {0};
        int rc = controls_parse_processes(cases[i].list, &mask, &err);
        if (rc != cases[i].rc || mask != cases[i].mask)
            fail_msg("'%s': rc %d mask %u, wanted %d %u", cases[i].list ? cases[i].list : "(null)",
                     rc, mask, cases[i].rc, cases[i].mask);
        if (rc < 0) {
            assert_string_equal(err.code, "invalid_parameter");
            assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        }
    }
    struct json_object *a = controls_suspended_list(CONTROL_REPLACE | CONTROL_SCALE_OUT);
    assert_string_equal(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                        "[\"scale_out\",\"replace\"]");
    json_object_put(a);
    assert_string_equal(controls_process_name(CONTROL_SCALE_IN), "scale_in");
    assert_null(controls_process_name(3));
}

/* ---- protection ---- */

static void test_protect_idempotent_and_reason(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    char key[KEY_MAX];
    web_with_nodes(f);
    key_protect(key, "web", "web-a");

    assert_int_equal(controls_protect(f->ds, "web", "web-a", true, "debug", 1000, &out, &err), 0);
    assert_true(jx_bool(out, "changed", false));
    assert_true(jx_bool(out, "protected", false));
    json_object_put(out);
    char *first = get(f->ds, key);
    struct json_object *rec = json_tokener_parse(first);
    assert_string_equal(jx_str(rec, "node", ""), "web-a");
    assert_string_equal(jx_str(rec, "group", ""), "web");
    assert_int_equal(jx_int(rec, "at", 0), 1000);
    assert_string_equal(jx_str(rec, "reason", ""), "debug");
    json_object_put(rec);

    /* the same again: nothing written, the first "at" kept */
    assert_int_equal(controls_protect(f->ds, "web", "web-a", true, "debug", 2000, &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
    char *again = get(f->ds, key);
    assert_string_equal(first, again);
    free(again);

    /* a new reason replaces the old, still from the first "at"; none given
     * where one was is a change too */
    assert_int_equal(controls_protect(f->ds, "web", "web-a", true, "leak", 3000, &out, &err), 0);
    assert_true(jx_bool(out, "changed", false));
    assert_int_equal(jx_int(jx_obj(out, "record"), "at", 0), 1000);
    json_object_put(out);
    assert_int_equal(controls_protect(f->ds, "web", "web-a", true, NULL, 3000, &out, &err), 0);
    assert_true(jx_bool(out, "changed", false));
    assert_null(jx_str(jx_obj(out, "record"), "reason", NULL));
    json_object_put(out);
    assert_int_equal(controls_protect(f->ds, "web", "web-a", true, "", 3000, &out, &err), 0);
    assert_false(jx_bool(out, "changed", true)); /* "" is no reason, as st2 sends it */
    json_object_put(out);

    /* a building node may be protected too (add_node does, for protect_new) */
    assert_int_equal(controls_protect(f->ds, "web", "web-b", true, NULL, 3000, &out, &err), 0);
    json_object_put(out);

    assert_int_equal(controls_protect(f->ds, "web", "web-a", false, NULL, 4000, &out, &err), 0);
    assert_true(jx_bool(out, "changed", false));
    assert_false(jx_bool(out, "protected", true));
    json_object_put(out);
    assert_null(get(f->ds, key));
    assert_int_equal(controls_protect(f->ds, "web", "web-a", false, NULL, 4000, &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    json_object_put(out);
    free(first);
}

static void test_protect_refusals_write_nothing(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    char key[KEY_MAX], reason[260];
    web_with_nodes(f);
    memset(reason, 'x', 201);
    reason[201] = '\0';
    static const struct {
        const char *group, *node, *reason, *code;
    } cases[] = {
        {"nope", "web-a", NULL, "unknown_group"},
        {"web", "web-z", NULL, "unknown_node"},
        {"Web", "web-a", NULL, "invalid_name"},
        {"web", "web_a", NULL, "invalid_node_name"},
        {"web", "web-a;id", NULL, "invalid_node_name"},
        {"web", NULL, NULL, "invalid_node_name"},
        {"web", "web-a", "two\nlines", "invalid_parameter"},
        {"web", "web-a", "tab\there", "invalid_parameter"},
        {"web", "web-a", "del\x7f", "invalid_parameter"},
        {"web", "web-a", "latin1 caf\xe9", "invalid_parameter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct as_error err = {0};
        if (controls_protect(f->ds, cases[i].group, cases[i].node, true, cases[i].reason, 1,
                             &out, &err) != -1 ||
            strcmp(err.code, cases[i].code) != 0)
            fail_msg("case %zu: %s, wanted %s", i, err.code, cases[i].code);
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
    struct as_error err = {0};
    assert_int_equal(controls_protect(f->ds, "web", "web-a", true, reason, 1, &out, &err), -1);
    assert_string_equal(err.code, "invalid_parameter");
    struct json_object *none = NULL;
    assert_int_equal(controls_load_protected(f->ds, "web", &none, &err), 0);
    assert_int_equal(json_object_object_length(none), 0);
    json_object_put(none);
    reason[200] = '\0'; /* 200 characters: the most */
    assert_int_equal(controls_protect(f->ds, "web", "web-a", true, reason, 1, &out, &err), 0);
    json_object_put(out);
    assert_int_equal(controls_forget_node(f->ds, "web", "web-a", &err), 0);
    assert_null(get(f->ds, key_protect(key, "web", "web-a")));
}

static void test_load_protected(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    char key[KEY_MAX];
    web_with_nodes(f);
    put(f->ds, key_protect(key, "web", "web-a"), "{\"node\":\"web-a\",\"reason\":\"r\"}");
    put(f->ds, key_protect(key, "web", "web-b"), "{corrupt");
    put(f->ds, key_protect(key, "web-2", "web-2-a"), "{\"node\":\"web-2-a\"}");
    assert_int_equal(controls_load_protected(f->ds, "web", &out, &err), 0);
    assert_int_equal(json_object_object_length(out), 2);
    assert_string_equal(jx_str(jx_obj(out, "web-a"), "reason", ""), "r");
    assert_true(json_object_object_get_ex(out, "web-b", NULL)); /* still protected */
    json_object_put(out);

    assert_int_equal(controls_forget_node(f->ds, "web", "web-b", &err), 0);
    assert_int_equal(controls_forget_node(f->ds, "web", "web-b", &err), 0); /* absent: fine */
    assert_int_equal(controls_load_protected(f->ds, "web", &out, &err), 0);
    assert_int_equal(json_object_object_length(out), 1);
    json_object_put(out);
}

static void test_checks_without_store(void **state)
{
    (void)state;
    unsigned mask;
    struct as_error err = {0};
    assert_int_equal(controls_suspend_check("web", "all", &mask, &err), 0);
    assert_int_equal(mask, CONTROL_ALL);
    assert_int_equal(controls_suspend_check("web;x", "all", &mask, &err), -1);
    assert_string_equal(err.code, "invalid_name");
    assert_int_equal(controls_resize_check("web", 0, &err), 0);
    assert_int_equal(controls_resize_check("web", CONTROL_SIZE_MAX, &err), 0);
    assert_int_equal(controls_resize_check("web", -1, &err), -1);
    assert_string_equal(err.code, "invalid_limits");
    assert_int_equal(controls_resize_check("web", CONTROL_SIZE_MAX + 1, &err), -1);
    assert_string_equal(err.code, "invalid_limits");
    assert_int_equal(controls_protect_check("web", "web-a", NULL, &err), 0);
}

/* A force waits until an operation starts after it, for an hour at most. */
static void test_force_pending(void **state)
{
    (void)state;
    assert_false(controls_force_pending(0, 0, 100));          /* never forced */
    assert_true(controls_force_pending(100, 0, 100));
    assert_true(controls_force_pending(100, 99, 100 + CONTROL_FORCE_WINDOW_S - 1));
    assert_false(controls_force_pending(100, 99, 100 + CONTROL_FORCE_WINDOW_S));
    assert_false(controls_force_pending(100, 100, 150));      /* started with it */
    assert_false(controls_force_pending(100, 101, 150));      /* acted on */
    assert_true(controls_force_pending(100, 0, 50));          /* clock stepped back */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_processes),
        T(test_protect_idempotent_and_reason),
        T(test_protect_refusals_write_nothing),
        T(test_load_protected),
        cmocka_unit_test(test_checks_without_store),
        cmocka_unit_test(test_force_pending),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
