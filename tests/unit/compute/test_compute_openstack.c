/* test_compute_openstack.c - the OpenStack provider (lib/compute/compute_openstack.c)
 * against the in-process fake of Keystone, Nova, Glance and Neutron
 * (tests/fakes/fake_openstack.c).
 *
 * Operations go through compute_openstack_ops. No test depends on timing:
 * server lifecycles advance by polls, retries are counted in requests. The
 * one test that needs a timeout gives the fake a delay far longer than the
 * client's timeout, and asserts only what happened. */
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

#include "compute_int.h"
#include "fake_openstack.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"
#include "signals.h"
#include "test_httpd.h"
#include "test_util.h"
#include "utf8.h"

/* The provider itself (compute_int.h), not through compute.c's table. */
#define OPS (&compute_openstack_ops)

struct fixture {
    struct fake_openstack *fake;
    struct compute_be *c;
};

/* ---------------------------------------------------------------- helpers -- */

static struct json_object *password_settings(struct fake_openstack *fake)
{
    struct json_object *s = json_object_new_object();
    jx_add_str(s, "auth_url", fake_openstack_auth_url(fake));
    jx_add_str(s, "username", FAKE_OS_USERNAME);
    jx_add_str(s, "password", FAKE_OS_PASSWORD);
    jx_add_str(s, "project_name", FAKE_OS_PROJECT);
    jx_add_str(s, "user_domain_name", "Default");
    jx_add_str(s, "project_domain_name", "Default");
    jx_add_str(s, "interface", "public");
    return s;
}

static struct json_object *appcred_settings(struct fake_openstack *fake)
{
    struct json_object *s = json_object_new_object();
    jx_add_str(s, "auth_url", fake_openstack_auth_url(fake));
    jx_add_str(s, "application_credential_id", FAKE_OS_APPCRED_ID);
    jx_add_str(s, "application_credential_secret", FAKE_OS_APPCRED_SECRET);
    return s;
}

/* Open with these settings (consumed). */
static struct compute_be *open_with(struct json_object *settings)
{
    struct as_error err = {0};
    struct compute_be *c = OPS->open(settings, &err);
    json_object_put(settings);
    if (!c)
        fail_msg("open: %s: %s", err.code, err.message);
    return c;
}

static void reopen(struct fixture *fx, struct json_object *settings)
{
    OPS->close(fx->c);
    fx->c = open_with(settings);
}

static int setup(void **state)
{
    /* A proxy from the environment would swallow 127.0.0.1 requests. */
    test_unset_proxies();
    as_set_interrupted(false);
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->fake = fake_openstack_start(NULL);
    assert_non_null(fx->fake);
    fx->c = open_with(password_settings(fx->fake));
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    OPS->close(fx->c);
    fake_openstack_stop(fx->fake);
    free(fx);
    secret_clear();
    return 0;
}

static struct fake_openstack_stats stats(struct fake_openstack *fake)
{
    struct fake_openstack_stats s;
    fake_openstack_stats(fake, &s);
    return s;
}

/* Compare a malloc'd string from the fake and free it. */
static void assert_owned_str(char *got, const char *want)
{
    if (!want) {
        if (got)
            fail_msg("expected nothing, got \"%s\"", got);
        return;
    }
    if (!got)
        fail_msg("expected \"%s\", got nothing", want);
    if (strcmp(got, want) != 0) {
        char copy[512];
        snprintf(copy, sizeof copy, "%s", got);
        free(got);
        fail_msg("expected \"%s\", got \"%s\"", want, copy);
    }
    free(got);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("\"%s\" contains \"%s\"", hay, needle);
}

static struct machine get_ok(struct fixture *fx, const char *id)
{
    struct machine m;
    struct as_error err = {0};
    if (OPS->get(fx->c, id, &m, &err) != 0)
        fail_msg("get %s: %s: %s", id, err.code, err.message);
    return m;
}

static struct machine_spec spec_of(const char *group, const char *name)
{
    struct machine_spec s = {
        .group = group, .name = name, .flavor = "2", .image = FAKE_OS_IMAGE_ID,
    };
    return s;
}

static struct machine create_ok(struct fixture *fx, const struct machine_spec *spec)
{
    struct machine m;
    struct as_error err = {0};
    if (OPS->create(fx->c, spec, &m, &err) != 0)
        fail_msg("create %s: %s: %s", spec->name, err.code, err.message);
    return m;
}

/* The stored create request's field, as JSON text (newly allocated). */
static char *request_field(struct fixture *fx, const char *id, const char *key)
{
    char *text = fake_openstack_server_request(fx->fake, id);
    assert_non_null(text);
    struct json_object *o = json_tokener_parse(text), *v = NULL;
    free(text);
    assert_non_null(o);
    char *out = json_object_object_get_ex(o, key, &v)
                    ? strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN))
                    : NULL;
    json_object_put(o);
    return out;
}

