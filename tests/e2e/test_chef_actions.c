/* End-to-end tests of chef_bootstrap and chef_cleanup: each action binary
 * runs as st2 runs it, against a real OpenSSH server on 127.0.0.1 whose
 * "node" has the chef stub (tests/support/chef_stub.sh) as its chef-solo and
 * chef-client, and, for client mode, the Chef Server stand-in that checks
 * every request with ruby-mixlib-authentication. The stub records the exact
 * argv, attributes and environment it was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "action_run.h"
#include "chef_server.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "sshd_server.h"
#include "store_fixture.h"
#include "test_httpd.h"
#include "utf8.h"

struct fixture {
    struct store_fixture st; /* the group's directory, and a new store in it per test */
    char key[128], other_key[128];
    struct sshd_server sshd;
    struct chef_fake chef;
    int n;
    /* per test */
    char node[160], kh[160];
    char solo[200], client[200];
};

static int group_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char sdir[96], cdir[96], pub[160];
    if (store_fixture_open(&f->st, "as-chefe2e") < 0)
        return -1;
    snprintf(sdir, sizeof sdir, "%s/sshd", f->st.dir);
    snprintf(cdir, sizeof cdir, "%s/chef-server", f->st.dir);
    mkdir(sdir, 0700);
    mkdir(cdir, 0700);
    snprintf(f->key, sizeof f->key, "%s/id_ed25519", f->st.dir);
    snprintf(f->other_key, sizeof f->other_key, "%s/id_other", f->st.dir);
    snprintf(pub, sizeof pub, "%s.pub", f->key);
    if (sshd_server_start(&f->sshd, sdir) < 0 || sshd_keygen("ed25519", f->key) < 0 ||
        sshd_keygen("ed25519", f->other_key) < 0 || sshd_authorize(&f->sshd, pub) < 0 ||
        chef_fake_start(&f->chef, cdir, "admin") < 0)
        return -1;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    sshd_server_stop(&f->sshd);
    chef_fake_stop(&f->chef);
    if (store_fixture_close(&f->st) != 0)
        return -1;
    free(f);
    return 0;
}

static void put_node(struct fixture *f, const char *node, const char *state,
                     const char *address)
{
    char key[KEY_MAX], rec[512];
    snprintf(rec, sizeof rec,
             "{\"name\":\"%s\",\"group\":\"web\",\"state\":\"%s\",\"provider\":\"local\","
             "\"provider_id\":\"p-%s\",\"address\":%s%s%s,\"port\":8080}",
             node, state, node, address ? "\"" : "", address ? address : "null",
             address ? "\"" : "");
    store_put(&f->st, key_node(key, "web", node), rec);
}

static void install_stub(const char *path)
{
    char *stub = sshd_read_file("tests/support/chef_stub.sh", NULL);
    assert_non_null(stub);
    assert_int_equal(sshd_write_file(path, stub, 0755), 0);
    free(stub);
}

static void control(struct fixture *f, const char *name, const char *value)
{
    char path[256];
    snprintf(path, sizeof path, "%s/control/%s", f->node, name);
    assert_int_equal(sshd_write_file(path, value, 0644), 0);
}

static char *record(struct fixture *f, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/record/%s", f->node, name);
    return sshd_read_file(path, NULL);
}

