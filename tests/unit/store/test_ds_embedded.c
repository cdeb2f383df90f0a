/* test_ds_embedded.c - the SQLite-backed datastore (lib/store/ds_embedded.c).
 *
 * Every test gets a fresh directory from mkdtemp(). Operations go through
 * the datastore.h dispatchers (ds_put etc.) except where a test needs keys
 * the dispatcher would reject (the 0xFF prefix edge). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datastore.h"
#include "ds_int.h" /* the backend's own operations and its statements */
#include "signals.h"
#include "test_util.h"

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_ds_embedded"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unsetenv("AUTOSCALE_TEST_NOW");
    as_set_interrupted(false);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static struct ds *open_ok(const char *path)
{
    struct as_error err = {0};
    struct ds *ds = ds_open_embedded(path, &err);
    if (!ds)
        fail_msg("open %s: %s: %s", path, err.code, err.message);
    assert_string_equal(ds->ops->name, "embedded");
    return ds;
}

static void put_ok(struct ds *ds, const char *key, const char *value, long ttl)
{
    struct as_error err = {0};
    if (ds_put(ds, key, value, ttl, &err) != 0)
        fail_msg("put %s: %s: %s", key, err.code, err.message);
}

/* The stored value, asserting the key is present. Caller frees. */
static char *get_ok(struct ds *ds, const char *key)
{
    struct as_error err = {0};
    char *v = NULL;
    int rc = ds_get(ds, key, &v, &err);
    if (rc != 0)
        fail_msg("get %s: rc %d %s: %s", key, rc, err.code, err.message);
    assert_non_null(v);
    return v;
}

static void assert_value(struct ds *ds, const char *key, const char *want)
{
    char *v = get_ok(ds, key);
    assert_string_equal(v, want);
    free(v);
}

static void assert_absent(struct ds *ds, const char *key)
{
    struct as_error err = {0};
    char *v = NULL;
    assert_int_equal(ds_get(ds, key, &v, &err), DS_ABSENT);
    assert_null(v);
}

/* Names listed under prefix, joined with spaces, compared to want. */
static void assert_listing(struct ds *ds, const char *prefix, const char *want)
{
    struct ds_list l = {0};
    struct as_error err = {0};
    char got[1024] = "";
    if (ds_list(ds, prefix, &l, &err) != 0)
        fail_msg("list %s: %s: %s", prefix, err.code, err.message);
    for (size_t i = 0; i < l.count; i++) {
        if (i)
            strcat(got, " ");
        strcat(got, l.items[i].name);
    }
    ds_list_clear(&l);
    assert_string_equal(got, want);
}

/* Direct SQL on the store, for checks the interface cannot express. */
static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    return db;
}

static long long raw_count(const char *path)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM kv", -1, &s,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* ---- basic operations ---------------------------------------------------- */

static void test_put_get_overwrite_delete(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds *ds = open_ok(f->path);

    put_ok(ds, "group.web", "{\"min\":1}", 0);
    assert_value(ds, "group.web", "{\"min\":1}");
    put_ok(ds, "group.web", "{\"min\":2}", 0);
    assert_value(ds, "group.web", "{\"min\":2}");
    assert_int_equal(ds_del(ds, "group.web", &err), 0);
    assert_absent(ds, "group.web");
    ds_close(ds);

    /* and it was all on disk, not just in the connection */
    ds = open_ok(f->path);
    put_ok(ds, "persisted", "yes", 0);
    ds_close(ds);
    ds = open_ok(f->path);
    assert_value(ds, "persisted", "yes");
    assert_absent(ds, "group.web");
    ds_close(ds);
}

static void test_get_absent(void **state)
{
    struct fixture *f = *state;
    struct ds *ds = open_ok(f->path);
    assert_absent(ds, "never.written");
    ds_close(ds);
}

static void test_delete_absent_ok(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds *ds = open_ok(f->path);
    assert_int_equal(ds_del(ds, "never.written", &err), 0);
    put_ok(ds, "k", "v", 0);
    assert_int_equal(ds_del(ds, "k", &err), 0);
    assert_int_equal(ds_del(ds, "k", &err), 0);
    assert_absent(ds, "k");
    ds_close(ds);
}

/* ---- prefix listing ------------------------------------------------------ */

