/* fake_openstack.c - see fake_openstack.h.
 *
 * Built like fake_st2.c: one mutex guards everything (requests are tiny and
 * a test fake needs obviously-correct more than concurrency), libmicrohttpd
 * runs one thread per connection so a delayed answer holds up only its own
 * client, and the work of a request is done before its delay, so a client
 * that gives up waiting still leaves the effect behind. */
#include "fake_openstack.h"
#include "fake_httpd.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_MICROVERSION 96 /* 2.96, Nova 2024.1 */
#define DEFAULT_MAX_LIMIT 1000 /* Nova's [api] max_limit */
#define USER_DATA_MAX 65535    /* Nova's limit on the base64 text */
#define PROJECT_ID "9f8e7d6c5b4a49382716a5b4c3d2e1f0"
#define USER_ID "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6"

static const char *const regions[] = {"RegionOne", "RegionTwo"};
static const char *const interfaces[] = {"public", "internal", "admin"};

/* A flavor, image, network or key pair: an id and a name. */
struct named {
    char *id, *name;
};

struct catalogue {
    struct named *v;
    size_t n, cap;
};

struct server {
    char id[40];
    char *name;
    unsigned long long seq;   /* creation order */
    long long created;
    char status[24];          /* Nova's status */
    const char *task_state;   /* NULL: none */
    int polls_left;           /* GETs before the next transition */
    int fail_build;           /* BUILD ends in ERROR */
    char *fault;              /* ERROR's fault message */
    int deleting, locked, addressed;
    const char *power_to;     /* os-stop/os-start under way: "SHUTOFF" or
                                 "ACTIVE" once polls_left runs out */
    char **nets;              /* network names */
    size_t nnets;
    char *flavor_id, *image_id, *key_name;
    struct json_object *metadata; /* object */
    struct json_object *request;  /* the POST's "server" object, or NULL */
    char *user_data;              /* decoded, or NULL */
};

struct fake_openstack {
    struct fake_httpd *httpd;
    char base[96], auth_url[128], prefix[32];
    struct fake_openstack_config cfg; /* strings owned */

    pthread_mutex_t lock;

    struct server *servers;
    size_t nservers, cap;
    unsigned long long seq;
    struct catalogue flavors, images, networks, keypairs;

    char **tokens;
    size_t ntokens, tcap, valid_from; /* tokens[valid_from..] are valid */

    int build_polls, delete_polls, power_polls, quota, max_limit;
    int fail_builds;
    char *fail_build_message;
    struct {
        enum fake_os_endpoint ep;
        int n, status, malformed;
        long retry_after;
    } inject;
    struct {
        enum fake_os_endpoint ep;
        long ms;
    } delay;
    int echo;
    enum fake_os_echo_form echo_form;

    struct fake_openstack_stats stats;
    struct fake_httpd_last last;
};

/* One request as routing sees it. */
struct req {
    struct MHD_Connection *c;
    const char *method, *path;
    const struct fake_httpd_body *up;
    enum fake_os_endpoint ep;
    const char *id;      /* server id in the path, or NULL */
    char idbuf[64];      /* the id of /servers/{id}/action, cut out */
    char svc_url[192];   /* the service endpoint it came in on, for links */
    int microversion;    /* the minor of 2.x */
    char echo[320];      /* " (X-Auth-Token: ...)" when echo is on */
};

/* What to answer; built under the lock, sent after it is released. */
struct reply {
    unsigned status;
    char *body; /* or NULL */
    const char *content_type;
    long retry_after;
    char *subject_token, *location;
    int compute; /* add the microversion headers */
    int microversion;
};

static unsigned instances; /* per-process instance counter, for the URL prefix */

/* ------------------------------------------------------------- helpers -- */

static void iso_time(long long t, int micro, char *out, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, size, micro ? "%Y-%m-%dT%H:%M:%S.000000Z" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static struct json_object *link_list(const char *self, const char *bookmark)
{
    struct json_object *a = json_object_new_array(), *l;
    l = json_object_new_object();
    add_str(l, "rel", "self");
    add_str(l, "href", self);
    json_object_array_add(a, l);
    l = json_object_new_object();
    add_str(l, "rel", "bookmark");
    add_str(l, "href", bookmark);
    json_object_array_add(a, l);
    return a;
}

/* ----------------------------------------------------------- base64 ----- */

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Strict RFC 4648 decoding (padding required), as Nova's schema check is:
 * NULL when s is not base64. */
static char *b64_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    if (n % 4)
        return NULL;
    char *out = malloc(n / 4 * 3 + 1);
    size_t w = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64_value((unsigned char)s[i + k])) < 0) {
                free(out);
                return NULL;
            }
        }
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
                          (unsigned)v[2] << 6 | (unsigned)v[3];
        out[w++] = (char)(triple >> 16);
        if (pad < 2)
            out[w++] = (char)(triple >> 8 & 0xff);
        if (pad < 1)
            out[w++] = (char)(triple & 0xff);
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

/* ------------------------------------------------------- error bodies -- */

/* Nova's fault wrapper names the body's one key after the status. */
static const char *nova_kind(unsigned status)
{
    switch (status) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "itemNotFound";
    case 405: return "badMethod";
    case 406: return "notAcceptable";
    case 409: return "conflictingRequest";
    case 413:
    case 429: return "overLimit";
    case 501: return "notImplemented";
    case 503: return "serviceUnavailable";
    default: return "computeFault";
    }
}

static void set_body(struct reply *r, unsigned status, char *body, const char *type)
{
    r->status = status;
    free(r->body);
    r->body = body;
    r->content_type = type;
}

static void nova_fault(struct reply *r, const struct req *q, unsigned status,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void nova_fault(struct reply *r, const struct req *q, unsigned status,
                       const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    strncat(msg, q->echo, sizeof msg - strlen(msg) - 1);
    struct json_object *o = json_object_new_object(), *e = json_object_new_object();
    add_str(e, "message", msg);
    json_object_object_add(e, "code", json_object_new_int((int)status));
    json_object_object_add(o, nova_kind(status), e);
    set_body(r, status, fake_httpd_json(o), "application/json");
}

/* Keystone's (and keystonemiddleware's) shape. */
static void keystone_error(struct reply *r, const struct req *q, unsigned status,
                           const char *title, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void keystone_error(struct reply *r, const struct req *q, unsigned status,
                           const char *title, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    strncat(msg, q->echo, sizeof msg - strlen(msg) - 1);
    struct json_object *o = json_object_new_object(), *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_int((int)status));
    add_str(e, "title", title);
    add_str(e, "message", msg);
    json_object_object_add(o, "error", e);
    set_body(r, status, fake_httpd_json(o), "application/json");
}

static void neutron_error(struct reply *r, const struct req *q, unsigned status,
                          const char *type, const char *msg)
{
    char text[1024];
    snprintf(text, sizeof text, "%s%s", msg, q->echo);
    struct json_object *o = json_object_new_object(), *e = json_object_new_object();
    add_str(e, "type", type);
    add_str(e, "message", text);
    add_str(e, "detail", "");
    json_object_object_add(o, "NeutronError", e);
    set_body(r, status, fake_httpd_json(o), "application/json");
}

/* Glance answers errors with webob's plain-text pages. */
static void glance_error(struct reply *r, const struct req *q, unsigned status,
                         const char *title, const char *msg)
{
    char *text = NULL;
    if (asprintf(&text, "%u %s\n\n%s%s\n\n   ", status, title, msg, q->echo) < 0)
        text = NULL;
    set_body(r, status, text, "text/plain; charset=UTF-8");
}

static const char *status_title(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}

/* An error in the shape of whichever service the request went to. */
static void service_error(struct reply *r, const struct req *q, unsigned status,
                          const char *msg)
{
    switch (q->ep) {
    case FAKE_OS_AUTH:
        keystone_error(r, q, status, status_title((int)status), "%s", msg);
        break;
    case FAKE_OS_IMAGES:
        glance_error(r, q, status, status_title((int)status), msg);
        break;
    case FAKE_OS_NETWORKS:
        neutron_error(r, q, status, "HTTPError", msg);
        break;
    default:
        nova_fault(r, q, status, "%s", msg);
    }
}

/* ------------------------------------------------------------ catalogue -- */

static void cat_add(struct catalogue *c, const char *id, const char *name)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct named *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n].id = strdup(id);
    c->v[c->n].name = strdup(name);
    c->n++;
}

static void cat_free(struct catalogue *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].id);
        free(c->v[i].name);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

static const struct named *cat_by_id(const struct catalogue *c, const char *id)
{
    for (size_t i = 0; id && i < c->n; i++)
        if (strcmp(c->v[i].id, id) == 0)
            return &c->v[i];
    return NULL;
}

static const struct named *cat_by_name(const struct catalogue *c, const char *name)
{
    for (size_t i = 0; name && i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    return NULL;
}

/* ------------------------------------------------------------- servers -- */

static struct server *server_find(struct fake_openstack *f, const char *id)
{
    for (size_t i = 0; id && i < f->nservers; i++)
        if (strcmp(f->servers[i].id, id) == 0)
            return &f->servers[i];
    return NULL;
}

static void server_free(struct server *s)
{
    free(s->name);
    free(s->fault);
    for (size_t i = 0; i < s->nnets; i++)
        free(s->nets[i]);
    free(s->nets);
    free(s->flavor_id);
    free(s->image_id);
    free(s->key_name);
    json_object_put(s->metadata);
    json_object_put(s->request);
    free(s->user_data);
}

static void server_remove(struct fake_openstack *f, struct server *s)
{
    size_t i = (size_t)(s - f->servers);
    server_free(s);
    memmove(&f->servers[i], &f->servers[i + 1], (f->nservers - i - 1) * sizeof *s);
    f->nservers--;
}

static size_t live_servers(struct fake_openstack *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nservers; i++)
        n += !f->servers[i].deleting;
    return n;
}

