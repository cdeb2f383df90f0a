/* End-to-end tests of dns_register and dns_unregister: the action binaries
 * run exactly as st2 runs them, the group made by actions/bin/asg_define,
 * node records written straight into the embedded datastore, records
 * served by a real pdns_server, and every claim about resolution checked
 * with `dig @127.0.0.1 -p PORT name A +short`. DigitalOcean runs against
 * the in-process fake of its domains API.
 *
 * "Nothing changed" is checked by comparing the whole zone as the PowerDNS
 * API shows it (records and serial) before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "fake_do_dns.h"
#include "jsonx.h"
#include "keys.h"
#include "pdns_server.h"
#include "store_fixture.h"
#include "test_httpd.h"

#define KEY "e2e-pdns-k3y-0123456789abcdef"
#define WRONG_KEY "e2e-wr0ng-k3y-0123456789abcdef"
#define DO_TOKEN "dop_v1_e2e0123456789abcdef0123456789abcdef0123456789ab"
#define DO_ZONE "example.test"

static struct pdns_server *server;

struct fixture {
    struct store_fixture st;
    char zone[64];
    char url_arg[256], key_arg[128];
    struct fake_do_dns *fake;
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

static int setup(void **state)
{
    static int seq;
    struct fixture *f = calloc(1, sizeof *f);
    if (store_fixture_open(&f->st, "as-dns-e2e") < 0)
        return -1;
    snprintf(f->zone, sizeof f->zone, "e%d-%d.test", (int)getpid(), ++seq);
    snprintf(f->url_arg, sizeof f->url_arg, "--powerdns_api_url=%s",
             pdns_server_api_url(server));
    snprintf(f->key_arg, sizeof f->key_arg, "--powerdns_api_key=%s", KEY);
    if (pdns_server_resume(server) < 0 || pdns_server_create_zone(server, f->zone) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pdns_server_resume(server); /* a test that stopped it */
    pdns_server_delete_zone(server, f->zone);
    fake_do_dns_stop(f->fake);
    assert_int_equal(store_fixture_close(&f->st), 0);
    free(f);
    return 0;
}

/* ------------------------------------------------------------ helpers -- */

/* dns_register or dns_unregister for group `group`, node `node`, with the
 * server's URL and key, plus up to four more arguments (NULL-ended). */
static int dns(struct fixture *f, const char *action, const char *group, const char *node,
               struct action_result *r, ...)
{
    char name[96], nodearg[160];
    const char *args[12];
    int n = 0;
    va_list ap;

    snprintf(name, sizeof name, "--name=%s", group);
    snprintf(nodearg, sizeof nodearg, "--node=%s", node);
    args[n++] = name;
    args[n++] = nodearg;
    args[n++] = f->url_arg;
    args[n++] = f->key_arg;
    va_start(ap, r);
    for (const char *a; n < 10 && (a = va_arg(ap, const char *));)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return store_runv(&f->st, action, args, r);
}

/* dns() that must succeed; returns "changed". */
static bool dns_ok(struct fixture *f, const char *action, const char *node)
{
    struct action_result r;
    if (dns(f, action, "web", node, &r, NULL) != 0)
        fail_msg("%s %s: %s", action, node, r.out);
    bool changed = jx_bool(r.json, "changed", false);
    action_result_free(&r);
    return changed;
}

static void create_group(struct fixture *f, const char *group, const char *provider,
                         const char *zone)
{
    char name[64], prov[64], zonearg[96];
    struct action_result r;
    snprintf(name, sizeof name, "--name=%s", group);
    snprintf(prov, sizeof prov, "--dns_provider=%s", provider);
    snprintf(zonearg, sizeof zonearg, "--dns_zone=%s", zone ? zone : "");
    const char *args[] = {"--compute_provider=local", name, "--min=0", prov, zone ? zonearg : NULL, NULL};
    if (store_runv(&f->st, "asg_define", args, &r) != 0)
        fail_msg("asg_define: %s", r.out);
    action_result_free(&r);
}

