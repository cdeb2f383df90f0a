/* controls.c - see controls.h. The two spec changes (controls_suspend,
 * controls_resize) are defined in asg.c, beside the spec lock every spec
 * writer holds: asg.c stays the one writer of autoscale.spec.<g>, and this
 * file, which asg.c reads protection records through, stays below it. */
#include "controls.h"
#include "group.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const process_names[] = {"scale_out", "scale_in", "replace"};
#define NPROCESSES (sizeof process_names / sizeof process_names[0])

const char *controls_process_name(unsigned bit)
{
    for (size_t i = 0; i < NPROCESSES; i++)
        if (bit == 1u << i)
            return process_names[i];
    return NULL;
}

/* Exact names only, no spaces: the list comes from chat and st2 alike, and
 * a near miss ("scale-in") must be refused, not read as nothing. */
int controls_parse_processes(const char *list, unsigned *mask, struct as_error *err)
{
    *mask = 0;
    if (list && strcmp(list, "all") == 0) {
        *mask = CONTROL_ALL;
        return 0;
    }
    const char *p = list ? list : "";
    bool ok = *p != '\0';
    while (ok) {
        size_t n = strcspn(p, ","), i = 0;
        while (i < NPROCESSES &&
               !(strlen(process_names[i]) == n && strncmp(p, process_names[i], n) == 0))
            i++;
        ok = i < NPROCESSES;
        if (ok)
            *mask |= 1u << i;
        p += n;
        if (*p == '\0')
            break;
        p++; /* the comma: a name must follow it */
    }
    if (!ok) {
        *mask = 0;
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'processes' must be \"all\" or a comma-separated list of "
                       "%s",
                       CONTROL_PROCESSES);
    }
    return 0;
}

bool controls_force_pending(long long forced_at, long long last_op_at, long long now)
{
    return forced_at > 0 && forced_at > last_op_at &&
           (now < forced_at || now - forced_at < CONTROL_FORCE_WINDOW_S);
}

struct json_object *controls_suspended_list(unsigned mask)
{
    struct json_object *a = jx_new_array();
    for (size_t i = 0; i < NPROCESSES; i++)
        if (mask & (1u << i))
            json_object_array_add(a, jx_new_string(process_names[i]));
    return a;
}

int controls_suspend_check(const char *group, const char *processes, unsigned *mask,
                           struct as_error *err)
{
    *mask = 0;
    if (group_check_name(group, err) < 0)
        return -1;
    return controls_parse_processes(processes, mask, err);
}

/* desired -1 means "unset" to the spec; a resize always names a size. */
int controls_resize_check(const char *group, long long size, struct as_error *err)
{
    if (group_check_name(group, err) < 0)
        return -1;
    if (size < 0 || size > CONTROL_SIZE_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_limits",
                       "size (%lld) must lie between 0 and %d, and within the group's min "
                       "and max",
                       size, CONTROL_SIZE_MAX);
    return 0;
}

/* A reason a person typed: one line of text, shown in asg_get and chat.
 * Its length is counted in characters, as st2 counts the YAML's maxLength
 * (jsonschema on a Python str), so both refuse the same reasons. */
static int check_reason(const char *reason, struct as_error *err)
{
    size_t n = reason ? strlen(reason) : 0;
    bool ok = utf8_valid(reason ? reason : "", n);
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)reason[i] >= 0x20 && reason[i] != 0x7f;
    if (!ok || utf8_chars(reason, n) > CONTROL_REASON_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'reason' must be one line of text without control "
                       "characters (at most %d characters)",
                       CONTROL_REASON_MAX);
    return 0;
}

int controls_protect_check(const char *group, const char *node, const char *reason,
                           struct as_error *err)
{
    if (group_check_name(group, err) < 0 || node_check_name(node, err) < 0 ||
        check_reason(reason, err) < 0)
        return -1;
    return 0;
}

static struct json_object *protect_result(const char *group, const char *node, bool protect,
                                          bool changed, struct json_object *rec)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", group);
    jx_add_str(o, "node", node);
    jx_add_bool(o, "protected", protect);
    jx_add_bool(o, "changed", changed);
    json_object_object_add(o, "record", rec);
    return o;
}

int controls_protect(struct ds *ds, const char *group, const char *node, bool protect,
                     const char *reason, long long now, struct json_object **out,
                     struct as_error *err)
{
    char key[KEY_MAX], *text = NULL;
    struct json_object *rec = NULL;

    /* Only presence: a spec being deleted may still have its nodes
     * protected until they are gone (asg_forget deletes the records). */
    if (controls_protect_check(group, node, reason, err) < 0 ||
        group_exists(ds, group, err) < 0)
        return -1;
    int rc = node_record_load(ds, group, node, &rec, err);
    json_object_put(rec);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_node", "group '%s' has no node '%s'",
                       group, node);
    key_protect(key, group, node);
    if ((rc = ds_get(ds, key, &text, err)) < 0)
        return -1;
    struct json_object *old = rc == DS_ABSENT ? NULL : jx_parse_record(text);
    free(text);
    bool present = rc != DS_ABSENT;
    const char *why = reason && *reason ? reason : NULL;

    if (!protect) {
        json_object_put(old);
        if (present && ds_del(ds, key, err) < 0)
            return -1;
        if (present)
            log_info("node %s of %s: scale-in protection removed", node, group);
        *out = protect_result(group, node, false, present, NULL);
        return 0;
    }
    /* The same protection again changes nothing (its "at" stays the first
     * one); a new reason replaces the old, which is what a person expects. */
    const char *had = old ? jx_str(old, "reason", NULL) : NULL;
    if (old && ((!had && !why) || (had && why && strcmp(had, why) == 0))) {
        *out = protect_result(group, node, true, false, old);
        return 0;
    }
    long long at = old ? jx_int(old, "at", now) : now;
    json_object_put(old);
    struct json_object *r = jx_new_object();
    jx_add_str(r, "node", node);
    jx_add_str(r, "group", group);
    jx_add_int(r, "at", at);
    jx_add_str(r, "reason", why);
    if (ds_put(ds, key, json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN), 0,
               err) < 0) {
        json_object_put(r);
        return -1;
    }
    log_info("node %s of %s: protected from scale-in%s%s", node, group, why ? ": " : "",
             why ? why : "");
    *out = protect_result(group, node, true, true, r);
    return 0;
}

int controls_load_protected(struct ds *ds, const char *group, struct json_object **out,
                            struct as_error *err)
{
    char prefix[KEY_MAX];
    struct ds_list l = {0};
    if (ds_list(ds, key_protect_prefix(prefix, group), &l, err) < 0)
        return -1;
    *out = jx_new_object();
    for (size_t i = 0; i < l.count; i++) {
        struct json_object *rec = jx_parse_record(l.items[i].value);
        if (!rec) {
            /* Still protected: the key's presence is what counts, and
             * dropping protection because a value is unreadable would let
             * scale-in take a node someone is working on. */
            log_warn("unreadable protection record %s: kept as protected", l.items[i].name);
            rec = jx_new_object();
        }
        json_object_object_add(*out, key_leaf(l.items[i].name), rec);
    }
    ds_list_clear(&l);
    return 0;
}

int controls_forget_node(struct ds *ds, const char *group, const char *node,
                         struct as_error *err)
{
    char key[KEY_MAX];
    return ds_del(ds, key_protect(key, group, node), err);
}
