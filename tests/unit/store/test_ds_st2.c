/* test_ds_st2.c - the st2 datastore backend (lib/store/ds_st2.c) against the
 * in-process fake of st2's key-value API (tests/fakes/fake_st2.c), plus a
 * scripted server (tests/support/test_httpd.c) for replies no st2 would send.
 *
 * Operations go through the datastore.h dispatchers except where a test
 * needs a key name the dispatcher refuses (non-ASCII). No test depends on
 * timing: TTLs move the fake's clock, retries count requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore.h"
#include "ds_int.h" /* the backends' operations, called directly */
#include "fake_st2.h"
#include "log.h"
#include "secret.h"
#include "test_httpd.h"

#define TOKEN "tok-5ecret-0123456789abcdef"
#define API_KEY "key-5ecret-fedcba9876543210"

struct fixture {
    struct fake_st2 *fake;
    struct ds *ds;
};

static struct ds *open_ds(const char *url, const char *token, const char *api_key,
                          int page_size)
{
    struct ds_st2_config cfg = {
        .base_url = url, .auth_token = token, .api_key = api_key, .page_size = page_size,
    };
    struct as_error err = {0};
    struct ds *ds = ds_open_st2(&cfg, &err);
    if (!ds)
        fail_msg("ds_open_st2: %s: %s", err.code, err.message);
    return ds;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fake = fake_st2_start(TOKEN, NULL);
    assert_non_null(f->fake);
    f->ds = open_ds(fake_st2_url(f->fake), TOKEN, NULL, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ds_close(f->ds);
    fake_st2_stop(f->fake);
    free(f);
    secret_clear();
    return 0;
}

static struct fake_st2_stats stats(struct fake_st2 *fake)
{
    struct fake_st2_stats s;
    fake_st2_stats(fake, &s);
    return s;
}

/* Compare a malloc'd string from the fake and free it. */
static void assert_owned_str(char *got, const char *want)
{
    if (!want) {
        if (got)
            fail_msg("expected nothing, got \"%s\"", got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void put_ok(struct ds *ds, const char *key, const char *value, long ttl)
{
    struct as_error err = {0};
    if (ds_put(ds, key, value, ttl, &err) != 0)
        fail_msg("put %s: %s: %s", key, err.code, err.message);
}

static void assert_value(struct ds *ds, const char *key, const char *want)
{
    struct as_error err = {0};
    char *v = NULL;
    int rc = ds_get(ds, key, &v, &err);
    if (rc < 0)
        fail_msg("get %s: %s: %s", key, err.code, err.message);
    assert_int_equal(rc, 0);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void assert_absent(struct ds *ds, const char *key)
{
    struct as_error err = {0};
    char *v = NULL;
    int rc = ds_get(ds, key, &v, &err);
    if (rc < 0)
        fail_msg("get %s: %s: %s", key, err.code, err.message);
    assert_int_equal(rc, DS_ABSENT);
    assert_null(v);
}

/* ------------------------------------------------------------- basics -- */

static void test_open_is_lazy(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(f->ds->ops->name, "st2");
    assert_int_equal(stats(f->fake).requests, 0);

    /* Nothing listens on port 1: opening must still succeed. */
    struct ds *ds = open_ds("http://127.0.0.1:1/v1", TOKEN, NULL, 0);
    ds_close(ds);
}

static void test_open_rejects_bad_url(void **state)
{
    (void)state;
    struct as_error err = {0};
    struct ds_st2_config cfg = {.base_url = "ftp://example.com/v1"};
    assert_null(ds_open_st2(&cfg, &err));
    assert_string_equal(err.code, "bad_datastore");
    cfg.base_url = NULL;
    assert_null(ds_open_st2(&cfg, &err));
    assert_string_equal(err.code, "bad_datastore");
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};

    put_ok(f->ds, "autoscale.spec.web", "{\"min\":1}", 0);
    assert_owned_str(fake_st2_last_method(f->fake), "PUT");
    assert_owned_str(fake_st2_last_path(f->fake), "/v1/keys/autoscale.spec.web");
    assert_owned_str(fake_st2_last_header(f->fake, "x-auth-token"), TOKEN);
    assert_owned_str(fake_st2_last_header(f->fake, "St2-Api-Key"), NULL);
    assert_owned_str(fake_st2_last_header(f->fake, "Content-Type"), "application/json");
    assert_owned_str(fake_st2_get_key(f->fake, "autoscale.spec.web"), "{\"min\":1}");

    assert_value(f->ds, "autoscale.spec.web", "{\"min\":1}");
    assert_owned_str(fake_st2_last_method(f->fake), "GET");
    assert_owned_str(fake_st2_last_query(f->fake, "scope"), "st2kv.system");

    put_ok(f->ds, "autoscale.spec.web", "{\"min\":2}", 0);
    assert_value(f->ds, "autoscale.spec.web", "{\"min\":2}");
    assert_int_equal(fake_st2_key_count(f->fake), 1);

    assert_int_equal(ds_del(f->ds, "autoscale.spec.web", &err), 0);
    assert_owned_str(fake_st2_last_method(f->fake), "DELETE");
    assert_absent(f->ds, "autoscale.spec.web");
    assert_int_equal(fake_st2_key_count(f->fake), 0);
}

/* The PUT body is exactly st2's KeyValuePairAPI input: name, value, scope,
 * and ttl only when there is one (st2 refuses unknown fields). */
static void test_put_body_shape(void **state)
{
    struct fixture *f = *state;

    put_ok(f->ds, "a.b", "v", 0);
    char *body = fake_st2_last_body(f->fake);
    assert_non_null(body);
    struct json_object *o = json_tokener_parse(body);
    free(body);
    assert_non_null(o);
    assert_int_equal(json_object_object_length(o), 3);
    struct json_object *x;
    assert_true(json_object_object_get_ex(o, "name", &x));
    assert_string_equal(json_object_get_string(x), "a.b");
    assert_true(json_object_object_get_ex(o, "value", &x));
    assert_string_equal(json_object_get_string(x), "v");
    assert_true(json_object_object_get_ex(o, "scope", &x));
    assert_string_equal(json_object_get_string(x), "st2kv.system");
    json_object_put(o);

    put_ok(f->ds, "a.b", "v", 90);
    body = fake_st2_last_body(f->fake);
    o = json_tokener_parse(body);
    free(body);
    assert_int_equal(json_object_object_length(o), 4);
    assert_true(json_object_object_get_ex(o, "ttl", &x));
    assert_true(json_object_is_type(x, json_type_int));
    assert_int_equal(json_object_get_int(x), 90);
    json_object_put(o);
}

static void test_absent(void **state)
{
    struct fixture *f = *state;
    assert_absent(f->ds, "autoscale.nothing.here");
    assert_int_equal(stats(f->fake).gets, 1);
}

static void test_delete_absent_ok(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    assert_int_equal(ds_del(f->ds, "autoscale.nothing.here", &err), 0);
    assert_int_equal(stats(f->fake).deletes, 1);
}

static void test_empty_value(void **state)
{
    struct fixture *f = *state;
    put_ok(f->ds, "k.empty", "", 0);
    assert_value(f->ds, "k.empty", "");
}

/* --------------------------------------------------------- key names -- */

static void round_trip_name(struct fixture *f, const char *name, int via_ops)
{
    struct as_error err = {0};
    char value[600], *v = NULL;
    snprintf(value, sizeof value, "value of %s", name);

    int rc = via_ops ? f->ds->ops->put(f->ds, name, value, 0, &err)
                     : ds_put(f->ds, name, value, 0, &err);
    if (rc != 0)
        fail_msg("put %s: %s: %s", name, err.code, err.message);
    assert_owned_str(fake_st2_last_key(f->fake), name); /* decoded by the server */
    assert_owned_str(fake_st2_get_key(f->fake, name), value);

    rc = via_ops ? f->ds->ops->get(f->ds, name, &v, &err) : ds_get(f->ds, name, &v, &err);
    if (rc != 0)
        fail_msg("get %s: rc %d %s: %s", name, rc, err.code, err.message);
    assert_string_equal(v, value);
    free(v);
    assert_owned_str(fake_st2_last_key(f->fake), name);

    struct ds_list l = {0};
    rc = via_ops ? f->ds->ops->list(f->ds, name, &l, &err) : ds_list(f->ds, name, &l, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].name, name);
    assert_string_equal(l.items[0].value, value);
    ds_list_clear(&l);
    assert_owned_str(fake_st2_last_query(f->fake, "prefix"), name);

    rc = via_ops ? f->ds->ops->del(f->ds, name, &err) : ds_del(f->ds, name, &err);
    assert_int_equal(rc, 0);
    assert_owned_str(fake_st2_last_key(f->fake), name);
    assert_owned_str(fake_st2_get_key(f->fake, name), NULL);
}

static void test_key_names_encoded(void **state)
{
    struct fixture *f = *state;
    static const char *const names[] = {
        "autoscale.spec.web", "a/b/c", "../../v1/actions", "what?x=1&y=2", "100%",
        "%41%2F", "tag#frag", "a+b", "semi;colon", "q\"uote'", "[x]{y}|\\^`<>",
        "~_-.!*()$,@:", ".", "..", "...",
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        round_trip_name(f, names[i], 0);

    /* The plain name goes as is, unencoded. */
    put_ok(f->ds, "autoscale.spec.web", "x", 0);
    assert_owned_str(fake_st2_last_path(f->fake), "/v1/keys/autoscale.spec.web");
}

/* The dispatchers refuse non-ASCII names; st2 accepts them, and the backend
 * itself must carry them intact. */
static void test_key_names_unicode(void **state)
{
    struct fixture *f = *state;
    round_trip_name(f, "autoscale.\xc3\xa9t\xc3\xa9.\xe2\x9c\x93", 1);   /* été ✓ */
    round_trip_name(f, "\xe3\x82\xb9\xe3\x82\xb1\xe3\x83\xbc\xe3\x83\xab", 1); /* スケール */
    round_trip_name(f, "emoji.\xf0\x9f\x9a\x80", 1);                       /* 🚀 */
}

/* ----------------------------------------------------------- listing -- */

/* Keys "<prefix><i zero-padded to width>" = "v<i>", for i in [0, n). */
static void seed(struct fixture *f, const char *prefix, int width, int n)
{
    char name[128], value[128];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s%0*d", prefix, width, i);
        snprintf(value, sizeof value, "v%d", i);
        assert_int_equal(fake_st2_set_key(f->fake, name, value, 0), 0);
    }
}

static void assert_listing(const struct ds_list *l, const char *prefix, int width, int n)
{
    char name[128], value[128];
    assert_int_equal(l->count, n);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s%0*d", prefix, width, i);
        snprintf(value, sizeof value, "v%d", i);
        assert_string_equal(l->items[i].name, name);
        assert_string_equal(l->items[i].value, value);
    }
}

static void test_list_paginates(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};

    seed(f, "autoscale.node.", 3, 250);
    seed(f, "autoscale.nodes.", 3, 7);   /* shares a shorter prefix only */
    seed(f, "autoscale.nodf.", 3, 5);
    seed(f, "other.node.", 3, 5);
    assert_int_equal(fake_st2_set_key(f->fake, "autoscale.node", "x", 0), 0);
    fake_st2_reset_stats(f->fake);

    assert_int_equal(ds_list(f->ds, "autoscale.node.", &l, &err), 0);
    assert_listing(&l, "autoscale.node.", 3, 250);
    ds_list_clear(&l);

    struct fake_st2_stats s = stats(f->fake);
    assert_int_equal(s.lists, 3); /* 100 + 100 + 50 */
    assert_int_equal(s.requests, 3);
    assert_owned_str(fake_st2_last_query(f->fake, "limit"), "100");
    assert_owned_str(fake_st2_last_query(f->fake, "offset"), "200");
    assert_owned_str(fake_st2_last_query(f->fake, "scope"), "st2kv.system");
}

/* A listing that is an exact multiple of the page ends on an empty page. */
static void test_list_exact_pages(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};

    seed(f, "k.", 3, 200);
    assert_int_equal(ds_list(f->ds, "k.", &l, &err), 0);
    assert_listing(&l, "k.", 3, 200);
    ds_list_clear(&l);
    assert_int_equal(stats(f->fake).lists, 3);

    fake_st2_reset_stats(f->fake);
    assert_int_equal(ds_list(f->ds, "nothing.", &l, &err), 0);
    assert_int_equal(l.count, 0);
    ds_list_clear(&l);
    assert_int_equal(stats(f->fake).lists, 1);
}

