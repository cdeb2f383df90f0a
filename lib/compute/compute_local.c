/* compute_local.c - the "local" compute provider: a machine is a process on
 * this host, bound to its own loopback address. Every 127.0.0.0/8 address
 * reaches loopback with no setup, so a process on 127.0.1.7:8080 is a
 * distinct node for DNS and the load balancer, and no root is needed.
 *
 * The provider's "cloud" is one directory, the registry:
 *
 *   <group>.<name>.json  a machine: id, name, group, pid, start_time,
 *                        address, port, created_at, command
 *   <group>.<name>.log   the machine's stdout and stderr
 *   addr-127.0.1.5       an address claim (O_CREAT|O_EXCL), holding
 *                        "<group>.<name> <creator pid> <creator start time>"
 *   lock                 flock()ed while claims are made or released
 *
 * A machine's id is "<group>.<name>": both are DNS labels, which have no
 * dots, so the id splits at its only dot and names its files.
 *
 * A process is known by its pid AND its start time (/proc/<pid>/stat field
 * 22): a dead node's pid may since belong to an unrelated process, which
 * must never be signalled.
 *
 * Every file is opened relative to the registry's descriptor with
 * O_NOFOLLOW: a symlink planted in the directory is never followed.
 *
 * Settings: command (a template run as `/bin/sh -c "exec <command>"`, with
 * {address} {port} {name} {group} {bin} replaced by single-quoted values;
 * {bin} is the running binary's directory), dir (default
 * $AUTOSCALE_LOCAL_DIR, else ${XDG_STATE_HOME:-$HOME/.local/state}/
 * autoscale/local), port (8080, the same on every node's own address),
 * grace_ms (3000: how long destroy waits after SIGTERM before SIGKILL). */
#include "compute_int.h"
#include "clock.h"
#include "group.h"
#include "jsonx.h"
#include "log.h"
#include "node.h"
#include "path.h"
#include "settings.h"
#include "signals.h"
#include "utf8.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_COMMAND "{bin}/demo_app --listen={address}:{port} --name={name}"
#define DEFAULT_PORT 8080
#define DEFAULT_GRACE_MS 3000
#define COMMAND_MAX 4096   /* the template */
#define SHELL_MAX 16384    /* the expanded command */
#define ENTRY_MAX 65536    /* a registry entry is a few hundred bytes */
#define LOG_TAIL 4096      /* how much of a log to search for its last line */
#define CONNECT_MS 1000    /* how long a probe connect() may take */
#define STOP_POLL_FIRST_MS 1 /* the first wait for a stopping process */
#define STOP_POLL_MS 20    /* the longest between two looks at one */
#define KILL_WAIT_MS 5000  /* for SIGKILL to take effect */
#define ID_MAX 96          /* 31 + "." + 63 + NUL */
#define FILE_MAX 112       /* <id>.json, <id>.log */
#define ADDR_COUNT (254u * 254u) /* 127.0.1.1 .. 127.0.254.254 */

extern char **environ;

struct compute_be {
    int dirfd;
    char dir[PATH_MAX];
    char command[COMMAND_MAX + 1];
    int port;
    long grace_ms;
};

/* A registry entry as read back (the fields get/destroy need). */
struct entry {
    char group[GROUP_NAME_MAX + 1];
    char name[64];
    pid_t pid;
    unsigned long long start_time;
    char address[16];
    int port;
    long long created_at;
};

/* ------------------------------------------------------------- errors -- */

static int fail_sys(struct as_error *err, const char *what, const char *file)
{
    return as_fail(err, AS_EXIT_FAILURE, "local_error", "%s %s: %s", what, file,
                   strerror(errno));
}

static int fail_interrupted(struct as_error *err)
{
    return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                   "interrupted by a signal; the machine may be half-way");
}

/* --------------------------------------------------------- names, ids -- */

/* Both halves of an id are checked before any path is built from them:
 * a name with '/', '.', ';' or a newline never reaches the filesystem. */
static int check_names(const char *group, const char *name, struct as_error *err)
{
    if (group_check_name(group, err) < 0 || node_check_name(name, err) < 0)
        return -1;
    return 0;
}

static int split_id(const char *id, struct entry *e, struct as_error *err)
{
    const char *dot = id ? strchr(id, '.') : NULL;
    size_t glen = dot ? (size_t)(dot - id) : 0;
    if (dot && glen < sizeof e->group && strlen(dot + 1) < sizeof e->name) {
        memcpy(e->group, id, glen);
        e->group[glen] = '\0';
        snprintf(e->name, sizeof e->name, "%s", dot + 1);
        if (check_names(e->group, e->name, NULL) == 0)
            return 0;
    }
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_id",
                   "a local machine id is <group>.<name>, both DNS labels");
}

static void file_of(char *out, size_t outsz, const char *group, const char *name,
                    const char *suffix)
{
    snprintf(out, outsz, "%s.%s%s", group, name, suffix);
}

/* ------------------------------------------------------------ processes -- */

enum proc_state { PROC_GONE, PROC_ZOMBIE, PROC_ALIVE };

/* State letter and start time of pid. The command name (field 2) may hold
 * spaces and parentheses, so fields are counted from the last ')'. */
static int proc_read(pid_t pid, char *state, unsigned long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -1;
    p += 2;
    *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -1;
        p++;
    }
    char *end;
    errno = 0;
    *start = strtoull(p, &end, 10);
    return end == p || errno ? -1 : 0;
}

