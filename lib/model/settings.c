/* settings.c - see settings.h. */
#include "settings.h"
#include "group.h"
#include "jsonx.h"
#include "utf8.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
    K_NONE,   /* never a group's: no type to check */
    K_TEXT,   /* a short line of UTF-8 text */
    K_INT,    /* a JSON integer or a string of decimal digits, in [lo, hi] */
    K_ENUM,   /* one of `choices` ("a|b|c") */
    K_SWITCH, /* a JSON boolean, or on/off/true/false (switch_value) */
    K_OBJECT  /* a JSON object (Chef attributes: the recipes read them) */
};

struct rule {
    const char *area, *key;
    enum settings_class cls;
    enum kind kind;
    long long lo, hi;
    /* K_ENUM: the choices ("a|b|c"); endpoint and operator keys: why a
     * group may not set them, for the refusal's message */
    const char *detail;
};

#define GROUP_TEXT(a, k) {a, k, SETTINGS_GROUP, K_TEXT, 0, 0, NULL}
#define GROUP_INT(a, k, lo, hi) {a, k, SETTINGS_GROUP, K_INT, lo, hi, NULL}
#define GROUP_ENUM(a, k, choices) {a, k, SETTINGS_GROUP, K_ENUM, 0, 0, choices}
#define ENDPOINT(a, k, why) {a, k, SETTINGS_ENDPOINT, K_TEXT, 0, 0, why}
#define OPERATOR(a, k, why) {a, k, SETTINGS_OPERATOR, K_NONE, 0, 0, why}

#define WHY_SENT "the pack's credentials are sent there"
#define WHY_CRED "it is a credential or chooses the identity the pack's credentials act as"
#define WHY_CMD "it is a command run on the action runner"
#define WHY_FILE "it names a file or directory on the st2 host"
#define WHY_CA "it decides which certificates the pack trusts"

/* A provider behind an HTTP API: its URL and its credential. */
#define API(a, cred) ENDPOINT(a, "api_url", WHY_SENT), OPERATOR(a, cred, WHY_CRED)
/* What every DNS provider takes of a record (dns.h's parameters). */
#define DNS_RECORD(a) GROUP_INT(a, "ttl", 1, 604800), GROUP_TEXT(a, "record_template")

/* Shared by every area: the providers' common settings. */
#define COMMON(a)                                                                        \
    OPERATOR(a, "ca_bundle", WHY_CA), GROUP_INT(a, "poll_interval_ms", 0, NODE_POLL_MAX_MS)

/* Every key of every area a group's settings may hold, and what it is.
 * An area is a compute, DNS or load balancer provider, or chef; one area
 * ("digitalocean") serves compute, DNS and the load balancer alike, as
 * its parameters do (one token, one URL). Ranges are the providers' own. */
static const struct rule rules[] = {
    OPERATOR("local", "command", WHY_CMD),
    OPERATOR("local", "dir", WHY_FILE),
    GROUP_INT("local", "port", 1, 65535),
    GROUP_INT("local", "grace_ms", 0, NODE_GRACE_MAX_MS),
    COMMON("local"),

    ENDPOINT("openstack", "auth_url", WHY_SENT),
    OPERATOR("openstack", "username", WHY_CRED),
    OPERATOR("openstack", "password", WHY_CRED),
    OPERATOR("openstack", "project_name", WHY_CRED),
    OPERATOR("openstack", "user_domain_name", WHY_CRED),
    OPERATOR("openstack", "project_domain_name", WHY_CRED),
    OPERATOR("openstack", "application_credential_id", WHY_CRED),
    OPERATOR("openstack", "application_credential_secret", WHY_CRED),
    GROUP_TEXT("openstack", "region"),
    GROUP_ENUM("openstack", "interface", "public|internal|admin|publicURL|internalURL|adminURL"),
    GROUP_TEXT("openstack", "flavor"),
    GROUP_TEXT("openstack", "image"),
    GROUP_TEXT("openstack", "network"),
    GROUP_INT("openstack", "timeout_ms", 0, 600000),
    COMMON("openstack"),

    API("digitalocean", "token"),
    GROUP_TEXT("digitalocean", "region"),
    GROUP_ENUM("digitalocean", "address_type", "private|public"),
    DNS_RECORD("digitalocean"),
    GROUP_TEXT("digitalocean", "lb_id"),
    GROUP_INT("digitalocean", "server_port", 1, 65535),
    COMMON("digitalocean"),

    API("powerdns", "api_key"),
    DNS_RECORD("powerdns"),
    OPERATOR("powerdns", "ca_bundle", WHY_CA),

    ENDPOINT("haproxy", "socket", "it is HAProxy's admin socket, which the pack commands"),
    {"haproxy", "check", SETTINGS_GROUP, K_SWITCH, 0, 0, NULL},
    GROUP_INT("haproxy", "server_port", 1, 65535),
    OPERATOR("haproxy", "ca_bundle", WHY_CA),

    ENDPOINT("chef", "cookbooks_url", "nodes run, as root, the cookbooks fetched from it"),
    GROUP_TEXT("chef", "chef_environment"),
    {"chef", "attributes", SETTINGS_GROUP, K_OBJECT, 0, 0, NULL},
};
#define NRULES (sizeof rules / sizeof rules[0])