static void test_list_page_size(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};
    struct ds *ds = open_ds(fake_st2_url(f->fake), TOKEN, NULL, 7);

    seed(f, "k.", 2, 20);
    assert_int_equal(ds_list(ds, "k.", &l, &err), 0);
    assert_listing(&l, "k.", 2, 20);
    ds_list_clear(&l);
    assert_int_equal(stats(f->fake).lists, 3); /* 7 + 7 + 6 */
    assert_owned_str(fake_st2_last_query(f->fake, "limit"), "7");
    ds_close(ds);
}

/* Real st2 lists in MongoDB's natural order, not by name. */
static void test_list_sorts_unsorted_server(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};
    char name[32], value[32];

    fake_st2_set_insertion_order(f->fake, 1);
    for (int i = 149; i >= 0; i--) {
        snprintf(name, sizeof name, "k.%03d", i);
        snprintf(value, sizeof value, "v%d", i);
        assert_int_equal(fake_st2_set_key(f->fake, name, value, 0), 0);
    }
    assert_int_equal(ds_list(f->ds, "k.", &l, &err), 0);
    assert_listing(&l, "k.", 3, 150);
    ds_list_clear(&l);
}

/* The list op appends to what the caller already has. */
static void test_list_appends(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};

    seed(f, "k.", 0, 3);
    ds_list_add(&l, "a.first", "x");
    assert_int_equal(ds_list(f->ds, "k.", &l, &err), 0);
    assert_int_equal(l.count, 4);
    assert_string_equal(l.items[0].name, "a.first");
    assert_string_equal(l.items[3].name, "k.2");
    ds_list_clear(&l);
}

