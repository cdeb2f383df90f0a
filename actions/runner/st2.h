/* st2.h - the contract between StackStorm's local-shell-script runner and an
 * action binary (docs/actions.md says how st2 calls it).
 *
 * Each action declares its parameters once, in a table of struct as_param,
 * and hands it with its cmd_* function to as_action_main(). That function
 * parses argv exactly as st2 builds it (integers in decimal and in range),
 * runs the command, and prints exactly one
 * JSON document on stdout: the command's result, or {"error": {...}}.
 * Exit status: 0 success, 1 operational failure, 2 bad input (enum as_exit). */
#ifndef AS_ST2_H
#define AS_ST2_H

#include <json-c/json.h>
#include <stdbool.h>

#include "error.h"
#include "params.h"
#include "settings.h"
#include "signals.h"

enum as_ptype { AS_T_STRING, AS_T_INTEGER, AS_T_NUMBER, AS_T_BOOLEAN, AS_T_OBJECT };

#define AS_P_REQUIRED 0x1u
/* A secret: registered with the scrubber, and read from the environment
 * variable AUTOSCALE_SECRET_<NAME> when not on the command line, which is how
 * st2 hands it over (secret_env_args below; docs/actions.md). */
#define AS_P_SECRET 0x2u
#define AS_NAMED (-1)

struct as_param {
    const char *name;   /* ^\w+$, as in the action's YAML */
    enum as_ptype type;
    unsigned flags;     /* AS_P_REQUIRED | AS_P_SECRET */
    const char *def;    /* default outside st2, in the YAML's literal form; NULL: none */
    const char *config; /* pack config key whose value st2 renders as the
                           default ("{{ config_context.<config> }}"), or, for
                           a secret, into the `env` runner parameter's
                           AUTOSCALE_SECRET_<NAME>; NULL: none */
    int position;       /* AS_NAMED, or 0.. for positional parameters */
};
#define AS_PARAM_END {NULL, AS_T_STRING, 0, NULL, NULL, AS_NAMED}

/* A table row from an area's X-macro list of typed parameters (params.h):
 * the config key is the parameter's name. */
#define AS_PTYPE_STR AS_T_STRING
#define AS_PTYPE_INT AS_T_INTEGER
#define AS_PARAM_ROW(n, kind, def, flags) {#n, AS_PTYPE_##kind, flags, def, #n, AS_NAMED},

/* Rows from group.h's GROUP_FIELDS: asg_define's carry each field's default
 * and config key; asg_update's none, so only what is given changes. */
