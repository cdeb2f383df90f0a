/* notify_event.c - the event side of a notification (notify.h): checking
 * what the caller says happened, the group's state that decorates it, and
 * the action's result. */
#include "notify.h"

#include "asg.h"
#include "group.h"
#include "jsonx.h"
#include "node.h"
#include "utf8.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int check_event_name(const char *s, struct as_error *err)
{
    size_t n = s ? strlen(s) : 0;
    bool ok = n >= 1 && n <= NOTIFY_EVENT_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_';
    return ok ? 0
              : as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                        "parameter 'event' must match ^[a-z_]{1,40}$");
}

/* The same rule as a group's notify_channel: "#ops", "@jane", "ops-web". */
static int check_channel(const char *s, struct as_error *err)
{
    const char *rest = (s[0] == '#' || s[0] == '@') ? s + 1 : s;
    size_t n = strlen(rest);
    bool ok = n >= 1 && n <= 80;
    for (size_t i = 0; ok && i < n; i++) {
        char c = rest[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    return ok ? 0
              : as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                        "parameter 'channel' must be a channel such as #ops "
                        "(letters, digits and ._-, at most 80)");
}

/* max counts characters (code points), as the metadata's maxLength does in
 * st2's schema validation: counting bytes would refuse a 500-character
 * reason in another script that st2 had accepted and a workflow passed on. */
static int check_text(const char *param, const char *s, size_t max, struct as_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (!utf8_valid(s ? s : "", n) || utf8_chars(s, n) > max)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be UTF-8 text of at most %zu characters",
                       param, max);
    return 0;
}

int notify_check_event(const struct notify_event *ev, struct as_error *err)
{
    if (check_event_name(ev->event, err) < 0 ||
        (ev->group && group_check_name(ev->group, err) < 0) ||
        (ev->node && node_check_name(ev->node, err) < 0) ||
        (ev->channel && check_channel(ev->channel, err) < 0) ||
        check_text("message", ev->message, NOTIFY_MESSAGE_MAX, err) < 0 ||
        check_text("reason", ev->reason, NOTIFY_REASON_MAX, err) < 0)
        return -1;
    if (ev->count < -1 || ev->count > NOTIFY_COUNT_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'count' must be between 0 and %d", NOTIFY_COUNT_MAX);
    return 0;
}

/* -------------------------------------------------------------- result -- */

struct json_object *notify_result_json(const char *provider, const struct notify_event *ev,
                                       const struct notify_result *res)
{
    struct json_object *o = jx_new_object();
    jx_add_bool(o, "delivered", res->delivered);
    jx_add_str(o, "skipped", res->skipped);
    jx_add_str(o, "provider", provider);
    jx_add_str(o, "event", ev->event);
    jx_add_str(o, "group", ev->group);
    jx_add_str(o, "channel", ev->channel);
    jx_add_str(o, "node", ev->node);
    jx_add_int(o, "attempts", res->attempts);
    jx_add_int(o, "status", res->status);
    jx_add_int(o, "at", ev->at);
    json_object_object_add(o, "counts", ev->counts ? json_object_get(ev->counts) : NULL);
    if (!res->delivered && !res->skipped) {
        struct json_object *e = jx_new_object();
        jx_add_str(e, "code", res->error.code);
        jx_add_str(e, "message", res->error.message);
        json_object_object_add(o, "error", e);
    }
    return o;
}

/* ---------------------------------------------------------------- group -- */

int notify_group_state(struct ds *ds, const char *name, char *channel, size_t size,
                       struct json_object **counts, struct as_error *err)
{
    struct asg_state st;

    channel[0] = '\0';
    *counts = NULL;
    if (asg_state_load(ds, name, &st, err) < 0)
        return -1;
    if (st.spec.notify_channel)
        snprintf(channel, size, "%s", st.spec.notify_channel);
    *counts = asg_state_counts(&st);
    asg_state_clear(&st);
    return 0;
}
