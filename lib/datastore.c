/* datastore.c - backend selection, key validation and list helpers shared by
 * both backends (ds_embedded.c, ds_st2.c). */
#include "datastore.h"
#include "log.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

char *ds_default_db_path(void)
{
    const char *path = env("AUTOSCALE_DB");
    if (path)
        return strdup(path);
    const char *state = env("XDG_STATE_HOME");
    const char *home = env("HOME");
    char *out = NULL;
    if (state) {
        if (asprintf(&out, "%s/autoscale/autoscale.db", state) < 0)
            out = NULL;
    } else if (asprintf(&out, "%s/.local/state/autoscale/autoscale.db",
                        home ? home : "/tmp") < 0) {
        out = NULL;
    }
    return out;
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
struct ds *ds_open_from_env(struct as_error *err)
{
    const char *choice = env("AUTOSCALE_DATASTORE");
    const char *url = env("ST2_ACTION_API_URL") ? env("ST2_ACTION_API_URL")
                                                : env("ST2_API_URL");

    if (choice && strcmp(choice, "st2") != 0 && strcmp(choice, "embedded") != 0) {
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
    if (!path) {
        as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
        return NULL;
    }
    /* Outside st2 the file decides which world a person sees: say which. */
    log_info("datastore: embedded at %s", path);
    struct ds *ds = ds_open_embedded(path, err);
    free(path);
    return ds;
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

/* Names and values are copied into large blocks instead of two mallocs an
 * entry: listing every group reads 100,000+ entries, and the per-entry
 * allocations (and frees) were the biggest cost of a governor tick. */
struct ds_arena {
    struct ds_arena *next;
    size_t used, size;
    char data[];
};

#define ARENA_BLOCK (256 * 1024)

static char *arena_copy(struct ds_list *l, const char *s, size_t n)
{
    struct ds_arena *a = l->arena;
    if (!a || a->size - a->used < n + 1) {
        size_t size = n + 1 > ARENA_BLOCK ? n + 1 : ARENA_BLOCK;
        struct ds_arena *b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->next = a;
        b->used = 0;
        b->size = size;
        l->arena = a = b;
    }
    char *p = a->data + a->used;
    memcpy(p, s, n);
    p[n] = '\0';
    a->used += n + 1;
    return p;
}

int ds_list_add(struct ds_list *l, const char *name, const char *value)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct ds_entry *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    if (!value)
        value = "";
    char *n = arena_copy(l, name, strlen(name));
    char *v = n ? arena_copy(l, value, strlen(value)) : NULL;
    if (!v)
        return -1;
    l->items[l->count++] = (struct ds_entry){n, v};
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct ds_entry *)a)->name,
                  ((const struct ds_entry *)b)->name);
}

/* Both backends already return name order; checking is O(n), sorting
 * 100,000 entries again is not free. */
void ds_list_sort(struct ds_list *l)
{
    for (size_t i = 1; i < l->count; i++) {
        if (strcmp(l->items[i - 1].name, l->items[i].name) > 0) {
            qsort(l->items, l->count, sizeof *l->items, by_name);
            return;
        }
    }
}

void ds_list_free(struct ds_list *l)
{
    for (struct ds_arena *a = l->arena, *next; a; a = next) {
        next = a->next;
        free(a);
    }
    free(l->items);
    *l = (struct ds_list){0};
}
