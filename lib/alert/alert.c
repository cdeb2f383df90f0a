/* alert.c - see alert.h for the formats and the detection rules.
 *
 * Everything here reads text from the internet, so: every copy is bounded,
 * every output string goes through one cleaner (struct outbuf), and no loop
 * does more than linear work in the size of the body (names are capped
 * before de-duplication, alerts are capped before allocation). */
#include "alert.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "jsonx.h"
#include "log.h"
#include "utf8.h"
#include "xalloc.h"

/* ---------------------------------------------------------------------------
 * Cleaning text: valid UTF-8, one line, no controls, cut at a boundary.
 * ------------------------------------------------------------------------ */

/* An appender into a fixed buffer. Runs of white space and controls become
 * one space, never leading or trailing, so a title stays on one line. Once a
 * character does not fit, the buffer is full: nothing later is added, so a
 * cut never skips a wide character and keeps a narrower one after it. */
struct outbuf {
    char *buf;
    size_t size, len;
    bool space; /* a space is owed before the next visible character */
    bool full;
};

static void ob_init(struct outbuf *o, char *buf, size_t size)
{
    o->buf = buf;
    o->size = size;
    o->len = 0;
    o->space = false;
    o->full = size == 0;
    if (size)
        buf[0] = '\0';
}

/* Length of the valid UTF-8 sequence at p (at most avail bytes) and its code
 * point, or 0 if it is not one (overlong, surrogate, cut short, > U+10FFFF). */
static size_t utf8_seq(const unsigned char *p, size_t avail, unsigned *cpout)
{
    unsigned c = p[0], cp;
    size_t n;

    if (c < 0x80) {
        *cpout = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0)
        n = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        n = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *cpout = cp;
    return n;
}

/* C0, DEL, C1 and the Unicode line/paragraph separators: all break a line
 * or a terminal, none belong in a title. */
static bool is_control(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

static void ob_emit(struct outbuf *o, const char *bytes, size_t n)
{
    size_t need = n + (o->space && o->len ? 1 : 0);
    if (o->full || o->len + need + 1 > o->size) {
        o->full = true;
        return;
    }
    if (o->space && o->len)
        o->buf[o->len++] = ' ';
    o->space = false;
    memcpy(o->buf + o->len, bytes, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void ob_put(struct outbuf *o, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end && !o->full) {
        unsigned cp;
        size_t n = utf8_seq(p, (size_t)(end - p), &cp);
        if (n == 0) {
            ob_emit(o, "\xEF\xBF\xBD", 3); /* U+FFFD for each bad byte */
            p++;
        } else if (cp == ' ' || is_control(cp)) {
            o->space = true;
            p += n;
        } else {
            ob_emit(o, (const char *)p, n);
            p += n;
        }
    }
}

static void ob_puts(struct outbuf *o, const char *s)
{
    if (s)
        ob_put(o, s, strlen(s));
}

/* Copy cleaned text into a fixed field. */
static void set_text(char *dst, size_t size, const char *s, size_t len)
{
    struct outbuf o;
    ob_init(&o, dst, size);
    ob_put(&o, s, len);
}

/* A short, quoted-safe excerpt of untrusted text for an error message. */
static const char *excerpt(char *buf, size_t size, const char *s, size_t len)
{
    set_text(buf, size, s, len);
    return buf;
}

/* ---------------------------------------------------------------------------
 * Reading json-c values leniently: strings or numbers, any case, any type.
 * ------------------------------------------------------------------------ */

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (json_object_is_type(o, json_type_object))
        json_object_object_get_ex(o, key, &v);
    return v;
}

/* A field whose key matches in any case (label keys are user-typed). An
 * exact match wins; otherwise one linear pass over the object. */
static struct json_object *get_ci(struct json_object *o, const char *key)
{
    struct json_object *v = get(o, key);
    if (v || !json_object_is_type(o, json_type_object))
        return v;
    json_object_object_foreach(o, k, val) {
        if (strcasecmp(k, key) == 0)
            return val;
    }
    return NULL;
}

/* The text of a string, or a number rendered in decimal (numbers-as-text
 * and text-as-numbers are both common). NULL for anything else. */
struct text {
    const char *s;
    size_t len;
    char num[32];
};

static bool value_text(struct json_object *v, struct text *t)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        t->s = json_object_get_string(v);
        t->len = (size_t)json_object_get_string_len(v);
        return true;
    case json_type_int:
        snprintf(t->num, sizeof t->num, "%lld", (long long)json_object_get_int64(v));
        break;
    case json_type_double: {
        double d = json_object_get_double(v);
        if (isfinite(d) && d == floor(d) && fabs(d) < 9e15)
            snprintf(t->num, sizeof t->num, "%lld", (long long)d);
        else
            snprintf(t->num, sizeof t->num, "%.17g", d);
        break;
    }
    default:
        return false;
    }
    t->s = t->num;
    t->len = strlen(t->num);
    return true;
}

/* A field's text, or NULL (missing, null, object, array, bool). */
static const char *field_text(struct json_object *o, const char *key, struct text *t)
{
    return value_text(get(o, key), t) ? t->s : NULL;
}

/* A short string value for comparisons (states, severities), trimmed;
 * "" when absent or not text. Longer values are cut: no known value is. */
static const char *word(struct json_object *v, char *buf, size_t size)
{
    struct text t;
    buf[0] = '\0';
    if (value_text(v, &t))
        set_text(buf, size, t.s, t.len);
    return buf;
}

