/* test_refresh.c - the rolling refresh's record and batch plan
 * (lib/model/refresh*.c) on an embedded datastore in a fresh directory per
 * test: batch sizes, checkpoint and node-list parsing, then whole refreshes
 * driven step by step as the asg_refresh workflow would, with node records
 * written by hand in place of node_up/node_down (the actions and a real
 * provider are tests/e2e/test_refresh_actions.c). The clock is pinned with
 * AUTOSCALE_TEST_NOW. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asg.h"
#include "build_spec.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "refresh.h"
#include "test_util.h"
#include "xalloc.h"

#define NOW 1700000000LL

struct fixture {
    char dir[64];
    char path[128];
    struct ds *ds;
    char old_id[17], new_id[17]; /* spec ids of image "img-a" and "img-b" */
};

static struct fixture *F;
static int seq; /* new nodes made so far: new-<seq> */

static void must(int rc, const struct as_error *err, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %s: %s", what, err->code, err->message);
}

static void put(const char *key, const char *value)
{
    struct as_error err = {0};
    must(ds_put(F->ds, key, value, 0, &err), &err, key);
}

static char *get(const char *key)
{
    struct as_error err = {0};
    char *v = NULL;
    int rc = ds_get(F->ds, key, &v, &err);
    must(rc, &err, key);
    return rc == DS_ABSENT ? NULL : v;
}

static void define_group(const char *image)
{
    struct group g;
    struct as_error err = {0};
    group_init(&g, "web");
    g.compute_provider = xstrdup("local");
    g.image = xstrdup(image);
    g.min = 1;
    must(asg_save_spec(F->ds, &g, &err), &err, "save spec");
    group_clear(&g);
}

static void spec_id_of_image(const char *image, char out[17])
{
    struct group g;
    group_init(&g, "web");
    g.compute_provider = xstrdup("local");
    g.image = xstrdup(image);
    build_spec_id(&g, out);
    group_clear(&g);
}

static void put_node(const char *name, const char *state, long long created,
                     const char *spec_id)
{
    char key[KEY_MAX], value[512];
    snprintf(value, sizeof value,
             "{\"name\":\"%s\",\"group\":\"web\",\"state\":\"%s\",\"provider\":\"local\","
             "\"created_at\":%lld%s%s%s}",
             name, state, created, spec_id ? ",\"spec_id\":\"" : "", spec_id ? spec_id : "",
             spec_id ? "\"" : "");
    put(key_node(key, "web", name), value);
}

static void del_node(const char *name)
{
    char key[KEY_MAX];
    struct as_error err = {0};
    must(ds_del(F->ds, key_node(key, "web", name), &err), &err, "del node");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_refresh"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    struct as_error err = {0};
    f->ds = ds_open_embedded(f->path, &err);
    if (!f->ds)
        fail_msg("ds_open_embedded: %s: %s", err.code, err.message);
    setenv("AUTOSCALE_TEST_NOW", "1700000000", 1);
    log_set_level(LOG_ERROR);
    F = f;
    seq = 0;
    spec_id_of_image("img-a", f->old_id);
    spec_id_of_image("img-b", f->new_id);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    unsetenv("AUTOSCALE_TEST_NOW");
    test_rmtree(f->dir);
    free(f);
    F = NULL;
    return 0;
}

/* A group of n active nodes web-1..web-n, all built from image img-a. */
static void group_of(int n)
{
    char name[32];
    define_group("img-a");
    for (int i = 1; i <= n; i++) {
        snprintf(name, sizeof name, "web-%d", i);
        put_node(name, "active", NOW - 1000 + i, F->old_id);
    }
}

static struct refresh_request req(const char *image)
{
    struct refresh_request r = {
        .group = "web",
        .image = image,
        .min_healthy_percentage = 90,
        .checkpoints = "",
        .on_failure = "rollback",
        .health_timeout = 300,
    };
    return r;
}

/* refresh_start that must succeed: *out new. */
static struct json_object *start(const struct refresh_request *r)
{
    struct json_object *out = NULL;
    struct as_error err = {0};
    must(refresh_start(F->ds, r, NOW, &out, &err), &err, "refresh_start");
    return out;
}

