/* test_httpd.h - a scripted HTTP server for unit tests.
 *
 * Listens on 127.0.0.1 on an ephemeral port, one thread per connection.
 * Tests queue canned replies, served first in, first out (one per request);
 * every request received is recorded for assertions. All functions are
 * thread-safe. Typical use:
 *
 *     struct test_httpd *s = test_httpd_start();
 *     test_httpd_queue(s, &(struct test_httpd_reply){.status = 503});
 *     test_httpd_queue(s, &(struct test_httpd_reply){.status = 200, .body = "ok"});
 *     ... request test_httpd_url(s) + "/path" ...
 *     assert_int_equal(test_httpd_request_count(s), 2);
 *     assert_string_equal(test_httpd_request_at(s, 0)->method, "GET");
 *     test_httpd_stop(s);
 *
 * When the queue is empty the server answers 500 "test_httpd: no scripted
 * reply", so an unexpected request shows up as a failure, not a hang. */
#ifndef AS_TEST_HTTPD_H
#define AS_TEST_HTTPD_H

#include <stddef.h>

struct test_httpd;

struct test_httpd_reply {
    int status;                 /* HTTP status; ignored when drop is set */
    const char *body;           /* NULL: empty */
    size_t body_len;            /* 0: strlen(body) */
    const char *content_type;   /* NULL: no Content-Type header */
    const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
    long delay_ms;              /* wait before answering (cut short by stop) */
    int drop;                   /* 1: close the connection without answering */
    int chunked;                /* 1: chunked encoding, no Content-Length */
    int repeat;                 /* serve this many times (0 counts as 1);
                                   -1: forever, later replies never come */
    void (*hook)(void *arg);    /* if set, called in the server thread when a
                                   request takes this reply, before the delay */
    void *hook_arg;
};

/* One recorded request. Owned by the server, valid until test_httpd_stop. */
struct test_httpd_request {
    char method[16];
    char *url;       /* path and query exactly as sent: "/v1/x?a=b" */
    char *body;      /* NUL-terminated, never NULL */
    size_t body_len;
    char **headers;  /* "Name: value" strings as received, NULL-terminated */
    int client_port; /* the client's source port: equal ports on two requests
                        mean one reused connection */
};

/* Start a server; NULL (with a message on stderr) if it cannot. */
struct test_httpd *test_httpd_start(void);

/* Stop, wake any delayed reply, free everything (recorded requests too). */
void test_httpd_stop(struct test_httpd *s);

int test_httpd_port(const struct test_httpd *s);

/* "http://127.0.0.1:<port>", no trailing slash. */
const char *test_httpd_url(const struct test_httpd *s);

/* Append a reply to the queue; strings are copied. */
void test_httpd_queue(struct test_httpd *s, const struct test_httpd_reply *r);

/* Shorthand for a plain reply. */
void test_httpd_queue_simple(struct test_httpd *s, int status, const char *body);

int test_httpd_request_count(struct test_httpd *s);

/* Request i (0 = first received), or NULL if there is none yet. */
const struct test_httpd_request *test_httpd_request_at(struct test_httpd *s, int i);

/* A header's value in a recorded request (name case-insensitive), or NULL. */
const char *test_httpd_header(const struct test_httpd_request *r, const char *name);

/* A 127.0.0.1 port where connections are refused: a socket is bound there
 * but never listens, so no other process can take the port meanwhile.
 * *fd receives the socket; close it when done. Returns -1 on failure. */
int test_refusing_port(int *fd);

#endif
