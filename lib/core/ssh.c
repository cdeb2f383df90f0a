/* ssh.c - see ssh.h: the session and the commands run in it (the
 * known-hosts file is ssh_known_hosts.c).
 *
 * The session runs in libssh's non-blocking mode from the first byte:
 * every call that would wait returns SSH_AGAIN, and we wait on the socket
 * ourselves in 100 ms slices, checking the deadline and the SIGTERM flag in
 * between. A blocking libssh call would sit in its own poll() for as long as
 * its timeout, and st2 never follows SIGTERM with SIGKILL.
 *
 * The remote command is ended with the "signal" channel request (RFC 4254
 * 6.9): OpenSSH (7.9+) delivers it with killpg() to the session's process
 * group, so a chef run and everything it started go together. Closing the
 * channel alone would leave a command that does not write to its output
 * running on the node. */
#include "ssh.h"

#include "clock.h"
#include "log.h"
#include "path.h"
#include "signals.h"
#include "secret.h"
#include "utf8.h"
#include "xalloc.h"

#include <errno.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLICE_MS 100
#define STOP_WAIT_MS 3000 /* for a stopped command to end (its watchdog
                             sends KILL 2 s after TERM) */
#define CONNECT_TIMEOUT_MS 30000

struct sshc {
    ssh_session s;
    long long deadline_ms;
    char fingerprint[128];
    bool recorded;
};

/* ------------------------------------------------------------ parsing -- */

int sshc_policy_parse(const char *s, enum sshc_policy *p, struct as_error *err)
{
    if (s && strcmp(s, "accept-new") == 0)
        *p = SSHC_ACCEPT_NEW;
    else if (s && strcmp(s, "strict") == 0)
        *p = SSHC_STRICT;
    else
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'ssh_host_key_policy' must be accept-new or strict");
    return 0;
}

int sshc_fingerprint_check(const char *fp, struct as_error *err)
{
    /* SHA-256 is 32 bytes: 43 base64 characters without padding. */
    bool ok = fp && strncmp(fp, "SHA256:", 7) == 0 && strlen(fp) == 7 + 43;
    for (const char *c = fp ? fp + 7 : ""; ok && *c; c++)
        ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
             (*c >= '0' && *c <= '9') || *c == '+' || *c == '/';
    if (!ok)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'ssh_host_fingerprint' must look like "
                       "SHA256:<43 base64 characters>, as `ssh-keygen -lf` prints it");
    return 0;
}

/* ------------------------------------------------------------ logging -- */

/* libssh logs to stderr by itself when LIBSSH_DEBUG is set; route it
 * through our logger instead, so its lines are scrubbed like ours. */
static void libssh_log(int priority, const char *function, const char *buffer,
                       void *userdata)
{
    (void)priority;
    (void)function;
    (void)userdata;
    log_debug("libssh: %s", buffer);
}

static void libssh_logging_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    ssh_set_log_callback(libssh_log);
    ssh_set_log_level(log_get_level() >= LOG_DEBUG ? SSH_LOG_WARN : SSH_LOG_NOLOG);
}

/* ------------------------------------------------------------ waiting -- */

/* Between two SSH_AGAIN: wait for the socket for one slice. Returns 0 to go
 * on, 1 once `limit_ms` has passed, -1 (err "interrupted") on SIGTERM. */
static int wait_slice(struct sshc *c, long long limit_ms, struct as_error *err)
{
    if (as_interrupted())
        return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                       "interrupted by a signal during the SSH session");
    long long left = limit_ms - as_mono_ms();
    if (left <= 0)
        return 1;
    struct pollfd pfd = {.fd = ssh_get_fd(c->s), .events = POLLIN};
    poll(&pfd, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
    return 0;
}

static int timed_out(struct as_error *err, const char *what)
{
    return as_fail(err, AS_EXIT_FAILURE, "ssh_timeout", "deadline passed while %s", what);
}

/* ---------------------------------------------------------------- keys -- */