#define TEXT_MAX 255

static const struct rule *rule_of(const char *area, const char *key)
{
    for (size_t i = 0; i < NRULES; i++)
        if (strcmp(rules[i].area, area) == 0 && strcmp(rules[i].key, key) == 0)
            return &rules[i];
    return NULL;
}

static bool area_known(const char *area)
{
    for (size_t i = 0; i < NRULES; i++)
        if (strcmp(rules[i].area, area) == 0)
            return true;
    return false;
}

enum settings_class settings_class_of(const char *area, const char *key)
{
    const struct rule *r = area && key ? rule_of(area, key) : NULL;
    return r ? r->cls : SETTINGS_UNKNOWN;
}

/* A name from untrusted JSON, fit for a one-line message: settings keys
 * are [a-z0-9_], anything else is shown as "?". */
static const char *shown(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
    return n >= 1 && n <= 40 && s[n] == '\0' ? s : "?";
}

/* ------------------------------------------------------------ allow-list -- */

/* Is "<area>.<key>=<value>" an entry of the allow-list? Entries are
 * separated by commas or newlines; blanks around an entry do not count.
 * A malformed entry, or one naming a key that is no endpoint, refuses the
 * whole list: an operator's typo must not silently allow nothing, or more. */
static int allow_lookup(const char *allowed, const char *area, const char *key,
                        const char *value, bool *found, struct as_error *err)
{
    *found = false;
    for (const char *p = allowed ? allowed : ""; *p;) {
        size_t len = strcspn(p, ",\n");
        const char *b = p, *e = p + len;
        p = *e ? e + 1 : e;
        while (b < e && (*b == ' ' || *b == '\t' || *b == '\r'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (b == e)
            continue;
        const char *dot = memchr(b, '.', (size_t)(e - b));
        const char *eq = dot ? memchr(dot, '=', (size_t)(e - dot)) : NULL;
        char a[32], k[48];
        if (!dot || !eq || dot == b || eq == dot + 1 || eq + 1 == e ||
            (size_t)(dot - b) >= sizeof a || (size_t)(eq - dot - 1) >= sizeof k)
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter '" SETTINGS_ALLOW_NAME "' must be a comma-separated "
                           "list of <area>.<key>=<value> (such as powerdns.api_url=https://...)");
        memcpy(a, b, (size_t)(dot - b));
        a[dot - b] = '\0';
        memcpy(k, dot + 1, (size_t)(eq - dot - 1));
        k[eq - dot - 1] = '\0';
        if (settings_class_of(a, k) != SETTINGS_ENDPOINT)
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter '" SETTINGS_ALLOW_NAME "' names %s.%s, which is no "
                           "endpoint a group may choose (api_url, auth_url, socket, "
                           "cookbooks_url)",
                           shown(a), shown(k));
        size_t vn = (size_t)(e - eq - 1);
        if (strcmp(a, area) == 0 && strcmp(k, key) == 0 && strlen(value) == vn &&
            memcmp(value, eq + 1, vn) == 0)
            *found = true;
    }
    return 0;
}

