/* test_dns_powerdns.c - the PowerDNS provider (lib/dns/dns_powerdns.c) driven
 * through its ops table against a real pdns_server (tests/support/
 * pdns_server.c), every effect checked with dig; plus the shared naming and
 * address-set rules (lib/dns/dns_name.c, lib/dns/dns_rrset.c) that every provider
 * relies on.
 *
 * One server for the whole program (it takes most of a second to start),
 * one fresh zone per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_int.h"
#include "pdns_server.h"
#include "secret.h"
#include "test_httpd.h"

#define KEY "pdns-k3y-5ecret-0123456789abcdef"
#define WRONG_KEY "pdns-wr0ng-0123456789abcdef"

static const struct dns_ops *ops = &dns_powerdns_ops;

static struct pdns_server *server;

struct fixture {
    char zone[64];
    struct dns *d;
};

static int group_setup(void **state)
{
    (void)state;
    server = pdns_server_start(KEY);
    return server ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    pdns_server_stop(server);
    return 0;
}

static struct json_object *settings(const char *url, const char *key)
{
    struct json_object *s = json_object_new_object();
    if (url)
        json_object_object_add(s, "api_url", json_object_new_string(url));
    if (key)
        json_object_object_add(s, "api_key", json_object_new_string(key));
    return s;
}

static struct dns *open_with(struct json_object *s)
{
    struct as_error err = {0};
    struct dns *d = ops->open(s, &err);
    json_object_put(s);
    if (!d)
        fail_msg("open: %s: %s", err.code, err.message);
    return d;
}

static int setup(void **state)
{
    static int seq;
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->zone, sizeof f->zone, "u%d-%d.test", (int)getpid(), ++seq);
    if (pdns_server_resume(server) < 0 || pdns_server_create_zone(server, f->zone) < 0) {
        free(f);
        return -1;
    }
    f->d = open_with(settings(pdns_server_api_url(server), KEY));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ops->close(f->d);
    pdns_server_resume(server); /* a test that stopped it */
    pdns_server_delete_zone(server, f->zone);
    free(f);
    secret_clear();
    return 0;
}

/* "<label>.<zone>." and "<label>.<zone>" (for dig). */
static void names(const struct fixture *f, const char *label, char *abs, char *plain)
{
    snprintf(plain, DNS_NAME_MAX, "%s.%s", label, f->zone);
    snprintf(abs, DNS_NAME_MAX, "%s.%s.", label, f->zone);
}

static void assert_dig(const char *name, const char *want)
{
    char *got = pdns_dig(server, name);
    if (!got)
        fail_msg("dig %s: no reply", name);
    if (strcmp(got, want) != 0)
        fail_msg("dig %s: got [%s], want [%s]", name, got, want);
    free(got);
}

static struct dns_rrset set_of(long ttl, const char *a, const char *b)
{
    struct dns_rrset s = {0};
    if (a)
        assert_int_equal(dns_rrset_add(&s, a), 0);
    if (b)
        assert_int_equal(dns_rrset_add(&s, b), 0);
    s.ttl = ttl;
    return s;
}

/* ------------------------------------------------------ shared rules -- */

static void test_names_default_template(void **state)
{
    (void)state;
    char out[DNS_NAME_MAX];
    struct as_error err = {0};

    assert_int_equal(dns_record_name(NULL, "web-1", "web", "example.test", out, &err), 0);
    assert_string_equal(out, "web-1.web.example.test.");
    assert_int_equal(dns_record_name("", "web-1", "web", "example.test.", out, &err), 0);
    assert_string_equal(out, "web-1.web.example.test.");
    assert_int_equal(dns_group_name("web", "example.test.", out, &err), 0);
    assert_string_equal(out, "web.example.test.");
}

static void test_names_custom_templates(void **state)
{
    (void)state;
    static const struct {
        const char *tmpl, *want;
    } ok[] = {
        {"{node}.{zone}", "web-1.example.test."},
        {"{group}-{node}.nodes.{zone}", "web-web-1.nodes.example.test."},
        {"Host-{node}.{zone}.", "host-web-1.example.test."},
        {"{node}.example.test", "web-1.example.test."},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char out[DNS_NAME_MAX];
        struct as_error err = {0};
        if (dns_record_name(ok[i].tmpl, "web-1", "web", "example.test", out, &err) != 0)
            fail_msg("%s: %s: %s", ok[i].tmpl, err.code, err.message);
        assert_string_equal(out, ok[i].want);
    }
}

