/* fuzz_common.h - what the libFuzzer targets share: invariant checks, a
 * datastore in memory, the scripted HTTP replies of fake_curl.c, and input
 * splitting. Built into every target by tests/fuzz/run.sh.
 *
 * fuzz_common.c also stands in for as_sleep_ms() (run.sh links with
 * -Wl,--wrap=as_sleep_ms): it returns at once, so retry backoffs and polls
 * cost no wall time; nothing else differs. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datastore.h"
#include "error.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() with a message when ok is false: libFuzzer reports it as a crash. */
void fz_check(bool ok, const char *what);

/* Valid UTF-8 without C0, DEL or C1 control characters, NUL-terminated
 * within size bytes. */
bool fz_clean(const char *s, size_t size);

/* An error as every caller may print it: a code, an exit class, and a
 * clean one-line message. */
void fz_check_error(const struct as_error *err);

/* Split data at every occurrence of sep (not included) into at most max
 * pieces (the last takes the rest); each piece is a new NUL-terminated copy
 * (embedded NULs kept in len). Returns how many; free with fz_pieces_free. */
struct fz_piece {
    char *s;
    size_t len;
};
size_t fz_split(const uint8_t *data, size_t size, const char *sep, struct fz_piece *out,
                size_t max);
void fz_pieces_free(struct fz_piece *p, size_t n);

/* A datastore in memory (keys sorted on listing, TTLs ignored), for the
 * record parsers: the same struct ds every module reads through. */
struct ds *fz_memds_new(void);
/* Stores a copy of value under key, bypassing ds_put's key check. */
void fz_memds_set(struct ds *ds, const char *key, const char *value, size_t len);
size_t fz_memds_count(struct ds *ds);

/* Scripted HTTP replies (fake_curl.c). Each piece of the input is one
 * reply: a first line with the status (0 or no digits: the transfer fails),
 * header lines, an empty line, then the body. */
void fz_http_script(const struct fz_piece *pieces, size_t n);
size_t fz_http_used(void);

#endif
