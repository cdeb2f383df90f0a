/* ds_sqlite.c - SQLite as the embedded backend (ds_embedded.c) wants it in
 * every process, set before the first open: ds_sqlite_init() (ds_int.h).
 *
 * Built with -DAS_SQLITE_STATIC (the Makefile defines it when SQLite is
 * linked statically from an archive of separate objects, as Debian's and
 * Ubuntu's libsqlite3.a are), it also stubs out the five extensions SQLite
 * registers on every open and the store never uses: FTS3/4, FTS5, R*Tree,
 * the dbstat and sqlite_stmt tables. Our SQL is the kv table's (ds_embedded.c)
 * and nothing else; JSON functions are left alone. Registering them was
 * half of sqlite3_open_v2's instructions (54,000 of 104,000) at every
 * action start, and with these definitions the linker takes ours and
 * leaves their archive members out of the binary (370 KB less:
 * docs/datastore.md, "Costs"). This object is always linked, because
 * ds_embedded.c calls ds_sqlite_init(); the stubs ride along with it.
 *
 * Against a shared libsqlite3 (STATIC_DEPS=no, RHEL) the stubs must not
 * exist: the library's own definitions are the ones its open calls, and a
 * second definition here would change nothing but confuse. Against an
 * amalgamated libsqlite3.a (one object defining everything) they would
 * clash at link time, which is why the Makefile checks for separate
 * members before defining AS_SQLITE_STATIC.
 * tests/unit/store/test_ds_sqlite.c checks that the modules are gone from
 * the static build and present in the dynamic one. */
#include "ds_int.h"

#include <sqlite3.h>

void ds_sqlite_init(void)
{
    /* An action runs a few statements and exits: SQLite's up-front page
     * cache (20 pages allocated in bulk at the first read) is sized for a
     * long-lived connection and costs ~20 page faults on every start. With
     * no preallocated cache, pages are allocated as read. Harmless if
     * SQLite is already initialised (the calls then fail and change
     * nothing). */
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)0, 0, 0);
    /* Memory statistics (sqlite3_memory_used, the soft heap limit), which
     * nothing here reads, take a global mutex around every allocation:
     * ~7% of asg_get's instructions (docs/datastore.md, "Costs"). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#ifdef AS_SQLITE_STATIC
/* The names and signatures of SQLite's internal entry points (main.c's
 * sqlite3BuiltinExtensions[]), each defined in its own member of the
 * archive: sqlite3_open_v2 calls each once and stops at a non-OK result. */
int sqlite3Fts3Init(sqlite3 *db);
int sqlite3Fts5Init(sqlite3 *db);
int sqlite3RtreeInit(sqlite3 *db);
int sqlite3DbstatRegister(sqlite3 *db);
int sqlite3StmtVtabInit(sqlite3 *db);

int sqlite3Fts3Init(sqlite3 *db) { (void)db; return SQLITE_OK; }
int sqlite3Fts5Init(sqlite3 *db) { (void)db; return SQLITE_OK; }
int sqlite3RtreeInit(sqlite3 *db) { (void)db; return SQLITE_OK; }
int sqlite3DbstatRegister(sqlite3 *db) { (void)db; return SQLITE_OK; }
int sqlite3StmtVtabInit(sqlite3 *db) { (void)db; return SQLITE_OK; }
#endif
