/* dns_unregister - withdraw a node from DNS: its address out of the group's
 * round-robin record (the rrset deleted when no address is left), then its
 * own A record deleted. Already absent is success (changed=false), and the
 * node's datastore record need not exist any more: a teardown workflow
 * runs this after the node is gone. See docs/dns.md. */
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

static int cmd_dns_unregister(struct as_ctx *ctx, struct json_object **out,
                              struct as_error *err)
{
    struct dns_request rq = {.group = as_arg_str(ctx->args, "name"),
                             .node = as_arg_str(ctx->args, "node"),
                             .allowed = as_arg_str(ctx->args, SETTINGS_ALLOW_NAME)};
    as_args_fill(ctx->args, dns_param_desc, dns_param_count, &rq.p);
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? dns_unregister(ds, &rq, out, err) : -1;
}

AS_ACTION(dns_unregister, params, cmd_dns_unregister);
