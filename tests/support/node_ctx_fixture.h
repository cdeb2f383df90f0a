/* node_ctx_fixture.h - the fixture of the unit tests that drive the node
 * operations (lib/compute/nodes.c, node_park.c, node_pool.c) against a
 * provider's in-process fake: a fresh embedded store in a temporary
 * directory, group "web" defined in it on that provider, and a node
 * context as node_ctx_open() makes one. Shared by
 * tests/unit/compute/test_node_park.c (OpenStack) and
 * test_compute_do_park.c (DigitalOcean).
 *
 * The helpers fail the running cmocka test themselves. */
#ifndef TEST_NODE_CTX_FIXTURE_H
#define TEST_NODE_CTX_FIXTURE_H

#include <json-c/json.h>

#include "datastore.h"
#include "group.h"
#include "nodes.h"

struct node_fixture {
    char dir[64], db[128];
    struct ds *ds;
    struct group g;
    struct node_ctx nc;
};

/* /tmp/<prefix>-XXXXXX holding the store, opened, and n->g the defaults of
 * group "web" on compute provider `provider`, for the caller to complete
 * (flavor, warm_pool, ...) before node_fixture_define(). */
void node_fixture_open(struct node_fixture *n, const char *prefix, const char *provider);

/* asg_define() n->g, then n->nc: the provider opened with `settings`
 * (taken: put here), the store and the group, polls at most 10 ms apart
 * (the fakes move on per look, not per second) and a 60 s deadline. */
void node_fixture_define(struct node_fixture *n, struct json_object *settings);

/* Close the context and the store, clear the group, remove the directory. */
void node_fixture_close(struct node_fixture *n);

/* The state of node `node` of group "web" as its record says, "" when there
 * is no record; a static buffer, valid until the next call. */
const char *node_fixture_state(const struct node_fixture *n, const char *node);

#endif