static void put_node(struct fixture *f, const char *group, const char *node, const char *state,
                     const char *address)
{
    char key[KEY_MAX], value[512];
    snprintf(value, sizeof value,
             "{\"name\":\"%s\",\"group\":\"%s\",\"state\":\"%s\",\"provider\":\"local\","
             "\"provider_id\":\"%s\",\"address\":%s%s%s,\"port\":8080,\"created_at\":%lld}",
             node, group, state, node, address ? "\"" : "", address ? address : "null",
             address ? "\"" : "", (long long)time(NULL));
    store_put(&f->st, key_node(key, group, node), value);
}

static void drop_node(struct fixture *f, const char *group, const char *node)
{
    char key[KEY_MAX];
    store_del(&f->st, key_node(key, group, node));
}

/* "<label>.<zone>" */
static const char *host(struct fixture *f, const char *label)
{
    static char buf[4][160];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s.%s", label, f->zone);
    return buf[i];
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

static void assert_nxdomain(const char *name)
{
    char st[16];
    assert_int_equal(pdns_dig_status(server, name, st), 0);
    assert_string_equal(st, "NXDOMAIN");
}

/* The zone as the API shows it: every rrset and the serial. */
static char *zone_snapshot(struct fixture *f)
{
    char path[128], *body = NULL;
    snprintf(path, sizeof path, "/zones/%s.", f->zone);
    assert_int_equal(pdns_server_api(server, "GET", path, NULL, &body), 200);
    return body;
}

static void assert_same_zone(struct fixture *f, char *before)
{
    char *after = zone_snapshot(f);
    if (strcmp(before, after) != 0)
        fail_msg("the zone changed:\n%s\n%s", before, after);
    free(before);
    free(after);
}

static void patch_zone(struct fixture *f, const char *label, const char *type,
                       const char *changetype, const char *content)
{
    char path[128], body[640];
    snprintf(path, sizeof path, "/zones/%s.", f->zone);
    if (content)
        snprintf(body, sizeof body,
                 "{\"rrsets\":[{\"name\":\"%s.\",\"type\":\"%s\",\"ttl\":60,\"changetype\":"
                 "\"%s\",\"records\":[{\"content\":\"%s\",\"disabled\":false}]}]}",
                 host(f, label), type, changetype, content);
    else
        snprintf(body, sizeof body,
                 "{\"rrsets\":[{\"name\":\"%s.\",\"type\":\"%s\",\"changetype\":\"%s\"}]}",
                 host(f, label), type, changetype);
    assert_int_equal(pdns_server_api(server, "PATCH", path, body, NULL), 204);
}

/* A group "web" in the test's zone with active nodes web-1 and web-2. */
static void web_with_two_nodes(struct fixture *f)
{
    create_group(f, "web", "powerdns", f->zone);
    put_node(f, "web", "web-1", "active", "127.0.1.1");
    put_node(f, "web", "web-2", "active", "127.0.1.2");
}

/* -------------------------------------------------------------- tests -- */

static void test_register_two_nodes_round_robin(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char want[160];

    create_group(f, "web", "powerdns", f->zone);
    put_node(f, "web", "web-1", "active", "127.0.1.1");
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    snprintf(want, sizeof want, "web-1.web.%s.", f->zone);
    assert_string_equal(jx_str(r.json, "record", ""), want);
    snprintf(want, sizeof want, "web.%s.", f->zone);
    assert_string_equal(jx_str(r.json, "group_record", ""), want);
    assert_string_equal(jx_str(r.json, "address", ""), "127.0.1.1");
    assert_string_equal(jx_str(r.json, "provider", ""), "powerdns");
    action_result_free(&r);
    assert_dig(host(f, "web-1.web"), "127.0.1.1");
    assert_dig(host(f, "web"), "127.0.1.1");

    /* the second node is being built: it joins the round robin when it is
     * registered, not before */
    put_node(f, "web", "web-2", "building", "127.0.1.2");
    assert_true(dns_ok(f, "dns_register", "web-2"));
    assert_dig(host(f, "web-1.web"), "127.0.1.1");
    assert_dig(host(f, "web-2.web"), "127.0.1.2");
    assert_dig(host(f, "web"), "127.0.1.1,127.0.1.2");
}

static void test_register_again_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    web_with_two_nodes(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_true(dns_ok(f, "dns_register", "web-2"));
    char *before = zone_snapshot(f);
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_false(jx_bool(r.json, "node_record_changed", true));
    assert_false(jx_bool(r.json, "group_record_changed", true));
    struct json_object *addrs = jx_arr(r.json, "group_addresses");
    assert_non_null(addrs);
    assert_int_equal(json_object_array_length(addrs), 2);
    action_result_free(&r);
    assert_same_zone(f, before); /* not even the serial moved */
}

static void test_unregister_one_keeps_the_other(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    web_with_two_nodes(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_true(dns_ok(f, "dns_register", "web-2"));
    /* the teardown workflow marks the node draining first */
    put_node(f, "web", "web-1", "draining", "127.0.1.1");
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_string_equal(jx_str(r.json, "address", ""), "127.0.1.1");
    action_result_free(&r);
    assert_dig(host(f, "web-1.web"), "");
    assert_nxdomain(host(f, "web-1.web"));
    assert_dig(host(f, "web-2.web"), "127.0.1.2");
    assert_dig(host(f, "web"), "127.0.1.2");

    /* again: already absent */
    char *before = zone_snapshot(f);
    assert_false(dns_ok(f, "dns_unregister", "web-1"));
    assert_same_zone(f, before);
}

static void test_unregister_last_deletes_group_record(void **state)
{
    struct fixture *f = *state;

    web_with_two_nodes(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_true(dns_ok(f, "dns_register", "web-2"));
    put_node(f, "web", "web-1", "deleting", "127.0.1.1");
    put_node(f, "web", "web-2", "deleting", "127.0.1.2");
    assert_true(dns_ok(f, "dns_unregister", "web-1"));
    assert_true(dns_ok(f, "dns_unregister", "web-2"));
    assert_nxdomain(host(f, "web"));
    assert_nxdomain(host(f, "web-2.web"));
    assert_dig(host(f, "web"), "");
}

/* The teardown workflow goes on past a step whose target is gone: the
 * node's datastore record may already be deleted. */
static void test_unregister_after_node_record_gone(void **state)
{
    struct fixture *f = *state;

    web_with_two_nodes(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_true(dns_ok(f, "dns_register", "web-2"));
    drop_node(f, "web", "web-1");
    assert_true(dns_ok(f, "dns_unregister", "web-1"));
    assert_dig(host(f, "web-1.web"), "");
    assert_dig(host(f, "web"), "127.0.1.2");
    /* a node that never existed at all: nothing to do, no error */
    assert_false(dns_ok(f, "dns_unregister", "web-9"));
}

/* The decommission path: the group retired (asg_retire), its nodes taken
 * down concurrently by the asg_delete workflow, their records still active
 * (or draining). The first unregister empties the group's round
 * robin (the whole group is leaving: recomputing it from the other node's
 * record would put that node back after its own unregister took it out),
 * each node's own record goes with its unregister, and a repeat - DNS
 * records gone, then the node's record gone too - changes nothing. */
static void test_unregister_in_retired_group(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    web_with_two_nodes(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_true(dns_ok(f, "dns_register", "web-2"));
    const char *retire[] = {"--name=web", NULL};
    assert_int_equal(store_runv(&f->st, "asg_retire", retire, &r), 0);
    assert_string_equal(jx_str(r.json, "status", ""), "deleting");
    action_result_free(&r);

    /* web-2 first, both records still active: in a plain scale-in web-1
     * would stay in the round robin */
    assert_int_equal(dns(f, "dns_unregister", "web", "web-2", &r, NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_true(jx_bool(r.json, "node_record_changed", false));
    assert_true(jx_bool(r.json, "group_record_changed", false));
    assert_int_equal(json_object_array_length(jx_arr(r.json, "group_addresses")), 0);
    action_result_free(&r);
    assert_nxdomain(host(f, "web-2.web"));
    assert_dig(host(f, "web"), ""); /* no A record (a name still, above web-1.web) */
    assert_dig(host(f, "web-1.web"), "127.0.1.1");

    put_node(f, "web", "web-1", "draining", "127.0.1.1");
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, NULL), 0);
    assert_true(jx_bool(r.json, "node_record_changed", false));
    assert_false(jx_bool(r.json, "group_record_changed", true));
    action_result_free(&r);
    assert_nxdomain(host(f, "web-1.web"));
    assert_nxdomain(host(f, "web"));

    /* the DNS records are already gone */
    char *before = zone_snapshot(f);
    assert_false(dns_ok(f, "dns_unregister", "web-1"));
    assert_false(dns_ok(f, "dns_unregister", "web-2"));
    assert_same_zone(f, before);

    /* and so are the nodes' records */
    drop_node(f, "web", "web-1");
    drop_node(f, "web", "web-2");
    before = zone_snapshot(f);
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_false(jx_bool(r.json, "node_record_changed", true));
    assert_false(jx_bool(r.json, "group_record_changed", true));
    action_result_free(&r);
    assert_same_zone(f, before);
}

static void test_ttl_honoured_and_changed(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    web_with_two_nodes(f);
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, "--dns_ttl=300", NULL), 0);
    assert_int_equal(jx_int(r.json, "ttl", 0), 300);
    action_result_free(&r);
    assert_int_equal(pdns_dig_ttl(server, host(f, "web-1.web")), 300);
    assert_int_equal(pdns_dig_ttl(server, host(f, "web")), 300);

    /* st2 renders integers through float */
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, "--dns_ttl=120.0", NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    assert_int_equal(pdns_dig_ttl(server, host(f, "web-1.web")), 120);
    assert_int_equal(pdns_dig_ttl(server, host(f, "web")), 120);
    assert_dig(host(f, "web-1.web"), "127.0.1.1");
}

static void test_record_template(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *tmpl = "--dns_record_template={node}.nodes.{zone}";

    web_with_two_nodes(f);
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, tmpl, NULL), 0);
    action_result_free(&r);
    assert_dig(host(f, "web-1.nodes"), "127.0.1.1");
    assert_dig(host(f, "web-1.web"), "");
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, tmpl, NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    assert_dig(host(f, "web-1.nodes"), "");
}

/* A group's own settings.powerdns override the pack config's values. */
static void test_group_settings_override(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char settings[256], name[] = "--name=web", zonearg[96];

    snprintf(zonearg, sizeof zonearg, "--dns_zone=%s", f->zone);
    snprintf(settings, sizeof settings,
             "{\"powerdns\": {\"ttl\": 90, \"record_template\": \"{node}-{group}.{zone}\"}}");
    const char *args[] = {"--compute_provider=local", name, "--min=0", "--dns_provider=powerdns", zonearg, settings, NULL};
    assert_int_equal(store_runv(&f->st, "asg_define", args, &r), 0);
    action_result_free(&r);
    put_node(f, "web", "web-1", "active", "127.0.1.1");
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_dig(host(f, "web-1-web"), "127.0.1.1");
    assert_int_equal(pdns_dig_ttl(server, host(f, "web-1-web")), 90);
}

static void test_zone_missing_and_zone_not_found(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    create_group(f, "web", "powerdns", NULL);
    put_node(f, "web", "web-1", "active", "127.0.1.1");
    char *before = zone_snapshot(f);
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, NULL), 2);
    assert_string_equal(action_error_code(&r), "dns_zone_missing");
    action_result_free(&r);
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, NULL), 2);
    assert_string_equal(action_error_code(&r), "dns_zone_missing");
    action_result_free(&r);

    create_group(f, "api", "powerdns", "absent.test");
    put_node(f, "api", "api-1", "active", "127.0.2.1");
    assert_int_equal(dns(f, "dns_register", "api", "api-1", &r, NULL), 2);
    assert_string_equal(action_error_code(&r), "dns_zone_not_found");
    assert_non_null(strstr(r.out, "absent.test"));
    action_result_free(&r);
    assert_same_zone(f, before);
}

