/* error.c - see error.h. Messages are forced onto one line so an error is
 * always exactly one JSON line, whatever a server put in its error body. */
#include "error.h"
#include "secret.h"
#include "utf8.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message may quote what it refuses (any bytes a caller sent), and
 * snprintf may cut a character in two: utf8_clean_line makes it one line of
 * valid UTF-8. */
static void one_line(char *s)
{
    utf8_clean_line(s);
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
    char *raw = xvasprintf(fmt, ap), *clean = secret_scrub(raw);
    snprintf(err->message, sizeof err->message, "%s", clean);
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

bool as_error_is(const struct as_error *err, const char *code)
{
    return err && strcmp(err->code, code) == 0;
}

void as_error_recode(struct as_error *err, const char *code)
{
    if (err)
        snprintf(err->code, sizeof err->code, "%s", code);
}

int as_fail_unknown_provider(struct as_error *err, const char *area, const char *name,
                             const char *(*name_at)(size_t i), size_t n)
{
    char names[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 name_at(i));
    return as_fail(err, AS_EXIT_BADINPUT, "unknown_provider",
                   "no %s provider named '%.40s' (%s)", area, name ? name : "", names);
}
