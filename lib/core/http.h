/* http.h - the one HTTP client every provider and the st2 datastore use.
 *
 * Connect and total timeouts, one budget for all the attempts of a request
 * (cut to the action's deadline), TLS verification on by default (CA bundle
 * settable), retries with exponential backoff and full jitter for idempotent
 * requests on connection errors, 429 (honouring Retry-After) and 5xx; the
 * connection kept alive between a client's requests. It never logs request
 * headers or bodies, nor a captured response header, and logs only the host
 * of a URL marked secret (a Slack webhook URL is itself a credential).
 * Plain http goes by the pack's own HTTP/1.1 client, https and proxied http
 * by libcurl, loaded on first use (http_int.h, docs/datastore.md "HTTP"):
 * callers see no difference. */
#ifndef AS_HTTP_H
#define AS_HTTP_H

#include <json-c/json.h>
#include <stddef.h>

#include "error.h"

struct http_options {
    long connect_timeout_ms; /* default 5000 */
    long timeout_ms;         /* whole request, default 30000 */
    const char *ca_bundle;   /* NULL: system default */
    int insecure;            /* 1: skip TLS verification (never the default) */
    int max_attempts;        /* including the first; default 4 */
    long backoff_base_ms;    /* default 200 */
    long backoff_max_ms;     /* cap for one wait, default 10000; Retry-After is
                                honoured up to this cap as well */
    const char *user_agent;  /* default "autoscale-stackstorm/<version>" */
    long budget_ms;          /* every attempt and wait of one http_do()
                                together, default HTTP_BUDGET_DEFAULT_MS;
                                also never past the action's deadline
                                (as_deadline_left_ms) */
};

/* 45 s: st2 kills an action after 60 s unless its YAML says otherwise, and
 * one slow datastore or API call must leave the action time to report. */
#define HTTP_BUDGET_DEFAULT_MS 45000

void http_options_default(struct http_options *o);

struct http_client;

struct http_client *http_client_new(const struct http_options *o,
                                    struct as_error *err);
void http_client_free(struct http_client *c);

struct http_request {
    const char *method;          /* "GET", "PUT", ... */
    const char *url;
    const char *const *headers;  /* NULL-terminated "Name: value" list, or NULL */
    const char *body;            /* NULL: no body */
    size_t body_len;
    int retry;                   /* -1: by method (GET/HEAD/PUT/DELETE/OPTIONS
                                    retry, POST/PATCH do not); 0: never; 1: always */
    int secret_url;              /* 1: log only the scheme and host */
    const char *capture_header;  /* NULL: none; else the name (no colon) of one
                                    response header whose value to return in
                                    http_response.captured_header */
};

/* The longest captured header value kept; a longer one is not returned. */
#define HTTP_CAPTURE_MAX 8192

struct http_response {
    long status;        /* 0 when no response was received */
    char *body;         /* NUL-terminated, never NULL after success */
    size_t body_len;
    char *content_type; /* may be NULL */
    long retry_after_ms;/* parsed Retry-After of the last response, -1 if none */
    int attempts;       /* how many requests were sent */
    char *captured_header; /* the value of request.capture_header in the final
                              response (after any retries), matched
                              case-insensitively, surrounding blanks trimmed;
                              the last one if it came twice. NULL when not asked
                              for, absent, or longer than HTTP_CAPTURE_MAX
                              bytes (never a truncated value). It may well be a
                              credential (Keystone's X-Subject-Token): http.c
                              never logs it and wipes it on free, and a caller
                              that keeps or uses it must secret_register() it
                              first, before anything could print it. */
};

/* Send the request, retrying per the policy. Returns 0 when a response was
 * received (whatever its status: the caller judges 4xx/5xx), -1 with err set
 * (code "http_unreachable", "http_timeout", "interrupted", ...) when no
 * response came after all attempts. */
int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct as_error *err);

/* Frees and NULLs body, content_type and captured_header (wiped first). */
void http_response_clear(struct http_response *r);

/* JSON convenience: sends `body` (may be NULL) as application/json with
 * Accept: application/json plus extra headers; parses a JSON reply into *out
 * (NULL for an empty body). A non-JSON reply body with a 2xx status is an
 * error ("http_bad_json"); with another status *out is NULL and the caller
 * uses http_error_text(). */
int http_json(struct http_client *c, const char *method, const char *url,
              const char *const *headers, struct json_object *body,
              struct http_response *resp, struct json_object **out,
              struct as_error *err);

/* A one-line, bounded description of an error reply, whether its body is
 * JSON ({"error": ...}, {"message": ...}, {"faultstring": ...},
 * {"error": {"message": ...}}, {"id":..,"message":..}) or plain text.
 * Newly allocated. */
char *http_error_text(const struct http_response *r);

/* Why url is not one we may send a request to (NULL when it is): the
 * scheme http or https, a host name or IP address (IPv6 in brackets), an
 * optional port in 1..65535, then nothing or a path; no user name, query,
 * fragment, blank or control character. What libcurl would refuse (or
 * resolve elsewhere) is refused before anything is written. */
const char *http_url_problem(const char *url);

/* Percent-encode everything but unreserved characters (RFC 3986), newly
 * allocated: for key names and query values. */
char *http_urlencode(const char *s);

/* An API's base URL: url without its trailing '/'s (the paths appended
 * start with one), new. The caller has checked url against its own rules
 * first. */
char *http_base_url(const char *url);

/* May s be sent as a header's value: printable ASCII, no blank (a CR or LF
 * would let a token or key add headers of its own)? */
int http_header_value_ok(const char *s);

/* An HTTP API reached with one secret header: what the PowerDNS and
 * DigitalOcean providers each hold. The header line is wiped when freed,
 * so the secret does not outlive the connection in freed memory. */
struct http_api {
    struct http_client *http;
    char *base; /* the API URL without a trailing '/' */
    char *auth; /* prefix + secret, such as "X-API-Key: <key>" */
};

/* Takes base (freed on failure too). 0, or -1 with err set and *a closed. */
int http_api_open(struct http_api *a, char *base, const char *prefix, const char *secret,
                  const char *ca_bundle, struct as_error *err);
void http_api_close(struct http_api *a);

#endif
