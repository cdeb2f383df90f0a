/* lb_digitalocean.c - a DigitalOcean load balancer (API v2): its members are
 * droplets, named by id (the node record's provider_id).
 *
 *   GET    /v2/load_balancers/{id}           200 {"load_balancer": {.., "droplet_ids": [..]}}
 *   POST   /v2/load_balancers/{id}/droplets  {"droplet_ids": [n]} -> 204
 *   DELETE /v2/load_balancers/{id}/droplets  {"droplet_ids": [n]} -> 204
 *
 * Errors are {"id", "message", "request_id"}: 401 unauthorized, 404 no such
 * load balancer, 422 refused (a droplet of another region or VPC, or a load
 * balancer that picks its droplets by tag, which takes no individual ones),
 * 429 rate limited. Adding a droplet already there, or removing one that is
 * not, changes nothing on DO's side, so both are retried like GET (http.c:
 * connection errors, 429 honouring Retry-After, 5xx) - and both look first,
 * so a retried action reports changed=false instead of repeating itself.
 *
 * DigitalOcean has no per-droplet drain and shows no session counts: drain
 * is NULL in the table, and removal is immediate (DO's own load balancer
 * finishes the requests it has in flight). The token goes only into the
 * Authorization header and the secret registry, never into a message. */
#include "lb_int.h"

#include "digitalocean.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "settings.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lb {
    struct http_api api;
    char id[64];
};

/* ------------------------------------------------------------ settings -- */

/* Load balancer ids are UUIDs: hex digits and '-'. */
static bool lb_id_ok(const char *s)
{
    size_t n = s ? strspn(s, "0123456789abcdefABCDEF-") : 0;
    return n >= 1 && n <= 64 && s[n] == '\0';
}

/* Droplet ids are positive integers. */
static bool droplet_ok(const char *s)
{
    size_t n = s ? strspn(s, "0123456789") : 0;
    return n >= 1 && n <= 18 && s[n] == '\0' && s[0] != '0';
}

static void dolb_close(struct lb *lb)
{
    if (!lb)
        return;
    http_api_close(&lb->api);
    free(lb);
}

static struct lb *dolb_open(struct json_object *settings, const char *backend,
                            struct as_error *err)
{
    const char *token = settings_str(settings, "token");
    const char *id = settings_str(settings, "lb_id");
    (void)backend; /* the load balancer is named by its id */

    if (digitalocean_token_check(token, "digitalocean_token", err) < 0)
        return NULL;
    if (!id || !lb_id_ok(id)) {
        digitalocean_bad_setting(err, "lb_id", "must be the load balancer's id, such as "
                                  "4de7ac8b-495b-4884-9a69-1050c6793cd6 "
                                  "(digitalocean_lb_id)");
        return NULL;
    }
    struct lb *lb = xcalloc(1, sizeof *lb);
    snprintf(lb->id, sizeof lb->id, "%s", id);
    if (digitalocean_api_open(&lb->api, token, settings_str(settings, "api_url"),
                              settings_str(settings, "ca_bundle"), err) < 0) {
        free(lb);
        return NULL;
    }
    return lb;
}

/* ------------------------------------------------------------- requests -- */

/* DO's refusal as our error, in DO's words plus its request_id. Every 404
 * here is the load balancer's: the URL names nothing else. */
static int reply_error(const struct lb *lb, const char *method, const struct http_response *r,
                       struct as_error *err)
{
    static const struct digitalocean_codes codes = {
        .unauthorized = "lb_unauthorized",
        .forbidden = "lb_forbidden",
        .not_found = "lb_backend_not_found",
        .rejected = "lb_rejected",
        .over_limit = "lb_rate_limited",
        .other = "lb_error",
    };
    struct json_object *doc = jx_parse_record(r->body ? r->body : "");
    char *text = http_error_text(r);
    digitalocean_refusal(err, &codes, r->status, doc, text, NULL, "%s load balancer %s", method,
                         lb->id);
    free(text);
    json_object_put(doc);
    return -1;
}

/* One request on the load balancer (path "" or "/droplets"): 0 with *out
 * (the parsed 2xx reply, NULL when empty), or -1. Retried like a GET. */
static int call(struct lb *lb, const char *method, const char *path, const char *body,
                struct json_object **out, struct as_error *err)
{
    const char *headers[] = {lb->api.auth, "Accept: application/json",
                             body ? "Content-Type: application/json" : NULL, NULL};
    struct http_response resp;
    char *url = xasprintf("%s/load_balancers/%s%s", lb->api.base, lb->id, path);

