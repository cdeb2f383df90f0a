/* clock.c - see clock.h. */
#include "clock.h"

#include <stdlib.h>
#include <time.h>

long long as_now(void)
{
    const char *pinned = getenv("AUTOSCALE_TEST_NOW");
    if (pinned && *pinned)
        return strtoll(pinned, NULL, 10);
    return (long long)time(NULL);
}
