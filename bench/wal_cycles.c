/* bench/wal_cycles.c - what a run of writer processes leaves in the
 * embedded store's WAL, and what each run then costs, for the three ways a
 * writer can close (docs/datastore.md, "Costs"; issue 14).
 *
 * One cycle is what one writer action and one reader action do, as the
 * pack's connections do it (lib/store/ds_embedded.c): a writer opens the
 * file read-write (synchronous=NORMAL), upserts one of 200 keys with a new
 * 520-byte value in a BEGIN IMMEDIATE transaction and closes; then a reader
 * opens it (read-only, but read-write in mode old), reads one key and
 * closes. Each connection is the only
 * one open, as for actions run one after another, so each open is a
 * process's first and rebuilds the WAL index from the WAL.
 *
 *   old     the default: the last close checkpoints and deletes the WAL
 *           files (0.8.0's writers, and its readers, which opened
 *           read-write)
 *   kept    SQLITE_FCNTL_PERSIST_WAL and journal_size_limit: the last close
 *           checkpoints and truncates the WAL, the files stay (this build)
 *   nockpt  kept, plus SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE (measured, refused)
 *   persist SQLITE_FCNTL_PERSIST_WAL alone: the last close checkpoints but
 *           leaves the WAL as long as it was (measured, refused)
 *
 * Build (`make bench-progs`) and run (a fresh file each time):
 *   for m in old kept nockpt persist; do
 *       rm -f /tmp/w.db*; build/release/bench/wal_cycles /tmp/w.db 10000 $m
 *   done
 *
 * Prints one line: medians (ms) of the writer's open, write and close and
 * of the reader's whole run, the writer's close p90 and mean, and the WAL's
 * size at the end and its largest after any cycle. Times are wall clock on
 * a machine others share: compare modes run back to back. */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum mode { OLD, KEPT, NOCKPT, PERSIST };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return v[n / 2];
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void check(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "wal_cycles: %s: %s\n", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        exit(1);
    }
}

static sqlite3 *open_writer(const char *path, enum mode m)
{
    sqlite3 *db;
    int on = 1;
    check(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                         SQLITE_OPEN_NOMUTEX, NULL), db, "open");
    sqlite3_busy_timeout(db, 10000);
    if (m != OLD)
        sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
    if (m == KEPT || m == NOCKPT)
        check(sqlite3_exec(db, "PRAGMA journal_size_limit=4194304", NULL, NULL, NULL), db,
              "journal_size_limit");
    if (m == NOCKPT)
        check(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), db,
              "no_ckpt_on_close");
    check(sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL), db, "synchronous");
    return db;
}

static void write_one(sqlite3 *db, int run)
{
    char key[40], value[600];
    snprintf(key, sizeof key, "autoscale.node.web.n%03d", run % 200);
    snprintf(value, sizeof value, "{\"run\":%d,\"pad\":\"%0500d\"}", run, run);
    sqlite3_stmt *s;
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
    check(sqlite3_prepare_v2(db, "INSERT INTO kv(name, value) VALUES (?1, ?2)"
                                 " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                             -1, &s, NULL), db, "prepare");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    check(sqlite3_step(s), db, "upsert");
    sqlite3_finalize(s);
    check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
}

/* old: 0.8.0's reader, read-write like every action then; otherwise this
 * build's, read-only. */
static void read_one(const char *path, enum mode m)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int flags = m == OLD ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    check(sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL), db, "open reader");
    check(sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE name = 'autoscale.node.web.n001'",
                             -1, &s, NULL), db, "prepare read");
    check(sqlite3_step(s), db, "read");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"old", "kept", "nockpt", "persist"};
    int n = argc == 4 ? atoi(argv[2]) : 0, m = -1;
    for (int i = 0; argc == 4 && i < 4; i++)
        if (strcmp(argv[3], names[i]) == 0)
            m = i;
    if (n < 1 || m < 0) {
        fprintf(stderr, "usage: wal_cycles DB RUNS old|kept|nockpt|persist\n");
        return 2;
    }
    const char *path = argv[1];
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", path);
    double *t_open = calloc((size_t)n, sizeof *t_open);
    double *t_write = calloc((size_t)n, sizeof *t_write);
    double *t_close = calloc((size_t)n, sizeof *t_close);
    double *t_read = calloc((size_t)n, sizeof *t_read);
    if (!t_open || !t_write || !t_close || !t_read)
        return 1;

    sqlite3 *db = open_writer(path, (enum mode)m);
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS kv(name TEXT"
                           " PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID",
                       NULL, NULL, NULL), db, "schema");
    sqlite3_close(db);

    long wal_max = 0;
    double close_sum = 0;
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        db = open_writer(path, (enum mode)m);
        double t1 = now_ms();
        write_one(db, i);
        double t2 = now_ms();
        sqlite3_close(db);
        double t3 = now_ms();
        read_one(path, (enum mode)m);
        double t4 = now_ms();
        t_open[i] = t1 - t0, t_write[i] = t2 - t1, t_close[i] = t3 - t2, t_read[i] = t4 - t3;
        close_sum += t_close[i];
        long w = file_size(wal);
        if (w > wal_max)
            wal_max = w;
    }
    double close_mean = close_sum / n;
    double open_med = median(t_open, n), write_med = median(t_write, n);
    double read_med = median(t_read, n), close_med = median(t_close, n);
    printf("mode=%s runs=%d writer_open_ms=%.3f write_ms=%.3f close_ms=%.3f close_p90_ms=%.3f"
           " close_mean_ms=%.3f reader_ms=%.3f wal_end_bytes=%ld wal_max_bytes=%ld"
           " db_bytes=%ld\n",
           names[m], n, open_med, write_med, close_med, t_close[n * 9 / 10], close_mean,
           read_med, file_size(wal), wal_max, file_size(path));
    return 0;
}