static void test_wrong_api_key_changes_nothing_and_hides_key(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    web_with_two_nodes(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    char *before = zone_snapshot(f);
    snprintf(f->key_arg, sizeof f->key_arg, "--powerdns_api_key=%s", WRONG_KEY);
    assert_int_equal(dns(f, "dns_register", "web", "web-2", &r, "--debug", NULL), 1);
    assert_string_equal(action_error_code(&r), "dns_unauthorized");
    assert_null(strstr(r.out, WRONG_KEY));
    assert_null(strstr(r.err, WRONG_KEY));
    action_result_free(&r);
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, "--debug", NULL), 1);
    assert_string_equal(action_error_code(&r), "dns_unauthorized");
    assert_null(strstr(r.out, WRONG_KEY));
    assert_null(strstr(r.err, WRONG_KEY));
    action_result_free(&r);
    assert_same_zone(f, before);
    assert_dig(host(f, "web"), "127.0.1.1,127.0.1.2");
}

/* The right key is not printed either, even with --debug. */
static void test_key_never_printed(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    web_with_two_nodes(f);
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, "--debug", NULL), 0);
    assert_null(strstr(r.out, KEY));
    assert_null(strstr(r.err, KEY));
    assert_non_null(strstr(r.err, "debug")); /* it did log */
    action_result_free(&r);
}