static const char *rid(struct json_object *start_out)
{
    return jx_str(jx_obj(start_out, "refresh"), "id", "");
}

static struct json_object *step(const char *id)
{
    struct json_object *out = NULL;
    struct as_error err = {0};
    must(refresh_step(F->ds, "web", id, NOW, &out, &err), &err, "refresh_step");
    return out;
}

static struct json_object *done(const char *id, const char *lease, const char *added,
                                const char *healthy, const char *removed)
{
    struct refresh_report r = {"web", id, lease, added, healthy, removed};
    struct json_object *out = NULL;
    struct as_error err = {0};
    must(refresh_batch_done(F->ds, &r, NOW, &out, &err), &err, "refresh_batch_done");
    return out;
}

static struct json_object *record(void)
{
    struct json_object *rec = NULL;
    struct as_error err = {0};
    assert_int_equal(refresh_load(F->ds, "web", &rec, &err), 1);
    return rec;
}

static char *image_now(void)
{
    struct group g;
    struct as_error err = {0};
    must(asg_load_spec(F->ds, "web", &g, &err), &err, "load spec");
    char *img = g.image ? xstrdup(g.image) : NULL;
    group_clear(&g);
    return img;
}

/* Play the workflow's batch: bring up `add` new nodes (named new-<seq>)
 * with spec id `spec`, healthy unless `fail`, and take down `remove` when
 * all are healthy; returns refresh_batch_done's output. */
static struct json_object *play_batch(const char *id, struct json_object *st, const char *spec,
                                      bool fail)
{
    char added[512] = "", removed[512] = "", name[32];
    long long add = jx_int(st, "add", 0);
    for (long long i = 0; i < add; i++) {
        snprintf(name, sizeof name, "new-%d", ++seq);
        put_node(name, "active", NOW + seq, spec);
        snprintf(added + strlen(added), sizeof added - strlen(added), "%s%s", i ? "," : "",
                 name);
    }
    struct json_object *rm = jx_arr(st, "remove");
    for (size_t i = 0; !fail && i < json_object_array_length(rm); i++) {
        const char *n = json_object_get_string(json_object_array_get_idx(rm, i));
        del_node(n);
        snprintf(removed + strlen(removed), sizeof removed - strlen(removed), "%s%s",
                 i ? "," : "", n);
    }
    return done(id, jx_str(st, "lease_id", ""), added, fail ? "" : added, removed);
}

/* The group's scaling events, each checked to be a refresh's. */
static size_t store_count_events(void)
{
    char prefix[KEY_MAX];
    struct ds_list l = {0};
    struct as_error err = {0};
    must(ds_list(F->ds, key_event_prefix(prefix, "web"), &l, &err), &err, "events");
    for (size_t i = 0; i < l.count; i++)
        assert_non_null(strstr(l.items[i].value, "\"op\":\"refresh\""));
    size_t n = l.count;
    ds_list_clear(&l);
    return n;
}

static bool lease_free(void)
{
    struct json_object *l = NULL;
    struct as_error err = {0};
    must(lease_get(F->ds, "web", &l, &err), &err, "lease_get");
    json_object_put(l);
    return l == NULL;
}

/* ------------------------------------------------------------ pure -- */

static void test_batch_size(void **state)
{
    (void)state;
    /* pct 0: everything at once; 100: one at a time (new nodes come first). */
    assert_int_equal(refresh_batch_size(4, 0), 4);
    assert_int_equal(refresh_batch_size(4, 50), 2);
    assert_int_equal(refresh_batch_size(5, 50), 2); /* keep ceil(2.5) = 3 */
    assert_int_equal(refresh_batch_size(4, 90), 1);
    assert_int_equal(refresh_batch_size(4, 100), 1);
    assert_int_equal(refresh_batch_size(20, 90), 2);
    assert_int_equal(refresh_batch_size(10, 90), 1);
    assert_int_equal(refresh_batch_size(100, 90), 10);
    /* Small groups still move. */
    assert_int_equal(refresh_batch_size(1, 0), 1);
    assert_int_equal(refresh_batch_size(1, 90), 1);
    assert_int_equal(refresh_batch_size(2, 50), 1);
    assert_int_equal(refresh_batch_size(0, 90), 1);
    /* Out of range is clamped. */
    assert_int_equal(refresh_batch_size(4, -5), 4);
    assert_int_equal(refresh_batch_size(4, 500), 1);
}

