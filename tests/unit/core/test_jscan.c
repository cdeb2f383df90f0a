/* test_jscan.c - the strict scanning primitives (lib/core/jscan.c): each
 * one's accepted forms and where it stops, each decline jscan.h lists, and
 * the promise the readers stand on: what jscan_object accepts, json-c reads
 * as one object with the same keys and values (checked on generated flat
 * objects, in and just outside the subset). The readers themselves are
 * checked against json-c in tests/unit/model/test_governor_record.c and
 * test_governor_metric_sim.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "jsonx.h"

/* Where a primitive stopped, as an offset into text; -1 declined. */
#define AT(text, end) ((end) ? (long)((end) - (text)) : -1L)

static void test_ws_and_lit(void **state)
{
    (void)state;
    const char *t = " \t\r\n{";
    assert_ptr_equal(jscan_ws(t), t + 4);
    t = "x ";
    assert_ptr_equal(jscan_ws(t), t);
    t = "\f{";
    assert_ptr_equal(jscan_ws(t), t); /* json-c skips \f: its call */
    t = "";
    assert_ptr_equal(jscan_ws(t), t);

    t = "true,";
    assert_int_equal(AT(t, jscan_lit(t, "true")), 4);
    t = "tru";
    assert_int_equal(AT(t, jscan_lit(t, "true")), -1);
    t = "TRUE";
    assert_int_equal(AT(t, jscan_lit(t, "true")), -1);
}

static void test_string(void **state)
{
    (void)state;
    const char *s = NULL;
    size_t len = 0;
    const char *t = "\"a b/c~!\",";
    assert_int_equal(AT(t, jscan_string(t, &s, &len)), 9);
    assert_ptr_equal(s, t + 1);
    assert_int_equal(len, 7);
    t = "\"\"";
    assert_int_equal(AT(t, jscan_string(t, &s, &len)), 2);
    assert_int_equal(len, 0);

    const char *declined[] = {
        "x\"", "\"abc", "\"a\\\"b\"", "\"caf\xc3\xa9\"", "\"\xff\"", "\"tab\there\"",
        "\"\x7f\"", "\"nl\n\"", "\"\x01\"", "",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        s = NULL;
        if (jscan_string(declined[i], &s, &len))
            fail_msg("jscan_string took %s", declined[i]);
        assert_null(s); /* untouched */
    }
    /* every byte: plain only for printable ASCII but '"' and '\\' */
    for (int c = 1; c < 256; c++) {
        char buf[4] = {'"', (char)c, '"', 0};
        bool want = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
        assert_int_equal(jscan_plain[c], want);
        assert_int_equal(jscan_string(buf, &s, &len) == buf + 3, want);
    }
    assert_false(jscan_plain[0]);
}

