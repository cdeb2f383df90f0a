/* autoscale - the one binary of every action (actions/runner/cli.h) but the two that
 * need libssh and OpenSSL (actions/src/autoscale_chef.c): st2's entry_point
 * bin/<action> is a link to it, made by the build, and the name it is run as
 * picks the action. One binary rather than one per action: one link of the
 * library, json-c and SQLite instead of 23 copies of them.
 *
 * Each actions/src/<action>.c keeps its parameter table and command and ends
 * with AS_ACTION(<action>, params, cmd_<action>). An action listed here but
 * not defined fails the link; one defined but not listed fails
 * tests/pack/test_help.py (its link would not run it) and packlint. */
#include "cli.h"
#include "st2.h"

#include <stddef.h>

#define AS_ACTIONS(X)                                                                   \
    X(add_node) X(alert_event) X(asg_define) X(asg_forget) X(asg_get) X(asg_history) X(asg_list)       \
    X(asg_resize) X(asg_resume) X(asg_retire) X(asg_schedule_delete) X(asg_schedule_list) X(asg_schedule_set) X(asg_suspend) X(asg_update) X(dns_register) X(dns_unregister)                      \
    X(governor_tick) X(health_check) X(lb_add) X(lb_remove) X(lb_sync)               \
    X(lease_release) X(metric_collect) X(node_activate) X(node_list) X(node_park) X(node_pick) X(node_protect) X(notify) X(pool_plan) X(pool_take) X(reconcile) X(refresh_batch_done) X(refresh_start) X(refresh_step) X(refresh_wait) X(remove_node)   \
    X(scaling_record)

AS_ACTIONS(AS_ACTION_DECLARE)

static const struct as_action *const actions[] = {AS_ACTIONS(AS_ACTION_ENTRY) NULL};

int main(int argc, char **argv)
{
    return cli_main(argc, argv, actions);
}
