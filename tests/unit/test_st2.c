/* Unit tests of lib/st2.c: argv exactly as st2's local-shell-script runner
 * builds it, the parameter table description, error documents, signals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"count", AS_T_INTEGER, 0, "3", NULL, AS_NAMED},
    {"ratio", AS_T_NUMBER, 0, "0.5", NULL, AS_NAMED},
    {"force", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"token", AS_T_STRING, AS_P_SECRET, NULL, NULL, AS_NAMED},
    {"zone", AS_T_STRING, 0, "example.com", "dns_zone", AS_NAMED},
    {"body", AS_T_OBJECT, 0, NULL, NULL, 0},
    {"extra", AS_T_OBJECT, 0, NULL, NULL, 1},
    AS_PARAM_END,
};

static struct as_args *parse(struct as_error *err, ...)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; argc < 15 && (a = va_arg(ap, char *)); )
        argv[argc++] = a;
    va_end(ap);
    as_error_clear(err);
    return as_args_parse(params, argc, argv, err);
}

static void test_named_any_order_and_defaults(void **state)
{
    (void)state;
    struct as_error err;
    struct as_args *a = parse(&err, "--count=7", "--name=web", NULL);
    assert_non_null(a);
    assert_string_equal(as_arg_str(a, "name"), "web");
    assert_int_equal(as_arg_int(a, "count", -1), 7);
    assert_true(as_arg_given(a, "count"));
    assert_false(as_arg_given(a, "ratio"));
    assert_true(as_arg_num(a, "ratio", 0) == 0.5);
    assert_false(as_arg_bool(a, "force"));
    assert_string_equal(as_arg_str(a, "zone"), "example.com");
    assert_null(as_arg_str(a, "token"));
    assert_null(as_arg_obj(a, "body"));
    as_args_free(a);
}

static void test_integer_written_as_float(void **state)
{
    (void)state;
    struct as_error err;
    struct as_args *a = parse(&err, "--name=w", "--count=5.0", "--ratio=2", NULL);
    assert_non_null(a);
    assert_int_equal(as_arg_int(a, "count", -1), 5);
    assert_true(as_arg_num(a, "ratio", 0) == 2.0);
    as_args_free(a);

    assert_null(parse(&err, "--name=w", "--count=5.5", NULL));
    assert_string_equal(err.code, "invalid_parameter");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_null(parse(&err, "--name=w", "--count=1e400", NULL));
    assert_null(parse(&err, "--name=w", "--count=", "--count=x", NULL));
    assert_null(parse(&err, "--name=w", "--ratio=nan", NULL));
    assert_null(parse(&err, "--name=w", "--count=99999999999999999999", NULL));
    assert_string_equal(err.code, "invalid_parameter");
}

static void test_bare_boolean_and_absent_false(void **state)
{
    (void)state;
    struct as_error err;
    struct as_args *a = parse(&err, "--name=w", "--force", NULL);
    assert_non_null(a);
    assert_true(as_arg_bool(a, "force"));
    as_args_free(a);

    a = parse(&err, "--name=w", "--force=False", NULL);
    assert_non_null(a);
    assert_false(as_arg_bool(a, "force"));
    as_args_free(a);

    assert_null(parse(&err, "--name=w", "--force=maybe", NULL));
    assert_null(parse(&err, "--name", NULL)); /* a string needs a value */
    assert_string_equal(err.code, "invalid_parameter");
}

static void test_positional_objects(void **state)
{
    (void)state;
    struct as_error err;
    /* an empty positional keeps later positions stable: it is a missing value */
    struct as_args *a = parse(&err, "--name=w", "", "{\"k\": [1, 2]}", NULL);
    assert_non_null(a);
    assert_null(as_arg_obj(a, "body"));
    assert_non_null(as_arg_obj(a, "extra"));
    assert_int_equal(json_object_array_length(
                         json_object_object_get(as_arg_obj(a, "extra"), "k")),
                     2);
    as_args_free(a);

    assert_null(parse(&err, "--name=w", "[1]", NULL));
    assert_string_equal(err.code, "invalid_parameter");
    assert_null(parse(&err, "--name=w", "{\"a\":1} trailing", NULL));
    assert_null(parse(&err, "--name=w", "{}", "{}", "{}", NULL));
    assert_string_equal(err.code, "unexpected_argument");
    /* an object may also be given by name, as a JSON string */
    a = parse(&err, "--name=w", "--body={\"x\":1}", NULL);
    assert_non_null(a);
    assert_non_null(as_arg_obj(a, "body"));
    as_args_free(a);
}

