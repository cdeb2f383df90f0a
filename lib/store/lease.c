/* lease.c - see lease.h. */
#include "lease.h"
#include "claim.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The governor's three operations, and a rolling refresh's batch
 * (refresh.h), which holds the lease like any of them. */
static bool valid_op(const char *op)
{
    return op && (strcmp(op, "scale_out") == 0 || strcmp(op, "scale_in") == 0 ||
                  strcmp(op, "replace") == 0 || strcmp(op, "refresh") == 0);
}

int lease_take(struct ds *ds, const char *group, const char *op, int count,
               const char *reason, long long now, long ttl, char *id,
               struct as_error *err)
{
    char key[KEY_MAX];
    struct claim c;
    if (!valid_op(op))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "operation must be scale_out, scale_in, replace or refresh");
    snprintf(id, LEASE_ID_MAX, "%012lld-%s-%08x", now, op,
             (unsigned)(claim_random64() & 0xffffffffu));
    struct json_object *o = jx_new_object();
    jx_add_str(o, "id", id);
    jx_add_str(o, "op", op);
    jx_add_int(o, "count", count);
    jx_add_int(o, "at", now);
    jx_add_int(o, "expires_at", now + ttl);
    jx_add_str(o, "reason", reason);
    int rc = claim_take(ds, key_lease(key, group),
                        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), ttl,
                        CLAIM_ONCE, LEASE_WAIT_MS, &c, err);
    json_object_put(o);
    if (rc != CLAIM_WON)
        id[0] = '\0';
    if (rc == CLAIM_TAKEN)
        log_info("group %s: another operation took the lease first", group);
    return rc < 0 ? -1 : rc == CLAIM_TAKEN ? LEASE_TAKEN : 0;
}

/* The first entry of a claim listing that is a JSON record, or NULL. */
static struct json_object *first_record(const struct ds_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        struct json_object *o = jx_parse_record(l->items[i].value);
        if (o)
            return o;
    }
    return NULL;
}

int lease_get(struct ds *ds, const char *group, struct json_object **lease,
              struct as_error *err)
{
    char key[KEY_MAX];
    struct ds_list l = {0};
    *lease = NULL;
    if (claim_list(ds, key_lease(key, group), &l, err) < 0)
        return -1;
    *lease = first_record(&l);
    ds_list_clear(&l);
    return 0;
}

int lease_id_parse(const char *id, long long *at, char *op, size_t opsz,
                   struct as_error *err)
{
    char opbuf[16];
    unsigned hex;
    int used = 0;
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= LEASE_ID_MAX ||
        sscanf(id, "%12lld-%15[a-z_]-%8x%n", at, opbuf, &hex, &used) != 3 ||
        (size_t)used != n || n != 12 + 1 + strlen(opbuf) + 1 + 8 || !valid_op(opbuf))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "lease_id must be a lease id from governor_tick "
                       "(<12 digits>-scale_out|scale_in|replace|refresh-<8 hex digits>)");
    snprintf(op, opsz, "%s", opbuf);
    return 0;
}

static bool has_id(const char *value, const char *id)
{
    struct json_object *o = jx_parse_record(value);
    bool same = o && strcmp(jx_str(o, "id", ""), id) == 0;
    json_object_put(o);
    return same;
}

/* List every key of the group's lease claim (held, contending or stray)
 * and delete those holding want_id, or all of them when want_id is NULL.
 * Returns 1 when any was there, 0 when none, -1 on error. *held is the
 * lease released (or, when none was, the one found), a new reference; NULL
 * when it is not a JSON object: such a lease is still deleted when want_id
 * is NULL, as stuck as any other. */
static int release_if(struct ds *ds, const char *group, const char *want_id,
                      struct json_object **held, bool *released, struct as_error *err)
{
    char key[KEY_MAX];
    struct ds_list l = {0}, mine = {0};
    *held = NULL;
    *released = false;
    if (claim_list(ds, key_lease(key, group), &l, err) < 0)
        return -1;
    int rc = l.count > 0;
    for (size_t i = 0; i < l.count; i++)
        if (!want_id || has_id(l.items[i].value, want_id))
            ds_list_add(&mine, l.items[i].name, l.items[i].value);
    if (ds_del_list(ds, &mine, err) < 0)
        rc = -1;
    if (rc > 0) {
        *released = mine.count > 0;
        *held = first_record(*released ? &mine : &l);
    }
    ds_list_clear(&mine);
    ds_list_clear(&l);
    return rc;
}

