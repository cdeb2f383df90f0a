/* test_jsonx.c - the json-c helpers (lib/core/jsonx.c): jx_parse's one-document
 * rule, the type-checked accessors and their fallbacks, the add helpers and
 * the UTF-8 validator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "utf8.h"

static struct json_object *parse(const char *text, struct as_error *err)
{
    memset(err, 0, sizeof *err);
    return jx_parse(text, strlen(text), "test input", "bad_json", AS_EXIT_BADINPUT, err);
}

static void assert_parse_fails(const char *text, size_t len, const char *needle)
{
    struct as_error err = {0};
    struct json_object *o =
        jx_parse(text, len, "the reply", "bad_reply", AS_EXIT_FAILURE, &err);
    if (o) {
        json_object_put(o);
        fail_msg("'%s' parsed, expected an error", text ? text : "(null)");
    }
    assert_string_equal(err.code, "bad_reply");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "the reply"));
    if (needle && !strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s'", err.message, needle);
}

/* ---- jx_parse ---- */

static void test_parse_empty(void **state)
{
    (void)state;
    assert_parse_fails("", 0, "empty");
    assert_parse_fails(NULL, 0, "empty");
    assert_parse_fails("{}", 0, "empty"); /* len decides, not the text */
}

static void test_parse_whitespace_only(void **state)
{
    (void)state;
    assert_parse_fails("   \n\t ", 6, "not valid JSON");
}

static void test_parse_trailing_garbage(void **state)
{
    (void)state;
    assert_parse_fails("{} x", 4, "trailing data");
    assert_parse_fails("{\"a\":1}{\"b\":2}", 14, "trailing data");
    assert_parse_fails("[1] ,", 5, "trailing data");
}

static void test_parse_trailing_whitespace_ok(void **state)
{
    (void)state;
    struct as_error err;
    struct json_object *o = parse("  {\"a\": 1} \r\n\t ", &err);
    assert_non_null(o);
    assert_int_equal(jx_int(o, "a", 0), 1);
    json_object_put(o);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    assert_parse_fails("{\"a\":", 5, "not valid JSON");
    assert_parse_fails("{a:1}", 5, "not valid JSON");
    assert_parse_fails("[1,,2]", 6, "not valid JSON");
    assert_parse_fails("<html>", 6, "not valid JSON");
    /* len shorter than the text: only the prefix is parsed */
    assert_parse_fails("{\"a\":1}", 4, "not valid JSON");
}

static void test_parse_valid_object_and_array(void **state)
{
    (void)state;
    struct as_error err;
    struct json_object *o = parse("{\"name\":\"web\",\"n\":3,\"ok\":true,\"x\":null}", &err);
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_object));
    assert_string_equal(jx_str(o, "name", NULL), "web");
    assert_int_equal(jx_int(o, "n", -1), 3);
    assert_true(jx_bool(o, "ok", false));
    json_object_put(o);

    o = parse("[1,2,3]", &err);
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_array));
    assert_int_equal(json_object_array_length(o), 3);
    json_object_put(o);

    /* a length that stops before trailing bytes */
    const char *text = "{\"a\":2}GARBAGE";
    memset(&err, 0, sizeof err);
    o = jx_parse(text, 7, "x", "bad", AS_EXIT_BADINPUT, &err);
    assert_non_null(o);
    assert_int_equal(jx_int(o, "a", 0), 2);
    json_object_put(o);
}

static void test_parse_literal_null_with_whitespace(void **state)
{
    (void)state;
    assert_parse_fails("null ", 5, "JSON null");
    assert_parse_fails(" null\n", 6, "JSON null");
}

/* Regression (lib/core/jsonx.c, jx_parse): json_tokener_parse_ex() is given exactly len
 * bytes, and for a top-level literal or number that ends at the last byte
 * json-c answers json_tokener_continue (the token might go on). So "null"
 * is reported as "not valid JSON: unexpected end of input" instead of the
 * dedicated "is JSON null, expected a document", and complete documents
 * such as "5" or "true" are refused while "5 " and "true " parse. Fix: when
 * the tokener says continue after consuming all input, call
 * json_tokener_parse_ex(tok, "", 1) to finish it. Fixed; kept as a regression test. */
