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
 * fresh file, statements prepared on first use and then cached. An action
 * that only reads opens it read-only (open_reader): no WAL file created or
 * deleted, no checkpoint, one snapshot; writers keep the WAL files for it. */
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
 * scan starts at the prefix and the walk ends it at the first key past it;
 * the keys whose TTL has passed, found through the expiry index, are
 * skipped there too (walk()). An upper bound in the SQL (name < ?) and the
 * expiry test cost SQLite work on every row, most of which have no TTL at
 * all: together a quarter of what listing 1,100,000 rows costs. The
 * listing statements and the sweep are exported (ds_int.h) so
 * tests/unit/store/test_ds_embedded.c can check their query plans. */
const char ds_embedded_sql_list[] = "SELECT name, value FROM kv WHERE name >= ?1 ORDER BY name";
const char ds_embedded_sql_expired[] = "SELECT name FROM kv WHERE expires_at <= ?1";
const char ds_embedded_sql_purge[] = "DELETE FROM kv WHERE expires_at <= ?1";

enum { Q_GET, Q_PUT, Q_DEL, Q_LIST, Q_EXPIRED, Q_PURGE, Q_READ, Q_BEGIN, Q_COMMIT,
       Q_ROLLBACK, Q_VERSION, Q_COUNT };

static const char *const sql_text[Q_COUNT] = {
    [Q_GET] = "SELECT value FROM kv WHERE name = ?1"
              " AND (expires_at IS NULL OR expires_at > ?2)",
    [Q_PUT] = "INSERT INTO kv(name, value, expires_at) VALUES (?1, ?2, ?3)"
              " ON CONFLICT(name) DO UPDATE SET value = excluded.value,"
              " expires_at = excluded.expires_at",
    [Q_DEL] = "DELETE FROM kv WHERE name = ?1",
    [Q_LIST] = ds_embedded_sql_list,
    [Q_EXPIRED] = ds_embedded_sql_expired,
    [Q_PURGE] = ds_embedded_sql_purge,
    [Q_READ] = "BEGIN",
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

/* Rows between two releases of the page cache in a walk (walk()). */
#define WALK_RELEASE_ROWS 256

/* The keys under prefix whose TTL has passed at t (their rows wait for the
 * next sweep), sorted, into *out: the walk skips them. */
static int expired_under(struct emb *e, const char *prefix, long long t,
                         struct ds_list *out)
{
    sqlite3_stmt *s;
    size_t n = strlen(prefix);
    int rc = prepare(e, Q_EXPIRED, &s);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(s, 1, t);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        if (!name) /* the primary key is never NULL: SQLite ran out of memory */
            xalloc_die(0);
        if (strncmp(name, prefix, n) == 0)
            ds_list_add(out, name, NULL);
    }
    done(s);
    ds_list_sort(out);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Hand each row to fn straight from SQLite's buffers, no copy, until the
 * first key that does not start with prefix: keys come in order, so those
 * that do are the rows from the scan's start up to there. The expired keys
 * come in the same order, so passing them over is a merge.
 *
 * A walk reads each page once, so the page cache (2 MB by default) would
 * only grow the process, a page fault for every page it takes; on the VMs
 * measured a fault costs more than reading the page again. So the cache
 * gives back its unused pages every WALK_RELEASE_ROWS rows, and the next
 * pages reuse their memory: a walk over 110,000 rows (a tick over 10,000
 * groups) takes ~500 fewer faults, for ~2% more instructions. */
static int walk(struct emb *e, sqlite3_stmt *s, const char *prefix,
                const struct ds_list *expired, ds_each_fn fn, void *arg,
                struct as_error *err)
{
    size_t n = strlen(prefix), x = 0;
    int rc;
    for (unsigned rows = 1; (rc = sqlite3_step(s)) == SQLITE_ROW; rows++) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        if (!name)
            xalloc_die(0);
        if (strncmp(name, prefix, n) != 0)
            return 0;
        while (x < expired->count && strcmp(expired->items[x].name, name) < 0)
            x++;
        if (x < expired->count && strcmp(expired->items[x].name, name) == 0)
            continue;
        const char *value = (const char *)sqlite3_column_text(s, 1);
        if (fn(arg, name, value ? value : "", err) < 0)
            return -1;
        if (rows % WALK_RELEASE_ROWS == 0)
            sqlite3_db_release_memory(e->db);
    }
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(e, rc, "datastore_error", "listing prefix", prefix, err);
}

