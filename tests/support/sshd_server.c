/* sshd_server.c - see sshd_server.h. */
#include "sshd_server.h"
#include "spawn.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SSHD_BIN "/usr/sbin/sshd" /* sshd insists on an absolute path */
#define START_TRIES 5
#define READY_WAIT_MS 20000 /* a loaded shared machine can be slow */

/* ------------------------------------------------------------- files -- */

char *sshd_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    if (!f)
        return NULL;
    FILE *m = open_memstream(&buf, &n);
    char chunk[4096];
    size_t got;
    while (m && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, got, m);
    fclose(f);
    if (!m || fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}

int sshd_write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n;
    fchmod(fd, mode);
    return close(fd) == 0 && ok ? 0 : -1;
}

int sshd_run(const char *const argv[], char *out, size_t outsz)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(p[1], 1);
        if (!out)
            dup2(devnull, 1);
        close(p[0]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    char sink[512];
    for (;;) {
        ssize_t got = out && n + 1 < outsz ? read(p[0], out + n, outsz - 1 - n)
                                           : read(p[0], sink, sizeof sink);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (out && n + 1 < outsz && (size_t)got <= outsz - 1 - n)
            n += (size_t)got;
    }
    if (out && outsz)
        out[n] = '\0';
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int sshd_keygen(const char *type, const char *path)
{
    char pub[300];
    snprintf(pub, sizeof pub, "%s.pub", path);
    unlink(path);
    unlink(pub);
    const char *argv[] = {"ssh-keygen", "-q", "-t", type, "-N", "", "-C", "autoscale-test",
                          "-f", path, NULL};
    if (strcmp(type, "rsa") == 0) {
        const char *rsa[] = {"ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "",
                             "-C", "autoscale-test", "-f", path, NULL};
        return sshd_run(rsa, NULL, 0) == 0 ? 0 : -1;
    }
    return sshd_run(argv, NULL, 0) == 0 ? 0 : -1;
}

int sshd_authorize(struct sshd_server *s, const char *pubkey_path)
{
    char *key = sshd_read_file(pubkey_path, NULL);
    FILE *f = key ? fopen(s->authorized_keys, "a") : NULL;
    int rc = f && fputs(key, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(key);
    return rc;
}

/* "256 SHA256:abc... comment (ED25519)" -> "SHA256:abc..." */
static int read_fingerprint(struct sshd_server *s)
{
    char pub[300], out[512];
    snprintf(pub, sizeof pub, "%s/host_ed25519.pub", s->dir);
    const char *argv[] = {"ssh-keygen", "-l", "-f", pub, NULL};
    if (sshd_run(argv, out, sizeof out) != 0)
        return -1;
    char *fp = strstr(out, "SHA256:");
    if (!fp)
        return -1;
    size_t n = strcspn(fp, " \n");
    snprintf(s->fingerprint, sizeof s->fingerprint, "%.*s", (int)n, fp);
    return 0;
}

static int new_host_key(struct sshd_server *s)
{
    char path[300];
    snprintf(path, sizeof path, "%s/host_ed25519", s->dir);
    return sshd_keygen("ed25519", path) == 0 ? read_fingerprint(s) : -1;
}

static int write_config(const struct sshd_server *s)
{
    char path[300];
    snprintf(path, sizeof path, "%s/sshd_config", s->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "Port %d\n"
            "ListenAddress 127.0.0.1\n"
            "HostKey %s/host_ed25519\n"
            "AuthorizedKeysFile %s\n"
            "PidFile %s/sshd.pid\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "X11Forwarding no\n"
            "PrintMotd no\n"
            "MaxStartups 100\n"
            "LogLevel VERBOSE\n",
            s->port, s->dir, s->authorized_keys, s->dir);
    return fclose(f) == 0 ? 0 : -1;
}

/* ----------------------------------------------------------- process -- */

static pid_t spawn(const struct sshd_server *s)
{
    char cfg[300], log[300];
    snprintf(cfg, sizeof cfg, "%s/sshd_config", s->dir);
    snprintf(log, sizeof log, "%s/sshd.log", s->dir);
    char *const argv[] = {SSHD_BIN, "-D", "-e", "-f", cfg, NULL};
    return spawn_logged(log, argv);
}

/* The SSH greeting on the port means sshd is accepting. */
static int greets(int port)
{
    struct sockaddr_in a;
    char buf[16] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) == 1 && read(fd, buf, 7) == 7)
            ok = strncmp(buf, "SSH-2.0", 7) == 0;
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

static void reap(struct sshd_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 500; i++) { /* 5 s */
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        test_sleep_ms(10);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static int launch(struct sshd_server *s)
{
    if (write_config(s) < 0 || (s->pid = spawn(s)) < 0)
        return -1;
    long long until = test_now_ms() + READY_WAIT_MS;
    while (test_now_ms() < until) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1; /* most likely the port was taken meanwhile */
        }
        if (greets(s->port))
            return 0;
        test_sleep_ms(20);
    }
    reap(s);
    return -1;
}

static void show_log(const struct sshd_server *s)
{
    char path[300];
    snprintf(path, sizeof path, "%s/sshd.log", s->dir);
    char *log = sshd_read_file(path, NULL);
    fprintf(stderr, "sshd_server: sshd did not start; its log:\n%s\n", log ? log : "(none)");
    free(log);
}

int sshd_server_start(struct sshd_server *s, const char *dir)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->authorized_keys, sizeof s->authorized_keys, "%s/authorized_keys", dir);
    mkdir("/run/sshd", 0755); /* sshd's privilege separation directory */
    if (new_host_key(s) < 0 || sshd_write_file(s->authorized_keys, "", 0600) < 0) {
        fprintf(stderr, "sshd_server: cannot make a host key in %s\n", dir);
        return -1;
    }
    for (int i = 0; i < START_TRIES; i++) {
        if ((s->port = test_free_port(NULL, false)) > 0 && launch(s) == 0)
            return 0;
    }
    show_log(s);
    return -1;
}

int sshd_server_restart(struct sshd_server *s, int new_key)
{
    reap(s);
    if (new_key && new_host_key(s) < 0)
        return -1;
    for (int i = 0; i < START_TRIES; i++)
        if (launch(s) == 0)
            return 0;
    show_log(s);
    return -1;
}

void sshd_server_stop(struct sshd_server *s)
{
    reap(s);
}