/* A new server in BUILD, appended (creation order is array order). The
 * uuid-shaped id is derived from the instance and a counter: unique, and
 * valid for clients that check the shape. */
static struct server *server_new(struct fake_openstack *f, const char *name)
{
    if (f->nservers == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct server *v = realloc(f->servers, cap * sizeof *v);
        if (!v)
            return NULL;
        f->servers = v;
        f->cap = cap;
    }
    struct server *s = &f->servers[f->nservers];
    memset(s, 0, sizeof *s);
    s->seq = ++f->seq;
    unsigned long long mix = (s->seq * 0x9E3779B97F4A7C15ull) & 0xffffffffffffull;
    snprintf(s->id, sizeof s->id, "%08x-%04x-4%03x-8%03x-%012llx", 0x5e7e0000u + instances,
             (unsigned)(s->seq >> 24) & 0xffff, (unsigned)(s->seq >> 12) & 0xfff,
             (unsigned)s->seq & 0xfff, mix);
    s->name = strdup(name);
    s->created = (long long)time(NULL);
    snprintf(s->status, sizeof s->status, "BUILD");
    s->task_state = "scheduling";
    s->polls_left = f->build_polls;
    s->metadata = json_object_new_object();
    if (f->fail_builds > 0) {
        f->fail_builds--;
        s->fail_build = 1;
        s->fault = fake_httpd_dup(f->fail_build_message);
    }
    f->nservers++;
    return s;
}

static void server_add_net(struct server *s, const char *name)
{
    char **v = realloc(s->nets, (s->nnets + 1) * sizeof *v);
    if (!v)
        return;
    s->nets = v;
    s->nets[s->nnets++] = strdup(name);
}

static void server_activate(struct server *s)
{
    if (s->fail_build) {
        snprintf(s->status, sizeof s->status, "ERROR");
        if (!s->fault)
            s->fault = strdup("No valid host was found. There are not enough hosts "
                              "available.");
    } else {
        snprintf(s->status, sizeof s->status, "ACTIVE");
        s->addressed = 1;
    }
    s->task_state = NULL;
}

/* One GET poll moves a server along its lifecycle. Returns 1 when the
 * server is gone (and has been removed). */
static int server_poll(struct fake_openstack *f, struct server *s)
{
    if (s->deleting) {
        if (s->polls_left-- <= 0) {
            server_remove(f, s);
            return 1;
        }
    } else if (s->power_to) {
        if (s->polls_left-- <= 0) {
            snprintf(s->status, sizeof s->status, "%s", s->power_to);
            s->power_to = NULL;
            s->task_state = NULL;
        }
    } else if (strcmp(s->status, "BUILD") == 0) {
        if (s->polls_left <= 0)
            server_activate(s);
        else {
            s->polls_left--;
            s->task_state = "spawning";
        }
    }
    return 0;
}

/* {"net": [{v6 fixed}, {v4 fixed}], ...}: IPv6 first on purpose. */
static struct json_object *addresses_json(struct fake_openstack *f, const struct server *s)
{
    struct json_object *a = json_object_new_object();
    if (!s->addressed)
        return a;
    for (size_t k = 0; k < s->nnets; k++) {
        size_t net = 0;
        while (net < f->networks.n && strcmp(f->networks.v[net].name, s->nets[k]) != 0)
            net++;
        char v4[32], v6[64], mac[32];
        unsigned long long h = s->seq;
        snprintf(v4, sizeof v4, "10.%zu.%llu.%llu", net + 1, (h / 250) % 250, h % 250 + 2);
        snprintf(v6, sizeof v6, "fd00:%zx::%llx", net + 1, h + 1);
        snprintf(mac, sizeof mac, "fa:16:3e:%02llx:%02llx:%02zx", (h >> 8) & 0xff, h & 0xff,
                 net);
        struct json_object *list = json_object_new_array();
        for (int v = 6; v >= 4; v -= 2) {
            struct json_object *e = json_object_new_object();
            json_object_object_add(e, "version", json_object_new_int(v));
            add_str(e, "addr", v == 4 ? v4 : v6);
            add_str(e, "OS-EXT-IPS:type", "fixed");
            add_str(e, "OS-EXT-IPS-MAC:mac_addr", mac);
            json_object_array_add(list, e);
        }
        json_object_object_add(a, s->nets[k], list);
    }
    return a;
}

static const char *vm_state(const struct server *s)
{
    if (strcmp(s->status, "BUILD") == 0)
        return "building";
    if (strcmp(s->status, "ERROR") == 0)
        return "error";
    if (strcmp(s->status, "SHUTOFF") == 0)
        return "stopped";
    return "active";
}

/* The server document of GET /servers/{id} and /servers/detail, as the
 * microversion asks (flavor embedded from 2.47, locked from 2.9, ...). */
static struct json_object *server_json(struct fake_openstack *f, const struct server *s,
                                       const struct req *q, int detail)
{
    struct json_object *o = json_object_new_object();
    char self[320], bookmark[320], ts[40];

    snprintf(self, sizeof self, "%s/servers/%s", q->svc_url, s->id);
    snprintf(bookmark, sizeof bookmark, "%s/servers/%s", q->svc_url, s->id);
    add_str(o, "id", s->id);
    add_str(o, "name", s->name);
    json_object_object_add(o, "links", link_list(self, bookmark));
    if (!detail)
        return o;
    iso_time(s->created, 0, ts, sizeof ts);
    add_str(o, "status", s->status);
    add_str(o, "tenant_id", PROJECT_ID);
    add_str(o, "user_id", USER_ID);
    json_object_object_add(o, "metadata", json_object_get(s->metadata));
    add_str(o, "hostId", s->addressed ? "2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c" : "");
    struct json_object *img = json_object_new_object();
    add_str(img, "id", s->image_id ? s->image_id : "");
    json_object_object_add(o, "image", img);
    struct json_object *flv = json_object_new_object();
    if (q->microversion >= 47) {
        const struct named *fl = cat_by_id(&f->flavors, s->flavor_id);
        add_str(flv, "original_name", fl ? fl->name : "");
        json_object_object_add(flv, "vcpus", json_object_new_int(1));
        json_object_object_add(flv, "ram", json_object_new_int(512));
        json_object_object_add(flv, "disk", json_object_new_int(1));
    } else {
        add_str(flv, "id", s->flavor_id ? s->flavor_id : "");
    }
    json_object_object_add(o, "flavor", flv);
    add_str(o, "created", ts);
    add_str(o, "updated", ts);
    json_object_object_add(o, "addresses", addresses_json(f, s));
    add_str(o, "accessIPv4", "");
    add_str(o, "accessIPv6", "");
    add_str(o, "OS-DCF:diskConfig", "MANUAL");
    json_object_object_add(o, "progress", json_object_new_int(s->addressed ? 100 : 0));
    add_str(o, "OS-EXT-AZ:availability_zone", "nova");
    add_str(o, "config_drive", "");
    add_str(o, "key_name", s->key_name);
    add_str(o, "OS-SRV-USG:launched_at", s->addressed ? ts : NULL);
    add_str(o, "OS-SRV-USG:terminated_at", NULL);
    add_str(o, "OS-EXT-STS:task_state", s->deleting ? "deleting" : s->task_state);
    add_str(o, "OS-EXT-STS:vm_state", vm_state(s));
    json_object_object_add(o, "OS-EXT-STS:power_state",
                           json_object_new_int(s->addressed ? 1 : 0));
    json_object_object_add(o, "os-extended-volumes:volumes_attached",
                           json_object_new_array());
    struct json_object *sgs = json_object_new_array(), *sg = json_object_new_object();
    add_str(sg, "name", "default");
    json_object_array_add(sgs, sg);
    json_object_object_add(o, "security_groups", sgs);
    if (q->microversion >= 9)
        json_object_object_add(o, "locked", json_object_new_boolean(s->locked));
    if (q->microversion >= 19)
        add_str(o, "description", NULL);
    if (strcmp(s->status, "ERROR") == 0) {
        struct json_object *fault = json_object_new_object();
        json_object_object_add(fault, "code", json_object_new_int(500));
        add_str(fault, "created", ts);
        add_str(fault, "message", s->fault ? s->fault : "");
        add_str(fault, "details", "Traceback (most recent call last): ...");
        json_object_object_add(o, "fault", fault);
    }
    return o;
}

/* ------------------------------------------------------------ identity -- */

static const char *token_issue(struct fake_openstack *f)
{
    if (f->ntokens == f->tcap) {
        size_t cap = f->tcap ? f->tcap * 2 : 16;
        char **v = realloc(f->tokens, cap * sizeof *v);
        if (!v)
            return NULL;
        f->tokens = v;
        f->tcap = cap;
    }
    /* Shaped like a Fernet token; unique is all that matters here. */
    char buf[96];
    snprintf(buf, sizeof buf, "gAAAAABfake%04x%06zx%012llx", instances, f->ntokens + 1,
             ((unsigned long long)time(NULL) * 2654435761ull) & 0xffffffffffffull);
    if (!(f->tokens[f->ntokens] = strdup(buf)))
        return NULL;
    return f->tokens[f->ntokens++];
}