/* ------------------------------------------------------------ the table -- */

static void test_ops_table(void **state)
{
    (void)state;
    assert_string_equal(OPS->name, "openstack");
    assert_int_equal(OPS->poll_ms, 2000);
    assert_int_equal(OPS->poll_first_ms, 1000); /* a rate-limited API: not sooner */
    assert_non_null(OPS->open);
    assert_non_null(OPS->create);
    assert_non_null(OPS->get);
    assert_non_null(OPS->find);
    assert_non_null(OPS->destroy);
    assert_non_null(OPS->list);
    assert_non_null(OPS->close);
}

/* ----------------------------------------------------------------- auth -- */

static void test_password_auth(void **state)
{
    struct fixture *fx = *state;
    struct machine m = get_ok(fx, "no-such-server");
    assert_int_equal(m.state, MACHINE_GONE);
    assert_string_equal(m.id, "no-such-server");

    struct fake_openstack_stats s = stats(fx->fake);
    assert_int_equal(s.auth, 1);
    assert_int_equal(s.auth_password, 1);
    assert_int_equal(s.auth_appcred, 0);
    assert_int_equal(s.get, 1);

    char *token = fake_openstack_token(fx->fake);
    assert_non_null(token);
    assert_owned_str(fake_openstack_last_header(fx->fake, "X-Auth-Token"), token);
    assert_owned_str(fake_openstack_last_header(fx->fake, "OpenStack-API-Version"),
                     "compute 2.37");
    /* registered as a secret as soon as it arrived */
    assert_owned_str(secret_scrub(token), "***");
    free(token);
    /* the password too, though it came in settings, not as a parameter */
    assert_owned_str(secret_scrub(FAKE_OS_PASSWORD), "***");

    /* no region set: the first public compute endpoint */
    char want[256];
    snprintf(want, sizeof want, "%s/RegionOne/public/compute/v2.1/servers/no-such-server",
             fake_openstack_base(fx->fake));
    char *path = fake_openstack_last_path(fx->fake);
    assert_non_null(path);
    assert_non_null(strstr(want, path)); /* the path is want without scheme and host */
    free(path);
}

static void test_application_credential_auth(void **state)
{
    struct fixture *fx = *state;
    /* Both kinds configured: the application credential wins. */
    struct json_object *s = password_settings(fx->fake);
    jx_add_str(s, "application_credential_id", FAKE_OS_APPCRED_ID);
    jx_add_str(s, "application_credential_secret", FAKE_OS_APPCRED_SECRET);
    reopen(fx, s);
    assert_int_equal(get_ok(fx, "x").state, MACHINE_GONE);
    assert_int_equal(stats(fx->fake).auth_appcred, 1);
    assert_int_equal(stats(fx->fake).auth_password, 0);

    /* Alone, too; the secret is a secret. */
    reopen(fx, appcred_settings(fx->fake));
    assert_int_equal(get_ok(fx, "x").state, MACHINE_GONE);
    assert_int_equal(stats(fx->fake).auth_password, 0);
    assert_owned_str(secret_scrub(FAKE_OS_APPCRED_SECRET), "***");
}

static void test_token_reused(void **state)
{
    struct fixture *fx = *state;
    struct machine_spec spec = spec_of("web", "web-1");
    struct machine m = create_ok(fx, &spec), found, *list = NULL;
    struct as_error err = {0};
    size_t n = 0;

    for (int i = 0; i < 10; i++)
        get_ok(fx, m.id);
    assert_int_equal(OPS->find(fx->c, "web", "web-1", &found, &err), 1);
    assert_int_equal(OPS->list(fx->c, "web", &list, &n, &err), 0);
    free(list);
    assert_int_equal(OPS->destroy(fx->c, m.id, &err), 0);
    assert_int_equal(stats(fx->fake).auth, 1);

    /* Another session of the same process, same identity: no new token. */
    reopen(fx, password_settings(fx->fake));
    get_ok(fx, m.id);
    assert_int_equal(stats(fx->fake).auth, 1);
}

static void test_expired_token_reauth(void **state)
{
    struct fixture *fx = *state;
    char *id = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);

    assert_int_equal(get_ok(fx, id).state, MACHINE_ACTIVE);
    fake_openstack_expire_tokens(fx->fake);
    assert_int_equal(get_ok(fx, id).state, MACHINE_ACTIVE);

    struct fake_openstack_stats s = stats(fx->fake);
    assert_int_equal(s.auth, 2);
    assert_int_equal(s.unauthorized, 1);
    assert_int_equal(s.get, 3);
    /* and the new token serves from now on */
    get_ok(fx, id);
    assert_int_equal(stats(fx->fake).auth, 2);
    free(id);
}

