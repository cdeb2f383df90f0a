/* notify_slack.c - Slack incoming webhooks: POST {"text", "blocks"}; 200
 * "ok" on success, plain-text errors (invalid_payload, channel_not_found,
 * ...). `text` is kept as the fallback that notifications and old clients
 * show; the blocks lay out group, event, node counts, change, node, reason,
 * message and time.
 *
 * Everything a user typed (reason, message) is escaped with notify_escape():
 * in Slack's mrkdwn "<!channel>" pings everyone and "<http://x|y>" is a
 * disguised link. Names (group, event, node, channel) are validated and
 * need none. Texts are cut to Slack's block limits (3000 characters a
 * section, 2000 a field, 150 a header) or the whole message is refused. */
#include "notify_int.h"

#include "jsonx.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLACK_SECTION_MAX 3000
#define SLACK_FIELD_MAX 2000

static struct json_object *text_obj(const char *type, const char *text)
{
    struct json_object *t = jx_new_object();
    jx_add_str(t, "type", type);
    jx_add_str(t, "text", text);
    if (strcmp(type, "plain_text") == 0)
        jx_add_bool(t, "emoji", false);
    return t;
}

static void add_field(struct json_object *fields, const char *title, const char *value)
{
    char buf[SLACK_FIELD_MAX];
    snprintf(buf, sizeof buf, "*%s*\n%s", title, value);
    json_object_array_add(fields, text_obj("mrkdwn", buf));
}

/* "total 5 · active 3 · building 2", plus any nodes in other states. */
static void counts_text(struct json_object *counts, char *buf, size_t size)
{
    static const char *const keys[] = {"active", "building", "draining", "failed",
                                       "deleting", "unknown"};
    size_t n = (size_t)snprintf(buf, size, "total %lld", jx_int(counts, "total", 0));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && n < size; i++) {
        long long v = jx_int(counts, keys[i], 0);
        /* active and building always: they are what a scaling event changes */
        if (v || i < 2)
            n += (size_t)snprintf(buf + n, size - n, " \xc2\xb7 %s %lld", keys[i], v);
    }
}

static struct json_object *header_block(const struct notify_event *ev)
{
    char title[96]; /* group (31) + event (40): far below Slack's 150 */
    snprintf(title, sizeof title, "%s: %s", ev->group ? ev->group : "autoscale", ev->event);
    struct json_object *b = jx_new_object();
    jx_add_str(b, "type", "header");
    json_object_object_add(b, "text", text_obj("plain_text", title));
    return b;
}

static struct json_object *fields_block(const struct notify_event *ev)
{
    struct json_object *b = jx_new_object(), *f = jx_new_array();
    char buf[256];

    if (ev->group)
        add_field(f, "Group", ev->group);
    add_field(f, "Event", ev->event);
    if (ev->counts) {
        counts_text(ev->counts, buf, sizeof buf);
        add_field(f, "Nodes", buf);
    }
    notify_change(ev, buf, sizeof buf);
    if (buf[0])
        add_field(f, "Change", buf);
    if (ev->node)
        add_field(f, "Node", ev->node);
    jx_add_str(b, "type", "section");
    json_object_object_add(b, "fields", f);
    return b;
}

/* A section of user text under a bold title (NULL: none), escaped and cut. */
static struct json_object *text_block(const char *title, const char *text)
{
    char head[32] = "";
    if (title)
        snprintf(head, sizeof head, "*%s*\n", title);
    char *esc = notify_escape(text, SLACK_SECTION_MAX - strlen(head));
    char *body = xasprintf("%s%s", head, esc);
    free(esc);
    struct json_object *b = jx_new_object();
    jx_add_str(b, "type", "section");
    json_object_object_add(b, "text", text_obj("mrkdwn", body));
    free(body);
    return b;
}

/* Slack shows <!date^...> in the reader's own time zone; the text after
 * '|' is what clients that cannot do that show. */
static struct json_object *context_block(long long at)
{
    char when[64], text[160];
    notify_time(at, when, sizeof when);
    snprintf(text, sizeof text, "autoscale \xc2\xb7 <!date^%lld^{date_num} {time_secs}|%s>",
             at, when);
    struct json_object *b = jx_new_object(), *els = jx_new_array();
    jx_add_str(b, "type", "context");
    json_object_array_add(els, text_obj("mrkdwn", text));
    json_object_object_add(b, "elements", els);
    return b;
}

static struct json_object *slack_payload(const struct notify_event *ev)
{
    struct json_object *doc = jx_new_object(), *blocks = jx_new_array();
    char *text = notify_text(ev, true);

    jx_add_str(doc, "text", text);
    free(text);
    /* Honoured by legacy webhooks; app webhooks post to their own channel. */
    if (ev->channel)
        jx_add_str(doc, "channel", ev->channel);
    json_object_array_add(blocks, header_block(ev));
    json_object_array_add(blocks, fields_block(ev));
    if (ev->reason && *ev->reason)
        json_object_array_add(blocks, text_block("Reason", ev->reason));
    if (ev->message && *ev->message)
        json_object_array_add(blocks, text_block(NULL, ev->message));
    json_object_array_add(blocks, context_block(ev->at));
    json_object_object_add(doc, "blocks", blocks);
    return doc;
}

const struct notify_ops notify_slack_ops = {
    .name = "slack",
    .url_param = "slack_webhook_url",
    .check = NULL, /* the URL checks in notify.c are all it needs */
    .payload = slack_payload,
    .takes_headers = false,
};
