/* test_datastore.c - backend selection, key validation and list helpers
 * (lib/store/datastore.c), using the embedded backend as the store underneath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datastore.h"
#include "ds_int.h" /* the backends' operations, called directly */
#include "test_util.h"

struct fixture {
    char dir[64];
    char db[128];
};

/* Everything ds_open_from_env and ds_default_db_path look at. */
static const char *const env_vars[] = {
    "AUTOSCALE_DATASTORE", "AUTOSCALE_DB", "ST2_ACTION_API_URL", "ST2_API_URL",
    "ST2_ACTION_AUTH_TOKEN", "ST2_AUTH_TOKEN", "ST2_API_KEY", "ST2_CACERT",
    "XDG_STATE_HOME", NULL,
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_datastore"), 0);
    snprintf(f->db, sizeof f->db, "%s/store.db", f->dir);
    for (int i = 0; env_vars[i]; i++)
        unsetenv(env_vars[i]);
    setenv("HOME", f->dir, 1); /* a slip must not touch the real home */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static struct ds *open_env_ok(void)
{
    struct as_error err = {0};
    struct ds *ds = ds_open_from_env(&err);
    if (!ds)
        fail_msg("ds_open_from_env: %s: %s", err.code, err.message);
    return ds;
}

static void assert_open_env_fails(const char *code, enum as_exit exit)
{
    struct as_error err = {0};
    assert_null(ds_open_from_env(&err));
    assert_string_equal(err.code, code);
    assert_int_equal(err.exit, exit);
}

/* ---- selection ----------------------------------------------------------- */

static void test_select_embedded_explicitly(void **state)
{
    struct fixture *f = *state;
    setenv("AUTOSCALE_DATASTORE", "embedded", 1);
    setenv("AUTOSCALE_DB", f->db, 1);
    setenv("ST2_API_URL", "http://127.0.0.1:1/v1", 1); /* the choice wins */
    struct ds *ds = open_env_ok();
    assert_string_equal(ds_backend_name(ds), "embedded");
    assert_true(exists(f->db));
    ds_close(ds);
}

/* Naming the file is choice enough. */
static void test_select_embedded_by_db(void **state)
{
    struct fixture *f = *state;
    setenv("AUTOSCALE_DB", f->db, 1);
    struct ds *ds = open_env_ok();
    assert_string_equal(ds_backend_name(ds), "embedded");
    assert_true(exists(f->db));
    ds_close(ds);
}

/* Chosen by name without a file: the default path, never refused. */
static void test_select_embedded_default_path(void **state)
{
    struct fixture *f = *state;
    char state_home[128], db[160];
    snprintf(state_home, sizeof state_home, "%s/state", f->dir);
    snprintf(db, sizeof db, "%s/state/autoscale/autoscale.db", f->dir);
    setenv("XDG_STATE_HOME", state_home, 1);
    setenv("AUTOSCALE_DATASTORE", "embedded", 1);
    struct ds *ds = open_env_ok();
    assert_string_equal(ds_backend_name(ds), "embedded");
    assert_true(exists(db));
    ds_close(ds);
}

/* Outside st2 with nothing chosen: refused with how to choose, and no store
 * made where the default path would put it. An empty AUTOSCALE_DB names
 * nothing. */
static void test_select_nothing_refused(void **state)
{
    struct fixture *f = *state;
    char state_home[128], local[128];
    snprintf(state_home, sizeof state_home, "%s/state", f->dir);
    snprintf(local, sizeof local, "%s/.local", f->dir);

    struct as_error err = {0};
    assert_null(ds_open_from_env(&err));
    assert_string_equal(err.code, "no_datastore");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_non_null(strstr(err.message, "AUTOSCALE_DATASTORE=embedded"));
    assert_non_null(strstr(err.message, "AUTOSCALE_DB="));
    assert_non_null(strstr(err.message, "AUTOSCALE_DATASTORE=st2"));
    assert_non_null(strstr(err.message, "ST2_API_URL"));
    assert_false(exists(local));

    setenv("XDG_STATE_HOME", state_home, 1);
    setenv("AUTOSCALE_DB", "", 1);
    assert_open_env_fails("no_datastore", AS_EXIT_BADINPUT);
    assert_false(exists(state_home));
    assert_false(exists(local));
}

static void test_select_bogus(void **state)
{
    struct fixture *f = *state;
    static const char *const bogus[] = {"bogus", "EMBEDDED", "sqlite", "st2 ", NULL};
    for (int i = 0; bogus[i]; i++) {
        setenv("AUTOSCALE_DATASTORE", bogus[i], 1);
        unsetenv("AUTOSCALE_DB");
        assert_open_env_fails("bad_datastore", AS_EXIT_BADINPUT);
        /* a file or a st2 URL beside a bad choice does not rescue it */
        setenv("AUTOSCALE_DB", f->db, 1);
        setenv("ST2_ACTION_API_URL", "http://127.0.0.1:1/v1", 1);
        assert_open_env_fails("bad_datastore", AS_EXIT_BADINPUT);
        unsetenv("ST2_ACTION_API_URL");
    }
    assert_false(exists(f->db));
}

static void test_select_st2_without_url(void **state)
{
    struct fixture *f = *state;
    setenv("AUTOSCALE_DB", f->db, 1);
    setenv("AUTOSCALE_DATASTORE", "st2", 1);
    assert_open_env_fails("bad_datastore", AS_EXIT_BADINPUT);
    assert_false(exists(f->db));
}

/* Port 1 has no server: opening must succeed without contacting it. */
static void test_select_st2_by_url(void **state)
{
    struct fixture *f = *state;
    setenv("AUTOSCALE_DB", f->db, 1);
    setenv("ST2_API_URL", "http://127.0.0.1:1/v1", 1);
    struct ds *ds = open_env_ok();
    assert_string_equal(ds_backend_name(ds), "st2");
    ds_close(ds);

    unsetenv("ST2_API_URL");
    setenv("ST2_ACTION_API_URL", "http://127.0.0.1:1/v1", 1);
    ds = open_env_ok();
    assert_string_equal(ds_backend_name(ds), "st2");
    ds_close(ds);

    setenv("AUTOSCALE_DATASTORE", "st2", 1);
    ds = open_env_ok();
    assert_string_equal(ds_backend_name(ds), "st2");
    ds_close(ds);
    assert_false(exists(f->db));
}

/* By name: every backend of the table, and nothing else. */
static void test_open_by_name(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds *ds = ds_open("embedded", &(struct ds_config){.path = f->db}, &err);
    assert_non_null(ds);
    assert_string_equal(ds_backend_name(ds), "embedded");
    ds_close(ds);
    ds = ds_open("st2", &(struct ds_config){.st2 = {.base_url = "http://127.0.0.1:1/v1"}},
                 &err);
    assert_non_null(ds);
    assert_string_equal(ds_backend_name(ds), "st2");
    ds_close(ds);
    assert_null(ds_open("read-only", &(struct ds_config){.path = f->db}, &err));
    assert_string_equal(err.code, "bad_datastore");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_null(ds_open(NULL, &(struct ds_config){.path = f->db}, &err));
    assert_string_equal(err.code, "bad_datastore");
}

/* ---- default path -------------------------------------------------------- */

static void assert_default_path(const char *want)
{
    char *p = ds_default_db_path();
    assert_non_null(p);
    assert_string_equal(p, want);
    free(p);
}

static void test_default_path_xdg(void **state)
{
    (void)state;
    setenv("HOME", "/home/op", 1);
    setenv("XDG_STATE_HOME", "/var/lib/op-state", 1);
    assert_default_path("/var/lib/op-state/autoscale/autoscale.db");
    setenv("AUTOSCALE_DB", "/srv/as.db", 1); /* explicit beats both */
    assert_default_path("/srv/as.db");
}

static void test_default_path_home(void **state)
{
    (void)state;
    setenv("HOME", "/home/op", 1);
    assert_default_path("/home/op/.local/state/autoscale/autoscale.db");
    setenv("XDG_STATE_HOME", "", 1); /* empty counts as unset */
    assert_default_path("/home/op/.local/state/autoscale/autoscale.db");
}

/* ---- key validation ------------------------------------------------------ */

static void assert_bad_key(struct as_error *err)
{
    assert_string_equal(err->code, "bad_key");
    assert_int_equal(err->exit, AS_EXIT_BADINPUT);
    as_error_clear(err);
}

static void test_bad_keys_rejected(void **state)
{
    struct fixture *f = *state;
    char long_key[514];
    memset(long_key, 'k', 513);
    long_key[513] = '\0';
    const char *const bad[] = {
        "", "a b", "a\nb", "a\x7f", "a\tb", "caf\xc3\xa9", long_key, NULL,
    };
    struct as_error err = {0};
    struct ds *ds = ds_open_embedded(f->db, &err);
    assert_non_null(ds);

    for (int i = 0; bad[i]; i++) {
        char *v = (char *)"untouched";
        struct ds_list l = {0};
        assert_int_equal(ds_put(ds, bad[i], "v", 0, &err), -1);
        assert_bad_key(&err);
        assert_int_equal(ds_get(ds, bad[i], &v, &err), -1);
        assert_null(v);
        assert_bad_key(&err);
        assert_int_equal(ds_del(ds, bad[i], &err), -1);
        assert_bad_key(&err);
        assert_int_equal(ds_list(ds, bad[i], &l, &err), -1);
        assert_int_equal(l.count, 0);
        assert_bad_key(&err);
    }
    assert_int_equal(ds_put(ds, NULL, "v", 0, &err), -1);
    assert_bad_key(&err);

    /* nothing was written: an empty prefix lists everything (backend only) */
    struct ds_list all = {0};
    assert_int_equal(ds->ops->list(ds, "", &all, &err), 0);
    assert_int_equal(all.count, 0);
    ds_close(ds);
}

static void test_good_keys_accepted(void **state)
{
    struct fixture *f = *state;
    char max_key[513];
    memset(max_key, 'k', 512);
    max_key[512] = '\0';
    const char *const good[] = {
        "a", "autoscale.group.web", "x-y_z:1/2~!@#$%^&*()[]{}|\\\"'", max_key,
        NULL,
    };
    struct as_error err = {0};
    struct ds *ds = ds_open_embedded(f->db, &err);
    assert_non_null(ds);
    for (int i = 0; good[i]; i++) {
        char *v = NULL;
        assert_int_equal(ds_put(ds, good[i], "v", 0, &err), 0);
        assert_int_equal(ds_get(ds, good[i], &v, &err), 0);
        assert_string_equal(v, "v");
        free(v);
        assert_int_equal(ds_del(ds, good[i], &err), 0);
    }
    ds_close(ds);
}

/* The dispatcher's put turns a NULL value into "" rather than failing. */
static void test_put_null_value(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds *ds = ds_open_embedded(f->db, &err);
    assert_non_null(ds);
    char *v = NULL;
    assert_int_equal(ds_put(ds, "k", NULL, 0, &err), 0);
    assert_int_equal(ds_get(ds, "k", &v, &err), 0);
    assert_string_equal(v, "");
    free(v);
    ds_close(ds);
}

/* ---- lists --------------------------------------------------------------- */

static void test_list_helpers(void **state)
{
    (void)state;
    struct ds_list l = {0};
    char name[16];
    for (int i = 39; i >= 0; i--) { /* past the first growth (16) */
        snprintf(name, sizeof name, "k%02d", i);
        ds_list_add(&l, name, i % 2 ? name : NULL);
    }
    assert_int_equal(l.count, 40);
    assert_true(l.cap >= 40);
    ds_list_sort(&l);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "k%02d", i);
        assert_string_equal(l.items[i].name, name);
        assert_string_equal(l.items[i].value, i % 2 ? name : "");
    }
    ds_list_clear(&l);
    assert_null(l.items);
    assert_int_equal(l.count, 0);
    assert_int_equal(l.cap, 0);
    ds_list_clear(&l); /* twice is harmless */

    ds_list_sort(&l); /* empty */
    ds_list_add(&l, "only", "one");
    ds_list_sort(&l);
    assert_string_equal(l.items[0].name, "only");
    ds_list_clear(&l);
}

