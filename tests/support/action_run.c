/* action_run.c - see action_run.h. */
#include "action_run.h"
#include "jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *action_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("AUTOSCALE_BIN_DIR");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "actions/bin", name);
    return path;
}

static char **child_env(const char *const *extra)
{
    size_t n = 0, m = 0, k = 0;
    while (environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **env = calloc(n + m + 1, sizeof *env);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "ST2_", 4) != 0 &&
            strncmp(environ[i], "AUTOSCALE_DATASTORE=", 20) != 0)
            env[k++] = environ[i];
    for (size_t i = 0; i < m; i++)
        env[k++] = (char *)extra[i];
    env[k] = NULL;
    return env;
}

pid_t action_start(const char *name, const char *const *args, const char *const *env,
                   int *out_fd, int *err_fd)
{
    int out[2], errp[2];
    size_t n = 0;
    while (args && args[n])
        n++;
    const char **argv = calloc(n + 2, sizeof *argv);
    argv[0] = action_path(name);
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    char **envp = child_env(env);

    if (pipe(out) < 0 || pipe(errp) < 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", 0);
        dup2(devnull, 0); /* st2 writes nothing to stdin */
        dup2(out[1], 1);
        dup2(errp[1], 2);
        close(out[0]);
        close(errp[0]);
        execve(argv[0], (char *const *)argv, envp);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    free(argv);
    free(envp);
    *out_fd = out[0];
    *err_fd = errp[0];
    return pid;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    *buf = realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

int action_wait(pid_t pid, int out_fd, int err_fd, struct action_result *r)
{
    size_t olen = 0, elen = 0;
    char chunk[65536];
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open_fds = 2;

    memset(r, 0, sizeof *r);
    append(&r->out, &olen, "", 0);
    append(&r->err, &elen, "", 0);
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                append(&r->out, &olen, chunk, (size_t)got);
            } else {
                append(&r->err, &elen, chunk, (size_t)got);
            }
        }
    }
    int status;
    waitpid(pid, &status, 0);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    /* Exactly one JSON document on one line, ended by a newline, as st2
     * needs to parse stdout as a whole. */
    struct as_error jerr;
    if (olen > 1 && r->out[olen - 1] == '\n' && !memchr(r->out, '\n', olen - 1))
        r->json = jx_parse(r->out, olen, "stdout", "bad_json", AS_EXIT_FAILURE, &jerr);
    return r->status;
}

int action_run(const char *name, const char *const *args, const char *const *env,
               struct action_result *r)
{
    int out_fd, err_fd;
    pid_t pid = action_start(name, args, env, &out_fd, &err_fd);
    return action_wait(pid, out_fd, err_fd, r);
}

void action_result_free(struct action_result *r)
{
    free(r->out);
    free(r->err);
    json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

const char *action_error_code(const struct action_result *r)
{
    struct json_object *e, *c;
    if (r->json && json_object_object_get_ex(r->json, "error", &e) &&
        json_object_object_get_ex(e, "code", &c))
        return json_object_get_string(c);
    return "";
}
