/* lease.h - the governor's lease on a group's scaling operation, and the
 * scaling event that ends it.
 *
 * governor_tick takes a lease (a claim, lib/store/claim.h, on autoscale.lease.<group>,
 * with a TTL) for each decision it dispatches; while it exists the governor
 * decides nothing more for that group, so ticks faster than workflows finish
 * cannot dispatch the same operation twice, and of concurrent ticks exactly
 * one can take it (docs/datastore.md, "One writer"). The workflow ends the operation with
 * scaling_record, which writes one event key and deletes the lease. If the
 * workflow dies, the TTL frees the group.
 *
 * A person can end a stuck lease with lease_release (the lease_release
 * action): a lease taken by a tick whose workflow never started would
 * otherwise freeze the group until its TTL.
 *
 * The lease id is also the event's key leaf: "<at, 12 digits>-<op>-<8 hex>",
 * so a retried scaling_record rewrites the same event instead of adding one. */
#ifndef AS_LEASE_H
#define AS_LEASE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "datastore.h"
#include "error.h"

#define LEASE_ID_MAX 48
#define EVENT_TTL (30 * 86400L) /* scaling history kept a month */

#define LEASE_TAKEN 1 /* lease_take's return when another took the lease */
#define LEASE_WAIT_MS 10000 /* contention retried this long at most */

/* Take the lease: 0 with id filled (LEASE_ID_MAX bytes), LEASE_TAKEN when
 * another operation holds it or won it meanwhile (id ""), or -1 with err.
 * Nothing of ours is left behind unless 0. */
int lease_take(struct ds *ds, const char *group, const char *op, int count,
               const char *reason, long long now, long ttl, char *id,
               struct as_error *err);

/* The group's lease record (any live key of its claim; a new reference),
 * or *lease NULL when none. */
int lease_get(struct ds *ds, const char *group, struct json_object **lease,
              struct as_error *err);

/* Check a lease id's shape and read its op and time back from it. */
int lease_id_parse(const char *id, long long *at, char *op, size_t opsz,
                   struct as_error *err);

/* Release the group's lease by hand: whatever lease it holds when lease_id
 * is NULL (and any stray candidate with it), else only the lease with that
 * id (another one is AS_EXIT_BADINPUT "lease_mismatch", and stays). No lease
 * is success with released false, so a repeat is harmless. Whether the
 * group exists is the caller's question (the lease_release action asks
 * asg_load_spec first): the store layer knows keys, not groups. *out is
 * {group, released, lease: the lease found or null}. */
int lease_release(struct ds *ds, const char *group, const char *lease_id,
                  struct json_object **out, struct as_error *err);

/* What an operation did, as its workflow reports it at the end. */
struct scaling_outcome {
    int requested, succeeded, failed;
    const char *reason;        /* why it was done (borrowed; NULL: "") */
    struct json_object *nodes; /* the node names it touched: an array of
                                  strings, checked by the caller (borrowed;
                                  NULL: []) */
};

/* Record the end of an operation and release its lease (only if the lease
 * stored is this one: a newer operation's lease is left alone). The event
 * {op, lease_id, at, finished_at, count, succeeded, failed, result, reason,
 * nodes} is keyed by the lease id, so a retry rewrites it. *out describes
 * what was done. */
int scaling_record_outcome(struct ds *ds, const char *group, const char *lease_id,
                           const struct scaling_outcome *o, long long now,
                           struct json_object **out, struct as_error *err);
/* The same without a reason or nodes. */
int scaling_record(struct ds *ds, const char *group, const char *lease_id,
                   int requested, int succeeded, int failed, long long now,
                   struct json_object **out, struct as_error *err);

#endif
