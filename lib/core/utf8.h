/* utf8.h - text from elsewhere made safe for our one-line JSON output.
 * Below both error.c and jsonx.c, which clean every message they pass on. */
#ifndef AS_UTF8_H
#define AS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Is s valid UTF-8 (no overlongs, no surrogates)? */
bool utf8_valid(const char *s, size_t len);

/* The characters (code points) of s[0..len), counting every byte that is
 * not a continuation byte: how st2 counts a parameter's maxLength
 * (jsonschema on a Python str), so a limit checked here refuses what st2
 * refuses. Meaningful for valid UTF-8 (utf8_valid). */
size_t utf8_chars(const char *s, size_t len);

/* Make s, in place, one line of valid UTF-8 without control characters,
 * for text from elsewhere (a server, a caller) that goes into our output:
 * a C0, DEL or C1 control becomes a space, each byte of no valid UTF-8
 * sequence (a character cut by snprintf, another encoding) '?'. */
void utf8_clean_line(char *s);

#endif