/* Is this the very process the entry names? A pid whose start time differs
 * is someone else's now: for us the node is gone. */
static enum proc_state proc_check(pid_t pid, unsigned long long start)
{
    char st;
    unsigned long long t;
    if (pid <= 1 || proc_read(pid, &st, &t) < 0 || t != start)
        return PROC_GONE;
    return st == 'Z' || st == 'X' ? PROC_ZOMBIE : PROC_ALIVE;
}

/* proc_check, reaping the node if it is a zombie child of ours (the process
 * that created it, or a test): otherwise it would stay a zombie, and its
 * pid stay taken, for as long as we live. */
static enum proc_state proc_settle(pid_t pid, unsigned long long start)
{
    enum proc_state ps = proc_check(pid, start);
    /* Blocking, not WNOHANG: /proc can show a child of ours as dead a moment
     * before waitpid may reap it, and a WNOHANG miss then left the zombie
     * behind. For a process that is not our child this returns at once. */
    if (ps == PROC_ZOMBIE && waitpid(pid, NULL, 0) == pid)
        ps = PROC_GONE;
    return ps;
}

/* setsid() made the node a process group leader: signal the group, so a
 * shell's children go too. Before setsid() (right after create) there is
 * no such group yet: signal the process. */
static void signal_node(pid_t pid, int sig)
{
    if (kill(-pid, sig) < 0 && errno == ESRCH)
        kill(pid, sig);
}

static int self_start_time(unsigned long long *start)
{
    char st;
    return proc_read(getpid(), &st, start);
}

/* --------------------------------------------------------------- files -- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A small regular file of the registry, NUL-terminated and malloc'd; NULL
 * with errno set (ENOENT: absent). O_NONBLOCK: a FIFO planted in its place
 * must not hang us. */
static char *read_small(int dirfd, const char *file, size_t max, size_t *len)
{
    int fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    char *buf = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

/* Publish text under file only if nothing is there yet: write a private
 * temporary file, then link() it (which, unlike rename(), refuses to
 * replace). Readers see the whole entry or none, and of two creates of one
 * name exactly one wins. -1 with errno EEXIST when the name is taken. */
static int publish_new(int dirfd, const char *file, const char *text)
{
    char tmp[FILE_MAX + 32];
    snprintf(tmp, sizeof tmp, ".tmp.%d.%s", (int)getpid(), file);
    unlinkat(dirfd, tmp, 0); /* left by a crashed process that had our pid */
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    /* No fsync: the entry must outlive a crash of ours, which the page
     * cache does; a crash of the host, which an fsync would cover, ends
     * the processes the entries name too (and an entry cut by it reads as
     * corrupt: the machine is reported failed and destroyed). */
    int rc = write_all(fd, text, strlen(text)) == 0 ? 0 : -1;
    if (close(fd) < 0)
        rc = -1;
    if (rc == 0)
        rc = linkat(dirfd, tmp, dirfd, file, 0);
    int saved = errno;
    unlinkat(dirfd, tmp, 0);
    errno = saved;
    return rc;
}

/* ------------------------------------------------------------- entries -- */

static bool address_in_range(const char *a)
{
    unsigned x, y;
    char back[16];
    if (sscanf(a, "127.0.%u.%u", &x, &y) != 2 || x < 1 || x > 254 || y < 1 || y > 254)
        return false;
    snprintf(back, sizeof back, "127.0.%u.%u", x, y);
    return strcmp(back, a) == 0; /* no leading zeros, signs or trailing text */
}

/* Parse and check an entry. It must name the group and node its file name
 * says: a file copied under another name must not redirect our signals. */
static int entry_parse(const char *text, size_t len, struct entry *e)
{
    struct json_object *o = jx_parse(text, len, "registry entry", "corrupt_record",
                                     AS_EXIT_FAILURE, NULL);
    long long pid = jx_int(o, "pid", -1), start = jx_int(o, "start_time", -1);
    long long port = jx_int(o, "port", -1);
    const char *group = jx_str(o, "group", ""), *name = jx_str(o, "name", "");
    const char *addr = jx_str(o, "address", "");
    bool ok = o && json_object_is_type(o, json_type_object) && strcmp(group, e->group) == 0 &&
              strcmp(name, e->name) == 0 && pid > 1 && pid <= INT_MAX && start >= 0 &&
              port >= 1 && port <= 65535 && address_in_range(addr);
    if (ok) {
        e->pid = (pid_t)pid;
        e->start_time = (unsigned long long)start;
        e->port = (int)port;
        snprintf(e->address, sizeof e->address, "%s", addr);
        e->created_at = jx_int(o, "created_at", 0);
    }
    json_object_put(o);
    return ok ? 0 : -1;
}

/* The entry of e->group/e->name into e: 0; or -1 with errno ENOENT (no such
 * machine) or EINVAL (unreadable or inconsistent: a corrupt entry). */
static int entry_load(struct compute_be *c, struct entry *e)
{
    char file[FILE_MAX];
    size_t len;
    file_of(file, sizeof file, e->group, e->name, ".json");
    char *text = read_small(c->dirfd, file, ENTRY_MAX, &len);
    if (!text)
        return errno == ENOENT ? -1 : (errno = EINVAL, -1);
    int rc = entry_parse(text, len, e);
    free(text);
    if (rc < 0)
        errno = EINVAL;
    return rc;
}

static char *entry_json(const struct entry *e, const char *command)
{
    char id[ID_MAX];
    snprintf(id, sizeof id, "%s.%s", e->group, e->name);
    struct json_object *o = jx_new_object();
    jx_add_str(o, "id", id);
    jx_add_str(o, "name", e->name);
    jx_add_str(o, "group", e->group);
    jx_add_int(o, "pid", e->pid);
    jx_add_int(o, "start_time", (long long)e->start_time);
    jx_add_str(o, "address", e->address);
    jx_add_int(o, "port", e->port);
    jx_add_int(o, "created_at", e->created_at);
    jx_add_str(o, "command", command);
    char *text = jx_dump(o);
    json_object_put(o);
    return text;
}

static void entry_to_machine(const struct entry *e, struct machine *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s.%s", e->group, e->name);
    snprintf(m->name, sizeof m->name, "%s", e->name);
    snprintf(m->group, sizeof m->group, "%s", e->group);
    snprintf(m->address, sizeof m->address, "%s", e->address);
    m->port = e->port;
    m->created_at = e->created_at;
}

/* ------------------------------------------------------ address claims -- */

/* The registry lock serialises claiming and releasing: checking that a
 * claim is stale and replacing it must be one step, or two creators could
 * both take the address. It is held for microseconds, and flock() locks
 * die with their process, so there is no stale lock. Returns the fd. */
static int lock_registry(struct compute_be *c, bool interruptible, struct as_error *err)
{
    int fd = openat(c->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail_sys(err, "cannot open", "lock");
    for (long waited = 0;; waited += 2) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            fail_sys(err, "cannot lock", "lock");
            break;
        }
        if (interruptible ? as_interrupted() : waited >= KILL_WAIT_MS) {
            if (interruptible)
                fail_interrupted(err);
            else
                as_fail(err, AS_EXIT_FAILURE, "local_error", "registry lock stays taken");
            break;
        }
        struct timespec ts = {0, 2000000L};
        nanosleep(&ts, NULL);
    }
    close(fd);
    return -1;
}