/* --------------------------------------------------------------- checks -- */

static int bad_value(struct as_error *err, const char *area, const char *key, const char *want)
{
    return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                   "settings.%s.%s must be %s", area, key, want);
}

static bool text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > TEXT_MAX || !utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool choice_ok(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *c = choices; *c;) {
        size_t len = strcspn(c, "|");
        if (len == n && n > 0 && strncmp(c, s, n) == 0)
            return true;
        c += len + (c[len] == '|');
    }
    return false;
}

/* A JSON integer, or a string of 1 to 18 decimal digits (the form the
 * providers have always read from a group's settings): true with *x. */
static bool int_value(struct json_object *v, long long *x)
{
    if (json_object_is_type(v, json_type_int)) {
        *x = json_object_get_int64(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    size_t n = strspn(s, "0123456789");
    if (n < 1 || n > 18 || s[n] != '\0')
        return false;
    *x = strtoll(s, NULL, 10);
    return true;
}

static bool int_ok(struct json_object *v, long long lo, long long hi)
{
    long long x;
    return int_value(v, &x) && x >= lo && x <= hi;
}

/* A switch (haproxy's check): a JSON boolean, or "on"/"off" (the words of
 * the haproxy_check parameter, the action's YAML enum) or "true"/"false".
 * 1 on, 0 off, -1 anything else (NULL and "" included). */
static int switch_value(struct json_object *v)
{
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v) ? 1 : 0;
    if (strcmp(s, "on") == 0 || strcmp(s, "true") == 0)
        return 1;
    if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0)
        return 0;
    return -1;
}

static int check_value(const struct rule *r, struct json_object *v, struct as_error *err)
{
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    char want[96];
    switch (r->kind) {
    case K_TEXT:
        return s && text_ok(s) ? 0
                               : bad_value(err, r->area, r->key,
                                           "a string of 1 to 255 characters, no control "
                                           "characters");
    case K_INT:
        if (int_ok(v, r->lo, r->hi))
            return 0;
        snprintf(want, sizeof want, "an integer from %lld to %lld", r->lo, r->hi);
        return bad_value(err, r->area, r->key, want);
    case K_ENUM:
        if (s && choice_ok(r->detail, s))
            return 0;
        snprintf(want, sizeof want, "one of %s", r->detail);
        return bad_value(err, r->area, r->key, want);
    case K_SWITCH:
        if (switch_value(v) >= 0)
            return 0;
        return bad_value(err, r->area, r->key, "true, false, \"on\" or \"off\"");
    case K_OBJECT:
        return json_object_is_type(v, json_type_object)
                   ? 0
                   : bad_value(err, r->area, r->key, "a JSON object");
    case K_NONE:
        break;
    }
    return bad_value(err, r->area, r->key, "absent");
}

static int check_key(const char *area, const char *key, struct json_object *v,
                     const char *allowed, struct as_error *err)
{
    const struct rule *r = rule_of(area, key);
    if (!r)
        return as_fail(err, AS_EXIT_BADINPUT, "setting_not_allowed",
                       "settings.%s: unknown key '%s' (docs/security.md lists what a "
                       "group may set)",
                       area, shown(key));
    if (r->cls == SETTINGS_OPERATOR)
        return as_fail(err, AS_EXIT_BADINPUT, "setting_not_allowed",
                       "settings.%s.%s may only come from the pack config: %s", area, key,
                       r->detail);
    if (r->cls == SETTINGS_ENDPOINT) {
        bool found = false;
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                 : NULL;
        if (allow_lookup(allowed, area, key, s ? s : "", &found, err) < 0)
            return -1;
        if (!s || !found)
            return as_fail(err, AS_EXIT_BADINPUT, "setting_not_allowed",
                           "settings.%s.%s may only come from the pack config (%s), unless "
                           "its " SETTINGS_ALLOW_NAME " lists this exact value",
                           area, key, r->detail);
        return 0;
    }
    return check_value(r, v, err);
}

