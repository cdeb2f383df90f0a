/* chef.c - see chef.h. Four parts: shell quoting and the script run on the
 * node; RSA keys and request signing (OpenSSL EVP); the Chef Server API
 * client; and the two actions' logic (checks, SSH, registration). */
#include "chef.h"

#include "asg.h"
#include "group.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "node.h"
#include "nodes.h"
#include "path.h"
#include "secret.h"
#include "settings.h"
#include "ssh.h"
#include "st2.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTRIBUTES_MAX (64 * 1024)
#define CHEF_X_VERSION "18.0.0" /* X-Chef-Version: the client generation we speak */
#define MESSAGE_TAIL 240        /* output bytes quoted in a chef_failed message */

/* ------------------------------------------------------------ strings -- */

struct sb {
    char *s;
    size_t len, cap;
    bool oom;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s) { sb_addn(b, s, strlen(s)); }

static void sb_addq(struct sb *b, const char *s)
{
    char *q = chef_shell_quote(s);
    if (!q) {
        b->oom = true;
        return;
    }
    sb_add(b, q);
    free(q);
}

static char *sb_take(struct sb *b)
{
    if (b->oom || !b->s) {
        if (b->s)
            explicit_bzero(b->s, b->cap);
        free(b->s);
        return NULL;
    }
    return b->s;
}

/* Secret text is wiped before its memory is released. */
static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Does s consist only of letters, digits and the characters in extra? */
static bool charset_ok(const char *s, const char *extra, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || strchr(extra, *c)))
            return false;
    return true;
}

/* --------------------------------------------------------- quoting -- */

char *chef_shell_quote(const char *s)
{
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *out = malloc(n), *w = out;
    if (!out)
        return NULL;
    *w++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') { /* close, an escaped quote, reopen */
            memcpy(w, "'\\''", 4);
            w += 4;
        } else {
            *w++ = *p;
        }
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

/* -------------------------------------------------------- run lists -- */

static int run_list_item(const char *s, size_t n, struct json_object *items,
                         struct as_error *err)
{
    char item[300], name[300];
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof item)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'run_list' has an empty or overlong item");
    memcpy(item, s, n);
    item[n] = '\0';

    const char *kind = "recipe";
    const char *inner = item;
    size_t len = n;
    if (strncmp(item, "recipe[", 7) == 0 || strncmp(item, "role[", 5) == 0) {
        kind = item[2] == 'c' ? "recipe" : "role";
        inner = strchr(item, '[') + 1;
        len = strlen(inner);
        if (len < 2 || inner[len - 1] != ']')
            len = 0;
        else
            len--;
    }
    if (len == 0 || len >= sizeof name)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'run_list' item '%.80s' is not recipe[...] or role[...]",
                       item);
    memcpy(name, inner, len);
    name[len] = '\0';
    if (!charset_ok(name, "_-.:@", 255))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'run_list' item '%.80s' has characters a Chef name "
                       "cannot have",
                       item);
    char full[320];
    snprintf(full, sizeof full, "%s[%s]", kind, name);
    json_object_array_add(items, json_object_new_string(full));
    return 0;
}

