/* notify.h - telling people what the autoscaler did: a Slack incoming
 * webhook or a generic JSON webhook. What the notify action calls; the
 * providers' side (one table of operations each, one file each:
 * notify_slack.c, notify_webhook.c; "none" is a table entry) is
 * notify_int.h, the table of providers notify.c.
 *
 * The contract the workflows rely on: a notification that could not be
 * delivered is NOT an error of the notify action. notify_send() reports it
 * in struct notify_result (delivered = false plus an error code and
 * message) and returns 0; only bad input and SIGTERM make it return -1. So a
 * scaling workflow never fails because Slack was down, unless the caller
 * asked for that (the action's fail_on_error).
 *
 * Secrets: a webhook URL is a credential (Slack's path IS the token), and
 * webhook headers often carry one. notify_check() registers them, and the
 * URL's path and token on their own, with secret_register(), and requests
 * are made with http's secret_url, so no log line, error message or result
 * ever shows more than the URL's scheme and host. */
#ifndef AS_NOTIFY_H
#define AS_NOTIFY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "params.h"

#define NOTIFY_EVENT_MAX 40      /* ^[a-z_]{1,40}$ */
#define NOTIFY_MESSAGE_MAX 2000  /* characters of free text (maxLength) */
#define NOTIFY_REASON_MAX 500    /* characters */
#define NOTIFY_COUNT_MAX 1000000000 /* asg_delete counts every node record, which a
                                       * person's add_node runs can take past max */
#define NOTIFY_HEADERS_MAX 16

/* The action's provider parameters (params.h), each with the pack config
 * key of its name. Which URL parameter a provider reads is its own
 * (notify_int.h's url_param). */
#define NOTIFY_PARAMS(X)                                                          \
    X(notify_provider, STR, "none", 0)                                            \
    X(slack_webhook_url, STR, NULL, PARAM_SECRET)                                 \
    X(webhook_url, STR, NULL, PARAM_SECRET)                                       \
    X(webhook_headers, STR, NULL, PARAM_SECRET)                                   \
    PARAMS_TLS(X)

struct notify_params {
    NOTIFY_PARAMS(PARAM_FIELD)
};

extern const struct param_desc notify_param_desc[];
extern const size_t notify_param_count;

/* What happened. Strings may be NULL (absent); every one is checked by
 * notify_check_event() before anything is sent. */
struct notify_event {
    const char *group;          /* a group name, or NULL */
    const char *event;          /* scale_out_started, node_up, ... */
    const char *message;        /* free text (UTF-8) */
    const char *reason;
    const char *node;           /* a node name */
    const char *channel;        /* #ops, @someone */
    long long count;            /* nodes concerned; -1: not given */
    struct json_object *counts; /* borrowed: asg_state_counts() of the group,
                                   or NULL when no group or it is unknown */
    long long at;               /* epoch seconds */
};

/* Where and how to deliver: the provider's settings from the parameters. */
struct notify_config {
    const char *url;              /* the provider's webhook URL (secret) */
    struct json_object *headers;  /* webhook: {"Name": "value"}, or NULL */
    const char *ca_bundle;        /* NULL: the system's */
};

/* How a delivery went. Filled by notify_send() whenever it returns 0. */
struct notify_result {
    bool delivered;
    const char *skipped;   /* "disabled" for provider none, else NULL */
    int attempts;          /* HTTP requests sent */
    long status;           /* last HTTP status, 0 if none came back */
    struct as_error error; /* why not delivered (code "" when delivered) */
};

/* Bad input, each AS_EXIT_BADINPUT "invalid_parameter": an event name not
 * ^[a-z_]{1,40}$, over-long text, a bad node name or channel, a count out
 * of [0, NOTIFY_COUNT_MAX]. */
int notify_check_event(const struct notify_event *ev, struct as_error *err);

/* The settings of `provider` from the parameters: the URL from the
 * parameter the provider names, headers parsed from webhook_headers (JSON)
 * when it takes them (cfg->headers: a new object, the caller's to put),
 * ca_bundle; then notify_check(). Strings are borrowed from p. */
int notify_config_read(const char *provider, const struct notify_params *p,
                       struct notify_config *cfg, struct as_error *err);

/* The provider's own checks plus the common ones (an http(s) URL with a
 * host; a missing URL is not bad input, see notify_send()), registering the
 * URL's path and token as secrets. Unknown provider: "unknown_provider". */
int notify_check(const char *provider, const struct notify_config *cfg,
                 struct as_error *err);

/* Deliver ev (notify_check() first). POSTs are retried on connection
 * errors, 429 (honouring Retry-After, capped) and 5xx, a few times. Returns
 * 0 with *res filled whether or not it was delivered; -1 with err only when
 * interrupted by a signal. */
int notify_send(const char *provider, const struct notify_config *cfg,
                const struct notify_event *ev, struct notify_result *res,
                struct as_error *err);

/* The action's result: delivered, skipped, provider, event, group, channel,
 * attempts, status, counts, and error when not delivered. */
struct json_object *notify_result_json(const char *provider,
                                       const struct notify_event *ev,
                                       const struct notify_result *res);

struct ds;

/* A group's notify_channel (copied into channel, "" if it has none) and
 * its node counts (*counts: asg_state_counts(), a new object). -1 with err
 * when the group is unknown or the store fails: the caller then notifies
 * without them, since the message matters more than its decoration. */
int notify_group_state(struct ds *ds, const char *name, char *channel, size_t size,
                       struct json_object **counts, struct as_error *err);

#endif
