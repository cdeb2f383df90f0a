/* Tests of the Chef area under chef.h (chef_int.h) without SSH: shell quoting checked by a real /bin/sh,
 * the bootstrap script run locally against the chef stub (so what the stub
 * records is exactly what a node would be asked), run lists, RSA keys, and
 * the Chef Server API signing checked by Debian's reference verifier
 * (ruby-mixlib-authentication, tests/chef/verify_signature.rb). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chef_int.h"
#include "chef_server.h"
#include "http.h"
#include "jsonx.h"
#include "sshd_server.h"

struct fixture {
    char dir[64];
    char cwd[1024]; /* the repository root: tests/ paths are relative to it */
    struct chef_fake chef;
    struct chef_key *admin;
    int n;
};

/* Values no shell word may be broken out of. */
static const char *const nasty[] = {
    "it's",          "a'b'c''",        "$(touch PWNED)", "`touch PWNED`", "x; touch PWNED",
    "a\nb\n",        "\\'\\",          "\"quoted\" $HOME", "*",            "-j",
    " lead & trail ", "tab\there",     "caf\xc3\xa9",     "'",             "&& touch PWNED ||",
};
#define NNASTY (sizeof nasty / sizeof nasty[0])

static int group_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct as_error err;
    char cdir[96];
    snprintf(f->dir, sizeof f->dir, "/tmp/as-chef-XXXXXX");
    if (!mkdtemp(f->dir) || !getcwd(f->cwd, sizeof f->cwd))
        return -1;
    snprintf(cdir, sizeof cdir, "%s/server", f->dir);
    mkdir(cdir, 0700);
    if (chef_fake_start(&f->chef, cdir, "admin") < 0)
        return -1;
    f->admin = chef_key_load_file(f->chef.admin_key, &err);
    if (!f->admin)
        return -1;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];
    if (!f)
        return 0;
    chef_fake_stop(&f->chef);
    chef_key_free(f->admin);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static char *path_in(struct fixture *f, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", f->dir, name) < 0)
        abort();
    return p;
}

/* ----------------------------------------------------------- quoting -- */

static void test_shell_quote_round_trips_through_sh(void **state)
{
    struct fixture *f = *state;
    char out[256];
    assert_int_equal(chdir(f->dir), 0);
    for (size_t i = 0; i < NNASTY; i++) {
        char *q = chef_shell_quote(nasty[i]), *cmd = NULL;
        assert_int_equal(asprintf(&cmd, "printf '%%s' %s", q) > 0, 1);
        const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        assert_int_equal(sshd_run(argv, out, sizeof out), 0);
        assert_string_equal(out, nasty[i]);
        free(cmd);
        free(q);
    }
    assert_int_equal(access("PWNED", F_OK), -1);
    char *q = chef_shell_quote("");
    assert_string_equal(q, "''");
    free(q);
    q = chef_shell_quote("it's");
    assert_string_equal(q, "'it'\\''s'");
    free(q);
    assert_int_equal(chdir(f->cwd), 0);
}

/* --------------------------------------------------------- run lists -- */

static void test_run_list_parse(void **state)
{
    (void)state;
    struct json_object *items;
    struct as_error err;
    assert_int_equal(chef_run_list_parse("web, role[base],nginx::default@1.2.0 ,recipe[x_y-z]",
                                         &items, &err),
                     0);
    assert_string_equal(json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN),
                        "[\"recipe[web]\",\"role[base]\",\"recipe[nginx::default@1.2.0]\","
                        "\"recipe[x_y-z]\"]");
    json_object_put(items);
    assert_int_equal(chef_run_list_parse(NULL, &items, &err), 0);
    assert_int_equal(json_object_array_length(items), 0);
    json_object_put(items);

    static const char *const bad[] = {"web,,db", "recipe[]", "role[x", "recipe[a b]",
                                      "web;reboot", "recipe[$(id)]", "web\n", "x'y",
                                      "environment[prod]", ","};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (chef_run_list_parse(bad[i], &items, &err) != -1)
            fail_msg("run list '%s' accepted", bad[i]);
        assert_null(items);
        assert_string_equal(err.code, "invalid_parameter");
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
}

/* ------------------------------------------------------- the script -- */

