/* secret.h - a process-wide registry of secret values.
 *
 * Secret parameters (API keys, tokens, passwords, private keys) are registered
 * when parsed, and the environment's st2 token when read. Everything that leaves
 * the process - the stdout JSON, log lines, error messages - passes through
 * secret_scrub(), so a secret cannot leak even when a server echoes it back in
 * an error body. This is the second line of defence: code still never logs
 * headers or bodies that carry secrets. */
#ifndef AS_SECRET_H
#define AS_SECRET_H

#include <stddef.h>

/* Remember a secret; values shorter than 4 bytes are ignored (they would
 * scrub ordinary text). The string is copied. */
void secret_register(const char *value);

/* A new copy of s with every registered secret replaced by "***" (never
 * NULL: xalloc.h). */
char *secret_scrub(const char *s);
/* The same, but NULL when nothing is to be masked (the usual case): s
 * itself can then be printed, without a copy. A governor tick prints
 * 1.7 MB for 10,000 groups, and copying it cost a page fault every 4 KiB. */
char *secret_scrub_changed(const char *s);

/* Scrub in place into a fixed buffer (for error messages). */
void secret_scrub_buf(char *buf, size_t size);

/* Free a string that held a secret (a key, a token, a header carrying one),
 * wiping it first so no copy outlives its use in freed memory. NULL is fine. */
void secret_free(char *s);

/* Forget all secrets, wiping their memory (tests and process exit). */
void secret_clear(void);

#endif
