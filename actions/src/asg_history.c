/* asg_history - "why did it (not) scale?": a group's decisions, "nothing,
 * because ..." included, and the outcomes of its operations, oldest first,
 * filtered by time and kind (lib/model/history.h). Reads only. */
#include "group.h"
#include "history.h"
#include "st2.h"

#define LIMIT_MAX 1000

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"since", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"until", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"kind", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"limit", AS_T_INTEGER, 0, "50", NULL, AS_NAMED},
    AS_PARAM_END,
};

/* An absent or empty time is no bound (st2 passes "" for an optional string
 * a workflow or alias filled with nothing). */
static int time_param(const struct as_ctx *ctx, const char *name, long long *out,
                      struct as_error *err)
{
    const char *s = as_arg_str(ctx->args, name);
    *out = 0;
    if (!s || !*s)
        return 0;
    if (history_parse_time(s, out) < 0)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be a UTC time such as 2026-12-07T17:03:08Z, "
                       "or epoch seconds", name);
    return 0;
}

static int cmd_asg_history(struct as_ctx *ctx, struct json_object **out,
                           struct as_error *err)
{
    struct history_query q = {.group = as_arg_str(ctx->args, "name"),
                              .kind = as_arg_str(ctx->args, "kind")};
    long long limit = as_arg_int(ctx->args, "limit", 50);

    if (q.kind && !*q.kind)
        q.kind = NULL;
    if (limit < 1 || limit > LIMIT_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'limit' must be between 1 and %d", LIMIT_MAX);
    q.limit = (int)limit;
    if (group_check_name(q.group, err) < 0 || time_param(ctx, "since", &q.since, err) < 0 ||
        time_param(ctx, "until", &q.until, err) < 0 || history_check_kind(q.kind, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds_read_only(ctx, err);
    return ds ? history_show(ds, &q, out, err) : -1;
}

AS_ACTION(asg_history, params, cmd_asg_history);
