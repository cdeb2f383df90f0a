/* notify.c - the table of notification providers, the checks and message
 * building they share, and delivery (see notify.h). A provider only says
 * what to POST; how it is sent, retried and judged is here, once. */
#include "notify.h"

#include "asg.h"
#include "group.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "node.h"
#include "secret.h"
#include "st2.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

extern const struct notify_ops notify_slack_ops;
extern const struct notify_ops notify_webhook_ops;

/* "none": notifications switched off. Nothing to check, nothing to send. */
static const struct notify_ops notify_none_ops = {"none", NULL, NULL, NULL, false};

static const struct notify_ops *const providers[] = {
    &notify_slack_ops,
    &notify_webhook_ops,
    &notify_none_ops,
};

/* Delivery budget. st2 kills an action after 60 s by default; the worst
 * case here is 4 attempts x 8 s plus 3 waits of at most 5 s = 47 s. */
#define NOTIFY_ATTEMPTS 4
#define NOTIFY_CONNECT_MS 3000
#define NOTIFY_TIMEOUT_MS 8000
#define NOTIFY_BACKOFF_MS 500
#define NOTIFY_WAIT_MAX_MS 5000 /* also caps Retry-After: a minute-long
                                   Retry-After would outlive the action */

const struct notify_ops *notify_lookup(const char *name)
{
    for (size_t i = 0; name && i < sizeof providers / sizeof providers[0]; i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

/* ------------------------------------------------------------- checks -- */

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
    size_t n = s ? strlen(s) : 0, chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (chars > max || !jx_utf8_valid(s ? s : "", n))
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

/* The authority of an http(s) URL: where it starts and how long it is;
 * -1 when the URL is not one. */
static int url_host(const char *url, const char **host, size_t *len)
{
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else
        return -1;
    size_t n = strcspn(p, "/?#");
    const char *at = memrchr(p, '@', n);
    *host = at ? at + 1 : p;
    *len = n - (size_t)(*host - p);
    return *len ? 0 : -1;
}

static bool loopback(const char *host, size_t len)
{
    return (len >= 4 && strncmp(host, "127.", 4) == 0) ||
           (len >= 9 && strncasecmp(host, "localhost", 9) == 0 &&
            (len == 9 || host[9] == ':')) ||
           (len >= 5 && strncmp(host, "[::1]", 5) == 0);
}

/* Register what of the URL is a credential on its own: its path (Slack's
 * /services/T.../B.../<token>) and the last path segment, so a server
 * that echoes only the path or the token still cannot make us print it.
 * The whole URL was registered when the parameter was read. */
static void register_url_secrets(const char *host, size_t hlen)
{
    const char *path = host + hlen;
    secret_register(path);
    size_t plen = strcspn(path, "?#");
    while (plen && path[plen - 1] == '/')
        plen--;
    const char *last = path + plen;
    while (last > path && last[-1] != '/')
        last--;
    size_t llen = (size_t)(path + plen - last);
    /* 8 bytes at least: shorter segments ("hook", "v1") are not tokens and
     * masking them would garble ordinary words in every log line. */
    if (llen >= 8 && llen < 512) {
        char seg[512];
        memcpy(seg, last, llen);
        seg[llen] = '\0';
        secret_register(seg);
    }
}

static int check_url(const struct notify_ops *ops, const char *url, struct as_error *err)
{
    const char *host;
    size_t hlen;
    bool ok = url_host(url, &host, &hlen) == 0;
    for (const char *p = url; ok && *p; p++)
        ok = (unsigned char)*p > 0x20 && *p != 0x7f;
    /* Never echo the value: it is the credential. */
    if (!ok)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be an http(s) URL with a host",
                       ops->url_param);
    register_url_secrets(host, hlen);
    if (strncasecmp(url, "http://", 7) == 0 && !loopback(host, hlen))
        log_warn("%s is plain http: its token travels unencrypted", ops->url_param);
    return 0;
}

int notify_check(const char *provider, const struct notify_config *cfg,
                 struct as_error *err)
{
    const struct notify_ops *ops = notify_lookup(provider);
    if (!ops)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_provider",
                       "no notification provider named '%.40s' (slack, webhook, none)",
                       provider ? provider : "");
    if (!ops->payload)
        return 0; /* none: its settings do not matter */
    if (cfg->url && *cfg->url && check_url(ops, cfg->url, err) < 0)
        return -1;
    if (cfg->ca_bundle && access(cfg->ca_bundle, R_OK) != 0)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'ca_bundle': %.200s is not readable", cfg->ca_bundle);
    return ops->check ? ops->check(cfg, err) : 0;
}

/* --------------------------------------------------- message building -- */

/* Bytes in the UTF-8 character starting at s (at least 1, never past NUL). */
static size_t char_len(const char *s)
{
    size_t n = 1;
    while (s[n] && ((unsigned char)s[n] & 0xC0) == 0x80)
        n++;
    return n;
}