static int token_valid(struct fake_openstack *f, const char *tok)
{
    for (size_t i = f->valid_from; tok && i < f->ntokens; i++)
        if (strcmp(f->tokens[i], tok) == 0)
            return 1;
    return 0;
}

static struct json_object *endpoint_json(const char *iface, const char *region,
                                         const char *url, int n)
{
    struct json_object *e = json_object_new_object();
    char id[40];
    snprintf(id, sizeof id, "e%031d", n);
    add_str(e, "id", id);
    add_str(e, "interface", iface);
    add_str(e, "region", region);
    add_str(e, "region_id", region);
    add_str(e, "url", url);
    return e;
}

static struct json_object *catalog_json(struct fake_openstack *f)
{
    static const struct {
        const char *type, *name, *path;
    } svc[] = {{"compute", "nova", "compute/v2.1"},
               {"image", "glance", "image"},
               {"network", "neutron", "network"}};
    struct json_object *cat = json_object_new_array();
    char url[256];
    int n = 0;

    struct json_object *ident = json_object_new_object(), *eps = json_object_new_array();
    add_str(ident, "type", "identity");
    add_str(ident, "name", "keystone");
    add_str(ident, "id", "5ad1d5ea0d2b4c4f8f0b8c9e6a6b7c8d");
    snprintf(url, sizeof url, "%s/identity", f->base);
    for (size_t i = 0; i < sizeof interfaces / sizeof *interfaces; i++)
        json_object_array_add(eps, endpoint_json(interfaces[i], regions[0], url, n++));
    json_object_object_add(ident, "endpoints", eps);
    json_object_array_add(cat, ident);

    for (size_t s = 0; s < sizeof svc / sizeof *svc; s++) {
        struct json_object *o = json_object_new_object();
        char id[40];
        snprintf(id, sizeof id, "%032zx", s + 1);
        add_str(o, "type", svc[s].type);
        add_str(o, "name", svc[s].name);
        add_str(o, "id", id);
        eps = json_object_new_array();
        for (size_t r = 0; r < sizeof regions / sizeof *regions; r++)
            for (size_t i = 0; i < sizeof interfaces / sizeof *interfaces; i++) {
                snprintf(url, sizeof url, "%s/%s/%s/%s", f->base, regions[r], interfaces[i],
                         svc[s].path);
                json_object_array_add(eps, endpoint_json(interfaces[i], regions[r], url, n++));
            }
        json_object_object_add(o, "endpoints", eps);
        json_object_array_add(cat, o);
    }
    return cat;
}

/* A domain reference {"name": ...} or {"id": ...} against a domain name;
 * the default domain's id is "default". */
static int domain_matches(struct json_object *d, const char *want)
{
    const char *name = NULL, *id = NULL;
    struct json_object *v;
    if (json_object_object_get_ex(d, "name", &v))
        name = json_object_get_string(v);
    if (json_object_object_get_ex(d, "id", &v))
        id = json_object_get_string(v);
    if (name)
        return strcmp(name, want) == 0;
    return id && strcasecmp(want, "Default") == 0 && strcmp(id, "default") == 0;
}

static struct json_object *path_get(struct json_object *o, const char *a, const char *b,
                                    const char *c)
{
    const char *keys[] = {a, b, c};
    for (int i = 0; i < 3 && keys[i] && o; i++)
        if (!json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, keys[i], &o))
            return NULL;
    return o;
}

static const char *path_str(struct json_object *o, const char *a, const char *b,
                            const char *c)
{
    struct json_object *v = path_get(o, a, b, c);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int has_method(struct json_object *methods, const char *m)
{
    size_t n = json_object_is_type(methods, json_type_array)
                   ? json_object_array_length(methods)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(methods, i));
        if (s && strcmp(s, m) == 0)
            return 1;
    }
    return 0;
}

static const char *refused = "The request you have made requires authentication.";

/* 0 when the password identity and the scope match, else a 401 is set. */
static int check_password(struct fake_openstack *f, const struct req *q,
                          struct json_object *auth, struct reply *r, int *scoped)
{
    struct json_object *user = path_get(auth, "identity", "password", "user");
    const char *name = path_str(user, "name", NULL, NULL);
    const char *pw = path_str(user, "password", NULL, NULL);
    struct json_object *dom = path_get(user, "domain", NULL, NULL);

    if (!user || !pw) {
        keystone_error(r, q, 400, "Bad Request",
                       "Invalid input for field 'identity/password/user': 'password' "
                       "is a required property");
        return -1;
    }
    if (!f->cfg.username || !name || strcmp(name, f->cfg.username) != 0 || !dom ||
        !domain_matches(dom, f->cfg.user_domain) || strcmp(pw, f->cfg.password) != 0) {
        if (f->echo) {
            char *echo = fake_openstack_echo_encode(f->echo_form, pw);
            keystone_error(r, q, 401, "Unauthorized", "%s (password \"%s\" refused)",
                           refused, echo ? echo : "");
            free(echo);
        } else
            keystone_error(r, q, 401, "Unauthorized", "%s", refused);
        return -1;
    }
    struct json_object *project = path_get(auth, "scope", "project", NULL);
    *scoped = project != NULL;
    if (!project)
        return 0; /* an unscoped token: valid, but without a catalog */
    const char *pname = path_str(project, "name", NULL, NULL);
    struct json_object *pdom = path_get(project, "domain", NULL, NULL);
    if (!pname || !pdom || strcmp(pname, f->cfg.project) != 0 ||
        !domain_matches(pdom, f->cfg.project_domain)) {
        keystone_error(r, q, 401, "Unauthorized",
                       "User %s has no access to project %s", USER_ID,
                       pname ? pname : "(by id)");
        return -1;
    }
    return 0;
}

static int check_appcred(struct fake_openstack *f, const struct req *q,
                         struct json_object *auth, struct reply *r)
{
    const char *id = path_str(auth, "identity", "application_credential", "id");
    const char *secret = path_str(auth, "identity", "application_credential", "secret");

    if (!secret) {
        keystone_error(r, q, 400, "Bad Request",
                       "Invalid input for field 'identity/application_credential': "
                       "'secret' is a required property");
        return -1;
    }
    if (path_get(auth, "scope", NULL, NULL)) {
        keystone_error(r, q, 401, "Unauthorized",
                       "Application credentials cannot request a scope.");
        return -1;
    }
    if (!id || !f->cfg.app_cred_id || strcmp(id, f->cfg.app_cred_id) != 0 ||
        strcmp(secret, f->cfg.app_cred_secret) != 0) {
        keystone_error(r, q, 401, "Unauthorized", "%s", refused);
        return -1;
    }
    return 0;
}

static void do_auth(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    struct json_object *doc = q->up->buf ? json_tokener_parse(q->up->buf) : NULL;
    struct json_object *auth = path_get(doc, "auth", NULL, NULL);
    struct json_object *methods = path_get(auth, "identity", "methods", NULL);
    int appcred = has_method(methods, "application_credential");
    int scoped = 1;

    if (!auth || !json_object_is_type(methods, json_type_array)) {
        keystone_error(r, q, 400, "Bad Request",
                       "Invalid input for field 'identity': 'methods' is a required "
                       "property");
        goto out;
    }
    if (!appcred && !has_method(methods, "password")) {
        keystone_error(r, q, 401, "Unauthorized", "%s", refused); /* no method we know */
        goto out;
    }
    if (appcred ? check_appcred(f, q, auth, r) < 0
                : check_password(f, q, auth, r, &scoped) < 0)
        goto out;

    const char *tok = token_issue(f);
    if (!tok) {
        keystone_error(r, q, 500, "Internal Server Error", "out of memory");
        goto out;
    }
    appcred ? f->stats.auth_appcred++ : f->stats.auth_password++;

    long long now = (long long)time(NULL);
    char issued[40], expires[40];
    iso_time(now, 1, issued, sizeof issued);
    iso_time(now + 3600, 1, expires, sizeof expires);
    struct json_object *t = json_object_new_object(), *m = json_object_new_array();
    json_object_array_add(m, json_object_new_string(appcred ? "application_credential"
                                                            : "password"));
    json_object_object_add(t, "methods", m);
    struct json_object *user = json_object_new_object(), *dom = json_object_new_object();
    add_str(dom, "id", "default");
    add_str(dom, "name", "Default");
    add_str(user, "id", USER_ID);
    add_str(user, "name", f->cfg.username ? f->cfg.username : "appcred-user");
    json_object_object_add(user, "domain", dom);
    add_str(user, "password_expires_at", NULL);
    json_object_object_add(t, "user", user);
    struct json_object *audit = json_object_new_array();
    json_object_array_add(audit, json_object_new_string("3T2dc1CGQxyJsHdDu1xkcw"));
    json_object_object_add(t, "audit_ids", audit);
    add_str(t, "expires_at", expires);
    add_str(t, "issued_at", issued);
    if (scoped) {
        struct json_object *p = json_object_new_object(), *pd = json_object_new_object();
        add_str(pd, "id", "default");
        add_str(pd, "name", "Default");
        add_str(p, "id", PROJECT_ID);
        add_str(p, "name", f->cfg.project ? f->cfg.project : "demo-project");
        json_object_object_add(p, "domain", pd);
        json_object_object_add(t, "project", p);
        json_object_object_add(t, "is_domain", json_object_new_boolean(0));
        struct json_object *roles = json_object_new_array(), *role = json_object_new_object();
        add_str(role, "id", "51cc68287d524c759f47c811e6463340");
        add_str(role, "name", "member");
        json_object_array_add(roles, role);
        json_object_object_add(t, "roles", roles);
        json_object_object_add(t, "catalog", catalog_json(f));
    }
    if (appcred) {
        struct json_object *ac = json_object_new_object();
        add_str(ac, "id", f->cfg.app_cred_id);
        add_str(ac, "name", "autoscale");
        json_object_object_add(ac, "restricted", json_object_new_boolean(1));
        json_object_object_add(t, "application_credential", ac);
    }
    struct json_object *body = json_object_new_object();
    json_object_object_add(body, "token", t);
    set_body(r, 201, fake_httpd_json(body), "application/json");
    r->subject_token = strdup(tok);
out:
    json_object_put(doc);
}

