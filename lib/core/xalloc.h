/* xalloc.h - allocation that does not fail: the pack's out-of-memory policy.
 *
 * An action is a short process whose every datastore change is one write, so
 * running out of memory leaves nothing half-done that it could repair; and
 * code that checks every allocation grows paths no test takes. So, as Redis's
 * zmalloc does, an allocation that fails ends the process: a message on
 * stderr, then abort() (st2 records the action as failed). Code allocates
 * through these and jsonx.h's jx_new_*, does not test the result for NULL,
 * and reports no "out_of_memory" for it (HACKING.md, "Out of memory"). */
#ifndef AS_XALLOC_H
#define AS_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Room for `need` items of `size` bytes in p, an array (or a byte buffer,
 * size 1) of *cap items, as git's ALLOC_GROW: p itself while need <= *cap,
 * else p grown by doubling (from 16 items) and *cap updated. What every
 * growing list and buffer uses: l->v = xgrow(l->v, l->n + 1, &l->cap, sizeof *l->v). */
void *xgrow(void *p, size_t need, size_t *cap, size_t size);

/* The end of the process for want of n bytes (0: unknown, as when a library
 * such as json-c returns NULL): what the wrappers call. */
_Noreturn void xalloc_die(size_t n);

/* Replace what xalloc_die does before it aborts (NULL: only the message on
 * stderr): the action front end may print its JSON error first. The handler
 * must not allocate. */
void xalloc_set_handler(void (*handler)(size_t n));

#endif
