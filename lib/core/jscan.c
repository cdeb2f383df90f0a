/* jscan.c - see jscan.h. The cold parts: the table, escapes, numbers, and
 * the walk over a flat object. */
#include "jscan.h"

#include <stdlib.h>

const bool jscan_plain[256] = {
    [0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    [0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    [0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    [0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    [0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    [0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};

/* Four hex digits naming printable ASCII: json-c decodes these to the one
 * byte, where a control character, a surrogate or a character beyond ASCII
 * would need json-c's own decoding (and its verdict). */
static bool hex4_ascii(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return false; /* the NUL too: nothing past it is read */
        v = v * 16 + d;
    }
    return v >= 0x20 && v <= 0x7e;
}

const char *jscan_escape(const char *p)
{
    if (p[1] && strchr("\"\\/bfnrt", p[1]))
        return p + 2;
    if (p[1] == 'u' && hex4_ascii(p + 2))
        return p + 6;
    return NULL;
}

const char *jscan_number(const char *p, double *v)
{
    const char *q = p;
    q += *q == '-';
    if (*q == '0')
        q++;
    else if (*q >= '1' && *q <= '9')
        while (*q >= '0' && *q <= '9')
            q++;
    else
        return NULL;
    bool real = *q == '.' || *q == 'e' || *q == 'E';
    if (!real) {
        /* An integer: json-c reads it as one (int64; past that clamped, or
         * uint64, by version) and gives it as a double from there, so
         * jscan_int's rules and the same conversion. */
        long long i;
        if (!jscan_int(p, &i))
            return NULL;
        *v = (double)i;
        return q;
    }
    if (*q == '.') {
        if (*++q < '0' || *q > '9')
            return NULL;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    if (*q == 'e' || *q == 'E') {
        q += (q[1] == '+' || q[1] == '-') + 1;
        if (*q < '0' || *q > '9')
            return NULL;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    char *end;
    double x = strtod(p, &end);
    if (end != q) /* strtod read more or less than the grammar: json-c's call */
        return NULL;
    *v = x;
    return q;
}

/* jscan_value and jscan_object's bodies, inlined into jscan_object's
 * loop and specialised on escapes: as calls they cost reading a spec ~8%
 * more instructions than the loop they replaced (callgrind). */
static inline __attribute__((always_inline)) const char *
value_at(const char *p, struct jscan_val *v, bool escapes)
{
    switch (*p) {
    case '"':
        v->kind = JSCAN_STR;
        v->escaped = false;
        return escapes ? jscan_string_esc(p, &v->s, &v->len, &v->escaped)
                       : jscan_string(p, &v->s, &v->len);
    case 't': v->kind = JSCAN_BOOL; v->b = true; return jscan_lit(p, "true");
    case 'f': v->kind = JSCAN_BOOL; v->b = false; return jscan_lit(p, "false");
    case 'n': v->kind = JSCAN_NULL; return jscan_lit(p, "null");
    default: v->kind = JSCAN_INT; return jscan_int(p, &v->i);
    }
}

const char *jscan_value(const char *p, struct jscan_val *v, bool escapes)
{
    return value_at(p, v, escapes);
}

static inline __attribute__((always_inline)) int
walk(const char *text, jscan_pair_fn fn, void *arg, bool escapes)
{
    const char *p = jscan_ws(text);
    if (*p != '{')
        return 0;
    p = jscan_ws(p + 1);
    while (*p != '}') {
        const char *key;
        size_t klen;
        struct jscan_val v = {0};
        if (!(p = jscan_string(p, &key, &klen)))
            return 0;
        p = jscan_ws(p);
        if (*p != ':' || !(p = value_at(jscan_ws(p + 1), &v, escapes)))
            return 0;
        fn(arg, key, klen, &v);
        p = jscan_ws(p);
        if (*p == '}')
            break;
        if (*p != ',')
            return 0;
        p = jscan_ws(p + 1);
        if (*p == '}')
            return 0; /* a comma before the end: not JSON */
    }
    return *jscan_ws(p + 1) == '\0';
}

int jscan_object(const char *text, jscan_pair_fn fn, void *arg, bool escapes)
{
    return escapes ? walk(text, fn, arg, true) : walk(text, fn, arg, false);
}
