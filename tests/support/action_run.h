/* action_run.h - run an action binary the way st2's local-shell-script runner
 * does (argv only, nothing on stdin, a chosen environment) and capture what it
 * printed, for end-to-end tests. */
#ifndef TEST_ACTION_RUN_H
#define TEST_ACTION_RUN_H

#include <json-c/json.h>
#include <sys/types.h>

struct action_result {
    int status;               /* exit status, or 128+signal */
    char *out;                /* stdout */
    char *err;                /* stderr */
    struct json_object *json; /* stdout parsed, if it was exactly one JSON document */
};

/* Path of actions/bin/<name> for the build under test ($AUTOSCALE_BIN_DIR). */
const char *action_path(const char *name);

/* Run actions/bin/<name> with args (NULL-terminated, without argv[0]) and
 * extra environment "K=V" entries (NULL-terminated, may be NULL). The child
 * gets the test's environment minus ST2_* variables, plus env. */
int action_run(const char *name, const char *const *args, const char *const *env,
               struct action_result *r);

/* Start it without waiting (for signal tests); then action_wait(). */
pid_t action_start(const char *name, const char *const *args, const char *const *env,
                   int *out_fd, int *err_fd);
int action_wait(pid_t pid, int out_fd, int err_fd, struct action_result *r);

void action_result_free(struct action_result *r);

/* The error code of a failed result ("" if none). */
const char *action_error_code(const struct action_result *r);

#endif
