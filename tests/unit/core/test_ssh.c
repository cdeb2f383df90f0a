/* Tests of the SSH client (lib/core/ssh.c) against a real OpenSSH server
 * (tests/support/sshd_server.c) on 127.0.0.1: host-key policies, key
 * authentication, exit status and output tail, deadlines and SIGTERM that
 * leave nothing running on the node, and the known-hosts file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "jsonx.h"
#include "signals.h"
#include "ssh.h"
#include "sshd_server.h"
#include "test_httpd.h"
#include "utf8.h"

struct fixture {
    char dir[64];
    char key[128];       /* authorized ed25519 key */
    char rsa_key[128];   /* authorized RSA key, PEM format */
    char other_key[128]; /* not authorized */
    struct sshd_server sshd;
    int n;               /* per-test file counter */
};

static struct fixture *F;

static int group_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/as-ssh-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->key, sizeof f->key, "%s/id_ed25519", f->dir);
    snprintf(f->rsa_key, sizeof f->rsa_key, "%s/id_rsa", f->dir);
    snprintf(f->other_key, sizeof f->other_key, "%s/id_other", f->dir);
    char pub[160], sdir[96];
    snprintf(sdir, sizeof sdir, "%s/sshd", f->dir);
    mkdir(sdir, 0700);
    if (sshd_server_start(&f->sshd, sdir) < 0 || sshd_keygen("ed25519", f->key) < 0 ||
        sshd_keygen("ed25519", f->other_key) < 0)
        return -1;
    const char *rsa[] = {"ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "",
                         "-f", f->rsa_key, NULL};
    if (sshd_run(rsa, NULL, 0) != 0)
        return -1;
    snprintf(pub, sizeof pub, "%s.pub", f->key);
    sshd_authorize(&f->sshd, pub);
    snprintf(pub, sizeof pub, "%s.pub", f->rsa_key);
    sshd_authorize(&f->sshd, pub);
    F = f;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];
    if (!f)
        return 0;
    sshd_server_stop(&f->sshd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* A path in the fixture's directory unique to this call. */
static const char *fresh(struct fixture *f, const char *name)
{
    static char path[8][192];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 192, "%s/%s-%d", f->dir, name, ++f->n);
    return p;
}

static struct sshc_opts opts(struct fixture *f, const char *known_hosts)
{
    struct sshc_opts o = {
        .host = "127.0.0.1", .port = f->sshd.port, .user = "root",
        .key_file = f->key, .policy = SSHC_ACCEPT_NEW, .known_hosts = known_hosts,
        .deadline_ms = as_mono_ms() + 60000,
    };
    return o;
}

static struct sshc *connect_ok(const struct sshc_opts *o)
{
    struct as_error err;
    struct sshc *c = sshc_connect(o, &err);
    if (!c)
        fail_msg("connect: %s: %s", err.code, err.message);
    return c;
}

