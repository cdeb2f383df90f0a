/* ds_embedded.c - the "embedded" datastore backend: one SQLite file.
 *
 * It mirrors st2's key-value store (string values, TTL, delete-absent-is-ok,
 * list by prefix) for runs without StackStorm. Several action processes may
 * use the file at once, so:
 *
 *  - the file is in WAL mode: readers never wait for the writer;
 *  - every write is BEGIN IMMEDIATE, taking the write lock up front, so two
 *    writers can never deadlock upgrading a read lock, and create
 *    (put-if-absent, what lib/store/claim.c takes leases with) reads and writes
 *    under that one lock;
 *  - lock waits go through our own busy handler, which backs off for up to
 *    ~10 s but gives up at once when a signal asked us to stop (st2's
 *    timeout), and a progress handler aborts long statements likewise.
 *
 * An action opens the store once and does a handful of operations, so open
 * does the least it can: no VACUUM, no integrity check, the schema only on a
 * fresh file, statements prepared on first use and then cached. */
#include "ds_int.h"
#include "log.h"
#include "signals.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 1     /* PRAGMA user_version; 0 means a fresh file */
#define BUSY_LIMIT_MS 10000  /* total lock wait before reporting an error */
#define PURGE_EVERY 64       /* writes between sweeps of expired rows */
#define PROGRESS_OPS 1000    /* VM steps between interrupt checks */

/* Prefix listing is a range scan on the primary key, not LIKE: LIKE folds
 * ASCII case and treats _ and % as wildcards, and our keys contain _. The
 * two listing statements and the sweep are exported (ds_int.h) so
 * tests/unit/store/test_ds_embedded.c can check their query plans. */
const char ds_embedded_sql_list[] =
    "SELECT name, value FROM kv WHERE name >= ?1 AND name < ?2"
    " AND (expires_at IS NULL OR expires_at > ?3) ORDER BY name";
/* For a prefix with no upper bound (empty, or all 0xFF bytes). */
const char ds_embedded_sql_list_from[] =
    "SELECT name, value FROM kv WHERE name >= ?1"
    " AND (expires_at IS NULL OR expires_at > ?3) ORDER BY name";
const char ds_embedded_sql_purge[] = "DELETE FROM kv WHERE expires_at <= ?1";

enum { Q_GET, Q_PUT, Q_DEL, Q_LIST, Q_LIST_FROM, Q_PURGE, Q_BEGIN, Q_COMMIT,
       Q_ROLLBACK, Q_VERSION, Q_COUNT };

static const char *const sql_text[Q_COUNT] = {
    [Q_GET] = "SELECT value FROM kv WHERE name = ?1"
              " AND (expires_at IS NULL OR expires_at > ?2)",
    [Q_PUT] = "INSERT INTO kv(name, value, expires_at) VALUES (?1, ?2, ?3)"
              " ON CONFLICT(name) DO UPDATE SET value = excluded.value,"
              " expires_at = excluded.expires_at",
    [Q_DEL] = "DELETE FROM kv WHERE name = ?1",
    [Q_LIST] = ds_embedded_sql_list,
    [Q_LIST_FROM] = ds_embedded_sql_list_from,
    [Q_PURGE] = ds_embedded_sql_purge,
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_VERSION] = "PRAGMA user_version",
};

/* The partial index keeps the expiry sweep a range scan over only the rows
 * that have a TTL; most of ours have none, so it costs almost nothing. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS kv(name TEXT PRIMARY KEY, value TEXT NOT NULL,"
    " expires_at INTEGER) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS kv_expires ON kv(expires_at)"
    " WHERE expires_at IS NOT NULL;"
    "PRAGMA user_version = 1;";

struct emb {
    struct ds ds;         /* ds.impl points back here */
    sqlite3 *db;
    sqlite3_stmt *st[Q_COUNT]; /* prepared on first use */
    char *path;
    long long fixed_now;  /* AUTOSCALE_TEST_NOW, or -1 */
    long busy_ms;         /* slept so far in the current lock wait */
    unsigned writes;      /* count, to space out expiry sweeps */
};

