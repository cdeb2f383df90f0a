/* dns_name.c - record names (dns.h): a node's from its template, the
 * group's, and the checks that keep both valid DNS names inside the zone,
 * so a provider may put them in URLs and JSON as they are. */
#include "dns.h"
#include "keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A DNS name without its trailing dot: labels of 1-63 of [a-z0-9-], not
 * starting or ending with '-', at most 253 characters. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n <= 253 && key_dns_labels(s, n) > 0;
}

int dns_zone_plain(const char *zone, char *out, size_t size, struct as_error *err)
{
    size_t n = zone ? strlen(zone) : 0;
    if (n && zone[n - 1] == '.')
        n--;
    if (n > 0 && n < size) {
        memcpy(out, zone, n);
        out[n] = '\0';
        if (name_ok(out))
            return 0;
    }
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                   "dns_zone '%.80s' is not a DNS name", zone ? zone : "");
}

/* name (valid, so at most 253 characters) with its trailing dot into out. */
static int absolute(const char *name, char *out)
{
    size_t n = strlen(name);
    memcpy(out, name, n);
    out[n] = '.';
    out[n + 1] = '\0';
    return 0;
}

static int bad_template(struct as_error *err, const char *why)
{
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_template",
                   "dns_record_template: %s (placeholders {node} {group} {zone}, "
                   "default " DNS_DEFAULT_TEMPLATE ")",
                   why);
}

/* The value of the placeholder at p ("{node}" ...), its length in *len. */
static const char *placeholder(const char *p, const char *node, const char *group,
                               const char *zone, size_t *len, bool *is_node)
{
    static const char *const names[] = {"{node}", "{group}", "{zone}"};
    const char *values[] = {node, group, zone};
    for (int i = 0; i < 3; i++) {
        *len = strlen(names[i]);
        if (strncmp(p, names[i], *len) == 0) {
            *is_node = i == 0;
            return values[i];
        }
    }
    return NULL;
}

int dns_record_name(const char *tmpl, const char *node, const char *group, const char *zone,
                    char *out, struct as_error *err)
{
    char z[DNS_NAME_MAX], buf[DNS_NAME_MAX], grp[DNS_NAME_MAX];
    size_t n = 0, zl;
    bool has_node = false;

    if (dns_zone_plain(zone, z, sizeof z, err) < 0)
        return -1;
    if (!tmpl || !*tmpl)
        tmpl = DNS_DEFAULT_TEMPLATE;
    for (const char *p = tmpl; *p;) {
        size_t len = 1;
        bool is_node = false;
        const char *v = NULL;
        if (*p == '{') {
            if (!(v = placeholder(p, node, group, z, &len, &is_node)))
                return bad_template(err, "unknown placeholder");
            has_node |= is_node;
        } else if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-') {
            return bad_template(err, "only letters, digits, '.', '-' and placeholders");
        }
        size_t vl = v ? strlen(v) : 1;
        if (n + vl >= sizeof buf - 1)
            return bad_template(err, "the name is longer than 253 characters");
        if (v)
            memcpy(buf + n, v, vl);
        else
            buf[n] = (char)tolower((unsigned char)*p);
        n += vl;
        p += len;
    }
    buf[n] = '\0';
    if (n && buf[n - 1] == '.')
        buf[--n] = '\0';
    if (!has_node)
        return bad_template(err, "must contain {node}, or every node gets one name");
    if (!name_ok(buf))
        return bad_template(err, "does not make a valid DNS name");
    zl = strlen(z);
    if (n <= zl + 1 || buf[n - zl - 1] != '.' || strcmp(buf + n - zl, z) != 0)
        return bad_template(err, "the name must be inside the zone");
    if (dns_group_name(group, z, grp, err) < 0)
        return -1;
    if (strncmp(buf, grp, n) == 0 && grp[n] == '.')
        return bad_template(err, "the name is the group's own record");
    return absolute(buf, out);
}

int dns_group_name(const char *group, const char *zone, char *out, struct as_error *err)
{
    char z[DNS_NAME_MAX], buf[2 * DNS_NAME_MAX];
    if (dns_zone_plain(zone, z, sizeof z, err) < 0)
        return -1;
    snprintf(buf, sizeof buf, "%s.%s", group, z);
    if (!name_ok(buf))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "'%.40s.%.80s' is not a valid DNS name", group, z);
    return absolute(buf, out);
}