/* A claim nobody will use: its creator died before publishing an entry
 * for this address, or the entry went away (a destroy that died half-way).
 * Only called under the lock, so a claim being written is never seen. */
static bool claim_is_stale(struct compute_be *c, const char *file, const char *addr)
{
    char *text = read_small(c->dirfd, file, 256, NULL);
    if (!text)
        return false; /* not a plain file: leave it and that address alone */
    struct entry e;
    char id[ID_MAX];
    int pid;
    unsigned long long start;
    bool parsed = sscanf(text, "%95s %d %llu", id, &pid, &start) == 3;
    free(text);
    if (!parsed)
        return true; /* empty or cut: its creator died while writing it */
    /* The creator first, then the entry. The other way round, a creator
     * that published its entry and exited between the two looks (it holds
     * no lock while publishing) was taken for one that died without: its
     * live machine's address was handed out again. A creator dead at the
     * first look publishes nothing more, so the entry then is final. */
    enum proc_state creator = proc_check(pid, start);
    if (split_id(id, &e, NULL) == 0) {
        if (entry_load(c, &e) == 0)
            return strcmp(e.address, addr) != 0;
        if (errno != ENOENT)
            return false; /* corrupt entry: keep its address until destroyed */
    }
    return creator != PROC_ALIVE;
}

/* Whether some program outside this registry (another local_dir, say)
 * already listens on addr:port: a node there would answer our health checks
 * with a stranger's server while its own process died on EADDRINUSE. A
 * connect, not a bind: only a listener counts, not the TIME_WAIT sockets a
 * node we destroyed leaves behind. */
static bool listener_on(const char *addr, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    bool busy = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (!busy && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t len = sizeof soerr;
        busy = poll(&p, 1, 200) == 1 &&
               getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
    }
    close(fd);
    return busy;
}

/* Claim the lowest free address for id into address (16 bytes). */
static int claim_address(struct compute_be *c, const char *id, char *address,
                         struct as_error *err)
{
    unsigned long long start;
    if (self_start_time(&start) < 0)
        return fail_sys(err, "cannot read", "/proc/self/stat");
    char mine[ID_MAX + 48];
    snprintf(mine, sizeof mine, "%s %d %llu\n", id, (int)getpid(), start);

    int lk = lock_registry(c, true, err);
    if (lk < 0)
        return -1;
    int rc = -1;
    bool found = false;
    for (unsigned i = 0; i < ADDR_COUNT && !found; i++) {
        char addr[16], file[32];
        snprintf(addr, sizeof addr, "127.0.%u.%u", 1 + i / 254, 1 + i % 254);
        snprintf(file, sizeof file, "addr-%s", addr);
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        int fd = openat(c->dirfd, file, flags, 0600);
        if (fd < 0 && errno == EEXIST) {
            if (!claim_is_stale(c, file, addr))
                continue;
            log_info("local: reclaiming stale address claim %s", file);
            unlinkat(c->dirfd, file, 0);
            fd = openat(c->dirfd, file, flags, 0600);
            if (fd < 0 && errno == EEXIST)
                continue;
        }
        if (fd >= 0 && listener_on(addr, c->port)) {
            close(fd);
            unlinkat(c->dirfd, file, 0);
            continue;
        }
        found = true;
        if (fd < 0) {
            fail_sys(err, "cannot create", file);
            break;
        }
        rc = write_all(fd, mine, strlen(mine));
        if (close(fd) < 0 || rc < 0) {
            rc = fail_sys(err, "cannot write", file);
            unlinkat(c->dirfd, file, 0);
            break;
        }
        memcpy(address, addr, sizeof addr);
    }
    close(lk);
    if (!found)
        as_fail(err, AS_EXIT_FAILURE, "no_free_address",
                "every address in 127.0.1.1-127.0.254.254 is taken in %s", c->dir);
    return rc;
}

