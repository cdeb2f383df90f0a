/* dns_register - publish a node in DNS: its own A record (name from the
 * record template, default <node>.<group>.<zone>) and its address in the
 * group's round-robin record (<group>.<zone>). Registering again changes
 * nothing (changed=false); a failure of the group record puts everything
 * back as it was. A group being deleted is refused (group_conflict,
 * nothing written), and one whose deletion began during the writes gets
 * them withdrawn (group_deleting): no record outlives asg_delete. See
 * docs/dns.md. */
#include "dns.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    DNS_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_dns_register(struct as_ctx *ctx, struct json_object **out,
                            struct as_error *err)
{
    struct dns_request rq = {.group = as_arg_str(ctx->args, "name"),
                             .node = as_arg_str(ctx->args, "node"),
                             .allowed = as_arg_str(ctx->args, SETTINGS_ALLOW_NAME)};
    as_args_fill(ctx->args, dns_param_desc, dns_param_count, &rq.p);
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? dns_register(ds, &rq, out, err) : -1;
}

AS_ACTION(dns_register, params, cmd_dns_register);
