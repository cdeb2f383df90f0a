/* End-to-end tests of the asg_* actions: each binary is run with argv built
 * exactly as st2's local-shell-script runner builds it, and the test checks
 * stdout (one JSON document), the exit status and the datastore afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

static int setup(void **state)
{
    return store_setup(state, "as-e2e", 0);
}

/* Every key the store holds, as one comma-joined string. */
static char *all_keys(struct store_fixture *f)
{
    struct ds_list l;
    store_list(f, KEY_ROOT, &l);
    char *s = calloc(1, 1);
    for (size_t i = 0; i < l.count; i++) {
        s = realloc(s, strlen(s) + strlen(l.items[i].name) + 2);
        strcat(s, i ? "," : "");
        strcat(s, l.items[i].name);
    }
    ds_list_clear(&l);
    return s;
}

static void create_web(struct store_fixture *f)
{
    struct action_result r;
    const char *args[] = {"--compute_provider=local", "--name=web", "--min=2", "--max=6", NULL};
    assert_int_equal(store_runv(f, "asg_define", args, &r), 0);
    action_result_free(&r);
}

static void test_create_defaults(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--compute_provider=local", "--name=web", NULL};

    assert_int_equal(store_runv(f, "asg_define", args, &r), 0);
    assert_true(jx_bool(r.json, "created", false));
    struct json_object *g = jx_obj(r.json, "group");
    assert_int_equal(jx_int(g, "min", -1), 3);
    assert_int_equal(jx_int(g, "max", -1), 20);
    assert_int_equal(jx_int(g, "scale_out_step", -1), 5);
    assert_int_equal(jx_int(g, "scale_in_cooldown", -1), 1800);
    assert_string_equal(jx_str(g, "compute_provider", ""), "local");
    action_result_free(&r);

    char *keys = all_keys(f);
    assert_string_equal(keys, "autoscale.spec.web");
    free(keys);
}

/* st2 renders numbers through float ("2.0"), passes true booleans bare,
 * omits false and empty values, and hands objects over as positional JSON. */
static void test_st2_argv_forms(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--compute_provider=local", "--scale_in_step=1", "--min=2.0", "--name=api", "--max=4",
                          "{\"openstack\": {\"region\": \"RegionTwo\"}}", NULL};

    assert_int_equal(store_runv(f, "asg_define", args, &r), 0);
    struct json_object *g = jx_obj(r.json, "group");
    assert_int_equal(jx_int(g, "min", -1), 2);
    assert_int_equal(jx_int(g, "scale_in_step", -1), 1);
    assert_string_equal(jx_str(jx_obj(jx_obj(g, "settings"), "openstack"), "region", ""),
                        "RegionTwo");
    action_result_free(&r);

    /* an empty positional is a missing value, not an error */
    const char *get[] = {"--name=api", NULL};
    const char *upd[] = {"--name=api", "", NULL};
    assert_int_equal(store_runv(f, "asg_update", upd, &r), 0);
    assert_false(jx_bool(r.json, "updated", true));
    action_result_free(&r);
    assert_int_equal(store_runv(f, "asg_get", get, &r), 0);
    action_result_free(&r);
}

static void test_create_idempotent_and_conflict(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *same[] = {"--compute_provider=local", "--max=6", "--name=web", "--min=2", NULL};
    const char *other[] = {"--compute_provider=local", "--name=web", "--min=2", "--max=9", NULL};

    create_web(f);
    assert_int_equal(store_runv(f, "asg_define", same, &r), 0);
    assert_false(jx_bool(r.json, "created", true));
    action_result_free(&r);

    assert_int_equal(store_runv(f, "asg_define", other, &r), 2);
    assert_string_equal(action_error_code(&r), "group_conflict");
    assert_non_null(strstr(r.out, "max"));
    action_result_free(&r);

    const char *get[] = {"--name=web", NULL};
    assert_int_equal(store_runv(f, "asg_get", get, &r), 0);
    assert_int_equal(jx_int(jx_obj(r.json, "group"), "max", -1), 6);
    action_result_free(&r);
}