/* An integer from a number or a numeric string ("1713755131352"). */
static bool value_ll(struct json_object *v, long long *out)
{
    switch (json_object_get_type(v)) {
    case json_type_int:
        *out = (long long)json_object_get_int64(v);
        return true;
    case json_type_double: {
        double d = json_object_get_double(v);
        if (!isfinite(d) || fabs(d) > 9e18)
            return false;
        *out = (long long)d;
        return true;
    }
    case json_type_string: {
        const char *s = json_object_get_string(v);
        char *end;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            return false;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (*end == '.' || *end == 'e' || *end == 'E') { /* "1.7e12", "12.0" */
            double d = strtod(s, &end);
            if (!isfinite(d) || fabs(d) > 9e18)
                return false;
            x = (long long)d;
        } else if (errno) {
            return false;
        }
        while (isspace((unsigned char)*end))
            end++;
        if (*end)
            return false;
        *out = x;
        return true;
    }
    default:
        return false;
    }
}

/* Epoch milliseconds (New Relic's timestamps) to seconds; 0 if unknown. */
static long long ms_to_s(struct json_object *v)
{
    long long ms;
    return value_ll(v, &ms) && ms > 0 ? ms / 1000 : 0;
}

/* ---- RFC 3339 ---- */

static bool digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, const char *set)
{
    if (!**p || !strchr(set, **p))
        return false;
    (*p)++;
    return true;
}

/* "2023-02-06T13:08:45.828Z", "2013-07-23T20:14:15+00:00": epoch seconds,
 * or 0 when unparsable or before 1970 (Alertmanager's "no end" is year 1). */
static long long parse_rfc3339(const char *s)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
    int sign = 0;
    const char *p = s;

    if (!s)
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (!digits(&p, 4, &y) || !expect(&p, "-") || !digits(&p, 2, &mo) ||
        !expect(&p, "-") || !digits(&p, 2, &d) || !expect(&p, "Tt ") ||
        !digits(&p, 2, &h) || !expect(&p, ":") || !digits(&p, 2, &mi) ||
        !expect(&p, ":") || !digits(&p, 2, &sec))
        return 0;
    if (*p == '.' || *p == ',')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (!digits(&p, 2, &oh) || !expect(&p, ":") || !digits(&p, 2, &om))
            return 0;
    } else {
        return 0;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        sec > 60 || oh > 23 || om > 59)
        return 0;
    long long t = as_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (long long)(oh * 3600 + om * 60);
    return t > 0 ? t : 0;
}

/* A time given as RFC 3339 text, or as epoch seconds or milliseconds. */
static long long any_time(struct json_object *v)
{
    long long x;
    if (json_object_is_type(v, json_type_string)) {
        long long t = parse_rfc3339(json_object_get_string(v));
        if (t)
            return t;
    }
    if (!value_ll(v, &x) || x <= 0)
        return 0;
    return x > 100000000000LL ? x / 1000 : x; /* 1e11 s is year 5138 */
}

/* ---- hashing ---- */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* Hash a field separated from the next, so ("ab","c") != ("a","bc"). */
static uint64_t fnv1a_field(uint64_t h, const char *s, size_t len)
{
    h = fnv1a(h, s, len);
    return fnv1a(h, "", 1);
}

/* ---------------------------------------------------------------------------
 * Building events.
 * ------------------------------------------------------------------------ */

struct batch {
    struct alert_event *ev;
    size_t n, cap;
};

static struct alert_event *event_new(struct batch *b, const char *source)
{
    b->ev = xgrow(b->ev, b->n + 1, &b->cap, sizeof *b->ev);
    struct alert_event *e = &b->ev[b->n];
    memset(e, 0, sizeof *e);
    e->names = xcalloc(ALERT_NAMES_MAX + 1, sizeof *e->names);
    e->source = source;
    e->severity = ALERT_WARNING;
    b->n++;
    return e;
}

static void ignore(struct alert_event *e, const char *why)
{
    e->state = ALERT_IGNORE;
    snprintf(e->why, sizeof e->why, "%s", why);
}

/* Add one routing name: cleaned, cut, non-empty, not already present (in
 * any case). At most ALERT_NAMES_MAX, so the duplicate scan stays bounded. */
static void name_add(struct alert_event *e, const char *s, size_t len)
{
    char buf[ALERT_NAME_MAX];
    size_t i;

    set_text(buf, sizeof buf, s, len);
    if (!buf[0])
        return;
    for (i = 0; e->names[i]; i++)
        if (strcasecmp(e->names[i], buf) == 0)
            return;
    if (i >= ALERT_NAMES_MAX)
        return;
    e->names[i] = xstrdup(buf);
}

static bool names_full(const struct alert_event *e)
{
    return e->names[ALERT_NAMES_MAX - 1] != NULL;
}

static void name_field(struct alert_event *e, struct json_object *o,
                       const char *key)
{
    struct text t;
    if (field_text(o, key, &t))
        name_add(e, t.s, t.len);
}

/* Names from a string, or an array of strings (or of objects with a
 * `member` field, such as targets[].name) - stops early once full. */
static void name_list(struct alert_event *e, struct json_object *v,
                      const char *member)
{
    struct text t;
    if (!json_object_is_type(v, json_type_array)) {
        if (!member && value_text(v, &t))
            name_add(e, t.s, t.len);
        return;
    }
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n && !names_full(e); i++) {
        struct json_object *item = json_object_array_get_idx(v, i);
        if (member)
            item = get(item, member);
        if (value_text(item, &t))
            name_add(e, t.s, t.len);
    }
}