char *sshc_pem_unescape(const char *pem)
{
    if (!pem)
        pem = "";
    char *out = xstrdup(pem), *w = out;
    if (strchr(pem, '\n'))
        return out;
    for (const char *r = pem; *r; r++) {
        if (r[0] == '\\' && r[1] == 'n') {
            *w++ = '\n';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return out;
}

static int load_key(const struct sshc_opts *o, ssh_key *key, struct as_error *err)
{
    int rc;
    if (o->key_pem && *o->key_pem) {
        char *pem = sshc_pem_unescape(o->key_pem);
        rc = ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL, key);
        secret_free(pem);
        if (rc != SSH_OK)
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_private_key",
                           "parameter 'ssh_private_key' is not an unencrypted private "
                           "key (OpenSSH or PEM format)");
        return 0;
    }
    if (!o->key_file || !*o->key_file)
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "give 'ssh_private_key' (the key text) or "
                       "'ssh_private_key_file' (a path)");
    if (as_path_check(o->key_file, "ssh_private_key_file", err) < 0)
        return -1;
    if (access(o->key_file, R_OK) != 0)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_private_key",
                       "cannot read the private key file %s: %s", o->key_file,
                       strerror(errno));
    if (ssh_pki_import_privkey_file(o->key_file, NULL, NULL, NULL, key) != SSH_OK)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_private_key",
                       "%s is not an unencrypted private key (OpenSSH or PEM format)",
                       o->key_file);
    return 0;
}

/* ------------------------------------------------------------- connect -- */

static int set_options(struct sshc *c, const struct sshc_opts *o, struct as_error *err)
{
    unsigned int port = (unsigned int)o->port;
    int no = 0;
    if (ssh_options_set(c->s, SSH_OPTIONS_HOST, o->host) < 0 ||
        ssh_options_set(c->s, SSH_OPTIONS_PORT, &port) < 0 ||
        ssh_options_set(c->s, SSH_OPTIONS_USER, o->user) < 0 ||
        /* ~/.ssh/config and /etc/ssh/ssh_config are the operator's own,
         * not this pack's: they must not redirect or weaken anything. */
        ssh_options_set(c->s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
        ssh_options_set(c->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") < 0 ||
        (o->known_hosts &&
         ssh_options_set(c->s, SSH_OPTIONS_KNOWNHOSTS, o->known_hosts) < 0))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "cannot use these SSH settings: %s", ssh_get_error(c->s));
    return 0;
}

static int do_connect(struct sshc *c, const struct sshc_opts *o, struct as_error *err)
{
    long connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : CONNECT_TIMEOUT_MS;
    long long give_up = as_mono_ms() + connect_ms;
    long long limit = give_up < c->deadline_ms ? give_up : c->deadline_ms;
    int rc;

    ssh_set_blocking(c->s, 0);
    while ((rc = ssh_connect(c->s)) == SSH_AGAIN) {
        int w = wait_slice(c, limit, err);
        if (w < 0)
            return -1;
        if (w > 0 && limit == c->deadline_ms)
            return timed_out(err, "connecting");
        if (w > 0)
            return as_fail(err, AS_EXIT_FAILURE, "ssh_unreachable",
                           "no SSH answer from %s port %d within %ld s", o->host,
                           o->port, connect_ms / 1000);
    }
    if (rc != SSH_OK)
        return as_fail(err, AS_EXIT_FAILURE, "ssh_unreachable",
                       "cannot connect to SSH on %s port %d: %s", o->host, o->port,
                       ssh_get_error(c->s));
    return 0;
}

static int read_fingerprint(struct sshc *c, struct as_error *err)
{
    ssh_key key = NULL;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp = NULL;

    if (ssh_get_server_publickey(c->s, &key) == SSH_OK &&
        ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0)
        fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
    ssh_clean_pubkey_hash(&hash);
    ssh_key_free(key);
    if (!fp)
        return as_fail(err, AS_EXIT_FAILURE, "ssh_error",
                       "cannot read the server's host key: %s", ssh_get_error(c->s));
    snprintf(c->fingerprint, sizeof c->fingerprint, "%s", fp);
    ssh_string_free_char(fp);
    return 0;
}

/* mkdir -p of the file's directory, private: it says which hosts we trust.
 * Only inside the pack's state directory (where the default file lives):
 * any other known-hosts file must be in a directory that exists. */
static void make_parent_dirs(const char *file)
{
    char *def = sshc_default_known_hosts();
    char *base = strrchr(def, '/');
    bool ours = base && strncmp(file, def, (size_t)(base - def) + 1) == 0;
    free(def);
    if (!ours)
        return;
    char *dir = xstrdup(file);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; *p; p++) {
            if (*p == '/') {
                *p = '\0';
                mkdir(dir, 0700);
                *p = '/';
            }
        }
        mkdir(dir, 0700);
    }
    free(dir);
}

