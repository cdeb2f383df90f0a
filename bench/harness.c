/* harness.c - start-up cost of a command: wall time and peak RSS of many
 * runs, several commands interleaved so machine noise hits them all alike.
 *
 *   harness [-n RUNS] [-w WARMUP] ::: LABEL [NAME=VALUE...] CMD [ARG...] [::: ...]
 *
 * NAME=VALUE words before CMD are set in that command's environment (on top
 * of the harness's own), as env(1) would, but without env's own exec: a hop
 * through /usr/bin/env costs 0.6-0.9 ms, as much as the floor it is compared
 * with, and would pull every ratio towards 1.
 *
 * Every round runs each command once (round-robin, the starting command
 * rotating from round to round so no command always follows the same one).
 * A run is posix_spawn() .. wait4(): stdin is /dev/null, stdout a pipe the
 * harness drains (as st2's runner does), stderr an unlinked temp file that is
 * printed if the run fails. Wall time is CLOCK_MONOTONIC around spawn..wait4;
 * peak RSS is wait4()'s ru_maxrss (KiB); CPU is ru_utime + ru_stime.
 *
 * Any run that does not exit 0 stops the benchmark with exit status 1: a
 * benchmark of an erroring binary measures the error path, not the action.
 *
 * Output, one line per command, fields space-separated key=value:
 *   label=L runs=N median_ms= p90_ms= min_ms= max_ms= mean_ms=
 *   cpu_median_ms= rss_median_kib= rss_max_kib= rss_max_mib= out_bytes=
 * then "harness rss_self_kib=" the harness's own peak RSS, which a child's
 * ru_maxrss includes (the child runs in the harness's pages until it execs).
 * Percentiles are nearest-rank on the sorted runs; the median of an even
 * count is the mean of the middle two. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_CMDS 16
#define SEP ":::"

struct cmd {
    const char *label;
    char **argv;
    char **envp;         /* environ plus the command's NAME=VALUE words */
    double *wall_ms;
    double *cpu_ms;
    long *rss_kib;
    long long out_bytes; /* of the last run; same every run for our actions */
};

static char drain_buf[16384];

static void die(const char *what)
{
    fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void usage(void)
{
    fprintf(stderr, "usage: harness [-n RUNS] [-w WARMUP] " SEP
                    " LABEL [NAME=VALUE...] CMD [ARG...] [" SEP " ...]\n");
    exit(2);
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 +
           (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static double tv_ms(const struct timeval *tv)
{
    return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

/* Print what the failed run wrote to stderr (at most a screenful). */
static void show_stderr(int errfd)
{
    char buf[4096];
    ssize_t n = pread(errfd, buf, sizeof buf - 1, 0);
    if (n > 0) {
        buf[n] = '\0';
        fprintf(stderr, "harness: its stderr:\n%s%s", buf,
                buf[n - 1] == '\n' ? "" : "\n");
    }
}

/* One run of c; fills *wall, *cpu, *rss. Exits the harness if it failed. */
static void run_once(struct cmd *c, int errfd, double *wall, double *cpu,
                     long *rss)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        die("pipe");
    if (ftruncate(errfd, 0) < 0)
        die("ftruncate");

    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 1) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, errfd, 2) != 0)
        die("posix_spawn_file_actions");

    struct timespec t0, t1;
    pid_t pid;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, c->envp);
    if (rc != 0) {
        errno = rc;
        fprintf(stderr, "harness: cannot run %s: %s\n", c->argv[0], strerror(rc));
        exit(1);
    }
    close(pfd[1]);
    long long out = 0;
    for (;;) {
        ssize_t n = read(pfd[0], drain_buf, sizeof drain_buf);
        if (n > 0) {
            out += n;
            continue;
        }
        if (n == 0)
            break;
        if (errno != EINTR)
            die("read");
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            die("wait4");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(pfd[0]);
    posix_spawn_file_actions_destroy(&fa);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status))
            fprintf(stderr, "harness: %s (%s) exited %d\n", c->label,
                    c->argv[0], WEXITSTATUS(status));
        else
            fprintf(stderr, "harness: %s (%s) killed by signal %d\n", c->label,
                    c->argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : -1);
        show_stderr(errfd);
        exit(1);
    }
    *wall = ms_between(&t0, &t1);
    *cpu = tv_ms(&ru.ru_utime) + tv_ms(&ru.ru_stime);
    *rss = ru.ru_maxrss;
    c->out_bytes = out;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static double median_d(const double *v, int n)
{
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest rank: the smallest value with at least p% of the runs at or
 * below it. */
static double pct_d(const double *v, int n, int p)
{
    int rank = (n * p + 99) / 100;
    return v[rank > 0 ? rank - 1 : 0];
}

static long parse_count(const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > 1000000)
        usage();
    return v;
}

/* NAME=VALUE with NAME a shell variable name: an environment word, as env(1)
 * takes it; anything else (a path, an option) starts the command. */