static int bad(struct as_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad(struct as_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    as_failv(err, AS_EXIT_BADINPUT, "invalid_payload", fmt, ap);
    va_end(ap);
    return -1;
}

static const char *type_name(struct json_object *v)
{
    return json_type_to_name(json_object_get_type(v));
}

/* The incident id: a string or an integer, kept exactly as given or
 * refused - never cut or cleaned, since either could merge two incidents.
 * Missing or null leaves "". */
static int set_id_value(struct alert_event *e, struct json_object *v, const char *what,
                        struct as_error *err)
{
    struct text t;
    char ex[48];

    if (!v)
        return 0;
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!isfinite(d) || d != floor(d) || fabs(d) >= 9e15)
            return bad(err, "%s must be a string or an integer, got %.17g", what, d);
    }
    if (!value_text(v, &t))
        return bad(err, "%s must be a string or a number, not %s", what, type_name(v));
    if (t.len >= sizeof e->id)
        return bad(err, "%s is %zu bytes long, the limit is %zu", what, t.len,
                   sizeof e->id - 1);
    if (!utf8_valid(t.s, t.len))
        return bad(err, "%s is not valid UTF-8", what);
    for (size_t i = 0; i < t.len;) {
        unsigned cp;
        size_t n = utf8_seq((const unsigned char *)t.s + i, t.len - i, &cp);
        if (is_control(cp))
            return bad(err, "%s '%s' holds control characters", what,
                       excerpt(ex, sizeof ex, t.s, t.len));
        i += n; /* n >= 1: the whole id was checked valid above */
    }
    memcpy(e->id, t.s, t.len);
    e->id[t.len] = '\0';
    return 0;
}

/* An `asg` value: a string, or an array whose first string is taken. */
static bool asg_text(struct json_object *v, struct text *t)
{
    if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            struct json_object *item = json_object_array_get_idx(v, i);
            if (json_object_is_type(item, json_type_string)) {
                v = item;
                break;
            }
        }
    }
    return json_object_is_type(v, json_type_string) && value_text(v, t);
}

/* Set the group from an asg value if there is one and none is set yet.
 * Returns -1 for a name too long to be a group: cutting it could route the
 * alert to another group. */
static int group_from(struct alert_event *e, struct json_object *v, struct as_error *err)
{
    struct text t;
    char buf[ALERT_NAME_MAX];

    if (e->group[0] || !asg_text(v, &t))
        return 0;
    set_text(buf, sizeof buf, t.s, t.len);
    size_t len = strlen(buf);
    if (len >= sizeof e->group) {
        char ex[40];
        return bad(err, "asg label '%s...' is longer than %zu characters",
                   excerpt(ex, sizeof ex, buf, len), sizeof e->group - 1);
    }
    for (size_t i = 0; i < len; i++) /* ASCII only: never split a UTF-8 byte */
        e->group[i] = buf[i] >= 'A' && buf[i] <= 'Z' ? (char)(buf[i] - 'A' + 'a') : buf[i];
    e->group[len] = '\0';
    return 0;
}

/* The usual places users put a group: a top-level `asg`, or an `asg` entry
 * in a `labels` or `tags` object. */
static int group_common(struct alert_event *e, struct json_object *o, struct as_error *err)
{
    if (group_from(e, get(o, "asg"), err) < 0 ||
        group_from(e, get_ci(jx_obj(o, "labels"), "asg"), err) < 0 ||
        group_from(e, get_ci(jx_obj(o, "tags"), "asg"), err) < 0)
        return -1;
    return 0;
}

/* First text field of a list that is present and non-empty, as the title. */
static void title_first(struct alert_event *e, struct json_object *o, const char *const *keys)
{
    struct text t;
    for (; *keys && !e->title[0]; keys++)
        if (field_text(o, *keys, &t))
            set_text(e->title, sizeof e->title, t.s, t.len);
}

static int unknown_state(struct as_error *err, const char *family, const char *field,
                         const char *value)
{
    char ex[48];
    return bad(err, "unknown %s %s '%s'", family, field,
               excerpt(ex, sizeof ex, value, strlen(value)));
}

/* ---------------------------------------------------------------------------
 * New Relic legacy (APM alerts, form field `alert` or `deployment`).
 * ------------------------------------------------------------------------ */

/* A form field may be a string or, when a parser kept every value, a list
 * of strings. */
static struct json_object *form_value(struct json_object *v)
{
    if (json_object_is_type(v, json_type_array) && json_object_array_length(v) >= 1)
        v = json_object_array_get_idx(v, 0);
    return v;
}

static bool json_text_like(struct json_object *v)
{
    v = form_value(v);
    if (json_object_is_type(v, json_type_object))
        return true;
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    while (isspace((unsigned char)*s))
        s++;
    return *s == '{';
}

static bool is_legacy(struct json_object *b)
{
    return json_text_like(get(b, "alert")) || json_text_like(get(b, "deployment"));
}

/* The object inside a legacy field: given as an object, or JSON text to
 * parse. *owned receives what the caller must put. */
static struct json_object *legacy_inner(struct json_object *v, const char *field,
                                        struct json_object **owned, struct as_error *err)
{
    *owned = NULL;
    v = form_value(v);
    if (json_object_is_type(v, json_type_object))
        return v;
    struct as_error perr;
    struct json_object *o = jx_parse(json_object_get_string(v),
                                     (size_t)json_object_get_string_len(v), field,
                                     "invalid_payload", AS_EXIT_BADINPUT, &perr);
    if (!o) {
        bad(err, "New Relic legacy %s", perr.message);
        return NULL;
    }
    if (!json_object_is_type(o, json_type_object)) {
        bad(err, "New Relic legacy %s field holds JSON %s, expected an object", field,
            type_name(o));
        json_object_put(o);
        return NULL;
    }
    *owned = o;
    return o;
}