static void test_server_down_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    web_with_two_nodes(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    char *before = zone_snapshot(f);
    pdns_server_halt(server);
    assert_int_equal(dns(f, "dns_register", "web", "web-2", &r, NULL), 1);
    assert_string_equal(action_error_code(&r), "http_unreachable");
    action_result_free(&r);
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, NULL), 1);
    assert_string_equal(action_error_code(&r), "http_unreachable");
    action_result_free(&r);
    assert_int_equal(pdns_server_resume(server), 0);
    assert_same_zone(f, before);
    /* and the retry, once it is back, does the work */
    assert_true(dns_ok(f, "dns_register", "web-2"));
    assert_dig(host(f, "web-2.web"), "127.0.1.2");
}

/* Every bad input: exit 2, one JSON error line, the zone untouched. */
static void test_bad_input_changes_nothing(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *action, *group, *node, *extra, *code;
    } cases[] = {
        {"dns_register", "web", "web 1", NULL, "invalid_node_name"},
        {"dns_register", "web", "web-1;rm -rf /", NULL, "invalid_node_name"},
        {"dns_register", "web", "web-1\nx", NULL, "invalid_node_name"},
        {"dns_register", "web", "Web-1", NULL, "invalid_node_name"},
        {"dns_register", "web", "-web", NULL, "invalid_node_name"},
        {"dns_register", "web", "web-1.evil", NULL, "invalid_node_name"},
        {"dns_unregister", "web", "web 1", NULL, "invalid_node_name"},
        {"dns_unregister", "web", "web-1;reboot", NULL, "invalid_node_name"},
        {"dns_register", "web;x", "web-1", NULL, "invalid_name"},
        {"dns_register", "nosuch", "web-1", NULL, "unknown_group"},
        {"dns_unregister", "nosuch", "web-1", NULL, "unknown_group"},
        {"dns_register", "web", "web-9", NULL, "unknown_node"},
        {"dns_register", "web", "web-3", NULL, "node_no_address"},
        {"dns_register", "web", "web-4", NULL, "invalid_node_state"},
        {"dns_register", "web", "web-1", "--dns_ttl=0", "invalid_parameter"},
        {"dns_register", "web", "web-1", "--dns_ttl=99999999", "invalid_parameter"},
        {"dns_register", "web", "web-1", "--dns_ttl=abc", "invalid_parameter"},
        {"dns_register", "web", "web-1", "--dns_record_template={group}.{zone}",
         "invalid_template"},
        {"dns_register", "web", "web-1", "--dns_record_template={node}.evil.test",
         "invalid_template"},
        {"dns_unregister", "web", "web-1", "--dns_record_template={node};x.{zone}",
         "invalid_template"},
        {"dns_register", "web", "web-1", "--bogus=1", "unknown_parameter"},
    };

    web_with_two_nodes(f);
    put_node(f, "web", "web-3", "building", NULL);
    put_node(f, "web", "web-4", "draining", "127.0.1.4");
    assert_true(dns_ok(f, "dns_register", "web-1"));
    char *before = zone_snapshot(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct action_result r;
        int st = dns(f, cases[i].action, cases[i].group, cases[i].node, &r, cases[i].extra,
                     NULL);
        if (st != 2 || strcmp(action_error_code(&r), cases[i].code) != 0)
            fail_msg("case %zu (%s %s): exit %d, %s", i, cases[i].action, cases[i].node, st,
                     r.out);
        if (strchr(r.out, '\n') != r.out + strlen(r.out) - 1)
            fail_msg("case %zu: not one line: %s", i, r.out);
        action_result_free(&r);
    }
    assert_same_zone(f, before);
}

