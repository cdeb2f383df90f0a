/* test_secret.c - the secret registry (lib/secret.c) and the logger that
 * scrubs every line through it (lib/log.c).
 *
 * Log output is captured by pointing fd 2 at a temporary file for the
 * duration of one call (dup/dup2), then reading the file back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "secret.h"

/* ---- stderr capture ---- */

static int saved_fd = -1;
static FILE *capture_file;

static void capture_start(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_fd = dup(STDERR_FILENO);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(capture_file), STDERR_FILENO) >= 0);
}

/* Restore stderr and return what was written (malloc'd). */
static char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    saved_fd = -1;
    fseek(capture_file, 0, SEEK_END);
    long size = ftell(capture_file);
    assert_true(size >= 0);
    rewind(capture_file);
    char *buf = calloc(1, (size_t)size + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)size, capture_file);
    buf[got] = '\0';
    fclose(capture_file);
    capture_file = NULL;
    return buf;
}

static int reset(void **state)
{
    (void)state;
    if (saved_fd >= 0) { /* a failed assertion left stderr captured */
        char *lost = capture_end();
        free(lost);
    }
    secret_clear();
    unsetenv("ST2_ACTION_DEBUG");
    unsetenv("AUTOSCALE_LOG_LEVEL");
    log_set_level(LOG_INFO);
    log_init("test_secret");
    return 0;
}