static void test_checkpoints_parse(void **state)
{
    (void)state;
    struct json_object *a = NULL;
    struct as_error err = {0};
    assert_int_equal(refresh_parse_checkpoints("", &a, &err), 0);
    assert_int_equal(json_object_array_length(a), 0);
    json_object_put(a);
    assert_int_equal(refresh_parse_checkpoints("25,50,100", &a, &err), 0);
    assert_string_equal(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                        "[25,50,100]");
    json_object_put(a);
    const char *bad[] = {"0", "101", "50,25", "50,50", "a", "50,", ",50", "5 0", "-5",
                         "1000", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21",
                         "50;rm", "50\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        a = NULL;
        if (refresh_parse_checkpoints(bad[i], &a, &err) != -1)
            fail_msg("checkpoints '%s' accepted", bad[i]);
        assert_string_equal(err.code, "invalid_parameter");
        assert_null(a);
    }
}

static void test_nodes_parse(void **state)
{
    (void)state;
    struct json_object *a = NULL;
    struct as_error err = {0};
    assert_int_equal(refresh_parse_nodes("web-1,web-2", "added", &a, &err), 0);
    assert_int_equal(json_object_array_length(a), 2);
    json_object_put(a);
    assert_int_equal(refresh_parse_nodes("", "added", &a, &err), 0);
    assert_int_equal(json_object_array_length(a), 0);
    json_object_put(a);
    const char *bad[] = {"web-1;rm -rf", "web-1\n", "Web-1", "web-1,,web-2", "web-1,", ",x",
                         "-web", "web_1", "a.b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (refresh_parse_nodes(bad[i], "added", &a, &err) != -1)
            fail_msg("node list '%s' accepted", bad[i]);
        assert_string_equal(err.code, "invalid_node_name");
    }
    assert_int_equal(refresh_check_id("1700000000-0badcafe", &err), 0);
    assert_int_equal(refresh_check_id("1700000000-0BADCAFE", &err), -1);
    assert_int_equal(refresh_check_id("1700000000-0badcaf", &err), -1);
    assert_int_equal(refresh_check_id("-0badcafe", &err), -1);
    assert_int_equal(refresh_check_id("17;0-0badcafe", &err), -1);
}

/* ------------------------------------------------------------ start -- */

static void test_start_nothing_to_replace(void **state)
{
    (void)state;
    group_of(3);
    struct refresh_request r = req(NULL);
    struct json_object *out = start(&r);
    assert_true(jx_bool(out, "started", false));
    assert_int_equal(jx_int(out, "to_replace", -1), 0);
    assert_string_equal(jx_str(jx_obj(out, "refresh"), "state", ""), "succeeded");
    /* The next step says done, and takes no lease. */
    struct json_object *st = step(rid(out));
    assert_string_equal(jx_str(st, "do", ""), "done");
    assert_true(lease_free());
    json_object_put(st);
    json_object_put(out);
}

static void test_start_changes_image(void **state)
{
    (void)state;
    group_of(4);
    put_node("web-9", "building", NOW - 1, NULL); /* built before spec ids: differs */
    struct refresh_request r = req("img-b");
    r.min_healthy_percentage = 50;
    r.checkpoints = "50";
    struct json_object *out = start(&r), *rec = jx_obj(out, "refresh");
    char *img = image_now();
    assert_string_equal(img, "img-b");
    free(img);
    assert_string_equal(jx_str(rec, "state", ""), "running");
    assert_string_equal(jx_str(rec, "target", ""), F->new_id);
    assert_string_equal(jx_str(rec, "previous_spec_id", ""), F->old_id);
    assert_string_equal(jx_str(jx_obj(rec, "previous"), "image", ""), "img-a");
    assert_int_equal(jx_int(out, "to_replace", 0), 5);
    assert_int_equal(jx_int(rec, "batch", 0), 2); /* capacity 5, keep 3 */
    assert_int_equal(jx_int(rec, "next_checkpoint", 0), 50);
    assert_string_equal(jx_str(rec, "on_failure", ""), "rollback");
    json_object_put(out);
}

