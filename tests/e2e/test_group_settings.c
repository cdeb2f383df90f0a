/* End-to-end tests of the trust boundary around a group's `settings`
 * (lib/model/settings.c, docs/security.md): asg_define and asg_update refuse
 * settings that would send the pack config's credentials elsewhere or run
 * a command, and store nothing; a spec that holds such a key anyway (an
 * older version, a hand-written record) is refused when an action would
 * use it, before anything is contacted, started or written; what a group
 * may choose still works, and so does an endpoint the operator listed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "action_run.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"
#include "test_httpd.h"

struct fixture {
    struct store_fixture st;
    struct test_httpd *rx; /* where a redirected credential would arrive */
    char pwned[160];       /* what a group's command would create */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(store_fixture_open(&f->st, "as-gset"), 0);
    f->rx = test_httpd_start();
    assert_non_null(f->rx);
    snprintf(f->pwned, sizeof f->pwned, "%s/pwned", f->st.dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    test_httpd_stop(f->rx);
    store_fixture_close(&f->st);
    free(f);
    return 0;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Store web's spec as an older version or a hand would have: no check. */
static void put_spec(struct fixture *f, const char *compute, const char *settings)
{
    char key[KEY_MAX], spec[2048];
    snprintf(spec, sizeof spec,
             "{\"name\":\"web\",\"min\":0,\"max\":20,\"compute_provider\":\"%s\","
             "\"dns_provider\":\"powerdns\",\"dns_zone\":\"example.com\","
             "\"lb_provider\":\"haproxy\",\"run_list\":\"recipe[web]\","
             "\"status\":\"active\",\"created_at\":1,"
             "\"updated_at\":1,\"settings\":%s}",
             compute, settings);
    store_put(&f->st, key_spec(key, "web"), spec);
}

static void put_active_node(struct fixture *f)
{
    store_put_node(&f->st, store_node_record("web", "web-1", "active", "127.0.1.1", 80, NULL));
}

/* What each refused settings object tries, and the code it gets. */
struct bad_case {
    const char *settings, *code;
};

static void bad_cases(struct fixture *f, struct bad_case *out, char bufs[][256])
{
    const char *url = test_httpd_url(f->rx);
    snprintf(bufs[0], 256, "{\"powerdns\": {\"api_url\": \"%s/api/v1/servers/localhost\"}}", url);
    snprintf(bufs[1], 256, "{\"openstack\": {\"auth_url\": \"%s/v3\"}}", url);
    snprintf(bufs[2], 256, "{\"local\": {\"command\": \"touch %s\"}}", f->pwned);
    snprintf(bufs[3], 256, "{\"digitalocean\": {\"api_url\": \"%s\"}}", url);
    snprintf(bufs[4], 256, "{\"haproxy\": {\"socket\": \"%s/evil.sock\"}}", f->st.dir);
    snprintf(bufs[5], 256, "{\"local\": {\"dir\": \"%s/elsewhere\"}}", f->st.dir);
    const char *fixed[] = {
        "{\"chef\": {\"cookbooks_url\": \"https://evil.example/x.tar.gz\"}}",
        "{\"openstack\": {\"region\": \"RegionTwo\", \"password\": \"pw\"}}",
        "{\"openstack\": {\"application_credential_secret\": \"s\"}}",
        "{\"digitalocean\": {\"token\": \"t\"}}",
        "{\"powerdns\": {\"api_key\": \"k\", \"ttl\": 90}}",
        "{\"openstack\": {\"ca_bundle\": \"/etc/passwd\"}}",
        "{\"openstack\": {\"regoin\": \"RegionTwo\"}}",
        "{\"ssh\": {\"user\": \"root\"}}",
    };
    size_t n = 0;
    for (; n < 6; n++)
        out[n] = (struct bad_case){bufs[n], "setting_not_allowed"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        out[n++] = (struct bad_case){fixed[i], "setting_not_allowed"};
    out[n++] = (struct bad_case){"{\"powerdns\": {\"ttl\": \"ninety\"}}", "bad_settings"};
    out[n++] = (struct bad_case){"{\"local\": {\"port\": 0}}", "bad_settings"};
    out[n++] = (struct bad_case){"{\"openstack\": \"RegionTwo\"}", "bad_settings"};
    out[n] = (struct bad_case){NULL, NULL};
}

static void assert_refused(struct action_result *r, int rc, const char *code, const char *what)
{
    if (rc != 2 || strcmp(action_error_code(r), code) != 0)
        fail_msg("%s: exit %d, %s (want 2, %s)", what, rc, r->out, code);
    /* one line of JSON */
    assert_non_null(r->json);
    const char *nl = strchr(r->out, '\n');
    assert_true(nl == NULL || nl[1] == '\0');
}

/* ---- asg_define / asg_update ---- */

static void test_define_refuses_and_stores_nothing(void **state)
{
    struct fixture *f = *state;
    struct bad_case cases[24];
    char bufs[6][256];
    bad_cases(f, cases, bufs);
    for (size_t i = 0; cases[i].settings; i++) {
        struct action_result r;
        const char *args[] = {"--compute_provider=local", "--name=web", "--min=0",
                              cases[i].settings, NULL};
        assert_refused(&r, store_runv(&f->st, "asg_define", args, &r), cases[i].code,
                       cases[i].settings);
        assert_null(strstr(r.out, "127.0.0.1"));
        action_result_free(&r);
        assert_int_equal(store_count(&f->st, KEY_ROOT), 0);
    }
    assert_false(exists(f->pwned));
    assert_int_equal(test_httpd_request_count(f->rx), 0);
}

static void test_update_refuses_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *create[] = {"--compute_provider=local", "--name=web", "--min=0", "--max=5",
                            "{\"openstack\": {\"region\": \"RegionOne\"}}", NULL};
    assert_int_equal(store_runv(&f->st, "asg_define", create, &r), 0);
    action_result_free(&r);
    char *before = store_snapshot(&f->st);

    struct bad_case cases[24];
    char bufs[6][256];
    bad_cases(f, cases, bufs);
    for (size_t i = 0; cases[i].settings; i++) {
        /* with a good change beside it: nothing of either is kept */
        const char *args[] = {"--name=web", "--max=9", cases[i].settings, NULL};
        assert_refused(&r, store_runv(&f->st, "asg_update", args, &r), cases[i].code,
                       cases[i].settings);
        action_result_free(&r);
        char *after = store_snapshot(&f->st);
        assert_string_equal(after, before);
        free(after);
    }
    free(before);
    assert_false(exists(f->pwned));
    assert_int_equal(test_httpd_request_count(f->rx), 0);
}

/* What a group may choose still goes through, at define and at update. */
static void test_allowed_overrides_still_work(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *create[] = {
        "--compute_provider=openstack", "--name=web", "--min=0",
        "{\"openstack\": {\"region\": \"RegionTwo\", \"flavor\": \"m1.small\", "
        "\"interface\": \"internal\"}, \"powerdns\": {\"ttl\": 90, "
        "\"record_template\": \"{node}-{group}.{zone}\"}, \"haproxy\": {\"check\": false}, "
        "\"chef\": {\"chef_environment\": \"staging\", \"attributes\": {\"tier\": \"api\"}}}",
        NULL};
    assert_int_equal(store_runv(&f->st, "asg_define", create, &r), 0);
    struct json_object *s = jx_obj(jx_obj(r.json, "group"), "settings");
    assert_string_equal(jx_str(jx_obj(s, "openstack"), "region", ""), "RegionTwo");
    assert_int_equal(jx_int(jx_obj(s, "powerdns"), "ttl", 0), 90);
    action_result_free(&r);

    const char *update[] = {"--name=web", "{\"openstack\": {\"region\": \"RegionThree\"}}", NULL};
    assert_int_equal(store_runv(&f->st, "asg_update", update, &r), 0);
    assert_true(jx_bool(r.json, "updated", false));
    action_result_free(&r);
    const char *get[] = {"--name=web", NULL};
    assert_int_equal(store_runv(&f->st, "asg_get", get, &r), 0);
    s = jx_obj(jx_obj(r.json, "group"), "settings");
    assert_string_equal(jx_str(jx_obj(s, "openstack"), "region", ""), "RegionThree");
    assert_null(jx_obj(s, "powerdns"));
    action_result_free(&r);
}

/* An endpoint the operator listed may be named, that exact value only; a
 * list that does not parse refuses rather than allowing nothing or more. */
static void test_operator_allow_list(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *allow = "--group_endpoints_allowed=powerdns.api_url=https://pdns-b.example/api,"
                        "haproxy.socket=/run/haproxy/b.sock";
    const char *ok[] = {"--compute_provider=local", "--name=web", "--min=0", allow,
                        "{\"powerdns\": {\"api_url\": \"https://pdns-b.example/api\"}}", NULL};
    assert_int_equal(store_runv(&f->st, "asg_define", ok, &r), 0);
    action_result_free(&r);
    const char *other[] = {"--name=web", allow,
                           "{\"powerdns\": {\"api_url\": \"https://pdns-c.example/api\"}}", NULL};
    assert_refused(&r, store_runv(&f->st, "asg_update", other, &r), "setting_not_allowed",
                   "unlisted value");
    action_result_free(&r);
    const char *sock[] = {"--name=web", allow,
                          "{\"haproxy\": {\"socket\": \"/run/haproxy/b.sock\"}}", NULL};
    assert_int_equal(store_runv(&f->st, "asg_update", sock, &r), 0);
    action_result_free(&r);
    /* a list cannot make a command or a credential a group's */
    const char *cmd[] = {"--name=web", "--group_endpoints_allowed=local.command=true",
                         "{\"local\": {\"command\": \"true\"}}", NULL};
    assert_refused(&r, store_runv(&f->st, "asg_update", cmd, &r), "invalid_parameter",
                   "command in the allow-list");
    action_result_free(&r);
    const char *junk[] = {"--name=web", "--group_endpoints_allowed=https://pdns-b.example/api",
                          NULL};
    assert_refused(&r, store_runv(&f->st, "asg_update", junk, &r), "invalid_parameter",
                   "malformed allow-list");
    action_result_free(&r);
}

/* ---- a stored spec, refused when used ---- */

static void test_stored_powerdns_url_refused_at_use(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char settings[256], allow[256];
    snprintf(settings, sizeof settings,
             "{\"powerdns\": {\"api_url\": \"%s/api/v1/servers/localhost\"}}",
             test_httpd_url(f->rx));
    put_spec(f, "local", settings);
    put_active_node(f);
    char *before = store_snapshot(&f->st);
    const char *args[] = {"--name=web", "--node=web-1", "--powerdns_api_key=pdns-key-secret",
                          NULL};
    assert_refused(&r, store_runv(&f->st, "dns_register", args, &r), "setting_not_allowed",
                   "dns_register");
    assert_non_null(strstr(r.out, "powerdns.api_url"));
    action_result_free(&r);
    assert_refused(&r, store_runv(&f->st, "dns_unregister", args, &r), "setting_not_allowed",
                   "dns_unregister");
    action_result_free(&r);
    assert_int_equal(test_httpd_request_count(f->rx), 0);
    char *after = store_snapshot(&f->st);
    assert_string_equal(after, before);
    free(after);
    free(before);

    /* once the operator lists it, the group's server is the one asked */
    snprintf(allow, sizeof allow,
             "--group_endpoints_allowed=powerdns.api_url=%s/api/v1/servers/localhost",
             test_httpd_url(f->rx));
    test_httpd_queue_simple(f->rx, 404, "{\"error\": \"Not Found\"}");
    const char *listed[] = {"--name=web", "--node=web-1", "--powerdns_api_key=pdns-key-secret",
                            allow, NULL};
    assert_int_equal(store_runv(&f->st, "dns_register", listed, &r), 2);
    action_result_free(&r);
    assert_true(test_httpd_request_count(f->rx) >= 1);
    assert_string_equal(test_httpd_header(test_httpd_request_at(f->rx, 0), "X-API-Key"),
                        "pdns-key-secret");
}

static void test_stored_openstack_auth_url_refused_at_use(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char settings[256];
    snprintf(settings, sizeof settings, "{\"openstack\": {\"auth_url\": \"%s/v3\"}}",
             test_httpd_url(f->rx));
    put_spec(f, "openstack", settings);
    const char *args[] = {"--name=web", "--node=web-2", "--deadline=5",
                          "--openstack_auth_url=https://keystone.invalid/v3",
                          "--openstack_username=admin", "--openstack_password=os-pw-secret",
                          "--openstack_project_name=p", NULL};
    assert_refused(&r, store_runv(&f->st, "add_node", args, &r), "setting_not_allowed",
                   "add_node");
    assert_null(strstr(r.out, "os-pw-secret"));
    action_result_free(&r);
    const char *list[] = {"--name=web", "--openstack_password=os-pw-secret", NULL};
    assert_refused(&r, store_runv(&f->st, "node_list", list, &r), "setting_not_allowed",
                   "node_list");
    action_result_free(&r);
    assert_refused(&r, store_runv(&f->st, "reconcile", list, &r), "setting_not_allowed",
                   "reconcile");
    action_result_free(&r);
    assert_int_equal(test_httpd_request_count(f->rx), 0);
    /* refused before the node's record is written: no phantom capacity */
    char prefix[KEY_MAX];
    assert_int_equal(store_count(&f->st, key_node_prefix(prefix, "web")), 0);
}

static void test_stored_local_command_and_dir_refused_at_use(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char settings[256], dir[200], elsewhere[200], prefix[KEY_MAX];
    snprintf(dir, sizeof dir, "--local_dir=%s/local", f->st.dir);
    snprintf(settings, sizeof settings, "{\"local\": {\"command\": \"touch %s\"}}", f->pwned);
    put_spec(f, "local", settings);
    const char *args[] = {"--name=web", "--node=web-3", "--deadline=5", "--local_port=18097",
                          dir, NULL};
    assert_refused(&r, store_runv(&f->st, "add_node", args, &r), "setting_not_allowed",
                   "add_node with a command");
    action_result_free(&r);
    assert_false(exists(f->pwned));
    assert_int_equal(store_count(&f->st, key_node_prefix(prefix, "web")), 0);

    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", f->st.dir);
    snprintf(settings, sizeof settings, "{\"local\": {\"dir\": \"%s\"}}", elsewhere);
    put_spec(f, "local", settings);
    assert_refused(&r, store_runv(&f->st, "add_node", args, &r), "setting_not_allowed",
                   "add_node with a dir");
    action_result_free(&r);
    assert_false(exists(elsewhere));
    assert_int_equal(store_count(&f->st, key_node_prefix(prefix, "web")), 0);
}

/* A UNIX socket nobody answers on: a connection attempt waits in its
 * backlog, so a non-blocking accept afterwards tells whether one came. */
static int listen_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    return fd;
}

