/* fake_do_dns.c - see fake_do_dns.h.
 *
 * Built like fake_digitalocean.c: one mutex guards everything, a reply is
 * built under it and sent after it is released, libmicrohttpd runs a thread
 * per connection. Records are kept in id order (ids only grow), the order
 * DO lists them in. */
#include "fake_do_dns.h"
#include "fake_httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define API_PREFIX "/v2"
#define DEFAULT_PER_PAGE 20
#define MAX_PER_PAGE 200
#define MIN_TTL 30
#define RATE_LIMIT 5000

struct record {
    long long id;
    char *domain, *type, *name, *data;
    long ttl;
};

struct fake_do_dns {
    struct fake_httpd *httpd;
    char *token;

    pthread_mutex_t lock;
    char **domains;
    size_t ndomains;
    struct record *recs;
    size_t nrecs, cap;
    long long next_id;
    unsigned long long next_request;

    int max_per_page, echo_token;
    int fail_n, fail_status;
    long fail_retry_after;
    char fail_method[8];
    int fail_skip, fail_count, fail_method_status;
    char *fail_name;
    int fail_name_status;

    struct fake_do_dns_stats stats;
    char *last_auth;
};

struct reply {
    unsigned status;
    char *body;
    long retry_after;
};

/* ------------------------------------------------------------ helpers -- */

static void api_error(struct fake_do_dns *f, struct reply *r, unsigned status, const char *id,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void api_error(struct fake_do_dns *f, struct reply *r, unsigned status, const char *id,
                      const char *fmt, ...)
{
    char msg[512], rid[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(rid, sizeof rid, "fake-dns-%llu", f->next_request);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "message", json_object_new_string(msg));
    json_object_object_add(o, "request_id", json_object_new_string(rid));
    free(r->body);
    r->status = status;
    r->body = fake_httpd_json(o);
}

static void not_found(struct fake_do_dns *f, struct reply *r)
{
    api_error(f, r, 404, "not_found", "The resource you were accessing could not be found.");
}

static int unprocessable(struct fake_do_dns *f, struct reply *r, const char *msg)
{
    f->stats.rejected++;
    api_error(f, r, 422, "unprocessable_entity", "%s", msg);
    return -1;
}

static int has_domain(const struct fake_do_dns *f, const char *d)
{
    for (size_t i = 0; i < f->ndomains; i++)
        if (strcmp(f->domains[i], d) == 0)
            return 1;
    return 0;
}

static struct record *find_record(struct fake_do_dns *f, const char *domain, long long id)
{
    for (size_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].id == id && strcmp(f->recs[i].domain, domain) == 0)
            return &f->recs[i];
    return NULL;
}

static void record_free(struct record *r)
{
    free(r->domain);
    free(r->type);
    free(r->name);
    free(r->data);
}

static struct record *new_record(struct fake_do_dns *f, const char *domain, const char *type,
                                 const char *name, const char *data, long ttl)
{
    if (f->nrecs == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct record *v = realloc(f->recs, cap * sizeof *v);
        if (!v)
            return NULL;
        f->recs = v;
        f->cap = cap;
    }
    struct record *r = &f->recs[f->nrecs++];
    r->id = f->next_id++;
    r->domain = strdup(domain);
    r->type = strdup(type);
    r->name = strdup(name);
    r->data = strdup(data);
    r->ttl = ttl;
    return r;
}

/* The record's full name, as the list filter compares it. */
static void full_name(const struct record *r, char *out, size_t size)
{
    if (strcmp(r->name, "@") == 0)
        snprintf(out, size, "%s", r->domain);
    else
        snprintf(out, size, "%s.%s", r->name, r->domain);
}

static struct json_object *record_json(const struct record *r)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(r->id));
    json_object_object_add(o, "type", json_object_new_string(r->type));
    json_object_object_add(o, "name", json_object_new_string(r->name));
    json_object_object_add(o, "data", json_object_new_string(r->data));
    json_object_object_add(o, "priority", NULL);
    json_object_object_add(o, "port", NULL);
    json_object_object_add(o, "ttl", json_object_new_int64(r->ttl));
    json_object_object_add(o, "weight", NULL);
    json_object_object_add(o, "flags", NULL);
    json_object_object_add(o, "tag", NULL);
    return o;
}

