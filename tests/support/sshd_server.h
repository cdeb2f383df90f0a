/* sshd_server.h - a real OpenSSH server for configuration-management tests.
 *
 * /usr/sbin/sshd -D -e -f <dir>/sshd_config on a free 127.0.0.1 port, with
 * its own ed25519 host key, AuthorizedKeysFile in the same directory,
 * StrictModes no and UsePAM no (backends.md). It logs to <dir>/sshd.log and
 * dies with the test process (PR_SET_PDEATHSIG) if a test crashes before
 * stopping it. Logins are as the user running the tests. */
#ifndef TEST_SSHD_SERVER_H
#define TEST_SSHD_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct sshd_server {
    char dir[200];
    int port;
    pid_t pid;
    char fingerprint[128];      /* the host key's, as `ssh-keygen -lf` prints */
    char authorized_keys[256];  /* append public keys with sshd_authorize() */
};

/* Start in dir (which must exist). 0, or -1 with a message on stderr. */
int sshd_server_start(struct sshd_server *s, const char *dir);

/* Stop and start again on the same port, with a fresh host key if asked
 * (the "machine was replaced" case). */
int sshd_server_restart(struct sshd_server *s, int new_host_key);

void sshd_server_stop(struct sshd_server *s);

/* A key pair at path and path.pub (type "ed25519", "rsa", ...). */
int sshd_keygen(const char *type, const char *path);

/* Let the key at pubkey_path log in. */
int sshd_authorize(struct sshd_server *s, const char *pubkey_path);

/* Run argv (no shell); its stdout (NUL-terminated, cut to outsz) in out if
 * given. Returns the exit status, or -1. */
int sshd_run(const char *const argv[], char *out, size_t outsz);

/* Whole files: read (newly allocated, NULL if unreadable; *len if given)
 * and write (created with mode). */
char *sshd_read_file(const char *path, size_t *len);
int sshd_write_file(const char *path, const char *text, mode_t mode);

#endif