static void test_list_skips_foreign_names(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};

    seed(f, "autoscale.node.", 3, 120);
    seed(f, "zzz.", 3, 90);
    fake_st2_set_ignore_prefix(f->fake, 1);
    assert_int_equal(ds_list(f->ds, "autoscale.node.", &l, &err), 0);
    assert_listing(&l, "autoscale.node.", 3, 120);
    ds_list_clear(&l);
    assert_int_equal(stats(f->fake).lists, 3); /* 210 keys: 100 + 100 + 10 */
}

static void test_list_server_ignores_offset(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};

    seed(f, "k.", 3, 250);
    fake_st2_set_ignore_offset(f->fake, 1);
    assert_int_equal(ds_list(f->ds, "k.", &l, &err), -1);
    assert_string_equal(err.code, "datastore_error");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "offset"));
    assert_int_equal(l.count, 0); /* nothing half-listed */
    ds_list_clear(&l);
    assert_int_equal(stats(f->fake).lists, 2);
}

/* st2 with RBAC refuses a non-admin's limit above its maximum page (403). */
static void test_list_limit_refused(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};
    struct ds *ds = open_ds(fake_st2_url(f->fake), TOKEN, NULL, 500);

    seed(f, "k.", 3, 10);
    fake_st2_set_limit_mode(f->fake, FAKE_ST2_LIMIT_REJECT, 100);
    assert_int_equal(ds_list(f->ds, "k.", &l, &err), 0); /* default page: fine */
    assert_int_equal(l.count, 10);
    ds_list_clear(&l);

    assert_int_equal(ds_list(ds, "k.", &l, &err), -1);
    assert_string_equal(err.code, "datastore_unauthorized");
    assert_non_null(strstr(err.message, "maximum value is"));
    ds_list_clear(&l);
    ds_close(ds);
}

