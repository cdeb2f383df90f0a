/* test_compute_local.c - the local compute provider (lib/compute/compute_local.c)
 * with the real demo app ($AUTOSCALE_BIN_DIR/demo_app, default actions/bin:
 * run `make` first), each test in its own mkdtemp registry.
 *
 * Waits are bounded counts of polls, never timed assertions. All traffic
 * stays on 127.0.0.0/8. The test process is a child subreaper, so nodes
 * whose creator exited (the concurrency test) are reparented to it and
 * teardown can reap them; teardown kills every process a test started,
 * whether or not the test passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compute_int.h"
#include "compute_params.h"
#include "jsonx.h"
#include "log.h"
#include "signals.h"
#include "test_util.h"

/* The provider itself (compute_int.h), not through compute.c's table. */
#define OPS (&compute_local_ops)

#define POLLS 600    /* x 50 ms: the most any wait below may take */
#define POLL_MS 50
#define MAX_PIDS 32

static char demo_path[PATH_MAX];
static int test_port; /* every node of this run serves on it */

struct fx {
    char dir[64];
    struct compute_be *c;
    pid_t pids[MAX_PIDS]; /* processes this test started itself */
    int npids;
};

/* ---------------------------------------------------------------- helpers -- */

static void track(struct fx *f, pid_t pid)
{
    assert_true(f->npids < MAX_PIDS);
    f->pids[f->npids++] = pid;
}

static struct compute_be *open_local(const char *dir, const char *command, long grace_ms,
                                  struct as_error *err)
{
    struct json_object *s = json_object_new_object();
    jx_add_str(s, "dir", dir);
    if (command)
        jx_add_str(s, "command", command);
    jx_add_int(s, "port", test_port);
    jx_add_int(s, "grace_ms", grace_ms);
    struct compute_be *c = OPS->open(s, err);
    json_object_put(s);
    return c;
}

/* Reopen the fixture's provider with another command template. */
static void use_command(struct fx *f, const char *command, long grace_ms)
{
    struct as_error err;
    if (f->c)
        OPS->close(f->c);
    f->c = open_local(f->dir, command, grace_ms, &err);
    if (!f->c)
        fail_msg("open: %s: %s", err.code, err.message);
}

static char *demo_command(void)
{
    static char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "'%s' --listen={address}:{port} --name={name}", demo_path);
    return cmd;
}

static void create_ok(struct fx *f, const char *group, const char *name, struct machine *m)
{
    struct machine_spec spec = {.group = group, .name = name};
    struct as_error err;
    if (OPS->create(f->c, &spec, m, &err) != 0)
        fail_msg("create %s.%s: %s: %s", group, name, err.code, err.message);
}

/* Poll get() until the machine is in state want, or settles elsewhere. */
static enum machine_state wait_state(struct compute_be *c, const char *id,
                                     enum machine_state want, struct machine *m)
{
    struct as_error err;
    for (int i = 0; i < POLLS; i++) {
        assert_int_equal(OPS->get(c, id, m, &err), 0);
        if (m->state == want || (m->state != MACHINE_BUILDING && want == MACHINE_ACTIVE))
            break;
        as_sleep_ms(POLL_MS);
    }
    if (m->state != want)
        print_message("%s is in state %d: %s\n", id, (int)m->state, m->detail);
    return m->state;
}

static char *path_in(const struct fx *f, const char *file)
{
    static char p[4][PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", f->dir, file);
    return p[k];
}

static bool exists_in(const struct fx *f, const char *file)
{
    struct stat st;
    return lstat(path_in(f, file), &st) == 0;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* pid recorded in a machine's registry entry */
static pid_t entry_pid(const struct fx *f, const char *id)
{
    char file[128];
    snprintf(file, sizeof file, "%s.json", id);
    struct json_object *o = json_object_from_file(path_in(f, file));
    assert_non_null(o);
    pid_t pid = (pid_t)jx_int(o, "pid", -1);
    json_object_put(o);
    assert_true(pid > 1);
    return pid;
}

/* Files in the registry named prefix...suffix (temporary ones, which
 * start with a dot, aside). */
static int count_files(const struct fx *f, const char *prefix, const char *suffix)
{
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    size_t pl = strlen(prefix), sl = strlen(suffix);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] != '.' && len >= pl + sl && strncmp(de->d_name, prefix, pl) == 0 &&
            strcmp(de->d_name + len - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Wait (bounded) until the log of id holds want. */
static bool log_has(const struct fx *f, const char *id, const char *want)
{
    char file[128];
    snprintf(file, sizeof file, "%s.log", id);
    for (int i = 0; i < POLLS; i++) {
        char *text = slurp(path_in(f, file));
        bool ok = text && strstr(text, want);
        free(text);
        if (ok)
            return true;
        as_sleep_ms(POLL_MS);
    }
    return false;
}

static bool alive(pid_t pid)
{
    /* a zombie child still answers kill(pid, 0): reap first */
    if (waitpid(pid, NULL, WNOHANG) == pid)
        return false;
    return kill(pid, 0) == 0;
}

static unsigned long long start_time_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* --------------------------------------------------------- HTTP client -- */

struct reply {
    int status;
    char head[8192];
    char body[8192];
};

static int connect_to(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {30, 0}; /* a hang fails the test instead of stalling it */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int http_send(const char *addr, int port, const char *method, const char *path,
                     const char *body)
{
    int fd = connect_to(addr, port);
    if (fd < 0)
        return -1;
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, addr, body ? strlen(body) : 0, body ? body : "");
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

static void http_read(int fd, struct reply *r)
{
    char buf[8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    memset(r, 0, sizeof *r);
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &r->status), 1);
    char *sep = strstr(buf, "\r\n\r\n");
    assert_non_null(sep);
    *sep = '\0';
    snprintf(r->head, sizeof r->head, "%s", buf);
    snprintf(r->body, sizeof r->body, "%s", sep + 4);
}

static void http(const char *addr, int port, const char *method, const char *path,
                 struct reply *r)
{
    int fd = http_send(addr, port, method, path, NULL);
    assert_true(fd >= 0);
    http_read(fd, r);
}

static long long stat_of(const char *addr, const char *key)
{
    struct reply r;
    http(addr, test_port, "GET", "/stats", &r);
    assert_int_equal(r.status, 200);
    struct json_object *o = json_tokener_parse(r.body);
    assert_non_null(o);
    struct json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, key, &v));
    long long n = json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v)
                                                           : json_object_get_int64(v);
    json_object_put(o);
    return n;
}