#define AS_GROUP_ROW(n, kind, def, cfg, lo, hi, check) \
    {#n, AS_PTYPE_##kind, 0, def, cfg, AS_NAMED},
#define AS_GROUP_ROW_GIVEN(n, kind, def, cfg, lo, hi, check) \
    {#n, AS_PTYPE_##kind, 0, NULL, NULL, AS_NAMED},

/* The operator's allow-list (settings.h), which every action that builds a
 * provider's settings takes. */
#define SETTINGS_ALLOW_PARAM \
    {SETTINGS_ALLOW_NAME, AS_T_STRING, 0, NULL, SETTINGS_ALLOW_NAME, AS_NAMED},

struct as_args; /* parsed values, owned by the runner */

/* Secret parameters from the environment (secret_env.c; docs/actions.md,
 * "Secrets"), called by as_action_main() before argv is parsed. Under st2 a
 * secret travels as AUTOSCALE_SECRET_<NAME> (the parameter's name in upper
 * case) in the action's `env`, never in argv. Every AUTOSCALE_SECRET_*
 * variable is registered with the scrubber (secret.h), wiped where
 * /proc/PID/environ shows it, and unset, so no child process inherits it.
 * For each AS_P_SECRET parameter of params with a non-empty variable and
 * not given on the command line (a value given there wins),
 * "--<name>=<value>" is appended to a copy of argv, and *argc and *argv are
 * pointed at that copy (the process's own command line, what
 * /proc/PID/cmdline shows, stays as it was). */
void secret_env_args(const struct as_param *params, int *argc, char ***argv);

/* Parse argv[1..] against params. On error fills err (exit AS_EXIT_BADINPUT)
 * and returns NULL. Secret values are registered with secret_register(). */
struct as_args *as_args_parse(const struct as_param *params, int argc,
                              char **argv, struct as_error *err);
void as_args_free(struct as_args *args);

/* Accessors: the given value, else the table's default, else "absent". Asking
 * for a name not in the table is a programming error and aborts. */
bool as_arg_given(const struct as_args *a, const char *name);
const char *as_arg_str(const struct as_args *a, const char *name); /* NULL: absent */
long long as_arg_int(const struct as_args *a, const char *name, long long absent);
double as_arg_num(const struct as_args *a, const char *name, double absent);
bool as_arg_bool(const struct as_args *a, const char *name);
struct json_object *as_arg_obj(const struct as_args *a, const char *name); /* borrowed */

/* Fill an area's typed struct (desc[0..n), params.h) from the parsed
 * values: given, else defaulted, else absent (NULL, PARAM_ABSENT). Every
 * name must be in the action's table (else it aborts, as the accessors do).
 * Strings stay owned by the args. */
void as_args_fill(const struct as_args *a, const struct param_desc *desc, size_t n,
                  void *values);

/* The range of an integer parameter of `action` (NULL: any action): true
 * with *lo and *hi set, false for a name without one. A given value outside
 * it is refused by as_args_parse() ("invalid_parameter"). */
bool as_param_range(const char *action, const char *name, long long *lo, long long *hi);

/* The JSON description of a parameter table, for the metadata check; an
 * integer's range appears as "minimum" and "maximum" (those of `action`). */
struct json_object *as_params_describe(const struct as_param *params);
struct json_object *as_params_describe_for(const struct as_param *params,
                                           const char *action);

struct ds;

struct as_ctx {
    const struct as_args *args;
    const char *progname;     /* action name, from argv[0] */
    const char *execution_id; /* $ST2_ACTION_EXECUTION_ID or NULL */
    struct ds *ds;            /* opened on first as_ctx_ds() */
};

/* The datastore selected by the environment, opened once per process. */
struct ds *as_ctx_ds(struct as_ctx *ctx, struct as_error *err);
/* The same for an action that only reads (asg_get, asg_list): the store
 * read-only (ds_open_from_env_read_only), which on the embedded file spares
 * each run the WAL files' creation and the checkpoint at close. */
struct ds *as_ctx_ds_read_only(struct as_ctx *ctx, struct as_error *err);

/* A command: fill *result (a new JSON object) and return 0, or fill err and
 * return -1. It must not print to stdout. */
typedef int (*as_cmd_fn)(struct as_ctx *ctx, struct json_object **result,
                         struct as_error *err);

/* The whole life of an action process; returns the exit status for main().
 * With AUTOSCALE_DESCRIBE_PARAMS=1 in the environment it prints the table
 * (as_params_describe) and runs nothing. A person's --help (or -h) or
 * --version anywhere on the line prints the action's help (actions/runner/help.h) or
 * the pack version on stdout, exits 0 and runs nothing: st2 never passes
 * either, since no action declares a parameter of that name. */
int as_action_main(int argc, char **argv, const struct as_param *params,
                   as_cmd_fn cmd);

/* One action of the multi-call binary (actions/bin/autoscale): its name (the
 * YAML's name, and the link actions/bin/<name> that st2's entry_point runs),
 * its parameter table and its command. Each actions/src/<name>.c ends with
 * AS_ACTION(<name>, params, cmd_<name>); actions/src/autoscale.c lists them. */
struct as_action {
    const char *name;
    const struct as_param *params;
    as_cmd_fn cmd;
};
#define AS_ACTION(name_, params_, cmd_)                                        \
    extern const struct as_action as_action_##name_;                           \
    const struct as_action as_action_##name_ = {#name_, params_, cmd_}
/* For a binary's list of actions: X-macro steps declaring and listing them. */
#define AS_ACTION_DECLARE(name_) extern const struct as_action as_action_##name_;
#define AS_ACTION_ENTRY(name_) &as_action_##name_,

/* Print one JSON document and a newline on stdout, secrets scrubbed. */
void as_print_json(struct json_object *doc);

/* The error document: {"error": {"code": ..., "message": ...}}. */
struct json_object *as_error_json(const struct as_error *err);

#endif
