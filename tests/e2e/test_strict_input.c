/* Strict input, end to end (issue 11): every bad setting of a node action
 * is refused before its first write (exit 2 leaves the datastore as it
 * was), and a SIGTERM at any point of start-up ends in one JSON document.
 * Real action binaries on an embedded store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "action_run.h"
#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"

static int setup(void **state) { return store_setup(state, "as-strict", 0); }
static int teardown(void **state) { return store_teardown(state); }

static void define(struct store_fixture *s, const char *name, const char *provider)
{
    char n[64], p[64];
    snprintf(n, sizeof n, "--name=%s", name);
    snprintf(p, sizeof p, "--compute_provider=%s", provider);
    struct action_result r;
    if (store_run(s, "asg_define", &r, n, p, "--min=0", "--flavor=m1.small",
                  "--image=debian-12", NULL) != 0)
        fail_msg("asg_define: %s", r.out);
    action_result_free(&r);
}

/* Run `action` with args (NULL-terminated) and assert a refusal or failure
 * that left the store exactly as it was; returns the exit status. */
static int refused_unchanged(struct store_fixture *s, const char *action,
                             const char *const *args, const char *label)
{
    char *before = store_snapshot(s);
    struct action_result r;
    int rc = store_runv(s, action, args, &r);
    char *after = store_snapshot(s);
    if (rc == 0)
        fail_msg("%s %s: accepted: %s", action, label, r.out);
    if (!json_object_object_get_ex(r.json, "error", NULL))
        fail_msg("%s %s: no error document: %s", action, label, r.out);
    if (strcmp(before, after) != 0)
        fail_msg("%s %s (exit %d, %s): the store changed:\n--- before\n%s\n--- after\n%s",
                 action, label, rc, action_error_code(&r), before, after);
    free(before);
    free(after);
    action_result_free(&r);
    return rc;
}

/* The cases of issue 11 point 4: bad provider settings given to add_node.
 * Each was refused after a "building" record had been saved. */
static const char *const openstack_bad[] = {
    "--openstack_auth_url=file:///etc/passwd",
    "--openstack_auth_url=gopher://127.0.0.1:70/v3",
    "--openstack_auth_url=ftp://127.0.0.1/v3",
    "--openstack_auth_url=http://",
    "--openstack_auth_url=http:///v3",
    "--openstack_auth_url=127.0.0.1:5000/v3",
    "--openstack_auth_url=http://127.0.0.1:0/v3",
    "--openstack_auth_url=http://127.0.0.1:99999/v3",
    "--openstack_auth_url=http://u:p@127.0.0.1:5000/v3",
    "--openstack_auth_url=http://127.0.0.1:5000/v3?x=1",
    "--openstack_auth_url=http://127.0.0.1 :5000/v3",
    "--openstack_region=Region One",
    "--openstack_region=r;rm",
    "--openstack_interface=everything",
    "--ca_bundle=relative/ca.pem",
    "--ca_bundle=/etc/ssl/../ssl/certs/ca-certificates.crt",
    "--ca_bundle=/nonexistent/ca.pem",
    "--poll_interval_ms=86400000",
    "--poll_interval_ms=-1",
    "--poll_interval_ms=0x10",
    "--deadline=0",
    "--deadline=1e3",
    "--deadline=+600",
    "--deadline= 600",
    "--deadline=86401",
    NULL};

static void test_add_node_openstack_refusals_write_nothing(void **state)
{
    struct store_fixture *s = *state;
    define(s, "web", "openstack");
    int refusals = 0;
    for (size_t i = 0; openstack_bad[i]; i++) {
        /* A good auth_url (to a port nobody answers on) unless the case
         * is a bad one: a duplicate would be refused for being one. */
        bool url_case = strncmp(openstack_bad[i], "--openstack_auth_url=", 21) == 0;
        const char *args[] = {"--name=web", "--node=web-1", "--openstack_username=u",
                              "--openstack_password=p", "--openstack_project_name=p",
                              openstack_bad[i],
                              url_case ? NULL : "--openstack_auth_url=http://127.0.0.1:1/v3",
                              NULL};
        int rc = refused_unchanged(s, "add_node", args, openstack_bad[i]);
        if (rc != 2)
            fail_msg("add_node %s: exit %d, not a refusal", openstack_bad[i], rc);
        refusals++;
    }
    assert_int_equal(refusals, 25);
    assert_int_equal(store_count(s, "autoscale.node."), 0);
}

/* An unreachable cloud is an operational failure (exit 1), but it is found
 * before the record is written, so it leaves no phantom either. */