static int check_host_key(struct sshc *c, const struct sshc_opts *o, struct as_error *err)
{
    if (read_fingerprint(c, err) < 0)
        return -1;
    if (o->policy == SSHC_STRICT) {
        if (!o->fingerprint || strcmp(o->fingerprint, c->fingerprint) != 0)
            return as_fail(err, AS_EXIT_FAILURE, "ssh_host_key_mismatch",
                           "host key of %s port %d is %s, not the expected %s", o->host,
                           o->port, c->fingerprint, o->fingerprint ? o->fingerprint : "");
        return 0;
    }
    make_parent_dirs(o->known_hosts);
    switch (ssh_session_is_known_server(c->s)) {
    case SSH_KNOWN_HOSTS_OK:
        return 0;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
        return as_fail(err, AS_EXIT_FAILURE, "ssh_host_key_changed",
                       "host key of %s port %d changed (now %s) since it was recorded in "
                       "%s: refusing to connect; remove the old entry if the machine was "
                       "really replaced",
                       o->host, o->port, c->fingerprint, o->known_hosts);
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
        if (ssh_session_update_known_hosts(c->s) != SSH_OK)
            return as_fail(err, AS_EXIT_FAILURE, "ssh_error",
                           "cannot record the host key in %s: %s", o->known_hosts,
                           ssh_get_error(c->s));
        c->recorded = true;
        log_info("recorded the host key of %s port %d (%s) in %s", o->host, o->port,
                 c->fingerprint, o->known_hosts);
        return 0;
    default:
        return as_fail(err, AS_EXIT_FAILURE, "ssh_error",
                       "cannot check the host key against %s: %s", o->known_hosts,
                       ssh_get_error(c->s));
    }
}

static int authenticate(struct sshc *c, const struct sshc_opts *o, ssh_key key,
                        struct as_error *err)
{
    int rc;
    while ((rc = ssh_userauth_publickey(c->s, NULL, key)) == SSH_AUTH_AGAIN) {
        int w = wait_slice(c, c->deadline_ms, err);
        if (w != 0)
            return w < 0 ? -1 : timed_out(err, "authenticating");
    }
    if (rc == SSH_AUTH_SUCCESS)
        return 0;
    if (rc == SSH_AUTH_ERROR)
        return as_fail(err, AS_EXIT_FAILURE, "ssh_error",
                       "authentication as %s on %s failed: %s", o->user, o->host,
                       ssh_get_error(c->s));
    return as_fail(err, AS_EXIT_FAILURE, "ssh_auth_failed",
                   "%s port %d refused the key for user %s", o->host, o->port, o->user);
}

static int check_opts(const struct sshc_opts *o, struct as_error *err)
{
    if (!o->host || !*o->host || o->port < 1 || o->port > 65535 || !o->user || !*o->user)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "an SSH connection needs a host, a port in 1..65535 and a user");
    if (o->policy == SSHC_STRICT)
        return sshc_fingerprint_check(o->fingerprint, err);
    if (!o->known_hosts || !*o->known_hosts)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "host key policy accept-new needs a known-hosts file");
    return sshc_known_hosts_check(o->known_hosts, err);
}

struct sshc *sshc_connect(const struct sshc_opts *o, struct as_error *err)
{
    ssh_key key = NULL;
    if (check_opts(o, err) < 0 || load_key(o, &key, err) < 0)
        return NULL;
    libssh_logging_once();

