/* datastore.c - the table of backends, choosing and opening one, and the
 * calls every caller makes through it, which validate key names first. The
 * backends are ds_embedded.c and ds_st2.c (ds_int.h); lists are ds_list.c. */
#include "datastore.h"
#include "ds_int.h"
#include "log.h"
#include "secret.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ds_ops *const backends[] = {
    &ds_embedded_ops,
    &ds_st2_ops,
};

static const struct ds_ops *backend_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

struct ds *ds_open(const char *backend, const struct ds_config *cfg, struct as_error *err)
{
    const struct ds_ops *ops = backend ? backend_lookup(backend) : NULL;
    if (!ops) {
        as_fail(err, AS_EXIT_BADINPUT, "bad_datastore", "no datastore backend named '%s'",
                backend ? backend : "");
        return NULL;
    }
    return ops->open(cfg, err);
}

static struct ds *open_embedded(const char *path, bool read_only, struct as_error *err)
{
    return ds_open("embedded", &(struct ds_config){.path = path, .read_only = read_only},
                   err);
}

struct ds *ds_open_embedded(const char *path, struct as_error *err)
{
    return open_embedded(path, false, err);
}

struct ds *ds_open_st2(const struct ds_st2_config *cfg, struct as_error *err)
{
    struct ds_config c = {0};
    if (cfg)
        c.st2 = *cfg;
    return ds_open("st2", &c, err);
}

const char *ds_backend_name(const struct ds *ds) { return ds->ops->name; }

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

char *ds_default_db_path(void)
{
    const char *path = env("AUTOSCALE_DB");
    if (path)
        return xstrdup(path);
    const char *state = env("XDG_STATE_HOME");
    const char *home = env("HOME");
    if (state)
        return xasprintf("%s/autoscale/autoscale.db", state);
    return xasprintf("%s/.local/state/autoscale/autoscale.db", home ? home : "/tmp");
}

static struct ds *open_st2_from_env(const char *url, struct as_error *err)
{
    struct ds_st2_config cfg = {
        .base_url = url,
        .auth_token = env("ST2_ACTION_AUTH_TOKEN") ? env("ST2_ACTION_AUTH_TOKEN")
                                                   : env("ST2_AUTH_TOKEN"),
        .api_key = env("ST2_API_KEY"),
        .ca_bundle = env("ST2_CACERT"),
        .page_size = 100,
    };
    secret_register(cfg.auth_token);
    secret_register(cfg.api_key);
    return ds_open_st2(&cfg, err);
}

/* The selection rule is in datastore.h. AUTOSCALE_DB alone counts as a
 * choice: naming the file is as explicit as naming the backend. Nothing set
 * is refused because opening a default file there once made a person's run
 * by hand print an empty world instead of saying it looked at none. */
static struct ds *open_from_env(bool read_only, struct as_error *err)
{
    const char *choice = env("AUTOSCALE_DATASTORE");
    const char *url = env("ST2_ACTION_API_URL") ? env("ST2_ACTION_API_URL")
                                                : env("ST2_API_URL");

    if (choice && !backend_lookup(choice)) {
        as_fail(err, AS_EXIT_BADINPUT, "bad_datastore",
                "AUTOSCALE_DATASTORE must be st2 or embedded, not '%s'", choice);
        return NULL;
    }
    if ((choice && strcmp(choice, "st2") == 0) || (!choice && url)) {
        if (!url) {
            as_fail(err, AS_EXIT_BADINPUT, "bad_datastore",
                    "st2 datastore chosen but neither ST2_ACTION_API_URL nor "
                    "ST2_API_URL is set");
            return NULL;
        }
        log_debug("datastore: st2 at %s", url);
        return open_st2_from_env(url, err);
    }
    if (!choice && !env("AUTOSCALE_DB")) {
        as_fail(err, AS_EXIT_BADINPUT, "no_datastore",
                "no datastore chosen (not under st2): set AUTOSCALE_DATASTORE=embedded "
                "with AUTOSCALE_DB=<path of a SQLite file>, or AUTOSCALE_DATASTORE=st2 "
                "with ST2_API_URL=<https://host/api/v1> and ST2_API_KEY or ST2_AUTH_TOKEN");
        return NULL;
    }
    char *path = ds_default_db_path();
    /* Outside st2 the file decides which world a person sees: say which. */
    log_info("datastore: embedded at %s", path);
    struct ds *ds = open_embedded(path, read_only, err);
    free(path);
    return ds;
}