static void test_list_prefix_semantics(void **state)
{
    struct fixture *f = *state;
    static const char *const keys[] = {
        "a.b", "a.bc", "a.b.c", "a.a", "a.c", "A.b", "a_b", "aXb",
        "a%b", "ab", "x~", "x~a", "x}", "y", NULL,
    };
    struct ds *ds = open_ok(f->path);
    for (int i = 0; keys[i]; i++)
        put_ok(ds, keys[i], keys[i], 0);

    /* a.bc does start with a.b; bytewise order puts '.' before 'c' */
    assert_listing(ds, "a.b", "a.b a.b.c a.bc");
    assert_listing(ds, "a.b.c", "a.b.c");
    /* LIKE 'a_%' would match every a?..., LIKE 'a%%' everything */
    assert_listing(ds, "a_", "a_b");
    assert_listing(ds, "a%", "a%b");
    /* case-sensitive, unlike LIKE */
    assert_listing(ds, "A", "A.b");
    assert_listing(ds, "a", "a%b a.a a.b a.b.c a.bc a.c aXb a_b ab");
    assert_listing(ds, "aX", "aXb");
    /* last byte '~' (0x7e): the bound is 0x7f, so x} and y stay out */
    assert_listing(ds, "x~", "x~ x~a");
    assert_listing(ds, "zzz", "");
    ds_close(ds);
}

/* Keys the dispatcher rejects, straight through ops: a prefix ending in 0xFF
 * cannot be incremented, and an all-0xFF (or empty) one has no bound. */
static void test_list_prefix_0xff_edge(void **state)
{
    struct fixture *f = *state;
    static const char *const keys[] = {
        "q", "q\xff", "q\xff\xff", "q\xff" "z", "r", "\xff", "\xff" "k", NULL,
    };
    struct as_error err = {0};
    struct ds *ds = open_ok(f->path);
    for (int i = 0; keys[i]; i++)
        assert_int_equal(ds->ops->put(ds, keys[i], "v", 0, &err), 0);

    struct ds_list l = {0};
    assert_int_equal(ds->ops->list(ds, "q\xff", &l, &err), 0);
    assert_int_equal(l.count, 3);
    assert_string_equal(l.items[0].name, "q\xff");
    assert_string_equal(l.items[1].name, "q\xff" "z");
    assert_string_equal(l.items[2].name, "q\xff\xff");
    ds_list_clear(&l);

    assert_int_equal(ds->ops->list(ds, "\xff", &l, &err), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0].name, "\xff");
    assert_string_equal(l.items[1].name, "\xff" "k");
    ds_list_clear(&l);

    assert_int_equal(ds->ops->list(ds, "", &l, &err), 0);
    assert_int_equal(l.count, 7);
    ds_list_clear(&l);
    ds_close(ds);
}

static void test_list_appends_sorted_with_values(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds *ds = open_ok(f->path);
    put_ok(ds, "n.3", "three", 0);
    put_ok(ds, "n.1", "one", 0);
    put_ok(ds, "n.2", "", 0);

    struct ds_list l = {0};
    ds_list_add(&l, "earlier", "kept");
    assert_int_equal(ds->ops->list(ds, "n.", &l, &err), 0);
    assert_int_equal(l.count, 4);
    assert_string_equal(l.items[0].name, "earlier");
    assert_string_equal(l.items[0].value, "kept");
    assert_string_equal(l.items[1].name, "n.1");
    assert_string_equal(l.items[1].value, "one");
    assert_string_equal(l.items[2].name, "n.2");
    assert_string_equal(l.items[2].value, "");
    assert_string_equal(l.items[3].name, "n.3");
    assert_string_equal(l.items[3].value, "three");
    ds_list_clear(&l);
    ds_close(ds);
}

/* The listing must be a range search on the primary key (no table scan, no
 * sort), and the expiry sweep must use the partial index. */
static void assert_plan(const char *path, const char *sql, const char *want)
{
    sqlite3 *db = raw_open(path);
    char q[512], plan[1024] = "";
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        strncat(plan, (const char *)sqlite3_column_text(s, 3),
                sizeof plan - strlen(plan) - 2);
        strcat(plan, ";");
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (strncmp(plan, "SEARCH kv USING ", 16) != 0 || !strstr(plan, want) ||
        strstr(plan, "SCAN") || strstr(plan, "TEMP B-TREE"))
        fail_msg("plan for [%s] is [%s], wanted [%s]", sql, plan, want);
}