/* The group record cannot be written (someone made its name a CNAME):
 * the node's record written just before is taken back. */
static void test_group_record_failure_rolls_back(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char target[160];

    web_with_two_nodes(f);
    snprintf(target, sizeof target, "elsewhere.%s.", f->zone);
    patch_zone(f, "web", "CNAME", "REPLACE", target);
    char *before = zone_snapshot(f);
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, NULL), 2);
    assert_string_equal(action_error_code(&r), "dns_rejected");
    assert_non_null(strstr(r.out, "Conflicts with pre-existing RRset"));
    assert_non_null(strstr(r.out, "restored"));
    action_result_free(&r);
    assert_dig(host(f, "web-1.web"), "");
    assert_nxdomain(host(f, "web-1.web"));
    /* the serial moved (a write and its undo), the records did not */
    char path[256], *after = NULL;
    snprintf(path, sizeof path, "/zones/%s.?rrset_name=web-1.web.%s.&rrset_type=A", f->zone,
             f->zone);
    assert_int_equal(pdns_server_api(server, "GET", path, NULL, &after), 200);
    assert_non_null(strstr(after, "\"rrsets\": []"));
    free(after);
    free(before);
}

/* The same with a node record that existed before (an address changed):
 * it is put back to its previous address. */
static void test_group_record_failure_restores_previous_address(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char target[160];

    web_with_two_nodes(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    patch_zone(f, "web", "A", "DELETE", NULL);
    snprintf(target, sizeof target, "elsewhere.%s.", f->zone);
    patch_zone(f, "web", "CNAME", "REPLACE", target);
    put_node(f, "web", "web-1", "active", "127.0.1.5");
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, NULL), 2);
    assert_string_equal(action_error_code(&r), "dns_rejected");
    action_result_free(&r);
    assert_dig(host(f, "web-1.web"), "127.0.1.1");

    /* once the CNAME is gone, the retry goes through */
    patch_zone(f, "web", "CNAME", "DELETE", NULL);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_dig(host(f, "web-1.web"), "127.0.1.5");
    assert_dig(host(f, "web"), "127.0.1.2,127.0.1.5");
}

