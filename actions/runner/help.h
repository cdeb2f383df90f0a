/* help.h - what `<action> --help` and `--version` print, for people.
 *
 * The parameters come from the action's own table (struct as_param), so the
 * help cannot list one the action does not take; the words come from the
 * action's YAML, which is where st2 and the Web UI read them. C does not
 * parse YAML at run time: tools/gen_help.py turns the descriptions of
 * actions/<action>.yaml into actions/runner/help_text.c, committed, and
 * tests/pack/test_help.py fails when that file is stale. */
#ifndef AS_HELP_H
#define AS_HELP_H

#include <stdio.h>

#include "st2.h"

/* One description: of an action (param NULL) or of one of its parameters. */
struct as_help_text {
    const char *action;
    const char *param;
    const char *text;
};
extern const struct as_help_text as_help_texts[]; /* ends with a NULL action */

/* The YAML description, or NULL when it has none. */
const char *as_help_lookup(const char *action, const char *param);

/* Usage, the action's description, then every parameter of the table: its
 * form on the command line, type, required, secret (and the environment
 * variable it may come from), default (or the pack config key st2 renders
 * it from), integer range, and description. 0, or -1 on a write error. */
int as_help_print(FILE *out, const char *action, const struct as_param *params);

/* "autoscale <version>" (AS_VERSION, the pack.yaml version). */
int as_version_print(FILE *out);

/* Text wrapped at `width` columns, each line indented by `indent` spaces. */
int as_help_wrap(FILE *out, const char *text, int indent, int width);

#endif