/* A node of our own in dir: the stub installed as bin/<program>. */
static void make_node(const char *dir, const char *program)
{
    char path[256];
    snprintf(path, sizeof path, "%s/bin", dir);
    mkdir(dir, 0700);
    mkdir(path, 0700);
    if (!program)
        return;
    char *stub = sshd_read_file("tests/support/chef_stub.sh", NULL);
    assert_non_null(stub);
    snprintf(path, sizeof path, "%s/bin/%s", dir, program);
    assert_int_equal(sshd_write_file(path, stub, 0755), 0);
    free(stub);
}

/* Run a script the way the node would: sh, from a file. */
static int run_script(struct fixture *f, const char *script, char *out, size_t outsz)
{
    char *file = path_in(f, "script.sh");
    assert_int_equal(sshd_write_file(file, script, 0600), 0);
    const char *argv[] = {"/bin/sh", file, NULL};
    assert_int_equal(chdir(f->dir), 0);
    int rc = sshd_run(argv, out, outsz);
    assert_int_equal(chdir(f->cwd), 0);
    free(file);
    return rc;
}

/* The NUL-separated argv the stub recorded, as a JSON array. */
static struct json_object *recorded_argv(const char *node_dir)
{
    char path[256];
    size_t len;
    snprintf(path, sizeof path, "%s/record/argv", node_dir);
    char *raw = sshd_read_file(path, &len);
    assert_non_null(raw);
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < len; i += strlen(raw + i) + 1)
        json_object_array_add(a, json_object_new_string(raw + i));
    free(raw);
    return a;
}

static const char *arg(struct json_object *a, size_t i)
{
    return i < json_object_array_length(a)
               ? json_object_get_string(json_object_array_get_idx(a, i))
               : "(missing)";
}

static void test_solo_script_passes_values_exactly(void **state)
{
    struct fixture *f = *state;
    char *node = path_in(f, "node-solo"), *prog = NULL, out[8192];
    make_node(node, "chef-solo");
    assert_int_equal(asprintf(&prog, "%s/bin/chef-solo", node) > 0, 1);

    for (size_t i = 0; i < NNASTY; i++) {
        struct json_object *rl = json_object_new_array();
        json_object_array_add(rl, json_object_new_string("recipe[web]"));
        json_object_array_add(rl, json_object_new_string(nasty[i]));
        struct json_object *attrs = json_object_new_object();
        jx_add_str(attrs, "value", nasty[i]);
        char *attr_text = jx_dump(attrs);
        struct chef_run r = {
            .program = prog, .install_command = "exit 99", .license = nasty[i],
            .run_list = rl, .attributes = attr_text, .environment = nasty[i],
            .node_name = nasty[i], .cookbooks_url = nasty[i],
        };
        char *script = chef_script(&r);
        assert_non_null(script);
        if (run_script(f, script, out, sizeof out) != 0)
            fail_msg("value %zu: the script failed: %s", i, out);

        struct json_object *a = recorded_argv(node);
        char want_rl[128];
        snprintf(want_rl, sizeof want_rl, "recipe[web],%s", nasty[i]);
        assert_int_equal(json_object_array_length(a), 10);
        assert_string_equal(arg(a, 0), "-j");
        assert_string_equal(arg(a, 2), "-N");
        assert_string_equal(arg(a, 3), nasty[i]);
        assert_string_equal(arg(a, 4), "-o");
        assert_string_equal(arg(a, 5), want_rl);
        assert_string_equal(arg(a, 6), "--recipe-url");
        assert_string_equal(arg(a, 7), nasty[i]);
        assert_string_equal(arg(a, 8), "-E");
        assert_string_equal(arg(a, 9), nasty[i]);

        char path[300], want[512];
        snprintf(path, sizeof path, "%s/record/attrs.json", node);
        char *got = sshd_read_file(path, NULL);
        snprintf(want, sizeof want, "%s\n", attr_text);
        assert_string_equal(got, want);
        free(got);
        snprintf(path, sizeof path, "%s/record/env", node);
        got = sshd_read_file(path, NULL);
        snprintf(want, sizeof want, "CHEF_LICENSE=%s\n", nasty[i]);
        assert_memory_equal(got, want, strlen(want));
        free(got);
        /* the attributes file is private and gone afterwards */
        assert_int_equal(access(arg(a, 1), F_OK), -1);

        json_object_put(a);
        free(script);
        free(attr_text);
        json_object_put(attrs);
        json_object_put(rl);
    }
    char *pwned = path_in(f, "PWNED");
    assert_int_equal(access(pwned, F_OK), -1);
    free(pwned);
    free(prog);
    free(node);
}

