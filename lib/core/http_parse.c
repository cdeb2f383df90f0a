/* http_parse.c - the plain transport's response parser (http_int.h).
 *
 * A push parser: the transport feeds whatever recv() returned, so a status
 * line, a header or a chunk-size line may arrive in any number of pieces;
 * lines are gathered in p->line, body bytes go straight to the http_xfer.
 * It follows RFC 9112 strictly where a lenient reading could be turned
 * against us: a bare LF or CR, a folded header, a blank before the colon, a
 * second and different Content-Length, or a Transfer-Encoding beside a
 * Content-Length are how responses get split and requests smuggled, and the
 * servers we talk to (st2's API, PowerDNS, test fakes) never send them.
 * Nothing here logs: header values may be credentials (X-Subject-Token). */
#include "http_int.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HP_LINE_MAX 8192u /* a chunk-size line, extensions included */
#define HP_INTERIM_MAX 16 /* 1xx responses before the real one */

void http_parser_init(struct http_parser *p, struct http_xfer *x, int head_request)
{
    memset(p, 0, sizeof *p);
    p->x = x;
    p->head_request = head_request;
    p->state = HP_HEAD;
    p->keep_alive = 1;
}

void http_parser_clear(struct http_parser *p)
{
    free(p->line);
    p->line = NULL;
    p->line_len = p->line_cap = 0;
}

static long fail(struct http_parser *p, const char *why)
{
    p->state = HP_ERROR;
    p->error = why;
    return -1;
}

/* A new head (the first, or the one after a 1xx). */
static void head_reset(struct http_parser *p)
{
    p->status = 0;
    p->head_bytes = 0;
    p->have_length = p->chunked = 0;
    p->length = 0;
    p->keep_alive = 1;
}

