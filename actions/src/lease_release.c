/* lease_release - end a group's stuck lease by hand. A lease whose workflow
 * never ran (a tick taken by hand, a lost trigger, a workflow cancelled
 * before scaling_record) freezes the group until lease_ttl; this frees it
 * now. With lease_id it releases only that lease, so a person who read the
 * id from asg_get cannot free a newer operation's lease by mistake. */
#include "asg.h"
#include "group.h"
#include "lease.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"lease_id", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_lease_release(struct as_ctx *ctx, struct json_object **out,
                             struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name");
    const char *id = as_arg_str(ctx->args, "lease_id");
    struct group g;
    char op[16];
    long long at;

    /* A malformed id is refused before the group is looked up. */
    if (group_check_name(name, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    if (!ds || (id && lease_id_parse(id, &at, op, sizeof op, err) < 0) ||
        asg_load_spec(ds, name, &g, err) < 0)
        return -1;
    group_clear(&g);
    return lease_release(ds, name, id, out, err);
}

AS_ACTION(lease_release, params, cmd_lease_release);
