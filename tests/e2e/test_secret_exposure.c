/* End-to-end: where a secret can be seen while and after an action runs
 * (docs/actions.md, "Secrets").
 *
 * - A server that echoes a refused password in its error text, in every form
 *   a server or library writes it (raw, JSON-escaped several ways, twice
 *   JSON-escaped, percent-encoded, shell-quoted, Python repr): the action's
 *   stdout and stderr hold no form of it, and the echo is masked whole.
 * - While the action runs (its token request held by the fake), the
 *   password given the st2 way, in AUTOSCALE_SECRET_OPENSTACK_PASSWORD, is
 *   neither in /proc/PID/cmdline (any local user reads it) nor in
 *   /proc/PID/environ; given as a parameter it is on the command line, as
 *   documented.
 * - A process the action starts (the local provider's node) does not
 *   inherit the variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "action_run.h"
#include "fake_openstack.h"
#include "jsonx.h"
#include "store_fixture.h"

/* Every character a form encodes differently: quotes, backslash, slash,
 * space, %, +, &, <, a tab, non-ASCII and a character beyond the BMP. */
static const char WRONG[] = "Wr0ng \"pa'ss\\wo/rd\" 50%+&<>\t\xc3\xa9\xf0\x9f\x98\x80!";

struct fixture {
    struct store_fixture st;
    struct fake_openstack *os;
    char auth_arg[256], secret_env[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(store_fixture_open(&f->st, "as-secret"), 0);
    f->os = fake_openstack_start(NULL);
    assert_non_null(f->os);
    snprintf(f->auth_arg, sizeof f->auth_arg, "--openstack_auth_url=%s",
             fake_openstack_auth_url(f->os));
    struct action_result r;
    assert_int_equal(store_run(&f->st, "asg_define", &r, "--name=web",
                               "--compute_provider=openstack", "--min=0", NULL), 0);
    action_result_free(&r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->os)
        fake_openstack_stop(f->os);
    store_fixture_close(&f->st);
    free(f);
    return 0;
}

/* The st2 way: the password in the environment st2 builds from `env`. */
static void secret_in_env(struct fixture *f, const char *password)
{
    snprintf(f->secret_env, sizeof f->secret_env, "AUTOSCALE_SECRET_OPENSTACK_PASSWORD=%s",
             password);
    f->st.env[1] = f->secret_env;
}

static void assert_lacks(const char *where, const char *text, const char *form,
                         const char *name)
{
    if (text && strstr(text, form))
        fail_msg("%s holds the %s form of the password: %s", where, name, text);
}

static void test_no_form_of_an_echoed_password_leaks(void **state)
{
    struct fixture *f = *state;
    static const char *const names[FAKE_OS_ECHO_FORMS] = {
        "raw", "JSON", "JSON with \\/", "ASCII JSON", "all-\\u JSON", "twice JSON",
        "URL", "lower-case URL", "form", "shell", "shlex", "Python repr"};
    char *forms[FAKE_OS_ECHO_FORMS], *in_json[FAKE_OS_ECHO_FORMS];
    for (int g = 0; g < FAKE_OS_ECHO_FORMS; g++) {
        forms[g] = fake_openstack_echo_encode((enum fake_os_echo_form)g, WRONG);
        /* how each would read inside our stdout's JSON strings */
        in_json[g] = fake_openstack_echo_encode(FAKE_OS_ECHO_JSON, forms[g]);
        assert_non_null(forms[g]);
        assert_non_null(in_json[g]);
    }
    secret_in_env(f, WRONG);

    for (int form = 0; form < FAKE_OS_ECHO_FORMS; form++) {
        fake_openstack_set_echo_form(f->os, (enum fake_os_echo_form)form);
        struct action_result r;
        int rc = store_run(&f->st, "node_list", &r, "--name=web", f->auth_arg,
                           "--openstack_username=" FAKE_OS_USERNAME,
                           "--openstack_project_name=" FAKE_OS_PROJECT, NULL);
        assert_int_equal(rc, 1);
        assert_string_equal(action_error_code(&r), "provider_unauthorized");
        struct json_object *e = NULL;
        json_object_object_get_ex(r.json, "error", &e);
        const char *message = jx_str(e, "message", "");
        /* the server did echo it, and exactly the echo became the mask (a
         * quoted form keeps its outer quotes) */
        int quoted = form == FAKE_OS_ECHO_SHELL || form == FAKE_OS_ECHO_SHLEX ||
                     form == FAKE_OS_ECHO_PYREPR;
        if (!strstr(message, quoted ? "(password \"'***'\" refused)"
                                    : "(password \"***\" refused)"))
            fail_msg("%s echo: not masked whole: %s", names[form], message);
        for (int g = 0; g < FAKE_OS_ECHO_FORMS; g++) {
            assert_lacks("the error message", message, forms[g], names[g]);
            assert_lacks("stdout", r.out, forms[g], names[g]);
            assert_lacks("stdout", r.out, in_json[g], names[g]);
            assert_lacks("stderr", r.err, forms[g], names[g]);
        }
        action_result_free(&r);
    }
    struct fake_openstack_stats s;
    fake_openstack_stats(f->os, &s);
    assert_int_equal(s.auth, FAKE_OS_ECHO_FORMS); /* one refused login per run */
    for (int g = 0; g < FAKE_OS_ECHO_FORMS; g++) {
        free(forms[g]);
        free(in_json[g]);
    }
}

/* The whole of /proc/<pid>/<what> (NUL-separated strings), and its length. */
static char *proc_read(pid_t pid, const char *what, size_t *len)
{
    char path[64], *buf = malloc(1 << 20);
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_non_null(buf);
    size_t n = 0;
    for (ssize_t got; (got = read(fd, buf + n, (1 << 20) - n - 1)) > 0;)
        n += (size_t)got;
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Start node_list with its token request held by the fake, and read what
 * /proc shows of it while it waits: cmdline and environ, each with its
 * length. */
static void proc_while_running(struct fixture *f, const char *extra_arg, char **cmdline,
                               size_t *clen, char **environ_, size_t *elen)
{
    fake_openstack_set_delay_ms(f->os, FAKE_OS_AUTH, 600000); /* cut short by stop */
    const char *args[] = {"--name=web", f->auth_arg, "--openstack_username=" FAKE_OS_USERNAME,
                          "--openstack_project_name=" FAKE_OS_PROJECT, extra_arg, NULL};
    int out_fd, err_fd;
    pid_t pid = action_start("node_list", args, store_env(&f->st), &out_fd, &err_fd);
    assert_true(pid > 0);

    /* Wait until the fake holds its token request: it is then running, and
     * past start-up (where the variable is read). */
    struct fake_openstack_stats s = {0};
    for (int status; s.auth == 0;) {
        assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still running */
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        fake_openstack_stats(f->os, &s);
    }
    *cmdline = proc_read(pid, "cmdline", clen);
    *environ_ = proc_read(pid, "environ", elen);

    fake_openstack_stop(f->os); /* the held answer ends; so does the action */
    f->os = NULL;
    struct action_result r;
    action_wait(pid, out_fd, err_fd, &r);
    action_result_free(&r);
}

static int holds(const char *buf, size_t len, const char *s)
{
    return memmem(buf, len, s, strlen(s)) != NULL;
}

static void test_proc_shows_no_secret_given_in_the_environment(void **state)
{
    struct fixture *f = *state;
    secret_in_env(f, FAKE_OS_PASSWORD);
    char *cmdline, *env;
    size_t clen, elen;
    proc_while_running(f, NULL, &cmdline, &clen, &env, &elen);

    assert_true(holds(cmdline, clen, "--name=web")); /* the live process's, not empty */
    assert_false(holds(cmdline, clen, FAKE_OS_PASSWORD));
    assert_true(holds(env, elen, "AUTOSCALE_DB=")); /* its real environment */
    assert_false(holds(env, elen, FAKE_OS_PASSWORD));
    free(cmdline);
    free(env);
}

static void test_a_password_given_as_a_parameter_is_on_the_command_line(void **state)
{
    /* What docs/actions.md warns of, shown so the test above could fail. */
    struct fixture *f = *state;
    char *cmdline, *env;
    size_t clen, elen;
    proc_while_running(f, "--openstack_password=" FAKE_OS_PASSWORD, &cmdline, &clen, &env,
                       &elen);
    assert_true(holds(cmdline, clen, FAKE_OS_PASSWORD));
    free(cmdline);
    free(env);
}

/* The pid the local provider recorded for a node: its registry file. */
static pid_t local_node_pid(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    pid_t pid = 0;
    for (struct dirent *e; !pid && (e = readdir(d));) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || strcmp(dot, ".json") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct json_object *o = json_object_from_file(path);
        struct json_object *p = NULL;
        if (o && json_object_object_get_ex(o, "pid", &p))
            pid = (pid_t)json_object_get_int(p);
        json_object_put(o);
    }
    closedir(d);
    return pid;
}

static void test_a_started_process_does_not_inherit_the_secret(void **state)
{
    struct fixture *f = *state;
    static const char marker[] = "S3CR3T-not-for-children-0123";
    char local[160], local_arg[200];
    snprintf(local, sizeof local, "%s/local", f->st.dir);
    snprintf(local_arg, sizeof local_arg, "--local_dir=%s", local);
    secret_in_env(f, marker);

    struct action_result r;
    assert_int_equal(store_run(&f->st, "asg_define", &r, "--name=loc", "--min=0",
                               "--compute_provider=local", NULL), 0);
    action_result_free(&r);
    int rc = store_run(&f->st, "add_node", &r, "--name=loc", local_arg,
                       "--local_port=18093", NULL);
    if (rc != 0)
        fail_msg("add_node: %s", r.out);
    action_result_free(&r);

    pid_t node = local_node_pid(local);
    assert_true(node > 0);
    size_t elen;
    char *env = proc_read(node, "environ", &elen);
    kill(-node, SIGKILL);
    kill(node, SIGKILL);
    assert_true(holds(env, elen, "AUTOSCALE_DB=")); /* it did inherit the rest */
    assert_false(holds(env, elen, marker));
    assert_false(holds(env, elen, "AUTOSCALE_SECRET_"));
    free(env);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_no_form_of_an_echoed_password_leaks),
        T(test_proc_shows_no_secret_given_in_the_environment),
        T(test_a_password_given_as_a_parameter_is_on_the_command_line),
        T(test_a_started_process_does_not_inherit_the_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