static void test_string_esc(void **state)
{
    (void)state;
    const char *s;
    size_t len;
    bool esc = true;
    const char *t = "\"plain\"";
    assert_int_equal(AT(t, jscan_string_esc(t, &s, &len, &esc)), 7);
    assert_false(esc);
    const char *taken[] = {
        "\"sum(x{g=\\\"web\\\"})\"", "\"a\\\\b\"", "\"\\/\"", "\"\\b\\f\\n\\r\\t\"",
        "\"\\u0020\"", "\"\\u007e\"", "\"\\u007E\"", "\"w\\u0065b\"",
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        esc = false;
        const char *end = jscan_string_esc(taken[i], &s, &len, &esc);
        if (end != taken[i] + strlen(taken[i]) || !esc)
            fail_msg("jscan_string_esc declined %s", taken[i]);
        assert_ptr_equal(s, taken[i] + 1); /* raw: undecoded */
        assert_int_equal(len, strlen(taken[i]) - 2);
    }
    const char *declined[] = {
        "\"\\q\"", "\"\\u001f\"", "\"\\u007f\"", "\"\\u00e9\"", "\"\\ud800\"", "\"\\u0000\"",
        "\"\\u12\"", "\"\\u12", "\"\\u", "\"\\", "\"\\\"", "\"\\uZZZZ\"", "\"caf\xc3\xa9\"",
        "\"\\\xc3\xa9\"",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        if (jscan_string_esc(declined[i], &s, &len, &esc))
            fail_msg("jscan_string_esc took %s", declined[i]);
    /* jscan_escape alone, at the backslash */
    t = "\\n";
    assert_int_equal(AT(t, jscan_escape(t)), 2);
    t = "\\u0041x";
    assert_int_equal(AT(t, jscan_escape(t)), 6);
    t = "\\";
    assert_int_equal(AT(t, jscan_escape(t)), -1);
}

static void test_int(void **state)
{
    (void)state;
    struct { const char *text; long at; long long v; } taken[] = {
        {"0", 1, 0}, {"7,", 1, 7}, {"-7}", 2, -7}, {"1700000000", 10, 1700000000LL},
        {"999999999999999999", 18, 999999999999999999LL},
        {"-999999999999999999", 19, -999999999999999999LL}, {"10x", 2, 10},
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        long long v = 42;
        const char *t = taken[i].text;
        if (AT(t, jscan_int(t, &v)) != taken[i].at || v != taken[i].v)
            fail_msg("jscan_int(%s): at %ld, %lld", t, AT(t, jscan_int(t, &v)), v);
    }
    const char *declined[] = {
        "", "-", "+1", "007", "00", "-0", "-01", "1234567890123456789", "1.5", "1.",
        "2e3", "2E3", "1e", "-x", "\"1\"", " 1", "0.0",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        long long v = 42;
        if (jscan_int(declined[i], &v) || v != 42)
            fail_msg("jscan_int took %s", declined[i]);
    }
}

/* jscan_number agrees with json-c's double of the same text, where it
 * takes one; its declines are json-c's business, not errors. */
static void test_number(void **state)
{
    (void)state;
    const char *taken[] = {
        "0", "7", "-7", "42.5", "-1.5e-3", "1E+300", "0.1", "2E-2", "0e0", "-0.0",
        "999999999999999999", "1e999", "-1e999", "1e-400", "123.456e7",
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        double v = 42, want;
        const char *t = taken[i];
        if (AT(t, jscan_number(t, &v)) != (long)strlen(t))
            fail_msg("jscan_number declined %s", t);
        struct json_object *o = json_tokener_parse(t);
        assert_non_null(o);
        want = json_object_get_double(o);
        json_object_put(o);
        if (!(v == want || (isnan(v) && isnan(want))) || signbit(v) != signbit(want))
            fail_msg("jscan_number(%s) = %g, json-c %g", t, v, want);
    }
    const char *declined[] = {
        "", "-", "01", "-0", "1.", ".5", "1e", "1e+", "-e1", "1234567890123456789",
        "123456789012345678901234567890", "NaN", "Infinity", "\"2\"", "+1",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        double v = 42;
        if (jscan_number(declined[i], &v) || v != 42)
            fail_msg("jscan_number took %s", declined[i]);
    }
    /* where it stops: the caller's next token */
    const char *t = "2.5,\"nodes\"";
    double v;
    assert_int_equal(AT(t, jscan_number(t, &v)), 3);
    t = "0x10"; /* "0", then the caller finds no ',' */
    assert_int_equal(AT(t, jscan_number(t, &v)), 1);
}

static void test_value(void **state)
{
    (void)state;
    struct jscan_val v;
    const char *t = "true";
    assert_int_equal(AT(t, jscan_value(t, &v, false)), 4);
    assert_int_equal(v.kind, JSCAN_BOOL);
    assert_true(v.b);
    t = "false";
    assert_int_equal(AT(t, jscan_value(t, &v, false)), 5);
    assert_false(v.b);
    t = "null";
    assert_int_equal(AT(t, jscan_value(t, &v, false)), 4);
    assert_int_equal(v.kind, JSCAN_NULL);
    t = "-12";
    assert_int_equal(AT(t, jscan_value(t, &v, false)), 3);
    assert_int_equal(v.kind, JSCAN_INT);
    assert_int_equal(v.i, -12);
    t = "\"a\\nb\"";
    assert_int_equal(AT(t, jscan_value(t, &v, false)), -1);
    assert_int_equal(AT(t, jscan_value(t, &v, true)), 6);
    assert_int_equal(v.kind, JSCAN_STR);
    assert_true(v.escaped);
    const char *declined[] = {"{}", "[]", "1.5", "nul", "tru", "True", "'a'", ""};
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        if (jscan_value(declined[i], &v, true))
            fail_msg("jscan_value took %s", declined[i]);
}

/* ---- jscan_object ---- */

struct pairs {
    int n;
    char keys[16][32];
    struct jscan_val v[16];
};

static void note(void *arg, const char *key, size_t klen, const struct jscan_val *v)
{
    struct pairs *p = arg;
    if (p->n < 16) {
        snprintf(p->keys[p->n], sizeof p->keys[0], "%.*s", (int)klen, key);
        p->v[p->n++] = *v;
    }
}

static void test_object(void **state)
{
    (void)state;
    struct pairs p = {0};
    assert_int_equal(jscan_object(" {\n\t\"a\" : 1 ,\r\"b\":\"x\",\"a\":null,\"c\":true} \n",
                                  note, &p, false), 1);
    assert_int_equal(p.n, 4); /* in order, the repeated key twice */
    assert_string_equal(p.keys[0], "a");
    assert_int_equal(p.v[0].i, 1);
    assert_string_equal(p.keys[1], "b");
    assert_int_equal(p.v[1].len, 1);
    assert_string_equal(p.keys[2], "a");
    assert_int_equal(p.v[2].kind, JSCAN_NULL);
    assert_int_equal(p.v[3].kind, JSCAN_BOOL);
    memset(&p, 0, sizeof p);
    assert_int_equal(jscan_object("{}", note, &p, false), 1);
    assert_int_equal(p.n, 0);

    const char *declined[] = {
        "", "[]", "{", "{\"a\":1", "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\" 1}",
        "{\"a\":1 \"b\":2}", "{\"a\":1}x", "{\"a\":1}{}", "\f{}", "{}\f", "{a:1}",
        "{'a':1}", "{\"a\":{}}", "{\"a\":[1]}", "{\"a\":1.5}", "{\"a\\n\":1}",
        "{\"a\":\"\\n\"}", "{\"\xc3\xa9\":1}",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        if (jscan_object(declined[i], note, &p, false))
            fail_msg("jscan_object took %s", declined[i]);
    assert_int_equal(jscan_object("{\"a\":\"\\n\"}", note, &p, true), 1);
}

/* ---- against json-c ---- */

static uint64_t rng = 0x853c49e6748fea9bULL;

static unsigned pick(unsigned n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

static const char *const values[] = {
    "\"web\"", "\"\"", "\"a b\"", "0", "1", "-7", "1700000000", "999999999999999999",
    "-999999999999999999", "true", "false", "null", "\"q\\\"x\"", "\"\\u0041\"",
    "\"\\\\\"", "\"\\/\\b\\f\\n\\r\\t\"",
    /* just outside */
    "1234567890123456789", "007", "-0", "1.5", "2e3", "\"\\u00e9\"", "\"\\ud800\"",
    "\"\\u0000\"", "\"caf\xc3\xa9\"", "\"\xff\"", "{}", "[1]", "TRUE", "nul", "-",
    "\"\\q\"", "\"tab\there\"",
};
static const char *const keys[] = {"a", "b", "name", "", "a b", "k\\u0041", "\xc3\xa9"};
static const char *const spaces[] = {"", "", "", "", " ", "\n", "\t", "\r", "\f"};

static void gen(char *buf, size_t size)
{
    size_t n = 0;
#define ADD(s) (n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s", (s)))
    ADD(spaces[pick(9)]);
    ADD("{");
    unsigned pairs = pick(6);
    for (unsigned i = 0; i < pairs; i++) {
        if (i)
            ADD(pick(50) ? "," : "");
        ADD(spaces[pick(9)]);
        ADD("\"");
        ADD(keys[pick(sizeof keys / sizeof keys[0])]);
        ADD("\"");
        ADD(spaces[pick(9)]);
        ADD(":");
        ADD(spaces[pick(9)]);
        ADD(values[pick(sizeof values / sizeof values[0])]);
        ADD(spaces[pick(9)]);
    }
    if (pick(50) == 0)
        ADD(",");
    ADD("}");
    ADD(spaces[pick(9)]);
    if (pick(50) == 0)
        buf[pick((unsigned)n)] = '\0';
#undef ADD
    assert_true(n < size);
}

/* The pair as json-c has it, in a parse of text: key k's last value. */
static void same_as_json_c(const char *text, struct json_object *o, const char *key,
                           size_t klen, const struct jscan_val *v, const struct pairs *p,
                           int idx)
{
    /* only the last of a repeated key is json-c's */
    for (int j = idx + 1; j < p->n; j++)
        if (strlen(p->keys[j]) == klen && memcmp(p->keys[j], key, klen) == 0)
            return;
    struct json_object *jv = NULL;
    if (!json_object_object_get_ex(o, p->keys[idx], &jv) && v->kind != JSCAN_NULL)
        fail_msg("%s: key %s not in json-c's object", text, p->keys[idx]);
    bool ok;
    switch (v->kind) {
    case JSCAN_NULL: ok = jv == NULL; break;
    case JSCAN_BOOL: ok = json_object_is_type(jv, json_type_boolean) &&
                          json_object_get_boolean(jv) == v->b; break;
    case JSCAN_INT: ok = json_object_is_type(jv, json_type_int) &&
                         json_object_get_int64(jv) == v->i; break;
    case JSCAN_STR:
        /* raw bytes: equal to json-c's where nothing was escaped */
        ok = json_object_is_type(jv, json_type_string) &&
             (v->escaped || ((size_t)json_object_get_string_len(jv) == v->len &&
                             memcmp(json_object_get_string(jv), v->s, v->len) == 0));
        break;
    default: ok = false;
    }
    if (!ok)
        fail_msg("%s: key %s read otherwise by json-c", text, p->keys[idx]);
}

static void test_object_against_json_c(void **state)
{
    (void)state;
    char buf[1024];
    int taken = 0, records = 100000;
    for (int i = 0; i < records; i++) {
        gen(buf, sizeof buf);
        bool escapes = pick(2);
        struct pairs p = {0};
        if (!jscan_object(buf, note, &p, escapes))
            continue;
        taken++;
        struct json_object *o = jx_parse_record(buf);
        if (!o)
            fail_msg("jscan_object took what json-c refuses: %s", buf);
        for (int j = 0; j < p.n && j < 16; j++)
            same_as_json_c(buf, o, p.keys[j], strlen(p.keys[j]), &p.v[j], &p, j);
        json_object_put(o);
    }
    print_message("  jscan_object took %d of %d\n", taken, records);
    assert_true(taken > records / 10 && taken < records * 9 / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_and_lit),
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_string_esc),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_number),
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_object),
        cmocka_unit_test(test_object_against_json_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
