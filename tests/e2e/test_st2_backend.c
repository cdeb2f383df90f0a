/* End-to-end tests of action binaries on the st2 datastore: the environment
 * st2 gives an action (ST2_ACTION_API_URL, ST2_ACTION_AUTH_TOKEN) points them
 * at the fake st2 keys API, and the tests check what reached it, that no
 * token leaks, and that SIGTERM (st2's timeout) ends an action cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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
    const char *env[4];
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

/* st2's timeout sends SIGTERM and never SIGKILL: the action must stop
 * waiting on the datastore, print its JSON error and exit non-zero. */
static void test_sigterm_while_waiting(void **state)
{
    struct fixture *f = *state;
    struct action_result r;
    const char *args[] = {"--name=web", NULL};
    int out_fd, err_fd;

    fake_st2_set_delay_ms(f->st2, 20000);
    pid_t pid = action_start("asg_get", args, f->env, &out_fd, &err_fd);
    for (int i = 0; i < 200; i++) { /* until the request reached the server */
        struct fake_st2_stats st;
        fake_st2_stats(f->st2, &st);
        if (st.requests > 0)
            break;
        usleep(10000);
    }
    kill(pid, SIGTERM);
    action_wait(pid, out_fd, err_fd, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(r.json);
    assert_string_equal(action_error_code(&r), "interrupted");
    action_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_st2_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_while_waiting, setup, teardown),
    };
    return cmocka_run_group_tests_name("st2_backend", tests, NULL, NULL);
}
