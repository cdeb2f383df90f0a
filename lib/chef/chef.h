/* chef.h - configuration management with Chef: what the chef_bootstrap and
 * chef_cleanup actions call (their parameters as typed structs, and the two
 * operations). The pieces under them (the script, keys, request signing,
 * the Chef Server API) are in chef_int.h.
 *
 * Bootstrap runs over SSH (ssh.h) on the node, as the 2015 original did: a
 * generated POSIX sh script installs the Chef client when it is missing,
 * then runs chef-solo (run list, cookbook archive URL, JSON attributes) or
 * chef-client against a Chef server. The script travels on the SSH
 * channel's stdin, never on a command line, so neither its size nor its
 * secrets (a node's client key) show in the node's process list, and it
 * dies with the session; every value in it is single-quoted, so no value
 * can end a word or start a command.
 *
 * With a Chef server, the node is registered through the Chef Server API
 * the way `knife bootstrap` does it without a validator: any old node and
 * client of that name are deleted, a new client is created with a key pair
 * made here (only the public half is sent), the node object is created
 * signed by that new client (so the client owns it), and the private key
 * goes to the node with the script. Cleanup deletes the node and client
 * (the original never did).
 *
 * Error codes: see docs/chef.md. */
#ifndef AS_CHEF_H
#define AS_CHEF_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "params.h"

/* ------------------------------------------------------ parameters -- */

/* Parameters both actions take (X-macro rows, params.h; the config key is
 * the name), so they cannot disagree: the Chef server, and the node's SSH
 * port and known-hosts file (cleanup forgets the host key there).
 * chef_ca_bundle is the Chef server's own CA, apart from the providers'
 * ca_bundle (PARAMS_TLS): a separate config key. */
#define CHEF_SERVER_PARAMS(X)                                                      \
    X(chef_server_url, STR, NULL, 0)                                               \
    X(chef_client_name, STR, NULL, 0)                                              \
    X(chef_client_key, STR, NULL, PARAM_SECRET)                                    \
    X(chef_client_key_file, STR, NULL, 0)                                          \
    X(chef_ca_bundle, STR, NULL, 0)                                                \
    X(ssh_port, INT, "22", 0)                                                      \
    X(ssh_known_hosts_file, STR, NULL, 0)

/* What only chef_bootstrap takes from the pack config: how to log in to
 * the node and how to run Chef there. (ssh_sudo, a boolean, and the
 * parameters without a config key are the request's own fields.) */
#define CHEF_BOOTSTRAP_PARAMS(X)                                                   \
    X(ssh_user, STR, "root", 0)                                                    \
    X(ssh_private_key, STR, NULL, PARAM_SECRET)                                    \
    X(ssh_private_key_file, STR, NULL, 0)                                          \
    X(ssh_host_key_policy, STR, "accept-new", 0)                                   \
    X(chef_mode, STR, "solo", 0)                                                   \
    X(chef_install_command, STR, "curl -L https://omnitruck.chef.io/install.sh | bash", 0) \
    X(chef_solo_command, STR, "chef-solo", 0)                                      \
    X(chef_client_command, STR, "chef-client", 0)                                  \
    X(chef_license, STR, NULL, 0)                                                  \
    X(cookbooks_url, STR, NULL, 0)                                                 \
    X(chef_environment, STR, "_default", 0)                                        \
    X(chef_config_dir, STR, "/etc/chef", 0)

struct chef_server_params {
    CHEF_SERVER_PARAMS(PARAM_FIELD)
};
struct chef_bootstrap_params {
    CHEF_BOOTSTRAP_PARAMS(PARAM_FIELD)
};
extern const struct param_desc chef_server_param_desc[];
extern const size_t chef_server_param_count;
extern const struct param_desc chef_bootstrap_param_desc[];
extern const size_t chef_bootstrap_param_count;

/* ------------------------------------------------------- the actions -- */

struct ds;

struct chef_bootstrap_request {
    const char *group, *node;
    const char *run_list, *attributes;   /* NULL: the group's / none */
    const char *ssh_host_fingerprint;    /* strict policy: "SHA256:..." */
    bool ssh_sudo;                       /* privileged steps under `sudo -n` */
    long long deadline;                  /* seconds for the whole bootstrap */
    const char *allowed;                 /* settings.h: what settings.chef may name */
    struct chef_bootstrap_params p;
    struct chef_server_params server;
};

/* Bootstrap one node of a group; *out is the action's result. */
int chef_bootstrap(struct ds *ds, const struct chef_bootstrap_request *rq,
                   struct json_object **out, struct as_error *err);

struct chef_cleanup_request {
    const char *group, *node;
    struct chef_server_params server;
};

/* Forget a node leaving for good: its node and client on the Chef server
 * (if one is configured) and its host key. */
int chef_cleanup(struct ds *ds, const struct chef_cleanup_request *rq,
                 struct json_object **out, struct as_error *err);

#endif
