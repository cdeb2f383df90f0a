/* test_settings.c - what a group's settings may set (lib/model/settings.c): the
 * class of every key of every area, the checks asg_define/asg_update make
 * (operator-only keys, unknown keys and areas, endpoints and the operator's
 * allow-list, every value kind), and the one merge behind compute_settings,
 * dns_settings and lb_settings, through the real argv parser and each
 * builder's own parameter list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute_params.h"
#include "dns.h"
#include "group.h"
#include "jsonx.h"
#include "lb.h"
#include "secret.h"
#include "settings.h"
#include "st2.h"

/* The builders' parameter lists as the actions declare them. */
static const struct as_param compute_params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    COMPUTE_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};
static const struct as_param dns_params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    DNS_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};
static const struct as_param lb_params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    LB_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static struct as_args *args(const struct as_param *params, const char *const *given)
{
    char *argv[24] = {"prog"};
    int argc = 1;
    for (; given && given[argc - 1]; argc++)
        argv[argc] = (char *)given[argc - 1];
    struct as_error err = {0};
    struct as_args *a = as_args_parse(params, argc, argv, &err);
    if (!a)
        fail_msg("as_args_parse: %s: %s", err.code, err.message);
    return a;
}

/* Each builder as an action calls it: argv into the area's typed struct. */
static int c_settings(const struct as_args *a, const char *provider, const struct group *g,
                      struct json_object **o, struct as_error *err)
{
    struct compute_params p;
    as_args_fill(a, compute_param_desc, compute_param_count, &p);
    return compute_settings(&p, provider, g, as_arg_str(a, SETTINGS_ALLOW_NAME), o, err);
}
static int d_settings(const struct as_args *a, const char *provider, const struct group *g,
                      struct json_object **o, struct as_error *err)
{
    struct dns_params p;
    as_args_fill(a, dns_param_desc, dns_param_count, &p);
    return dns_settings(&p, provider, g, as_arg_str(a, SETTINGS_ALLOW_NAME), o, err);
}
static int l_settings(const struct as_args *a, const char *provider, const struct group *g,
                      struct json_object **o, struct as_error *err)
{
    struct lb_params p;
    as_args_fill(a, lb_param_desc, lb_param_count, &p);
    return lb_settings(&p, provider, g, as_arg_str(a, SETTINGS_ALLOW_NAME), o, err);
}

static struct json_object *parse(const char *text)
{
    struct json_object *o = json_tokener_parse(text);
    if (!o)
        fail_msg("bad test JSON: %s", text);
    return o;
}

/* settings_check on a JSON text: the error code, "" when accepted. */
static const char *check(const char *text, const char *allowed, struct as_error *err)
{
    struct json_object *s = parse(text);
    memset(err, 0, sizeof *err);
    int rc = settings_check(s, allowed, err);
    json_object_put(s);
    if (rc == 0)
        return "";
    assert_int_equal(rc, -1);
    assert_int_equal(err->exit, AS_EXIT_BADINPUT);
    assert_null(strchr(err->message, '\n'));
    return err->code;
}

static void expect(const char *text, const char *allowed, const char *code)
{
    struct as_error err;
    const char *got = check(text, allowed, &err);
    if (strcmp(got, code) != 0)
        fail_msg("%s (allowed %s): got '%s' (%s), want '%s'", text,
                 allowed ? allowed : "none", got, err.message, code);
}

/* ---- the table ---- */

struct class_case {
    const char *area, *key;
    enum settings_class cls;
};

/* Every key a provider reads from its settings, with its class: what sends
 * credentials somewhere or runs something is never a plain group choice. */
