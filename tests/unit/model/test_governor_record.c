/* test_governor_record.c - the governor's fast reading of stored records
 * (lib/model/governor_record.c) against what json-c and the pack's own
 * readers make of the same text (jx_parse_record, group_from_json,
 * gov_*_from_json): literal cases for each rule, then 200,000 generated
 * records, most of them in the scanner's subset and the rest just outside
 * it (escapes, non-ASCII, nesting, fractions, repeated keys, stray bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governor_record.h"
#include "jsonx.h"

/* ---- the references ---- */

#define REF_INT_INT(n) out->n = g.n;
#define REF_INT_STR(n)
#define REF_INT(n, kind, def, cfg, lo, hi, check) REF_INT_##kind(n)

static int ref_spec(const char *text, struct gov_spec *out)
{
    struct json_object *o = jx_parse_record(text);
    struct group g;
    int ok = o && group_from_json(&g, o, NULL) == 0;
    if (ok) {
        memset(out, 0, sizeof *out);
        snprintf(out->name, sizeof out->name, "%s", g.name);
        out->active = strcmp(g.status, "active") == 0;
        out->forced_at = g.forced_at;
        GROUP_FIELDS(REF_INT)
        group_clear(&g);
    }
    json_object_put(o);
    return ok;
}

static int ref_incident(const char *text, struct gov_incident *out)
{
    struct json_object *o = jx_parse_record(text);
    if (o)
        gov_incident_from_json(o, out);
    json_object_put(o);
    return o != NULL;
}

static int ref_op(const char *text, struct gov_op *out)
{
    struct json_object *o = jx_parse_record(text);
    if (o)
        gov_op_from_json(o, out);
    json_object_put(o);
    return o != NULL;
}

#define SAME_INT_INT(n) && a->n == b->n
#define SAME_INT_STR(n)
#define SAME_INT(n, kind, def, cfg, lo, hi, check) SAME_INT_##kind(n)

static bool same_spec(const struct gov_spec *a, const struct gov_spec *b)
{
    return strcmp(a->name, b->name) == 0 && a->active == b->active &&
           a->forced_at == b->forced_at GROUP_FIELDS(SAME_INT);
}

/* gov_spec_read and the reference agree on text: the same verdict and, if
 * read, the same spec. Returns the verdict. */
static int spec_agrees(const char *text)
{
    struct gov_spec got, want;
    memset(&got, 0x5a, sizeof got);
    int rc = gov_spec_read(text, &got), ref = ref_spec(text, &want);
    if (rc != ref || (rc && !same_spec(&got, &want)))
        fail_msg("spec %s: read %d (min %lld, active %d), json-c %d (min %lld, active %d)",
                 text, rc, got.min, got.active, ref, want.min, want.active);
    return rc;
}

static int incident_agrees(const char *text)
{
    struct gov_incident got = {0}, want = {0};
    int rc = gov_incident_read(text, &got), ref = ref_incident(text, &want);
    if (rc != ref || (rc && memcmp(&got, &want, sizeof got) != 0))
        fail_msg("incident %s: read %d (open %d critical %d %lld %lld), json-c %d "
                 "(open %d critical %d %lld %lld)",
                 text, rc, got.open, got.critical, got.opened_at, got.closed_at, ref,
                 want.open, want.critical, want.opened_at, want.closed_at);
    return rc;
}

static int op_agrees(const char *text)
{
    struct gov_op got = {0}, want = {0};
    int rc = gov_op_read(text, &got), ref = ref_op(text, &want);
    if (rc != ref || (rc && (got.op != want.op || got.at != want.at ||
                             got.expires_at != want.expires_at)))
        fail_msg("op %s: read %d (%d %lld %lld), json-c %d (%d %lld %lld)", text, rc,
                 got.op, got.at, got.expires_at, ref, want.op, want.at, want.expires_at);
    return rc;
}

/* ---- literal cases ---- */

