/* fuzz_args.c - libFuzzer target for argv parsing (as_args_parse, actions/runner/st2.c)
 * and the group spec it feeds (group_apply / group_validate,
 * lib/model/group.c).
 *
 * The input is argv[1..], split at NUL bytes (st2 hands each token over
 * separately, so any byte but NUL can be in one). It is parsed against two
 * tables: asg_define's (every group field, with defaults, plus a positional
 * object) and a table with every type, flag and position the parser knows.
 * Invariants:
 *   NULL  => a clean one-line error, exit class bad input (or out of memory);
 *   a set => every required parameter is there, every given string is valid
 *            UTF-8, every object is a JSON object, and a spec built from it
 *            either validates or is refused with a clean error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "group.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"
#include "st2.h"
#include "utf8.h"

static const struct as_param define_params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    GROUP_FIELDS(AS_GROUP_ROW)
    {"settings", AS_T_OBJECT, 0, NULL, NULL, 0},
    AS_PARAM_END,
};

static const struct as_param every_kind[] = {
    {"s", AS_T_STRING, 0, "dflt", NULL, AS_NAMED},
    {"req", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"key", AS_T_STRING, AS_P_SECRET, NULL, "api_key", AS_NAMED},
    {"i", AS_T_INTEGER, 0, "5", NULL, AS_NAMED},
    {"n", AS_T_NUMBER, 0, "2.5", NULL, AS_NAMED},
    {"b", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"body", AS_T_OBJECT, 0, NULL, NULL, 0},
    {"count", AS_T_INTEGER, 0, NULL, NULL, 1},
    {"flag", AS_T_BOOLEAN, 0, NULL, NULL, 2},
    {"text", AS_T_STRING, 0, NULL, NULL, 3},
    AS_PARAM_END,
};

#define MAX_ARGS 64

static void check_parsed(const struct as_param *params, const struct as_args *a)
{
    for (size_t i = 0; params[i].name; i++) {
        const struct as_param *p = &params[i];
        bool given = as_arg_given(a, p->name);
        if ((p->flags & AS_P_REQUIRED) && !p->def)
            fz_check(given, "a required parameter is present");
        const char *s = as_arg_str(a, p->name);
        if (given) {
            fz_check(s && *s, "a given value has text");
            fz_check(utf8_valid(s, strlen(s)), "a given value is UTF-8");
        }
        switch (p->type) {
        case AS_T_INTEGER:
            (void)as_arg_int(a, p->name, -1);
            break;
        case AS_T_NUMBER: {
            double d = as_arg_num(a, p->name, 0);
            fz_check(d == d, "a number is not NaN");
            break;
        }
        case AS_T_BOOLEAN:
            (void)as_arg_bool(a, p->name);
            break;
        case AS_T_OBJECT:
            fz_check(!given || json_object_is_type(as_arg_obj(a, p->name), json_type_object),
                     "an object parameter holds an object");
            break;
        case AS_T_STRING:
            break;
        }
    }
}

static void run(const struct as_param *params, int argc, char **argv, bool spec)
{
    struct as_error err;
    as_error_clear(&err);
    struct as_args *a = as_args_parse(params, argc, argv, &err);
    if (!a) {
        fz_check_error(&err);
        fz_check(err.exit == AS_EXIT_BADINPUT || strcmp(err.code, "out_of_memory") == 0,
                 "a parse error is bad input");
        return;
    }
    check_parsed(params, a);
    if (spec) {
        struct group g;
        struct group_params p;
        as_args_fill(a, group_param_desc, group_param_count, &p);
        group_init(&g, as_arg_str(a, "name"));
        group_apply(&g, &p);
        if (as_arg_obj(a, "settings"))
            g.settings = json_object_get(as_arg_obj(a, "settings"));
        as_error_clear(&err);
        if (group_validate(&g, &err) < 0) {
            fz_check_error(&err);
        } else {
            fz_check(g.min <= g.max, "a valid spec has min <= max");
            struct json_object *o = group_to_json(&g);
            struct group back;
            fz_check(group_from_json(&back, o, &err) == 0, "a valid spec reads back");
            char diff[256];
            fz_check(group_diff(&g, &back, diff, sizeof diff) == 0,
                     "a valid spec round-trips unchanged");
            group_clear(&back);
            json_object_put(o);
        }
        group_clear(&g);
    }
    as_args_free(a);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_level(LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_piece pieces[MAX_ARGS];
    char *argv[MAX_ARGS + 2];
    if (size > 1 << 20)
        return 0;
    /* fz_split works on strings; NUL is the separator here. */
    size_t n = 0;
    const uint8_t *p = data, *end = data + size;
    while (p <= end && n < MAX_ARGS) {
        const uint8_t *z = memchr(p, '\0', (size_t)(end - p));
        size_t len = z ? (size_t)(z - p) : (size_t)(end - p);
        pieces[n].s = malloc(len + 1);
        memcpy(pieces[n].s, p, len);
        pieces[n].s[len] = '\0';
        pieces[n].len = len;
        n++;
        if (!z)
            break;
        p = z + 1;
    }
    argv[0] = "fuzz_args";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = pieces[i].s;
    argv[n + 1] = NULL;

    run(define_params, (int)n + 1, argv, true);
    run(every_kind, (int)n + 1, argv, false);
    secret_clear();
    fz_pieces_free(pieces, n);
    return 0;
}