int chef_run_list_parse(const char *s, struct json_object **items, struct as_error *err)
{
    *items = json_object_new_array();
    if (!s || !*s)
        return 0;
    if (strlen(s) > 4096) {
        json_object_put(*items);
        *items = NULL;
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'run_list' is longer than 4096 bytes");
    }
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (run_list_item(p, n, *items, err) < 0) {
            json_object_put(*items);
            *items = NULL;
            return -1;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* "recipe[a],role[b]" for -o. */
static char *run_list_text(struct json_object *items)
{
    struct sb b = {0};
    sb_add(&b, "");
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        if (i)
            sb_add(&b, ",");
        sb_add(&b, json_object_get_string(json_object_array_get_idx(items, i)));
    }
    return sb_take(&b);
}

/* ------------------------------------------------------- the script -- */

/* The part every script starts with: strict, private, cleaned up. */
static void script_head(struct sb *b, const struct chef_run *r)
{
    sb_add(b, "# autoscale chef_bootstrap: generated, runs once\n"
              "set -u\n"
              "umask 077\n"
              "attrs=$(mktemp) || exit 125\n"
              "trap 'rm -f \"$attrs\"' EXIT\n"
              "trap 'exit 143' HUP INT TERM\n");
    sb_add(b, r->sudo ? "as_root() { sudo -n \"$@\"; }\n" : "as_root() { \"$@\"; }\n");
    sb_add(b, "printf '%s\\n' ");
    sb_addq(b, r->attributes ? r->attributes : "{}");
    sb_add(b, " >\"$attrs\"\n");
}

/* Install the client only when its program is missing. */
static void script_install(struct sb *b, const struct chef_run *r)
{
    sb_add(b, "if ! command -v ");
    sb_addq(b, r->program);
    sb_add(b, " >/dev/null 2>&1; then\n"
              "  printf 'autoscale: %s not found: installing the Chef client\\n' ");
    sb_addq(b, r->program);
    sb_add(b, "\n  as_root sh -c ");
    sb_addq(b, r->install_command);
    sb_add(b, " || { st=$?; echo \"autoscale: installing the Chef client failed "
              "(status $st)\"; exit $st; }\n"
              "  if ! command -v ");
    sb_addq(b, r->program);
    sb_add(b, " >/dev/null 2>&1; then\n"
              "    echo 'autoscale: the Chef client is still missing after the install'\n"
              "    exit 127\n"
              "  fi\n"
              "fi\n");
}

/* Write a private file as root: the text goes through a pipe from the
 * printf builtin, never through an argument list. */
static void script_write_file(struct sb *b, const char *text, const char *name)
{
    sb_add(b, "printf '%s\\n' ");
    sb_addq(b, text);
    sb_add(b, " | as_root sh -c 'umask 077; cat >\"$1\"' sh \"$cfg\"/");
    sb_add(b, name);
    sb_add(b, " || exit 125\n");
}

/* client.rb: Ruby single-quoted strings; the values were checked to hold
 * neither quotes nor backslashes. */
static void script_client_config(struct sb *b, const struct chef_run *r)
{
    struct sb rb = {0};
    sb_add(&rb, "# written by autoscale chef_bootstrap\nchef_server_url '");
    sb_add(&rb, r->server_url);
    sb_add(&rb, "'\nnode_name '");
    sb_add(&rb, r->node_name);
    sb_add(&rb, "'\nclient_key '");
    sb_add(&rb, r->config_dir);
    sb_add(&rb, "/client.pem'");
    if (r->environment && strcmp(r->environment, "_default") != 0) {
        sb_add(&rb, "\nenvironment '");
        sb_add(&rb, r->environment);
        sb_add(&rb, "'");
    }
    char *text = sb_take(&rb);

    sb_add(b, "cfg=");
    sb_addq(b, r->config_dir);
    sb_add(b, "\nas_root mkdir -p \"$cfg\" || exit 125\n");
    script_write_file(b, r->client_key ? r->client_key : "", "client.pem");
    script_write_file(b, text ? text : "", "client.rb");
    free(text);
}

static void script_run(struct sb *b, const struct chef_run *r)
{
    sb_add(b, "as_root env ");
    if (r->license && *r->license) {
        sb_add(b, "CHEF_LICENSE=");
        sb_addq(b, r->license);
        sb_add(b, " ");
    }
    sb_addq(b, r->program);
    if (r->client) {
        sb_add(b, " -c \"$cfg\"/client.rb -j \"$attrs\"");
    } else {
        sb_add(b, " -j \"$attrs\" -N ");
        sb_addq(b, r->node_name);
        if (r->run_list && json_object_array_length(r->run_list) > 0) {
            char *rl = run_list_text(r->run_list);
            sb_add(b, " -o ");
            sb_addq(b, rl ? rl : "");
            free(rl);
        }
        if (r->cookbooks_url && *r->cookbooks_url) {
            sb_add(b, " --recipe-url ");
            sb_addq(b, r->cookbooks_url);
        }
    }
    if (r->environment && *r->environment && strcmp(r->environment, "_default") != 0) {
        sb_add(b, " -E ");
        sb_addq(b, r->environment);
    }
    sb_add(b, "\n");
}

char *chef_script(const struct chef_run *r)
{
    struct sb b = {0};
    script_head(&b, r);
    script_install(&b, r);
    if (r->client)
        script_client_config(&b, r);
    script_run(&b, r);
    return sb_take(&b);
}

/* ------------------------------------------------------------- keys -- */

struct chef_key {
    EVP_PKEY *pkey;
};

/* Never prompt on a terminal for a passphrase: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static struct chef_key *key_from_bio(BIO *bio, const char *what, struct as_error *err)
{
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    if (!pkey || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pkey);
        as_fail(err, AS_EXIT_BADINPUT, "invalid_private_key",
                "%s is not an unencrypted RSA private key in PEM form", what);
        return NULL;
    }
    struct chef_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
        return NULL;
    }
    k->pkey = pkey;
    return k;
}

struct chef_key *chef_key_load(const char *pem, const char *what, struct as_error *err)
{
    /* A key pasted into a one-line config value arrives with literal "\n". */
    char *text = strdup(pem ? pem : "");
    if (text && !strchr(text, '\n')) {
        char *w = text;
        for (const char *r = text; *r; r++) {
            if (r[0] == '\\' && r[1] == 'n')
                *w++ = '\n', r++;
            else
                *w++ = *r;
        }
        *w = '\0';
    }
    BIO *bio = text ? BIO_new_mem_buf(text, -1) : NULL;
    struct chef_key *k = key_from_bio(bio, what, err);
    BIO_free(bio);
    free_secret(text);
    return k;
}

struct chef_key *chef_key_load_file(const char *path, struct as_error *err)
{
    BIO *bio = BIO_new_file(path, "r");
    if (!bio) {
        as_fail(err, AS_EXIT_BADINPUT, "invalid_private_key",
                "cannot read the key file %s", path);
        return NULL;
    }
    struct chef_key *k = key_from_bio(bio, path, err);
    BIO_free(bio);
    return k;
}

struct chef_key *chef_key_generate(struct as_error *err)
{
    struct chef_key *k = calloc(1, sizeof *k);
    /* The EVP_PKEY_CTX calls, not OpenSSL 3's one-call EVP_RSA_gen(): they
     * exist from OpenSSL 1.1 (Ubuntu 20.04, EL8) on and are not deprecated
     * in 3, so every build runs and tests this one path. */
    EVP_PKEY_CTX *ctx = k ? EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL) : NULL;
    if (ctx && (EVP_PKEY_keygen_init(ctx) <= 0 ||
                EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) <= 0 ||
                EVP_PKEY_keygen(ctx, &k->pkey) <= 0)) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    if (!k || !k->pkey) {
        free(k);
        as_fail(err, AS_EXIT_FAILURE, "chef_error", "cannot generate an RSA key");
        return NULL;
    }
    return k;
}

