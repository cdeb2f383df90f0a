/* spawn.h - start a server for a test: its output to a log file, no stdin,
 * killed with the test process (PR_SET_PDEATHSIG) if a test crashes before
 * stopping it. */
#ifndef TEST_SPAWN_H
#define TEST_SPAWN_H

#include <sys/types.h>

/* argv[0] is a path (execv) or a name looked up in PATH (execvp); argv ends
 * with NULL. The child's PID (it _exits 127 if the exec fails), or -1. */
pid_t spawn_logged(const char *log, char *const argv[]);

#endif
