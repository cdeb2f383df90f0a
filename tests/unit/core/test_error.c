/* test_error.c - the error value (lib/core/error.c): as_fail/as_failv fill code,
 * exit class and message; messages are forced onto one line; as_error_prefix
 * keeps its context in front when the message is long; a NULL err is fine;
 * as_error_is and as_error_recode; and the registry (lib/core/error_codes.c):
 * sorted, unique, well-formed rows that as_error_code_find finds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "error_codes.h"
#include "jsonx.h"
#include "utf8.h"

static void test_fail_fills_every_field(void **state)
{
    (void)state;
    struct as_error err;
    memset(&err, 0x55, sizeof err);
    int rc = as_fail(&err, AS_EXIT_BADINPUT, "invalid_name", "group %s: %d chars", "Web", 3);
    assert_int_equal(rc, -1);
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_string_equal(err.code, "invalid_name");
    assert_string_equal(err.message, "group Web: 3 chars");

    rc = as_fail(&err, AS_EXIT_FAILURE, "datastore_error", "down");
    assert_int_equal(rc, -1);
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_string_equal(err.code, "datastore_error");
    assert_string_equal(err.message, "down");
}

static int via_failv(struct as_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int via_failv(struct as_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = as_failv(err, AS_EXIT_BADINPUT, "from_v", fmt, ap);
    va_end(ap);
    return rc;
}

static void test_failv(void **state)
{
    (void)state;
    struct as_error err = {0};
    assert_int_equal(via_failv(&err, "%s=%lld", "max", 7LL), -1);
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_string_equal(err.code, "from_v");
    assert_string_equal(err.message, "max=7");
}

static void test_null_err_allowed(void **state)
{
    (void)state;
    assert_int_equal(as_fail(NULL, AS_EXIT_FAILURE, "x", "message %s", "ignored"), -1);
    assert_int_equal(via_failv(NULL, "%d", 1), -1);
    as_error_prefix(NULL, "context %d", 1); /* must not crash */
    as_error_clear(NULL);
}

static void test_message_forced_onto_one_line(void **state)
{
    (void)state;
    struct as_error err = {0};
    as_fail(&err, AS_EXIT_FAILURE, "http_error", "server said:\n<html>\r\n\tbad%s",
            "\nend\n");
    assert_string_equal(err.message, "server said: <html>   bad end ");
    assert_null(strchr(err.message, '\n'));
    assert_null(strchr(err.message, '\r'));
    assert_null(strchr(err.message, '\t'));
}

static void test_long_message_truncated_and_terminated(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct as_error err = {0};
    as_fail(&err, AS_EXIT_FAILURE, "long", "%s", big);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    assert_int_equal(err.message[0], 'x');
}

static void test_long_code_truncated(void **state)
{
    (void)state;
    char code[100];
    memset(code, 'c', sizeof code - 1);
    code[sizeof code - 1] = '\0';
    struct as_error err = {0};
    as_fail(&err, AS_EXIT_FAILURE, code, "m");
    assert_int_equal(strlen(err.code), sizeof err.code - 1);
    assert_string_equal(err.message, "m");
}

static void test_prefix_short(void **state)
{
    (void)state;
    struct as_error err = {0};
    as_fail(&err, AS_EXIT_BADINPUT, "unknown_group", "no group named 'web'");
    as_error_prefix(&err, "asg_get %s", "web");
    assert_string_equal(err.message, "asg_get web: no group named 'web'");
    /* code and exit class are untouched */
    assert_string_equal(err.code, "unknown_group");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    /* prefixes stack, outermost first */
    as_error_prefix(&err, "outer");
    assert_string_equal(err.message, "outer: asg_get web: no group named 'web'");
}

static void test_prefix_keeps_context_when_message_long(void **state)
{
    (void)state;
    char big[sizeof(((struct as_error *)0)->message)];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct as_error err = {0};
    as_fail(&err, AS_EXIT_FAILURE, "long", "%s", big);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);

    as_error_prefix(&err, "group %s", "web");
    size_t len = strlen(err.message);
    assert_true(len <= sizeof err.message - 1);
    assert_true(len >= sizeof err.message - 3); /* the cut is at the end */
    assert_memory_equal(err.message, "group web: mmm", 14);
    /* everything after the prefix is the old message's beginning */
    for (size_t i = strlen("group web: "); i < len; i++)
        assert_int_equal(err.message[i], 'm');
}

static void test_prefix_forced_onto_one_line(void **state)
{
    (void)state;
    struct as_error err = {0};
    as_fail(&err, AS_EXIT_FAILURE, "x", "inner");
    as_error_prefix(&err, "line1\nline2\t%s", "\r");
    assert_string_equal(err.message, "line1 line2  : inner");
}

