/* strbuf.h - a growing string: what a request head, a shell script or a
 * frame is built in. Zero-initialised is empty; after the first add, s is
 * NUL-terminated (len does not count the NUL), so it can be handed on as a
 * C string. Memory runs out only through xalloc's policy. */
#ifndef AS_STRBUF_H
#define AS_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *s;
    size_t len, cap;
};

void strbuf_addn(struct strbuf *b, const char *s, size_t n);
void strbuf_add(struct strbuf *b, const char *s);
void strbuf_clear(struct strbuf *b); /* free and empty */

#endif