static char *bio_text(BIO *bio, int ok)
{
    char *data = NULL, *out = NULL;
    long n = ok ? BIO_get_mem_data(bio, &data) : 0;
    if (n > 0 && (out = malloc((size_t)n + 1))) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(bio); /* a memory BIO is cleared when freed */
    return out;
}

char *chef_key_private_pem(const struct chef_key *k)
{
    /* Traditional "RSA PRIVATE KEY": every Chef client reads it. */
    BIO *bio = BIO_new(BIO_s_mem());
    return bio ? bio_text(bio, PEM_write_bio_PrivateKey_traditional(bio, k->pkey, NULL, NULL,
                                                                    0, NULL, NULL))
               : NULL;
}

char *chef_key_public_pem(const struct chef_key *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    return bio ? bio_text(bio, PEM_write_bio_PUBKEY(bio, k->pkey)) : NULL;
}

void chef_key_free(struct chef_key *k)
{
    if (k) {
        EVP_PKEY_free(k->pkey);
        free(k);
    }
}

/* ---------------------------------------------------------- signing -- */

static char *base64(const unsigned char *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

static char *sha256_base64(const char *data, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL))
        return NULL;
    return base64(md, mdlen);
}

/* mixlib's canonical path: repeated slashes squeezed, no trailing slash
 * (unless the path is "/"). */
static char *canonical_path(const char *path)
{
    char *out = malloc(strlen(path) + 2), *w = out;
    if (!out)
        return NULL;
    for (const char *p = path; *p; p++)
        if (!(*p == '/' && w > out && w[-1] == '/'))
            *w++ = *p;
    if (w == out)
        *w++ = '/';
    if (w - out > 1 && w[-1] == '/')
        w--;
    *w = '\0';
    return out;
}

char *chef_canonical_request(const char *method, const char *path, const char *body,
                             size_t body_len, const char *timestamp, const char *user_id)
{
    char *hash = sha256_base64(body ? body : "", body ? body_len : 0);
    char *cpath = canonical_path(path);
    char *out = NULL;
    if (hash && cpath &&
        asprintf(&out,
                 "Method:%s\nPath:%s\nX-Ops-Content-Hash:%s\nX-Ops-Sign:version=1.3\n"
                 "X-Ops-Timestamp:%s\nX-Ops-UserId:%s\nX-Ops-Server-API-Version:1",
                 method, cpath, hash, timestamp, user_id) < 0)
        out = NULL;
    free(hash);
    free(cpath);
    return out;
}

static char *rsa_sha256_base64(const struct chef_key *k, const char *data)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    char *out = NULL;
    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, strlen(data)) == 1 &&
        (sig = malloc(siglen)) &&
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, strlen(data)) == 1)
        out = base64(sig, siglen);
    free(sig);
    EVP_MD_CTX_free(ctx);
    return out;
}

void chef_headers_free(char **headers)
{
    for (size_t i = 0; headers && headers[i]; i++)
        free(headers[i]);
    free(headers);
}

char **chef_sign(const struct chef_key *k, const char *user_id, const char *method,
                 const char *path, const char *body, size_t body_len, time_t when,
                 struct as_error *err)
{
    char ts[32];
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);

    char *canon = chef_canonical_request(method, path, body, body_len, ts, user_id);
    char *sig = canon ? rsa_sha256_base64(k, canon) : NULL;
    char *hash = sha256_base64(body ? body : "", body ? body_len : 0);
    size_t lines = sig ? (strlen(sig) + 59) / 60 : 0, n = 0;
    char **h = sig && hash ? calloc(6 + lines + 1, sizeof *h) : NULL;
    bool ok = h != NULL;

    if (ok) {
        ok = asprintf(&h[n++], "X-Ops-Sign: algorithm=sha256;version=1.3") > 0 &&
             asprintf(&h[n++], "X-Ops-Userid: %s", user_id) > 0 &&
             asprintf(&h[n++], "X-Ops-Timestamp: %s", ts) > 0 &&
             asprintf(&h[n++], "X-Ops-Content-Hash: %s", hash) > 0 &&
             asprintf(&h[n++], "X-Ops-Server-API-Version: 1") > 0;
        for (size_t i = 0; ok && i < lines; i++)
            ok = asprintf(&h[n++], "X-Ops-Authorization-%zu: %.60s", i + 1, sig + 60 * i) > 0;
    }
    free(canon);
    free(sig);
    free(hash);
    if (!ok) {
        if (h)
            h[n > 0 ? n - 1 : 0] = NULL; /* a failed asprintf leaves it undefined */
        chef_headers_free(h);
        as_fail(err, AS_EXIT_FAILURE, "chef_error", "cannot sign the Chef API request");
        return NULL;
    }
    return h;
}

