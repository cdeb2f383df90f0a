/* compute_openstack.c - the OpenStack compute provider (see compute.h).
 *
 * Keystone v3 gives a token and the service catalogue; Nova v2.1 makes,
 * shows, lists and deletes servers; Glance v2 and Neutron v2.0 turn image
 * and network names into the ids Nova wants. Every endpoint comes from the
 * catalogue (by service type, interface and region), never from guesswork
 * about ports.
 *
 * Tokens: one authentication per process. The token and its catalogue are
 * kept for the session and in a one-entry process cache keyed by the
 * identity, so an action that opens several sessions with the same
 * credentials authenticates once. A 401 from a service means the token
 * expired or was revoked: authenticate again, once, and resend (safe even
 * for a create: a 401 comes from the auth middleware, before Nova acts).
 * The token is registered as a secret the moment it arrives, so even a
 * server that echoes it in an error body cannot get it into our output.
 *
 * Errors carry the provider's own words (Nova's {"<kind>": {"message"}},
 * Keystone's {"error": {"message"}}), one line, never a credential. */
#include "compute_int.h"

#include "clock.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "params.h"
#include "secret.h"
#include "settings.h"
#include "utf8.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2.37 is the oldest microversion that accepts "networks": "auto" (a cloud
 * with several networks refuses a server that names none) and the last
 * before responses change shape in ways we would have to follow (2.47
 * embeds the flavor); every Nova since Newton (2016) speaks it. */
#define NOVA_MICROVERSION "2.37"
#define TOKEN_MARGIN_S 60     /* re-authenticate a token this close to expiry */
#define MAX_PAGES 10000       /* a pagination loop that never ends is a bug */

/* A name resolved to an id during this session. */
struct ref {
    char *value, *id;
};

struct compute_be {
    struct json_object *settings; /* held: the strings below point into it */
    struct http_client *http;
    const char *ca_bundle;
    char *auth_url; /* ".../v3" */
    const char *username, *password, *user_domain, *project, *project_domain;
    const char *appcred_id, *appcred_secret; /* both set: this method is used */
    char interface[16];
    const char *region, *network;
    char *spec_network; /* the network named at create, by name: the address
                           to prefer when settings name none */

    char *token, *token_header; /* "X-Auth-Token: <token>" */
    struct json_object *catalog;
    long long expires_at; /* epoch seconds, 0 unknown */
    char *compute_url, *image_url, *network_url;
    struct ref flavor, image, net;
};

/* ------------------------------------------------------------- helpers -- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Copy into a fixed field, one printable line: a server's words go into
 * JSON output. */
static void copy_line(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
    utf8_clean_line(dst);
}

/* Nova's refs are ids; a value shaped like one (a UUID, with or without
 * dashes, or a number: flavor ids often are) is used as given, anything
 * else is a name to look up. */
