/* secret.c - see secret.h. A handful of secrets per process at most, so a
 * plain array and strstr() are the right tools. */
#include "secret.h"

#include <stdlib.h>
#include <string.h>

#define SECRET_MAX 32
#define SECRET_MASK "***"

static char *secrets[SECRET_MAX];
static int nsecrets;

void secret_register(const char *value)
{
    if (!value || strlen(value) < 4 || nsecrets == SECRET_MAX)
        return;
    for (int i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], value) == 0)
            return;
    char *copy = strdup(value);
    if (!copy)
        return;
    /* Longest first: a secret that contains another must be masked whole,
     * not left with its tail showing after the shorter one was replaced. */
    int i = nsecrets++;
    while (i > 0 && strlen(secrets[i - 1]) < strlen(copy)) {
        secrets[i] = secrets[i - 1];
        i--;
    }
    secrets[i] = copy;
}

/* Replace every occurrence of one secret in *s (reallocating). */
static char *scrub_one(char *s, const char *secret)
{
    size_t slen = strlen(secret), mlen = strlen(SECRET_MASK), count = 0;
    for (const char *p = strstr(s, secret); p; p = strstr(p + slen, secret))
        count++;
    if (count == 0)
        return s;

    char *out = malloc(strlen(s) - count * slen + count * mlen + 1);
    if (!out) {
        free(s);
        return NULL;
    }
    char *w = out;
    const char *r = s;
    for (const char *p = strstr(r, secret); p; p = strstr(r, secret)) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, SECRET_MASK, mlen);
        w += mlen;
        r = p + slen;
    }
    strcpy(w, r);
    free(s);
    return out;
}

char *secret_scrub(const char *s)
{
    char *out = strdup(s ? s : "");
    for (int i = 0; out && i < nsecrets; i++)
        out = scrub_one(out, secrets[i]);
    return out;
}

void secret_scrub_buf(char *buf, size_t size)
{
    if (nsecrets == 0 || size == 0)
        return;
    char *clean = secret_scrub(buf);
    if (!clean) {
        buf[0] = '\0';
        return;
    }
    strncpy(buf, clean, size - 1);
    buf[size - 1] = '\0';
    free(clean);
}

void secret_clear(void)
{
    for (int i = 0; i < nsecrets; i++) {
        /* volatile write so the wipe is not optimised away */
        volatile char *p = secrets[i];
        while (*p)
            *p++ = 0;
        free(secrets[i]);
        secrets[i] = NULL;
    }
    nsecrets = 0;
}