static int count_lines(const char *path)
{
    char *s = sshd_read_file(path, NULL);
    int n = 0;
    for (char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* ------------------------------------------------------------ tests -- */

static void test_exec_status_output_and_fingerprint(void **state)
{
    struct fixture *f = *state;
    const char *kh = fresh(f, "known_hosts");
    struct sshc_opts o = opts(f, kh);
    struct sshc *c = connect_ok(&o);
    struct sshc_result r;
    struct as_error err;

    assert_string_equal(sshc_host_fingerprint(c), f->sshd.fingerprint);
    assert_true(sshc_host_key_recorded(c));
    assert_int_equal(sshc_exec(c, "printf 'one\\ntwo\\n'; echo oops >&2; exit 7", &r, &err), 0);
    assert_int_equal(r.exit_status, 7);
    assert_non_null(strstr(r.tail, "one\ntwo\n"));
    assert_non_null(strstr(r.tail, "oops\n"));
    assert_int_equal(r.output_bytes, 13);
    sshc_result_clear(&r);
    /* a second command on the same connection */
    assert_int_equal(sshc_exec(c, "true", &r, &err), 0);
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.tail, "");
    sshc_result_clear(&r);
    sshc_close(c);
    assert_int_equal(count_lines(kh), 1);
}

static void test_key_forms(void **state)
{
    struct fixture *f = *state;
    const char *kh = fresh(f, "known_hosts");
    struct as_error err;
    struct sshc_opts o = opts(f, kh);

    /* PEM text in the parameter, and a PEM-format RSA key file */
    char *pem = sshd_read_file(f->key, NULL);
    o.key_pem = pem;
    sshc_close(connect_ok(&o));
    o.key_pem = NULL;
    o.key_file = f->rsa_key;
    sshc_close(connect_ok(&o));

    /* a one-line config value with literal "\n" */
    char *flat = calloc(1, strlen(pem) * 2 + 1), *w = flat;
    for (const char *p = pem; *p; p++) {
        if (*p == '\n') {
            *w++ = '\\';
            *w++ = 'n';
        } else {
            *w++ = *p;
        }
    }
    o.key_pem = flat;
    sshc_close(connect_ok(&o));

    o.key_pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n";
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "invalid_private_key");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    o.key_pem = NULL;
    o.key_file = fresh(f, "missing-key");
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "invalid_private_key");
    o.key_file = NULL;
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "missing_parameter");
    free(flat);
    free(pem);
}

static void test_accept_new_then_changed_key(void **state)
{
    struct fixture *f = *state;
    const char *kh = fresh(f, "known_hosts");
    struct sshc_opts o = opts(f, kh);
    struct as_error err;

    struct sshc *c = connect_ok(&o);
    assert_true(sshc_host_key_recorded(c));
    sshc_close(c);
    c = connect_ok(&o);
    assert_false(sshc_host_key_recorded(c));
    sshc_close(c);
    assert_int_equal(count_lines(kh), 1);

    char old_fp[128];
    snprintf(old_fp, sizeof old_fp, "%s", f->sshd.fingerprint);
    assert_int_equal(sshd_server_restart(&f->sshd, 1), 0);
    assert_string_not_equal(old_fp, f->sshd.fingerprint);
    o.port = f->sshd.port;
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "ssh_host_key_changed");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, f->sshd.fingerprint));
    assert_int_equal(count_lines(kh), 1); /* the old entry stays */

    /* forgetting the host lets the new machine be trusted on first use */
    assert_int_equal(sshc_forget_host(kh, "127.0.0.1", f->sshd.port, &err), 1);
    c = connect_ok(&o);
    assert_true(sshc_host_key_recorded(c));
    sshc_close(c);
}

static void test_strict_fingerprint(void **state)
{
    struct fixture *f = *state;
    struct sshc_opts o = opts(f, NULL);
    struct as_error err;
    o.policy = SSHC_STRICT;
    o.fingerprint = f->sshd.fingerprint;
    sshc_close(connect_ok(&o));

    o.fingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "ssh_host_key_mismatch");
    assert_non_null(strstr(err.message, f->sshd.fingerprint));

    o.fingerprint = "MD5:12:34";
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "invalid_parameter");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_int_equal(sshc_fingerprint_check(f->sshd.fingerprint, &err), 0);
}

static void test_policy_parse(void **state)
{
    (void)state;
    enum sshc_policy p;
    struct as_error err;
    assert_int_equal(sshc_policy_parse("accept-new", &p, &err), 0);
    assert_int_equal(p, SSHC_ACCEPT_NEW);
    assert_int_equal(sshc_policy_parse("strict", &p, &err), 0);
    assert_int_equal(p, SSHC_STRICT);
    assert_int_equal(sshc_policy_parse("yes", &p, &err), -1);
    assert_string_equal(err.code, "invalid_parameter");
}

static void test_wrong_key_is_auth_failure(void **state)
{
    struct fixture *f = *state;
    struct sshc_opts o = opts(f, fresh(f, "known_hosts"));
    struct as_error err;
    o.key_file = f->other_key;
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "ssh_auth_failed");
    o.key_file = f->key;
    o.user = "nobody";
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "ssh_auth_failed");
}