/* ------------------------------------------------------------ the API -- */

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

    struct chef_api *a = calloc(1, sizeof *a);
    if (!a || !(a->url = strdup(url)) || !(a->user = strdup(user_id))) {
        chef_api_close(a);
        as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
        return NULL;
    }
    size_t n = strlen(a->url);
    while (n > 0 && a->url[n - 1] == '/')
        a->url[--n] = '\0';
    const char *rest = strstr(a->url, "://");
    rest = rest ? rest + 3 : a->url;
    const char *slash = strchr(rest, '/');
    a->path = strdup(slash ? slash : "");
    a->host = strndup(rest, slash ? (size_t)(slash - rest) : strlen(rest));
    a->key = key;
    if (!a->path || !a->host || !(a->http = http_client_new(&ho, err))) {
        if (!a->path || !a->host)
            as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
        chef_api_close(a);
        return NULL;
    }
    return a;
}

/* http.c's transport codes, renamed for this server. */
static void rename_transport_error(struct chef_api *a, struct as_error *err)
{
    if (strcmp(err->code, "http_unreachable") == 0)
        snprintf(err->code, sizeof err->code, "chef_unreachable");
    else if (strcmp(err->code, "http_timeout") == 0)
        snprintf(err->code, sizeof err->code, "chef_timeout");
    as_error_prefix(err, "Chef server %s", a->host);
}

int chef_api_call(struct chef_api *a, const char *method, const char *rel_path,
                  struct json_object *body, long *status, struct json_object **reply,
                  struct as_error *err)
{
    char *text = body ? jx_dump(body) : NULL, *url = NULL, *path = NULL;
    size_t len = text ? strlen(text) : 0;
    struct http_response resp = {0};
    int rc = -1;

    *reply = NULL;
    *status = 0;
    a->errtext[0] = '\0';
    if ((body && !text) || asprintf(&url, "%s%s", a->url, rel_path) < 0 ||
        asprintf(&path, "%s%s", a->path, rel_path) < 0) {
        free(text);
        free(url);
        return as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
    }
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
    http_response_free(&resp);
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
    struct json_object *body = json_object_new_object(), *reply;
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
    struct json_object *o = json_object_new_object();
    jx_add_str(o, "name", node);
    jx_add_str(o, "chef_environment", environment && *environment ? environment : "_default");
    json_object_object_add(o, "run_list", json_object_get(run_list));
    jx_add_str(o, "json_class", "Chef::Node");
    jx_add_str(o, "chef_type", "node");
    json_object_object_add(o, "normal", attributes ? json_object_get(attributes)
                                                   : json_object_new_object());
    json_object_object_add(o, "default", json_object_new_object());
    json_object_object_add(o, "override", json_object_new_object());
    json_object_object_add(o, "automatic", json_object_new_object());
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

/* ------------------------------------------------------------ checks -- */

static int bad(struct as_error *err, const char *name, const char *what)
{
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter", "parameter '%s' must be %s",
                   name, what);
}

static bool is_set(const char *s) { return s && *s; }

/* http(s)://... without whitespace, quotes or backslashes (it also goes
 * into client.rb as a Ruby string). */
static bool url_ok(const char *s)
{
    if (!s || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) ||
        strlen(s) > 2048 || strlen(s) < 9)
        return false;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("'\"\\`<>{}|^", *c) ||
            (unsigned char)*c >= 0x80)
            return false;
    return true;
}

static int check_ssh_inputs(const struct chef_bootstrap_opts *o, struct as_error *err)
{
    enum sshc_policy pol;
    if (!charset_ok(o->ssh_user, "_.-", 32) || o->ssh_user[0] == '-')
        return bad(err, "ssh_user", "a user name ([A-Za-z0-9_.-], at most 32)");
    if (o->ssh_port < 1 || o->ssh_port > 65535)
        return bad(err, "ssh_port", "a port between 1 and 65535");
    if (sshc_policy_parse(o->ssh_host_key_policy, &pol, err) < 0)
        return -1;
    if (pol == SSHC_STRICT && sshc_fingerprint_check(o->ssh_host_fingerprint, err) < 0)
        return -1;
    if (!is_set(o->ssh_private_key) && !is_set(o->ssh_private_key_file))
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "give 'ssh_private_key' (the key text) or 'ssh_private_key_file'");
    return 0;
}

/* Every path a bootstrap may read or write (docs/actions.md, "Paths"),
 * checked first, whether or not the group needs configuring: bad input is
 * refused whatever else the action would decide. */
static int check_path_inputs(const struct chef_bootstrap_opts *o, struct as_error *err)
{
    static const struct {
        const char *name;
        size_t off;
    } paths[] = {
        {"ssh_private_key_file", offsetof(struct chef_bootstrap_opts, ssh_private_key_file)},
        {"chef_client_key_file", offsetof(struct chef_bootstrap_opts, chef_client_key_file)},
        {"chef_ca_bundle", offsetof(struct chef_bootstrap_opts, chef_ca_bundle)},
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        const char *v = *(const char *const *)((const char *)o + paths[i].off);
        if (is_set(v) && as_path_check(v, paths[i].name, err) < 0)
            return -1;
    }
    if (is_set(o->ssh_known_hosts_file) &&
        sshc_known_hosts_check(o->ssh_known_hosts_file, err) < 0)
        return -1;
    return 0;
}

