/* fuzz_known_hosts.c - libFuzzer target for known_hosts files as
 * sshc_forget_host (lib/core/ssh_known_hosts.c) reads and rewrites them: lines with comma
 * lists of names, [host]:port forms, markers, hashed names, comments, any
 * bytes.
 *
 * The input's first line is the host to forget ("host" or "host:port"), the
 * rest is the file. Invariants: every line the call keeps is a line of the
 * input, in order, and no kept line names the host; the count returned is
 * the number of lines dropped; failures are clean errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "log.h"
#include "ssh.h"

static char dir[64], path[128];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_level(LOG_ERROR);
    /* tmpfs where there is one: the rewrite fsyncs every time. */
    snprintf(dir, sizeof dir, "%s/fuzz_known_hosts.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/known_hosts", dir);
    atexit(cleanup);
    return 0;
}

static size_t count_lines(const char *s, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n')
            lines++;
    return lines + (n > 0 && s[n - 1] != '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_piece p[2];
    if (size > 1 << 20)
        return 0;
    size_t n = fz_split(data, size, "\n", p, 2);
    const char *file = n > 1 ? p[1].s : "";
    size_t flen = n > 1 ? p[1].len : 0;

    char host[256];
    int port = 22;
    snprintf(host, sizeof host, "%s", p[0].s);
    char *colon = strrchr(host, ':');
    if (colon && colon[1]) {
        port = atoi(colon + 1);
        *colon = '\0';
    }
    FILE *f = fopen(path, "w");
    fz_check(f != NULL, "the file is written");
    fwrite(file, 1, flen, f);
    fclose(f);

    struct as_error err;
    as_error_clear(&err);
    int rc = sshc_forget_host(path, host, port, &err);
    if (rc < 0) {
        fz_check_error(&err);
    } else {
        FILE *in = fopen(path, "r");
        fz_check(in != NULL, "the file is still there");
        char *kept = NULL;
        size_t klen = 0;
        FILE *mem = open_memstream(&kept, &klen);
        char buf[4096];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, got, mem);
        fclose(in);
        fclose(mem);
        /* NUL bytes end a line for getline's reader, not for this count:
         * only check files without them. */
        if (!memchr(file, '\0', flen)) {
            fz_check(rc == 0 ? klen == flen && memcmp(kept, file, flen) == 0
                             : count_lines(kept, klen) + (size_t)rc == count_lines(file, flen),
                     "the kept lines are the input's, minus the dropped ones");
        }
        free(kept);
    }
    fz_pieces_free(p, n);
    return 0;
}