static void test_solo_script_minimal(void **state)
{
    struct fixture *f = *state;
    char *node = path_in(f, "node-min"), *prog = NULL, out[4096];
    make_node(node, "chef-solo");
    assert_int_equal(asprintf(&prog, "%s/bin/chef-solo", node) > 0, 1);
    struct json_object *rl = json_object_new_array();
    struct chef_run r = {.program = prog, .install_command = "exit 99", .node_name = "web-1",
                         .run_list = rl, .environment = "_default"};
    char *script = chef_script(&r);
    assert_int_equal(run_script(f, script, out, sizeof out), 0);
    /* no run list, no URL, the default environment: no options for them */
    struct json_object *a = recorded_argv(node);
    assert_int_equal(json_object_array_length(a), 4);
    assert_string_equal(arg(a, 2), "-N");
    assert_string_equal(arg(a, 3), "web-1");
    char path[300];
    snprintf(path, sizeof path, "%s/record/env", node);
    char *env = sshd_read_file(path, NULL);
    assert_non_null(strstr(env, "CHEF_LICENSE=<unset>"));
    free(env);
    json_object_put(a);
    json_object_put(rl);
    free(script);
    free(prog);
    free(node);
}

static void test_install_only_when_absent(void **state)
{
    struct fixture *f = *state;
    char *node = path_in(f, "node-install"), *prog = NULL, *install = NULL, out[4096];
    char *log = path_in(f, "installs.log");
    make_node(node, NULL);
    assert_int_equal(asprintf(&prog, "%s/bin/chef-solo", node) > 0, 1);
    assert_int_equal(asprintf(&install,
                              "cp tests/support/chef_stub.sh '%s' && chmod 755 '%s' && "
                              "echo installed >> '%s'",
                              prog, prog, log) > 0,
                     1);
    struct json_object *rl = json_object_new_array();
    struct chef_run r = {.program = prog, .install_command = install, .node_name = "web-1",
                         .run_list = rl};
    char *script = chef_script(&r);

    /* the install command runs from the node's working directory: the
     * repository root here, where the stub lives */
    char *file = path_in(f, "install.sh");
    assert_int_equal(sshd_write_file(file, script, 0600), 0);
    const char *argv[] = {"/bin/sh", file, NULL};
    assert_int_equal(sshd_run(argv, out, sizeof out), 0);
    assert_non_null(strstr(out, "not found: installing the Chef client"));
    assert_int_equal(sshd_run(argv, out, sizeof out), 0);
    assert_null(strstr(out, "installing"));
    char *installs = sshd_read_file(log, NULL);
    assert_string_equal(installs, "installed\n");
    free(installs);
    free(script);

    /* an install that fails, and one that installs nothing */
    char *absent = NULL;
    assert_int_equal(asprintf(&absent, "%s/bin/cinc-solo", node) > 0, 1);
    r.program = absent;
    r.install_command = "echo no network; exit 9";
    script = chef_script(&r);
    assert_int_equal(run_script(f, script, out, sizeof out), 9);
    assert_non_null(strstr(out, "installing the Chef client failed (status 9)"));
    free(script);
    r.install_command = "true";
    script = chef_script(&r);
    assert_int_equal(run_script(f, script, out, sizeof out), 127);
    assert_non_null(strstr(out, "still missing"));
    free(script);

    free(absent);
    json_object_put(rl);
    free(file);
    free(log);
    free(install);
    free(prog);
    free(node);
}