static void test_start_refusals_write_nothing(void **state)
{
    (void)state;
    char key[KEY_MAX];
    struct json_object *out = NULL;
    struct as_error err = {0};
    group_of(2);
    struct refresh_request r = req("img-b");
    struct json_object *first = start(&r);
    char *before = get(key_refresh(key, "web")), *spec = get(key_spec(key, "web"));
    /* A second start while one runs. */
    r.image = "img-c";
    assert_int_equal(refresh_start(F->ds, &r, NOW, &out, &err), -1);
    assert_string_equal(err.code, "refresh_running");
    /* Bad input of every kind. */
    struct refresh_request bad[8];
    for (int i = 0; i < 8; i++)
        bad[i] = req(NULL);
    bad[0].image = "img;rm -rf /";
    bad[1].min_healthy_percentage = 101;
    bad[2].checkpoints = "50,10";
    bad[3].on_failure = "explode";
    bad[4].health_timeout = 0;
    bad[5].batch = -1;
    bad[6].group = "Web";
    bad[7].group = "nosuch";
    for (int i = 0; i < 8; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(refresh_start(F->ds, &bad[i], NOW, &out, &err), -1);
        assert_true(err.exit == AS_EXIT_BADINPUT);
    }
    assert_string_equal(err.code, "unknown_group");
    char *after = get(key_refresh(key, "web")), *spec2 = get(key_spec(key, "web"));
    assert_string_equal(before, after);
    assert_string_equal(spec, spec2);
    free(before);
    free(after);
    free(spec);
    free(spec2);
    json_object_put(first);
}

static void test_deleting_group_refused(void **state)
{
    (void)state;
    char key[KEY_MAX];
    struct json_object *out = NULL;
    struct as_error err = {0};
    group_of(1);
    char *spec = get(key_spec(key, "web"));
    struct json_object *o = json_tokener_parse(spec);
    jx_add_str(o, "status", "deleting");
    put(key_spec(key, "web"), json_object_to_json_string(o));
    json_object_put(o);
    free(spec);
    struct refresh_request r = req("img-b");
    assert_int_equal(refresh_start(F->ds, &r, NOW, &out, &err), -1);
    assert_string_equal(err.code, "group_conflict");
    assert_null(get(key_refresh(key, "web")));
}

/* ------------------------------------------------------------- step -- */

