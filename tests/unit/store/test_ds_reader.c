/* test_ds_reader.c - the embedded store's readers (lib/store/ds_embedded.c,
 * ds_config.read_only): a read-only connection that finds the WAL files the
 * writers keep and neither creates nor deletes them, one snapshot per
 * reader, the read-write open where read-only cannot work (no file, a fresh
 * one, WAL files an older build deleted), and many readers beside writers.
 *
 * Every test gets a fresh directory from mkdtemp(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datastore.h"
#include "test_util.h"

struct fixture {
    char dir[64];
    char path[128], wal[140], shm[140];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_ds_reader"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    snprintf(f->wal, sizeof f->wal, "%s-wal", f->path);
    snprintf(f->shm, sizeof f->shm, "%s-shm", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    chmod(f->dir, 0700);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static struct ds *open_writer(const char *path)
{
    struct as_error err = {0};
    struct ds *ds = ds_open_embedded(path, &err);
    if (!ds)
        fail_msg("open %s: %s: %s", path, err.code, err.message);
    return ds;
}

/* The backend itself, opened for reading, without the ds_read_only view:
 * what it does on its own. NULL with *err on failure. */
static struct ds *open_reader_raw(const char *path, struct as_error *err)
{
    return ds_open("embedded", &(struct ds_config){.path = path, .read_only = true}, err);
}

static struct ds *open_reader(const char *path)
{
    struct as_error err = {0};
    struct ds *ds = open_reader_raw(path, &err);
    if (!ds)
        fail_msg("open %s read-only: %s: %s", path, err.code, err.message);
    return ds;
}

static void put_ok(struct ds *ds, const char *key, const char *value)
{
    struct as_error err = {0};
    if (ds_put(ds, key, value, 0, &err) != 0)
        fail_msg("put %s: %s: %s", key, err.code, err.message);
}

static void assert_value(struct ds *ds, const char *key, const char *want)
{
    struct as_error err = {0};
    char *v = NULL;
    int rc = ds_get(ds, key, &v, &err);
    if (rc != 0)
        fail_msg("get %s: rc %d %s: %s", key, rc, err.code, err.message);
    assert_string_equal(v, want);
    free(v);
}

