/* governor_tick - evaluate every group (or one) and print each scaling
 * decision (lib/model/governor_tick.h). With act, each decision to act takes the
 * group's lease, so the next tick does not decide it again while the
 * workflow runs, and every decision goes to the group's history, with the
 * notices it calls for printed beside the decisions. Run every 30 s by
 * sensors/governor_sensor.py (with act), and at once on an alert by the
 * alert_respond workflow (with act and react: only scale_out and replace
 * take a lease, nothing else is written; governor_tick.h).
 * Acting is opt-in because a lease taken by a person's `st2 run` dispatches
 * nothing and would freeze the group for lease_ttl; and st2 drops a false
 * boolean from argv, so only a flag that means "do it" can default to the
 * safe side. */
#include "clock.h"
#include "governor_tick.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"act", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"react", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"lease_ttl", AS_T_INTEGER, 0, "1800", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_governor_tick(struct as_ctx *ctx, struct json_object **out,
                             struct as_error *err)
{
    struct gov_tick t = {
        .name = as_arg_str(ctx->args, "name"),
        .act = as_arg_bool(ctx->args, "act"),
        .react = as_arg_bool(ctx->args, "react"),
        .lease_ttl = as_arg_int(ctx->args, "lease_ttl", 1800),
    };
    long long now = as_now();
    if (gov_tick_check(&t, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? gov_tick_run(ds, &t, now, out, err) : -1;
}

AS_ACTION(governor_tick, params, cmd_governor_tick);