static struct json_object *wrap(const char *key, struct json_object *v)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, key, v);
    return o;
}

/* ---------------------------------------------------------- validation -- */

static int hostname_ok(const char *s)
{
    if (strcmp(s, "@") == 0)
        return 1;
    size_t n = strlen(s);
    return n > 0 && n <= 253 && s[0] != '.' && s[n - 1] != '.' && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-._*") == n;
}

static int ipv4_ok(const char *s)
{
    struct in_addr a;
    return s && inet_pton(AF_INET, s, &a) == 1;
}

static const char *str_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Type, name, data and ttl of a create or update body (update: fall back
 * on the record's own). 0, or -1 with a 422 in r. */
static int check_fields(struct fake_do_dns *f, struct json_object *b, const struct record *old,
                        const char **type, const char **name, const char **data, long *ttl,
                        struct reply *r)
{
    static const char *const types[] = {"A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV",
                                        "TXT", NULL};
    struct json_object *t;

    if (!json_object_is_type(b, json_type_object))
        return unprocessable(f, r, "The request body is not a JSON object.");
    *type = str_field(b, "type") ? str_field(b, "type") : old ? old->type : NULL;
    *name = str_field(b, "name") ? str_field(b, "name") : old ? old->name : NULL;
    *data = str_field(b, "data") ? str_field(b, "data") : old ? old->data : NULL;
    *ttl = old ? old->ttl : 1800;
    if (json_object_object_get_ex(b, "ttl", &t) && t) {
        if (!json_object_is_type(t, json_type_int))
            return unprocessable(f, r, "Ttl must be an integer.");
        *ttl = (long)json_object_get_int64(t);
    }
    int known = 0;
    for (size_t i = 0; *type && types[i]; i++)
        known |= strcmp(*type, types[i]) == 0;
    if (!known)
        return unprocessable(f, r, "Type is not a valid record type.");
    if (!*name || !hostname_ok(*name))
        return unprocessable(f, r, "Name is invalid.");
    if (!*data || !**data)
        return unprocessable(f, r, "Data needs to not be blank.");
    if (strcmp(*type, "A") == 0 && !ipv4_ok(*data))
        return unprocessable(f, r, "Data needs to be a valid IPv4 address.");
    if (*ttl < MIN_TTL)
        return unprocessable(f, r, "Ttl must be greater than or equal to 30.");
    return 0;
}

/* ----------------------------------------------------------- endpoints -- */

static struct json_object *parse_body(const struct fake_httpd_body *up)
{
    return up->buf ? json_tokener_parse(up->buf) : NULL;
}

static int name_blocked(struct fake_do_dns *f, const char *name, struct reply *r)
{
    if (!f->fail_name || !name || strcmp(f->fail_name, name) != 0 || !f->fail_name_status)
        return 0;
    f->stats.faults++;
    api_error(f, r, (unsigned)f->fail_name_status,
              f->fail_name_status == 422 ? "unprocessable_entity" : "server_error",
              "Injected failure for records named %s.", name);
    return 1;
}

static void get_domain(struct fake_do_dns *f, const char *domain, struct reply *r)
{
    f->stats.domain_gets++;
    if (!has_domain(f, domain))
        return not_found(f, r);
    struct json_object *d = json_object_new_object();
    char zone_file[1024];
    snprintf(zone_file, sizeof zone_file,
             "$ORIGIN %s.\n$TTL 1800\n%s. IN SOA ns1.digitalocean.com. hostmaster.%s. "
             "1 10800 3600 604800 1800\n",
             domain, domain, domain);
    json_object_object_add(d, "name", json_object_new_string(domain));
    json_object_object_add(d, "ttl", json_object_new_int(1800));
    json_object_object_add(d, "zone_file", json_object_new_string(zone_file));
    r->status = 200;
    r->body = fake_httpd_json(wrap("domain", d));
}

static long long query_num(struct MHD_Connection *c, const char *name, long long fallback)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    char *end;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return s && *s && !*end && v > 0 ? v : fallback;
}

