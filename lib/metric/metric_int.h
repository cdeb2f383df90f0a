/* metric_int.h - the metric source interface: one table of operations per
 * source, so a new one is one file (lib/metric/metric_<name>.c), one extern
 * below and one line in metric.c's table.
 *
 * A source turns a request (the group's name, its expanded query and, for
 * a source reading the load balancer, the members the caller listed) into
 * one finite number, or an error: it knows nothing of the datastore,
 * samples or claims (metric_collect.c). Included by metric.c, metric_collect.c
 * and the sources; never by actions or other areas (metric.h). */
#ifndef AS_METRIC_INT_H
#define AS_METRIC_INT_H

#include "error.h"
#include "metric.h"

struct metric_ops {
    const char *name;
    /* The query names a per-member stat of the group's load balancer, which
     * the caller reads (lb.h) into req->members before read. */
    bool reads_lb;
    /* 0 with *value finite, or -1 with err. NULL: the source reads nothing
     * ("none"). */
    int (*read)(const struct metric_params *p, const struct metric_request *req,
                double *value, struct as_error *err);
};

extern const struct metric_ops metric_none_ops;
extern const struct metric_ops metric_prometheus_ops;
extern const struct metric_ops metric_haproxy_ops;
extern const struct metric_ops metric_newrelic_ops;

/* The source of that name ("none" included), or NULL. */
const struct metric_ops *metric_lookup(const char *name);

/* The HTTP options every HTTP source uses: one attempt per read (the next
 * collection is the retry), a short budget. */
#define METRIC_HTTP_TIMEOUT_MS 10000

#endif