/* ------------------------------------------------------------- compute -- */

static int is_str(struct json_object *v)
{
    return json_object_is_type(v, json_type_string);
}

/* The create body's schema, as far as a client of ours can get it wrong.
 * 0 if acceptable, else a 400 is set. */
static int check_create_schema(const struct req *q, struct json_object *srv,
                               struct reply *r)
{
    static const char *const known[] = {
        "name", "imageRef", "flavorRef", "networks", "key_name", "user_data", "metadata",
        "adminPass", "security_groups", "availability_zone", "config_drive",
        "block_device_mapping_v2", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig",
        "description", "tags", "min_count", "max_count", "return_reservation_id",
        "hostname"};
    json_object_object_foreach(srv, key, val) {
        size_t i = 0;
        while (i < sizeof known / sizeof *known && strcmp(known[i], key) != 0)
            i++;
        if (i == sizeof known / sizeof *known) {
            nova_fault(r, q, 400, "Invalid input for field/attribute server. Additional "
                                  "properties are not allowed ('%s' was unexpected)", key);
            return -1;
        }
        (void)val;
    }
    struct json_object *v;
    if (!json_object_object_get_ex(srv, "name", &v) || !is_str(v) ||
        json_object_get_string_len(v) < 1 || json_object_get_string_len(v) > 255) {
        nova_fault(r, q, 400, "Invalid input for field/attribute name. Value: %s. "
                              "'name' must be a string of 1 to 255 characters",
                   v ? json_object_get_string(v) : "None");
        return -1;
    }
    if (!json_object_object_get_ex(srv, "flavorRef", &v) ||
        !(is_str(v) || json_object_is_type(v, json_type_int))) {
        nova_fault(r, q, 400, "Invalid input for field/attribute flavorRef. "
                              "'flavorRef' is a required property");
        return -1;
    }
    if (!json_object_object_get_ex(srv, "imageRef", &v) || !is_str(v)) {
        nova_fault(r, q, 400, "Invalid input for field/attribute imageRef. "
                              "'imageRef' is a required property");
        return -1;
    }
    struct json_object *nets = NULL;
    json_object_object_get_ex(srv, "networks", &nets);
    if (!nets && q->microversion >= 37) {
        nova_fault(r, q, 400, "Invalid input for field/attribute server. Value: ... "
                              "'networks' is a required property");
        return -1;
    }
    if (nets && is_str(nets) &&
        (q->microversion < 37 || (strcmp(json_object_get_string(nets), "auto") != 0 &&
                                  strcmp(json_object_get_string(nets), "none") != 0))) {
        nova_fault(r, q, 400, "Invalid input for field/attribute networks. Value: %s. "
                              "%s is not of type 'array'",
                   json_object_get_string(nets), json_object_get_string(nets));
        return -1;
    }
    if (nets && !is_str(nets) && !json_object_is_type(nets, json_type_array)) {
        nova_fault(r, q, 400, "Invalid input for field/attribute networks.");
        return -1;
    }
    if (json_object_object_get_ex(srv, "metadata", &v)) {
        if (!json_object_is_type(v, json_type_object)) {
            nova_fault(r, q, 400, "Invalid input for field/attribute metadata.");
            return -1;
        }
        json_object_object_foreach(v, mk, mv) {
            if (!is_str(mv) || strlen(mk) < 1 || strlen(mk) > 255 ||
                json_object_get_string_len(mv) > 255) {
                nova_fault(r, q, 400, "Invalid input for field/attribute metadata. "
                                      "Value: %s.", mk);
                return -1;
            }
        }
    }
    if (json_object_object_get_ex(srv, "user_data", &v) &&
        (!is_str(v) || json_object_get_string_len(v) > USER_DATA_MAX)) {
        nova_fault(r, q, 400, "Invalid input for field/attribute user_data.");
        return -1;
    }
    if (json_object_object_get_ex(srv, "key_name", &v) && !is_str(v)) {
        nova_fault(r, q, 400, "Invalid input for field/attribute key_name.");
        return -1;
    }
    return 0;
}

/* The networks of a create body, as names; 0 or a 400 is set. */
static int create_networks(struct fake_openstack *f, const struct req *q,
                           struct json_object *nets, struct server *s, struct reply *r)
{
    if (!nets || (is_str(nets) && strcmp(json_object_get_string(nets), "auto") == 0)) {
        if (f->networks.n)
            server_add_net(s, f->networks.v[0].name);
        return 0;
    }
    if (is_str(nets)) /* "none" */
        return 0;
    for (size_t i = 0; i < json_object_array_length(nets); i++) {
        struct json_object *n = json_object_array_get_idx(nets, i);
        const char *uuid = path_str(n, "uuid", NULL, NULL);
        const struct named *net = cat_by_id(&f->networks, uuid);
        if (!net) {
            nova_fault(r, q, 400, "Network %s could not be found.",
                       uuid ? uuid : "(no uuid)");
            return -1;
        }
        server_add_net(s, net->name);
    }
    return 0;
}

static void do_create(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    struct json_object *doc = q->up->buf ? json_tokener_parse(q->up->buf) : NULL;
    struct json_object *srv = path_get(doc, "server", NULL, NULL), *v;
    char *ud = NULL;
    size_t ud_len = 0;

    if (!json_object_is_type(srv, json_type_object)) {
        nova_fault(r, q, 400, "Malformed request body");
        goto out;
    }
    if (check_create_schema(q, srv, r) < 0)
        goto out;
    const char *flavor = json_object_get_string(path_get(srv, "flavorRef", NULL, NULL));
    const char *image = path_str(srv, "imageRef", NULL, NULL);
    const char *key = path_str(srv, "key_name", NULL, NULL);
    const char *b64 = path_str(srv, "user_data", NULL, NULL);
    if (!cat_by_id(&f->flavors, flavor)) {
        nova_fault(r, q, 400, "Flavor %s could not be found.", flavor);
        goto out;
    }
    if (!cat_by_id(&f->images, image)) {
        nova_fault(r, q, 400, "Image %s could not be found.", image);
        goto out;
    }
    if (key && !cat_by_name(&f->keypairs, key)) {
        nova_fault(r, q, 400, "Invalid key_name provided.");
        goto out;
    }
    if (b64 && !(ud = b64_decode(b64, &ud_len))) {
        nova_fault(r, q, 400, "User data needs to be valid base 64.");
        goto out;
    }
    if (f->quota > 0 && live_servers(f) >= (size_t)f->quota) {
        nova_fault(r, q, 403, "Quota exceeded for instances: Requested 1, but already "
                              "used %zu of %d instances", live_servers(f), f->quota);
        goto out;
    }
    struct server *s = server_new(f, path_str(srv, "name", NULL, NULL));
    if (!s) {
        nova_fault(r, q, 500, "out of memory");
        goto out;
    }
    if (create_networks(f, q, json_object_object_get_ex(srv, "networks", &v) ? v : NULL, s,
                        r) < 0) {
        server_remove(f, s);
        goto out;
    }
    s->flavor_id = strdup(flavor);
    s->image_id = strdup(image);
    s->key_name = fake_httpd_dup(key);
    s->user_data = ud;
    ud = NULL;
    if (json_object_object_get_ex(srv, "metadata", &v)) {
        json_object_put(s->metadata);
        s->metadata = json_object_get(v);
    }
    s->request = json_object_get(srv);

    char self[320];
    snprintf(self, sizeof self, "%s/servers/%s", q->svc_url, s->id);
    struct json_object *o = json_object_new_object(), *out = json_object_new_object();
    add_str(o, "id", s->id);
    json_object_object_add(o, "links", link_list(self, self));
    add_str(o, "OS-DCF:diskConfig", "MANUAL");
    struct json_object *sgs = json_object_new_array(), *sg = json_object_new_object();
    add_str(sg, "name", "default");
    json_object_array_add(sgs, sg);
    json_object_object_add(o, "security_groups", sgs);
    add_str(o, "adminPass", "Zx9kQ2wLm4Tp");
    json_object_object_add(out, "server", o);
    set_body(r, 202, fake_httpd_json(out), "application/json");
    r->location = strdup(self);
out:
    free(ud);
    json_object_put(doc);
}

static void do_get(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    struct server *s = server_find(f, q->id);
    if (!s || server_poll(f, s)) {
        nova_fault(r, q, 404, "Instance %s could not be found.", q->id);
        return;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "server", server_json(f, s, q, 1));
    set_body(r, 200, fake_httpd_json(o), "application/json");
}

