/* fuzz_common.c - see fuzz_common.h. */
#include "fuzz_common.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_int.h" /* the in-memory store below is a datastore backend */
#include "jsonx.h"
#include "st2.h"
#include "utf8.h"

/* ------------------------------------------------------------ no waits -- */

/* run.sh links with -Wl,--wrap=as_sleep_ms: every library call of
 * as_sleep_ms() (retry backoffs, polls) lands here and returns at once. */
int __wrap_as_sleep_ms(long ms);
int __wrap_as_sleep_ms(long ms)
{
    (void)ms;
    return as_interrupted() ? -1 : 0;
}

/* ---------------------------------------------------------------- checks -- */

void fz_check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz: invariant broken: %s\n", what);
        abort();
    }
}

bool fz_clean(const char *s, size_t size)
{
    size_t len = strnlen(s, size);
    if (len == size || !utf8_valid(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F ||
            (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9F))
            return false;
    }
    return true;
}

void fz_check_error(const struct as_error *err)
{
    fz_check(err->code[0] != '\0', "an error has a code");
    fz_check(fz_clean(err->code, sizeof err->code), "error code clean");
    fz_check(fz_clean(err->message, sizeof err->message), "error message one clean line");
    fz_check(err->exit != AS_EXIT_OK, "an error has an exit class");
}

/* ------------------------------------------------------------- splitting -- */

static const uint8_t *find(const uint8_t *p, size_t n, const char *sep, size_t slen)
{
    for (size_t i = 0; i + slen <= n; i++)
        if (memcmp(p + i, sep, slen) == 0)
            return p + i;
    return NULL;
}

size_t fz_split(const uint8_t *data, size_t size, const char *sep, struct fz_piece *out,
                size_t max)
{
    size_t n = 0, slen = strlen(sep);
    const uint8_t *p = data, *end = data + size;
    while (n < max) {
        const uint8_t *hit = n + 1 < max ? find(p, (size_t)(end - p), sep, slen) : NULL;
        size_t len = hit ? (size_t)(hit - p) : (size_t)(end - p);
        out[n].s = malloc(len + 1);
        memcpy(out[n].s, p, len);
        out[n].s[len] = '\0';
        out[n].len = len;
        n++;
        if (!hit)
            break;
        p = hit + slen;
    }
    return n;
}

void fz_pieces_free(struct fz_piece *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].s);
}

/* ------------------------------------------------------ memory datastore -- */

struct memds {
    struct ds_entry *items;
    size_t n, cap;
};

static struct ds_entry *mem_find(struct memds *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].name, key) == 0)
            return &m->items[i];
    return NULL;
}

static void mem_store(struct memds *m, const char *key, const char *value, size_t len)
{
    struct ds_entry *e = mem_find(m, key);
    if (!e) {
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 16;
            m->items = realloc(m->items, m->cap * sizeof *m->items);
        }
        e = &m->items[m->n++];
        e->name = strdup(key);
    } else {
        free(e->value);
    }
    e->value = malloc(len + 1);
    memcpy(e->value, value, len);
    e->value[len] = '\0';
}

static int mem_get(struct ds *ds, const char *key, char **value, struct as_error *err)
{
    (void)err;
    struct ds_entry *e = mem_find(ds->impl, key);
    if (!e)
        return DS_ABSENT;
    *value = strdup(e->value);
    return 0;
}

static int mem_put(struct ds *ds, const char *key, const char *value, long ttl_s,
                   struct as_error *err)
{
    (void)ttl_s, (void)err;
    mem_store(ds->impl, key, value, strlen(value));
    return 0;
}

static int mem_del(struct ds *ds, const char *key, struct as_error *err)
{
    (void)err;
    struct memds *m = ds->impl;
    struct ds_entry *e = mem_find(m, key);
    if (e) {
        free(e->name);
        free(e->value);
        *e = m->items[--m->n];
    }
    return 0;
}

static int mem_list(struct ds *ds, const char *prefix, struct ds_list *out,
                    struct as_error *err)
{
    struct memds *m = ds->impl;
    size_t plen = strlen(prefix);
    (void)err;
    for (size_t i = 0; i < m->n; i++)
        if (strncmp(m->items[i].name, prefix, plen) == 0)
            ds_list_add(out, m->items[i].name, m->items[i].value);
    ds_list_sort(out);
    return 0;
}

static void mem_close(struct ds *ds)
{
    struct memds *m = ds->impl;
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].name);
        free(m->items[i].value);
    }
    free(m->items);
    free(m);
    free(ds);
}

static const struct ds_ops mem_ops = {
    .name = "memory",
    .get = mem_get,
    .put = mem_put,
    .del = mem_del,
    .list = mem_list,
    .close = mem_close,
};

struct ds *fz_memds_new(void)
{
    struct ds *ds = calloc(1, sizeof *ds);
    ds->ops = &mem_ops;
    ds->impl = calloc(1, sizeof(struct memds));
    return ds;
}

void fz_memds_set(struct ds *ds, const char *key, const char *value, size_t len)
{
    mem_store(ds->impl, key, value, len);
}

size_t fz_memds_count(struct ds *ds) { return ((struct memds *)ds->impl)->n; }

/* ------------------------------------------------------ scripted replies -- */

struct fakecurl_reply { /* as in fake_curl.c */
    long status;
    const char *head;
    size_t head_len;
    const char *body;
    size_t body_len;
};

#define MAX_REPLIES 32
static struct fakecurl_reply replies[MAX_REPLIES];
static void (*script_fn)(const struct fakecurl_reply *, size_t);
static size_t (*used_fn)(void);

static void bind_fake(void)
{
    if (script_fn)
        return;
    /* The very instance http.c will load (same name, same search path). */
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    void *s = lib ? dlsym(lib, "fakecurl_script") : NULL;
    void *u = lib ? dlsym(lib, "fakecurl_used") : NULL;
    if (!s || !u) {
        fprintf(stderr, "fuzz: libcurl.so.4 is not tests/fuzz/fake_curl.c; run through "
                        "tests/fuzz/run.sh (it sets LD_LIBRARY_PATH)\n");
        abort();
    }
    memcpy(&script_fn, &s, sizeof s);
    memcpy(&used_fn, &u, sizeof u);
}

void fz_http_script(const struct fz_piece *pieces, size_t n)
{
    bind_fake();
    if (n > MAX_REPLIES)
        n = MAX_REPLIES;
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[i].s, *end = p + pieces[i].len;
        struct fakecurl_reply *r = &replies[i];
        r->status = strtol(p, NULL, 10);
        if (r->status > 999 || r->status < 0)
            r->status = 0;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *head = nl ? nl + 1 : end, *blank = head;
        /* headers end at the first empty line */
        while (blank < end) {
            const char *e = memchr(blank, '\n', (size_t)(end - blank));
            if (!e) {
                blank = end;
                break;
            }
            if (e == blank || (e == blank + 1 && *blank == '\r'))
                break;
            blank = e + 1;
        }
        r->head = head;
        r->head_len = (size_t)(blank - head);
        const char *body = blank < end ? (char *)memchr(blank, '\n', (size_t)(end - blank)) : NULL;
        body = body ? body + 1 : end;
        r->body = body;
        r->body_len = (size_t)(end - body);
    }
    script_fn(replies, n);
}

size_t fz_http_used(void) { return used_fn ? used_fn() : 0; }
