/* test_compute_digitalocean.c - the DigitalOcean provider
 * (lib/compute/compute_digitalocean.c) against the in-process fake of the droplet
 * and action endpoints (tests/fakes/fake_digitalocean.c).
 *
 * The provider is driven through its ops table, as nodes.c drives it. No
 * test depends on timing: droplets change state on the fake's count of
 * fetches, retries are proven by counting requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute_int.h"
#include "fake_digitalocean.h"
#include "log.h"
#include "secret.h"
#include "test_httpd.h"

#define TOKEN "dop_v1_5ecret0123456789abcdef0123456789abcdef"
#define WRONG_TOKEN "dop_v1_wr0ng0123456789abcdef0123456789abcdef"

/* The provider itself (compute_int.h), not through compute.c's table. */
static const struct compute_ops *ops = &compute_digitalocean_ops;

struct fixture {
    struct fake_do *fake;
    struct compute_be *c;
};

/* Settings for the fake: token and api_url, then key/value pairs (NULL
 * value: leave the key out), NULL-terminated. */
static struct json_object *settings(struct fake_do *fake, const char *token, ...)
{
    struct json_object *s = json_object_new_object();
    va_list ap;

    if (token)
        json_object_object_add(s, "token", json_object_new_string(token));
    json_object_object_add(s, "api_url", json_object_new_string(fake_do_url(fake)));
    va_start(ap, token);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        if (v)
            json_object_object_add(s, k, json_object_new_string(v));
    }
    va_end(ap);
    return s;
}

static struct compute_be *open_with(struct json_object *s)
{
    struct as_error err = {0};
    struct compute_be *c = ops->open(s, &err);
    json_object_put(s);
    if (!c)
        fail_msg("open: %s: %s", err.code, err.message);
    return c;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fake = fake_do_start(TOKEN);
    assert_non_null(f->fake);
    f->c = open_with(settings(f->fake, TOKEN, NULL));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ops->close(f->c);
    fake_do_stop(f->fake);
    free(f);
    secret_clear();
    return 0;
}

static struct fake_do_stats stats(struct fake_do *fake)
{
    struct fake_do_stats s;
    fake_do_stats(fake, &s);
    return s;
}

/* Compare a malloc'd string from the fake and free it. */
static void assert_owned_str(char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static const struct machine_spec web_spec = {
    .group = "web", .name = "web-1", .flavor = "s-1vcpu-2gb", .image = "ubuntu-24-04-x64",
};

static void create_ok(struct compute_be *c, const struct machine_spec *spec, struct machine *m)
{
    struct as_error err = {0};
    if (ops->create(c, spec, m, &err) != 0)
        fail_msg("create %s: %s: %s", spec->name, err.code, err.message);
}

static void get_ok(struct compute_be *c, const char *id, struct machine *m)
{
    struct as_error err = {0};
    if (ops->get(c, id, m, &err) != 0)
        fail_msg("get %s: %s: %s", id, err.code, err.message);
}

/* Poll until the state is reached, at most `polls` times; the fake moves on
 * fetch counts, so no sleeping. */
static void wait_state(struct compute_be *c, const char *id, enum machine_state want, int polls,
                       struct machine *m)
{
    for (int i = 0; i < polls; i++) {
        get_ok(c, id, m);
        if (m->state == want)
            return;
    }
    fail_msg("droplet %s never reached state %d (last %d)", id, (int)want, (int)m->state);
}

static long long num(const char *id) { return strtoll(id, NULL, 10); }

/* The fake's view of a droplet as a parsed object (caller puts it). */
static struct json_object *fake_droplet(struct fake_do *fake, const char *id)
{
    char *text = fake_do_droplet_json(fake, num(id));
    assert_non_null(text);
    struct json_object *o = json_tokener_parse(text);
    free(text);
    assert_non_null(o);
    return o;
}

/* ----------------------------------------------------------- settings -- */

static void test_missing_token_is_bad_settings(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};

    struct json_object *s = settings(f->fake, NULL, "region", "nyc3", NULL);
    assert_null(ops->open(s, &err));
    json_object_put(s);
    assert_string_equal(err.code, "bad_settings");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "'token'"));

    s = settings(f->fake, "", NULL); /* empty counts as missing */
    memset(&err, 0, sizeof err);
    assert_null(ops->open(s, &err));
    json_object_put(s);
    assert_string_equal(err.code, "bad_settings");
    assert_int_equal(stats(f->fake).requests, 0);
}