static void test_full_refresh(void **state)
{
    (void)state;
    group_of(3);
    struct refresh_request r = req("img-b");
    r.batch = 2;
    struct json_object *out = start(&r);
    const char *id = rid(out);
    struct json_object *st = step(id);
    assert_string_equal(jx_str(st, "do", ""), "batch");
    assert_int_equal(jx_int(st, "add", 0), 2);
    /* Oldest first. */
    assert_string_equal(
        json_object_to_json_string_ext(jx_arr(st, "remove"), JSON_C_TO_STRING_PLAIN),
        "[\"web-1\",\"web-2\"]");
    assert_false(lease_free());
    /* A retried step (its answer lost) gets the same batch and lease. */
    struct json_object *again = step(id);
    assert_string_equal(jx_str(again, "lease_id", "x"), jx_str(st, "lease_id", "y"));
    assert_string_equal(json_object_to_json_string(jx_arr(again, "remove")),
                        json_object_to_json_string(jx_arr(st, "remove")));
    json_object_put(again);
    struct json_object *d = play_batch(id, st, F->new_id, false);
    assert_string_equal(jx_str(d, "do_next", ""), "continue");
    assert_int_equal(jx_int(d, "replaced", 0), 2);
    assert_true(lease_free());
    /* The batch's event is written (op refresh). */
    assert_int_equal(store_count_events(), 1);
    /* A retried batch_done answers the same and adds nothing. */
    struct json_object *d2 = done(id, jx_str(st, "lease_id", ""), "new-1,new-2", "new-1,new-2",
                                  "web-1,web-2");
    assert_string_equal(jx_str(d2, "do_next", ""), "continue");
    assert_int_equal(jx_int(d2, "replaced", 0), 2);
    assert_int_equal(store_count_events(), 1);
    json_object_put(d2);
    json_object_put(d);
    json_object_put(st);
    st = step(id);
    assert_string_equal(jx_str(st, "do", ""), "batch");
    assert_int_equal(jx_int(st, "add", 0), 1);
    d = play_batch(id, st, F->new_id, false);
    json_object_put(st);
    json_object_put(d);
    st = step(id);
    assert_string_equal(jx_str(st, "do", ""), "done");
    assert_string_equal(jx_str(st, "state", ""), "succeeded");
    assert_int_equal(jx_int(st, "replaced", 0), 3);
    assert_true(lease_free());
    json_object_put(st);
    json_object_put(out);
}

static void test_wrong_id_refused(void **state)
{
    (void)state;
    struct json_object *o = NULL;
    struct as_error err = {0};
    group_of(2);
    struct refresh_request r = req("img-b");
    struct json_object *out = start(&r);
    assert_int_equal(refresh_step(F->ds, "web", "1700000000-00000000", NOW, &o, &err), -1);
    assert_string_equal(err.code, "refresh_mismatch");
    assert_true(lease_free());
    json_object_put(out);
}

static void test_lease_held_waits(void **state)
{
    (void)state;
    char id[LEASE_ID_MAX], key[KEY_MAX];
    struct as_error err = {0};
    group_of(2);
    struct refresh_request r = req("img-b");
    struct json_object *out = start(&r);
    must(lease_take(F->ds, "web", "scale_out", 1, "test", NOW, 600, id, &err), &err, "lease");
    char *before = get(key_refresh(key, "web"));
    struct json_object *st = step(rid(out));
    assert_string_equal(jx_str(st, "do", ""), "wait");
    assert_int_equal(jx_int(st, "add", -1), 0);
    assert_int_equal(json_object_array_length(jx_arr(st, "remove")), 0);
    char *after = get(key_refresh(key, "web"));
    assert_string_equal(before, after);
    /* The other operation's lease is untouched. */
    struct json_object *l = NULL;
    must(lease_get(F->ds, "web", &l, &err), &err, "lease_get");
    assert_string_equal(jx_str(l, "id", ""), id);
    json_object_put(l);
    free(before);
    free(after);
    json_object_put(st);
    json_object_put(out);
}

static void test_checkpoints_pause_once(void **state)
{
    (void)state;
    group_of(4);
    struct refresh_request r = req("img-b");
    r.batch = 1;
    r.checkpoints = "25,50";
    struct json_object *out = start(&r);
    const char *id = rid(out);
    int pauses = 0, batches = 0;
    for (int i = 0; i < 20; i++) {
        struct json_object *st = step(id);
        const char *what = jx_str(st, "do", "");
        if (strcmp(what, "paused") == 0) {
            pauses++;
            assert_true(lease_free());
            /* Paused stays paused until resumed. */
            struct json_object *st2 = step(id);
            assert_string_equal(jx_str(st2, "do", ""), "paused");
            json_object_put(st2);
            struct refresh_request rr = req(NULL);
            struct json_object *res = start(&rr);
            assert_true(jx_bool(res, "resumed", false));
            assert_false(jx_bool(res, "started", true));
            assert_string_equal(jx_str(jx_obj(res, "refresh"), "id", ""), id);
            json_object_put(res);
        } else if (strcmp(what, "batch") == 0) {
            batches++;
            json_object_put(play_batch(id, st, F->new_id, false));
        } else {
            assert_string_equal(what, "done");
            json_object_put(st);
            break;
        }
        json_object_put(st);
    }
    assert_int_equal(pauses, 2);
    assert_int_equal(batches, 4);
    json_object_put(out);
}

