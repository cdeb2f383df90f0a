/* http_resolve_none.c - a link-time substitute (lib/link/README.md) for
 * lib/core/http_resolve.c in the static actions/bin/autoscale: glibc's
 * getaddrinfo() in a static binary may dlopen() NSS modules, which it
 * cannot do safely. Addresses and "localhost" need no resolver
 * (http_addr.c); http_transport_for() sends a URL with any other host name
 * to libcurl, through the autoscale_curl helper, so this is never reached
 * but by a forced transport. */
#include "http_int.h"

const int http_resolves_names = 0;

int http_resolve_name(const char *host, unsigned port, const char *peer, long long end,
                      struct http_addrs *out, struct http_failure *f)
{
    (void)port, (void)peer, (void)end;
    out->n = 0;
    return http_failure_set(f, "http_unreachable", 0,
                            "cannot resolve %s: this static binary resolves no names", host);
}
