/* fake_st2_main.c - the st2 key-value fake as a program, for end-to-end tests
 * of the action binaries and of the Python sensor.
 *
 *   fake_st2 [--control] [--token-ttl=S] [--token-uses=N] [--fail-after-commit=N]
 *            [TOKEN [API_KEY]]
 *
 * Credentials come from the arguments, else from $FAKE_ST2_TOKEN and
 * $FAKE_ST2_API_KEY; an empty string means "refuse that kind". TOKEN lives
 * forever unless --token-ttl (seconds by the fake's clock) or --token-uses
 * (authorised requests) gives it a life, as st2's service_token_ttl gives the
 * ST2_AUTH_TOKEN of a sensor; then it gets st2's 401 "Token has expired.".
 * --control serves the test-only /v1/_fake/ endpoints (minting tokens,
 * expiring them, moving the clock, stats: see fake_st2.h).
 * --fail-after-commit=N applies the first N PUTs and answers each with 500,
 * the ambiguous write of fake_st2_fail_after_commit(). It prints the
 * base URL ("http://127.0.0.1:PORT/v1") on one flushed line once it listens,
 * then serves until SIGTERM or SIGINT and exits 0. A harness reads that line,
 * exports it as ST2_ACTION_API_URL, and kills the process when done. */
#include "fake_st2.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cred(int argc, char **argv, int i, const char *env_name)
{
    const char *v = i < argc ? argv[i] : getenv(env_name);
    return v && *v ? v : NULL;
}

/* --name=N with N a whole number >= 0: 1 and *out; 0 if arg is not --name=;
 * -1 if it is but N is bad. */
static int num_opt(const char *arg, const char *name, long long *out)
{
    size_t n = strlen(name);
    char *end;
    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return 0;
    errno = 0;
    *out = strtoll(arg + n + 1, &end, 10);
    return errno || end == arg + n + 1 || *end || *out < 0 ? -1 : 1;
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--control] [--token-ttl=S] [--token-uses=N] "
                    "[--fail-after-commit=N] [TOKEN [API_KEY]]\n", argv0);
    return 2;
}

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    long long ttl = 0, uses = 0, commit_fails = 0;
    int control = 0, i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        int a = 0, b = 0, c = 0;
        if (strcmp(argv[i], "--control") == 0)
            control = 1;
        else if ((a = num_opt(argv[i], "--token-ttl", &ttl)) != 0 ||
                 (b = num_opt(argv[i], "--token-uses", &uses)) != 0 ||
                 (c = num_opt(argv[i], "--fail-after-commit", &commit_fails)) != 0) {
            if (a < 0 || b < 0 || c < 0 || uses > 1000000000 || commit_fails > 1000000000)
                return usage(prog);
        } else
            return usage(prog);
    }
    argc -= i - 1;
    argv += i - 1;
    if (argc > 3 || (argc > 1 && strcmp(argv[1], "-h") == 0))
        return usage(prog);
    const char *token = cred(argc, argv, 1, "FAKE_ST2_TOKEN");
    const char *api_key = cred(argc, argv, 2, "FAKE_ST2_API_KEY");
    if (!token && !api_key)
        fprintf(stderr, "fake_st2: warning: no token or API key: every request "
                        "will get 401\n");

    /* Block the signals before the server starts its threads, so they all
     * inherit the mask and sigwait() below is the only taker. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct fake_st2 *f = fake_st2_start(token, api_key);
    if (!f) {
        fprintf(stderr, "fake_st2: cannot start the server on 127.0.0.1\n");
        return 1;
    }
    fake_st2_set_control(f, control);
    if (commit_fails)
        fake_st2_fail_after_commit(f, (int)commit_fails, 500, NULL);
    if (token && (ttl || uses) && fake_st2_set_token(f, token, ttl, (int)uses) < 0) {
        fprintf(stderr, "fake_st2: out of memory\n");
        fake_st2_stop(f);
        return 1;
    }
    printf("%s\n", fake_st2_url(f));
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    fake_st2_stop(f);
    return 0;
}
