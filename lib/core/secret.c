/* secret.c - see secret.h.
 *
 * A secret reaches output in whatever form its last writer gave it: raw,
 * JSON-escaped (our own stdout; a server quoting it in an error body, as
 * json-c, Python, Go or Java each write it: `\"` `\\` `\/`, `\n` or
 * `\u000a`, é or `\u00e9`, `<` or `\u003c`, hex in either case),
 * percent-encoded (a URL, a form: `%2F` or `%2f`, `+` for a space), shell
 * quoted (`'\''`, `'"'"'`, `\'`), or two of these nested (a server's
 * JSON-escaped echo inside our JSON stdout). Listing every form would take
 * dozens per secret, so the scrubber works the other way round: it decodes
 * the text each way it could have been encoded, up to two layers deep, looks
 * for the plain secret in every decoding, and masks the stretch of the
 * original text each hit came from. A decoding is made only when the text
 * holds its escape character, so plain text costs one search per secret.
 *
 * No action sends a secret as HTTP basic auth (OpenStack, DigitalOcean,
 * PowerDNS and st2 take tokens in headers, Slack and webhooks in the URL),
 * so there is no base64 form to look for. */
#include "secret.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX 32
#define SECRET_MASK "***"

static char *secrets[SECRET_MAX];
static size_t secret_len[SECRET_MAX];
static int nsecrets;

void secret_register(const char *value)
{
    if (!value || strlen(value) < 4 || nsecrets == SECRET_MAX)
        return;
    for (int i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], value) == 0)
            return;
    char *copy = xstrdup(value);
    secret_len[nsecrets] = strlen(copy);
    secrets[nsecrets++] = copy;
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p; /* volatile so the wipe is not optimised away */
    while (n--)
        *v++ = 0;
}

/* ---- decodings ----
 *
 * A view is the text as one chain of decoders reads it: byte i of s came
 * from text[from[i] .. to[i]) (NULL maps: the text itself). */
struct view {
    char *s;
    size_t n;
    uint32_t *from, *to;
};

static size_t vfrom(const struct view *v, size_t i) { return v->from ? v->from[i] : i; }
static size_t vto(const struct view *v, size_t i) { return v->to ? v->to[i] : i + 1; }

/* A decoder looks at s[i..n): 0 when no escape starts there, else how many
 * bytes the escape takes, its value in out[0..*outn). */
