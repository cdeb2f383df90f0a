/* autoscale_curl - the helper that carries libcurl requests for the static
 * actions/bin/autoscale (lib/core/http_worker.h). Not an action: st2 never
 * runs it; autoscale starts it, on a socket as its stdin, on the first
 * https request of an HTTP client, and it serves that client's attempts
 * until the socket closes. */
#include "http_worker.h"
#include "signals.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>

int main(void)
{
    /* SIGTERM aborts a transfer as it does in the action (curl's progress
     * callback asks as_interrupted()); the action's end ends us too. */
    as_signals_install();
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    return http_worker_serve(0) < 0 ? 1 : 0;
}