static void add_link(struct fake_do_dns *f, struct json_object *pages, const char *rel,
                     const char *domain, const char *query, long long page, long long per)
{
    char link[768];
    snprintf(link, sizeof link, "%s/domains/%s/records?%spage=%lld&per_page=%lld",
             fake_httpd_url(f->httpd), domain, query, page, per);
    json_object_object_add(pages, rel, json_object_new_string(link));
}

static void list_records(struct fake_do_dns *f, struct MHD_Connection *c, const char *domain,
                         struct reply *r)
{
    const char *type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    long long page = query_num(c, "page", 1), per = query_num(c, "per_page", DEFAULT_PER_PAGE);
    char full[600], query[400] = "";

    f->stats.lists++;
    if (!has_domain(f, domain))
        return not_found(f, r);
    if (per > f->max_per_page)
        per = f->max_per_page;
    /* The filters a next link must carry on. */
    if (type && name)
        snprintf(query, sizeof query, "name=%s&type=%s&", name, type);
    else if (type || name)
        snprintf(query, sizeof query, "%s=%s&", type ? "type" : "name", type ? type : name);

    struct json_object *arr = json_object_new_array();
    long long total = 0, first = (page - 1) * per;
    for (size_t i = 0; i < f->nrecs; i++) {
        const struct record *rec = &f->recs[i];
        if (strcmp(rec->domain, domain) != 0 || (type && strcmp(rec->type, type) != 0))
            continue;
        full_name(rec, full, sizeof full);
        if (name && strcmp(full, name) != 0)
            continue;
        if (total >= first && total < first + per)
            json_object_array_add(arr, record_json(rec));
        total++;
    }
    long long last = total ? (total + per - 1) / per : 1;
    struct json_object *o = json_object_new_object(), *links = json_object_new_object(),
                       *pages = json_object_new_object(), *meta = json_object_new_object();
    if (page > 1) {
        add_link(f, pages, "first", domain, query, 1, per);
        add_link(f, pages, "prev", domain, query, page - 1, per);
    }
    if (page < last) {
        add_link(f, pages, "next", domain, query, page + 1, per);
        add_link(f, pages, "last", domain, query, last, per);
    }
    json_object_object_add(links, "pages", pages);
    json_object_object_add(meta, "total", json_object_new_int64(total));
    json_object_object_add(o, "domain_records", arr);
    json_object_object_add(o, "links", links);
    json_object_object_add(o, "meta", meta);
    r->status = 200;
    r->body = fake_httpd_json(o);
}

static void create_record(struct fake_do_dns *f, const char *domain,
                          const struct fake_httpd_body *up, struct reply *r)
{
    const char *type, *name, *data;
    long ttl;

    f->stats.creates++;
    if (!has_domain(f, domain))
        return not_found(f, r);
    struct json_object *b = parse_body(up);
    if (check_fields(f, b, NULL, &type, &name, &data, &ttl, r) == 0 &&
        !name_blocked(f, name, r)) {
        struct record *rec = new_record(f, domain, type, name, data, ttl);
        r->status = rec ? 201 : 500;
        r->body = rec ? fake_httpd_json(wrap("domain_record", record_json(rec))) : NULL;
    }
    json_object_put(b);
}

static void get_record(struct fake_do_dns *f, const char *domain, long long id, struct reply *r)
{
    f->stats.record_gets++;
    struct record *rec = has_domain(f, domain) ? find_record(f, domain, id) : NULL;
    if (!rec)
        return not_found(f, r);
    r->status = 200;
    r->body = fake_httpd_json(wrap("domain_record", record_json(rec)));
}

