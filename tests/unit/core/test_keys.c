/* test_keys.c - the datastore key layout (lib/core/keys.c) and node records
 * (lib/model/node.c): each builder's exact output, leaf/group extraction, the
 * prefix property that keeps group "web" from seeing "web-2"'s keys, DNS
 * labels, node state names and node name validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "keys.h"
#include "node.h"

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- builders ---- */

static void test_builders_exact_output(void **state)
{
    (void)state;
    char b[KEY_MAX];
    assert_string_equal(key_spec(b, "web"), "autoscale.spec.web");
    assert_string_equal(key_spec_prefix(b), "autoscale.spec.");
    assert_string_equal(key_node(b, "web", "web-3f2a"), "autoscale.node.web.web-3f2a");
    assert_string_equal(key_node_prefix(b, "web"), "autoscale.node.web.");
    assert_string_equal(key_node_prefix(b, NULL), "autoscale.node.");
    assert_string_equal(key_incident(b, "web", "i1"), "autoscale.incident.web.i1");
    assert_string_equal(key_incident_prefix(b, "web"), "autoscale.incident.web.");
    assert_string_equal(key_incident_prefix(b, NULL), "autoscale.incident.");
    assert_string_equal(key_event(b, "web", 1700000000LL, "scale_out"),
                        "autoscale.event.web.001700000000-scale_out");
    assert_string_equal(key_event(b, "web", 5, "scale_in"),
                        "autoscale.event.web.000000000005-scale_in");
    assert_string_equal(key_event_prefix(b, "web"), "autoscale.event.web.");
    assert_string_equal(key_event_prefix(b, NULL), "autoscale.event.");
    assert_string_equal(key_lease(b, "web"), "autoscale.lease.web");
    assert_string_equal(key_lease_prefix(b), "autoscale.lease.");
    assert_string_equal(key_spec_lock(b, "web"), "autoscale.speclock.web");
}

static void test_builders_return_buf(void **state)
{
    (void)state;
    char b[KEY_MAX];
    assert_ptr_equal(key_spec(b, "a"), b);
    assert_ptr_equal(key_spec_prefix(b), b);
    assert_ptr_equal(key_node(b, "a", "n"), b);
    assert_ptr_equal(key_node_prefix(b, "a"), b);
    assert_ptr_equal(key_incident(b, "a", "i"), b);
    assert_ptr_equal(key_incident_prefix(b, "a"), b);
    assert_ptr_equal(key_event(b, "a", 1, "x"), b);
    assert_ptr_equal(key_event_prefix(b, "a"), b);
    assert_ptr_equal(key_lease(b, "a"), b);
    assert_ptr_equal(key_lease_prefix(b), b);
}

static void test_event_keys_sort_in_time_order(void **state)
{
    (void)state;
    char a[KEY_MAX], b[KEY_MAX], c[KEY_MAX];
    key_event(a, "web", 999, "scale_out");
    key_event(b, "web", 1000, "scale_in");
    key_event(c, "web", 1700000000LL, "scale_in");
    assert_true(strcmp(a, b) < 0); /* 999 < 1000 despite "9" > "1" */
    assert_true(strcmp(b, c) < 0);
}

static void test_long_components_stay_bounded(void **state)
{
    (void)state;
    char b[KEY_MAX + 16];
    memset(b, 'Z', sizeof b);
    char longname[400];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    key_node(b, "web", longname);
    assert_int_equal(strlen(b), KEY_MAX - 1);
    assert_int_equal(b[KEY_MAX], 'Z'); /* nothing written past KEY_MAX */
}

/* ---- prefix isolation ---- */

static void test_prefix_isolates_similar_group_names(void **state)
{
    (void)state;
    char p[KEY_MAX], k[KEY_MAX];
    key_node_prefix(p, "web");
    assert_false(starts_with(key_node(k, "web-2", "x"), p));
    assert_false(starts_with(key_node(k, "webx", "x"), p));
    assert_true(starts_with(key_node(k, "web", "x"), p));

    key_incident_prefix(p, "web");
    assert_false(starts_with(key_incident(k, "web-2", "i1"), p));
    assert_true(starts_with(key_incident(k, "web", "i1"), p));

    key_event_prefix(p, "web");
    assert_false(starts_with(key_event(k, "web-2", 1, "scale_out"), p));
    assert_true(starts_with(key_event(k, "web", 1, "scale_out"), p));

    /* the all-groups prefixes cover every group, and only their kind */
    key_node_prefix(p, NULL);
    assert_true(starts_with(key_node(k, "web-2", "x"), p));
    assert_false(starts_with(key_incident(k, "web", "x"), p));
    key_spec_prefix(p);
    assert_true(starts_with(key_spec(k, "web"), p));
    assert_false(starts_with(key_spec_lock(k, "web"), p)); /* listing specs finds specs */
    key_lease_prefix(p);
    assert_true(starts_with(key_lease(k, "web-2"), p));
    assert_false(starts_with(key_spec(k, "web"), p));
}

