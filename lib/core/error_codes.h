/* error_codes.h - the registry of error codes: every code an action can
 * print in {"error": {"code", "message"}}, the exit statuses it comes with,
 * and what it means.
 *
 * A code is what a workflow branches on, so it is part of the pack's
 * interface, like a parameter: one row in error_codes.c, one row in
 * docs/errors.md. packlint checks the three against each other: every code
 * the C writes (as_fail's code argument and the other places a code is set)
 * is a row, every row is written somewhere, every row is documented with the
 * same exit statuses. Adding a code: HACKING.md, "Error codes". */
#ifndef AS_ERROR_CODES_H
#define AS_ERROR_CODES_H

#include <stddef.h>

#include "error.h"

/* The exit statuses a code comes with, as a set of bits. */
#define AS_X_FAILURE (1u << AS_EXIT_FAILURE)
#define AS_X_BADINPUT (1u << AS_EXIT_BADINPUT)

struct as_error_code {
    const char *code;    /* [a-z0-9_], fits struct as_error's code */
    unsigned exits;      /* AS_X_FAILURE and/or AS_X_BADINPUT */
    const char *meaning; /* one line */
};

/* Sorted by code. */
extern const struct as_error_code as_error_codes[];
extern const size_t as_error_code_count;

/* The row of `code`, or NULL when no such code is registered. */
const struct as_error_code *as_error_code_find(const char *code);

#endif