static void test_bad_settings_name_key_not_value(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};

    struct json_object *s = settings(f->fake, "dop_v1_zzqq\nx", NULL);
    assert_null(ops->open(s, &err));
    json_object_put(s);
    assert_string_equal(err.code, "bad_settings");
    assert_non_null(strstr(err.message, "'token'"));
    assert_null(strstr(err.message, "zzqq"));

    s = settings(f->fake, TOKEN, "address_type", "floating", NULL);
    assert_null(ops->open(s, &err));
    json_object_put(s);
    assert_string_equal(err.code, "bad_settings");
    assert_non_null(strstr(err.message, "address_type"));

    /* Plain http carries the token in clear: loopback only. */
    s = json_object_new_object();
    json_object_object_add(s, "token", json_object_new_string(TOKEN));
    json_object_object_add(s, "api_url", json_object_new_string("http://api.example.com/v2"));
    assert_null(ops->open(s, &err));
    json_object_put(s);
    assert_string_equal(err.code, "bad_settings");
    assert_non_null(strstr(err.message, "api_url"));
    assert_null(strstr(err.message, TOKEN));
}

/* Opening does no network I/O: nothing listens on port 1. */
static void test_open_is_lazy(void **state)
{
    struct fixture *f = *state;
    struct json_object *s = json_object_new_object();
    json_object_object_add(s, "token", json_object_new_string(TOKEN));
    json_object_object_add(s, "api_url", json_object_new_string("http://127.0.0.1:1/v2/"));
    ops->close(open_with(s));
    assert_int_equal(stats(f->fake).requests, 0);
    assert_int_equal(ops->poll_ms, 3000);
    assert_int_equal(ops->poll_first_ms, 1500); /* a rate-limited API: not sooner */
    assert_string_equal(ops->name, "digitalocean");
}

/* ------------------------------------------------------------ lifecycle -- */

static void test_create_building_then_active_private(void **state)
{
    struct fixture *f = *state;
    struct machine m;
    struct machine_spec spec = web_spec;
    spec.user_data = "#cloud-config\nruncmd:\n  - [sh, -c, 'echo \"hi\" > /tmp/x']\n";
    spec.key_pair = "3b:16:e4:bf:8b:00:8b:b8:59:8c:a9:d3:f0:19:fa:45";
    spec.network = "760e09ef-dc84-11e8-981e-3cfdfeaae000";

    create_ok(f->c, &spec, &m);
    assert_int_equal(m.state, MACHINE_BUILDING);
    assert_true(num(m.id) > 0);
    assert_string_equal(m.name, "web-1");
    assert_string_equal(m.group, "web");
    assert_string_equal(m.address, "");
    assert_true(m.created_at > 0);
    assert_int_equal(stats(f->fake).creates, 1);
    assert_owned_str(fake_do_last_header(f->fake, "Authorization"), "Bearer " TOKEN);

    /* What DO was asked for: the spec, mapped field by field. */
    char *body = fake_do_last_create_body(f->fake);
    struct json_object *b = json_tokener_parse(body), *v;
    free(body);
    assert_non_null(b);
    assert_string_equal(json_object_get_string(json_object_object_get(b, "name")), "web-1");
    assert_string_equal(json_object_get_string(json_object_object_get(b, "region")), "nyc3");
    assert_string_equal(json_object_get_string(json_object_object_get(b, "size")),
                        "s-1vcpu-2gb");
    assert_string_equal(json_object_get_string(json_object_object_get(b, "image")),
                        "ubuntu-24-04-x64");
    assert_string_equal(json_object_get_string(json_object_object_get(b, "vpc_uuid")),
                        spec.network);
    v = json_object_object_get(b, "ssh_keys");
    assert_int_equal(json_object_array_length(v), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
                        spec.key_pair);
    v = json_object_object_get(b, "tags");
    assert_int_equal(json_object_array_length(v), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
                        "autoscale-web");
    json_object_put(b);

    /* The droplet as DO keeps it: named, tagged, user_data byte for byte. */
    struct json_object *d = fake_droplet(f->fake, m.id);
    assert_string_equal(json_object_get_string(json_object_object_get(d, "name")), "web-1");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(
                            json_object_object_get(d, "tags"), 0)),
                        "autoscale-web");
    assert_string_equal(json_object_get_string(json_object_object_get(d, "user_data")),
                        spec.user_data);
    json_object_put(d);

    /* new for two fetches (the fake's default), then active. */
    struct machine g;
    get_ok(f->c, m.id, &g);
    assert_int_equal(g.state, MACHINE_BUILDING);
    assert_string_equal(g.id, m.id);
    wait_state(f->c, m.id, MACHINE_ACTIVE, 5, &g);
    assert_string_equal(g.name, "web-1");
    assert_string_equal(g.group, "web");
    assert_true(strncmp(g.address, "10.", 3) == 0);
    assert_int_equal(g.port, 0);
    assert_true(stats(f->fake).actions >= 1); /* the create action was looked at */
}

