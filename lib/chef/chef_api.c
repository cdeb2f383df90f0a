/* chef_api.c - the Chef Server API client (signed JSON requests over
 * http.c) and what the pack does with it: register a node the way `knife
 * bootstrap` does without a validator, and unregister it (see chef_int.h). */
#include "chef_int.h"

#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHEF_X_VERSION "18.0.0" /* X-Chef-Version: the client generation we speak */

struct chef_api {
    struct http_client *http;
    char *url;  /* no trailing slash */
    char *path; /* its path part, "" for none: what is signed */
    char *host; /* for messages */
    char *user;
    const struct chef_key *key;
    char errtext[320]; /* the last error reply, one line */
};

void chef_api_close(struct chef_api *a)
{
    if (!a)
        return;
    http_client_free(a->http);
    free(a->url);
    free(a->path);
    free(a->host);
    free(a->user);
    free(a);
}

struct chef_api *chef_api_open(const char *url, const char *user_id,
                               const struct chef_key *key, const char *ca_bundle,
                               struct as_error *err)
{
    struct http_options ho;
    http_options_default(&ho);
    ho.ca_bundle = ca_bundle && *ca_bundle ? ca_bundle : NULL;

    struct chef_api *a = xcalloc(1, sizeof *a);
    a->url = xstrdup(url);
    a->user = xstrdup(user_id);
    size_t n = strlen(a->url);
    while (n > 0 && a->url[n - 1] == '/')
        a->url[--n] = '\0';
    const char *rest = strstr(a->url, "://");
    rest = rest ? rest + 3 : a->url;
    const char *slash = strchr(rest, '/');
    a->path = xstrdup(slash ? slash : "");
    a->host = xstrndup(rest, slash ? (size_t)(slash - rest) : strlen(rest));
    a->key = key;
    if (!(a->http = http_client_new(&ho, err))) {
        chef_api_close(a);
        return NULL;
    }
    return a;
}

/* http.c's transport codes, renamed for this server. */
static void rename_transport_error(struct chef_api *a, struct as_error *err)
{
    if (as_error_is(err, "http_unreachable"))
        as_error_recode(err, "chef_unreachable");
    else if (as_error_is(err, "http_timeout"))
        as_error_recode(err, "chef_timeout");
    as_error_prefix(err, "Chef server %s", a->host);
}

int chef_api_call(struct chef_api *a, const char *method, const char *rel_path,
                  struct json_object *body, long *status, struct json_object **reply,
                  struct as_error *err)
{
    char *text = body ? jx_dump(body) : NULL;
    char *url = xasprintf("%s%s", a->url, rel_path);
    char *path = xasprintf("%s%s", a->path, rel_path);
    size_t len = text ? strlen(text) : 0;
    struct http_response resp = {0};
    int rc = -1;

    *reply = NULL;
    *status = 0;
    a->errtext[0] = '\0';
    /* Signed over exactly the bytes sent: the body is serialised once. */
    char **sig = chef_sign(a->key, a->user, method, path, text ? text : "", len, time(NULL), err);
    const char *headers[24];
    size_t n = 0;
    headers[n++] = "Accept: application/json";
    headers[n++] = "X-Chef-Version: " CHEF_X_VERSION;
    if (text)
        headers[n++] = "Content-Type: application/json";
    for (size_t i = 0; sig && sig[i] && n < 23; i++)
        headers[n++] = sig[i];
    headers[n] = NULL;

    struct http_request req = {.method = method, .url = url, .headers = headers,
                               .body = text, .body_len = len, .retry = -1};
    if (sig && http_do(a->http, &req, &resp, err) == 0) {
        rc = 0;
        *status = resp.status;
        if (resp.body_len > 0)
            *reply = jx_parse_record(resp.body); /* NULL unless a JSON object */
        if (resp.status < 200 || resp.status > 299) {
            char *t = http_error_text(&resp);
            snprintf(a->errtext, sizeof a->errtext, "%s", t ? t : "");
            free(t);
        }
        log_debug("chef: %s %s -> %ld", method, path, resp.status);
    } else if (sig) {
        rename_transport_error(a, err);
    }
    http_response_clear(&resp);
    chef_headers_free(sig);
    free(text);
    free(url);
    free(path);
    return rc;
}

/* An unexpected status as an error. */
static int status_error(struct chef_api *a, long status, const char *what,
                        struct as_error *err)
{
    if (status == 401)
        return as_fail(err, AS_EXIT_FAILURE, "chef_unauthorized",
                       "Chef server %s refused the signature of client '%s' while %s "
                       "(wrong key, unknown client or clock skew): %s",
                       a->host, a->user, what, a->errtext);
    if (status == 403)
        return as_fail(err, AS_EXIT_FAILURE, "chef_forbidden",
                       "Chef server %s: client '%s' may not do this (%s): %s", a->host,
                       a->user, what, a->errtext);
    return as_fail(err, AS_EXIT_FAILURE, "chef_server_error",
                   "Chef server %s answered HTTP %ld while %s: %s", a->host, status, what,
                   a->errtext);
}