static int looks_like_id(const char *s)
{
    size_t n = strlen(s), hex = strspn(s, "0123456789abcdefABCDEF");
    if (n > 0 && strspn(s, "0123456789") == n)
        return 1;
    if (n == 32 && hex == 32)
        return 1;
    if (n != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------- base64 -- */

/* RFC 4648 with padding: what Nova's user_data must be. */
static char *base64(const char *s, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((n + 2) / 3 * 4 + 1), *w = out;
    const unsigned char *p = (const unsigned char *)s;

    for (; n >= 3; n -= 3, p += 3) {
        *w++ = tab[p[0] >> 2];
        *w++ = tab[(p[0] & 3) << 4 | p[1] >> 4];
        *w++ = tab[(p[1] & 15) << 2 | p[2] >> 6];
        *w++ = tab[p[2] & 63];
    }
    if (n) {
        *w++ = tab[p[0] >> 2];
        *w++ = tab[(p[0] & 3) << 4 | (n == 2 ? p[1] >> 4 : 0)];
        *w++ = n == 2 ? tab[(p[1] & 15) << 2] : '=';
        *w++ = '=';
    }
    *w = '\0';
    return out;
}

/* ------------------------------------------------------- error replies -- */

/* The provider's words: Nova's and Neutron's {"<kind>": {"message": ...}}
 * first (http_error_text does not know that shape), then whatever
 * http_error_text finds. Newly allocated, scrubbed. */
static char *provider_text(const struct http_response *r, struct json_object *doc)
{
    if (json_object_is_type(doc, json_type_object) && json_object_object_length(doc) == 1) {
        json_object_object_foreach(doc, kind, inner) {
            const char *msg = jx_str(inner, "message", NULL);
            if (msg && *msg && strcmp(kind, "error") != 0)
                return secret_scrub(msg);
        }
    }
    return http_error_text(r);
}

/* Map an unwanted HTTP status to our error codes. `what` names the call
 * ("create web-1"); `creating`: a 404 means the request named something
 * that does not exist (a flavor, an image), not that the server is gone. */
static int reply_error(const struct http_response *r, struct json_object *doc,
                       const char *what, int creating, struct as_error *err)
{
    char *text = provider_text(r, doc);
    const char *t = text ? text : "(no message)";
    enum as_exit exit = AS_EXIT_FAILURE;
    const char *code = "provider_error";
    long st = r->status;

    if (st == 400 || (st == 404 && creating)) {
        code = "provider_rejected";
        exit = AS_EXIT_BADINPUT;
    } else if (st == 401) {
        code = "provider_unauthorized";
    } else if (st == 403) {
        /* Nova answers an exhausted quota with 403, not 413: that is a
         * limit that frees up, not a permission. */
        code = strncmp(t, "Quota exceeded", 14) == 0 ? "provider_over_limit"
                                                     : "provider_forbidden";
    } else if (st == 409) {
        code = "provider_conflict";
    } else if (st == 413 || st == 429) {
        code = "provider_over_limit";
    }
    as_fail(err, exit, code, "openstack %s: HTTP %ld: %.300s", what, st, t);
    free(text);
    return -1;
}

/* http_json failed (no reply, or a 2xx that is not JSON): keep its code,
 * except that a reply we cannot read is the provider's fault. */
static int call_failed(struct as_error *err, const char *what)
{
    if (as_error_is(err, "http_bad_json"))
        as_error_recode(err, "provider_bad_reply");
    as_error_prefix(err, "openstack %s", what);
    return -1;
}

static int bad_reply(struct as_error *err, const char *what, const char *why)
{
    return as_fail(err, AS_EXIT_FAILURE, "provider_bad_reply", "openstack %s: %s", what,
                   why);
}

/* ----------------------------------------------------- the token request -- */

/* POST the auth body. Keystone v3 puts the token only in the X-Subject-Token
 * response header, which http.c captures for us; it is registered as a
 * secret the moment it arrives, whatever the status. The body holds the
 * password: http.c never logs it and never follows a redirect. */
static int token_post(struct compute_be *c, const char *url, const char *body,
                      struct http_response *resp, struct as_error *err)
{
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    struct http_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = body,
        .body_len = strlen(body),
        /* Asking for a token changes nothing on the server, so retrying
         * this POST is safe: unlike other POSTs it is retried (connection
         * failures, 429, 5xx) under http.c's policy, jitter included. */
        .retry = 1,
        .capture_header = "X-Subject-Token",
    };
    if (http_do(c->http, &req, resp, err) < 0)
        return -1;
    if (resp->captured_header)
        secret_register(resp->captured_header);
    return 0;
}

/* ---------------------------------------------------------- the token -- */

/* The process cache: one identity's token and catalogue. */
static struct {
    char *key; /* the identity, secret included: compared, never shown */
    char *token;
    struct json_object *catalog;
    long long expires_at;
} cached;

static char *identity_key(const struct compute_be *c)
{
    if (c->appcred_id)
        return xasprintf("%s\n%s\n%s", c->auth_url, c->appcred_id, c->appcred_secret);
    return xasprintf("%s\n%s\n%s\n%s\n%s\n%s", c->auth_url, c->username, c->user_domain,
                     c->project, c->project_domain, c->password);
}

static void cache_drop(void)
{
    secret_free(cached.key);
    secret_free(cached.token);
    json_object_put(cached.catalog);
    memset(&cached, 0, sizeof cached);
}

static int expiring(long long expires_at)
{
    return expires_at && (long long)time(NULL) + TOKEN_MARGIN_S >= expires_at;
}

static void use_token(struct compute_be *c, const char *token, struct json_object *catalog,
                      long long expires_at)
{
    char *t = xstrdup(token), *h = xasprintf("X-Auth-Token: %s", token);
    secret_register(token); /* before anything could print it */
    secret_free(c->token);
    secret_free(c->token_header);
    json_object_put(c->catalog);
    c->token = t;
    c->token_header = h;
    c->catalog = json_object_get(catalog);
    c->expires_at = expires_at;
}

static void cache_store(struct compute_be *c)
{
    cache_drop();
    cached.key = identity_key(c);
    cached.token = xstrdup(c->token);
    cached.catalog = json_object_get(c->catalog);
    cached.expires_at = c->expires_at;
}

/* Adopt the process's token for this identity, if there is a fresh one. */
static int cache_take(struct compute_be *c)
{
    char *key = identity_key(c);
    int hit = cached.key && strcmp(key, cached.key) == 0 && !expiring(cached.expires_at);
    secret_free(key);
    if (hit)
        use_token(c, cached.token, cached.catalog, cached.expires_at);
    return hit;
}

/* The request body: the application credential when there is one (it is
 * scoped already, and Keystone refuses a scope with it), else the password
 * with the project scope. */
static struct json_object *auth_body(const struct compute_be *c)
{
    struct json_object *root = jx_new_object(), *auth = jx_new_object();
    struct json_object *ident = jx_new_object(), *methods = jx_new_array();

    json_object_object_add(root, "auth", auth);
    json_object_object_add(auth, "identity", ident);
    json_object_object_add(ident, "methods", methods);
    if (c->appcred_id) {
        struct json_object *ac = jx_new_object();
        json_object_array_add(methods, jx_new_string("application_credential"));
        jx_add_str(ac, "id", c->appcred_id);
        jx_add_str(ac, "secret", c->appcred_secret);
        json_object_object_add(ident, "application_credential", ac);
        return root;
    }
    struct json_object *pw = jx_new_object(), *user = jx_new_object();
    struct json_object *udom = jx_new_object(), *scope = jx_new_object();
    struct json_object *proj = jx_new_object(), *pdom = jx_new_object();
    json_object_array_add(methods, jx_new_string("password"));
    jx_add_str(udom, "name", c->user_domain);
    jx_add_str(user, "name", c->username);
    json_object_object_add(user, "domain", udom);
    jx_add_str(user, "password", c->password);
    json_object_object_add(pw, "user", user);
    json_object_object_add(ident, "password", pw);
    jx_add_str(pdom, "name", c->project_domain);
    jx_add_str(proj, "name", c->project);
    json_object_object_add(proj, "domain", pdom);
    json_object_object_add(scope, "project", proj);
    json_object_object_add(auth, "scope", scope);
    return root;
}

/* Who we tried to be, for messages: names only, never a secret. */
static void identity_text(const struct compute_be *c, char *out, size_t size)
{
    if (c->appcred_id)
        snprintf(out, size, "application credential");
    else
        snprintf(out, size, "user '%.64s' (domain '%.64s'), project '%.64s' (domain '%.64s')",
                 c->username, c->user_domain, c->project, c->project_domain);
}

static int authenticate(struct compute_be *c, struct as_error *err)
{
    struct json_object *body = auth_body(c), *doc = NULL;
    struct http_response resp;
    char *text = jx_dump(body), *url = xasprintf("%s/auth/tokens", c->auth_url);
    char who[320];
    int rc = -1;

    json_object_put(body);
    identity_text(c, who, sizeof who);
    if (token_post(c, url, text, &resp, err) < 0) {
        as_error_prefix(err, "openstack authentication");
        goto out;
    }
    if (resp.status != 201 && resp.status != 200) {
        struct json_object *e = json_tokener_parse(resp.body);
        char what[400];
        snprintf(what, sizeof what, "authentication as %s", who);
        reply_error(&resp, e, what, 0, err);
        json_object_put(e);
        goto out;
    }
    doc = jx_parse(resp.body, resp.body_len, "Keystone's token reply", "provider_bad_reply",
                   AS_EXIT_FAILURE, err);
    if (!doc)
        goto out;
    struct json_object *token = jx_obj(doc, "token");
    struct json_object *catalog = jx_arr(token, "catalog");
    const char *subject = resp.captured_header;
    if (!subject || !*subject) {
        bad_reply(err, "authentication", "Keystone sent no X-Subject-Token");
    } else if (!catalog) {
        bad_reply(err, "authentication",
                  "Keystone's token has no service catalogue (is the token scoped to a "
                  "project?)");
    } else {
        use_token(c, subject, catalog, as_parse_time(jx_str(token, "expires_at", NULL)));
        cache_store(c);
        log_debug("openstack: authenticated as %s", who);
        rc = 0;
    }
out:
    json_object_put(doc);
    secret_free(text);
    free(url);
    http_response_clear(&resp);
    return rc;
}

static int ensure_token(struct compute_be *c, struct as_error *err)
{
    if (c->token && !expiring(c->expires_at))
        return 0;
    if (!c->token && cache_take(c))
        return 0;
    return authenticate(c, err);
}

/* The token was refused: forget it here and in the process cache. */
static void drop_token(struct compute_be *c)
{
    char *key = identity_key(c);
    if (cached.key && strcmp(key, cached.key) == 0)
        cache_drop();
    secret_free(key);
    secret_free(c->token);
    secret_free(c->token_header);
    c->token = c->token_header = NULL;
}

/* ------------------------------------------------------------ catalogue -- */

static int endpoint_matches(struct json_object *ep, const char *interface,
                            const char *region)
{
    const char *i = jx_str(ep, "interface", NULL);
    if (!i || strcmp(i, interface) != 0)
        return 0;
    if (!region)
        return 1;
    const char *rid = jx_str(ep, "region_id", NULL), *r = jx_str(ep, "region", NULL);
    return (rid && strcmp(rid, region) == 0) || (r && strcmp(r, region) == 0);
}

/* The service's URL from the catalogue, newly allocated, no trailing '/'. */
static char *catalog_url(struct compute_be *c, const char *type, struct as_error *err)
{
    size_t n = c->catalog ? json_object_array_length(c->catalog) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *svc = json_object_array_get_idx(c->catalog, i);
        const char *t = jx_str(svc, "type", NULL);
        struct json_object *eps = jx_arr(svc, "endpoints");
        if (!t || strcmp(t, type) != 0 || !eps)
            continue;
        for (size_t k = 0; k < json_object_array_length(eps); k++) {
            struct json_object *ep = json_object_array_get_idx(eps, k);
            const char *url = jx_str(ep, "url", NULL);
            if (url && *url && endpoint_matches(ep, c->interface, c->region))
                return http_base_url(url);
        }
    }
    as_fail(err, AS_EXIT_BADINPUT, "provider_no_endpoint",
            "openstack: the catalogue has no '%s' endpoint with interface '%s'%s%.64s%s",
            type, c->interface, c->region ? " in region '" : "", c->region ? c->region : "",
            c->region ? "'" : "");
    return NULL;
}

