/* test_asg.c - group operations (lib/model/asg.c) on an embedded datastore in a
 * fresh mkdtemp() directory per test: idempotent create and conflicts,
 * update, status/list with node, incident, event and lease records, the
 * assignment of records to groups whose names prefix each other ("web" and
 * "web-2"), delete with and without forget_nodes, and retire. The clock is
 * pinned with AUTOSCALE_TEST_NOW. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asg.h"
#include "controls.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "st2.h"
#include "test_util.h"

/* The parameter table of actions/src/asg_update.c. */
static const struct as_param update_params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    GROUP_FIELDS(AS_GROUP_ROW_GIVEN)
    {"settings", AS_T_OBJECT, 0, NULL, NULL, 0},
    AS_PARAM_END,
};

struct fixture {
    char dir[64];
    char path[128];
    struct ds *ds;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_asg"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    struct as_error err = {0};
    f->ds = ds_open_embedded(f->path, &err);
    if (!f->ds)
        fail_msg("ds_open_embedded: %s: %s", err.code, err.message);
    setenv("AUTOSCALE_TEST_NOW", "1700000000", 1);
    log_set_level(LOG_ERROR); /* keep info/warn lines out of the test output */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    unsetenv("AUTOSCALE_TEST_NOW");
    test_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static void put(struct ds *ds, const char *key, const char *value)
{
    struct as_error err = {0};
    if (ds_put(ds, key, value, 0, &err) != 0)
        fail_msg("put %s: %s: %s", key, err.code, err.message);
}

static void put_node(struct ds *ds, const char *group, const char *node,
                     const char *node_state)
{
    char key[KEY_MAX], val[256];
    snprintf(val, sizeof val, "{\"name\":\"%s\",\"state\":\"%s\"}", node, node_state);
    put(ds, key_node(key, group, node), val);
}

static void put_incident(struct ds *ds, const char *group, const char *id,
                         const char *inc_state)
{
    char key[KEY_MAX], val[256];
    snprintf(val, sizeof val, "{\"id\":\"%s\",\"state\":\"%s\"}", id, inc_state);
    put(ds, key_incident(key, group, id), val);
}

static void put_event(struct ds *ds, const char *group, long long when, const char *op)
{
    char key[KEY_MAX], val[256];
    snprintf(val, sizeof val, "{\"at\":%lld,\"op\":\"%s\"}", when, op);
    put(ds, key_event(key, group, when, op), val);
}

static bool exists(struct ds *ds, const char *key)
{
    struct as_error err = {0};
    char *v = NULL;
    int rc = ds_get(ds, key, &v, &err);
    if (rc < 0)
        fail_msg("get %s: %s", key, err.message);
    free(v);
    return rc == 0;
}

static size_t count_prefix(struct ds *ds, const char *prefix)
{
    struct ds_list l = {0};
    struct as_error err = {0};
    if (ds_list(ds, prefix, &l, &err) != 0)
        fail_msg("list %s: %s", prefix, err.message);
    size_t n = l.count;
    ds_list_clear(&l);
    return n;
}

/* Keys of the whole store that belong to group g (by key_group). */
static size_t count_group_keys(struct ds *ds, const char *g)
{
    struct ds_list l = {0};
    struct as_error err = {0};
    if (ds_list(ds, KEY_ROOT, &l, &err) != 0)
        fail_msg("list: %s", err.message);
    size_t n = 0;
    char name[64];
    for (size_t i = 0; i < l.count; i++)
        if (key_group(l.items[i].name, name, sizeof name) == 0 && strcmp(name, g) == 0)
            n++;
    ds_list_clear(&l);
    return n;
}

static void create_ok(struct ds *ds, struct group *g, bool want_created)
{
    struct json_object *out = NULL;
    struct as_error err = {0};
    if (asg_define(ds, g, &out, &err) != 0)
        fail_msg("asg_define %s: %s: %s", g->name, err.code, err.message);
    assert_non_null(out);
    struct json_object *created = NULL;
    assert_true(json_object_object_get_ex(out, "created", &created));
    assert_int_equal(json_object_get_boolean(created), want_created);
    assert_string_equal(jx_str(jx_obj(out, "group"), "name", ""), g->name);
    json_object_put(out);
}

/* group_init, plus the compute provider asg_define insists on. */
static void init_local(struct group *g, const char *name)
{
    group_init(g, name);
    g->compute_provider = strdup("local");
}

static void create_named(struct ds *ds, const char *name)
{
    struct group g;
    init_local(&g, name);
    create_ok(ds, &g, true);
    group_clear(&g);
}

static struct as_args *update_args(int argc, char **argv)
{
    struct as_error err = {0};
    struct as_args *a = as_args_parse(update_params, argc, argv, &err);
    if (!a)
        fail_msg("as_args_parse: %s", err.message);
    return a;
}

/* What actions/src/asg_update.c hands lib/: a typed request from the
 * parsed arguments (valid until the next call). */
static const struct asg_request *request(const char *name, const struct as_args *a,
                                         struct json_object *settings)
{
    static struct asg_request r;
    r = (struct asg_request){.name = name, .settings = settings};
    as_args_fill(a, group_param_desc, group_param_count, &r.p);
    return &r;
}

static struct group load(struct ds *ds, const char *name)
{
    struct group g;
    struct as_error err = {0};
    if (asg_load_spec(ds, name, &g, &err) != 0)
        fail_msg("asg_load_spec %s: %s: %s", name, err.code, err.message);
    return g;
}

/* "a,b,c" from a JSON array of strings or of records' "name"/"id". */
static void join(struct json_object *arr, const char *field, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        const char *s = field ? jx_str(e, field, "?") : json_object_get_string(e);
        strncat(buf, i ? "," : "", size - strlen(buf) - 1);
        strncat(buf, s, size - strlen(buf) - 1);
    }
}

/* ---- create ---- */

