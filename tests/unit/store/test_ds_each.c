/* test_ds_each.c - ds_each, the listing without a list (datastore.h), on
 * both backends and through the read-only wrapper: the same entries as
 * ds_list in the same order, expired keys left out, the walk ending exactly
 * where the prefix does, and a callback's failure stopping it.
 *
 * The embedded backend walks SQLite's rows itself (ds_embedded.c); st2 and
 * the wrapper go through datastore.c's fallback (list, then walk). The st2
 * store is the in-process fake (tests/fakes/fake_st2.c) with small pages, so
 * its walk crosses pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore.h"
#include "fake_st2.h"
#include "test_util.h"

#define TOKEN "tok-each-0123456789abcdef"
#define NOW "1700000000"

enum backend { EMBEDDED, ST2, READ_ONLY };

struct fixture {
    enum backend backend;
    char dir[64], path[128];
    struct fake_st2 *fake;
    struct ds *ds;
};

static struct ds *open_store(struct fixture *f)
{
    struct as_error err = {0};
    struct ds *ds;
    if (f->backend == ST2) {
        struct ds_st2_config cfg = {.base_url = fake_st2_url(f->fake), .auth_token = TOKEN,
                                    .page_size = 3};
        ds = ds_open_st2(&cfg, &err);
    } else {
        ds = ds_open_embedded(f->path, &err);
    }
    if (!ds)
        fail_msg("open: %s: %s", err.code, err.message);
    return ds;
}

/* Writes with TTLs, then the clock moved on by `later` seconds, so the
 * keys with a short TTL have expired (each backend's own clock). */
static void put(struct fixture *f, const char *key, const char *value, long ttl)
{
    struct as_error err = {0};
    if (ds_put(f->ds, key, value, ttl, &err) < 0)
        fail_msg("put %s: %s: %s", key, err.code, err.message);
}

static void advance(struct fixture *f, const char *later_now, long long seconds)
{
    if (f->backend == ST2) {
        fake_st2_advance(f->fake, seconds);
        return;
    }
    ds_close(f->ds);
    setenv("AUTOSCALE_TEST_NOW", later_now, 1);
    f->ds = open_store(f);
    if (f->backend == READ_ONLY)
        f->ds = ds_read_only(f->ds);
}

static int setup(void **state, enum backend backend)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->backend = backend;
    setenv("AUTOSCALE_TEST_NOW", NOW, 1);
    if (backend == ST2) {
        f->fake = fake_st2_start(TOKEN, NULL);
        assert_non_null(f->fake);
    } else {
        assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_ds_each"), 0);
        snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    }
    f->ds = open_store(f);
    /* Around the prefix "p.": '-' sorts before '.', '/' after it. */
    put(f, "p-x", "before", 0);
    put(f, "p.a", "1", 0);
    put(f, "p.b", "", 0);
    put(f, "p.b.c", "3", 0);
    put(f, "p.c", "short-lived", 60);
    put(f, "p.d", "{\"x\":1}", 0);
    put(f, "p/a", "after, short-lived", 60);
    put(f, "p/b", "after", 0);
    put(f, "q", "far after", 0);
    advance(f, "1700000100", 100);
    *state = f;
    return 0;
}

static int setup_embedded(void **state) { return setup(state, EMBEDDED); }
static int setup_st2(void **state) { return setup(state, ST2); }
static int setup_read_only(void **state) { return setup(state, READ_ONLY); }

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    if (f->fake)
        fake_st2_stop(f->fake);
    else
        test_rmtree(f->dir);
    unsetenv("AUTOSCALE_TEST_NOW");
    free(f);
    return 0;
}

/* What a walk saw: "name=value;" each, and how many calls, failing the
 * call numbered fail_at (0: never). */
struct seen {
    char text[512];
    int calls, fail_at;
};

static int note(void *arg, const char *name, const char *value, struct as_error *err)
{
    struct seen *s = arg;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s=%s;", name, value);
    if (++s->calls == s->fail_at)
        return as_fail(err, AS_EXIT_FAILURE, "datastore_error", "stop at %d", s->calls);
    return 0;
}

static void listed(struct ds *ds, const char *prefix, char *out, size_t size)
{
    struct ds_list l = {0};
    struct as_error err = {0};
    assert_int_equal(ds_list(ds, prefix, &l, &err), 0);
    out[0] = '\0';
    for (size_t i = 0; i < l.count; i++) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s=%s;", l.items[i].name, l.items[i].value);
    }
    ds_list_clear(&l);
}

