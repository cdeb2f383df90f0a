/* ds_int.h - the datastore's internal header: the table of operations every
 * backend fills, one extern per backend, and what backends share. Included
 * only by the datastore's own files: datastore.c (the table of backends),
 * the backends (ds_embedded.c, ds_st2.c), ds_list.c, the read-only
 * wrapper ds_readonly.c and ds_sqlite.c; and by tests of them (tests'
 * in-memory store is a backend too). Callers use datastore.h.
 *
 * Adding a backend: a ds_<name>.c that includes this header and defines
 * `const struct ds_ops ds_<name>_ops`, an extern below, and its line in
 * datastore.c's table. */
#ifndef AS_DS_INT_H
#define AS_DS_INT_H

#include "datastore.h"
#include "error.h"

struct ds_ops {
    const char *name;
    /* A new store from cfg (the backend's part of it), or NULL with err.
     * NULL for a wrapper (ds_readonly.c), which is never opened by name. */
    struct ds *(*open)(const struct ds_config *cfg, struct as_error *err);
    /* 0 and *value (malloc'd), DS_ABSENT, or -1 with err */
    int (*get)(struct ds *ds, const char *key, char **value, struct as_error *err);
    /* ttl_s <= 0: no expiry. Creates or overwrites. */
    int (*put)(struct ds *ds, const char *key, const char *value, long ttl_s,
               struct as_error *err);
    /* Deleting an absent key succeeds. */
    int (*del)(struct ds *ds, const char *key, struct as_error *err);
    /* Appends every live key starting with prefix to out, sorted. */
    int (*list)(struct ds *ds, const char *prefix, struct ds_list *out,
                struct as_error *err);
    void (*close)(struct ds *ds);
    /* Optional (NULL when the backend has none, as st2's keys API has
     * none): create key only if no live key has that name, atomically; an
     * expired key counts as absent. 0, DS_EXISTS, or -1 with err (and
     * nothing written). lib/store/claim.c builds its claims on it when present. */
    int (*create)(struct ds *ds, const char *key, const char *value, long ttl_s,
                  struct as_error *err);
    /* Optional: ds_each's walk (datastore.h) straight from the backend's
     * rows. NULL: datastore.c lists, then walks the list; so st2 does,
     * whose pages must all be in and deduplicated before any entry is
     * known to be final. The read-only wrapper passes it through. */
    int (*each)(struct ds *ds, const char *prefix, ds_each_fn fn, void *arg,
                struct as_error *err);
};

struct ds {
    const struct ds_ops *ops;
    void *impl;
};

extern const struct ds_ops ds_embedded_ops;
extern const struct ds_ops ds_st2_ops;

/* The embedded backend's listing statements and expiry sweep, for
 * tests/unit/store/test_ds_embedded.c to check their query plans. */
extern const char ds_embedded_sql_list[], ds_embedded_sql_expired[],
    ds_embedded_sql_purge[];

/* SQLite set up as the embedded backend wants it, before its first open
 * (ds_sqlite.c; with a static SQLite that file also leaves out the
 * extensions the store never uses). */
void ds_sqlite_init(void);

/* Sort l by name unless it already is (both backends list in name order:
 * the check is O(n), sorting 100,000 entries again is not free). */
void ds_list_sort(struct ds_list *l);

#endif
