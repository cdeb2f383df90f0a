/* test_dns_digitalocean.c - the DigitalOcean DNS provider
 * (lib/dns/dns_digitalocean.c) through its ops table, against the in-process
 * fake of the domains API (tests/fakes/fake_do_dns.c). DO keeps one record
 * per address, so "replace an rrset" is several requests: these tests count
 * them, check the order that keeps a name answering, and check that any
 * failure part-way is converged from by the next replace. */
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
#include "fake_do_dns.h"
#include "secret.h"
#include "test_httpd.h"

#define TOKEN "dop_v1_d5n0123456789abcdef0123456789abcdef0123456789"
#define WRONG "dop_v1_wr0ng6789abcdef0123456789abcdef0123456789abc"
#define ZONE "example.test"
#define WEB "web.example.test."
#define NODE "web-1.web.example.test."

static const struct dns_ops *ops = &dns_digitalocean_ops;

struct fixture {
    struct fake_do_dns *fake;
    struct dns *d;
};

static struct json_object *settings(const char *url, const char *token)
{
    struct json_object *s = json_object_new_object();
    if (url)
        json_object_object_add(s, "api_url", json_object_new_string(url));
    if (token)
        json_object_object_add(s, "token", json_object_new_string(token));
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
    struct fixture *f = calloc(1, sizeof *f);
    f->fake = fake_do_dns_start(TOKEN);
    if (!f->fake || fake_do_dns_add_domain(f->fake, ZONE) < 0)
        return -1;
    f->d = open_with(settings(fake_do_dns_url(f->fake), TOKEN));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ops->close(f->d);
    fake_do_dns_stop(f->fake);
    free(f);
    secret_clear();
    return 0;
}

static struct fake_do_dns_stats stats(struct fake_do_dns *fake)
{
    struct fake_do_dns_stats s;
    fake_do_dns_stats(fake, &s);
    return s;
}

static void assert_addrs(struct fake_do_dns *fake, const char *name, const char *want)
{
    char *got = fake_do_dns_addresses(fake, ZONE, name);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("records %s: got [%s], want [%s]", name, got, want);
    free(got);
}

static struct dns_rrset set_of(long ttl, const char *a, const char *b, const char *c)
{
    struct dns_rrset s = {0};
    const char *v[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (v[i])
            assert_int_equal(dns_rrset_add(&s, v[i]), 0);
    s.ttl = ttl;
    return s;
}

static void replace_ok(struct fixture *f, const char *name, struct dns_rrset *want)
{
    struct as_error err = {0};
    if (ops->replace(f->d, ZONE, name, want, &err) != 0)
        fail_msg("replace %s: %s: %s", name, err.code, err.message);
}

static void test_replace_creates_one_record_per_address(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct dns_rrset want = set_of(60, "127.0.1.1", "127.0.1.2", NULL), got = {0};

    assert_int_equal(ops->zone_check(f->d, ZONE, &err), 0);
    assert_int_equal(ops->get(f->d, ZONE, WEB, &got, &err), 0);
    assert_int_equal(got.n, 0);
    replace_ok(f, WEB, &want);
    assert_addrs(f->fake, "web", "127.0.1.1,127.0.1.2");
    assert_int_equal(fake_do_dns_ttl(f->fake, ZONE, "web"), 60);
    assert_int_equal(stats(f->fake).creates, 2);
    assert_int_equal(ops->get(f->d, ZONE, WEB, &got, &err), 0);
    assert_true(dns_rrset_same(&got, &want));
    assert_int_equal(got.ttl, 60);
    /* the SOA and NS records of the domain are untouched */
    assert_int_equal(fake_do_dns_total(f->fake, ZONE), 4 + 2);
    dns_rrset_clear(&want);
    dns_rrset_clear(&got);
}

static void test_replace_again_sends_no_write(void **state)
{
    struct fixture *f = *state;
    struct dns_rrset want = set_of(60, "127.0.1.1", "127.0.1.2", NULL);

    replace_ok(f, WEB, &want);
    fake_do_dns_reset_stats(f->fake);
    replace_ok(f, WEB, &want);
    struct fake_do_dns_stats s = stats(f->fake);
    assert_int_equal(s.creates + s.updates + s.deletes, 0);
    assert_int_equal(s.lists, 1);
    assert_int_equal(fake_do_dns_count(f->fake, ZONE, "web"), 2);
    dns_rrset_clear(&want);
}

static void test_replace_changes_only_what_differs(void **state)
{
    struct fixture *f = *state;
    struct dns_rrset a = set_of(60, "127.0.1.1", "127.0.1.2", NULL);
    struct dns_rrset b = set_of(60, "127.0.1.2", "127.0.1.3", NULL);
    struct dns_rrset c = set_of(300, "127.0.1.2", "127.0.1.3", NULL);

    replace_ok(f, WEB, &a);
    fake_do_dns_reset_stats(f->fake);
    replace_ok(f, WEB, &b);
    struct fake_do_dns_stats s = stats(f->fake);
    assert_int_equal(s.creates, 1);
    assert_int_equal(s.deletes, 1);
    assert_int_equal(s.updates, 0);
    assert_addrs(f->fake, "web", "127.0.1.2,127.0.1.3");

    fake_do_dns_reset_stats(f->fake);
    replace_ok(f, WEB, &c); /* TTL only: updated in place */
    s = stats(f->fake);
    assert_int_equal(s.updates, 2);
    assert_int_equal(s.creates + s.deletes, 0);
    assert_int_equal(fake_do_dns_ttl(f->fake, ZONE, "web"), 300);
    dns_rrset_clear(&a);
    dns_rrset_clear(&b);
    dns_rrset_clear(&c);
}

/* Records made by hand: a repeat of one address and mixed TTLs are evened
 * out; another name's records are never touched. */
static void test_repeats_and_other_names(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct dns_rrset got = {0}, want = set_of(60, "127.0.1.1", NULL, NULL);

    fake_do_dns_add_record(f->fake, ZONE, "A", "web", "127.0.1.1", 60);
    fake_do_dns_add_record(f->fake, ZONE, "A", "web", "127.0.1.1", 120);
    fake_do_dns_add_record(f->fake, ZONE, "A", "web-1.web", "127.0.9.9", 60);
    fake_do_dns_add_record(f->fake, ZONE, "A", "www", "127.0.9.8", 60);
    assert_int_equal(ops->get(f->d, ZONE, WEB, &got, &err), 0);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.ttl, -1); /* they disagree */
    replace_ok(f, WEB, &want);
    assert_int_equal(fake_do_dns_count(f->fake, ZONE, "web"), 1);
    assert_int_equal(fake_do_dns_ttl(f->fake, ZONE, "web"), 60);
    assert_addrs(f->fake, "web-1.web", "127.0.9.9");
    assert_addrs(f->fake, "www", "127.0.9.8");