static void test_names_bad_templates_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{group}.{zone}",              /* no {node}: every node one name */
        "{host}.{zone}",               /* unknown placeholder */
        "{node}.other.test",           /* outside the zone */
        "{node}",                      /* outside the zone */
        "{node};rm -rf.{zone}",        /* injection */
        "{node} x.{zone}",             /* space */
        "{node}\n.{zone}",             /* newline */
        "{node}..{zone}",              /* empty label */
        "-{node}.{zone}",              /* label starting with '-' */
        "{node}_x.{zone}",             /* not a host name character */
        "{node}.{node}.{node}.{node}.{node}.{node}.{node}.{node}.{node}.{node}.{node}.{zone}",
    };
    char node[64];
    memset(node, 'n', 30);
    node[30] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[DNS_NAME_MAX];
        struct as_error err = {0};
        if (dns_record_name(bad[i], node, "web", "example.test", out, &err) == 0)
            fail_msg("template [%s] accepted: %s", bad[i], out);
        assert_string_equal(err.code, "invalid_template");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
    /* A node named like its group would take the group's own record. */
    char out[DNS_NAME_MAX];
    struct as_error err = {0};
    assert_int_equal(dns_record_name("{node}.{zone}", "web", "web", "example.test", out, &err),
                     -1);
    assert_string_equal(err.code, "invalid_template");
}

/* The table: "none" is a line of it (and what a group naming no provider
 * gets), keeping no records; an unknown name is refused, naming them all. */
static void test_provider_table(void **state)
{
    (void)state;
    const struct dns_ops *o = NULL;
    struct as_error err = {0};

    assert_ptr_equal(dns_lookup("none"), &dns_none_ops);
    assert_ptr_equal(dns_lookup(NULL), &dns_none_ops);
    assert_null(dns_none_ops.open);
    assert_ptr_equal(dns_lookup("powerdns"), &dns_powerdns_ops);
    assert_ptr_equal(dns_lookup("digitalocean"), &dns_digitalocean_ops);
    assert_null(dns_lookup("route53"));
    assert_null(dns_open("route53", NULL, &o, &err));
    assert_string_equal(err.code, "unknown_provider");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_string_equal(err.message,
                        "no DNS provider named 'route53' (none, powerdns, digitalocean)");
}