static struct stat stat_ok(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return st;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A second name for path, so that a delete and a re-create of path shows:
 * the two names then stop being one file. */
static void hold(const char *path, const char *dir, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", dir, name);
    if (link(path, out) != 0)
        fail_msg("link %s: %s", path, strerror(errno));
}

static void assert_same_file(const char *path, const char *held)
{
    struct stat a = stat_ok(path), b = stat_ok(held);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(b.st_nlink, 2);
}

/* ---- the files ----------------------------------------------------------- */

/* A writer leaves both WAL files, the WAL empty (so the next process's open
 * has nothing to read back); a reader then uses them as they are, and
 * cannot write through its connection. */
static void test_reader_keeps_wal_files(void **state)
{
    struct fixture *f = *state;
    struct ds *w = open_writer(f->path);
    put_ok(w, "k", "v1");
    ds_close(w);
    assert_true(exists(f->wal));
    assert_true(exists(f->shm));
    assert_int_equal(stat_ok(f->wal).st_size, 0);
    assert_int_equal(stat_ok(f->wal).st_mode & 07777, 0600);

    char wal[160], shm[160];
    hold(f->wal, f->dir, "held-wal", wal, sizeof wal);
    hold(f->shm, f->dir, "held-shm", shm, sizeof shm);
    for (int run = 0; run < 3; run++) {
        struct ds *r = open_reader(f->path);
        assert_value(r, "k", "v1");
        struct as_error err = {0};
        assert_int_equal(ds_put(r, "k", "v2", 0, &err), -1);
        ds_close(r);
        assert_same_file(f->wal, wal);
        assert_same_file(f->shm, shm);
    }
    /* The refused write changed nothing. */
    struct ds *r = open_reader(f->path);
    assert_value(r, "k", "v1");
    ds_close(r);
}

/* Writers in turn: each last close checkpoints and empties the WAL, which
 * therefore never grows across runs. */
static void test_wal_empty_after_each_writer(void **state)
{
    struct fixture *f = *state;
    char val[5000];
    memset(val, 'x', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    for (int i = 0; i < 50; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%02d", i % 7);
        struct ds *w = open_writer(f->path);
        put_ok(w, key, val);
        ds_close(w);
        assert_int_equal(stat_ok(f->wal).st_size, 0);
    }
}

/* As an older build's writer left the store after a clean close: no WAL
 * files. The reader makes them, reads, and they stay. */
static void test_reader_after_wal_files_removed(void **state)
{
    struct fixture *f = *state;
    struct ds *w = open_writer(f->path);
    put_ok(w, "k", "v");
    ds_close(w);
    assert_int_equal(unlink(f->wal), 0);
    assert_int_equal(unlink(f->shm), 0);

    struct ds *r = open_reader(f->path);
    assert_value(r, "k", "v");
    ds_close(r);
    assert_true(exists(f->wal));
    assert_true(exists(f->shm));
    assert_int_equal(stat_ok(f->wal).st_mode & 07777, 0600);
}

/* Writes while a read-only connection stays open, which then closes last:
 * nobody could checkpoint, and the WAL is left with 2 MiB in it. The next
 * reader opens read-write, still reads one instant, and, alone at its
 * close, empties the WAL. */
static void test_reader_empties_large_wal(void **state)
{
    struct fixture *f = *state;
    struct ds *w = open_writer(f->path);
    put_ok(w, "k", "v");
    ds_close(w);
    sqlite3 *ro = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &ro, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(ro, "SELECT count(*) FROM kv", NULL, NULL, NULL), SQLITE_OK);
    static char val[8192];
    memset(val, 'v', sizeof val - 1);
    w = open_writer(f->path);
    for (int i = 0; i < 256; i++) {
        char key[32];
        snprintf(key, sizeof key, "big%03d", i);
        val[0] = (char)('a' + i % 26); /* a new value, a new page */
        put_ok(w, key, val);
    }
    ds_close(w);
    sqlite3_close(ro);
    assert_true(stat_ok(f->wal).st_size > 2 * 1024 * 1024);

    struct ds *r = open_reader(f->path);
    assert_value(r, "k", "v");
    w = open_writer(f->path);
    put_ok(w, "k", "v2");
    ds_close(w);
    assert_value(r, "k", "v");
    ds_close(r);
    assert_int_equal(stat_ok(f->wal).st_size, 0);
}

/* No store yet, or an empty file a writer has only just created: the
 * reader opens as a writer would (as asg_get always did), and reads. */
static void test_reader_without_store(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char *v = NULL;
    struct ds *r = open_reader(f->path);
    assert_int_equal(ds_get(r, "k", &v, &err), DS_ABSENT);
    ds_close(r);
    assert_int_equal(stat_ok(f->path).st_mode & 07777, 0600);

    test_rmtree(f->dir);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    r = open_reader(f->path);
    assert_int_equal(ds_get(r, "k", &v, &err), DS_ABSENT);
    ds_close(r);
    /* and the schema is there for the next reader */
    r = open_reader(f->path);
    assert_int_equal(ds_get(r, "k", &v, &err), DS_ABSENT);
    ds_close(r);
}

/* A newer schema is refused by a reader as by a writer. */
static void test_reader_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    ds_close(open_writer(f->path));
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    struct as_error err = {0};
    assert_null(open_reader_raw(f->path, &err));
    assert_string_equal(err.code, "datastore_error");
    assert_non_null(strstr(err.message, "schema version 2"));
}

/* Another user's store, readable but not writable by us, WAL files kept
 * (an operator reading the pack's store): the reader reads it. As root the
 * child becomes nobody; otherwise the modes bind us. */
static int read_as_other(const char *path)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        return 77;
    struct as_error err = {0};
    struct ds *r = open_reader_raw(path, &err);
    char *v = NULL;
    int rc = r ? ds_get(r, "k", &v, &err) : -1;
    if (rc != 0 || strcmp(v, "v") != 0) {
        fprintf(stderr, "read_as_other: rc %d %s: %s\n", rc, err.code, err.message);
        rc = 1;
    }
    free(v);
    ds_close(r);
    return rc;
}