struct phrase {
    const char *text;
    enum alert_state state;
};

/* The state is only the first words of long_description. */
static const struct phrase legacy_phrases[] = {
    {"alert opened", ALERT_OPEN},
    {"alert escalated to downtime", ALERT_OPEN},
    {"alert ended", ALERT_CLOSED},
    {"alert canceled", ALERT_CLOSED},
    {"alert cancelled", ALERT_CLOSED},
    {"alert downtime recovered", ALERT_CLOSED},
    {"alert acknowledged", ALERT_IGNORE},
};

static bool legacy_state_of(const char *s, bool anywhere, enum alert_state *st)
{
    if (!s)
        return false;
    while (isspace((unsigned char)*s))
        s++;
    for (size_t i = 0; i < sizeof legacy_phrases / sizeof *legacy_phrases; i++) {
        const char *ph = legacy_phrases[i].text;
        if (anywhere ? strcasestr(s, ph) != NULL : strncasecmp(s, ph, strlen(ph)) == 0) {
            *st = legacy_phrases[i].state;
            return true;
        }
    }
    return false;
}

static int legacy_state(struct alert_event *e, struct json_object *a, struct as_error *err)
{
    struct text lt, st;
    const char *ld = field_text(a, "long_description", &lt);
    const char *sd = field_text(a, "short_description", &st);
    enum alert_state s;

    if (legacy_state_of(ld, false, &s) || legacy_state_of(sd, true, &s)) {
        e->state = s;
        if (s == ALERT_IGNORE)
            ignore(e, "acknowledged");
        return 0;
    }
    if (!ld)
        return bad(err, "New Relic legacy alert has no long_description to read its "
                        "state from");
    return unknown_state(err, "New Relic legacy", "long_description", ld);
}

/* "https://rpm.newrelic.com/accounts/1/applications/2/incidents/12345":
 * the incident number, if the URL's path ends in one. */
static bool url_trailing_number(const char *url, size_t len, char *out, size_t size)
{
    size_t end = strcspn(url, "?#"), start; /* the path only */
    if (end > len)
        end = len;
    while (end > 0 && url[end - 1] == '/')
        end--;
    start = end;
    while (start > 0 && isdigit((unsigned char)url[start - 1]))
        start--;
    if (start == end || end - start >= size || end - start > 20)
        return false;
    if (start > 0 && url[start - 1] != '/')
        return false;
    memcpy(out, url + start, end - start);
    out[end - start] = '\0';
    return true;
}

static void legacy_id(struct alert_event *e, struct json_object *a)
{
    struct text t;
    if (field_text(a, "alert_url", &t) &&
        url_trailing_number(t.s, t.len, e->id, sizeof e->id))
        return;
    /* No incident number: the same policy on the same app/servers is taken
     * as the same incident, so its open and its close still pair up. */
    uint64_t h = FNV_OFFSET;
    static const char *const keys[] = {"alert_policy_name", "application_name", NULL};
    for (const char *const *k = keys; *k; k++)
        h = field_text(a, *k, &t) ? fnv1a_field(h, t.s, t.len) : fnv1a_field(h, "", 0);
    struct json_object *servers = get(a, "servers");
    size_t n = json_object_is_type(servers, json_type_array)
                   ? json_object_array_length(servers)
                   : 0;
    for (size_t i = 0; i < n; i++)
        if (value_text(json_object_array_get_idx(servers, i), &t))
            h = fnv1a_field(h, t.s, t.len);
    if (!n && value_text(servers, &t))
        h = fnv1a_field(h, t.s, t.len);
    snprintf(e->id, sizeof e->id, "legacy-%016llx", (unsigned long long)h);
}

static int legacy_deployment(struct batch *b, struct json_object *body,
                             struct as_error *err)
{
    struct json_object *owned = NULL, *d = NULL;
    struct text t;

    /* A deploy notice changes nothing whatever it holds, so unreadable
     * details are not an error; they only cost the title. */
    if (json_text_like(get(body, "deployment"))) {
        struct as_error ignored;
        d = legacy_inner(get(body, "deployment"), "deployment", &owned, &ignored);
    }
    struct alert_event *e = event_new(b, "newrelic_legacy");
    ignore(e, "deployment notice");
    if (field_text(d, "application_name", &t)) {
        struct outbuf o;
        ob_init(&o, e->title, sizeof e->title);
        ob_puts(&o, "deployment of ");
        ob_put(&o, t.s, t.len);
        if (field_text(d, "revision", &t)) {
            ob_puts(&o, " revision ");
            ob_put(&o, t.s, t.len);
        }
    }
    name_field(e, d, "application_name");
    e->at = parse_rfc3339(field_text(d, "created_at", &t));
    int rc = group_common(e, d, err) < 0 || group_common(e, body, err) < 0 ? -1 : 0;
    json_object_put(owned);
    return rc;
}