static void update_record(struct fake_do_dns *f, const char *domain, long long id,
                          const struct fake_httpd_body *up, struct reply *r)
{
    const char *type, *name, *data;
    long ttl;

    f->stats.updates++;
    struct record *rec = has_domain(f, domain) ? find_record(f, domain, id) : NULL;
    if (!rec)
        return not_found(f, r);
    struct json_object *b = parse_body(up);
    if (!name_blocked(f, rec->name, r) &&
        check_fields(f, b, rec, &type, &name, &data, &ttl, r) == 0) {
        char *t = strdup(type), *n = strdup(name), *d = strdup(data);
        free(rec->type);
        free(rec->name);
        free(rec->data);
        rec->type = t, rec->name = n, rec->data = d, rec->ttl = ttl;
        r->status = 200;
        r->body = fake_httpd_json(wrap("domain_record", record_json(rec)));
    }
    json_object_put(b);
}

static void delete_record(struct fake_do_dns *f, const char *domain, long long id,
                          struct reply *r)
{
    f->stats.deletes++;
    struct record *rec = has_domain(f, domain) ? find_record(f, domain, id) : NULL;
    if (!rec)
        return not_found(f, r);
    if (name_blocked(f, rec->name, r))
        return;
    size_t i = (size_t)(rec - f->recs);
    record_free(rec);
    memmove(&f->recs[i], &f->recs[i + 1], (f->nrecs - i - 1) * sizeof *f->recs);
    f->nrecs--;
    r->status = 204;
}

/* ---------------------------------------------------------------- routing -- */

/* "/v2/domains/{domain}[/records[/{id}]]" into its parts; 0, or -1. */
static int split_path(const char *path, char *domain, size_t size, int *records, long long *id)
{
    static const char prefix[] = API_PREFIX "/domains/";
    *records = 0;
    *id = 0;
    if (strncmp(path, prefix, sizeof prefix - 1) != 0)
        return -1;
    const char *d = path + sizeof prefix - 1, *slash = strchr(d, '/');
    size_t n = slash ? (size_t)(slash - d) : strlen(d);
    if (n == 0 || n >= size)
        return -1;
    memcpy(domain, d, n);
    domain[n] = '\0';
    if (!slash)
        return 0;
    if (strncmp(slash, "/records", 8) != 0)
        return -1;
    *records = 1;
    const char *rest = slash + 8;
    if (*rest == '\0')
        return 0;
    if (*rest != '/')
        return -1;
    char *end;
    errno = 0;
    *id = strtoll(rest + 1, &end, 10);
    return errno || *end || *id <= 0 ? -1 : 0;
}

static int authorised(struct fake_do_dns *f, struct MHD_Connection *c, struct reply *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    static const char bearer[] = "Bearer ";
    if (h && strncmp(h, bearer, sizeof bearer - 1) == 0 &&
        strcmp(h + sizeof bearer - 1, f->token) == 0)
        return 1;
    f->stats.unauthorized++;
    if (f->echo_token && h)
        api_error(f, r, 401, "unauthorized", "Unable to authenticate you with '%s'.", h);
    else
        api_error(f, r, 401, "unauthorized", "Unable to authenticate you.");
    return 0;
}

static void injected(struct fake_do_dns *f, struct reply *r, int status, long retry_after)
{
    f->stats.faults++;
    if (status == 429)
        api_error(f, r, 429, "too_many_requests", "API Rate limit exceeded.");
    else
        api_error(f, r, (unsigned)status, status >= 500 ? "server_error" : "error",
                  "Injected failure (HTTP %d).", status);
    r->retry_after = retry_after;
}

