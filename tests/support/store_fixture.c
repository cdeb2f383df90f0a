/* store_fixture.c - see store_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "keys.h"
#include "store_fixture.h"
#include "test_util.h"

#define MAX_ARGS 32

int store_fixture_open(struct store_fixture *s, const char *prefix)
{
    if (test_tmpdir(s->dir, sizeof s->dir, prefix) < 0)
        return -1;
    store_fixture_use(s, "store.db");
    return 0;
}

void store_fixture_use(struct store_fixture *s, const char *name)
{
    snprintf(s->db, sizeof s->db, "%s/%s", s->dir, name);
    snprintf(s->env_db, sizeof s->env_db, "AUTOSCALE_DB=%s", s->db);
    s->env[0] = s->env_db;
}

int store_fixture_close(struct store_fixture *s)
{
    return test_rmtree(s->dir);
}

int store_setup(void **state, const char *prefix, long long now)
{
    struct store_fixture *s = calloc(1, sizeof *s);
    assert_int_equal(store_fixture_open(s, prefix), 0);
    s->now = now;
    *state = s;
    return 0;
}

int store_teardown(void **state)
{
    struct store_fixture *s = *state;
    assert_int_equal(store_fixture_close(s), 0);
    free(s);
    return 0;
}

const char *const *store_env(struct store_fixture *s)
{
    if (s->now) {
        snprintf(s->env_now, sizeof s->env_now, "AUTOSCALE_TEST_NOW=%lld", s->now);
        s->env[1] = s->env_now;
    }
    return s->env;
}

int store_runv(struct store_fixture *s, const char *name, const char *const *args,
               struct action_result *r)
{
    action_run(name, args, store_env(s), r);
    /* action_run() parses stdout only when it is one newline-ended line, so
     * a parsed document proves the one-line half of the contract too. */
    if (!r->json)
        fail_msg("%s did not print exactly one JSON document on one line: [%s] stderr: %s",
                 name, r->out, r->err);
    return r->status;
}

int store_vrun_after(struct store_fixture *s, const char *name, const char *const *first,
                     struct action_result *r, va_list ap)
{
    const char *args[MAX_ARGS + 1];
    int n = 0;
    for (; first && first[n] && n < MAX_ARGS; n++)
        args[n] = first[n];
    for (const char *a; (a = va_arg(ap, const char *));) {
        if (n == MAX_ARGS)
            fail_msg("%s: more than %d arguments", name, MAX_ARGS);
        args[n++] = a;
    }
    args[n] = NULL;
    return store_runv(s, name, args, r);
}

int store_vrun(struct store_fixture *s, const char *name, struct action_result *r, va_list ap)
{
    return store_vrun_after(s, name, NULL, r, ap);
}

int store_run(struct store_fixture *s, const char *name, struct action_result *r, ...)
{
    va_list ap;
    va_start(ap, r);
    int status = store_vrun(s, name, r, ap);
    va_end(ap);
    return status;
}

struct ds *store_open(const struct store_fixture *s)
{
    struct as_error err;
    struct ds *ds = ds_open_embedded(s->db, &err);
    if (!ds)
        fail_msg("cannot open the store %s", s->db);
    return ds;
}

void store_put(const struct store_fixture *s, const char *key, const char *value)
{
    struct as_error err;
    struct ds *ds = store_open(s);
    assert_int_equal(ds_put(ds, key, value, 0, &err), 0);
    ds_close(ds);
}

void store_del(const struct store_fixture *s, const char *key)
{
    struct as_error err;
    struct ds *ds = store_open(s);
    assert_int_equal(ds_del(ds, key, &err), 0);
    ds_close(ds);
}

void store_list(const struct store_fixture *s, const char *prefix, struct ds_list *l)
{
    struct as_error err;
    struct ds *ds = store_open(s);
    memset(l, 0, sizeof *l);
    assert_int_equal(ds_list(ds, prefix, l, &err), 0);
    ds_close(ds);
}

size_t store_count(const struct store_fixture *s, const char *prefix)
{
    struct ds_list l;
    store_list(s, prefix, &l);
    size_t n = l.count;
    ds_list_clear(&l);
    return n;
}

char *store_snapshot(const struct store_fixture *s)
{
    struct ds_list l;
    size_t len = 1;
    store_list(s, KEY_ROOT, &l);
    for (size_t i = 0; i < l.count; i++)
        len += strlen(l.items[i].name) + strlen(l.items[i].value) + 2;
    char *out = calloc(1, len), *p = out;
    for (size_t i = 0; i < l.count; i++)
        p += sprintf(p, "%s=%s\n", l.items[i].name, l.items[i].value);
    ds_list_clear(&l);
    return out;
}

struct json_object *store_node_record(const char *group, const char *name, const char *state,
                                      const char *addr, int port, const char *provider_id)
{
    struct json_object *o = json_object_new_object();
    jx_add_str(o, "name", name);
    jx_add_str(o, "group", group);
    jx_add_str(o, "state", state);
    jx_add_str(o, "provider", "local");
    jx_add_str(o, "provider_id", provider_id ? provider_id : name);
    jx_add_str(o, "address", addr);
    jx_add_int(o, "port", port);
    return o;
}

void store_put_node(const struct store_fixture *s, struct json_object *rec)
{
    char key[KEY_MAX];
    store_put(s, key_node(key, jx_str(rec, "group", ""), jx_str(rec, "name", "")),
              json_object_to_json_string(rec));
    json_object_put(rec);
}
