/* test_lb_digitalocean.c - the DigitalOcean load balancer provider
 * (lib/lb/lb_digitalocean.c) against the in-process fake of DO's load balancer
 * endpoints (tests/fakes/fake_do_lb.c), driven through its ops table as
 * lib/lb/lb.c drives it. Retries are proven by counting requests, never by
 * timing. */
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

#include "fake_do_lb.h"
#include "lb_int.h"
#include "log.h"
#include "secret.h"
#include "test_httpd.h"

#define TOKEN "dop_v1_5ecret0123456789abcdef0123456789abcdef"
#define WRONG_TOKEN "dop_v1_wr0ng0123456789abcdef0123456789abcdef"
#define LB_ID "4de7ac8b-495b-4884-9a69-1050c6793cd6"
#define TAGGED_LB "9a0b1c2d-0000-4000-8000-00000000beef"

static const struct lb_ops *ops = &lb_digitalocean_ops;

struct fixture {
    struct fake_dolb *fake;
    struct lb *lb;
};

/* token, api_url, lb_id: NULL leaves the key out. */
static struct json_object *settings(const char *token, const char *url, const char *id)
{
    struct json_object *s = json_object_new_object();
    if (token)
        json_object_object_add(s, "token", json_object_new_string(token));
    if (url)
        json_object_object_add(s, "api_url", json_object_new_string(url));
    if (id)
        json_object_object_add(s, "lb_id", json_object_new_string(id));
    return s;
}

static struct lb *open_with(struct json_object *s, struct as_error *err)
{
    struct lb *lb = ops->open(s, "unused", err);
    json_object_put(s);
    return lb;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct as_error err = {0};
    log_set_level(LOG_ERROR);
    f->fake = fake_dolb_start(TOKEN);
    assert_non_null(f->fake);
    fake_dolb_add_lb(f->fake, LB_ID, NULL);
    fake_dolb_add_lb(f->fake, TAGGED_LB, "web");
    fake_dolb_add_droplet(f->fake, 3164444);
    fake_dolb_add_droplet(f->fake, 3164445);
    f->lb = open_with(settings(TOKEN, fake_dolb_url(f->fake), LB_ID), &err);
    if (!f->lb)
        fail_msg("open: %s: %s", err.code, err.message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ops->close(f->lb);
    fake_dolb_stop(f->fake);
    secret_clear();
    free(f);
    return 0;
}

static struct lb_target target(const char *id)
{
    return (struct lb_target){.name = "web-1", .address = "10.0.0.5", .port = 80,
                              .provider_id = id};
}

static void test_add_list_remove(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_target t = target("3164444");
    struct fake_dolb_stats st;
    struct lb_member *m = NULL, one;
    size_t n = 0;

    assert_int_equal(ops->add(f->lb, &t, &err), 1);
    assert_true(fake_dolb_has(f->fake, LB_ID, 3164444));
    char *body = fake_dolb_last_body(f->fake);
    assert_string_equal(body, "{\"droplet_ids\":[3164444]}");
    free(body);

    assert_int_equal(ops->list(f->lb, &m, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].key, "3164444");
    assert_int_equal(m[0].admin, LB_READY);
    assert_int_equal(m[0].sessions, -1); /* DO does not say */
    free(m);
    assert_int_equal(ops->get(f->lb, "3164444", &one, &err), 1);
    assert_int_equal(ops->get(f->lb, "3164445", &one, &err), 0);

    /* a retry looks, finds it, and sends nothing */
    fake_dolb_stats(f->fake, &st);
    int posts = st.posts;
    assert_int_equal(ops->add(f->lb, &t, &err), 0);
    fake_dolb_stats(f->fake, &st);
    assert_int_equal(st.posts, posts);

    assert_int_equal(ops->remove(f->lb, "3164444", 0, false, &err), 1);
    assert_false(fake_dolb_has(f->fake, LB_ID, 3164444));
    fake_dolb_stats(f->fake, &st);
    assert_int_equal(st.deletes, 1);
    assert_int_equal(ops->remove(f->lb, "3164444", 0, false, &err), 0);
    fake_dolb_stats(f->fake, &st);
    assert_int_equal(st.deletes, 1);
    /* DigitalOcean cannot drain one droplet: lb.c removes at once */
    assert_null(ops->drain);
    assert_null(ops->enable);
    assert_true(ops->by_id);
}

static void test_strangers_listed(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member *m = NULL;
    size_t n = 0;
    fake_dolb_attach(f->fake, LB_ID, 3164445);
    fake_dolb_attach(f->fake, LB_ID, 999);
    assert_int_equal(ops->list(f->lb, &m, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].key, "3164445");
    assert_string_equal(m[1].key, "999");
    free(m);
}

static void test_unknown_lb(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member *m = NULL;
    size_t n = 0;
    struct lb *other = open_with(settings(TOKEN, fake_dolb_url(f->fake),
                                          "00000000-0000-4000-8000-000000000000"), &err);
    assert_non_null(other);
    assert_int_equal(ops->list(other, &m, &n, &err), -1);
    assert_string_equal(err.code, "lb_backend_not_found");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "request_id"));
    struct lb_target t = target("3164444");
    assert_int_equal(ops->add(other, &t, &err), -1);
    assert_string_equal(err.code, "lb_backend_not_found");
    ops->close(other);
}