static void test_address_type_public(void **state)
{
    struct fixture *f = *state;
    struct compute_be *c = open_with(settings(f->fake, TOKEN, "address_type", "public", NULL));
    struct machine m, g;

    fake_do_set_active_after(f->fake, 0);
    create_ok(c, &web_spec, &m);
    wait_state(c, m.id, MACHINE_ACTIVE, 2, &g);
    assert_true(strncmp(g.address, "203.0.113.", 10) == 0);
    ops->close(c);
}

/* A droplet without a private address is reached on its public one. */
static void test_private_falls_back_to_public(void **state)
{
    struct fixture *f = *state;
    struct machine m, g;

    fake_do_set_active_after(f->fake, 0);
    fake_do_set_private_network(f->fake, 0);
    create_ok(f->c, &web_spec, &m);
    wait_state(f->c, m.id, MACHINE_ACTIVE, 2, &g);
    assert_true(strncmp(g.address, "203.0.113.", 10) == 0);
}

/* Digits are DO's numeric ids and go as JSON numbers; a region setting is
 * used; defaults fill what the spec leaves out. */
static void test_numeric_image_and_key_region_defaults(void **state)
{
    struct fixture *f = *state;
    struct compute_be *c = open_with(settings(f->fake, TOKEN, "region", "ams3", NULL));
    struct machine_spec spec = {.group = "web", .name = "web-2", .image = "123456789",
                                .key_pair = "512189"};
    struct machine m;

    create_ok(c, &spec, &m);
    char *body = fake_do_last_create_body(f->fake);
    struct json_object *b = json_tokener_parse(body), *v;
    free(body);
    v = json_object_object_get(b, "image");
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), 123456789);
    v = json_object_array_get_idx(json_object_object_get(b, "ssh_keys"), 0);
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), 512189);
    assert_string_equal(json_object_get_string(json_object_object_get(b, "region")), "ams3");
    assert_string_equal(json_object_get_string(json_object_object_get(b, "size")),
                        "s-1vcpu-1gb");
    assert_null(json_object_object_get(b, "user_data"));
    assert_null(json_object_object_get(b, "vpc_uuid"));
    json_object_put(b);
    ops->close(c);
}

static void test_errored_create_action_is_error(void **state)
{
    struct fixture *f = *state;
    struct machine m, g;

    fake_do_fail_create_next(f->fake, 1);
    create_ok(f->c, &web_spec, &m);
    assert_int_equal(m.state, MACHINE_BUILDING);
    get_ok(f->c, m.id, &g);
    assert_int_equal(g.state, MACHINE_ERROR);
    assert_non_null(strstr(g.detail, "errored"));
    /* It stays so without asking DO about the action again. */
    int actions = stats(f->fake).actions;
    get_ok(f->c, m.id, &g);
    assert_int_equal(g.state, MACHINE_ERROR);
    assert_int_equal(stats(f->fake).actions, actions);
}