static void assert_scrub(const char *in, const char *want)
{
    char *out = secret_scrub(in);
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

/* ---- secret_scrub ---- */

static void test_no_secrets_is_identity(void **state)
{
    (void)state;
    assert_scrub("nothing to hide here", "nothing to hide here");
    assert_scrub("", "");
    assert_scrub(NULL, "");
}

static void test_registered_secret_scrubbed(void **state)
{
    (void)state;
    secret_register("s3cr3t-token");
    assert_scrub("token=s3cr3t-token", "token=***");
    assert_scrub("s3cr3t-token", "***");
    assert_scrub("unrelated", "unrelated");
    /* a near miss is not a match */
    assert_scrub("s3cr3t-toke", "s3cr3t-toke");
}

static void test_multiple_occurrences(void **state)
{
    (void)state;
    secret_register("hunter22");
    assert_scrub("a hunter22 b hunter22 c hunter22", "a *** b *** c ***");
    assert_scrub("hunter22hunter22", "******");
    /* overlapping candidates: replaced left to right, no partial leftovers */
    assert_scrub("hunter2hunter22", "hunter2***");
}

static void test_multiple_secrets(void **state)
{
    (void)state;
    secret_register("alpha-key-1");
    secret_register("beta-token-2");
    assert_scrub("k=alpha-key-1 t=beta-token-2 k=alpha-key-1", "k=*** t=*** k=***");
}

static void test_register_copies_value(void **state)
{
    (void)state;
    char buf[] = "copied-secret";
    secret_register(buf);
    memset(buf, 'z', sizeof buf - 1);
    assert_scrub("x copied-secret x", "x *** x");
}

static void test_short_values_ignored(void **state)
{
    (void)state;
    secret_register("abc");
    secret_register("");
    secret_register(NULL);
    assert_scrub("abc abc", "abc abc");
    /* exactly 4 bytes is long enough */
    secret_register("abcd");
    assert_scrub("abc abcd", "abc ***");
}

static void test_duplicate_register_harmless(void **state)
{
    (void)state;
    secret_register("dup-secret");
    secret_register("dup-secret");
    assert_scrub("dup-secret", "***");
    secret_clear();
    assert_scrub("dup-secret", "dup-secret");
}

static void test_clear_forgets(void **state)
{
    (void)state;
    secret_register("forget-me");
    assert_scrub("forget-me", "***");
    secret_clear();
    assert_scrub("forget-me", "forget-me");
    /* the registry works again after a clear */
    secret_register("new-one!");
    assert_scrub("forget-me new-one!", "forget-me ***");
}

/* Regression (lib/secret.c, secret_scrub/scrub_one): secrets are scrubbed one at a
 * time in registration order, so when a shorter secret registered first is
 * a substring of a longer one, the longer one is only partly masked and its
 * remainder leaks: secrets {"abcd1234", "abcd1234WXYZ"}, input
 * "abcd1234WXYZ" gives "***WXYZ" instead of "***". Fix: scrub the longest
 * secrets first. This test fails until that is fixed. */
static void test_regression_overlapping_secrets_fully_masked(void **state)
{
    (void)state;
    secret_register("abcd1234");
    secret_register("abcd1234WXYZ");
    char *out = secret_scrub("key=abcd1234WXYZ");
    assert_non_null(out);
    int leaked = strstr(out, "WXYZ") != NULL;
    char copy[64];
    snprintf(copy, sizeof copy, "%s", out);
    free(out);
    if (leaked)
        fail_msg("secret remainder leaked: \"%s\" (want \"key=***\")", copy);
    assert_string_equal(copy, "key=***");
}

static void test_scrub_buf(void **state)
{
    (void)state;
    char buf[64] = "auth failed for token tok-12345 (tok-12345)";
    secret_scrub_buf(buf, sizeof buf); /* nothing registered: unchanged */
    assert_string_equal(buf, "auth failed for token tok-12345 (tok-12345)");
    secret_register("tok-12345");
    secret_scrub_buf(buf, sizeof buf);
    assert_string_equal(buf, "auth failed for token *** (***)");

    /* a small buffer stays terminated */
    char small[8] = "tok-123";
    secret_register("tok-123");
    secret_scrub_buf(small, sizeof small);
    assert_string_equal(small, "***");
}

/* ---- log.c ---- */

static void test_log_line_format_and_scrubbing(void **state)
{
    (void)state;
    log_init("/usr/lib/autoscale/asg_create");
    secret_register("pa55word!");
    capture_start();
    log_info("login with %s failed; retry pa55word!", "pa55word!");
    char *out = capture_end();
    assert_string_equal(out, "asg_create: info: login with *** failed; retry ***\n");
    free(out);
}

static void test_log_level_filtering(void **state)
{
    (void)state;
    log_set_level(LOG_WARN);
    capture_start();
    log_debug("d");
    log_info("i");
    log_warn("w");
    log_error("e");
    char *out = capture_end();
    assert_string_equal(out, "test_secret: warn: w\ntest_secret: error: e\n");
    free(out);

    log_set_level(LOG_DEBUG);
    capture_start();
    log_debug("d%d", 1);
    char *out2 = capture_end();
    assert_string_equal(out2, "test_secret: debug: d1\n");
    free(out2);

    log_set_level(LOG_ERROR);
    capture_start();
    log_warn("w");
    char *out3 = capture_end();
    assert_string_equal(out3, "");
    free(out3);
}

static enum log_level level_after_init(const char *debug, const char *level)
{
    if (debug)
        setenv("ST2_ACTION_DEBUG", debug, 1);
    else
        unsetenv("ST2_ACTION_DEBUG");
    if (level)
        setenv("AUTOSCALE_LOG_LEVEL", level, 1);
    else
        unsetenv("AUTOSCALE_LOG_LEVEL");
    log_set_level(LOG_INFO);
    log_init("test_secret");
    return log_get_level();
}

static void test_log_levels_from_environment(void **state)
{
    (void)state;
    assert_int_equal(level_after_init(NULL, NULL), LOG_INFO);
    assert_int_equal(level_after_init("True", NULL), LOG_DEBUG);
    assert_int_equal(level_after_init("true", NULL), LOG_DEBUG);
    assert_int_equal(level_after_init("1", NULL), LOG_DEBUG);
    assert_int_equal(level_after_init("False", NULL), LOG_INFO);
    assert_int_equal(level_after_init("", NULL), LOG_INFO);
    assert_int_equal(level_after_init(NULL, "error"), LOG_ERROR);
    assert_int_equal(level_after_init(NULL, "warn"), LOG_WARN);
    assert_int_equal(level_after_init(NULL, "info"), LOG_INFO);
    assert_int_equal(level_after_init(NULL, "debug"), LOG_DEBUG);
    assert_int_equal(level_after_init(NULL, "DEBUG"), LOG_DEBUG);
    assert_int_equal(level_after_init(NULL, "verbose"), LOG_INFO);
    /* an explicit AUTOSCALE_LOG_LEVEL wins over ST2_ACTION_DEBUG */
    assert_int_equal(level_after_init("True", "error"), LOG_ERROR);
    /* and an unrecognised one leaves ST2_ACTION_DEBUG's choice */
    assert_int_equal(level_after_init("True", "loud"), LOG_DEBUG);
}

static void test_log_debug_enabled_by_env_is_written(void **state)
{
    (void)state;
    level_after_init("True", NULL);
    capture_start();
    log_debug("details %s", "here");
    char *out = capture_end();
    assert_string_equal(out, "test_secret: debug: details here\n");
    free(out);

    level_after_init(NULL, NULL);
    capture_start();
    log_debug("details %s", "hidden");
    char *out2 = capture_end();
    assert_string_equal(out2, "");
    free(out2);
}

static void test_log_scrubs_secret_from_server_echo(void **state)
{
    (void)state;
    secret_register("X-Auth-Token-abcdef");
    secret_register("api-key-998877");
    capture_start();
    log_error("st2 said: {\"faultstring\": \"Unauthorized - X-Auth-Token-abcdef\", "
              "\"key\": \"api-key-998877\"}");
    char *out = capture_end();
    assert_null(strstr(out, "X-Auth-Token-abcdef"));
    assert_null(strstr(out, "api-key-998877"));
    assert_string_equal(out, "test_secret: error: st2 said: {\"faultstring\": "
                             "\"Unauthorized - ***\", \"key\": \"***\"}\n");
    free(out);
}

/* Regression (lib/log.c, log_msg): the line is formatted into a 2048-byte buffer
 * and truncated *before* it is scrubbed, so a secret that straddles the cut
 * is no longer a whole match and its beginning is written out. Input: a
 * registered secret "TOPSECRETVALUE42" preceded by 2040 bytes of text;
 * expected: no part of the secret on stderr; actual: "TOPSECR" is written.
 * Fix: scrub before truncating (format into a heap buffer, or scrub then
 * cut). This test fails until that is fixed. */
static void test_regression_log_truncation_does_not_leak_secret_prefix(void **state)
{
    (void)state;
    secret_register("TOPSECRETVALUE42");
    char pad[2041];
    memset(pad, '.', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    capture_start();
    log_error("%s%s", pad, "TOPSECRETVALUE42");
    char *out = capture_end();
    int leaked = strstr(out, "TOPS") != NULL;
    free(out);
    if (leaked)
        fail_msg("the start of a secret cut off by truncation was logged");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, reset, reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_no_secrets_is_identity),
        T(test_registered_secret_scrubbed),
        T(test_multiple_occurrences),
        T(test_multiple_secrets),
        T(test_register_copies_value),
        T(test_short_values_ignored),
        T(test_duplicate_register_harmless),
        T(test_clear_forgets),
        T(test_regression_overlapping_secrets_fully_masked),
        T(test_scrub_buf),
        T(test_log_line_format_and_scrubbing),
        T(test_log_level_filtering),
        T(test_log_levels_from_environment),
        T(test_log_debug_enabled_by_env_is_written),
        T(test_log_scrubs_secret_from_server_echo),
        T(test_regression_log_truncation_does_not_leak_secret_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
