/* datastore.h - key-value storage with two backends behind one interface:
 * what every caller uses. The backends' side (the table of operations each
 * fills) is ds_int.h; datastore.c holds the table of backends.
 *
 *  - "st2": StackStorm's key-value REST API (what the pack uses under st2);
 *  - "embedded": a SQLite file (the demo, the tests, a host without st2).
 *
 * Values are strings (our records are JSON text). st2 offers no
 * compare-and-swap, so the key layout (lib/core/keys.h, docs/datastore.md) gives
 * every key a single writer at a time instead of relying on one.
 *
 * Selection (ds_open_from_env), first that applies:
 *  1. AUTOSCALE_DATASTORE=st2|embedded (anything else: "bad_datastore");
 *     st2 needs $ST2_ACTION_API_URL or $ST2_API_URL, embedded uses
 *     $AUTOSCALE_DB or the default path (ds_default_db_path);
 *  2. $ST2_ACTION_API_URL or $ST2_API_URL set (under st2): st2;
 *  3. $AUTOSCALE_DB set: embedded at that file;
 *  4. nothing: refused, AS_EXIT_BADINPUT "no_datastore", never a new empty
 *     store nobody asked for.
 * The embedded file in use is logged at info level. */
#ifndef AS_DATASTORE_H
#define AS_DATASTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DS_ABSENT 1 /* ds_get's return for a missing (or expired) key */
#define DS_EXISTS 2 /* ds_create's return when a live key has the name */

struct ds_entry {
    char *name;
    char *value;
};

struct ds_arena;

struct ds_list {
    struct ds_entry *items; /* sorted by name (bytewise) */
    size_t count;
    size_t cap;
    struct ds_arena *arena; /* owns every name and value: never free() one */
};

struct ds; /* an open store (ds_int.h) */

struct ds_st2_config {
    const char *base_url;  /* ends in /v1 */
    const char *auth_token;/* X-Auth-Token, or NULL */
    const char *api_key;   /* St2-Api-Key, or NULL */
    const char *ca_bundle; /* NULL: system default */
    int page_size;         /* listing page, default 100 */
};

/* What a backend's open reads: "embedded" the path, "st2" the rest. */
struct ds_config {
    const char *path;         /* the SQLite file */
    struct ds_st2_config st2;
    /* The caller only reads: the embedded file is opened read-only where
     * it can be, read-write where it cannot (ds_embedded.c); st2 ignores
     * it. Writes are not refused by this alone: see ds_read_only. */
    bool read_only;
};

struct ds *ds_open_from_env(struct as_error *err);
/* The same store for a caller that only reads (asg_get, asg_list, the
 * operator commands): opened with read_only, behind ds_read_only. Costs
 * the embedded store's readers no file creation or checkpoint. */
struct ds *ds_open_from_env_read_only(struct as_error *err);
/* The backend of that name ("embedded", "st2"); another is AS_EXIT_BADINPUT
 * "bad_datastore". */
struct ds *ds_open(const char *backend, const struct ds_config *cfg, struct as_error *err);
struct ds *ds_open_embedded(const char *path, struct as_error *err);
struct ds *ds_open_st2(const struct ds_st2_config *cfg, struct as_error *err);
void ds_close(struct ds *ds);
/* A read-only view of inner, which it then owns (ds_close closes both):
 * reads pass through, writes fail with AS_EXIT_FAILURE "read_only". */
struct ds *ds_read_only(struct ds *inner);
/* The backend's name ("embedded", "st2", ...). */
const char *ds_backend_name(const struct ds *ds);

/* Thin dispatchers that also validate key names (non-empty, at most 512
 * bytes, printable ASCII without spaces). */
int ds_get(struct ds *ds, const char *key, char **value, struct as_error *err);
int ds_put(struct ds *ds, const char *key, const char *value, long ttl_s,
           struct as_error *err);
int ds_del(struct ds *ds, const char *key, struct as_error *err);
/* ds_del every key of l, in order, stopping at the first failure. */
int ds_del_list(struct ds *ds, const struct ds_list *l, struct as_error *err);
int ds_list(struct ds *ds, const char *prefix, struct ds_list *out,
            struct as_error *err);
/* What ds_each calls for each entry; name and value are borrowed for the
 * call only. 0 to go on, or -1 with err to stop the walk. */
typedef int (*ds_each_fn)(void *arg, const char *name, const char *value,
                          struct as_error *err);
/* Call fn on every live key starting with prefix, in the order ds_list
 * gives, without building the list: a governor tick reads 1,100,000
 * records of which it keeps a few bytes each, and copying each into a list
 * first cost more than reading it. fn must not use ds meanwhile (the
 * embedded backend is in the middle of a statement). 0, or -1 with err: the
 * store's failure, or fn's. */
int ds_each(struct ds *ds, const char *prefix, ds_each_fn fn, void *arg,
            struct as_error *err);
/* Atomic put-if-absent, where the backend has it (ds_can_create); on one
 * without, "unsupported" (AS_EXIT_FAILURE). */
bool ds_can_create(const struct ds *ds);
int ds_create(struct ds *ds, const char *key, const char *value, long ttl_s,
              struct as_error *err);

/* Append a copy of name and value (NULL: "") to l (ds_list.c). Free the
 * whole list with ds_list_clear. */
void ds_list_add(struct ds_list *l, const char *name, const char *value);
void ds_list_clear(struct ds_list *l);

/* The embedded store's default path, newly allocated. */
char *ds_default_db_path(void);

#endif