/* "off" is a parked droplet (power_off: the warm pool), STOPPED; archive
 * is unusable for good. */
static void test_off_is_stopped_archive_is_error(void **state)
{
    struct fixture *f = *state;
    const char *tags[] = {"autoscale-web", NULL};
    struct machine g;
    char id[32];

    snprintf(id, sizeof id, "%lld", fake_do_add_droplet(f->fake, "web-9", tags, "off"));
    get_ok(f->c, id, &g);
    assert_int_equal(g.state, MACHINE_STOPPED);
    assert_non_null(strstr(g.detail, "off"));
    fake_do_set_status(f->fake, num(id), "archive");
    get_ok(f->c, id, &g);
    assert_int_equal(g.state, MACHINE_ERROR);
    assert_non_null(strstr(g.detail, "archive"));
}

/* Found by tests/fuzz/fuzz_http: a droplet's name and an unknown status
 * went into the machine (node records, the action's JSON) with control
 * characters and bytes of other encodings. */
static void test_regression_name_and_status_clean_utf8(void **state)
{
    struct fixture *f = *state;
    const char *tags[] = {"autoscale-web", NULL};
    struct machine g;
    char id[32];

    snprintf(id, sizeof id, "%lld",
             fake_do_add_droplet(f->fake, "web-\xe3x\x1b", tags, "odd\nstate\xff"));
    get_ok(f->c, id, &g);
    assert_string_equal(g.name, "web-?x ");
    assert_int_equal(g.state, MACHINE_ERROR);
    assert_string_equal(g.detail, "droplet has unknown status 'odd state?'");
}

static void test_destroy_then_gone_and_absent_ok(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m, g;

    fake_do_set_active_after(f->fake, 0);
    create_ok(f->c, &web_spec, &m);
    wait_state(f->c, m.id, MACHINE_ACTIVE, 2, &g);

    assert_int_equal(ops->destroy(f->c, m.id, &err), 0);
    assert_owned_str(fake_do_last_method(f->fake), "DELETE");
    get_ok(f->c, m.id, &g); /* the fake answers once more after a delete */
    assert_int_equal(g.state, MACHINE_DELETING);
    get_ok(f->c, m.id, &g);
    assert_int_equal(g.state, MACHINE_GONE);
    assert_string_equal(g.id, m.id);
    assert_int_equal(fake_do_droplet_count(f->fake), 0);

    /* Gone, and never there: both fine. */
    assert_int_equal(ops->destroy(f->c, m.id, &err), 0);
    assert_int_equal(ops->destroy(f->c, "999", &err), 0);
    get_ok(f->c, "999", &g);
    assert_int_equal(g.state, MACHINE_GONE);
}

static void test_bad_ids_never_reach_the_api(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine g;

    assert_int_equal(ops->get(f->c, "../account", &g, &err), -1);
    assert_string_equal(err.code, "invalid_id");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_int_equal(ops->destroy(f->c, "", &err), -1);
    assert_string_equal(err.code, "invalid_id");
    assert_int_equal(stats(f->fake).requests, 0);
}

/* --------------------------------------------------------- find / list -- */

static void test_find_by_name_within_group(void **state)
{
    struct fixture *f = *state;
    const char *web[] = {"autoscale-web", "env:prod", NULL};
    const char *api[] = {"autoscale-api", NULL};
    struct as_error err = {0};
    struct machine m;

    long long other = fake_do_add_droplet(f->fake, "node-1", api, "active");
    long long untagged = fake_do_add_droplet(f->fake, "node-1", NULL, "active");
    long long mine = fake_do_add_droplet(f->fake, "node-1", web, "new");
    fake_do_add_droplet(f->fake, "node-2", web, "active");
    assert_true(other > 0 && untagged > 0);

    assert_int_equal(ops->find(f->c, "web", "node-1", &m, &err), 1);
    assert_int_equal(num(m.id), mine);
    assert_string_equal(m.group, "web");
    assert_int_equal(m.state, MACHINE_BUILDING);
    assert_owned_str(fake_do_last_query(f->fake, "tag_name"), "autoscale-web");

    assert_int_equal(ops->find(f->c, "api", "node-1", &m, &err), 1);
    assert_int_equal(num(m.id), other);
    assert_int_equal(ops->find(f->c, "api", "node-2", &m, &err), 0);
    assert_int_equal(ops->find(f->c, "db", "node-1", &m, &err), 0);
}

