/* notify_webhook.c - a generic JSON webhook: POST the event as one flat
 * JSON object, for receivers that are not Slack (a chat bridge, an incident
 * tool, a script). Any 2xx reply is success.
 *
 *   {"source": "autoscale", "group", "event", "message", "reason", "count",
 *    "node", "channel", "counts", "at", "text"}
 *
 * Absent values are null, so a receiver sees the same keys every time.
 * Nothing is escaped: this is JSON, not Slack mrkdwn. Extra headers (an
 * Authorization token, say) come from webhook_headers; their values are
 * registered as secrets. */
#include "notify_int.h"

#include "jsonx.h"
#include "secret.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Headers libcurl and the body decide; a configured one would corrupt the
 * request's framing or its target. */
static const char *const reserved[] = {"Host", "Content-Length", "Transfer-Encoding",
                                       "Connection", "Expect"};

static bool token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static bool good_name(const char *s)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = token_char(s[i]);
    for (size_t i = 0; ok && i < sizeof reserved / sizeof reserved[0]; i++)
        ok = strcasecmp(s, reserved[i]) != 0;
    return ok;
}

/* A value may hold anything printable, never CR or LF: those would let it
 * smuggle in a header or a second request. */
static bool good_value(const char *s)
{
    size_t n = strlen(s);
    bool ok = n <= 1024 && utf8_valid(s, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
    return ok;
}

static int webhook_check(const struct notify_config *cfg, struct as_error *err)
{
    if (!cfg->headers)
        return 0;
    if (!json_object_is_type(cfg->headers, json_type_object) ||
        json_object_object_length(cfg->headers) > NOTIFY_HEADERS_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'webhook_headers' must be a JSON object of at most "
                       "%d headers, such as {\"Authorization\": \"Bearer ...\"}",
                       NOTIFY_HEADERS_MAX);
    json_object_object_foreach(cfg->headers, name, val) {
        /* the value is never echoed: it is likely a token */
        if (!good_name(name))
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter 'webhook_headers': '%.64s' is not a header name "
                           "we may set",
                           name);
        if (!json_object_is_type(val, json_type_string) ||
            !good_value(json_object_get_string(val)))
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter 'webhook_headers': the value of '%s' must be a "
                           "string of at most 1024 printable bytes",
                           name);
        secret_register(json_object_get_string(val));
    }
    return 0;
}

static struct json_object *webhook_payload(const struct notify_event *ev)
{
    struct json_object *o = jx_new_object();
    char *text = notify_text(ev, false);

    jx_add_str(o, "source", "autoscale");
    jx_add_str(o, "group", ev->group);
    jx_add_str(o, "event", ev->event);
    jx_add_str(o, "message", ev->message);
    jx_add_str(o, "reason", ev->reason);
    json_object_object_add(o, "count",
                           ev->count >= 0 ? jx_new_int(ev->count) : NULL);
    jx_add_str(o, "node", ev->node);
    jx_add_str(o, "channel", ev->channel);
    json_object_object_add(o, "counts", ev->counts ? json_object_get(ev->counts) : NULL);
    jx_add_int(o, "at", ev->at);
    jx_add_str(o, "text", text);
    free(text);
    return o;
}

const struct notify_ops notify_webhook_ops = {
    .name = "webhook",
    .url_param = "webhook_url",
    .check = webhook_check,
    .payload = webhook_payload,
    .takes_headers = true,
};
