/* End-to-end tests of action binaries on the st2 datastore: the environment
 * st2 gives an action (ST2_ACTION_API_URL, ST2_ACTION_AUTH_TOKEN) points them
 * at the fake st2 keys API, and the tests check what reached it, that no
 * token leaks, and that SIGTERM (st2's timeout) ends an action cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <elf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_run.h"
#include "fake_st2.h"
#include "jsonx.h"

#define TOKEN "tok-5f1e2d3c4b5a69788796a5b4"

struct fixture {
    struct fake_st2 *st2;
    char url[128];
    const char *env[8];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->st2 = fake_st2_start(TOKEN, NULL);
    assert_non_null(f->st2);
    snprintf(f->url, sizeof f->url, "ST2_ACTION_API_URL=%s", fake_st2_url(f->st2));
    f->env[0] = f->url;
    f->env[1] = "ST2_ACTION_AUTH_TOKEN=" TOKEN;
    f->env[2] = "ST2_ACTION_DEBUG=True"; /* the most logging, still no token */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fake_st2_set_delay_ms(f->st2, 0);
    fake_st2_stop(f->st2);
    free(f);
    return 0;
}

static void assert_no_token(const struct action_result *r)
{
    assert_null(strstr(r->out, TOKEN));
    assert_null(strstr(r->err, TOKEN));
}

static void test_create_and_read_back(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *create[] = {"--compute_provider=local", "--name=web", "--min=2", "--max=4", NULL};
    const char *get[] = {"--name=web", NULL};

    assert_int_equal(action_run("asg_define", create, f->env, &r), 0);
    assert_non_null(r.json);
    assert_no_token(&r);
    action_result_free(&r);

    char *stored = fake_st2_get_key(f->st2, "autoscale.spec.web");
    assert_non_null(stored);
    struct json_object *spec = json_tokener_parse(stored);
    assert_int_equal(jx_int(spec, "max", -1), 4);
    json_object_put(spec);
    free(stored);
    char *auth = fake_st2_last_header(f->st2, "X-Auth-Token");
    assert_string_equal(auth, TOKEN);
    free(auth);

    assert_int_equal(action_run("asg_get", get, f->env, &r), 0);
    assert_int_equal(jx_int(jx_obj(r.json, "group"), "min", -1), 2);
    assert_no_token(&r);
    action_result_free(&r);
}

static void test_wrong_token(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--compute_provider=local", "--name=web", NULL};
    const char *env[] = {f->url, "ST2_ACTION_AUTH_TOKEN=wrong-token-123456", NULL};

    assert_int_equal(action_run("asg_define", args, env, &r), 1);
    assert_non_null(r.json);
    assert_string_equal(action_error_code(&r), "datastore_unauthorized");
    assert_null(strstr(r.out, "wrong-token-123456"));
    assert_null(strstr(r.err, "wrong-token-123456"));
    action_result_free(&r);
    assert_int_equal(fake_st2_key_count(f->st2), 0);
}

static void test_st2_down(void **state)
{
    (void)state;
    struct action_result r;
    const char *args[] = {"--name=web", NULL};
    const char *env[] = {"ST2_ACTION_API_URL=http://127.0.0.1:9/v1",
                         "ST2_ACTION_AUTH_TOKEN=" TOKEN, NULL};

    assert_int_equal(action_run("asg_get", args, env, &r), 1);
    assert_non_null(r.json);
    assert_string_equal(action_error_code(&r), "http_unreachable");
    assert_no_token(&r);
    action_result_free(&r);
}

/* asg_get started with f->env against a fake that delays its answers,
 * sent SIGTERM once its request reached the fake: *r. It must say
 * "interrupted" and exit 1. */
static void sigterm_mid_request(struct fixture *f, struct action_result *r)
{
    const char *args[] = {"--name=web", NULL};
    int out_fd, err_fd;
    fake_st2_set_delay_ms(f->st2, 20000);
    pid_t pid = action_start("asg_get", args, f->env, &out_fd, &err_fd);
    for (int i = 0; i < 500; i++) { /* until the request reached the server */
        struct fake_st2_stats st;
        fake_st2_stats(f->st2, &st);
        if (st.requests > 0)
            break;
        usleep(10000);
    }
    kill(pid, SIGTERM);
    action_wait(pid, out_fd, err_fd, r);
    assert_int_equal(r->status, 1);
    assert_string_equal(action_error_code(r), "interrupted");
}

