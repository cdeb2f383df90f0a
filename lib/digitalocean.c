/* digitalocean.c - see digitalocean.h. */
#include "digitalocean.h"

#include <string.h>

int digitalocean_bad_setting(struct as_error *err, const char *key, const char *why)
{
    return as_fail(err, AS_EXIT_BADINPUT, "bad_settings", "digitalocean: setting '%s' %s",
                   key, why);
}

int digitalocean_token_ok(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
            return 0;
    return 1;
}

static int loopback(const char *host, size_t len)
{
    return (len == 9 && memcmp(host, "127.0.0.1", 9) == 0) ||
           (len == 9 && memcmp(host, "localhost", 9) == 0) ||
           (len == 5 && memcmp(host, "[::1]", 5) == 0);
}

char *digitalocean_base_url(const char *url, struct as_error *err)
{
    const char *host = strncmp(url, "https://", 8) == 0  ? url + 8
                       : strncmp(url, "http://", 7) == 0 ? url + 7
                                                         : NULL;
    if (!host || !*host || strpbrk(url, "?#@ \t\r\n") || strlen(url) > 1024) {
        digitalocean_bad_setting(err, "api_url", "must be an http(s) URL without query, "
                                                 "fragment or user name");
        return NULL;
    }
    if (host == url + 7 && !loopback(host, strcspn(host, ":/"))) {
        digitalocean_bad_setting(err, "api_url", "must use https (plain http only to 127.0.0.1)");
        return NULL;
    }
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    char *b = strndup(url, n);
    if (!b)
        as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
    return b;
}