/* DELETE that treats 404 as done; *deleted tells which. */
static int delete_object(struct chef_api *a, const char *kind, const char *name,
                         bool *deleted, struct as_error *err)
{
    char path[320], what[340];
    long status;
    struct json_object *reply;
    snprintf(path, sizeof path, "/%s/%s", kind, name);
    snprintf(what, sizeof what, "deleting %s", path + 1);
    if (chef_api_call(a, "DELETE", path, NULL, &status, &reply, err) < 0)
        return -1;
    json_object_put(reply);
    *deleted = status >= 200 && status <= 299;
    if (*deleted || status == 404)
        return 0;
    return status_error(a, status, what, err);
}

int chef_unregister_node(struct chef_api *admin, const char *node, bool *node_deleted,
                         bool *client_deleted, struct as_error *err)
{
    *node_deleted = *client_deleted = false;
    if (delete_object(admin, "nodes", node, node_deleted, err) < 0 ||
        delete_object(admin, "clients", node, client_deleted, err) < 0)
        return -1;
    return 0;
}

static int create_client(struct chef_api *admin, const char *node,
                         const struct chef_key *key, struct as_error *err)
{
    char *pub = chef_key_public_pem(key);
    if (!pub)
        return as_fail(err, AS_EXIT_FAILURE, "chef_error", "cannot export a public key");
    struct json_object *body = jx_new_object(), *reply;
    long status;
    jx_add_str(body, "name", node);
    jx_add_bool(body, "validator", false);
    jx_add_str(body, "public_key", pub);
    free(pub);
    int rc = chef_api_call(admin, "POST", "/clients", body, &status, &reply, err);
    json_object_put(body);
    json_object_put(reply);
    if (rc < 0)
        return -1;
    if (status == 409)
        return as_fail(err, AS_EXIT_FAILURE, "chef_conflict",
                       "client %s was created again on the Chef server while this bootstrap "
                       "ran: is another bootstrap of it running?",
                       node);
    return status == 201 || status == 200 ? 0 : status_error(admin, status, "creating the client", err);
}

static struct json_object *node_json(const char *node, struct json_object *run_list,
                                     const char *environment, struct json_object *attributes)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "name", node);
    jx_add_str(o, "chef_environment", environment && *environment ? environment : "_default");
    json_object_object_add(o, "run_list", json_object_get(run_list));
    jx_add_str(o, "json_class", "Chef::Node");
    jx_add_str(o, "chef_type", "node");
    json_object_object_add(o, "normal", attributes ? json_object_get(attributes)
                                                   : jx_new_object());
    json_object_object_add(o, "default", jx_new_object());
    json_object_object_add(o, "override", jx_new_object());
    json_object_object_add(o, "automatic", jx_new_object());
    return o;
}

/* Created by the node's own client, so that client owns it (the ACL a
 * chef-client run needs to save the node); a 409 from a racing creation
 * becomes an update. */
static int create_node(struct chef_api *as_node, const char *node, struct json_object *doc,
                       struct as_error *err)
{
    struct json_object *reply;
    long status;
    char path[320];
    if (chef_api_call(as_node, "POST", "/nodes", doc, &status, &reply, err) < 0)
        return -1;
    json_object_put(reply);
    if (status == 409) {
        snprintf(path, sizeof path, "/nodes/%s", node);
        if (chef_api_call(as_node, "PUT", path, doc, &status, &reply, err) < 0)
            return -1;
        json_object_put(reply);
    }
    return status >= 200 && status <= 299 ? 0
                                          : status_error(as_node, status, "creating the node", err);
}

int chef_register_node(struct chef_api *admin, const char *node,
                       struct json_object *run_list, const char *environment,
                       struct json_object *attributes, const char *ca_bundle,
                       struct chef_key **node_key, struct as_error *err)
{
    bool gone1, gone2;
    *node_key = NULL;
    /* Old objects of this name belong to a machine that is no more (or to
     * an earlier try of this bootstrap): start clean, as knife does. */
    if (chef_unregister_node(admin, node, &gone1, &gone2, err) < 0)
        return -1;
    struct chef_key *key = chef_key_generate(err);
    if (!key || create_client(admin, node, key, err) < 0) {
        chef_key_free(key);
        return -1;
    }
    struct chef_api *as_node = chef_api_open(admin->url, node, key, ca_bundle, err);
    struct json_object *doc = node_json(node, run_list, environment, attributes);
    int rc = as_node ? create_node(as_node, node, doc, err) : -1;
    json_object_put(doc);
    chef_api_close(as_node);
    if (rc < 0) {
        chef_key_free(key);
        return -1;
    }
    log_info("registered node %s and its client on Chef server %s", node, admin->host);
    *node_key = key;
    return 0;
}
