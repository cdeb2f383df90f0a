/* secret.h - a process-wide registry of secret values.
 *
 * Secret parameters (API keys, tokens, passwords, private keys) are registered
 * when parsed, and the environment's st2 token when read. Everything that leaves
 * the process - the stdout JSON, log lines, error messages - passes through
 * secret_scrub(), so a secret cannot leak even when a server echoes it back in
 * an error body. This is the second line of defence: code still never logs
 * headers or bodies that carry secrets. */
#ifndef AS_SECRET_H
#define AS_SECRET_H

#include <stddef.h>

/* Remember a secret; values shorter than 4 bytes are ignored (they would
 * scrub ordinary text). The string is copied. */
void secret_register(const char *value);

/* Return a newly allocated copy of s with every registered secret replaced
 * by "***". Never NULL unless out of memory (then NULL). */
char *secret_scrub(const char *s);

/* Scrub in place into a fixed buffer (for error messages). */
void secret_scrub_buf(char *buf, size_t size);

/* Forget all secrets, wiping their memory (tests and process exit). */
void secret_clear(void);

struct as_param;

/* Secret parameters from the environment (secret_env.c; docs/actions.md,
 * "Secrets"), called by as_action_main() before argv is parsed. Under st2 a
 * secret travels as AUTOSCALE_SECRET_<NAME> (the parameter's name in upper
 * case) in the action's `env`, never in argv. Every AUTOSCALE_SECRET_*
 * variable is registered here, wiped where /proc/PID/environ shows it, and
 * unset, so no child process inherits it. For each AS_P_SECRET parameter of
 * params with a non-empty variable and not given on the command line (a
 * value given there wins), "--<name>=<value>" is appended to a copy of argv,
 * and *argc and *argv are pointed at that copy (the process's own command line,
 * what /proc/PID/cmdline shows, stays as it was). */
void secret_env_args(const struct as_param *params, int *argc, char ***argv);

#endif