static void test_add_node_unreachable_cloud_writes_nothing(void **state)
{
    struct store_fixture *s = *state;
    define(s, "web", "openstack");
    const char *args[] = {"--name=web", "--node=web-1",
                          "--openstack_auth_url=http://127.0.0.1:1/v3",
                          "--openstack_username=u", "--openstack_password=p",
                          "--openstack_project_name=p", NULL};
    assert_int_equal(refused_unchanged(s, "add_node", args, "unreachable"), 1);
    assert_int_equal(store_count(s, "autoscale.node."), 0);
}

static void test_add_node_local_and_digitalocean_refusals_write_nothing(void **state)
{
    struct store_fixture *s = *state;
    define(s, "loc", "local");
    define(s, "dig", "digitalocean");
    char dir[160], up[200];
    snprintf(dir, sizeof dir, "--local_dir=%s/reg", s->dir);
    snprintf(up, sizeof up, "--local_dir=%s/../reg", s->dir);
    const char *local_bad[] = {"--local_dir=relative/reg", up, "--local_port=-1",
                               "--local_port=0x10", "--local_port=65536",
                               "--local_grace_ms=600000", "--local_grace_ms=1e3", NULL};
    /* Run from the fixture's directory, so that a build which still took a
     * relative local_dir makes it there; and with a command that starts
     * nothing lasting, so that such a build leaks no process. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(s->dir), 0);
    for (size_t i = 0; local_bad[i]; i++) {
        bool dir_case = strncmp(local_bad[i], "--local_dir=", 12) == 0;
        const char *args[] = {"--name=loc", "--node=loc-1", "--local_command=true",
                              local_bad[i], dir_case ? NULL : dir, NULL};
        assert_int_equal(refused_unchanged(s, "add_node", args, local_bad[i]), 2);
    }
    /* no directory was made in the working directory */
    struct stat st;
    assert_int_equal(stat("relative", &st), -1);
    assert_int_equal(chdir(cwd), 0);
    const char *do_bad[] = {"--digitalocean_api_url=file:///etc/passwd",
                            "--digitalocean_api_url=gopher://127.0.0.1/",
                            "--digitalocean_api_url=https://",
                            "--digitalocean_region=NYC 3",
                            "--digitalocean_address_type=both", NULL};
    for (size_t i = 0; do_bad[i]; i++) {
        const char *args[] = {"--name=dig", "--node=dig-1", "--digitalocean_token=t0ken",
                              do_bad[i], NULL};
        assert_int_equal(refused_unchanged(s, "add_node", args, do_bad[i]), 2);
    }
    assert_int_equal(store_count(s, "autoscale.node."), 0);
}

/* The other node actions: whatever they refuse (exit 2), they refused
 * before writing. */
