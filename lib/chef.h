/* chef.h - configuration management with Chef: what chef_bootstrap and
 * chef_cleanup do.
 *
 * Bootstrap runs over SSH (ssh.h) on the node, as the 2015 original did: a
 * generated POSIX sh script installs the Chef client when it is missing,
 * then runs chef-solo (run list, cookbook archive URL, JSON attributes) or
 * chef-client against a Chef server. The script travels on the SSH
 * channel's stdin (sshc_run_script), never on a command line, so neither
 * its size nor its secrets (a node's client key) show in the node's process
 * list, and it dies with the session; every value in it is single-quoted
 * (chef_shell_quote), so no value can end a word or start a command.
 *
 * With a Chef server, the node is registered through the Chef Server API
 * the way `knife bootstrap` does it without a validator: any old node and
 * client of that name are deleted, a new client is created with a key pair
 * made here (only the public half is sent), the node object is created
 * signed by that new client (so the client owns it), and the private key
 * goes to the node with the script. Cleanup deletes the node and client
 * (the original never did). Requests are signed with protocol v1.3
 * (RSA-SHA256), checked against mixlib-authentication in the tests.
 *
 * Error codes: see docs/chef.md. */
#ifndef AS_CHEF_H
#define AS_CHEF_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "datastore.h"
#include "error.h"
#include "st2.h"

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

/* The script, newly allocated. Values must have passed chef_bootstrap's
 * checks (the Ruby strings in client.rb rely on them); quoting makes the
 * shell side safe whatever they hold. */
char *chef_script(const struct chef_run *r);

/* ------------------------------------------------- Chef Server API -- */

struct chef_key; /* an RSA key pair (or a private key) */

/* From PEM text (a single-line value with literal "\n" is accepted) or a
 * file. invalid_parameter (exit 2) if it is not an RSA private key. */
struct chef_key *chef_key_load(const char *pem, const char *what, struct as_error *err);
struct chef_key *chef_key_load_file(const char *path, struct as_error *err);
/* A new 2048-bit key for a node's client. */
struct chef_key *chef_key_generate(struct as_error *err);
/* PEM text, newly allocated: PKCS#8 private / SubjectPublicKeyInfo public. */
char *chef_key_private_pem(const struct chef_key *k);
char *chef_key_public_pem(const struct chef_key *k);
void chef_key_free(struct chef_key *k);

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

/* Register a node as described above; *node_key receives its new key. */
int chef_register_node(struct chef_api *admin, const char *node,
                       struct json_object *run_list, const char *environment,
                       struct json_object *attributes, const char *ca_bundle,
                       struct chef_key **node_key, struct as_error *err);

/* Delete the node and its client; 404 counts as already gone. */
int chef_unregister_node(struct chef_api *admin, const char *node, bool *node_deleted,
                         bool *client_deleted, struct as_error *err);

/* ---------------------------------------------------- the actions -- */

/* Parameter rows both actions take, so they cannot disagree: the Chef
 * server and the node's SSH identity on the way out. */
#define CHEF_SERVER_PARAMS                                                      \
    {"chef_server_url", AS_T_STRING, 0, NULL, "chef_server_url", AS_NAMED},     \
    {"chef_client_name", AS_T_STRING, 0, NULL, "chef_client_name", AS_NAMED},   \
    {"chef_client_key", AS_T_STRING, AS_P_SECRET, NULL, "chef_client_key",      \
     AS_NAMED},                                                                 \
    {"chef_client_key_file", AS_T_STRING, 0, NULL, "chef_client_key_file",      \
     AS_NAMED},                                                                 \
    {"chef_ca_bundle", AS_T_STRING, 0, NULL, "chef_ca_bundle", AS_NAMED},       \
    {"ssh_port", AS_T_INTEGER, 0, "22", "ssh_port", AS_NAMED},                  \
    {"ssh_known_hosts_file", AS_T_STRING, 0, NULL, "ssh_known_hosts_file", AS_NAMED},

struct chef_bootstrap_opts {
    const char *group, *node;
    /* SSH */
    const char *ssh_user;
    long long ssh_port;
    const char *ssh_private_key, *ssh_private_key_file;
    const char *ssh_host_key_policy, *ssh_known_hosts_file, *ssh_host_fingerprint;
    bool ssh_sudo;
    /* Chef */
    const char *chef_mode; /* solo | client */
    const char *chef_install_command, *chef_solo_command, *chef_client_command;
    const char *chef_license;
    const char *cookbooks_url, *run_list, *attributes, *chef_environment;
    const char *chef_server_url, *chef_client_name, *chef_client_key,
        *chef_client_key_file, *chef_ca_bundle, *chef_config_dir;
    long long deadline; /* seconds for the whole bootstrap */
    const char *group_endpoints_allowed; /* settings.h: what settings.chef may name */
};

/* Bootstrap one node of a group; *out is the action's result. */
int chef_bootstrap(struct ds *ds, const struct chef_bootstrap_opts *o,
                   struct json_object **out, struct as_error *err);

struct chef_cleanup_opts {
    const char *group, *node;
    const char *chef_server_url, *chef_client_name, *chef_client_key,
        *chef_client_key_file, *chef_ca_bundle;
    const char *ssh_known_hosts_file;
    long long ssh_port;
};

/* Forget a node leaving for good: its node and client on the Chef server
 * (if one is configured) and its host key. */
int chef_cleanup(struct ds *ds, const struct chef_cleanup_opts *o,
                 struct json_object **out, struct as_error *err);

#endif
