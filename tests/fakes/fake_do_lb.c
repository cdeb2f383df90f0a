/* fake_do_lb.c - see fake_do_lb.h. One mutex guards everything; replies are
 * built under it and sent after it is released. */
#include "fake_do_lb.h"
#include "fake_httpd.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/v2/load_balancers/"
#define MAX_LBS 8
#define MAX_MEMBERS 64
#define MAX_DROPLETS 256

struct fake_lb {
    char id[64];
    char tag[64];
    long long members[MAX_MEMBERS];
    size_t n;
};

struct fake_dolb {
    struct fake_httpd *httpd;
    char *token;
    pthread_mutex_t lock;
    struct fake_lb lbs[MAX_LBS];
    size_t nlbs;
    long long droplets[MAX_DROPLETS];
    size_t ndroplets;
    int fail_n, fail_status, echo_token;
    long fail_retry_after;
    unsigned long long next_request;
    struct fake_dolb_stats stats;
    char *last_body;
};

struct reply {
    unsigned status;
    char *body;
    long retry_after;
};

/* ------------------------------------------------------------- model -- */

static struct fake_lb *find_lb(struct fake_dolb *f, const char *id)
{
    for (size_t i = 0; i < f->nlbs; i++)
        if (strcmp(f->lbs[i].id, id) == 0)
            return &f->lbs[i];
    return NULL;
}

static int member_at(const struct fake_lb *b, long long d)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->members[i] == d)
            return (int)i;
    return -1;
}

static int known_droplet(const struct fake_dolb *f, long long d)
{
    for (size_t i = 0; i < f->ndroplets; i++)
        if (f->droplets[i] == d)
            return 1;
    return 0;
}

static void attach(struct fake_lb *b, long long d)
{
    if (member_at(b, d) < 0 && b->n < MAX_MEMBERS)
        b->members[b->n++] = d;
}

static void detach(struct fake_lb *b, long long d)
{
    int i = member_at(b, d);
    if (i >= 0)
        memmove(&b->members[i], &b->members[i + 1], (b->n - (size_t)i - 1) * sizeof *b->members);
    b->n -= i >= 0;
}

/* ------------------------------------------------------------ replies -- */

static void error_reply(struct fake_dolb *f, struct reply *r, unsigned status, const char *id,
                        const char *message)
{
    struct json_object *o = json_object_new_object();
    char rid[64];
    snprintf(rid, sizeof rid, "fake-%08llx", ++f->next_request);
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "request_id", json_object_new_string(rid));
    r->status = status;
    r->body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static void lb_reply(const struct fake_lb *b, struct reply *r)
{
    struct json_object *o = json_object_new_object(), *lb = json_object_new_object();
    struct json_object *ids = json_object_new_array(), *region = json_object_new_object();
    for (size_t i = 0; i < b->n; i++)
        json_object_array_add(ids, json_object_new_int64(b->members[i]));
    json_object_object_add(lb, "id", json_object_new_string(b->id));
    json_object_object_add(lb, "name", json_object_new_string("example-lb-01"));
    json_object_object_add(lb, "ip", json_object_new_string("203.0.113.10"));
    json_object_object_add(lb, "status", json_object_new_string("active"));
    json_object_object_add(lb, "algorithm", json_object_new_string("round_robin"));
    json_object_object_add(lb, "tag", json_object_new_string(b->tag));
    json_object_object_add(lb, "droplet_ids", ids);
    json_object_object_add(region, "slug", json_object_new_string("nyc3"));
    json_object_object_add(lb, "region", region);
    json_object_object_add(lb, "created_at", json_object_new_string("2017-02-01T22:22:58Z"));
    json_object_object_add(o, "load_balancer", lb);
    r->status = 200;
    r->body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

/* The droplet ids of a body, or a 422 already in *r (returns -1). */
static int body_ids(struct fake_dolb *f, const char *body, long long *ids, size_t *n,
                    struct reply *r)
{
    struct json_object *o = json_tokener_parse(body ? body : ""), *arr = NULL;
    *n = 0;
    if (!o || !json_object_object_get_ex(o, "droplet_ids", &arr) ||
        !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0) {
        json_object_put(o);
        error_reply(f, r, 422, "unprocessable_entity", "droplet_ids is required");
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(arr) && *n < MAX_MEMBERS; i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_int)) {
            json_object_put(o);
            error_reply(f, r, 422, "unprocessable_entity", "droplet_ids must be integers");
            return -1;
        }
        ids[(*n)++] = json_object_get_int64(v);
    }
    json_object_put(o);
    return 0;
}

