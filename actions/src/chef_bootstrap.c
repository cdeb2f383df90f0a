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
    {"ssh_user", AS_T_STRING, 0, "root", "ssh_user", AS_NAMED},
    {"ssh_private_key", AS_T_STRING, AS_P_SECRET, NULL, "ssh_private_key", AS_NAMED},
    {"ssh_private_key_file", AS_T_STRING, 0, NULL, "ssh_private_key_file", AS_NAMED},
    {"ssh_host_key_policy", AS_T_STRING, 0, "accept-new", "ssh_host_key_policy", AS_NAMED},
    {"ssh_host_fingerprint", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"ssh_sudo", AS_T_BOOLEAN, 0, "false", "ssh_sudo", AS_NAMED},
    {"chef_mode", AS_T_STRING, 0, "solo", "chef_mode", AS_NAMED},
    {"chef_install_command", AS_T_STRING, 0,
     "curl -L https://omnitruck.chef.io/install.sh | bash", "chef_install_command", AS_NAMED},
    {"chef_solo_command", AS_T_STRING, 0, "chef-solo", "chef_solo_command", AS_NAMED},
    {"chef_client_command", AS_T_STRING, 0, "chef-client", "chef_client_command", AS_NAMED},
    {"chef_license", AS_T_STRING, 0, NULL, "chef_license", AS_NAMED},
    {"cookbooks_url", AS_T_STRING, 0, NULL, "cookbooks_url", AS_NAMED},
    {"run_list", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"attributes", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"chef_environment", AS_T_STRING, 0, "_default", "chef_environment", AS_NAMED},
    {"chef_config_dir", AS_T_STRING, 0, "/etc/chef", "chef_config_dir", AS_NAMED},
    {"deadline", AS_T_INTEGER, 0, "900", NULL, AS_NAMED},
    CHEF_SERVER_PARAMS
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_chef_bootstrap(struct as_ctx *ctx, struct json_object **out,
                              struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct chef_bootstrap_opts o = {
        .group = as_arg_str(a, "name"),
        .node = as_arg_str(a, "node"),
        .ssh_user = as_arg_str(a, "ssh_user"),
        .ssh_port = as_arg_int(a, "ssh_port", 22),
        .ssh_private_key = as_arg_str(a, "ssh_private_key"),
        .ssh_private_key_file = as_arg_str(a, "ssh_private_key_file"),
        .ssh_host_key_policy = as_arg_str(a, "ssh_host_key_policy"),
        .ssh_known_hosts_file = as_arg_str(a, "ssh_known_hosts_file"),
        .ssh_host_fingerprint = as_arg_str(a, "ssh_host_fingerprint"),
        .ssh_sudo = as_arg_bool(a, "ssh_sudo"),
        .chef_mode = as_arg_str(a, "chef_mode"),
        .chef_install_command = as_arg_str(a, "chef_install_command"),
        .chef_solo_command = as_arg_str(a, "chef_solo_command"),
        .chef_client_command = as_arg_str(a, "chef_client_command"),
        .chef_license = as_arg_str(a, "chef_license"),
        .cookbooks_url = as_arg_str(a, "cookbooks_url"),
        .run_list = as_arg_str(a, "run_list"),
        .attributes = as_arg_str(a, "attributes"),
        .chef_environment = as_arg_str(a, "chef_environment"),
        .chef_server_url = as_arg_str(a, "chef_server_url"),
        .chef_client_name = as_arg_str(a, "chef_client_name"),
        .chef_client_key = as_arg_str(a, "chef_client_key"),
        .chef_client_key_file = as_arg_str(a, "chef_client_key_file"),
        .chef_ca_bundle = as_arg_str(a, "chef_ca_bundle"),
        .chef_config_dir = as_arg_str(a, "chef_config_dir"),
        .deadline = as_arg_int(a, "deadline", 900),
        .group_endpoints_allowed = as_arg_str(a, SETTINGS_ALLOW_NAME),
    };
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? chef_bootstrap(ds, &o, out, err) : -1;
}

AS_ACTION(chef_bootstrap, params, cmd_chef_bootstrap);