static void test_wrong_password(void **state)
{
    struct fixture *fx = *state;
    static const char wrong[] = "wrong-pa55word-xyzzy";
    struct json_object *s = password_settings(fx->fake);
    jx_add_str(s, "password", wrong);
    reopen(fx, s);
    /* the fake quotes a refused password back */
    fake_openstack_set_echo_credentials(fx->fake, 1);

    struct machine m;
    struct as_error err = {0};
    assert_int_equal(OPS->get(fx->c, "x", &m, &err), -1);
    assert_string_equal(err.code, "provider_unauthorized");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_lacks(err.message, wrong);
    assert_lacks(err.message, FAKE_OS_PASSWORD);
    assert_contains(err.message, "password \"***\" refused"); /* echoed, scrubbed */
    assert_contains(err.message, "requires authentication");
    assert_contains(err.message, FAKE_OS_USERNAME);
    assert_int_equal(stats(fx->fake).auth, 1); /* a 401 is not retried */
    assert_int_equal(stats(fx->fake).get, 0);
}

static void test_keystone_unreachable(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    int fd = -1, port = test_refusing_port(&fd);
    char url[64];
    assert_true(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/identity/v3", port);
    struct json_object *s = password_settings(fx->fake);
    jx_add_str(s, "auth_url", url);
    reopen(fx, s);

    assert_int_equal(OPS->get(fx->c, "x", &m, &err), -1);
    assert_string_equal(err.code, "http_unreachable");
    assert_contains(err.message, "openstack authentication");
    assert_lacks(err.message, FAKE_OS_PASSWORD);
    close(fd);
}

static void test_unauthorized_after_reauth(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};

    get_ok(fx, "x");
    fake_openstack_fail_next(fx->fake, FAKE_OS_GET, 2, 401, -1);
    assert_int_equal(OPS->get(fx->c, "x", &m, &err), -1);
    assert_string_equal(err.code, "provider_unauthorized");
    struct fake_openstack_stats s = stats(fx->fake);
    assert_int_equal(s.auth, 2); /* re-authenticated once, not more */
    assert_int_equal(s.get, 3);
}

/* ------------------------------------------------------------ lifecycle -- */

static void test_create_then_poll_until_active(void **state)
{
    struct fixture *fx = *state;
    static const char script[] = "#!/bin/sh\necho 'hello from cloud-init' > /tmp/hi\n";
    struct machine_spec spec = spec_of("web", "web-1");
    spec.key_pair = "mykey";
    spec.user_data = script;
    fake_openstack_set_build_polls(fx->fake, 2);

    struct machine m = create_ok(fx, &spec);
    assert_int_equal(m.state, MACHINE_BUILDING);
    assert_true(m.id[0] != '\0');
    assert_string_equal(m.name, "web-1");
    assert_string_equal(m.group, "web");

    struct machine g = get_ok(fx, m.id);
    assert_int_equal(g.state, MACHINE_BUILDING);
    assert_string_equal(g.address, "");
    assert_int_equal(get_ok(fx, m.id).state, MACHINE_BUILDING);
    g = get_ok(fx, m.id);
    assert_int_equal(g.state, MACHINE_ACTIVE);
    /* the IPv4 fixed address, though the fake lists IPv6 first */
    assert_string_equal(g.address, "10.1.0.3");
    assert_string_equal(g.name, "web-1");
    assert_string_equal(g.group, "web");
    assert_string_equal(g.id, m.id);
    assert_true(g.created_at > 0);
    assert_int_equal(g.port, 0);

    assert_owned_str(fake_openstack_server_user_data(fx->fake, m.id), script);
    assert_owned_str(fake_openstack_server_metadata(fx->fake, m.id, "asg"), "web");
    assert_owned_str(fake_openstack_server_metadata(fx->fake, m.id, "autoscale_node"),
                     "web-1");
    assert_owned_str(request_field(fx, m.id, "networks"), "\"auto\"");
    assert_owned_str(request_field(fx, m.id, "key_name"), "\"mykey\"");
    assert_owned_str(request_field(fx, m.id, "flavorRef"), "\"2\"");
}

static void test_user_data_base64_lengths(void **state)
{
    struct fixture *fx = *state;
    char big[3001];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[1000] = '\n';
    const char *cases[] = {"a", "ab", "abc", "abcd", "h\xc3\xa9llo\n\tw\xc3\xb6rld\n", big};

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[16];
        snprintf(name, sizeof name, "ud-%zu", i);
        struct machine_spec spec = spec_of("web", name);
        spec.user_data = cases[i];
        struct machine m = create_ok(fx, &spec);
        assert_owned_str(fake_openstack_server_user_data(fx->fake, m.id), cases[i]);
    }
    /* no user data: no field at all */
    struct machine_spec spec = spec_of("web", "ud-none");
    struct machine m = create_ok(fx, &spec);
    assert_owned_str(request_field(fx, m.id, "user_data"), NULL);
}