/* The base URL of a service, resolved once per session. */
static const char *service_url(struct compute_be *c, const char *type, struct as_error *err)
{
    char **slot = strcmp(type, "compute") == 0 ? &c->compute_url
                  : strcmp(type, "image") == 0 ? &c->image_url
                                               : &c->network_url;
    if (!*slot) {
        if (ensure_token(c, err) < 0)
            return NULL;
        *slot = catalog_url(c, type, err);
    }
    return *slot;
}

/* ------------------------------------------------------------- calling -- */

/* One API call with the token. A 401 means the token died since we got it
 * (expired, revoked, or an old one from the process cache): authenticate
 * again and resend, once. Resending is safe even for a create, because
 * the auth middleware answers 401 before Nova does anything. */
static int api_call(struct compute_be *c, const char *method, const char *url,
                    struct json_object *body, const char *what, struct http_response *resp,
                    struct json_object **out, struct as_error *err)
{
    for (int attempt = 0;; attempt++) {
        if (ensure_token(c, err) < 0) { /* its message says what failed */
            memset(resp, 0, sizeof *resp);
            *out = NULL;
            return -1;
        }
        const char *headers[] = {c->token_header,
                                 "OpenStack-API-Version: compute " NOVA_MICROVERSION,
                                 "X-OpenStack-Nova-API-Version: " NOVA_MICROVERSION, NULL};
        if (http_json(c->http, method, url, headers, body, resp, out, err) < 0)
            return call_failed(err, what);
        if (resp->status != 401 || attempt > 0)
            return 0;
        log_info("openstack: token refused (HTTP 401); authenticating again");
        json_object_put(*out);
        *out = NULL;
        http_response_clear(resp);
        drop_token(c);
    }
}

/* GET url and return the parsed 200 reply (NULL with err set otherwise). */
static struct json_object *api_get_ok(struct compute_be *c, const char *url, const char *what,
                                      struct as_error *err)
{
    struct http_response resp;
    struct json_object *doc = NULL;

    if (api_call(c, "GET", url, NULL, what, &resp, &doc, err) < 0)
        return NULL;
    if (resp.status != 200) {
        reply_error(&resp, doc, what, 0, err);
        json_object_put(doc);
        doc = NULL;
    } else if (!json_object_is_type(doc, json_type_object)) {
        bad_reply(err, what, "the reply is not a JSON object");
        json_object_put(doc);
        doc = NULL;
    }
    http_response_clear(&resp);
    return doc;
}

/* ------------------------------------------------------------- servers -- */

static enum machine_state map_status(const char *status, char *detail, size_t dsize)
{
    static const char *const transitional[] = {
        "BUILD", "REBUILD", "REBOOT", "HARD_REBOOT", "MIGRATING", "RESIZE",
        "VERIFY_RESIZE", "REVERT_RESIZE", "PASSWORD"};

