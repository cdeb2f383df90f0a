/* chef_int.h - the pieces of the Chef area under chef.h, for its own files
 * (chef_*.c) and their unit tests only:
 *   chef_script.c  shell quoting, run lists and the script run on the node;
 *   chef_auth.c    RSA keys and request signing, Chef protocol v1.3
 *                  (RSA-SHA256, OpenSSL EVP), checked against
 *                  mixlib-authentication in the tests;
 *   chef_api.c     the Chef Server API client, node registration;
 *   chef_params.c  the parameter descriptors and the checks every value
 *                  passes before anything is contacted;
 *   chef_plan.c    what one bootstrap resolved (struct chef_plan);
 *   chef_bootstrap.c, chef_cleanup.c  the two actions' logic. */
#ifndef AS_CHEF_INT_H
#define AS_CHEF_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "chef.h"
#include "error.h"
#include "group.h"

/* ---------------------------------------------------------- quoting -- */

/* s as one POSIX shell word: 'it'\''s', newly allocated. Safe for every
 * byte string: nothing inside single quotes is special to sh. */
char *chef_shell_quote(const char *s);

/* A run list "web, role[base], nginx::default" as a JSON array of items
 * ["recipe[web]", "role[base]", "recipe[nginx::default]"] (bare names are
 * recipes). An empty or absent string is an empty array. A malformed item
 * is invalid_parameter (exit 2). */
int chef_run_list_parse(const char *s, struct json_object **items, struct as_error *err);

/* ------------------------------------------------------- the script -- */

struct chef_run {
    bool client;                  /* chef-client against a server, else chef-solo */
    bool sudo;                    /* run privileged steps under `sudo -n` */
    const char *program;          /* chef-solo or chef-client: a name or a path */
    const char *install_command;  /* shell code run when `program` is missing */
    const char *license;          /* CHEF_LICENSE value, or NULL */
    struct json_object *run_list; /* array of items (chef_run_list_parse) */
    const char *attributes;       /* JSON object text for -j */
    const char *environment;      /* NULL or "_default": no -E */
    const char *node_name;
    const char *cookbooks_url;    /* solo: --recipe-url, or NULL */
    const char *server_url;       /* client: chef_server_url */
    const char *client_key;       /* client: the node's private key (PEM) */
    const char *config_dir;       /* client: where client.rb/client.pem go */
};

/* The script, newly allocated. Values must have passed chef_params.c's
 * checks (the Ruby strings in client.rb rely on them); quoting makes the
 * shell side safe whatever they hold. */
char *chef_script(const struct chef_run *r);

/* ------------------------------------------------------------- keys -- */

struct chef_key; /* an RSA key pair (or a private key) */

/* From PEM text (a single-line value with literal "\n" is accepted) or a
 * file. invalid_private_key (exit 2) if it is not an RSA private key. */
struct chef_key *chef_key_load(const char *pem, const char *what, struct as_error *err);
struct chef_key *chef_key_load_file(const char *path, struct as_error *err);
/* The key the pack signs as: chef_client_key's text, else the file
 * chef_client_key_file names. */
struct chef_key *chef_client_key_load(const struct chef_server_params *s,
                                      struct as_error *err);
/* A new 2048-bit key for a node's client. */
struct chef_key *chef_key_generate(struct as_error *err);
/* PEM text, newly allocated: PKCS#1 ("RSA PRIVATE KEY") private /
 * SubjectPublicKeyInfo public. */
char *chef_key_private_pem(const struct chef_key *k);
char *chef_key_public_pem(const struct chef_key *k);
void chef_key_free(struct chef_key *k);

/* ---------------------------------------------------------- signing -- */

/* The v1.3 canonical request (what is signed), newly allocated:
 * Method:M\nPath:P\nX-Ops-Content-Hash:H\nX-Ops-Sign:version=1.3\n
 * X-Ops-Timestamp:T\nX-Ops-UserId:U\nX-Ops-Server-API-Version:1
 * with the path's repeated slashes squeezed and a trailing slash dropped. */
