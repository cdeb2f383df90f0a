/* chef_server.c - see chef_server.h. */
#include "chef_server.h"
#include "spawn.h"
#include "sshd_server.h"
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUBY "/usr/bin/ruby"
#define SCRIPT "tests/chef/verify_signature.rb"
#define READY_WAIT_MS 60000 /* Ruby starts slowly on a loaded machine */

int chef_fake_genrsa(const char *path, const char *pub_path)
{
    const char *gen[] = {"openssl", "genrsa", "-out", path, "2048", NULL};
    if (sshd_run(gen, NULL, 0) != 0)
        return -1;
    if (!pub_path)
        return 0;
    const char *pub[] = {"openssl", "rsa", "-in", path, "-pubout", "-out", pub_path, NULL};
    return sshd_run(pub, NULL, 0) == 0 ? 0 : -1;
}

static pid_t spawn(const struct chef_fake *f, const char *pub)
{
    char log[300], dir[300], admin[300], key[300];
    snprintf(log, sizeof log, "%s/server.log", f->dir);
    /* execv takes char *const: copies, not casts of the const strings */
    snprintf(dir, sizeof dir, "%s", f->dir);
    snprintf(admin, sizeof admin, "%s", f->admin);
    snprintf(key, sizeof key, "%s", pub);
    char *const argv[] = {RUBY, SCRIPT, dir, admin, key, NULL};
    return spawn_logged(log, argv);
}

int chef_fake_start(struct chef_fake *f, const char *dir, const char *admin)
{
    char pub[300], port_file[300];
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    snprintf(f->admin, sizeof f->admin, "%s", admin);
    snprintf(f->admin_key, sizeof f->admin_key, "%s/%s.pem", dir, admin);
    snprintf(pub, sizeof pub, "%s/%s.pub", dir, admin);
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    if (access(SCRIPT, R_OK) != 0) {
        fprintf(stderr, "chef_server: %s not found: run the tests from the repository root\n",
                SCRIPT);
        return -1;
    }
    if (chef_fake_genrsa(f->admin_key, pub) < 0 || (f->pid = spawn(f, pub)) < 0) {
        fprintf(stderr, "chef_server: cannot make a key or start ruby\n");
        return -1;
    }
    for (int waited = 0; waited < READY_WAIT_MS; waited += 20) {
        char *port = sshd_read_file(port_file, NULL);
        if (port) {
            f->port = atoi(port);
            free(port);
            snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/organizations/test", f->port);
            return 0;
        }
        if (waitpid(f->pid, NULL, WNOHANG) == f->pid)
            break;
        test_sleep_ms(20);
    }
    char logp[300];
    snprintf(logp, sizeof logp, "%s/server.log", dir);
    char *log = sshd_read_file(logp, NULL);
    fprintf(stderr, "chef_server: the fake Chef server did not start:\n%s\n", log ? log : "");
    free(log);
    chef_fake_stop(f);
    return -1;
}

void chef_fake_stop(struct chef_fake *f)
{
    if (f->pid <= 0)
        return;
    kill(f->pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
            f->pid = 0;
            return;
        }
        test_sleep_ms(10);
    }
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    f->pid = 0;
}

static char *read_in(const struct chef_fake *f, const char *name)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    char *s = sshd_read_file(path, NULL);
    return s ? s : strdup("");
}

char *chef_fake_state(const struct chef_fake *f) { return read_in(f, "state.json"); }

char *chef_fake_requests(const struct chef_fake *f) { return read_in(f, "requests.log"); }
