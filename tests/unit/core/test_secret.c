/* test_secret.c - the secret registry (lib/core/secret.c) and the logger that
 * scrubs every line through it (lib/core/log.c).
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
#include "st2.h"

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

/* secret_scrub_changed copies only a text it masks something in. */
static void test_scrub_changed_copies_only_changes(void **state)
{
    (void)state;
    assert_null(secret_scrub_changed("nothing registered yet"));
    secret_register("hunter2-abc");
    assert_null(secret_scrub_changed("nothing to hide here"));
    assert_null(secret_scrub_changed(NULL));
    char *out = secret_scrub_changed("pw=hunter2-abc, pw=hunter2%2Dabc");
    assert_non_null(out);
    assert_string_equal(out, "pw=***, pw=***");
    free(out);
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

/* Regression (lib/core/secret.c, secret_scrub/scrub_one): secrets are scrubbed one at a
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

/* ---- encoded forms (issue 11): a server, or our own JSON, may write a
 * secret escaped; every form is masked whole, nothing else is touched ---- */

static void test_json_escaped_forms(void **state)
{
    (void)state;
    secret_register("pa\"ss\\wo/rd");
    /* json-c (and our stdout), then a writer that escapes the slash */
    assert_scrub("{\"m\":\"pa\\\"ss\\\\wo/rd\"}", "{\"m\":\"***\"}");
    assert_scrub("{\"m\":\"pa\\\"ss\\\\wo\\/rd\"}", "{\"m\":\"***\"}");
    /* every character as \uXXXX, lower and upper case hex */
    assert_scrub("x \\u0070\\u0061\\u0022ss\\u005cwo\\u002Frd y", "x *** y");
    /* and the raw form is still masked */
    assert_scrub("pw pa\"ss\\wo/rd.", "pw ***.");
}

static void test_json_unicode_and_control_forms(void **state)
{
    (void)state;
    /* non-ASCII, a character beyond the BMP, HTML characters, a tab */
    secret_register("<p\xc3\xa4$s>&\xf0\x9f\x98\x80\tz");
    const char *forms[] = {
        /* Python json.dumps (ensure_ascii): \u escapes and a surrogate pair */
        "<p\\u00e4$s>&\\ud83d\\ude00\\tz",
        /* Go's encoding/json: <, > and & escaped, UTF-8 kept, \t short */
        "\\u003cp\xc3\xa4$s\\u003e\\u0026\xf0\x9f\x98\x80\\tz",
        /* Java: upper-case hex, the tab as \u0009 */
        "<p\\u00E4$s>&\\uD83D\\uDE00\\u0009z",
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char in[256], want[] = "[***]";
        snprintf(in, sizeof in, "[%s]", forms[i]);
        assert_scrub(in, want);
    }
}

static void test_python_repr_forms(void **state)
{
    (void)state;
    secret_register("it's\"a\x01tab");
    assert_scrub("{'password': 'it\\'s\"a\\x01tab'}", "{'password': '***'}");
}

static void test_url_encoded_forms(void **state)
{
    (void)state;
    secret_register("a b/c?d=e&f+g%h\xc3\xa9");
    assert_scrub("/x?k=a%20b%2Fc%3Fd%3De%26f%2Bg%25h%C3%A9&n=1", "/x?k=***&n=1");
    assert_scrub("/x?k=a%20b%2fc%3fd%3de%26f%2bg%25h%c3%a9&n=1", "/x?k=***&n=1");
    /* a form body: + for the space */
    assert_scrub("k=a+b%2Fc%3Fd%3De%26f%2Bg%25h%C3%A9", "k=***");
}

static void test_shell_quoted_forms(void **state)
{
    (void)state;
    secret_register("it's me $HOME");
    assert_scrub("cmd --pw='it'\\''s me $HOME' x", "cmd --pw='***' x");
    /* Python's shlex.quote */
    assert_scrub("cmd --pw='it'\"'\"'s me $HOME' x", "cmd --pw='***' x");
    /* printf %q */
    assert_scrub("cmd --pw=it\\'s\\ me\\ \\$HOME x", "cmd --pw=*** x");
}

static void test_nested_forms(void **state)
{
    (void)state;
    secret_register("a\"b\\c'd e");
    /* a server's JSON echo of it, inside our JSON */
    assert_scrub("{\"message\":\"said {\\\"pw\\\": \\\"a\\\\\\\"b\\\\\\\\c'd e\\\"}\"}",
                 "{\"message\":\"said {\\\"pw\\\": \\\"***\\\"}\"}");
    /* a shell-quoted command line in JSON */
    assert_scrub("{\"cmd\":\"x '***'\"}", "{\"cmd\":\"x '***'\"}");
    assert_scrub("{\"cmd\":\"x 'a\\\"b\\\\c'\\\\''d e'\"}", "{\"cmd\":\"x '***'\"}");
    /* a URL-encoded JSON body */
    assert_scrub("q=%7B%22pw%22%3A%22a%5C%22b%5C%5Cc%27d%20e%22%7D",
                 "q=%7B%22pw%22%3A%22***%22%7D");
}

static void test_escape_at_the_edge_is_masked_whole(void **state)
{
    (void)state;
    secret_register("abcd\"");
    /* no backslash or quote of the escape may be left next to the mask */
    assert_scrub("\"abcd\\\"\"", "\"***\"");
    assert_scrub("xabcd\\u0022y", "x***y");
}

static void test_other_escapes_untouched(void **state)
{
    (void)state;
    secret_register("s3cr3t\"x");
    /* escapes that decode to something else, and broken ones, stay as they
     * were, byte for byte */
    const char *texts[] = {
        "{\"a\":\"line\\nbreak \\\"quoted\\\" \\u00e9 \\/\"}",
        "%41%4 %zz + 'a'\\''b' \\$ \\",
        "\\u12", "\\ud83d alone", "\\udc00", "%", "\\x4", "'\\'", "s3cr3t\\\\x\"",
        "s3cr3t%22", "s3cr3t\\x",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        assert_scrub(texts[i], texts[i]);
}

static void test_form_beside_raw_and_other_secrets(void **state)
{
    (void)state;
    secret_register("tok\"en-1");
    secret_register("key/2222");
    assert_scrub("tok\"en-1 tok\\\"en-1 tok%22en-1 key%2F2222 key\\/2222 key/2222",
                 "*** *** *** *** *** ***");
}

/* ---- secret_env_args: secrets from AUTOSCALE_SECRET_<NAME> ---- */

static const struct as_param env_params[] = {
    {"password", AS_T_STRING, AS_P_SECRET, NULL, "password", AS_NAMED},
    {"token", AS_T_STRING, AS_P_SECRET, NULL, "token", AS_NAMED},
    {"user", AS_T_STRING, 0, NULL, "user", AS_NAMED},
    AS_PARAM_END,
};

static void test_env_secret_becomes_an_argument(void **state)
{
    (void)state;
    char *orig[] = {"/x/bin/act", "--user=bob", NULL};
    char **argv = orig;
    int argc = 2;
    setenv("AUTOSCALE_SECRET_PASSWORD", "pa\"ss w0rd", 1);
    setenv("AUTOSCALE_SECRET_USER", "not-a-secret-param", 1);
    setenv("AUTOSCALE_SECRET_STRAY", "stray-value", 1);
    secret_env_args(env_params, &argc, &argv);

    assert_int_equal(argc, 3);
    assert_string_equal(argv[0], "/x/bin/act");
    assert_string_equal(argv[1], "--user=bob");
    assert_string_equal(argv[2], "--password=pa\"ss w0rd");
    assert_null(argv[3]);
    assert_null(orig[2]); /* the process's own argv is left as it was */
    /* every AUTOSCALE_SECRET_* is gone, and scrubbed, used or not */
    assert_null(getenv("AUTOSCALE_SECRET_PASSWORD"));
    assert_null(getenv("AUTOSCALE_SECRET_USER"));
    assert_null(getenv("AUTOSCALE_SECRET_STRAY"));
    assert_scrub("a pa\"ss w0rd b stray-value c not-a-secret-param", "a *** b *** c ***");
}

static void test_command_line_secret_wins_over_env(void **state)
{
    (void)state;
    char *orig[] = {"act", "--password=typed-one", NULL};
    char **argv = orig;
    int argc = 2;
    setenv("AUTOSCALE_SECRET_PASSWORD", "from-config", 1);
    setenv("AUTOSCALE_SECRET_TOKEN", "", 1);
    secret_env_args(env_params, &argc, &argv);
    assert_int_equal(argc, 2); /* neither the given one nor an empty one is added */
    assert_ptr_equal(argv, orig);
    assert_null(getenv("AUTOSCALE_SECRET_PASSWORD"));
    assert_null(getenv("AUTOSCALE_SECRET_TOKEN"));
    assert_scrub("from-config", "***");
}

static void test_env_secret_parses_like_an_argument(void **state)
{
    (void)state;
    char *orig[] = {"act", NULL};
    char **argv = orig;
    int argc = 1;
    setenv("AUTOSCALE_SECRET_TOKEN", "tok-\xc3\xa9-1234", 1);
    secret_env_args(env_params, &argc, &argv);
    struct as_error err = {0};
    struct as_args *a = as_args_parse(env_params, argc, argv, &err);
    assert_non_null(a);
    assert_true(as_arg_given(a, "token"));
    assert_string_equal(as_arg_str(a, "token"), "tok-\xc3\xa9-1234");
    assert_null(as_arg_str(a, "password"));
    as_args_free(a);

    /* and is refused like one: not UTF-8 */
    argv = orig;
    argc = 1;
    setenv("AUTOSCALE_SECRET_TOKEN", "bad-\xff-utf8", 1);
    secret_env_args(env_params, &argc, &argv);
    assert_null(as_args_parse(env_params, argc, argv, &err));
    assert_string_equal(err.code, "invalid_parameter");
    assert_null(strstr(err.message, "bad-"));
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

/* Regression (lib/core/log.c, log_msg): the line is formatted into a 2048-byte buffer
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
        T(test_scrub_changed_copies_only_changes),
        T(test_registered_secret_scrubbed),
        T(test_multiple_occurrences),
        T(test_multiple_secrets),
        T(test_register_copies_value),
        T(test_short_values_ignored),
        T(test_duplicate_register_harmless),
        T(test_clear_forgets),
        T(test_regression_overlapping_secrets_fully_masked),
        T(test_scrub_buf),
        T(test_json_escaped_forms),
        T(test_json_unicode_and_control_forms),
        T(test_python_repr_forms),
        T(test_url_encoded_forms),
        T(test_shell_quoted_forms),
        T(test_nested_forms),
        T(test_escape_at_the_edge_is_masked_whole),
        T(test_other_escapes_untouched),
        T(test_form_beside_raw_and_other_secrets),
        T(test_env_secret_becomes_an_argument),
        T(test_command_line_secret_wins_over_env),
        T(test_env_secret_parses_like_an_argument),
        T(test_log_line_format_and_scrubbing),
        T(test_log_level_filtering),
        T(test_log_levels_from_environment),
        T(test_log_debug_enabled_by_env_is_written),
        T(test_log_scrubs_secret_from_server_echo),
        T(test_regression_log_truncation_does_not_leak_secret_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