static void test_create_new_group(void **state)
{
    struct fixture *f = *state;
    struct group g;
    init_local(&g, "web");
    g.max = 7;
    g.flavor = strdup("m1.small");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_define(f->ds, &g, &out, &err), 0);
    assert_true(jx_bool(out, "created", false));
    struct json_object *spec = jx_obj(out, "group");
    assert_int_equal(jx_int(spec, "max", 0), 7);
    assert_string_equal(jx_str(spec, "flavor", ""), "m1.small");
    assert_int_equal(jx_int(spec, "created_at", 0), 1700000000);
    assert_int_equal(jx_int(spec, "updated_at", 0), 1700000000);
    json_object_put(out);

    char key[KEY_MAX];
    assert_true(exists(f->ds, key_spec(key, "web")));
    struct group back = load(f->ds, "web");
    char diff[256];
    assert_int_equal(group_diff(&g, &back, diff, sizeof diff), 0);
    assert_int_equal(back.created_at, 1700000000);
    assert_string_equal(back.status, "active");
    group_clear(&back);
    group_clear(&g);
}

static void test_create_identical_is_idempotent(void **state)
{
    struct fixture *f = *state;
    struct group g;
    init_local(&g, "web");
    g.min = 2;
    create_ok(f->ds, &g, true);
    group_clear(&g);

    setenv("AUTOSCALE_TEST_NOW", "1700009999", 1);
    init_local(&g, "web");
    g.min = 2;
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_define(f->ds, &g, &out, &err), 0);
    assert_false(jx_bool(out, "created", true));
    /* the group reported is the stored one, first creation time kept */
    assert_int_equal(jx_int(jx_obj(out, "group"), "created_at", 0), 1700000000);
    assert_int_equal(jx_int(jx_obj(out, "group"), "min", 0), 2);
    json_object_put(out);
    group_clear(&g);

    struct group back = load(f->ds, "web");
    assert_int_equal(back.created_at, 1700000000);
    assert_int_equal(back.updated_at, 1700000000);
    group_clear(&back);
}

static void test_create_conflicting_names_fields(void **state)
{
    struct fixture *f = *state;
    struct group g;
    init_local(&g, "web");
    create_ok(f->ds, &g, true);
    group_clear(&g);

    init_local(&g, "web");
    g.max = 30;
    g.image = strdup("debian-12");
    g.settings = json_tokener_parse("{\"region\":\"r1\"}");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_define(f->ds, &g, &out, &err), -1);
    assert_null(out);
    assert_string_equal(err.code, "group_conflict");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    if (!strstr(err.message, "max,image,settings"))
        fail_msg("message '%s' does not list max,image,settings", err.message);
    assert_null(strstr(err.message, "min"));
    group_clear(&g);

    /* the stored spec is untouched */
    struct group back = load(f->ds, "web");
    assert_int_equal(back.max, 20);
    assert_null(back.image);
    assert_null(back.settings);
    group_clear(&back);
}

static void test_create_invalid_stores_nothing(void **state)
{
    struct fixture *f = *state;
    struct group g;
    init_local(&g, "web");
    g.min = 9, g.max = 3;
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_define(f->ds, &g, &out, &err), -1);
    assert_string_equal(err.code, "invalid_limits");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    group_clear(&g);
    char key[KEY_MAX];
    assert_false(exists(f->ds, key_spec(key, "web")));
}

/* No production default may start local processes: a group naming no
 * compute provider (and no pack config naming one) is refused, unstored. */
static void test_create_without_compute_provider_stores_nothing(void **state)
{
    struct fixture *f = *state;
    struct group g;
    group_init(&g, "web");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_define(f->ds, &g, &out, &err), -1);
    assert_string_equal(err.code, "no_compute_provider");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_null(out);
    group_clear(&g);
    char key[KEY_MAX];
    assert_false(exists(f->ds, key_spec(key, "web")));
}

static void test_create_over_deleting_group_conflicts(void **state)
{
    struct fixture *f = *state;
    struct group g;
    init_local(&g, "web");
    snprintf(g.status, sizeof g.status, "deleting");
    struct as_error err = {0};
    assert_int_equal(asg_save_spec(f->ds, &g, &err), 0);
    group_clear(&g);

    init_local(&g, "web"); /* identical spec */
    struct json_object *out = NULL;
    assert_int_equal(asg_define(f->ds, &g, &out, &err), -1);
    assert_string_equal(err.code, "group_conflict");
    assert_non_null(strstr(err.message, "deleted"));
    group_clear(&g);
}

static void test_corrupt_stored_spec(void **state)
{
    struct fixture *f = *state;
    char key[KEY_MAX];
    put(f->ds, key_spec(key, "web"), "{not json");
    struct group g;
    struct as_error err = {0};
    assert_int_equal(asg_load_spec(f->ds, "web", &g, &err), -1);
    assert_string_equal(err.code, "corrupt_record");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);

    put(f->ds, key_spec(key, "web"), "{\"name\":\"web\",\"min\":\"three\"}");
    memset(&err, 0, sizeof err);
    struct json_object *out = NULL;
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), -1);
    assert_string_equal(err.code, "corrupt_record");
    /* create does not overwrite a record it cannot read */
    init_local(&g, "web");
    memset(&err, 0, sizeof err);
    assert_int_equal(asg_define(f->ds, &g, &out, &err), -1);
    assert_string_equal(err.code, "corrupt_record");
    group_clear(&g);
}

/* ---- update ---- */

static void test_update_changes_and_reports(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    setenv("AUTOSCALE_TEST_NOW", "1700000500", 1);

    char *argv[] = {"prog", "--name=web", "--max=30", "--flavor=m1.large",
                    "--scale_in_cooldown=900"};
    struct as_args *a = update_args(5, argv);
    struct json_object *out = NULL;
    struct as_error err = {0};
    if (asg_update(f->ds, request("web", a, NULL), &out, &err) != 0)
        fail_msg("asg_update: %s: %s", err.code, err.message);
    as_args_free(a);
    assert_true(jx_bool(out, "updated", false));
    char changed[256];
    join(jx_arr(out, "changed"), NULL, changed, sizeof changed);
    assert_string_equal(changed, "max,scale_in_cooldown,flavor");
    struct json_object *spec = jx_obj(out, "group");
    assert_int_equal(jx_int(spec, "max", 0), 30);
    assert_int_equal(jx_int(spec, "updated_at", 0), 1700000500);
    assert_int_equal(jx_int(spec, "created_at", 0), 1700000000);
    json_object_put(out);

    struct group back = load(f->ds, "web");
    assert_int_equal(back.max, 30);
    assert_int_equal(back.min, 3); /* not given, kept */
    assert_int_equal(back.scale_in_cooldown, 900);
    assert_string_equal(back.flavor, "m1.large");
    assert_int_equal(back.updated_at, 1700000500);
    assert_int_equal(back.created_at, 1700000000);
    group_clear(&back);
}