static int runs(struct fixture *f)
{
    char *s = record(f, "runs");
    int n = 0;
    for (char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* Per test: a new store with group web (run list recipe[web],role[base])
 * and its active node web-1 at 127.0.0.1, a new node directory with the
 * stub, a new known-hosts file. */
static int setup(void **state)
{
    struct fixture *f = *state;
    int n = ++f->n;
    char store[32];
    snprintf(store, sizeof store, "store-%d.db", n);
    store_fixture_use(&f->st, store);
    snprintf(f->node, sizeof f->node, "%s/node-%d", f->st.dir, n);
    snprintf(f->kh, sizeof f->kh, "%s/known_hosts-%d", f->st.dir, n);
    snprintf(f->solo, sizeof f->solo, "%s/bin/chef-solo", f->node);
    snprintf(f->client, sizeof f->client, "%s/bin/chef-client", f->node);
    f->st.env[1] = NULL; /* a failed test may have left its own variable there */
    char path[256];
    mkdir(f->node, 0700);
    snprintf(path, sizeof path, "%s/bin", f->node);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/control", f->node);
    mkdir(path, 0700);
    install_stub(f->solo);
    install_stub(f->client);

    struct action_result r;
    const char *create[] = {"--compute_provider=local", "--name=web", "--run_list=recipe[web],role[base]", NULL};
    if (store_runv(&f->st, "asg_define", create, &r) != 0)
        return -1;
    action_result_free(&r);
    put_node(f, "web-1", "active", "127.0.0.1");
    return 0;
}

/* chef_bootstrap of web-1 with the fixture's SSH settings and the stub as
 * chef-solo, plus the given arguments (NULL-terminated). */
static int bootstrap(struct fixture *f, struct action_result *r, ...)
{
    const char *args[40];
    char port[32], key[200], kh[200], solo[256], client[256];
    size_t n = 0;
    snprintf(port, sizeof port, "--ssh_port=%d", f->sshd.port);
    snprintf(key, sizeof key, "--ssh_private_key_file=%s", f->key);
    snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s", f->kh);
    snprintf(solo, sizeof solo, "--chef_solo_command=%s", f->solo);
    snprintf(client, sizeof client, "--chef_client_command=%s", f->client);
    args[n++] = "--name=web";
    args[n++] = "--node=web-1";
    va_list ap;
    va_start(ap, r);
    bool has_port = false, has_key = false;
    for (const char *a; (a = va_arg(ap, const char *)) && n < 30;) {
        has_port |= strncmp(a, "--ssh_port=", 11) == 0;
        has_key |= strncmp(a, "--ssh_private_key", 17) == 0;
        args[n++] = a;
    }
    va_end(ap);
    if (!has_port)
        args[n++] = port;
    if (!has_key)
        args[n++] = key;
    args[n++] = kh;
    args[n++] = solo;
    args[n++] = client;
    args[n] = NULL;
    return store_runv(&f->st, "chef_bootstrap", args, r);
}

static struct json_object *recorded_argv(struct fixture *f)
{
    char path[256];
    size_t len;
    snprintf(path, sizeof path, "%s/record/argv", f->node);
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

static int lines_in(const char *path)
{
    char *s = sshd_read_file(path, NULL);
    int n = 0;
    for (char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* ------------------------------------------------------------ tests -- */

static void test_solo_records_exact_request(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *attrs = "{\"app\":{\"motd\":\"it's $(reboot) `id`; rm -rf / \\n done\"},"
                        "\"port\":8080}";
    char attr_arg[256];
    snprintf(attr_arg, sizeof attr_arg, "--attributes=%s", attrs);

    assert_int_equal(bootstrap(f, &r, attr_arg,
                               "--cookbooks_url=https://cookbooks.example.com/$(id);x.tar.gz",
                               "--chef_license=accept-silent", "--chef_environment=production",
                               NULL),
                     0);
    struct json_object *a = recorded_argv(f);
    assert_int_equal(json_object_array_length(a), 10);
    assert_string_equal(arg(a, 0), "-j");
    assert_string_equal(arg(a, 2), "-N");
    assert_string_equal(arg(a, 3), "web-1");
    assert_string_equal(arg(a, 4), "-o");
    assert_string_equal(arg(a, 5), "recipe[web],role[base]"); /* the group's run list */
    assert_string_equal(arg(a, 6), "--recipe-url");
    assert_string_equal(arg(a, 7), "https://cookbooks.example.com/$(id);x.tar.gz");
    assert_string_equal(arg(a, 8), "-E");
    assert_string_equal(arg(a, 9), "production");
    json_object_put(a);

    char *got = record(f, "attrs.json");
    struct json_object *want = json_tokener_parse(attrs), *have = json_tokener_parse(got);
    assert_true(json_object_equal(want, have));
    json_object_put(want);
    json_object_put(have);
    free(got);
    got = record(f, "env");
    assert_string_equal(got, "CHEF_LICENSE=accept-silent\nUSER=root\n");
    free(got);

    /* the result */
    assert_int_equal(jx_int(r.json, "exit_status", -1), 0);
    assert_string_equal(jx_str(r.json, "node", ""), "web-1");
    assert_string_equal(jx_str(r.json, "address", ""), "127.0.0.1");
    assert_string_equal(jx_str(r.json, "mode", ""), "solo");
    assert_string_equal(jx_str(r.json, "host_key_fingerprint", ""), f->sshd.fingerprint);
    assert_true(jx_bool(r.json, "host_key_recorded", false));
    assert_int_equal(jx_int(r.json, "resources_updated", -1), 2);
    assert_true(jx_bool(r.json, "changed", false));
    assert_non_null(strstr(jx_str(r.json, "output_tail", ""),
                           "Chef Infra Client finished, 2/10 resources updated"));
    assert_string_equal(json_object_to_json_string_ext(jx_arr(r.json, "run_list"),
                                                       JSON_C_TO_STRING_PLAIN),
                        "[\"recipe[web]\",\"role[base]\"]");
    action_result_free(&r);
    assert_int_equal(lines_in(f->kh), 1);
}

static void test_rerun_is_idempotent(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    assert_int_equal(bootstrap(f, &r, "--run_list=recipe[api]", NULL), 0);
    action_result_free(&r);
    control(f, "updated", "0");
    assert_int_equal(bootstrap(f, &r, "--run_list=recipe[api]", NULL), 0);
    assert_false(jx_bool(r.json, "host_key_recorded", true));
    assert_int_equal(jx_int(r.json, "resources_updated", -1), 0);
    assert_false(jx_bool(r.json, "changed", true)); /* Chef changed nothing */
    action_result_free(&r);
    assert_int_equal(runs(f), 2);
    assert_int_equal(lines_in(f->kh), 1);
    struct json_object *a = recorded_argv(f);
    assert_string_equal(arg(a, 5), "recipe[api]"); /* the parameter beats the group's */
    json_object_put(a);
}

static void test_chef_failure_reports_tail(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    control(f, "exit", "3");
    assert_int_equal(bootstrap(f, &r, NULL), 1);
    assert_string_equal(action_error_code(&r), "chef_failed");
    const char *msg = jx_str(jx_obj(r.json, "error"), "message", "");
    assert_non_null(strstr(msg, "exited with status 3"));
    assert_non_null(strstr(msg, "stub run failed with status 3"));
    assert_true(strlen(msg) < 512);
    assert_ptr_equal(strchr(r.out, '\n'), r.out + strlen(r.out) - 1); /* one line */
    action_result_free(&r);

    /* a long, non-UTF-8 output: the message stays bounded and valid */
    char big[20000];
    memset(big, 'x', sizeof big);
    for (size_t i = 0; i + 2 < sizeof big; i += 100) {
        big[i] = '\xc3';
        big[i + 1] = i % 300 ? '\xa9' : '\xff';
    }
    big[sizeof big - 1] = '\0';
    control(f, "output", big);
    assert_int_equal(bootstrap(f, &r, NULL), 1);
    msg = jx_str(jx_obj(r.json, "error"), "message", "");
    assert_true(utf8_valid(msg, strlen(msg)));
    assert_true(utf8_valid(r.out, strlen(r.out)));
    action_result_free(&r);
}

static void test_output_tail_bounded_utf8(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char big[20000];
    size_t n = 0;
    while (n + 40 < sizeof big)
        n += (size_t)snprintf(big + n, sizeof big - n, "ligne %05zu: déjà vu \xff\n", n);
    control(f, "output", big);
    assert_int_equal(bootstrap(f, &r, NULL), 0);
    const char *tail = jx_str(r.json, "output_tail", "");
    assert_true(strlen(tail) <= 4096 + 64);
    assert_true(strlen(tail) > 3000);
    assert_true(utf8_valid(tail, strlen(tail)));
    assert_true(jx_int(r.json, "output_bytes", 0) > (long long)n);
    assert_non_null(strstr(tail, "resources updated"));
    assert_null(strstr(tail, "ligne 00000"));
    action_result_free(&r);
}

static void test_install_only_when_absent(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char prog[256], install[1024], solo_arg[300], installs[256];
    snprintf(prog, sizeof prog, "%s/bin/cinc-solo", f->node);
    snprintf(installs, sizeof installs, "%s/record/installs", f->node);
    snprintf(solo_arg, sizeof solo_arg, "--chef_solo_command=%s", prog);
    snprintf(install, sizeof install,
             "--chef_install_command=cp '%s' '%s' && echo installed >> '%s'", f->solo, prog,
             installs);
    /* the fixture's own --chef_solo_command comes last: put ours first */
    const char *args[] = {"--name=web", "--node=web-1", solo_arg, install, NULL};
    char port[32], key[200], kh[200];
    snprintf(port, sizeof port, "--ssh_port=%d", f->sshd.port);
    snprintf(key, sizeof key, "--ssh_private_key_file=%s", f->key);
    snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s", f->kh);
    const char *full[] = {args[0], args[1], args[2], args[3], port, key, kh, NULL};
    mkdir(f->node, 0700);
    char rec[256];
    snprintf(rec, sizeof rec, "%s/record", f->node);
    mkdir(rec, 0700);

    assert_int_equal(store_runv(&f->st, "chef_bootstrap", full, &r), 0);
    assert_non_null(strstr(jx_str(r.json, "output_tail", ""), "installing the Chef client"));
    action_result_free(&r);
    assert_int_equal(store_runv(&f->st, "chef_bootstrap", full, &r), 0);
    assert_null(strstr(jx_str(r.json, "output_tail", ""), "installing"));
    action_result_free(&r);
    assert_int_equal(lines_in(installs), 1);
    assert_int_equal(runs(f), 2);
}

static void test_changed_host_key_refused(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    assert_int_equal(bootstrap(f, &r, NULL), 0);
    action_result_free(&r);
    assert_int_equal(sshd_server_restart(&f->sshd, 1), 0); /* the machine was replaced */
    assert_int_equal(bootstrap(f, &r, NULL), 1);
    assert_string_equal(action_error_code(&r), "ssh_host_key_changed");
    action_result_free(&r);
    assert_int_equal(runs(f), 1);
    assert_int_equal(lines_in(f->kh), 1);

    /* scale-in forgets the key, so the address can be reused */
    const char *cleanup[] = {"--name=web", "--node=web-1", NULL};
    char port[32], kh[200];
    snprintf(port, sizeof port, "--ssh_port=%d", f->sshd.port);
    snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s", f->kh);
    const char *full[] = {cleanup[0], cleanup[1], port, kh, NULL};
    assert_int_equal(store_runv(&f->st, "chef_cleanup", full, &r), 0);
    assert_true(jx_bool(r.json, "host_key_forgotten", false));
    action_result_free(&r);
    assert_int_equal(bootstrap(f, &r, NULL), 0);
    assert_true(jx_bool(r.json, "host_key_recorded", false));
    action_result_free(&r);
}

static void test_strict_fingerprint(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char fp[200];
    snprintf(fp, sizeof fp, "--ssh_host_fingerprint=%s", f->sshd.fingerprint);
    assert_int_equal(bootstrap(f, &r, "--ssh_host_key_policy=strict", fp, NULL), 0);
    assert_false(jx_bool(r.json, "host_key_recorded", true));
    action_result_free(&r);
    assert_int_equal(access(f->kh, F_OK), -1); /* strict never writes known hosts */

    assert_int_equal(bootstrap(f, &r, "--ssh_host_key_policy=strict",
                               "--ssh_host_fingerprint=SHA256:"
                               "q0kGJwUJbGsd3AwU5Rr2WzkbDfMMbnOxqtLjrWxRr9s",
                               NULL),
                     1);
    assert_string_equal(action_error_code(&r), "ssh_host_key_mismatch");
    action_result_free(&r);
    assert_int_equal(runs(f), 1);
}

static void test_ssh_failures(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char other[200], port[32];
    snprintf(other, sizeof other, "--ssh_private_key_file=%s", f->other_key);
    assert_int_equal(bootstrap(f, &r, other, NULL), 1);
    assert_string_equal(action_error_code(&r), "ssh_auth_failed");
    action_result_free(&r);

    int fd, p = test_refusing_port(&fd);
    snprintf(port, sizeof port, "--ssh_port=%d", p);
    assert_int_equal(bootstrap(f, &r, port, NULL), 1);
    close(fd);
    assert_string_equal(action_error_code(&r), "ssh_unreachable");
    action_result_free(&r);
    assert_int_equal(runs(f), 0);
}

static pid_t stub_pid(struct fixture *f)
{
    char *s = record(f, "pid");
    pid_t pid = s ? (pid_t)atoi(s) : 0;
    free(s);
    return pid;
}

static bool gone(pid_t pid)
{
    for (int i = 0; i < 200; i++) { /* up to 20 s on a loaded machine */
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return true;
        usleep(100000);
    }
    return false;
}

static void test_deadline_kills_remote_run(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char sleeping[256];
    snprintf(sleeping, sizeof sleeping, "%s/record/sleeping", f->node);
    control(f, "sleep", "300");
    /* The deadline must pass while the stub sleeps. Two seconds are plenty
     * unless the machine is loaded (the node's login shell can take
     * seconds to start): then it had not started, and the run is tried
     * again with twelve. */
    static const char *const deadlines[] = {"--deadline=2", "--deadline=12"};
    for (size_t i = 0; i < sizeof deadlines / sizeof deadlines[0]; i++) {
        assert_int_equal(bootstrap(f, &r, deadlines[i], NULL), 1);
        assert_string_equal(action_error_code(&r), "ssh_timeout");
        action_result_free(&r);
        if (access(sleeping, F_OK) == 0)
            break;
        fprintf(stderr, "the stub had not started by %s: again, with longer\n", deadlines[i]);
    }
    assert_int_equal(access(sleeping, F_OK), 0);
    pid_t pid = stub_pid(f);
    assert_true(pid > 0);
    assert_true(gone(pid));
}

static void test_sigterm_interrupts_and_kills_remote_run(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char port[32], key[200], kh[200], solo[256], sleeping[256];
    int out_fd, err_fd;
    control(f, "sleep", "300");
    snprintf(port, sizeof port, "--ssh_port=%d", f->sshd.port);
    snprintf(key, sizeof key, "--ssh_private_key_file=%s", f->key);
    snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s", f->kh);
    snprintf(solo, sizeof solo, "--chef_solo_command=%s", f->solo);
    snprintf(sleeping, sizeof sleeping, "%s/record/sleeping", f->node);
    const char *args[] = {"--name=web", "--node=web-1", port, key, kh, solo, NULL};
    pid_t pid = action_start("chef_bootstrap", args, store_env(&f->st), &out_fd, &err_fd);
    for (int i = 0; i < 1200 && access(sleeping, F_OK) != 0; i++)
        usleep(50000);
    assert_int_equal(access(sleeping, F_OK), 0);
    kill(pid, SIGTERM);
    action_wait(pid, out_fd, err_fd, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
    pid_t spid = stub_pid(f);
    assert_true(spid > 0);
    assert_true(gone(spid));
}

/* No line of a PEM key's body (long enough to identify it) in text. */
static void assert_no_key_material(const char *text, const char *pem)
{
    for (const char *p = pem; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n >= 16 && strncmp(p, "-----", 5) != 0) {
            char line[128];
            snprintf(line, sizeof line, "%.*s", (int)(n < 100 ? n : 100), p);
            if (strstr(text, line))
                fail_msg("a line of the private key was printed: %s", line);
        }
        p += n + (nl ? 1 : 0);
    }
}

static void test_private_key_never_printed(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char *pem = sshd_read_file(f->key, NULL);
    char *arg_key = NULL;
    assert_int_equal(asprintf(&arg_key, "--ssh_private_key=%s", pem) > 0, 1);
    const char *dbg_env[] = {f->st.env_db, "ST2_ACTION_DEBUG=True", NULL};
    const char *saved = f->st.env[1];
    f->st.env[1] = dbg_env[1];

    /* the node prints the key back (a careless recipe), given as a file... */
    char echo[512];
    snprintf(echo, sizeof echo, "%s\n", f->key);
    control(f, "cat", echo);
    assert_int_equal(bootstrap(f, &r, "--debug", NULL), 0);
    assert_no_key_material(r.out, pem);
    assert_no_key_material(r.err, pem);
    action_result_free(&r);
    /* ...or as text */
    assert_int_equal(bootstrap(f, &r, arg_key, "--debug", NULL), 0);
    assert_no_key_material(r.out, pem);
    assert_no_key_material(r.err, pem);
    assert_non_null(strstr(r.err, "debug"));
    action_result_free(&r);

    control(f, "exit", "1");
    assert_int_equal(bootstrap(f, &r, arg_key, "--debug", NULL), 1);
    assert_no_key_material(r.out, pem);
    assert_no_key_material(r.err, pem);
    action_result_free(&r);

    int fd, p = test_refusing_port(&fd);
    char port[32];
    snprintf(port, sizeof port, "--ssh_port=%d", p);
    assert_int_equal(bootstrap(f, &r, arg_key, port, "--debug", NULL), 1);
    close(fd);
    assert_no_key_material(r.out, pem);
    assert_no_key_material(r.err, pem);
    action_result_free(&r);

    f->st.env[1] = saved;
    free(arg_key);
    free(pem);
}

static void test_bad_input_changes_nothing(void **state)
{
    struct fixture *f = *state;
    put_node(f, "web-2", "draining", "127.0.0.1");
    put_node(f, "web-3", "building", NULL);
    static const struct {
        const char *arg;
        const char *code;
        int status;
    } cases[] = {
        {"--node=web-9", "unknown_node", 2},
        {"--node=web-2", "invalid_node_state", 2},
        {"--node=web-3", "node_no_address", 1},
        {"--node=web-1;reboot", "invalid_node_name", 2},
        {"--node=web 1", "invalid_node_name", 2},
        {"--name=nope", "unknown_group", 2},
        {"--name=web\nx", "invalid_name", 2},
        {"--ssh_port=0", "invalid_parameter", 2},
        {"--ssh_port=70000", "invalid_parameter", 2},
        {"--ssh_user=root;id", "invalid_parameter", 2},
        {"--ssh_user=-oProxyCommand=x", "invalid_parameter", 2},
        {"--ssh_host_key_policy=none", "invalid_parameter", 2},
        {"--ssh_host_key_policy=strict", "invalid_parameter", 2},
        {"--chef_mode=knife", "invalid_parameter", 2},
        {"--chef_mode=client", "invalid_parameter", 2},
        {"--run_list=recipe[web];reboot", "invalid_parameter", 2},
        {"--run_list=recipe[$(id)]", "invalid_parameter", 2},
        {"--attributes=[1,2]", "invalid_parameter", 2},
        {"--attributes={\"a\":", "invalid_parameter", 2},
        {"--cookbooks_url=ftp://x/y.tgz", "invalid_parameter", 2},
        {"--cookbooks_url=https://x/y z.tgz", "invalid_parameter", 2},
        {"--chef_environment=prod;x", "invalid_parameter", 2},
        {"--chef_solo_command=chef-solo; reboot", "invalid_parameter", 2},
        {"--chef_license=accept; id", "invalid_parameter", 2},
        {"--deadline=0", "invalid_parameter", 2},
        {"--ssh_private_key=not a key", "invalid_private_key", 2},
        {"--bogus=1", "unknown_parameter", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct action_result r;
        /* later arguments replace the fixture's name/node: give them first */
        const char *args[12];
        char port[32], key[200], kh[200], solo[256];
        size_t n = 0;
        snprintf(port, sizeof port, "--ssh_port=%d", f->sshd.port);
        snprintf(key, sizeof key, "--ssh_private_key_file=%s", f->key);
        snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s", f->kh);
        snprintf(solo, sizeof solo, "--chef_solo_command=%s", f->solo);
        bool own_name = strncmp(cases[i].arg, "--name=", 7) == 0;
        bool own_node = strncmp(cases[i].arg, "--node=", 7) == 0;
        bool own_port = strncmp(cases[i].arg, "--ssh_port=", 11) == 0;
        bool own_key = strncmp(cases[i].arg, "--ssh_private_key=", 18) == 0;
        bool own_solo = strncmp(cases[i].arg, "--chef_solo_command=", 20) == 0;
        args[n++] = cases[i].arg;
        if (!own_name)
            args[n++] = "--name=web";
        if (!own_node)
            args[n++] = "--node=web-1";
        if (!own_port)
            args[n++] = port;
        if (!own_key)
            args[n++] = key;
        if (!own_solo)
            args[n++] = solo;
        args[n++] = kh;
        args[n] = NULL;
        int st = store_runv(&f->st, "chef_bootstrap", args, &r);
        if (st != cases[i].status || strcmp(action_error_code(&r), cases[i].code) != 0)
            fail_msg("case %zu (%s): exit %d %s, wanted %d %s: %s", i, cases[i].arg, st,
                     action_error_code(&r), cases[i].status, cases[i].code, r.out);
        action_result_free(&r);
    }
    assert_int_equal(runs(f), 0);
    assert_int_equal(access(f->kh, F_OK), -1);
    struct action_result r;
    const char *none[] = {"--name=web", NULL};
    assert_int_equal(store_runv(&f->st, "chef_bootstrap", none, &r), 2);
    assert_string_equal(action_error_code(&r), "missing_parameter");
    action_result_free(&r);
}

static void test_group_settings_override(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    /* a group names a cookbook archive only as the operator allowed */
    const char *allow = "--group_endpoints_allowed=chef.cookbooks_url=https://example.com/api.tar.gz";
    const char *create[] = {"--compute_provider=local", "--name=api", "--run_list=recipe[api]",
                            allow,
                            "{\"chef\": {\"attributes\": {\"tier\": \"api\"}, "
                            "\"cookbooks_url\": \"https://example.com/api.tar.gz\", "
                            "\"chef_environment\": \"staging\"}}",
                            NULL};
    assert_int_equal(store_runv(&f->st, "asg_define", create, &r), 0);
    action_result_free(&r);
    char key[KEY_MAX];
    store_put(&f->st, key_node(key, "api", "api-1"),
              "{\"name\":\"api-1\",\"group\":\"api\",\"state\":\"building\","
              "\"address\":\"127.0.0.1\"}");

    const char *args[12];
    char port[32], k[200], kh[200], solo[256];
    snprintf(port, sizeof port, "--ssh_port=%d", f->sshd.port);
    snprintf(k, sizeof k, "--ssh_private_key_file=%s", f->key);
    snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s", f->kh);
    snprintf(solo, sizeof solo, "--chef_solo_command=%s", f->solo);
    size_t n = 0;
    args[n++] = "--name=api";
    args[n++] = "--node=api-1";
    args[n++] = "--attributes={\"tier\":\"web\",\"a\":1}";
    args[n++] = "--cookbooks_url=https://example.com/default.tar.gz";
    args[n++] = port;
    args[n++] = k;
    args[n++] = kh;
    args[n++] = solo;
    args[n++] = allow;
    args[n] = NULL;
    assert_int_equal(store_runv(&f->st, "chef_bootstrap", args, &r), 0);
    action_result_free(&r);
    struct json_object *a = recorded_argv(f);
    assert_string_equal(arg(a, 3), "api-1");
    assert_string_equal(arg(a, 5), "recipe[api]");
    assert_string_equal(arg(a, 7), "https://example.com/api.tar.gz");
    assert_string_equal(arg(a, 9), "staging");
    json_object_put(a);
    char *got = record(f, "attrs.json");
    struct json_object *have = json_tokener_parse(got),
                       *want = json_tokener_parse("{\"tier\":\"api\",\"a\":1}");
    assert_true(json_object_equal(have, want));
    json_object_put(have);
    json_object_put(want);
    free(got);
}

static struct json_object *server_state(struct fixture *f)
{
    char *s = chef_fake_state(&f->chef);
    struct json_object *o = json_tokener_parse(s);
    free(s);
    assert_non_null(o);
    return o;
}

static void test_client_mode_registers_then_cleanup_deletes(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char url[200], keyfile[300], cfg[200], cfg_arg[256];
    char *admin_pem = sshd_read_file(f->chef.admin_key, NULL), *admin_arg = NULL;
    snprintf(url, sizeof url, "--chef_server_url=%s", f->chef.url);
    snprintf(keyfile, sizeof keyfile, "--chef_client_key_file=%s", f->chef.admin_key);
    snprintf(cfg, sizeof cfg, "%s/etc-chef", f->node);
    snprintf(cfg_arg, sizeof cfg_arg, "--chef_config_dir=%s", cfg);
    assert_int_equal(asprintf(&admin_arg, "--chef_client_key=%s", admin_pem) > 0, 1);

    /* the node prints its new key back: it must not reach the output */
    char echo[300];
    snprintf(echo, sizeof echo, "%s/client.pem\n", cfg);
    control(f, "cat", echo);
    for (int round = 0; round < 2; round++) { /* the second is a retry */
        assert_int_equal(bootstrap(f, &r, "--chef_mode=client", url, "--chef_client_name=admin",
                                   round ? admin_arg : keyfile, cfg_arg,
                                   "--attributes={\"a\":1}", "--debug", NULL),
                         0);
        assert_true(jx_bool(r.json, "registered", false));
        assert_string_equal(jx_str(r.json, "mode", ""), "client");
        char path[300];
        snprintf(path, sizeof path, "%s/client.pem", cfg);
        char *node_pem = sshd_read_file(path, NULL);
        assert_non_null(node_pem);
        assert_no_key_material(r.out, node_pem);
        assert_no_key_material(r.err, node_pem);
        assert_no_key_material(r.err, admin_pem);
        action_result_free(&r);

        /* the key on the node is the one the server knows for web-1 */
        char pub[300], pubtext[1024];
        snprintf(pub, sizeof pub, "%s/client.pub", f->node);
        const char *conv[] = {"openssl", "pkey", "-in", path, "-pubout", "-out", pub, NULL};
        assert_int_equal(sshd_run(conv, NULL, 0), 0);
        char *mine = sshd_read_file(pub, NULL);
        struct json_object *st = server_state(f);
        snprintf(pubtext, sizeof pubtext, "%s", jx_str(jx_obj(st, "clients"), "web-1", ""));
        assert_string_equal(mine, pubtext);
        struct json_object *node = jx_obj(jx_obj(st, "nodes"), "web-1");
        assert_string_equal(jx_str(node, "owner", ""), "web-1");
        assert_string_equal(json_object_to_json_string_ext(jx_arr(jx_obj(node, "doc"), "run_list"),
                                                           JSON_C_TO_STRING_PLAIN),
                            "[\"recipe[web]\",\"role[base]\"]");
        json_object_put(st);
        free(mine);
        free(node_pem);
    }
    struct json_object *a = recorded_argv(f);
    char want[300];
    snprintf(want, sizeof want, "%s/client.rb", cfg);
    assert_string_equal(arg(a, 0), "-c");
    assert_string_equal(arg(a, 1), want);
    assert_string_equal(arg(a, 2), "-j");
    json_object_put(a);
    char *rb = record(f, "client.rb");
    char want_rb[600];
    snprintf(want_rb, sizeof want_rb,
             "# written by autoscale chef_bootstrap\nchef_server_url '%s'\nnode_name 'web-1'\n"
             "client_key '%s/client.pem'\n",
             f->chef.url, cfg);
    assert_string_equal(rb, want_rb);
    free(rb);

    /* scale-in: node and client go; a retry finds them gone and succeeds */
    char port[32], kh[200];
    snprintf(port, sizeof port, "--ssh_port=%d", f->sshd.port);
    snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s", f->kh);
    const char *clean[] = {"--name=web", "--node=web-1", url, "--chef_client_name=admin",
                           keyfile, port, kh, NULL};
    assert_int_equal(store_runv(&f->st, "chef_cleanup", clean, &r), 0);
    assert_true(jx_bool(r.json, "node_deleted", false));
    assert_true(jx_bool(r.json, "client_deleted", false));
    assert_true(jx_bool(r.json, "host_key_forgotten", false));
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    struct json_object *st = server_state(f);
    assert_null(jx_obj(jx_obj(st, "nodes"), "web-1"));
    assert_null(jx_str(jx_obj(st, "clients"), "web-1", NULL));
    json_object_put(st);
    assert_int_equal(store_runv(&f->st, "chef_cleanup", clean, &r), 0);
    assert_false(jx_bool(r.json, "node_deleted", true));
    assert_false(jx_bool(r.json, "client_deleted", true));
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    free(admin_arg);
    free(admin_pem);
}

static void test_client_mode_server_errors(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char url[200], wrong[300], wrong_arg[340], cfg_arg[256];
    snprintf(url, sizeof url, "--chef_server_url=%s", f->chef.url);
    snprintf(wrong, sizeof wrong, "%s/not-admin.pem", f->node);
    assert_int_equal(chef_fake_genrsa(wrong, NULL), 0);
    snprintf(wrong_arg, sizeof wrong_arg, "--chef_client_key_file=%s", wrong);
    snprintf(cfg_arg, sizeof cfg_arg, "--chef_config_dir=%s/etc-chef", f->node);
    char *before = chef_fake_state(&f->chef);

    assert_int_equal(bootstrap(f, &r, "--chef_mode=client", url, "--chef_client_name=admin",
                               wrong_arg, cfg_arg, NULL),
                     1);
    assert_string_equal(action_error_code(&r), "chef_unauthorized");
    action_result_free(&r);

    int fd, p = test_refusing_port(&fd);
    char down[200];
    snprintf(down, sizeof down, "--chef_server_url=http://127.0.0.1:%d/organizations/x", p);
    char keyfile[300];
    snprintf(keyfile, sizeof keyfile, "--chef_client_key_file=%s", f->chef.admin_key);
    assert_int_equal(bootstrap(f, &r, "--chef_mode=client", down, "--chef_client_name=admin",
                               keyfile, cfg_arg, NULL),
                     1);
    close(fd);
    assert_string_equal(action_error_code(&r), "chef_unreachable");
    action_result_free(&r);

    assert_int_equal(runs(f), 0); /* the node ran nothing */
    char *after = chef_fake_state(&f->chef);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* The decommission path: chef_cleanup on a draining node of a group being
 * deleted, then again once remove_node has dropped the node's record. */
static void test_cleanup_draining_node_of_retired_group(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char url[200], keyfile[300], cfg_arg[256], port[32], kh[200];
    snprintf(url, sizeof url, "--chef_server_url=%s", f->chef.url);
    snprintf(keyfile, sizeof keyfile, "--chef_client_key_file=%s", f->chef.admin_key);
    snprintf(cfg_arg, sizeof cfg_arg, "--chef_config_dir=%s/etc-chef", f->node);
    snprintf(port, sizeof port, "--ssh_port=%d", f->sshd.port);
    snprintf(kh, sizeof kh, "--ssh_known_hosts_file=%s", f->kh);
    assert_int_equal(bootstrap(f, &r, "--chef_mode=client", url, "--chef_client_name=admin",
                               keyfile, cfg_arg, NULL),
                     0);
    assert_true(jx_bool(r.json, "registered", false));
    action_result_free(&r);
    assert_int_equal(lines_in(f->kh), 1);

    const char *retire[] = {"--name=web", NULL};
    assert_int_equal(store_runv(&f->st, "asg_retire", retire, &r), 0);
    assert_string_equal(jx_str(r.json, "status", ""), "deleting");
    action_result_free(&r);
    put_node(f, "web-1", "draining", "127.0.0.1");

    const char *clean[] = {"--name=web", "--node=web-1", url, "--chef_client_name=admin",
                           keyfile, port, kh, NULL};
    assert_int_equal(store_runv(&f->st, "chef_cleanup", clean, &r), 0);
    assert_true(jx_bool(r.json, "node_deleted", false));
    assert_true(jx_bool(r.json, "client_deleted", false));
    assert_true(jx_bool(r.json, "host_key_forgotten", false));
    assert_true(jx_bool(r.json, "changed", false));
    action_result_free(&r);
    assert_int_equal(lines_in(f->kh), 0);
    struct json_object *st = server_state(f);
    assert_null(jx_obj(jx_obj(st, "nodes"), "web-1"));
    assert_null(jx_str(jx_obj(st, "clients"), "web-1", NULL));
    json_object_put(st);

    /* remove_node has run: the record is gone, and so is everything else */
    char key[KEY_MAX];
    store_del(&f->st, key_node(key, "web", "web-1"));
    char *before = chef_fake_state(&f->chef);
    assert_int_equal(store_runv(&f->st, "chef_cleanup", clean, &r), 0);
    assert_false(jx_bool(r.json, "node_deleted", true));
    assert_false(jx_bool(r.json, "client_deleted", true));
    assert_false(jx_bool(r.json, "host_key_forgotten", true));
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);
    char *after = chef_fake_state(&f->chef);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_cleanup_without_server(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--name=web", "--node=web-1", NULL};
    assert_int_equal(store_runv(&f->st, "chef_cleanup", args, &r), 0);
    assert_true(json_object_is_type(json_object_object_get(r.json, "chef_server"),
                                    json_type_null));
    assert_non_null(strstr(jx_str(r.json, "message", ""), "no Chef server configured"));
    assert_false(jx_bool(r.json, "changed", true));
    action_result_free(&r);

    /* a node whose record is already gone is fine too */
    const char *gone_node[] = {"--name=web", "--node=web-77", NULL};
    assert_int_equal(store_runv(&f->st, "chef_cleanup", gone_node, &r), 0);
    action_result_free(&r);

    const char *bad[][3] = {{"--name=web", "--node=web;1", NULL},
                            {"--name=nope", "--node=web-1", NULL},
                            {"--name=web", NULL, NULL}};
    const char *codes[] = {"invalid_node_name", "unknown_group", "missing_parameter"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(store_runv(&f->st, "chef_cleanup", bad[i], &r), 2);
        assert_string_equal(action_error_code(&r), codes[i]);
        action_result_free(&r);
    }
    const char *no_key[] = {"--name=web", "--node=web-1",
                            "--chef_server_url=https://chef.example.com/organizations/x",
                            "--chef_client_name=admin", NULL};
    assert_int_equal(store_runv(&f->st, "chef_cleanup", no_key, &r), 2);
    assert_string_equal(action_error_code(&r), "missing_parameter");
    action_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_solo_records_exact_request, setup),
        cmocka_unit_test_setup(test_rerun_is_idempotent, setup),
        cmocka_unit_test_setup(test_chef_failure_reports_tail, setup),
        cmocka_unit_test_setup(test_output_tail_bounded_utf8, setup),
        cmocka_unit_test_setup(test_install_only_when_absent, setup),
        cmocka_unit_test_setup(test_changed_host_key_refused, setup),
        cmocka_unit_test_setup(test_strict_fingerprint, setup),
        cmocka_unit_test_setup(test_ssh_failures, setup),
        cmocka_unit_test_setup(test_deadline_kills_remote_run, setup),
        cmocka_unit_test_setup(test_sigterm_interrupts_and_kills_remote_run, setup),
        cmocka_unit_test_setup(test_private_key_never_printed, setup),
        cmocka_unit_test_setup(test_bad_input_changes_nothing, setup),
        cmocka_unit_test_setup(test_group_settings_override, setup),
        cmocka_unit_test_setup(test_client_mode_registers_then_cleanup_deletes, setup),
        cmocka_unit_test_setup(test_client_mode_server_errors, setup),
        cmocka_unit_test_setup(test_cleanup_draining_node_of_retired_group, setup),
        cmocka_unit_test_setup(test_cleanup_without_server, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