    if (!status)
        return MACHINE_BUILDING;
    if (strcmp(status, "ACTIVE") == 0)
        return MACHINE_ACTIVE;
    if (strcmp(status, "ERROR") == 0)
        return MACHINE_ERROR;
    if (strcmp(status, "DELETED") == 0 || strcmp(status, "SOFT_DELETED") == 0)
        return MACHINE_GONE;
    for (size_t i = 0; i < sizeof transitional / sizeof *transitional; i++)
        if (strcmp(status, transitional[i]) == 0)
            return MACHINE_BUILDING;
    if (strcmp(status, "SHUTOFF") == 0) {
        /* A parked pool node (os-stop); to anyone waiting for ACTIVE it is
         * as unusable as below, which the detail says. */
        snprintf(detail, dsize, "server is SHUTOFF");
        return MACHINE_STOPPED;
    }
    /* PAUSED, SUSPENDED, SHELVED*, RESCUE, UNKNOWN: stable states
     * Nova will not leave by itself, and none of them serves; waiting would
     * wait forever, so the caller is told it is unusable. */
    snprintf(detail, dsize, "server is %.40s", status);
    utf8_clean_line(detail); /* the server's word, cut anywhere */
    return MACHINE_ERROR;
}

/* The first fixed IPv4 address, on the preferred network if it has one.
 * An address without a type (no OS-EXT-IPS extension) counts as fixed. */
static const char *pick_address(struct json_object *addresses, const char *prefer)
{
    if (!addresses) /* json-c's foreach would dereference it */
        return NULL;
    for (int pass = prefer ? 0 : 1; pass < 2; pass++) {
        json_object_object_foreach(addresses, net, list) {
            if (pass == 0 && strcmp(net, prefer) != 0)
                continue;
            size_t n = json_object_is_type(list, json_type_array)
                           ? json_object_array_length(list)
                           : 0;
            for (size_t i = 0; i < n; i++) {
                struct json_object *a = json_object_array_get_idx(list, i);
                const char *type = jx_str(a, "OS-EXT-IPS:type", "fixed");
                const char *addr = jx_str(a, "addr", NULL);
                if (jx_int(a, "version", 0) == 4 && addr && strcmp(type, "fixed") == 0)
                    return addr;
            }
        }
    }
    return NULL;
}

static int parse_server(struct compute_be *c, struct json_object *s, struct machine *m,
                        const char *what, struct as_error *err)
{
    const char *id = jx_str(s, "id", NULL);
    if (!json_object_is_type(s, json_type_object) || !id || !*id)
        return bad_reply(err, what, "a server without an id");

    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
    copy_line(m->name, sizeof m->name, jx_str(s, "name", NULL));
    copy_line(m->group, sizeof m->group, jx_str(jx_obj(s, "metadata"), "asg", NULL));
    m->created_at = as_parse_time(jx_str(s, "created", NULL));
    m->state = map_status(jx_str(s, "status", NULL), m->detail, sizeof m->detail);

    const char *task = jx_str(s, "OS-EXT-STS:task_state", NULL);
    if (m->state != MACHINE_GONE && task &&
        (strcmp(task, "deleting") == 0 || strcmp(task, "soft-deleting") == 0))
        m->state = MACHINE_DELETING;
    /* A stop or start under way: said, so that a repeated os-stop/os-start
     * refused for it (409) is known to be one already going our way. */
    if (task && (strcmp(task, "powering-off") == 0 || strcmp(task, "powering-on") == 0)) {
        size_t n = strlen(m->detail);
        snprintf(m->detail + n, sizeof m->detail - n, "%stask %s", n ? ", " : "", task);
    }
    if (m->state == MACHINE_ERROR && !m->detail[0])
        copy_line(m->detail, sizeof m->detail,
                  jx_str(jx_obj(s, "fault"), "message", "no fault reported"));

    const char *addr = pick_address(jx_obj(s, "addresses"),
                                    c->network ? c->network : c->spec_network);
    if (addr)
        copy_line(m->address, sizeof m->address, addr);
    if (m->state == MACHINE_ACTIVE && !addr) {
        /* Nova can report ACTIVE before the network info cache has the
         * port; ACTIVE promises an address, so keep waiting. */
        m->state = MACHINE_BUILDING;
        snprintf(m->detail, sizeof m->detail, "ACTIVE, waiting for an IPv4 address");
    }
    return 0;
}

/* The decoded value of a query parameter of a URL, or NULL. */
static char *query_value(const char *url, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = strchr(url, '?'); p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, key, klen) != 0 || p[1 + klen] != '=')
            continue;
        const char *v = p + 2 + klen;
        size_t n = strcspn(v, "&#");
        char *out = xmalloc(n + 1), *w = out;
        for (size_t i = 0; i < n; i++) {
            unsigned x;
            if (v[i] == '%' && i + 2 < n && isxdigit((unsigned char)v[i + 1]) &&
                isxdigit((unsigned char)v[i + 2]) && sscanf(v + i + 1, "%2x", &x) == 1) {
                *w++ = (char)x;
                i += 2;
            } else {
                *w++ = v[i] == '+' ? ' ' : v[i];
            }
        }
        *w = '\0';
        return out;
    }
    return NULL;
}

/* Where Nova says the next page starts: the marker of the "next" link, or
 * the last server's id when the link has none. NULL: no next page. */
static char *next_marker(struct json_object *doc, const char *links_key, const char *last_id)
{
    struct json_object *links = jx_arr(doc, links_key);
    size_t n = links ? json_object_array_length(links) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *l = json_object_array_get_idx(links, i);
        const char *rel = jx_str(l, "rel", NULL), *href = jx_str(l, "href", NULL);
        if (!rel || strcmp(rel, "next") != 0 || !href)
            continue;
        /* Only the marker is taken from the link: behind a TLS-terminating
         * proxy Nova writes http:// links for an https:// endpoint. */
        char *marker = query_value(href, "marker");
        if (marker)
            return marker;
        return last_id ? xstrdup(last_id) : NULL;
    }
    return NULL;
}

/* Called for each server of a listing: 0 go on, 1 stop (found), -1 error. */
typedef int (*server_fn)(struct json_object *server, const struct machine *m, void *arg,
                         struct as_error *err);