/* asg_define's request: the settings are checked against the allow-list
 * before the spec, and a refusal leaves no group to clear. */
static void test_spec_build(void **state)
{
    (void)state;
    char *argv[] = {"prog", "--name=web", "--min=2", "--max=4", "--compute_provider=local"};
    struct as_args *a = update_args(5, argv);
    struct asg_request r = *request("web", a, NULL);
    struct group g;
    struct as_error err = {0};
    assert_int_equal(asg_spec_build(&r, &g, &err), 0);
    assert_int_equal(g.min, 2);
    assert_int_equal(g.max, 4);
    assert_int_equal(g.scale_out_step, 5); /* a default */
    assert_string_equal(g.compute_provider, "local");
    group_clear(&g);

    struct json_object *s = json_tokener_parse("{\"powerdns\":{\"api_url\":\"http://x/\"}}");
    r.settings = s;
    r.p.min = 9; /* over max too: the settings are refused first */
    assert_int_equal(asg_spec_build(&r, &g, &err), -1);
    assert_string_equal(err.code, "setting_not_allowed");
    assert_null(g.compute_provider);
    assert_null(g.settings);
    r.settings = NULL;
    assert_int_equal(asg_spec_build(&r, &g, &err), -1);
    assert_string_equal(err.code, "invalid_limits");
    assert_null(g.compute_provider);
    json_object_put(s);
    as_args_free(a);
}

static void test_update_settings(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    char *argv[] = {"prog", "--name=web"};
    struct as_args *a = update_args(2, argv);
    struct json_object *settings = json_tokener_parse("{\"openstack\":{\"region\":\"r2\"}}");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_update(f->ds, request("web", a, settings), &out, &err), 0);
    assert_true(jx_bool(out, "updated", false));
    char changed[256];
    join(jx_arr(out, "changed"), NULL, changed, sizeof changed);
    assert_string_equal(changed, "settings");
    json_object_put(out);

    struct group back = load(f->ds, "web");
    assert_non_null(back.settings);
    assert_true(json_object_equal(back.settings, settings));
    group_clear(&back);

    /* the same settings again change nothing */
    out = NULL;
    assert_int_equal(asg_update(f->ds, request("web", a, settings), &out, &err), 0);
    assert_false(jx_bool(out, "updated", true));
    json_object_put(out);
    json_object_put(settings);
    as_args_free(a);
}

static void test_update_noop(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    setenv("AUTOSCALE_TEST_NOW", "1700000777", 1);
    char *argv[] = {"prog", "--name=web", "--max=20", "--compute_provider=local"};
    struct as_args *a = update_args(4, argv);
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_update(f->ds, request("web", a, NULL), &out, &err), 0);
    as_args_free(a);
    assert_false(jx_bool(out, "updated", true));
    struct json_object *changed = jx_arr(out, "changed");
    assert_non_null(changed);
    assert_int_equal(json_object_array_length(changed), 0);
    json_object_put(out);

    struct group back = load(f->ds, "web");
    assert_int_equal(back.updated_at, 1700000000); /* not rewritten */
    group_clear(&back);
}

static void test_update_invalid_keeps_stored_spec(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    char *argv[] = {"prog", "--name=web", "--min=50", "--flavor=m1.huge"};
    struct as_args *a = update_args(4, argv);
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_update(f->ds, request("web", a, NULL), &out, &err), -1);
    as_args_free(a);
    assert_null(out);
    assert_string_equal(err.code, "invalid_limits");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);

    char *argv2[] = {"prog", "--name=web", "--image=bad;image"};
    a = update_args(3, argv2);
    memset(&err, 0, sizeof err);
    assert_int_equal(asg_update(f->ds, request("web", a, NULL), &out, &err), -1);
    as_args_free(a);
    assert_string_equal(err.code, "invalid_parameter");

    struct group back = load(f->ds, "web");
    assert_int_equal(back.min, 3);
    assert_null(back.flavor);
    assert_null(back.image);
    group_clear(&back);
}

static void test_update_unknown_group(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"prog", "--name=ghost", "--max=5"};
    struct as_args *a = update_args(3, argv);
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_update(f->ds, request("ghost", a, NULL), &out, &err), -1);
    assert_string_equal(err.code, "unknown_group");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "ghost"));
    as_args_free(a);
}

static void test_update_deleting_group_refused(void **state)
{
    struct fixture *f = *state;
    struct group g;
    init_local(&g, "web");
    snprintf(g.status, sizeof g.status, "deleting");
    struct as_error err = {0};
    assert_int_equal(asg_save_spec(f->ds, &g, &err), 0);
    group_clear(&g);
    char *argv[] = {"prog", "--name=web", "--max=5"};
    struct as_args *a = update_args(3, argv);
    struct json_object *out = NULL;
    assert_int_equal(asg_update(f->ds, request("web", a, NULL), &out, &err), -1);
    assert_string_equal(err.code, "group_conflict");
    as_args_free(a);
    struct group back = load(f->ds, "web");
    assert_int_equal(back.max, 20);
    group_clear(&back);
}

/* ---- status ---- */