/* --------------------------------------------------------------- TTL -- */

static void test_ttl_expiry(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};

    put_ok(f->ds, "lease.a", "held", 60);
    put_ok(f->ds, "lease.b", "forever", 0);
    assert_value(f->ds, "lease.a", "held");

    /* The fake's clock is the wall clock plus what the test advanced, so
     * stay well clear of the edge: a loaded machine (ASan beside three other
     * tests) can spend a second between the put and the read. */
    fake_st2_advance(f->fake, 45);
    assert_value(f->ds, "lease.a", "held");
    fake_st2_advance(f->fake, 20);
    assert_absent(f->ds, "lease.a");
    assert_value(f->ds, "lease.b", "forever");
    assert_int_equal(ds_list(f->ds, "lease.", &l, &err), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].name, "lease.b");
    ds_list_clear(&l);
}

/* Overwriting without a ttl makes the key permanent, as in st2. */
static void test_ttl_cleared_by_overwrite(void **state)
{
    struct fixture *f = *state;
    put_ok(f->ds, "lease.a", "1", 60);
    put_ok(f->ds, "lease.a", "2", 0);
    fake_st2_advance(f->fake, 3600);
    assert_value(f->ds, "lease.a", "2");
}

/* MongoDB drops expired keys up to a minute late; the client goes by the
 * expire_timestamp. Here the server's clock lags an hour behind, so it still
 * serves a key whose timestamp is long past. */