/* ---- time, errors, handlers ---------------------------------------------- */

static long long now(const struct emb *e)
{
    return e->fixed_now >= 0 ? e->fixed_now : (long long)time(NULL);
}

/* AUTOSCALE_TEST_NOW (epoch seconds) is for tests only: it freezes this
 * connection's clock at open so TTL expiry is testable without sleeping.
 * Nothing outside tests should set it. */
static long long fixed_now_from_env(void)
{
    const char *s = getenv("AUTOSCALE_TEST_NOW");
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || *end || v < 0 ? -1 : v;
}

/* One place maps SQLite's result codes onto our stable error codes.
 * fallback is the code for anything unclassified: datastore_unavailable
 * while opening, datastore_error afterwards. key (may be NULL) only names
 * the key in the message; key names are validated printable ASCII. */
static int db_fail(struct emb *e, int rc, const char *fallback,
                   const char *what, const char *key, struct as_error *err)
{
    /* SQLite's message has detail, but only while it is about rc. */
    const char *msg = e->db && sqlite3_extended_errcode(e->db) == rc
                          ? sqlite3_errmsg(e->db)
                          : sqlite3_errstr(rc);
    const char *q = key ? " '" : "", *k = key ? key : "", *qe = key ? "'" : "";
    int prim = rc & 0xff;

    if (prim == SQLITE_INTERRUPT || (prim == SQLITE_BUSY && as_interrupted()))
        return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                       "datastore %s: interrupted while %s%s%s%s", e->path,
                       what, q, k, qe);
    const char *code = fallback;
    if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
        code = "datastore_corrupt";
    else if (prim == SQLITE_CANTOPEN || prim == SQLITE_PERM ||
             prim == SQLITE_READONLY || prim == SQLITE_AUTH)
        code = "datastore_unavailable";
    return as_fail(err, AS_EXIT_FAILURE, code, "datastore %s: %s%s%s%s: %s",
                   e->path, what, q, k, qe, msg);
}

/* One nap of a lock wait: 1 if the caller should try again, 0 to give up
 * (signalled, or *spent_ms reached the limit). The schedule resembles
 * SQLite's own (short first naps for the common brief contention), capped
 * low so a waiter polls often enough not to be starved by quick writers. */
static int backoff(int attempt, long *spent_ms)
{
    static const unsigned char nap_ms[] = {1, 2, 5, 10, 15, 20, 25};
    if (as_interrupted() || *spent_ms >= BUSY_LIMIT_MS)
        return 0;
    int ms = attempt < (int)sizeof nap_ms ? nap_ms[attempt] : 25;
    *spent_ms += ms;
    return as_sleep_ms(ms) == 0;
}

/* busy_timeout would sleep through a SIGTERM; this handler checks the flag
 * between short naps. */
static int on_busy(void *arg, int count)
{
    struct emb *e = arg;
    if (count == 0)
        e->busy_ms = 0;
    return backoff(count, &e->busy_ms);
}

static int on_progress(void *arg)
{
    (void)arg;
    return as_interrupted();
}

/* ---- statements ---------------------------------------------------------- */