/* POST /servers/{id}/action with {"os-stop": null} or {"os-start": null},
 * as the Compute API reference (v2.1, "Servers - run an action") gives
 * them: "Stop Server (os-stop Action)" stops a server whose status is
 * ACTIVE or ERROR and changes it to SHUTOFF; "Start Server (os-start
 * Action)" starts a SHUTOFF one and changes it to ACTIVE. Both answer 202
 * with no body and work asynchronously: the server keeps its status with
 * task_state powering-off / powering-on for a while (power_polls GETs
 * here). 409 conflictingRequest when the state does not allow it - a
 * stopped server asked to stop ("Instance <id> in vm_state stopped. Cannot
 * stop while the instance is in this state.", the message Nova gives), a
 * task under way, a locked server; 404 for no such server; 400 for an
 * action body this fake does not know. */
static void do_action(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    struct json_object *doc = q->up->buf ? json_tokener_parse(q->up->buf) : NULL;
    struct server *s = server_find(f, q->id);
    int stop = doc && json_object_object_get_ex(doc, "os-stop", NULL);
    int start = doc && json_object_object_get_ex(doc, "os-start", NULL);
    if (!json_object_is_type(doc, json_type_object) || json_object_object_length(doc) != 1 ||
        !(stop || start)) {
        nova_fault(r, q, 400, "Malformed request body (this fake knows os-stop and "
                              "os-start only)");
    } else if (!s || s->deleting) {
        nova_fault(r, q, 404, "Instance %s could not be found.", q->id);
    } else if (s->locked) {
        nova_fault(r, q, 409, "Instance %s is locked", s->id);
    } else if (s->task_state || s->power_to) {
        nova_fault(r, q, 409, "Cannot '%s' instance %s while it is in task_state %s",
                   stop ? "stop" : "start", s->id,
                   s->task_state ? s->task_state : "powering");
    } else if (stop ? strcmp(s->status, "ACTIVE") != 0 && strcmp(s->status, "ERROR") != 0
                    : strcmp(s->status, "SHUTOFF") != 0) {
        nova_fault(r, q, 409, "Instance %s in vm_state %s. Cannot %s while the instance is "
                              "in this state.",
                   s->id, vm_state(s), stop ? "stop" : "start");
    } else {
        s->power_to = stop ? "SHUTOFF" : "ACTIVE";
        s->task_state = stop ? "powering-off" : "powering-on";
        s->polls_left = f->power_polls;
        if (stop)
            f->stats.stops++;
        else
            f->stats.starts++;
        r->status = 202;
    }
    json_object_put(doc);
}

static void do_delete(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    struct server *s = server_find(f, q->id);
    if (!s) {
        nova_fault(r, q, 404, "Instance %s could not be found.", q->id);
        return;
    }
    if (s->locked) {
        nova_fault(r, q, 409, "Instance %s is locked", s->id);
        return;
    }
    if (!s->deleting) {
        s->deleting = 1;
        s->polls_left = f->delete_polls;
        if (s->polls_left <= 0)
            server_remove(f, s);
    }
    r->status = 204;
}

/* ?limit= as Nova reads it: a non-negative integer, 0 meaning the maximum,
 * clamped to max_limit. -1 (and a 400 set) when invalid. */
static long page_limit(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    const char *s = MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, "limit");
    long limit = 0;
    if (s) {
        char *end;
        errno = 0;
        limit = strtol(s, &end, 10);
        if (!*s || *end || errno || limit < 0) {
            nova_fault(r, q, 400, "Invalid input for query parameters limit. Value: %s.",
                       s);
            return -1;
        }
    }
    return limit == 0 || limit > f->max_limit ? f->max_limit : limit;
}

static void add_next_link(struct json_object *o, const char *key, const char *url,
                          long limit, const char *marker, const char *name)
{
    char *enc = name ? fake_httpd_urlencode(name) : NULL, *href = NULL;
    if (asprintf(&href, "%s?limit=%ld%s%s&marker=%s", url, limit, enc ? "&name=" : "",
                 enc ? enc : "", marker) < 0)
        href = NULL;
    struct json_object *links = json_object_new_array(), *l = json_object_new_object();
    add_str(l, "rel", "next");
    add_str(l, "href", href ? href : "");
    json_object_array_add(links, l);
    json_object_object_add(o, key, links);
    free(href);
    free(enc);
}

/* GET /servers[/detail]: newest first, ?name= a regular expression (Nova
 * matches it with the database's REGEXP; ERE is close enough for names),
 * ?marker= an id that must exist, a next link whenever a page is full. */
static void do_list(struct fake_openstack *f, const struct req *q, struct reply *r,
                    int detail)
{
    const char *name = MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, "name");
    const char *marker = MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, "marker");
    long limit = page_limit(f, q, r);
    regex_t re;

    if (limit < 0)
        return;
    if (name && regcomp(&re, name, REG_EXTENDED | REG_NOSUB) != 0) {
        nova_fault(r, q, 400, "Invalid regular expression in name filter: %s", name);
        return;
    }
    size_t start = f->nservers; /* index into the array, walked downwards */
    if (marker) {
        struct server *m = server_find(f, marker);
        if (!m) {
            if (name)
                regfree(&re);
            nova_fault(r, q, 400, "marker [%s] not found", marker);
            return;
        }
        start = (size_t)(m - f->servers);
    }
    struct json_object *arr = json_object_new_array();
    const char *last = NULL;
    long n = 0;
    for (size_t i = start; i-- > 0 && n < limit;) {
        struct server *s = &f->servers[i];
        if (name && regexec(&re, s->name, 0, NULL, 0) != 0)
            continue;
        json_object_array_add(arr, server_json(f, s, q, detail));
        last = s->id;
        n++;
    }
    if (name)
        regfree(&re);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "servers", arr);
    if (n == limit && last) {
        char url[320];
        snprintf(url, sizeof url, "%s/servers%s", q->svc_url, detail ? "/detail" : "");
        add_next_link(o, "servers_links", url, limit, last, name);
    }
    set_body(r, 200, fake_httpd_json(o), "application/json");
}

/* GET /flavors[/detail]: by id, ?limit=&marker=, "flavors_links". */
static void do_flavors(struct fake_openstack *f, const struct req *q, struct reply *r,
                       int detail)
{
    const char *marker = MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, "marker");
    long limit = page_limit(f, q, r);
    size_t start = 0;

    if (limit < 0)
        return;
    if (marker) {
        const struct named *m = cat_by_id(&f->flavors, marker);
        if (!m) {
            nova_fault(r, q, 400, "marker [%s] not found", marker);
            return;
        }
        start = (size_t)(m - f->flavors.v) + 1;
    }
    struct json_object *arr = json_object_new_array();
    const char *last = NULL;
    long n = 0;
    for (size_t i = start; i < f->flavors.n && n < limit; i++, n++) {
        struct json_object *o = json_object_new_object();
        char self[320];
        snprintf(self, sizeof self, "%s/flavors/%s", q->svc_url, f->flavors.v[i].id);
        add_str(o, "id", f->flavors.v[i].id);
        add_str(o, "name", f->flavors.v[i].name);
        json_object_object_add(o, "links", link_list(self, self));
        if (detail) {
            json_object_object_add(o, "ram", json_object_new_int(512 << (i % 4)));
            json_object_object_add(o, "vcpus", json_object_new_int(1 + (int)(i % 4)));
            json_object_object_add(o, "disk", json_object_new_int(1));
            json_object_object_add(o, "OS-FLV-EXT-DATA:ephemeral", json_object_new_int(0));
            add_str(o, "swap", "");
            json_object_object_add(o, "rxtx_factor", json_object_new_double(1.0));
            json_object_object_add(o, "os-flavor-access:is_public",
                                   json_object_new_boolean(1));
        }
        json_object_array_add(arr, o);
        last = f->flavors.v[i].id;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "flavors", arr);
    if (n == limit && last) {
        char url[320];
        snprintf(url, sizeof url, "%s/flavors%s", q->svc_url, detail ? "/detail" : "");
        add_next_link(o, "flavors_links", url, limit, last, NULL);
    }
    set_body(r, 200, fake_httpd_json(o), "application/json");
}

/* ------------------------------------------------------- image, network -- */

static void do_images(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    const char *name = MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, "name");
    struct json_object *arr = json_object_new_array();
    for (size_t i = 0; i < f->images.n; i++) {
        if (name && strcmp(name, f->images.v[i].name) != 0)
            continue;
        struct json_object *o = json_object_new_object();
        char path[128];
        add_str(o, "id", f->images.v[i].id);
        add_str(o, "name", f->images.v[i].name);
        add_str(o, "status", "active");
        add_str(o, "visibility", "public");
        add_str(o, "disk_format", "qcow2");
        add_str(o, "container_format", "bare");
        json_object_object_add(o, "min_disk", json_object_new_int(0));
        json_object_object_add(o, "min_ram", json_object_new_int(0));
        json_object_object_add(o, "size", json_object_new_int(21430272));
        snprintf(path, sizeof path, "/v2/images/%s", f->images.v[i].id);
        add_str(o, "self", path);
        strncat(path, "/file", sizeof path - strlen(path) - 1);
        add_str(o, "file", path);
        add_str(o, "schema", "/v2/schemas/image");
        json_object_object_add(o, "tags", json_object_new_array());
        json_object_array_add(arr, o);
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "images", arr);
    char *enc = name ? fake_httpd_urlencode(name) : NULL, *first = NULL;
    if (asprintf(&first, "/v2/images%s%s", enc ? "?name=" : "", enc ? enc : "") < 0)
        first = NULL;
    add_str(o, "first", first);
    add_str(o, "schema", "/v2/schemas/images");
    free(first);
    free(enc);
    set_body(r, 200, fake_httpd_json(o), "application/json");
}