/* ---------------------------------------------------------------- lines -- */

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Field content: visible ASCII, obs-text, blanks; no other control. */
static int field_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* s[0..n) without leading and trailing blanks. */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static int token_is(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

/* "HTTP/1.x NNN [reason]" */
static long status_line(struct http_parser *p, const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return fail(p, "the status line is not HTTP/1.x");
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return fail(p, "the status code is not three digits");
    if (n > 12 && s[12] != ' ')
        return fail(p, "the status code is not three digits");
    if (!field_ok(s + 12, n - 12))
        return fail(p, "a control character in the status line");
    long status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (status < 100 || status > 599)
        return fail(p, "a status code outside 100-599");
    p->status = status;
    /* HTTP/1.0 keeps a connection only on request; we never ask. */
    p->keep_alive = s[7] != '0';
    return 0;
}

/* The next item of a comma-separated header value, trimmed: 1 with
 * *item and *ilen (possibly empty), 0 when the value is used up. */
static int next_item(const char **v, size_t *n, const char **item, size_t *ilen)
{
    if (*n == 0)
        return 0;
    size_t len = 0;
    while (len < *n && (*v)[len] != ',')
        len++;
    *item = *v;
    *ilen = len;
    trim(item, ilen);
    size_t used = len < *n ? len + 1 : len;
    *v += used;
    *n -= used;
    return 1;
}

/* Content-Length: digits, or a list of the same digits ("5, 5"). */
static long content_length(struct http_parser *p, const char *v, size_t n)
{
    const char *d;
    size_t dn;
    while (next_item(&v, &n, &d, &dn)) {
        if (dn == 0 || dn > 19)
            return fail(p, "a bad Content-Length");
        unsigned long long len = 0;
        for (size_t i = 0; i < dn; i++) {
            if (d[i] < '0' || d[i] > '9')
                return fail(p, "a bad Content-Length");
            len = len * 10 + (unsigned)(d[i] - '0');
        }
        if (p->have_length && len != p->length)
            return fail(p, "two different Content-Lengths");
        p->have_length = 1;
        p->length = len;
    }
    return p->have_length ? 0 : fail(p, "a bad Content-Length");
}

/* Transfer-Encoding: only "chunked", once: we send no TE or Accept-Encoding,
 * so a server has no business with any other coding. */
static long transfer_encoding(struct http_parser *p, const char *v, size_t n)
{
    trim(&v, &n);
    if (!token_is(v, n, "chunked") || p->chunked)
        return fail(p, "a Transfer-Encoding other than chunked");
    p->chunked = 1;
    return 0;
}

static void connection(struct http_parser *p, const char *v, size_t n)
{
    const char *t;
    size_t tn;
    while (next_item(&v, &n, &t, &tn))
        if (token_is(t, tn, "close"))
            p->keep_alive = 0;
}

/* "name: value" (s without its CRLF). For the trailer, only checked. */
static long header_line(struct http_parser *p, const char *s, size_t n, int trailer)
{
    if (s[0] == ' ' || s[0] == '\t')
        return fail(p, "a folded header line (obs-fold)");
    size_t name = 0;
    while (name < n && is_tchar((unsigned char)s[name]))
        name++;
    if (name == 0 || name == n || s[name] != ':')
        return fail(p, "a header line that is not name: value");
    const char *v = s + name + 1;
    size_t vn = n - name - 1;
    if (!field_ok(v, vn))
        return fail(p, "a control character in a header value");
    if (trailer)
        return 0;
    trim(&v, &vn);
    if (token_is(s, name, "content-length") && content_length(p, v, vn) < 0)
        return -1;
    if (token_is(s, name, "transfer-encoding") && transfer_encoding(p, v, vn) < 0)
        return -1;
    if (token_is(s, name, "connection"))
        connection(p, v, vn);
    http_xfer_header(p->x, s, n);
    return 0;
}

/* The head is complete: how is the body framed? */
static long head_done(struct http_parser *p)
{
    if (p->status == 101)
        return fail(p, "101 Switching Protocols, which was not asked for");
    if (p->status < 200) {
        if (++p->interim > HP_INTERIM_MAX)
            return fail(p, "too many 1xx responses");
        head_reset(p);
        return 0;
    }
    if (p->chunked && p->have_length)
        return fail(p, "both Transfer-Encoding and Content-Length");
    if (p->head_request || p->status == 204 || p->status == 304) {
        p->state = HP_DONE;
    } else if (p->chunked) {
        p->state = HP_CHUNK_SIZE;
    } else if (p->have_length) {
        if (p->length > HTTP_BODY_MAX) {
            p->x->too_large = 1;
            return fail(p, "the body is larger than the limit");
        }
        http_xfer_expect(p->x, (size_t)p->length);
        p->left = p->length;
        p->state = p->left ? HP_BODY : HP_DONE;
    } else {
        p->state = HP_BODY_EOF; /* the close ends it */
        p->keep_alive = 0;
    }
    return 0;
}

/* "1a2b[;ext]" */
static long chunk_size(struct http_parser *p, const char *s, size_t n)
{
    unsigned long long size = 0;
    size_t i = 0;
    for (; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            break;
        size = size * 16 + (unsigned)d;
        if (size > HTTP_BODY_MAX) {
            p->x->too_large = 1;
            return fail(p, "a chunk larger than the body limit");
        }
    }
    if (i == 0)
        return fail(p, "a bad chunk size");
    size_t rest = i;
    while (rest < n && (s[rest] == ' ' || s[rest] == '\t'))
        rest++;
    if (rest < n && s[rest] != ';')
        return fail(p, "a bad chunk size");
    if (!field_ok(s + i, n - i))
        return fail(p, "a control character in a chunk extension");
    if (size == 0) {
        p->state = HP_TRAILER;
        p->head_bytes = 0;
    } else {
        p->left = size;
        p->state = HP_CHUNK_DATA;
    }
    return 0;
}

/* One complete line, CRLF stripped. */
static long line_done(struct http_parser *p, const char *s, size_t n)
{
    switch (p->state) {
    case HP_HEAD:
        if (p->status == 0) {
            if (status_line(p, s, n) < 0)
                return -1;
            http_xfer_header(p->x, s, n);
            return 0;
        }
        return n == 0 ? head_done(p) : header_line(p, s, n, 0);
    case HP_CHUNK_SIZE:
        return chunk_size(p, s, n);
    case HP_CHUNK_END:
        if (n != 0)
            return fail(p, "chunk data longer than its size");
        p->state = HP_CHUNK_SIZE;
        return 0;
    case HP_TRAILER:
        if (n == 0) {
            p->state = HP_DONE;
            return 0;
        }
        return header_line(p, s, n, 1);
    default:
        return fail(p, "internal: a line in a body state");
    }
}

/* Gather bytes of a line; at its LF hand it to line_done. Returns bytes
 * consumed, or -1. */
static long take_line(struct http_parser *p, const char *data, size_t len)
{
    const char *lf = memchr(data, '\n', len);
    size_t n = lf ? (size_t)(lf - data) + 1 : len;
    size_t limit = p->state == HP_HEAD || p->state == HP_TRAILER ? HTTP_HEAD_MAX : HP_LINE_MAX;

    if (p->state == HP_HEAD || p->state == HP_TRAILER) {
        p->head_bytes += n;
        if (p->head_bytes > HTTP_HEAD_MAX)
            return fail(p, "the response head is larger than 64 KiB");
    } else if (p->line_len + n > limit) {
        return fail(p, "a chunk-size line that does not end");
    }
    p->line = xgrow(p->line, p->line_len + n + 1, &p->line_cap, 1);
    memcpy(p->line + p->line_len, data, n);
    p->line_len += n;
    if (!lf)
        return (long)n;

    /* The line ends in "\r\n" and holds no other CR or LF. */
    size_t body = p->line_len - 1;
    if (body == 0 || p->line[body - 1] != '\r')
        return fail(p, "a line that does not end in CRLF");
    body--;
    if (memchr(p->line, '\r', body))
        return fail(p, "a bare CR in a line");
    p->line_len = 0;
    return line_done(p, p->line, body) < 0 ? -1 : (long)n;
}

/* Body bytes of a known count (a Content-Length body or one chunk). */
static long take_counted(struct http_parser *p, const char *data, size_t len)
{
    size_t n = len < p->left ? len : (size_t)p->left;
    if (http_xfer_body(p->x, data, n) < 0)
        return fail(p, "the body is larger than the limit");
    p->left -= n;
    if (p->left == 0)
        p->state = p->state == HP_BODY ? HP_DONE : HP_CHUNK_END;
    return (long)n;
}

long http_parser_feed(struct http_parser *p, const char *data, size_t len)
{
    size_t used = 0;

    while (used < len && p->state != HP_DONE) {
        long n;
        switch (p->state) {
        case HP_BODY:
        case HP_CHUNK_DATA:
            n = take_counted(p, data + used, len - used);
            break;
        case HP_BODY_EOF:
            n = http_xfer_body(p->x, data + used, len - used) < 0
                    ? fail(p, "the body is larger than the limit")
                    : (long)(len - used);
            break;
        case HP_ERROR:
            return -1;
        default:
            n = take_line(p, data + used, len - used);
            break;
        }
        if (n < 0)
            return -1;
        used += (size_t)n;
        p->received += (size_t)n;
    }
    return (long)used;
}

int http_parser_eof(struct http_parser *p)
{
    switch (p->state) {
    case HP_DONE:
        return 0;
    case HP_BODY_EOF:
        p->state = HP_DONE;
        return 0;
    case HP_ERROR:
        return -1;
    default:
        fail(p, p->received == 0 ? "the server closed the connection without a reply"
                                 : "the server closed the connection before the reply ended");
        return -1;
    }
}