/* Delete the lease only if it is still ours. */
static int release(struct ds *ds, const char *group, const char *lease_id,
                   bool *released, struct as_error *err)
{
    struct json_object *held;
    int present = release_if(ds, group, lease_id, &held, released, err);
    if (present < 0)
        return -1;
    if (present && !*released)
        log_warn("group %s: lease is not %s any more; leaving it", group, lease_id);
    json_object_put(held);
    return 0;
}

int lease_release(struct ds *ds, const char *group, const char *lease_id,
                  struct json_object **out, struct as_error *err)
{
    struct json_object *held;
    bool released;
    char op[16];
    long long at;

    if (lease_id && lease_id_parse(lease_id, &at, op, sizeof op, err) < 0)
        return -1;
    int present = release_if(ds, group, lease_id, &held, &released, err);
    if (present < 0)
        return -1;
    if (present && !released) {
        as_fail(err, AS_EXIT_BADINPUT, "lease_mismatch",
                "group %s holds lease %s, not %s; nothing released", group,
                jx_str(held, "id", "(unreadable)"), lease_id);
        json_object_put(held);
        return -1;
    }
    if (released)
        log_info("group %s: lease %s released by hand", group,
                 jx_str(held, "id", "(unreadable)"));
    else
        log_info("group %s: no lease held; nothing to release", group);
    *out = jx_new_object();
    jx_add_str(*out, "group", group);
    jx_add_bool(*out, "released", released);
    json_object_object_add(*out, "lease", held);
    return 0;
}

int scaling_record_outcome(struct ds *ds, const char *group, const char *lease_id,
                           const struct scaling_outcome *o, long long now,
                           struct json_object **out, struct as_error *err)
{
    char op[16], key[KEY_MAX];
    long long at;
    bool released = false;

    if (lease_id_parse(lease_id, &at, op, sizeof op, err) < 0)
        return -1;
    const char *result = o->failed == 0 ? "success" : o->succeeded > 0 ? "partial" : "failure";
    struct json_object *ev = jx_new_object();
    jx_add_str(ev, "op", op);
    jx_add_str(ev, "lease_id", lease_id);
    jx_add_int(ev, "at", at);
    jx_add_int(ev, "finished_at", now);
    jx_add_int(ev, "count", o->requested);
    jx_add_int(ev, "succeeded", o->succeeded);
    jx_add_int(ev, "failed", o->failed);
    jx_add_str(ev, "result", result);
    jx_add_str(ev, "reason", o->reason ? o->reason : "");
    json_object_object_add(ev, "nodes", o->nodes ? json_object_get(o->nodes) : jx_new_array());
    /* The event first: a crash between the two leaves a lease that expires,
     * never a released lease with no history (which would skip a cooldown). */
    int rc = ds_put(ds, key_event(key, group, at, lease_id + 13),
                    json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN),
                    EVENT_TTL, err);
    if (rc == 0)
        rc = release(ds, group, lease_id, &released, err);
    if (rc < 0) {
        json_object_put(ev);
        return -1;
    }
    log_info("group %s: %s of %d finished: %s", group, op, o->requested, result);
    *out = jx_new_object();
    jx_add_str(*out, "group", group);
    json_object_object_add(*out, "event", ev);
    jx_add_bool(*out, "lease_released", released);
    return 0;
}

int scaling_record(struct ds *ds, const char *group, const char *lease_id,
                   int requested, int succeeded, int failed, long long now,
                   struct json_object **out, struct as_error *err)
{
    struct scaling_outcome o = {requested, succeeded, failed, NULL, NULL};
    return scaling_record_outcome(ds, group, lease_id, &o, now, out, err);
}