typedef size_t (*decoder_fn)(const char *s, size_t n, size_t i, unsigned char *out,
                             size_t *outn);

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The value of `digits` hex digits at s[i], or -1. */
static long hex_at(const char *s, size_t n, size_t i, int digits)
{
    long v = 0;
    if (i + (size_t)digits > n)
        return -1;
    for (int k = 0; k < digits; k++) {
        int h = hexval(s[i + (size_t)k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8_put(unsigned long cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* JSON string escapes, as any JSON writer makes them, plus the two that
 * Python's repr() and JavaScript add (`\'`, `\xXX`). */
static size_t dec_json(const char *s, size_t n, size_t i, unsigned char *out, size_t *outn)
{
    if (s[i] != '\\' || i + 1 >= n)
        return 0;
    static const char from[] = "\"\\/'bfnrt", to[] = "\"\\/'\b\f\n\r\t";
    const char *k = strchr(from, s[i + 1]);
    if (k && s[i + 1]) {
        out[0] = (unsigned char)to[k - from];
        *outn = 1;
        return 2;
    }
    if (s[i + 1] == 'x') {
        long b = hex_at(s, n, i + 2, 2);
        if (b < 0)
            return 0;
        out[0] = (unsigned char)b;
        *outn = 1;
        return 4;
    }
    if (s[i + 1] != 'u')
        return 0;
    long cp = hex_at(s, n, i + 2, 4);
    if (cp < 0 || (cp >= 0xDC00 && cp < 0xE000))
        return 0;
    if (cp < 0xD800 || cp >= 0xE000) {
        *outn = utf8_put((unsigned long)cp, out);
        return 6;
    }
    /* a high surrogate: only with its low half is it a character */
    long lo = i + 7 < n && s[i + 6] == '\\' && s[i + 7] == 'u' ? hex_at(s, n, i + 8, 4) : -1;
    if (lo < 0xDC00 || lo >= 0xE000)
        return 0;
    *outn = utf8_put(0x10000 + (((unsigned long)cp - 0xD800) << 10) +
                         ((unsigned long)lo - 0xDC00), out);
    return 12;
}

/* Percent-encoding, as in a URL's path or query. */
static size_t dec_url(const char *s, size_t n, size_t i, unsigned char *out, size_t *outn)
{
    long b = s[i] == '%' ? hex_at(s, n, i + 1, 2) : -1;
    if (b < 0)
        return 0;
    out[0] = (unsigned char)b;
    *outn = 1;
    return 3;
}

/* application/x-www-form-urlencoded: a URL's escapes and `+` for a space. */
static size_t dec_form(const char *s, size_t n, size_t i, unsigned char *out, size_t *outn)
{
    if (s[i] != '+')
        return dec_url(s, n, i, out, outn);
    out[0] = ' ';
    *outn = 1;
    return 1;
}

/* A quote inside single quotes ('\'' and Python shlex's '"'"'), and a
 * backslash before a character the shell would otherwise take (printf %q,
 * double quotes). */
static size_t dec_shell(const char *s, size_t n, size_t i, unsigned char *out, size_t *outn)
{
    static const char *const quotes[] = {"'\\''", "'\"'\"'"};
    for (size_t q = 0; q < 2; q++) {
        size_t len = strlen(quotes[q]);
        if (n - i >= len && memcmp(s + i, quotes[q], len) == 0) {
            out[0] = '\'';
            *outn = 1;
            return len;
        }
    }
    unsigned char c = i + 1 < n ? (unsigned char)s[i + 1] : 0;
    if (s[i] != '\\' || c < 0x20 || c >= 0x7F ||
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 0;
    out[0] = c;
    *outn = 1;
    return 2;
}

static const struct decoder {
    decoder_fn fn;
    const char *starts; /* the bytes an escape can start with */
} decoders[] = {
    {dec_json, "\\"},
    {dec_url, "%"},
    {dec_form, "%+"},
    {dec_shell, "'\\"},
};
#define NDECODERS (sizeof decoders / sizeof *decoders)
#define DEPTH 2 /* our JSON around a server's JSON; deeper nesting is not seen */

static void view_clear(struct view *v)
{
    wipe(v->s, v->n); /* a decoding holds the secrets in plain */
    free(v->s);
    free(v->from);
    free(v->to);
    memset(v, 0, sizeof *v);
}

/* Decode in with d into out: 1 when that changed something, 0 when it would
 * not (out left empty). */
static int decode(const struct view *in, const struct decoder *d, struct view *out)
{
    size_t first = 0;
    while (first < in->n && !memchr(d->starts, in->s[first], strlen(d->starts)))
        first++;
    if (first == in->n)
        return 0;

    memset(out, 0, sizeof *out);
    /* no escape is shorter than what it stands for: never longer than in */
    size_t cap = in->n;
    out->s = xmalloc(cap);
    out->from = xmalloc(cap * sizeof *out->from);
    out->to = xmalloc(cap * sizeof *out->to);
    int changed = 0;
    for (size_t i = 0; i < in->n;) {
        unsigned char buf[4];
        size_t bn = 0, used = i >= first ? d->fn(in->s, in->n, i, buf, &bn) : 0;
        if (used == 0) {
            buf[0] = (unsigned char)in->s[i];
            bn = used = 1;
        } else {
            changed = 1;
        }
        for (size_t k = 0; k < bn; k++) {
            out->s[out->n] = (char)buf[k];
            out->from[out->n] = (uint32_t)vfrom(in, i);
            out->to[out->n] = (uint32_t)vto(in, i + used - 1);
            out->n++;
        }
        i += used;
    }
    if (!changed)
        view_clear(out);
    return changed;
}

/* ---- the stretches to mask ---- */
struct spans {
    size_t (*a)[2];
    size_t n, cap;
};

static void span_add(struct spans *sp, size_t from, size_t to)
{
    sp->a = xgrow(sp->a, sp->n + 1, &sp->cap, sizeof *sp->a);
    sp->a[sp->n][0] = from;
    sp->a[sp->n][1] = to;
    sp->n++;
}

/* Every occurrence of every secret in v, overlapping ones too. */
static void find_all(const struct view *v, struct spans *sp)
{
    for (int k = 0; k < nsecrets; k++) {
        size_t len = secret_len[k];
        for (size_t at = 0; at + len <= v->n;) {
            const char *p = memmem(v->s + at, v->n - at, secrets[k], len);
            if (!p)
                break;
            size_t i = (size_t)(p - v->s);
            span_add(sp, vfrom(v, i), vto(v, i + len - 1));
            at = i + 1;
        }
    }
}

/* Search the view, then every decoding of it, down to DEPTH layers. */
static void search(const struct view *v, int depth, struct spans *sp)
{
    find_all(v, sp);
    for (size_t d = 0; depth < DEPTH && d < NDECODERS; d++) {
        struct view dv;
        if (!decode(v, &decoders[d], &dv))
            continue;
        search(&dv, depth + 1, sp);
        view_clear(&dv);
    }
}

static int by_start(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] > y[1]) - (x[1] < y[1]);
}

/* secret_scrub, or when nothing is masked and !copy, NULL. */
static char *scrub(const char *s, bool copy)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    if (nsecrets == 0)
        return copy ? xstrdup(s) : NULL;

    struct spans sp = {0};
    struct view text = {(char *)s, n, NULL, NULL};
    /* decodings map offsets in 32 bits: a text past 4 GiB is searched raw */
    search(&text, n < UINT32_MAX ? 0 : DEPTH, &sp);
    if (sp.n == 0) {
        free(sp.a);
        return copy ? xstrdup(s) : NULL;
    }
    qsort(sp.a, sp.n, sizeof *sp.a, by_start);

    /* Overlapping stretches are masked as one; adjacent ones stay two. */
    size_t mlen = strlen(SECRET_MASK);
    char *out = xmalloc(n + sp.n * mlen + 1), *w = out;
    size_t r = 0;
    for (size_t k = 0; k < sp.n;) {
        size_t from = sp.a[k][0], to = sp.a[k][1];
        for (k++; k < sp.n && sp.a[k][0] < to; k++)
            if (sp.a[k][1] > to)
                to = sp.a[k][1];
        memcpy(w, s + r, from - r);
        w += from - r;
        memcpy(w, SECRET_MASK, mlen);
        w += mlen;
        r = to;
    }
    memcpy(w, s + r, n - r + 1);
    free(sp.a);
    return out;
}

char *secret_scrub(const char *s)
{
    return scrub(s, true);
}

char *secret_scrub_changed(const char *s)
{
    return scrub(s, false);
}

void secret_scrub_buf(char *buf, size_t size)
{
    if (nsecrets == 0 || size == 0)
        return;
    char *clean = secret_scrub(buf);
    strncpy(buf, clean, size - 1);
    buf[size - 1] = '\0';
    free(clean);
}

void secret_free(char *s)
{
    if (s) {
        wipe(s, strlen(s));
        free(s);
    }
}

void secret_clear(void)
{
    for (int i = 0; i < nsecrets; i++) {
        wipe(secrets[i], secret_len[i]);
        free(secrets[i]);
        secrets[i] = NULL;
    }
    nsecrets = 0;
}