static void test_spec_rules(void **state)
{
    (void)state;
    struct gov_spec s;

    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"min\":2,\"max\":9,\"desired\":4,"
                                   "\"status\":\"active\",\"created_at\":1}", &s), 1);
    assert_string_equal(s.name, "web");
    assert_true(s.active);
    assert_int_equal(s.min, 2);
    assert_int_equal(s.max, 9);
    assert_int_equal(s.desired, 4);
    /* absent and null: group_init's defaults */
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"desired\":null}", &s), 1);
    assert_int_equal(s.desired, -1);
    assert_int_equal(s.scale_out_step, 5);
    assert_int_equal(s.scale_in_cooldown, 1800);
    assert_int_equal(s.incident_max_age, 21600);
    assert_true(s.active);
    /* the last of a repeated key */
    assert_int_equal(gov_spec_read("{\"name\":\"x\",\"min\":1,\"name\":\"web\",\"min\":4}", &s), 1);
    assert_string_equal(s.name, "web");
    assert_int_equal(s.min, 4);
    /* the status */
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"status\":\"deleting\"}", &s), 1);
    assert_false(s.active);
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"status\":7}", &s), 1);
    assert_true(s.active);
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"status\":\"0123456789abcde\"}", &s), 1);
    assert_false(s.active);
    /* whitespace, escapes, nesting, non-ASCII: all read as json-c reads them */
    assert_int_equal(gov_spec_read(" {\n\t\"name\" : \"web\" ,\r\"min\":-0 } \n", &s), 1);
    assert_int_equal(s.min, 0);
    assert_int_equal(gov_spec_read("{\"name\":\"w\\u0065b\",\"settings\":{\"a\":[1]},"
                                   "\"flavor\":\"caf\xc3\xa9\"}", &s), 1);
    assert_string_equal(s.name, "web");
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"min\":999999999999999999}", &s), 1);
    assert_int_equal(s.min, 999999999999999999LL);

    /* forced_at: read as group_from_json reads it (jx_int), never refused */
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"forced_at\":1700000000}", &s), 1);
    assert_int_equal(s.forced_at, 1700000000);
    assert_int_equal(gov_spec_read("{\"name\":\"web\"}", &s), 1);
    assert_int_equal(s.forced_at, 0);
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"forced_at\":\"5\"}", &s), 1);
    assert_int_equal(s.forced_at, 0);
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"forced_at\":-5}", &s), 1);
    assert_int_equal(s.forced_at, -5);
    /* the health and control fields, as any integer field */
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"health_replace\":0,"
                                   "\"min_healthy\":4,\"suspend_scale_in\":1}", &s), 1);
    assert_int_equal(s.health_replace, 0);
    assert_int_equal(s.min_healthy, 4);
    assert_int_equal(s.suspend_scale_in, 1);
    assert_int_equal(s.suspend_scale_out, 0);
    assert_int_equal(gov_spec_read("{\"name\":\"web\"}", &s), 1);
    assert_int_equal(s.health_replace, 1);
    assert_int_equal(s.min_healthy, -1);
    assert_int_equal(gov_spec_read("{\"name\":\"web\",\"suspend_replace\":\"1\"}", &s), 0);

    const char *refused[] = {
        "", "null", "[]", "{\"name\":\"web\"", "{\"name\":\"web\"} x", "{\"min\":1}",
        "{\"name\":\"Web\"}", "{\"name\":\"web-\"}", "{\"name\":7}",
        "{\"name\":\"abcdefghijklmnopqrstuvwxyz0123456\"}",
        "{\"name\":\"web\",\"min\":\"3\"}", "{\"name\":\"web\",\"min\":3.0}",
        "{\"name\":\"web\",\"max\":true}", "{\"name\":\"web\",\"flavor\":5}",
        "{\"name\":\"web\",\"image\":[]}", "{\"name\":\"web\",\"status\":\"0123456789abcdef\"}",
        "{\"name\":\"web\",\"image\":\"\xff\"}", "{\"name\":\"web\",\"settings\":{\"a\":\"\xfe\"}}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (gov_spec_read(refused[i], &s) != 0)
            fail_msg("read a spec from %s", refused[i]);
}