static int is_assignment(const char *w)
{
    const char *eq = strchr(w, '=');
    if (!eq || eq == w || (w[0] >= '0' && w[0] <= '9'))
        return 0;
    for (const char *p = w; p < eq; p++)
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9')))
            return 0;
    return 1;
}

/* environ without the variables that `set` (n words) names, then `set`. */
static char **command_env(char **set, int n)
{
    size_t have = 0;
    while (environ[have])
        have++;
    char **envp = calloc(have + (size_t)n + 1, sizeof *envp);
    if (!envp)
        die("calloc");
    size_t k = 0;
    for (size_t e = 0; e < have; e++) {
        int replaced = 0;
        for (int j = 0; j < n && !replaced; j++) {
            size_t len = (size_t)(strchr(set[j], '=') - set[j]) + 1;
            replaced = strncmp(environ[e], set[j], len) == 0;
        }
        if (!replaced)
            envp[k++] = environ[e];
    }
    for (int j = 0; j < n; j++)
        envp[k++] = set[j];
    return envp;
}

int main(int argc, char **argv)
{
    long runs = 300, warmup = 5;
    int i = 1;
    for (; i < argc && strcmp(argv[i], SEP) != 0; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            runs = parse_count(argv[++i], 1);
        else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
            warmup = parse_count(argv[++i], 0);
        else
            usage();
    }

    struct cmd cmds[MAX_CMDS];
    int ncmd = 0;
    while (i < argc) { /* argv[i] is SEP */
        int start = i + 1, end = start;
        while (end < argc && strcmp(argv[end], SEP) != 0)
            end++;
        if (end - start < 2 || ncmd == MAX_CMDS)
            usage();
        struct cmd *c = &cmds[ncmd++];
        c->label = argv[start];
        int cmd_at = start + 1;
        while (cmd_at < end && is_assignment(argv[cmd_at]))
            cmd_at++;
        if (cmd_at == end)
            usage();
        c->envp = command_env(&argv[start + 1], cmd_at - start - 1);
        c->argv = &argv[cmd_at];
        argv[end < argc ? end : argc] = NULL; /* terminates this argv */
        c->wall_ms = calloc((size_t)runs, sizeof *c->wall_ms);
        c->cpu_ms = calloc((size_t)runs, sizeof *c->cpu_ms);
        c->rss_kib = calloc((size_t)runs, sizeof *c->rss_kib);
        if (!c->wall_ms || !c->cpu_ms || !c->rss_kib)
            die("calloc");
        c->out_bytes = 0;
        i = end;
    }
    if (ncmd == 0)
        usage();

    signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/harness-stderr-XXXXXX";
    int errfd = mkostemp(tmpl, O_CLOEXEC);
    if (errfd < 0)
        die("mkostemp");
    unlink(tmpl);

    double w, cpu;
    long rss;
    for (long r = 0; r < warmup; r++)
        for (int k = 0; k < ncmd; k++)
            run_once(&cmds[k], errfd, &w, &cpu, &rss);
    for (long r = 0; r < runs; r++)
        for (int j = 0; j < ncmd; j++) {
            struct cmd *c = &cmds[(r + j) % ncmd];
            run_once(c, errfd, &c->wall_ms[r], &c->cpu_ms[r], &c->rss_kib[r]);
        }

    int n = (int)runs;
    for (int k = 0; k < ncmd; k++) {
        struct cmd *c = &cmds[k];
        double sum = 0;
        for (int r = 0; r < n; r++)
            sum += c->wall_ms[r];
        qsort(c->wall_ms, (size_t)n, sizeof *c->wall_ms, cmp_double);
        qsort(c->cpu_ms, (size_t)n, sizeof *c->cpu_ms, cmp_double);
        qsort(c->rss_kib, (size_t)n, sizeof *c->rss_kib, cmp_long);
        long rss_med = n % 2 ? c->rss_kib[n / 2]
                             : (c->rss_kib[n / 2 - 1] + c->rss_kib[n / 2]) / 2;
        printf("label=%s runs=%d median_ms=%.3f p90_ms=%.3f min_ms=%.3f "
               "max_ms=%.3f mean_ms=%.3f cpu_median_ms=%.3f rss_median_kib=%ld "
               "rss_max_kib=%ld rss_max_mib=%.2f out_bytes=%lld\n",
               c->label, n, median_d(c->wall_ms, n), pct_d(c->wall_ms, n, 90),
               c->wall_ms[0], c->wall_ms[n - 1], sum / n,
               median_d(c->cpu_ms, n), rss_med, c->rss_kib[n - 1],
               (double)c->rss_kib[n - 1] / 1024.0, c->out_bytes);
    }
    /* What a spawned child's ru_maxrss can never be below: until it execs,
     * the child shares (vfork) or copies (fork) the harness's pages. */
    struct rusage self;
    if (getrusage(RUSAGE_SELF, &self) == 0)
        printf("harness rss_self_kib=%ld\n", self.ru_maxrss);
    return fflush(stdout) == 0 ? 0 : 2;
}
