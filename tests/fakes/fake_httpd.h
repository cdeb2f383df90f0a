/* fake_httpd.h - the libmicrohttpd scaffolding the stateful fakes share.
 *
 * A fake supplies one handler, called once per request with the whole body
 * collected; it decides everything an API would (routes, state, errors,
 * extra headers). This file owns what no API decides: the daemon on an
 * ephemeral 127.0.0.1 port with a thread per connection (so a delayed reply
 * holds up only its own client), body collection, building a reply, and
 * keeping a copy of the last request for assertions. Nothing here locks:
 * each fake calls these under its own mutex. */
#ifndef AS_FAKE_HTTPD_H
#define AS_FAKE_HTTPD_H

#include <json-c/json.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>

/* For the fakes' knobs: run stmt under the fake's own f->lock. */
#define FAKE_LOCKED(f, stmt)              \
    do {                                  \
        pthread_mutex_lock(&(f)->lock);   \
        stmt;                             \
        pthread_mutex_unlock(&(f)->lock); \
    } while (0)

/* A request body: NUL-terminated once anything arrived, buf NULL if nothing. */
struct fake_httpd_body {
    char *buf;
    size_t len, cap;
};

/* Must queue a reply (fake_httpd_reply) or return MHD_NO to drop the
 * connection. */
typedef enum MHD_Result (*fake_httpd_handler)(void *fake, struct MHD_Connection *c,
                                              const char *method, const char *url,
                                              const struct fake_httpd_body *body);

struct fake_httpd;

/* NULL if the daemon cannot start or bind. path goes after the port in
 * fake_httpd_url: the API's own prefix, such as "/v2". */
struct fake_httpd *fake_httpd_start(fake_httpd_handler handler, void *fake,
                                    const char *path);

/* Wakes every delayed reply (fake_httpd_sleep_ms), then joins every
 * connection thread, so the fake's state is free to go after. */
void fake_httpd_stop(struct fake_httpd *s);

/* "http://127.0.0.1:<port><path>". */
const char *fake_httpd_url(const struct fake_httpd *s);

/* A response taking ownership of body (NULL: empty), with Content-Type when
 * there is a body and Retry-After when retry_after >= 0. NULL on failure,
 * body freed either way. */
struct MHD_Response *fake_httpd_response(char *body, const char *content_type,
                                         long retry_after);

void fake_httpd_num_header(struct MHD_Response *resp, const char *name, long long v);

/* Queue resp with status and release our reference. */
enum MHD_Result fake_httpd_reply(struct MHD_Connection *c, unsigned status,
                                 struct MHD_Response *resp);

/* Compact JSON text of o, which is released. */
char *fake_httpd_json(struct json_object *o);

char *fake_httpd_dup(const char *s); /* strdup that passes NULL through */

/* Percent-encode all but RFC 3986 unreserved characters; NULL if out of
 * memory. */
char *fake_httpd_urlencode(const char *s);

/* Sleep ms, or less if s is stopping: a fake's delay never holds up the
 * test's teardown. Call it without the fake's lock. */
void fake_httpd_sleep_ms(struct fake_httpd *s, long ms);

/* Name/value pairs as received, looked up case-insensitively. */
struct fake_httpd_pairs {
    struct fake_httpd_pair {
        char *name, *value;
    } *v;
    size_t n, cap;
};

/* The last request, as the fakes' *_last_* knobs report it. */
struct fake_httpd_last {
    char *method, *path, *body;
    struct fake_httpd_pairs headers, query;
};

/* Replace l with this request. */
void fake_httpd_last_set(struct fake_httpd_last *l, struct MHD_Connection *c,
                         const char *method, const char *path,
                         const struct fake_httpd_body *body);

void fake_httpd_last_free(struct fake_httpd_last *l);

/* For the *_last_* knobs, which run on the test's thread while requests
 * may still arrive: a copy of *field, or of the named header or query value
 * (case-insensitive), taken under lock. NULL if there is none. */
char *fake_httpd_locked_dup(pthread_mutex_t *lock, char *const *field);
char *fake_httpd_locked_pair(pthread_mutex_t *lock, const struct fake_httpd_pairs *p,
                             const char *name);

/* Define prefix_last_{method,path,body,header,query} for a fake whose
 * struct has a lock and a struct fake_httpd_last last. */
#define FAKE_HTTPD_LAST_KNOBS(prefix, type)                                    \
    char *prefix##_last_method(type *f)                                        \
    {                                                                          \
        return fake_httpd_locked_dup(&f->lock, &f->last.method);               \
    }                                                                          \
    char *prefix##_last_path(type *f)                                          \
    {                                                                          \
        return fake_httpd_locked_dup(&f->lock, &f->last.path);                 \
    }                                                                          \
    char *prefix##_last_body(type *f)                                          \
    {                                                                          \
        return fake_httpd_locked_dup(&f->lock, &f->last.body);                 \
    }                                                                          \
    char *prefix##_last_header(type *f, const char *name)                      \
    {                                                                          \
        return fake_httpd_locked_pair(&f->lock, &f->last.headers, name);       \
    }                                                                          \
    char *prefix##_last_query(type *f, const char *name)                       \
    {                                                                          \
        return fake_httpd_locked_pair(&f->lock, &f->last.query, name);         \
    }

#endif