static void route(struct fake_do_dns *f, struct MHD_Connection *c, const char *method,
                  const char *path, const struct fake_httpd_body *up, struct reply *r)
{
    char domain[256];
    int records;
    long long id;

    if (f->fail_n > 0) {
        f->fail_n--;
        return injected(f, r, f->fail_status, f->fail_retry_after);
    }
    if (!authorised(f, c, r))
        return;
    if (f->fail_count > 0 && strcmp(method, f->fail_method) == 0) {
        if (f->fail_skip > 0) {
            f->fail_skip--;
        } else {
            f->fail_count--;
            return injected(f, r, f->fail_method_status,
                            f->fail_method_status == 429 ? 0 : -1);
        }
    }
    if (split_path(path, domain, sizeof domain, &records, &id) < 0)
        return not_found(f, r);
    int get = strcmp(method, "GET") == 0;
    if (!records && get)
        return get_domain(f, domain, r);
    if (records && !id && get)
        return list_records(f, c, domain, r);
    if (records && !id && strcmp(method, "POST") == 0)
        return create_record(f, domain, up, r);
    if (records && id && get)
        return get_record(f, domain, id, r);
    if (records && id && (strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0))
        return update_record(f, domain, id, up, r);
    if (records && id && strcmp(method, "DELETE") == 0)
        return delete_record(f, domain, id, r);
    f->stats.rejected++;
    api_error(f, r, 405, "method_not_allowed", "Method Not Allowed");
}

/* ------------------------------------------------------------- plumbing -- */

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r, long remaining)
{
    struct MHD_Response *resp =
        fake_httpd_response(r->body, "application/json; charset=utf-8", r->retry_after);
    if (!resp)
        return MHD_NO;
    fake_httpd_num_header(resp, "ratelimit-limit", RATE_LIMIT);
    fake_httpd_num_header(resp, "ratelimit-remaining", remaining);
    fake_httpd_num_header(resp, "ratelimit-reset", (long long)time(NULL) + 60);
    return fake_httpd_reply(c, r->status, resp);
}

/* Only the Authorization header is kept: it is all the DNS tests ask about. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *method,
                                  const char *url, const struct fake_httpd_body *up)
{
    struct fake_do_dns *f = cls;
    struct reply r = {500, NULL, -1};
    pthread_mutex_lock(&f->lock);
    f->stats.requests++;
    f->next_request++;
    free(f->last_auth);
    f->last_auth =
        fake_httpd_dup(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
    route(f, c, method, url, up, &r);
    long remaining = f->stats.requests < RATE_LIMIT ? RATE_LIMIT - f->stats.requests : 0;
    pthread_mutex_unlock(&f->lock);
    return send_reply(c, &r, remaining);
}

struct fake_do_dns *fake_do_dns_start(const char *token)
{
    struct fake_do_dns *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->token = fake_httpd_dup(token);
    f->next_id = 28448429; /* DO's own example id */
    f->max_per_page = MAX_PER_PAGE;

    if (!(f->httpd = fake_httpd_start(on_request, f, API_PREFIX))) {
        fake_do_dns_stop(f);
        return NULL;
    }
    return f;
}