static int parse_legacy(struct batch *b, struct json_object *body, struct as_error *err)
{
    static const char *const titles[] = {"long_description", "message",
                                         "short_description", NULL};
    struct json_object *owned, *a;
    struct text t;
    char w[32];
    int rc = -1;

    if (!json_text_like(get(body, "alert")))
        return legacy_deployment(b, body, err);
    if (!(a = legacy_inner(get(body, "alert"), "alert", &owned, err)))
        return -1;
    struct alert_event *e = event_new(b, "newrelic_legacy");
    if (legacy_state(e, a, err) < 0)
        goto out;
    word(get(a, "severity"), w, sizeof w);
    if (strcasecmp(w, "critical") == 0 || strcasecmp(w, "downtime") == 0)
        e->severity = ALERT_CRITICAL;
    legacy_id(e, a);
    title_first(e, a, titles);
    e->at = parse_rfc3339(field_text(a, "created_at", &t));
    name_field(e, a, "application_name");
    name_list(e, get(a, "servers"), NULL);
    name_field(e, a, "alert_policy_name");
    if (group_common(e, a, err) < 0 || group_common(e, body, err) < 0)
        goto out;
    rc = 0;
out:
    json_object_put(owned);
    return rc;
}

/* ---------------------------------------------------------------------------
 * New Relic alerts notification channel (2016-2023).
 * ------------------------------------------------------------------------ */

static bool is_channel(struct json_object *b)
{
    return get(b, "current_state") ||
           (get(b, "incident_id") &&
            (get(b, "condition_name") || get(b, "policy_name") || get(b, "targets")));
}

static int channel_state(struct alert_event *e, struct json_object *b, struct as_error *err)
{
    char w[64];
    word(get(b, "current_state"), w, sizeof w);
    if (!w[0])
        return bad(err, "New Relic channel payload has no current_state");
    if (strcasecmp(w, "open") == 0)
        e->state = ALERT_OPEN;
    else if (strcasecmp(w, "closed") == 0)
        e->state = ALERT_CLOSED;
    else if (strcasecmp(w, "acknowledged") == 0)
        ignore(e, "acknowledged");
    else if (strcasecmp(w, "test") == 0) /* the channel's "send test" button */
        ignore(e, "test notification");
    else
        return unknown_state(err, "New Relic channel", "current_state", w);
    return 0;
}

/* The first target carrying an asg label names the group. */
static int channel_group(struct alert_event *e, struct json_object *b, struct as_error *err)
{
    if (group_from(e, get(b, "asg"), err) < 0)
        return -1;
    struct json_object *targets = jx_arr(b, "targets");
    size_t n = targets ? json_object_array_length(targets) : 0;
    for (size_t i = 0; i < n && !e->group[0]; i++) {
        struct json_object *labels = jx_obj(json_object_array_get_idx(targets, i), "labels");
        if (group_from(e, get_ci(labels, "asg"), err) < 0)
            return -1;
    }
    return group_common(e, b, err);
}

static int parse_channel(struct batch *b, struct json_object *body, struct as_error *err)
{
    static const char *const titles[] = {"condition_name", "details", "policy_name", NULL};
    char w[32];

    struct alert_event *e = event_new(b, "newrelic_channel");
    if (channel_state(e, body, err) < 0 ||
        set_id_value(e, get(body, "incident_id"), "incident_id", err) < 0 ||
        channel_group(e, body, err) < 0)
        return -1;
    if (strcasecmp(word(get(body, "severity"), w, sizeof w), "critical") == 0)
        e->severity = ALERT_CRITICAL;
    title_first(e, body, titles);
    e->at = ms_to_s(get(body, "timestamp"));
    name_field(e, body, "condition_name");
    name_field(e, body, "policy_name");
    name_list(e, get(body, "targets"), "name");
    return 0;
}

/* ---------------------------------------------------------------------------
 * New Relic Workflows (2022-), the default webhook template.
 * ------------------------------------------------------------------------ */

static const char *const workflow_markers[] = {
    "issueUrl",  "priority",  "impactedEntities", "alertPolicyNames", "alertConditionNames",
    "workflowName", "totalIncidents", "isCorrelated", "createdAt", "updatedAt", NULL};

static bool is_workflow(struct json_object *b)
{
    char w[32];
    for (const char *const *k = workflow_markers; *k; k++)
        if (get(b, *k))
            return true;
    word(get(b, "state"), w, sizeof w);
    return strcasecmp(w, "created") == 0 || strcasecmp(w, "activated") == 0 ||
           strcasecmp(w, "acknowledged") == 0;
}

static int workflow_state(struct alert_event *e, struct json_object *b, struct as_error *err)
{
    char w[64];
    word(get(b, "state"), w, sizeof w);
    if (!w[0])
        return bad(err, "New Relic workflow payload has no state");
    /* CREATED is an issue's first notification: it is already open. */
    if (strcasecmp(w, "created") == 0 || strcasecmp(w, "activated") == 0)
        e->state = ALERT_OPEN;
    else if (strcasecmp(w, "closed") == 0)
        e->state = ALERT_CLOSED;
    else if (strcasecmp(w, "acknowledged") == 0)
        ignore(e, "acknowledged");
    else
        return unknown_state(err, "New Relic workflow", "state", w);
    return 0;
}

/* NR renders {{annotations.title}} as a string or as an array of strings. */
static void workflow_title(struct alert_event *e, struct json_object *b)
{
    struct json_object *v = get(b, "title");
    struct text t;
    struct outbuf o;

    ob_init(&o, e->title, sizeof e->title);
    if (!json_object_is_type(v, json_type_array)) {
        if (value_text(v, &t))
            ob_put(&o, t.s, t.len);
        return;
    }
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n && !o.full; i++) {
        if (!value_text(json_object_array_get_idx(v, i), &t) || !t.len)
            continue;
        if (o.len)
            ob_puts(&o, ";");
        o.space = o.len > 0;
        ob_put(&o, t.s, t.len);
    }
}

