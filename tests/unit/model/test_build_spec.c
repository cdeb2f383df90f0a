/* test_build_spec.c - what a node is built from (lib/model/build_spec.c):
 * the id is stable (the same spec, a copy of it, its stored JSON read back
 * with keys in another order all give one id), changes with every field
 * that builds the machine, and ignores the fields that do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "build_spec.h"
#include "group.h"
#include "jsonx.h"
#include "xalloc.h"

static void base(struct group *g)
{
    group_init(g, "web");
    g->compute_provider = xstrdup("openstack");
    g->flavor = xstrdup("m1.small");
    g->image = xstrdup("ubuntu-24.04");
    g->network = xstrdup("private");
    g->key_pair = xstrdup("ops");
    g->user_data = xstrdup("#cloud-config\n");
    g->run_list = xstrdup("recipe[web]");
    g->settings = json_tokener_parse("{\"openstack\":{\"region\":\"r1\",\"az\":\"a\"}}");
}

static void id_of(const struct group *g, char out[BUILD_SPEC_ID_LEN + 1])
{
    build_spec_id(g, out);
    assert_int_equal(strlen(out), BUILD_SPEC_ID_LEN);
    assert_int_equal(strspn(out, "0123456789abcdef"), BUILD_SPEC_ID_LEN);
}

static void test_stable(void **state)
{
    (void)state;
    struct group a, b;
    char ia[17], ib[17], ij[17];
    base(&a);
    base(&b);
    id_of(&a, ia);
    id_of(&b, ib);
    assert_string_equal(ia, ib);
    id_of(&a, ib);
    assert_string_equal(ia, ib);
    /* The stored built_from, read back from its text, gives the same id. */
    struct json_object *j = build_spec_json(&a);
    struct json_object *back = json_tokener_parse(json_object_to_json_string(j));
    build_spec_id_json(back, ij);
    assert_string_equal(ia, ij);
    json_object_put(j);
    json_object_put(back);
    /* Keys in another order (a record written by hand). */
    back = json_tokener_parse(
        "{\"user_data\":\"#cloud-config\\n\",\"settings\":{\"openstack\":{\"az\":\"a\","
        "\"region\":\"r1\"}},\"run_list\":\"recipe[web]\",\"network\":\"private\","
        "\"key_pair\":\"ops\",\"image\":\"ubuntu-24.04\",\"flavor\":\"m1.small\","
        "\"compute_provider\":\"openstack\"}");
    build_spec_id_json(back, ij);
    assert_string_equal(ia, ij);
    json_object_put(back);
    /* The settings' key order does not matter either. */
    json_object_put(b.settings);
    b.settings = json_tokener_parse("{\"openstack\":{\"az\":\"a\",\"region\":\"r1\"}}");
    id_of(&b, ib);
    assert_string_equal(ia, ib);
    group_clear(&a);
    group_clear(&b);
}

/* Change one field of the base spec: the id must change. */
static void differs(void (*edit)(struct group *), const char *what)
{
    struct group a, b;
    char ia[17], ib[17];
    base(&a);
    base(&b);
    edit(&b);
    id_of(&a, ia);
    id_of(&b, ib);
    if (strcmp(ia, ib) == 0)
        fail_msg("changing %s left the id %s", what, ia);
    group_clear(&a);
    group_clear(&b);
}

static void set(char **f, const char *v)
{
    free(*f);
    *f = v ? xstrdup(v) : NULL;
}
static void e_provider(struct group *g) { set(&g->compute_provider, "local"); }
static void e_flavor(struct group *g) { set(&g->flavor, "m1.large"); }
static void e_image(struct group *g) { set(&g->image, "ubuntu-26.04"); }
static void e_image_none(struct group *g) { set(&g->image, NULL); }
static void e_network(struct group *g) { set(&g->network, "public"); }
static void e_key_pair(struct group *g) { set(&g->key_pair, "ops2"); }
static void e_user_data(struct group *g) { set(&g->user_data, "#cloud-config\n\n"); }
static void e_run_list(struct group *g) { set(&g->run_list, "recipe[web],role[base]"); }
static void e_settings(struct group *g)
{
    json_object_put(g->settings);
    g->settings = json_tokener_parse("{\"openstack\":{\"region\":\"r2\",\"az\":\"a\"}}");
}
static void e_settings_none(struct group *g)
{
    json_object_put(g->settings);
    g->settings = NULL;
}

static void test_each_field(void **state)
{
    (void)state;
    differs(e_provider, "compute_provider");
    differs(e_flavor, "flavor");
    differs(e_image, "image");
    differs(e_image_none, "image (unset)");
    differs(e_network, "network");
    differs(e_key_pair, "key_pair");
    differs(e_user_data, "user_data");
    differs(e_run_list, "run_list");
    differs(e_settings, "settings");
    differs(e_settings_none, "settings (none)");
}

/* Limits, steps, DNS, LB and health build no different machine. */
static void test_other_fields_ignored(void **state)
{
    (void)state;
    struct group a, b;
    char ia[17], ib[17];
    base(&a);
    base(&b);
    b.min = 7;
    b.max = 9;
    b.scale_out_step = 3;
    set(&b.lb_backend, "web_back");
    set(&b.health_check_path, "/health");
    set(&b.notify_channel, "#ops");
    id_of(&a, ia);
    id_of(&b, ib);
    assert_string_equal(ia, ib);
    /* No settings and an empty settings object build the same. */
    e_settings_none(&a);
    json_object_put(b.settings);
    b.settings = jx_new_object();
    id_of(&a, ia);
    id_of(&b, ib);
    assert_string_equal(ia, ib);
    group_clear(&a);
    group_clear(&b);
}

static void test_json_shape(void **state)
{
    (void)state;
    struct group g;
    group_init(&g, "web");
    g.image = xstrdup("img");
    struct json_object *j = build_spec_json(&g);
    assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                        "{\"compute_provider\":null,\"flavor\":null,\"image\":\"img\","
                        "\"key_pair\":null,\"network\":null,\"run_list\":null,"
                        "\"settings\":null,\"user_data\":null}");
    json_object_put(j);
    group_clear(&g);
}

static void test_matches(void **state)
{
    (void)state;
    char id[17], none[17];
    struct group g;
    base(&g);
    id_of(&g, id);
    struct json_object *rec = json_tokener_parse("{\"name\":\"web-1\"}");
    assert_false(build_spec_matches(rec, id)); /* built before spec ids: differs */
    jx_add_str(rec, "spec_id", "0000000000000000");
    assert_false(build_spec_matches(rec, id));
    jx_add_str(rec, "spec_id", id);
    assert_true(build_spec_matches(rec, id));
    assert_false(build_spec_matches(rec, ""));
    build_spec_id_json(NULL, none);
    assert_string_equal(none, "");
    json_object_put(rec);
    group_clear(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable),
        cmocka_unit_test(test_each_field),
        cmocka_unit_test(test_other_fields_ignored),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
