/* fake_httpd.c - see fake_httpd.h. */
#include "fake_httpd.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct fake_httpd {
    struct MHD_Daemon *daemon;
    fake_httpd_handler handler;
    void *fake;
    char url[128];
    struct test_waker waker; /* delayed replies sleep on it; stop wakes them */
};

/* ------------------------------------------------------------- helpers -- */

char *fake_httpd_dup(const char *s) { return s ? strdup(s) : NULL; }

char *fake_httpd_json(struct json_object *o)
{
    char *s = strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

char *fake_httpd_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *w = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            *w++ = (char)ch;
        } else {
            *w++ = '%';
            *w++ = hex[ch >> 4];
            *w++ = hex[ch & 15];
        }
    }
    *w = '\0';
    return out;
}

void fake_httpd_sleep_ms(struct fake_httpd *s, long ms) { test_waker_sleep_ms(&s->waker, ms); }

/* ------------------------------------------------------------ requests -- */

static int body_add(struct fake_httpd_body *b, const char *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *buf = realloc(b->buf, cap);
        if (!buf)
            return -1;
        b->buf = buf;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return 0;
}

/* libmicrohttpd calls this first with the headers alone, then once per body
 * chunk, then once more with nothing left: only that last call answers. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct fake_httpd *s = cls;
    struct fake_httpd_body *b = *con_cls;
    (void)version;

    if (!b) {
        if (!(b = calloc(1, sizeof *b)))
            return MHD_NO;
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (body_add(b, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return s->handler(s->fake, c, method, url, b);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct fake_httpd_body *b = *con_cls;
    (void)cls, (void)c, (void)toe;
    if (b) {
        free(b->buf);
        free(b);
        *con_cls = NULL;
    }
}

/* -------------------------------------------------------------- daemon -- */

struct fake_httpd *fake_httpd_start(fake_httpd_handler handler, void *fake,
                                    const char *path)
{
    struct fake_httpd *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->handler = handler;
    s->fake = fake;
    test_waker_init(&s->waker);

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0; /* ephemeral */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
        on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        s->daemon ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info || info->port == 0) {
        fake_httpd_stop(s);
        return NULL;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u%s", (unsigned)info->port, path);
    return s;
}

void fake_httpd_stop(struct fake_httpd *s)
{
    if (!s)
        return;
    test_waker_stop(&s->waker); /* before the join, which would wait them out */
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    test_waker_destroy(&s->waker);
    free(s);
}

const char *fake_httpd_url(const struct fake_httpd *s) { return s->url; }

/* ------------------------------------------------------------- replies -- */

struct MHD_Response *fake_httpd_response(char *body, const char *content_type,
                                         long retry_after)
{
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return NULL;
    }
    if (body)
        MHD_add_response_header(resp, "Content-Type", content_type);
    if (retry_after >= 0)
        fake_httpd_num_header(resp, "Retry-After", retry_after);
    return resp;
}

void fake_httpd_num_header(struct MHD_Response *resp, const char *name, long long v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    MHD_add_response_header(resp, name, num);
}

enum MHD_Result fake_httpd_reply(struct MHD_Connection *c, unsigned status,
                                 struct MHD_Response *resp)
{
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---------------------------------------------------------- last request -- */

static void pairs_free(struct fake_httpd_pairs *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].value);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

static void pairs_add(struct fake_httpd_pairs *p, const char *name, const char *value)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct fake_httpd_pair *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n].name = strdup(name);
    p->v[p->n].value = strdup(value ? value : "");
    p->n++;
}

static char *pairs_get(const struct fake_httpd_pairs *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].name && strcasecmp(p->v[i].name, name) == 0)
            return fake_httpd_dup(p->v[i].value);
    return NULL;
}

static enum MHD_Result add_pair(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    pairs_add(cls, key, value);
    return MHD_YES;
}

void fake_httpd_last_free(struct fake_httpd_last *l)
{
    free(l->method);
    free(l->path);
    free(l->body);
    pairs_free(&l->headers);
    pairs_free(&l->query);
    memset(l, 0, sizeof *l);
}

void fake_httpd_last_set(struct fake_httpd_last *l, struct MHD_Connection *c,
                         const char *method, const char *path,
                         const struct fake_httpd_body *body)
{
    fake_httpd_last_free(l);
    l->method = fake_httpd_dup(method);
    l->path = fake_httpd_dup(path);
    l->body = body->buf ? strndup(body->buf, body->len) : NULL;
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_pair, &l->headers);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_pair, &l->query);
}

char *fake_httpd_locked_dup(pthread_mutex_t *lock, char *const *field)
{
    pthread_mutex_lock(lock);
    char *v = fake_httpd_dup(*field);
    pthread_mutex_unlock(lock);
    return v;
}

char *fake_httpd_locked_pair(pthread_mutex_t *lock, const struct fake_httpd_pairs *p,
                             const char *name)
{
    pthread_mutex_lock(lock);
    char *v = pairs_get(p, name);
    pthread_mutex_unlock(lock);
    return v;
}
