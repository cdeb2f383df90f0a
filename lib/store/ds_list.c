/* ds_list.c - the list a datastore listing fills (datastore.h): entries
 * whose names and values live in an arena, and the sort backends finish
 * with (ds_int.h). */
#include "datastore.h"
#include "ds_int.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

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
        struct ds_arena *b = xmalloc(sizeof *b + size);
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

void ds_list_add(struct ds_list *l, const char *name, const char *value)
{
    l->items = xgrow(l->items, l->count + 1, &l->cap, sizeof *l->items);
    if (!value)
        value = "";
    char *n = arena_copy(l, name, strlen(name));
    char *v = arena_copy(l, value, strlen(value));
    l->items[l->count++] = (struct ds_entry){n, v};
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

void ds_list_clear(struct ds_list *l)
{
    for (struct ds_arena *a = l->arena, *next; a; a = next) {
        next = a->next;
        free(a);
    }
    free(l->items);
    *l = (struct ds_list){0};
}