/* Free address if id holds it. Best effort: a claim left behind is stale
 * once the entry is gone and its creator dead, and is reclaimed then. */
static void release_claim(struct compute_be *c, const char *id, const char *address)
{
    char file[32], want[ID_MAX + 1];
    snprintf(file, sizeof file, "addr-%s", address);
    snprintf(want, sizeof want, "%s ", id);
    int lk = lock_registry(c, false, NULL);
    if (lk < 0) {
        log_warn("local: could not release %s; it will be reclaimed later", file);
        return;
    }
    char *text = read_small(c->dirfd, file, 256, NULL);
    if (text && strncmp(text, want, strlen(want)) == 0)
        unlinkat(c->dirfd, file, 0);
    free(text);
    close(lk);
}

/* ----------------------------------------------------- the command line -- */

/* Append s to out, single-quoted for sh ("'" becomes "'\''"): the values
 * are validated already, but quoting makes that a second line of defence,
 * and {bin} is a path we do not control. */
static int append_quoted(char *out, size_t outsz, size_t *len, const char *s)
{
    size_t need = 2;
    for (const char *p = s; *p; p++)
        need += *p == '\'' ? 4 : 1;
    if (*len + need >= outsz)
        return -1;
    out[(*len)++] = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(out + *len, "'\\''", 4);
            *len += 4;
        } else {
            out[(*len)++] = *p;
        }
    }
    out[(*len)++] = '\'';
    out[*len] = '\0';
    return 0;
}

/* The directory of the running binary: the pack's actions/bin, where the
 * demo app is built beside the actions. */
static int bin_dir(char *out, size_t outsz)
{
    ssize_t n = readlink("/proc/self/exe", out, outsz - 1);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (!slash)
        return -1;
    *(slash == out ? slash + 1 : slash) = '\0';
    return 0;
}

/* "exec " + the template with {address} {port} {name} {group} {bin}
 * replaced by quoted values. Other braces stay as they are (${HOME}). */
static int expand_command(const char *tmpl, const struct entry *e, char *out,
                          size_t outsz, struct as_error *err)
{
    char port[16], bin[PATH_MAX] = "";
    snprintf(port, sizeof port, "%d", e->port);
    const char *keys[] = {"address", "port", "name", "group", "bin"};
    const char *vals[] = {e->address, port, e->name, e->group, bin};
    size_t len = (size_t)snprintf(out, outsz, "exec ");

    for (const char *p = tmpl; *p;) {
        size_t k = 0, klen = 0;
        for (; *p == '{' && k < 5; k++) {
            klen = strlen(keys[k]);
            if (strncmp(p + 1, keys[k], klen) == 0 && p[1 + klen] == '}')
                break;
        }
        if (*p != '{' || k == 5) {
            if (len + 1 >= outsz)
                goto too_long;
            out[len++] = *p++;
            out[len] = '\0';
            continue;
        }
        if (k == 4 && !*bin && bin_dir(bin, sizeof bin) < 0)
            return fail_sys(err, "cannot read", "/proc/self/exe");
        if (append_quoted(out, outsz, &len, vals[k]) < 0)
            goto too_long;
        p += klen + 2;
    }
    return 0;
too_long:
    return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                   "local command is too long once expanded");
}

/* ------------------------------------------------------------- spawning -- */

/* What the machine's shell runs before the command (which follows on the
 * next line): wait on fd 3 for the "g" we send once the entry is published,
 * then close it. EOF instead means we gave up: exit having run nothing.
 * The variable goes again, so the command's environment is the one given. */
static const char handshake[] =
    "IFS= read -r as_go <&3 && [ \"$as_go\" = g ] || exit 126; unset as_go; exec 3<&-\n";

/* The action's environment minus ST2_*: the execution's auth token must
 * not outlive the execution inside a machine. */
static char **child_environ(void)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + 1, sizeof *env);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "ST2_", 4) != 0)
            env[k++] = environ[i];
    return env;
}

