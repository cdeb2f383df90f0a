/* asg_list - every group with its node counts, alert state and whether an
 * operation is in flight. */
#include "asg.h"
#include "st2.h"

static const struct as_param params[] = {
    AS_PARAM_END,
};

static int cmd_asg_list(struct as_ctx *ctx, struct json_object **out,
                        struct as_error *err)
{
    struct ds *ds = as_ctx_ds_read_only(ctx, err);
    return ds ? asg_list(ds, out, err) : -1;
}

AS_ACTION(asg_list, params, cmd_asg_list);
