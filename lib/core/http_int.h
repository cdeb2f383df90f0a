/* http_int.h - what http.c (the policy) shares with its transports, as curl's
 * vtls_int.h: not for callers of http.h.
 *
 * http.c owns everything a request means: the options, the one budget, the
 * retries and their backoff, Retry-After, the error codes, what may be
 * logged. A transport only moves one attempt's bytes: it connects (or reuses
 * a connection), sends the request, and hands each response header line and
 * body piece to the shared http_xfer_* functions below, so that a header is
 * captured, a Retry-After read and a body bounded in one place whichever
 * transport carried them. The table of transports and the rule choosing one
 * for a URL are in http.c (http_transport_for). */
#ifndef AS_HTTP_INT_H
#define AS_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "http.h"

#define HTTP_BODY_MAX (16u * 1024 * 1024) /* no API we call answers more */

/* Which per-client slot (http_client.conn) a transport keeps its state in. */
enum http_transport_id { HTTP_T_PLAIN, HTTP_T_CURL, HTTP_T_WORKER, HTTP_T_COUNT };

struct http_client {
    struct http_options opt; /* strings point into the copies below */
    char *ca_bundle;
    char *user_agent;
    uint64_t rng;               /* jitter only */
    void *conn[HTTP_T_COUNT];   /* owned by each transport: its connection,
                                   made on first use, freed by its close */
};

/* The response of one attempt as it arrives (http.c fills it from the
 * transport's header lines and body pieces). */
struct http_xfer {
    struct http_response *resp;
    size_t cap;
    int too_large;
    long retry_after_ms; /* from this response, -1 none */
    const char *capture; /* request.capture_header, NULL or "" for none */
    /* If set, shown every header line first, as http_xfer_header gets it:
     * the autoscale_curl helper forwards them (http_worker_serve.c). */
    void (*header_tap)(void *arg, const char *line, size_t len);
    void *header_tap_arg;
};

/* One header line of the response as received (CRLF or not, not
 * NUL-terminated), the status line included: a status line starts a new set
 * of headers (after a 1xx), forgetting what the previous set said.
 * Content-Type, Retry-After and the captured header are taken here; nothing
 * is logged. */
void http_xfer_header(struct http_xfer *x, const char *line, size_t len);

/* Append a piece of body: 0, or -1 (x->too_large set) past HTTP_BODY_MAX. */
int http_xfer_body(struct http_xfer *x, const char *data, size_t len);

/* Room for a body of len bytes, when its length is known in advance. */
void http_xfer_expect(struct http_xfer *x, size_t len);

/* How one attempt ended when no response came: an error code of
 * lib/core/error_codes.c, its exit class, whether another attempt may help,
 * and a one-line text naming at most the host and port (never the path: the
 * URL may be secret). */
struct http_failure {
    const char *code;
    enum as_exit exit;
    int retryable;
    char text[320];
};