    struct sshc *c = xcalloc(1, sizeof *c);
    if (!(c->s = ssh_new())) /* libssh's allocation: only memory fails */
        xalloc_die(0);
    c->deadline_ms = o->deadline_ms;
    log_debug("ssh %s@%s port %d", o->user, o->host, o->port);
    int rc = set_options(c, o, err);
    if (rc == 0)
        rc = do_connect(c, o, err);
    if (rc == 0)
        rc = check_host_key(c, o, err);
    if (rc == 0)
        rc = authenticate(c, o, key, err);
    ssh_key_free(key);
    if (rc < 0) {
        sshc_close(c);
        return NULL;
    }
    return c;
}

const char *sshc_host_fingerprint(const struct sshc *c) { return c->fingerprint; }

bool sshc_host_key_recorded(const struct sshc *c) { return c->recorded; }

void sshc_close(struct sshc *c)
{
    if (!c)
        return;
    if (c->s) {
        ssh_disconnect(c->s);
        ssh_free(c->s);
    }
    free(c);
}

/* --------------------------------------------------------------- tail -- */

struct tail {
    char buf[2 * SSHC_TAIL_MAX];
    size_t len;
    long long total;
};

/* Keep only the last SSHC_TAIL_MAX bytes (plus room for a cut character). */
static void tail_add(struct tail *t, const char *data, size_t n)
{
    const size_t keep = SSHC_TAIL_MAX + 4;
    t->total += (long long)n;
    if (n >= keep) {
        memcpy(t->buf, data + n - keep, keep);
        t->len = keep;
        return;
    }
    if (t->len + n > sizeof t->buf) {
        size_t drop = t->len + n - keep;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->buf + t->len, data, n);
    t->len += n;
}

static size_t utf8_seq_len(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 0;
}

char *sshc_utf8_tail(const char *buf, size_t len, size_t max)
{
    size_t i = 0, w = 0;
    if (len > max) {
        buf += len - max;
        len = max;
    }
    /* A character whose first bytes were cut off is dropped whole. */
    while (i < len && i < 3 && ((unsigned char)buf[i] & 0xC0) == 0x80)
        i++;
    char *out = xmalloc((len - i) * 3 + 1);
    while (i < len) {
        size_t n = utf8_seq_len((unsigned char)buf[i]);
        if (n == 0 || buf[i] == '\0' || i + n > len || !utf8_valid(buf + i, n)) {
            memcpy(out + w, "\xEF\xBF\xBD", 3); /* U+FFFD */
            w += 3;
            i++;
            continue;
        }
        memcpy(out + w, buf + i, n);
        w += n;
        i += n;
    }
    /* Replacements may have grown it: keep the last max bytes, whole
     * characters only. */
    size_t start = w > max ? w - max : 0;
    while (start < w && ((unsigned char)out[start] & 0xC0) == 0x80)
        start++;
    memmove(out, out + start, w - start);
    out[w - start] = '\0';
    return out;
}

/* --------------------------------------------------------------- exec -- */

/* Drain what the channel has for us. 1: both streams at EOF; 0: nothing
 * more for now; -1: the channel failed. */
static int drain(ssh_channel ch, struct tail *t)
{
    char buf[8192];
    int eof = 0;
    for (int is_stderr = 0; is_stderr <= 1; is_stderr++) {
        for (;;) {
            int n = ssh_channel_read_nonblocking(ch, buf, sizeof buf, is_stderr);
            if (n > 0) {
                tail_add(t, buf, (size_t)n);
                continue;
            }
            if (n == SSH_EOF || (n < 0 && (ssh_channel_is_eof(ch) ||
                                           ssh_channel_is_closed(ch))))
                eof++;
            else if (n < 0)
                return -1;
            break;
        }
    }
    return eof == 2 || ssh_channel_is_closed(ch) ? 1 : 0;
}

/* Wait until the output ends and the exit status (or close) arrives, or
 * limit_ms. 0: done; 1: limit; -1: failed (err set; interrupted too). */