/* Start demo_app on addr (our port) and wait until it accepts. */
static pid_t spawn_demo(struct fx *f, const char *addr, const char *name)
{
    char listen[64], nm[80];
    snprintf(listen, sizeof listen, "--listen=%s:%d", addr, test_port);
    snprintf(nm, sizeof nm, "--name=%s", name);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path_in(f, "demo.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(demo_path, "demo_app", listen, nm, (char *)NULL);
        _exit(127);
    }
    track(f, pid);
    for (int i = 0; i < POLLS; i++) {
        int fd = connect_to(addr, test_port);
        if (fd >= 0) {
            close(fd);
            return pid;
        }
        if (!alive(pid)) {
            char *log = slurp(path_in(f, "demo.log"));
            fail_msg("demo_app on %s died: %s", addr, log ? log : "(no log)");
        }
        as_sleep_ms(POLL_MS);
    }
    fail_msg("demo_app on %s never accepted", addr);
    return -1;
}

/* --------------------------------------------------------- fixture -- */

static int group_setup(void **state)
{
    (void)state;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    log_set_level(LOG_WARN);
    const char *bin = getenv("AUTOSCALE_BIN_DIR");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/demo_app", bin ? bin : "actions/bin");
    if (!realpath(rel, demo_path) || access(demo_path, X_OK) != 0) {
        fprintf(stderr, "no demo_app at %s: run make first\n", rel);
        return -1;
    }
    /* A port no one uses on any address (a wildcard listener on it would
     * answer for our nodes), derived from the pid so that runs at the same
     * time do not share one. */
    for (int i = 0; i < 200 && !test_port; i++) {
        int p = 10000 + (int)((getpid() * 7 + i * 131) % 20000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            test_port = p;
        close(fd);
    }
    return test_port ? 0 : -1;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (test_tmpdir(f->dir, sizeof f->dir, "as-local") < 0)
        return -1;
    as_set_interrupted(false);
    *state = f;
    use_command(f, demo_command(), 1000);
    return 0;
}

/* Kill what a test left, without trusting the code under test: every
 * process it started itself, then every process the registry names (pid
 * and start time checked), then reap, then remove the directory. */
static int teardown(void **state)
{
    struct fx *f = *state;
    as_set_interrupted(false);
    for (int i = 0; i < f->npids; i++) {
        if (waitpid(f->pids[i], NULL, WNOHANG) == 0) {
            kill(f->pids[i], SIGKILL);
            waitpid(f->pids[i], NULL, 0);
        }
    }
    DIR *d = opendir(f->dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        struct json_object *o = json_object_from_file(path_in(f, de->d_name));
        pid_t pid = (pid_t)jx_int(o, "pid", 0);
        unsigned long long st = (unsigned long long)jx_int(o, "start_time", 0);
        json_object_put(o);
        if (pid > 1 && pid != getpid() && start_time_of(pid) == st) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            /* Wait for it: every test serves on test_port, and a node still
             * listening would take its address from the next test's node. */
            if (waitpid(pid, NULL, 0) != pid)
                for (int ms = 0; ms < 5000 && kill(pid, 0) == 0; ms += 10)
                    as_sleep_ms(10);
        }
    }
    if (d)
        closedir(d);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    test_rmtree(f->dir);
    if (f->c)
        OPS->close(f->c);
    free(f);
    return 0;
}

/* ------------------------------------------------------ the provider -- */

