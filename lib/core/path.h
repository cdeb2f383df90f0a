/* path.h - the one rule for a path setting (docs/actions.md, "Paths"). */
#ifndef AS_PATH_H
#define AS_PATH_H

#include "error.h"

/* Absolute, at most 4095 bytes, no "." or ".." component, no empty
 * component ("//"), no control character. 0, or -1 with AS_EXIT_BADINPUT
 * "invalid_parameter" naming `what` (the parameter or setting). */
int as_path_check(const char *path, const char *what, struct as_error *err);

#endif