/* ---- key_leaf / key_group ---- */

static void test_key_leaf(void **state)
{
    (void)state;
    char b[KEY_MAX];
    assert_string_equal(key_leaf(key_node(b, "web", "web-3f2a")), "web-3f2a");
    assert_string_equal(key_leaf(key_incident(b, "web", "i1")), "i1");
    assert_string_equal(key_leaf(key_event(b, "web", 42, "scale_out")),
                        "000000000042-scale_out");
    assert_string_equal(key_leaf(key_spec(b, "web")), "web");
    assert_string_equal(key_leaf("nodots"), "nodots");
    assert_string_equal(key_leaf("trailing."), "");
}

static void assert_group(const char *key, const char *want)
{
    char g[32];
    memset(g, 'Q', sizeof g);
    if (key_group(key, g, sizeof g) != 0)
        fail_msg("key_group(\"%s\") refused", key);
    assert_string_equal(g, want);
}

static void assert_no_group(const char *key, size_t outsz)
{
    char g[64] = "untouched";
    assert_int_equal(key_group(key, g, outsz), -1);
}

static void test_key_group_valid(void **state)
{
    (void)state;
    char b[KEY_MAX];
    assert_group(key_spec(b, "web"), "web");
    assert_group(key_node(b, "web-2", "n1"), "web-2");
    assert_group(key_incident(b, "api", "i9"), "api");
    assert_group(key_event(b, "web", 7, "scale_in"), "web");
    assert_group(key_lease(b, "db"), "db");
    /* 31 characters, the longest group name, fits a 32-byte buffer */
    assert_group("autoscale.node.abcdefghijklmnopqrstuvwxyz01234.n1",
                 "abcdefghijklmnopqrstuvwxyz01234");
}

static void test_key_group_malformed(void **state)
{
    (void)state;
    assert_no_group("", 32);
    assert_no_group("other.node.web.n1", 32);
    assert_no_group("autoscale", 32);
    assert_no_group("autoscale.", 32);
    assert_no_group("autoscale.node", 32);        /* no group component */
    assert_no_group("autoscale.node.", 32);       /* empty group */
    assert_no_group("autoscale.node..n1", 32);    /* empty group */
    assert_no_group("autoscalex.node.web.n1", 32);
    /* a group that does not fit the buffer (with its NUL) */
    assert_no_group("autoscale.node.abcd.n1", 4);
    char g[5];
    assert_int_equal(key_group("autoscale.node.abcd.n1", g, sizeof g), 0);
    assert_string_equal(g, "abcd");
}

/* ---- node states ---- */

/* Labels: what group and node names are, and each part of a DNS name. */
static void test_labels(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "web-1", "0", "x2y"};
    static const char *const bad[] = {"", "-a", "a-", "A", "a_b", "a.b", "\xc3\xa9"};
    char long64[65];
    memset(long64, 'a', 64);
    long64[64] = '\0';
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(key_label_ok(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(key_label_ok(bad[i], strlen(bad[i])));
    assert_true(key_label_ok(long64, 63));
    assert_false(key_label_ok(long64, 64));
    assert_true(key_label_ok("web-", 3)); /* only the first len bytes */

    assert_int_equal(key_dns_labels("example.com", 11), 2);
    assert_int_equal(key_dns_labels("web-1.web.example.com", 21), 4);
    assert_int_equal(key_dns_labels("com", 3), 1);
    assert_int_equal(key_dns_labels("", 0), -1);
    assert_int_equal(key_dns_labels("example.com.", 12), -1); /* the caller drops the dot */
    assert_int_equal(key_dns_labels("a..b", 4), -1);
    assert_int_equal(key_dns_labels("a.-b", 4), -1);
}

static void test_node_state_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"building", "active", "draining", "failed", "deleting",
                           "warming", "warm", "unknown"};
    for (int s = NODE_BUILDING; s <= NODE_UNKNOWN; s++) {
        assert_string_equal(node_state_name((enum node_state)s), names[s]);
        assert_int_equal(node_state_parse(node_state_name((enum node_state)s)), s);
    }
    assert_string_equal(node_state_name((enum node_state)99), "unknown");
}