static void test_unknown_missing_duplicate(void **state)
{
    (void)state;
    struct as_error err;
    assert_null(parse(&err, "--count=1", NULL));
    assert_string_equal(err.code, "missing_parameter");
    assert_non_null(strstr(err.message, "name"));

    assert_null(parse(&err, "--name=w", "--nmae=x", NULL));
    assert_string_equal(err.code, "unknown_parameter");
    assert_non_null(strstr(err.message, "nmae"));

    /* an unknown name is echoed only with its odd characters masked */
    assert_null(parse(&err, "--name=w", "--a;b\nc=1", NULL));
    assert_null(strchr(err.message, ';'));
    assert_null(strchr(err.message, '\n'));

    assert_null(parse(&err, "--name=w", "--name=v", NULL));
    assert_string_equal(err.code, "duplicate_parameter");

    assert_null(parse(&err, "--name=w\xc3\x28", NULL));
    assert_string_equal(err.code, "invalid_parameter");
}

static void test_secret_registered_and_scrubbed(void **state)
{
    (void)state;
    struct as_error err;
    struct as_args *a = parse(&err, "--name=w", "--token=s3cr3t-value", NULL);
    assert_non_null(a);
    char *clean = secret_scrub("Bearer s3cr3t-value rejected");
    assert_string_equal(clean, "Bearer *** rejected");
    free(clean);
    as_args_free(a);
    secret_clear();
}

static void test_describe_table(void **state)
{
    (void)state;
    struct json_object *d = as_params_describe(params);
    assert_int_equal(json_object_array_length(d), 8);
    struct json_object *zone = json_object_array_get_idx(d, 5);
    assert_string_equal(json_object_get_string(json_object_object_get(zone, "config")),
                        "dns_zone");
    assert_null(json_object_object_get(zone, "position"));
    struct json_object *token = json_object_array_get_idx(d, 4);
    assert_true(json_object_get_boolean(json_object_object_get(token, "secret")));
    struct json_object *extra = json_object_array_get_idx(d, 7);
    assert_int_equal(json_object_get_int(json_object_object_get(extra, "position")), 1);
    json_object_put(d);
}

static void test_error_document(void **state)
{
    (void)state;
    struct as_error err;
    as_fail(&err, AS_EXIT_FAILURE, "http_timeout", "line one\nline two");
    struct json_object *doc = as_error_json(&err);
    const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    assert_string_equal(s, "{\"error\":{\"code\":\"http_timeout\",\"message\":\"line one line two\"}}");
    json_object_put(doc);
}

static void test_interrupted_sleep(void **state)
{
    (void)state;
    as_set_interrupted(false);
    assert_int_equal(as_sleep_ms(1), 0);
    as_set_interrupted(true);
    assert_int_equal(as_sleep_ms(60000), -1); /* returns at once, not in a minute */
    assert_true(as_interrupted());
    as_set_interrupted(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_any_order_and_defaults),
        cmocka_unit_test(test_integer_written_as_float),
        cmocka_unit_test(test_bare_boolean_and_absent_false),
        cmocka_unit_test(test_positional_objects),
        cmocka_unit_test(test_unknown_missing_duplicate),
        cmocka_unit_test(test_secret_registered_and_scrubbed),
        cmocka_unit_test(test_describe_table),
        cmocka_unit_test(test_error_document),
        cmocka_unit_test(test_interrupted_sleep),
    };
    return cmocka_run_group_tests_name("st2", tests, NULL, NULL);
}