static void test_ttl_honoured_by_client(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};

    fake_st2_advance(f->fake, -3600);
    put_ok(f->ds, "lease.a", "held", 60);
    assert_owned_str(fake_st2_get_key(f->fake, "lease.a"), "held");
    assert_absent(f->ds, "lease.a");
    assert_int_equal(ds_list(f->ds, "lease.", &l, &err), 0);
    assert_int_equal(l.count, 0);
    ds_list_clear(&l);
}

/* -------------------------------------------------------------- auth -- */

static void assert_unauthorized(int rc, const struct as_error *err, const char *secret)
{
    assert_int_equal(rc, -1);
    assert_string_equal(err->code, "datastore_unauthorized");
    assert_int_equal(err->exit, AS_EXIT_FAILURE);
    assert_null(strstr(err->message, secret));
    assert_null(strstr(err->message, TOKEN));
    assert_non_null(strstr(err->message, "401"));
}

static void test_wrong_token(void **state)
{
    struct fixture *f = *state;
    const char *wrong = "wrong-token-7f3a9c1e5b";
    struct ds *ds = open_ds(fake_st2_url(f->fake), wrong, NULL, 0);
    struct as_error err = {0};
    struct ds_list l = {0};
    char *v = NULL;

    /* Forget the process-wide secret registry: the backend's own scrubbing
     * must keep the echoed token out, without help from secret.c. */
    secret_clear();
    assert_unauthorized(ds_get(ds, "k", &v, &err), &err, wrong);
    assert_null(v);
    assert_non_null(strstr(err.message, "Unauthorized"));
    assert_unauthorized(ds_put(ds, "k", "v", 0, &err), &err, wrong);
    assert_unauthorized(ds_del(ds, "k", &err), &err, wrong);
    assert_unauthorized(ds_list(ds, "k", &l, &err), &err, wrong);
    ds_list_clear(&l);
    assert_int_equal(stats(f->fake).unauthorized, 4);
    assert_int_equal(stats(f->fake).requests, 4); /* 401 is not retried */
    assert_int_equal(fake_st2_key_count(f->fake), 0);
    ds_close(ds);
}

static void test_no_credentials(void **state)
{
    struct fixture *f = *state;
    struct ds *ds = open_ds(fake_st2_url(f->fake), NULL, NULL, 0);
    struct as_error err = {0};
    char *v = NULL;

    assert_unauthorized(ds_get(ds, "k", &v, &err), &err, TOKEN);
    assert_non_null(strstr(err.message, "One of Token or API key required"));
    assert_owned_str(fake_st2_last_header(f->fake, "X-Auth-Token"), NULL);
    assert_owned_str(fake_st2_last_header(f->fake, "St2-Api-Key"), NULL);
    ds_close(ds);
}

static void test_api_key(void **state)
{
    struct fixture *f = *state;
    struct fake_st2 *fake = fake_st2_start(NULL, API_KEY);
    assert_non_null(fake);
    struct ds *ds = open_ds(fake_st2_url(fake), NULL, API_KEY, 0);

    put_ok(ds, "k.a", "1", 0);
    assert_owned_str(fake_st2_last_header(fake, "St2-Api-Key"), API_KEY);
    assert_owned_str(fake_st2_last_header(fake, "X-Auth-Token"), NULL);
    assert_value(ds, "k.a", "1");
    ds_close(ds);

    /* Given both, the token is sent, alone (st2 refuses two sources). */
    ds = open_ds(fake_st2_url(f->fake), TOKEN, API_KEY, 0);
    put_ok(ds, "k.b", "2", 0);
    assert_owned_str(fake_st2_last_header(f->fake, "X-Auth-Token"), TOKEN);
    assert_owned_str(fake_st2_last_header(f->fake, "St2-Api-Key"), NULL);
    ds_close(ds);

    /* A token the API-key-only server does not know. */
    struct as_error err = {0};
    char *v = NULL;
    ds = open_ds(fake_st2_url(fake), TOKEN, NULL, 0);
    assert_unauthorized(ds_get(ds, "k.a", &v, &err), &err, TOKEN);
    ds_close(ds);
    fake_st2_stop(fake);
}

