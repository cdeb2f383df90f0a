/* test_node.c - lib/model/node.c's reader of a group's node records
 * (node_records_load) on an embedded datastore in a fresh directory per
 * test: every key under the group's prefix is an entry, in key order, with
 * its state; an unreadable record is an entry without a record, a leaf that
 * is no node name an entry marked so; another group's records and a store
 * that cannot be read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "test_util.h"

struct fixture {
    char dir[64], path[128];
    struct ds *ds;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(test_tmpdir(f->dir, sizeof f->dir, "test_node"), 0);
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    struct as_error err = {0};
    f->ds = ds_open_embedded(f->path, &err);
    if (!f->ds)
        fail_msg("ds_open_embedded: %s: %s", err.code, err.message);
    log_set_level(LOG_ERROR);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

/* The record of node under group, written under the key as given: the
 * leaf is not checked, so a test can store what a hand edit could. */
static void put_node(struct ds *ds, const char *group, const char *leaf, const char *value)
{
    char key[KEY_MAX];
    struct as_error err = {0};
    snprintf(key, sizeof key, "autoscale.node.%s.%s", group, leaf);
    if (ds_put(ds, key, value, 0, &err) != 0)
        fail_msg("put %s: %s", key, err.message);
}

static void put_state(struct ds *ds, const char *group, const char *leaf, const char *state)
{
    char value[256];
    snprintf(value, sizeof value, "{\"name\":\"%s\",\"group\":\"%s\",\"state\":\"%s\"}", leaf,
             group, state);
    put_node(ds, group, leaf, value);
}

static const struct node_entry *entry(const struct node_records *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->items[i].name, name) == 0)
            return &r->items[i];
    fail_msg("no entry %s", name);
    return NULL;
}

static void load(struct fixture *f, const char *group, struct node_records *r)
{
    struct as_error err = {0};
    if (node_records_load(f->ds, group, r, &err) != 0)
        fail_msg("node_records_load: %s: %s", err.code, err.message);
}

static void test_empty_group(void **state)
{
    struct fixture *f = *state;
    struct node_records r;
    memset(&r, 0xff, sizeof r); /* filled even when there is nothing */
    load(f, "web", &r);
    assert_int_equal(r.count, 0);
    assert_int_equal(node_records_capacity(&r), 0);
    node_records_clear(&r);
    assert_null(r.items);
    node_records_clear(&r); /* cleared twice: still fine */
}

/* Each state as stored; capacity is building and active only. */
static void test_states(void **state)
{
    struct fixture *f = *state;
    static const char *const names[] = {"building", "active", "draining", "failed",
                                        "deleting", "warming", "warm"};
    char leaf[32];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(leaf, sizeof leaf, "n%zu", i);
        put_state(f->ds, "web", leaf, names[i]);
    }
    put_state(f->ds, "web", "odd", "sleeping");
    put_node(f->ds, "web", "nostate", "{\"name\":\"nostate\"}");
    struct node_records r;
    load(f, "web", &r);
    assert_int_equal(r.count, 9);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(leaf, sizeof leaf, "n%zu", i);
        const struct node_entry *e = entry(&r, leaf);
        assert_true(node_entry_ok(e));
        assert_int_equal(e->state, node_state_parse(names[i]));
        assert_string_equal(jx_str(e->rec, "state", ""), names[i]);
    }
    assert_int_equal(entry(&r, "odd")->state, NODE_UNKNOWN);
    assert_non_null(entry(&r, "odd")->rec);
    assert_int_equal(entry(&r, "nostate")->state, NODE_UNKNOWN);
    assert_int_equal(node_records_capacity(&r), 2);
    node_records_clear(&r);
    assert_int_equal(r.count, 0);
}

/* Key order, and the group's own records only: "web" is a prefix of
 * "web2" as a string, never as a group. */