static void reap_blocking(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* fd moved out of 0..3, which the child's own descriptors are dup2()ed
 * onto: an action started with stdin closed gets its files from fd 0 up. */
static int above_stdio(int fd)
{
    if (fd < 0 || fd > 3)
        return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return high;
}

/* The machine's log, for its stdout and stderr: created if absent
 * (*created then), but not truncated, which must wait until the entry is
 * ours. O_NONBLOCK for the open only: a FIFO planted in its place must not
 * hang us. */
static int open_log(int dirfd, const char *file, bool *created)
{
    const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    int fd = openat(dirfd, file, flags | O_CREAT | O_EXCL, 0600);
    *created = fd >= 0;
    if (fd < 0 && errno == EEXIST)
        fd = openat(dirfd, file, flags);
    if (fd >= 0 && fcntl(fd, F_SETFL, O_APPEND) < 0) {
        close(fd);
        fd = -1;
    }
    return above_stdio(fd);
}

/* Start `sh -c script` as the machine: 0 with *pid, or an errno value.
 * posix_spawn(), not fork(): the child borrows our memory until it execs,
 * so no page table is copied and no page of ours faults copy-on-write
 * afterwards. The child leaves our session (st2's timeout signals the
 * action's session, and a machine outlives the action), gets default
 * handlers for every signal (an ignored one would survive exec) and an
 * empty mask, and keeps /dev/null, the log and the handshake socket as fds
 * 0..3: every other descriptor -- above all st2's stdout pipe, which would
 * hang the execution -- is closed. */
static int spawn_shell(char *script, char **envp, int nullfd, int logfd, int sock, pid_t *pid)
{
    char *argv[] = {"sh", "-c", script, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    /* Every bit, not sigfillset(): that leaves out the C library's own two
     * signals (32 and 33), which posix_spawn() would then leave ignored in
     * the machine. */
    memset(&all, 0xff, sizeof all);
    sigemptyset(&none);
    int rc = posix_spawnattr_init(&at);
    if (rc)
        return rc;
    if ((rc = posix_spawn_file_actions_init(&fa))) {
        posix_spawnattr_destroy(&at);
        return rc;
    }
    if (!(rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                                                 POSIX_SPAWN_SETSIGMASK)) &&
        !(rc = posix_spawnattr_setsigdefault(&at, &all)) &&
        !(rc = posix_spawnattr_setsigmask(&at, &none)) &&
        !(rc = posix_spawn_file_actions_adddup2(&fa, nullfd, 0)) &&
        !(rc = posix_spawn_file_actions_adddup2(&fa, logfd, 1)) &&
        !(rc = posix_spawn_file_actions_adddup2(&fa, logfd, 2)) &&
        !(rc = posix_spawn_file_actions_adddup2(&fa, sock, 3)) &&
        !(rc = posix_spawn_file_actions_addclosefrom_np(&fa, 4)) &&
        !(rc = posix_spawn_file_actions_addchdir_np(&fa, "/")))
        rc = posix_spawn(pid, "/bin/sh", &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

/* Publish the entry of the process just started: the entry first, then the
 * log emptied (a same-named earlier machine's may go only once the name is
 * ours; one we have just created is empty already). */
static int publish_machine(struct compute_be *c, const struct entry *e, const char *command,
                           int logfd, bool fresh_log, struct as_error *err)
{
    char file[FILE_MAX];
    file_of(file, sizeof file, e->group, e->name, ".json");
    char *text = entry_json(e, command);
    int rc = publish_new(c->dirfd, file, text);
    free(text);
    if (rc < 0 && errno == EEXIST)
        return as_fail(err, AS_EXIT_BADINPUT, "machine_exists",
                       "a local machine %s.%s exists already", e->group, e->name);
    if (rc < 0)
        return fail_sys(err, "cannot write", file);
    if (!fresh_log && ftruncate(logfd, 0) < 0)
        log_warn("local: cannot empty the log of %s.%s: %s", e->group, e->name,
                 strerror(errno));
    return 0;
}

/* Start the machine's process, record it in the registry, let it run.
 * Fills e->pid and e->start_time. */
static int start_machine(struct compute_be *c, struct entry *e, const char *command,
                         struct as_error *err)
{
    char log[FILE_MAX];
    int sv[2] = {-1, -1}, logfd = -1, rc = -1;
    bool created = false;
    pid_t pid = -1;
    char *script = xasprintf("%s%s", handshake, command);
    char **envp = child_environ();
    file_of(log, sizeof log, e->group, e->name, ".log");

    int nullfd = above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (nullfd >= 0)
        logfd = open_log(c->dirfd, log, &created);
    if (logfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        (sv[0] = above_stdio(sv[0])) < 0 || (sv[1] = above_stdio(sv[1])) < 0) {
        fail_sys(err, "cannot prepare", "the machine's process");
        goto out;
    }
    int spawned = spawn_shell(script, envp, nullfd, logfd, sv[1], &pid);
    if (spawned != 0) {
        errno = spawned;
        pid = -1;
        fail_sys(err, "cannot start", "/bin/sh");
        goto out;
    }
    close(sv[1]);
    sv[1] = -1;
    char st;
    if (proc_read(pid, &st, &e->start_time) < 0) {
        as_fail(err, AS_EXIT_FAILURE, "spawn_failed", "the machine's process died at birth");
        goto out;
    }
    e->pid = pid;
    if (publish_machine(c, e, command, logfd, created, err) < 0) {
        /* machine_exists: the log is the winner's, whoever created it */
        if (as_error_is(err, "machine_exists"))
            created = false;
        goto out;
    }
    /* If "g" cannot be sent the child is dead: the entry stays, and get()
     * reports the machine as failed, which is the truth. */
    if (send(sv[0], "g\n", 2, MSG_NOSIGNAL) != 2) /* no SIGPIPE if it died */
        log_warn("local: machine %s.%s died before it started", e->group, e->name);
    pid = -1;
    created = false;
    rc = 0;
out: /* closing sv[0] before a send: the child sees EOF and exits unseen */
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (pid > 0)
        reap_blocking(pid);
    if (created)
        unlinkat(c->dirfd, log, 0);
    if (logfd >= 0)
        close(logfd);
    if (nullfd >= 0)
        close(nullfd);
    free(envp);
    free(script);
    return rc;
}

/* ---------------------------------------------------------- inspection -- */

/* 1 if something accepts TCP connections on address:port, 0 if not (yet),
 * -1 if interrupted while waiting for the answer. */
static int port_open(const char *address, int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1)
        return 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int up = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        up = 1;
    } else if (errno == EINPROGRESS) {
        /* in slices, so a signal is noticed while a SYN goes unanswered */
        for (int waited = 0; waited < CONNECT_MS; waited += 100) {
            if (as_interrupted()) {
                up = -1;
                break;
            }
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n = poll(&p, 1, 100);
            if (n > 0) {
                int e = 0;
                socklen_t l = sizeof e;
                up = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e == 0;
                break;
            }
            if (n < 0 && errno != EINTR)
                break;
        }
    }
    close(fd);
    return up;
}

/* Copy src into dst (dstsz bytes) as one printable line: control
 * characters become spaces, bytes of invalid UTF-8 '?', and a cut never
 * splits a character. */
static void one_line(char *dst, size_t dstsz, const char *src, size_t n)
{
    bool utf8 = utf8_valid(src, n);
    size_t cut = n < dstsz - 1 ? n : dstsz - 1;
    while (utf8 && cut < n && cut > 0 && ((unsigned char)src[cut] & 0xC0) == 0x80)
        cut--;
    for (size_t i = 0; i < cut; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = ch < 0x20 || ch == 0x7f ? ' ' : (!utf8 && ch >= 0x80) ? '?' : (char)ch;
    }
    dst[cut] = '\0';
}

/* Why a machine died, in its own words: the last line of its log. */
static void log_last_line(struct compute_be *c, const struct entry *e, char *out,
                          size_t outsz)
{
    static const char prefix[] = "process exited: ";
    char file[FILE_MAX], buf[LOG_TAIL + 1];
    ssize_t n = -1;
    file_of(file, sizeof file, e->group, e->name, ".log");
    int fd = openat(c->dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        n = pread(fd, buf, LOG_TAIL, st.st_size > LOG_TAIL ? st.st_size - LOG_TAIL : 0);
    if (fd >= 0)
        close(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (n <= 0) {
        snprintf(out, outsz, "process exited; its log (%s) is empty", file);
        return;
    }
    buf[n] = '\0';
    char *line = memrchr(buf, '\n', (size_t)n);
    line = line ? line + 1 : buf;
    memcpy(out, prefix, sizeof prefix);
    one_line(out + sizeof prefix - 1, outsz - (sizeof prefix - 1), line,
             (size_t)(buf + n - line));
}

/* The machine's state: alive and accepting connections is ACTIVE, alive
 * and not yet is BUILDING, dead is ERROR. */
static int inspect(struct compute_be *c, const struct entry *e, struct machine *m,
                   struct as_error *err)
{
    entry_to_machine(e, m);
    if (proc_settle(e->pid, e->start_time) != PROC_ALIVE) {
        m->state = MACHINE_ERROR;
        log_last_line(c, e, m->detail, sizeof m->detail);
        return 0;
    }
    int up = port_open(e->address, e->port);
    if (up < 0)
        return fail_interrupted(err);
    m->state = up ? MACHINE_ACTIVE : MACHINE_BUILDING;
    if (!up)
        snprintf(m->detail, sizeof m->detail, "not yet accepting connections on %s:%d",
                 e->address, e->port);
    return 0;
}

/* A registry entry that cannot be read still names a machine: report it
 * failed, so the caller destroys it and frees the name. */
static void corrupt_machine(const struct entry *e, struct machine *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s.%s", e->group, e->name);
    snprintf(m->name, sizeof m->name, "%s", e->name);
    snprintf(m->group, sizeof m->group, "%s", e->group);
    m->state = MACHINE_ERROR;
    snprintf(m->detail, sizeof m->detail, "registry entry %s.json is unreadable", m->id);
}

/* ---------------------------------------------------------- operations -- */

/* mkdir -p, each new level 0700 (XDG says so for state directories). */
static int make_dirs(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -1;
        if (!saved)
            return 0;
        *s = saved;
    }
}

static int resolve_dir(struct json_object *settings, char *out, size_t outsz,
                       struct as_error *err)
{
    const char *dir = settings_str(settings, "dir");
    const char *env = getenv("AUTOSCALE_LOCAL_DIR");
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (dir)
        n = snprintf(out, outsz, "%s", dir);
    else if (env && *env)
        n = snprintf(out, outsz, "%s", env);
    else if (xdg && *xdg == '/')
        n = snprintf(out, outsz, "%s/autoscale/local", xdg);
    else if (home && *home)
        n = snprintf(out, outsz, "%s/.local/state/autoscale/local", home);
    else
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "local: no registry directory (set local_dir, "
                       "AUTOSCALE_LOCAL_DIR or HOME)");
    if (n <= 0 || (size_t)n >= outsz)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings", "local_dir is too long");
    /* A relative one would land in whatever st2's working directory is. */
    return as_path_check(out, "local_dir", err);
}

/* An integer setting in [lo, hi], def when absent (or null). Present but
 * no integer is refused, not taken for absent: a typo must not silently
 * become the default. */
static int int_setting(struct json_object *settings, const char *key, long long lo,
                       long long hi, long long def, long long *out, struct as_error *err)
{
    struct json_object *v = NULL;
    *out = def;
    if (!json_object_object_get_ex(settings, key, &v) || !v)
        return 0;
    *out = settings_int(settings, key, PARAM_ABSENT);
    if (*out < lo || *out > hi)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "local %s must be an integer in %lld..%lld", key, lo, hi);
    return 0;
}