static const struct class_case classes[] = {
    {"local", "command", SETTINGS_OPERATOR},
    {"local", "dir", SETTINGS_OPERATOR},
    {"local", "port", SETTINGS_GROUP},
    {"local", "grace_ms", SETTINGS_GROUP},
    {"local", "ca_bundle", SETTINGS_OPERATOR},
    {"local", "poll_interval_ms", SETTINGS_GROUP},
    {"openstack", "auth_url", SETTINGS_ENDPOINT},
    {"openstack", "username", SETTINGS_OPERATOR},
    {"openstack", "password", SETTINGS_OPERATOR},
    {"openstack", "project_name", SETTINGS_OPERATOR},
    {"openstack", "user_domain_name", SETTINGS_OPERATOR},
    {"openstack", "project_domain_name", SETTINGS_OPERATOR},
    {"openstack", "application_credential_id", SETTINGS_OPERATOR},
    {"openstack", "application_credential_secret", SETTINGS_OPERATOR},
    {"openstack", "ca_bundle", SETTINGS_OPERATOR},
    {"openstack", "region", SETTINGS_GROUP},
    {"openstack", "interface", SETTINGS_GROUP},
    {"openstack", "flavor", SETTINGS_GROUP},
    {"openstack", "image", SETTINGS_GROUP},
    {"openstack", "network", SETTINGS_GROUP},
    {"openstack", "timeout_ms", SETTINGS_GROUP},
    {"openstack", "poll_interval_ms", SETTINGS_GROUP},
    {"digitalocean", "api_url", SETTINGS_ENDPOINT},
    {"digitalocean", "token", SETTINGS_OPERATOR},
    {"digitalocean", "ca_bundle", SETTINGS_OPERATOR},
    {"digitalocean", "region", SETTINGS_GROUP},
    {"digitalocean", "address_type", SETTINGS_GROUP},
    {"digitalocean", "ttl", SETTINGS_GROUP},
    {"digitalocean", "record_template", SETTINGS_GROUP},
    {"digitalocean", "lb_id", SETTINGS_GROUP},
    {"digitalocean", "server_port", SETTINGS_GROUP},
    {"powerdns", "api_url", SETTINGS_ENDPOINT},
    {"powerdns", "api_key", SETTINGS_OPERATOR},
    {"powerdns", "ca_bundle", SETTINGS_OPERATOR},
    {"powerdns", "ttl", SETTINGS_GROUP},
    {"powerdns", "record_template", SETTINGS_GROUP},
    {"haproxy", "socket", SETTINGS_ENDPOINT},
    {"haproxy", "ca_bundle", SETTINGS_OPERATOR},
    {"haproxy", "check", SETTINGS_GROUP},
    {"haproxy", "server_port", SETTINGS_GROUP},
    {"chef", "cookbooks_url", SETTINGS_ENDPOINT},
    {"chef", "chef_environment", SETTINGS_GROUP},
    {"chef", "attributes", SETTINGS_GROUP},
    /* not settings at all */
    {"local", "token", SETTINGS_UNKNOWN},
    {"powerdns", "region", SETTINGS_UNKNOWN},
    {"haproxy", "command", SETTINGS_UNKNOWN},
    {"chef", "chef_install_command", SETTINGS_UNKNOWN},
    {"ssh", "user", SETTINGS_UNKNOWN},
    {"", "", SETTINGS_UNKNOWN},
};

static void test_every_key_has_its_class(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        const struct class_case *c = &classes[i];
        if (settings_class_of(c->area, c->key) != c->cls)
            fail_msg("%s.%s: class %d, want %d", c->area, c->key,
                     settings_class_of(c->area, c->key), c->cls);
    }
    assert_int_equal(settings_class_of(NULL, "x"), SETTINGS_UNKNOWN);
}

/* ---- settings_check: operator keys, endpoints, unknown names ---- */

/* Every key not a group's, set to a plausible value in its own area:
 * refused, whatever the allow-list says about other things. */
static void test_operator_and_endpoint_keys_refused(void **state)
{
    (void)state;
    const char *allowed = "powerdns.api_url=http://allowed.example/api";
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        const struct class_case *c = &classes[i];
        if (c->cls != SETTINGS_OPERATOR && c->cls != SETTINGS_ENDPOINT)
            continue;
        char text[256];
        snprintf(text, sizeof text, "{\"%s\": {\"%s\": \"http://127.0.0.1:9/\"}}", c->area,
                 c->key);
        struct as_error err;
        assert_string_equal(check(text, allowed, &err), "setting_not_allowed");
        char name[96];
        snprintf(name, sizeof name, "settings.%s.%s", c->area, c->key);
        if (!strstr(err.message, name))
            fail_msg("message does not name %s: %s", name, err.message);
        assert_null(strstr(err.message, "127.0.0.1"));
    }
}