static char *page_url(const char *base, const char *path, const char *query,
                      const char *marker)
{
    if (!marker)
        return xasprintf("%s%s%s%s", base, path, *query ? "?" : "", query);
    char *enc = http_urlencode(marker);
    char *url = xasprintf("%s%s?%s%smarker=%s", base, path, query, *query ? "&" : "", enc);
    free(enc);
    return url;
}

/* Every server of /servers/detail?<query>, page by page (limit+marker,
 * as far as the "next" links go), each handed to fn. */
static int each_server(struct compute_be *c, const char *query, const char *what,
                       server_fn fn, void *arg, struct as_error *err)
{
    const char *base = service_url(c, "compute", err);
    char *marker = NULL;
    int rc = -1;

    if (!base)
        return -1;
    for (int page = 0;; page++) {
        if (page == MAX_PAGES) {
            bad_reply(err, what, "the listing does not end");
            break;
        }
        char *url = page_url(base, "/servers/detail", query, marker);
        struct json_object *doc = api_get_ok(c, url, what, err);
        free(url);
        if (!doc)
            break;
        struct json_object *servers = jx_arr(doc, "servers");
        if (!servers) {
            bad_reply(err, what, "the reply has no \"servers\" list");
            json_object_put(doc);
            break;
        }
        size_t n = json_object_array_length(servers);
        const char *last = NULL;
        int stop = 0;
        for (size_t i = 0; i < n && !stop; i++) {
            struct json_object *s = json_object_array_get_idx(servers, i);
            struct machine m;
            if (parse_server(c, s, &m, what, err) < 0) {
                stop = -1;
                break;
            }
            last = jx_str(s, "id", NULL);
            stop = fn(s, &m, arg, err);
        }
        char *next = stop == 0 && n > 0 ? next_marker(doc, "servers_links", last) : NULL;
        json_object_put(doc);
        if (stop < 0)
            break;
        if (stop > 0 || !next) {
            rc = 0;
            break;
        }
        if (marker && strcmp(next, marker) == 0) {
            bad_reply(err, what, "the listing's next page is the same page");
            free(next);
            break;
        }
        free(marker);
        marker = next;
    }
    free(marker);
    return rc;
}

/* --------------------------------------------------------- name lookup -- */

static int ref_cached(const struct ref *r, const char *value, const char **id)
{
    if (r->value && strcmp(r->value, value) == 0) {
        *id = r->id;
        return 1;
    }
    return 0;
}

static int ref_store(struct ref *r, const char *value, const char *id, const char **out)
{
    char *v = xstrdup(value), *i = xstrdup(id);
    free(r->value);
    free(r->id);
    r->value = v;
    r->id = i;
    *out = i;
    return 0;
}

static int not_found(struct as_error *err, const char *kind, const char *value,
                     size_t matches)
{
    if (matches > 1)
        return as_fail(err, AS_EXIT_BADINPUT, "provider_rejected",
                       "openstack: %zu %ss are named '%.100s'; give the id instead", matches,
                       kind, value);
    return as_fail(err, AS_EXIT_BADINPUT, "provider_rejected",
                   "openstack: no %s named '%.100s'", kind, value);
}

/* A flavor by name (or by an id that does not look like one: flavor ids
 * are free-form), through every page of /flavors/detail. */
static int resolve_flavor(struct compute_be *c, const char *value, const char **id,
                          struct as_error *err)
{
    if (looks_like_id(value)) {
        *id = value;
        return 0;
    }
    if (ref_cached(&c->flavor, value, id))
        return 0;
    const char *base = service_url(c, "compute", err);
    char *marker = NULL, *found = NULL;
    size_t matches = 0;
    int rc = -1;
    if (!base)
        return -1;
    for (int page = 0; page < MAX_PAGES; page++) {
        char *url = page_url(base, "/flavors/detail", "", marker);
        struct json_object *doc = api_get_ok(c, url, "flavor lookup", err);
        free(url);
        if (!doc)
            goto out;
        struct json_object *list = jx_arr(doc, "flavors");
        size_t n = list ? json_object_array_length(list) : 0;
        const char *last = NULL;
        for (size_t i = 0; i < n; i++) {
            struct json_object *fl = json_object_array_get_idx(list, i);
            const char *fid = jx_str(fl, "id", NULL), *name = jx_str(fl, "name", NULL);
            last = fid;
            if (fid && ((name && strcmp(name, value) == 0) || strcmp(fid, value) == 0) &&
                matches++ == 0)
                found = xstrdup(fid);
        }
        char *next = n ? next_marker(doc, "flavors_links", last) : NULL;
        json_object_put(doc);
        if (!list) {
            free(next);
            bad_reply(err, "flavor lookup", "the reply has no \"flavors\" list");
            goto out;
        }
        if (!next || (marker && strcmp(next, marker) == 0)) {
            free(next);
            break;
        }
        free(marker);
        marker = next;
    }
    rc = matches == 1 ? ref_store(&c->flavor, value, found, id)
                               : not_found(err, "flavor", value, matches);
out:
    free(marker);
    free(found);
    return rc;
}

/* An image (Glance v2) or network (Neutron v2.0) by exact name. */
static int resolve_by_name(struct compute_be *c, const char *type, const char *value,
                           struct ref *cache, const char **id, struct as_error *err)
{
    int image = strcmp(type, "image") == 0;
    const char *kind = image ? "image" : "network";
    const char *key = image ? "images" : "networks";
    const char *ver = image ? "/v2" : "/v2.0";

