/* utf8.h - text from elsewhere made safe for our one-line JSON output.
 * Below both error.c and jsonx.c, which clean every message they pass on. */
#ifndef AS_UTF8_H
#define AS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Is s valid UTF-8 (no overlongs, no surrogates)? */
bool utf8_valid(const char *s, size_t len);

/* Make s, in place, one line of valid UTF-8 without control characters,
 * for text from elsewhere (a server, a caller) that goes into our output:
 * a C0, DEL or C1 control becomes a space, each byte of no valid UTF-8
 * sequence (a character cut by snprintf, another encoding) '?'. */
void utf8_clean_line(char *s);

#endif