static void test_regression_parse_literal_null(void **state)
{
    (void)state;
    assert_parse_fails("null", 4, "JSON null");
}

static void test_regression_parse_bare_scalars(void **state)
{
    (void)state;
    struct as_error err;
    struct json_object *o = parse("5", &err);
    if (!o)
        fail_msg("\"5\" refused: %s", err.message);
    assert_true(json_object_is_type(o, json_type_int));
    assert_int_equal(json_object_get_int64(o), 5);
    json_object_put(o);
    o = parse("true", &err);
    if (!o)
        fail_msg("\"true\" refused: %s", err.message);
    assert_true(json_object_get_boolean(o));
    json_object_put(o);
}

/* Regression (minor; lib/core/jsonx.c, jx_parse): the trailing-data loop tests each byte
 * with strchr(" \t\r\n", c), and strchr() also matches c == '\0' (the
 * terminator), so NUL bytes after the document are taken for whitespace:
 * jx_parse("{}\0", 3) returns {} instead of "trailing data". Fix: test the
 * four whitespace bytes explicitly (or memchr with length 4). Fails until
 * fixed. */
static void test_regression_parse_trailing_nul_is_garbage(void **state)
{
    (void)state;
    assert_parse_fails("{}\0", 3, "trailing data");
    assert_parse_fails("{} \0\0", 5, "trailing data");
}

static void test_parse_string_document(void **state)
{
    (void)state;
    struct as_error err;
    struct json_object *o = parse("\"just a string\"", &err);
    assert_non_null(o);
    assert_string_equal(json_object_get_string(o), "just a string");
    json_object_put(o);
}

static void test_parse_null_err_ok(void **state)
{
    (void)state;
    assert_null(jx_parse("{", 1, "x", "bad", AS_EXIT_FAILURE, NULL));
    assert_null(jx_parse("", 0, "x", "bad", AS_EXIT_FAILURE, NULL));
}

/* ---- accessors ---- */

static const char *doc_text =
    "{\"s\":\"text\",\"i\":42,\"neg\":-7,\"big\":9007199254740993,\"d\":1.5,"
    "\"b\":false,\"t\":true,\"n\":null,\"o\":{\"k\":1},\"a\":[1,2],\"si\":\"5\"}";

static void test_accessors_right_type(void **state)
{
    (void)state;
    struct as_error err;
    struct json_object *o = parse(doc_text, &err);
    assert_non_null(o);
    assert_string_equal(jx_str(o, "s", "fb"), "text");
    assert_int_equal(jx_int(o, "i", 0), 42);
    assert_int_equal(jx_int(o, "neg", 0), -7);
    assert_true(jx_int(o, "big", 0) == 9007199254740993LL);
    assert_false(jx_bool(o, "b", true));
    assert_true(jx_bool(o, "t", false));
    struct json_object *sub = jx_obj(o, "o");
    assert_non_null(sub);
    assert_int_equal(jx_int(sub, "k", 0), 1);
    struct json_object *arr = jx_arr(o, "a");
    assert_non_null(arr);
    assert_int_equal(json_object_array_length(arr), 2);
    json_object_put(o);
}