static void test_error_state_with_fault(void **state)
{
    struct fixture *fx = *state;
    static const char fault[] =
        "No valid host was found. There are not enough hosts available.";
    fake_openstack_set_build_polls(fx->fake, 0);
    fake_openstack_fail_builds(fx->fake, 1, fault);

    struct machine_spec spec = spec_of("web", "web-1");
    struct machine m = create_ok(fx, &spec);
    struct machine g = get_ok(fx, m.id);
    assert_int_equal(g.state, MACHINE_ERROR);
    assert_string_equal(g.detail, fault);
    assert_string_equal(g.address, "");
}

static void test_other_statuses(void **state)
{
    struct fixture *fx = *state;
    char *off = fake_openstack_add_server(fx->fake, "web-1", "web", "SHUTOFF", NULL);
    char *reboot = fake_openstack_add_server(fx->fake, "web-2", "web", "HARD_REBOOT", NULL);
    char *bare = fake_openstack_add_server(fx->fake, "web-3", "web", "ACTIVE", "");

    struct machine g = get_ok(fx, off);
    assert_int_equal(g.state, MACHINE_STOPPED); /* parked (the warm pool) */
    assert_string_equal(g.detail, "server is SHUTOFF");
    assert_int_equal(get_ok(fx, reboot).state, MACHINE_BUILDING);
    /* ACTIVE without an address yet: not usable, keep waiting */
    g = get_ok(fx, bare);
    assert_int_equal(g.state, MACHINE_BUILDING);
    assert_contains(g.detail, "waiting for an IPv4 address");
    free(off);
    free(reboot);
    free(bare);
}

/* Found by tests/fuzz/fuzz_http: a status or fault message from Nova went
 * into machine.detail (and so into node records and the action's JSON) with
 * its control characters and bytes of other encodings, and a long fault cut
 * to the field's size could end in half a UTF-8 character. */
static void test_regression_detail_clean_utf8(void **state)
{
    struct fixture *fx = *state;
    char *odd = fake_openstack_add_server(fx->fake, "web-1", "web", "SHUT\x1b[2JOFF\xff", NULL);
    struct machine g = get_ok(fx, odd);
    assert_int_equal(g.state, MACHINE_ERROR);
    assert_string_equal(g.detail, "server is SHUT [2JOFF?");
    free(odd);

    char fault[3 * 200 + 1] = "";
    for (int i = 0; i < 200; i++)
        strcat(fault, "\xe2\x82\xac"); /* the cut falls inside one */
    fake_openstack_set_build_polls(fx->fake, 0);
    fake_openstack_fail_builds(fx->fake, 1, fault);
    struct machine_spec spec = spec_of("web", "web-2");
    struct machine m = create_ok(fx, &spec);
    g = get_ok(fx, m.id);
    assert_int_equal(g.state, MACHINE_ERROR);
    size_t n = strlen(g.detail);
    assert_true(n > 0 && utf8_valid(g.detail, n));
}

static void test_address_prefers_setting_network(void **state)
{
    struct fixture *fx = *state;
    char *id = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE",
                                         "private,public");
    assert_string_equal(get_ok(fx, id).address, "10.1.0.3");

    struct json_object *s = password_settings(fx->fake);
    jx_add_str(s, "network", "public");
    reopen(fx, s);
    assert_string_equal(get_ok(fx, id).address, "10.2.0.3");

    /* a network named at create is preferred by this session's get() */
    reopen(fx, password_settings(fx->fake));
    struct machine_spec spec = spec_of("web", "web-2");
    spec.network = "public";
    struct machine m = create_ok(fx, &spec);
    fake_openstack_set_build_polls(fx->fake, 0);
    char *both = fake_openstack_add_server(fx->fake, "web-3", "web", "ACTIVE",
                                           "private,public");
    assert_string_equal(get_ok(fx, both).address, "10.2.0.5");
    (void)m;
    free(both);

    /* a preferred network the server is not on: any will do */
    s = password_settings(fx->fake);
    jx_add_str(s, "network", "elsewhere");
    reopen(fx, s);
    assert_string_equal(get_ok(fx, id).address, "10.1.0.3");
    free(id);
}

static void test_destroy_deleting_then_gone(void **state)
{
    struct fixture *fx = *state;
    struct as_error err = {0};
    fake_openstack_set_delete_polls(fx->fake, 1);
    char *id = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);

    assert_int_equal(OPS->destroy(fx->c, id, &err), 0);
    assert_int_equal(get_ok(fx, id).state, MACHINE_DELETING);
    assert_int_equal(get_ok(fx, id).state, MACHINE_GONE);
    assert_int_equal(fake_openstack_server_count(fx->fake), 0);
    /* absent: success, whether it was ours or never existed */
    assert_int_equal(OPS->destroy(fx->c, id, &err), 0);
    assert_int_equal(OPS->destroy(fx->c, "00000000-0000-4000-8000-000000000000", &err), 0);
    assert_int_equal(stats(fx->fake).delete, 3);
    free(id);
}

