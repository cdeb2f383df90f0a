/* autoscale_chef - the multi-call binary of the actions that need libssh and
 * OpenSSL (chef_bootstrap, chef_cleanup), links actions/bin/chef_* to it.
 * Apart from actions/bin/autoscale because a binary loads every shared
 * library it links at each start: with these two in it, every action paid
 * ~2.5 ms and ~3 MiB for libssh, OpenSSL and Kerberos it never used
 * (bench/RESULTS.md, "One binary"). */
#include "cli.h"
#include "st2.h"

#include <stddef.h>

#define AS_ACTIONS(X) X(chef_bootstrap) X(chef_cleanup)

AS_ACTIONS(AS_ACTION_DECLARE)

static const struct as_action *const actions[] = {AS_ACTIONS(AS_ACTION_ENTRY) NULL};

int main(int argc, char **argv)
{
    return cli_main(argc, argv, actions);
}
