/* metric_newrelic.c - New Relic NRQL through NerdGraph, its GraphQL API
 * (https://docs.newrelic.com/docs/apis/nerdgraph/examples/nerdgraph-nrql-tutorial/):
 *   POST {newrelic_api_url}   API-Key: <user key>
 *   {"query": "{ actor { account(id: N) { nrql(query: \"<NRQL>\") { results } } } }"}
 * answering {"data":{"actor":{"account":{"nrql":{"results":[{"<fn>": v}]}}}}}.
 *
 * The value is the first numeric field of the first result (NRQL names it
 * after the function: "average.duration", "count"). GraphQL reports a
 * refused query with HTTP 200 and an "errors" array (a syntax error in the
 * NRQL, an account the key cannot read): that is never a value, even with
 * "data" beside it. 401/403 are the key's fault, 5xx and 429 New Relic's;
 * no result, or a first result without a number (null: no data in the
 * window), is metric_no_data.
 *
 * The key is a credential: registered for scrubbing before it is used,
 * sent only in the header (http.c never logs headers), and wiped with it. */
#include "metric_int.h"

#include "http.h"
#include "jsonx.h"
#include "secret.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The query as a GraphQL string literal's body: the NRQL has no control
 * characters (metric_query_expand), so '\\' and '"' are all to escape. */
static char *graphql_escape(const char *s)
{
    char *out = xmalloc(2 * strlen(s) + 1), *o = out;
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            *o++ = '\\';
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

static struct json_object *request_body(long long account, const char *nrql)
{
    char *esc = graphql_escape(nrql);
    char *q = xasprintf("{ actor { account(id: %lld) { nrql(query: \"%s\") { results } } } }",
                        account, esc);
    struct json_object *body = jx_new_object();
    jx_add_str(body, "query", q);
    free(esc);
    free(q);
    return body;
}

/* The first message of an "errors" array, bounded. */
static const char *first_error(struct json_object *errors)
{
    struct json_object *e = json_object_array_get_idx(errors, 0);
    return jx_str(e, "message", "(no message)");
}

static int nr_status_error(const struct http_response *r, struct json_object *doc,
                           struct as_error *err)
{
    struct json_object *errors = jx_arr(doc, "errors");
    char *text = errors ? NULL : http_error_text(r);
    const char *why = errors ? first_error(errors) : text;
    int rc;
    if (r->status == 401 || r->status == 403)
        rc = as_fail(err, AS_EXIT_FAILURE, "metric_unauthorized",
                     "newrelic refused the API key (%ld): %.200s", r->status, why);
    else if (r->status == 429 || r->status >= 500)
        rc = as_fail(err, AS_EXIT_FAILURE, "metric_unavailable",
                     "newrelic could not answer (%ld): %.200s", r->status, why);
    else
        rc = as_fail(err, AS_EXIT_BADINPUT, "metric_rejected",
                     "newrelic refused the request (%ld): %.200s", r->status, why);
    free(text);
    return rc;
}

/* The first numeric field of the first result. */
static int nr_value(struct json_object *doc, double *value, struct as_error *err)
{
    struct json_object *nrql =
        jx_obj(jx_obj(jx_obj(jx_obj(doc, "data"), "actor"), "account"), "nrql");
    struct json_object *results = jx_arr(nrql, "results");
    if (!nrql || !results)
        return as_fail(err, AS_EXIT_FAILURE, "metric_bad_reply",
                       "newrelic: the reply has no data.actor.account.nrql.results");
    struct json_object *first = json_object_array_get_idx(results, 0);
    if (!first)
        return as_fail(err, AS_EXIT_FAILURE, "metric_no_data",
                       "newrelic: the query returned no result");
    if (json_object_is_type(first, json_type_object)) {
        json_object_object_foreach(first, k, v)
        {
            (void)k;
            if (!json_object_is_type(v, json_type_int) &&
                !json_object_is_type(v, json_type_double))
                continue;
            double d = json_object_get_double(v);
            if (!isfinite(d))
                return as_fail(err, AS_EXIT_FAILURE, "metric_not_a_number",
                               "newrelic: the result is not a finite number");
            *value = d;
            return 0;
        }
    }
    return as_fail(err, AS_EXIT_FAILURE, "metric_no_data",
                   "newrelic: the first result has no number (no data in the window?)");
}

static int nr_check(const struct metric_params *p, struct as_error *err)
{
    const char *why = p->newrelic_api_url ? http_url_problem(p->newrelic_api_url)
                                          : "is required";
    if (why)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "newrelic: setting 'newrelic_api_url': %s", why);
    if (p->newrelic_account_id == PARAM_ABSENT || p->newrelic_account_id <= 0)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "newrelic: setting 'newrelic_account_id' is required (a positive "
                       "account id)");
    if (!p->newrelic_api_key || !*p->newrelic_api_key)
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "newrelic: setting 'newrelic_api_key' is required (a user key)");
    if (!http_header_value_ok(p->newrelic_api_key))
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "newrelic: setting 'newrelic_api_key' has a character a header "
                       "cannot carry");
    return 0;
}

static int nr_read(const struct metric_params *p, const struct metric_request *req,
                   double *value, struct as_error *err)
{
    if (nr_check(p, err) < 0)
        return -1;
    secret_register(p->newrelic_api_key);
    struct http_options o;
    http_options_default(&o);
    o.max_attempts = 1; /* the collector's next run is the retry */
    o.timeout_ms = o.budget_ms = METRIC_HTTP_TIMEOUT_MS;
    o.ca_bundle = p->ca_bundle;
    struct http_client *c = http_client_new(&o, err);
    if (!c)
        return -1;
    char *auth = xasprintf("API-Key: %s", p->newrelic_api_key);
    const char *headers[] = {auth, NULL};
    struct json_object *body = request_body(p->newrelic_account_id, req->query), *doc = NULL;
    struct http_response r;
    memset(&r, 0, sizeof r);
    int rc = http_json(c, "POST", p->newrelic_api_url, headers, body, &r, &doc, err);
    secret_free(auth);
    json_object_put(body);
    http_client_free(c);
    if (rc < 0) {
        if (as_error_is(err, "http_bad_json"))
            as_error_recode(err, "metric_bad_reply");
        else if (!as_error_is(err, "interrupted") && !as_error_is(err, "http_bad_ca_bundle"))
            as_error_recode(err, "metric_unavailable");
        return -1;
    }
    struct json_object *errors = jx_arr(doc, "errors");
    if (r.status < 200 || r.status > 299)
        rc = nr_status_error(&r, doc, err);
    else if (errors && json_object_array_length(errors) > 0)
        rc = as_fail(err, AS_EXIT_BADINPUT, "metric_rejected",
                     "newrelic refused the query: %.300s", first_error(errors));
    else
        rc = nr_value(doc, value, err);
    json_object_put(doc);
    http_response_clear(&r);
    return rc;
}

const struct metric_ops metric_newrelic_ops = {
    .name = "newrelic",
    .reads_lb = false,
    .read = nr_read,
};
