/* settings.h - what a group's `settings` object may set, and the one merge
 * of a provider's parameters with a group's overrides that compute, DNS, the
 * load balancers and Chef all use (docs/security.md).
 *
 * The trust boundary: the pack config (an action's parameter defaults) is
 * the operator's; a group's spec is whoever ran asg_create/asg_update. So a
 * group may choose among what the operator's credentials already reach (a
 * region, a flavor, a TTL), but never where those credentials are sent (an
 * API URL, a socket), what runs on the st2 host (a command), which files are
 * read or written there (a directory, a CA bundle), or the credentials
 * themselves. One table (settings.c) classes every key of every settings
 * object:
 *   group     - a choice; type and range checked;
 *   endpoint  - decides where credentials go: refused, unless the operator
 *               lists the exact value in the pack config's
 *               group_endpoints_allowed ("<area>.<key>=<value>", comma- or
 *               newline-separated, e.g.
 *               "powerdns.api_url=https://pdns-b.example.com/api/v1/servers/localhost");
 *   operator  - never from a group.
 * Unknown areas and keys are refused too: a key the table does not know is
 * one nobody has judged.
 *
 * asg_define and asg_update check the whole object before anything is
 * written (settings_check); every builder checks the area it merges again
 * when it is used (settings_build), so a spec stored by an older version or
 * by hand is refused, not obeyed. */
#ifndef AS_SETTINGS_H
#define AS_SETTINGS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "params.h"

struct group;

/* The operator's allow-list reaches every action that checks or builds
 * settings as this parameter (config key of the same name; the row is
 * st2.h's SETTINGS_ALLOW_PARAM). It must be immutable in the YAML: a caller
 * who could pass it could allow anything. */
#define SETTINGS_ALLOW_NAME "group_endpoints_allowed"

enum settings_class {
    SETTINGS_UNKNOWN = -1, /* not in the table: refused */
    SETTINGS_GROUP,        /* a group may set it */
    SETTINGS_ENDPOINT,     /* only a value the operator's allow-list names */
    SETTINGS_OPERATOR      /* only the pack config */
};

/* The class of settings.<area>.<key>. */
enum settings_class settings_class_of(const char *area, const char *key);

/* A whole settings object as asg_define/asg_update receive it (NULL: none):
 * an object of known areas, each an object of keys a group may set, with
 * values of the right type and range, endpoints only as `allowed` lists
 * them (NULL or "": none). Refusals are AS_EXIT_BADINPUT:
 * "setting_not_allowed" (operator-only, unknown, an endpoint not listed),
 * "bad_settings" (wrong type or range), "invalid_parameter" (a malformed
 * allow-list). Messages name the key, never a value. */
int settings_check(struct json_object *settings, const char *allowed, struct as_error *err);

/* The same for one area of a stored settings object (absent: fine). */
int settings_check_area(struct json_object *settings, const char *area, const char *allowed,
                        struct as_error *err);

/* The settings object for `provider` from an area's typed parameters
 * (`values`, described by desc[0..n), params.h): every parameter of its own
 * ("<provider>_<key>" as key), every shared one ("<shared>_<key>" as key,
 * shared may be NULL) and every parameter of no provider (ca_bundle,
 * poll_interval_ms: as themselves) that is not absent; then the group's
 * settings.<provider> on top, key by key, once settings_check_area()
 * passed with the operator's allow-list `allowed` (NULL: none). g may be
 * NULL. 0 with *out a new object, or -1 with err (nothing in *out). */
int settings_build(const struct param_desc *desc, size_t n, const void *values,
                   const char *provider, const char *shared, const struct group *g,
                   const char *allowed, struct json_object **out, struct as_error *err);

/* What every backend of every area reads from the object settings_build()
 * made. settings_str: the string at `key`, NULL if absent, not a string or
 * "". settings_int: a JSON integer or a string of 1 to 18 decimal digits at
 * `key`, else (absent, null, any other type or text) `fallback`. */
const char *settings_str(struct json_object *s, const char *key);
long long settings_int(struct json_object *s, const char *key, long long fallback);
/* settings_switch: a switch at `key` (haproxy's check), read as the group
 * settings check accepts it: a JSON boolean, "on"/"off" or "true"/"false";
 * 1 on, 0 off, `fallback` if absent, null or "", -1 anything else. */
int settings_switch(struct json_object *s, const char *key, int fallback);

#endif
