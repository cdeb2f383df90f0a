/* End-to-end tests of the actions that only read (asg_get, asg_list) and of
 * the operator commands, on the embedded store: they open it read-only
 * (lib/store/ds_embedded.c, open_reader), so a run creates and deletes no
 * WAL file and changes nothing, and they still answer where read-only
 * cannot work: no store yet, or a store an older build left without its
 * WAL files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "action_run.h"
#include "store_fixture.h"

/* Run name with args and the store's environment, debug logs on, and
 * check its output; 1 if it said it opened the store read-only. */
static int run_ok(struct store_fixture *s, const char *name, const char *want,
                  const char *const *args)
{
    struct action_result r;
    const char *env[] = {store_env(s)[0], "AUTOSCALE_LOG_LEVEL=debug", NULL};
    int rc = action_run(name, args, env, &r);
    if (rc != 0 || !strstr(r.out, want))
        fail_msg("%s: exit %d, want '%s' in: %s%s", name, rc, want, r.out, r.err);
    int ro = strstr(r.err, "datastore: opened") && strstr(r.err, " read-only\n");
    action_result_free(&r);
    return ro;
}

static void define_web(struct store_fixture *s)
{
    assert_false(run_ok(s, "asg_define", "\"created\":true",
                        (const char *[]){"--name=web", "--compute_provider=local", NULL}));
}

/* Every reader of the pack, once; each must say it read the store
 * read-only. */
static void read_all(struct store_fixture *s)
{
    assert_true(run_ok(s, "asg_get", "\"name\":\"web\"", (const char *[]){"--name=web", NULL}));
    assert_true(run_ok(s, "asg_list", "\"count\":1", (const char *[]){NULL}));
    assert_true(run_ok(s, "autoscale", "web", (const char *[]){"asg", "get", "web", NULL}));
}

static void file_path(const struct store_fixture *s, const char *suffix, char *out, size_t n)
{
    snprintf(out, n, "%s%s", s->db, suffix);
}

static struct stat stat_ok(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return st;
}

/* The writer left both WAL files, the WAL empty; the readers leave them as
 * they are: the same files (a second name for each still names them), and
 * the same keys. */
static void test_readers_keep_wal_files(void **state)
{
    struct store_fixture *s = *state;
    define_web(s);
    char wal[160], shm[160], held_wal[160], held_shm[160];
    file_path(s, "-wal", wal, sizeof wal);
    file_path(s, "-shm", shm, sizeof shm);
    assert_int_equal(stat_ok(wal).st_size, 0);
    snprintf(held_wal, sizeof held_wal, "%s/held-wal", s->dir);
    snprintf(held_shm, sizeof held_shm, "%s/held-shm", s->dir);
    assert_int_equal(link(wal, held_wal), 0);
    assert_int_equal(link(shm, held_shm), 0);
    char *before = store_snapshot(s);

    read_all(s);

    assert_int_equal(stat_ok(wal).st_ino, stat_ok(held_wal).st_ino);
    assert_int_equal(stat_ok(shm).st_ino, stat_ok(held_shm).st_ino);
    assert_int_equal(stat_ok(held_wal).st_nlink, 2);
    assert_int_equal(stat_ok(held_shm).st_nlink, 2);
    char *after = store_snapshot(s);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* A store whose last writer (an older build) deleted the WAL files. */
static void test_readers_after_wal_files_removed(void **state)
{
    struct store_fixture *s = *state;
    define_web(s);
    char wal[160], shm[160];
    file_path(s, "-wal", wal, sizeof wal);
    file_path(s, "-shm", shm, sizeof shm);
    assert_int_equal(unlink(wal), 0);
    assert_int_equal(unlink(shm), 0);
    read_all(s);
    assert_int_equal(stat_ok(wal).st_mode & 07777, 0600);
    assert_int_equal(stat_ok(shm).st_mode & 07777, 0600);
}

/* No store at all: what the actions always answered. */
static void test_readers_without_store(void **state)
{
    struct store_fixture *s = *state;
    struct action_result r;
    assert_int_equal(action_run("asg_list", (const char *[]){NULL}, store_env(s), &r), 0);
    assert_non_null(strstr(r.out, "\"count\":0"));
    action_result_free(&r);
    assert_int_equal(action_run("asg_get", (const char *[]){"--name=web", NULL}, store_env(s),
                                &r),
                     2);
    assert_string_equal(action_error_code(&r), "unknown_group");
    action_result_free(&r);
}

static int setup(void **state) { return store_setup(state, "test_read_only", 0); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readers_keep_wal_files, setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_readers_after_wal_files_removed, setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_readers_without_store, setup, store_teardown),
    };
    return cmocka_run_group_tests_name("read_only", tests, NULL, NULL);
}