static int prepare(struct emb *e, int q, sqlite3_stmt **out)
{
    if (!e->st[q]) {
        int rc = sqlite3_prepare_v3(e->db, sql_text[q], -1,
                                    SQLITE_PREPARE_PERSISTENT, &e->st[q], NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    *out = e->st[q];
    return SQLITE_OK;
}

/* Bindings are SQLITE_STATIC (no copy of a large value); clearing them on
 * reset means a cached statement never holds a caller's dangling pointer. */
static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows; SQLITE_OK or the error. */
static int run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    done(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int run_q(struct emb *e, int q)
{
    sqlite3_stmt *s;
    int rc = prepare(e, q, &s);
    return rc == SQLITE_OK ? run(s) : rc;
}

static char *column_dup(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    size_t n = (size_t)sqlite3_column_bytes(s, col);
    char *out = xmalloc(n + 1);
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
    return out;
}

/* ---- writes -------------------------------------------------------------- */

/* Expired rows are invisible to reads; deleting them is only housekeeping,
 * so do it on a connection's first write and then every PURGE_EVERY. */
static int purge_maybe(struct emb *e, long long t)
{
    if (e->writes++ % PURGE_EVERY != 0)
        return SQLITE_OK;
    sqlite3_stmt *s;
    int rc = prepare(e, Q_PURGE, &s);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(s, 1, t);
    return run(s);
}

static int write_begin(struct emb *e, const char *what, const char *key,
                       struct as_error *err)
{
    int rc = run_q(e, Q_BEGIN);
    return rc == SQLITE_OK ? 0
                           : db_fail(e, rc, "datastore_error", what, key, err);
}

/* Undo an open write transaction. The progress handler is off meanwhile:
 * when we are unwinding after a signal, a ROLLBACK cut short would leave
 * the write lock held. Some errors already rolled back by themselves. */
static void rollback(struct emb *e)
{
    if (sqlite3_get_autocommit(e->db))
        return;
    sqlite3_progress_handler(e->db, 0, NULL, NULL);
    run_q(e, Q_ROLLBACK);
    sqlite3_progress_handler(e->db, PROGRESS_OPS, on_progress, NULL);
}

/* Commit if rc is SQLITE_OK, else report rc and roll back. The error is
 * captured first: ROLLBACK would replace SQLite's message. */
static int write_end(struct emb *e, int rc, const char *what, const char *key,
                     struct as_error *err)
{
    if (rc == SQLITE_OK)
        rc = run_q(e, Q_COMMIT);
    if (rc == SQLITE_OK)
        return 0;
    db_fail(e, rc, "datastore_error", what, key, err);
    rollback(e);
    return -1;
}

static int upsert(struct emb *e, const char *key, const char *value,
                  long ttl_s, long long t)
{
    sqlite3_stmt *s;
    int rc = prepare(e, Q_PUT, &s);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    if (ttl_s > 0)
        sqlite3_bind_int64(s, 3, ttl_s > INT64_MAX - t ? INT64_MAX : t + ttl_s);
    else
        sqlite3_bind_null(s, 3);
    return run(s);
}

static int emb_put(struct ds *ds, const char *key, const char *value,
                   long ttl_s, struct as_error *err)
{
    struct emb *e = ds->impl;
    if (write_begin(e, "writing key", key, err) < 0)
        return -1;
    long long t = now(e);
    int rc = purge_maybe(e, t);
    if (rc == SQLITE_OK)
        rc = upsert(e, key, value ? value : "", ttl_s, t);
    return write_end(e, rc, "writing key", key, err);
}

/* Put-if-absent in one write transaction: BEGIN IMMEDIATE holds the write
 * lock from the read to the insert, so no other writer can slip between
 * them. An expired row is as good as absent and is overwritten. */
static int emb_create(struct ds *ds, const char *key, const char *value,
                      long ttl_s, struct as_error *err)
{
    struct emb *e = ds->impl;
    if (write_begin(e, "creating key", key, err) < 0)
        return -1;
    long long t = now(e);
    int rc = purge_maybe(e, t), ret = 0;
    sqlite3_stmt *s;
    if (rc == SQLITE_OK && (rc = prepare(e, Q_GET, &s)) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, t);
        int step = sqlite3_step(s);
        done(s);
        if (step == SQLITE_ROW)
            ret = DS_EXISTS;
        else if (step != SQLITE_DONE)
            rc = step;
    }
    if (rc == SQLITE_OK && ret == 0)
        rc = upsert(e, key, value ? value : "", ttl_s, t);
    return write_end(e, rc, "creating key", key, err) < 0 ? -1 : ret;
}

static int emb_del(struct ds *ds, const char *key, struct as_error *err)
{
    struct emb *e = ds->impl;
    if (write_begin(e, "deleting key", key, err) < 0)
        return -1;
    int rc = purge_maybe(e, now(e));
    sqlite3_stmt *s;
    if (rc == SQLITE_OK && (rc = prepare(e, Q_DEL, &s)) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        rc = run(s);
    }
    return write_end(e, rc, "deleting key", key, err);
}

/* ---- reads --------------------------------------------------------------- */

static int emb_get(struct ds *ds, const char *key, char **value,
                   struct as_error *err)
{
    struct emb *e = ds->impl;
    sqlite3_stmt *s;
    int rc = prepare(e, Q_GET, &s);
    if (rc != SQLITE_OK)
        return db_fail(e, rc, "datastore_error", "reading key", key, err);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now(e));
    int ret = DS_ABSENT;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *value = column_dup(s, 0), ret = 0;
    else if (rc != SQLITE_DONE)
        ret = db_fail(e, rc, "datastore_error", "reading key", key, err);
    done(s);
    return ret;
}

/* The exclusive upper bound of the keys starting with prefix: the prefix
 * with its last byte incremented, after dropping trailing 0xFF bytes (which
 * cannot be incremented). *hi is NULL when there is no bound (empty or
 * all-0xFF prefix). */
static char *prefix_end(const char *prefix)
{
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xFF)
        n--;
    if (n == 0)
        return NULL;
    char *hi = xstrndup(prefix, n);
    hi[n - 1] = (char)((unsigned char)hi[n - 1] + 1);
    return hi;
}