static void test_rrset_is_a_sorted_set_of_ipv4(void **state)
{
    (void)state;
    struct dns_rrset s = {0}, t = {0};
    assert_int_equal(dns_rrset_add(&s, "127.0.1.10"), 0);
    assert_int_equal(dns_rrset_add(&s, "127.0.1.9"), 0);
    assert_int_equal(dns_rrset_add(&s, "127.0.1.10"), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.addr[0], "127.0.1.9"); /* numeric order, not text */
    assert_string_equal(s.addr[1], "127.0.1.10");
    static const char *const bad[] = {"", "1.2.3", "256.1.1.1", "::1", "1.2.3.4 ", "a.b.c.d",
                                      "1.2.3.4\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(dns_rrset_add(&s, bad[i]), -1);
    assert_int_equal(s.n, 2);
    assert_int_equal(dns_rrset_add(&t, "127.0.1.10"), 0);
    assert_false(dns_rrset_same(&s, &t));
    assert_int_equal(dns_rrset_add(&t, "127.0.1.9"), 0);
    assert_true(dns_rrset_same(&s, &t));
    dns_rrset_clear(&s);
    dns_rrset_clear(&t);
}

/* -------------------------------------------------------- the provider -- */

static void test_replace_get_remove_seen_by_dig(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char abs[DNS_NAME_MAX], plain[DNS_NAME_MAX];
    struct dns_rrset got = {0}, want = set_of(120, "127.0.1.2", "127.0.1.1");

    names(f, "web", abs, plain);
    assert_int_equal(ops->zone_check(f->d, f->zone, &err), 0);
    assert_int_equal(ops->get(f->d, f->zone, abs, &got, &err), 0);
    assert_int_equal(got.n, 0);
    assert_int_equal(got.ttl, 0);

    assert_int_equal(ops->replace(f->d, f->zone, abs, &want, &err), 0);
    assert_dig(plain, "127.0.1.1,127.0.1.2");
    assert_int_equal(pdns_dig_ttl(server, plain), 120);
    assert_int_equal(ops->get(f->d, f->zone, abs, &got, &err), 0);
    assert_true(dns_rrset_same(&got, &want));
    assert_int_equal(got.ttl, 120);

    /* again: no harm */
    assert_int_equal(ops->replace(f->d, f->zone, abs, &want, &err), 0);
    assert_dig(plain, "127.0.1.1,127.0.1.2");

    assert_int_equal(ops->remove(f->d, f->zone, abs, &err), 0);
    assert_dig(plain, "");
    char st[16];
    assert_int_equal(pdns_dig_status(server, plain, st), 0);
    assert_string_equal(st, "NXDOMAIN");
    assert_int_equal(ops->remove(f->d, f->zone, abs, &err), 0); /* absent: fine */
    dns_rrset_clear(&got);
    dns_rrset_clear(&want);
}

/* A record disabled by hand does not answer: it is not part of the set. */
static void test_disabled_records_are_not_addresses(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char abs[DNS_NAME_MAX], plain[DNS_NAME_MAX], path[128], body[512];
    struct dns_rrset got = {0};

    names(f, "web", abs, plain);
    snprintf(body, sizeof body,
             "{\"rrsets\":[{\"name\":\"%s\",\"type\":\"A\",\"ttl\":60,\"changetype\":"
             "\"REPLACE\",\"records\":[{\"content\":\"127.0.1.1\",\"disabled\":false},"
             "{\"content\":\"127.0.1.2\",\"disabled\":true}]}]}",
             abs);
    snprintf(path, sizeof path, "/zones/%s.", f->zone);
    assert_int_equal(pdns_server_api(server, "PATCH", path, body, NULL), 204);
    assert_dig(plain, "127.0.1.1");
    assert_int_equal(ops->get(f->d, f->zone, abs, &got, &err), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.addr[0], "127.0.1.1");
    dns_rrset_clear(&got);
}

static void test_zone_not_found(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct dns_rrset got = {0}, want = set_of(60, "127.0.1.1", NULL);

    assert_int_equal(ops->zone_check(f->d, "absent.test", &err), -1);
    assert_string_equal(err.code, "dns_zone_not_found");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "absent.test"));
    assert_int_equal(ops->get(f->d, "absent.test", "web.absent.test.", &got, &err), -1);
    assert_string_equal(err.code, "dns_zone_not_found");
    assert_int_equal(ops->replace(f->d, "absent.test", "web.absent.test.", &want, &err), -1);
    assert_string_equal(err.code, "dns_zone_not_found");
    dns_rrset_clear(&want);
}

/* The same 404 from a URL that is not the API is the operator's config. */
static void test_wrong_api_url_is_not_a_missing_zone(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char url[160];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/servers/nosuch",
             pdns_server_api_port(server));
    struct dns *d = open_with(settings(url, KEY));
    assert_int_equal(ops->zone_check(d, f->zone, &err), -1);
    assert_string_equal(err.code, "dns_bad_api_url");
    ops->close(d);
}

static void test_wrong_key_is_unauthorized_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char abs[DNS_NAME_MAX], plain[DNS_NAME_MAX];
    struct dns_rrset want = set_of(60, "127.0.1.1", NULL);

    names(f, "web", abs, plain);
    struct dns *d = open_with(settings(pdns_server_api_url(server), WRONG_KEY));
    assert_int_equal(ops->zone_check(d, f->zone, &err), -1);
    assert_string_equal(err.code, "dns_unauthorized");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_int_equal(ops->replace(d, f->zone, abs, &want, &err), -1);
    assert_string_equal(err.code, "dns_unauthorized");
    assert_null(strstr(err.message, WRONG_KEY));
    assert_null(strstr(err.message, KEY));
    assert_dig(plain, "");
    ops->close(d);
    dns_rrset_clear(&want);
}

static void test_server_down_is_the_http_error(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char abs[DNS_NAME_MAX], plain[DNS_NAME_MAX];
    struct dns_rrset want = set_of(60, "127.0.1.1", NULL);

    names(f, "web", abs, plain);
    pdns_server_halt(server);
    assert_int_equal(ops->replace(f->d, f->zone, abs, &want, &err), -1);
    assert_string_equal(err.code, "http_unreachable");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "powerdns"));
    assert_int_equal(pdns_server_resume(server), 0);
    assert_dig(plain, ""); /* and nothing was half-done meanwhile */
    /* the same session works once the server is back */
    assert_int_equal(ops->replace(f->d, f->zone, abs, &want, &err), 0);
    assert_dig(plain, "127.0.1.1");
    dns_rrset_clear(&want);
}

