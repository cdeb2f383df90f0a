/* fake_st2_main.c - the st2 key-value fake as a program, for end-to-end tests
 * of the action binaries and of the Python sensor.
 *
 *   fake_st2 [TOKEN [API_KEY]]
 *
 * Credentials come from the arguments, else from $FAKE_ST2_TOKEN and
 * $FAKE_ST2_API_KEY; an empty string means "refuse that kind". It prints the
 * base URL ("http://127.0.0.1:PORT/v1") on one flushed line once it listens,
 * then serves until SIGTERM or SIGINT and exits 0. A harness reads that line,
 * exports it as ST2_ACTION_API_URL, and kills the process when done. */
#include "fake_st2.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cred(int argc, char **argv, int i, const char *env_name)
{
    const char *v = i < argc ? argv[i] : getenv(env_name);
    return v && *v ? v : NULL;
}

int main(int argc, char **argv)
{
    if (argc > 3 || (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
                                  strcmp(argv[1], "--help") == 0))) {
        fprintf(stderr, "usage: %s [TOKEN [API_KEY]]\n", argv[0]);
        return 2;
    }
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
    printf("%s\n", fake_st2_url(f));
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    fake_st2_stop(f);
    return 0;
}