static void test_status_counts_and_alert(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    put_node(f->ds, "web", "n1", "active");
    put_node(f->ds, "web", "n2", "building");
    put_node(f->ds, "web", "n3", "draining");
    put_node(f->ds, "web", "n4", "failed");
    put_node(f->ds, "web", "n5", "active");
    put_node(f->ds, "web", "n6", "deleting");
    put_node(f->ds, "web", "n7", "exploded");
    put_incident(f->ds, "web", "i1", "open");
    put_incident(f->ds, "web", "i2", "closed");

    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    struct json_object *c = jx_obj(out, "counts");
    assert_non_null(c);
    assert_int_equal(jx_int(c, "total", -1), 7);
    assert_int_equal(jx_int(c, "capacity", -1), 3); /* building + active */
    assert_int_equal(jx_int(c, "active", -1), 2);
    assert_int_equal(jx_int(c, "building", -1), 1);
    assert_int_equal(jx_int(c, "draining", -1), 1);
    assert_int_equal(jx_int(c, "failed", -1), 1);
    assert_int_equal(jx_int(c, "deleting", -1), 1);
    assert_int_equal(jx_int(c, "unknown", -1), 1);
    char names[256];
    join(jx_arr(out, "nodes"), "name", names, sizeof names);
    assert_string_equal(names, "n1,n2,n3,n4,n5,n6,n7");
    struct json_object *alert = jx_obj(out, "alert");
    assert_true(jx_bool(alert, "in_alert", false));
    join(jx_arr(alert, "incidents"), "id", names, sizeof names);
    assert_string_equal(names, "i1,i2");
    assert_string_equal(jx_str(jx_obj(out, "group"), "name", ""), "web");
    struct json_object *lease = (struct json_object *)1;
    assert_true(json_object_object_get_ex(out, "lease", &lease));
    assert_null(lease);
    json_object_put(out);

    /* closing the incident ends the alert */
    put_incident(f->ds, "web", "i1", "closed");
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    assert_false(jx_bool(jx_obj(out, "alert"), "in_alert", true));
    json_object_put(out);
}

static void test_status_empty_group_and_lease(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    char key[KEY_MAX];
    put(f->ds, key_lease(key, "web"), "{\"op\":\"scale_out\",\"holder\":\"x1\"}");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    struct json_object *c = jx_obj(out, "counts");
    assert_int_equal(jx_int(c, "total", -1), 0);
    assert_int_equal(jx_int(c, "capacity", -1), 0);
    assert_false(jx_bool(jx_obj(out, "alert"), "in_alert", true));
    assert_string_equal(jx_str(jx_obj(out, "lease"), "holder", ""), "x1");
    assert_int_equal(json_object_array_length(jx_arr(out, "nodes")), 0);
    assert_int_equal(json_object_array_length(jx_arr(out, "events")), 0);
    json_object_put(out);
}

/* A lease as st2's claims hold it (autoscale.lease.<g>.<token>), beside a
 * stray candidate: the group shows one lease, is busy, and the other group
 * whose name starts with it ("web-2") sees none; lease_release without an id
 * frees both keys; asg_forget removes such keys and only its own group's. */
static void test_lease_in_candidate_layout(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    create_named(f->ds, "web");
    create_named(f->ds, "web-2");
    put(f->ds, "autoscale.lease.web.00000000000000aa", "{\"id\":\"L1\",\"op\":\"scale_out\"}");
    put(f->ds, "autoscale.lease.web.00000000000000bb", "{\"id\":\"L2\",\"op\":\"scale_out\"}");
    put(f->ds, "autoscale.lease.web-2.00000000000000cc", "{\"id\":\"L3\"}");

    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    assert_string_equal(jx_str(jx_obj(out, "lease"), "id", ""), "L1");
    json_object_put(out);
    assert_int_equal(lease_release(f->ds, "web", NULL, &out, &err), 0);
    assert_true(jx_bool(out, "released", false));
    json_object_put(out);
    assert_int_equal(count_prefix(f->ds, "autoscale.lease.web."), 0);
    assert_true(exists(f->ds, "autoscale.lease.web-2.00000000000000cc"));

    put(f->ds, "autoscale.lease.web.00000000000000dd", "{\"id\":\"L4\"}");
    assert_int_equal(asg_forget(f->ds, "web", true, &out, &err), 0);
    json_object_put(out);
    assert_int_equal(count_prefix(f->ds, "autoscale.lease.web."), 0);
    assert_true(exists(f->ds, "autoscale.lease.web-2.00000000000000cc"));
    /* and no spec writer left its lock behind */
    assert_int_equal(count_prefix(f->ds, "autoscale.speclock."), 0);
}

/* Another writer's hand on the spec lock, lifted from a second connection
 * a little later. */
struct unlocker {
    const char *path;
};

static void *unlock_later(void *arg)
{
    const struct unlocker *u = arg;
    struct as_error err = {0};
    char key[KEY_MAX];
    usleep(200 * 1000);
    struct ds *ds = ds_open_embedded(u->path, &err);
    if (ds) {
        ds_del(ds, key_spec_lock(key, "web"), &err);
        ds_close(ds);
    }
    return NULL;
}

/* An update that finds the spec locked waits for the holder instead of
 * writing over it, then makes its change; a SIGTERM while it waits stops it
 * with "interrupted" and nothing written. */
static void test_update_waits_for_the_spec_lock(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    char key[KEY_MAX], *before = NULL, *after = NULL;
    char *argv[] = {"prog", "--name=web", "--max=9"};
    create_named(f->ds, "web");
    put(f->ds, key_spec_lock(key, "web"), "{\"op\":\"asg_update\"}");
    assert_int_equal(ds_get(f->ds, key_spec(key, "web"), &before, &err), 0);

    struct as_args *a = update_args(3, argv);
    as_set_interrupted(true); /* stands for st2's SIGTERM */
    assert_int_equal(asg_update(f->ds, request("web", a, NULL), &out, &err), -1);
    as_set_interrupted(false);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(ds_get(f->ds, key_spec(key, "web"), &after, &err), 0);
    assert_string_equal(before, after);

    struct unlocker u = {f->path};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, unlock_later, &u), 0);
    if (asg_update(f->ds, request("web", a, NULL), &out, &err) != 0)
        fail_msg("asg_update: %s: %s", err.code, err.message);
    pthread_join(t, NULL);
    assert_true(jx_bool(out, "updated", false));
    json_object_put(out);
    struct group g = load(f->ds, "web");
    assert_int_equal(g.max, 9);
    group_clear(&g);
    assert_false(exists(f->ds, key_spec_lock(key, "web")));
    free(before);
    free(after);
    as_args_free(a);
}

static void test_status_skips_corrupt_records(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    char key[KEY_MAX];
    put_node(f->ds, "web", "n1", "active");
    put(f->ds, key_node(key, "web", "n2"), "garbage{");
    put(f->ds, key_node(key, "web", "n3"), "[1,2]");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    assert_int_equal(jx_int(jx_obj(out, "counts"), "total", -1), 1);
    json_object_put(out);
}