static void test_each_as_list(void **state)
{
    struct fixture *f = *state;
    const char *prefixes[] = {"p.", "p", "p.b", "p/", "q", "r", "p.b.c", "p.a"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        struct seen s = {0};
        struct as_error err = {0};
        char want[512];
        assert_int_equal(ds_each(f->ds, prefixes[i], note, &s, &err), 0);
        listed(f->ds, prefixes[i], want, sizeof want);
        if (strcmp(s.text, want) != 0)
            fail_msg("prefix %s: walked [%s], listed [%s]", prefixes[i], s.text, want);
    }
    /* And what that is: expired keys gone, nothing past the prefix. */
    struct seen s = {0};
    struct as_error err = {0};
    assert_int_equal(ds_each(f->ds, "p.", note, &s, &err), 0);
    assert_string_equal(s.text, "p.a=1;p.b=;p.b.c=3;p.d={\"x\":1};");
    memset(&s, 0, sizeof s);
    assert_int_equal(ds_each(f->ds, "p", note, &s, &err), 0);
    assert_string_equal(s.text, "p-x=before;p.a=1;p.b=;p.b.c=3;p.d={\"x\":1};p/b=after;");
}

static void test_each_callback_stops(void **state)
{
    struct fixture *f = *state;
    struct seen s = {.fail_at = 2};
    struct as_error err = {0};
    assert_int_equal(ds_each(f->ds, "p.", note, &s, &err), -1);
    assert_int_equal(s.calls, 2);
    assert_string_equal(err.code, "datastore_error");
    assert_string_equal(err.message, "stop at 2");

    /* The store is still usable: the next walk starts afresh. */
    memset(&s, 0, sizeof s);
    assert_int_equal(ds_each(f->ds, "p.b", note, &s, &err), 0);
    assert_string_equal(s.text, "p.b=;p.b.c=3;");
}

static void test_each_bad_prefix(void **state)
{
    struct fixture *f = *state;
    struct seen s = {0};
    struct as_error err = {0};
    assert_int_equal(ds_each(f->ds, "", note, &s, &err), -1);
    assert_string_equal(err.code, "bad_key");
    assert_int_equal(ds_each(f->ds, "p .", note, &s, &err), -1);
    assert_string_equal(err.code, "bad_key");
    assert_int_equal(s.calls, 0);
}

/* Many keys: the embedded walk gives its page cache back as it goes
 * (ds_embedded.c), st2's pages are merged; either way every key comes
 * once, in order. */
struct order {
    int next, wrong;
};

static int in_order(void *arg, const char *name, const char *value, struct as_error *err)
{
    struct order *o = arg;
    char key[32], want[32];
    (void)err;
    snprintf(key, sizeof key, "m.%05d", o->next);
    snprintf(want, sizeof want, "{\"i\":%d}", o->next++);
    o->wrong += strcmp(name, key) != 0 || strcmp(value, want) != 0;
    return 0;
}

static void test_each_many(void **state)
{
    struct fixture *f = *state;
    char key[32], value[32];
    int n = f->backend == ST2 ? 50 : 3000;
    for (int i = n - 1; i >= 0; i--) {
        snprintf(key, sizeof key, "m.%05d", i);
        snprintf(value, sizeof value, "{\"i\":%d}", i);
        put(f, key, value, 0);
    }
    struct order o = {0};
    struct as_error err = {0};
    assert_int_equal(ds_each(f->ds, "m.", in_order, &o, &err), 0);
    assert_int_equal(o.next, n);
    assert_int_equal(o.wrong, 0);
}

#define E(fn) cmocka_unit_test_setup_teardown(fn, setup_embedded, teardown)
#define S(fn) cmocka_unit_test_setup_teardown(fn, setup_st2, teardown)
#define R(fn) cmocka_unit_test_setup_teardown(fn, setup_read_only, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        E(test_each_as_list),   S(test_each_as_list),   R(test_each_as_list),
        E(test_each_callback_stops), S(test_each_callback_stops),
        R(test_each_callback_stops),
        E(test_each_bad_prefix), S(test_each_bad_prefix),
        E(test_each_many),      S(test_each_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