static void test_spec_agrees_with_json_c(void **state)
{
    (void)state;
    const char *cases[] = {
        "{\"name\":\"web\",\"min\":3,\"max\":20,\"status\":\"active\"}",
        "{\"name\":\"web\",\"min\":007}", "{\"name\":\"web\",\"min\":-5}",
        "{\"name\":\"web\",\"min\":1234567890123456789}", "{\"name\":\"web\",\"min\":1e3}",
        "{\"name\":\"web\",\"desired\":-1,\"alert_match\":null,\"dns_zone\":\"a.b\"}",
        "{\"name\":\"web\"}\f", "\f{\"name\":\"web\"}", "{\"name\":\"web\",}",
        "{\"name\":\"web\",\"x\":{\"y\":[1,2,{\"z\":null}]}}", "{\"name\":\"web\",\"x\":TRUE}",
        "{\"name\":\"web\",\"user_data\":\"a\\nb\"}", "{\"name\":\"web\",\"settings\":\"s\"}",
        "{\"name\":\"web\"}\0{", "{\"n\\u0061me\":\"web\"}", "{\"name\":\"web\",\"min\":-}",
        "{'name':'web'}", "{\"name\":\"web\" \"min\":1}", "{\"name\":\"web\",\"max\":\"\"}",
        /* escapes: typed only in other strings, decoded (json-c) in name and status */
        "{\"name\":\"web\",\"metric_query\":\"sum(x{g=\\\"web\\\"})\",\"target_value\":5}",
        "{\"name\":\"w\\u0065b\"}", "{\"name\":\"web\",\"status\":\"d\\u0065leting\"}",
        "{\"name\":\"web\",\"metric_query\":\"a\\\\b\\/c\\t\"}",
        "{\"name\":\"web\",\"metric_query\":\"\\ud800\"}",
        "{\"name\":\"web\",\"metric_query\":\"\\u0000\"}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        spec_agrees(cases[i]);
}

static void test_incident_and_op_rules(void **state)
{
    (void)state;
    struct gov_incident inc;
    struct gov_op op;

    assert_int_equal(gov_incident_read("{\"id\":\"i1\",\"state\":\"open\",\"severity\":"
                                       "\"critical\",\"opened_at\":100,\"closed_at\":null}",
                                       &inc), 1);
    assert_true(inc.open);
    assert_true(inc.critical);
    assert_int_equal(inc.opened_at, 100);
    assert_int_equal(inc.closed_at, 0);
    assert_int_equal(gov_incident_read("{\"state\":\"closed\",\"severity\":\"major\","
                                       "\"opened_at\":-4,\"closed_at\":\"9\"}", &inc), 1);
    assert_false(inc.open);
    assert_false(inc.critical);
    assert_int_equal(inc.opened_at, 0);
    assert_int_equal(inc.closed_at, 0);
    assert_int_equal(gov_incident_read("[1]", &inc), 0);

    assert_int_equal(gov_op_read("{\"op\":\"scale_in\",\"at\":50,\"expires_at\":-3}", &op), 1);
    assert_int_equal(op.op, GOV_SCALE_IN);
    assert_int_equal(op.at, 50);
    assert_int_equal(op.expires_at, -3);
    assert_int_equal(gov_op_read("{\"op\":\"reconcile\",\"at\":\"50\"}", &op), 1);
    assert_int_equal(op.op, GOV_NONE);
    assert_int_equal(op.at, 0);
    assert_int_equal(op.expires_at, 0);
    assert_int_equal(gov_op_read("{\"op\":\"scale_out\"", &op), 0);
    assert_int_equal(gov_op_read("{\"op\":\"replace\",\"at\":70}", &op), 1);
    assert_int_equal(op.op, GOV_REPLACE);
    assert_int_equal(op.at, 70);


    const char *cases[] = {
        "{\"state\":\"open\",\"state\":\"closed\"}", "{\"state\":\"op\\u0065n\"}",
        "{\"severity\":\"critical\",\"title\":\"caf\xc3\xa9\",\"opened_at\":5}",
        "{\"opened_at\":5.0}", "{\"opened_at\":12345678901234567890}", "{}", " ",
        "{\"op\":\"scale_out\",\"at\":1,\"extra\":{\"at\":2}}", "{\"at\":1}{\"at\":2}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        incident_agrees(cases[i]);
        op_agrees(cases[i]);
    }
}

/* ---- generated records ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned pick(unsigned n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 2685821657736338717ULL) >> 33) % n;
}

static const char *const keys[] = {
    "name", "name", "min", "max", "desired", "scale_out_step", "scale_out_cooldown",
    "scale_in_step", "scale_in_cooldown", "warning_step", "incident_max_age",
    "alert_match", "compute_provider", "flavor", "user_data", "dns_zone", "status",
    "status", "settings", "created_at", "state", "severity", "opened_at", "closed_at",
    "op", "at", "expires_at", "id", "", "n\\u0061me", "st", "forced_at", "forced_at",
    "health_replace", "min_healthy", "suspend_scale_out", "suspend_replace", "protect_new",
    "health_check_path", "status", "metric_query", "metric_source", "target_value",
};

/* Values of the scanner's subset, and values just outside it. */
static const char *const plain_values[] = {
    "\"web\"", "\"web-2\"", "\"g00001\"", "\"Web\"", "\"active\"", "\"deleting\"",
    "\"open\"", "\"closed\"", "\"critical\"", "\"warning\"", "\"scale_out\"",
    "\"scale_in\"", "\"replace\"", "\"unhealthy\"",
    "\"\"", "\"a b/c\"", "\"0123456789abcdef\"", "0", "1", "3", "20",
    "-1", "-7", "600", "1700000000", "999999999999999999", "-999999999999999999", "true",
    "false", "null",
};

static const char *const odd_values[] = {
    "\"x\\\"y\"", "\"caf\xc3\xa9\"", "\"\xff\"", "\"tab\there\"", "\"w\\u0065b\"",
    "1234567890123456789", "007", "-0", "1.5", "2e3", "-", "TRUE", "nul", "{}",
    "{\"a\":[1,\"]\"]}", "[]", "[1,2]", "\"a\\\\b\"", "\"\\u0000\"", "\"\\ud800\"",
    "\"\\u00e9\"", "\"\\u007E\"", "\"\\u001f\"", "\"\\q\"", "\"\\u12\"", "\"x\\/y\\n\"",
};

static const char *const spaces[] = {"", " ", "\n", "\t ", "\r", "\f"};

static const char *value(void)
{
    return pick(10) ? plain_values[pick(sizeof plain_values / sizeof plain_values[0])]
                    : odd_values[pick(sizeof odd_values / sizeof odd_values[0])];
}

static const char *space(void)
{
    return pick(8) ? "" : spaces[pick(sizeof spaces / sizeof spaces[0])];
}

static void gen(char *buf, size_t size)
{
    size_t n = 0;
#define ADD(s) (n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s", (s)))
    ADD(space());
    ADD("{");
    unsigned pairs = pick(9);
    if (pick(4))
        ADD("\"name\":\"web\","); /* most records name a valid group */
    for (unsigned i = 0; i < pairs; i++) {
        if (i)
            ADD(",");
        ADD(space());
        ADD("\"");
        ADD(keys[pick(sizeof keys / sizeof keys[0])]);
        ADD("\"");
        ADD(space());
        ADD(":");
        ADD(space());
        ADD(value());
    }
    if (!pairs && n > 0 && buf[n - 1] == ',')
        buf[--n] = '\0';
    ADD("}");
    ADD(space());
    switch (pick(40)) { /* now and then, a record broken at one end */
    case 0: buf[n / 2] = '\0'; break;
    case 1: ADD("x"); break;
    case 2: ADD("{}"); break;
    default: break;
    }
#undef ADD
    assert_true(n < size);
}

static void test_generated_records_agree(void **state)
{
    (void)state;
    char buf[1024];
    int read[3] = {0};
    for (int i = 0; i < 200000; i++) {
        gen(buf, sizeof buf);
        read[0] += spec_agrees(buf);
        read[1] += incident_agrees(buf);
        read[2] += op_agrees(buf);
    }
    print_message("  specs read %d, incidents %d, ops %d of 200000\n", read[0], read[1],
                  read[2]);
    /* the generator makes both kinds, often enough to mean something */
    assert_true(read[0] > 20000 && read[0] < 150000);
    assert_true(read[1] > 100000 && read[1] < 195000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_rules),
        cmocka_unit_test(test_spec_agrees_with_json_c),
        cmocka_unit_test(test_incident_and_op_rules),
        cmocka_unit_test(test_generated_records_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