static void test_create_becomes_active_and_serves(void **state)
{
    struct fx *f = *state;
    struct machine m, g;
    create_ok(f, "web", "web-1", &m);
    assert_string_equal(m.id, "web.web-1");
    assert_string_equal(m.name, "web-1");
    assert_string_equal(m.group, "web");
    assert_int_equal(m.state, MACHINE_BUILDING);
    assert_string_equal(m.address, "127.0.1.1");
    assert_int_equal(m.port, test_port);
    assert_true(m.created_at > 0);

    assert_int_equal(wait_state(f->c, m.id, MACHINE_ACTIVE, &g), MACHINE_ACTIVE);
    assert_string_equal(g.address, m.address);
    assert_int_equal(g.port, test_port);
    struct reply r;
    http(g.address, g.port, "GET", "/", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "node web-1\n");
    assert_non_null(strstr(r.head, "X-Node: web-1"));

    /* the registry: entry, log, claim naming the machine */
    struct json_object *o = json_object_from_file(path_in(f, "web.web-1.json"));
    assert_non_null(o);
    assert_string_equal(jx_str(o, "id", ""), "web.web-1");
    assert_string_equal(jx_str(o, "address", ""), "127.0.1.1");
    assert_int_equal(jx_int(o, "port", 0), test_port);
    pid_t pid = (pid_t)jx_int(o, "pid", 0);
    assert_true(pid > 1);
    assert_int_equal((unsigned long long)jx_int(o, "start_time", 0), start_time_of(pid));
    assert_non_null(strstr(jx_str(o, "command", ""), "--name='web-1'"));
    json_object_put(o);
    assert_true(exists_in(f, "web.web-1.log"));
    char *claim = slurp(path_in(f, "addr-127.0.1.1"));
    assert_non_null(claim);
    assert_int_equal(strncmp(claim, "web.web-1 ", 10), 0);
    free(claim);
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_two_nodes_list_find(void **state)
{
    struct fx *f = *state;
    struct machine a, b, x, got;
    struct as_error err;
    create_ok(f, "web", "web-2", &b);
    create_ok(f, "web", "web-1", &a);
    create_ok(f, "api", "web-1", &x); /* same name, other group: another machine */
    assert_string_not_equal(a.address, b.address);
    assert_string_not_equal(a.address, x.address);
    assert_string_equal(x.id, "api.web-1");

    const struct machine *ms[] = {&a, &b};
    const char *names[] = {"web-1", "web-2"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(wait_state(f->c, ms[i]->id, MACHINE_ACTIVE, &got), MACHINE_ACTIVE);
        struct reply r;
        http(ms[i]->address, test_port, "GET", "/", &r);
        assert_int_equal(r.status, 200);
        char want[64];
        snprintf(want, sizeof want, "node %s\n", names[i]);
        assert_string_equal(r.body, want);
    }

    struct machine *list = NULL;
    size_t n = 99;
    assert_int_equal(OPS->list(f->c, "web", &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "web-1");
    assert_string_equal(list[0].id, "web.web-1");
    assert_string_equal(list[0].address, a.address);
    assert_int_equal(list[0].state, MACHINE_ACTIVE);
    assert_string_equal(list[1].name, "web-2");
    assert_string_equal(list[1].address, b.address);
    free(list);
    assert_int_equal(OPS->list(f->c, "api", &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, "api.web-1");
    free(list);
    assert_int_equal(OPS->list(f->c, "none", &list, &n, &err), 0);
    assert_int_equal(n, 0);
    free(list);

    assert_int_equal(OPS->find(f->c, "web", "web-2", &got, &err), 1);
    assert_string_equal(got.id, "web.web-2");
    assert_string_equal(got.address, b.address);
    assert_int_equal(OPS->find(f->c, "web", "web-3", &got, &err), 0);
    assert_int_equal(OPS->find(f->c, "other", "web-1", &got, &err), 0);
}

static void test_destroy_frees_everything(void **state)
{
    struct fx *f = *state;
    struct machine m, g;
    struct as_error err;
    create_ok(f, "web", "web-1", &m);
    assert_int_equal(wait_state(f->c, m.id, MACHINE_ACTIVE, &g), MACHINE_ACTIVE);
    pid_t pid = entry_pid(f, m.id);
    char claim[80];
    snprintf(claim, sizeof claim, "addr-%s", m.address);
    assert_true(exists_in(f, claim));

    assert_int_equal(OPS->destroy(f->c, m.id, &err), 0);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_false(exists_in(f, "web.web-1.json"));
    assert_false(exists_in(f, claim));
    assert_false(exists_in(f, "web.web-1.log"));
    assert_int_equal(OPS->get(f->c, m.id, &g, &err), 0);
    assert_int_equal(g.state, MACHINE_GONE);
    assert_int_equal(OPS->destroy(f->c, m.id, &err), 0);
    assert_int_equal(OPS->find(f->c, "web", "web-1", &g, &err), 0);

    /* the address is free again: the next machine gets it */
    struct machine again;
    create_ok(f, "web", "web-2", &again);
    assert_string_equal(again.address, m.address);
}

static void test_exit_at_once_is_error_with_log_line(void **state)
{
    struct fx *f = *state;
    struct machine m, g;
    struct as_error err;
    use_command(f, "sh -c 'echo starting; echo \"fatal: port {port} unusable\" >&2; exit 3'",
                1000);
    create_ok(f, "web", "web-1", &m);
    assert_int_equal(wait_state(f->c, m.id, MACHINE_ERROR, &g), MACHINE_ERROR);
    char want[64];
    snprintf(want, sizeof want, "fatal: port %d unusable", test_port);
    assert_non_null(strstr(g.detail, want));
    assert_null(strstr(g.detail, "starting"));
    assert_null(strchr(g.detail, '\n'));

    assert_int_equal(OPS->find(f->c, "web", "web-1", &g, &err), 1);
    assert_int_equal(g.state, MACHINE_ERROR);
    assert_int_equal(OPS->destroy(f->c, m.id, &err), 0);
    assert_false(exists_in(f, "web.web-1.json"));
    assert_int_equal(count_files(f, "addr-", ""), 0);
}

#define STUBBORN "sh -c 'trap \"\" TERM; echo armed; exec sleep 600'"

static void test_sigterm_ignored_gets_sigkill(void **state)
{
    struct fx *f = *state;
    struct machine m, g;
    struct as_error err;
    use_command(f, STUBBORN, 200);
    create_ok(f, "web", "web-1", &m);
    assert_true(log_has(f, m.id, "armed")); /* TERM is ignored from here on */
    pid_t pid = entry_pid(f, m.id);
    assert_int_equal(OPS->get(f->c, m.id, &g, &err), 0);
    assert_int_equal(g.state, MACHINE_BUILDING); /* alive, not listening */

    assert_int_equal(OPS->destroy(f->c, m.id, &err), 0);
    assert_false(alive(pid));
    assert_false(exists_in(f, "web.web-1.json"));
}

static void on_alarm(int sig)
{
    (void)sig;
    as_set_interrupted(true);
}

static void test_interrupt_ends_waits(void **state)
{
    struct fx *f = *state;
    struct machine m, g;
    struct as_error err;
    use_command(f, STUBBORN, NODE_GRACE_MAX_MS);
    create_ok(f, "web", "web-1", &m);
    assert_true(log_has(f, m.id, "armed"));
    pid_t pid = entry_pid(f, m.id);

    /* a signal during the grace period ends destroy's wait */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int rc = OPS->destroy(f->c, m.id, &err);
    signal(SIGALRM, SIG_DFL);
    assert_int_equal(rc, -1);
    assert_string_equal(err.code, "interrupted");
    assert_true(alive(pid));
    assert_true(exists_in(f, "web.web-1.json"));

    /* and nothing new starts while interrupted */
    struct machine_spec spec = {.group = "web", .name = "web-2"};
    assert_int_equal(OPS->create(f->c, &spec, &g, &err), -1);
    assert_string_equal(err.code, "interrupted");
    assert_false(exists_in(f, "web.web-2.json"));
    as_set_interrupted(false);
}

static void test_concurrent_creates_get_distinct_addresses(void **state)
{
    struct fx *f = *state;
    enum { PROCS = 10, EACH = 5 };
    pid_t kids[PROCS];
    for (int i = 0; i < PROCS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) { /* no cmocka here: plain code, then _exit */
            struct as_error err;
            struct compute_be *c = open_local(f->dir, "sleep 600", 1000, &err);
            int failed = c ? 0 : EACH;
            for (int j = 0; c && j < EACH; j++) {
                char name[32];
                snprintf(name, sizeof name, "n%d-%d", i, j);
                struct machine_spec spec = {.group = "par", .name = name};
                struct machine m;
                if (OPS->create(c, &spec, &m, &err) != 0) {
                    fprintf(stderr, "create %s: %s\n", name, err.message);
                    failed++;
                }
            }
            _exit(failed);
        }
        track(f, kids[i]);
    }
    for (int i = 0; i < PROCS; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }

    struct machine *list = NULL;
    size_t n = 0;
    struct as_error err;
    assert_int_equal(OPS->list(f->c, "par", &list, &n, &err), 0);
    assert_int_equal(n, PROCS * EACH);
    assert_int_equal(count_files(f, "par.", ".json"), PROCS * EACH);
    assert_int_equal(count_files(f, "addr-", ""), PROCS * EACH);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(list[i].state, MACHINE_BUILDING); /* sleep listens on nothing */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(list[i].address, list[j].address);
        char claim[80];
        snprintf(claim, sizeof claim, "addr-%s", list[i].address);
        char *text = slurp(path_in(f, claim));
        assert_non_null(text);
        assert_int_equal(strncmp(text, list[i].id, strlen(list[i].id)), 0);
        free(text);
    }

    use_command(f, "sleep 600", 2000);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(OPS->destroy(f->c, list[i].id, &err), 0);
    free(list);
    assert_int_equal(OPS->list(f->c, "par", &list, &n, &err), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(count_files(f, "addr-", ""), 0);
    assert_int_equal(count_files(f, "par.", ""), 0);
}

static void test_stale_claim_is_reclaimed(void **state)
{
    struct fx *f = *state;
    struct machine a, b;
    use_command(f, "sleep 600", 1000);
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);

    char text[128];
    /* creator dead, no entry: stale */
    snprintf(text, sizeof text, "web.ghost %d 12345\n", (int)dead);
    spit(path_in(f, "addr-127.0.1.1"), text);
    /* creator alive, entry not written yet: a create in progress */
    pid_t busy = fork();
    assert_true(busy >= 0);
    if (busy == 0)
        for (;;)
            pause();
    track(f, busy);
    snprintf(text, sizeof text, "web.busy %d %llu\n", (int)busy, start_time_of(busy));
    spit(path_in(f, "addr-127.0.1.2"), text);

    create_ok(f, "web", "web-1", &a);
    assert_string_equal(a.address, "127.0.1.1");
    char *claim = slurp(path_in(f, "addr-127.0.1.1"));
    assert_int_equal(strncmp(claim, "web.web-1 ", 10), 0);
    free(claim);
    create_ok(f, "web", "web-2", &b);
    assert_string_equal(b.address, "127.0.1.3");
    claim = slurp(path_in(f, "addr-127.0.1.2"));
    assert_int_equal(strncmp(claim, "web.busy ", 9), 0);
    free(claim);
}

/* An address another program already serves on (another local_dir, say)
 * is skipped: a node there would answer health checks with a stranger's
 * server while its own process died on EADDRINUSE. */
static void test_address_with_a_foreign_listener_is_skipped(void **state)
{
    struct fx *f = *state;
    struct machine a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)test_port)};
    inet_pton(AF_INET, "127.0.1.1", &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    create_ok(f, "web", "web-1", &a);
    close(fd);
    assert_string_equal(a.address, "127.0.1.2");
    assert_false(exists_in(f, "addr-127.0.1.1"));
}