/* Every malformed input: exit 2, a JSON error on one line, nothing stored. */
static void test_bad_input_changes_nothing(void **state)
{
    struct store_fixture *f = *state;
    static const struct {
        const char *args[4];
        const char *code;
    } cases[] = {
        {{"--min=2", NULL}, "missing_parameter"},
        {{"--name=web", "--bogus=1", NULL}, "unknown_parameter"},
        {{"--name=web", "--min=2.5", NULL}, "invalid_parameter"},
        {{"--name=web", "--min=three", NULL}, "invalid_parameter"},
        {{"--name=web", "--min=9", "--max=3", NULL}, "invalid_limits"},
        {{"--name=web", "--max=0", NULL}, "invalid_parameter"},
        {{"--name=web;rm -rf /", NULL}, "invalid_name"},
        {{"--name=web\nx", NULL}, "invalid_name"},
        {{"--name=Web", NULL}, "invalid_name"},
        {{"--name=web-", NULL}, "invalid_name"},
        {{"--name=abcdefghijklmnopqrstuvwxyz123456", NULL}, "invalid_name"},
        {{"--name=web", "[1, 2]", NULL}, "invalid_parameter"},
        {{"--name=web", "{not json", NULL}, "invalid_parameter"},
        {{"--name=web", "{}", "extra", NULL}, "unexpected_argument"},
        {{"--name=web", "--name=api", NULL}, "duplicate_parameter"},
        {{"--name=web", "--image=ubuntu; reboot", NULL}, "invalid_parameter"},
        {{"--name=web", "--flavor=m1\nsmall", NULL}, "invalid_parameter"},
        {{"--name=web", "--dns_zone=Example..com", NULL}, "invalid_parameter"},
        {{"--name=web", "--lb_provider=nginx", NULL}, "invalid_parameter"},
        {{"--name=web", "--min", NULL}, "invalid_parameter"},
        {{"--name=w\xff", NULL}, "invalid_parameter"},
        /* no production default may start local processes */
        {{"--name=web", "--min=1", NULL}, "no_compute_provider"},
        {{"--name=web", "--compute_provider=", NULL}, "no_compute_provider"},
        /* health and controls fields */
        {{"--name=web", "--health_check_path=health", NULL}, "invalid_parameter"},
        {{"--name=web", "--health_check_path=/h x", NULL}, "invalid_parameter"},
        {{"--name=web", "--health_check_path=/h\r\nHost: x", NULL}, "invalid_parameter"},
        {{"--name=web", "--health_check_path=/h;id", NULL}, "invalid_parameter"},
        {{"--name=web", "--health_threshold=0", NULL}, "invalid_parameter"},
        {{"--name=web", "--health_grace=86401", NULL}, "invalid_parameter"},
        {{"--name=web", "--health_replace=2", NULL}, "invalid_parameter"},
        {{"--name=web", "--suspend_scale_in=2", NULL}, "invalid_parameter"},
        {{"--name=web", "--protect_new=-1", NULL}, "invalid_parameter"},
        {{"--name=web", "--min_healthy=-2", NULL}, "invalid_parameter"},
        {{"--name=web", "--max=4", "--min_healthy=5", NULL}, "invalid_limits"},
        {{"--name=web", "--forced_at=1", NULL}, "unknown_parameter"}, /* asg_resize's */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct action_result r;
        if (store_runv(f, "asg_define", cases[i].args, &r) != 2 ||
            strcmp(action_error_code(&r), cases[i].code) != 0)
            fail_msg("case %zu: expected %s, got %s", i, cases[i].code, r.out);
        action_result_free(&r);
    }
    char *keys = all_keys(f);
    assert_string_equal(keys, "");
    free(keys);
}

/* The health and control fields through asg_define and asg_update as st2
 * passes them; asg_get shows them and the controls they make. */