    assert_int_equal(ops->remove(f->d, ZONE, WEB, &err), 0);
    assert_addrs(f->fake, "web", "");
    assert_addrs(f->fake, "web-1.web", "127.0.9.9");
    assert_int_equal(ops->remove(f->d, ZONE, WEB, &err), 0); /* absent: fine */
    dns_rrset_clear(&got);
    dns_rrset_clear(&want);
}

static void test_get_follows_pages(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct dns_rrset got = {0};
    char ip[32];

    fake_do_dns_set_max_per_page(f->fake, 2);
    for (int i = 1; i <= 5; i++) {
        snprintf(ip, sizeof ip, "127.0.2.%d", i);
        fake_do_dns_add_record(f->fake, ZONE, "A", "web", ip, 60);
        fake_do_dns_add_record(f->fake, ZONE, "A", "other", ip, 60);
    }
    assert_int_equal(ops->get(f->d, ZONE, WEB, &got, &err), 0);
    assert_int_equal(got.n, 5);
    assert_int_equal(stats(f->fake).lists, 3);
    dns_rrset_clear(&got);
}

static void test_unknown_domain(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct dns_rrset got = {0}, want = set_of(60, "127.0.1.1", NULL, NULL);

    assert_int_equal(ops->zone_check(f->d, "absent.test", &err), -1);
    assert_string_equal(err.code, "dns_zone_not_found");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_int_equal(ops->get(f->d, "absent.test", "web.absent.test.", &got, &err), -1);
    assert_string_equal(err.code, "dns_zone_not_found");
    assert_int_equal(ops->replace(f->d, "absent.test", "web.absent.test.", &want, &err), -1);
    assert_string_equal(err.code, "dns_zone_not_found");
    dns_rrset_clear(&want);
}

static void test_unauthorized_never_shows_token(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};

    fake_do_dns_set_echo_token(f->fake, 1);
    struct dns *d = open_with(settings(fake_do_dns_url(f->fake), WRONG));
    assert_int_equal(ops->zone_check(d, ZONE, &err), -1);
    assert_string_equal(err.code, "dns_unauthorized");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_null(strstr(err.message, WRONG));
    assert_null(strstr(err.message, TOKEN));
    assert_int_equal(stats(f->fake).unauthorized, 1);
    char *auth = fake_do_dns_last_auth(f->fake); /* it did send the token it was given */
    assert_string_equal(auth, "Bearer " WRONG);
    free(auth);
    ops->close(d);
}

static void test_429_is_retried_after_retry_after(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct dns_rrset got = {0}, want = set_of(60, "127.0.1.1", NULL, NULL);

    fake_do_dns_fail_next(f->fake, 1, 429, 0);
    assert_int_equal(ops->get(f->d, ZONE, WEB, &got, &err), 0);
    assert_int_equal(stats(f->fake).faults, 1);
    /* A POST refused with 429 was not carried out: sent again. */
    fake_do_dns_reset_stats(f->fake);
    fake_do_dns_fail_method(f->fake, "POST", 0, 1, 429);
    replace_ok(f, WEB, &want);
    struct fake_do_dns_stats s = stats(f->fake);
    assert_int_equal(s.faults, 1);
    assert_int_equal(s.creates, 1); /* the fault counted no create */
    assert_int_equal(fake_do_dns_count(f->fake, ZONE, "web"), 1);
    dns_rrset_clear(&got);
    dns_rrset_clear(&want);
}