static int check_server_inputs(const char *url, const char *client, const char *key,
                               const char *key_file, const char *ca_bundle,
                               struct as_error *err)
{
    if (is_set(key_file) && as_path_check(key_file, "chef_client_key_file", err) < 0)
        return -1;
    if (is_set(ca_bundle) && as_path_check(ca_bundle, "chef_ca_bundle", err) < 0)
        return -1;
    if (!url_ok(url) || strchr(url, '?') || strchr(url, '#'))
        return bad(err, "chef_server_url",
                   "an http(s) URL such as https://chef.example.com/organizations/acme");
    if (!is_set(client))
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "a Chef server needs 'chef_client_name'");
    if (!charset_ok(client, "_.-", 255))
        return bad(err, "chef_client_name", "a Chef client name ([A-Za-z0-9_.-])");
    if (!is_set(key) && !is_set(key_file))
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "a Chef server needs 'chef_client_key' or 'chef_client_key_file'");
    return 0;
}

static int check_chef_inputs(const struct chef_bootstrap_opts *o, bool client,
                             struct as_error *err)
{
    if (o->deadline < 1 || o->deadline > 86400)
        return bad(err, "deadline", "between 1 and 86400 seconds");
    if (!charset_ok(o->chef_solo_command, "_./+-", 255))
        return bad(err, "chef_solo_command", "a command name or path ([A-Za-z0-9_./+-])");
    if (!charset_ok(o->chef_client_command, "_./+-", 255))
        return bad(err, "chef_client_command", "a command name or path ([A-Za-z0-9_./+-])");
    if (!is_set(o->chef_install_command) || strlen(o->chef_install_command) > 4096)
        return bad(err, "chef_install_command", "a shell command of at most 4096 bytes");
    if (is_set(o->chef_license) && !charset_ok(o->chef_license, "-", 64))
        return bad(err, "chef_license", "a CHEF_LICENSE value such as accept-silent");
    if (!client)
        return 0;
    if (!charset_ok(o->chef_config_dir, "_./-", 1024) || o->chef_config_dir[0] != '/')
        return bad(err, "chef_config_dir", "an absolute path ([A-Za-z0-9_./-])");
    return check_server_inputs(o->chef_server_url, o->chef_client_name, o->chef_client_key,
                               o->chef_client_key_file, o->chef_ca_bundle, err);
}

/* -------------------------------------------------------- bootstrap -- */

/* What one bootstrap resolved from its parameters, the group and the node. */
struct plan {
    struct group g;
    bool have_group;
    bool client;
    struct json_object *run_list;   /* items */
    struct json_object *attributes; /* object */
    char *attributes_text;
    const char *cookbooks_url, *environment;
    char address[64];
    char *known_hosts;
    struct chef_key *admin_key, *node_key;
    char *node_key_pem;
    char *keys[3]; /* SSH key, Chef client key, node key: scrubbed from output */
};

static void plan_free(struct plan *p)
{
    if (p->have_group)
        group_free(&p->g);
    json_object_put(p->run_list);
    json_object_put(p->attributes);
    free_secret(p->attributes_text);
    free(p->known_hosts);
    chef_key_free(p->admin_key);
    chef_key_free(p->node_key);
    free_secret(p->node_key_pem);
    free_secret(p->keys[0]);
    free_secret(p->keys[1]);
}

/* Attributes: the parameter's object, then the group's settings.chef
 * attributes on top, key by key. */
static int resolve_attributes(struct plan *p, const char *param, struct json_object *chef,
                              struct as_error *err)
{
    if (is_set(param)) {
        if (strlen(param) > ATTRIBUTES_MAX)
            return bad(err, "attributes", "a JSON object of at most 64 KiB");
        struct as_error jerr;
        p->attributes = jx_parse(param, strlen(param), "attributes", "invalid_parameter",
                                 AS_EXIT_BADINPUT, &jerr);
        if (!p->attributes || !json_object_is_type(p->attributes, json_type_object))
            return bad(err, "attributes", "a JSON object (such as {\"nginx\": {\"port\": 80}})");
    } else {
        p->attributes = json_object_new_object();
    }
    struct json_object *own = jx_obj(chef, "attributes");
    if (own) {
        json_object_object_foreach(own, k, v)
            json_object_object_add(p->attributes, k, json_object_get(v));
    }
    p->attributes_text = jx_dump(p->attributes);
    if (!p->attributes_text || strlen(p->attributes_text) > ATTRIBUTES_MAX)
        return bad(err, "attributes", "a JSON object of at most 64 KiB");
    return 0;
}

/* The group's settings.chef overrides the pack-wide parameters, as a
 * group's settings.<provider> does for compute, as far as lib/settings.c
 * lets a group (a cookbook URL only if the operator listed it). */
static int resolve_from_group(struct plan *p, const struct chef_bootstrap_opts *o,
                              struct as_error *err)
{
    if (settings_check_area(p->g.settings, "chef", o->group_endpoints_allowed, err) < 0) {
        as_error_prefix(err, "group %s", p->g.name);
        return -1;
    }
    struct json_object *chef = jx_obj(p->g.settings, "chef");
    p->cookbooks_url = jx_str(chef, "cookbooks_url", o->cookbooks_url);
    p->environment = jx_str(chef, "chef_environment", o->chef_environment);
    if (is_set(p->cookbooks_url) && !url_ok(p->cookbooks_url))
        return bad(err, "cookbooks_url", "an http(s) URL of a cookbook archive (.tar.gz)");
    if (is_set(p->environment) && !charset_ok(p->environment, "_-", 255))
        return bad(err, "chef_environment", "a Chef environment name ([A-Za-z0-9_-])");
    const char *rl = is_set(o->run_list) ? o->run_list : p->g.run_list;
    if (chef_run_list_parse(rl, &p->run_list, err) < 0)
        return -1;
    return resolve_attributes(p, o->attributes, chef, err);
}