static int parse_workflow(struct batch *b, struct json_object *body, struct as_error *err)
{
    char w[32];

    struct alert_event *e = event_new(b, "newrelic_workflow");
    struct json_object *id = get(body, "id");
    if (workflow_state(e, body, err) < 0 ||
        set_id_value(e, id ? id : get(body, "issueId"), id ? "id" : "issueId", err) < 0 ||
        group_common(e, body, err) < 0)
        return -1;
    word(get(body, "priority"), w, sizeof w);
    if (strcasecmp(w, "critical") == 0 || strcasecmp(w, "high") == 0)
        e->severity = ALERT_CRITICAL;
    workflow_title(e, body);
    e->at = ms_to_s(get(body, "updatedAt"));
    if (!e->at)
        e->at = ms_to_s(get(body, "createdAt"));
    name_list(e, get(body, "impactedEntities"), NULL);
    name_list(e, get(body, "alertPolicyNames"), NULL);
    name_list(e, get(body, "alertConditionNames"), NULL);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Prometheus Alertmanager, webhook version 4.
 * ------------------------------------------------------------------------ */

static bool is_alertmanager(struct json_object *b)
{
    return jx_arr(b, "alerts") != NULL;
}

static int am_state(struct alert_event *e, struct json_object *alert,
                    struct json_object *body, size_t i, struct as_error *err)
{
    char w[64], what[48];
    struct json_object *v = get(alert, "status");
    word(v ? v : get(body, "status"), w, sizeof w);
    if (strcasecmp(w, "firing") == 0)
        e->state = ALERT_OPEN;
    else if (strcasecmp(w, "resolved") == 0)
        e->state = ALERT_CLOSED;
    else if (!w[0])
        return bad(err, "Alertmanager alerts[%zu] has no status", i);
    else {
        snprintf(what, sizeof what, "alerts[%zu] status", i);
        return unknown_state(err, "Alertmanager", what, w);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Without a fingerprint, the alert's identity is its label set: hash the
 * pairs in key order so that the same labels in another order agree. */
static void am_label_hash(struct alert_event *e, struct json_object *labels)
{
    size_t n = labels ? (size_t)json_object_object_length(labels) : 0, k = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof *keys);
    struct text t;

    if (labels) {
        json_object_object_foreach(labels, key, val) {
            (void)val;
            keys[k++] = key;
        }
    }
    qsort(keys, k, sizeof *keys, cmp_str);
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < k; i++) {
        h = fnv1a_field(h, keys[i], strlen(keys[i]));
        bool ok = value_text(get(labels, keys[i]), &t);
        h = fnv1a_field(h, ok ? t.s : "", ok ? t.len : 0);
    }
    free(keys);
    snprintf(e->id, sizeof e->id, "%016llx", (unsigned long long)h);
}

/* What every alert of one body shares, looked up once: a case-insensitive
 * lookup scans an object, and commonLabels may be large. */
struct am_common {
    struct json_object *body;
    struct json_object *asg, *severity, *annotations;
};

static int am_one(struct batch *b, const struct am_common *c, struct json_object *alert,
                  size_t i, struct as_error *err)
{
    static const char *const names[] = {"alertname", "job", "service", "instance", NULL};
    static const char *const ann[] = {"summary", "description", NULL};
    struct json_object *labels = jx_obj(alert, "labels");
    char w[32], what[48];
    struct text t;

    if (!json_object_is_type(alert, json_type_object))
        return bad(err, "Alertmanager alerts[%zu] is %s, expected an object", i,
                   type_name(alert));
    struct alert_event *e = event_new(b, "alertmanager");
    snprintf(what, sizeof what, "alerts[%zu] fingerprint", i);
    if (am_state(e, alert, c->body, i, err) < 0 ||
        set_id_value(e, get(alert, "fingerprint"), what, err) < 0 ||
        group_from(e, get_ci(labels, "asg"), err) < 0 || group_from(e, c->asg, err) < 0)
        return -1;
    if (!e->id[0])
        am_label_hash(e, labels);
    struct json_object *sev = get_ci(labels, "severity");
    word(sev ? sev : c->severity, w, sizeof w);
    if (strcasecmp(w, "critical") == 0 || strcasecmp(w, "page") == 0 ||
        strcasecmp(w, "error") == 0)
        e->severity = ALERT_CRITICAL;
    title_first(e, jx_obj(alert, "annotations"), ann);
    title_first(e, c->annotations, ann);
    if (!e->title[0] && field_text(labels, "alertname", &t))
        set_text(e->title, sizeof e->title, t.s, t.len);
    if (e->state == ALERT_CLOSED)
        e->at = parse_rfc3339(jx_str(alert, "endsAt", NULL));
    if (!e->at)
        e->at = parse_rfc3339(jx_str(alert, "startsAt", NULL));
    for (const char *const *k = names; *k; k++)
        name_field(e, labels, *k);
    return 0;
}

static int parse_alertmanager(struct batch *b, struct json_object *body,
                              struct as_error *err)
{
    struct json_object *alerts = jx_arr(body, "alerts");
    struct json_object *labels = jx_obj(body, "commonLabels");
    struct am_common c = {body, get_ci(labels, "asg"), get_ci(labels, "severity"),
                          jx_obj(body, "commonAnnotations")};
    size_t n = alerts ? json_object_array_length(alerts) : 0;

    if (n == 0)
        return bad(err, "Alertmanager payload has an empty alerts array");
    if (n > ALERT_MAX_EVENTS) {
        log_warn("Alertmanager payload carries %zu alerts: only the first %d are used", n,
                 ALERT_MAX_EVENTS);
        n = ALERT_MAX_EVENTS;
    }
    for (size_t i = 0; i < n; i++)
        if (am_one(b, &c, json_object_array_get_idx(alerts, i), i, err) < 0)
            return -1;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Generic: the pack's own minimal form.
 * ------------------------------------------------------------------------ */

static bool is_generic(struct json_object *b)
{
    return get(b, "state") || get(b, "status");
}

static int generic_state(struct alert_event *e, struct json_object *b, struct as_error *err)
{
    char w[64];
    struct json_object *v = get(b, "state");
    word(v ? v : get(b, "status"), w, sizeof w);
    if (!w[0])
        return bad(err, "generic alert has no state (open or closed)");
    if (strcasecmp(w, "open") == 0 || strcasecmp(w, "firing") == 0)
        e->state = ALERT_OPEN;
    else if (strcasecmp(w, "closed") == 0 || strcasecmp(w, "resolved") == 0)
        e->state = ALERT_CLOSED;
    else if (strcasecmp(w, "acknowledged") == 0)
        ignore(e, "acknowledged");
    else
        return unknown_state(err, "generic", v ? "state" : "status", w);
    return 0;
}

static int generic_severity(struct alert_event *e, struct json_object *b,
                            struct as_error *err)
{
    char w[64];
    word(get(b, "severity"), w, sizeof w);
    if (!w[0] || strcasecmp(w, "warning") == 0 || strcasecmp(w, "info") == 0)
        e->severity = ALERT_WARNING;
    else if (strcasecmp(w, "critical") == 0 || strcasecmp(w, "page") == 0 ||
             strcasecmp(w, "error") == 0)
        e->severity = ALERT_CRITICAL;
    else
        return unknown_state(err, "generic", "severity", w);
    return 0;
}

static int parse_generic(struct batch *b, struct json_object *body, struct as_error *err)
{
    static const char *const titles[] = {"title", "summary", "message", NULL};

    struct alert_event *e = event_new(b, "generic");
    struct json_object *id = get(body, "id");
    if (generic_state(e, body, err) < 0 || generic_severity(e, body, err) < 0 ||
        set_id_value(e, id ? id : get(body, "incident_id"), id ? "id" : "incident_id",
                     err) < 0 ||
        group_common(e, body, err) < 0)
        return -1;
    title_first(e, body, titles);
    struct json_object *at = get(body, "at");
    e->at = any_time(at ? at : get(body, "timestamp"));
    name_list(e, get(body, "names"), NULL);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Detection and the body envelope.
 * ------------------------------------------------------------------------ */

struct family {
    const char *name;
    const char *wants; /* for unrecognised_payload: what detection looks for */
    bool (*matches)(struct json_object *body);
    int (*parse)(struct batch *b, struct json_object *body, struct as_error *err);
};

/* In detection order; see alert.h for why this order. */
static const struct family families[] = {
    {"newrelic_legacy", "an alert or deployment field holding JSON (New Relic legacy)",
     is_legacy, parse_legacy},
    {"alertmanager", "an alerts array (Alertmanager)", is_alertmanager,
     parse_alertmanager},
    {"newrelic_channel", "current_state, or incident_id with condition_name/policy_name "
                         "(New Relic channel)",
     is_channel, parse_channel},
    {"newrelic_workflow", "issueUrl, priority, impactedEntities, alertPolicyNames... or "
                          "a CREATED/ACTIVATED/ACKNOWLEDGED state (New Relic workflow)",
     is_workflow, parse_workflow},
    {"generic", "a state or status field (generic)", is_generic, parse_generic},
};
#define NFAMILIES (sizeof families / sizeof *families)

/* The set of families a hint allows, as a bit mask; 0 for an unknown hint. */
static unsigned hint_mask(const char *hint)
{
    if (!hint || !*hint)
        return (1u << NFAMILIES) - 1;
    bool any_nr = strcasecmp(hint, "newrelic") == 0;
    unsigned mask = 0;
    for (size_t i = 0; i < NFAMILIES; i++)
        if (strcasecmp(hint, families[i].name) == 0 ||
            (any_nr && strncmp(families[i].name, "newrelic_", 9) == 0))
            mask |= 1u << i;
    return mask;
}

static int percent_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode one form component in place ('+' is space, %XX a byte; a stray
 * '%' stays as it is). Returns the decoded length. */
static size_t form_decode(char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '+') {
            s[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len &&
                   (hi = percent_digit((unsigned char)s[i + 1])) >= 0 &&
                   (lo = percent_digit((unsigned char)s[i + 2])) >= 0) {
            s[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    return o;
}

/* application/x-www-form-urlencoded text to an object of strings. The
 * first of repeated keys wins. */
static struct json_object *form_parse(const char *text, size_t len)
{
    char *copy = xmalloc(len + 1);
    struct json_object *o = jx_new_object();
    memcpy(copy, text, len); /* not strndup: a %00 decoded earlier is kept */
    copy[len] = '\0';
    for (size_t start = 0; start < len;) {
        char *amp = memchr(copy + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - copy) : len;
        char *pair = copy + start, *eq = memchr(pair, '=', end - start);
        size_t klen = eq ? (size_t)(eq - pair) : end - start;
        size_t vlen = eq ? end - start - klen - 1 : 0;
        klen = form_decode(pair, klen);
        pair[klen] = '\0'; /* keys are C strings: an embedded %00 cuts it */
        if (eq)
            vlen = form_decode(eq + 1, vlen);
        if (klen && !get(o, pair))
            json_object_object_add(o, pair,
                                   jx_new_string_len(eq ? eq + 1 : "", vlen));
        start = end + 1;
    }
    free(copy);
    return o;
}

/* A body given as a JSON string (raw text st2 did not parse): JSON text or
 * form text, unwrapped once. *owned receives what the caller must put. */
static struct json_object *unwrap_string(struct json_object *body, struct json_object **owned,
                                         struct as_error *err)
{
    const char *s = json_object_get_string(body);
    size_t len = (size_t)json_object_get_string_len(body), i = 0;

    while (i < len && isspace((unsigned char)s[i]))
        i++;
    if (i == len) {
        bad(err, "webhook body is empty");
        return NULL;
    }
    if (s[i] == '{' || s[i] == '[') {
        struct as_error perr;
        struct json_object *o =
            jx_parse(s, len, "webhook body", "invalid_payload", AS_EXIT_BADINPUT, &perr);
        if (!o) {
            if (err)
                *err = perr;
            return NULL;
        }
        if (!json_object_is_type(o, json_type_object)) {
            bad(err, "webhook body is a JSON %s, expected an object", type_name(o));
            json_object_put(o);
            return NULL;
        }
        return *owned = o;
    }
    if (!memchr(s, '=', len)) {
        bad(err, "webhook body is a string holding neither JSON nor form fields");
        return NULL;
    }
    return *owned = form_parse(s + i, len - i);
}

/* Which family the body looks like, ignoring any hint; -1 if none. */
static int detect(struct json_object *body, unsigned mask)
{
    for (size_t i = 0; i < NFAMILIES; i++)
        if ((mask & 1u << i) && families[i].matches(body))
            return (int)i;
    return -1;
}

static int unrecognised(struct json_object *body, unsigned mask, struct as_error *err)
{
    char msg[sizeof err->message];
    struct outbuf o;
    int other = detect(body, ~0u);

    ob_init(&o, msg, sizeof msg);
    ob_puts(&o, "not an alert webhook this action knows: looked for ");
    for (size_t i = 0, k = 0; i < NFAMILIES; i++) {
        if (!(mask & 1u << i))
            continue;
        ob_puts(&o, k++ ? "; or " : "");
        ob_puts(&o, families[i].wants);
    }
    if (other >= 0) {
        ob_puts(&o, "; it looks like ");
        ob_puts(&o, families[other].name);
        ob_puts(&o, ", which the source parameter excludes");
    }
    return as_fail(err, AS_EXIT_BADINPUT, "unrecognised_payload", "%s", msg);
}

int alert_normalise(struct json_object *body, const char *source_hint,
                    struct alert_event **events, size_t *n, struct as_error *err)
{
    struct json_object *owned = NULL;
    struct batch b = {0};
    int rc = -1;

    *events = NULL;
    *n = 0;
    unsigned mask = hint_mask(source_hint);
    if (!mask) {
        char ex[48];
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "unknown alert source '%s': expected newrelic, newrelic_legacy, "
                       "newrelic_channel, newrelic_workflow, alertmanager or generic",
                       excerpt(ex, sizeof ex, source_hint, strlen(source_hint)));
    }
    if (!body)
        return bad(err, "webhook body is empty");
    if (json_object_is_type(body, json_type_string) &&
        !(body = unwrap_string(body, &owned, err)))
        return -1;
    if (!json_object_is_type(body, json_type_object)) {
        bad(err, "webhook body is a JSON %s, expected an object", type_name(body));
        goto out;
    }
    int f = detect(body, mask);
    if (f < 0) {
        unrecognised(body, mask, err);
        goto out;
    }
    if (families[f].parse(&b, body, err) < 0)
        goto out;
    *events = b.ev;
    *n = b.n;
    b.ev = NULL;
    b.n = 0;
    rc = 0;
out:
    alert_events_free(b.ev, b.n);
    json_object_put(owned);
    return rc;
}

void alert_events_free(struct alert_event *events, size_t n)
{
    for (size_t i = 0; events && i < n; i++) {
        for (char **p = events[i].names; p && *p; p++)
            free(*p);
        free(events[i].names);
    }
    free(events);
}

const char *alert_state_name(enum alert_state s)
{
    switch (s) {
    case ALERT_OPEN:
        return "open";
    case ALERT_CLOSED:
        return "closed";
    case ALERT_IGNORE:
        return "ignore";
    }
    return "unknown";
}

const char *alert_severity_name(enum alert_severity s)
{
    return s == ALERT_CRITICAL ? "critical" : "warning";
}

/* ---------------------------------------------------------------------------
 * Datastore keys.
 * ------------------------------------------------------------------------ */

static const char *family_prefix(const char *source)
{
    if (!source)
        return "x";
    if (strncmp(source, "newrelic", 8) == 0)
        return "nr";
    if (strcmp(source, "alertmanager") == 0)
        return "am";
    if (strcmp(source, "generic") == 0)
        return "gen";
    return "x";
}

#define KEY_SAFE \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

static bool key_safe(const char *id)
{
    size_t len = strlen(id);
    if (len < 1 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr(KEY_SAFE, id[i]))
            return false;
    /* "h" + 16 lower-case hex is what hashing produces: reserve it. */
    if (len == 17 && id[0] == 'h' && strspn(id + 1, "0123456789abcdef") == 16)
        return false;
    return true;
}

void alert_key_id(const struct alert_event *e, char *out, size_t outsz)
{
    const char *fam = family_prefix(e->source);
    if (key_safe(e->id)) {
        snprintf(out, outsz, "%s-%s", fam, e->id);
        return;
    }
    uint64_t h = fnv1a(FNV_OFFSET, e->id, strlen(e->id));
    snprintf(out, outsz, "%s-h%016llx", fam, (unsigned long long)h);
}