/* ---------------------------------------------------- faults, retries -- */

static void test_retry_503(void **state)
{
    struct fixture *f = *state;
    fake_st2_fail_next(f->fake, 2, 503, -1);
    put_ok(f->ds, "k.a", "1", 0);
    struct fake_st2_stats s = stats(f->fake);
    assert_int_equal(s.faults, 2);
    assert_int_equal(s.requests, 3);
    assert_int_equal(s.puts, 1);
    assert_owned_str(fake_st2_get_key(f->fake, "k.a"), "1");

    fake_st2_fail_next(f->fake, 2, 503, -1);
    assert_value(f->ds, "k.a", "1");
    assert_int_equal(stats(f->fake).requests, 6);
}

static void test_retry_429(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};

    put_ok(f->ds, "k.a", "1", 0);
    fake_st2_reset_stats(f->fake);
    fake_st2_fail_next(f->fake, 1, 429, 0);
    assert_int_equal(ds_list(f->ds, "k.", &l, &err), 0);
    assert_int_equal(l.count, 1);
    ds_list_clear(&l);
    assert_int_equal(stats(f->fake).requests, 2);
    assert_int_equal(stats(f->fake).faults, 1);

    fake_st2_fail_next(f->fake, 1, 429, 0);
    assert_int_equal(ds_del(f->ds, "k.a", &err), 0);
    assert_int_equal(stats(f->fake).requests, 4);
}

static void test_persistent_500(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char *v = NULL;

    fake_st2_fail_next(f->fake, 1000, 500, -1);
    assert_int_equal(ds_get(f->ds, "k.a", &v, &err), -1);
    assert_string_equal(err.code, "datastore_error");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "500"));
    assert_non_null(strstr(err.message, "Internal Server Error"));
    assert_int_equal(stats(f->fake).requests, 4); /* http.c's default attempts */
}

static void test_server_down(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    char *v = NULL;

    put_ok(f->ds, "k.a", "1", 0); /* a kept-alive connection now exists */
    fake_st2_stop(f->fake);
    f->fake = NULL;
    assert_int_equal(ds_get(f->ds, "k.a", &v, &err), -1);
    assert_string_equal(err.code, "http_unreachable");
    assert_int_equal(err.exit, AS_EXIT_FAILURE);
    assert_non_null(strstr(err.message, "st2 datastore"));
    assert_int_equal(ds_put(f->ds, "k.a", "2", 0, &err), -1);
    assert_string_equal(err.code, "http_unreachable");
}

/* A slow answer is still an answer (the delay knob, used by end-to-end
 * timeout tests, must not break ordinary traffic). */
static void test_slow_server(void **state)
{
    struct fixture *f = *state;
    fake_st2_set_delay_ms(f->fake, 50);
    put_ok(f->ds, "k.a", "1", 0);
    assert_value(f->ds, "k.a", "1");
    assert_int_equal(stats(f->fake).requests, 2);
}

/* ------------------------------------------------------------ values -- */

static void test_value_json_and_newlines(void **state)
{
    struct fixture *f = *state;
    const char *v = "{\"nodes\": [\"a\", \"b\\\"c\"],\n \"path\": \"/x/y\",\r\n"
                    "\t\"u\": \"\\u00e9\xc3\xa9\", \"nul\": \"\\u0000\"}\n\n";
    put_ok(f->ds, "k.json", v, 0);
    assert_owned_str(fake_st2_get_key(f->fake, "k.json"), v);
    assert_value(f->ds, "k.json", v);
}

static void test_value_1mib(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    struct ds_list l = {0};
    size_t n = 1024 * 1024;
    char *v = malloc(n + 1);
    assert_non_null(v);
    static const char alphabet[] = "abc XYZ 0123456789 \"quoted\" back\\slash /\n\t{}[]";
    for (size_t i = 0; i < n; i++)
        v[i] = alphabet[(i * 7 + i / 13) % (sizeof alphabet - 1)];
    v[n] = '\0';

    put_ok(f->ds, "k.big", v, 0);
    assert_value(f->ds, "k.big", v);
    assert_int_equal(ds_list(f->ds, "k.", &l, &err), 0);
    assert_int_equal(l.count, 1);
    assert_int_equal(strlen(l.items[0].value), n);
    assert_memory_equal(l.items[0].value, v, n);
    ds_list_clear(&l);
    free(v);
}

