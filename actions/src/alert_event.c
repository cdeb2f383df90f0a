/* alert_event - one entry for every monitor's webhook: New Relic (three
 * generations), Prometheus Alertmanager, and a generic form. Normalises the
 * body into incident events, finds each event's group, and records the
 * incident's new state (lib/alert/alert_intake.h). Validates everything before
 * writing anything, so a body with one bad alert changes no group. */
#include "alert_intake.h"
#include "clock.h"
#include "st2.h"

static const struct as_param params[] = {
    {"body", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"asg", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"source", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_alert_event(struct as_ctx *ctx, struct json_object **out,
                           struct as_error *err)
{
    struct alert_batch b;
    if (alert_batch_parse(as_arg_str(ctx->args, "body"), as_arg_str(ctx->args, "source"), &b,
                          err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    int rc = ds ? alert_batch_record(ds, &b, as_arg_str(ctx->args, "asg"), as_now(), out, err)
                : -1;
    alert_batch_clear(&b);
    return rc;
}

AS_ACTION(alert_event, params, cmd_alert_event);