static void test_find_by_name_within_group(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    char *web1 = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);
    char *db1 = fake_openstack_add_server(fx->fake, "web-1", "db", "ACTIVE", NULL);
    char *web10 = fake_openstack_add_server(fx->fake, "web-10", "web", "ACTIVE", NULL);
    char *xweb1 = fake_openstack_add_server(fx->fake, "xweb-1", "web", "ACTIVE", NULL);
    char *plain = fake_openstack_add_server(fx->fake, "web-7", NULL, "ACTIVE", NULL);

    assert_int_equal(OPS->find(fx->c, "web", "web-1", &m, &err), 1);
    assert_string_equal(m.id, web1);
    assert_string_equal(m.group, "web");
    assert_int_equal(m.state, MACHINE_ACTIVE);
    assert_owned_str(fake_openstack_last_query(fx->fake, "name"), "^web-1$");

    assert_int_equal(OPS->find(fx->c, "db", "web-1", &m, &err), 1);
    assert_string_equal(m.id, db1);
    assert_int_equal(OPS->find(fx->c, "cache", "web-1", &m, &err), 0);
    assert_int_equal(OPS->find(fx->c, "web", "web-2", &m, &err), 0);
    /* a server without our metadata is not ours, whatever its name */
    assert_int_equal(OPS->find(fx->c, "web", "web-7", &m, &err), 0);
    free(web1);
    free(db1);
    free(web10);
    free(xweb1);
    free(plain);
}

static void test_find_prefers_live_over_deleting(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    fake_openstack_set_delete_polls(fx->fake, 5);
    char *live = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);
    char *dying = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);
    assert_int_equal(OPS->destroy(fx->c, dying, &err), 0);

    /* Nova lists newest first: the dying one comes first */
    assert_int_equal(OPS->find(fx->c, "web", "web-1", &m, &err), 1);
    assert_string_equal(m.id, live);
    free(live);
    free(dying);
}

static void test_list_paginates(void **state)
{
    struct fixture *fx = *state;
    enum { WEB = 130, DB = 110, NONE = 10 };
    char *ids[WEB];
    fake_openstack_set_max_limit(fx->fake, 100);
    /* interleaved (7 is coprime with 250), so every page mixes groups */
    for (int i = 0, w = 0; i < WEB + DB + NONE; i++) {
        int k = (i * 7) % (WEB + DB + NONE);
        const char *group = k < WEB ? "web" : k < WEB + DB ? "db" : NULL;
        char name[32];
        snprintf(name, sizeof name, "node-%d", i);
        char *id = fake_openstack_add_server(fx->fake, name, group, "ACTIVE", NULL);
        if (k < WEB)
            ids[w++] = id;
        else
            free(id);
    }
    assert_int_equal(fake_openstack_server_count(fx->fake), WEB + DB + NONE);

    struct machine *list = NULL;
    size_t n = 0;
    struct as_error err = {0};
    fake_openstack_reset_stats(fx->fake);
    assert_int_equal(OPS->list(fx->c, "web", &list, &n, &err), 0);
    assert_int_equal(n, WEB);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(list[i].group, "web");
        int seen = 0;
        for (int k = 0; k < WEB; k++)
            seen += strcmp(ids[k], list[i].id) == 0;
        assert_int_equal(seen, 1);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(list[k].id, list[i].id);
    }
    assert_int_equal(stats(fx->fake).list, 3); /* 100 + 100 + 50 */
    free(list);

    /* an empty group: success, nothing */
    assert_int_equal(OPS->list(fx->c, "nobody", &list, &n, &err), 0);
    assert_int_equal(n, 0);
    free(list);
    for (int k = 0; k < WEB; k++)
        free(ids[k]);
}

/* ------------------------------------------------------- name resolution -- */

static void test_refs_by_name(void **state)
{
    struct fixture *fx = *state;
    struct machine_spec spec = spec_of("web", "web-1");
    spec.flavor = "m1.small";
    spec.image = FAKE_OS_IMAGE_NAME;
    spec.network = "public";

    struct machine m = create_ok(fx, &spec);
    assert_owned_str(request_field(fx, m.id, "flavorRef"), "\"2\"");
    assert_owned_str(request_field(fx, m.id, "imageRef"), "\"" FAKE_OS_IMAGE_ID "\"");
    assert_owned_str(request_field(fx, m.id, "networks"),
                     "[{\"uuid\":\"" FAKE_OS_NET_PUBLIC_ID "\"}]");
    struct fake_openstack_stats s = stats(fx->fake);
    assert_int_equal(s.flavors, 1);
    assert_int_equal(s.images, 1);
    assert_int_equal(s.networks, 1);

    /* the session remembers: a second node costs no lookups */
    spec.name = "web-2";
    create_ok(fx, &spec);
    s = stats(fx->fake);
    assert_int_equal(s.flavors, 1);
    assert_int_equal(s.images, 1);
    assert_int_equal(s.networks, 1);

    /* ids are used as given */
    struct machine_spec ids = spec_of("web", "web-3");
    ids.network = FAKE_OS_NET_PRIVATE_ID;
    m = create_ok(fx, &ids);
    assert_owned_str(request_field(fx, m.id, "networks"),
                     "[{\"uuid\":\"" FAKE_OS_NET_PRIVATE_ID "\"}]");
    assert_int_equal(stats(fx->fake).flavors, 1);
    assert_int_equal(stats(fx->fake).networks, 1);
}

