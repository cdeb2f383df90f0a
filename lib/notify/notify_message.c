/* notify_message.c - the text every provider builds its message from
 * (notify_int.h): the one-line summary, what a count means, Slack's
 * escaping, and the time. */
#include "notify_int.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    char *out = xmalloc((cut ? room + 3 : full) + 1), *w = out;

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
    fprintf(f, ": %s", e);
    free(e);
}

char *notify_text(const struct notify_event *ev, bool mrkdwn)
{
    char *buf = NULL, change[96];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) /* a stream in memory: only memory fails */
        xalloc_die(0);
    /* group, event and node are validated names: nothing to escape */
    fprintf(f, "[autoscale] %s%s%s", ev->group ? ev->group : "", ev->group ? ": " : "",
            ev->event ? ev->event : "");
    part(f, ev->node, false);
    notify_change(ev, change, sizeof change);
    part(f, change, false);
    part(f, ev->reason, mrkdwn);
    part(f, ev->message, mrkdwn);
    if (fclose(f) != 0)
        xalloc_die(0);
    return buf;
}
