/* path.c - see path.h. */
#include "path.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int bad(struct as_error *err, const char *what, const char *why)
{
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter", "parameter '%s' %s", what, why);
}

int as_path_check(const char *path, const char *what, struct as_error *err)
{
    if (!path || path[0] != '/')
        return bad(err, what, "must be an absolute path");
    if (strlen(path) > 4095)
        return bad(err, what, "is longer than 4095 bytes");
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return bad(err, what, "has a control character");
    /* "/a/../etc" names something other than it seems to; "." and "//"
     * only hide what is meant. A trailing '/' is harmless. */
    for (const char *c = path; *c;) {
        const char *next = strchr(c + 1, '/');
        size_t len = next ? (size_t)(next - c - 1) : strlen(c + 1);
        const char *comp = c + 1;
        if ((len == 0 && next) || (len == 1 && comp[0] == '.') ||
            (len == 2 && comp[0] == '.' && comp[1] == '.'))
            return bad(err, what, "must not have '.', '..' or empty components");
        if (!next)
            break;
        c = next;
    }
    return 0;
}