char *chef_canonical_request(const char *method, const char *path, const char *body,
                             size_t body_len, const char *timestamp, const char *user_id);

/* The authentication headers of one request as "Name: value" strings,
 * NULL-terminated, newly allocated (chef_headers_free): X-Ops-Sign,
 * X-Ops-Userid, X-Ops-Timestamp (ISO 8601 UTC of `when`),
 * X-Ops-Content-Hash, X-Ops-Server-API-Version and X-Ops-Authorization-1..N
 * (the base64 RSA-SHA256 signature in 60-character lines). */
char **chef_sign(const struct chef_key *k, const char *user_id, const char *method,
                 const char *path, const char *body, size_t body_len, time_t when,
                 struct as_error *err);
void chef_headers_free(char **headers);

/* ------------------------------------------------- Chef Server API -- */

struct chef_api;

/* A client of the server at url (such as
 * https://chef.example.com/organizations/acme) acting as user_id with key
 * (borrowed: it must outlive the client). */
struct chef_api *chef_api_open(const char *url, const char *user_id,
                               const struct chef_key *key, const char *ca_bundle,
                               struct as_error *err);
void chef_api_close(struct chef_api *a);

/* One signed request to url + rel_path ("/nodes/web-1"). 0 when a reply
 * came, whatever its status (*reply: its JSON or NULL); -1 with err
 * (chef_unreachable, chef_timeout, interrupted...) when none did. */
int chef_api_call(struct chef_api *a, const char *method, const char *rel_path,
                  struct json_object *body, long *status, struct json_object **reply,
                  struct as_error *err);

/* Register a node as chef.h describes; *node_key receives its new key. */
int chef_register_node(struct chef_api *admin, const char *node,
                       struct json_object *run_list, const char *environment,
                       struct json_object *attributes, const char *ca_bundle,
                       struct chef_key **node_key, struct as_error *err);

/* Delete the node and its client; 404 counts as already gone. */
int chef_unregister_node(struct chef_api *admin, const char *node, bool *node_deleted,
                         bool *client_deleted, struct as_error *err);

/* ----------------------------------------------------------- checks -- */

static inline bool chef_is_set(const char *s) { return s && *s; }

/* AS_EXIT_BADINPUT "invalid_parameter": "parameter '<name>' must be <what>". */
int chef_bad(struct as_error *err, const char *name, const char *what);

/* Does s (1 to max bytes) consist only of letters, digits and the
 * characters in extra? */
bool chef_charset_ok(const char *s, const char *extra, size_t max);

/* http(s)://... without whitespace, quotes or backslashes (it also goes
 * into client.rb as a Ruby string). */
bool chef_url_ok(const char *s);

/* The checks of chef_bootstrap's inputs, in the order it runs them. */
int chef_check_paths(const struct chef_bootstrap_request *rq, struct as_error *err);
int chef_check_ssh(const struct chef_bootstrap_request *rq, struct as_error *err);
int chef_check_run(const struct chef_bootstrap_request *rq, bool client,
                   struct as_error *err);
/* A Chef server's settings (both actions, when chef_server_url is set). */
int chef_check_server(const struct chef_server_params *s, struct as_error *err);

/* -------------------------------------------------------- the plan -- */

/* What one bootstrap resolved from its parameters, the group and the node. */
struct chef_plan {
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

/* Check everything, then resolve the group's settings.chef over the
 * parameters, the node's address and the keys. 0, or -1 with err. */
int chef_plan_make(struct chef_plan *p, struct ds *ds,
                   const struct chef_bootstrap_request *rq, struct as_error *err);
/* Free what the plan holds (after chef_plan_make, whatever it returned),
 * leaving it empty. */
void chef_plan_clear(struct chef_plan *p);

#endif
