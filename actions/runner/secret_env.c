/* secret_env.c - secret parameters from the environment (secret_env_args
 * in st2.h; docs/actions.md, "Secrets"). Part of the action front end: it
 * rewrites argv before parsing, keyed by the action's parameter table.
 *
 * Under st2 a parameter default becomes an argument, and every argument is
 * readable by any local user in /proc/PID/cmdline for the whole run (of the
 * action and of the `sh -c`, `sudo` and `bash -c` st2 starts it through). An
 * environment is readable only by its own user and root. So each action's
 * YAML hands the pack config's secrets to st2's `env` runner parameter, one
 * AUTOSCALE_SECRET_<NAME> each, and this file turns them back into
 * parameters before argv is parsed, so every later step (types, UTF-8,
 * scrubbing, accessors) treats them like any other argument. */
#include "secret.h"
#include "st2.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "AUTOSCALE_SECRET_"
#define PREFIX_LEN (sizeof PREFIX - 1)

extern char **environ;

struct found {
    char *entry;       /* the environment's own "NAME=value" string */
    char name[64];     /* what follows the prefix */
    char *value;       /* a copy */
};

/* Kept for the life of the process: the parsed values point into it. */
static char **args_copy;

static bool given_on_argv(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, n) == 0 &&
            argv[i][2 + n] == '=' && argv[i][3 + n])
            return true;
    return false;
}

static bool env_name_is(const char *found, const char *param)
{
    for (; *found && *param; found++, param++)
        if (*found != (*param >= 'a' && *param <= 'z' ? *param - 'a' + 'A' : *param))
            return false;
    return !*found && !*param;
}

/* Take every AUTOSCALE_SECRET_* out of the environment: copied, registered
 * with the scrubber, its value wiped where the kernel shows it in
 * /proc/PID/environ, and unset so no child inherits it. */
static size_t take_all(struct found *out, size_t max)
{
    size_t n = 0;
    for (char **e = environ; e && *e && n < max; e++) {
        const char *eq = strchr(*e, '=');
        size_t nlen = eq ? (size_t)(eq - *e) : 0;
        if (!eq || strncmp(*e, PREFIX, PREFIX_LEN) != 0 || nlen - PREFIX_LEN >= sizeof out->name)
            continue;
        struct found *f = &out[n];
        memcpy(f->name, *e + PREFIX_LEN, nlen - PREFIX_LEN);
        f->name[nlen - PREFIX_LEN] = '\0';
        f->value = xstrdup(eq + 1);
        f->entry = *e;
        secret_register(f->value);
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        char var[PREFIX_LEN + sizeof out->name];
        snprintf(var, sizeof var, "%s%s", PREFIX, out[i].name);
        char *value = strchr(out[i].entry, '=') + 1;
        memset(value, 0, strlen(value));
        unsetenv(var);
    }
    return n;
}

void secret_env_args(const struct as_param *params, int *argc, char ***argv)
{
    struct found found[32];
    size_t nfound = take_all(found, sizeof found / sizeof *found);
    char *add[32];
    size_t nadd = 0;

    for (size_t i = 0; i < nfound; i++) {
        for (const struct as_param *p = params; p->name && nadd < 32; p++) {
            if (!(p->flags & AS_P_SECRET) || !env_name_is(found[i].name, p->name) ||
                !found[i].value[0] || given_on_argv(*argc, *argv, p->name))
                continue; /* a value given on the command line wins */
            add[nadd++] = xasprintf("--%s=%s", p->name, found[i].value);
        }
        secret_free(found[i].value);
    }
    if (nadd == 0)
        return;

    /* argv, the added arguments, NULL, then the previous copy: a second
     * call (tests) may be handed the first one's array, still in use. */
    size_t n = (size_t)*argc + nadd;
    char **copy = xcalloc(n + 2, sizeof *copy);
    memcpy(copy, *argv, (size_t)*argc * sizeof *copy);
    memcpy(copy + *argc, add, nadd * sizeof *copy);
    copy[n + 1] = (char *)args_copy;
    args_copy = copy;
    *argc += (int)nadd;
    *argv = copy;
}