static void test_provider_none_does_nothing_and_says_so(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    create_group(f, "web", "none", NULL);
    put_node(f, "web", "web-1", "active", "127.0.1.1");
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, NULL), 0);
    assert_false(jx_bool(r.json, "changed", true));
    assert_true(jx_bool(r.json, "skipped", false));
    assert_string_equal(jx_str(r.json, "provider", ""), "none");
    action_result_free(&r);
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, NULL), 0);
    assert_true(jx_bool(r.json, "skipped", false));
    action_result_free(&r);
    /* an unknown node is still an error */
    assert_int_equal(dns(f, "dns_register", "web", "web-9", &r, NULL), 2);
    assert_string_equal(action_error_code(&r), "unknown_node");
    action_result_free(&r);
}

/* st2's timeout: SIGTERM while the server holds its answer. */
static void test_sigterm_ends_it_promptly(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    struct test_httpd *h = test_httpd_start();
    int out_fd, err_fd;

    assert_non_null(h);
    web_with_two_nodes(f);
    test_httpd_queue(h, &(struct test_httpd_reply){.status = 200, .delay_ms = 600000});
    snprintf(f->url_arg, sizeof f->url_arg, "--powerdns_api_url=%s/api/v1/servers/localhost",
             test_httpd_url(h));
    const char *args[] = {"--name=web", "--node=web-1", f->url_arg, f->key_arg, NULL};
    pid_t pid = action_start("dns_register", args, store_env(&f->st), &out_fd, &err_fd);
    for (int i = 0; i < 3000 && test_httpd_request_count(h) < 1; i++)
        usleep(10000);
    assert_int_equal(test_httpd_request_count(h), 1);
    kill(pid, SIGTERM);
    action_wait(pid, out_fd, err_fd, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
    test_httpd_stop(h);
}

/* ---- DigitalOcean, against the fake ---- */

static void do_group(struct fixture *f)
{
    f->fake = fake_do_dns_start(DO_TOKEN);
    assert_non_null(f->fake);
    assert_int_equal(fake_do_dns_add_domain(f->fake, DO_ZONE), 0);
    snprintf(f->url_arg, sizeof f->url_arg, "--digitalocean_api_url=%s",
             fake_do_dns_url(f->fake));
    snprintf(f->key_arg, sizeof f->key_arg, "--digitalocean_token=%s", DO_TOKEN);
    create_group(f, "web", "digitalocean", DO_ZONE);
    put_node(f, "web", "web-1", "active", "127.0.1.1");
    put_node(f, "web", "web-2", "active", "127.0.1.2");
}

static void assert_do(struct fixture *f, const char *name, const char *want)
{
    char *got = fake_do_dns_addresses(f->fake, DO_ZONE, name);
    if (strcmp(got, want) != 0)
        fail_msg("records %s: got [%s], want [%s]", name, got, want);
    free(got);
}

static void test_digitalocean_register_unregister(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    do_group(f);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_true(dns_ok(f, "dns_register", "web-2"));
    assert_false(dns_ok(f, "dns_register", "web-2"));
    assert_do(f, "web-1.web", "127.0.1.1");
    assert_do(f, "web-2.web", "127.0.1.2");
    assert_do(f, "web", "127.0.1.1,127.0.1.2");
    assert_int_equal(fake_do_dns_ttl(f->fake, DO_ZONE, "web"), 60);

    put_node(f, "web", "web-1", "draining", "127.0.1.1");
    assert_int_equal(dns(f, "dns_unregister", "web", "web-1", &r, NULL), 0);
    assert_true(jx_bool(r.json, "changed", false));
    assert_null(strstr(r.out, DO_TOKEN));
    assert_null(strstr(r.err, DO_TOKEN));
    action_result_free(&r);
    assert_do(f, "web-1.web", "");
    assert_do(f, "web", "127.0.1.2");
    assert_false(dns_ok(f, "dns_unregister", "web-1"));
    assert_int_equal(fake_do_dns_total(f->fake, DO_ZONE), 4 + 2); /* SOA, 3 NS, 2 A */
}

/* The group record's writes fail: the node's record made just before is
 * deleted again, so nothing is left half-done. */
static void test_digitalocean_group_failure_rolls_back(void **state)
{
    struct fixture *f = *state;
    struct action_result r;

    do_group(f);
    fake_do_dns_fail_name(f->fake, "web", 500);
    assert_int_equal(dns(f, "dns_register", "web", "web-1", &r, NULL), 1);
    assert_string_equal(action_error_code(&r), "dns_error");
    assert_non_null(strstr(r.out, "restored"));
    action_result_free(&r);
    assert_do(f, "web-1.web", "");
    assert_do(f, "web", "");
    assert_int_equal(fake_do_dns_total(f->fake, DO_ZONE), 4);

    fake_do_dns_fail_name(f->fake, NULL, 0);
    assert_true(dns_ok(f, "dns_register", "web-1"));
    assert_do(f, "web", "127.0.1.1,127.0.1.2");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_register_two_nodes_round_robin),
        T(test_register_again_changes_nothing),
        T(test_unregister_one_keeps_the_other),
        T(test_unregister_last_deletes_group_record),
        T(test_unregister_after_node_record_gone),
        T(test_unregister_in_retired_group),
        T(test_ttl_honoured_and_changed),
        T(test_record_template),
        T(test_group_settings_override),
        T(test_zone_missing_and_zone_not_found),
        T(test_wrong_api_key_changes_nothing_and_hides_key),
        T(test_key_never_printed),
        T(test_server_down_changes_nothing),
        T(test_bad_input_changes_nothing),
        T(test_group_record_failure_rolls_back),
        T(test_group_record_failure_restores_previous_address),
        T(test_provider_none_does_nothing_and_says_so),
        T(test_sigterm_ends_it_promptly),
        T(test_digitalocean_register_unregister),
        T(test_digitalocean_group_failure_rolls_back),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
