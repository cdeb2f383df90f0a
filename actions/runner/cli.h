/* cli.h - actions/bin/autoscale, the one binary of every action, and its
 * operator commands.
 *
 * Every action is a link actions/bin/<action> -> autoscale (what st2's
 * entry_point bin/<action> runs), chosen by the name it was run as; a person
 * may also write `autoscale <action> --key=value ...`. Both run the action
 * exactly as st2 would (as_action_main).
 *
 * The operator commands are for a person on an st2 host, and print tables:
 *
 *   autoscale asg list                   every group, its node counts, alert, lease
 *   autoscale asg get NAME [--events=N]  one group: spec, counts, nodes, lease, events
 *   autoscale node list GROUP            a group's node records
 *   autoscale lease list                 every operation in flight
 *
 * They only read: the datastore they open refuses every write
 * (ds_open_from_env_read_only, the view cli_ds_readonly gives), so no
 * command of this mode can change anything.
 * Datastore: as an action chooses it (lib/store/datastore.h: AUTOSCALE_DATASTORE,
 * ST2_API_URL, AUTOSCALE_DB); what st2's variables leave unset (the URL, the
 * credential) comes from the pack config, $AUTOSCALE_CONFIG or
 * /opt/stackstorm/configs/autoscale.yaml, keys st2_api_url and st2_api_key. */
#ifndef AS_CLI_H
#define AS_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "datastore.h"
#include "error.h"
#include "st2.h"

#define CLI_CONFIG_DEFAULT "/opt/stackstorm/configs/autoscale.yaml"
/* st2api's own address on an st2 host (st2.conf [api] host and port): used
 * when the config gives st2_api_key but no st2_api_url. */
#define CLI_ST2_API_DEFAULT "http://127.0.0.1:9101/v1"

/* main() of actions/bin/autoscale; actions ends with NULL. */
int cli_main(int argc, char **argv, const struct as_action *const *actions);

/* The operator commands: argv[0] is "asg", "node" or "lease". Tables go to
 * out, errors to stderr. Returns the exit status (0, 1 or 2 as actions). */
int cli_operator(int argc, char **argv, FILE *out);

/* The top-level scalar values of `keys` in the YAML mapping at path (a
 * pack config), read with libyaml: values[i] newly allocated, or NULL when
 * the key is absent or null. 0; 1 when the file does not exist; -1 with err
 * when it cannot be read, is not one YAML mapping, or gives a key a value
 * that is not a scalar. No value is ever quoted in an error. */
int cli_config_read(const char *path, const char *const *keys, char **values, size_t n,
                    struct as_error *err);

/* A datastore that reads through `inner` and refuses every write with
 * AS_EXIT_FAILURE "read_only"; it owns inner (closing it closes both). */
struct ds *cli_ds_readonly(struct ds *inner);

#endif
