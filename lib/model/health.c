/* health.c - the health rule and the stored records (health.h). The rule
 * is pure so the unit tests and the governor's simulation can run it
 * without a prober; the probing itself is lib/health/health_probe.c. */
#include "health.h"

#include "jsonx.h"
#include "keys.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

const char *health_status_name(enum health_status s)
{
    static const char *const names[] = {"grace", "healthy", "unhealthy"};
    return s <= HEALTH_UNHEALTHY ? names[s] : "grace";
}

enum health_status health_status_parse(const char *s)
{
    if (s && strcmp(s, "healthy") == 0)
        return HEALTH_HEALTHY;
    if (s && strcmp(s, "unhealthy") == 0)
        return HEALTH_UNHEALTHY;
    /* Unknown or absent reads as grace: a record this version cannot read
     * must never take a node out of capacity on its own. */
    return HEALTH_GRACE;
}

static bool probe_failed(const struct health_obs *o)
{
    return (o->provider_known && !o->provider_ok) || (o->lb_known && !o->lb_ok) ||
           (o->http_known && !o->http_ok);
}

static bool probe_known(const struct health_obs *o)
{
    return o->provider_known || o->lb_known || o->http_known;
}

/* The status's start: kept while the status stays, now when it changes, so
 * "unhealthy since" is when the threshold was crossed, not the last probe. */
static void set_status(struct health_verdict *out, const struct health_prev *prev,
                       enum health_status s, long long now)
{
    out->status = s;
    out->since = prev->status == s && prev->since > 0 ? prev->since : now;
}

void health_judge(const struct group *g, const struct health_prev *prev,
                  const struct health_obs *obs, long long active_since, long long now,
                  struct health_verdict *out)
{
    long long threshold = g->health_threshold > 0 ? g->health_threshold : 1;
    long long grace = g->health_grace > 0 ? g->health_grace : 0;
    memset(out, 0, sizeof *out);

    /* A booting service fails every check: its failures say nothing yet. */
    if (now - active_since < grace) {
        set_status(out, prev, HEALTH_GRACE, now);
        snprintf(out->reason, sizeof out->reason, "in its grace period: %lld s left",
                 grace - (now - active_since));
        return;
    }
    if (probe_failed(obs)) {
        out->failures = prev->failures + 1;
        enum health_status s = out->failures >= threshold ? HEALTH_UNHEALTHY
                               /* below the threshold a node keeps its status;
                                * one just out of grace has not failed enough
                                * to be anything but healthy */
                               : prev->status == HEALTH_UNHEALTHY ? HEALTH_UNHEALTHY
                                                                  : HEALTH_HEALTHY;
        set_status(out, prev, s, now);
        snprintf(out->reason, sizeof out->reason, "%lld of %lld consecutive failed probes: %.180s",
                 out->failures, threshold, obs->detail[0] ? obs->detail : "a check failed");
        return;
    }
    if (!probe_known(obs)) {
        /* No source could say: neither a failure nor a pass. The count and
         * the status stay; a node leaving grace becomes healthy, as it
         * would by any passing probe, since nothing says otherwise. */
        out->failures = prev->failures;
        set_status(out, prev, prev->status == HEALTH_GRACE ? HEALTH_HEALTHY : prev->status,
                   now);
        snprintf(out->reason, sizeof out->reason, "%s",
                 "no check could say (no provider answer, no load balancer check, no path)");
        return;
    }
    out->failures = 0;
    set_status(out, prev, HEALTH_HEALTHY, now);
    snprintf(out->reason, sizeof out->reason, "%s", "every check that could say passed");
}

int health_load(struct ds *ds, const char *group, struct json_object **out,
                struct as_error *err)
{
    char prefix[KEY_MAX];
    struct ds_list l;
    memset(&l, 0, sizeof l);
    if (ds_list(ds, key_health_prefix(prefix, group), &l, err) < 0)
        return -1;
    *out = jx_new_object();
    for (size_t i = 0; i < l.count; i++) {
        struct json_object *rec = jx_parse_record(l.items[i].value);
        if (!rec) { /* one corrupt record must not hide the others */
            log_warn("skipping corrupt health record %s", l.items[i].name);
            continue;
        }
        json_object_object_add(*out, key_leaf(l.items[i].name), rec);
    }
    ds_list_clear(&l);
    return 0;
}
