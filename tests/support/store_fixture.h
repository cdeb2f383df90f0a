/* store_fixture.h - the fixture shared by end-to-end tests that run actions
 * on an embedded datastore: a fresh temporary directory holding the store,
 * the environment that points every action at it, and the datastore reached
 * directly, to arrange what an action finds and to check what it left.
 *
 * The helpers fail the running cmocka test themselves, so they are called
 * from tests and from cmocka setup functions. */
#ifndef TEST_STORE_FIXTURE_H
#define TEST_STORE_FIXTURE_H

#include <stdarg.h>

#include "action_run.h"
#include "datastore.h"

struct store_fixture {
    char dir[64], db[128], env_db[160], env_now[64];
    /* env[0] is AUTOSCALE_DB; env[1] the clock when `now` is set, otherwise
     * free for a test's own variable; NULL-terminated. */
    const char *env[4];
    long long now; /* AUTOSCALE_TEST_NOW of every run from now on; 0: none */
};

/* Make /tmp/<prefix>-XXXXXX with the store at <dir>/store.db: 0, or -1 when
 * the directory could not be made. */
int store_fixture_open(struct store_fixture *s, const char *prefix);

/* Point the fixture at another store file, <dir>/<name>. */
void store_fixture_use(struct store_fixture *s, const char *name);

/* Remove the directory and all in it: 0, or -1 when that failed. */
int store_fixture_close(struct store_fixture *s);

/* cmocka setup and teardown for a test whose state is a store_fixture. */
int store_setup(void **state, const char *prefix, long long now);
int store_teardown(void **state);

/* The environment for action_run()/action_start(), the clock brought up to
 * date with `now`. */
const char *const *store_env(struct store_fixture *s);

/* Run an action with args (NULL-terminated array, or NULL-terminated
 * varargs) and fail the test unless it kept st2's output contract whatever
 * its outcome. Returns the exit status; the output is in *r. */
int store_runv(struct store_fixture *s, const char *name, const char *const *args,
               struct action_result *r);
int store_run(struct store_fixture *s, const char *name, struct action_result *r, ...);
int store_vrun(struct store_fixture *s, const char *name, struct action_result *r, va_list ap);
/* The same with first (NULL-terminated, may be NULL) before the va_list's. */
int store_vrun_after(struct store_fixture *s, const char *name, const char *const *first,
                     struct action_result *r, va_list ap);

/* The store, opened (ds_close() it); the test fails if it cannot be. */
struct ds *store_open(const struct store_fixture *s);

void store_put(const struct store_fixture *s, const char *key, const char *value);
void store_del(const struct store_fixture *s, const char *key);

/* Every key under prefix, with its value, into *l (ds_list_clear() it). */
void store_list(const struct store_fixture *s, const char *prefix, struct ds_list *l);

/* How many keys there are under prefix. */
size_t store_count(const struct store_fixture *s, const char *prefix);

/* Every key and value of the pack, one "key=value" line each (free() it):
 * equal snapshots taken before and after an action mean it changed nothing. */
char *store_snapshot(const struct store_fixture *s);

/* A node record as add_node leaves it, of the local provider (provider_id
 * NULL: the name); a new reference, to add to before store_put_node(). */
struct json_object *store_node_record(const char *group, const char *name, const char *state,
                                      const char *addr, int port, const char *provider_id);

/* Store a node record under its group's and name's key, and drop it. */
void store_put_node(const struct store_fixture *s, struct json_object *rec);

#endif