static const char *entity(char c)
{
    return c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : NULL;
}

static size_t escaped_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += entity(*s) ? strlen(entity(*s)) : 1;
    return n;
}

char *notify_escape(const char *s, size_t max)
{
    s = s ? s : "";
    size_t full = escaped_len(s);
    bool cut = full > max;
    size_t room = cut ? (max > 3 ? max - 3 : 0) : full;
    char *out = malloc((cut ? room + 3 : full) + 1), *w = out;

    if (!out)
        return NULL;
    /* Whole characters and whole entities only: half an "&amp;" or half a
     * UTF-8 sequence would make Slack refuse the payload. */
    while (*s) {
        const char *e = entity(*s);
        size_t in = e ? 1 : char_len(s), add = e ? strlen(e) : in;
        if ((size_t)(w - out) + add > room)
            break;
        memcpy(w, e ? e : s, add);
        w += add;
        s += in;
    }
    if (cut) {
        size_t dots = max < 3 ? max : 3;
        memcpy(w, "...", dots);
        w += dots;
    }
    *w = '\0';
    return out;
}

void notify_time(long long at, char *buf, size_t size)
{
    time_t t = (time_t)at;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, size, "%lld", at);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

void notify_change(const struct notify_event *ev, char *buf, size_t size)
{
    buf[0] = '\0';
    if (ev->count < 0)
        return;
    const char *ev_name = ev->event ? ev->event : "";
    int sign = starts_with(ev_name, "scale_out") ? 1 : starts_with(ev_name, "scale_in") ? -1 : 0;
    const char *noun = ev->count == 1 ? "node" : "nodes";
    int n = snprintf(buf, size, "%s%lld %s", sign > 0 ? "+" : sign < 0 ? "-" : "",
                     ev->count, noun);
    struct json_object *cap;
    if (!ev->counts || !json_object_object_get_ex(ev->counts, "capacity", &cap) ||
        n < 0 || (size_t)n >= size)
        return;
    long long c = json_object_get_int64(cap);
    /* Before the change is made, show where it leads; afterwards the counts
     * already include it, so show them as they are. */
    if (sign && ends_with(ev_name, "_started")) {
        long long to = c + sign * ev->count;
        snprintf(buf + n, size - (size_t)n, " (%lld -> %lld)", c, to < 0 ? 0 : to);
    } else {
        snprintf(buf + n, size - (size_t)n, " (capacity %lld)", c);
    }
}

/* Append ": " and s (escaped for mrkdwn if asked) when s is non-empty. */
static void part(FILE *f, const char *s, bool mrkdwn)
{
    if (!s || !*s)
        return;
    if (!mrkdwn) {
        fprintf(f, ": %s", s);
        return;
    }
    char *e = notify_escape(s, SIZE_MAX);
    if (e)
        fprintf(f, ": %s", e);
    free(e);
}