/* The expired keys and the rows are read in one snapshot (a read
 * transaction, unless one is open already): a key rewritten between the two
 * statements must not be skipped. */
static int emb_each(struct ds *ds, const char *prefix, ds_each_fn fn, void *arg,
                    struct as_error *err)
{
    struct emb *e = ds->impl;
    struct ds_list expired = {0};
    bool own = sqlite3_get_autocommit(e->db);
    sqlite3_stmt *s = NULL;
    int rc = own ? run_q(e, Q_READ) : SQLITE_OK;
    if (rc == SQLITE_OK)
        rc = expired_under(e, prefix, now(e), &expired);
    if (rc == SQLITE_OK)
        rc = prepare(e, Q_LIST, &s);
    int ret;
    if (rc != SQLITE_OK) {
        ret = db_fail(e, rc, "datastore_error", "listing prefix", prefix, err);
    } else {
        sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
        ret = walk(e, s, prefix, &expired, fn, arg, err);
        done(s);
    }
    if (own)
        rollback(e); /* a read: nothing to undo, the snapshot let go */
    ds_list_clear(&expired);
    return ret;
}

static int add_entry(void *list, const char *name, const char *value,
                     struct as_error *err)
{
    (void)err;
    ds_list_add(list, name, value);
    return 0;
}

static int emb_list(struct ds *ds, const char *prefix, struct ds_list *out,
                    struct as_error *err)
{
    return emb_each(ds, prefix, add_entry, out, err);
}

/* ---- open/close ---------------------------------------------------------- */

/* Finalize the cached statements and close the connection, leaving e ready
 * for another open (a reader's failed attempt, then the read-write one). */
static void disconnect(struct emb *e)
{
    for (int q = 0; q < Q_COUNT; q++) {
        sqlite3_finalize(e->st[q]);
        e->st[q] = NULL;
    }
    sqlite3_close(e->db);
    e->db = NULL;
}

