/* notify - tell Slack or a webhook what a group did (docs/notify.md).
 *
 * The workflows call this between scaling steps and rely on one rule: an
 * undelivered notification is still exit 0, with delivered=false and the
 * error in the result, so a scaling operation never fails because of it.
 * fail_on_error turns that into exit 1. Bad input is exit 2, as ever. */
#include "clock.h"
#include "log.h"
#include "notify.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"event", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"message", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"reason", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"count", AS_T_INTEGER, 0, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"channel", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    NOTIFY_PARAMS(AS_PARAM_ROW)
    {"fail_on_error", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    AS_PARAM_END,
};

/* The group's channel and counts; without them (unknown group, store
 * down) the notification still goes out. */
static void read_group(struct as_ctx *ctx, struct notify_event *ev, char *channel,
                       size_t size)
{
    struct as_error gerr;
    struct ds *ds = as_ctx_ds(ctx, &gerr);
    if (!ds || notify_group_state(ds, ev->group, channel, size, &ev->counts, &gerr) < 0) {
        log_warn("group %s: %s: notifying without its counts", ev->group, gerr.message);
        return;
    }
    if (!ev->channel && channel[0])
        ev->channel = channel;
}

static int cmd_notify(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct notify_params p;
    as_args_fill(a, notify_param_desc, notify_param_count, &p);
    const char *provider = p.notify_provider ? p.notify_provider : "none";
    struct notify_event ev = {
        .group = as_arg_str(a, "name"),
        .event = as_arg_str(a, "event"),
        .message = as_arg_str(a, "message"),
        .reason = as_arg_str(a, "reason"),
        .node = as_arg_str(a, "node"),
        .channel = as_arg_str(a, "channel"),
        .count = as_arg_int(a, "count", -1),
        .at = as_now(),
    };
    struct notify_config cfg = {0};
    struct notify_result res;
    char channel[96];
    int rc = -1;

    if (ev.count < 0 && as_arg_given(a, "count"))
        ev.count = -2; /* a negative count given is refused, not "absent" */
    if (notify_check_event(&ev, err) < 0 || notify_config_read(provider, &p, &cfg, err) < 0)
        goto done;
    if (ev.group)
        read_group(ctx, &ev, channel, sizeof channel);
    if (notify_send(provider, &cfg, &ev, &res, err) < 0)
        goto done;
    if (!res.delivered && !res.skipped && as_arg_bool(a, "fail_on_error")) {
        *err = res.error; /* exit 1 with the delivery error */
        goto done;
    }
    *out = notify_result_json(provider, &ev, &res);
    rc = 0;
done:
    json_object_put(ev.counts);
    json_object_put(cfg.headers);
    return rc;
}

AS_ACTION(notify, params, cmd_notify);