static void test_status_events_limit(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    /* written out of order; keys sort by time */
    put_event(f->ds, "web", 1000, "scale_out");
    put_event(f->ds, "web", 300, "scale_in");
    put_event(f->ds, "web", 99999, "scale_out");
    put_event(f->ds, "web", 5000, "scale_in");
    put_event(f->ds, "web", 20, "scale_out");

    struct json_object *out = NULL;
    struct as_error err = {0};
    struct json_object *ev;
    assert_int_equal(asg_status(f->ds, "web", 2, &out, &err), 0);
    ev = jx_arr(out, "events");
    assert_int_equal(json_object_array_length(ev), 2);
    assert_int_equal(jx_int(json_object_array_get_idx(ev, 0), "at", 0), 5000);
    assert_int_equal(jx_int(json_object_array_get_idx(ev, 1), "at", 0), 99999);
    json_object_put(out);

    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    ev = jx_arr(out, "events");
    assert_int_equal(json_object_array_length(ev), 5);
    assert_int_equal(jx_int(json_object_array_get_idx(ev, 0), "at", 0), 20);
    assert_int_equal(jx_int(json_object_array_get_idx(ev, 4), "at", 0), 99999);
    json_object_put(out);

    assert_int_equal(asg_status(f->ds, "web", 0, &out, &err), 0);
    assert_int_equal(json_object_array_length(jx_arr(out, "events")), 0);
    json_object_put(out);
}

static void test_status_unknown_group(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web-2");
    put_node(f->ds, "web", "stray", "active"); /* records but no spec */
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), -1);
    assert_null(out);
    assert_string_equal(err.code, "unknown_group");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);

    memset(&err, 0, sizeof err);
    assert_int_equal(asg_status(f->ds, "Web", 10, &out, &err), -1);
    assert_string_equal(err.code, "invalid_name");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
}

static void test_status_web_does_not_see_web2(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    create_named(f->ds, "web-2");
    put_node(f->ds, "web", "a1", "active");
    put_node(f->ds, "web-2", "b1", "active");
    put_node(f->ds, "web-2", "b2", "building");
    put_incident(f->ds, "web-2", "i1", "open");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    char names[128];
    join(jx_arr(out, "nodes"), "name", names, sizeof names);
    assert_string_equal(names, "a1");
    assert_false(jx_bool(jx_obj(out, "alert"), "in_alert", true));
    json_object_put(out);
}

/* ---- list / load_all ---- */

static void populate_three(struct ds *ds)
{
    create_named(ds, "web-2");
    create_named(ds, "web");
    create_named(ds, "api");
    /* "autoscale.node.web-2." sorts before "autoscale.node.web." */
    put_node(ds, "web", "w1", "active");
    put_node(ds, "web", "w2", "draining");
    put_node(ds, "web-2", "x1", "building");
    put_node(ds, "web-2", "x2", "active");
    put_node(ds, "web-2", "x3", "failed");
    put_node(ds, "orphan", "o1", "active"); /* no spec: ignored */
    put_incident(ds, "web-2", "i1", "open");
    put_incident(ds, "web", "i2", "closed");
    put_event(ds, "web", 10, "scale_out");
    put_event(ds, "web-2", 20, "scale_out");
    put_event(ds, "web-2", 30, "scale_in");
    char key[KEY_MAX];
    put(ds, key_lease(key, "api"), "{\"op\":\"scale_out\"}");
}

static void test_load_all_assigns_records_to_own_group(void **state)
{
    struct fixture *f = *state;
    populate_three(f->ds);
    struct asg_state *st = NULL;
    size_t n = 0;
    struct as_error err = {0};
    assert_int_equal(asg_state_load_all(f->ds, &st, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(st[0].spec.name, "api");
    assert_string_equal(st[1].spec.name, "web");
    assert_string_equal(st[2].spec.name, "web-2");

    /* Loading every group keeps node counts, not records (asg.h). */
    char names[128];
    long long c[NODE_UNKNOWN + 1];
    assert_null(st[1].nodes);
    asg_state_node_counts(&st[0], c);
    assert_int_equal(c[NODE_ACTIVE] + c[NODE_BUILDING] + c[NODE_FAILED], 0);
    asg_state_node_counts(&st[1], c);
    assert_int_equal(c[NODE_ACTIVE] + c[NODE_BUILDING] + c[NODE_FAILED] +
                         c[NODE_DRAINING] + c[NODE_DELETING] + c[NODE_UNKNOWN],
                     2);
    asg_state_node_counts(&st[2], c);
    assert_int_equal(c[NODE_FAILED], 1);
    assert_int_equal(c[NODE_ACTIVE] + c[NODE_BUILDING] + c[NODE_FAILED] +
                         c[NODE_DRAINING] + c[NODE_DELETING] + c[NODE_UNKNOWN],
                     3);

    join(st[1].incidents, "id", names, sizeof names);
    assert_string_equal(names, "i2");
    join(st[2].incidents, "id", names, sizeof names);
    assert_string_equal(names, "i1");
    assert_int_equal(json_object_array_length(st[0].incidents), 0);

    assert_int_equal(json_object_array_length(st[1].events), 1);
    assert_int_equal(json_object_array_length(st[2].events), 2);
    assert_int_equal(jx_int(json_object_array_get_idx(st[2].events, 0), "at", 0), 20);

    assert_non_null(st[0].lease);
    assert_null(st[1].lease);
    assert_null(st[2].lease);

    assert_false(asg_state_in_alert(&st[1]));
    assert_true(asg_state_in_alert(&st[2]));
    asg_state_free_all(st, n);
}

static void test_load_all_empty_store(void **state)
{
    struct fixture *f = *state;
    struct asg_state *st = (struct asg_state *)1;
    size_t n = 99;
    struct as_error err = {0};
    assert_int_equal(asg_state_load_all(f->ds, &st, &n, &err), 0);
    assert_int_equal(n, 0);
    asg_state_free_all(st, n);

    struct json_object *out = NULL;
    assert_int_equal(asg_list(f->ds, &out, &err), 0);
    assert_int_equal(jx_int(out, "count", -1), 0);
    assert_int_equal(json_object_array_length(jx_arr(out, "groups")), 0);
    json_object_put(out);
}

static void test_list_groups_with_counts(void **state)
{
    struct fixture *f = *state;
    populate_three(f->ds);
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_list(f->ds, &out, &err), 0);
    assert_int_equal(jx_int(out, "count", -1), 3);
    struct json_object *groups = jx_arr(out, "groups");
    char names[128];
    join(groups, "name", names, sizeof names);
    assert_string_equal(names, "api,web,web-2");

    struct json_object *api = json_object_array_get_idx(groups, 0);
    struct json_object *web = json_object_array_get_idx(groups, 1);
    struct json_object *web2 = json_object_array_get_idx(groups, 2);

    assert_int_equal(jx_int(jx_obj(api, "counts"), "total", -1), 0);
    assert_true(jx_bool(api, "busy", false));
    assert_false(jx_bool(api, "in_alert", true));

    struct json_object *c = jx_obj(web, "counts");
    assert_int_equal(jx_int(c, "total", -1), 2);
    assert_int_equal(jx_int(c, "capacity", -1), 1);
    assert_int_equal(jx_int(c, "draining", -1), 1);
    assert_false(jx_bool(web, "busy", true));
    assert_false(jx_bool(web, "in_alert", true));
    assert_string_equal(jx_str(web, "status", ""), "active");
    assert_int_equal(jx_int(web, "min", -1), 3);
    assert_int_equal(jx_int(web, "max", -1), 20);

    c = jx_obj(web2, "counts");
    assert_int_equal(jx_int(c, "total", -1), 3);
    assert_int_equal(jx_int(c, "capacity", -1), 2);
    assert_int_equal(jx_int(c, "failed", -1), 1);
    assert_true(jx_bool(web2, "in_alert", false));
    assert_false(jx_bool(web2, "busy", true));
    json_object_put(out);
}

/* ---- delete ---- */

static void test_delete_refuses_while_nodes_remain(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    put_node(f->ds, "web", "n1", "active");
    put_node(f->ds, "web", "n2", "failed");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_forget(f->ds, "web", false, &out, &err), -1);
    assert_null(out);
    assert_string_equal(err.code, "nodes_remain");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    if (!strstr(err.message, "2 node(s): n1, n2"))
        fail_msg("message '%s' does not name the nodes", err.message);
    char key[KEY_MAX];
    assert_true(exists(f->ds, key_spec(key, "web")));
    assert_true(exists(f->ds, key_node(key, "web", "n1")));
}