/* ds_list appends to what the caller has and sorts the whole list. */
static void test_ds_list_appends_and_sorts(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds *ds = ds_open_embedded(f->db, &err);
    assert_non_null(ds);
    assert_int_equal(ds_put(ds, "p.b", "2", 0, &err), 0);
    assert_int_equal(ds_put(ds, "p.a", "1", 0, &err), 0);
    assert_int_equal(ds_put(ds, "q.a", "x", 0, &err), 0);

    struct ds_list l = {0};
    ds_list_add(&l, "zzz", "last");
    assert_int_equal(ds_list(ds, "p.", &l, &err), 0);
    assert_int_equal(l.count, 3);
    assert_string_equal(l.items[0].name, "p.a");
    assert_string_equal(l.items[0].value, "1");
    assert_string_equal(l.items[1].name, "p.b");
    assert_string_equal(l.items[2].name, "zzz");
    ds_list_clear(&l);
    ds_close(ds);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_select_embedded_explicitly),
        T(test_select_embedded_by_db),
        T(test_select_embedded_default_path),
        T(test_select_nothing_refused),
        T(test_select_bogus),
        T(test_select_st2_without_url),
        T(test_select_st2_by_url),
        T(test_open_by_name),
        T(test_default_path_xdg),
        T(test_default_path_home),
        T(test_bad_keys_rejected),
        T(test_good_keys_accepted),
        T(test_put_null_value),
        T(test_list_helpers),
        T(test_ds_list_appends_and_sorts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