static void test_put_refuses_bad_utf8(void **state)
{
    struct fixture *f = *state;
    struct as_error err = {0};
    assert_int_equal(ds_put(f->ds, "k.a", "caf\xe9", 0, &err), -1);
    assert_string_equal(err.code, "bad_value");
    assert_int_equal(err.exit, AS_EXIT_BADINPUT);
    assert_int_equal(stats(f->fake).requests, 0);
}

/* ------------------------------------------- replies st2 would not send -- */

struct scripted {
    struct test_httpd *srv;
    struct ds *ds;
};

static void scripted_open(struct scripted *s)
{
    char url[128];
    s->srv = test_httpd_start();
    assert_non_null(s->srv);
    snprintf(url, sizeof url, "%s/v1/", test_httpd_url(s->srv)); /* trailing slash */
    s->ds = open_ds(url, TOKEN, NULL, 0);
}

static void scripted_close(struct scripted *s)
{
    ds_close(s->ds);
    test_httpd_stop(s->srv);
}

static void test_bad_replies(void **state)
{
    (void)state;
    struct scripted s;
    struct as_error err = {0};
    struct ds_list l = {0};
    char *v = NULL;
    static const char *const get_bodies[] = {
        "{\"name\": \"k\", \"value\": 5}",
        "{\"name\": \"k\"}",
        "not json",
        "[]",
    };

    scripted_open(&s);
    for (size_t i = 0; i < sizeof get_bodies / sizeof *get_bodies; i++) {
        test_httpd_queue_simple(s.srv, 200, get_bodies[i]);
        assert_int_equal(ds_get(s.ds, "k", &v, &err), -1);
        assert_null(v);
        assert_string_equal(err.code, "datastore_error");
    }
    const struct test_httpd_request *req = test_httpd_request_at(s.srv, 0);
    assert_non_null(req);
    assert_string_equal(req->url, "/v1/keys/k?scope=st2kv.system");

    test_httpd_queue_simple(s.srv, 200, "{\"not\": \"an array\"}");
    assert_int_equal(ds_list(s.ds, "k", &l, &err), -1);
    assert_string_equal(err.code, "datastore_error");
    test_httpd_queue_simple(s.srv, 200, "[{\"name\": \"k1\", \"value\": null}]");
    assert_int_equal(ds_list(s.ds, "k", &l, &err), -1);
    assert_string_equal(err.code, "datastore_error");
    assert_int_equal(l.count, 0);

    test_httpd_queue_simple(s.srv, 400, "{\"faultstring\": \"bad thing\"}");
    assert_int_equal(ds_put(s.ds, "k", "v", 0, &err), -1);
    assert_string_equal(err.code, "datastore_error");
    assert_non_null(strstr(err.message, "bad thing"));
    assert_non_null(strstr(err.message, "400"));

    test_httpd_queue_simple(s.srv, 409, "conflict");
    assert_int_equal(ds_del(s.ds, "k", &err), -1);
    assert_string_equal(err.code, "datastore_error");

    test_httpd_queue_simple(s.srv, 403, "{\"faultstring\": \"no permission\"}");
    assert_int_equal(ds_get(s.ds, "k", &v, &err), -1);
    assert_string_equal(err.code, "datastore_unauthorized");
    scripted_close(&s);
}

/* A key written between two page requests shifts the rest, so it can come
 * back twice: the backend itself (not only the dispatcher) returns every
 * name once, sorted, with the later copy's value. */
