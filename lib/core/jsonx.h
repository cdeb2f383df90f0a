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

/* Compact serialisation, new (never NULL: xalloc.h). */
char *jx_dump(struct json_object *o);

/* Field access: NULL/absent-safe, type-checked. Return the value or the
 * fallback when the field is missing, null or of another type. */
const char *jx_str(struct json_object *o, const char *key, const char *fallback);
long long jx_int(struct json_object *o, const char *key, long long fallback);
bool jx_bool(struct json_object *o, const char *key, bool fallback);
struct json_object *jx_obj(struct json_object *o, const char *key); /* object or NULL */
struct json_object *jx_arr(struct json_object *o, const char *key); /* array or NULL */

/* json-c's constructors under the out-of-memory policy (xalloc.h): never
 * NULL, the process ends instead. jx_new_string(NULL) is JSON null (NULL). */
struct json_object *jx_new_object(void);
struct json_object *jx_new_array(void);
struct json_object *jx_new_string(const char *s);
struct json_object *jx_new_string_len(const char *s, size_t len); /* may hold NULs */
struct json_object *jx_new_int(long long v);
struct json_object *jx_new_bool(bool v);

/* Add helpers that tolerate a NULL string (stored as JSON null). */
void jx_add_str(struct json_object *o, const char *key, const char *val);
void jx_add_int(struct json_object *o, const char *key, long long val);
void jx_add_bool(struct json_object *o, const char *key, bool val);

#endif