static void assert_list_is(struct compute_be *c, const char *group, const long long *want,
                           size_t nwant)
{
    struct as_error err = {0};
    struct machine *v = NULL;
    size_t n = 0;

    if (ops->list(c, group, &v, &n, &err) != 0)
        fail_msg("list %s: %s: %s", group, err.code, err.message);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++) { /* both in id order */
        assert_int_equal(num(v[i].id), want[i]);
        assert_string_equal(v[i].group, group);
    }
    free(v);
}

static void test_list_250_across_pages(void **state)
{
    struct fixture *f = *state;
    const char *web[] = {"autoscale-web", NULL}, *api[] = {"autoscale-api", NULL};
    long long want[250];
    size_t k = 0;

    /* Interleaved with another group's droplets and untagged ones. */
    for (int i = 0; i < 250; i++) {
        char name[32];
        snprintf(name, sizeof name, "web-%d", i);
        want[k++] = fake_do_add_droplet(f->fake, name, web, i % 3 ? "active" : "new");
        if (i % 10 == 0) {
            fake_do_add_droplet(f->fake, name, api, "active");
            fake_do_add_droplet(f->fake, name, NULL, "active");
        }
    }
    assert_list_is(f->c, "web", want, k);
    assert_int_equal(stats(f->fake).lists, 2); /* 200 + 50 */
    assert_owned_str(fake_do_last_query(f->fake, "per_page"), "200");
    assert_owned_str(fake_do_last_query(f->fake, "page"), "2");

    /* A server that pages smaller than asked: the links are followed. */
    fake_do_reset_stats(f->fake);
    fake_do_set_max_per_page(f->fake, 60);
    assert_list_is(f->c, "web", want, k);
    assert_int_equal(stats(f->fake).lists, 5);

    assert_list_is(f->c, "db", NULL, 0);
}

/* DO writes its own host into links.pages.next; the token must go only to
 * api_url, which still gets every page. */
static void test_list_links_to_another_host(void **state)
{
    struct fixture *f = *state;
    const char *web[] = {"autoscale-web", NULL};
    long long want[5];

    for (int i = 0; i < 5; i++)
        want[i] = fake_do_add_droplet(f->fake, "web-x", web, "active");
    fake_do_set_max_per_page(f->fake, 2);
    fake_do_set_link_base(f->fake, "https://api.digitalocean.com/v2");
    assert_list_is(f->c, "web", want, 5);
    assert_int_equal(stats(f->fake).lists, 3);
}

/* -------------------------------------------------------------- errors -- */