static void test_delete_many_nodes_message_bounded(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    for (int i = 0; i < 12; i++) {
        char name[24];
        snprintf(name, sizeof name, "node-%02d", i);
        put_node(f->ds, "web", name, "active");
    }
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_forget(f->ds, "web", false, &out, &err), -1);
    assert_string_equal(err.code, "nodes_remain");
    assert_non_null(strstr(err.message, "12 node(s)"));
    assert_non_null(strstr(err.message, "node-07, ..."));
    assert_null(strstr(err.message, "node-08"));
}

static void test_delete_forget_nodes_removes_only_own_keys(void **state)
{
    struct fixture *f = *state;
    populate_three(f->ds);
    put_node(f->ds, "web", "w3", "active");
    char key[KEY_MAX];
    put(f->ds, key_lease(key, "web"), "{\"op\":\"scale_in\"}");
    size_t web_keys = count_group_keys(f->ds, "web");
    size_t web2_keys = count_group_keys(f->ds, "web-2");
    size_t all = count_prefix(f->ds, KEY_ROOT);
    /* spec + 3 nodes + 1 incident + 1 event + lease */
    assert_int_equal(web_keys, 7);
    assert_int_equal(web2_keys, 7);

    struct json_object *out = NULL;
    struct as_error err = {0};
    if (asg_forget(f->ds, "web", true, &out, &err) != 0)
        fail_msg("asg_forget: %s: %s", err.code, err.message);
    assert_true(jx_bool(out, "deleted", false));
    assert_true(jx_bool(out, "existed", false));
    assert_int_equal(jx_int(out, "nodes_forgotten", -1), 3);
    assert_string_equal(jx_str(out, "group", ""), "web");
    json_object_put(out);

    assert_int_equal(count_group_keys(f->ds, "web"), 0);
    assert_int_equal(count_group_keys(f->ds, "web-2"), web2_keys);
    assert_int_equal(count_prefix(f->ds, KEY_ROOT), all - web_keys);
    assert_true(exists(f->ds, key_spec(key, "web-2")));
    assert_true(exists(f->ds, key_node(key, "web-2", "x1")));
    assert_true(exists(f->ds, key_lease(key, "api")));

    /* a second delete is a success that did nothing */
    out = NULL;
    assert_int_equal(asg_forget(f->ds, "web", true, &out, &err), 0);
    assert_false(jx_bool(out, "deleted", true));
    assert_false(jx_bool(out, "existed", true));
    json_object_put(out);

    /* and the group is gone for status */
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), -1);
    assert_string_equal(err.code, "unknown_group");
}

static void test_delete_without_nodes(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    create_named(f->ds, "web-2");
    put_node(f->ds, "web-2", "x1", "active"); /* another group's node */
    put_event(f->ds, "web", 5, "scale_out");
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_forget(f->ds, "web", false, &out, &err), 0);
    assert_true(jx_bool(out, "deleted", false));
    assert_int_equal(jx_int(out, "nodes_forgotten", -1), 0);
    json_object_put(out);
    assert_int_equal(count_group_keys(f->ds, "web"), 0);
    assert_int_equal(count_group_keys(f->ds, "web-2"), 2);
}

static void test_delete_unknown_and_invalid(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_forget(f->ds, "ghost", false, &out, &err), 0);
    assert_false(jx_bool(out, "existed", true));
    assert_false(jx_bool(out, "deleted", true));
    assert_string_equal(jx_str(out, "group", ""), "ghost");
    json_object_put(out);

    out = NULL;
    memset(&err, 0, sizeof err);
    assert_int_equal(asg_forget(f->ds, "Ghost;rm", false, &out, &err), -1);
    assert_null(out);
    assert_string_equal(err.code, "invalid_name");
}

/* ---- retire ---- */