static struct compute_be *local_open(struct json_object *settings, struct as_error *err)
{
    struct compute_be *c = xcalloc(1, sizeof *c);
    long long port, grace;
    c->dirfd = -1;
    const char *cmd = settings_str(settings, "command");
    if (!cmd)
        cmd = DEFAULT_COMMAND;
    if (strlen(cmd) > COMMAND_MAX) {
        as_fail(err, AS_EXIT_BADINPUT, "bad_settings", "local command is too long");
        goto fail;
    }
    snprintf(c->command, sizeof c->command, "%s", cmd);
    if (int_setting(settings, "port", 1, 65535, DEFAULT_PORT, &port, err) < 0 ||
        int_setting(settings, "grace_ms", 0, NODE_GRACE_MAX_MS, DEFAULT_GRACE_MS, &grace,
                    err) < 0 ||
        resolve_dir(settings, c->dir, sizeof c->dir, err) < 0)
        goto fail;
    c->port = (int)port;
    c->grace_ms = (long)grace;

    /* mkdir -p only for a registry not there yet: the usual open is one
     * open(), not one mkdir() per level of the path. */
    const int dflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    c->dirfd = open(c->dir, dflags);
    if (c->dirfd < 0 && errno == ENOENT) {
        if (make_dirs(c->dir) < 0) {
            fail_sys(err, "cannot create", c->dir);
            goto fail;
        }
        c->dirfd = open(c->dir, dflags);
    }
    struct stat st;
    if (c->dirfd < 0 || fstat(c->dirfd, &st) < 0) {
        fail_sys(err, "cannot open", c->dir);
        goto fail;
    }
    /* Whoever may write here may plant an entry naming any process. */
    if (st.st_uid != geteuid() || (st.st_mode & 022)) {
        as_fail(err, AS_EXIT_BADINPUT, "unsafe_dir",
                "local registry %s must be ours and not writable by others", c->dir);
        goto fail;
    }
    return c;
fail:
    if (c->dirfd >= 0)
        close(c->dirfd);
    free(c);
    return NULL;
}