/* A listening socket nobody accepts on: the kernel completes the TCP
 * handshake, and no SSH greeting ever comes. */
static int silent_port(int *fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(*fd, 8) < 0 ||
        getsockname(*fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    return ntohs(a.sin_port);
}

static void test_unreachable(void **state)
{
    struct fixture *f = *state;
    struct as_error err;
    int fd;
    struct sshc_opts o = opts(f, fresh(f, "known_hosts"));
    o.port = test_refusing_port(&fd);
    assert_true(o.port > 0);
    assert_null(sshc_connect(&o, &err));
    close(fd);
    assert_string_equal(err.code, "ssh_unreachable");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);

    /* a port that accepts but never greets: the connect timeout */
    o.port = silent_port(&fd);
    assert_true(o.port > 0);
    o.connect_timeout_ms = 500;
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "ssh_unreachable");
    /* ... unless the whole deadline is shorter */
    o.connect_timeout_ms = 30000;
    o.deadline_ms = as_mono_ms() + 300;
    assert_null(sshc_connect(&o, &err));
    assert_string_equal(err.code, "ssh_timeout");
    close(fd);
}

static bool process_gone(pid_t pid)
{
    for (int i = 0; i < 200; i++) { /* up to 20 s on a loaded machine */
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return true;
        usleep(100000);
    }
    return false;
}

static pid_t read_pid(const char *path)
{
    for (int i = 0; i < 600; i++) {
        char *s = sshd_read_file(path, NULL);
        pid_t pid = s ? (pid_t)atoi(s) : 0;
        free(s);
        if (pid > 0)
            return pid;
        usleep(50000);
    }
    return 0;
}

static void test_script_deadline_kills_process_group(void **state)
{
    struct fixture *f = *state;
    struct sshc_opts o = opts(f, fresh(f, "known_hosts"));
    struct sshc *c = connect_ok(&o);
    const char *pidfile = NULL;
    char script[512], bg[220];
    struct sshc_result r;
    struct as_error err;
    sshc_close(c);

    /* The deadline must pass once both children run. Two seconds are
     * plenty unless the machine is loaded (root's .bashrc alone can take
     * seconds): then the script had not started them, and it runs again
     * with ten. */
    static const long deadline_ms[] = {2000, 10000};
    for (size_t i = 0; i < sizeof deadline_ms / sizeof deadline_ms[0]; i++) {
        /* a child in the background and one in the foreground: both must go */
        pidfile = fresh(f, "pid");
        snprintf(bg, sizeof bg, "%s.bg", pidfile);
        snprintf(script, sizeof script,
                 "sleep 300 &\necho $! > '%s.bg'\necho started\n"
                 "sh -c 'echo $$ > \"$1\"; exec sleep 300' sh '%s'\n",
                 pidfile, pidfile);
        o.deadline_ms = as_mono_ms() + deadline_ms[i];
        c = connect_ok(&o);
        assert_int_equal(sshc_run_script(c, script, &r, &err), -1);
        assert_string_equal(err.code, "ssh_timeout");
        bool started = strstr(r.tail, "started") && access(pidfile, F_OK) == 0;
        sshc_result_clear(&r);
        sshc_close(c);
        if (started)
            break;
        fprintf(stderr, "the script had not started within %ld ms: again, with longer\n",
                deadline_ms[i]);
    }

    pid_t fg_pid = read_pid(pidfile), bg_pid = read_pid(bg);
    assert_true(fg_pid > 0 && bg_pid > 0);
    assert_true(process_gone(fg_pid));
    assert_true(process_gone(bg_pid));
}

static void *interrupt_when(void *arg)
{
    const char *flag = arg;
    for (int i = 0; i < 1200 && access(flag, F_OK) != 0; i++)
        usleep(50000);
    as_set_interrupted(true);
    return NULL;
}