static void test_unauthorized_scrubbed(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_target t = target("3164444");
    fake_dolb_set_echo_token(f->fake, 1);
    struct lb *bad = open_with(settings(WRONG_TOKEN, fake_dolb_url(f->fake), LB_ID), &err);
    assert_non_null(bad);
    assert_int_equal(ops->add(bad, &t, &err), -1);
    assert_string_equal(err.code, "lb_unauthorized");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "Unable to authenticate you"));
    assert_null(strstr(err.message, WRONG_TOKEN)); /* the server echoed it: scrubbed */
    assert_false(fake_dolb_has(f->fake, LB_ID, 3164444));
    ops->close(bad);
}

static void test_rejected_422(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_target unknown = target("4000000");
    assert_int_equal(ops->add(f->lb, &unknown, &err), -1);
    assert_string_equal(err.code, "lb_rejected");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "does not exist"));

    struct lb *tagged = open_with(settings(TOKEN, fake_dolb_url(f->fake), TAGGED_LB), &err);
    struct lb_target t = target("3164444");
    assert_int_equal(ops->add(tagged, &t, &err), -1);
    assert_string_equal(err.code, "lb_rejected");
    assert_non_null(strstr(err.message, "Droplet tag"));
    assert_int_equal(fake_dolb_count(f->fake, TAGGED_LB), 0);
    ops->close(tagged);
}

static void test_rate_limit_retried(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_target t = target("3164444");
    struct fake_dolb_stats st;

    /* two 429s then through: the add lands, after retries */
    fake_dolb_fail_next(f->fake, 2, 429, 0);
    assert_int_equal(ops->add(f->lb, &t, &err), 1);
    fake_dolb_stats(f->fake, &st);
    assert_int_equal(st.faults, 2);
    assert_true(fake_dolb_has(f->fake, LB_ID, 3164444));

    assert_int_equal(ops->remove(f->lb, "3164444", 0, false, &err), 1);
    fake_dolb_stats(f->fake, &st);
    int before = st.posts;

    /* rate limited for good: the error says so */
    fake_dolb_fail_next(f->fake, 1000, 429, 0);
    assert_int_equal(ops->add(f->lb, &t, &err), -1);
    assert_string_equal(err.code, "lb_rate_limited");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    fake_dolb_fail_next(f->fake, 0, 0, -1);
    fake_dolb_stats(f->fake, &st);
    assert_int_equal(st.posts, before); /* never got past the look */
    assert_false(fake_dolb_has(f->fake, LB_ID, 3164444));
}