static bool connected_to(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int c = accept(fd, NULL, NULL);
    if (c >= 0) {
        close(c);
        return true;
    }
    return errno != EAGAIN && errno != EWOULDBLOCK;
}

static void test_stored_haproxy_socket_refused_at_use(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char evil[160], settings[256], sock[200];
    snprintf(evil, sizeof evil, "%s/evil.sock", f->st.dir);
    int fd = listen_unix(evil);
    snprintf(settings, sizeof settings, "{\"haproxy\": {\"socket\": \"%s\"}}", evil);
    snprintf(sock, sizeof sock, "--haproxy_socket=%s/real.sock", f->st.dir);
    put_spec(f, "local", settings);
    put_active_node(f);
    const char *add[] = {"--name=web", "--node=web-1", sock, NULL};
    assert_refused(&r, store_runv(&f->st, "lb_add", add, &r), "setting_not_allowed", "lb_add");
    action_result_free(&r);
    const char *sync[] = {"--name=web", sock, NULL};
    assert_refused(&r, store_runv(&f->st, "lb_sync", sync, &r), "setting_not_allowed",
                   "lb_sync");
    action_result_free(&r);
    assert_false(connected_to(fd));
    close(fd);
}

static void test_stored_chef_cookbooks_url_refused_at_use(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    put_spec(f, "local", "{\"chef\": {\"cookbooks_url\": \"https://evil.example/x.tar.gz\"}}");
    put_active_node(f);
    char kh[200];
    snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s/known_hosts", f->st.dir);
    const char *args[] = {"--name=web", "--node=web-1", "--ssh_port=1",
                          "--ssh_private_key_file=/nonexistent/key", kh, NULL};
    assert_refused(&r, store_runv(&f->st, "chef_bootstrap", args, &r), "setting_not_allowed",
                   "chef_bootstrap");
    assert_non_null(strstr(r.out, "chef.cookbooks_url"));
    action_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_define_refuses_and_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_refuses_and_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_allowed_overrides_still_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operator_allow_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_powerdns_url_refused_at_use, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stored_openstack_auth_url_refused_at_use, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stored_local_command_and_dir_refused_at_use, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stored_haproxy_socket_refused_at_use, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stored_chef_cookbooks_url_refused_at_use, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