static int wait_exit(struct sshc *c, ssh_channel ch, struct tail *t, long long limit_ms,
                     bool interruptible, struct as_error *err)
{
    int done = 0;
    for (;;) {
        if (!done) {
            done = drain(ch, t);
            if (done < 0)
                return as_fail(err, AS_EXIT_FAILURE, "ssh_error",
                               "the SSH channel failed: %s", ssh_get_error(c->s));
        }
        if (done && (ssh_channel_get_exit_status(ch) != -1 || ssh_channel_is_closed(ch)))
            return 0;
        if (!interruptible && as_mono_ms() >= limit_ms)
            return 1;
        if (!interruptible) {
            struct pollfd pfd = {.fd = ssh_get_fd(c->s), .events = POLLIN};
            poll(&pfd, 1, SLICE_MS);
            continue;
        }
        int w = wait_slice(c, limit_ms, err);
        if (w != 0)
            return w;
    }
}

/* The wrapper sshc_run_script() runs (one line: it is handed to the login
 * shell, which may be csh). It reads the script up to the end marker into a
 * private temporary file, starts it in a new session (setsid) with stdin
 * from /dev/null, and keeps our side of stdin for a watchdog: when that
 * reads EOF - we closed it on a timeout or SIGTERM, or the connection died -
 * the script's whole process group gets TERM, then KILL 2 s later. A
 * background list's stdin is /dev/null in a non-interactive shell, hence
 * the copy on fd 3. */
static const char wrapper[] =
    "sh -c 'umask 077; f=$(mktemp) || exit 125; trap \"rm -f \\\"\\$f\\\"\" EXIT; "
    "IFS= read -r end || exit 125; "
    "while IFS= read -r l; do [ \"$l\" = \"$end\" ] && break; printf \"%s\\n\" \"$l\"; "
    "done >\"$f\" || exit 125; "
    "exec 3<&0 </dev/null; "
    "if command -v setsid >/dev/null 2>&1; then setsid sh \"$f\" 3<&- & "
    "else sh \"$f\" 3<&- & fi; run=$!; "
    "(read -r _ <&3; kill -s TERM -- \"-$run\" || kill -s TERM \"$run\"; sleep 2; "
    "kill -s KILL -- \"-$run\" || kill -s KILL \"$run\") >/dev/null 2>&1 & dog=$!; "
    "exec 3<&-; wait \"$run\"; st=$?; kill \"$dog\" 2>/dev/null; exit $st'";

/* End the remote command. Closing its stdin fires the wrapper's watchdog;
 * the "signal" request reaches a plain command too, but OpenSSH honours it
 * only under post-auth privilege separation, which it skips for root. */
static void kill_remote(struct sshc *c, ssh_channel ch, struct tail *t)
{
    struct as_error ignored;
    ssh_channel_send_eof(ch);
    ssh_channel_request_send_signal(ch, "TERM");
    if (wait_exit(c, ch, t, as_mono_ms() + STOP_WAIT_MS, false, &ignored) == 0)
        return;
    ssh_channel_request_send_signal(ch, "KILL");
    log_warn("the remote command did not end within %d s of being stopped; closing",
             STOP_WAIT_MS / 1000);
}

static int open_channel(struct sshc *c, ssh_channel ch, const char *command,
                        struct as_error *err)
{
    int rc, w = 0;
    while ((rc = ssh_channel_open_session(ch)) == SSH_AGAIN &&
           (w = wait_slice(c, c->deadline_ms, err)) == 0)
        ;
    if (rc == SSH_OK)
        while ((rc = ssh_channel_request_exec(ch, command)) == SSH_AGAIN &&
               (w = wait_slice(c, c->deadline_ms, err)) == 0)
            ;
    if (w != 0)
        return w < 0 ? -1 : timed_out(err, "starting the command");
    if (rc != SSH_OK)
        return as_fail(err, AS_EXIT_FAILURE, "ssh_error", "cannot start the command: %s",
                       ssh_get_error(c->s));
    return 0;
}