static void test_node_state_parse_unknown(void **state)
{
    (void)state;
    assert_int_equal(node_state_parse(NULL), NODE_UNKNOWN);
    assert_int_equal(node_state_parse(""), NODE_UNKNOWN);
    assert_int_equal(node_state_parse("Active"), NODE_UNKNOWN);
    assert_int_equal(node_state_parse("active "), NODE_UNKNOWN);
    assert_int_equal(node_state_parse("running"), NODE_UNKNOWN);
}

static void test_node_record_state(void **state)
{
    (void)state;
    struct json_object *r = json_tokener_parse("{\"name\":\"n1\",\"state\":\"draining\"}");
    assert_int_equal(node_record_state(r), NODE_DRAINING);
    json_object_put(r);
    r = json_tokener_parse("{\"name\":\"n1\",\"state\":3}");
    assert_int_equal(node_record_state(r), NODE_UNKNOWN);
    json_object_put(r);
    r = json_tokener_parse("{\"name\":\"n1\"}");
    assert_int_equal(node_record_state(r), NODE_UNKNOWN);
    json_object_put(r);
    assert_int_equal(node_record_state(NULL), NODE_UNKNOWN);
}

static void test_node_capacity_states(void **state)
{
    (void)state;
    assert_true(node_state_is_capacity(NODE_BUILDING));
    assert_true(node_state_is_capacity(NODE_ACTIVE));
    assert_false(node_state_is_capacity(NODE_DRAINING));
    assert_false(node_state_is_capacity(NODE_FAILED));
    assert_false(node_state_is_capacity(NODE_DELETING));
    assert_false(node_state_is_capacity(NODE_WARMING)); /* the warm pool */
    assert_false(node_state_is_capacity(NODE_WARM));
    assert_false(node_state_is_capacity(NODE_UNKNOWN));
}

/* ---- node names ---- */

static void assert_node_name_ok(const char *name)
{
    struct as_error err = {0};
    if (node_check_name(name, &err) != 0)
        fail_msg("node name '%s' refused: %s", name, err.message);
}

static void assert_node_name_bad(const char *name)
{
    struct as_error err = {0};
    if (node_check_name(name, &err) != -1)
        fail_msg("node name '%s' accepted", name ? name : "(null)");
    assert_string_equal(err.code, "invalid_node_name");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
}

static void test_node_names(void **state)
{
    (void)state;
    char n63[64], n64[65];
    memset(n63, 'a', 63);
    n63[63] = '\0';
    memset(n64, 'a', 64);
    n64[64] = '\0';

    assert_node_name_ok("a");
    assert_node_name_ok("web-3f2a");
    assert_node_name_ok("1node");
    assert_node_name_ok("a-b-c-9");
    assert_node_name_ok(n63);

    assert_node_name_bad(NULL);
    assert_node_name_bad("");
    assert_node_name_bad(n64);
    assert_node_name_bad("Web-1");
    assert_node_name_bad("web-A");
    assert_node_name_bad("-web");
    assert_node_name_bad("web-");
    assert_node_name_bad("-");
    assert_node_name_bad("a;b");
    assert_node_name_bad("a\nb");
    assert_node_name_bad("a b");
    assert_node_name_bad("a.b");
    assert_node_name_bad("a_b");
    assert_node_name_bad("$(reboot)");
    assert_node_name_bad("w\xc3\xa9" "b");
    assert_int_equal(node_check_name("a;b", NULL), -1); /* NULL err allowed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builders_exact_output),
        cmocka_unit_test(test_builders_return_buf),
        cmocka_unit_test(test_event_keys_sort_in_time_order),
        cmocka_unit_test(test_long_components_stay_bounded),
        cmocka_unit_test(test_prefix_isolates_similar_group_names),
        cmocka_unit_test(test_key_leaf),
        cmocka_unit_test(test_key_group_valid),
        cmocka_unit_test(test_key_group_malformed),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_node_state_names_round_trip),
        cmocka_unit_test(test_node_state_parse_unknown),
        cmocka_unit_test(test_node_record_state),
        cmocka_unit_test(test_node_capacity_states),
        cmocka_unit_test(test_node_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