static void test_bad_names_refused(void **state)
{
    struct fx *f = *state;
    struct machine m;
    struct as_error err;
    const char *bad[] = {"a;b", "a\nb", "../x", "x/y", "A", "x.y", "", "-a", "a b",
                         "$(id)", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct machine_spec spec = {.group = "web", .name = bad[i]};
        assert_int_equal(OPS->create(f->c, &spec, &m, &err), -1);
        assert_string_equal(err.code, "invalid_node_name");
        assert_int_equal(OPS->find(f->c, "web", bad[i], &m, &err), -1);
        char id[128];
        snprintf(id, sizeof id, "web.%s", bad[i]);
        assert_int_equal(OPS->get(f->c, id, &m, &err), -1);
        assert_string_equal(err.code, "invalid_id");
        assert_int_equal(OPS->destroy(f->c, id, &err), -1);
    }
    const char *bad_groups[] = {"g;x", "g\nx", "G", "../g", "1g", "g.x"};
    for (size_t i = 0; i < sizeof bad_groups / sizeof bad_groups[0]; i++) {
        struct machine_spec spec = {.group = bad_groups[i], .name = "web-1"};
        assert_int_equal(OPS->create(f->c, &spec, &m, &err), -1);
        assert_string_equal(err.code, "invalid_name");
        struct machine *list = NULL;
        size_t n = 0;
        assert_int_equal(OPS->list(f->c, bad_groups[i], &list, &n, &err), -1);
    }
    const char *bad_ids[] = {"web", "web.", ".web-1", "../../etc/passwd", "web.a.b"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        assert_int_equal(OPS->get(f->c, bad_ids[i], &m, &err), -1);
    assert_int_equal(count_files(f, "", ""), 0); /* nothing was touched */
}

static void test_machine_exists(void **state)
{
    struct fx *f = *state;
    struct machine m;
    struct as_error err;
    use_command(f, "sleep 600", 1000);
    create_ok(f, "web", "web-1", &m);
    struct machine_spec spec = {.group = "web", .name = "web-1"};
    assert_int_equal(OPS->create(f->c, &spec, &m, &err), -1);
    assert_string_equal(err.code, "machine_exists");
    assert_int_equal(count_files(f, "addr-", ""), 1);
    assert_int_equal(count_files(f, "web.web-1", ".json"), 1);
}

static void test_node_does_not_hold_callers_stdout(void **state)
{
    struct fx *f = *state;
    struct machine m, g;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), errfd = dup(2);
    dup2(p[1], 1); /* as st2 runs an action: stdout and stderr are pipes */
    dup2(p[1], 2);
    struct machine_spec spec = {.group = "web", .name = "web-1"};
    struct as_error err;
    int rc = OPS->create(f->c, &spec, &m, &err);
    dup2(out, 1);
    dup2(errfd, 2);
    close(out);
    close(errfd);
    close(p[1]);
    assert_int_equal(rc, 0);

    /* nobody else holds the write end: EOF now, not EAGAIN */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        ;
    close(p[0]);
    assert_int_equal(n, 0);
    assert_true(alive(entry_pid(f, m.id)));
    assert_int_equal(wait_state(f->c, m.id, MACHINE_ACTIVE, &g), MACHINE_ACTIVE);
}