static int feed_input(struct sshc *c, ssh_channel ch, const char *input, size_t len,
                      struct tail *t, struct as_error *err)
{
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off < 32768 ? len - off : 32768;
        int n = ssh_channel_write(ch, input + off, (uint32_t)chunk);
        if (n == SSH_ERROR)
            return as_fail(err, AS_EXIT_FAILURE, "ssh_error",
                           "cannot write the command's input: %s", ssh_get_error(c->s));
        off += (size_t)n;
        if (n == 0) {
            if (drain(ch, t) < 0)
                return as_fail(err, AS_EXIT_FAILURE, "ssh_error",
                               "the SSH channel failed: %s", ssh_get_error(c->s));
            int w = wait_slice(c, c->deadline_ms, err);
            if (w != 0)
                return w < 0 ? -1 : timed_out(err, "sending the command's input");
        }
    }
    return 0;
}

/* Run command with input on its stdin, closed afterwards unless keep_open. */
static int exec_common(struct sshc *c, const char *command, const char *input,
                       size_t input_len, bool keep_open, struct sshc_result *r,
                       struct as_error *err)
{
    struct tail *t = xcalloc(1, sizeof *t);
    ssh_channel ch = ssh_channel_new(c->s);
    int rc = -1, started = 0;

    memset(r, 0, sizeof *r);
    r->exit_status = -1;
    if (!ch) {
        as_fail(err, AS_EXIT_FAILURE, "ssh_error", "cannot open an SSH channel: %s",
                ssh_get_error(c->s));
        goto out;
    }
    if (open_channel(c, ch, command, err) < 0)
        goto out;
    started = 1;
    if (feed_input(c, ch, input, input ? input_len : 0, t, err) < 0)
        goto out;
    if (!keep_open && ssh_channel_send_eof(ch) == SSH_ERROR) {
        as_fail(err, AS_EXIT_FAILURE, "ssh_error", "cannot close the command's input: %s",
                ssh_get_error(c->s));
        goto out;
    }
    int w = wait_exit(c, ch, t, c->deadline_ms, true, err);
    if (w > 0)
        timed_out(err, "the command ran");
    rc = w == 0 ? 0 : -1;
out:
    if (rc < 0 && started && !ssh_channel_is_closed(ch))
        kill_remote(c, ch, t);
    if (ch) {
        if (rc == 0)
            r->exit_status = ssh_channel_get_exit_status(ch);
        ssh_channel_close(ch);
        ssh_channel_free(ch);
    }
    r->tail = sshc_utf8_tail(t->buf, t->len, SSHC_TAIL_MAX);
    r->output_bytes = t->total;
    free(t);
    return rc;
}

int sshc_exec(struct sshc *c, const char *command, struct sshc_result *r,
              struct as_error *err)
{
    return exec_common(c, command, NULL, 0, false, r, err);
}

/* A line that occurs nowhere in the script ends it on the wire. */
static void end_marker(const char *script, char *out, size_t size)
{
    do {
        unsigned char rnd[16];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            for (size_t i = 0; i < sizeof rnd; i++)
                rnd[i] = (unsigned char)(rand() ^ (int)as_mono_ms());
        int n = snprintf(out, size, "AUTOSCALE-END-");
        for (size_t i = 0; i < sizeof rnd && (size_t)n + 2 < size; i++)
            n += snprintf(out + n, size - (size_t)n, "%02x", rnd[i]);
    } while (strstr(script, out));
}

int sshc_run_script(struct sshc *c, const char *script, struct sshc_result *r,
                    struct as_error *err)
{
    char marker[64];
    end_marker(script, marker, sizeof marker);
    size_t n = strlen(script);
    bool nl = n > 0 && script[n - 1] == '\n';
    char *input = xasprintf("%s\n%s%s%s\n", marker, script, nl ? "" : "\n", marker);
    int rc = exec_common(c, wrapper, input, strlen(input), true, r, err);
    secret_free(input); /* it may carry a node's key */
    return rc;
}

void sshc_result_clear(struct sshc_result *r)
{
    free(r->tail);
    r->tail = NULL;
}
