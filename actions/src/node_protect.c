/* node_protect - protect one node of a group from scale-in (node_pick
 * never chooses it, the governor never plans past it), or with unprotect
 * take the protection away. A boolean that removes rather than one that
 * defaults to true: st2 leaves a false boolean off the command line
 * (docs/actions.md, Input), so "protect=false" would arrive as not given.
 * Idempotent. See lib/model/controls.h. */
#include "clock.h"
#include "controls.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"unprotect", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"reason", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_node_protect(struct as_ctx *ctx, struct json_object **out,
                            struct as_error *err)
{
    const struct as_args *a = ctx->args;
    const char *name = as_arg_str(a, "name"), *node = as_arg_str(a, "node");
    const char *reason = as_arg_str(a, "reason");
    if (controls_protect_check(name, node, reason, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? controls_protect(ds, name, node, !as_arg_bool(a, "unprotect"), reason, as_now(),
                                 out, err)
              : -1;
}

AS_ACTION(node_protect, params, cmd_node_protect);