static void test_list_dedups_across_pages(void **state)
{
    (void)state;
    struct test_httpd *srv = test_httpd_start();
    struct as_error err = {0};
    struct ds_list l = {0};
    char url[128];

    assert_non_null(srv);
    snprintf(url, sizeof url, "%s/v1", test_httpd_url(srv));
    struct ds *ds = open_ds(url, TOKEN, NULL, 2);
    test_httpd_queue_simple(srv, 200, "[{\"name\": \"k.c\", \"value\": \"c\"},"
                                      " {\"name\": \"k.b\", \"value\": \"b1\"}]");
    test_httpd_queue_simple(srv, 200, "[{\"name\": \"k.b\", \"value\": \"b2\"},"
                                      " {\"name\": \"k.a\", \"value\": \"a\"}]");
    test_httpd_queue_simple(srv, 200, "[{\"name\": \"k.d\", \"value\": \"d\"}]");

    assert_int_equal(ds->ops->list(ds, "k.", &l, &err), 0);
    assert_int_equal(l.count, 4);
    assert_string_equal(l.items[0].name, "k.a");
    assert_string_equal(l.items[1].name, "k.b");
    assert_string_equal(l.items[1].value, "b2");
    assert_string_equal(l.items[2].name, "k.c");
    assert_string_equal(l.items[3].name, "k.d");
    ds_list_clear(&l);

    assert_int_equal(test_httpd_request_count(srv), 3);
    assert_string_equal(test_httpd_request_at(srv, 0)->url,
                        "/v1/keys?prefix=k.&scope=st2kv.system&limit=2&offset=0");
    assert_string_equal(test_httpd_request_at(srv, 2)->url,
                        "/v1/keys?prefix=k.&scope=st2kv.system&limit=2&offset=4");
    ds_close(ds);
    test_httpd_stop(srv);
}

/* A server echoing the token deep in a long error body: the message is cut
 * to length, and no piece of the token may survive the cut. */
static void test_token_scrubbed_before_cut(void **state)
{
    (void)state;
    struct scripted s;
    struct as_error err = {0};
    char body[1024], *v = NULL;

    for (int pad = 250; pad <= 320; pad += 5) {
        scripted_open(&s);
        secret_clear(); /* the backend's own scrubbing, unaided */
        snprintf(body, sizeof body, "{\"faultstring\": \"%*s token %s rejected\"}", pad, "x",
                 TOKEN);
        test_httpd_queue_simple(s.srv, 401, body);
        assert_int_equal(ds_get(s.ds, "k", &v, &err), -1);
        assert_string_equal(err.code, "datastore_unauthorized");
        assert_null(strstr(err.message, "tok-5ec")); /* TOKEN's first bytes */
        scripted_close(&s);
    }
}

/* 201 for PUT and 200 for DELETE are fine too (proxies, other versions). */
static void test_other_success_statuses(void **state)
{
    (void)state;
    struct scripted s;
    struct as_error err = {0};

    scripted_open(&s);
    test_httpd_queue_simple(s.srv, 201, "{}");
    assert_int_equal(ds_put(s.ds, "k", "v", 0, &err), 0);
    test_httpd_queue_simple(s.srv, 200, "");
    assert_int_equal(ds_del(s.ds, "k", &err), 0);
    const struct test_httpd_request *req = test_httpd_request_at(s.srv, 1);
    assert_non_null(req);
    assert_string_equal(req->method, "DELETE");
    assert_string_equal(req->url, "/v1/keys/k?scope=st2kv.system");
    scripted_close(&s);
}

int main(void)
{
    log_set_level(LOG_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_is_lazy),
        T(test_open_rejects_bad_url),
        T(test_round_trip),
        T(test_put_body_shape),
        T(test_absent),
        T(test_delete_absent_ok),
        T(test_empty_value),
        T(test_key_names_encoded),
        T(test_key_names_unicode),
        T(test_list_paginates),
        T(test_list_exact_pages),
        T(test_list_page_size),
        T(test_list_sorts_unsorted_server),
        T(test_list_appends),
        T(test_list_skips_foreign_names),
        T(test_list_server_ignores_offset),
        T(test_list_limit_refused),
        T(test_ttl_expiry),
        T(test_ttl_cleared_by_overwrite),
        T(test_ttl_honoured_by_client),
        T(test_wrong_token),
        T(test_no_credentials),
        T(test_api_key),
        T(test_retry_503),
        T(test_retry_429),
        T(test_persistent_500),
        T(test_server_down),
        T(test_slow_server),
        T(test_value_json_and_newlines),
        T(test_value_1mib),
        T(test_put_refuses_bad_utf8),
        T(test_bad_replies),
        T(test_list_dedups_across_pages),
        T(test_token_scrubbed_before_cut),
        T(test_other_success_statuses),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
