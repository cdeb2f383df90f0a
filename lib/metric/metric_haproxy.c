/* metric_haproxy.c - HAProxy's own statistics as a metric: the query is one
 * per-server column of "show stat" (lb.h LB_STATS: scur, qcur, rate,
 * qtime, ctime, rtime, ttime), and the value is its average over the
 * group's servers that HAProxy's check says are UP.
 *
 * The listing itself is the load balancer area's (lb_node_health, one
 * "show stat" of the group's lb_backend, parsed once there): metric_collect
 * reads it into req->members, since a source may not call into another
 * area. Servers DOWN, in maintenance or draining carry no share of the
 * load, so averaging them in would read as a lighter load than the UP ones
 * carry; none UP is no reading at all. */
#include "metric_int.h"

#include <math.h>

static int hx_read(const struct metric_params *p, const struct metric_request *req,
                   double *value, struct as_error *err)
{
    (void)p;
    double sum = 0;
    size_t up = 0, unreported = 0;
    for (size_t i = 0; i < req->n_members; i++) {
        const struct metric_member *m = &req->members[i];
        if (!m->up)
            continue;
        if (!(m->value >= 0) || !isfinite(m->value)) {
            unreported++;
            continue;
        }
        sum += m->value;
        up++;
    }
    if (up == 0)
        return as_fail(err, AS_EXIT_FAILURE, "metric_no_data",
                       "haproxy: group %s has no server UP%s to read '%s' from", req->group,
                       unreported ? " reporting it" : "", req->query);
    *value = sum / (double)up;
    return 0;
}

const struct metric_ops metric_haproxy_ops = {
    .name = "haproxy",
    .reads_lb = true,
    .read = hx_read,
};