static void test_client_script_writes_config_and_key(void **state)
{
    struct fixture *f = *state;
    char *node = path_in(f, "node-client"), *prog = NULL, *cfg = path_in(f, "etc-chef"),
         out[4096];
    make_node(node, "chef-client");
    assert_int_equal(asprintf(&prog, "%s/bin/chef-client", node) > 0, 1);
    const char *key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA'$(x)\n"
                      "-----END RSA PRIVATE KEY-----\n";
    struct json_object *rl = json_object_new_array();
    struct chef_run r = {
        .client = true, .program = prog, .install_command = "exit 99",
        .attributes = "{\"a\":1}", .environment = "production", .node_name = "web-1",
        .run_list = rl, .server_url = "https://chef.example.com/organizations/acme",
        .client_key = key, .config_dir = cfg,
    };
    char *script = chef_script(&r);
    assert_int_equal(run_script(f, script, out, sizeof out), 0);

    struct json_object *a = recorded_argv(node);
    char want[512];
    assert_int_equal(json_object_array_length(a), 6);
    snprintf(want, sizeof want, "%s/client.rb", cfg);
    assert_string_equal(arg(a, 0), "-c");
    assert_string_equal(arg(a, 1), want);
    assert_string_equal(arg(a, 2), "-j");
    assert_string_equal(arg(a, 4), "-E");
    assert_string_equal(arg(a, 5), "production");
    json_object_put(a);

    char path[300];
    struct stat st;
    snprintf(path, sizeof path, "%s/client.pem", cfg);
    char *got = sshd_read_file(path, NULL);
    snprintf(want, sizeof want, "%s\n", key);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/client.rb", cfg);
    got = sshd_read_file(path, NULL);
    snprintf(want, sizeof want,
             "# written by autoscale chef_bootstrap\n"
             "chef_server_url 'https://chef.example.com/organizations/acme'\n"
             "node_name 'web-1'\n"
             "client_key '%s/client.pem'\n"
             "environment 'production'\n",
             cfg);
    assert_string_equal(got, want);
    free(got);
    json_object_put(rl);
    free(script);
    free(cfg);
    free(prog);
    free(node);
}

/* With sudo, every privileged step goes through `sudo -n`, the licence
 * survives it (env), and the key goes through a pipe, never an argument.
 * A stand-in sudo on PATH records its arguments (sudo is not installed on
 * the test machines, and root needs none). */
static void test_sudo_script(void **state)
{
    struct fixture *f = *state;
    char *node = path_in(f, "node-sudo"), *cfg = path_in(f, "etc-chef-sudo");
    char *fakebin = path_in(f, "fakebin"), *log = path_in(f, "sudo.log");
    char *prog = NULL, *sudo = NULL, *sudo_text = NULL, *install = NULL, out[4096];
    make_node(node, NULL);
    mkdir(fakebin, 0700);
    assert_int_equal(asprintf(&prog, "%s/bin/chef-client", node) > 0, 1);
    assert_int_equal(asprintf(&sudo, "%s/sudo", fakebin) > 0, 1);
    assert_int_equal(asprintf(&sudo_text,
                              "#!/bin/sh\n[ \"$1\" = -n ] || exit 99\nshift\n"
                              "printf '%%s|' \"$@\" >> '%s'\necho >> '%s'\nexec \"$@\"\n",
                              log, log) > 0,
                     1);
    assert_int_equal(sshd_write_file(sudo, sudo_text, 0755), 0);
    assert_int_equal(asprintf(&install, "cp '%s/tests/support/chef_stub.sh' '%s'", f->cwd,
                              prog) > 0,
                     1);
    const char *key = "-----BEGIN RSA PRIVATE KEY-----\nSECRETKEYMATERIAL0123456789\n"
                      "-----END RSA PRIVATE KEY-----\n";
    struct json_object *rl = json_object_new_array();
    struct chef_run r = {
        .client = true, .sudo = true, .program = prog, .install_command = install,
        .license = "accept-silent", .attributes = "{}", .node_name = "web-1", .run_list = rl,
        .server_url = "https://chef.example.com/organizations/acme", .client_key = key,
        .config_dir = cfg,
    };
    char *script = chef_script(&r);
    char *file = path_in(f, "sudo.sh"), *path_env = NULL;
    assert_int_equal(sshd_write_file(file, script, 0600), 0);
    assert_int_equal(asprintf(&path_env, "PATH=%s:%s", fakebin, getenv("PATH")) > 0, 1);
    const char *argv[] = {"env", path_env, "/bin/sh", file, NULL};
    assert_int_equal(sshd_run(argv, out, sizeof out), 0);

    char *got = sshd_read_file(log, NULL), want[2048];
    snprintf(want, sizeof want,
             "sh|-c|%s|\n"
             "mkdir|-p|%s|\n"
             "sh|-c|umask 077; cat >\"$1\"|sh|%s/client.pem|\n"
             "sh|-c|umask 077; cat >\"$1\"|sh|%s/client.rb|\n"
             "env|CHEF_LICENSE=accept-silent|%s|-c|%s/client.rb|-j|",
             install, cfg, cfg, cfg, prog, cfg);
    assert_memory_equal(got, want, strlen(want));
    assert_null(strstr(got, "SECRETKEYMATERIAL"));
    free(got);
    char rec[300];
    snprintf(rec, sizeof rec, "%s/record/env", node);
    got = sshd_read_file(rec, NULL);
    assert_non_null(strstr(got, "CHEF_LICENSE=accept-silent"));
    free(got);

    free(path_env);
    free(file);
    free(script);
    json_object_put(rl);
    free(install);
    free(sudo_text);
    free(sudo);
    free(prog);
    free(log);
    free(fakebin);
    free(cfg);
    free(node);
}

