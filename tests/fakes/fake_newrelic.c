/* fake_newrelic.c - see fake_newrelic.h. One mutex guards everything;
 * replies are built under it and sent after it is released. */
#include "fake_newrelic.h"
#include "fake_httpd.h"

#include <ctype.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RESULTS 16

struct fake_newrelic {
    struct fake_httpd *httpd;
    pthread_mutex_t lock;
    long long account;
    char *key;
    struct {
        char *nrql, *results;
    } res[MAX_RESULTS];
    int nres;
    int fail_n, fail_status, requests;
    char *last_nrql;
};

struct reply {
    unsigned status;
    char *body;
};

static void errors_reply(struct reply *r, unsigned status, const char *message,
                         const char *error_class, int with_data)
{
    struct json_object *o = json_object_new_object(), *errs = json_object_new_array(),
                       *e = json_object_new_object(), *ext = json_object_new_object();
    json_object_object_add(e, "message", json_object_new_string(message));
    json_object_object_add(ext, "errorClass", json_object_new_string(error_class));
    json_object_object_add(e, "extensions", ext);
    if (with_data) {
        struct json_object *path = json_object_new_array();
        json_object_array_add(path, json_object_new_string("actor"));
        json_object_array_add(path, json_object_new_string("account"));
        json_object_array_add(path, json_object_new_string("nrql"));
        json_object_object_add(e, "path", path);
    }
    json_object_array_add(errs, e);
    json_object_object_add(o, "errors", errs);
    if (with_data) { /* GraphQL's partial data: the failed field is null */
        struct json_object *data = json_object_new_object(), *actor = json_object_new_object(),
                           *account = json_object_new_object();
        json_object_object_add(account, "nrql", NULL);
        json_object_object_add(actor, "account", account);
        json_object_object_add(data, "actor", actor);
        json_object_object_add(o, "data", data);
    }
    r->status = status;
    r->body = fake_httpd_json(o);
}

/* Parse `{ actor { account(id: N) { nrql(query: "...") { results } } } }`:
 * 0 with *account and *nrql (new, unescaped), or -1. */
static int parse_query(const char *q, long long *account, char **nrql)
{
    const char *p = strstr(q, "account(id:");
    if (!strstr(q, "actor") || !p)
        return -1;
    char *end = NULL;
    *account = strtoll(p + strlen("account(id:"), &end, 10);
    if (!end || *end != ')')
        return -1;
    p = strstr(end, "nrql(query:");
    if (!p)
        return -1;
    p += strlen("nrql(query:");
    while (*p == ' ')
        p++;
    if (*p++ != '"')
        return -1;
    char *out = malloc(strlen(p) + 1), *o = out;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        *o++ = *p;
    }
    *o = '\0';
    if (*p != '"' || !strstr(p, "results")) {
        free(out);
        return -1;
    }
    *nrql = out;
    return 0;
}

/* What NRDB would refuse: anything but SELECT ... FROM ... */
static int nrql_ok(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    if (strncasecmp(s, "SELECT ", 7) != 0)
        return 0;
    for (const char *p = s; *p; p++)
        if (strncasecmp(p, " FROM ", 6) == 0)
            return 1;
    return 0;
}