static void change(struct fake_dolb *f, struct fake_lb *b, int add, const char *body,
                   struct reply *r)
{
    long long ids[MAX_MEMBERS];
    size_t n;
    if (body_ids(f, body, ids, &n, r) < 0)
        return;
    if (add && b->tag[0]) {
        error_reply(f, r, 422, "unprocessable_entity",
                    "Individual Droplets can not be added to a load balancer configured "
                    "with a Droplet tag");
        return;
    }
    for (size_t i = 0; add && i < n; i++)
        if (!known_droplet(f, ids[i])) {
            char msg[96];
            snprintf(msg, sizeof msg, "droplet %lld does not exist", ids[i]);
            error_reply(f, r, 422, "unprocessable_entity", msg);
            return;
        }
    for (size_t i = 0; i < n; i++) {
        if (add)
            attach(b, ids[i]);
        else
            detach(b, ids[i]);
    }
    r->status = 204;
}

static int authorised(struct fake_dolb *f, struct MHD_Connection *c, struct reply *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, f->token) == 0)
        return 1;
    char msg[256];
    snprintf(msg, sizeof msg, "Unable to authenticate you%s%.160s%s",
             f->echo_token && h ? " (token " : "", f->echo_token && h ? h + 7 : "",
             f->echo_token && h ? ")" : "");
    error_reply(f, r, 401, "unauthorized", msg);
    f->stats.unauthorized++;
    return 0;
}

static void route(struct fake_dolb *f, struct MHD_Connection *c, const char *method,
                  const char *url, const char *body, struct reply *r)
{
    char id[64];
    f->stats.requests++;
    f->stats.gets += strcmp(method, "GET") == 0;
    f->stats.posts += strcmp(method, "POST") == 0;
    f->stats.deletes += strcmp(method, "DELETE") == 0;
    if (strcmp(method, "GET") != 0) {
        free(f->last_body);
        f->last_body = strdup(body ? body : "");
    }
    if (f->fail_n > 0) {
        f->fail_n--;
        f->stats.faults++;
        error_reply(f, r, (unsigned)f->fail_status,
                    f->fail_status == 429 ? "too_many_requests" : "server_error",
                    f->fail_status == 429 ? "API Rate limit exceeded." : "Server Error");
        r->retry_after = f->fail_retry_after;
        return;
    }
    if (!authorised(f, c, r))
        return;
    if (strncmp(url, PREFIX, strlen(PREFIX)) != 0) {
        error_reply(f, r, 404, "not_found", "The resource you requested could not be found.");
        f->stats.rejected++;
        return;
    }
    const char *rest = url + strlen(PREFIX);
    size_t n = strcspn(rest, "/");
    snprintf(id, sizeof id, "%.*s", (int)(n < sizeof id ? n : sizeof id - 1), rest);
    struct fake_lb *b = find_lb(f, id);
    const char *sub = rest + n;
    if (!b || (*sub && strcmp(sub, "/droplets") != 0)) {
        error_reply(f, r, 404, "not_found", "The resource you requested could not be found.");
        f->stats.rejected++;
        return;
    }
    if (!*sub && strcmp(method, "GET") == 0)
        lb_reply(b, r);
    else if (*sub && (strcmp(method, "POST") == 0 || strcmp(method, "DELETE") == 0))
        change(f, b, strcmp(method, "POST") == 0, body, r);
    else
        error_reply(f, r, 405, "method_not_allowed", "Method Not Allowed");
    if (r->status == 422)
        f->stats.rejected++;
}

