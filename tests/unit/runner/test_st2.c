/* Unit tests of actions/runner/st2.c: argv exactly as st2's local-shell-script runner
 * builds it, the parameter table description, error documents, signals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "path.h"
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

/* A table of range-checked integers, parsed as action `prog`. */
static const struct as_param ranged[] = {
    {"local_port", AS_T_INTEGER, 0, "8080", "local_port", AS_NAMED},
    {"desired", AS_T_INTEGER, 0, NULL, NULL, AS_NAMED},
    {"count", AS_T_INTEGER, 0, NULL, NULL, AS_NAMED},
    {"poll_interval_ms", AS_T_INTEGER, 0, "0", "poll_interval_ms", AS_NAMED},
    AS_PARAM_END,
};

static struct as_args *parse_as(const char *prog, const char *arg, struct as_error *err)
{
    char *argv[] = {(char *)prog, (char *)arg, NULL};
    as_error_clear(err);
    return as_args_parse(ranged, 2, argv, err);
}

static void expect_refused(const char *prog, const char *arg)
{
    struct as_error err;
    struct as_args *a = parse_as(prog, arg, &err);
    if (a)
        fail_msg("%s accepted %s", prog, arg);
    assert_string_equal(err.code, "invalid_parameter");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
}

static long long expect_int(const char *prog, const char *arg, const char *name)
{
    struct as_error err;
    struct as_args *a = parse_as(prog, arg, &err);
    if (!a)
        fail_msg("%s refused %s: %s", prog, arg, err.message);
    long long v = as_arg_int(a, name, LLONG_MIN);
    as_args_free(a);
    return v;
}

/* Only what st2 writes: Python's str() of an int, or of an integral float. */
static void test_integers_are_decimal(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "--local_port=0x10", "--local_port=1e3", "--local_port=+5", "--local_port= 5",
        "--local_port=5 ", "--local_port=05", "--local_port=-0", "--local_port=5.5",
        "--local_port=5.", "--local_port=.5", "--local_port=5.00", "--local_port=0b101",
        "--local_port=\t80", "--local_port=80\n", "--local_port=８０", "--local_port=--5",
        "--local_port=1_000", "--local_port=inf", "--local_port=NaN",
        "--local_port=9223372036854775808"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        expect_refused("add_node", refused[i]);
    assert_int_equal(expect_int("add_node", "--local_port=16", "local_port"), 16);
    assert_int_equal(expect_int("add_node", "--local_port=8081.0", "local_port"), 8081);
    assert_int_equal(expect_int("asg_update", "--desired=-1", "desired"), -1);
    assert_int_equal(expect_int("asg_update", "--desired=0", "desired"), 0);
}

/* Every range refuses a value outside it, negative ones included (they
 * used to fall back to the default: --local_port=-1 served on 8080). */
static void test_integers_in_range(void **state)
{
    (void)state;
    expect_refused("add_node", "--local_port=-1");
    expect_refused("add_node", "--local_port=0");
    expect_refused("add_node", "--local_port=65536");
    expect_refused("add_node", "--poll_interval_ms=60001");
    expect_refused("add_node", "--poll_interval_ms=-5");
    expect_refused("asg_update", "--desired=-2");
    expect_refused("asg_update", "--desired=1001");
    assert_int_equal(expect_int("add_node", "--local_port=65535", "local_port"), 65535);
    assert_int_equal(expect_int("add_node", "--poll_interval_ms=60000", "poll_interval_ms"),
                     60000);
    /* A name with a different meaning per action has the action's range. */
    expect_refused("node_pick", "--count=0");
    expect_refused("/opt/stackstorm/packs/autoscale/actions/bin/node_pick", "--count=1001");
    assert_int_equal(expect_int("notify", "--count=0", "count"), 0);
    assert_int_equal(expect_int("notify", "--count=5000", "count"), 5000);
    /* The default still applies when nothing is given. */
    assert_int_equal(expect_int("add_node", "--count=1", "local_port"), 8080);
}

/* Every integer parameter of the pack has a range; describe shows it. */
static void test_describe_ranges(void **state)
{
    (void)state;
    long long lo, hi;
    static const char *const names[] = {
        "deadline", "events", "lease_ttl", "stuck_after", "requested", "succeeded", "failed",
        "local_port", "local_grace_ms", "poll_interval_ms", "ssh_port", "dns_ttl",
        "lb_server_port", "drain_timeout", "min", "max", "desired", "scale_out_step",
        "scale_out_cooldown", "scale_in_step", "scale_in_cooldown", "warning_step",
        "incident_max_age"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!as_param_range("any", names[i], &lo, &hi) || lo > hi)
            fail_msg("no range for %s", names[i]);
    assert_true(as_param_range("node_pick", "count", &lo, &hi));
    assert_false(as_param_range("other", "count", &lo, &hi));
    struct json_object *d = as_params_describe_for(ranged, "add_node");
    struct json_object *port = json_object_array_get_idx(d, 0);
    assert_int_equal(json_object_get_int(json_object_object_get(port, "minimum")), 1);
    assert_int_equal(json_object_get_int(json_object_object_get(port, "maximum")), 65535);
    json_object_put(d);
}

