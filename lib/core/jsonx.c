/* jsonx.c - see jsonx.h. */
#include "jsonx.h"
#include "utf8.h"
#include "xalloc.h"

#include <string.h>

static const char *skip_ws(const char *p);

/* Where the tokener stopped. json-c 0.13 (Ubuntu 20.04, EL8) has no
 * json_tokener_get_parse_end(); its tokener's public char_offset is the same
 * offset, and newer json-c still has the field, so `make COMPAT=old`
 * (AS_COMPAT_JSONC_013) builds and tests this path on any json-c. */
#if defined(AS_COMPAT_JSONC_013) || JSON_C_VERSION_NUM < 0x000e00
static size_t parse_end(struct json_tokener *tok)
{
    return (size_t)tok->char_offset;
}
#else
static size_t parse_end(struct json_tokener *tok)
{
    return json_tokener_get_parse_end(tok);
}
#endif

struct json_object *jx_parse(const char *text, size_t len, const char *what,
                             const char *code, enum as_exit exit,
                             struct as_error *err)
{
    if (!text || len == 0) {
        as_fail(err, exit, code, "%s is empty, expected JSON", what);
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        xalloc_die(0);
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = parse_end(tok);
    if (!o && jerr == json_tokener_continue && used == len) {
        /* A bare scalar ending at the last byte ("5", "null") is only known
         * to be complete once the tokener sees the end: feed it a NUL. */
        o = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    json_tokener_free(tok);

    if (!o && jerr == json_tokener_success) {
        as_fail(err, exit, code, "%s is JSON null, expected a document", what);
        return NULL;
    }
    if (jerr != json_tokener_success) {
        json_object_put(o);
        as_fail(err, exit, code, "%s is not valid JSON: %s", what,
                jerr == json_tokener_continue ? "unexpected end of input"
                                              : json_tokener_error_desc(jerr));
        return NULL;
    }
    for (; used < len; used++) {
        char c = text[used];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            json_object_put(o);
            as_fail(err, exit, code, "%s has trailing data after the JSON document",
                    what);
            return NULL;
        }
    }
    return o;
}

struct json_object *jx_parse_record(const char *text)
{
    static struct json_tokener *tok;
    if (!tok && !(tok = json_tokener_new()))
        xalloc_die(0);
    json_tokener_reset(tok);
    size_t len = strlen(text);
    /* json-c keeps any bytes inside strings and would hand them on to our
     * UTF-8-only output: a record in another encoding is corrupt. */
    if (!utf8_valid(text, len))
        return NULL;
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(o, json_type_object) ||
        *skip_ws(text + parse_end(tok)) != '\0') {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* The bytes that end a run of a string's plain characters, and of a
 * scalar's: looked up rather than compared one by one, since peeking at
 * 100,000 node records spends most of its time in these two loops. */
static const bool ends_string_run[256] = {['\0'] = 1, ['"'] = 1, ['\\'] = 1};
static const bool ends_scalar[256] = {
    ['\0'] = 1, [','] = 1, [':'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1,
    ['"'] = 1, [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1,
};

/* Past a string starting at its opening quote, or NULL. */
static const char *skip_string(const char *p)
{
    for (p++;; p += 2) { /* past a backslash and the character it escapes */
        while (!ends_string_run[(unsigned char)*p])
            p++;
        if (*p != '\\')
            return *p == '"' ? p + 1 : NULL;
        if (!p[1])
            return NULL;
    }
}

/* Past one value of any kind, or NULL. Containers are skipped by depth,
 * strings by their quotes, scalars up to the next delimiter. */
static const char *skip_value(const char *p)
{
    int depth = 0;
    do {
        p = skip_ws(p);
        if (*p == '"') {
            p = skip_string(p);
        } else if (*p == '{' || *p == '[') {
            depth++, p++;
        } else if (*p == '}' || *p == ']') {
            if (--depth < 0)
                return NULL;
            p++;
        } else if (*p == ',' || *p == ':') {
            if (depth == 0)
                return NULL;
            p++;
        } else if (*p) {
            while (!ends_scalar[(unsigned char)*p])
                p++;
        } else {
            return NULL;
        }
    } while (p && depth > 0);
    return p;
}

int jx_peek_str(const char *text, const char *key, char *out, size_t outsz)
{
    size_t klen = strlen(key);
    const char *p = skip_ws(text);
    if (*p++ != '{')
        return -1;
    for (p = skip_ws(p); *p == '"'; p = skip_ws(p + 1)) {
        const char *k = p + 1, *end = skip_string(p);
        if (!end || *(p = skip_ws(end)) != ':')
            return -1;
        const char *v = skip_ws(p + 1);
        bool match = (size_t)(end - 1 - k) == klen && memcmp(k, key, klen) == 0;
        if (match && *v == '"') {
            /* up to the closing quote; an escape or the text's end: -1 */
            const char *vend = v + 1;
            while (!ends_string_run[(unsigned char)*vend])
                vend++;
            size_t n = (size_t)(vend - v - 1);
            if (*vend != '"' || n >= outsz)
                return -1;
            memcpy(out, v + 1, n);
            out[n] = '\0';
            return 0;
        }
        if (match || !(p = skip_value(v)))
            return -1;
        p = skip_ws(p);
        if (*p != ',')
            return -1;
    }
    return -1;
}

char *jx_dump(struct json_object *o)
{
    const char *s = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!s) /* json-c's print buffer could not grow */
        xalloc_die(0);
    return xstrdup(s);
}

static struct json_object *field(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object))
        json_object_object_get_ex(o, key, &v);
    return v;
}

const char *jx_str(struct json_object *o, const char *key, const char *fallback)
{
    struct json_object *v = field(o, key);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                    : fallback;
}

long long jx_int(struct json_object *o, const char *key, long long fallback)
{
    struct json_object *v = field(o, key);
    return json_object_is_type(v, json_type_int) ? (long long)json_object_get_int64(v)
                                                 : fallback;
}

bool jx_bool(struct json_object *o, const char *key, bool fallback)
{
    struct json_object *v = field(o, key);
    return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v)
                                                     : fallback;
}