static void test_other_node_actions_refuse_before_writing(void **state)
{
    struct store_fixture *s = *state;
    define(s, "web", "local");
    static const char *const cases[][6] = {
        {"dns_register", "--name=web", "--node=web-1", "--dns_ttl=0x10", NULL},
        {"dns_register", "--name=web", "--node=web-1", "--dns_ttl=-1", NULL},
        {"dns_register", "--name=web", "--node=web-1", "--ca_bundle=ca.pem", NULL},
        {"dns_register", "--name=web", "--node=web-1",
         "--powerdns_api_url=file:///etc/passwd", NULL},
        {"lb_add", "--name=web", "--node=web-1", "--lb_server_port=0", NULL},
        {"lb_add", "--name=web", "--node=web-1", "--lb_server_port=1e3", NULL},
        {"chef_bootstrap", "--name=web", "--node=web-1", "--ssh_port=-22", NULL},
        {"chef_bootstrap", "--name=web", "--node=web-1", "--deadline=+5", NULL},
        {"chef_bootstrap", "--name=web", "--node=web-1", "--ssh_private_key_file=id_rsa",
         NULL},
        {"chef_bootstrap", "--name=web", "--node=web-1",
         "--ssh_known_hosts_file=../../../etc/passwd", "--ssh_private_key=x", NULL},
        {"chef_bootstrap", "--name=web", "--node=web-1", "--ssh_known_hosts_file=/etc/passwd",
         "--ssh_private_key=x", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *before = store_snapshot(s);
        struct action_result r;
        int rc = store_runv(s, cases[i][0], cases[i] + 1, &r);
        char *after = store_snapshot(s);
        if (rc == 0)
            fail_msg("%s %s: accepted", cases[i][0], cases[i][3]);
        if (rc == 2 && strcmp(before, after) != 0)
            fail_msg("%s %s: exit 2 but the store changed", cases[i][0], cases[i][3]);
        if (i < 2 || (i >= 4 && i <= 9))
            assert_int_equal(rc, 2); /* refused by the parameter rules themselves */
        free(before);
        free(after);
        action_result_free(&r);
    }
}

/* known_hosts: an existing file that is not one (here a copy of a passwd
 * file, owned by us) is never appended to. */
static void test_known_hosts_must_be_one(void **state)
{
    struct store_fixture *s = *state;
    define(s, "web", "local");
    char passwd[160], arg[200];
    snprintf(passwd, sizeof passwd, "%s/passwd", s->dir);
    FILE *f = fopen(passwd, "w");
    assert_non_null(f);
    fputs("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n", f);
    fclose(f);
    snprintf(arg, sizeof arg, "--ssh_known_hosts_file=%s", passwd);
    const char *args[] = {"--name=web", "--node=web-1", arg, "--ssh_private_key=x", NULL};
    struct action_result r;
    assert_int_equal(store_runv(s, "chef_bootstrap", args, &r), 2);
    assert_non_null(strstr(jx_str(jx_obj(r.json, "error"), "message", ""),
                           "does not look like a known_hosts file"));
    action_result_free(&r);
}

/* ---- SIGTERM during start-up ---- */

/* Start `action` with SIGTERM blocked, as the kernel holds a signal that
 * arrives before the program's first instruction: it stays pending until
 * the action unblocks it. send_after_us < 0: raise it before exec. */
static int run_with_sigterm(struct store_fixture *s, const char *const *args, long send_after_us,
                            struct action_result *r)
{
    int out[2], errp[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(errp), 0);
    const char *argv[16] = {action_path("asg_define")};
    size_t n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    char *envp[] = {(char *)s->env_db, "PATH=/usr/bin:/bin", NULL};
    /* Blocked before fork, so no signal can reach the child unblocked. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        if (send_after_us < 0)
            kill(getpid(), SIGTERM);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        close(out[0]);
        close(errp[0]);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(out[1]);
    close(errp[1]);
    if (send_after_us >= 0) {
        struct timespec ts = {0, send_after_us * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGTERM);
    }
    return action_wait(pid, out[0], errp[0], r);
}

/* A SIGTERM that came before the action ran any of its code stops it
 * before its first write, with a JSON document saying so. */
static void test_sigterm_before_start_stops_before_writing(void **state)
{
    struct store_fixture *s = *state;
    const char *args[] = {"--name=early", "--compute_provider=local", NULL};
    struct action_result r;
    int rc = run_with_sigterm(s, args, -1, &r);
    if (!r.json)
        fail_msg("no JSON document (status %d): [%s] %s", rc, r.out, r.err);
    assert_int_equal(rc, 1);
    assert_string_equal(action_error_code(&r), "interrupted");
    char key[KEY_MAX];
    assert_int_equal(store_count(s, key_spec(key, "early")), 0);
    action_result_free(&r);
}

/* SIGTERM at many points of start-up (0..10 ms): always one JSON document,
 * either "interrupted" with nothing written or the normal result with the
 * group defined; never a bare death. */
static void test_sigterm_anywhere_in_startup(void **state)
{
    struct store_fixture *s = *state;
    int interrupted = 0, finished = 0;
    for (int i = 0; i < 42; i++) {
        char name[32];
        snprintf(name, sizeof name, "--name=g%d", i);
        const char *args[] = {name, "--compute_provider=local", NULL};
        struct action_result r;
        int rc = run_with_sigterm(s, args, (i % 21) * 500L, &r);
        if (!r.json)
            fail_msg("SIGTERM after %d us: status %d and no JSON: [%s] %s", (i % 21) * 500,
                     rc, r.out, r.err);
        char prefix[KEY_MAX];
        key_spec(prefix, name + 7);
        if (rc == 0) {
            finished++;
            assert_true(store_count(s, prefix) > 0);
        } else {
            interrupted++;
            assert_string_equal(action_error_code(&r), "interrupted");
            assert_int_equal(store_count(s, prefix), 0);
        }
        action_result_free(&r);
    }
    assert_int_equal(interrupted + finished, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_add_node_openstack_refusals_write_nothing),
        T(test_add_node_unreachable_cloud_writes_nothing),
        T(test_add_node_local_and_digitalocean_refusals_write_nothing),
        T(test_other_node_actions_refuse_before_writing),
        T(test_known_hosts_must_be_one),
        T(test_sigterm_before_start_stops_before_writing),
        T(test_sigterm_anywhere_in_startup),
#undef T
    };
    return cmocka_run_group_tests_name("strict_input", tests, NULL, NULL);
}
