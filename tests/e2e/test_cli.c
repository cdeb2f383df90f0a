/* End-to-end tests of the operator commands of actions/bin/autoscale
 * (actions/runner/cli.h): the tables they print from the embedded store and from the
 * fake st2 (with the credential from the environment or from the pack
 * config), that they change nothing, and the pack config reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_run.h"
#include "cli.h"
#include "fake_st2.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "store_fixture.h"

#define NOW 1800000000LL /* 2027-01-15 08:00:00Z */
#define API_KEY "key-0123456789abcdef0123456789abcdef"

/* The line of out that starts with `first` (a table row), or fail. */
static char *row(const char *out, const char *first)
{
    static char line[512];
    for (const char *p = out; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (strncmp(p, first, strlen(first)) == 0 && p[strlen(first)] == ' ') {
            snprintf(line, sizeof line, "%.*s", (int)n, p);
            /* One space between cells, so assertions need not know widths. */
            char *w = line;
            for (char *r = line; *r; r++)
                if (*r != ' ' || (w > line && w[-1] != ' '))
                    *w++ = *r;
            *w = '\0';
            return line;
        }
        p = end ? end + 1 : NULL;
    }
    fail_msg("no row starting with '%s' in:\n%s", first, out);
    return NULL;
}

/* Two groups; web has two nodes, a finished scale-out and a lease held. */
static void arrange(struct ds *ds, const struct store_fixture *s)
{
    struct as_error err;
    char id[LEASE_ID_MAX], key[KEY_MAX];
    struct json_object *out = NULL;
    (void)key;

    assert_int_equal(lease_take(ds, "web", "scale_out", 2, "cpu high", NOW - 600, 1800, id,
                                &err), 0);
    assert_int_equal(scaling_record(ds, "web", id, 2, 2, 0, NOW - 300, &out, &err), 0);
    json_object_put(out);
    assert_int_equal(lease_take(ds, "web", "scale_in", 1, "quiet", NOW - 60, 1800, id, &err),
                     0);
    if (s) {
        struct json_object *n = store_node_record("web", "web-1a2b3c4d", "active",
                                                  "127.0.3.7", 8080, NULL);
        jx_add_int(n, "created_at", NOW - 3600);
        store_put_node(s, n);
        store_put_node(s, store_node_record("web", "web-5e6f7a8b", "building", "127.0.3.8",
                                            8080, "local-42"));
    }
}

static void define(struct store_fixture *s, const char *name, const char *min)
{
    struct action_result r;
    char minarg[32];
    snprintf(minarg, sizeof minarg, "--min=%s", min);
    assert_int_equal(store_run(s, "asg_define", &r, "--compute_provider=local", minarg,
                               "--max=5", name, NULL), 0);
    action_result_free(&r);
}

static int cli(const char *const *env, struct action_result *r, ...)
{
    const char *args[8];
    int n = 0;
    va_list ap;
    va_start(ap, r);
    for (const char *a; n < 7 && (a = va_arg(ap, const char *));)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return action_run("autoscale", args, env, r);
}

static void test_embedded_tables(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    define(s, "--name=web", "1");
    define(s, "--name=api", "0");
    struct ds *ds = store_open(s);
    arrange(ds, s);
    ds_close(ds);
    char *before = store_snapshot(s);

    assert_int_equal(cli(store_env(s), &r, "asg", "list", NULL), 0);
    assert_string_equal(row(r.out, "GROUP"),
                        "GROUP STATUS MIN MAX NODES CAPACITY ACTIVE BUILDING FAILED ALERT BUSY");
    assert_string_equal(row(r.out, "api"), "api active 0 5 0 0 0 0 0 no no");
    assert_string_equal(row(r.out, "web"), "web active 1 5 2 2 1 1 0 no yes");
    assert_non_null(strstr(r.out, "\n2 groups\n"));
    action_result_free(&r);

    assert_int_equal(cli(store_env(s), &r, "node", "list", "web", NULL), 0);
    assert_string_equal(row(r.out, "web-1a2b3c4d"),
                        "web-1a2b3c4d active 127.0.3.7 8080 local web-1a2b3c4d "
                        "2027-01-15 07:00:00Z -");
    assert_string_equal(row(r.out, "web-5e6f7a8b"),
                        "web-5e6f7a8b building 127.0.3.8 8080 local local-42 - -");
    assert_non_null(strstr(r.out, "\n2 nodes\n"));
    action_result_free(&r);

    assert_int_equal(cli(store_env(s), &r, "lease", "list", NULL), 0);
    char *web = row(r.out, "web");
    assert_non_null(strstr(web, " scale_in 1 2027-01-15 07:59:00Z 2027-01-15 08:29:00Z quiet"));
    assert_null(strstr(r.out, "\napi "));
    assert_non_null(strstr(r.out, "1 lease held, 2 groups"));
    action_result_free(&r);

    assert_int_equal(cli(store_env(s), &r, "asg", "get", "web", "--events=5", NULL), 0);
    assert_string_equal(row(r.out, "group:"), "group: web (active)");
    assert_string_equal(row(r.out, "nodes:"),
                        "nodes: 2 total, 2 capacity: 1 active, 1 building, 0 draining, "
                        "0 failed, 0 deleting, 0 unknown");
    assert_non_null(strstr(row(r.out, "lease:"), ": scale_in of 1, taken 2027-01-15 07:59:00Z"));
    assert_string_equal(row(r.out, "compute_provider"), "compute_provider local");
    assert_non_null(strstr(row(r.out, "2027-01-15"), "2027-01-15 07:55:00Z scale_out 2 2 0"));
    assert_string_equal(row(r.out, "web-5e6f7a8b"),
                        "web-5e6f7a8b building 127.0.3.8 8080 local local-42 - -");
    assert_non_null(strstr(r.out, "\n1 scaling event shown\n"));
    action_result_free(&r);

    char *after = store_snapshot(s);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_refusals(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;

    assert_int_equal(cli(store_env(s), &r, "asg", "get", "nosuch", NULL), 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "unknown_group"));
    action_result_free(&r);
    assert_int_equal(cli(store_env(s), &r, "asg", "get", "Bad_Name", NULL), 2);
    assert_string_equal(r.out, "");
    action_result_free(&r);
    assert_int_equal(cli(store_env(s), &r, "asg", "delete", "web", NULL), 2);
    assert_non_null(strstr(r.err, "unknown command"));
    action_result_free(&r);
    assert_int_equal(cli(store_env(s), &r, "node", "list", NULL), 2);
    action_result_free(&r);
    /* Nothing chosen at all (no store, no config): said, not a new empty store. */
    const char *none[] = {"AUTOSCALE_CONFIG=", NULL};
    assert_int_equal(cli(none, &r, "asg", "list", NULL), 2);
    assert_non_null(strstr(r.err, "no_datastore"));
    action_result_free(&r);
}