struct json_object *jx_obj(struct json_object *o, const char *key)
{
    struct json_object *v = field(o, key);
    return json_object_is_type(v, json_type_object) ? v : NULL;
}

struct json_object *jx_arr(struct json_object *o, const char *key)
{
    struct json_object *v = field(o, key);
    return json_object_is_type(v, json_type_array) ? v : NULL;
}

struct json_object *jx_new_object(void)
{
    struct json_object *o = json_object_new_object();
    if (!o)
        xalloc_die(0);
    return o;
}

struct json_object *jx_new_array(void)
{
    struct json_object *o = json_object_new_array();
    if (!o)
        xalloc_die(0);
    return o;
}

struct json_object *jx_new_string(const char *s)
{
    struct json_object *o = s ? json_object_new_string(s) : NULL;
    if (s && !o)
        xalloc_die(strlen(s) + 1);
    return o;
}

struct json_object *jx_new_string_len(const char *s, size_t len)
{
    struct json_object *o = json_object_new_string_len(s, (int)len);
    if (!o)
        xalloc_die(len + 1);
    return o;
}

struct json_object *jx_new_int(long long v)
{
    struct json_object *o = json_object_new_int64(v);
    if (!o)
        xalloc_die(0);
    return o;
}

struct json_object *jx_new_bool(bool v)
{
    struct json_object *o = json_object_new_boolean(v);
    if (!o)
        xalloc_die(0);
    return o;
}

void jx_add_str(struct json_object *o, const char *key, const char *val)
{
    json_object_object_add(o, key, jx_new_string(val));
}

void jx_add_int(struct json_object *o, const char *key, long long val)
{
    json_object_object_add(o, key, jx_new_int(val));
}

void jx_add_bool(struct json_object *o, const char *key, bool val)
{
    json_object_object_add(o, key, jx_new_bool(val));
}