static void test_script_interrupted_by_sigterm(void **state)
{
    struct fixture *f = *state;
    struct sshc_opts o = opts(f, fresh(f, "known_hosts"));
    struct sshc *c = connect_ok(&o);
    const char *pidfile = fresh(f, "pid");
    char script[512];
    struct sshc_result r;
    struct as_error err;
    pthread_t t;

    snprintf(script, sizeof script, "echo $$ > '%s.tmp'; mv '%s.tmp' '%s'\nsleep 300\n", pidfile,
             pidfile, pidfile);
    pthread_create(&t, NULL, interrupt_when, (void *)pidfile);
    int rc = sshc_run_script(c, script, &r, &err);
    pthread_join(t, NULL);
    as_set_interrupted(false);
    assert_int_equal(rc, -1);
    assert_string_equal(err.code, "interrupted");
    sshc_result_clear(&r);
    sshc_close(c);
    pid_t pid = read_pid(pidfile);
    assert_true(pid > 0);
    assert_true(process_gone(pid));
}

/* A script far larger than a command line may be, with lines that look
 * like the end marker's shape; output far beyond the tail. */
static void test_script_large_input_and_tail(void **state)
{
    struct fixture *f = *state;
    struct sshc_opts o = opts(f, fresh(f, "known_hosts"));
    struct sshc *c = connect_ok(&o);
    size_t big = 300 * 1024;
    char *script = malloc(big + 512), *w = script;
    struct sshc_result r;
    struct as_error err;

    w += sprintf(w, "cat <<'EOF' | wc -c\n");
    for (size_t i = 0; i < big / 64; i++)
        w += sprintf(w, "AUTOSCALE-END-%048zu\n", i);
    w += sprintf(w, "EOF\ni=0; while [ $i -lt 400 ]; do echo \"line $i ..............\"; "
                    "i=$((i+1)); done\nprintf 'caf\\303\\251'\nexit 3\n");
    assert_int_equal(sshc_run_script(c, script, &r, &err), 0);
    assert_int_equal(r.exit_status, 3);
    assert_true(r.output_bytes > SSHC_TAIL_MAX);
    assert_true(strlen(r.tail) <= SSHC_TAIL_MAX);
    assert_true(strlen(r.tail) > SSHC_TAIL_MAX - 64);
    assert_non_null(strstr(r.tail, "line 399"));
    assert_null(strstr(r.tail, "line 1 "));
    size_t n = strlen(r.tail);
    assert_string_equal(r.tail + n - 5, "caf\xc3\xa9");
    assert_true(utf8_valid(r.tail, n));
    sshc_result_clear(&r);
    /* the first line printed: wc counted every byte of the here-document */
    free(script);
    sshc_close(c);
}