/* ------------------------------------------------------------- keys -- */

static void test_key_forms(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    char *pkcs8 = sshd_read_file(f->chef.admin_key, NULL); /* genrsa: PKCS#8 */
    struct chef_key *k = chef_key_load(pkcs8, "test", &err);
    assert_non_null(k);
    char *trad = chef_key_private_pem(k);
    assert_non_null(strstr(trad, "-----BEGIN RSA PRIVATE KEY-----"));
    struct chef_key *k2 = chef_key_load(trad, "test", &err);
    assert_non_null(k2);
    char *pub1 = chef_key_public_pem(k), *pub2 = chef_key_public_pem(k2);
    assert_string_equal(pub1, pub2);
    assert_non_null(strstr(pub1, "-----BEGIN PUBLIC KEY-----"));

    /* one line with literal \n, as a pasted config value */
    char *flat = calloc(1, strlen(trad) * 2 + 1), *w = flat;
    for (const char *p = trad; *p; p++)
        if (*p == '\n')
            *w++ = '\\', *w++ = 'n';
        else
            *w++ = *p;
    struct chef_key *k3 = chef_key_load(flat, "test", &err);
    assert_non_null(k3);
    chef_key_free(k3);

    assert_null(chef_key_load("not a key", "parameter 'chef_client_key'", &err));
    assert_string_equal(err.code, "invalid_private_key");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    /* an ed25519 key is a key, but Chef signs with RSA */
    char *ed = path_in(f, "ed.pem");
    const char *gen[] = {"openssl", "genpkey", "-algorithm", "ed25519", "-out", ed, NULL};
    assert_int_equal(sshd_run(gen, NULL, 0), 0);
    assert_null(chef_key_load_file(ed, &err));
    assert_string_equal(err.code, "invalid_private_key");
    char *missing = path_in(f, "missing.pem");
    assert_null(chef_key_load_file(missing, &err));
    assert_string_equal(err.code, "invalid_private_key");

    free(missing);
    free(ed);
    free(flat);
    free(pub1);
    free(pub2);
    free(trad);
    free(pkcs8);
    chef_key_free(k);
    chef_key_free(k2);
}

/* ---------------------------------------------------------- signing -- */

