/* notify_int.h - the notification providers' side: the table of operations
 * every provider fills, one extern per provider, and the helpers they and
 * the dispatch share. Included only by notify.c (the table of providers),
 * notify_deliver.c, notify_message.c and the providers; callers use
 * notify.h.
 *
 * A provider only says what to POST (payload) and what its settings must
 * look like (check); how a notification is sent, retried and judged is
 * notify_deliver.c, once. Adding a provider: a notify_<name>.c defining
 * `const struct notify_ops notify_<name>_ops`, an extern below, its line in
 * notify.c's table, and its URL parameter in NOTIFY_PARAMS (notify.h). */
#ifndef AS_NOTIFY_INT_H
#define AS_NOTIFY_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "notify.h"

struct notify_ops {
    const char *name;
    const char *url_param; /* the parameter (and config key) with its URL */
    /* Check the settings; a problem is AS_EXIT_BADINPUT. No I/O. NULL: the
     * provider needs no settings (none). */
    int (*check)(const struct notify_config *cfg, struct as_error *err);
    /* The JSON document to POST for ev, newly allocated. NULL: nothing is
     * sent (none). */
    struct json_object *(*payload)(const struct notify_event *ev);
    bool takes_headers; /* sends notify_config.headers with the request */
};

extern const struct notify_ops notify_slack_ops;
extern const struct notify_ops notify_webhook_ops;

/* The provider of that name (slack, webhook, none), or NULL. */
const struct notify_ops *notify_lookup(const char *name);

/* ---- the dispatch's helpers (notify.c, notify_deliver.c) ---- */

/* The authority of an http(s) URL: where it starts and how long it is;
 * -1 when the URL is not one. */
int notify_url_host(const char *url, const char **host, size_t *len);

/* POST body to cfg->url for ops, filling *res. -1 only when interrupted. */
int notify_deliver(const struct notify_ops *ops, const struct notify_config *cfg,
                   const char *body, struct notify_result *res, struct as_error *err);

/* Mark res undelivered, with the error. */
void notify_result_fail(struct notify_result *res, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- message building, shared by the providers (notify_message.c) ---- */

/* The one-line summary, such as
 *   [autoscale] web: scale_out_started: +2 nodes (3 -> 5): critical alert
 * With mrkdwn, user text is escaped for Slack. Newly allocated. */
char *notify_text(const struct notify_event *ev, bool mrkdwn);

/* "+2 nodes (3 -> 5)", "-1 node (capacity 4)", "3 nodes": what count means
 * for this event, into buf ("" when count is not given). */
void notify_change(const struct notify_event *ev, char *buf, size_t size);

/* Escape Slack's control characters & < > (as &amp; &lt; &gt;) so user text
 * cannot ping @channel or forge a link, keeping the result within max bytes
 * (cut on a character boundary, never inside an entity, ending in "..."
 * when cut). Newly allocated. */
char *notify_escape(const char *s, size_t max);

/* Time as "2024-05-01 12:00:00 UTC" into buf. */
void notify_time(long long at, char *buf, size_t size);

#endif
