/* refresh_batch_done - the end of one batch of a rolling refresh: the
 * workflow reports the new nodes that came up, those that were healthy and
 * the old ones it took down; the record decides whether the refresh goes
 * on, rolls back or stops, and the batch's operation ends (its scaling
 * event written, the group's lease released). A retry with the same
 * lease_id answers the same. See lib/model/refresh.h. */
#include "clock.h"
#include "refresh.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"refresh_id", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"lease_id", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"added", AS_T_STRING, 0, "", NULL, AS_NAMED},
    {"healthy", AS_T_STRING, 0, "", NULL, AS_NAMED},
    {"removed", AS_T_STRING, 0, "", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_refresh_batch_done(struct as_ctx *ctx, struct json_object **out,
                                  struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct refresh_report r = {
        .group = as_arg_str(a, "name"),
        .refresh_id = as_arg_str(a, "refresh_id"),
        .lease_id = as_arg_str(a, "lease_id"),
        .added = as_arg_str(a, "added"),
        .healthy = as_arg_str(a, "healthy"),
        .removed = as_arg_str(a, "removed"),
    };
    struct ds *ds;
    if (refresh_report_check(&r, err) < 0 || !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return refresh_batch_done(ds, &r, as_now(), out, err);
}

AS_ACTION(refresh_batch_done, params, cmd_refresh_batch_done);