static void emb_close(struct ds *ds)
{
    struct emb *e = ds->impl;
    disconnect(e);
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

static void handlers(struct emb *e)
{
    sqlite3_busy_handler(e->db, on_busy, e);
    sqlite3_progress_handler(e->db, PROGRESS_OPS, on_progress, NULL);
}

/* A writer keeps the -wal and -shm files when it closes (PERSIST_WAL):
 * a read-only connection needs them to exist or be creatable (SQLite's rule
 * for a WAL database), and a reader that finds them creates and deletes
 * nothing. The last connection to close still checkpoints; then, as
 * journal_size_limit is set, it truncates the WAL to zero bytes instead of
 * deleting it. Empty matters: the first connection of every process
 * rebuilds the WAL index by reading the whole WAL, so a WAL left full costs
 * every later start (docs/datastore.md, "Costs"; hence no
 * NO_CKPT_ON_CLOSE either). The limit also caps what a long-running writer
 * keeps after its WAL restarts; it is about the 1000-page autocheckpoint.
 * NORMAL is durable across crashes in WAL mode, only not across power loss
 * for the last commits, and spares an fsync per write. */
static const char writer_pragmas[] =
    "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=4194304";

static int setup(struct emb *e, struct as_error *err)
{
    int version = 0, persist = 1;
    handlers(e);
    sqlite3_file_control(e->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    int rc = sqlite3_exec(e->db, writer_pragmas, NULL, NULL, NULL);
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

/* A WAL left with pages in it (its last connection was a reader, which may
 * not checkpoint) is read back whole by every process's first read, 0.5 to
 * 1 ms per MiB; a reader that finds one over READER_WAL_MAX opens read-write
 * instead, so that its close, if it is the last, empties it as a writer's
 * does. One stat(). */
#define READER_WAL_MAX (1L << 20)

static bool wal_is_large(const char *path)
{
    char *wal = xasprintf("%s-wal", path);
    struct stat st;
    bool large = stat(wal, &st) == 0 && st.st_size > READER_WAL_MAX;
    free(wal);
    return large;
}

/* A reader's reads, however it opened, are one transaction, begun here and
 * rolled back by the close: it sees every key as it was at one instant
 * (asg_get's spec, nodes and lease from the same moment, where a read per
 * statement could mix two), and takes the WAL read lock once, not per
 * statement. An action lives milliseconds: its snapshot holds back no
 * checkpoint for long. */
static int begin_reads(struct emb *e)
{
    return sqlite3_exec(e->db, "BEGIN", NULL, NULL, NULL);
}

/* A reader's connection (ds_config.read_only): SQLITE_OPEN_READONLY and one
 * read of the version. It finds the WAL files the writers kept (or, where
 * an older build's writer deleted them, creates them once, for good), and
 * at close it neither checkpoints nor deletes: it cannot take the lock
 * either needs. 0 when the store is ready to read; otherwise -1, e
 * disconnected, and open_writer_for_reads() does what the read-write open
 * always did: no file yet, a fresh one without the schema, a large WAL
 * (above), WAL files it may not create, a newer schema (reported there). A
 * reader never fails for being read-only. */
static int open_reader(struct emb *e)
{
    int version = 0;
    if (wal_is_large(e->path))
        return -1;
    int rc = sqlite3_open_v2(e->path, &e->db,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
                                 SQLITE_OPEN_EXRESCODE,
                             NULL);
    if (rc == SQLITE_OK) {
        handlers(e);
        rc = begin_reads(e);
    }
    if (rc == SQLITE_OK)
        rc = read_version(e, &version);
    if (rc == SQLITE_OK && version > 0 && version <= SCHEMA_VERSION)
        return 0;
    log_debug("datastore: %s not opened read-only (%s): opening it read-write",
              e->path, rc == SQLITE_OK ? "no schema yet" : sqlite3_errstr(rc));
    disconnect(e);
    return -1;
}

static int open_writer(struct emb *e, struct as_error *err)
{
    if (create_file(e->path, err) < 0)
        return -1;
    int rc = sqlite3_open_v2(e->path, &e->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                             NULL);
    if (rc != SQLITE_OK)
        return db_fail(e, rc, "datastore_unavailable", "opening", NULL, err);
    return setup(e, err);
}

/* A reader that could not open read-only: the writer's open, then the same
 * one snapshot as open_reader's. */
static int open_writer_for_reads(struct emb *e, struct as_error *err)
{
    if (open_writer(e, err) < 0)
        return -1;
    int rc = begin_reads(e);
    return rc == SQLITE_OK ? 0
                           : db_fail(e, rc, "datastore_unavailable", "opening",
                                     NULL, err);
}

static struct ds *emb_open(const struct ds_config *cfg, struct as_error *err)
{
    const char *path = cfg->path;
    if (!path || !*path) {
        as_fail(err, AS_EXIT_FAILURE, "datastore_unavailable",
                "no path for the embedded datastore");
        return NULL;
    }
    struct emb *e = xcalloc(1, sizeof *e);
    e->path = xstrdup(path);
    e->ds = (struct ds){&ds_embedded_ops, e};
    e->fixed_now = fixed_now_from_env();
    ds_sqlite_init();
    int rc = !cfg->read_only      ? open_writer(e, err)
             : open_reader(e) == 0 ? 0
                                   : open_writer_for_reads(e, err);
    if (rc == 0) {
        log_debug("datastore: opened %s%s", path,
                  sqlite3_db_readonly(e->db, "main") == 1 ? " read-only" : "");
        return &e->ds;
    }
    emb_close(&e->ds);
    return NULL;
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
    .each = emb_each,
};
