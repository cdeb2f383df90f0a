/* metric_collect - read each group's metric (its metric_source and
 * metric_query: Prometheus, HAProxy's own statistics or New Relic NRQL)
 * and append it, with the group's capacity node count, to the group's
 * bounded samples record, which the governor's target tracking reads
 * (lib/metric/metric.h, lib/model/samples.h). A failed reading is stored
 * as a failed sample, so the governor holds. dry_run reads and reports,
 * writing nothing. Without a name, every group with a metric_source and a
 * target_value (rules/metric_collect_timer.yaml runs it so), leaving alone
 * a group being deleted. */
#include "clock.h"
#include "group.h"
#include "metric.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"dry_run", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    METRIC_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_metric_collect(struct as_ctx *ctx, struct json_object **out,
                              struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name");
    struct metric_params p;
    as_args_fill(ctx->args, metric_param_desc, metric_param_count, &p);
    if (name && group_check_name(name, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    if (!ds)
        return -1;
    return metric_collect(ds, &p, name, as_arg_str(ctx->args, SETTINGS_ALLOW_NAME), as_now(),
                          !as_arg_bool(ctx->args, "dry_run"), out, err);
}

AS_ACTION(metric_collect, params, cmd_metric_collect);
