/* fuzz_records.c - libFuzzer target for the stored records: group specs
 * (group_from_json, lib/model/group.c; asg_load_spec and the state loaders,
 * lib/model/asg.c), node records (lib/model/node.c, node_record_load in lib/compute/nodes.c),
 * incidents (lib/model/incident.c), leases and scaling events (lib/store/lease.c), and
 * what the governor and the alert router make of them.
 *
 * A record is whatever text a datastore key holds: anyone who can write
 * st2's datastore can put anything there. The input is a list of records
 * separated by "\n--\n"; each starts with one letter choosing its key:
 *   S the spec of group "web", N a node of "web" (web-0, web-1, ...),
 *   I an incident of "web" (the first under the key the test event uses),
 *   E a scaling event, L the lease of "web", s/n/i/e/l the same for "api",
 *   anything else is skipped.
 * Every operation that reads these records then runs on the store in turn.
 * Invariants: nothing crashes, leaks or trips UBSan; every failure is a clean
 * error; what succeeds serialises to JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "alert_route.h"
#include "asg.h"
#include "fuzz_common.h"
#include "governor.h"
#include "incident.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "nodes.h"
#include "secret.h"
#include "utf8.h"

#define MAX_RECORDS 48
#define NOW 1700000000LL

static void ok_or_error(int rc, const struct as_error *err, struct json_object **out)
{
    if (rc < 0) {
        fz_check_error(err);
        return;
    }
    if (out) {
        fz_check(*out != NULL, "success has a result");
        const char *s = json_object_to_json_string_ext(*out, JSON_C_TO_STRING_PLAIN);
        fz_check(s && utf8_valid(s, strlen(s)), "a result serialises to UTF-8 JSON");
        json_object_put(*out);
        *out = NULL;
    }
}

static void test_event(struct alert_event *e, char **names, enum alert_state state)
{
    memset(e, 0, sizeof *e);
    e->source = "generic";
    snprintf(e->group, sizeof e->group, "web");
    snprintf(e->id, sizeof e->id, "inc-1");
    snprintf(e->title, sizeof e->title, "p95 latency");
    e->state = state;
    e->severity = ALERT_CRITICAL;
    e->at = NOW - 10;
    names[0] = "Web latency";
    names[1] = NULL;
    e->names = names;
}

static void load_records(struct ds *ds, const struct fz_piece *p, size_t n)
{
    int counts[128] = {0};
    char key[KEY_MAX], ikey[ALERT_KEY_MAX];
    struct alert_event e;
    char *names[2];

    test_event(&e, names, ALERT_OPEN);
    alert_key_id(&e, ikey, sizeof ikey);
    for (size_t i = 0; i < n; i++) {
        unsigned char kind = (unsigned char)p[i].s[0];
        if (!kind || kind >= 128)
            continue;
        const char *v = p[i].s + 1;
        size_t len = p[i].len - 1;
        const char *g = kind >= 'a' ? "api" : "web";
        int k = counts[kind]++;
        char leaf[64];
        switch (kind | 0x20) {
        case 's':
            key_spec(key, g);
            break;
        case 'n':
            snprintf(leaf, sizeof leaf, "%s-%d", g, k);
            key_node(key, g, leaf);
            break;
        case 'i':
            if (k == 0)
                snprintf(leaf, sizeof leaf, "%s", ikey);
            else
                snprintf(leaf, sizeof leaf, "inc%d", k);
            key_incident(key, g, leaf);
            break;
        case 'e':
            snprintf(leaf, sizeof leaf, "scale_out-%08x", (unsigned)k);
            key_event(key, g, NOW - 1000 + k, leaf);
            break;
        case 'l':
            key_lease(key, g);
            break;
        default:
            continue;
        }
        fz_memds_set(ds, key, v, len);
    }
}

static void run_ops(struct ds *ds)
{
    struct as_error err;
    struct json_object *out = NULL;
    struct asg_state st;

    as_error_clear(&err);
    if (asg_state_load(ds, "web", &st, &err) == 0) {
        struct gov_input in;
        struct gov_decision d;
        governor_input_from_state(&st, NOW, &in);
        governor_decide(&in, &d);
        fz_check(d.action == GOV_NONE      ? d.count == 0 && d.remove == 0
                 : d.action == GOV_REPLACE ? d.count + d.remove > 0
                                           : d.count > 0,
                 "decision count");
        fz_check(fz_clean(d.reason, sizeof d.reason), "decision reason clean");
        json_object_put(asg_state_counts(&st));
        (void)asg_state_in_alert(&st);
        asg_state_clear(&st);
    } else {
        fz_check_error(&err);
    }

    struct asg_state *all = NULL;
    size_t n = 0;
    as_error_clear(&err);
    if (asg_state_load_all(ds, &all, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            struct gov_input in;
            struct gov_decision d;
            governor_input_from_state(&all[i], NOW, &in);
            governor_decide(&in, &d);
        }
        asg_state_free_all(all, n);
    } else {
        fz_check_error(&err);
    }

    as_error_clear(&err);
    ok_or_error(asg_status(ds, "web", 5, &out, &err), &err, &out);
    as_error_clear(&err);
    ok_or_error(asg_list(ds, &out, &err), &err, &out);

    as_error_clear(&err);
    int rc = node_record_load(ds, "web", "web-0", &out, &err);
    if (rc < 0)
        fz_check_error(&err);
    json_object_put(out);
    out = NULL;

    /* The alert path: route an event, then apply it to its incident. */
    struct alert_router r;
    const struct group *to[4];
    size_t nto = 0;
    struct alert_event e;
    char *names[2];
    test_event(&e, names, ALERT_OPEN);
    alert_router_init(&r, ds);
    as_error_clear(&err);
    if (alert_route(&r, NULL, &e, to, 4, &nto, &err) < 0)
        fz_check_error(&err);
    alert_router_clear(&r);
    for (int s = 0; s < 2; s++) {
        enum incident_change change;
        test_event(&e, names, s ? ALERT_CLOSED : ALERT_OPEN);
        as_error_clear(&err);
        ok_or_error(incident_apply(ds, "web", &e, NOW, 21600, &change, &out, &err), &err,
                    &out);
        json_object_put(out);
        out = NULL;
    }

    /* The lease the store holds, released by its own id when it has one. */
    char *lease = NULL, key[KEY_MAX];
    const char *id = "001699999000-scale_out-0000abcd";
    char idbuf[LEASE_ID_MAX];
    struct json_object *lo = NULL;
    if (ds_get(ds, key_lease(key, "web"), &lease, &err) == 0) {
        lo = jx_parse_record(lease);
        const char *held = jx_str(lo, "id", NULL);
        if (held && strlen(held) < sizeof idbuf) {
            snprintf(idbuf, sizeof idbuf, "%s", held);
            id = idbuf;
        }
        free(lease);
    }
    json_object_put(lo);
    as_error_clear(&err);
    ok_or_error(scaling_record(ds, "web", id, 2, 1, 1, NOW, &out, &err), &err, &out);
    as_error_clear(&err);
    ok_or_error(lease_release(ds, "api", NULL, &out, &err), &err, &out);
    as_error_clear(&err);
    ok_or_error(asg_retire(ds, "web", &out, &err), &err, &out);
    as_error_clear(&err);
    ok_or_error(asg_forget(ds, "api", false, &out, &err), &err, &out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_level(LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_piece p[MAX_RECORDS];
    if (size > 1 << 20)
        return 0;
    size_t n = fz_split(data, size, "\n--\n", p, MAX_RECORDS);
    struct ds *ds = fz_memds_new();
    load_records(ds, p, n);
    run_ops(ds);
    ds_close(ds);
    fz_pieces_free(p, n);
    secret_clear();
    return 0;
}
