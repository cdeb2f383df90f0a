/* http_worker.h - libcurl in a helper process, for static binaries
 * (http_worker.c: the transport; http_worker_serve.c: the helper's loop).
 *
 * The two ends speak frames of netstrings ("LEN:BYTES,") over one
 * socketpair. The client's first frame gives its options:
 *   MAGIC, connect_timeout_ms, ca_bundle, insecure, user_agent
 * then one request frame per attempt:
 *   method, url, N, N header lines, body, has_body, secret_url,
 *   timeout_ms, resend_ok
 * and the helper answers each with
 *   "ok", status, N, N header lines (status lines too, as received), body
 * or
 *   "fail", code, exit, retryable, text
 * Strings are bytes as they are, "" for none. The client replays the header
 * lines through http_xfer_header(), so Content-Type, Retry-After, a
 * captured header and what is logged of them are decided in one place, as
 * for the other transports. */
#ifndef AS_HTTP_WORKER_H
#define AS_HTTP_WORKER_H

#include <stddef.h>

#include "http_int.h"
#include "strbuf.h"

#define HTTP_WORKER_PROGRAM "autoscale_curl"
#define HTTP_WORKER_MAGIC "autoscale-curl-1"
#define HTTP_WORKER_FAIL_FIELDS 5
#define HTTP_WORKER_HEADERS_MAX 256      /* of a request */
#define HTTP_WORKER_REPLY_LINES_MAX 1024 /* of a reply; more are dropped */
/* Longer than any body either way (HTTP_BODY_MAX), under 10^9. */
#define HTTP_WORKER_FIELD_MAX (HTTP_BODY_MAX + 65536u)

extern const struct http_transport http_worker_transport;

/* The helper's side: serve the client on fd (its stdin, a socket) until
 * it closes. 0 at a clean end, -1 (after a line on stderr) on a frame it
 * cannot read. */
int http_worker_serve(int fd);

/* A growing buffer of netstrings, written (http_wframe_put and the
 * others) or read (bytes appended to b.s after http_wframe_reserve, with no
 * NUL: the reader counts b.len). */
struct http_wframe {
    struct strbuf b;
    size_t pos; /* reading: where the next field starts in b.s */
};

void http_wframe_put(struct http_wframe *w, const void *data, size_t len);
void http_wframe_str(struct http_wframe *w, const char *s);
void http_wframe_num(struct http_wframe *w, long long v);
void http_wframe_reserve(struct http_wframe *w, size_t more);
void http_wframe_clear(struct http_wframe *w);
/* The field at w->pos: 1 (*field points into w->data), 0 not all there yet,
 * -1 not a netstring. */
int http_wframe_next(struct http_wframe *w, const char **field, size_t *len);

char *http_wfield_dup(const char *field, size_t len);
int http_wfield_num(const char *field, size_t len, long long min, long long max,
                    long long *out);

#endif