    if (looks_like_id(value)) {
        *id = value;
        return 0;
    }
    if (ref_cached(cache, value, id))
        return 0;
    const char *base = service_url(c, type, err);
    if (!base)
        return -1;
    /* The catalogue may list the service with or without its version. */
    char *enc = http_urlencode(value), what[40];
    char *url = xasprintf("%s%s/%s?name=%s", base, ends_with(base, ver) ? "" : ver, key, enc);
    free(enc);
    snprintf(what, sizeof what, "%s lookup", kind);
    struct json_object *doc = api_get_ok(c, url, what, err);
    free(url);
    if (!doc)
        return -1;
    struct json_object *list = jx_arr(doc, key);
    size_t n = list ? json_object_array_length(list) : 0, matches = 0;
    const char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_array_get_idx(list, i);
        const char *name = jx_str(o, "name", NULL), *oid = jx_str(o, "id", NULL);
        if (name && oid && strcmp(name, value) == 0 && matches++ == 0)
            found = oid;
    }
    int rc = !list          ? bad_reply(err, what, "the reply has no list")
             : matches == 1 ? ref_store(cache, value, found, id)
                            : not_found(err, kind, value, matches);
    json_object_put(doc);
    return rc;
}

/* ------------------------------------------------------------ operations -- */

static struct json_object *create_body(const struct machine_spec *spec, const char *flavor,
                                       const char *image, const char *network,
                                       const char *user_data_b64)
{
    struct json_object *root = jx_new_object(), *s = jx_new_object();
    struct json_object *meta = jx_new_object();

    json_object_object_add(root, "server", s);
    jx_add_str(s, "name", spec->name);
    jx_add_str(s, "flavorRef", flavor);
    jx_add_str(s, "imageRef", image);
    if (network) {
        struct json_object *nets = jx_new_array(), *n = jx_new_object();
        jx_add_str(n, "uuid", network);
        json_object_array_add(nets, n);
        json_object_object_add(s, "networks", nets);
    } else {
        /* "auto": the project's network, or one Nova allocates for it. */
        jx_add_str(s, "networks", "auto");
    }
    if (spec->key_pair)
        jx_add_str(s, "key_name", spec->key_pair);
    if (user_data_b64)
        jx_add_str(s, "user_data", user_data_b64);
    /* find() and list() know our servers by these, not by their names. */
    jx_add_str(meta, "asg", spec->group);
    jx_add_str(meta, "autoscale_node", spec->name);
    json_object_object_add(s, "metadata", meta);
    return root;
}

static int os_create(struct compute_be *c, const struct machine_spec *spec,
                     struct machine *out, struct as_error *err)
{
    const char *flavor_v = spec->flavor ? spec->flavor : settings_str(c->settings, "flavor");
    const char *image_v = spec->image ? spec->image : settings_str(c->settings, "image");
    const char *net_v = spec->network ? spec->network : c->network;
    const char *flavor = NULL, *image = NULL, *network = NULL;
    char what[96];

    snprintf(what, sizeof what, "create %.64s", spec->name);
    if (!flavor_v || !image_v)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "openstack needs a %s: set the group's %s (or the '%s' setting)",
                       flavor_v ? "image" : "flavor", flavor_v ? "image" : "flavor",
                       flavor_v ? "image" : "flavor");
    if (resolve_flavor(c, flavor_v, &flavor, err) < 0 ||
        resolve_by_name(c, "image", image_v, &c->image, &image, err) < 0 ||
        (net_v && resolve_by_name(c, "network", net_v, &c->net, &network, err) < 0))
        return -1;
    /* Nova keys addresses by network name: remember a name for get(). */
    if (net_v && !looks_like_id(net_v) && !c->network &&
        (!c->spec_network || strcmp(c->spec_network, net_v) != 0)) {
        free(c->spec_network);
        c->spec_network = xstrdup(net_v);
    }

    const char *base = service_url(c, "compute", err);
    if (!base)
        return -1;
    char *ud = spec->user_data ? base64(spec->user_data, strlen(spec->user_data)) : NULL;
    char *url = xasprintf("%s/servers", base);
    struct json_object *body = create_body(spec, flavor, image, network, ud), *doc = NULL;
    struct http_response resp;
    /* A POST is not retried (http.c's rule for POST): after a timeout or a
     * 5xx the server may exist; the caller looks with find() first. */
    int rc = api_call(c, "POST", url, body, what, &resp, &doc, err);
    json_object_put(body);
    free(ud);
    free(url);
    if (rc < 0)
        return -1;
    const char *id = jx_str(jx_obj(doc, "server"), "id", NULL);
    if (resp.status != 202 && resp.status != 200)
        rc = reply_error(&resp, doc, what, 1, err);
    else if (!id || !*id)
        rc = bad_reply(err, what, "the reply has no server id");
    else {
        memset(out, 0, sizeof *out);
        snprintf(out->id, sizeof out->id, "%s", id);
        snprintf(out->name, sizeof out->name, "%s", spec->name);
        snprintf(out->group, sizeof out->group, "%s", spec->group);
        out->state = MACHINE_BUILDING;
        out->created_at = (long long)time(NULL);
        log_debug("openstack: server %s (%s) requested", out->id, spec->name);
    }
    json_object_put(doc);
    http_response_clear(&resp);
    return rc;
}

/* `method` on /servers/<id>, named "<verb> <id>" in messages (into what,
 * 160 bytes, for the caller's own messages too). 0 with resp and *doc, as
 * api_call(); -1 with err. */
static int server_call(struct compute_be *c, const char *method, const char *verb,
                       const char *id, char *what, struct http_response *resp,
                       struct json_object **doc, struct as_error *err)
{
    const char *base = service_url(c, "compute", err);
    if (!base)
        return -1;
    char *enc = http_urlencode(id), *url = xasprintf("%s/servers/%s", base, enc);
    free(enc);
    snprintf(what, 160, "%s %.128s", verb, id);
    int rc = api_call(c, method, url, NULL, what, resp, doc, err);
    free(url);
    return rc;
}

static int os_get(struct compute_be *c, const char *id, struct machine *out,
                  struct as_error *err)
{
    struct http_response resp;
    struct json_object *doc = NULL;
    char what[160];
    int rc = server_call(c, "GET", "get", id, what, &resp, &doc, err);

    if (rc < 0)
        return -1;
    if (resp.status == 404) {
        machine_gone(out, id);
    } else if (resp.status != 200) {
        rc = reply_error(&resp, doc, what, 0, err);
    } else if (!jx_obj(doc, "server")) {
        rc = bad_reply(err, what, "the reply has no \"server\" object");
    } else {
        rc = parse_server(c, jx_obj(doc, "server"), out, what, err);
    }
    json_object_put(doc);
    http_response_clear(&resp);
    return rc;
}