    *out = NULL;
    struct http_request req = {.method = method, .url = url, .headers = headers,
                               .body = body, .body_len = body ? strlen(body) : 0,
                               .retry = 1};
    int rc = http_do(lb->api.http, &req, &resp, err);
    free(url);
    if (rc < 0) {
        if (as_error_is(err, "http_unreachable"))
            as_error_recode(err, "lb_unreachable");
        else if (as_error_is(err, "http_timeout"))
            as_error_recode(err, "lb_timeout");
        as_error_prefix(err, "digitalocean");
        return -1;
    }
    if (resp.status < 200 || resp.status > 299) {
        reply_error(lb, method, &resp, err);
        http_response_clear(&resp);
        return -1;
    }
    if (resp.body_len > 0 && !(*out = jx_parse_record(resp.body)))
        rc = as_fail(err, AS_EXIT_FAILURE, "lb_bad_reply",
                     "digitalocean: %s load balancer %s: HTTP %ld reply is not a JSON "
                     "object", method, lb->id, resp.status);
    http_response_clear(&resp);
    return rc;
}

static int dolb_list(struct lb *lb, struct lb_member **out, size_t *n, struct as_error *err)
{
    struct json_object *doc = NULL;
    *out = NULL;
    *n = 0;
    if (call(lb, "GET", "", NULL, &doc, err) < 0)
        return -1;
    struct json_object *b = jx_obj(doc, "load_balancer");
    struct json_object *ids = jx_arr(b, "droplet_ids");
    if (!b) {
        json_object_put(doc);
        return as_fail(err, AS_EXIT_FAILURE, "lb_bad_reply",
                       "digitalocean: load balancer %s: the reply has no load_balancer",
                       lb->id);
    }
    size_t len = ids ? json_object_array_length(ids) : 0;
    *out = xcalloc(len + 1, sizeof **out);
    for (size_t i = 0; i < len; i++) {
        struct json_object *v = json_object_array_get_idx(ids, i);
        struct lb_member *m = &(*out)[*n];
        if (!json_object_is_type(v, json_type_int))
            continue;
        snprintf(m->key, sizeof m->key, "%lld", (long long)json_object_get_int64(v));
        snprintf(m->status, sizeof m->status, "%s", jx_str(b, "status", ""));
        m->admin = LB_READY;
        m->sessions = -1;
        (*n)++;
    }
    json_object_put(doc);
    return 0;
}

static int dolb_get(struct lb *lb, const char *key, struct lb_member *out,
                    struct as_error *err)
{
    struct lb_member *all = NULL;
    size_t n = 0;
    int found = 0;
    if (!droplet_ok(key))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_name",
                       "digitalocean: '%.40s' is not a droplet id", key);
    if (dolb_list(lb, &all, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(all[i].key, key) == 0) {
            *out = all[i];
            found = 1;
        }
    free(all);
    return found;
}

/* POST or DELETE {"droplet_ids": [key]}: 1 done, 0 nothing to do, -1. */
static int change(struct lb *lb, const char *method, const char *key, bool want_present,
                  struct as_error *err)
{
    struct lb_member m;
    struct json_object *reply = NULL;
    char body[64];
    int rc = dolb_get(lb, key, &m, err);
    if (rc < 0 || rc == want_present)
        return rc < 0 ? -1 : 0;
    snprintf(body, sizeof body, "{\"droplet_ids\":[%s]}", key);
    if (call(lb, method, "/droplets", body, &reply, err) < 0)
        return -1;
    json_object_put(reply);
    log_info("digitalocean: load balancer %s: droplet %s %s", lb->id, key,
             want_present ? "added" : "removed");
    return 1;
}

static int dolb_add(struct lb *lb, const struct lb_target *t, struct as_error *err)
{
    if (!droplet_ok(t->provider_id))
        return as_fail(err, AS_EXIT_BADINPUT, "node_no_provider_id",
                       "digitalocean: node %s has no droplet id", t->name);
    return change(lb, "POST", t->provider_id, true, err);
}

static int dolb_remove(struct lb *lb, const char *key, long long deadline, bool cut,
                       struct as_error *err)
{
    (void)deadline, (void)cut; /* DO removes at once and lets requests finish */
    return change(lb, "DELETE", key, false, err);
}

const struct lb_ops lb_digitalocean_ops = {
    .name = "digitalocean",
    .by_id = true,
    .member_checks = false,
    .open = dolb_open,
    .list = dolb_list,
    .get = dolb_get,
    .add = dolb_add,
    .enable = NULL,
    .drain = NULL,
    .remove = dolb_remove,
    .close = dolb_close,
    .poll_ms = 1000,
};