static void test_flavor_lookup_follows_pages(void **state)
{
    struct fixture *fx = *state;
    fake_openstack_set_max_limit(fx->fake, 2);
    struct machine_spec spec = spec_of("web", "web-1");
    spec.flavor = "m1.medium"; /* the third flavor: on page two */
    struct machine m = create_ok(fx, &spec);
    assert_owned_str(request_field(fx, m.id, "flavorRef"), "\"3\"");
    assert_int_equal(stats(fx->fake).flavors, 2);
}

static void test_unknown_refs_rejected(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};

    struct machine_spec spec = spec_of("web", "web-1");
    spec.flavor = "m9.huge";
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_rejected");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_contains(err.message, "m9.huge");
    assert_int_equal(stats(fx->fake).create, 0);

    /* shaped like an id: Nova itself says no, in its words */
    spec.flavor = "99";
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_rejected");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_contains(err.message, "Flavor 99 could not be found.");
    assert_int_equal(stats(fx->fake).create, 1);

    spec = spec_of("web", "web-1");
    spec.image = "no-such-image";
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_rejected");
    assert_contains(err.message, "no-such-image");

    spec = spec_of("web", "web-1");
    spec.network = "no-such-net";
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_rejected");

    /* two images of one name: ambiguous, say so */
    fake_openstack_add_image(fx->fake, "11111111-2222-4333-8444-555555555555",
                             FAKE_OS_IMAGE_NAME);
    spec = spec_of("web", "web-1");
    spec.image = FAKE_OS_IMAGE_NAME;
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_rejected");
    assert_contains(err.message, "give the id");
    assert_int_equal(fake_openstack_server_count(fx->fake), 0);
}

static void test_flavor_and_image_required(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    struct machine_spec spec = spec_of("web", "web-1");
    spec.flavor = NULL;
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "bad_settings");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_contains(err.message, "flavor");

    /* the settings may give them instead */
    struct json_object *s = password_settings(fx->fake);
    jx_add_str(s, "flavor", "m1.tiny");
    reopen(fx, s);
    m = create_ok(fx, &spec);
    assert_owned_str(request_field(fx, m.id, "flavorRef"), "\"1\"");
}

/* ---------------------------------------------------------------- errors -- */

static void test_delete_conflict(void **state)
{
    struct fixture *fx = *state;
    struct as_error err = {0};
    char *id = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);
    fake_openstack_lock_server(fx->fake, id, 1);

    assert_int_equal(OPS->destroy(fx->c, id, &err), -1);
    assert_string_equal(err.code, "provider_conflict");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_contains(err.message, "is locked");
    assert_contains(err.message, "HTTP 409");
    assert_int_equal(stats(fx->fake).delete, 1); /* a 409 is an answer, not retried */
    free(id);
}

static void test_get_retried_after_500(void **state)
{
    struct fixture *fx = *state;
    char *id = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);
    get_ok(fx, id);
    fake_openstack_reset_stats(fx->fake);
    fake_openstack_fail_next(fx->fake, FAKE_OS_GET, 1, 500, -1);
    assert_int_equal(get_ok(fx, id).state, MACHINE_ACTIVE);
    assert_int_equal(stats(fx->fake).get, 2);
    assert_int_equal(stats(fx->fake).faults, 1);
    free(id);
}

static void test_get_gives_up_after_5xx(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    get_ok(fx, "x");
    fake_openstack_reset_stats(fx->fake);
    fake_openstack_fail_next(fx->fake, FAKE_OS_GET, 100, 503, -1);
    assert_int_equal(OPS->get(fx->c, "x", &m, &err), -1);
    assert_string_equal(err.code, "provider_error");
    assert_contains(err.message, "HTTP 503");
    assert_contains(err.message, "Service Unavailable");
    assert_int_equal(stats(fx->fake).get, 4); /* http.c's attempts */
}

static void test_create_not_retried_on_503(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    struct machine_spec spec = spec_of("web", "web-1");
    get_ok(fx, "x"); /* authenticate first: only the POST is under test */
    fake_openstack_fail_next(fx->fake, FAKE_OS_CREATE, 1, 503, -1);

    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_error");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_int_equal(stats(fx->fake).create, 1);
    assert_int_equal(fake_openstack_server_count(fx->fake), 0);
}

