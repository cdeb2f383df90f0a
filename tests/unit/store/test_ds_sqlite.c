/* test_ds_sqlite.c - SQLite as lib/store/ds_sqlite.c leaves it. Built as
 * the actions are (the Makefile defines AS_SQLITE_STATIC for both), this
 * program shows which link it got: statically linked, the five extensions
 * the store never uses are gone although the library was compiled with
 * them; linked with the shared library (STATIC_DEPS=no), every extension
 * the library was compiled with is there. Either way the store works and
 * SQLite's JSON functions remain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore.h"
#include "test_util.h"

#ifdef AS_SQLITE_STATIC
static const bool stubbed = true;
#else
static const bool stubbed = false;
#endif

struct module {
    const char *option; /* sqlite3_compileoption_used() name */
    const char *sql;    /* needs the module */
    const char *missing; /* SQLite's message without it */
};

static const struct module modules[] = {
    {"ENABLE_FTS3", "CREATE VIRTUAL TABLE t3 USING fts3(x)", "no such module: fts3"},
    {"ENABLE_FTS4", "CREATE VIRTUAL TABLE t4 USING fts4(x)", "no such module: fts4"},
    {"ENABLE_FTS5", "CREATE VIRTUAL TABLE t5 USING fts5(x)", "no such module: fts5"},
    {"ENABLE_RTREE", "CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)",
     "no such module: rtree"},
    {"ENABLE_DBSTAT_VTAB", "SELECT count(*) FROM dbstat", "no such table: dbstat"},
    {"ENABLE_STMTVTAB", "SELECT count(*) FROM sqlite_stmt", "no such table: sqlite_stmt"},
};

/* A store opened first, as an action opens it: the process is then set up
 * exactly as the actions' are (ds_sqlite_init() has run). */
static sqlite3 *open_after_store(char *dir, size_t n)
{
    char path[128];
    struct as_error err = {0};
    assert_int_equal(test_tmpdir(dir, n, "test_ds_sqlite"), 0);
    snprintf(path, sizeof path, "%s/store.db", dir);
    struct ds *ds = ds_open_embedded(path, &err);
    if (!ds)
        fail_msg("open %s: %s: %s", path, err.code, err.message);
    assert_int_equal(ds_put(ds, "k", "{\"a\":[1,2]}", 0, &err), 0);
    ds_close(ds);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

static void test_extensions(void **state)
{
    (void)state;
    char dir[64];
    sqlite3 *db = open_after_store(dir, sizeof dir);
    int checked = 0;
    for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
        const struct module *m = &modules[i];
        if (!sqlite3_compileoption_used(m->option))
            continue; /* this library never had it: nothing to show */
        char *msg = NULL;
        int rc = sqlite3_exec(db, m->sql, NULL, NULL, &msg);
        if (stubbed) {
            if (rc != SQLITE_ERROR || !msg || strcmp(msg, m->missing) != 0)
                fail_msg("%s: rc %d, '%s', want '%s'", m->sql, rc, msg ? msg : "",
                         m->missing);
        } else if (rc != SQLITE_OK) {
            fail_msg("%s: rc %d, '%s' with the shared library", m->sql, rc, msg ? msg : "");
        }
        sqlite3_free(msg);
        checked++;
    }
    sqlite3_close(db);
    test_rmtree(dir);
    if (!checked)
        skip(); /* a SQLite built with none of them proves nothing either way */
}

/* The JSON functions are SQLite's own, not an extension: kept. */
static void test_json_functions_kept(void **state)
{
    (void)state;
    char dir[64];
    sqlite3 *db = open_after_store(dir, sizeof dir);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT json_extract(value, '$.a[1]'),"
                                        " (SELECT count(*) FROM json_each(kv.value, '$.a'))"
                                        " FROM kv WHERE name = 'k'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 2);
    assert_int_equal(sqlite3_column_int(s, 1), 2);
    sqlite3_finalize(s);
    sqlite3_close(db);
    test_rmtree(dir);
}

int main(void)
{
    fprintf(stderr, "SQLite %s, %s\n", sqlite3_libversion(),
            stubbed ? "linked statically, unused extensions left out" : "shared library");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_json_functions_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