/* The node must exist, be building or active, and have an IPv4 address. */
static int resolve_node(struct plan *p, struct ds *ds, const char *group, const char *node,
                        struct as_error *err)
{
    struct json_object *rec;
    int rc = node_record_load(ds, group, node, &rec, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_node",
                       "group %s has no node %s", group, node);
    enum node_state st = node_record_state(rec);
    const char *addr = jx_str(rec, "address", NULL);
    struct in_addr ia;
    if (st != NODE_ACTIVE && st != NODE_BUILDING) {
        json_object_put(rec);
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_node_state",
                       "node %s is %s: only building or active nodes are configured", node,
                       node_state_name(st));
    }
    if (!addr || inet_pton(AF_INET, addr, &ia) != 1) {
        json_object_put(rec);
        return as_fail(err, AS_EXIT_FAILURE, "node_no_address",
                       "node %s has no IPv4 address yet", node);
    }
    snprintf(p->address, sizeof p->address, "%s", addr);
    json_object_put(rec);
    return 0;
}

static struct chef_key *load_admin_key(const char *pem, const char *file, struct as_error *err)
{
    return is_set(pem) ? chef_key_load(pem, "parameter 'chef_client_key'", err)
                       : chef_key_load_file(file, err);
}

/* Remove every occurrence of s[0..n) from text, in place. */
static void scrub_span(char *text, const char *s, size_t n)
{
    char *hit;
    while ((hit = memmem(text, strlen(text), s, n))) {
        memcpy(hit, "***", 3);
        memmove(hit + 3, hit + n, strlen(hit + n) + 1);
    }
}

/* Remove every line of a PEM key's body from text (a node's output: a
 * careless recipe may print a key file). The secret registry masks whole
 * values, but a key arrives line by line, and its lines would outnumber
 * the registry's slots. Lines are separated by newlines or, in a key pasted
 * into a one-line value, by literal "\n". */
static void scrub_pem_lines(char *text, const char *pem)
{
    for (const char *p = pem; text && p && *p;) {
        const char *end = p;
        while (*end && *end != '\n' && !(end[0] == '\\' && end[1] == 'n'))
            end++;
        size_t n = (size_t)(end - p);
        if (n >= 16 && strncmp(p, "-----", 5) != 0)
            scrub_span(text, p, n);
        p = *end == '\n' ? end + 1 : *end ? end + 2 : end;
    }
}