static void route(struct fake_newrelic *f, struct MHD_Connection *c, const char *method,
                  const char *url, const char *body, struct reply *r)
{
    f->requests++;
    if (f->fail_n > 0) {
        f->fail_n--;
        errors_reply(r, (unsigned)f->fail_status, "Internal server error", "INTERNAL_SERVER_ERROR",
                     0);
        return;
    }
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "API-Key");
    if (!key || strcmp(key, f->key) != 0) {
        errors_reply(r, 401, "Unauthorized: invalid or missing API key", "UNAUTHORIZED", 0);
        return;
    }
    if (strcmp(method, "POST") != 0 || strcmp(url, "/graphql") != 0) {
        errors_reply(r, 404, "Not Found", "NOT_FOUND", 0);
        return;
    }
    struct json_object *doc = body ? json_tokener_parse(body) : NULL, *q = NULL;
    long long account = 0;
    char *nrql = NULL;
    if (!doc || !json_object_object_get_ex(doc, "query", &q) ||
        !json_object_is_type(q, json_type_string) ||
        parse_query(json_object_get_string(q), &account, &nrql) < 0) {
        json_object_put(doc);
        errors_reply(r, 200, "Syntax Error: the request is not a query this fake knows",
                     "BAD_REQUEST", 0);
        return;
    }
    json_object_put(doc);
    free(f->last_nrql);
    f->last_nrql = strdup(nrql);
    if (account != f->account) {
        errors_reply(r, 200, "Access denied to the account", "FORBIDDEN", 1);
    } else if (!nrql_ok(nrql)) {
        errors_reply(r, 200, "NRQL Syntax Error: Error at line 1 position 1, unexpected input",
                     "INVALID_INPUT", 1);
    } else {
        const char *results = "[]";
        for (int i = 0; i < f->nres; i++)
            if (strcmp(f->res[i].nrql, nrql) == 0)
                results = f->res[i].results;
        size_t n = strlen(results) + 128;
        r->body = malloc(n);
        snprintf(r->body, n, "{\"data\":{\"actor\":{\"account\":{\"nrql\":{\"results\":%s}}}}}",
                 results);
        r->status = 200;
    }
    free(nrql);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *method,
                                  const char *url, const struct fake_httpd_body *up)
{
    struct fake_newrelic *f = cls;
    struct reply r = {500, NULL};
    pthread_mutex_lock(&f->lock);
    route(f, c, method, url, up->buf, &r);
    pthread_mutex_unlock(&f->lock);
    struct MHD_Response *resp = fake_httpd_response(r.body, "application/json", -1);
    return resp ? fake_httpd_reply(c, r.status, resp) : MHD_NO;
}

struct fake_newrelic *fake_newrelic_start(long long account, const char *api_key)
{
    struct fake_newrelic *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->account = account;
    f->key = strdup(api_key);
    if (!(f->httpd = fake_httpd_start(on_request, f, "/graphql"))) {
        fake_newrelic_stop(f);
        return NULL;
    }
    return f;
}

void fake_newrelic_stop(struct fake_newrelic *f)
{
    if (!f)
        return;
    fake_httpd_stop(f->httpd);
    pthread_mutex_destroy(&f->lock);
    for (int i = 0; i < f->nres; i++) {
        free(f->res[i].nrql);
        free(f->res[i].results);
    }
    free(f->key);
    free(f->last_nrql);
    free(f);
}

const char *fake_newrelic_url(const struct fake_newrelic *f)
{
    return fake_httpd_url(f->httpd);
}

void fake_newrelic_set_results(struct fake_newrelic *f, const char *nrql, const char *results)
{
    pthread_mutex_lock(&f->lock);
    int i = 0;
    while (i < f->nres && strcmp(f->res[i].nrql, nrql) != 0)
        i++;
    if (i < MAX_RESULTS) {
        if (i == f->nres) {
            f->res[i].nrql = strdup(nrql);
            f->nres++;
        } else {
            free(f->res[i].results);
        }
        f->res[i].results = strdup(results);
    }
    pthread_mutex_unlock(&f->lock);
}

void fake_newrelic_fail_next(struct fake_newrelic *f, int n, int status)
{
    FAKE_LOCKED(f, (f->fail_n = n, f->fail_status = status));
}

int fake_newrelic_requests(struct fake_newrelic *f)
{
    int n;
    FAKE_LOCKED(f, n = f->requests);
    return n;
}

char *fake_newrelic_last_nrql(struct fake_newrelic *f)
{
    return fake_httpd_locked_dup(&f->lock, &f->last_nrql);
}