/* Whether pid runs comm and sleeps (not in an exec, nor loading). */
static bool asleep_in(pid_t pid, const char *comm)
{
    char path[64], want[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    snprintf(want, sizeof want, " (%s) S ", comm);
    char *stat = slurp(path);
    bool yes = stat && strstr(stat, want);
    free(stat);
    return yes;
}

/* How many descriptors pid has open (-1: no such process). */
static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* How the machine's process starts (posix_spawn, then the shell's
 * handshake): its own session, no handler or mask of ours, only /dev/null
 * and its log as fds 0..2 (nothing we opened without O_CLOEXEC), "/" as its
 * working directory, no ST2_* variable; a stale log of its name emptied. */
static void test_machine_process_starts_clean(void **state)
{
    struct fx *f = *state;
    struct machine m;
    char path[PATH_MAX], link[PATH_MAX];
    use_command(f, "sh -c 'echo fresh; exec sleep 600'", 1000);
    spit(path_in(f, "web.web-9.log"), "left by an earlier web-9\n");
    int leak = open("/dev/zero", O_RDONLY); /* no O_CLOEXEC: inherited unless closed */
    assert_true(leak >= 0);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    setenv("ST2_AUTH_TOKEN", "secret-token", 1);
    create_ok(f, "web", "web-9", &m); /* SIGPIPE is ignored here (group_setup) */
    unsetenv("ST2_AUTH_TOKEN");
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(leak);

    assert_true(log_has(f, m.id, "fresh"));
    char *log = slurp(path_in(f, "web.web-9.log"));
    assert_string_equal(log, "fresh\n");
    free(log);
    pid_t pid = entry_pid(f, m.id);
    /* Look once the shells have become sleep, sleeping: during an exec
     * the environment reads empty, and sleep's loader opens its libraries
     * on fd 3 for a moment. A descriptor inherited stays. */
    for (int i = 0; i < POLLS && !(asleep_in(pid, "sleep") && count_fds(pid) == 3); i++)
        as_sleep_ms(POLL_MS);
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    int fds = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        fds++;
        int fd = atoi(de->d_name);
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
        ssize_t n = readlink(path, link, sizeof link - 1);
        assert_true(n > 0);
        link[n] = '\0';
        assert_true(fd <= 2);
        if (fd == 0)
            assert_string_equal(link, "/dev/null");
        else
            assert_non_null(strstr(link, "/web.web-9.log"));
    }
    closedir(d);
    assert_int_equal(fds, 3);

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    char *status = slurp(path);
    assert_non_null(status);
    assert_non_null(strstr(status, "SigBlk:\t0000000000000000"));
    assert_non_null(strstr(status, "SigIgn:\t0000000000000000"));
    free(status);
    snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
    ssize_t n = readlink(path, link, sizeof link - 1);
    assert_int_equal(n, 1);
    assert_int_equal(link[0], '/');
    assert_int_equal(getsid(pid), pid);

    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    char env[65536];
    ssize_t got = read(fd, env, sizeof env - 1);
    close(fd);
    assert_true(got > 0);
    env[got] = '\0';
    for (char *p = env; p < env + got; p += strlen(p) + 1)
        assert_false(strncmp(p, "ST2_", 4) == 0);
}