static void test_accessors_wrong_type_give_fallback(void **state)
{
    (void)state;
    struct as_error err;
    struct json_object *o = parse(doc_text, &err);
    assert_non_null(o);
    /* jx_str on int, bool, null, object, array, missing */
    assert_string_equal(jx_str(o, "i", "fb"), "fb");
    assert_string_equal(jx_str(o, "b", "fb"), "fb");
    assert_string_equal(jx_str(o, "n", "fb"), "fb");
    assert_string_equal(jx_str(o, "o", "fb"), "fb");
    assert_string_equal(jx_str(o, "a", "fb"), "fb");
    assert_string_equal(jx_str(o, "missing", "fb"), "fb");
    assert_null(jx_str(o, "i", NULL));
    /* jx_int on string-of-digits, double, bool, null, object */
    assert_int_equal(jx_int(o, "si", -1), -1);
    assert_int_equal(jx_int(o, "d", -1), -1);
    assert_int_equal(jx_int(o, "t", -1), -1);
    assert_int_equal(jx_int(o, "n", -1), -1);
    assert_int_equal(jx_int(o, "o", -1), -1);
    assert_int_equal(jx_int(o, "missing", -1), -1);
    /* jx_bool on int, string, null */
    assert_true(jx_bool(o, "i", true));
    assert_false(jx_bool(o, "i", false));
    assert_true(jx_bool(o, "s", true));
    assert_true(jx_bool(o, "n", true));
    assert_false(jx_bool(o, "missing", false));
    /* jx_obj on array/string/null, jx_arr on object/int */
    assert_null(jx_obj(o, "a"));
    assert_null(jx_obj(o, "s"));
    assert_null(jx_obj(o, "n"));
    assert_null(jx_obj(o, "missing"));
    assert_null(jx_arr(o, "o"));
    assert_null(jx_arr(o, "i"));
    json_object_put(o);
}

static void test_accessors_on_non_objects(void **state)
{
    (void)state;
    assert_string_equal(jx_str(NULL, "s", "fb"), "fb");
    assert_int_equal(jx_int(NULL, "i", 9), 9);
    assert_true(jx_bool(NULL, "b", true));
    assert_null(jx_obj(NULL, "o"));
    assert_null(jx_arr(NULL, "a"));

    struct json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_new_int(1));
    assert_string_equal(jx_str(arr, "0", "fb"), "fb");
    assert_int_equal(jx_int(arr, "0", 9), 9);
    json_object_put(arr);

    struct json_object *str = json_object_new_string("s");
    assert_string_equal(jx_str(str, "s", "fb"), "fb");
    json_object_put(str);
}

/* ---- add helpers and dump ---- */

static void test_add_helpers_and_dump(void **state)
{
    (void)state;
    struct json_object *o = json_object_new_object();
    jx_add_str(o, "name", "web/1");
    jx_add_str(o, "none", NULL);
    jx_add_int(o, "n", -12345678901LL);
    jx_add_bool(o, "yes", true);
    jx_add_bool(o, "no", false);

    struct json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, "none", &v));
    assert_null(v); /* present, as JSON null */

    char *text = jx_dump(o);
    assert_non_null(text);
    /* compact, and '/' not escaped */
    assert_string_equal(text, "{\"name\":\"web/1\",\"none\":null,\"n\":-12345678901,"
                              "\"yes\":true,\"no\":false}");

    /* the dump parses back to the same values */
    struct as_error err;
    struct json_object *back = parse(text, &err);
    assert_non_null(back);
    assert_true(json_object_equal(o, back));
    assert_true(jx_int(back, "n", 0) == -12345678901LL);
    json_object_put(back);
    free(text);

    /* adding again replaces */
    jx_add_int(o, "n", 1);
    assert_int_equal(jx_int(o, "n", 0), 1);
    json_object_put(o);
}

/* ---- utf8_chars: what st2's maxLength counts ---- */

static void test_utf8_chars(void **state)
{
    (void)state;
    assert_int_equal(utf8_chars("", 0), 0);
    assert_int_equal(utf8_chars("debug", 5), 5);
    assert_int_equal(utf8_chars("\xc3\xa9t\xc3\xa9", 5), 3);        /* "été" */
    assert_int_equal(utf8_chars("\xe6\x97\xa5\xe6\x9c\xac", 6), 2); /* two CJK */
    assert_int_equal(utf8_chars("\xf0\x9f\x94\xa5!", 5), 2);       /* emoji, '!' */
}

/* ---- utf8_valid ---- */

static bool utf8(const char *bytes)
{
    return utf8_valid(bytes, strlen(bytes));
}