static void test_order_and_other_groups(void **state)
{
    struct fixture *f = *state;
    put_state(f->ds, "web", "c", "active");
    put_state(f->ds, "web", "a", "active");
    put_state(f->ds, "web", "b", "building");
    put_state(f->ds, "web2", "x", "active");
    put_state(f->ds, "api", "y", "active");
    struct node_records r;
    load(f, "web", &r);
    assert_int_equal(r.count, 3);
    assert_string_equal(r.items[0].name, "a");
    assert_string_equal(r.items[1].name, "b");
    assert_string_equal(r.items[2].name, "c");
    assert_int_equal(node_records_capacity(&r), 3);
    node_records_clear(&r);
    load(f, "web2", &r);
    assert_int_equal(r.count, 1);
    assert_string_equal(r.items[0].name, "x");
    node_records_clear(&r);
}

/* Not a JSON object: still an entry (its name is a node's), without a
 * record, never capacity, whatever its text seems to say. */
static void test_unreadable_record(void **state)
{
    struct fixture *f = *state;
    put_node(f->ds, "web", "trunc", "{\"state\":\"active\"");
    put_node(f->ds, "web", "array", "[{\"state\":\"active\"}]");
    put_node(f->ds, "web", "text", "active");
    put_node(f->ds, "web", "empty", "");
    put_state(f->ds, "web", "good", "active");
    struct node_records r;
    load(f, "web", &r);
    assert_int_equal(r.count, 5);
    static const char *const bad[] = {"trunc", "array", "text", "empty"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const struct node_entry *e = entry(&r, bad[i]);
        assert_true(e->name_ok);
        assert_null(e->rec);
        assert_int_equal(e->state, NODE_UNKNOWN);
        assert_false(node_entry_ok(e));
    }
    assert_true(node_entry_ok(entry(&r, "good")));
    assert_int_equal(node_records_capacity(&r), 1);
    node_records_clear(&r);
}

/* A leaf that is no node name (node_check_name: a DNS label, lowercase):
 * an entry with its record, marked, so a caller can skip or report it. */
static void test_bad_leaf_name(void **state)
{
    struct fixture *f = *state;
    put_state(f->ds, "web", "Upper", "active");
    put_state(f->ds, "web", "under_score", "active");
    put_state(f->ds, "web", "-dash", "building");
    put_node(f->ds, "web", "Worse", "not json");
    put_state(f->ds, "web", "fine-1", "active");
    struct node_records r;
    load(f, "web", &r);
    assert_int_equal(r.count, 5);
    static const char *const bad[] = {"Upper", "under_score", "-dash"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const struct node_entry *e = entry(&r, bad[i]);
        assert_false(e->name_ok);
        assert_non_null(e->rec);
        assert_false(node_entry_ok(e));
    }
    assert_int_equal(entry(&r, "Upper")->state, NODE_ACTIVE);
    assert_int_equal(entry(&r, "-dash")->state, NODE_BUILDING);
    assert_false(entry(&r, "Worse")->name_ok);
    assert_null(entry(&r, "Worse")->rec);
    assert_true(entry(&r, "fine-1")->name_ok);
    assert_true(node_entry_ok(entry(&r, "fine-1")));
    /* Capacity is the records' states, whatever the keys' names. */
    assert_int_equal(node_records_capacity(&r), 4);
    node_records_clear(&r);
}

/* A record a caller keeps outlives the set once it takes a reference. */
static void test_record_kept_past_clear(void **state)
{
    struct fixture *f = *state;
    put_state(f->ds, "web", "a", "warm");
    struct node_records r;
    load(f, "web", &r);
    struct json_object *kept = json_object_get(r.items[0].rec);
    node_records_clear(&r);
    assert_string_equal(jx_str(kept, "state", ""), "warm");
    json_object_put(kept);
}

/* A store that cannot be listed: -1 with its error and nothing to free. */
static void test_store_failure(void **state)
{
    (void)state;
    struct as_error err = {0};
    struct ds_st2_config cfg = {.base_url = "http://127.0.0.1:1/v1"};
    struct ds *ds = ds_open_st2(&cfg, &err);
    if (!ds)
        fail_msg("ds_open_st2: %s: %s", err.code, err.message);
    struct node_records r;
    memset(&r, 0xff, sizeof r);
    assert_int_equal(node_records_load(ds, "web", &r, &err), -1);
    assert_true(err.code[0] != '\0');
    assert_int_equal(r.count, 0);
    assert_null(r.items);
    ds_close(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_and_other_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_leaf_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_kept_past_clear, setup, teardown),
        cmocka_unit_test(test_store_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
