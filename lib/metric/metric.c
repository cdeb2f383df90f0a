/* metric.c - the table of metric sources, their parameters' descriptors,
 * and reading through the one a group names (see metric_int.h). What the
 * metric_collect action does with a reading is metric_collect.c. */
#include "metric_int.h"

#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct metric_ops *const sources[] = {
    &metric_none_ops,
    &metric_prometheus_ops,
    &metric_haproxy_ops,
    &metric_newrelic_ops,
};
#define NSOURCES (sizeof sources / sizeof sources[0])

#define METRIC_DESC(n, kind, def, flags) PARAM_DESC(struct metric_params, n, kind)
const struct param_desc metric_param_desc[] = {METRIC_PARAMS(METRIC_DESC)};
const size_t metric_param_count = sizeof metric_param_desc / sizeof metric_param_desc[0];

const struct metric_ops *metric_lookup(const char *name)
{
    for (size_t i = 0; name && i < NSOURCES; i++)
        if (strcmp(sources[i]->name, name) == 0)
            return sources[i];
    return NULL;
}

bool metric_source_known(const char *source) { return metric_lookup(source) != NULL; }

bool metric_source_reads(const char *source)
{
    const struct metric_ops *o = metric_lookup(source);
    return o && o->read;
}

bool metric_source_reads_lb(const char *source)
{
    const struct metric_ops *o = metric_lookup(source);
    return o && o->reads_lb;
}

static const char *source_name(size_t i) { return sources[i]->name; }

int metric_read(const struct metric_params *p, const char *source,
                const struct metric_request *req, double *value, struct as_error *err)
{
    const struct metric_ops *o = metric_lookup(source);
    if (!o)
        return as_fail_unknown_provider(err, "metric", source ? source : "", source_name,
                                        NSOURCES);
    if (!o->read)
        return as_fail(err, AS_EXIT_FAILURE, "metric_no_data",
                       "group %s: metric_source %s reads nothing", req->group, o->name);
    double v = 0;
    if (o->read(p, req, &v, err) < 0)
        return -1;
    /* The sources check already; this is the contract's last line. */
    if (!isfinite(v))
        return as_fail(err, AS_EXIT_FAILURE, "metric_not_a_number",
                       "%s: the value for group %s is not a finite number", o->name,
                       req->group);
    *value = v;
    return 0;
}

char *metric_query_expand(const char *query, const char *group, struct as_error *err)
{
    static const char var[] = "$group";
    if (!query || !*query) {
        as_fail(err, AS_EXIT_BADINPUT, "invalid_target", "group %s has no metric_query",
                group);
        return NULL;
    }
    size_t len = strlen(query), glen = strlen(group), n = 0;
    if (len > METRIC_QUERY_MAX) {
        as_fail(err, AS_EXIT_BADINPUT, "invalid_target",
                "group %s: metric_query is longer than %d bytes", group, METRIC_QUERY_MAX);
        return NULL;
    }
    for (const char *s = query; *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7f) {
            as_fail(err, AS_EXIT_BADINPUT, "invalid_target",
                    "group %s: metric_query has a control character", group);
            return NULL;
        }
    for (const char *s = query; (s = strstr(s, var)); s += sizeof var - 1)
        n++;
    char *out = xmalloc(len + n * glen + 1), *o = out;
    for (const char *s = query; *s;) {
        if (strncmp(s, var, sizeof var - 1) == 0) {
            memcpy(o, group, glen);
            o += glen;
            s += sizeof var - 1;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}