static void test_placeholders_expanded_and_quoted(void **state)
{
    struct fx *f = *state;
    struct machine m;
    use_command(f,
                "/bin/sh -c 'printf \"<%s>\\n\" \"$@\"; exec sleep 600' sh "
                "{bin} {group} {name} {address} {port} {other} x{name}y",
                1000);
    create_ok(f, "web", "web-7", &m);
    assert_true(log_has(f, m.id, "<xweb-7y>"));
    char exe[PATH_MAX], want[PATH_MAX + 512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(want, sizeof want, "<%s>\n<web>\n<web-7>\n<%s>\n<%d>\n<{other}>\n<xweb-7y>\n", exe,
             m.address, test_port);
    char *log = slurp(path_in(f, "web.web-7.log"));
    assert_string_equal(log, want);
    free(log);
}

static void test_pid_reuse_never_signalled(void **state)
{
    struct fx *f = *state;
    struct machine m;
    struct as_error err;
    pid_t other = fork(); /* stands for an unrelated process that got the pid */
    assert_true(other >= 0);
    if (other == 0) {
        setsid();
        for (;;)
            pause();
    }
    track(f, other);
    char text[512];
    snprintf(text, sizeof text,
             "{\"id\":\"web.web-9\",\"name\":\"web-9\",\"group\":\"web\",\"pid\":%d,"
             "\"start_time\":%llu,\"address\":\"127.0.1.9\",\"port\":%d,\"created_at\":1,"
             "\"command\":\"x\"}",
             (int)other, start_time_of(other) + 1, test_port);
    spit(path_in(f, "web.web-9.json"), text);

    assert_int_equal(OPS->get(f->c, "web.web-9", &m, &err), 0);
    assert_int_equal(m.state, MACHINE_ERROR);
    assert_int_equal(OPS->destroy(f->c, "web.web-9", &err), 0);
    assert_false(exists_in(f, "web.web-9.json"));
    assert_true(alive(other));
}

static void test_corrupt_and_symlinked_entries(void **state)
{
    struct fx *f = *state;
    struct machine m, g;
    struct as_error err;
    use_command(f, "sleep 600", 1000);
    create_ok(f, "web", "web-1", &m);
    spit(path_in(f, "web.bad.json"), "not json");

    /* a valid entry for a live process, reached through a symlink */
    char text[512], target[128];
    pid_t pid = entry_pid(f, m.id);
    snprintf(text, sizeof text,
             "{\"id\":\"web.sym\",\"name\":\"sym\",\"group\":\"web\",\"pid\":%d,"
             "\"start_time\":%llu,\"address\":\"127.0.1.1\",\"port\":%d}",
             (int)pid, start_time_of(pid), test_port);
    snprintf(target, sizeof target, "%s/target.txt", f->dir);
    spit(target, text);
    assert_int_equal(symlink(target, path_in(f, "web.sym.json")), 0);

    struct machine *list = NULL;
    size_t n = 0;
    assert_int_equal(OPS->list(f->c, "web", &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, "web.web-1");
    free(list);
    assert_int_equal(OPS->get(f->c, "web.bad", &g, &err), 0);
    assert_int_equal(g.state, MACHINE_ERROR);
    assert_int_equal(OPS->get(f->c, "web.sym", &g, &err), 0);
    assert_int_equal(g.state, MACHINE_ERROR); /* not BUILDING: never followed */
    assert_int_equal(OPS->find(f->c, "web", "bad", &g, &err), 1);
    assert_int_equal(g.state, MACHINE_ERROR);

    assert_int_equal(OPS->destroy(f->c, "web.sym", &err), 0);
    assert_int_equal(OPS->destroy(f->c, "web.bad", &err), 0);
    assert_false(exists_in(f, "web.sym.json"));
    assert_false(exists_in(f, "web.bad.json"));
    assert_true(alive(pid)); /* the symlinked entry's pid was not signalled */
    char *still = slurp(target);
    assert_string_equal(still, text);
    free(still);
    unlink(target);
}

static void test_open_settings(void **state)
{
    struct fx *f = *state;
    struct as_error err;
    assert_string_equal(OPS->name, "local");
    assert_true(OPS->poll_ms >= 50 && OPS->poll_ms <= 500);
    /* a process starts in milliseconds: the first look comes that soon */
    assert_true(OPS->poll_first_ms >= 1 && OPS->poll_first_ms <= 10);

    const char *bad_ports[] = {"{\"port\":0}", "{\"port\":70000}", "{\"port\":\"http\"}",
                               "{\"grace_ms\":-1}"};
    for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
        struct json_object *s = json_tokener_parse(bad_ports[i]);
        jx_add_str(s, "dir", f->dir);
        assert_null(OPS->open(s, &err));
        assert_string_equal(err.code, "bad_settings");
        json_object_put(s);
    }

    /* nested directories are made, 0700 */
    char deep[128];
    snprintf(deep, sizeof deep, "%s/sub/reg", f->dir);
    struct compute_be *c = open_local(deep, NULL, 1000, &err);
    assert_non_null(c);
    OPS->close(c);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* AUTOSCALE_LOCAL_DIR when no dir is given */
    char envdir[128];
    snprintf(envdir, sizeof envdir, "%s/fromenv", f->dir);
    setenv("AUTOSCALE_LOCAL_DIR", envdir, 1);
    c = OPS->open(NULL, &err);
    unsetenv("AUTOSCALE_LOCAL_DIR");
    assert_non_null(c);
    OPS->close(c);
    assert_int_equal(stat(envdir, &st), 0);

    /* a symlinked or world-writable registry is refused */
    char link[128], open_dir[128];
    snprintf(link, sizeof link, "%s/link", f->dir);
    assert_int_equal(symlink(deep, link), 0);
    assert_null(open_local(link, NULL, 1000, &err));
    snprintf(open_dir, sizeof open_dir, "%s/open", f->dir);
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0777), 0);
    assert_null(open_local(open_dir, NULL, 1000, &err));
    assert_string_equal(err.code, "unsafe_dir");
    unlink(link);
    rmdir(open_dir);
    rmdir(envdir);
    rmdir(deep);
    snprintf(deep, sizeof deep, "%s/sub", f->dir);
    rmdir(deep);
}

