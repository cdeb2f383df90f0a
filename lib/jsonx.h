/* jsonx.h - small type-checked helpers over json-c, shared by every module
 * that reads untrusted JSON (parameters, datastore values, server replies). */
#ifndef AS_JSONX_H
#define AS_JSONX_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Parse exactly one JSON document (trailing garbage is an error). On error
 * fills err with code `code` and `what` in the message, returns NULL. */
struct json_object *jx_parse(const char *text, size_t len, const char *what,
                             const char *code, enum as_exit exit,
                             struct as_error *err);

/* A stored record: the object `text` holds, or NULL if it is not one JSON
 * object. Reuses one tokener for the whole process: building a tokener per
 * record dominated reading 100,000 records (its stack and buffer are
 * allocated and freed each time). Not thread-safe; actions are not threaded. */
struct json_object *jx_parse_record(const char *text);

/* The string value of a top-level key of the JSON object in text, copied
 * into out, without building the document: reading the state of 100,000
 * node records through json-c cost most of a governor tick (json-c sets up
 * a locale on every parse). Returns 0, or -1 if text is not an object, the
 * key is absent, not a string, has escapes, or does not fit. */
int jx_peek_str(const char *text, const char *key, char *out, size_t outsz);

/* Compact serialisation, newly allocated. */
char *jx_dump(struct json_object *o);

/* Field access: NULL/absent-safe, type-checked. Return the value or the
 * fallback when the field is missing, null or of another type. */
const char *jx_str(struct json_object *o, const char *key, const char *fallback);
long long jx_int(struct json_object *o, const char *key, long long fallback);
bool jx_bool(struct json_object *o, const char *key, bool fallback);
struct json_object *jx_obj(struct json_object *o, const char *key); /* object or NULL */
struct json_object *jx_arr(struct json_object *o, const char *key); /* array or NULL */

/* Add helpers that tolerate a NULL string (stored as JSON null). */
void jx_add_str(struct json_object *o, const char *key, const char *val);
void jx_add_int(struct json_object *o, const char *key, long long val);
void jx_add_bool(struct json_object *o, const char *key, bool val);

/* Is s valid UTF-8 (no overlongs, no surrogates)? */
bool jx_utf8_valid(const char *s, size_t len);

/* Make s, in place, one line of valid UTF-8 without control characters,
 * for text from elsewhere (a server, a caller) that goes into our output:
 * a C0, DEL or C1 control becomes a space, each byte of no valid UTF-8
 * sequence (a character cut by snprintf, another encoding) '?'. */
void jx_clean_line(char *s);

#endif