/* The issue's own cases. */
static void test_issue_cases_refused(void **state)
{
    (void)state;
    expect("{\"powerdns\":{\"api_url\":\"http://127.0.0.1:9/\"}}", NULL, "setting_not_allowed");
    expect("{\"openstack\":{\"auth_url\":\"http://127.0.0.1:9/v3\"}}", NULL,
           "setting_not_allowed");
    expect("{\"local\":{\"command\":\"touch /tmp/pwned\"}}", NULL, "setting_not_allowed");
    expect("{\"digitalocean\":{\"api_url\":\"http://127.0.0.1:9/\"}}", "", "setting_not_allowed");
    expect("{\"haproxy\":{\"socket\":\"/tmp/other.sock\"}}", NULL, "setting_not_allowed");
    expect("{\"chef\":{\"cookbooks_url\":\"https://evil.example/x.tar.gz\"}}", NULL,
           "setting_not_allowed");
    /* one bad key among good ones still refuses the whole object */
    expect("{\"openstack\":{\"region\":\"r2\",\"password\":\"x\"}}", NULL, "setting_not_allowed");
    expect("{\"powerdns\":{\"ttl\":90},\"local\":{\"dir\":\"/etc\"}}", NULL,
           "setting_not_allowed");
}

static void test_unknown_names_refused(void **state)
{
    (void)state;
    expect("{\"ssh\":{\"user\":\"root\"}}", NULL, "setting_not_allowed");
    expect("{\"openstack\":{\"regoin\":\"r2\"}}", NULL, "setting_not_allowed");
    expect("{\"ttl\":30}", NULL, "setting_not_allowed");
    /* a name that cannot be shown is not echoed */
    struct as_error err;
    assert_string_equal(check("{\"openstack\":{\"a\\nb\\u001b[31m\":1}}", NULL, &err),
                        "setting_not_allowed");
    assert_non_null(strstr(err.message, "'?'"));
}

/* A secret put into settings by mistake is never repeated in the refusal. */
static void test_refusal_never_shows_a_value(void **state)
{
    (void)state;
    struct as_error err;
    assert_string_equal(check("{\"openstack\":{\"password\":\"hunter2-secret\"}}", NULL, &err),
                        "setting_not_allowed");
    assert_null(strstr(err.message, "hunter2"));
    assert_string_equal(check("{\"powerdns\":{\"ttl\":\"hunter2-secret\"}}", NULL, &err),
                        "bad_settings");
    assert_null(strstr(err.message, "hunter2"));
}

/* ---- the allow-list ---- */

static void test_allow_list_exact_values(void **state)
{
    (void)state;
    const char *list = " powerdns.api_url=https://pdns-b.example/api/v1/servers/localhost ,\n"
                       "haproxy.socket=/run/haproxy/b.sock,,"
                       "openstack.auth_url=https://keystone-b.example:5000/v3";
    expect("{\"powerdns\":{\"api_url\":\"https://pdns-b.example/api/v1/servers/localhost\"}}",
           list, "");
    expect("{\"haproxy\":{\"socket\":\"/run/haproxy/b.sock\"}}", list, "");
    expect("{\"openstack\":{\"auth_url\":\"https://keystone-b.example:5000/v3\",\"region\":"
           "\"r2\"}}",
           list, "");
    /* not a prefix, not a longer value, not another key's value */
    expect("{\"powerdns\":{\"api_url\":\"https://pdns-b.example/api/v1/servers/localhos\"}}",
           list, "setting_not_allowed");
    expect("{\"powerdns\":{\"api_url\":\"https://pdns-b.example/api/v1/servers/localhost/\"}}",
           list, "setting_not_allowed");
    expect("{\"openstack\":{\"auth_url\":\"https://pdns-b.example/api/v1/servers/localhost\"}}",
           list, "setting_not_allowed");
    expect("{\"digitalocean\":{\"api_url\":\"https://keystone-b.example:5000/v3\"}}", list,
           "setting_not_allowed");
    /* not a string */
    expect("{\"haproxy\":{\"socket\":null}}", list, "setting_not_allowed");
    expect("{\"haproxy\":{\"socket\":[\"/run/haproxy/b.sock\"]}}", list, "setting_not_allowed");
    /* an allow-list never makes an operator key a group's */
    expect("{\"powerdns\":{\"api_key\":\"k\"}}", "powerdns.api_key=k", "invalid_parameter");
    expect("{\"local\":{\"command\":\"true\"}}", "local.command=true", "invalid_parameter");
}