static void local_close(struct compute_be *c)
{
    if (!c)
        return;
    close(c->dirfd);
    free(c);
}

static int local_create(struct compute_be *c, const struct machine_spec *spec,
                        struct machine *out, struct as_error *err)
{
    struct entry e;
    char id[ID_MAX], command[SHELL_MAX];
    memset(&e, 0, sizeof e);
    if (check_names(spec->group, spec->name, err) < 0)
        return -1;
    if (as_interrupted())
        return fail_interrupted(err);
    snprintf(e.group, sizeof e.group, "%s", spec->group);
    snprintf(e.name, sizeof e.name, "%s", spec->name);
    snprintf(id, sizeof id, "%s.%s", e.group, e.name);
    struct entry seen = e;
    if (entry_load(c, &seen) == 0 || errno != ENOENT)
        return as_fail(err, AS_EXIT_BADINPUT, "machine_exists",
                       "a local machine %s exists already", id);

    if (claim_address(c, id, e.address, err) < 0)
        return -1;
    e.port = c->port;
    e.created_at = (long long)time(NULL);
    if (expand_command(c->command, &e, command, sizeof command, err) < 0 ||
        start_machine(c, &e, command, err) < 0) {
        release_claim(c, id, e.address);
        return -1;
    }
    log_info("local: machine %s is pid %d on %s:%d", id, (int)e.pid, e.address, e.port);
    entry_to_machine(&e, out);
    out->state = MACHINE_BUILDING;
    return 0;
}

static int local_get(struct compute_be *c, const char *id, struct machine *out,
                     struct as_error *err)
{
    struct entry e;
    memset(&e, 0, sizeof e);
    if (split_id(id, &e, err) < 0)
        return -1;
    if (entry_load(c, &e) == 0)
        return inspect(c, &e, out, err);
    if (errno != ENOENT) {
        corrupt_machine(&e, out);
        return 0;
    }
    machine_gone(out, id);
    snprintf(out->name, sizeof out->name, "%s", e.name);
    snprintf(out->group, sizeof out->group, "%s", e.group);
    return 0;
}

static int local_find(struct compute_be *c, const char *group, const char *name,
                      struct machine *out, struct as_error *err)
{
    struct entry e;
    memset(&e, 0, sizeof e);
    if (check_names(group, name, err) < 0)
        return -1;
    snprintf(e.group, sizeof e.group, "%s", group);
    snprintf(e.name, sizeof e.name, "%s", name);
    if (entry_load(c, &e) == 0)
        return inspect(c, &e, out, err) < 0 ? -1 : 1;
    if (errno == ENOENT)
        return 0;
    corrupt_machine(&e, out);
    return 1;
}