static void test_create_timeout_then_find(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    struct json_object *s = password_settings(fx->fake);
    jx_add_int(s, "timeout_ms", 2000);
    reopen(fx, s);
    get_ok(fx, "x");
    /* far longer than the timeout: the server is made, the answer never
     * comes in time (the delay is cut short when the fake stops) */
    fake_openstack_set_delay_ms(fx->fake, FAKE_OS_CREATE, 60000);

    struct machine_spec spec = spec_of("web", "web-1");
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "http_timeout");
    assert_int_equal(stats(fx->fake).create, 1); /* not sent again */

    /* what the caller does next: look before creating again */
    assert_int_equal(OPS->find(fx->c, "web", "web-1", &m, &err), 1);
    assert_owned_str(fake_openstack_server_id(fx->fake, "web-1"), m.id);
}

static void test_get_retried_after_429(void **state)
{
    struct fixture *fx = *state;
    char *id = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);
    get_ok(fx, id);
    fake_openstack_reset_stats(fx->fake);
    fake_openstack_fail_next(fx->fake, FAKE_OS_GET, 1, 429, 1);
    assert_int_equal(get_ok(fx, id).state, MACHINE_ACTIVE);
    assert_int_equal(stats(fx->fake).get, 2);
    free(id);
}

static void test_create_over_limit(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    struct machine_spec spec = spec_of("web", "web-1");

    fake_openstack_fail_next(fx->fake, FAKE_OS_CREATE, 1, 429, 1);
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_over_limit");
    assert_int_equal(stats(fx->fake).create, 1);

    /* an exhausted quota is Nova's 403, and a limit all the same */
    fake_openstack_set_quota(fx->fake, 1);
    create_ok(fx, &spec);
    spec.name = "web-2";
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_over_limit");
    assert_contains(err.message, "Quota exceeded for instances");
}

static void test_forbidden(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    fake_openstack_fail_next(fx->fake, FAKE_OS_GET, 1, 403, -1);
    assert_int_equal(OPS->get(fx->c, "x", &m, &err), -1);
    assert_string_equal(err.code, "provider_forbidden");
    assert_contains(err.message, "Policy doesn't allow");
}