static void test_numbers_as_python_writes_them(void **state)
{
    (void)state;
    struct as_error err;
    static const char *const ok[] = {"--ratio=0.5", "--ratio=2", "--ratio=-3.25",
                                     "--ratio=1e-05", "--ratio=1e+16", "--ratio=2.0"};
    static const char *const refused[] = {"--ratio=0x10", "--ratio=inf", "--ratio= 1",
                                          "--ratio=+1", "--ratio=1.", "--ratio=.5",
                                          "--ratio=1e", "--ratio=nan", "--ratio=1e999"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        struct as_args *a = parse(&err, "--name=w", ok[i], NULL);
        if (!a)
            fail_msg("refused %s", ok[i]);
        as_args_free(a);
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (parse(&err, "--name=w", refused[i], NULL))
            fail_msg("accepted %s", refused[i]);
}

/* A string with a fixed set of values (the YAML's enum) is refused at
 * parse time, whatever path the action then takes: node_pick once took any
 * haproxy_check, reading it only for least_loaded. */
static void test_enum_strings_checked_at_parse(void **state)
{
    (void)state;
    static const struct as_param enums[] = {
        {"haproxy_check", AS_T_STRING, 0, NULL, "haproxy_check", AS_NAMED},
        {"strategy", AS_T_STRING, 0, "newest", NULL, AS_NAMED},
        AS_PARAM_END,
    };
    static const char *const refused[] = {"--haproxy_check=yes", "--haproxy_check=on;x",
                                          "--haproxy_check=ON", "--strategy=random",
                                          "--strategy=newest\n"};
    static const char *const ok[] = {"--haproxy_check=on", "--haproxy_check=off",
                                     "--strategy=least_loaded"};
    struct as_error err;
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char *argv[] = {"node_pick", (char *)refused[i], NULL};
        struct as_args *a = as_args_parse(enums, 2, argv, &err);
        if (a)
            fail_msg("accepted %s", refused[i]);
        assert_string_equal(err.code, "invalid_parameter");
    }
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *argv[] = {"node_pick", (char *)ok[i], NULL};
        struct as_args *a = as_args_parse(enums, 2, argv, &err);
        if (!a)
            fail_msg("refused %s: %s", ok[i], err.message);
        as_args_free(a);
    }
}

static void test_path_check(void **state)
{
    (void)state;
    struct as_error err;
    static const char *const ok[] = {"/", "/var/lib/autoscale", "/var/lib/autoscale/",
                                     "/home/st2/.local/state/autoscale/known_hosts",
                                     "/a/..b/c.d"};
    static const char *const refused[] = {
        "", "relative/dir", "./x", "../../../etc/passwd", "/var/lib/../../etc/passwd",
        "/var/./lib", "/var//lib", "/var/lib/..", "/var/lib/.", "/tmp/a\nb", "~/x"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (as_path_check(ok[i], "local_dir", &err) != 0)
            fail_msg("refused %s: %s", ok[i], err.message);
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        if (as_path_check(refused[i], "local_dir", &err) == 0)
            fail_msg("accepted '%s'", refused[i]);
        assert_int_equal(err.exit, AS_EXIT_BADINPUT);
        assert_non_null(strstr(err.message, "local_dir"));
    }
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(as_path_check(longp, "x", &err), -1);
}

/* A sleep never goes past the action's deadline. */
static void test_sleep_stops_at_the_deadline(void **state)
{
    (void)state;
    as_set_interrupted(false);
    assert_true(as_deadline_left_ms() == AS_NO_DEADLINE);
    as_deadline_set_ms(20);
    assert_true(as_deadline_left_ms() <= 20);
    assert_int_equal(as_sleep_ms(3600000), 1); /* an hour, cut to 20 ms */
    assert_int_equal(as_deadline_left_ms(), 0);
    assert_int_equal(as_deadline_cap_ms(5000), 0);
    as_deadline_set_ms(0);
    assert_true(as_deadline_left_ms() == AS_NO_DEADLINE);
    assert_int_equal(as_deadline_cap_ms(5000), 5000);
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
        cmocka_unit_test(test_integers_are_decimal),
        cmocka_unit_test(test_integers_in_range),
        cmocka_unit_test(test_describe_ranges),
        cmocka_unit_test(test_numbers_as_python_writes_them),
        cmocka_unit_test(test_enum_strings_checked_at_parse),
        cmocka_unit_test(test_path_check),
        cmocka_unit_test(test_sleep_stops_at_the_deadline),
    };
    return cmocka_run_group_tests_name("st2", tests, NULL, NULL);
}