static void test_prefix_very_long_prefix(void **state)
{
    (void)state;
    char big[1000];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct as_error err = {0};
    as_fail(&err, AS_EXIT_FAILURE, "x", "inner");
    as_error_prefix(&err, "%s", big);
    size_t len = strlen(err.message);
    assert_true(len < sizeof err.message);
    assert_int_equal(err.message[0], 'p');
    /* still a well-formed "prefix: message" (the prefix itself is cut) */
    assert_non_null(strstr(err.message, ": inner"));
}

/* Found by tests/fuzz/fuzz_args: "--max=10\a..." gave "must be an
 * integer, got '10\a...'" with the BEL inside, and a quoted value cut by
 * the message's size could end in half a UTF-8 character. */
static void test_regression_message_clean_utf8(void **state)
{
    (void)state;
    struct as_error err;
    as_fail(&err, AS_EXIT_BADINPUT, "c", "got '10\a\x1b[2J\x7f\xc2\x85 caf\xc3\xa9 \xff'");
    assert_string_equal(err.message, "got '10  [2J    caf\xc3\xa9 ?'");
    char big[sizeof err.message + 8];
    memset(big, 'a', sizeof big);
    memcpy(big + sizeof err.message - 3, "\xe2\x82\xac", 3); /* the cut falls inside it */
    big[sizeof big - 1] = '\0';
    as_fail(&err, AS_EXIT_BADINPUT, "c", "%s", big);
    size_t n = strlen(err.message);
    assert_true(utf8_valid(err.message, n));
    for (size_t i = 0; i < n; i++)
        assert_true((unsigned char)err.message[i] >= 0x20 && err.message[i] != 0x7f);
}

static void test_clear(void **state)
{
    (void)state;
    struct as_error err;
    as_fail(&err, AS_EXIT_BADINPUT, "code", "message");
    as_error_clear(&err);
    assert_int_equal(err.exit, AS_EXIT_OK);
    assert_string_equal(err.code, "");
    assert_string_equal(err.message, "");
}

static void test_is_and_recode(void **state)
{
    (void)state;
    struct as_error err = {0};
    as_fail(&err, AS_EXIT_FAILURE, "http_timeout", "no answer");
    assert_true(as_error_is(&err, "http_timeout"));
    assert_false(as_error_is(&err, "http_time"));
    assert_false(as_error_is(NULL, "http_timeout"));
    as_error_recode(&err, "lb_timeout");
    assert_string_equal(err.code, "lb_timeout");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_string_equal(err.message, "no answer");
    as_error_recode(NULL, "lb_timeout"); /* harmless */
}

/* packlint reads the rows as text; this checks them as the C sees them. */
static void test_registry_rows(void **state)
{
    (void)state;
    struct as_error err;
    assert_true(as_error_code_count > 50);
    for (size_t i = 0; i < as_error_code_count; i++) {
        const struct as_error_code *c = &as_error_codes[i];
        size_t n = strlen(c->code);
        assert_true(n > 0 && n < sizeof err.code);
        assert_int_equal(strspn(c->code, "abcdefghijklmnopqrstuvwxyz0123456789_"), n);
        assert_true(c->exits != 0);
        assert_int_equal(c->exits & ~(AS_X_FAILURE | AS_X_BADINPUT), 0);
        assert_true(c->meaning[0] != '\0' && !strchr(c->meaning, '\n'));
        if (i > 0) /* sorted and unique: as_error_code_find searches them */
            assert_true(strcmp(as_error_codes[i - 1].code, c->code) < 0);
        assert_ptr_equal(as_error_code_find(c->code), c);
    }
}

static void test_registry_find(void **state)
{
    (void)state;
    const struct as_error_code *c = as_error_code_find("unknown_group");
    assert_non_null(c);
    assert_int_equal(c->exits, AS_X_BADINPUT);
    assert_int_equal(as_error_code_find("interrupted")->exits, AS_X_FAILURE);
    /* the merged names are gone */
    assert_null(as_error_code_find("invalid_setting"));
    assert_null(as_error_code_find("unknown_dns_provider"));
    assert_null(as_error_code_find("bad_name"));
    assert_null(as_error_code_find(""));
    assert_null(as_error_code_find(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_fills_every_field),
        cmocka_unit_test(test_failv),
        cmocka_unit_test(test_null_err_allowed),
        cmocka_unit_test(test_message_forced_onto_one_line),
        cmocka_unit_test(test_long_message_truncated_and_terminated),
        cmocka_unit_test(test_long_code_truncated),
        cmocka_unit_test(test_prefix_short),
        cmocka_unit_test(test_prefix_keeps_context_when_message_long),
        cmocka_unit_test(test_prefix_forced_onto_one_line),
        cmocka_unit_test(test_prefix_very_long_prefix),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_regression_message_clean_utf8),
        cmocka_unit_test(test_is_and_recode),
        cmocka_unit_test(test_registry_rows),
        cmocka_unit_test(test_registry_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
