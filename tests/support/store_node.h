/* store_node.h - node actions run end to end on a store_fixture as st2
 * runs them, and the state they left in a node's record. st2 passes the
 * pack config's compute settings (local_dir, digitalocean_token, ...) only
 * to the actions whose yaml declares them: the node actions add_node,
 * node_park, node_activate and remove_node, not the group and pool ones.
 * Shared by the warm pool's end-to-end tests (test_pool_actions.c on the
 * local provider, test_node_park_do.c on DigitalOcean).
 *
 * Both fail the running cmocka test themselves. */
#ifndef TEST_STORE_NODE_H
#define TEST_STORE_NODE_H

#include <stdarg.h>

#include "action_run.h"
#include "store_fixture.h"

/* Run action `name` with the arguments in ap (NULL-terminated), preceded
 * by `settings` (NULL-terminated) when it is a node action; at most 11
 * arguments in all. The exit status; the output is in *r. */
int store_vrun_node(struct store_fixture *s, const char *name, const char *const *settings,
                    struct action_result *r, va_list ap);

/* The state of node `node` of group `group` as its record says, "" when
 * there is no record; a static buffer, valid until the next call. */
const char *store_node_state(const struct store_fixture *s, const char *group,
                             const char *node);

#endif