void fake_do_dns_stop(struct fake_do_dns *f)
{
    if (!f)
        return;
    fake_httpd_stop(f->httpd);
    for (size_t i = 0; i < f->nrecs; i++)
        record_free(&f->recs[i]);
    for (size_t i = 0; i < f->ndomains; i++)
        free(f->domains[i]);
    free(f->domains);
    free(f->recs);
    free(f->token);
    free(f->fail_name);
    free(f->last_auth);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *fake_do_dns_url(const struct fake_do_dns *f)
{
    return fake_httpd_url(f->httpd);
}

/* ------------------------------------------------------------------ knobs -- */

int fake_do_dns_add_domain(struct fake_do_dns *f, const char *domain)
{
    int rc = -1;
    pthread_mutex_lock(&f->lock);
    char **v = has_domain(f, domain) ? NULL
                                      : realloc(f->domains, (f->ndomains + 1) * sizeof *v);
    if (v) {
        f->domains = v;
        f->domains[f->ndomains++] = strdup(domain);
        new_record(f, domain, "SOA", "@", "1800", 1800);
        new_record(f, domain, "NS", "@", "ns1.digitalocean.com", 1800);
        new_record(f, domain, "NS", "@", "ns2.digitalocean.com", 1800);
        new_record(f, domain, "NS", "@", "ns3.digitalocean.com", 1800);
        rc = 0;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

long long fake_do_dns_add_record(struct fake_do_dns *f, const char *domain, const char *type,
                                 const char *name, const char *data, long ttl)
{
    long long id = -1;
    pthread_mutex_lock(&f->lock);
    struct record *r = has_domain(f, domain) ? new_record(f, domain, type, name, data, ttl)
                                             : NULL;
    if (r)
        id = r->id;
    pthread_mutex_unlock(&f->lock);
    return id;
}

static int matches_a(const struct record *r, const char *domain, const char *name)
{
    return strcmp(r->domain, domain) == 0 && strcmp(r->type, "A") == 0 &&
           strcmp(r->name, name) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *fake_do_dns_addresses(struct fake_do_dns *f, const char *domain, const char *name)
{
    pthread_mutex_lock(&f->lock);
    const char **v = calloc(f->nrecs + 1, sizeof *v);
    size_t n = 0, len = 1;
    for (size_t i = 0; v && i < f->nrecs; i++)
        if (matches_a(&f->recs[i], domain, name)) {
            v[n++] = f->recs[i].data;
            len += strlen(f->recs[i].data) + 1;
        }
    qsort(v, n, sizeof *v, cmp_str);
    char *out = calloc(1, len);
    for (size_t i = 0; out && i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, v[i]);
    }
    pthread_mutex_unlock(&f->lock);
    free(v);
    return out;
}

long fake_do_dns_ttl(struct fake_do_dns *f, const char *domain, const char *name)
{
    long ttl = -1;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nrecs; i++)
        if (matches_a(&f->recs[i], domain, name))
            ttl = ttl == -1 || ttl == f->recs[i].ttl ? f->recs[i].ttl : -2;
    pthread_mutex_unlock(&f->lock);
    return ttl;
}

size_t fake_do_dns_count(struct fake_do_dns *f, const char *domain, const char *name)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nrecs; i++)
        n += (size_t)matches_a(&f->recs[i], domain, name);
    pthread_mutex_unlock(&f->lock);
    return n;
}

size_t fake_do_dns_total(struct fake_do_dns *f, const char *domain)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nrecs; i++)
        n += strcmp(f->recs[i].domain, domain) == 0;
    pthread_mutex_unlock(&f->lock);
    return n;
}

void fake_do_dns_set_max_per_page(struct fake_do_dns *f, int n)
{
    FAKE_LOCKED(f, f->max_per_page = n > 0 && n <= MAX_PER_PAGE ? n : MAX_PER_PAGE);
}

void fake_do_dns_set_echo_token(struct fake_do_dns *f, int on)
{
    FAKE_LOCKED(f, f->echo_token = on);
}

void fake_do_dns_fail_next(struct fake_do_dns *f, int n, int status, long retry_after_s)
{
    FAKE_LOCKED(f, (f->fail_n = n, f->fail_status = status,
                    f->fail_retry_after = retry_after_s));
}

void fake_do_dns_fail_method(struct fake_do_dns *f, const char *method, int skip, int count,
                             int status)
{
    pthread_mutex_lock(&f->lock);
    snprintf(f->fail_method, sizeof f->fail_method, "%s", method);
    f->fail_skip = skip;
    f->fail_count = count;
    f->fail_method_status = status;
    pthread_mutex_unlock(&f->lock);
}

void fake_do_dns_fail_name(struct fake_do_dns *f, const char *name, int status)
{
    char *n = fake_httpd_dup(name);
    FAKE_LOCKED(f, (free(f->fail_name), f->fail_name = n, f->fail_name_status = status));
}

void fake_do_dns_stats(struct fake_do_dns *f, struct fake_do_dns_stats *out)
{
    FAKE_LOCKED(f, *out = f->stats);
}

void fake_do_dns_reset_stats(struct fake_do_dns *f)
{
    FAKE_LOCKED(f, memset(&f->stats, 0, sizeof f->stats));
}

char *fake_do_dns_last_auth(struct fake_do_dns *f)
{
    return fake_httpd_locked_dup(&f->lock, &f->last_auth);
}
