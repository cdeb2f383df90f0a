/* governor_record.h - the records a governor tick reads (group specs,
 * incidents, scaling events, leases), read as json-c would read them but
 * mostly without json-c.
 *
 * A tick over every group reads every record of the store, and building a
 * json-c document for each (a tokener run, a hash table, a string per
 * field, all freed again) cost more than deciding. The pack writes its
 * records as flat JSON objects of plain strings and integers, so each is
 * first read by a strict scanner that accepts only that subset (see
 * governor_record.c), and whatever it declines - escapes, non-ASCII
 * bytes, nested values, numbers with a fraction, anything unusual - goes
 * to json-c and the very functions the rest of the pack uses
 * (jx_parse_record, group_from_json, gov_*_from_json). Within the subset
 * both read the same values, so the result never depends on which path a
 * record took; tests/unit/model/test_governor_record.c checks this on
 * records of both kinds. */
#ifndef AS_GOVERNOR_RECORD_H
#define AS_GOVERNOR_RECORD_H

#include <stdbool.h>

#include "governor.h"
#include "group.h"

/* The integer fields of a group spec (GROUP_FIELDS' INT rows): what the
 * governor reads of a spec, besides its name and status. */
#define GOV_SPEC_INT_INT(n) long long n;
#define GOV_SPEC_INT_STR(n)
#define GOV_SPEC_INT(n, kind, def, cfg, lo, hi, check) GOV_SPEC_INT_##kind(n)

/* A group spec as the governor reads it: a few bytes instead of a struct
 * group with its strings and settings, for 100,000 of them at once. */
struct gov_spec {
    char name[GROUP_NAME_MAX + 1];
    bool active; /* status "active": not being deleted */
    GROUP_FIELDS(GOV_SPEC_INT)
    long long forced_at; /* as group_from_json reads it: not an integer is 0 */
};

/* A spec record: 1 with *out filled, or 0 when group_from_json would refuse
 * it (not a JSON object, a bad name or field type, a bad status): such a
 * group is left out of the tick, as asg_state_load_all leaves it out. */
int gov_spec_read(const char *text, struct gov_spec *out);

/* The struct group governor_decide() reads, from s: name, status and the
 * integer fields; the strings NULL, nothing to clear. */
void gov_spec_to_group(const struct gov_spec *s, struct group *g);

/* An incident, or a scaling event or lease: 1 with *out filled, or 0 when
 * text is not a JSON object (jx_parse_record would refuse it: skipped). */
int gov_incident_read(const char *text, struct gov_incident *out);
int gov_op_read(const char *text, struct gov_op *out);

#endif
