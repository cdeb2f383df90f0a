/* fuzz_haproxy.c - libFuzzer target for what HAProxy's runtime API answers
 * (lib/lb/lb_haproxy.c): the `show stat` CSV behind list/get, and the replies
 * to add/enable/drain/remove.
 *
 * The provider runs unchanged against a UNIX socket served by a thread of
 * this process, which answers each connection with the next reply of the
 * input (replies separated by "\n==\n"; after the last, an empty reply,
 * HAProxy's "done"). Invariants: members have bounded, NUL-terminated
 * fields and are never the BACKEND/FRONTEND rows; failures are clean errors;
 * and every command the provider sent is one line without ';' (the
 * injection HAProxy would run as a second command). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "fuzz_common.h"
#include "jsonx.h"
#include "lb_int.h"
#include "log.h"
#include "secret.h"

#define MAX_REPLIES 16

static char sock_dir[64], sock_path[128];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct fz_piece replies[MAX_REPLIES];
static size_t nreplies, next_reply;
static int bad_commands;

static void *serve(void *arg)
{
    int lfd = *(int *)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        char cmd[1024];
        size_t got = 0;
        ssize_t r;
        while (got < sizeof cmd - 1 && (r = read(fd, cmd + got, sizeof cmd - 1 - got)) > 0) {
            got += (size_t)r;
            if (memchr(cmd, '\n', got))
                break;
        }
        cmd[got] = '\0';
        char *nl = strchr(cmd, '\n');
        pthread_mutex_lock(&mu);
        if (!nl || nl[1] != '\0' || strchr(cmd, ';') || strchr(cmd, '\r'))
            bad_commands++;
        const struct fz_piece *p = next_reply < nreplies ? &replies[next_reply] : NULL;
        next_reply++;
        if (p) {
            size_t off = 0;
            while (off < p->len && (r = write(fd, p->s + off, p->len - off)) > 0)
                off += (size_t)r;
        }
        pthread_mutex_unlock(&mu);
        close(fd);
    }
}

static void check_member(const struct lb_member *m)
{
    fz_check(strnlen(m->key, sizeof m->key) < sizeof m->key, "key terminated");
    fz_check(strnlen(m->address, sizeof m->address) < sizeof m->address, "address terminated");
    fz_check(strnlen(m->status, sizeof m->status) < sizeof m->status, "status terminated");
    fz_check(strcmp(m->key, "BACKEND") != 0 && strcmp(m->key, "FRONTEND") != 0,
             "summary rows are not members");
    fz_check(m->admin == LB_READY || m->admin == LB_DRAIN || m->admin == LB_MAINT,
             "admin state in range");
}

static void result(int rc, const struct as_error *err)
{
    if (rc < 0)
        fz_check_error(err);
}

static void cleanup(void)
{
    unlink(sock_path);
    rmdir(sock_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_level(LOG_ERROR);
    snprintf(sock_dir, sizeof sock_dir, "/tmp/fuzz_haproxy.XXXXXX");
    if (!mkdtemp(sock_dir))
        abort();
    snprintf(sock_path, sizeof sock_path, "%s/haproxy.sock", sock_dir);
    static int lfd;
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", sock_path);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&un, sizeof un) < 0 || listen(lfd, 16) < 0)
        abort();
    atexit(cleanup);
    pthread_t t;
    if (pthread_create(&t, NULL, serve, &lfd) != 0)
        abort();
    pthread_detach(t);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    pthread_mutex_lock(&mu);
    nreplies = fz_split(data, size, "\n==\n", replies, MAX_REPLIES);
    next_reply = 0;
    bad_commands = 0;
    pthread_mutex_unlock(&mu);

    const struct lb_ops *ops = lb_lookup("haproxy");
    struct json_object *settings = json_object_new_object();
    json_object_object_add(settings, "socket", json_object_new_string(sock_path));
    json_object_object_add(settings, "check", json_object_new_string("on"));
    struct as_error err;
    as_error_clear(&err);
    struct lb *lb = ops->open(settings, "web", &err);
    fz_check(lb != NULL, "haproxy opens on a good socket");

    struct lb_member *all = NULL, one;
    size_t n = 0;
    int rc = ops->list(lb, &all, &n, &err);
    result(rc, &err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        check_member(&all[i]);
    free(all);

    as_error_clear(&err);
    rc = ops->get(lb, "web-1", &one, &err);
    result(rc, &err);
    if (rc == 1) {
        check_member(&one);
        fz_check(strcmp(one.key, "web-1") == 0, "get finds the member asked for");
    }
    struct lb_target t = {.name = "web-2", .address = "127.0.0.2", .port = 8080};
    as_error_clear(&err);
    result(ops->add(lb, &t, &err), &err);
    as_error_clear(&err);
    result(ops->enable(lb, "web-2", LB_MAINT, &err), &err);
    as_error_clear(&err);
    result(ops->drain(lb, "web-1", &err), &err);
    as_error_clear(&err);
    /* A deadline already past: one try, no waiting for connections. */
    result(ops->remove(lb, "web-1", as_mono_ms() - 1, true, &err), &err);
    ops->close(lb);
    json_object_put(settings);

    pthread_mutex_lock(&mu);
    fz_check(bad_commands == 0, "every command is one line without ';'");
    fz_pieces_free(replies, nreplies);
    nreplies = 0;
    pthread_mutex_unlock(&mu);
    secret_clear();
    return 0;
}