static void test_query_plans(void **state)
{
    struct fixture *f = *state;
    ds_close(open_ok(f->path));
    assert_plan(f->path, ds_embedded_sql_list, "SEARCH kv USING PRIMARY KEY (name>?)");
    assert_plan(f->path, ds_embedded_sql_expired, "INDEX kv_expires (expires_at<?)");
    assert_plan(f->path, ds_embedded_sql_purge,
                "INDEX kv_expires (expires_at<?)"); /* maybe COVERING */
}

/* ---- TTL ----------------------------------------------------------------- */

static struct ds *open_at(const char *path, const char *now)
{
    setenv("AUTOSCALE_TEST_NOW", now, 1);
    return open_ok(path);
}

static void test_ttl_expiry(void **state)
{
    struct fixture *f = *state;
    struct ds *ds = open_at(f->path, "1000000");
    put_ok(ds, "t.short", "gone soon", 10);
    put_ok(ds, "t.keep", "forever", 0);
    put_ok(ds, "t.renewed", "first with ttl", 10);
    put_ok(ds, "t.renewed", "then without", 0); /* overwrite clears expiry */
    ds_close(ds);

    ds = open_at(f->path, "1000009");
    assert_value(ds, "t.short", "gone soon");
    assert_listing(ds, "t.", "t.keep t.renewed t.short");
    ds_close(ds);

    ds = open_at(f->path, "1000011");
    assert_absent(ds, "t.short");
    assert_value(ds, "t.keep", "forever");
    assert_value(ds, "t.renewed", "then without");
    assert_listing(ds, "t.", "t.keep t.renewed");
    assert_int_equal(raw_count(f->path), 3); /* reads leave it in place */
    put_ok(ds, "t.other", "x", 0); /* a write sweeps it out: 3 - 1 + 1 */
    assert_int_equal(raw_count(f->path), 3);
    ds_close(ds);
}

static void test_ttl_boundary_and_overflow(void **state)
{
    struct fixture *f = *state;
    struct ds *ds = open_at(f->path, "500");
    put_ok(ds, "b.k", "v", 10);
    put_ok(ds, "b.huge", "v", LONG_MAX); /* clamped, not wrapped to the past */
    ds_close(ds);
    ds = open_at(f->path, "510"); /* expires_at == now: expired */
    assert_absent(ds, "b.k");
    assert_value(ds, "b.huge", "v");
    ds_close(ds);
}

/* ---- values -------------------------------------------------------------- */

static void test_empty_value(void **state)
{
    struct fixture *f = *state;
    struct ds *ds = open_ok(f->path);
    put_ok(ds, "empty", "", 0);
    assert_value(ds, "empty", "");
    ds_close(ds);
}

static void test_large_value(void **state)
{
    struct fixture *f = *state;
    size_t n = 1u << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('!' + (i * 7919) % 94);
    big[n] = '\0';

    struct ds *ds = open_ok(f->path);
    put_ok(ds, "big", big, 0);
    ds_close(ds);
    ds = open_ok(f->path);
    char *v = get_ok(ds, "big");
    assert_int_equal(strlen(v), n);
    assert_memory_equal(v, big, n);
    free(v);
    ds_close(ds);
    free(big);
}

static void test_unicode_value(void **state)
{
    struct fixture *f = *state;
    const char *u = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x80\x94 "
                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x9a\x80 "
                    "\"quoted\"\n\ttab '%_";
    struct ds *ds = open_ok(f->path);
    put_ok(ds, "u", u, 0);
    assert_value(ds, "u", u);
    ds_close(ds);
}

/* ---- files and errors ---------------------------------------------------- */

static void assert_mode(const char *path, mode_t want)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    assert_int_equal(st.st_mode & 07777, want);
}

