/* refresh_record.c - the refresh record (refresh.h describes its fields):
 * reading it, its one write, its state, and whether a call is about the
 * group's current refresh and batch. Every decision is made on what the
 * store holds when the lease is ours, not on what the workflow remembers,
 * so these are read again under the lease. */
#include "refresh_int.h"

#include "jsonx.h"
#include "keys.h"
#include "lease.h"

#include <stdlib.h>
#include <string.h>

int refresh_load(struct ds *ds, const char *group, struct json_object **rec,
                 struct as_error *err)
{
    char key[KEY_MAX], *v = NULL;
    int rc = ds_get(ds, key_refresh(key, group), &v, err);
    *rec = NULL;
    if (rc < 0)
        return -1;
    if (rc == DS_ABSENT)
        return 0;
    *rec = jx_parse_record(v);
    free(v);
    if (!*rec)
        return as_fail(err, AS_EXIT_FAILURE, "corrupt_record",
                       "the refresh record of group '%s' is not a JSON object", group);
    return 1;
}

int refresh_save(struct ds *ds, const char *group, struct json_object *rec,
                 long long now, struct as_error *err)
{
    char key[KEY_MAX];
    jx_add_int(rec, "updated_at", now);
    return ds_put(ds, key_refresh(key, group),
                  json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN), 0, err);
}

bool refresh_state_is(struct json_object *rec, const char *state)
{
    return strcmp(jx_str(rec, "state", ""), state) == 0;
}

void refresh_finish(struct json_object *rec, const char *state, const char *reason,
                    long long now)
{
    jx_add_str(rec, "state", state);
    jx_add_int(rec, "finished_at", now);
    jx_add_str(rec, "reason", reason);
}

int refresh_load_current(struct ds *ds, const char *group, const char *id,
                         struct json_object **rec, struct as_error *err)
{
    int rc = refresh_load(ds, group, rec, err);
    if (rc < 0)
        return -1;
    if (rc == 0 || strcmp(jx_str(*rec, "id", ""), id) != 0) {
        const char *cur = rc ? jx_str(*rec, "id", "") : "none";
        rc = as_fail(err, AS_EXIT_BADINPUT, "refresh_mismatch",
                     "refresh %s is not the current refresh of group '%s' (%s)", id, group,
                     cur);
        json_object_put(*rec);
        *rec = NULL;
        return rc;
    }
    return 0;
}

int refresh_batch_lease_held(struct ds *ds, const char *group, struct json_object *rec,
                             bool *held, struct as_error *err)
{
    struct json_object *lease = NULL;
    const char *mine = jx_str(rec, "lease_id", NULL);
    *held = false;
    if (!mine)
        return 0;
    if (lease_get(ds, group, &lease, err) < 0)
        return -1;
    *held = lease && strcmp(jx_str(lease, "id", ""), mine) == 0;
    json_object_put(lease);
    return 0;
}