static int os_destroy(struct compute_be *c, const char *id, struct as_error *err)
{
    struct http_response resp;
    struct json_object *doc = NULL;
    char what[160];
    int rc = server_call(c, "DELETE", "delete", id, what, &resp, &doc, err);

    if (rc < 0)
        return -1;
    /* 404: already gone, which is what was asked for. */
    if (resp.status != 204 && resp.status != 202 && resp.status != 200 &&
        resp.status != 404)
        rc = reply_error(&resp, doc, what, 0, err);
    else
        log_debug("openstack: server %s: delete %s", id,
                  resp.status == 404 ? "not needed (absent)" : "requested");
    json_object_put(doc);
    http_response_clear(&resp);
    return rc;
}

/* ----------------------------------------------------- stop and start -- */

/* POST /servers/{id}/action with {"os-stop": null} or {"os-start": null}
 * (Compute API v2.1, "Servers - run an action": Stop Server, Start
 * Server): 202 and no body once accepted; 409 when the server's vm_state
 * does not allow it, which includes being already there (Nova refuses
 * os-stop of a stopped server). So a 409 is followed by a GET: already
 * `want`, or on its way there (task powering-off / powering-on: a retry
 * after the first request was accepted), is success; anything else is the
 * conflict. The state change itself is polled by the caller. */
static int server_action(struct compute_be *c, const char *id, const char *action,
                         enum machine_state want, struct as_error *err)
{
    const char *base = service_url(c, "compute", err);
    if (!base)
        return -1;
    char *enc = http_urlencode(id), *url = xasprintf("%s/servers/%s/action", base, enc);
    free(enc);
    char what[160];
    snprintf(what, sizeof what, "%s %.128s", action, id);
    struct json_object *body = jx_new_object(), *doc = NULL;
    json_object_object_add(body, action, NULL);
    struct http_response resp;
    int rc = api_call(c, "POST", url, body, what, &resp, &doc, err);
    json_object_put(body);
    free(url);
    if (rc < 0)
        return -1;
    if (resp.status == 409) {
        struct machine m;
        struct as_error gerr;
        as_error_clear(&gerr);
        const char *going = want == MACHINE_STOPPED ? "task powering-off" : "task powering-on";
        if (os_get(c, id, &m, &gerr) == 0 && (m.state == want || strstr(m.detail, going))) {
            log_debug("openstack: server %s: %s not needed (%s)", id, action,
                      m.state == want ? "already done" : "under way");
        } else {
            reply_error(&resp, doc, what, 0, err);
            as_error_recode(err, "machine_conflict");
            rc = -1;
        }
    } else if (resp.status == 404) {
        rc = as_fail(err, AS_EXIT_FAILURE, "machine_gone", "openstack %s: no such server",
                     what);
    } else if (resp.status != 202 && resp.status != 200 && resp.status != 204) {
        rc = reply_error(&resp, doc, what, 0, err);
    } else {
        log_debug("openstack: server %s: %s requested", id, action);
    }
    json_object_put(doc);
    http_response_clear(&resp);
    return rc;
}

static int os_stop(struct compute_be *c, const char *id, struct as_error *err)
{
    return server_action(c, id, "os-stop", MACHINE_STOPPED, err);
}

static int os_start(struct compute_be *c, const char *id, struct as_error *err)
{
    return server_action(c, id, "os-start", MACHINE_ACTIVE, err);
}

struct find_state {
    const char *group, *name;
    struct machine *out;
    int found; /* 0 none, 1 a live one, 2 only one on its way out */
};

/* The first live match wins; one being deleted only if nothing else is,
 * so a node re-created under the same name is not mistaken for its
 * predecessor. */
static int find_cb(struct json_object *s, const struct machine *m, void *arg,
                   struct as_error *err)
{
    struct find_state *st = arg;
    const char *asg = jx_str(jx_obj(s, "metadata"), "asg", NULL);
    const char *name = jx_str(s, "name", NULL);
    (void)err;
    if (!asg || strcmp(asg, st->group) != 0 || !name || strcmp(name, st->name) != 0)
        return 0;
    int live = m->state != MACHINE_DELETING && m->state != MACHINE_GONE;
    if (live || !st->found) {
        *st->out = *m;
        st->found = live ? 1 : 2;
    }
    return live;
}

static int os_find(struct compute_be *c, const char *group, const char *name,
                   struct machine *out, struct as_error *err)
{
    struct find_state st = {group, name, out, 0};
    char what[96];

    snprintf(what, sizeof what, "find %.64s", name);
    /* Nova's name filter is a regular expression: anchor it, and escape
     * anything that is not a plain name character. */
    char *re = xmalloc(2 * strlen(name) + 3), *w = re;
    *w++ = '^';
    for (const char *p = name; *p; p++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", *p))
            *w++ = '\\';
        *w++ = *p;
    }
    *w++ = '$';
    *w = '\0';
    char *enc = http_urlencode(re), *query = xasprintf("name=%s", enc);
    int rc = each_server(c, query, what, find_cb, &st, err);
    free(re);
    free(enc);
    free(query);
    return rc < 0 ? -1 : st.found ? 1 : 0;
}

struct list_state {
    const char *group;
    struct machine *v;
    size_t n, cap;
};

static int list_cb(struct json_object *s, const struct machine *m, void *arg,
                   struct as_error *err)
{
    struct list_state *st = arg;
    const char *asg = jx_str(jx_obj(s, "metadata"), "asg", NULL);
    (void)err;
    if (!asg || strcmp(asg, st->group) != 0)
        return 0;
    st->v = xgrow(st->v, st->n + 1, &st->cap, sizeof *st->v);
    st->v[st->n++] = *m;
    return 0;
}

/* Nova cannot filter on metadata, so the whole project is listed and the
 * group's servers picked out here. */
static int os_list(struct compute_be *c, const char *group, struct machine **out, size_t *n,
                   struct as_error *err)
{
    struct list_state st = {group, NULL, 0, 0};
    char what[64];

