/* ssh_known_hosts.c - the known-hosts file the pack keeps host keys in
 * (see ssh.h): where it is by default, the checks before the pack writes
 * one, and forgetting a host. No libssh here: the files are plain text. */
#include "ssh.h"

#include "path.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Does this look like a known-hosts file: each line blank, a comment, or
 * "[@marker] hosts keytype key ..." with a key type such as ssh-ed25519,
 * ecdsa-sha2-nistp256 or sk-ssh-ed25519@openssh.com? Only the first 64 KiB
 * are read: enough to tell /etc/passwd from one. */
static bool looks_like_known_hosts(int fd)
{
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0)
        return false;
    buf[n] = '\0';
    if (memchr(buf, '\0', (size_t)n))
        return false;
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        else if (n == (ssize_t)sizeof buf - 1)
            break; /* a line cut by the read: judged by the lines before it */
        char *save = NULL, *f[3] = {NULL, NULL, NULL};
        char *tok = strtok_r(line, " \t\r", &save);
        if (!tok || tok[0] == '#')
            continue;
        if (tok[0] == '@')
            tok = strtok_r(NULL, " \t\r", &save);
        for (int i = 0; i < 3 && tok; i++, tok = strtok_r(NULL, " \t\r", &save))
            f[i] = tok;
        if (!f[2] || !(strncmp(f[1], "ssh-", 4) == 0 || strncmp(f[1], "ecdsa-", 6) == 0 ||
                       strncmp(f[1], "sk-", 3) == 0))
            return false;
    }
    return true;
}

int sshc_known_hosts_check(const char *path, struct as_error *err)
{
    if (as_path_check(path, "ssh_known_hosts_file", err) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        return 0; /* created on the first host key, in a directory that exists */
    struct stat st;
    const char *why = NULL;
    if (fd < 0)
        why = errno == ELOOP ? "is a symbolic link" : "cannot be opened";
    else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        why = "is not a regular file";
    else if (st.st_uid != geteuid())
        why = "is not owned by the user running the action";
    else if (st.st_mode & 022)
        why = "is writable by others";
    else if (!looks_like_known_hosts(fd))
        why = "does not look like a known_hosts file";
    if (fd >= 0)
        close(fd);
    if (why)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'ssh_known_hosts_file': %s %s: the pack writes host keys "
                       "only into a known_hosts file of its own",
                       path, why);
    return 0;
}

char *sshc_default_known_hosts(void)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/tmp";
    }
    if (state && *state == '/')
        return xasprintf("%s/autoscale/known_hosts", state);
    return xasprintf("%s/.local/state/autoscale/known_hosts", home);
}

/* Does a known-hosts line name host_pat among its comma-separated hosts? */
static bool line_names(const char *line, const char *host_pat)
{
    size_t plen = strlen(host_pat);
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '#' || *p == '@' || *p == '|') /* comments, markers, hashed names */
        return false;
    while (*p && *p != ' ' && *p != '\t') {
        const char *end = p;
        while (*end && *end != ',' && *end != ' ' && *end != '\t')
            end++;
        if ((size_t)(end - p) == plen && strncmp(p, host_pat, plen) == 0)
            return true;
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}

static int rewrite_without(const char *path, FILE *in, const char *pat,
                           struct as_error *err)
{
    char *tmp = xasprintf("%s.XXXXXX", path), *line = NULL;
    size_t cap = 0;
    int removed = 0, fd;
    struct stat st;

    if ((fd = mkstemp(tmp)) < 0) {
        free(tmp);
        return as_fail(err, AS_EXIT_FAILURE, "ssh_error", "cannot rewrite %s: %s", path,
                       strerror(errno));
    }
    if (fstat(fileno(in), &st) == 0)
        fchmod(fd, st.st_mode & 0777);
    FILE *out = fdopen(fd, "w");
    while (out && getline(&line, &cap, in) > 0) {
        if (line_names(line, pat))
            removed++;
        else
            fputs(line, out);
    }
    free(line);
    bool ok = out && fflush(out) == 0 && fsync(fd) == 0;
    if (out)
        fclose(out);
    else
        close(fd);
    if (!ok || (removed > 0 && rename(tmp, path) != 0)) {
        unlink(tmp);
        free(tmp);
        return as_fail(err, AS_EXIT_FAILURE, "ssh_error", "cannot rewrite %s: %s", path,
                       strerror(errno));
    }
    if (removed == 0)
        unlink(tmp);
    free(tmp);
    return removed;
}

int sshc_forget_host(const char *known_hosts, const char *host, int port,
                     struct as_error *err)
{
    char pat[300];
    if (port == 22)
        snprintf(pat, sizeof pat, "%s", host);
    else
        snprintf(pat, sizeof pat, "[%s]:%d", host, port);
    if (sshc_known_hosts_check(known_hosts, err) < 0)
        return -1;
    FILE *in = fopen(known_hosts, "re");
    if (!in) {
        if (errno == ENOENT)
            return 0;
        return as_fail(err, AS_EXIT_FAILURE, "ssh_error", "cannot read %s: %s", known_hosts,
                       strerror(errno));
    }
    int rc = rewrite_without(known_hosts, in, pat, err);
    fclose(in);
    return rc;
}