static void test_utf8_ascii(void **state)
{
    (void)state;
    assert_true(utf8(""));
    assert_true(utf8("plain ascii\n\t~"));
    assert_true(utf8("\x7f"));
    /* an embedded NUL is a valid (ASCII) code point when inside len */
    assert_true(utf8_valid("a\0b", 3));
}

static void test_utf8_valid_multibyte(void **state)
{
    (void)state;
    assert_true(utf8("\xc2\x80"));             /* U+0080, smallest 2-byte */
    assert_true(utf8("w\xc3\xa9" "b"));        /* é */
    assert_true(utf8("\xdf\xbf"));             /* U+07FF */
    assert_true(utf8("\xe0\xa0\x80"));         /* U+0800, smallest 3-byte */
    assert_true(utf8("\xe2\x82\xac"));         /* € */
    assert_true(utf8("\xed\x9f\xbf"));         /* U+D7FF, just below surrogates */
    assert_true(utf8("\xee\x80\x80"));         /* U+E000, just above */
    assert_true(utf8("\xef\xbf\xbf"));         /* U+FFFF */
    assert_true(utf8("\xf0\x90\x80\x80"));     /* U+10000, smallest 4-byte */
    assert_true(utf8("\xf0\x9f\x98\x80"));     /* emoji */
    assert_true(utf8("\xf4\x8f\xbf\xbf"));     /* U+10FFFF, the last */
    assert_true(utf8("mixed \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end"));
}

static void test_utf8_overlong(void **state)
{
    (void)state;
    assert_false(utf8("\xc0\x80"));         /* overlong NUL */
    assert_false(utf8("\xc1\xbf"));         /* overlong U+007F */
    assert_false(utf8("\xe0\x80\x80"));     /* overlong 3-byte */
    assert_false(utf8("\xe0\x9f\xbf"));     /* overlong U+07FF */
    assert_false(utf8("\xf0\x80\x80\x80")); /* overlong 4-byte */
    assert_false(utf8("\xf0\x8f\xbf\xbf")); /* overlong U+FFFF */
}

static void test_utf8_surrogates(void **state)
{
    (void)state;
    assert_false(utf8("\xed\xa0\x80")); /* U+D800 */
    assert_false(utf8("\xed\xbf\xbf")); /* U+DFFF */
    assert_false(utf8("ok \xed\xb0\x80 ok"));
}

static void test_utf8_above_max(void **state)
{
    (void)state;
    assert_false(utf8("\xf4\x90\x80\x80")); /* U+110000 */
    assert_false(utf8("\xf7\xbf\xbf\xbf"));
    assert_false(utf8("\xf8\x88\x80\x80\x80")); /* 5-byte form */
    assert_false(utf8("\xfc\x84\x80\x80\x80\x80"));
    assert_false(utf8("\xfe"));
    assert_false(utf8("\xff"));
}

static void test_utf8_truncated(void **state)
{
    (void)state;
    assert_false(utf8("\xc3"));
    assert_false(utf8("abc\xe2\x82"));
    assert_false(utf8("\xf0\x9f\x98"));
    /* len cuts a valid sequence */
    assert_false(utf8_valid("\xe2\x82\xac", 2));
    assert_true(utf8_valid("\xe2\x82\xac", 3));
    /* a lead byte followed by a non-continuation */
    assert_false(utf8("\xc3" "A"));
    assert_false(utf8("\xe2\x82" "A"));
    assert_false(utf8("\xf0\x9f\x98" "A"));
}

static void test_utf8_lone_continuation(void **state)
{
    (void)state;
    assert_false(utf8("\x80"));
    assert_false(utf8("\xbf"));
    assert_false(utf8("a\x80z"));
    assert_false(utf8("\xc3\xa9\xa9")); /* one continuation too many */
    /* Latin-1 text is not UTF-8 */
    assert_false(utf8("caf\xe9"));
}

