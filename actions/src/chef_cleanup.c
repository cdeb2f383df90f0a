/* chef_cleanup - forget a node leaving its group for good: delete its node
 * and client on the Chef server (404 counts as already gone; without a
 * server configured there is nothing to do, and it says so) and its entry
 * in the SSH known-hosts file. See docs/chef.md. */
#include "chef.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    CHEF_SERVER_PARAMS
    AS_PARAM_END,
};

static int cmd_chef_cleanup(struct as_ctx *ctx, struct json_object **out,
                            struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct chef_cleanup_opts o = {
        .group = as_arg_str(a, "name"),
        .node = as_arg_str(a, "node"),
        .chef_server_url = as_arg_str(a, "chef_server_url"),
        .chef_client_name = as_arg_str(a, "chef_client_name"),
        .chef_client_key = as_arg_str(a, "chef_client_key"),
        .chef_client_key_file = as_arg_str(a, "chef_client_key_file"),
        .chef_ca_bundle = as_arg_str(a, "chef_ca_bundle"),
        .ssh_known_hosts_file = as_arg_str(a, "ssh_known_hosts_file"),
        .ssh_port = as_arg_int(a, "ssh_port", 22),
    };
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? chef_cleanup(ds, &o, out, err) : -1;
}

AS_ACTION(chef_cleanup, params, cmd_chef_cleanup);