static int collect(struct emb *e, sqlite3_stmt *s, const char *prefix,
                   struct ds_list *out, struct as_error *err)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        const char *value = (const char *)sqlite3_column_text(s, 1);
        if (!name) /* the primary key is never NULL: SQLite ran out of memory */
            xalloc_die(0);
        ds_list_add(out, name, value ? value : "");
    }
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(e, rc, "datastore_error", "listing prefix", prefix, err);
}

static int emb_list(struct ds *ds, const char *prefix, struct ds_list *out,
                    struct as_error *err)
{
    struct emb *e = ds->impl;
    char *hi = prefix_end(prefix);
    sqlite3_stmt *s;
    int rc = prepare(e, hi ? Q_LIST : Q_LIST_FROM, &s);
    if (rc != SQLITE_OK) {
        free(hi);
        return db_fail(e, rc, "datastore_error", "listing prefix", prefix, err);
    }
    sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
    if (hi)
        sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now(e));
    int ret = collect(e, s, prefix, out, err);
    done(s);
    free(hi);
    return ret;
}

/* ---- open/close ---------------------------------------------------------- */

static void emb_close(struct ds *ds)
{
    struct emb *e = ds->impl;
    for (int q = 0; q < Q_COUNT; q++)
        sqlite3_finalize(e->st[q]);
    sqlite3_close(e->db);
    free(e->path);
    free(e);
}

/* mkdir -p of path's directory, each new component 0700: the store holds
 * the pack's state and nobody else needs to look into it. */
static int make_parents(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    int ret = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1;; p++) {
            if (*p != '/' && *p != '\0')
                continue;
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                ret = -1;
                break;
            }
            if (!c)
                break;
            *p = c;
        }
    }
    int saved = errno;
    free(dir);
    errno = saved;
    return ret;
}

/* SQLite would create the file 0644 (less umask); create it ourselves with
 * 0600 first. Its -wal and -shm files copy the database file's mode. The
 * usual case, an existing file, costs one failing open(). */
static int create_file(const char *path, struct as_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT && make_parents(path) == 0)
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno == EEXIST)
        return 0;
    return as_fail(err, AS_EXIT_FAILURE, "datastore_unavailable",
                   "cannot create datastore %s: %s", path, strerror(errno));
}