struct ds *ds_open_from_env(struct as_error *err)
{
    return open_from_env(false, err);
}

struct ds *ds_open_from_env_read_only(struct as_error *err)
{
    struct ds *ds = open_from_env(true, err);
    return ds ? ds_read_only(ds) : NULL;
}

void ds_close(struct ds *ds)
{
    if (ds)
        ds->ops->close(ds);
}

/* Key names go into URLs and SQL parameters; keep them boring so neither a
 * path trick nor a log-forging newline can ride in on one. */
static int check_key(const char *key, const char *what, struct as_error *err)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > 512)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_key",
                       "datastore %s must be 1 to 512 characters", what);
    for (size_t i = 0; i < n; i++)
        if (key[i] <= ' ' || key[i] >= 0x7f)
            return as_fail(err, AS_EXIT_BADINPUT, "bad_key",
                           "datastore %s has a space or non-printable character",
                           what);
    return 0;
}

int ds_get(struct ds *ds, const char *key, char **value, struct as_error *err)
{
    *value = NULL;
    if (check_key(key, "key", err) < 0)
        return -1;
    return ds->ops->get(ds, key, value, err);
}

int ds_put(struct ds *ds, const char *key, const char *value, long ttl_s,
           struct as_error *err)
{
    if (check_key(key, "key", err) < 0)
        return -1;
    return ds->ops->put(ds, key, value ? value : "", ttl_s, err);
}

int ds_del(struct ds *ds, const char *key, struct as_error *err)
{
    if (check_key(key, "key", err) < 0)
        return -1;
    return ds->ops->del(ds, key, err);
}

int ds_del_list(struct ds *ds, const struct ds_list *l, struct as_error *err)
{
    for (size_t i = 0; i < l->count; i++)
        if (ds_del(ds, l->items[i].name, err) < 0)
            return -1;
    return 0;
}

bool ds_can_create(const struct ds *ds) { return ds->ops->create != NULL; }

int ds_create(struct ds *ds, const char *key, const char *value, long ttl_s,
              struct as_error *err)
{
    if (check_key(key, "key", err) < 0)
        return -1;
    if (!ds->ops->create)
        return as_fail(err, AS_EXIT_FAILURE, "unsupported",
                       "the %s datastore has no atomic create", ds->ops->name);
    return ds->ops->create(ds, key, value ? value : "", ttl_s, err);
}

int ds_list(struct ds *ds, const char *prefix, struct ds_list *out,
            struct as_error *err)
{
    if (check_key(prefix, "prefix", err) < 0)
        return -1;
    if (ds->ops->list(ds, prefix, out, err) < 0)
        return -1;
    ds_list_sort(out);
    return 0;
}

int ds_each(struct ds *ds, const char *prefix, ds_each_fn fn, void *arg,
            struct as_error *err)
{
    if (check_key(prefix, "prefix", err) < 0)
        return -1;
    if (ds->ops->each)
        return ds->ops->each(ds, prefix, fn, arg, err);
    struct ds_list l = {0};
    int rc = ds_list(ds, prefix, &l, err);
    for (size_t i = 0; i < l.count && rc == 0; i++)
        rc = fn(arg, l.items[i].name, l.items[i].value, err) < 0 ? -1 : 0;
    ds_list_clear(&l);
    return rc;
}
