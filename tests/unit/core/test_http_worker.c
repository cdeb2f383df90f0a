/* test_http_worker.c - lib/core/http_worker.c and http_worker_serve.c: the
 * libcurl transport of a static binary, a helper process on a socket.
 *
 * test_http.c runs every policy test through the real helper
 * (actions/bin/autoscale_curl); this file covers what only the helper can do
 * wrong: its frames, a helper that cannot start, dies, answers garbage or an
 * error code nobody registered, and that none outlives its client. Helpers
 * that misbehave are small shell scripts standing in for autoscale_curl
 * ($AUTOSCALE_CURL_WORKER), answering on their stdin, the socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/test_httpd.h"
#include "http.h"
#include "http_int.h"
#include "http_worker.h"
#include "log.h"
#include "signals.h"
#include "test_util.h"

static char tmp[4096];
static long client_timeout_ms = 10000;

/* ---------------------------------------------------------------- helpers -- */

static struct http_client *client(int attempts)
{
    struct http_options o;
    http_options_default(&o);
    o.max_attempts = attempts;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 2;
    o.timeout_ms = client_timeout_ms;
    struct as_error err;
    struct http_client *c = http_client_new(&o, &err);
    assert_non_null(c);
    return c;
}

/* A stand-in helper: a shell script with this body. */
static void fake_helper(const char *name, const char *body)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0755);
    setenv("AUTOSCALE_CURL_WORKER", path, 1);
}

static void real_helper(void)
{
    const char *bin = getenv("AUTOSCALE_BIN_DIR");
    char path[4200];
    snprintf(path, sizeof path, "%s/autoscale_curl", bin ? bin : "actions/bin");
    setenv("AUTOSCALE_CURL_WORKER", path, 1);
}

/* How many children of ours are alive (not zombies). */
static int live_children(void)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = '\0';
        char *close_paren = strrchr(buf, ')');
        char state;
        int ppid;
        if (close_paren && sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2 &&
            ppid == getpid() && state != 'Z')
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int get(struct http_client *c, const char *url, struct http_response *r,
               struct as_error *err)
{
    struct http_request req = {.method = "GET", .url = url, .retry = -1};
    return http_do(c, &req, r, err);
}

static int setup(void **state)
{
    (void)state;
    test_unset_proxies();
    as_set_interrupted(false);
    http_force_transport("worker");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    http_force_transport(NULL);
    unsetenv("AUTOSCALE_CURL_WORKER");
    return 0;
}

/* ----------------------------------------------------------------- frames -- */