static void do_networks(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    const char *name = MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, "name");
    struct json_object *arr = json_object_new_array();
    for (size_t i = 0; i < f->networks.n; i++) {
        if (name && strcmp(name, f->networks.v[i].name) != 0)
            continue;
        struct json_object *o = json_object_new_object();
        add_str(o, "id", f->networks.v[i].id);
        add_str(o, "name", f->networks.v[i].name);
        add_str(o, "status", "ACTIVE");
        json_object_object_add(o, "admin_state_up", json_object_new_boolean(1));
        json_object_object_add(o, "shared", json_object_new_boolean(0));
        json_object_object_add(o, "router:external",
                               json_object_new_boolean(strcmp(f->networks.v[i].name,
                                                              "public") == 0));
        json_object_object_add(o, "subnets", json_object_new_array());
        add_str(o, "project_id", PROJECT_ID);
        add_str(o, "tenant_id", PROJECT_ID);
        json_object_object_add(o, "mtu", json_object_new_int(1450));
        json_object_array_add(arr, o);
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "networks", arr);
    set_body(r, 200, fake_httpd_json(o), "application/json");
}

/* --------------------------------------------------------------- routing -- */

static int one_of(const char *s, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && strncmp(s, list[i], len) == 0)
            return 1;
    return 0;
}

/* Which endpoint a request is for: fills q->ep, q->id and q->svc_url. */
static void classify(struct fake_openstack *f, struct req *q)
{
    const char *p = q->path;
    size_t plen = strlen(f->prefix);
    int get = strcmp(q->method, "GET") == 0;

    q->ep = FAKE_OS_OTHER;
    if (strncmp(p, f->prefix, plen) != 0)
        return;
    p += plen;
    if (strcmp(p, "/identity/v3/auth/tokens") == 0) {
        if (strcmp(q->method, "POST") == 0)
            q->ep = FAKE_OS_AUTH;
        return;
    }
    /* /<region>/<interface>/<service>... */
    const char *seg[3];
    size_t len[3];
    for (int i = 0; i < 3; i++) {
        if (*p != '/')
            return;
        seg[i] = ++p;
        len[i] = strcspn(p, "/");
        p += len[i];
    }
    if (!one_of(seg[0], len[0], regions, sizeof regions / sizeof *regions) ||
        !one_of(seg[1], len[1], interfaces, sizeof interfaces / sizeof *interfaces))
        return;
    /* Links point back at the endpoint the request came in on: the
     * scheme and host of base, then the path so far. */
    const char *host_end = strchr(f->base + strlen("http://"), '/');
    snprintf(q->svc_url, sizeof q->svc_url, "%.*s%.*s", (int)(host_end - f->base), f->base,
             (int)(p - q->path), q->path);

    if (len[2] == 7 && strncmp(seg[2], "compute", 7) == 0) {
        if (strncmp(p, "/v2.1", 5) != 0)
            return;
        strncat(q->svc_url, "/v2.1", sizeof q->svc_url - strlen(q->svc_url) - 1);
        p += 5;
        if (strcmp(p, "/servers") == 0)
            q->ep = strcmp(q->method, "POST") == 0 ? FAKE_OS_CREATE
                    : get                          ? FAKE_OS_LIST
                                                   : FAKE_OS_OTHER;
        else if (strcmp(p, "/servers/detail") == 0 && get)
            q->ep = FAKE_OS_LIST;
        else if ((strcmp(p, "/flavors/detail") == 0 || strcmp(p, "/flavors") == 0) && get)
            q->ep = FAKE_OS_FLAVORS;
        else if (strncmp(p, "/servers/", 9) == 0 && p[9] && strchr(p + 9, '/') &&
                 strcmp(strchr(p + 9, '/'), "/action") == 0 &&
                 strcmp(q->method, "POST") == 0) {
            snprintf(q->idbuf, sizeof q->idbuf, "%.*s", (int)(strchr(p + 9, '/') - (p + 9)),
                     p + 9);
            q->id = q->idbuf;
            q->ep = FAKE_OS_ACTION;
        } else if (strncmp(p, "/servers/", 9) == 0 && p[9] && !strchr(p + 9, '/')) {
            q->id = p + 9;
            q->ep = get                                  ? FAKE_OS_GET
                    : strcmp(q->method, "DELETE") == 0 ? FAKE_OS_DELETE
                                                       : FAKE_OS_OTHER;
        }
    } else if (len[2] == 5 && strncmp(seg[2], "image", 5) == 0) {
        if (get && strcmp(p, "/v2/images") == 0)
            q->ep = FAKE_OS_IMAGES;
    } else if (len[2] == 7 && strncmp(seg[2], "network", 7) == 0) {
        if (get && strcmp(p, "/v2.0/networks") == 0)
            q->ep = FAKE_OS_NETWORKS;
    }
}

static void count(struct fake_openstack *f, enum fake_os_endpoint ep)
{
    int *slot[] = {NULL,            &f->stats.auth,    &f->stats.create,
                   &f->stats.get,   &f->stats.delete,  &f->stats.list,
                   &f->stats.flavors, &f->stats.images, &f->stats.networks,
                   &f->stats.action, &f->stats.other};
    if (ep > FAKE_OS_ANY && ep <= FAKE_OS_OTHER)
        (*slot[ep])++;
}

/* The microversion a compute request asks for: the newer header wins.
 * 0 and a 406 set when it is out of range. */
static int microversion(const struct req *q, struct reply *r, int *minor)
{
    const char *v = MHD_lookup_connection_value(q->c, MHD_HEADER_KIND,
                                                "OpenStack-API-Version");
    const char *p = NULL;
    if (v && (p = strstr(v, "compute ")))
        p += 8;
    else if ((v = MHD_lookup_connection_value(q->c, MHD_HEADER_KIND,
                                              "X-OpenStack-Nova-API-Version")))
        p = v;
    *minor = 1;
    if (!p)
        return 1;
    while (*p == ' ')
        p++;
    if (strncmp(p, "latest", 6) == 0) {
        *minor = MAX_MICROVERSION;
        return 1;
    }
    int major = 0, m = 0;
    if (sscanf(p, "%d.%d", &major, &m) != 2 || major != 2 || m < 1 || m > MAX_MICROVERSION) {
        nova_fault(r, q, 406, "Version %.20s is not supported by the API. Minimum is 2.1 "
                              "and maximum is 2.%d.", p, MAX_MICROVERSION);
        return 0;
    }
    *minor = m;
    return 1;
}

static int inject_matches(struct fake_openstack *f, enum fake_os_endpoint ep)
{
    return f->inject.n > 0 && (f->inject.ep == FAKE_OS_ANY || f->inject.ep == ep);
}

static void inject(struct fake_openstack *f, const struct req *q, struct reply *r)
{
    f->inject.n--;
    f->stats.faults++;
    if (f->inject.malformed) {
        unsigned ok = q->ep == FAKE_OS_AUTH ? 201 : q->ep == FAKE_OS_CREATE ? 202 : 200;
        set_body(r, ok, strdup("{\"server\": {\"id\": \"cut short"), "application/json");
        return;
    }
    unsigned st = (unsigned)f->inject.status;
    const char *text = st == 409   ? "Cannot 'delete' instance while it is in task_state "
                                     "rebuilding"
                       : st == 413 || st == 429 ? "This request was rate-limited."
                       : st == 503 ? "Service Unavailable"
                       : st == 401 ? refused
                       : st == 403 ? "Policy doesn't allow this operation to be performed."
                                   : "Unexpected API Error. Please report this at "
                                     "http://bugs.launchpad.net/nova/";
    service_error(r, q, st, text);
    r->retry_after = f->inject.retry_after;
}

static void route(struct fake_openstack *f, struct req *q, struct reply *r)
{
    classify(f, q);
    count(f, q->ep);

    const char *tok = MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, "X-Auth-Token");
    if (f->echo && tok)
        snprintf(q->echo, sizeof q->echo, " (X-Auth-Token: %s)", tok);
    if (inject_matches(f, q->ep)) {
        inject(f, q, r);
        return;
    }
    if (q->ep == FAKE_OS_AUTH) {
        do_auth(f, q, r);
        return;
    }
    if (q->ep == FAKE_OS_OTHER) {
        service_error(r, q, 404, "The resource could not be found.");
        return;
    }
    if (!token_valid(f, tok)) {
        f->stats.unauthorized++;
        keystone_error(r, q, 401, "Unauthorized", "%s", refused);
        return;
    }
    int compute = q->ep != FAKE_OS_IMAGES && q->ep != FAKE_OS_NETWORKS;
    if (compute) {
        if (!microversion(q, r, &q->microversion))
            return;
        r->compute = 1;
        r->microversion = q->microversion;
    }
    switch (q->ep) {
    case FAKE_OS_CREATE: do_create(f, q, r); break;
    case FAKE_OS_GET: do_get(f, q, r); break;
    case FAKE_OS_DELETE: do_delete(f, q, r); break;
    case FAKE_OS_ACTION: do_action(f, q, r); break;
    case FAKE_OS_LIST: do_list(f, q, r, strstr(q->path, "/detail") != NULL); break;
    case FAKE_OS_FLAVORS: do_flavors(f, q, r, strstr(q->path, "/detail") != NULL); break;
    case FAKE_OS_IMAGES: do_images(f, q, r); break;
    case FAKE_OS_NETWORKS: do_networks(f, q, r); break;
    default: service_error(r, q, 404, "The resource could not be found."); break;
    }
}

/* ------------------------------------------------------------ recording -- */