static void test_server_error_retried(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member *m = NULL;
    size_t n = 0;
    struct fake_dolb_stats st;
    fake_dolb_fail_next(f->fake, 1, 503, -1);
    assert_int_equal(ops->list(f->lb, &m, &n, &err), 0);
    free(m);
    fake_dolb_stats(f->fake, &st);
    assert_int_equal(st.faults, 1);
    assert_int_equal(st.gets, 2);
}

static void test_settings_refused(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    const char *url = fake_dolb_url(f->fake);
    struct {
        struct json_object *s;
        const char *needle;
    } cases[] = {
        {settings(NULL, url, LB_ID), "token"},
        {settings("dop_v1_abc\r\nX-Evil: 1", url, LB_ID), "token"},
        {settings(TOKEN, url, NULL), "lb_id"},
        {settings(TOKEN, url, "../droplets"), "lb_id"},
        {settings(TOKEN, url, "abc;def"), "lb_id"},
        {settings(TOKEN, "http://api.example.com/v2", LB_ID), "api_url"},
        {settings(TOKEN, "ftp://127.0.0.1/v2", LB_ID), "api_url"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_null(open_with(cases[i].s, &err));
        assert_string_equal(err.code, "bad_settings");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        assert_non_null(strstr(err.message, cases[i].needle));
    }
    struct fake_dolb_stats st;
    fake_dolb_stats(f->fake, &st);
    assert_int_equal(st.requests, 0);
}

static void test_bad_ids_never_sent(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_member m;
    const char *bad[] = {"", "12;3", "0", "12 3", "abc", "1\n2", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct lb_target t = target(bad[i]);
        assert_int_equal(ops->add(f->lb, &t, &err), -1);
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        if (bad[i]) {
            assert_int_equal(ops->get(f->lb, bad[i], &m, &err), -1);
            assert_int_equal(ops->remove(f->lb, bad[i], 0, false, &err), -1);
        }
    }
    struct fake_dolb_stats st;
    fake_dolb_stats(f->fake, &st);
    assert_int_equal(st.requests, 0);
}

static void test_unreachable(void **state)
{
    (void)state;
    struct as_error err = {0};
    struct lb_member *m = NULL;
    size_t n = 0;
    char url[64];
    int fd, port = test_refusing_port(&fd);
    assert_true(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v2", port);
    struct lb *lb = open_with(settings(TOKEN, url, LB_ID), &err);
    assert_non_null(lb);
    assert_int_equal(ops->list(lb, &m, &n, &err), -1);
    assert_string_equal(err.code, "lb_unreachable");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    ops->close(lb);
    close(fd);
}

/* DigitalOcean checks its droplets but reports no verdict per member: an
 * attached droplet is NO_CHECK (nothing to wait for: a rolling refresh's
 * wait would otherwise wait for ever on "active"), one not attached is
 * UNKNOWN, never UP or DOWN. */
static void test_node_health_has_no_verdict(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct lb_target t = target("3164444");
    assert_int_equal(ops->add(f->lb, &t, &err), 1);
    struct lb_ctx c = {.ops = ops, .lb = f->lb};
    struct json_object *recs[2] = {json_object_new_object(), json_object_new_object()};
    json_object_object_add(recs[0], "provider_id", json_object_new_string("3164444"));
    json_object_object_add(recs[1], "provider_id", json_object_new_string("3164445"));
    struct lb_node_health h[2];
    assert_int_equal(lb_node_health(&c, recs, 2, h, &err), 0);
    assert_int_equal(h[0].health, LB_HEALTH_NO_CHECK);
    assert_int_equal(h[1].health, LB_HEALTH_UNKNOWN);
    json_object_put(recs[0]);
    json_object_put(recs[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_list_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strangers_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_lb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unauthorized_scrubbed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_422, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_error_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ids_never_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_health_has_no_verdict, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
