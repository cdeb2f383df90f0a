/* fuzz_http_response.c - libFuzzer target for the plain transport's response
 * parser (lib/core/http_parse.c) and what it hands to lib/core/http.c
 * (Retry-After and its HTTP dates, Content-Type, header capture, the body
 * limit).
 *
 * The input's first byte chooses a HEAD request (bit 0) and seeds how the
 * rest is cut up; the rest is what a server sent. It is parsed twice: fed
 * whole, then in pieces of 1 to 17 bytes, as recv() may return it. Both
 * must end alike (the same state, status, body, headers taken, error and
 * bytes consumed), and then alike again at the server's close.
 * Invariants besides: no crash, leak or UB; a body within HTTP_BODY_MAX and
 * NUL-terminated; a complete response has a status in 200..599 and, with a
 * Content-Length, exactly that many body bytes; an error has a reason. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "http_int.h"
#include "log.h"

struct outcome {
    struct http_response resp;
    struct http_xfer x;
    struct http_parser p;
    size_t used;
    int failed;
};

static void start(struct outcome *o, int head)
{
    memset(o, 0, sizeof *o);
    o->resp.retry_after_ms = -1;
    o->x = (struct http_xfer){.resp = &o->resp, .retry_after_ms = -1,
                              .capture = "X-Subject-Token"};
    http_parser_init(&o->p, &o->x, head);
}

static void feed(struct outcome *o, const uint8_t *data, size_t len)
{
    if (o->failed || o->p.state == HP_DONE)
        return;
    long n = http_parser_feed(&o->p, (const char *)data, len);
    if (n < 0) {
        o->failed = 1;
        return;
    }
    fz_check((size_t)n <= len, "consumed no more than given");
    fz_check((size_t)n == len || o->p.state == HP_DONE, "all consumed until done");
    o->used += (size_t)n;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void compare(const struct outcome *a, const struct outcome *b)
{
    fz_check(a->failed == b->failed, "whole and split fail alike");
    fz_check(a->p.state == b->p.state, "whole and split end in one state");
    /* (a failure consumes nothing of the piece it is in: compare no count) */
    fz_check(a->failed || a->used == b->used, "whole and split consume alike");
    fz_check(a->p.status == b->p.status, "whole and split see one status");
    fz_check(a->p.keep_alive == b->p.keep_alive, "whole and split agree on keep-alive");
    fz_check(same_str(a->p.error, b->p.error), "whole and split fail for one reason");
    fz_check(a->resp.body_len == b->resp.body_len, "whole and split read one body length");
    fz_check(a->resp.body_len == 0 || memcmp(a->resp.body, b->resp.body, a->resp.body_len) == 0,
             "whole and split read one body");
    fz_check(same_str(a->resp.content_type, b->resp.content_type), "one Content-Type");
    fz_check(same_str(a->resp.captured_header, b->resp.captured_header), "one capture");
    fz_check(a->x.retry_after_ms == b->x.retry_after_ms, "one Retry-After");
    fz_check(a->x.too_large == b->x.too_large, "one verdict on size");
}

static void check(const struct outcome *o, int head)
{
    const struct http_response *r = &o->resp;
    fz_check(r->body_len <= HTTP_BODY_MAX, "body within the limit");
    fz_check(!r->body || r->body[r->body_len] == '\0', "body NUL-terminated");
    fz_check(!r->captured_header || strlen(r->captured_header) <= HTTP_CAPTURE_MAX,
             "capture bounded");
    fz_check(o->x.retry_after_ms >= -1 && o->x.retry_after_ms <= 86400L * 365 * 1000,
             "Retry-After in range");
    if (o->p.state == HP_ERROR)
        fz_check(o->p.error && *o->p.error, "an error has a reason");
    if (o->p.state != HP_DONE)
        return;
    fz_check(o->p.status >= 200 && o->p.status <= 599 && o->p.status != 101,
             "a final status");
    bool bodiless = head || o->p.status == 204 || o->p.status == 304;
    if (bodiless)
        fz_check(r->body_len == 0, "no body where there is none");
    else if (o->p.have_length && !o->p.chunked)
        fz_check(r->body_len == o->p.length, "Content-Length bytes exactly");
}

static void finish(struct outcome *o)
{
    http_parser_clear(&o->p);
    http_response_clear(&o->resp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_level(LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int head = data[0] & 1;
    uint32_t rng = data[0] * 2654435761u + 1;
    data++, size--;

    struct outcome whole, split;
    start(&whole, head);
    start(&split, head);
    feed(&whole, data, size);
    for (size_t off = 0; off < size;) {
        rng = rng * 1103515245u + 12345u;
        size_t n = 1 + (rng >> 16) % 17;
        if (n > size - off)
            n = size - off;
        feed(&split, data + off, n);
        off += n;
    }
    compare(&whole, &split);
    check(&whole, head);

    /* The server closes the connection. */
    int a = whole.failed ? -1 : http_parser_eof(&whole.p);
    int b = split.failed ? -1 : http_parser_eof(&split.p);
    fz_check(a == b, "the close ends both alike");
    compare(&whole, &split);
    check(&whole, head);

    finish(&whole);
    finish(&split);
    return 0;
}
