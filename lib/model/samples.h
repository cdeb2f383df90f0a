/* samples.h - a group's metric samples, as target tracking needs them
 * kept between ticks: one record per group (keys.h key_samples), written
 * by the metric collector (lib/metric/) and read by the governor's loader
 * (governor_load.h), which hands them to the pure governor as data.
 *
 * The record: {"group", "source", "samples": [{"at", "value", "nodes"} |
 * {"at", "error"}, ...]}, oldest first. A sample whose source could not
 * answer is kept as {"at", "error": code}: the governor must see that the
 * newest reading failed (and hold) rather than fall back on an older one.
 * Bounded both ways, so neither a fast collector nor a long-lived group
 * grows it: at most SAMPLES_MAX samples, none older than SAMPLES_KEEP
 * seconds (the longest stabilisation window, group.h, is shorter). */
#ifndef AS_SAMPLES_H
#define AS_SAMPLES_H

#include <json-c/json.h>

#include "governor.h"

#define SAMPLES_MAX 64
#define SAMPLES_KEEP 3600

/* The samples of a record's text, oldest first: *out (new: free()) and *n.
 * An unreadable record, or one without samples, gives 0 samples (*out
 * NULL); an entry without an integer "at" > 0 is skipped, one without a
 * number "value" (or with "error") is a failed sample (ok false). Returns
 * *n. */
int samples_read(const char *text, struct gov_sample **out, int *n);

/* A new record (new): record's samples (borrowed; NULL or unreadable:
 * none) with s appended - a failed one, with error_code, when !s->ok -
 * then trimmed to the bounds above as of now. A sample stamped at or
 * before the newest kept one is dropped (a collector that lost a race
 * must not reorder the window). */
struct json_object *samples_append(struct json_object *record, const char *group,
                                   const char *source, const struct gov_sample *s,
                                   const char *error_code, long long now);

#endif