static void test_creates_private_dirs_and_file(void **state)
{
    struct fixture *f = *state;
    char sub[128], deeper[128], db[128], wal[128];
    snprintf(sub, sizeof sub, "%s/state", f->dir);
    snprintf(deeper, sizeof deeper, "%s/state/autoscale", f->dir);
    snprintf(db, sizeof db, "%s/state/autoscale/autoscale.db", f->dir);
    snprintf(wal, sizeof wal, "%s/state/autoscale/autoscale.db-wal", f->dir);

    struct ds *ds = open_ok(db);
    assert_mode(sub, 0700);
    assert_mode(deeper, 0700);
    assert_mode(db, 0600);
    put_ok(ds, "k", "v", 0);
    assert_mode(wal, 0600); /* exists while the connection is open */
    ds_close(ds);
}

static void test_unwritable_path(void **state)
{
    struct fixture *f = *state;
    char blocker[128], path[128];
    struct as_error err = {0};
    /* A regular file where a directory should be: fails even for root. */
    snprintf(blocker, sizeof blocker, "%s/blocker", f->dir);
    FILE *fp = fopen(blocker, "w");
    assert_non_null(fp);
    fclose(fp);

    snprintf(path, sizeof path, "%s/blocker/sub/store.db", f->dir);
    assert_null(ds_open_embedded(path, &err));
    assert_string_equal(err.code, "datastore_unavailable");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, path));

    snprintf(path, sizeof path, "%s/blocker/store.db", f->dir);
    as_error_clear(&err);
    assert_null(ds_open_embedded(path, &err));
    assert_string_equal(err.code, "datastore_unavailable");

    as_error_clear(&err);
    assert_null(ds_open_embedded(f->dir, &err)); /* a directory */
    assert_string_equal(err.code, "datastore_unavailable");
}

static void test_garbage_file_is_corrupt(void **state)
{
    struct fixture *f = *state;
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)("not a database "[i % 15]);
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(junk, 1, sizeof junk, fp), sizeof junk);
    fclose(fp);

    struct as_error err = {0};
    assert_null(ds_open_embedded(f->path, &err));
    assert_string_equal(err.code, "datastore_corrupt");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, f->path));

    /* and open left the file as it was */
    char back[sizeof junk + 1];
    fp = fopen(f->path, "r");
    assert_non_null(fp);
    assert_int_equal(fread(back, 1, sizeof back, fp), sizeof junk);
    fclose(fp);
    assert_memory_equal(back, junk, sizeof junk);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    ds_close(open_ok(f->path));
    sqlite3 *db = raw_open(f->path);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);

    struct as_error err = {0};
    assert_null(ds_open_embedded(f->path, &err));
    assert_string_equal(err.code, "datastore_error");
    assert_non_null(strstr(err.message, "schema version 2"));
}

static void test_schema_and_wal(void **state)
{
    struct fixture *f = *state;
    ds_close(open_ok(f->path));
    sqlite3 *db = raw_open(f->path);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* ---- concurrency and interruption ---------------------------------------- */

#define WRITERS 8
#define KEYS_EACH 200

static void key_value(int w, int i, char *key, size_t kn, char *val, size_t vn)
{
    snprintf(key, kn, "w%d.k%03d", w, i);
    snprintf(val, vn, "writer %d value %d payload-%0*d", w, i, 40, i * w);
}

/* A child's whole life; its exit status says how it went. No cmocka in
 * here: an assertion would longjmp into the parent's copy of the runner. */
static int writer(const char *path, int w)
{
    struct as_error err = {0};
    char key[32], val[96];
    struct ds *ds = ds_open_embedded(path, &err);
    if (!ds)
        goto fail;
    for (int i = 0; i < KEYS_EACH; i++) {
        key_value(w, i, key, sizeof key, val, sizeof val);
        char *v = NULL;
        if (ds_put(ds, key, val, 0, &err) != 0 ||
            ds_get(ds, key, &v, &err) != 0 || strcmp(v, val) != 0) {
            free(v);
            goto fail;
        }
        free(v);
    }
    for (int i = 0; i < KEYS_EACH; i++) { /* read back while others write */
        key_value(w, i, key, sizeof key, val, sizeof val);
        char *v = NULL;
        int ok = ds_get(ds, key, &v, &err) == 0 && strcmp(v, val) == 0;
        free(v);
        if (!ok)
            goto fail;
    }
    ds_close(ds);
    return 0;
fail:
    fprintf(stderr, "writer %d: %s: %s\n", w, err.code, err.message);
    return 1;
}

/* Each child opens the not-yet-existing file itself: creation races too. */
static void test_concurrent_processes(void **state)
{
    struct fixture *f = *state;
    pid_t pids[WRITERS];
    fflush(NULL);
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0)
            _exit(writer(f->path, w));
    }
    /* Reap every child before asserting: a failed assertion's teardown
     * would delete the files under the ones still running. */
    int status[WRITERS];
    for (int w = 0; w < WRITERS; w++)
        assert_int_equal(waitpid(pids[w], &status[w], 0), pids[w]);
    for (int w = 0; w < WRITERS; w++) {
        assert_true(WIFEXITED(status[w]));
        assert_int_equal(WEXITSTATUS(status[w]), 0);
    }

    struct ds *ds = open_ok(f->path);
    struct ds_list l = {0};
    struct as_error err = {0};
    assert_int_equal(ds_list(ds, "w", &l, &err), 0);
    assert_int_equal(l.count, WRITERS * KEYS_EACH);
    size_t at = 0; /* sorted: w0.k000 .. w0.k199, w1.k000 .. */
    for (int w = 0; w < WRITERS; w++)
        for (int i = 0; i < KEYS_EACH; i++, at++) {
            char key[32], val[96];
            key_value(w, i, key, sizeof key, val, sizeof val);
            assert_string_equal(l.items[at].name, key);
            assert_string_equal(l.items[at].value, val);
        }
    ds_list_clear(&l);
    ds_close(ds);
}