static void test_unauthorized_never_shows_token(void **state)
{
    struct fixture *f = *state;
    struct compute_be *c = open_with(settings(f->fake, WRONG_TOKEN, NULL));
    struct as_error err = {0};
    struct machine m;

    assert_int_equal(ops->create(c, &web_spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_unauthorized");
    assert_non_null(strstr(err.message, "Unable to authenticate you"));
    assert_non_null(strstr(err.message, "request_id"));
    assert_null(strstr(err.message, WRONG_TOKEN));
    assert_null(strstr(err.message, TOKEN));

    /* Even when the server echoes the credential it refused. */
    fake_do_set_echo_token(f->fake, 1);
    memset(&err, 0, sizeof err);
    assert_int_equal(ops->get(c, "12345", &m, &err), -1);
    assert_string_equal(err.code, "provider_unauthorized");
    assert_null(strstr(err.message, WRONG_TOKEN));
    assert_null(strstr(err.message, "dop_v1_"));
    assert_int_equal(stats(f->fake).unauthorized, 2);
    ops->close(c);
}

static void test_unknown_size_rejected_with_do_message(void **state)
{
    struct fixture *f = *state;
    struct machine_spec spec = web_spec;
    struct as_error err = {0};
    struct machine m;

    spec.flavor = "s-64vcpu-1tb";
    assert_int_equal(ops->create(f->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_rejected");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(
        strstr(err.message, "You specified an invalid size for Droplet creation."));
    assert_non_null(strstr(err.message, "HTTP 422"));
    assert_non_null(strstr(err.message, "request_id f4ce"));
    assert_null(strchr(err.message, '\n'));
    assert_int_equal(stats(f->fake).creates, 1);
    assert_int_equal(fake_do_droplet_count(f->fake), 0);
}

static void test_forbidden(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;

    fake_do_fail_next(f->fake, 1, 403, -1);
    assert_int_equal(ops->get(f->c, "12345", &m, &err), -1);
    assert_string_equal(err.code, "provider_forbidden");
    assert_int_equal(stats(f->fake).gets, 1); /* a 403 is not retried */
}

static void test_429_with_retry_after_on_get_is_retried(void **state)
{
    struct fixture *f = *state;
    const char *web[] = {"autoscale-web", NULL};
    struct machine g;
    char id[32];

    snprintf(id, sizeof id, "%lld", fake_do_add_droplet(f->fake, "web-1", web, "active"));
    fake_do_fail_next(f->fake, 1, 429, 1);
    get_ok(f->c, id, &g);
    assert_int_equal(g.state, MACHINE_ACTIVE);
    assert_int_equal(stats(f->fake).gets, 2);
    assert_int_equal(stats(f->fake).faults, 1);
}

static void test_429_on_post_is_over_limit(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;

    fake_do_fail_next(f->fake, 1, 429, 0);
    assert_int_equal(ops->create(f->c, &web_spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_over_limit");
    assert_non_null(strstr(err.message, "API Rate limit exceeded."));
    assert_int_equal(stats(f->fake).creates, 1);
}

static void test_500_on_post_not_retried(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;

    fake_do_fail_next(f->fake, 1, 500, -1);
    assert_int_equal(ops->create(f->c, &web_spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_error");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "Unexpected server-side error"));
    assert_int_equal(stats(f->fake).creates, 1);
    assert_int_equal(fake_do_droplet_count(f->fake), 0);
}

/* The ambiguous failure: DO made the droplet, then answered 500. The create
 * is not repeated; find() is how the caller learns what happened. */
static void test_500_after_create_then_find(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct machine m;

    fake_do_fail_next_after(f->fake, 1, 500);
    assert_int_equal(ops->create(f->c, &web_spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_error");
    assert_int_equal(stats(f->fake).creates, 1);
    assert_int_equal(ops->find(f->c, "web", "web-1", &m, &err), 1);
    assert_int_equal(num(m.id), fake_do_find(f->fake, "web-1"));
}

static void test_malformed_json_is_bad_reply(void **state)
{
    struct fixture *f = *state;
    const char *web[] = {"autoscale-web", NULL};
    struct as_error err = {0};
    struct machine m;
    char id[32];

    snprintf(id, sizeof id, "%lld", fake_do_add_droplet(f->fake, "web-1", web, "active"));
    fake_do_malformed_next(f->fake, 1);
    assert_int_equal(ops->get(f->c, id, &m, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");
    assert_int_equal(stats(f->fake).gets, 1);

    fake_do_malformed_next(f->fake, 1);
    memset(&err, 0, sizeof err);
    assert_int_equal(ops->create(f->c, &web_spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");

    struct machine *v = NULL;
    size_t n = 0;
    fake_do_malformed_next(f->fake, 1);
    assert_int_equal(ops->list(f->c, "web", &v, &n, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");
    assert_null(v);
}

/* ------------------------------------------- replies no DO would send -- */

static struct compute_be *open_scripted(struct test_httpd *srv)
{
    char url[96];
    snprintf(url, sizeof url, "%s/v2", test_httpd_url(srv));
    struct json_object *s = json_object_new_object();
    json_object_object_add(s, "token", json_object_new_string(TOKEN));
    json_object_object_add(s, "api_url", json_object_new_string(url));
    return open_with(s);
}

/* A 404 from something that is not DO's API (a wrong api_url path, a proxy)
 * proves nothing about the droplet: taking it for GONE would have reconcile
 * replace machines that still run. */
static void test_foreign_404_is_not_gone(void **state)
{
    (void)state;
    struct test_httpd *srv = test_httpd_start();
    assert_non_null(srv);
    struct compute_be *c = open_scripted(srv);
    struct as_error err = {0};
    struct machine m;

    test_httpd_queue(srv, &(struct test_httpd_reply){
        .status = 404, .body = "<html>Not Found</html>", .content_type = "text/html",
        .repeat = 2});
    assert_int_equal(ops->get(c, "12345", &m, &err), -1);
    assert_string_equal(err.code, "provider_error");
    assert_int_equal(ops->destroy(c, "12345", &err), -1);
    assert_string_equal(err.code, "provider_error");
    assert_int_equal(test_httpd_request_count(srv), 2);
    ops->close(c);
    test_httpd_stop(srv);
}

static void test_wrong_shape_is_bad_reply(void **state)
{
    (void)state;
    struct test_httpd *srv = test_httpd_start();
    assert_non_null(srv);
    struct compute_be *c = open_scripted(srv);
    struct as_error err = {0};
    struct machine m;

    test_httpd_queue_simple(srv, 200, "{\"droplet\": {\"id\": \"12345\", \"name\": \"x\"}}");
    assert_int_equal(ops->get(c, "12345", &m, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");

    /* A next link that goes nowhere would loop for ever. */
    test_httpd_queue_simple(srv, 200, "{\"droplets\": [], \"links\": {\"pages\": "
                                      "{\"next\": \"https://x/v2/droplets?page=1\"}}}");
    struct machine *v = NULL;
    size_t n = 0;
    assert_int_equal(ops->list(c, "web", &v, &n, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");
    ops->close(c);
    test_httpd_stop(srv);
}

/* A listing that ignored tag_name must not hand over another group's
 * droplets: reconcile would count them, or delete them. */
static void test_list_keeps_only_the_groups_tag(void **state)
{
    (void)state;
    struct test_httpd *srv = test_httpd_start();
    assert_non_null(srv);
    struct compute_be *c = open_scripted(srv);
    struct as_error err = {0};
    struct machine *v = NULL, m;
    size_t n = 0;

    const char *body = "{\"droplets\": ["
                       "{\"id\": 1, \"name\": \"a\", \"status\": \"active\", "
                       "\"tags\": [\"autoscale-api\"]},"
                       "{\"id\": 2, \"name\": \"a\", \"status\": \"active\", \"tags\": []},"
                       "{\"id\": 3, \"name\": \"a\", \"status\": \"new\", "
                       "\"tags\": [\"env:prod\", \"autoscale-web\"]}],"
                       "\"links\": {}, \"meta\": {\"total\": 3}}";
    test_httpd_queue(srv, &(struct test_httpd_reply){.status = 200, .body = body,
                                                      .repeat = 2});
    assert_int_equal(ops->list(c, "web", &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, "3");
    assert_string_equal(v[0].group, "web");
    free(v);
    assert_int_equal(ops->find(c, "web", "a", &m, &err), 1);
    assert_string_equal(m.id, "3");
    ops->close(c);
    test_httpd_stop(srv);
}

int main(void)
{
    log_set_level(LOG_WARN); /* creates and deletes log at info */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_token_is_bad_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_settings_name_key_not_value, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_is_lazy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_building_then_active_private, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_address_type_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_falls_back_to_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numeric_image_and_key_region_defaults, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errored_create_action_is_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_is_stopped_archive_is_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_regression_name_and_status_clean_utf8, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroy_then_gone_and_absent_ok, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_ids_never_reach_the_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_name_within_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_250_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_links_to_another_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unauthorized_never_shows_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_size_rejected_with_do_message, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forbidden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_with_retry_after_on_get_is_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_429_on_post_is_over_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_on_post_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_after_create_then_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_json_is_bad_reply, setup, teardown),
        cmocka_unit_test(test_foreign_404_is_not_gone),
        cmocka_unit_test(test_wrong_shape_is_bad_reply),
        cmocka_unit_test(test_list_keeps_only_the_groups_tag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
