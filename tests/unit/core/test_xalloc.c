/* test_xalloc.c - the out-of-memory policy (lib/core/xalloc.c, and jsonx.h's
 * jx_new_*): the wrappers return what the C library does, and a failure
 * ends the process through xalloc_die(): the handler first, if one is set,
 * then the message on stderr and abort(). An action's handler (actions/runner/st2.c)
 * prints its one JSON error document and exits 1. The failures run in a
 * child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonx.h"
#include "st2.h"
#include "xalloc.h"

static void test_wrappers(void **state)
{
    (void)state;
    char *s = xstrdup("web");
    assert_string_equal(s, "web");
    free(s);
    s = xstrndup("web-1", 3);
    assert_string_equal(s, "web");
    free(s);
    s = xasprintf("%s-%d", "web", 2);
    assert_string_equal(s, "web-2");
    free(s);
    int *z = xcalloc(4, sizeof *z);
    assert_int_equal(z[0] | z[3], 0);
    z = xrealloc(z, 8 * sizeof *z);
    z[7] = 7;
    free(z);
    free(xmalloc(0)); /* a pointer, never NULL */
    size_t cap = 0;
    char *g = xgrow(NULL, 1, &cap, 1);
    assert_true(cap >= 1);
    g = xgrow(g, 1000, &cap, 1); /* doubling: room for 1000 in one call */
    assert_true(cap >= 1000 && cap < 2000);
    assert_ptr_equal(xgrow(g, 10, &cap, 1), g); /* room enough: unchanged */
    free(g);

    struct json_object *o = jx_new_object(), *a = jx_new_array();
    assert_true(json_object_is_type(o, json_type_object));
    assert_true(json_object_is_type(a, json_type_array));
    json_object_array_add(a, jx_new_string("x"));
    assert_null(jx_new_string(NULL));
    json_object_object_add(o, "a", a);
    json_object_object_add(o, "n", jx_new_int(-7));
    json_object_object_add(o, "b", jx_new_bool(true));
    json_object_object_add(o, "s", jx_new_string_len("a\0b", 3));
    assert_int_equal(json_object_get_string_len(json_object_object_get(o, "s")), 3);
    assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                        "{\"a\":[\"x\"],\"n\":-7,\"b\":true,\"s\":\"a\\u0000b\"}");
    char *dump = jx_dump(o);
    assert_string_equal(dump, json_object_to_json_string_ext(
                                  o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    free(dump);
    json_object_put(o);
}

static void exit_3(size_t n)
{
    (void)n;
    _exit(3);
}

/* The status of a child that runs xalloc_die(), with or without a handler;
 * its stderr into err (size bytes). */
static int die_in_child(void (*handler)(size_t), char *err, size_t size)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        signal(SIGABRT, SIG_DFL);
        xalloc_set_handler(handler);
        xalloc_die(4096);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], err, size - 1);
    err[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_die_aborts_with_a_message(void **state)
{
    (void)state;
    char err[256];
    int status = die_in_child(NULL, err, sizeof err);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_string_equal(err, "autoscale: out of memory allocating 4096 bytes\n");
}

static void test_die_runs_the_handler_first(void **state)
{
    (void)state;
    char err[256];
    int status = die_in_child(exit_3, err, sizeof err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_string_equal(err, "");
}

/* An action whose command runs out of memory: a real failure (no system
 * has half the address space to give), except under ASan, which reports
 * such a request instead of returning NULL. */
static int cmd_greedy(struct as_ctx *ctx, struct json_object **result, struct as_error *err)
{
    (void)ctx, (void)result, (void)err;
#if defined(__SANITIZE_ADDRESS__)
    xalloc_die(4096);
#else
    free(xmalloc(SIZE_MAX / 2));
    return 0;
#endif
}

/* Read fd to EOF into buf (size bytes, NUL-terminated). */
static void read_fd(int fd, char *buf, size_t size)
{
    size_t n = 0;
    ssize_t r;
    while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd);
}

static void test_action_prints_its_json_error(void **state)
{
    (void)state;
    static const struct as_param params[] = {AS_PARAM_END};
    char out[512], err[256], *argv[] = {"greedy", NULL};
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]), close(pe[0]), close(po[1]), close(pe[1]);
        signal(SIGABRT, SIG_DFL);
        _exit(as_action_main(1, argv, params, cmd_greedy) + 100); /* never returns */
    }
    close(po[1]), close(pe[1]);
    read_fd(po[0], out, sizeof out);
    read_fd(pe[0], err, sizeof err);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_string_equal(err, "autoscale: out of memory\n");

    /* One document, the shape of every other error, with the registry's code. */
    struct as_error perr;
    struct json_object *doc = jx_parse(out, strlen(out), "stdout", "bad", AS_EXIT_FAILURE, &perr);
    assert_non_null(doc);
    struct json_object *e = jx_obj(doc, "error");
    assert_string_equal(jx_str(e, "code", ""), "out_of_memory");
    assert_true(strncmp(jx_str(e, "message", ""), "out of memory allocating ", 25) == 0);
    assert_int_equal(json_object_object_length(doc), 1);
    json_object_put(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrappers),
        cmocka_unit_test(test_die_aborts_with_a_message),
        cmocka_unit_test(test_die_runs_the_handler_first),
        cmocka_unit_test(test_action_prints_its_json_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