static void test_canonical_request(void **state)
{
    (void)state;
    char *c = chef_canonical_request("POST", "/organizations//acme/nodes/", "{}", 2,
                                     "2024-01-02T03:04:05Z", "admin");
    assert_string_equal(c, "Method:POST\n"
                           "Path:/organizations/acme/nodes\n"
                           "X-Ops-Content-Hash:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=\n"
                           "X-Ops-Sign:version=1.3\n"
                           "X-Ops-Timestamp:2024-01-02T03:04:05Z\n"
                           "X-Ops-UserId:admin\n"
                           "X-Ops-Server-API-Version:1");
    free(c);
    c = chef_canonical_request("GET", "/", NULL, 0, "t", "u");
    assert_non_null(strstr(c, "Path:/\n"));
    assert_non_null(strstr(c, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    free(c);
}

static void test_sign_headers(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    char **h = chef_sign(f->admin, "admin", "GET", "/nodes", "", 0, 1704164645, &err);
    assert_non_null(h);
    assert_string_equal(h[0], "X-Ops-Sign: algorithm=sha256;version=1.3");
    assert_string_equal(h[1], "X-Ops-Userid: admin");
    assert_string_equal(h[2], "X-Ops-Timestamp: 2024-01-02T03:04:05Z");
    assert_string_equal(h[3], "X-Ops-Content-Hash: 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_string_equal(h[4], "X-Ops-Server-API-Version: 1");
    /* a 2048-bit signature: 344 base64 characters in lines of 60 */
    size_t total = 0, i;
    for (i = 5; h[i]; i++) {
        char name[64];
        snprintf(name, sizeof name, "X-Ops-Authorization-%zu: ", i - 4);
        assert_memory_equal(h[i], name, strlen(name));
        size_t n = strlen(h[i]) - strlen(name);
        assert_true(n == 60 || !h[i + 1]);
        total += n;
    }
    assert_int_equal(i - 5, 6);
    assert_int_equal(total, 344);
    chef_headers_free(h);
}

/* Send a request signed for (sign_method, sign_path, sign_body) but
 * carrying (method, path, body): the server's verdict. */
static long send_signed(struct fixture *f, const struct chef_key *key, const char *user,
                        const char *sign_method, const char *sign_path, const char *sign_body,
                        const char *method, const char *path, const char *body, time_t when)
{
    struct as_error err;
    struct http_options ho;
    http_options_default(&ho);
    ho.max_attempts = 1;
    struct http_client *c = http_client_new(&ho, &err);
    char **sig = chef_sign(key, user, sign_method, sign_path, sign_body, strlen(sign_body), when,
                           &err);
    const char *headers[16] = {"Accept: application/json", "Content-Type: application/json"};
    size_t n = 2;
    for (size_t i = 0; sig[i]; i++)
        headers[n++] = sig[i];
    char url[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->chef.port, path);
    struct http_request req = {.method = method, .url = url, .headers = headers,
                               .body = *body ? body : NULL, .body_len = strlen(body)};
    struct http_response resp;
    assert_int_equal(http_do(c, &req, &resp, &err), 0);
    long status = resp.status;
    http_response_clear(&resp);
    chef_headers_free(sig);
    http_client_free(c);
    return status;
}

static void test_mixlib_verifies_our_signature(void **state)
{
    struct fixture *f = *state;
    const char *nodes = "/organizations/test/nodes";
    const char *body = "{\"name\":\"sig-test\",\"run_list\":[]}";
    const char *other = "{\"name\":\"sig-test\",\"run_list\":[\"recipe[evil]\"]}";
    time_t now = time(NULL);

    /* A valid request passes mixlib's check (201, not 401)... */
    assert_int_equal(send_signed(f, f->admin, "admin", "POST", nodes, body, "POST", nodes, body,
                                 now),
                     201);
    /* ...a tampered body, path, method, user or clock does not */
    assert_int_equal(send_signed(f, f->admin, "admin", "POST", nodes, body, "POST", nodes, other,
                                 now),
                     401);
    assert_int_equal(send_signed(f, f->admin, "admin", "POST", nodes, body, "POST",
                                 "/organizations/test/clients", body, now),
                     401);
    assert_int_equal(send_signed(f, f->admin, "admin", "POST", nodes, body, "PUT", nodes, body,
                                 now),
                     401);
    assert_int_equal(send_signed(f, f->admin, "someone", "POST", nodes, body, "POST", nodes,
                                 body, now),
                     401);
    assert_int_equal(send_signed(f, f->admin, "admin", "POST", nodes, body, "POST", nodes, body,
                                 now - 3600),
                     401);
    /* ...nor one signed with another key */
    struct as_error err;
    struct chef_key *other_key = chef_key_generate(&err);
    assert_int_equal(send_signed(f, other_key, "admin", "POST", nodes, body, "POST", nodes, body,
                                 now),
                     401);
    chef_key_free(other_key);
    /* the same valid request still passes: the server was not just refusing */
    assert_int_equal(send_signed(f, f->admin, "admin", "POST", nodes, body, "POST", nodes, body,
                                 now),
                     409);

    /* the API client signs GET and DELETE (empty bodies) as well */
    struct chef_api *a = chef_api_open(f->chef.url, "admin", f->admin, NULL, &err);
    long status;
    struct json_object *reply;
    assert_int_equal(chef_api_call(a, "GET", "/nodes/sig-test", NULL, &status, &reply, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(jx_str(reply, "name", ""), "sig-test");
    json_object_put(reply);
    assert_int_equal(chef_api_call(a, "DELETE", "/nodes/sig-test", NULL, &status, &reply, &err),
                     0);
    assert_int_equal(status, 200);
    json_object_put(reply);
    chef_api_close(a);
}

static struct json_object *server_state(struct fixture *f)
{
    char *s = chef_fake_state(&f->chef);
    struct json_object *o = json_tokener_parse(s);
    free(s);
    assert_non_null(o);
    return o;
}

static void test_register_and_unregister(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    struct chef_api *a = chef_api_open(f->chef.url, "admin", f->admin, NULL, &err);
    struct json_object *rl, *attrs = json_tokener_parse("{\"app\":{\"port\":8080}}");
    struct chef_key *key = NULL;
    assert_int_equal(chef_run_list_parse("web,role[base]", &rl, &err), 0);

    for (int round = 0; round < 2; round++) { /* the second is a retry */
        if (chef_register_node(a, "web-7", rl, "staging", attrs, NULL, &key, &err) < 0)
            fail_msg("register: %s: %s", err.code, err.message);
        struct json_object *st = server_state(f);
        struct json_object *node = jx_obj(jx_obj(st, "nodes"), "web-7");
        char *pub = chef_key_public_pem(key);
        assert_string_equal(jx_str(jx_obj(st, "clients"), "web-7", ""), pub);
        assert_string_equal(jx_str(node, "owner", ""), "web-7"); /* created as the client */
        struct json_object *doc = jx_obj(node, "doc");
        assert_string_equal(jx_str(doc, "chef_environment", ""), "staging");
        assert_string_equal(jx_str(doc, "json_class", ""), "Chef::Node");
        assert_string_equal(jx_str(doc, "chef_type", ""), "node");
        assert_true(json_object_equal(jx_arr(doc, "run_list"), rl));
        assert_true(json_object_equal(jx_obj(doc, "normal"), attrs));
        free(pub);
        json_object_put(st);
        chef_key_free(key);
    }

    bool node_gone, client_gone;
    assert_int_equal(chef_unregister_node(a, "web-7", &node_gone, &client_gone, &err), 0);
    assert_true(node_gone && client_gone);
    assert_int_equal(chef_unregister_node(a, "web-7", &node_gone, &client_gone, &err), 0);
    assert_false(node_gone || client_gone);
    struct json_object *st = server_state(f);
    assert_null(jx_obj(jx_obj(st, "nodes"), "web-7"));
    json_object_put(st);

    /* every request of the flow was verified by mixlib */
    char *log = chef_fake_requests(&f->chef);
    assert_null(strstr(log, "\"web-7\",\"status\":401"));
    assert_non_null(strstr(log, "\"POST\",\"path\":\"/organizations/test/nodes\",\"user\":\"web-7\""));
    free(log);
    json_object_put(attrs);
    json_object_put(rl);
    chef_api_close(a);
}

static void test_api_errors(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    bool n1, n2;
    struct chef_key *stranger = chef_key_generate(&err);
    struct chef_api *a = chef_api_open(f->chef.url, "admin", stranger, NULL, &err);
    assert_int_equal(chef_unregister_node(a, "web-1", &n1, &n2, &err), -1);
    assert_string_equal(err.code, "chef_unauthorized");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    chef_api_close(a);

    a = chef_api_open("http://127.0.0.1:1/organizations/test", "admin", f->admin, NULL, &err);
    assert_int_equal(chef_unregister_node(a, "web-1", &n1, &n2, &err), -1);
    assert_string_equal(err.code, "chef_unreachable");
    chef_api_close(a);

    /* a client that may not create clients */
    struct json_object *rl = json_object_new_array();
    struct chef_key *k = NULL;
    a = chef_api_open(f->chef.url, "admin", f->admin, NULL, &err);
    assert_int_equal(chef_register_node(a, "web-8", rl, NULL, NULL, NULL, &k, &err), 0);
    chef_api_close(a);
    a = chef_api_open(f->chef.url, "web-8", k, NULL, &err);
    struct chef_key *k2 = NULL;
    assert_int_equal(chef_register_node(a, "web-9", rl, NULL, NULL, NULL, &k2, &err), -1);
    assert_string_equal(err.code, "chef_forbidden");
    assert_null(k2);
    chef_api_close(a);
    chef_key_free(k);
    chef_key_free(stranger);
    json_object_put(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_quote_round_trips_through_sh),
        cmocka_unit_test(test_run_list_parse),
        cmocka_unit_test(test_solo_script_passes_values_exactly),
        cmocka_unit_test(test_solo_script_minimal),
        cmocka_unit_test(test_install_only_when_absent),
        cmocka_unit_test(test_client_script_writes_config_and_key),
        cmocka_unit_test(test_sudo_script),
        cmocka_unit_test(test_key_forms),
        cmocka_unit_test(test_canonical_request),
        cmocka_unit_test(test_sign_headers),
        cmocka_unit_test(test_mixlib_verifies_our_signature),
        cmocka_unit_test(test_register_and_unregister),
        cmocka_unit_test(test_api_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