/* ------------------------------------------------------------ demo_app -- */

static void test_demo_fail_recover_health(void **state)
{
    struct fx *f = *state;
    const char *a = "127.0.250.1";
    spawn_demo(f, a, "demo-1");
    struct reply r;
    http(a, test_port, "GET", "/health", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");

    http(a, test_port, "GET", "/fail", &r);
    assert_int_equal(r.status, 200);
    http(a, test_port, "GET", "/", &r);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.body, "node demo-1 failing\n");
    http(a, test_port, "GET", "/health", &r);
    assert_int_equal(r.status, 503);
    assert_int_equal(stat_of(a, "failing"), 1);

    http(a, test_port, "GET", "/recover", &r);
    assert_int_equal(r.status, 200);
    http(a, test_port, "GET", "/", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "node demo-1\n");
    http(a, test_port, "GET", "/health", &r);
    assert_int_equal(r.status, 200);

    int fd = http_send(a, test_port, "POST", "/fail", "reason=test");
    assert_true(fd >= 0);
    http_read(fd, &r);
    assert_int_equal(r.status, 200);
    http(a, test_port, "GET", "/health", &r);
    assert_int_equal(r.status, 503);
    fd = http_send(a, test_port, "POST", "/recover", "");
    http_read(fd, &r);
    http(a, test_port, "HEAD", "/health", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
}

/* /sick: only /health fails, "/" keeps serving (what makes a load
 * balancer's check take a live node out: the demo's self-healing phase). */
static void test_demo_sick_fails_only_health(void **state)
{
    struct fx *f = *state;
    const char *a = "127.0.250.3";
    spawn_demo(f, a, "demo-3");
    struct reply r;
    int fd = http_send(a, test_port, "POST", "/sick", "");
    assert_true(fd >= 0);
    http_read(fd, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "sick\n");
    http(a, test_port, "GET", "/health", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "sick");
    http(a, test_port, "GET", "/", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "node demo-3\n");
    assert_int_equal(stat_of(a, "sick"), 1);
    assert_int_equal(stat_of(a, "failing"), 0);

    http(a, test_port, "GET", "/fail", &r); /* failing replaces sick */
    assert_int_equal(stat_of(a, "sick"), 0);
    assert_int_equal(stat_of(a, "failing"), 1);
    http(a, test_port, "GET", "/sick", &r);
    http(a, test_port, "GET", "/recover", &r);
    assert_int_equal(stat_of(a, "sick"), 0);
    http(a, test_port, "GET", "/health", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    http(a, test_port, "DELETE", "/sick", &r);
    assert_int_equal(r.status, 405);
}

static void test_demo_slow_and_stats(void **state)
{
    struct fx *f = *state;
    const char *a = "127.0.250.2";
    spawn_demo(f, a, "demo-2");
    struct reply r;
    assert_int_equal(stat_of(a, "served"), 0);
    assert_int_equal(stat_of(a, "delay_ms"), 0);
    assert_int_equal(stat_of(a, "failing"), 0);
    for (int i = 0; i < 3; i++)
        http(a, test_port, "GET", "/", &r);
    http(a, test_port, "GET", "/health", &r); /* not a "/" request */
    assert_int_equal(stat_of(a, "served"), 3);

    http(a, test_port, "GET", "/slow?ms=50", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(stat_of(a, "delay_ms"), 50);
    http(a, test_port, "GET", "/", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "node demo-2\n");
    assert_int_equal(stat_of(a, "served"), 4);
    http(a, test_port, "GET", "/slow?ms=99999999999", &r);
    assert_int_equal(stat_of(a, "delay_ms"), 60000);
    http(a, test_port, "POST", "/slow?ms=0", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(stat_of(a, "delay_ms"), 0);
    http(a, test_port, "GET", "/slow?ms=abc", &r);
    assert_int_equal(r.status, 400);
    http(a, test_port, "GET", "/slow", &r);
    assert_int_equal(r.status, 400);
    assert_int_equal(stat_of(a, "delay_ms"), 0);

    struct json_object *o;
    http(a, test_port, "GET", "/stats", &r);
    assert_non_null(strstr(r.head, "application/json"));
    o = json_tokener_parse(r.body);
    assert_string_equal(jx_str(o, "name", ""), "demo-2");
    json_object_put(o);
}

/* Wait (bounded) until the app has a request in flight besides /stats. */
static void wait_in_flight(const char *a)
{
    for (int i = 0; i < POLLS; i++) {
        if (stat_of(a, "in_flight") >= 1)
            return;
        as_sleep_ms(POLL_MS);
    }
    fail_msg("the slow request never arrived");
}

static void test_demo_slow_request_blocks_nothing_else(void **state)
{
    struct fx *f = *state;
    const char *a = "127.0.250.3";
    spawn_demo(f, a, "demo-3");
    struct reply r;
    http(a, test_port, "GET", "/slow?ms=60000", &r);
    int slow = http_send(a, test_port, "GET", "/", NULL);
    assert_true(slow >= 0);
    wait_in_flight(a); /* /stats itself answered while "/" sleeps */
    http(a, test_port, "GET", "/health", &r);
    assert_int_equal(r.status, 200);
    http(a, test_port, "GET", "/slow?ms=0", &r);
    assert_int_equal(r.status, 200);

    /* the slow one is still waiting (it has a minute to go) */
    char c;
    assert_int_equal(recv(slow, &c, 1, MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(slow);
}

static void test_demo_sigterm_lets_requests_finish(void **state)
{
    struct fx *f = *state;
    const char *a = "127.0.250.4";
    pid_t pid = spawn_demo(f, a, "demo-4");
    struct reply r;
    http(a, test_port, "GET", "/slow?ms=1500", &r);
    int slow = http_send(a, test_port, "GET", "/", NULL);
    assert_true(slow >= 0);
    wait_in_flight(a);
    assert_int_equal(kill(pid, SIGTERM), 0);

    http_read(slow, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "node demo-4\n");
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(connect_to(a, test_port), -1); /* no longer accepting */
}

static int run_demo(const char *const *args, char *err, size_t errsz)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        char *argv[8] = {"demo_app"};
        for (int i = 0; args[i] && i < 6; i++)
            argv[i + 1] = (char *)args[i];
        execv(demo_path, argv);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t n;
    while (got < errsz - 1 && (n = read(p[0], err + got, errsz - 1 - got)) > 0)
        got += (size_t)n;
    err[got] = '\0';
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_demo_bad_arguments(void **state)
{
    (void)state;
    char port[32], err[2048];
    snprintf(port, sizeof port, "--listen=127.0.250.5:%d", test_port);
    const char *cases[][4] = {
        {NULL},
        {port, NULL},
        {"--name=web-1", NULL},
        {"--listen=localhost:80", "--name=web-1", NULL},
        {"--listen=127.0.250.5", "--name=web-1", NULL},
        {"--listen=127.0.250.5:0", "--name=web-1", NULL},
        {"--listen=127.0.250.5:70000", "--name=web-1", NULL},
        {"--listen=127.0.250.5:80x", "--name=web-1", NULL},
        {"--listen=127.1:80", "--name=web-1", NULL},
        {port, "--name=Web_1", NULL},
        {port, "--name=a;b", NULL},
        {port, "--name=web-1", "--verbose", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(run_demo(cases[i], err, sizeof err), 2);
        assert_non_null(strstr(err, "usage: demo_app"));
    }
}

static void test_demo_bad_requests(void **state)
{
    struct fx *f = *state;
    const char *a = "127.0.250.6";
    spawn_demo(f, a, "demo-6");
    struct reply r;
    http(a, test_port, "GET", "/nowhere", &r);
    assert_int_equal(r.status, 404);
    http(a, test_port, "DELETE", "/", &r);
    assert_int_equal(r.status, 405);
    http(a, test_port, "POST", "/stats", &r);
    assert_int_equal(r.status, 405);

    /* a head larger than the app reads is refused, not buffered */
    char big[16384];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    int fd = connect_to(a, test_port);
    assert_true(fd >= 0);
    char line[64];
    snprintf(line, sizeof line, "GET / HTTP/1.1\r\nX-Big: ");
    send(fd, line, strlen(line), MSG_NOSIGNAL);
    send(fd, big, strlen(big), MSG_NOSIGNAL);
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    close(fd);
    assert_true(n > 12);
    buf[n] = '\0';
    assert_int_equal(strncmp(buf, "HTTP/1.1 431", 12), 0);

    /* and the app still serves */
    http(a, test_port, "GET", "/", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(stat_of(a, "served"), 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_becomes_active_and_serves),
        T(test_two_nodes_list_find),
        T(test_destroy_frees_everything),
        T(test_exit_at_once_is_error_with_log_line),
        T(test_sigterm_ignored_gets_sigkill),
        T(test_interrupt_ends_waits),
        T(test_concurrent_creates_get_distinct_addresses),
        T(test_stale_claim_is_reclaimed),
    T(test_address_with_a_foreign_listener_is_skipped),
        T(test_bad_names_refused),
        T(test_machine_exists),
        T(test_node_does_not_hold_callers_stdout),
        T(test_machine_process_starts_clean),
        T(test_placeholders_expanded_and_quoted),
        T(test_pid_reuse_never_signalled),
        T(test_corrupt_and_symlinked_entries),
        T(test_open_settings),
        T(test_demo_fail_recover_health),
        T(test_demo_sick_fails_only_health),
        T(test_demo_slow_and_stats),
        T(test_demo_slow_request_blocks_nothing_else),
        T(test_demo_sigterm_lets_requests_finish),
        T(test_demo_bad_arguments),
        T(test_demo_bad_requests),
    };
    return cmocka_run_group_tests_name("compute_local", tests, group_setup, NULL);
}