/* 422 carries PowerDNS's own words: here an A rrset where a CNAME is. */
static void test_rejected_with_powerdns_message(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char abs[DNS_NAME_MAX], plain[DNS_NAME_MAX], path[128], body[512];
    struct dns_rrset want = set_of(60, "127.0.1.1", NULL);

    names(f, "web", abs, plain);
    snprintf(body, sizeof body,
             "{\"rrsets\":[{\"name\":\"%s\",\"type\":\"CNAME\",\"ttl\":60,\"changetype\":"
             "\"REPLACE\",\"records\":[{\"content\":\"elsewhere.%s.\",\"disabled\":false}]}]}",
             abs, f->zone);
    snprintf(path, sizeof path, "/zones/%s.", f->zone);
    assert_int_equal(pdns_server_api(server, "PATCH", path, body, NULL), 204);
    assert_int_equal(ops->replace(f->d, f->zone, abs, &want, &err), -1);
    assert_string_equal(err.code, "dns_rejected");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "Conflicts with pre-existing RRset"));
    dns_rrset_clear(&want);
}

static void test_bad_settings(void **state)
{
    (void)state;
    static const struct {
        const char *url, *key;
    } bad[] = {
        {NULL, NULL},
        {"http://127.0.0.1:8081/api/v1/servers/localhost", ""},
        {"http://127.0.0.1:8081/api/v1/servers/localhost", "two words"},
        {"http://127.0.0.1:8081/api/v1/servers/localhost", "k\r\nX-Evil: 1"},
        {"ftp://127.0.0.1/api", KEY},
        {"http://127.0.0.1:8081/api?x=1", KEY},
        {"http://user@127.0.0.1:8081/api", KEY},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct as_error err = {0};
        struct json_object *s = settings(bad[i].url, bad[i].key);
        struct dns *d = ops->open(s, &err);
        json_object_put(s);
        if (d)
            fail_msg("settings %zu accepted", i);
        assert_string_equal(err.code, "bad_settings");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
}

/* A PowerDNS that answers 503 twice then 204: PATCH REPLACE is idempotent,
 * so unlike most PATCHes it is retried. */
static void test_patch_is_retried_on_503(void **state)
{
    (void)state;
    struct as_error err = {0};
    struct test_httpd *h = test_httpd_start();
    struct dns_rrset want = set_of(60, "127.0.1.1", NULL);
    char url[128];

    assert_non_null(h);
    test_httpd_queue(h, &(struct test_httpd_reply){.status = 503, .repeat = 2});
    test_httpd_queue_simple(h, 204, NULL);
    snprintf(url, sizeof url, "%s/api/v1/servers/localhost", test_httpd_url(h));
    struct dns *d = open_with(settings(url, KEY));
    assert_int_equal(ops->replace(d, "example.test", "web.example.test.", &want, &err), 0);
    assert_int_equal(test_httpd_request_count(h), 3);
    const struct test_httpd_request *r = test_httpd_request_at(h, 2);
    assert_string_equal(r->method, "PATCH");
    assert_string_equal(r->url, "/api/v1/servers/localhost/zones/example.test.");
    assert_string_equal(test_httpd_header(r, "X-API-Key"), KEY);
    struct json_object *body = json_tokener_parse(r->body);
    assert_non_null(body);
    assert_string_equal(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
                        "{\"rrsets\":[{\"name\":\"web.example.test.\",\"type\":\"A\","
                        "\"changetype\":\"REPLACE\",\"ttl\":60,\"records\":[{\"content\":"
                        "\"127.0.1.1\",\"disabled\":false}]}]}");
    json_object_put(body);
    ops->close(d);
    test_httpd_stop(h);
    dns_rrset_clear(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_default_template),
        cmocka_unit_test(test_names_custom_templates),
        cmocka_unit_test(test_names_bad_templates_refused),
        cmocka_unit_test(test_rrset_is_a_sorted_set_of_ipv4),
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test_setup_teardown(test_replace_get_remove_seen_by_dig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_records_are_not_addresses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zone_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_api_url_is_not_a_missing_zone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_is_unauthorized_and_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_down_is_the_http_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_with_powerdns_message, setup, teardown),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_patch_is_retried_on_503),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