static void test_allow_list_malformed(void **state)
{
    (void)state;
    const char *bad[] = {"https://pdns-b.example/api", "powerdns.api_url", "powerdns=x",
                         ".api_url=x", "powerdns.=x", "powerdns.api_url=",
                         "nosuch.api_url=x", "powerdns.api_url=x,local.dir=/tmp"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect("{\"powerdns\":{\"api_url\":\"x\"}}", bad[i], "invalid_parameter");
    /* checked whatever the settings name, so a typo shows on the first run */
    expect("{\"powerdns\":{\"ttl\":90}}", "garbage", "invalid_parameter");
    expect("{}", "local.command=true", "invalid_parameter");
}

/* ---- value kinds ---- */

static void test_group_values_checked(void **state)
{
    (void)state;
    /* accepted */
    expect("{}", NULL, "");
    expect("{\"openstack\":{\"region\":\"RegionTwo\",\"interface\":\"internal\","
           "\"flavor\":\"m1.large\",\"image\":\"Ubuntu 22.04 (LTS)\",\"network\":\"net\","
           "\"timeout_ms\":5000,\"poll_interval_ms\":\"2000\"}}",
           NULL, "");
    expect("{\"local\":{\"port\":8081,\"grace_ms\":0}}", NULL, "");
    expect("{\"digitalocean\":{\"region\":\"ams3\",\"address_type\":\"public\",\"ttl\":30,"
           "\"record_template\":\"{node}.{zone}\",\"lb_id\":\"4de7ac8b\",\"server_port\":443}}",
           NULL, "");
    expect("{\"haproxy\":{\"check\":false,\"server_port\":8080}}", NULL, "");
    expect("{\"haproxy\":{\"check\":\"off\"}}", NULL, "");
    expect("{\"chef\":{\"chef_environment\":\"staging\",\"attributes\":{\"tier\":\"api\"}}}",
           NULL, "");

    /* refused: wrong type, out of range, not one of the choices */
    const char *bad[] = {
        "{\"local\":{\"port\":0}}",
        "{\"local\":{\"port\":65536}}",
        "{\"local\":{\"port\":-1}}",
        "{\"local\":{\"port\":\"0x10\"}}",
        "{\"local\":{\"port\":\" 80\"}}",
        "{\"local\":{\"port\":\"+80\"}}",
        "{\"local\":{\"port\":80.0}}",
        "{\"local\":{\"port\":true}}",
        "{\"local\":{\"port\":null}}",
        "{\"local\":{\"grace_ms\":600001}}",
        "{\"openstack\":{\"poll_interval_ms\":60001}}",
        "{\"powerdns\":{\"ttl\":0}}",
        "{\"powerdns\":{\"ttl\":604801}}",
        "{\"powerdns\":{\"ttl\":\"1e3\"}}",
        "{\"openstack\":{\"interface\":\"private\"}}",
        "{\"openstack\":{\"interface\":\"\"}}",
        "{\"digitalocean\":{\"address_type\":\"both\"}}",
        "{\"haproxy\":{\"check\":\"maybe\"}}",
        "{\"haproxy\":{\"check\":1}}",
        "{\"chef\":{\"attributes\":\"tier=api\"}}",
        "{\"openstack\":{\"region\":\"\"}}",
        "{\"openstack\":{\"region\":7}}",
        "{\"openstack\":{\"region\":\"a\\nb\"}}",
        "{\"openstack\":{\"region\":\"\\u0000\"}}",
        "{\"openstack\":\"RegionTwo\"}",
        "{\"openstack\":null}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect(bad[i], NULL, "bad_settings");
    char huge[400];
    snprintf(huge, sizeof huge, "{\"openstack\":{\"region\":\"%0256d\"}}", 0);
    expect(huge, NULL, "bad_settings");
    struct as_error err;
    assert_int_equal(settings_check(NULL, NULL, &err), 0);
    struct json_object *arr = json_object_new_array();
    assert_int_equal(settings_check(arr, NULL, &err), -1);
    assert_string_equal(err.code, "bad_settings");
    json_object_put(arr);
}

/* ---- the merge ---- */

static void group_with(struct group *g, const char *settings)
{
    group_init(g, "web");
    g->settings = settings ? parse(settings) : NULL;
}

static void test_compute_merge(void **state)
{
    (void)state;
    const char *given[] = {"--openstack_auth_url=https://keystone.example/v3",
                           "--openstack_password=pw", "--openstack_region=RegionOne",
                           "--local_command=/bin/app", "--digitalocean_region=nyc3",
                           "--ca_bundle=/etc/ca.pem", "--poll_interval_ms=500", NULL};
    struct as_args *a = args(compute_params, given);
    struct group g;
    struct json_object *o = NULL;
    struct as_error err = {0};

    /* the parameters alone: each provider gets only its own keys */
    group_with(&g, NULL);
    assert_int_equal(c_settings(a, "openstack", &g, &o, &err), 0);
    assert_string_equal(jx_str(o, "auth_url", ""), "https://keystone.example/v3");
    assert_string_equal(jx_str(o, "password", ""), "pw");
    assert_string_equal(jx_str(o, "region", ""), "RegionOne");
    assert_string_equal(jx_str(o, "interface", ""), "public");
    assert_string_equal(jx_str(o, "ca_bundle", ""), "/etc/ca.pem");
    assert_int_equal(jx_int(o, "poll_interval_ms", -1), 500);
    assert_null(jx_str(o, "command", NULL));
    json_object_put(o);
    assert_int_equal(c_settings(a, "local", &g, &o, &err), 0);
    assert_string_equal(jx_str(o, "command", ""), "/bin/app");
    assert_int_equal(jx_int(o, "port", -1), 8080);
    assert_null(jx_str(o, "region", NULL));
    json_object_put(o);
    group_clear(&g);

    /* a group's choices override */
    group_with(&g, "{\"openstack\":{\"region\":\"RegionTwo\",\"flavor\":\"m1.small\"},"
                   "\"local\":{\"port\":9090}}");
    assert_int_equal(c_settings(a, "openstack", &g, &o, &err), 0);
    assert_string_equal(jx_str(o, "region", ""), "RegionTwo");
    assert_string_equal(jx_str(o, "flavor", ""), "m1.small");
    assert_string_equal(jx_str(o, "auth_url", ""), "https://keystone.example/v3");
    json_object_put(o);
    assert_int_equal(c_settings(a, "local", &g, &o, &err), 0);
    assert_int_equal(jx_int(o, "port", -1), 9090);
    json_object_put(o);
    group_clear(&g);

    /* a stored spec with an operator key: refused, nothing built */
    const char *refused[] = {"{\"openstack\":{\"auth_url\":\"http://127.0.0.1:9/\"}}",
                             "{\"openstack\":{\"username\":\"admin\"}}",
                             "{\"local\":{\"command\":\"touch /tmp/pwned\"}}",
                             "{\"digitalocean\":{\"token\":\"t\"}}"};
    const char *provider[] = {"openstack", "openstack", "local", "digitalocean"};
    for (size_t i = 0; i < 4; i++) {
        group_with(&g, refused[i]);
        o = (struct json_object *)&g; /* must be reset */
        assert_int_equal(c_settings(a, provider[i], &g, &o, &err), -1);
        assert_null(o);
        assert_string_equal(err.code, "setting_not_allowed");
        assert_non_null(strstr(err.message, "group web"));
        group_clear(&g);
    }
    /* what another area holds is not this provider's business */
    group_with(&g, "{\"local\":{\"command\":\"touch /tmp/pwned\"}}");
    assert_int_equal(c_settings(a, "openstack", &g, &o, &err), 0);
    assert_null(jx_str(o, "command", NULL));
    json_object_put(o);
    group_clear(&g);
    as_args_free(a);
}

static void test_dns_merge(void **state)
{
    (void)state;
    const char *given[] = {"--powerdns_api_key=k", "--dns_ttl=120",
                           "--digitalocean_token=t", NULL};
    struct as_args *a = args(dns_params, given);
    struct group g;
    struct json_object *o = NULL;
    struct as_error err = {0};

    group_with(&g, "{\"powerdns\":{\"ttl\":90}}");
    assert_int_equal(d_settings(a, "powerdns", &g, &o, &err), 0);
    assert_string_equal(jx_str(o, "api_url", ""),
                        "http://127.0.0.1:8081/api/v1/servers/localhost");
    assert_string_equal(jx_str(o, "api_key", ""), "k");
    assert_int_equal(jx_int(o, "ttl", -1), 90);
    assert_string_equal(jx_str(o, "record_template", ""), DNS_DEFAULT_TEMPLATE);
    assert_null(jx_str(o, "token", NULL));
    json_object_put(o);
    assert_int_equal(d_settings(a, "digitalocean", &g, &o, &err), 0);
    assert_string_equal(jx_str(o, "token", ""), "t");
    assert_string_equal(jx_str(o, "api_url", ""), "https://api.digitalocean.com/v2");
    assert_int_equal(jx_int(o, "ttl", -1), 120);
    json_object_put(o);
    group_clear(&g);

    group_with(&g, "{\"powerdns\":{\"api_url\":\"http://127.0.0.1:9/\"}}");
    assert_int_equal(d_settings(a, "powerdns", &g, &o, &err), -1);
    assert_null(o);
    assert_string_equal(err.code, "setting_not_allowed");
    group_clear(&g);
    as_args_free(a);

    /* the operator listed it: the group's endpoint is used */
    const char *listed[] = {"--powerdns_api_key=k",
                            "--group_endpoints_allowed=powerdns.api_url=http://127.0.0.1:9/",
                            NULL};
    a = args(dns_params, listed);
    group_with(&g, "{\"powerdns\":{\"api_url\":\"http://127.0.0.1:9/\"}}");
    assert_int_equal(d_settings(a, "powerdns", &g, &o, &err), 0);
    assert_string_equal(jx_str(o, "api_url", ""), "http://127.0.0.1:9/");
    json_object_put(o);
    group_clear(&g);
    as_args_free(a);
}

static void test_lb_merge(void **state)
{
    (void)state;
    const char *given[] = {"--haproxy_socket=/run/haproxy/admin.sock", "--lb_server_port=8080",
                           "--digitalocean_lb_id=abc", NULL};
    struct as_args *a = args(lb_params, given);
    struct group g;
    struct json_object *o = NULL;
    struct as_error err = {0};

    group_with(&g, "{\"haproxy\":{\"check\":false,\"server_port\":9000}}");
    assert_int_equal(l_settings(a, "haproxy", &g, &o, &err), 0);
    assert_string_equal(jx_str(o, "socket", ""), "/run/haproxy/admin.sock");
    assert_int_equal(jx_int(o, "server_port", -1), 9000);
    assert_false(jx_bool(o, "check", true));
    assert_null(jx_str(o, "lb_id", NULL));
    json_object_put(o);
    assert_int_equal(l_settings(a, "digitalocean", &g, &o, &err), 0);
    assert_string_equal(jx_str(o, "lb_id", ""), "abc");
    assert_int_equal(jx_int(o, "server_port", -1), 8080);
    assert_null(jx_str(o, "socket", NULL));
    json_object_put(o);
    group_clear(&g);

    group_with(&g, "{\"haproxy\":{\"socket\":\"/tmp/other.sock\"}}");
    assert_int_equal(l_settings(a, "haproxy", &g, &o, &err), -1);
    assert_string_equal(err.code, "setting_not_allowed");
    group_clear(&g);
    group_with(&g, "{\"haproxy\":{\"server_port\":0}}");
    assert_int_equal(l_settings(a, "haproxy", &g, &o, &err), -1);
    assert_string_equal(err.code, "bad_settings");
    group_clear(&g);
    /* no group at all: the parameters alone */
    assert_int_equal(l_settings(a, "haproxy", NULL, &o, &err), 0);
    assert_string_equal(jx_str(o, "check", ""), "on");
    json_object_put(o);
    as_args_free(a);
}

/* What every backend reads from a built settings object. */
static void test_settings_str_int(void **state)
{
    (void)state;
    struct json_object *o = json_tokener_parse(
        "{\"s\": \"x\", \"empty\": \"\", \"n\": 42, \"digits\": \"0042\","
        " \"neg\": \"-1\", \"word\": \"12a\", \"long\": \"1234567890123456789\","
        " \"null\": null, \"yes\": true, \"obj\": {}}");
    assert_non_null(o);
    assert_string_equal(settings_str(o, "s"), "x");
    assert_null(settings_str(o, "empty"));
    assert_null(settings_str(o, "n"));
    assert_null(settings_str(o, "absent"));
    assert_null(settings_str(NULL, "s"));
    assert_int_equal(settings_int(o, "n", 7), 42);
    assert_int_equal(settings_int(o, "digits", 7), 42);
    assert_int_equal(settings_int(o, "absent", 7), 7);
    assert_int_equal(settings_int(NULL, "n", 7), 7);
    /* anything else is the fallback: a sign, a word, 19 digits, null, other types */
    static const char *const other[] = {"neg", "word", "long", "null", "yes", "obj", "s",
                                        "empty"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_int_equal(settings_int(o, other[i], -5), -5);
    json_object_put(o);
}

int main(void)
{
    secret_clear();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_has_its_class),
        cmocka_unit_test(test_operator_and_endpoint_keys_refused),
        cmocka_unit_test(test_issue_cases_refused),
        cmocka_unit_test(test_unknown_names_refused),
        cmocka_unit_test(test_refusal_never_shows_a_value),
        cmocka_unit_test(test_allow_list_exact_values),
        cmocka_unit_test(test_allow_list_malformed),
        cmocka_unit_test(test_group_values_checked),
        cmocka_unit_test(test_compute_merge),
        cmocka_unit_test(test_dns_merge),
        cmocka_unit_test(test_lb_merge),
        cmocka_unit_test(test_settings_str_int),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
