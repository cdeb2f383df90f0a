/* error.h - one error value carried from the library to an action's JSON output.
 *
 * Every failure has a stable machine-readable code (what a workflow branches on)
 * and a one-line human message. The exit status class decides the process exit:
 * AS_EXIT_FAILURE for operational failures a retry may cure, AS_EXIT_BADINPUT for
 * requests that can never succeed as given. Every code is registered, with its
 * exit statuses and meaning, in error_codes.c (packlint refuses any other). */
#ifndef AS_ERROR_H
#define AS_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum as_exit {
    AS_EXIT_OK = 0,
    AS_EXIT_FAILURE = 1, /* datastore/provider/network failure, interrupted */
    AS_EXIT_BADINPUT = 2 /* bad parameter, unknown group, conflict */
};

struct as_error {
    enum as_exit exit;
    char code[48];     /* e.g. "missing_parameter"; [a-z_] only */
    char message[512]; /* one line, secrets scrubbed before printing */
};

/* Fill *err (if non-NULL) and return -1, so callers can write
 * `return as_fail(err, AS_EXIT_BADINPUT, "invalid_name", "...", ...);` */
int as_fail(struct as_error *err, enum as_exit exit, const char *code,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The va_list form, for wrappers that are themselves printf-like: the
 * attribute (format index 4, no variadic arguments to check) lets the compiler
 * check each wrapper's callers and accept the non-literal fmt passed on here. */
int as_failv(struct as_error *err, enum as_exit exit, const char *code,
             const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/* Prefix an existing error's message with context ("group web: ..."). */
void as_error_prefix(struct as_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void as_error_clear(struct as_error *err);

/* Does err carry this code (false for NULL)? What code branches on, rather
 * than comparing err->code itself: packlint checks the code is registered. */
bool as_error_is(const struct as_error *err, const char *code);

/* Give an existing error (if non-NULL) another code, keeping its exit status
 * and message: a layer that names a lower layer's failure in its own family
 * ("http_timeout" becomes "lb_timeout"). */
void as_error_recode(struct as_error *err, const char *code);

/* AS_EXIT_BADINPUT "unknown_provider": "no <area> provider named '<name>'
 * (<names>)", the names those of the area's table, name_at(0) to
 * name_at(n - 1), so a new provider is listed without another edit. -1. */
int as_fail_unknown_provider(struct as_error *err, const char *area, const char *name,
                             const char *(*name_at)(size_t i), size_t n);

#endif