/* jx_peek_str reads one top-level string without building the document. */
static void test_peek_str(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(jx_peek_str("{\"name\":\"n1\",\"state\":\"active\"}", "state", out, sizeof out), 0);
    assert_string_equal(out, "active");
    /* nested values of every kind are skipped, and nested keys never match */
    assert_int_equal(jx_peek_str(" { \"a\" : {\"state\":\"x\",\"b\":[1,{\"c\":\"}\"}]}, "
                                 "\"n\": -1.5e3, \"t\": true, \"s\": \"a\\\"b\", "
                                 "\"state\" : \"draining\" }", "state", out, sizeof out), 0);
    assert_string_equal(out, "draining");
    assert_int_equal(jx_peek_str("{\"state\":\"\"}", "state", out, sizeof out), 0);
    assert_string_equal(out, "");
    /* absent, not a string, escaped, too long, not an object, malformed */
    assert_int_equal(jx_peek_str("{\"name\":\"n1\"}", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("{\"state\":3}", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("{\"state\":\"a\\nb\"}", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("{\"state\":\"0123456789abcdef\"}", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("[\"state\",\"active\"]", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("{\"a\":{\"state\":\"active\"}", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("{\"a\" \"state\":\"active\"}", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("{\"a\":1 \"state\":\"active\"}", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("{\"state", "state", out, sizeof out), -1);
    assert_int_equal(jx_peek_str("", "state", out, sizeof out), -1);
}

static void test_parse_record(void **state)
{
    (void)state;
    struct json_object *o = jx_parse_record("{\"a\":1}");
    assert_non_null(o);
    assert_int_equal(jx_int(o, "a", 0), 1);
    json_object_put(o);
    assert_null(jx_parse_record("[1]"));
    assert_null(jx_parse_record("{\"a\":"));
    assert_null(jx_parse_record("{} x"));
    o = jx_parse_record("{\"b\":2}"); /* the reused tokener was reset */
    assert_int_equal(jx_int(o, "b", 0), 2);
    json_object_put(o);
}

/* Found by tests/fuzz/fuzz_records: json-c keeps any bytes inside a
 * string, so a stored record with a Latin-1 byte reached asg_get's stdout,
 * which st2 requires to be UTF-8. Lone \u escapes are json-c's own
 * business: it turns them into U+FFFD. */
static void test_regression_non_utf8_record_refused(void **state)
{
    (void)state;
    assert_null(jx_parse_record("{\"state\":\"active\",\"title\":\"\xff\"}"));
    struct json_object *o = jx_parse_record("{\"t\":\"caf\xc3\xa9 \\ud800\"}");
    assert_non_null(o);
    const char *t = jx_str(o, "t", "");
    assert_true(utf8_valid(t, strlen(t)));
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_non_utf8_record_refused),
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_whitespace_only),
        cmocka_unit_test(test_parse_trailing_garbage),
        cmocka_unit_test(test_parse_trailing_whitespace_ok),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_valid_object_and_array),
        cmocka_unit_test(test_parse_literal_null_with_whitespace),
        cmocka_unit_test(test_regression_parse_literal_null),
        cmocka_unit_test(test_regression_parse_bare_scalars),
        cmocka_unit_test(test_regression_parse_trailing_nul_is_garbage),
        cmocka_unit_test(test_parse_string_document),
        cmocka_unit_test(test_parse_null_err_ok),
        cmocka_unit_test(test_accessors_right_type),
        cmocka_unit_test(test_accessors_wrong_type_give_fallback),
        cmocka_unit_test(test_accessors_on_non_objects),
        cmocka_unit_test(test_add_helpers_and_dump),
        cmocka_unit_test(test_utf8_ascii),
        cmocka_unit_test(test_utf8_valid_multibyte),
        cmocka_unit_test(test_utf8_overlong),
        cmocka_unit_test(test_utf8_surrogates),
        cmocka_unit_test(test_utf8_above_max),
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_utf8_truncated),
        cmocka_unit_test(test_utf8_lone_continuation),
        cmocka_unit_test(test_peek_str),
        cmocka_unit_test(test_parse_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