/* Fill *f; returns -1 for the transport's `return`. */
int http_failure_set(struct http_failure *f, const char *code, int retryable,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct http_transport {
    const char *name;
    enum http_transport_id id;
    /* Send req once, within timeout_ms (its connect within the client's
     * connect timeout, cut to timeout_ms). 0: a response is in x->resp
     * (status set, body NUL-terminated, never NULL); -1: *f says why not, and
     * x->resp holds nothing to free. `resend_ok`: the request may be sent
     * again unseen (it is safe to retry), as when a kept-alive connection
     * turns out to be closed. */
    int (*perform)(struct http_client *c, const struct http_request *req, struct http_xfer *x,
                   long timeout_ms, int resend_ok, struct http_failure *f);
    /* Free c->conn[id] (NULL is fine). */
    void (*close)(void *conn);
};

extern const struct http_transport http_plain_transport;  /* http_plain.c */
extern const struct http_transport http_curl_transport;   /* http_curl.c */
extern const struct http_transport http_worker_transport; /* http_worker.c */

/* How this binary reaches libcurl, chosen when it is linked: in process
 * (&http_curl_transport, lib/core/http_libcurl.c, what the archive gives),
 * or through the autoscale_curl helper (&http_worker_transport,
 * lib/link/http_libcurl_worker.c, which a static binary links instead: it
 * cannot dlopen() libcurl). Nothing else names http_curl_transport, so a
 * static binary never links http_curl.c. */
extern const struct http_transport *const http_libcurl_transport;

/* An http:// URL taken apart (pointers into it; http_plain.c). */
struct http_url {
    const char *host;    /* an IPv6 literal without its brackets */
    size_t host_len;
    int is_ip, is_ipv6;  /* an address literal, not a name */
    unsigned port;       /* 80 when the URL gives none */
    const char *target;  /* path and query: what follows the authority, up to
                            a '#'; "" stands for "/" */
    size_t target_len;
};

/* 0, or -1 with *why (static text) when url is not one the plain transport
 * sends: scheme http (any case), a host name or IP literal, an optional
 * port in 1..65535; no user name; no blank, control or non-ASCII byte. */
int http_url_split(const char *url, struct http_url *u, const char **why);

/* ----------------------------------------------- the plain transport's
 * addresses (http_addr.c, http_resolve.c) -- */

#include <sys/socket.h>

#define HTTP_ADDRS_MAX 16 /* tried in turn; more would not fit a timeout */

struct http_addr {
    struct sockaddr_storage sa;
    socklen_t len;
};

struct http_addrs {
    size_t n;
    struct http_addr a[HTTP_ADDRS_MAX];
};

/* The addresses of u's host and port, by `end` (as_mono_ms): an address
 * literal and "localhost" (127.0.0.1 then ::1, as RFC 6761 has it and curl
 * does) without a resolver; any other name by http_resolve_name(). 0, or -1
 * with *f; `peer` names the host in messages. */
int http_resolve(const struct http_url *u, const char *peer, long long end,
                 struct http_addrs *out, struct http_failure *f);

/* A name by the system's resolver (getaddrinfo on a thread of its own, so
 * that a dead DNS server cannot outlast `end`): http_resolve.c. A static
 * binary links lib/link/http_resolve_none.c instead (glibc's getaddrinfo
 * would want to dlopen() NSS modules), where http_resolves_names is 0 and
 * http_transport_for() sends a URL naming another host to libcurl. */
extern const int http_resolves_names;
int http_resolve_name(const char *host, unsigned port, const char *peer, long long end,
                      struct http_addrs *out, struct http_failure *f);

/* Is the host of u one http_resolve() answers without a resolver? */
int http_host_needs_resolver(const struct http_url *u);

/* Every wait of a transport is a poll() of at most this, bounded by the
 * attempt's end and checking as_interrupted() between slices, so neither a
 * slow peer nor a SIGTERM arriving between the check and the poll holds
 * the action past its deadline or a slice. */
#define HTTP_WAIT_SLICE_MS 50

/* Wait for events on fd until end (as_mono_ms): 1 ready (or in error, for
 * the next call to tell), 0 end reached, -1 interrupted (http_plain.c). */
int http_wait_fd(int fd, short events, long long end);

/* The transport a request to url goes by (http.c, see there). */
const struct http_transport *http_transport_for(const char *url);

/* For tests and fuzzers: send every request by the transport named "plain"
 * or "curl" whatever its URL; NULL restores the rule. -1 for another name. */
int http_force_transport(const char *name);

/* The bodies of these methods are always sent with a Content-Length, even
 * an empty one (some servers answer 411 to a bodiless PUT without it). */
int http_method_has_body(const char *method);

/* ------------------------------------------------ the response parser -- */

/* The plain transport's reader of one HTTP/1.1 response (http_parse.c):
 * bytes in, in pieces of any size, header lines and body out through an
 * http_xfer. Strict: a status line "HTTP/1.x NNN reason", header lines
 * ending CRLF, no folded (obs-fold) line, no head over HTTP_HEAD_MAX, one
 * Content-Length (repeats must agree), Transfer-Encoding only "chunked" and
 * never with a Content-Length, chunk sizes within the body limit; what does
 * not parse is refused with a reason, never guessed at. 1xx responses are
 * skipped; a HEAD, 204 and 304 have no body. */
#define HTTP_HEAD_MAX (64u * 1024)

enum http_parse_state {
    HP_HEAD,       /* the status line and headers */
    HP_BODY,       /* Content-Length bytes */
    HP_BODY_EOF,   /* until the server closes */
    HP_CHUNK_SIZE, /* a chunk-size line */
    HP_CHUNK_DATA,
    HP_CHUNK_END,  /* the CRLF after a chunk's data */
    HP_TRAILER,    /* trailer lines after the last chunk */
    HP_DONE,
    HP_ERROR
};

struct http_parser {
    enum http_parse_state state;
    int head_request;        /* the request was a HEAD: no body */
    struct http_xfer *x;     /* borrowed */
    char *line;              /* the line being read (owned) */
    size_t line_len, line_cap;
    size_t head_bytes;       /* of the current head (or trailer) */
    int interim;             /* 1xx responses skipped */
    long status;             /* 0 until the status line */
    int keep_alive;          /* the connection may carry another request */
    int have_length, chunked;
    unsigned long long length; /* Content-Length */
    unsigned long long left;   /* body or chunk bytes still to come */
    size_t received;           /* bytes fed in all */
    const char *error;         /* why HP_ERROR (static text) */
};

void http_parser_init(struct http_parser *p, struct http_xfer *x, int head_request);
void http_parser_clear(struct http_parser *p);

/* Feed len bytes. Returns how many were consumed: all of them unless the
 * response ended (HP_DONE) before them, the rest being bytes the server
 * should not have sent; or -1 when the state becomes HP_ERROR (p->error
 * says why; x->too_large when the body went past HTTP_BODY_MAX). */
long http_parser_feed(struct http_parser *p, const char *data, size_t len);

/* The server closed the connection: 0 when that ends the response (a body
 * read until the close, or one already complete), -1 otherwise (p->error
 * set; p->received 0 means nothing at all came). */
int http_parser_eof(struct http_parser *p);

#endif