/* st2's timeout sends SIGTERM and never SIGKILL: the action must stop
 * waiting on the datastore, print its JSON error and exit non-zero. */
static void test_sigterm_while_waiting(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    sigterm_mid_request(f, &r);
    assert_non_null(r.json);
    action_result_free(&r);
}

/* Is actions/bin/autoscale linked statically (no PT_INTERP)? Then its
 * libcurl is the autoscale_curl helper (lib/core/http_worker.c). */
static int autoscale_is_static(void)
{
    const char *bin = getenv("AUTOSCALE_BIN_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/autoscale", bin ? bin : "actions/bin");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    Elf64_Ehdr eh;
    int is_static = 1;
    assert_int_equal(fread(&eh, sizeof eh, 1, f), 1);
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        assert_int_equal(fseek(f, (long)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize), SEEK_SET), 0);
        assert_int_equal(fread(&ph, sizeof ph, 1, f), 1);
        if (ph.p_type == PT_INTERP)
            is_static = 0;
    }
    fclose(f);
    return is_static;
}

/* Processes whose environment holds `mark`: the action and its helper. */
static int processes_marked(const char *mark)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[300], buf[65536];
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        for (size_t i = 0; i < got; i += strlen(buf + i) + 1)
            if (strncmp(buf + i, mark, strlen(mark)) == 0 && buf[i + strlen(mark)] == '\0')
                n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* By libcurl (through the autoscale_curl helper in a static binary) the
 * datastore reads and writes as by the plain client. */
static void test_by_libcurl(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *create[] = {"--compute_provider=local", "--name=web", "--min=2", NULL};
    const char *get[] = {"--name=web", NULL};
    f->env[3] = "AUTOSCALE_HTTP_TRANSPORT=curl";

    assert_int_equal(action_run("asg_define", create, f->env, &r), 0);
    assert_no_token(&r);
    action_result_free(&r);
    assert_int_equal(action_run("asg_get", get, f->env, &r), 0);
    assert_int_equal(jx_int(jx_obj(r.json, "group"), "min", -1), 2);
    assert_no_token(&r);
    action_result_free(&r);
}

/* SIGTERM during a request the helper carries: the action answers
 * "interrupted" at once, and its helper does not outlive it. */
static void test_sigterm_through_helper(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    char mark[64];
    snprintf(mark, sizeof mark, "AUTOSCALE_TEST_MARK=helper-%d", (int)getpid());
    f->env[3] = "AUTOSCALE_HTTP_TRANSPORT=curl";
    f->env[4] = mark;
    sigterm_mid_request(f, &r);
    action_result_free(&r);
    int left = 0;
    for (int i = 0; i < 100 && (left = processes_marked(mark)) > 0; i++)
        usleep(20000);
    assert_int_equal(left, 0);
}

/* A static binary resolves no names: a URL naming a host other than
 * localhost goes to libcurl, in the helper (here one that cannot start),
 * while localhost and addresses stay with the plain client. */
static void test_static_names_go_to_helper(void **state)
{
    struct fixture *f = *state;
    if (!autoscale_is_static())
        skip();
    struct action_result r;
    const char *args[] = {"--name=web", NULL};
    const char *port = strrchr(fake_st2_url(f->st2), ':');
    char by_name[128], by_localhost[128];
    snprintf(by_name, sizeof by_name, "ST2_ACTION_API_URL=http://st2.invalid%s", port);
    snprintf(by_localhost, sizeof by_localhost, "ST2_ACTION_API_URL=http://localhost%s", port);
    const char *env[] = {by_name, "ST2_ACTION_AUTH_TOKEN=" TOKEN,
                         "AUTOSCALE_CURL_WORKER=/nonexistent/autoscale_curl", NULL};

    assert_int_equal(action_run("asg_get", args, env, &r), 1);
    assert_string_equal(action_error_code(&r), "http_init");
    action_result_free(&r);

    env[0] = by_localhost; /* reaches the fake, which has no such group */
    assert_int_equal(action_run("asg_get", args, env, &r), 2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    action_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_st2_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_while_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_libcurl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_through_helper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_names_go_to_helper, setup, teardown),
    };
    return cmocka_run_group_tests_name("st2_backend", tests, NULL, NULL);
}