static void test_reader_of_unwritable_store(void **state)
{
    struct fixture *f = *state;
    struct ds *w = open_writer(f->path);
    put_ok(w, "k", "v");
    ds_close(w);
    mode_t fmode = geteuid() == 0 ? 0644 : 0444;
    assert_int_equal(chmod(f->path, fmode), 0);
    assert_int_equal(chmod(f->wal, fmode), 0);
    assert_int_equal(chmod(f->shm, fmode), 0);
    assert_int_equal(chmod(f->dir, geteuid() == 0 ? 0755 : 0555), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(read_as_other(f->path));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- one snapshot per reader --------------------------------------------- */

/* A write after the reader's first read is not seen by it; the next
 * reader sees it. */
static void test_reader_sees_one_instant(void **state)
{
    struct fixture *f = *state;
    struct ds *w = open_writer(f->path);
    put_ok(w, "a", "1");
    put_ok(w, "b", "1");
    struct ds *r = open_reader(f->path);
    assert_value(r, "a", "1");
    put_ok(w, "a", "2");
    put_ok(w, "b", "2");
    put_ok(w, "c", "2");
    assert_value(r, "b", "1");
    struct as_error err = {0};
    char *v = NULL;
    assert_int_equal(ds_get(r, "c", &v, &err), DS_ABSENT);
    ds_close(r);
    ds_close(w);
    r = open_reader(f->path);
    assert_value(r, "b", "2");
    assert_value(r, "c", "2");
    ds_close(r);
}

/* ---- readers beside writers ---------------------------------------------- */

#define WRITERS 3
#define READERS 4
#define GENERATIONS 120
#define VALUE_LEN 9000 /* several pages: a torn write would show */

/* Writer w's value for key half ('a' or 'b') at generation g:
 * "w=<w>;k=<half>;g=<g>;" then one letter repeated up to VALUE_LEN, then
 * ";end". */
static void make_value(char *buf, int w, char half, int g)
{
    int n = snprintf(buf, VALUE_LEN + 1, "w=%d;k=%c;g=%d;", w, half, g);
    memset(buf + n, 'a' + (g + half) % 26, (size_t)(VALUE_LEN - n - 4));
    memcpy(buf + VALUE_LEN - 4, ";end", 5);
}

/* The generation of a value of writer w's key half, or -1 if the value is
 * not one make_value() would make. */
static int check_value(const char *v, int w, char half)
{
    int vw, g, n = 0;
    char vh;
    if (strlen(v) != VALUE_LEN || sscanf(v, "w=%d;k=%c;g=%d;%n", &vw, &vh, &g, &n) != 3 ||
        n == 0 || vw != w || vh != half)
        return -1;
    char want[VALUE_LEN + 1];
    make_value(want, w, half, g);
    return strcmp(v, want) == 0 ? g : -1;
}

static void pair_keys(int w, char *a, char *b, size_t n)
{
    snprintf(a, n, "pair%d.a", w);
    snprintf(b, n, "pair%d.b", w);
}

/* Writes a then b at each generation, each its own process-like open. */
static int writer(const char *path, int w)
{
    static char val[VALUE_LEN + 1];
    char a[32], b[32];
    pair_keys(w, a, b, sizeof a);
    struct as_error err = {0};
    for (int g = 0; g < GENERATIONS; g++) {
        struct ds *ds = ds_open_embedded(path, &err);
        if (!ds)
            goto fail;
        make_value(val, w, 'a', g);
        int rc = ds_put(ds, a, val, 0, &err);
        make_value(val, w, 'b', g);
        if (rc == 0)
            rc = ds_put(ds, b, val, 0, &err);
        ds_close(ds);
        if (rc != 0)
            goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "writer %d: %s: %s\n", w, err.code, err.message);
    return 1;
}

/* An older build's writer: a plain connection whose last close checkpoints
 * and deletes the WAL files under the readers. */
static int old_writer(const char *path)
{
    for (int i = 0; i < GENERATIONS; i++) {
        sqlite3 *db = NULL;
        int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_busy_timeout(db, 10000);
            rc = sqlite3_exec(db, "INSERT INTO kv(name, value) VALUES ('old', 'x')"
                                  " ON CONFLICT(name) DO UPDATE SET value = value || 'x'",
                              NULL, NULL, NULL);
        }
        sqlite3_close(db);
        if (rc != SQLITE_OK && rc != SQLITE_CANTOPEN && (rc & 0xff) != SQLITE_ERROR) {
            fprintf(stderr, "old writer: %s\n", sqlite3_errstr(rc));
            return 1;
        }
        if (rc != SQLITE_OK) /* no store or no table yet */
            test_sleep_ms(2);
    }
    return 0;
}

/* One reader's round: what an action does, open, read, close. Each pair
 * must be whole values, a's generation b's or one ahead (a is written
 * first), and never older than this reader saw before. */
static int read_round(const char *path, int last[WRITERS], struct as_error *err)
{
    struct ds *ds = open_reader_raw(path, err);
    if (!ds)
        return -1;
    struct ds *r = ds_read_only(ds);
    int rc = 0;
    for (int w = 0; w < WRITERS && rc == 0; w++) {
        char a[32], b[32], *va = NULL, *vb = NULL;
        pair_keys(w, a, b, sizeof a);
        int ra = ds_get(r, a, &va, err), rb = ra < 0 ? -1 : ds_get(r, b, &vb, err);
        if (ra < 0 || rb < 0) {
            rc = -1;
        } else {
            int ga = ra == DS_ABSENT ? -1 : check_value(va, w, 'a');
            int gb = rb == DS_ABSENT ? -1 : check_value(vb, w, 'b');
            bool torn = (ra == 0 && ga < 0) || (rb == 0 && gb < 0);
            if (torn || ga - gb < 0 || ga - gb > 1 || ga < last[w]) {
                as_fail(err, AS_EXIT_FAILURE, "torn",
                        "writer %d: a generation %d, b %d, seen before %d%s", w, ga, gb,
                        last[w], torn ? " (a value is not whole)" : "");
                rc = -1;
            }
            last[w] = ga;
        }
        free(va);
        free(vb);
    }
    struct ds_list l = {0};
    if (rc == 0 && ds_list(r, "pair", &l, err) == 0) {
        for (size_t i = 0; i < l.count && rc == 0; i++) {
            int w = l.items[i].name[4] - '0';
            if (check_value(l.items[i].value, w, l.items[i].name[6]) < 0)
                rc = as_fail(err, AS_EXIT_FAILURE, "torn", "listed %s is not whole",
                             l.items[i].name);
        }
    } else if (rc == 0) {
        rc = -1;
    }
    ds_list_clear(&l);
    ds_close(r);
    return rc;
}

static int reader(const char *path, int id, const char *done)
{
    int last[WRITERS];
    for (int w = 0; w < WRITERS; w++)
        last[w] = -1;
    struct as_error err = {0};
    int rounds = 0;
    /* Until the writers are done, and at least a few rounds after. */
    for (int after = 0; after < 3; rounds++) {
        if (exists(done))
            after++;
        if (read_round(path, last, &err) < 0) {
            fprintf(stderr, "reader %d, round %d: %s: %s\n", id, rounds, err.code,
                    err.message);
            return 1;
        }
    }
    for (int w = 0; w < WRITERS; w++)
        if (last[w] != GENERATIONS - 1) {
            fprintf(stderr, "reader %d: writer %d ended at generation %d\n", id, w, last[w]);
            return 1;
        }
    return 0;
}

/* All start at once on a file that does not exist yet: readers meet no
 * store, a fresh one, writers mid-write and an older build deleting the
 * WAL files under them. No reader may fail or see a value half written or
 * a pair from two moments. */
static void test_readers_beside_writers(void **state)
{
    struct fixture *f = *state;
    char done[160];
    snprintf(done, sizeof done, "%s/writers-done", f->dir);
    pid_t wp[WRITERS + 1], rp[READERS];
    fflush(NULL);
    for (int i = 0; i < READERS; i++) {
        rp[i] = fork();
        assert_true(rp[i] >= 0);
        if (rp[i] == 0)
            _exit(reader(f->path, i, done));
    }
    for (int w = 0; w <= WRITERS; w++) {
        wp[w] = fork();
        assert_true(wp[w] >= 0);
        if (wp[w] == 0)
            _exit(w < WRITERS ? writer(f->path, w) : old_writer(f->path));
    }
    /* Reap every child before asserting: a failed assertion's teardown
     * would delete the files under the ones still running. */
    int wstatus[WRITERS + 1], rstatus[READERS];
    for (int w = 0; w <= WRITERS; w++)
        assert_int_equal(waitpid(wp[w], &wstatus[w], 0), wp[w]);
    int fd = open(done, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    for (int i = 0; i < READERS; i++)
        assert_int_equal(waitpid(rp[i], &rstatus[i], 0), rp[i]);
    for (int w = 0; w <= WRITERS; w++) {
        assert_true(WIFEXITED(wstatus[w]));
        assert_int_equal(WEXITSTATUS(wstatus[w]), 0);
    }
    for (int i = 0; i < READERS; i++) {
        assert_true(WIFEXITED(rstatus[i]));
        assert_int_equal(WEXITSTATUS(rstatus[i]), 0);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reader_keeps_wal_files),
        T(test_wal_empty_after_each_writer),
        T(test_reader_after_wal_files_removed),
        T(test_reader_empties_large_wal),
        T(test_reader_without_store),
        T(test_reader_newer_schema_refused),
        T(test_reader_of_unwritable_store),
        T(test_reader_sees_one_instant),
        T(test_readers_beside_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
