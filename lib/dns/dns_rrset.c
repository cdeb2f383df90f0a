/* dns_rrset.c - A rrsets as sets of IPv4 addresses (dns.h), which the
 * action logic computes and compares and the providers read and write. */
#include "dns.h"
#include "jsonx.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool dns_is_ipv4(const char *s)
{
    struct in_addr a;
    /* inet_pton takes exactly the dotted quad: no octal, hex or short forms. */
    return s && strlen(s) < DNS_ADDR_MAX && inet_pton(AF_INET, s, &a) == 1;
}

/* Numeric order, so sets list as people read them. */
static int addr_cmp(const char *a, const char *b)
{
    struct in_addr x, y;
    inet_pton(AF_INET, a, &x);
    inet_pton(AF_INET, b, &y);
    unsigned long hx = ntohl(x.s_addr), hy = ntohl(y.s_addr);
    return hx < hy ? -1 : hx > hy;
}

int dns_rrset_add(struct dns_rrset *s, const char *addr)
{
    if (!dns_is_ipv4(addr))
        return -1;
    size_t i = 0;
    while (i < s->n && addr_cmp(s->addr[i], addr) < 0)
        i++;
    if (i < s->n && addr_cmp(s->addr[i], addr) == 0)
        return 0;
    s->addr = xgrow(s->addr, s->n + 1, &s->cap, sizeof *s->addr);
    memmove(s->addr + i + 1, s->addr + i, (s->n - i) * sizeof *s->addr);
    snprintf(s->addr[i], DNS_ADDR_MAX, "%s", addr);
    s->n++;
    return 0;
}

bool dns_rrset_has(const struct dns_rrset *s, const char *addr)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->addr[i], addr) == 0)
            return true;
    return false;
}

bool dns_rrset_same(const struct dns_rrset *a, const struct dns_rrset *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->addr[i], b->addr[i]) != 0)
            return false;
    return true;
}

void dns_rrset_clear(struct dns_rrset *s)
{
    free(s->addr);
    memset(s, 0, sizeof *s);
}

struct json_object *dns_rrset_json(const struct dns_rrset *s)
{
    struct json_object *a = jx_new_array();
    for (size_t i = 0; i < s->n; i++)
        json_object_array_add(a, jx_new_string(s->addr[i]));
    return a;
}