static void test_failed_batch_stop(void **state)
{
    (void)state;
    group_of(3);
    struct refresh_request r = req("img-b");
    r.on_failure = "stop";
    struct json_object *out = start(&r);
    const char *id = rid(out);
    struct json_object *st = step(id);
    struct json_object *d = play_batch(id, st, F->new_id, true);
    assert_string_equal(jx_str(d, "do_next", ""), "stop");
    assert_string_equal(jx_str(d, "state", ""), "failed");
    assert_true(lease_free());
    struct json_object *rec = record();
    assert_int_equal(json_object_array_length(jx_arr(rec, "failed_nodes")), 1);
    /* The spec stays as the refresh set it; the old nodes are all there. */
    char *img = image_now();
    assert_string_equal(img, "img-b");
    free(img);
    json_object_put(st);
    st = step(id);
    assert_string_equal(jx_str(st, "do", ""), "failed");
    json_object_put(st);
    json_object_put(rec);
    json_object_put(d);
    json_object_put(out);
}

static void test_failed_batch_rollback(void **state)
{
    (void)state;
    group_of(3);
    struct refresh_request r = req("img-b");
    r.batch = 1;
    struct json_object *out = start(&r);
    const char *id = rid(out);
    /* One good batch: new-1 replaces web-1. */
    struct json_object *st = step(id);
    json_object_put(play_batch(id, st, F->new_id, false));
    json_object_put(st);
    /* The second batch fails: new-2 is not healthy. */
    st = step(id);
    struct json_object *d = play_batch(id, st, F->new_id, true);
    assert_string_equal(jx_str(d, "do_next", ""), "rollback");
    assert_string_equal(jx_str(d, "state", ""), "rolling_back");
    assert_true(lease_free());
    char *img = image_now();
    assert_string_equal(img, "img-a");
    free(img);
    struct json_object *rec = record();
    assert_string_equal(jx_str(rec, "target", ""), F->old_id);
    /* new-2 is taken down by the workflow; new-1 is what is left to undo. */
    assert_int_equal(jx_int(rec, "to_replace", 0), 1);
    json_object_put(rec);
    json_object_put(st);
    json_object_put(d);
    del_node("new-2");
    st = step(id);
    assert_string_equal(jx_str(st, "do", ""), "batch");
    assert_string_equal(
        json_object_to_json_string_ext(jx_arr(st, "remove"), JSON_C_TO_STRING_PLAIN),
        "[\"new-1\"]");
    d = play_batch(id, st, F->old_id, false);
    assert_string_equal(jx_str(d, "do_next", ""), "continue");
    json_object_put(st);
    json_object_put(d);
    st = step(id);
    assert_string_equal(jx_str(st, "do", ""), "done");
    assert_string_equal(jx_str(st, "state", ""), "rolled_back");
    json_object_put(st);
    json_object_put(out);
}

static void test_cancel(void **state)
{
    (void)state;
    group_of(2);
    struct refresh_request r = req("img-b");
    struct json_object *out = start(&r);
    char id[REFRESH_ID_MAX];
    snprintf(id, sizeof id, "%s", rid(out));
    struct refresh_request c = req(NULL);
    c.cancel = true;
    struct json_object *co = start(&c);
    assert_true(jx_bool(co, "cancelled", false));
    assert_string_equal(jx_str(jx_obj(co, "refresh"), "state", ""), "cancelled");
    assert_true(lease_free());
    struct json_object *st = step(id);
    assert_string_equal(jx_str(st, "do", ""), "failed");
    json_object_put(st);
    /* A second cancel finds nothing to cancel; a new start is allowed. */
    struct json_object *co2 = start(&c);
    assert_false(jx_bool(co2, "cancelled", true));
    struct json_object *again = start(&r);
    assert_true(jx_bool(again, "started", false));
    json_object_put(again);
    json_object_put(co2);
    json_object_put(co);
    json_object_put(out);
}