static int read_version(struct emb *e, int *version)
{
    sqlite3_stmt *s;
    int rc = prepare(e, Q_VERSION, &s);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    done(s);
    return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* A fresh file: switch to WAL (persistent in the file, and impossible inside
 * a transaction), then create the schema under the write lock, checking the
 * version again in case another process got there first. */
static int create_schema(struct emb *e)
{
    int version = 0;
    int rc = sqlite3_exec(e->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = run_q(e, Q_BEGIN);
    if (rc != SQLITE_OK)
        return rc;
    rc = read_version(e, &version);
    if (rc == SQLITE_OK && version == 0)
        rc = sqlite3_exec(e->db, schema_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return run_q(e, Q_COMMIT);
    rollback(e);
    return rc;
}

/* While a fresh file changes to WAL, SQLite can answer SQLITE_BUSY without
 * consulting the busy handler (seen with 8 processes opening a new file at
 * once), so the first-time setup retries on its own, on the same budget.
 * An existing file costs one read of the version. */
static int check_schema(struct emb *e, int *version)
{
    long spent = 0;
    for (int attempt = 0;; attempt++) {
        e->busy_ms = 0;
        int rc = read_version(e, version);
        if (rc == SQLITE_OK && *version == 0)
            rc = create_schema(e);
        spent += e->busy_ms;
        if ((rc & 0xff) != SQLITE_BUSY || !backoff(attempt, &spent))
            return rc;
    }
}

static int setup(struct emb *e, struct as_error *err)
{
    int version = 0;
    sqlite3_busy_handler(e->db, on_busy, e);
    sqlite3_progress_handler(e->db, PROGRESS_OPS, on_progress, NULL);
    /* NORMAL is durable across crashes in WAL mode, only not across power
     * loss for the last commits, and spares an fsync per write. */
    int rc = sqlite3_exec(e->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = check_schema(e, &version);
    if (rc != SQLITE_OK)
        return db_fail(e, rc, "datastore_unavailable", "opening", NULL, err);
    /* Refuse rather than guess: a newer build may have changed the layout. */
    if (version > SCHEMA_VERSION)
        return as_fail(err, AS_EXIT_FAILURE, "datastore_error",
                       "datastore %s has schema version %d; this build "
                       "understands up to %d",
                       e->path, version, SCHEMA_VERSION);
    return 0;
}

static struct ds *emb_open(const struct ds_config *cfg, struct as_error *err)
{
    const char *path = cfg->path;
    if (!path || !*path) {
        as_fail(err, AS_EXIT_FAILURE, "datastore_unavailable",
                "no path for the embedded datastore");
        return NULL;
    }
    if (create_file(path, err) < 0)
        return NULL;
    struct emb *e = xcalloc(1, sizeof *e);
    e->path = xstrdup(path);
    e->ds = (struct ds){&ds_embedded_ops, e};
    e->fixed_now = fixed_now_from_env();
    /* An action runs a few statements and exits: SQLite's up-front page
     * cache (20 pages allocated in bulk at the first read) is sized for a
     * long-lived connection and costs ~20 page faults on every start. With
     * no preallocated cache, pages are allocated as read. Harmless if
     * SQLite is already initialised (the call then fails and changes
     * nothing). */
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)0, 0, 0);
    int rc = sqlite3_open_v2(path, &e->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                             NULL);
    if (rc != SQLITE_OK) {
        db_fail(e, rc, "datastore_unavailable", "opening", NULL, err);
        emb_close(&e->ds);
        return NULL;
    }
    if (setup(e, err) < 0) {
        emb_close(&e->ds);
        return NULL;
    }
    log_debug("datastore: opened %s", path);
    return &e->ds;
}

const struct ds_ops ds_embedded_ops = {
    .name = "embedded",
    .open = emb_open,
    .get = emb_get,
    .put = emb_put,
    .del = emb_del,
    .list = emb_list,
    .close = emb_close,
    .create = emb_create,
};
