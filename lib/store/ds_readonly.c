/* ds_readonly.c - a read-only view of an open store (datastore.h): reads
 * pass through, every write is refused with "read_only". The operator
 * commands (actions/runner/cli.c) and the actions that only read (asg_get,
 * asg_list) look at the world through it (ds_open_from_env_read_only), so
 * a write that creeps into their path fails the same way on both backends,
 * whether or not the embedded file could be opened read-only. */
#include "datastore.h"
#include "ds_int.h"
#include "xalloc.h"

#include <stdlib.h>

struct ro {
    struct ds self;
    struct ds *inner;
};

static struct ds *inner(struct ds *ds)
{
    return ((struct ro *)ds->impl)->inner;
}

static int ro_get(struct ds *ds, const char *key, char **value, struct as_error *err)
{
    return ds_get(inner(ds), key, value, err);
}

static int ro_list(struct ds *ds, const char *prefix, struct ds_list *out,
                   struct as_error *err)
{
    return ds_list(inner(ds), prefix, out, err);
}

/* Straight through, so a reader walks the embedded rows as the governor
 * does (ds_each falls back to a listing where the inner store has none). */
static int ro_each(struct ds *ds, const char *prefix, ds_each_fn fn, void *arg,
                   struct as_error *err)
{
    return ds_each(inner(ds), prefix, fn, arg, err);
}

static int refuse(const char *key, struct as_error *err)
{
    return as_fail(err, AS_EXIT_FAILURE, "read_only",
                   "this datastore was opened read-only: a write of %s was refused", key);
}

static int ro_put(struct ds *ds, const char *key, const char *value, long ttl_s,
                  struct as_error *err)
{
    (void)ds, (void)value, (void)ttl_s;
    return refuse(key, err);
}

static int ro_del(struct ds *ds, const char *key, struct as_error *err)
{
    (void)ds;
    return refuse(key, err);
}

static int ro_create(struct ds *ds, const char *key, const char *value, long ttl_s,
                     struct as_error *err)
{
    (void)ds, (void)value, (void)ttl_s;
    return refuse(key, err);
}

static void ro_close(struct ds *ds)
{
    struct ro *r = ds->impl;
    ds_close(r->inner);
    free(r);
}

/* Two tables, so that ds_can_create() answers as the inner store does and
 * the readers (lib/store/claim.c) take the same path as the actions. */
#define RO_OPS .name = "read-only", .get = ro_get, .put = ro_put, .del = ro_del, \
               .list = ro_list, .each = ro_each, .close = ro_close
static const struct ds_ops ro_ops = {RO_OPS};
static const struct ds_ops ro_ops_create = {RO_OPS, .create = ro_create};

struct ds *ds_read_only(struct ds *in)
{
    struct ro *r = xcalloc(1, sizeof *r);
    r->inner = in;
    r->self.ops = ds_can_create(in) ? &ro_ops_create : &ro_ops;
    r->self.impl = r;
    return &r->self;
}