static void test_422_carries_do_message(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct dns_rrset want = set_of(10, "127.0.1.1", NULL, NULL); /* DO's floor is 30 */

    assert_int_equal(ops->replace(f->d, ZONE, WEB, &want, &err), -1);
    assert_string_equal(err.code, "dns_rejected");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "Ttl must be greater than or equal to 30"));
    assert_non_null(strstr(err.message, "request_id"));
    assert_int_equal(fake_do_dns_count(f->fake, ZONE, "web"), 0);
    dns_rrset_clear(&want);
}

/* A DELETE failing part-way leaves a mix; the next replace converges. */
static void test_failure_part_way_then_converges(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct dns_rrset a = set_of(60, "127.0.1.1", "127.0.1.2", NULL);
    struct dns_rrset b = set_of(60, "127.0.1.3", NULL, NULL);

    replace_ok(f, WEB, &a);
    /* the second DELETE fails, retries included (http.c retries a 500) */
    fake_do_dns_fail_method(f->fake, "DELETE", 1, 100, 500);
    assert_int_equal(ops->replace(f->d, ZONE, WEB, &b, &err), -1);
    assert_string_equal(err.code, "dns_error");
    fake_do_dns_fail_method(f->fake, "DELETE", 0, 0, 0);
    /* the addition came first, so the name never stopped answering */
    assert_addrs(f->fake, "web", "127.0.1.2,127.0.1.3");
    replace_ok(f, WEB, &b);
    assert_addrs(f->fake, "web", "127.0.1.3");
    dns_rrset_clear(&a);
    dns_rrset_clear(&b);
}

static void test_server_down(void **state)
{
    (void)state;
    struct as_error err = {0};
    struct dns_rrset want = set_of(60, "127.0.1.1", NULL, NULL);
    char url[64];
    int fd;
    int port = test_refusing_port(&fd);

    assert_true(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v2", port);
    struct dns *d = open_with(settings(url, TOKEN));
    assert_int_equal(ops->zone_check(d, ZONE, &err), -1);
    assert_string_equal(err.code, "http_unreachable");
    assert_int_equal(ops->replace(d, ZONE, WEB, &want, &err), -1);
    assert_string_equal(err.code, "http_unreachable");
    ops->close(d);
    close(fd);
    dns_rrset_clear(&want);
}

/* A 404 that is not DO's JSON (a proxy, a wrong path) is not "no domain". */
static void test_foreign_404_is_bad_api_url(void **state)
{
    (void)state;
    struct as_error err = {0};
    struct test_httpd *h = test_httpd_start();
    char url[128];

    assert_non_null(h);
    test_httpd_queue(h, &(struct test_httpd_reply){.status = 404, .body = "<h1>Not Found</h1>",
                                                   .content_type = "text/html"});
    snprintf(url, sizeof url, "%s/v3", test_httpd_url(h));
    struct dns *d = open_with(settings(url, TOKEN));
    assert_int_equal(ops->zone_check(d, ZONE, &err), -1);
    assert_string_equal(err.code, "dns_bad_api_url");
    const struct test_httpd_request *r = test_httpd_request_at(h, 0);
    assert_string_equal(r->url, "/v3/domains/" ZONE);
    assert_string_equal(test_httpd_header(r, "Authorization"), "Bearer " TOKEN);
    ops->close(d);
    test_httpd_stop(h);
}

static void test_bad_settings(void **state)
{
    (void)state;
    static const struct {
        const char *url, *token;
    } bad[] = {
        {NULL, NULL},
        {NULL, ""},
        {NULL, "has space"},
        {"http://api.digitalocean.com/v2", TOKEN}, /* the token in clear */
        {"https://api.digitalocean.com/v2?x=1", TOKEN},
        {"gopher://127.0.0.1/v2", TOKEN},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct as_error err = {0};
        struct json_object *s = settings(bad[i].url, bad[i].token);
        struct dns *d = ops->open(s, &err);
        json_object_put(s);
        if (d)
            fail_msg("settings %zu accepted", i);
        assert_string_equal(err.code, "bad_settings");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replace_creates_one_record_per_address, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replace_again_sends_no_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_changes_only_what_differs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_repeats_and_other_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_follows_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unauthorized_never_shows_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_is_retried_after_retry_after, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_422_carries_do_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_part_way_then_converges, setup, teardown),
        cmocka_unit_test(test_server_down),
        cmocka_unit_test(test_foreign_404_is_bad_api_url),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
