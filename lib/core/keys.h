/* keys.h - the datastore key layout (docs/datastore.md).
 *
 * st2's datastore has no compare-and-swap, so no key is shared by two writers
 * that may run at once: one key per group spec, per node, per incident, per
 * scaling event, plus the group's lease and spec lock, which are claims
 * (lib/store/claim.h) rather than shared keys. Listing a prefix reassembles a
 * group's state. Group names are DNS labels (no dots), so "autoscale.node.web."
 * can never match the nodes of group "web-2". */
#ifndef AS_KEYS_H
#define AS_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define KEY_MAX 256
#define KEY_ROOT "autoscale."

/* Each writes into buf (KEY_MAX bytes) and returns buf. */
char *key_spec(char *buf, const char *group);            /* autoscale.spec.<g> */
char *key_spec_prefix(char *buf);                        /* autoscale.spec.    */
char *key_node(char *buf, const char *group, const char *node);
char *key_node_prefix(char *buf, const char *group);     /* autoscale.node.<g>. ; group NULL: all */
char *key_incident(char *buf, const char *group, const char *incident);
char *key_incident_prefix(char *buf, const char *group);
char *key_event(char *buf, const char *group, long long when, const char *op);
char *key_event_prefix(char *buf, const char *group);
/* The lease is a claim (lib/store/claim.h) on this name: held as the key itself
 * (embedded store, and leases written before 0.6) or as one
 * autoscale.lease.<g>.<token> (st2). */
char *key_lease(char *buf, const char *group);
char *key_lease_prefix(char *buf);
/* The claim every spec writer holds while it reads-modifies-writes
 * autoscale.spec.<g>: autoscale.speclock.<g>[.<token>]. */
char *key_spec_lock(char *buf, const char *group);

/* A node's health (lib/model/health.h), written only by the prober that
 * holds the group's health claim autoscale.healthlock.<g>[.<token>]. */
char *key_health(char *buf, const char *group, const char *node);
char *key_health_prefix(char *buf, const char *group); /* group NULL: all */
char *key_health_lock(char *buf, const char *group);
/* A node's scale-in protection (lib/model/controls.h): present = protected. */
char *key_protect(char *buf, const char *group, const char *node);
char *key_protect_prefix(char *buf, const char *group); /* group NULL: all */
/* One governor decision (lib/model/history.h), keyed by epoch milliseconds. */
char *key_history(char *buf, const char *group, long long when_ms);
char *key_history_prefix(char *buf, const char *group); /* group NULL: all */
/* The group's latest decision record, a copy of its newest history record:
 * what a tick compares with, in one listing for every group. */
char *key_decision(char *buf, const char *group);
char *key_decision_prefix(char *buf); /* autoscale.decision. */

/* A group's metric samples (lib/model/samples.h): one record per group,
 * written only by the collector that holds autoscale.samplelock.<g>[.<token>]. */
char *key_samples(char *buf, const char *group);
char *key_samples_prefix(char *buf); /* autoscale.samples. */
char *key_sample_lock(char *buf, const char *group);
/* The claim pool_take holds while it hands out a group's warm nodes
 * (lib/compute/node_pool.h): autoscale.poollock.<g>[.<token>]. */
char *key_pool_lock(char *buf, const char *group);
/* A scheduled action (lib/model/schedule.h): autoscale.schedule.<g>.<name>. */
char *key_schedule(char *buf, const char *group, const char *name);
char *key_schedule_prefix(char *buf, const char *group); /* group NULL: all */
/* The claim asg_schedule_set holds while it counts a group's schedules and
 * writes a new one: autoscale.schedlock.<g>[.<token>] (not under the
 * schedules' prefix, so it is never listed as one). */
char *key_schedule_lock(char *buf, const char *group);
/* A group's rolling refresh (lib/model/refresh.h): its one progress record,
 * written by the refresh's actions under the group's lease. */
char *key_refresh(char *buf, const char *group);
char *key_refresh_prefix(char *buf); /* autoscale.refresh. */

/* Is s[0..len) a DNS label: 1 to 63 of [a-z0-9-], not starting or ending
 * with '-'? Group and node names are labels (group_check_name,
 * node_check_name), which keeps dots out of the keys above. */
bool key_label_ok(const char *s, size_t len);
/* The number of labels of s[0..len) as a dotted DNS name (no final dot),
 * or -1 when one of them is not a DNS label. */
int key_dns_labels(const char *s, size_t len);

/* The last dotted component of a key (a node's or incident's id). */
const char *key_leaf(const char *key);

/* The group component of a per-group key, copied into out (size outsz);
 * returns 0, or -1 if the key does not have that shape. */
int key_group(const char *key, char *out, size_t outsz);

#endif
