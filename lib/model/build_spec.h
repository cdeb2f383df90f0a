/* build_spec.h - what a node was built from: the fields of its group's spec
 * that decide the machine (compute_provider, flavor, image, network,
 * key_pair, user_data, run_list) and the group's settings (its provider
 * overrides), as one canonical JSON object and a short id of it.
 *
 * add_node stores both in the node record ("built_from", "spec_id"), so a
 * rolling refresh (refresh.h) can tell which nodes differ from the group's
 * spec now: a node whose spec_id is not the group's was built from
 * something else, and a node without one (built before this existed)
 * differs from every spec. Fields that do not change the machine (limits,
 * steps, DNS, LB, health) are left out, so changing them refreshes nothing. */
#ifndef AS_BUILD_SPEC_H
#define AS_BUILD_SPEC_H

#include <json-c/json.h>
#include <stdbool.h>

#include "group.h"

#define BUILD_SPEC_ID_LEN 16 /* hex digits of the 64-bit id */

/* {"compute_provider","flavor","image","key_pair","network","run_list",
 * "settings","user_data"}: keys in this (sorted) order, an absent field
 * null, settings with every object's keys sorted, so equal specs always
 * serialise to equal text (new). */
struct json_object *build_spec_json(const struct group *g);

/* 16 lowercase hex digits of a 64-bit FNV-1a over build_spec_json's compact
 * text, NUL-terminated into out. */
void build_spec_id(const struct group *g, char out[BUILD_SPEC_ID_LEN + 1]);

/* The same id of a stored built_from object (borrowed), canonicalised
 * first, so a record written by hand with its keys in another order still
 * matches. NULL gives "" (no spec: differs from every id). */
void build_spec_id_json(struct json_object *built_from, char out[BUILD_SPEC_ID_LEN + 1]);

/* Whether a node record (borrowed) was built from spec id `id`: its
 * "spec_id" equals it. A record without one never matches. */
bool build_spec_matches(struct json_object *node_record, const char *id);

#endif