/* ----------------------------------------------------------------- http -- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *method,
                                  const char *url, const struct fake_httpd_body *up)
{
    struct fake_dolb *f = cls;
    struct reply r = {0, NULL, -1};
    pthread_mutex_lock(&f->lock);
    route(f, c, method, url, up->buf, &r);
    pthread_mutex_unlock(&f->lock);

    struct MHD_Response *resp =
        fake_httpd_response(r.body, "application/json; charset=utf-8", r.retry_after);
    return resp ? fake_httpd_reply(c, r.status, resp) : MHD_NO;
}

struct fake_dolb *fake_dolb_start(const char *token)
{
    struct fake_dolb *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->token = strdup(token);
    if (!(f->httpd = fake_httpd_start(on_request, f, "/v2"))) {
        fake_dolb_stop(f);
        return NULL;
    }
    return f;
}

void fake_dolb_stop(struct fake_dolb *f)
{
    if (!f)
        return;
    fake_httpd_stop(f->httpd);
    pthread_mutex_destroy(&f->lock);
    free(f->token);
    free(f->last_body);
    free(f);
}

const char *fake_dolb_url(const struct fake_dolb *f)
{
    return fake_httpd_url(f->httpd);
}

void fake_dolb_add_lb(struct fake_dolb *f, const char *id, const char *tag)
{
    pthread_mutex_lock(&f->lock);
    if (f->nlbs < MAX_LBS) {
        struct fake_lb *b = &f->lbs[f->nlbs++];
        memset(b, 0, sizeof *b);
        snprintf(b->id, sizeof b->id, "%s", id);
        snprintf(b->tag, sizeof b->tag, "%s", tag ? tag : "");
    }
    pthread_mutex_unlock(&f->lock);
}

void fake_dolb_add_droplet(struct fake_dolb *f, long long id)
{
    pthread_mutex_lock(&f->lock);
    if (f->ndroplets < MAX_DROPLETS)
        f->droplets[f->ndroplets++] = id;
    pthread_mutex_unlock(&f->lock);
}

void fake_dolb_attach(struct fake_dolb *f, const char *lb, long long droplet)
{
    pthread_mutex_lock(&f->lock);
    struct fake_lb *b = find_lb(f, lb);
    if (b)
        attach(b, droplet);
    pthread_mutex_unlock(&f->lock);
}

int fake_dolb_has(struct fake_dolb *f, const char *lb, long long droplet)
{
    pthread_mutex_lock(&f->lock);
    struct fake_lb *b = find_lb(f, lb);
    int has = b && member_at(b, droplet) >= 0;
    pthread_mutex_unlock(&f->lock);
    return has;
}

size_t fake_dolb_count(struct fake_dolb *f, const char *lb)
{
    pthread_mutex_lock(&f->lock);
    struct fake_lb *b = find_lb(f, lb);
    size_t n = b ? b->n : 0;
    pthread_mutex_unlock(&f->lock);
    return n;
}

void fake_dolb_fail_next(struct fake_dolb *f, int n, int status, long retry_after_s)
{
    pthread_mutex_lock(&f->lock);
    f->fail_n = n;
    f->fail_status = status;
    f->fail_retry_after = retry_after_s;
    pthread_mutex_unlock(&f->lock);
}

void fake_dolb_set_echo_token(struct fake_dolb *f, int on)
{
    pthread_mutex_lock(&f->lock);
    f->echo_token = on;
    pthread_mutex_unlock(&f->lock);
}

void fake_dolb_stats(struct fake_dolb *f, struct fake_dolb_stats *out)
{
    pthread_mutex_lock(&f->lock);
    *out = f->stats;
    pthread_mutex_unlock(&f->lock);
}

char *fake_dolb_last_body(struct fake_dolb *f)
{
    pthread_mutex_lock(&f->lock);
    char *b = f->last_body ? strdup(f->last_body) : NULL;
    pthread_mutex_unlock(&f->lock);
    return b;
}
