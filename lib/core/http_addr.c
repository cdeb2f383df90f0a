/* http_addr.c - the addresses the plain transport connects to
 * (http_int.h): what needs no resolver is answered here, with inet_aton()
 * and inet_pton(), so that a static binary, which has no resolver
 * (lib/link/http_resolve_none.c), still reaches st2's API at
 * http://127.0.0.1:9101 or http://localhost:9101. */
#include "http_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int is_localhost(const struct http_url *u)
{
    return u->host_len == 9 && strncasecmp(u->host, "localhost", 9) == 0;
}

int http_host_needs_resolver(const struct http_url *u)
{
    return !u->is_ip && !is_localhost(u);
}

static void add_v4(struct http_addrs *out, struct in_addr a, unsigned port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->a[out->n].sa;
    memset(&out->a[out->n], 0, sizeof out->a[out->n]);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)port);
    sin->sin_addr = a;
    out->a[out->n++].len = sizeof *sin;
}

static void add_v6(struct http_addrs *out, const struct in6_addr *a, unsigned port)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->a[out->n].sa;
    memset(&out->a[out->n], 0, sizeof out->a[out->n]);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((unsigned short)port);
    sin6->sin6_addr = *a;
    out->a[out->n++].len = sizeof *sin6;
}

int http_resolve(const struct http_url *u, const char *peer, long long end,
                 struct http_addrs *out, struct http_failure *f)
{
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)u->host_len, u->host);
    out->n = 0;

    if (is_localhost(u)) {
        /* st2's API binds 127.0.0.1: try it first. */
        struct in_addr v4 = {.s_addr = htonl(INADDR_LOOPBACK)};
        add_v4(out, v4, u->port);
        add_v6(out, &in6addr_loopback, u->port);
        return 0;
    }
    if (u->is_ipv6) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return http_failure_set(f, "http_unreachable", 0, "bad address %s", host);
        add_v6(out, &a6, u->port);
        return 0;
    }
    if (u->is_ip) {
        /* inet_aton, as getaddrinfo() reads a numeric host: 127.1 too. */
        struct in_addr a4;
        if (inet_aton(host, &a4) == 0)
            return http_failure_set(f, "http_unreachable", 0, "bad address %s", host);
        add_v4(out, a4, u->port);
        return 0;
    }
    return http_resolve_name(host, u->port, peer, end, out, f);
}
