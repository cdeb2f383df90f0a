/* chef_bootstrap - configure one node of a group with Chef over SSH:
 * install the client if it is missing, then chef-solo (run list, cookbook
 * archive, JSON attributes) or chef-client against a Chef server, where the
 * node is registered first. See docs/chef.md. */
#include "chef.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    CHEF_BOOTSTRAP_PARAMS(AS_PARAM_ROW)
    {"ssh_host_fingerprint", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"ssh_sudo", AS_T_BOOLEAN, 0, "false", "ssh_sudo", AS_NAMED},
    {"run_list", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"attributes", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"deadline", AS_T_INTEGER, 0, "900", NULL, AS_NAMED},
    CHEF_SERVER_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_chef_bootstrap(struct as_ctx *ctx, struct json_object **out,
                              struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct chef_bootstrap_request rq = {
        .group = as_arg_str(a, "name"),
        .node = as_arg_str(a, "node"),
        .run_list = as_arg_str(a, "run_list"),
        .attributes = as_arg_str(a, "attributes"),
        .ssh_host_fingerprint = as_arg_str(a, "ssh_host_fingerprint"),
        .ssh_sudo = as_arg_bool(a, "ssh_sudo"),
        .deadline = as_arg_int(a, "deadline", PARAM_ABSENT),
        .allowed = as_arg_str(a, SETTINGS_ALLOW_NAME),
    };
    as_args_fill(a, chef_bootstrap_param_desc, chef_bootstrap_param_count, &rq.p);
    as_args_fill(a, chef_server_param_desc, chef_server_param_count, &rq.server);
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? chef_bootstrap(ds, &rq, out, err) : -1;
}

AS_ACTION(chef_bootstrap, params, cmd_chef_bootstrap);