int settings_check_area(struct json_object *settings, const char *area, const char *allowed,
                        struct as_error *err)
{
    struct json_object *own = NULL;
    if (!settings || !json_object_object_get_ex(settings, area, &own))
        return 0;
    if (!area_known(area))
        return as_fail(err, AS_EXIT_BADINPUT, "setting_not_allowed",
                       "settings: unknown area '%s' (local, openstack, digitalocean, "
                       "powerdns, haproxy, chef)",
                       shown(area));
    if (!json_object_is_type(own, json_type_object))
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "settings.%s must be a JSON object", area);
    json_object_object_foreach(own, k, v) {
        if (check_key(area, k, v, allowed, err) < 0)
            return -1;
    }
    return 0;
}

/* The whole list checked, whatever the settings name: an operator learns
 * of a typo on the first run, not on the first group that needs it. */
static int allow_valid(const char *allowed, struct as_error *err)
{
    bool found;
    return allow_lookup(allowed, "", "", "", &found, err);
}

int settings_check(struct json_object *settings, const char *allowed, struct as_error *err)
{
    if (allow_valid(allowed, err) < 0)
        return -1;
    if (!settings)
        return 0;
    if (!json_object_is_type(settings, json_type_object))
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "settings must be a JSON object of provider areas");
    json_object_object_foreach(settings, area, v) {
        (void)v;
        if (settings_check_area(settings, area, allowed, err) < 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- merge -- */

/* The key a parameter gives `provider`, or NULL if it is not for it: its
 * own prefix, the shared prefix, or no provider's prefix at all. */
static const char *key_for(const char *param, const char *provider, const char *shared)
{
    size_t n = strlen(provider);
    if (strncmp(param, provider, n) == 0 && param[n] == '_')
        return param + n + 1;
    if (shared && strncmp(param, shared, strlen(shared)) == 0 &&
        param[strlen(shared)] == '_')
        return param + strlen(shared) + 1;
    for (size_t i = 0; i < NRULES; i++) {
        size_t an = strlen(rules[i].area);
        if (strncmp(param, rules[i].area, an) == 0 && param[an] == '_')
            return NULL;
    }
    return param;
}

int settings_build(const struct param_desc *desc, size_t n, const void *values,
                   const char *provider, const char *shared, const struct group *g,
                   const char *allowed, struct json_object **out, struct as_error *err)
{
    *out = NULL;
    struct json_object *mine = g ? g->settings : NULL;
    if (allow_valid(allowed, err) < 0)
        return -1;
    if (settings_check_area(mine, provider, allowed, err) < 0) {
        as_error_prefix(err, "group %s", g->name);
        return -1;
    }
    struct json_object *o = jx_new_object();
    for (size_t i = 0; i < n; i++) {
        const char *key = key_for(desc[i].name, provider, shared);
        if (!key)
            continue;
        if (desc[i].kind == PARAM_INT) {
            long long v = PARAM_INT_AT(values, &desc[i]);
            if (v != PARAM_ABSENT)
                jx_add_int(o, key, v);
        } else if (PARAM_STR_AT(values, &desc[i])) {
            jx_add_str(o, key, PARAM_STR_AT(values, &desc[i]));
        }
    }
    struct json_object *own = jx_obj(mine, provider);
    if (own) {
        json_object_object_foreach(own, k, v) {
            json_object_object_add(o, k, json_object_get(v));
        }
    }
    *out = o;
    return 0;
}

const char *settings_str(struct json_object *s, const char *key)
{
    const char *v = jx_str(s, key, NULL);
    return v && *v ? v : NULL;
}

long long settings_int(struct json_object *s, const char *key, long long fallback)
{
    struct json_object *v = NULL;
    long long x;
    if (!json_object_object_get_ex(s, key, &v) || !int_value(v, &x))
        return fallback;
    return x;
}

int settings_switch(struct json_object *s, const char *key, int fallback)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(s, key, &v) || !v ||
        (json_object_is_type(v, json_type_string) && !*json_object_get_string(v)))
        return fallback;
    return switch_value(v);
}
