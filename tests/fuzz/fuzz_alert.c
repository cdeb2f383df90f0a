/* fuzz_alert.c - libFuzzer target for alert_normalise (lib/alert/alert.c).
 *
 * Each input is tried two ways, as st2 can hand it over: parsed as JSON (an
 * object, or anything else json-c accepts), and as a JSON string holding
 * the raw bytes (a body st2 did not parse). Each is normalised with every
 * source hint. A broken invariant aborts, so libFuzzer reports it:
 *   0  => n >= 1, every string valid UTF-8 without control characters,
 *         state and severity in range, alert_key_id datastore-safe;
 *  -1 => no events, an error code and a clean one-line message.
 * Built and run by tests/fuzz/run.sh. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "fuzz_common.h"
#include "jsonx.h"
#include "log.h"

static const char *const hints[] = {
    NULL,         "newrelic", "newrelic_legacy", "newrelic_channel", "newrelic_workflow",
    "alertmanager", "generic", "bogus",
};

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_alert: invariant broken: %s\n", what);
        abort();
    }
}


static void check_event(const struct alert_event *e)
{
    char key[ALERT_KEY_MAX];
    size_t names = 0;

    check(e->source != NULL, "source set");
    check(e->state == ALERT_OPEN || e->state == ALERT_CLOSED || e->state == ALERT_IGNORE,
          "state in range");
    check(e->severity == ALERT_CRITICAL || e->severity == ALERT_WARNING,
          "severity in range");
    check(fz_clean(e->group, sizeof e->group), "group clean");
    check(fz_clean(e->id, sizeof e->id), "id clean");
    check(fz_clean(e->title, sizeof e->title), "title clean");
    check(fz_clean(e->why, sizeof e->why), "why clean");
    check(e->state != ALERT_IGNORE || e->why[0], "ignore has a why");
    check(e->names != NULL, "names set");
    for (char **p = e->names; *p; p++, names++)
        check(**p && fz_clean(*p, ALERT_NAME_MAX), "name clean");
    check(names <= ALERT_NAMES_MAX, "names bounded");

    alert_key_id(e, key, sizeof key);
    size_t len = strnlen(key, sizeof key);
    check(len > 3 && len < sizeof key, "key length");
    check(strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
              len,
          "key safe");
}

static void run(struct json_object *body, const char *hint)
{
    struct alert_event *ev = NULL;
    size_t n = 0;
    struct as_error err;

    memset(&err, 0, sizeof err);
    int rc = alert_normalise(body, hint, &ev, &n, &err);
    if (rc == 0) {
        check(n >= 1 && ev != NULL, "success has events");
        for (size_t i = 0; i < n; i++)
            check_event(&ev[i]);
        check(!hint || strcmp(hint, "bogus") != 0, "unknown hint refused");
    } else {
        check(rc == -1, "rc is 0 or -1");
        check(ev == NULL && n == 0, "failure has no events");
        check(err.code[0] != '\0', "failure has a code");
        check(fz_clean(err.message, sizeof err.message), "message clean");
        check(err.exit != AS_EXIT_OK, "failure has an exit class");
    }
    alert_events_free(ev, n);
}

static void run_all(struct json_object *body)
{
    for (size_t i = 0; i < sizeof hints / sizeof *hints; i++)
        run(body, hints[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR); /* the capped-alerts warning would flood */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;

    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return 0;
    struct json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    if (json_tokener_get_error(tok) == json_tokener_success)
        run_all(o); /* o may be NULL: a JSON null */
    json_object_put(o);
    json_tokener_free(tok);

    struct json_object *s = json_object_new_string_len((const char *)data, (int)size);
    if (s)
        run_all(s);
    json_object_put(s);
    return 0;
}