    snprintf(what, sizeof what, "list %.32s", group);
    *out = NULL;
    *n = 0;
    if (each_server(c, "", what, list_cb, &st, err) < 0) {
        free(st.v);
        return -1;
    }
    if (!st.v) /* never NULL on success */
        st.v = xmalloc(sizeof *st.v);
    *out = st.v;
    *n = st.n;
    return 0;
}

/* ------------------------------------------------------------ open/close -- */

static int missing(struct as_error *err, const char *key)
{
    return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                   "openstack setting '%s' is missing (openstack_%s in the pack config, "
                   "or the group's settings.openstack.%s)",
                   key, key, key);
}

/* Which identity to use, and whether it is complete. Application
 * credentials win when both kinds are configured: they are scoped and
 * revocable, the password is neither. */
static int read_identity(struct compute_be *c, struct as_error *err)
{
    struct json_object *s = c->settings;
    const char *ac_id = settings_str(s, "application_credential_id");
    const char *ac_secret = settings_str(s, "application_credential_secret");

    if (ac_id || ac_secret) {
        if (!ac_id)
            return missing(err, "application_credential_id");
        if (!ac_secret)
            return missing(err, "application_credential_secret");
        c->appcred_id = ac_id;
        c->appcred_secret = ac_secret;
        secret_register(ac_secret);
        return 0;
    }
    static const char *const keys[] = {"username", "password", "project_name"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!settings_str(s, keys[i]))
            return missing(err, keys[i]);
    c->username = settings_str(s, "username");
    c->password = settings_str(s, "password");
    c->project = settings_str(s, "project_name");
    c->user_domain = settings_str(s, "user_domain_name");
    c->project_domain = settings_str(s, "project_domain_name");
    if (!c->user_domain)
        c->user_domain = "Default";
    if (!c->project_domain)
        c->project_domain = "Default";
    secret_register(c->password);
    return 0;
}

/* "public", also spelled "publicURL" (the v2 catalogue's name). */
static int read_interface(struct compute_be *c, struct as_error *err)
{
    const char *i = settings_str(c->settings, "interface");
    char v[16];
    snprintf(v, sizeof v, "%s", i ? i : "public");
    if (ends_with(v, "URL"))
        v[strlen(v) - 3] = '\0';
    if (strcmp(v, "public") != 0 && strcmp(v, "internal") != 0 && strcmp(v, "admin") != 0)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "openstack setting 'interface' must be public, internal or admin");
    snprintf(c->interface, sizeof c->interface, "%s", v);
    return 0;
}

/* auth_url as people write it: with or without /v3, with a slash or not. */
static int read_auth_url(struct compute_be *c, struct as_error *err)
{
    const char *u = settings_str(c->settings, "auth_url");
    if (!u)
        return missing(err, "auth_url");
    const char *why = http_url_problem(u);
    if (why)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "openstack setting 'auth_url' %s", why);
    char *v = http_base_url(u);
    if (ends_with(v, "/v2.0"))
        v[strlen(v) - 5] = '\0';
    c->auth_url = ends_with(v, "/v3") ? v : xasprintf("%s/v3", v);
    if (c->auth_url != v)
        free(v);
    return 0;
}

static void os_close(struct compute_be *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    free(c->auth_url);
    secret_free(c->token);
    secret_free(c->token_header);
    json_object_put(c->catalog);
    free(c->compute_url);
    free(c->image_url);
    free(c->network_url);
    free(c->spec_network);
    struct ref *refs[] = {&c->flavor, &c->image, &c->net};
    for (size_t i = 0; i < 3; i++) {
        free(refs[i]->value);
        free(refs[i]->id);
    }
    json_object_put(c->settings);
    free(c);
}

/* Keystone region ids are free-form in principle; real ones are names
 * such as RegionOne or us-east-1, and a region lands in error text. */
static bool region_ok(const char *r)
{
    size_t n = strspn(r, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    return n > 0 && n <= 64 && !r[n];
}

static struct compute_be *os_open(struct json_object *settings, struct as_error *err)
{
    struct compute_be *c = xcalloc(1, sizeof *c);
    c->settings = json_object_get(settings);
    if (read_auth_url(c, err) < 0 || read_identity(c, err) < 0 ||
        read_interface(c, err) < 0) {
        os_close(c);
        return NULL;
    }
    c->region = settings_str(settings, "region");
    if (c->region && !region_ok(c->region)) {
        as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                "openstack setting 'region' must be a region name ([A-Za-z0-9_.-], "
                "at most 64)");
        os_close(c);
        return NULL;
    }
    c->network = settings_str(settings, "network");
    c->ca_bundle = settings_str(settings, "ca_bundle");
    /* 0, like absent: http.c's own timeout. */
    long long timeout = settings_int(settings, "timeout_ms", PARAM_ABSENT);
    if (timeout != PARAM_ABSENT && (timeout < 0 || timeout > HTTP_BUDGET_DEFAULT_MS)) {
        as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                "openstack setting 'timeout_ms' must be between 1 and %d",
                HTTP_BUDGET_DEFAULT_MS);
        os_close(c);
        return NULL;
    }

    struct http_options o;
    http_options_default(&o);
    o.ca_bundle = c->ca_bundle;
    if (timeout > 0)
        o.timeout_ms = (long)timeout;
    if (!(c->http = http_client_new(&o, err))) {
        os_close(c);
        return NULL;
    }
    return c;
}

const struct compute_ops compute_openstack_ops = {
    .name = "openstack",
    .open = os_open,
    .create = os_create,
    .get = os_get,
    .find = os_find,
    .destroy = os_destroy,
    .list = os_list,
    .stop = os_stop,
    .start = os_start,
    .close = os_close,
    /* Nova boots a server in tens of seconds, and every GET counts against
     * the project's API rate limit: the first look after half the interval,
     * then every 2 s. An add makes no more GETs than a fixed 2 s interval
     * did (its GET right after the create only repeated the create's BUILD),
     * a delete at most one more, and a quick server (a cached image) is
     * seen a second sooner. */
    .poll_first_ms = 1000,
    .poll_ms = 2000,
};