static void test_retire_marks_lists_and_is_idempotent(void **state)
{
    struct fixture *f = *state;
    create_named(f->ds, "web");
    create_named(f->ds, "web-2");
    put_node(f->ds, "web", "n2", "failed");
    put_node(f->ds, "web", "n1", "active");
    put_node(f->ds, "web-2", "x1", "active");
    struct json_object *out = NULL;
    struct as_error err = {0};
    char names[128];

    setenv("AUTOSCALE_TEST_NOW", "1700000100", 1);
    if (asg_retire(f->ds, "web", &out, &err) != 0)
        fail_msg("asg_retire: %s: %s", err.code, err.message);
    assert_true(jx_bool(out, "existed", false));
    assert_true(jx_bool(out, "changed", false));
    assert_string_equal(jx_str(out, "status", ""), "deleting");
    join(jx_arr(out, "nodes"), NULL, names, sizeof names);
    assert_string_equal(names, "n1,n2");
    json_object_put(out);
    struct group g = load(f->ds, "web");
    assert_string_equal(g.status, "deleting");
    assert_int_equal(g.updated_at, 1700000100);
    group_clear(&g);
    g = load(f->ds, "web-2");
    assert_string_equal(g.status, "active");
    group_clear(&g);

    setenv("AUTOSCALE_TEST_NOW", "1700000200", 1);
    out = NULL;
    assert_int_equal(asg_retire(f->ds, "web", &out, &err), 0);
    assert_false(jx_bool(out, "changed", true));
    join(jx_arr(out, "nodes"), NULL, names, sizeof names);
    assert_string_equal(names, "n1,n2");
    json_object_put(out);
    g = load(f->ds, "web");
    assert_int_equal(g.updated_at, 1700000100); /* not written again */
    group_clear(&g);

    /* the node records themselves are untouched */
    struct asg_state st;
    assert_int_equal(asg_state_load(f->ds, "web", &st, &err), 0);
    long long c[NODE_UNKNOWN + 1];
    asg_state_node_counts(&st, c);
    assert_int_equal(c[NODE_ACTIVE], 1);
    assert_int_equal(c[NODE_FAILED], 1);
    asg_state_clear(&st);
}

static void test_retire_unknown_and_invalid(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    assert_int_equal(asg_retire(f->ds, "ghost", &out, &err), 0);
    assert_false(jx_bool(out, "existed", true));
    assert_false(jx_bool(out, "changed", true));
    assert_int_equal(json_object_array_length(jx_arr(out, "nodes")), 0);
    json_object_put(out);
    assert_int_equal(count_prefix(f->ds, KEY_ROOT), 0);

    out = NULL;
    assert_int_equal(asg_retire(f->ds, "web;rm", &out, &err), -1);
    assert_null(out);
    assert_string_equal(err.code, "invalid_name");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_int_equal(count_prefix(f->ds, KEY_ROOT), 0);
}

/* ---- health, protection, the last decision, the controls ---- */

/* asg_state_load gathers each node's health and protection, leaving out
 * records of nodes it has no record of, and the latest decision; another
 * group's records ("web-2" vs "web") stay with it. */
static void test_state_load_health_protect_decision(void **state)
{
    struct fixture *f = *state;
    struct asg_state st;
    struct as_error err = {0};
    char key[KEY_MAX];
    create_named(f->ds, "web");
    create_named(f->ds, "web-2");
    put_node(f->ds, "web", "n1", "active");
    put_node(f->ds, "web", "n2", "active");
    put(f->ds, key_health(key, "web", "n1"), "{\"status\":\"unhealthy\",\"failures\":3}");
    put(f->ds, key_health(key, "web", "n9"), "{\"status\":\"unhealthy\"}"); /* no node */
    put(f->ds, key_health(key, "web-2", "n2"), "{\"status\":\"unhealthy\"}");
    put(f->ds, key_protect(key, "web", "n2"), "{\"node\":\"n2\",\"reason\":\"debug\"}");
    put(f->ds, key_protect(key, "web", "n8"), "{\"node\":\"n8\"}"); /* no node */
    put(f->ds, key_protect(key, "web-2", "n1"), "{\"node\":\"n1\"}");
    /* the latest decision is its own key (history.h): the history records
     * themselves are not read */
    put(f->ds, key_history(key, "web", 1700000009000LL), "{\"action\":\"none\",\"code\":\"rest\"}");
    put(f->ds, key_decision(key, "web"), "{\"action\":\"scale_out\",\"code\":\"alert\"}");
    put(f->ds, key_decision(key, "web-2"), "{\"action\":\"scale_in\"}");

    assert_int_equal(asg_state_load(f->ds, "web", &st, &err), 0);
    assert_int_equal(json_object_object_length(st.health), 1);
    assert_string_equal(jx_str(jx_obj(st.health, "n1"), "status", ""), "unhealthy");
    assert_int_equal(json_object_object_length(st.protect), 1);
    assert_string_equal(jx_str(jx_obj(st.protect, "n2"), "reason", ""), "debug");
    assert_string_equal(jx_str(st.last_decision, "action", ""), "scale_out");
    asg_state_clear(&st);
    assert_null(st.health);

    /* none of them: empty objects and no decision */
    assert_int_equal(asg_state_load(f->ds, "web-2", &st, &err), 0);
    assert_int_equal(json_object_object_length(st.health), 0); /* no node records */
    assert_int_equal(json_object_object_length(st.protect), 0);
    assert_string_equal(jx_str(st.last_decision, "action", ""), "scale_in");
    asg_state_clear(&st);
}

/* The controls as asg_get shows them; a force is pending only after the
 * latest operation began (events and the lease) and within its window. */