static void record(struct fake_openstack *f, struct MHD_Connection *c, const char *method,
                   const char *path, const struct fake_httpd_body *up)
{
    f->stats.requests++;
    fake_httpd_last_set(&f->last, c, method, path, up);
}

/* ------------------------------------------------------------- plumbing -- */

static void compute_headers(struct MHD_Response *resp, int microversion)
{
    char num[64];
    snprintf(num, sizeof num, "compute 2.%d", microversion);
    MHD_add_response_header(resp, "OpenStack-API-Version", num);
    snprintf(num, sizeof num, "2.%d", microversion);
    MHD_add_response_header(resp, "X-OpenStack-Nova-API-Version", num);
    MHD_add_response_header(resp, "Vary",
                            "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r)
{
    struct MHD_Response *resp = fake_httpd_response(
        r->body, r->content_type ? r->content_type : "application/json", r->retry_after);
    if (resp && r->subject_token)
        MHD_add_response_header(resp, "X-Subject-Token", r->subject_token);
    if (resp && r->location)
        MHD_add_response_header(resp, "Location", r->location);
    if (resp && r->compute)
        compute_headers(resp, r->microversion);
    free(r->subject_token);
    free(r->location);
    return resp ? fake_httpd_reply(c, r->status, resp) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *method,
                                  const char *url, const struct fake_httpd_body *up)
{
    struct fake_openstack *f = cls;
    struct reply r = {.retry_after = -1};
    struct req q = {.c = c, .method = method, .path = url, .up = up};
    pthread_mutex_lock(&f->lock);
    record(f, c, method, url, up);
    route(f, &q, &r);
    long delay = f->delay.ep == FAKE_OS_ANY || f->delay.ep == q.ep ? f->delay.ms : 0;
    pthread_mutex_unlock(&f->lock);
    if (delay > 0) /* cut short when the fake stops */
        fake_httpd_sleep_ms(f->httpd, delay);
    if (r.status == 0)
        r.status = 500;
    return send_reply(c, &r);
}

static void default_catalogue(struct fake_openstack *f)
{
    cat_add(&f->flavors, "1", "m1.tiny");
    cat_add(&f->flavors, "2", "m1.small");
    cat_add(&f->flavors, "3", "m1.medium");
    cat_add(&f->images, FAKE_OS_IMAGE_ID, FAKE_OS_IMAGE_NAME);
    cat_add(&f->images, "c0ffee00-1234-4abc-8def-0123456789ab", "debian-12-genericcloud");
    cat_add(&f->networks, FAKE_OS_NET_PRIVATE_ID, "private");
    cat_add(&f->networks, FAKE_OS_NET_PUBLIC_ID, "public");
    cat_add(&f->keypairs, "mykey", "mykey");
}

static void copy_config(struct fake_openstack *f, const struct fake_openstack_config *cfg)
{
    static const struct fake_openstack_config def = {
        FAKE_OS_USERNAME, FAKE_OS_PASSWORD, FAKE_OS_DOMAIN, FAKE_OS_PROJECT,
        FAKE_OS_DOMAIN,   FAKE_OS_APPCRED_ID, FAKE_OS_APPCRED_SECRET};
    if (!cfg)
        cfg = &def;
    f->cfg.username = fake_httpd_dup(cfg->username);
    f->cfg.password = fake_httpd_dup(cfg->password ? cfg->password : "");
    f->cfg.user_domain = fake_httpd_dup(cfg->user_domain ? cfg->user_domain : FAKE_OS_DOMAIN);
    f->cfg.project = fake_httpd_dup(cfg->project);
    f->cfg.project_domain =
        fake_httpd_dup(cfg->project_domain ? cfg->project_domain : FAKE_OS_DOMAIN);
    f->cfg.app_cred_id = fake_httpd_dup(cfg->app_cred_id);
    f->cfg.app_cred_secret = fake_httpd_dup(cfg->app_cred_secret ? cfg->app_cred_secret : "");
}

struct fake_openstack *fake_openstack_start(const struct fake_openstack_config *cfg)
{
    struct fake_openstack *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    copy_config(f, cfg);
    f->build_polls = 2;
    f->delete_polls = 1;
    f->power_polls = 2;
    f->max_limit = DEFAULT_MAX_LIMIT;
    default_catalogue(f);
    /* Not atomic: fakes are started from the test's own thread. */
    snprintf(f->prefix, sizeof f->prefix, "/os%u", ++instances);

    if (!(f->httpd = fake_httpd_start(on_request, f, f->prefix))) {
        fake_openstack_stop(f);
        return NULL;
    }
    snprintf(f->base, sizeof f->base, "%s", fake_httpd_url(f->httpd));
    snprintf(f->auth_url, sizeof f->auth_url, "%s/identity/v3", f->base);
    return f;
}

void fake_openstack_stop(struct fake_openstack *f)
{
    if (!f)
        return;
    fake_httpd_stop(f->httpd); /* wakes the delayed replies, then joins them */
    for (size_t i = 0; i < f->nservers; i++)
        server_free(&f->servers[i]);
    free(f->servers);
    cat_free(&f->flavors);
    cat_free(&f->images);
    cat_free(&f->networks);
    cat_free(&f->keypairs);
    for (size_t i = 0; i < f->ntokens; i++)
        free(f->tokens[i]);
    free(f->tokens);
    free(f->fail_build_message);
    free((char *)f->cfg.username);
    free((char *)f->cfg.password);
    free((char *)f->cfg.user_domain);
    free((char *)f->cfg.project);
    free((char *)f->cfg.project_domain);
    free((char *)f->cfg.app_cred_id);
    free((char *)f->cfg.app_cred_secret);
    fake_httpd_last_free(&f->last);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *fake_openstack_auth_url(const struct fake_openstack *f) { return f->auth_url; }
const char *fake_openstack_base(const struct fake_openstack *f) { return f->base; }

/* ---------------------------------------------------------------- knobs -- */

void fake_openstack_set_build_polls(struct fake_openstack *f, int n)
{
    FAKE_LOCKED(f, f->build_polls = n);
}

void fake_openstack_set_power_polls(struct fake_openstack *f, int n)
{
    FAKE_LOCKED(f, f->power_polls = n);
}

void fake_openstack_set_delete_polls(struct fake_openstack *f, int n)
{
    FAKE_LOCKED(f, f->delete_polls = n);
}

void fake_openstack_fail_builds(struct fake_openstack *f, int n, const char *message)
{
    pthread_mutex_lock(&f->lock);
    f->fail_builds = n;
    free(f->fail_build_message);
    f->fail_build_message = fake_httpd_dup(message);
    pthread_mutex_unlock(&f->lock);
}

void fake_openstack_lock_server(struct fake_openstack *f, const char *id, int locked)
{
    pthread_mutex_lock(&f->lock);
    struct server *s = server_find(f, id);
    if (s)
        s->locked = locked;
    pthread_mutex_unlock(&f->lock);
}

void fake_openstack_set_quota(struct fake_openstack *f, int max_instances)
{
    FAKE_LOCKED(f, f->quota = max_instances);
}

void fake_openstack_set_max_limit(struct fake_openstack *f, int n)
{
    FAKE_LOCKED(f, f->max_limit = n > 0 ? n : DEFAULT_MAX_LIMIT);
}

void fake_openstack_add_flavor(struct fake_openstack *f, const char *id, const char *name)
{
    FAKE_LOCKED(f, cat_add(&f->flavors, id, name));
}

void fake_openstack_add_image(struct fake_openstack *f, const char *id, const char *name)
{
    FAKE_LOCKED(f, cat_add(&f->images, id, name));
}

void fake_openstack_add_network(struct fake_openstack *f, const char *id, const char *name)
{
    FAKE_LOCKED(f, cat_add(&f->networks, id, name));
}

void fake_openstack_add_keypair(struct fake_openstack *f, const char *name)
{
    FAKE_LOCKED(f, cat_add(&f->keypairs, name, name));
}

void fake_openstack_expire_tokens(struct fake_openstack *f)
{
    FAKE_LOCKED(f, f->valid_from = f->ntokens);
}

char *fake_openstack_token(struct fake_openstack *f)
{
    char *t;
    FAKE_LOCKED(f, t = f->ntokens ? fake_httpd_dup(f->tokens[f->ntokens - 1]) : NULL);
    return t;
}

void fake_openstack_fail_next(struct fake_openstack *f, enum fake_os_endpoint ep, int n,
                              int status, long retry_after_s)
{
    pthread_mutex_lock(&f->lock);
    f->inject.ep = ep;
    f->inject.n = n;
    f->inject.status = status;
    f->inject.malformed = 0;
    f->inject.retry_after = retry_after_s;
    pthread_mutex_unlock(&f->lock);
}

void fake_openstack_malformed_next(struct fake_openstack *f, enum fake_os_endpoint ep, int n)
{
    pthread_mutex_lock(&f->lock);
    f->inject.ep = ep;
    f->inject.n = n;
    f->inject.status = 200;
    f->inject.malformed = 1;
    f->inject.retry_after = -1;
    pthread_mutex_unlock(&f->lock);
}

void fake_openstack_set_delay_ms(struct fake_openstack *f, enum fake_os_endpoint ep, long ms)
{
    FAKE_LOCKED(f, (f->delay.ep = ep, f->delay.ms = ms));
}

void fake_openstack_set_echo_credentials(struct fake_openstack *f, int on)
{
    FAKE_LOCKED(f, f->echo = on);
}

void fake_openstack_set_echo_form(struct fake_openstack *f, enum fake_os_echo_form form)
{
    FAKE_LOCKED(f, (f->echo = 1, f->echo_form = form));
}

/* ---- the encoders behind the echo forms: written apart from
 * lib/core/secret.c's decoders, so a test compares two readings of each form ---- */

struct text {
    char *s;
    size_t n, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    char buf[32];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || !t->s)
        return;
    if (t->n + (size_t)n + 1 > t->cap) {
        t->cap = 2 * (t->n + (size_t)n + 1);
        char *grown = realloc(t->s, t->cap);
        if (!grown) {
            free(t->s);
            t->s = NULL;
            return;
        }
        t->s = grown;
    }
    memcpy(t->s + t->n, buf, (size_t)n + 1);
    t->n += (size_t)n;
}

/* The code point at *p (valid UTF-8 assumed), advancing *p. */
static unsigned long next_cp(const unsigned char **p)
{
    const unsigned char *c = *p;
    int len = c[0] < 0x80 ? 1 : c[0] < 0xE0 ? 2 : c[0] < 0xF0 ? 3 : 4;
    unsigned long cp = len == 1 ? c[0] : c[0] & (0x3F >> (len - 1));
    for (int i = 1; i < len && c[i]; i++)
        cp = cp << 6 | (c[i] & 0x3F);
    *p += len;
    return cp;
}

static void put_unit(struct text *t, unsigned long unit, int upper)
{
    if (upper)
        put(t, "\\u%04lX", unit);
    else
        put(t, "\\u%04lx", unit);
}

static void put_u(struct text *t, unsigned long cp, int upper)
{
    if (cp >= 0x10000) {
        put_unit(t, 0xD800 + ((cp - 0x10000) >> 10), upper);
        put_unit(t, 0xDC00 + ((cp - 0x10000) & 0x3FF), upper);
    } else {
        put_unit(t, cp, upper);
    }
}

static char *json_form(const char *s, enum fake_os_echo_form form)
{
    struct text t = {malloc(16), 0, 16};
    for (const unsigned char *p = (const unsigned char *)s; *p && t.s;) {
        const unsigned char *start = p;
        unsigned long cp = next_cp(&p);
        int alnum = cp < 0x80 && ((cp | 0x20) - 'a' < 26 || cp - '0' < 10);
        const char *shortform = cp == '"' ? "\\\"" : cp == '\\' ? "\\\\" : cp == '\n' ? "\\n"
                                : cp == '\t' ? "\\t" : cp == '\r' ? "\\r" : NULL;
        if (form == FAKE_OS_ECHO_JSON_ALL_U && !alnum)
            put_u(&t, cp, 1);
        else if (shortform)
            put(&t, "%s", shortform);
        else if (cp == '/' && form == FAKE_OS_ECHO_JSON_SLASH)
            put(&t, "\\/");
        else if (cp < 0x20 || (cp >= 0x80 && form == FAKE_OS_ECHO_JSON_ASCII))
            put_u(&t, cp, 0);
        else
            put(&t, "%.*s", (int)(p - start), (const char *)start);
    }
    return t.s;
}

static char *url_form(const char *s, enum fake_os_echo_form form)
{
    struct text t = {malloc(16), 0, 16};
    for (const unsigned char *p = (const unsigned char *)s; *p && t.s; p++) {
        if (((*p | 0x20) - 'a' < 26 && *p < 0x80) || (unsigned)(*p - '0') < 10 ||
            strchr("-._~", *p))
            put(&t, "%c", *p);
        else if (*p == ' ' && form == FAKE_OS_ECHO_FORM)
            put(&t, "+");
        else
            put(&t, form == FAKE_OS_ECHO_URL_LOWER ? "%%%02x" : "%%%02X", *p);
    }
    return t.s;
}

static char *quoted_form(const char *s, enum fake_os_echo_form form)
{
    struct text t = {malloc(16), 0, 16};
    put(&t, "'");
    for (const unsigned char *p = (const unsigned char *)s; *p && t.s; p++) {
        if (*p == '\'')
            put(&t, "%s", form == FAKE_OS_ECHO_SHELL    ? "'\\''"
                          : form == FAKE_OS_ECHO_SHLEX ? "'\"'\"'"
                                                       : "\\'");
        else if (form != FAKE_OS_ECHO_PYREPR)
            put(&t, "%c", *p);
        else if (*p == '\\')
            put(&t, "\\\\");
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            put(&t, "%s", *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : "\\r");
        else if (*p < 0x20 || *p == 0x7F)
            put(&t, "\\x%02x", *p);
        else
            put(&t, "%c", *p);
    }
    put(&t, "'");
    return t.s;
}

char *fake_openstack_echo_encode(enum fake_os_echo_form form, const char *s)
{
    switch (form) {
    case FAKE_OS_ECHO_JSON:
    case FAKE_OS_ECHO_JSON_SLASH:
    case FAKE_OS_ECHO_JSON_ASCII:
    case FAKE_OS_ECHO_JSON_ALL_U:
        return json_form(s, form);
    case FAKE_OS_ECHO_JSON_IN_JSON: {
        char *once = json_form(s, FAKE_OS_ECHO_JSON);
        char *twice = once ? json_form(once, FAKE_OS_ECHO_JSON) : NULL;
        free(once);
        return twice;
    }
    case FAKE_OS_ECHO_URL:
    case FAKE_OS_ECHO_URL_LOWER:
    case FAKE_OS_ECHO_FORM:
        return url_form(s, form);
    case FAKE_OS_ECHO_SHELL:
    case FAKE_OS_ECHO_SHLEX:
    case FAKE_OS_ECHO_PYREPR:
        return quoted_form(s, form);
    case FAKE_OS_ECHO_RAW:
    case FAKE_OS_ECHO_FORMS:
        break;
    }
    return strdup(s);
}

/* --------------------------------------------------------- direct access -- */

char *fake_openstack_add_server(struct fake_openstack *f, const char *name,
                                const char *group, const char *status,
                                const char *networks)
{
    char *id = NULL;
    pthread_mutex_lock(&f->lock);
    struct server *s = server_new(f, name);
    if (s) {
        s->created -= 86400;
        s->flavor_id = strdup(f->flavors.n ? f->flavors.v[0].id : "1");
        s->image_id = strdup(f->images.n ? f->images.v[0].id : "");
        if (group) {
            json_object_object_add(s->metadata, "asg", json_object_new_string(group));
            json_object_object_add(s->metadata, "autoscale_node",
                                   json_object_new_string(name));
        }
        const char *p = networks ? networks : "private";
        while (*p) {
            size_t n = strcspn(p, ",");
            char *net = strndup(p, n);
            if (net)
                server_add_net(s, net);
            free(net);
            p += n + (p[n] == ',');
        }
        if (!status || strcmp(status, "BUILD") != 0) {
            s->fail_build = status && strcmp(status, "ERROR") == 0;
            server_activate(s);
            if (status && strcmp(status, "ACTIVE") != 0 && strcmp(status, "ERROR") != 0)
                snprintf(s->status, sizeof s->status, "%s", status);
        }
        id = strdup(s->id);
    }
    pthread_mutex_unlock(&f->lock);
    return id;
}

size_t fake_openstack_server_count(struct fake_openstack *f)
{
    size_t n;
    FAKE_LOCKED(f, n = f->nservers);
    return n;
}

char *fake_openstack_server_status(struct fake_openstack *f, const char *id)
{
    char *v = NULL;
    pthread_mutex_lock(&f->lock);
    struct server *s = server_find(f, id);
    if (s)
        v = strdup(s->status);
    pthread_mutex_unlock(&f->lock);
    return v;
}

char *fake_openstack_server_metadata(struct fake_openstack *f, const char *id,
                                     const char *key)
{
    char *v = NULL;
    pthread_mutex_lock(&f->lock);
    struct server *s = server_find(f, id);
    struct json_object *val;
    if (s && json_object_object_get_ex(s->metadata, key, &val))
        v = fake_httpd_dup(json_object_get_string(val));
    pthread_mutex_unlock(&f->lock);
    return v;
}

char *fake_openstack_server_user_data(struct fake_openstack *f, const char *id)
{
    char *v = NULL;
    pthread_mutex_lock(&f->lock);
    struct server *s = server_find(f, id);
    if (s)
        v = fake_httpd_dup(s->user_data);
    pthread_mutex_unlock(&f->lock);
    return v;
}

char *fake_openstack_server_request(struct fake_openstack *f, const char *id)
{
    char *v = NULL;
    pthread_mutex_lock(&f->lock);
    struct server *s = server_find(f, id);
    if (s && s->request)
        v = strdup(json_object_to_json_string_ext(s->request, JSON_C_TO_STRING_PLAIN));
    pthread_mutex_unlock(&f->lock);
    return v;
}

char *fake_openstack_server_id(struct fake_openstack *f, const char *name)
{
    char *v = NULL;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nservers && !v; i++)
        if (strcmp(f->servers[i].name, name) == 0)
            v = strdup(f->servers[i].id);
    pthread_mutex_unlock(&f->lock);
    return v;
}

void fake_openstack_stats(struct fake_openstack *f, struct fake_openstack_stats *out)
{
    FAKE_LOCKED(f, *out = f->stats);
}

void fake_openstack_reset_stats(struct fake_openstack *f)
{
    FAKE_LOCKED(f, memset(&f->stats, 0, sizeof f->stats));
}

FAKE_HTTPD_LAST_KNOBS(fake_openstack, struct fake_openstack)