/* Look at the node until it is no longer alive or ms have passed, ever
 * less often (as_backoff): a node that honours SIGTERM is gone within a
 * millisecond or two, one that does not costs a look every STOP_POLL_MS.
 * Its state then in *ps; -1 when interrupted. The sleeps, not the clock,
 * count the time: when the action's deadline cuts them short, the wait
 * still ends after as many looks. */
static int await_exit(const struct entry *e, long ms, enum proc_state *ps)
{
    struct as_backoff b;
    as_backoff_init(&b, STOP_POLL_FIRST_MS, STOP_POLL_MS);
    for (long waited = 0;
         (*ps = proc_settle(e->pid, e->start_time)) == PROC_ALIVE && waited < ms;) {
        long nap = as_backoff_next(&b, ms - waited);
        if (as_sleep_ms(nap) < 0)
            return -1;
        waited += nap;
    }
    return 0;
}

/* SIGTERM, up to grace_ms for the process to go, then SIGKILL. Every
 * signal follows a fresh check that the pid is still the node's; a zombie
 * still holds its pid (and so its process group), so signalling the group
 * then is safe and sweeps whatever children it left. */
static int stop_process(struct compute_be *c, const struct entry *e, struct as_error *err)
{
    enum proc_state ps = proc_settle(e->pid, e->start_time);
    if (ps == PROC_GONE || e->pid == getpid()) /* a forged entry naming us */
        return 0;
    signal_node(e->pid, SIGTERM);
    if (await_exit(e, c->grace_ms, &ps) < 0)
        return fail_interrupted(err);
    if (ps == PROC_GONE)
        return 0;
    if (ps == PROC_ALIVE)
        log_warn("local: pid %d ignored SIGTERM for %ld ms; sending SIGKILL", (int)e->pid,
                 c->grace_ms);
    signal_node(e->pid, SIGKILL);
    if (await_exit(e, KILL_WAIT_MS, &ps) < 0)
        return fail_interrupted(err);
    if (ps == PROC_ALIVE)
        return as_fail(err, AS_EXIT_FAILURE, "stop_failed",
                       "pid %d survives SIGKILL (stuck in the kernel?)", (int)e->pid);
    return 0;
}

static int local_destroy(struct compute_be *c, const char *id, struct as_error *err)
{
    struct entry e;
    char json[FILE_MAX], logf[FILE_MAX];
    memset(&e, 0, sizeof e);
    if (split_id(id, &e, err) < 0)
        return -1;
    if (as_interrupted())
        return fail_interrupted(err);
    file_of(json, sizeof json, e.group, e.name, ".json");
    file_of(logf, sizeof logf, e.group, e.name, ".log");
    if (entry_load(c, &e) < 0) {
        if (errno == ENOENT)
            return 0;
        /* Nothing to signal; its address claim frees itself once stale. */
        log_warn("local: dropping unreadable registry entry %s", json);
        unlinkat(c->dirfd, json, 0);
        unlinkat(c->dirfd, logf, 0);
        return 0;
    }
    if (stop_process(c, &e, err) < 0)
        return -1;
    if (unlinkat(c->dirfd, json, 0) < 0 && errno != ENOENT)
        return fail_sys(err, "cannot remove", json);
    unlinkat(c->dirfd, logf, 0);
    release_claim(c, id, e.address);
    log_info("local: machine %s destroyed", id);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct machine *)a)->name, ((const struct machine *)b)->name);
}

static int local_list(struct compute_be *c, const char *group, struct machine **out,
                      size_t *n, struct as_error *err)
{
    *out = NULL;
    *n = 0;
    if (group_check_name(group, err) < 0)
        return -1;
    int fd = openat(c->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return fail_sys(err, "cannot list", c->dir);
    }
    size_t glen = strlen(group), cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        struct entry e;
        memset(&e, 0, sizeof e);
        /* <group>.<name>.json, name a DNS label (so no other group's) */
        if (len <= glen + 6 || strncmp(de->d_name, group, glen) != 0 ||
            de->d_name[glen] != '.' || strcmp(de->d_name + len - 5, ".json") != 0 ||
            len - glen - 6 >= sizeof e.name)
            continue;
        memcpy(e.name, de->d_name + glen + 1, len - glen - 6);
        snprintf(e.group, sizeof e.group, "%s", group);
        if (node_check_name(e.name, NULL) < 0)
            continue;
        if (entry_load(c, &e) < 0) {
            if (errno != ENOENT) /* ENOENT: destroyed while we looked */
                log_warn("local: skipping unreadable registry entry %s", de->d_name);
            continue;
        }
        *out = xgrow(*out, *n + 1, &cap, sizeof **out);
        rc = inspect(c, &e, &(*out)[*n], err);
        if (rc == 0)
            (*n)++;
    }
    closedir(d);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (*n > 1)
        qsort(*out, *n, sizeof **out, by_name);
    return 0;
}

const struct compute_ops compute_local_ops = {
    .name = "local",
    .open = local_open,
    .create = local_create,
    .get = local_get,
    .find = local_find,
    .destroy = local_destroy,
    .list = local_list,
    .close = local_close,
    /* A machine here is a process: the demo app listens a few milliseconds
     * after the create, and a look costs a file read and a loopback
     * connect, no one's rate limit. So 2, 4, 8 ... ms, and a slow starter
     * is looked at every 100 ms. */
    .poll_first_ms = 2,
    .poll_ms = 100,
};