static void test_spec_changed_midway_fails(void **state)
{
    (void)state;
    group_of(2);
    struct refresh_request r = req("img-b");
    struct json_object *out = start(&r);
    define_group("img-z"); /* someone else changes the image */
    struct json_object *st = step(rid(out));
    assert_string_equal(jx_str(st, "do", ""), "failed");
    assert_true(lease_free());
    json_object_put(st);
    json_object_put(out);
}

/* A paused refresh is resumed only as it was: another image is refused. */
static void test_paused_refuses_other_spec(void **state)
{
    (void)state;
    struct json_object *o = NULL;
    struct as_error err = {0};
    group_of(4);
    struct refresh_request r = req("img-b");
    r.batch = 2;
    r.checkpoints = "50";
    struct json_object *out = start(&r);
    const char *id = rid(out);
    struct json_object *st = step(id);
    json_object_put(play_batch(id, st, F->new_id, false));
    json_object_put(st);
    st = step(id);
    assert_string_equal(jx_str(st, "do", ""), "paused");
    json_object_put(st);
    r.image = "img-c";
    assert_int_equal(refresh_start(F->ds, &r, NOW, &o, &err), -1);
    assert_string_equal(err.code, "refresh_running");
    r.image = "img-b"; /* the same spec again: resumes */
    o = start(&r);
    assert_true(jx_bool(o, "resumed", false));
    json_object_put(o);
    json_object_put(out);
}

/* A refresh that changed nothing itself, of nodes that recorded no
 * built_from, has nothing to roll back to: a failure stops it. */
static void test_rollback_without_previous_stops(void **state)
{
    (void)state;
    group_of(2);
    define_group("img-b"); /* the spec moved on before the refresh */
    struct refresh_request r = req(NULL);
    struct json_object *out = start(&r);
    assert_int_equal(jx_int(out, "to_replace", 0), 2);
    assert_null(jx_obj(jx_obj(out, "refresh"), "previous"));
    const char *id = rid(out);
    struct json_object *st = step(id);
    struct json_object *d = play_batch(id, st, F->new_id, true);
    assert_string_equal(jx_str(d, "do_next", ""), "stop");
    assert_string_equal(jx_str(d, "state", ""), "failed");
    char *img = image_now();
    assert_string_equal(img, "img-b");
    free(img);
    assert_true(lease_free());
    json_object_put(d);
    json_object_put(st);
    json_object_put(out);
}

/* batch_done with a lease that is not the batch in flight changes nothing. */
static void test_batch_done_other_lease_refused(void **state)
{
    (void)state;
    char key[KEY_MAX];
    struct json_object *o = NULL;
    struct as_error err = {0};
    group_of(2);
    struct refresh_request r = req("img-b");
    struct json_object *out = start(&r);
    struct json_object *st = step(rid(out));
    char *before = get(key_refresh(key, "web"));
    struct refresh_report rep = {"web", rid(out), "001700000000-refresh-00000000", "", "", ""};
    assert_int_equal(refresh_batch_done(F->ds, &rep, NOW, &o, &err), -1);
    assert_string_equal(err.code, "lease_mismatch");
    rep.lease_id = "001700000000-scale_out-00000000";
    assert_int_equal(refresh_batch_done(F->ds, &rep, NOW, &o, &err), -1);
    assert_string_equal(err.code, "invalid_parameter");
    char *after = get(key_refresh(key, "web"));
    assert_string_equal(before, after);
    assert_false(lease_free()); /* the batch's lease stays */
    free(before);
    free(after);
    json_object_put(st);
    json_object_put(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_size),
        cmocka_unit_test(test_checkpoints_parse),
        cmocka_unit_test(test_nodes_parse),
        cmocka_unit_test_setup_teardown(test_start_nothing_to_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_changes_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refusals_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleting_group_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_id_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_held_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_pause_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_batch_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_batch_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_changed_midway_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paused_refuses_other_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_without_previous_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_done_other_lease_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
