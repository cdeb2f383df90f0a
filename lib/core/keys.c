/* keys.c - see keys.h. Components are validated by their owners (group
 * names by group_check_name, node and incident ids by their modules, with
 * key_label_ok) before they reach here; the key_* builders only assemble. */
#include "keys.h"

#include <stdio.h>
#include <string.h>

bool key_label_ok(const char *s, size_t len)
{
    if (len < 1 || len > 63 || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

int key_dns_labels(const char *s, size_t len)
{
    int labels = 0;
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (!key_label_ok(s + start, i - start))
            return -1;
        labels++;
        start = i + 1;
    }
    return labels;
}

static char *fmt(char *buf, const char *kind, const char *group, const char *leaf)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "%s.%s%s%s", kind, group ? group : "",
             group ? "." : "", leaf ? leaf : "");
    return buf;
}

char *key_spec(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "spec.%s", group);
    return buf;
}

char *key_spec_prefix(char *buf) { return fmt(buf, "spec", NULL, NULL); }

char *key_node(char *buf, const char *group, const char *node)
{
    return fmt(buf, "node", group, node);
}

char *key_node_prefix(char *buf, const char *group)
{
    return fmt(buf, "node", group, NULL);
}

char *key_incident(char *buf, const char *group, const char *incident)
{
    return fmt(buf, "incident", group, incident);
}

char *key_incident_prefix(char *buf, const char *group)
{
    return fmt(buf, "incident", group, NULL);
}

/* Zero-padded time first, so a group's events list in time order. */
char *key_event(char *buf, const char *group, long long when, const char *op)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "event.%s.%012lld-%s", group, when, op);
    return buf;
}

char *key_event_prefix(char *buf, const char *group)
{
    return fmt(buf, "event", group, NULL);
}

char *key_lease(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "lease.%s", group);
    return buf;
}

char *key_lease_prefix(char *buf) { return fmt(buf, "lease", NULL, NULL); }

char *key_health(char *buf, const char *group, const char *node)
{
    return fmt(buf, "health", group, node);
}

char *key_health_prefix(char *buf, const char *group)
{
    return fmt(buf, "health", group, NULL);
}

char *key_health_lock(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "healthlock.%s", group);
    return buf;
}

char *key_protect(char *buf, const char *group, const char *node)
{
    return fmt(buf, "protect", group, node);
}

char *key_protect_prefix(char *buf, const char *group)
{
    return fmt(buf, "protect", group, NULL);
}

/* Zero-padded milliseconds, so a group's decisions list in time order. */
char *key_history(char *buf, const char *group, long long when_ms)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "history.%s.%015lld", group, when_ms);
    return buf;
}

char *key_history_prefix(char *buf, const char *group)
{
    return fmt(buf, "history", group, NULL);
}

char *key_decision(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "decision.%s", group);
    return buf;
}

char *key_decision_prefix(char *buf) { return fmt(buf, "decision", NULL, NULL); }

char *key_samples(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "samples.%s", group);
    return buf;
}

char *key_samples_prefix(char *buf) { return fmt(buf, "samples", NULL, NULL); }

char *key_sample_lock(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "samplelock.%s", group);
    return buf;
}

char *key_pool_lock(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "poollock.%s", group);
    return buf;
}

char *key_schedule_lock(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "schedlock.%s", group);
    return buf;
}

char *key_schedule(char *buf, const char *group, const char *name)
{
    return fmt(buf, "schedule", group, name);
}

char *key_schedule_prefix(char *buf, const char *group)
{
    return fmt(buf, "schedule", group, NULL);
}

char *key_refresh(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "refresh.%s", group);
    return buf;
}

char *key_refresh_prefix(char *buf) { return fmt(buf, "refresh", NULL, NULL); }

/* Not "spec.<g>.lock": listing autoscale.spec. must find specs only. */
char *key_spec_lock(char *buf, const char *group)
{
    snprintf(buf, KEY_MAX, KEY_ROOT "speclock.%s", group);
    return buf;
}

const char *key_leaf(const char *key)
{
    const char *dot = strrchr(key, '.');
    return dot ? dot + 1 : key;
}

int key_group(const char *key, char *out, size_t outsz)
{
    size_t root = strlen(KEY_ROOT);
    if (strncmp(key, KEY_ROOT, root) != 0)
        return -1;
    const char *kind_end = strchr(key + root, '.');
    if (!kind_end)
        return -1;
    const char *g = kind_end + 1, *end = strchr(g, '.');
    size_t n = end ? (size_t)(end - g) : strlen(g);
    if (n == 0 || n >= outsz)
        return -1;
    memcpy(out, g, n);
    out[n] = '\0';
    return 0;
}