char *notify_text(const struct notify_event *ev, bool mrkdwn)
{
    char *buf = NULL, change[96];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    /* group, event and node are validated names: nothing to escape */
    fprintf(f, "[autoscale] %s%s%s", ev->group ? ev->group : "", ev->group ? ": " : "",
            ev->event ? ev->event : "");
    part(f, ev->node, false);
    notify_change(ev, change, sizeof change);
    part(f, change, false);
    part(f, ev->reason, mrkdwn);
    part(f, ev->message, mrkdwn);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ------------------------------------------------------------ delivery -- */

static void result_fail(struct notify_result *res, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void result_fail(struct notify_result *res, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    as_failv(&res->error, AS_EXIT_FAILURE, code, fmt, ap);
    va_end(ap);
    res->delivered = false;
}

/* "Content-Type: application/json" plus the configured headers, when the
 * provider takes them. A NULL-terminated list of new strings. */
static char **request_headers(const struct notify_ops *ops, const struct notify_config *cfg)
{
    size_t n = ops->takes_headers && cfg->headers ? (size_t)json_object_object_length(cfg->headers) : 0;
    char **list = calloc(n + 2, sizeof *list);
    size_t k = 0;
    bool own_type = false;

    if (!list)
        return NULL;
    if (n) {
        json_object_object_foreach(cfg->headers, name, val) {
            own_type |= strcasecmp(name, "Content-Type") == 0;
            if (asprintf(&list[k], "%s: %s", name, json_object_get_string(val)) < 0)
                list[k] = NULL;
            else
                k++;
        }
    }
    if (!own_type)
        list[k++] = strdup("Content-Type: application/json");
    return list;
}

static void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

/* Turn a reply into the result: any 2xx is delivered (Slack says 200 "ok");
 * anything else, after the retries, is reported with the server's words,
 * which for Slack are plain text such as "invalid_payload". */
static void judge(const struct notify_ops *ops, const char *host,
                  const struct http_response *r, struct notify_result *res)
{
    res->status = r->status;
    if (r->status >= 200 && r->status <= 299) {
        res->delivered = true;
        return;
    }
    char *text = http_error_text(r); /* scrubbed, one line, bounded */
    const char *code = r->status == 429  ? "notify_rate_limited"
                       : r->status >= 500 ? "notify_server_error"
                                          : "notify_rejected";
    result_fail(res, code, "%s webhook at %s answered HTTP %ld: %s (%d attempt%s)",
                ops->name, host, r->status, text ? text : "(no text)", r->attempts,
                r->attempts == 1 ? "" : "s");
    free(text);
}

static void http_opts(struct http_options *o, const struct notify_config *cfg)
{
    http_options_default(o);
    o->connect_timeout_ms = NOTIFY_CONNECT_MS;
    o->timeout_ms = NOTIFY_TIMEOUT_MS;
    o->max_attempts = NOTIFY_ATTEMPTS;
    o->backoff_base_ms = NOTIFY_BACKOFF_MS;
    o->backoff_max_ms = NOTIFY_WAIT_MAX_MS;
    o->ca_bundle = cfg->ca_bundle;
}

/* POST body to the provider's URL. -1 only when interrupted. */
static int post(const struct notify_ops *ops, const struct notify_config *cfg,
                const char *body, struct notify_result *res, struct as_error *err)
{
    struct http_options o;
    struct as_error herr;
    struct http_response resp;
    const char *host;
    size_t hlen;
    char shown[256];

    if (url_host(cfg->url, &host, &hlen) < 0) /* notify_check() refused those */
        hlen = 0;
    snprintf(shown, sizeof shown, "%.*s", (int)(hlen < 200 ? hlen : 200), host);

    http_opts(&o, cfg);
    char **headers = request_headers(ops, cfg);
    struct http_client *c = headers ? http_client_new(&o, &herr) : NULL;
    if (!c) {
        free_list(headers);
        if (!headers)
            return as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
        result_fail(res, herr.code, "%s", herr.message);
        return 0;
    }
    /* retry = 1: a POST is retried on 429, 5xx and connection errors even
     * though a 5xx or a cut connection may come after Slack posted it. A
     * duplicate message is better than none: the people reading the channel
     * can tell, a missing "node failed" they cannot. secret_url: the path is
     * the credential, log only scheme and host. */
    struct http_request req = {
        .method = "POST", .url = cfg->url, .headers = (const char *const *)headers,
        .body = body, .body_len = strlen(body), .retry = 1, .secret_url = 1,
    };
    int rc = http_do(c, &req, &resp, &herr);
    res->attempts = resp.attempts;
    if (rc < 0) {
        res->status = 0;
        if (strcmp(herr.code, "interrupted") == 0 || strcmp(herr.code, "out_of_memory") == 0) {
            *err = herr;
            rc = -1;
        } else {
            result_fail(res, herr.code, "%s webhook: %s", ops->name, herr.message);
            rc = 0;
        }
    } else {
        judge(ops, shown, &resp, res);
    }
    http_response_free(&resp);
    http_client_free(c);
    free_list(headers);
    return rc;
}

int notify_send(const char *provider, const struct notify_config *cfg,
                const struct notify_event *ev, struct notify_result *res,
                struct as_error *err)
{
    const struct notify_ops *ops = notify_lookup(provider);

    memset(res, 0, sizeof *res);
    as_error_clear(&res->error);
    if (!ops)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_provider",
                       "no notification provider named '%.40s'", provider ? provider : "");
    if (!ops->payload) {
        res->skipped = "disabled";
        log_info("notifications are disabled (notify_provider none): %s not sent",
                 ev->event);
        return 0;
    }
    if (!cfg->url || !*cfg->url) {
        result_fail(res, "notify_not_configured",
                    "notify_provider is %s but %s is not set (pack config)", ops->name,
                    ops->url_param);
        log_warn("%s", res->error.message);
        return 0;
    }

    struct json_object *doc = ops->payload(ev);
    char *body = doc ? jx_dump(doc) : NULL;
    json_object_put(doc);
    if (!body)
        return as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
    int rc = post(ops, cfg, body, res, err);
    free(body);
    if (rc < 0)
        return -1;
    if (res->delivered)
        log_info("%s: %s %s delivered (%d attempt%s)", ops->name, ev->group ? ev->group : "-",
                 ev->event, res->attempts, res->attempts == 1 ? "" : "s");
    else
        log_warn("%s: %s %s not delivered: %s", ops->name, ev->group ? ev->group : "-",
                 ev->event, res->error.message);
    return 0;
}

/* -------------------------------------------------------------- result -- */

struct json_object *notify_result_json(const char *provider, const struct notify_event *ev,
                                       const struct notify_result *res)
{
    struct json_object *o = json_object_new_object();
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
        struct json_object *e = json_object_new_object();
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
    asg_state_free(&st);
    return 0;
}