static void test_health_and_control_fields(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *def[] = {"--compute_provider=local", "--name=web", "--min=2", "--max=6",
                         "--health_check_path=/healthz?deep=1", "--health_grace=60.0",
                         "--health_threshold=2", "--health_replace=0", "--min_healthy=3",
                         "--suspend_scale_in=1", "--protect_new=1", NULL};
    assert_int_equal(store_runv(f, "asg_define", def, &r), 0);
    struct json_object *g = jx_obj(r.json, "group");
    assert_string_equal(jx_str(g, "health_check_path", ""), "/healthz?deep=1");
    assert_int_equal(jx_int(g, "health_grace", -1), 60);
    assert_int_equal(jx_int(g, "health_threshold", -1), 2);
    assert_int_equal(jx_int(g, "health_replace", -1), 0);
    assert_int_equal(jx_int(g, "min_healthy", -5), 3);
    assert_int_equal(jx_int(g, "suspend_scale_in", -1), 1);
    assert_int_equal(jx_int(g, "suspend_scale_out", -1), 0);
    assert_int_equal(jx_int(g, "protect_new", -1), 1);
    action_result_free(&r);

    const char *get[] = {"--name=web", NULL};
    assert_int_equal(store_runv(f, "asg_get", get, &r), 0);
    struct json_object *c = jx_obj(r.json, "controls");
    assert_int_equal(json_object_array_length(jx_arr(c, "suspended")), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(jx_arr(c, "suspended"),
                                                                         0)),
                        "scale_in");
    assert_true(jx_bool(c, "protect_new", false));
    assert_false(jx_bool(c, "force_pending", true));
    action_result_free(&r);

    /* min_healthy -1 clears it (to min); max below min_healthy is refused */
    const char *upd[] = {"--name=web", "--min_healthy=-1", "--suspend_scale_in=0", NULL};
    assert_int_equal(store_runv(f, "asg_update", upd, &r), 0);
    g = jx_obj(r.json, "group");
    assert_true(json_object_object_get_ex(g, "min_healthy", NULL));
    assert_null(jx_obj(g, "min_healthy"));
    assert_int_equal(jx_int(g, "suspend_scale_in", -1), 0);
    action_result_free(&r);
    const char *low[] = {"--name=web", "--min_healthy=5", "--max=4", NULL};
    assert_int_equal(store_runv(f, "asg_update", low, &r), 2);
    assert_string_equal(action_error_code(&r), "invalid_limits");
    action_result_free(&r);
}

