/* refresh.h - a group's rolling refresh: replace, in batches, the nodes
 * whose build spec (build_spec.h) is not the group's, keeping a minimum
 * healthy percentage, pausing at checkpoints, and rolling back (or
 * stopping) when new nodes fail. The asg_refresh workflow drives it through
 * four actions: refresh_start, then refresh_step / (node_up, refresh_wait,
 * node_down) / refresh_batch_done until done (docs/refresh.md).
 *
 * The record, one per group (key_refresh): {"id": "<epoch>-<8 hex>",
 * "group", "state": running|paused|succeeded|failed|rolling_back|
 * rolled_back|cancelled, "target": the spec_id nodes are refreshed to,
 * "previous": the built_from restored by a rollback (or null),
 * "previous_spec_id", "changed": the spec fields refresh_start changed,
 * "min_healthy_percentage", "batch", "checkpoints": [percent ascending],
 * "next_checkpoint": the next percent to pause at (null: none left),
 * "on_failure": rollback|stop, "health_timeout", "replaced", "to_replace",
 * "failed_nodes", "lease_id": the batch in flight (null between batches),
 * "batch_add", "batch_remove": that batch's plan, "last_lease_id" and
 * "last_do_next": the last batch ended and what it decided (a retried
 * refresh_batch_done answers that again), "started_at", "updated_at",
 * "finished_at", "reason"}.
 *
 * One writer: refresh_step writes it only once it holds the group's lease
 * (lease.h, op "refresh"), refresh_batch_done only under that lease, and
 * refresh_start only when no workflow drives the refresh (none running, or
 * it is paused) or, to cancel a running one, after taking the lease itself.
 * Between batches the lease is free, so the governor's own operations are
 * not held up for the whole refresh. */
#ifndef AS_REFRESH_H
#define AS_REFRESH_H

#include <json-c/json.h>
#include <stdbool.h>

#include "datastore.h"
#include "error.h"

#define REFRESH_ID_MAX 32
#define REFRESH_LEASE_TTL 3600L /* one batch: build, wait for health, drain */
#define REFRESH_CANCEL_TTL 60L  /* a cancel's lease: one read and one write */
#define REFRESH_BATCH_MAX 1000
#define REFRESH_CHECKPOINTS_MAX 20

/* Nodes per batch: max(1, capacity - ceil(capacity * pct / 100)), the most
 * that may be out of service at once while pct percent stay healthy. The
 * workflow adds new nodes before it removes old ones, so even 100% allows
 * one at a time. pct outside 0..100 is clamped. */
long long refresh_batch_size(long long capacity, long long pct);

/* "10,50" -> [10, 50]: comma-separated integers 1..100, strictly ascending,
 * at most REFRESH_CHECKPOINTS_MAX; NULL or "" -> []. *out new; -1 with
 * AS_EXIT_BADINPUT "invalid_parameter" (nothing in *out). */
int refresh_parse_checkpoints(const char *s, struct json_object **out, struct as_error *err);

/* A comma-separated list of node names (each a DNS label; empty items
 * refused; "" is the empty list) into an array (new), with `what` (the
 * parameter) named in the refusal: "invalid_node_name". */
int refresh_parse_nodes(const char *s, const char *what, struct json_object **out,
                        struct as_error *err);

/* A refresh id's shape: "<1-12 digits>-<8 hex>", else "invalid_parameter". */
int refresh_check_id(const char *id, struct as_error *err);

/* The record: 1 with *rec (new), 0 when the group has none, -1 with err
 * ("corrupt_record" when it is not a JSON object). */
int refresh_load(struct ds *ds, const char *group, struct json_object **rec,
                 struct as_error *err);

/* The nodes still to replace: capacity nodes (building, active) whose
 * spec_id is not target, oldest first (created_at, then name), into
 * *remaining (new array of names); *capacity: every capacity node. */
int refresh_remaining(struct ds *ds, const char *group, const char *target,
                      struct json_object **remaining, long long *capacity,
                      struct as_error *err);

/* ---- the operations, one per action ---- */

struct refresh_request {
    const char *group;
    const char *image, *flavor, *run_list; /* NULL: left as the spec has it */
    long long min_healthy_percentage;     /* 0..100 */
    long long batch;                      /* 0: computed */
    const char *checkpoints;              /* "10,50" or "" */
    const char *on_failure;               /* rollback | stop */
    long long health_timeout;             /* seconds, 1..86400 */
    bool cancel;
};

/* Every check that needs no datastore: AS_EXIT_BADINPUT errors. */
int refresh_start_check(const struct refresh_request *r, struct as_error *err);
/* Start a refresh (changing image/flavor/run_list first when given, under
 * the spec lock), resume a paused one, or cancel the one in progress.
 * A running (or rolling back) refresh refuses a start with
 * "refresh_running"; a cancel while its batch holds the lease, or another
 * operation does, is "group_busy" (retry). *out: {refresh, started,
 * resumed, cancelled, to_replace}. */
int refresh_start(struct ds *ds, const struct refresh_request *r, long long now,
                  struct json_object **out, struct as_error *err);

/* The next step of refresh `id` (another id: "refresh_mismatch"). *out:
 * {do: batch|done|paused|failed|wait, add, remove, lease_id, state,
 * replaced, to_replace, refresh_id}. */
int refresh_step(struct ds *ds, const char *group, const char *id, long long now,
                 struct json_object **out, struct as_error *err);

struct refresh_report {
    const char *group, *refresh_id, *lease_id;
    const char *added, *healthy, *removed; /* comma-separated node names */
};
/* Every check that needs no datastore: AS_EXIT_BADINPUT errors. */
int refresh_report_check(const struct refresh_report *r, struct as_error *err);
/* The end of a batch: record it, decide what follows, end the batch's
 * operation (scaling_record_outcome: the event, the lease released). A
 * retry with the same lease_id answers the same. *out: {state, do_next:
 * continue|rollback|stop, replaced, to_replace, refresh_id}. */
int refresh_batch_done(struct ds *ds, const struct refresh_report *r, long long now,
                       struct json_object **out, struct as_error *err);

#endif