static void test_frames_round_trip(void **state)
{
    (void)state;
    struct http_wframe w = {0};
    static const char bin[] = {'a', '\0', ',', ':', '\n', 'z'};
    http_wframe_str(&w, "GET");
    http_wframe_put(&w, bin, sizeof bin);
    http_wframe_num(&w, -42);
    http_wframe_str(&w, NULL);
    assert_int_equal(w.b.len, strlen("3:GET,") + 2 + 6 + 1 + strlen("3:-42,") + strlen("0:,"));

    const char *f;
    size_t n;
    long long v;
    assert_int_equal(http_wframe_next(&w, &f, &n), 1);
    assert_int_equal(n, 3);
    assert_memory_equal(f, "GET", 3);
    assert_int_equal(http_wframe_next(&w, &f, &n), 1);
    assert_int_equal(n, sizeof bin);
    assert_memory_equal(f, bin, sizeof bin);
    assert_int_equal(http_wframe_next(&w, &f, &n), 1);
    assert_int_equal(http_wfield_num(f, n, -100, 100, &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(http_wfield_num(f, n, 0, 100, &v), -1); /* out of range */
    assert_int_equal(http_wframe_next(&w, &f, &n), 1);
    assert_int_equal(n, 0);
    assert_int_equal(http_wframe_next(&w, &f, &n), 0); /* nothing more yet */
    http_wframe_clear(&w);
}

static int next_of(const char *text, size_t len)
{
    struct http_wframe w = {0};
    const char *f;
    size_t n;
    http_wframe_reserve(&w, len + 1);
    memcpy(w.b.s, text, len);
    w.b.len = len;
    int r = http_wframe_next(&w, &f, &n);
    http_wframe_clear(&w);
    return r;
}

static void test_frames_partial_and_malformed(void **state)
{
    (void)state;
    assert_int_equal(next_of("5:ab", 4), 0);         /* not all there */
    assert_int_equal(next_of("12", 2), 0);           /* length not ended */
    assert_int_equal(next_of("3:abcX", 6), -1);      /* no comma */
    assert_int_equal(next_of(":abc,", 5), -1);       /* no length */
    assert_int_equal(next_of("x:abc,", 6), -1);      /* not a length */
    assert_int_equal(next_of("1234567890:", 11), -1); /* over 9 digits */
    char big[32];
    int k = snprintf(big, sizeof big, "%u:", HTTP_WORKER_FIELD_MAX + 1u);
    assert_int_equal(next_of(big, (size_t)k), -1);   /* over the limit */
    assert_int_equal(next_of("0:,", 3), 1);
}

/* ---------------------------------------------------------------- helpers -- */

/* One GET to url by a client of `attempts` attempts fails with `code`, a
 * message holding `said`, after `attempts` attempts; and no helper it
 * started outlives the client. */
static void expect_failure(int attempts, const char *url, const char *code, const char *said)
{
    struct http_client *c = client(attempts);
    struct http_response r;
    struct as_error err;
    assert_int_equal(get(c, url, &r, &err), -1);
    assert_string_equal(err.code, code);
    assert_non_null(strstr(err.message, said));
    assert_int_equal(r.attempts, attempts);
    http_response_clear(&r);
    http_client_free(c);
    assert_int_equal(live_children(), 0);
}

static void test_missing_helper(void **state)
{
    (void)state;
    setenv("AUTOSCALE_CURL_WORKER", "/nonexistent/autoscale_curl", 1);
    expect_failure(1, "https://127.0.0.1:1/x", "http_init", "/nonexistent/autoscale_curl");
}

/* A helper that dies at once fails each attempt; every retry starts a new
 * one, and none is left behind. */
static void test_helper_that_dies(void **state)
{
    (void)state;
    fake_helper("dies", "exit 3");
    expect_failure(3, "https://127.0.0.1:1/x", "http_transport", "autoscale_curl");
}

/* A helper that never answers is given the attempt's time and a grace,
 * then killed: http_timeout, as libcurl's own timeout would say. */
static void test_helper_that_never_answers(void **state)
{
    (void)state;
    fake_helper("silent", "exec cat >/dev/null");
    client_timeout_ms = 200;
    expect_failure(1, "https://127.0.0.1:1/x", "http_timeout", "no reply in time");
    client_timeout_ms = 10000;
}

/* The helper that spoke garbage is killed, not waited for (its 5 s). */
static void test_helper_answering_garbage(void **state)
{
    (void)state;
    fake_helper("garbage", "head -c 10 >/dev/null; printf 'x:yz,' >&0; sleep 5");
    expect_failure(1, "https://127.0.0.1:1/x", "http_transport", "malformed");
}

/* An error code that is not in lib/core/error_codes.c cannot come out of
 * an action, whatever the helper says. */
static void test_helper_unregistered_code(void **state)
{
    (void)state;
    fake_helper("bogus", "head -c 10 >/dev/null; printf '4:fail,9:bogus_err,1:1,1:0,4:oops,' >&0; "
                         "sleep 5");
    expect_failure(1, "https://127.0.0.1:1/x", "http_transport", "malformed");
}

/* A well-formed failure of the real helper comes back with its code: a
 * refused connection is http_unreachable, as by libcurl in process. */
static void test_real_helper_failure_code(void **state)
{
    (void)state;
    real_helper();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", test_free_port("127.0.0.1", false));
    expect_failure(1, url, "http_unreachable", "127.0.0.1");
}

/* One helper serves every attempt of a client, and goes with it. */
static void test_one_helper_per_client(void **state)
{
    (void)state;
    real_helper();
    struct test_httpd *s = test_httpd_start();
    assert_non_null(s);
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .body = "one"});
    test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .body = "two"});
    struct http_client *c = client(1);
    char url[300];
    snprintf(url, sizeof url, "%s/a", test_httpd_url(s));
    struct http_response r;
    struct as_error err;
    assert_int_equal(get(c, url, &r, &err), 0);
    assert_string_equal(r.body, "one");
    http_response_clear(&r);
    assert_int_equal(live_children(), 1);
    assert_int_equal(get(c, url, &r, &err), 0);
    assert_string_equal(r.body, "two");
    http_response_clear(&r);
    assert_int_equal(live_children(), 1);
    http_client_free(c);
    assert_int_equal(live_children(), 0);
    test_httpd_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_frames_round_trip),
        T(test_frames_partial_and_malformed),
        T(test_missing_helper),
        T(test_helper_that_dies),
        T(test_helper_that_never_answers),
        T(test_helper_answering_garbage),
        T(test_helper_unregistered_code),
        T(test_real_helper_failure_code),
        T(test_one_helper_per_client),
#undef T
    };
    log_init("test_http_worker");
    if (test_tmpdir(tmp, sizeof tmp, "http_worker") < 0)
        return 1;
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    test_rmtree(tmp);
    return failed;
}
