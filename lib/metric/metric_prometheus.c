/* metric_prometheus.c - Prometheus's HTTP API: one instant query,
 *   GET {prometheus_url}/api/v1/query?query=<urlencoded>
 * (https://prometheus.io/docs/prometheus/latest/querying/api/).
 *
 * A reading is exactly one number: a "vector" result with exactly one
 * series, or a "scalar". Anything else is an error, never a value: no
 * series (the target is not scraped, or the label is wrong: metric_no_data),
 * more than one (the query does not aggregate to the group:
 * metric_ambiguous), NaN or an infinity (a rate over nothing:
 * metric_not_a_number), a "matrix" or "string" result, and Prometheus's own
 * errors, {"status":"error","errorType","error"}: 400 bad_data and 422
 * execution are the query's fault (metric_rejected), 503 (timeout,
 * canceled) and other 5xx are Prometheus's (metric_unavailable). One
 * attempt per read: the collector's next run is the retry, and the
 * governor holds meanwhile. */
#include "metric_int.h"

#include "http.h"
#include "jsonx.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_REPLY_WHAT "prometheus reply"

/* Prometheus's error body, as one bounded line. */
static int prom_error(const struct http_response *r, struct json_object *doc,
                      struct as_error *err)
{
    const char *type = jx_str(doc, "errorType", "");
    const char *text = jx_str(doc, "error", NULL);
    char *fallback = text ? NULL : http_error_text(r);
    const char *why = text ? text : fallback;
    int rc;
    if (r->status == 400 || r->status == 422 || strcmp(type, "bad_data") == 0)
        rc = as_fail(err, AS_EXIT_BADINPUT, "metric_rejected",
                     "prometheus refused the query (%ld %s): %.300s", r->status, type, why);
    else if (r->status == 401 || r->status == 403)
        rc = as_fail(err, AS_EXIT_FAILURE, "metric_unauthorized",
                     "prometheus refused the request (%ld): %.300s", r->status, why);
    else if (r->status >= 500 || strcmp(type, "timeout") == 0 ||
             strcmp(type, "canceled") == 0 || strcmp(type, "unavailable") == 0)
        rc = as_fail(err, AS_EXIT_FAILURE, "metric_unavailable",
                     "prometheus could not answer (%ld %s): %.300s", r->status, type, why);
    else
        rc = as_fail(err, AS_EXIT_FAILURE, "metric_bad_reply",
                     "prometheus answered %ld %s: %.300s", r->status, type, why);
    free(fallback);
    return rc;
}

/* A sample pair [<unix time>, "<value>"] into *value. */
static int sample_value(struct json_object *pair, double *value, struct as_error *err)
{
    struct json_object *v = json_object_is_type(pair, json_type_array) &&
                                    json_object_array_length(pair) == 2
                                ? json_object_array_get_idx(pair, 1)
                                : NULL;
    if (!v || !json_object_is_type(v, json_type_string))
        return as_fail(err, AS_EXIT_FAILURE, "metric_bad_reply",
                       "prometheus: a sample is not [time, \"value\"]");
    const char *s = json_object_get_string(v);
    char *end = NULL;
    double d = strtod(s, &end);
    if (end == s || *end)
        return as_fail(err, AS_EXIT_FAILURE, "metric_bad_reply",
                       "prometheus: the value \"%.40s\" is not a number", s);
    if (!isfinite(d))
        return as_fail(err, AS_EXIT_FAILURE, "metric_not_a_number",
                       "prometheus: the query's value is %.10s, not a finite number", s);
    *value = d;
    return 0;
}

static int prom_result(struct json_object *doc, const char *query, double *value,
                       struct as_error *err)
{
    struct json_object *data = jx_obj(doc, "data");
    const char *type = jx_str(data, "resultType", "");
    struct json_object *res = NULL;
    if (!data || !json_object_object_get_ex(data, "result", &res))
        return as_fail(err, AS_EXIT_FAILURE, "metric_bad_reply",
                       "prometheus: the reply has no data.result");
    if (strcmp(type, "scalar") == 0)
        return sample_value(res, value, err);
    if (strcmp(type, "vector") != 0)
        return as_fail(err, AS_EXIT_BADINPUT, "metric_rejected",
                       "prometheus: the query returns a %.20s; it must return one number "
                       "(an instant vector of one series, or a scalar)",
                       type);
    size_t n = json_object_is_type(res, json_type_array) ? json_object_array_length(res) : 0;
    if (n == 0)
        return as_fail(err, AS_EXIT_FAILURE, "metric_no_data",
                       "prometheus: no series for '%.200s'", query);
    if (n > 1)
        return as_fail(err, AS_EXIT_FAILURE, "metric_ambiguous",
                       "prometheus: %zu series for '%.200s'; aggregate them to one "
                       "(avg, sum, max)",
                       n, query);
    struct json_object *series = json_object_array_get_idx(res, 0), *pair = NULL;
    if (json_object_is_type(series, json_type_object))
        json_object_object_get_ex(series, "value", &pair);
    return sample_value(pair, value, err);
}

static int prom_read(const struct metric_params *p, const struct metric_request *req,
                     double *value, struct as_error *err)
{
    const char *base = p->prometheus_url ? p->prometheus_url : "http://127.0.0.1:9090";
    const char *why = http_url_problem(base);
    if (why)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "prometheus: setting 'prometheus_url': %s", why);
    char *b = http_base_url(base), *q = http_urlencode(req->query);
    char *url = xasprintf("%s/api/v1/query?query=%s", b, q);
    free(b);
    free(q);

    struct http_options o;
    http_options_default(&o);
    o.max_attempts = 1;
    o.timeout_ms = o.budget_ms = METRIC_HTTP_TIMEOUT_MS;
    o.ca_bundle = p->ca_bundle;
    struct http_client *c = http_client_new(&o, err);
    struct http_response r;
    memset(&r, 0, sizeof r);
    const char *const headers[] = {"Accept: application/json", NULL};
    struct http_request hr = {.method = "GET", .url = url, .headers = headers, .retry = 0};
    int rc = c ? http_do(c, &hr, &r, err) : -1;
    http_client_free(c);
    free(url);
    if (rc < 0) {
        if (!as_error_is(err, "interrupted") && !as_error_is(err, "http_bad_ca_bundle"))
            as_error_recode(err, "metric_unavailable");
        return -1;
    }
    struct as_error perr;
    struct json_object *doc =
        jx_parse(r.body, r.body_len, PROM_REPLY_WHAT, "metric_bad_reply", AS_EXIT_FAILURE, &perr);
    if (r.status != 200 || !doc || strcmp(jx_str(doc, "status", ""), "success") != 0) {
        if (r.status == 200 && !doc) {
            rc = -1;
            if (err)
                *err = perr;
        } else {
            rc = prom_error(&r, doc, err);
        }
    } else {
        rc = prom_result(doc, req->query, value, err);
    }
    json_object_put(doc);
    http_response_clear(&r);
    return rc;
}

const struct metric_ops metric_prometheus_ops = {
    .name = "prometheus",
    .reads_lb = false,
    .read = prom_read,
};