/* A key file's text, for scrubbing only (NULL if unreadable). */
static char *read_small_file(const char *path)
{
    FILE *f = is_set(path) ? fopen(path, "r") : NULL;
    if (!f)
        return NULL;
    char *buf = calloc(1, 65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* Every private key this bootstrap knows, so none can leave in output. */
static void scrub_keys(const struct plan *p, char *text)
{
    for (size_t i = 0; i < sizeof p->keys / sizeof p->keys[0]; i++)
        scrub_pem_lines(text, p->keys[i]);
}

static void plan_keys(struct plan *p, const struct chef_bootstrap_opts *o)
{
    p->keys[0] = is_set(o->ssh_private_key) ? strdup(o->ssh_private_key)
                                             : read_small_file(o->ssh_private_key_file);
    p->keys[1] = is_set(o->chef_client_key) ? strdup(o->chef_client_key)
                                             : read_small_file(o->chef_client_key_file);
}

static int plan_bootstrap(struct plan *p, struct ds *ds, const struct chef_bootstrap_opts *o,
                          struct as_error *err)
{
    if (group_check_name(o->group, err) < 0 || node_check_name(o->node, err) < 0 ||
        check_ssh_inputs(o, err) < 0)
        return -1;
    if (!is_set(o->chef_mode) ||
        (strcmp(o->chef_mode, "solo") != 0 && strcmp(o->chef_mode, "client") != 0))
        return bad(err, "chef_mode", "solo or client");
    p->client = strcmp(o->chef_mode, "client") == 0;
    if (check_chef_inputs(o, p->client, err) < 0)
        return -1;
    p->known_hosts = is_set(o->ssh_known_hosts_file) ? strdup(o->ssh_known_hosts_file)
                                                      : sshc_default_known_hosts();
    if (!p->known_hosts)
        return as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
    if (asg_load_spec(ds, o->group, &p->g, err) < 0)
        return -1;
    p->have_group = true;
    if (resolve_from_group(p, o, err) < 0 || resolve_node(p, ds, o->group, o->node, err) < 0)
        return -1;
    plan_keys(p, o);
    if (p->client && !(p->admin_key = load_admin_key(o->chef_client_key,
                                                     o->chef_client_key_file, err)))
        return -1;
    return 0;
}

static struct sshc *connect_node(const struct plan *p, const struct chef_bootstrap_opts *o,
                                 long long deadline_ms, struct as_error *err)
{
    struct sshc_opts so = {
        .host = p->address, .port = (int)o->ssh_port, .user = o->ssh_user,
        .key_pem = is_set(o->ssh_private_key) ? o->ssh_private_key : NULL,
        .key_file = o->ssh_private_key_file, .known_hosts = p->known_hosts,
        .fingerprint = o->ssh_host_fingerprint, .deadline_ms = deadline_ms,
    };
    sshc_policy_parse(o->ssh_host_key_policy, &so.policy, err);
    struct sshc *c = sshc_connect(&so, err);
    if (!c)
        as_error_prefix(err, "node %s (%s)", o->node, p->address);
    return c;
}

/* Server side of client mode: fresh client and node, the key for the node. */
static int register_on_server(struct plan *p, const struct chef_bootstrap_opts *o,
                              struct as_error *err)
{
    struct chef_api *admin = chef_api_open(o->chef_server_url, o->chef_client_name,
                                           p->admin_key, o->chef_ca_bundle, err);
    int rc = admin ? chef_register_node(admin, o->node, p->run_list, p->environment,
                                        p->attributes, o->chef_ca_bundle, &p->node_key, err)
                   : -1;
    chef_api_close(admin);
    if (rc == 0 && !(p->node_key_pem = chef_key_private_pem(p->node_key)))
        rc = as_fail(err, AS_EXIT_FAILURE, "chef_error", "cannot export the node's key");
    if (rc == 0)
        secret_register(p->node_key_pem);
    p->keys[2] = p->node_key_pem;
    return rc;
}

/* "Chef Infra Client finished, 3/25 resources updated" (also chef-solo's
 * and older "Chef Client finished" lines): the last one in the output, or
 * -1 when there is none. */
static long long resources_updated(const char *out)
{
    const char *hit = NULL;
    for (const char *p = out; (p = strstr(p, " resources updated")); p++)
        hit = p;
    if (!hit)
        return -1;
    const char *q = hit;
    while (q > out && q[-1] >= '0' && q[-1] <= '9')
        q--;
    if (q == hit || q == out || q[-1] != '/')
        return -1;
    const char *slash = --q;
    while (q > out && q[-1] >= '0' && q[-1] <= '9')
        q--;
    return q == slash ? -1 : strtoll(q, NULL, 10);
}

/* The end of the output as one bounded line for an error message. */
static char *message_tail(const char *tail)
{
    char *t = sshc_utf8_tail(tail, strlen(tail), MESSAGE_TAIL);
    for (char *c = t; c && *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    return t;
}

static struct json_object *bootstrap_result(const struct plan *p,
                                            const struct chef_bootstrap_opts *o,
                                            struct sshc *c, const struct sshc_result *r)
{
    struct json_object *out = json_object_new_object();
    long long updated = resources_updated(r->tail);
    jx_add_str(out, "node", o->node);
    jx_add_str(out, "group", o->group);
    jx_add_str(out, "address", p->address);
    jx_add_str(out, "mode", p->client ? "client" : "solo");
    json_object_object_add(out, "run_list", json_object_get(p->run_list));
    jx_add_int(out, "exit_status", r->exit_status);
    jx_add_str(out, "output_tail", r->tail);
    jx_add_int(out, "output_bytes", r->output_bytes);
    jx_add_str(out, "host_key_fingerprint", sshc_host_fingerprint(c));
    jx_add_bool(out, "host_key_recorded", sshc_host_key_recorded(c));
    jx_add_bool(out, "registered", p->client);
    if (updated >= 0)
        jx_add_int(out, "resources_updated", updated);
    else
        json_object_object_add(out, "resources_updated", NULL);
    /* Unknown counts as changed: a run we cannot read may have done anything. */
    jx_add_bool(out, "changed", p->client || updated != 0);
    return out;
}

static int run_chef(struct plan *p, const struct chef_bootstrap_opts *o, struct sshc *c,
                    struct json_object **out, struct as_error *err)
{
    struct chef_run run = {
        .client = p->client, .sudo = o->ssh_sudo,
        .program = p->client ? o->chef_client_command : o->chef_solo_command,
        .install_command = o->chef_install_command, .license = o->chef_license,
        .run_list = p->run_list, .attributes = p->attributes_text,
        .environment = p->environment, .node_name = o->node,
        .cookbooks_url = p->cookbooks_url, .server_url = o->chef_server_url,
        .client_key = p->node_key_pem, .config_dir = o->chef_config_dir,
    };
    char *script = chef_script(&run);
    if (!script)
        return as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
    struct sshc_result r;
    log_info("running %s on node %s (%s)", run.program, o->node, p->address);
    int rc = sshc_run_script(c, script, &r, err);
    free_secret(script);
    scrub_keys(p, r.tail);
    char *last = message_tail(r.tail ? r.tail : "");
    if (rc < 0) {
        as_error_prefix(err, "node %s", o->node);
        if (last && *last) {
            struct as_error first = *err;
            as_fail(err, first.exit, first.code, "%s; last output: %s", first.message, last);
        }
    } else if (r.exit_status < 0) {
        rc = as_fail(err, AS_EXIT_FAILURE, "chef_failed",
                     "%s on node %s ended without an exit status (killed by a signal?); "
                     "last output: %s",
                     run.program, o->node, last ? last : "");
    } else if (r.exit_status != 0) {
        rc = as_fail(err, AS_EXIT_FAILURE, "chef_failed",
                     "%s on node %s exited with status %d; last output: %s", run.program,
                     o->node, r.exit_status, last ? last : "");
    } else {
        *out = bootstrap_result(p, o, c, &r);
    }
    free(last);
    sshc_result_free(&r);
    return rc;
}

/* chef-solo with an empty run list would converge nothing, so a group
 * that names no run list is not configured at all: its nodes come up
 * without SSH, and the pack works for people who do not use Chef. 1 when
 * that is the case (*out says so), 0 to go on, -1 on error. */
static int nothing_to_configure(struct ds *ds, const struct chef_bootstrap_opts *o,
                                struct json_object **out, struct as_error *err)
{
    struct group g;
    if (group_check_name(o->group, err) < 0 || node_check_name(o->node, err) < 0 ||
        check_path_inputs(o, err) < 0)
        return -1;
    if (is_set(o->run_list) || (is_set(o->chef_mode) && strcmp(o->chef_mode, "solo") != 0))
        return 0;
    if (asg_load_spec(ds, o->group, &g, err) < 0)
        return -1;
    bool none = !is_set(g.run_list);
    group_free(&g);
    if (!none)
        return 0;
    log_info("group %s has no run list: node %s needs no configuration", o->group, o->node);
    *out = json_object_new_object();
    jx_add_str(*out, "node", o->node);
    jx_add_str(*out, "group", o->group);
    jx_add_str(*out, "skipped", "no_run_list");
    jx_add_bool(*out, "changed", false);
    return 1;
}

int chef_bootstrap(struct ds *ds, const struct chef_bootstrap_opts *o,
                   struct json_object **out, struct as_error *err)
{
    int skip = nothing_to_configure(ds, o, out, err);
    if (skip != 0)
        return skip < 0 ? -1 : 0;
    struct plan p;
    memset(&p, 0, sizeof p);
    long long deadline_ms = sshc_now_ms() + o->deadline * 1000;
    int rc = plan_bootstrap(&p, ds, o, err);
    struct sshc *c = rc == 0 ? connect_node(&p, o, deadline_ms, err) : NULL;
    if (rc == 0 && !c)
        rc = -1;
    /* Only once the node answered: a node we cannot reach gets nothing
     * registered in its name. */
    if (rc == 0 && p.client)
        rc = register_on_server(&p, o, err);
    if (rc == 0)
        rc = run_chef(&p, o, c, out, err);
    sshc_close(c);
    plan_free(&p);
    return rc;
}

/* ---------------------------------------------------------- cleanup -- */

/* The node's host key: its address may come back with another machine. */
static int forget_host_key(struct ds *ds, const struct chef_cleanup_opts *o, bool *forgot,
                           struct as_error *err)
{
    struct json_object *rec;
    *forgot = false;
    int rc = node_record_load(ds, o->group, o->node, &rec, err);
    if (rc <= 0)
        return rc;
    const char *addr = jx_str(rec, "address", NULL);
    char *kh = is_set(o->ssh_known_hosts_file) ? strdup(o->ssh_known_hosts_file)
                                               : sshc_default_known_hosts();
    int n = addr && kh ? sshc_forget_host(kh, addr, (int)o->ssh_port, err) : 0;
    *forgot = n > 0;
    free(kh);
    json_object_put(rec);
    return n < 0 ? -1 : 0;
}

static int cleanup_server(const struct chef_cleanup_opts *o, struct json_object *out,
                          struct as_error *err)
{
    bool node_gone = false, client_gone = false;
    if (check_server_inputs(o->chef_server_url, o->chef_client_name, o->chef_client_key,
                            o->chef_client_key_file, o->chef_ca_bundle, err) < 0)
        return -1;
    struct chef_key *key = load_admin_key(o->chef_client_key, o->chef_client_key_file, err);
    struct chef_api *a = key ? chef_api_open(o->chef_server_url, o->chef_client_name, key,
                                             o->chef_ca_bundle, err)
                             : NULL;
    int rc = a ? chef_unregister_node(a, o->node, &node_gone, &client_gone, err) : -1;
    chef_api_close(a);
    chef_key_free(key);
    jx_add_bool(out, "node_deleted", node_gone);
    jx_add_bool(out, "client_deleted", client_gone);
    return rc;
}

int chef_cleanup(struct ds *ds, const struct chef_cleanup_opts *o, struct json_object **out,
                 struct as_error *err)
{
    struct group g;
    bool forgot = false;
    if (group_check_name(o->group, err) < 0 || node_check_name(o->node, err) < 0)
        return -1;
    if (o->ssh_port < 1 || o->ssh_port > 65535)
        return bad(err, "ssh_port", "a port between 1 and 65535");
    if (asg_load_spec(ds, o->group, &g, err) < 0)
        return -1;
    group_free(&g);

    struct json_object *res = json_object_new_object();
    jx_add_str(res, "node", o->node);
    jx_add_str(res, "group", o->group);
    int rc = 0;
    if (is_set(o->chef_server_url)) {
        jx_add_str(res, "chef_server", o->chef_server_url);
        rc = cleanup_server(o, res, err);
    } else {
        json_object_object_add(res, "chef_server", NULL);
        jx_add_bool(res, "node_deleted", false);
        jx_add_bool(res, "client_deleted", false);
        jx_add_str(res, "message", "no Chef server configured: nothing to delete there");
        log_info("no Chef server configured: nothing to delete for node %s", o->node);
    }
    if (rc == 0)
        rc = forget_host_key(ds, o, &forgot, err);
    if (rc < 0) {
        json_object_put(res);
        return -1;
    }
    jx_add_bool(res, "host_key_forgotten", forgot);
    jx_add_bool(res, "changed", forgot || jx_bool(res, "node_deleted", false) ||
                                    jx_bool(res, "client_deleted", false));
    *out = res;
    return 0;
}