static void test_status_controls(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    char key[KEY_MAX];
    create_named(f->ds, "web");
    put_node(f->ds, "web", "n1", "active");
    put(f->ds, key_protect(key, "web", "n1"), "not json"); /* still protects */
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    struct json_object *c = jx_obj(out, "controls");
    assert_int_equal(json_object_array_length(jx_arr(c, "suspended")), 0);
    assert_false(jx_bool(c, "protect_new", true));
    assert_null(jx_obj(c, "forced_at"));
    assert_false(jx_bool(c, "force_pending", true));
    struct json_object *n1 = json_object_array_get_idx(jx_arr(out, "nodes"), 0);
    assert_true(jx_bool(n1, "protected", false));
    assert_null(jx_obj(n1, "health"));
    assert_true(json_object_object_get_ex(out, "last_decision", NULL));
    json_object_put(out);

    /* forced at now - 100, an event at now - 200: pending */
    assert_int_equal(controls_resize(f->ds, "web", 4, true, 1700000000 - 100, &out, &err), 0);
    json_object_put(out);
    put_event(f->ds, "web", 1700000000 - 200, "scale_out");
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    assert_true(jx_bool(jx_obj(out, "controls"), "force_pending", false));
    assert_int_equal(jx_int(jx_obj(out, "controls"), "forced_at", 0), 1700000000 - 100);
    json_object_put(out);

    /* a lease taken after it: acted on */
    put(f->ds, key_lease(key, "web"), "{\"op\":\"scale_out\",\"count\":1,\"at\":1699999950}");
    assert_int_equal(asg_status(f->ds, "web", 10, &out, &err), 0);
    assert_false(jx_bool(jx_obj(out, "controls"), "force_pending", true));
    json_object_put(out);
}

/* Suspension and resize are spec writes: they hold the spec lock like any
 * update, and a resize outside the limits is refused before taking it. */
static void test_controls_hold_the_spec_lock(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    char key[KEY_MAX], *before = NULL, *after = NULL;
    create_named(f->ds, "web");
    put(f->ds, key_spec_lock(key, "web"), "{\"op\":\"asg_update\"}");
    assert_int_equal(ds_get(f->ds, key_spec(key, "web"), &before, &err), 0);

    as_set_interrupted(true); /* stands for st2's SIGTERM while waiting */
    assert_int_equal(controls_suspend(f->ds, "web", CONTROL_SCALE_IN, true, &out, &err), -1);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(controls_resize(f->ds, "web", 5, true, 1700000000, &out, &err), -1);
    assert_string_equal(err.code, "interrupted");
    /* refused on what the spec says, without waiting for the lock */
    assert_int_equal(controls_resize(f->ds, "web", 99, false, 1700000000, &out, &err), -1);
    assert_string_equal(err.code, "invalid_limits");
    assert_int_equal(controls_resize(f->ds, "nope", 5, false, 1700000000, &out, &err), -1);
    assert_string_equal(err.code, "unknown_group");
    as_set_interrupted(false);
    assert_int_equal(ds_get(f->ds, key_spec(key, "web"), &after, &err), 0);
    assert_string_equal(before, after);
    free(before);
    free(after);

    ds_del(f->ds, key_spec_lock(key, "web"), &err);
    assert_int_equal(controls_suspend(f->ds, "web", CONTROL_SCALE_IN | CONTROL_REPLACE, true,
                                      &out, &err), 0);
    assert_true(jx_bool(out, "changed", false));
    json_object_put(out);
    struct group g = load(f->ds, "web");
    assert_int_equal(g.suspend_scale_in, 1);
    assert_int_equal(g.suspend_replace, 1);
    assert_int_equal(g.suspend_scale_out, 0);
    assert_int_equal(g.updated_at, 1700000000);
    group_clear(&g);
    assert_false(exists(f->ds, key_spec_lock(key, "web")));

    /* an empty or foreign mask is refused */
    assert_int_equal(controls_suspend(f->ds, "web", 0, true, &out, &err), -1);
    assert_string_equal(err.code, "invalid_parameter");
    assert_int_equal(controls_suspend(f->ds, "web", 8, true, &out, &err), -1);
    assert_string_equal(err.code, "invalid_parameter");
}

/* A resize keeps every other field; without force forced_at stays. */
static void test_resize_keeps_the_rest(void **state)
{
    struct fixture *f = *state;
    struct json_object *out = NULL;
    struct as_error err = {0};
    create_named(f->ds, "web");
    struct group before = load(f->ds, "web");
    assert_int_equal(controls_resize(f->ds, "web", 7, true, 1699999000, &out, &err), 0);
    json_object_put(out);
    assert_int_equal(controls_resize(f->ds, "web", 8, false, 1700000000, &out, &err), 0);
    assert_int_equal(jx_int(out, "previous_desired", 0), 7);
    assert_int_equal(jx_int(out, "forced_at", 0), 1699999000);
    assert_false(jx_bool(out, "forced", true));
    json_object_put(out);
    struct group after = load(f->ds, "web");
    char diff[256];
    assert_int_equal(group_diff(&before, &after, diff, sizeof diff), 1);
    assert_string_equal(diff, "desired");
    assert_int_equal(after.desired, 8);
    assert_int_equal(after.forced_at, 1699999000);
    group_clear(&before);
    group_clear(&after);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_new_group),
        T(test_create_identical_is_idempotent),
        T(test_create_conflicting_names_fields),
        T(test_create_invalid_stores_nothing),
        T(test_create_without_compute_provider_stores_nothing),
        T(test_create_over_deleting_group_conflicts),
        T(test_corrupt_stored_spec),
        T(test_update_changes_and_reports),
        T(test_spec_build),
        T(test_update_settings),
        T(test_update_noop),
        T(test_update_invalid_keeps_stored_spec),
        T(test_update_unknown_group),
        T(test_update_deleting_group_refused),
        T(test_status_counts_and_alert),
        T(test_status_empty_group_and_lease),
        T(test_status_skips_corrupt_records),
        T(test_lease_in_candidate_layout),
        T(test_update_waits_for_the_spec_lock),
        T(test_status_events_limit),
        T(test_status_unknown_group),
        T(test_status_web_does_not_see_web2),
        T(test_load_all_assigns_records_to_own_group),
        T(test_load_all_empty_store),
        T(test_list_groups_with_counts),
        T(test_delete_refuses_while_nodes_remain),
        T(test_delete_many_nodes_message_bounded),
        T(test_delete_forget_nodes_removes_only_own_keys),
        T(test_delete_without_nodes),
        T(test_delete_unknown_and_invalid),
        T(test_retire_marks_lists_and_is_idempotent),
        T(test_retire_unknown_and_invalid),
        T(test_state_load_health_protect_decision),
        T(test_status_controls),
        T(test_controls_hold_the_spec_lock),
        T(test_resize_keeps_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
