/* strbuf.c - see strbuf.h. */
#include "strbuf.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

void strbuf_addn(struct strbuf *b, const char *s, size_t n)
{
    b->s = xgrow(b->s, b->len + n + 1, &b->cap, 1);
    if (n)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void strbuf_add(struct strbuf *b, const char *s)
{
    strbuf_addn(b, s, strlen(s));
}

void strbuf_clear(struct strbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}