/* The store the commands open refuses writes: what would stop a future
 * command (or a library function that starts to tidy up) from writing. */
static void test_readonly_store(void **state)
{
    struct store_fixture *s = *state;
    struct as_error err;
    struct ds *ds = cli_ds_readonly(store_open(s));
    assert_non_null(ds);
    assert_int_equal(ds_put(ds, "autoscale.spec.x", "{}", 0, &err), -1);
    assert_string_equal(err.code, "read_only");
    assert_int_equal(ds_del(ds, "autoscale.spec.x", &err), -1);
    assert_string_equal(err.code, "read_only");
    if (ds_can_create(ds)) {
        assert_int_equal(ds_create(ds, "autoscale.spec.x", "{}", 0, &err), -1);
        assert_string_equal(err.code, "read_only");
    }
    ds_close(ds);
    assert_int_equal(store_count(s, "autoscale."), 0);
}

/* ---- against st2's API ---- */

struct st2_fixture {
    struct fake_st2 *st2;
    char dir[64], config[128], env_url[160], env_key[96], env_config[160];
};

static int st2_setup(void **state)
{
    struct st2_fixture *f = calloc(1, sizeof *f);
    f->st2 = fake_st2_start(NULL, API_KEY);
    assert_non_null(f->st2);
    snprintf(f->dir, sizeof f->dir, "/tmp/test-cli-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->config, sizeof f->config, "%s/autoscale.yaml", f->dir);
    snprintf(f->env_url, sizeof f->env_url, "ST2_API_URL=%s", fake_st2_url(f->st2));
    snprintf(f->env_key, sizeof f->env_key, "ST2_API_KEY=%s", API_KEY);
    snprintf(f->env_config, sizeof f->env_config, "AUTOSCALE_CONFIG=%s", f->config);

    /* The groups, written through the same API by the actions themselves. */
    const char *env[] = {f->env_url, f->env_key, NULL};
    const char *web[] = {"--name=web", "--compute_provider=local", "--min=2", "--max=4", NULL};
    struct action_result r;
    assert_int_equal(action_run("asg_define", web, env, &r), 0);
    action_result_free(&r);
    *state = f;
    return 0;
}

static int st2_teardown(void **state)
{
    struct st2_fixture *f = *state;
    fake_st2_stop(f->st2);
    unlink(f->config);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_config(const struct st2_fixture *f, const char *text)
{
    FILE *fp = fopen(f->config, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void assert_web_listed_without_writes(struct st2_fixture *f, const char *const *env)
{
    struct action_result r;
    struct fake_st2_stats st;
    fake_st2_reset_stats(f->st2);
    assert_int_equal(cli(env, &r, "asg", "list", NULL), 0);
    assert_string_equal(row(r.out, "web"), "web active 2 4 0 0 0 0 0 no no");
    assert_null(strstr(r.out, API_KEY));
    assert_null(strstr(r.err, API_KEY));
    action_result_free(&r);
    fake_st2_stats(f->st2, &st);
    assert_true(st.lists > 0);
    assert_int_equal(st.puts + st.deletes, 0);
    assert_int_equal(st.unauthorized, 0);
}

static void test_st2_from_environment(void **state)
{
    struct st2_fixture *f = *state;
    const char *env[] = {f->env_url, f->env_key, NULL};
    assert_web_listed_without_writes(f, env);
}

static void test_st2_from_pack_config(void **state)
{
    struct st2_fixture *f = *state;
    char text[512];
    snprintf(text, sizeof text,
             "---\n# what st2 reads too\nst2_api_url: \"%s\"\nst2_api_key: %s\n"
             "dns_provider: none\nwebhook_headers:\n  X-A: b\n",
             fake_st2_url(f->st2), API_KEY);
    write_config(f, text);
    const char *env[] = {f->env_config, NULL};
    assert_web_listed_without_writes(f, env);

    /* The environment's URL wins; the key still comes from the file. */
    const char *both[] = {f->env_config, f->env_url, NULL};
    snprintf(text, sizeof text, "st2_api_url: http://127.0.0.1:1/v1\nst2_api_key: '%s'\n",
             API_KEY);
    write_config(f, text);
    assert_web_listed_without_writes(f, both);
}

static void test_st2_config_template_refused(void **state)
{
    struct st2_fixture *f = *state;
    struct action_result r;
    char text[256];
    snprintf(text, sizeof text,
             "st2_api_url: %s\n"
             "st2_api_key: \"{{ st2kv.system.autoscale_api_key | decrypt_kv }}\"\n",
             fake_st2_url(f->st2));
    write_config(f, text);
    fake_st2_reset_stats(f->st2);
    const char *env[] = {f->env_config, NULL};
    assert_int_equal(cli(env, &r, "asg", "list", NULL), 2);
    assert_non_null(strstr(r.err, "st2_api_key"));
    assert_non_null(strstr(r.err, "ST2_API_KEY"));
    action_result_free(&r);
    struct fake_st2_stats st;
    fake_st2_stats(f->st2, &st);
    assert_int_equal(st.requests, 0);
}

/* ---- the pack config reader (libyaml) ---- */

static const char *const keys[] = {"st2_api_url", "st2_api_key"};

static int read_text(const char *text, char **v, struct as_error *err)
{
    char path[] = "/tmp/test-cli-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    as_error_clear(err);
    int rc = cli_config_read(path, keys, v, 2, err);
    unlink(path);
    return rc;
}

static void test_config_reader(void **state)
{
    (void)state;
    struct as_error err;
    char *v[2];

    /* Quoting styles, a nested value skipped whole, a later duplicate wins. */
    assert_int_equal(read_text("a: {st2_api_key: nested}\n"
                               "st2_api_url: 'http://h:9101/v1'\n"
                               "list: [st2_api_key, x]\n"
                               "st2_api_key: first\n"
                               "st2_api_key: >-\n  second\n",
                               v, &err), 0);
    assert_string_equal(v[0], "http://h:9101/v1");
    assert_string_equal(v[1], "second");
    free(v[0]), free(v[1]);

    /* Null and absent alike; "null" quoted is a string. */
    assert_int_equal(read_text("st2_api_url: ~\nst2_api_key: 'null'\n", v, &err), 0);
    assert_null(v[0]);
    assert_string_equal(v[1], "null");
    free(v[1]);
    assert_int_equal(read_text("", v, &err), 0);
    assert_null(v[0]);
    assert_null(v[1]);

    /* Refused, without quoting the file's values. */
    assert_int_equal(read_text("st2_api_key: [sekrit]\n", v, &err), -1);
    assert_string_equal(err.code, "bad_config");
    assert_null(strstr(err.message, "sekrit"));
    assert_int_equal(read_text("st2_api_key: \"sekrit\n", v, &err), -1);
    assert_non_null(strstr(err.message, "line "));
    assert_null(strstr(err.message, "sekrit"));
    assert_int_equal(read_text("- st2_api_key\n", v, &err), -1);
    assert_int_equal(read_text("st2_api_key: a\n---\nst2_api_key: b\n", v, &err), -1);
    assert_null(v[1]);

    assert_int_equal(cli_config_read("/nonexistent/autoscale.yaml", keys, v, 2, &err), 1);
}

static int store_setup_cli(void **state)
{
    return store_setup(state, "test-cli", NOW);
}

int main(void)
{
    /* The keys this process writes expire by the same clock as the actions'. */
    setenv("AUTOSCALE_TEST_NOW", "1800000000", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_embedded_tables, store_setup_cli, store_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, store_setup_cli, store_teardown),
        cmocka_unit_test_setup_teardown(test_readonly_store, store_setup_cli, store_teardown),
        cmocka_unit_test_setup_teardown(test_st2_from_environment, st2_setup, st2_teardown),
        cmocka_unit_test_setup_teardown(test_st2_from_pack_config, st2_setup, st2_teardown),
        cmocka_unit_test_setup_teardown(test_st2_config_template_refused, st2_setup,
                                        st2_teardown),
        cmocka_unit_test(test_config_reader),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