static void test_interrupted_while_locked(void **state)
{
    struct fixture *f = *state;
    struct ds *ds = open_ok(f->path);
    put_ok(ds, "k", "before", 0);

    sqlite3 *other = raw_open(f->path);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);

    struct as_error err = {0};
    as_set_interrupted(true);
    assert_int_equal(ds_put(ds, "k", "during", 0, &err), -1);
    assert_string_equal(err.code, "interrupted");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    as_error_clear(&err);
    assert_int_equal(ds_del(ds, "k", &err), -1);
    assert_string_equal(err.code, "interrupted");
    as_set_interrupted(false);

    /* WAL: reading is not blocked by the writer */
    assert_value(ds, "k", "before");
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(other);

    put_ok(ds, "k", "after", 0); /* the connection is still usable */
    assert_value(ds, "k", "after");
    ds_close(ds);
}

/* A statement that runs long (here: a listing of many rows) is cut short by
 * the progress handler, not only lock waits by the busy handler. */
static void test_interrupted_long_statement(void **state)
{
    struct fixture *f = *state;
    struct ds *ds = open_ok(f->path);
    char key[32];
    sqlite3 *db = raw_open(f->path); /* one statement, not 5000 puts */
    assert_int_equal(sqlite3_exec(db,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
        " WHERE i < 5000) INSERT INTO kv SELECT 'many.' || i, 'v', NULL FROM n",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    struct ds_list l = {0};
    struct as_error err = {0};
    as_set_interrupted(true);
    assert_int_equal(ds_list(ds, "many.", &l, &err), -1);
    assert_string_equal(err.code, "interrupted");
    ds_list_clear(&l);
    as_set_interrupted(false);

    assert_int_equal(ds_list(ds, "many.", &l, &err), 0);
    assert_int_equal(l.count, 5000);
    ds_list_clear(&l);
    snprintf(key, sizeof key, "many.%d", 4321);
    assert_value(ds, key, "v");
    ds_close(ds);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_put_get_overwrite_delete),
        T(test_get_absent),
        T(test_delete_absent_ok),
        T(test_list_prefix_semantics),
        T(test_list_prefix_0xff_edge),
        T(test_list_appends_sorted_with_values),
        T(test_query_plans),
        T(test_ttl_expiry),
        T(test_ttl_boundary_and_overflow),
        T(test_empty_value),
        T(test_large_value),
        T(test_unicode_value),
        T(test_creates_private_dirs_and_file),
        T(test_unwritable_path),
        T(test_garbage_file_is_corrupt),
        T(test_newer_schema_refused),
        T(test_schema_and_wal),
        T(test_concurrent_processes),
        T(test_interrupted_while_locked),
        T(test_interrupted_long_statement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
