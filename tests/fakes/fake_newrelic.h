/* fake_newrelic.h - an in-process fake of New Relic's NerdGraph NRQL query
 * on libmicrohttpd, for tests. New Relic cannot run here; this follows the
 * documented request and reply
 * (https://docs.newrelic.com/docs/apis/nerdgraph/examples/nerdgraph-nrql-tutorial/):
 *
 *   POST /graphql   API-Key: <user key>   Content-Type: application/json
 *   {"query": "{ actor { account(id: N) { nrql(query: \"<NRQL>\") { results } } } }"}
 *   -> 200 {"data":{"actor":{"account":{"nrql":{"results":[{...}]}}}}}
 *
 * and GraphQL's error shape ({"errors":[{"message", "locations"?, "path"?,
 * "extensions": {"errorClass"}}]}, as NerdGraph answers a bad field or a
 * bad NRQL: HTTP 200, "data" with a null nrql beside it):
 *   - no API-Key, or another key: 401 with {"errors":[{"message": ...,
 *     "extensions":{"errorClass":"UNAUTHORIZED"}}]} (the status is this
 *     fake's choice: what the client must not take for data either way);
 *   - a body that is not {"query": "..."} of that shape: 200 errors,
 *     errorClass "BAD_REQUEST";
 *   - an account other than the fake's: 200 errors, "FORBIDDEN";
 *   - an NRQL that is not a SELECT ... FROM ...: 200 errors, "NRQL Syntax
 *     Error", errorClass "INVALID_INPUT";
 *   - injected: the next n requests get a status (500, 503) with errors.
 * An NRQL the test has not given results for answers "results": [].
 * Thread-safe; every knob may be turned while it runs. */
#ifndef FAKE_NEWRELIC_H
#define FAKE_NEWRELIC_H

struct fake_newrelic;

/* Listen on an ephemeral 127.0.0.1 port for account `account` and key
 * `api_key`; NULL on failure. */
struct fake_newrelic *fake_newrelic_start(long long account, const char *api_key);
void fake_newrelic_stop(struct fake_newrelic *f);
/* "http://127.0.0.1:PORT/graphql": what newrelic_api_url holds. */
const char *fake_newrelic_url(const struct fake_newrelic *f);

/* The results array (JSON text, such as "[{\"average.duration\": 0.5}]")
 * the NRQL text `nrql` answers from now on. */
void fake_newrelic_set_results(struct fake_newrelic *f, const char *nrql, const char *results);
/* The next n requests get `status` with an errors body, and change nothing. */
void fake_newrelic_fail_next(struct fake_newrelic *f, int n, int status);

/* Requests received, and the NRQL of the last well-formed one (new, or NULL). */
int fake_newrelic_requests(struct fake_newrelic *f);
char *fake_newrelic_last_nrql(struct fake_newrelic *f);

#endif