static void test_malformed_json(void **state)
{
    struct fixture *fx = *state;
    struct machine m, *list = NULL;
    struct as_error err = {0};
    size_t n = 0;
    char *id = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);

    fake_openstack_malformed_next(fx->fake, FAKE_OS_GET, 1);
    assert_int_equal(OPS->get(fx->c, id, &m, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");

    fake_openstack_malformed_next(fx->fake, FAKE_OS_LIST, 1);
    assert_int_equal(OPS->list(fx->c, "web", &list, &n, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");
    assert_null(list);

    struct machine_spec spec = spec_of("web", "web-2");
    fake_openstack_malformed_next(fx->fake, FAKE_OS_CREATE, 1);
    assert_int_equal(OPS->create(fx->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");

    /* a token reply that is not JSON (another identity: a new token) */
    reopen(fx, appcred_settings(fx->fake));
    fake_openstack_malformed_next(fx->fake, FAKE_OS_AUTH, 1);
    assert_int_equal(OPS->get(fx->c, id, &m, &err), -1);
    assert_string_equal(err.code, "provider_bad_reply");
    free(id);
}

static void test_missing_settings(void **state)
{
    struct fixture *fx = *state;
    static const char *const required[] = {"auth_url", "username", "password",
                                           "project_name"};
    struct as_error err = {0};

    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        struct json_object *s = password_settings(fx->fake);
        json_object_object_del(s, required[i]);
        assert_null(OPS->open(s, &err));
        assert_string_equal(err.code, "bad_settings");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", required[i]);
        assert_contains(err.message, quoted);
        assert_lacks(err.message, FAKE_OS_PASSWORD);
        json_object_put(s);
    }
    /* empty counts as missing */
    struct json_object *s = password_settings(fx->fake);
    jx_add_str(s, "password", "");
    assert_null(OPS->open(s, &err));
    assert_contains(err.message, "'password'");
    json_object_put(s);

    /* half an application credential names the other half */
    s = appcred_settings(fx->fake);
    json_object_object_del(s, "application_credential_secret");
    assert_null(OPS->open(s, &err));
    assert_contains(err.message, "'application_credential_secret'");
    assert_lacks(err.message, FAKE_OS_APPCRED_ID);
    json_object_put(s);
    s = appcred_settings(fx->fake);
    json_object_object_del(s, "application_credential_id");
    assert_null(OPS->open(s, &err));
    assert_contains(err.message, "'application_credential_id'");
    assert_lacks(err.message, FAKE_OS_APPCRED_SECRET);
    json_object_put(s);

    s = password_settings(fx->fake);
    jx_add_str(s, "interface", "backdoor");
    assert_null(OPS->open(s, &err));
    assert_string_equal(err.code, "bad_settings");
    assert_contains(err.message, "interface");
    json_object_put(s);

    assert_null(OPS->open(NULL, &err));
    assert_contains(err.message, "'auth_url'");
    assert_int_equal(stats(fx->fake).requests, 0); /* opening does no I/O */
}

static void test_secret_scrubbing(void **state)
{
    struct fixture *fx = *state;
    struct as_error err = {0};
    char *id = fake_openstack_add_server(fx->fake, "web-1", "web", "ACTIVE", NULL);
    fake_openstack_lock_server(fx->fake, id, 1);
    fake_openstack_set_echo_credentials(fx->fake, 1);

    assert_int_equal(OPS->destroy(fx->c, id, &err), -1);
    assert_string_equal(err.code, "provider_conflict");
    char *token = fake_openstack_token(fx->fake);
    assert_non_null(token);
    assert_lacks(err.message, token);
    assert_contains(err.message, "X-Auth-Token: ***"); /* the echo was there */
    free(token);
    free(id);
}

static void test_region_and_interface(void **state)
{
    struct fixture *fx = *state;
    struct machine m;
    struct as_error err = {0};
    struct json_object *s = password_settings(fx->fake);
    jx_add_str(s, "region", "RegionTwo");
    jx_add_str(s, "interface", "internalURL");
    reopen(fx, s);
    get_ok(fx, "x");
    char *path = fake_openstack_last_path(fx->fake);
    assert_non_null(path);
    assert_contains(path, "/RegionTwo/internal/compute/v2.1/servers/x");
    free(path);

    /* lookups go to the same region and interface */
    struct machine_spec spec = spec_of("web", "web-1");
    spec.image = FAKE_OS_IMAGE_NAME;
    create_ok(fx, &spec);

    s = password_settings(fx->fake);
    jx_add_str(s, "region", "RegionNine");
    reopen(fx, s);
    assert_int_equal(OPS->get(fx->c, "x", &m, &err), -1);
    assert_string_equal(err.code, "provider_no_endpoint");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_contains(err.message, "RegionNine");
}

/* One add_node/remove_node cycle, counted: what a benchmark multiplies. */
static void test_cycle_request_counts(void **state)
{
    struct fixture *fx = *state;
    struct as_error err = {0};
    struct machine_spec spec = spec_of("web", "web-1");

    struct machine m = create_ok(fx, &spec), g;
    do
        g = get_ok(fx, m.id);
    while (g.state == MACHINE_BUILDING);
    assert_int_equal(g.state, MACHINE_ACTIVE);
    assert_int_equal(OPS->destroy(fx->c, m.id, &err), 0);
    do
        g = get_ok(fx, m.id);
    while (g.state == MACHINE_DELETING);
    assert_int_equal(g.state, MACHINE_GONE);

    struct fake_openstack_stats s = stats(fx->fake);
    print_message("create+wait+delete+wait: auth %d, create %d, get %d, delete %d, "
                  "total %d\n", s.auth, s.create, s.get, s.delete, s.requests);
    assert_int_equal(s.auth, 1);
    assert_int_equal(s.create, 1);
    assert_int_equal(s.get, 5); /* BUILD, BUILD, ACTIVE, deleting, 404 */
    assert_int_equal(s.delete, 1);
    assert_int_equal(s.requests, 8);
}

int main(void)
{
    log_set_level(LOG_WARN);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_table),
        T(test_password_auth),
        T(test_application_credential_auth),
        T(test_token_reused),
        T(test_expired_token_reauth),
        T(test_wrong_password),
        T(test_keystone_unreachable),
        T(test_unauthorized_after_reauth),
        T(test_create_then_poll_until_active),
        T(test_user_data_base64_lengths),
        T(test_error_state_with_fault),
        T(test_other_statuses),
        T(test_regression_detail_clean_utf8),
        T(test_address_prefers_setting_network),
        T(test_destroy_deleting_then_gone),
        T(test_find_by_name_within_group),
        T(test_find_prefers_live_over_deleting),
        T(test_list_paginates),
        T(test_refs_by_name),
        T(test_flavor_lookup_follows_pages),
        T(test_unknown_refs_rejected),
        T(test_flavor_and_image_required),
        T(test_delete_conflict),
        T(test_get_retried_after_500),
        T(test_get_gives_up_after_5xx),
        T(test_create_not_retried_on_503),
        T(test_create_timeout_then_find),
        T(test_get_retried_after_429),
        T(test_create_over_limit),
        T(test_forbidden),
        T(test_malformed_json),
        T(test_missing_settings),
        T(test_secret_scrubbing),
        T(test_region_and_interface),
        T(test_cycle_request_counts),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
