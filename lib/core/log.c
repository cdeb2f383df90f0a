/* log.c - see log.h. */
#include "log.h"
#include "secret.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static enum log_level current = LOG_INFO;
static char prog[64] = "autoscale";

static const char *const names[] = {"error", "warn", "info", "debug"};

void log_init(const char *progname)
{
    if (progname) {
        const char *base = strrchr(progname, '/');
        snprintf(prog, sizeof prog, "%s", base ? base + 1 : progname);
    }
    const char *dbg = getenv("ST2_ACTION_DEBUG");
    if (dbg && (strcasecmp(dbg, "true") == 0 || strcmp(dbg, "1") == 0))
        current = LOG_DEBUG;
    const char *lvl = getenv("AUTOSCALE_LOG_LEVEL");
    for (int i = 0; lvl && i <= LOG_DEBUG; i++)
        if (strcasecmp(lvl, names[i]) == 0)
            current = (enum log_level)i;
}

void log_set_level(enum log_level level) { current = level; }

enum log_level log_get_level(void) { return current; }

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    if (level > current)
        return;
    va_start(ap, fmt);
    char *raw = xvasprintf(fmt, ap);
    va_end(ap);
    /* Scrub the whole line before cutting it: a secret straddling the cut
     * would no longer match and its first half would be printed. */
    char *line = secret_scrub(raw);
    free(raw);
    size_t cut = strlen(line);
    if (cut > 2000) /* at a character boundary: stderr must stay UTF-8 */
        for (cut = 2000; cut > 0 && (line[cut] & 0xC0) == 0x80; cut--)
            ;
    fprintf(stderr, "%s: %s: %.*s\n", prog, names[level], (int)cut, line);
    free(line);
}