static void test_utf8_tail(void **state)
{
    (void)state;
    char *t = sshc_utf8_tail("ab\xc3\xa9z", 5, 4); /* "b" "é" "z" */
    assert_string_equal(t, "b\xc3\xa9z");
    free(t);
    t = sshc_utf8_tail("ab\xc3\xa9z", 5, 2); /* cut inside é: dropped whole */
    assert_string_equal(t, "z");
    free(t);
    t = sshc_utf8_tail("a\xff" "b\0c", 5, 100);
    assert_string_equal(t, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c");
    free(t);
    t = sshc_utf8_tail("\xe2\x82", 2, 100); /* a truncated sequence at the end */
    assert_true(utf8_valid(t, strlen(t)));
    free(t);
    t = sshc_utf8_tail("\xed\xa0\x80", 3, 100); /* a surrogate */
    assert_true(utf8_valid(t, strlen(t)));
    free(t);
}

static void test_forget_host(void **state)
{
    struct fixture *f = *state;
    const char *kh = fresh(f, "known_hosts");
    struct as_error err;
    assert_int_equal(sshc_forget_host(kh, "10.0.0.1", 22, &err), 0); /* no file */
    assert_int_equal(sshd_write_file(kh,
                                     "10.0.0.1 ssh-ed25519 AAAA1\n"
                                     "[10.0.0.1]:2222 ssh-ed25519 AAAA2\n"
                                     "10.0.0.10 ssh-ed25519 AAAA3\n"
                                     "web,10.0.0.1 ssh-rsa AAAA4\n"
                                     "# 10.0.0.1 a comment\n"
                                     "@revoked 10.0.0.1 ssh-rsa AAAA5\n",
                                     0644),
                     0);
    assert_int_equal(sshc_forget_host(kh, "10.0.0.1", 22, &err), 2);
    char *s = sshd_read_file(kh, NULL);
    assert_string_equal(s, "[10.0.0.1]:2222 ssh-ed25519 AAAA2\n"
                           "10.0.0.10 ssh-ed25519 AAAA3\n"
                           "# 10.0.0.1 a comment\n"
                           "@revoked 10.0.0.1 ssh-rsa AAAA5\n");
    free(s);
    struct stat st;
    assert_int_equal(stat(kh, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(sshc_forget_host(kh, "10.0.0.1", 2222, &err), 1);
    assert_int_equal(sshc_forget_host(kh, "10.0.0.1", 2222, &err), 0);
}

static void test_default_known_hosts(void **state)
{
    (void)state;
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("XDG_STATE_HOME", "/var/tmp/state", 1);
    char *p = sshc_default_known_hosts();
    assert_string_equal(p, "/var/tmp/state/autoscale/known_hosts");
    free(p);
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/stanley", 1);
    p = sshc_default_known_hosts();
    assert_string_equal(p, "/home/stanley/.local/state/autoscale/known_hosts");
    free(p);
    if (home)
        setenv("HOME", home, 1);
    free(home);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

/* The pack writes host keys only into a known_hosts file of its own
 * (docs/actions.md, "Paths"): ssh_known_hosts_file=../../../etc/passwd once
 * appended a key to /etc/passwd. */
static void test_known_hosts_file_must_be_ours(void **state)
{
    (void)state;
    char dir[] = "/tmp/as-kh-XXXXXX", good[128], pw[128], open_kh[128], link[128],
        missing[128], rel[160];
    assert_non_null(mkdtemp(dir));
    snprintf(good, sizeof good, "%s/known_hosts", dir);
    snprintf(pw, sizeof pw, "%s/passwd", dir);
    snprintf(open_kh, sizeof open_kh, "%s/open", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(missing, sizeof missing, "%s/none", dir);
    snprintf(rel, sizeof rel, "%s/../%s/known_hosts", dir, dir + 5);
    write_file(good,
               "# ours\n127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\n"
               "[127.0.0.1]:2222,[::1]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNh\n"
               "@cert-authority *.example sk-ssh-ed25519@openssh.com AAAA\n\n",
               0600);
    write_file(pw, "root:x:0:0:root:/root:/bin/bash\n", 0600);
    write_file(open_kh, "127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\n", 0666);
    assert_int_equal(symlink(good, link), 0);

    struct as_error err;
    assert_int_equal(sshc_known_hosts_check(good, &err), 0);
    assert_int_equal(sshc_known_hosts_check(missing, &err), 0);
    const char *const refused[] = {pw, open_kh, link, rel, "known_hosts",
                                   "../../../etc/passwd", dir};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        if (sshc_known_hosts_check(refused[i], &err) == 0)
            fail_msg("accepted %s", refused[i]);
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    }
    /* forgetting a host rewrites the file: the same rule */
    assert_int_equal(sshc_forget_host(pw, "127.0.0.1", 22, &err), -1);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_hosts_file_must_be_ours),
        cmocka_unit_test(test_exec_status_output_and_fingerprint),
        cmocka_unit_test(test_key_forms),
        cmocka_unit_test(test_accept_new_then_changed_key),
        cmocka_unit_test(test_strict_fingerprint),
        cmocka_unit_test(test_policy_parse),
        cmocka_unit_test(test_wrong_key_is_auth_failure),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_script_deadline_kills_process_group),
        cmocka_unit_test(test_script_interrupted_by_sigterm),
        cmocka_unit_test(test_script_large_input_and_tail),
        cmocka_unit_test(test_utf8_tail),
        cmocka_unit_test(test_forget_host),
        cmocka_unit_test(test_default_known_hosts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