static void test_get_status_counts(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--name=web", NULL};
    char key[KEY_MAX];

    create_web(f);
    store_put(f, key_node(key, "web", "web-a"), "{\"name\":\"web-a\",\"state\":\"active\"}");
    store_put(f, key_node(key, "web", "web-b"), "{\"name\":\"web-b\",\"state\":\"building\"}");
    store_put(f, key_node(key, "web", "web-c"), "{\"name\":\"web-c\",\"state\":\"draining\"}");
    store_put(f, key_incident(key, "web", "i1"), "{\"id\":\"i1\",\"state\":\"open\"}");

    assert_int_equal(store_runv(f, "asg_get", args, &r), 0);
    struct json_object *c = jx_obj(r.json, "counts");
    assert_int_equal(jx_int(c, "total", -1), 3);
    assert_int_equal(jx_int(c, "capacity", -1), 2);
    assert_int_equal(jx_int(c, "draining", -1), 1);
    assert_true(jx_bool(jx_obj(r.json, "alert"), "in_alert", false));
    assert_int_equal(json_object_array_length(jx_arr(r.json, "nodes")), 3);
    action_result_free(&r);

    const char *unknown[] = {"--name=nope", NULL};
    assert_int_equal(store_runv(f, "asg_get", unknown, &r), 2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    action_result_free(&r);
}

static void test_list(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *api[] = {"--compute_provider=local", "--name=api", "--min=1", NULL};
    char key[KEY_MAX];

    create_web(f);
    assert_int_equal(store_runv(f, "asg_define", api, &r), 0);
    action_result_free(&r);
    store_put(f, key_node(key, "api", "api-a"), "{\"name\":\"api-a\",\"state\":\"active\"}");

    assert_int_equal(store_runv(f, "asg_list", NULL, &r), 0);
    assert_int_equal(jx_int(r.json, "count", -1), 2);
    struct json_object *groups = jx_arr(r.json, "groups");
    struct json_object *first = json_object_array_get_idx(groups, 0);
    assert_string_equal(jx_str(first, "name", ""), "api");
    assert_int_equal(jx_int(jx_obj(first, "counts"), "total", -1), 1);
    struct json_object *second = json_object_array_get_idx(groups, 1);
    assert_int_equal(jx_int(jx_obj(second, "counts"), "total", -1), 0);
    action_result_free(&r);
}

static void test_update(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *ok[] = {"--name=web", "--max=10", "--scale_out_cooldown=60", NULL};
    const char *bad[] = {"--name=web", "--min=11", NULL};
    const char *unknown[] = {"--name=nope", "--max=3", NULL};

    create_web(f);
    assert_int_equal(store_runv(f, "asg_update", ok, &r), 0);
    assert_true(jx_bool(r.json, "updated", false));
    assert_int_equal(json_object_array_length(jx_arr(r.json, "changed")), 2);
    assert_int_equal(jx_int(jx_obj(r.json, "group"), "min", -1), 2); /* untouched */
    action_result_free(&r);

    assert_int_equal(store_runv(f, "asg_update", bad, &r), 2);
    assert_string_equal(action_error_code(&r), "invalid_limits");
    action_result_free(&r);
    const char *get[] = {"--name=web", NULL};
    assert_int_equal(store_runv(f, "asg_get", get, &r), 0);
    assert_int_equal(jx_int(jx_obj(r.json, "group"), "min", -1), 2);
    assert_int_equal(jx_int(jx_obj(r.json, "group"), "max", -1), 10);
    action_result_free(&r);

    assert_int_equal(store_runv(f, "asg_update", unknown, &r), 2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    action_result_free(&r);
}

static void test_delete(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *del[] = {"--name=web", NULL};
    const char *forget[] = {"--name=web", "--forget_nodes", NULL};
    char key[KEY_MAX];

    create_web(f);
    store_put(f, key_node(key, "web", "web-a"), "{\"name\":\"web-a\",\"state\":\"active\"}");
    store_put(f, key_incident(key, "web", "i1"), "{\"id\":\"i1\",\"state\":\"closed\"}");
    store_put(f, key_lease(key, "web"), "{\"op\":\"scale_out\"}");

    assert_int_equal(store_runv(f, "asg_forget", del, &r), 2);
    assert_string_equal(action_error_code(&r), "nodes_remain");
    assert_non_null(strstr(r.out, "web-a"));
    action_result_free(&r);
    char *keys = all_keys(f);
    assert_non_null(strstr(keys, "autoscale.spec.web"));
    free(keys);

    assert_int_equal(store_runv(f, "asg_forget", forget, &r), 0);
    assert_true(jx_bool(r.json, "deleted", false));
    assert_int_equal(jx_int(r.json, "nodes_forgotten", -1), 1);
    action_result_free(&r);
    keys = all_keys(f);
    assert_string_equal(keys, "");
    free(keys);

    /* a retried delete does no harm */
    assert_int_equal(store_runv(f, "asg_forget", del, &r), 0);
    assert_false(jx_bool(r.json, "existed", true));
    action_result_free(&r);
}

static void test_logs_on_stderr_only(void **state)
{
    struct store_fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--compute_provider=local", "--name=web", "--debug", NULL};
    const char *env[] = {f->env_db, "ST2_ACTION_DEBUG=True", NULL};

    action_run("asg_define", args, env, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(r.json);
    assert_non_null(strstr(r.err, "debug"));
    action_result_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, store_teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_defaults),
        T(test_st2_argv_forms),
        T(test_create_idempotent_and_conflict),
        T(test_bad_input_changes_nothing),
        T(test_health_and_control_fields),
        T(test_get_status_counts),
        T(test_list),
        T(test_update),
        T(test_delete),
        T(test_logs_on_stderr_only),
    };
#undef T
    return cmocka_run_group_tests_name("asg_actions", tests, NULL, NULL);
}
