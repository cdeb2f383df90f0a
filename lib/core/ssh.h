/* ssh.h - the SSH client configuration management runs commands with.
 *
 * Over libssh: one connection to one node, its host key checked by a policy
 * (accept-new records an unknown key in a known-hosts file and refuses a
 * changed one; strict compares it with a fingerprint given in advance),
 * public-key authentication with a key given as PEM text or a file, and one
 * command run with its stdin fed from memory, its output kept as a bounded
 * tail, its exit status returned, and everything bounded by a deadline.
 *
 * Every wait polls in short slices, so SIGTERM (st2's timeout) and the
 * deadline are noticed within ~100 ms; on either, a script's whole process
 * group on the node is killed (sshc_run_script), so nothing is left running.
 *
 * Error codes: ssh_unreachable (no SSH server answered), ssh_timeout (the
 * deadline passed), ssh_host_key_changed (accept-new: the known key differs),
 * ssh_host_key_mismatch (strict: not the given fingerprint),
 * ssh_auth_failed (the key was refused), invalid_private_key (exit 2),
 * ssh_error (a protocol failure), interrupted. The private key is never
 * logged or copied into an error. */
#ifndef AS_SSH_H
#define AS_SSH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum sshc_policy {
    SSHC_ACCEPT_NEW, /* trust on first use, remember, refuse a change */
    SSHC_STRICT      /* the key must have the given SHA256 fingerprint */
};

/* "accept-new" or "strict"; anything else is invalid_parameter (exit 2). */
int sshc_policy_parse(const char *s, enum sshc_policy *p, struct as_error *err);

/* A fingerprint as `ssh-keygen -lf` prints it: "SHA256:" and 43 unpadded
 * base64 characters. Anything else is invalid_parameter (exit 2). */
int sshc_fingerprint_check(const char *fp, struct as_error *err);

struct sshc_opts {
    const char *host;        /* an IP address */
    int port;
    const char *user;
    const char *key_pem;     /* private key text (OpenSSH or PEM), or NULL */
    const char *key_file;    /* ...or a path to one */
    enum sshc_policy policy;
    const char *known_hosts; /* accept-new: the file trusted keys live in */
    const char *fingerprint; /* strict: "SHA256:..." */
    long long deadline_ms;   /* absolute, on as_mono_ms()'s clock (clock.h) */
    long connect_timeout_ms; /* no SSH greeting within this: unreachable;
                                0 means 30000 */
};

struct sshc;

/* A private key pasted into a one-line config value arrives with literal
 * "\n": the PEM text with real newlines (unchanged when it has one),
 * newly allocated; NULL is "". */
char *sshc_pem_unescape(const char *pem);

/* Connect, check the host key, authenticate. NULL with err on failure. */
struct sshc *sshc_connect(const struct sshc_opts *o, struct as_error *err);

/* The server's host key as "SHA256:..." (what the policy checked). */
const char *sshc_host_fingerprint(const struct sshc *c);

/* accept-new: true when this connection recorded a key not known before. */
bool sshc_host_key_recorded(const struct sshc *c);

#define SSHC_TAIL_MAX 4096

struct sshc_result {
    int exit_status;        /* the command's exit status; -1 if none came
                               (killed by a signal, or we gave up) */
    char *tail;             /* the last ~SSHC_TAIL_MAX bytes of its stdout
                               and stderr as they arrived, valid UTF-8 */
    long long output_bytes; /* everything it printed */
};

/* Run `command` (handed to the user's login shell) with an empty stdin.
 * Returns 0 once it has exited, whatever its status; -1 with err on
 * ssh_timeout, interrupted or a channel failure. *r is filled either way
 * (the tail so far) and must be released with sshc_result_clear().
 * A stopped command is sent the "signal" request, which OpenSSH ignores
 * for root logins: prefer sshc_run_script() for anything long. */
int sshc_exec(struct sshc *c, const char *command, struct sshc_result *r,
              struct as_error *err);

/* Run a POSIX sh script on the node. It travels on the channel's stdin
 * (never on a command line: no size limit, nothing in `ps`), is run from a
 * private temporary file in a session of its own, and is watched: when this
 * side stops it (deadline, SIGTERM), exits or loses the connection, the
 * script's whole process group is killed (TERM, then KILL after 2 s). Same
 * returns as sshc_exec(). The node needs sh, mktemp and (for the process
 * group) setsid. */
int sshc_run_script(struct sshc *c, const char *script, struct sshc_result *r,
                    struct as_error *err);
void sshc_result_clear(struct sshc_result *r);

void sshc_close(struct sshc *c);

/* The end of buf as valid UTF-8 of at most `max` bytes, newly allocated: a
 * character cut at the front is dropped, invalid bytes and NULs become
 * U+FFFD. */
char *sshc_utf8_tail(const char *buf, size_t len, size_t max);

/* ---- the known-hosts file (ssh_known_hosts.c) ---- */

/* A known-hosts file the pack may write: an absolute path (as_path_check)
 * naming nothing yet, or a regular file, not a symbolic link, owned by the
 * running user, writable by no one else, that looks like a known_hosts
 * file. 0, or -1 with AS_EXIT_BADINPUT "invalid_parameter". */
int sshc_known_hosts_check(const char *path, struct as_error *err);

/* The default known-hosts file, newly allocated:
 * $XDG_STATE_HOME/autoscale/known_hosts, else
 * ~/.local/state/autoscale/known_hosts (beside the embedded datastore). */
char *sshc_default_known_hosts(void);

/* Remove every entry for host:port from a known-hosts file (a node gone for
 * good: its address may come back with another machine's key). Returns how
 * many lines were removed (0 when the file does not exist), -1 with err. */
int sshc_forget_host(const char *known_hosts, const char *host, int port,
                     struct as_error *err);

#endif
