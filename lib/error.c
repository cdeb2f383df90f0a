/* error.c - see error.h. Messages are forced onto one line so an error is
 * always exactly one JSON line, whatever a server put in its error body. */
#include "error.h"
#include "jsonx.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message may quote what it refuses (any bytes a caller sent), and
 * snprintf may cut a character in two: jx_clean_line makes it one line of
 * valid UTF-8. */
static void one_line(char *s)
{
    jx_clean_line(s);
}

int as_failv(struct as_error *err, enum as_exit exit, const char *code,
             const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->exit = exit;
    snprintf(err->code, sizeof err->code, "%s", code);
    /* Scrub secrets from the whole message before it is cut to size, so a
     * secret straddling the cut cannot leave its first half behind. */
    char *raw = NULL, *clean = NULL;
    if (vasprintf(&raw, fmt, ap) >= 0)
        clean = secret_scrub(raw);
    snprintf(err->message, sizeof err->message, "%s", clean ? clean : "");
    free(raw);
    free(clean);
    one_line(err->message);
    return -1;
}

int as_fail(struct as_error *err, enum as_exit exit, const char *code,
            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    as_failv(err, exit, code, fmt, ap);
    va_end(ap);
    return -1;
}

void as_error_prefix(struct as_error *err, const char *fmt, ...)
{
    char prefix[256], old[sizeof err->message];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    /* A long message is cut at the end, never the context in front. */
    size_t n = strlen(prefix);
    if (n > sizeof err->message - 3)
        n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t room = sizeof err->message - n - 3;
    size_t m = strnlen(old, room);
    memcpy(err->message + n + 2, old, m);
    err->message[n + 2 + m] = '\0';
    one_line(err->message);
}

void as_error_clear(struct as_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}
