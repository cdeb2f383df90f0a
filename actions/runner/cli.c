/* cli.c - the multi-call dispatch of actions/bin/autoscale and the operator
 * commands (cli.h). The commands call the same functions as the actions
 * asg_list and asg_get (lib/model/asg.c) and print their JSON as tables, so a
 * table can never say something the action would not. */
#include "cli.h"
#include "asg.h"
#include "group.h"
#include "help.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the read-only datastore ---- */

struct ds *cli_ds_readonly(struct ds *in)
{
    return ds_read_only(in);
}

/* ---- choosing the datastore ---- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* What st2 would put in the environment of an action, taken from the pack
 * config when a person's shell lacks it; then the datastore exactly as an
 * action opens it. Only what is missing is filled in: the environment
 * always wins. */
static struct ds *open_store(struct as_error *err)
{
    const char *choice = env("AUTOSCALE_DATASTORE");
    const char *url = env("ST2_ACTION_API_URL") ? env("ST2_ACTION_API_URL") : env("ST2_API_URL");
    bool embedded = choice ? strcmp(choice, "embedded") == 0 : !url && env("AUTOSCALE_DB");
    bool have_cred = env("ST2_API_KEY") || env("ST2_AUTH_TOKEN") || env("ST2_ACTION_AUTH_TOKEN");

    if (!embedded && (!url || !have_cred)) {
        const char *path = env("AUTOSCALE_CONFIG") ? env("AUTOSCALE_CONFIG") : CLI_CONFIG_DEFAULT;
        static const char *const keys[] = {"st2_api_url", "st2_api_key"};
        char *v[2];
        int rc = cli_config_read(path, keys, v, 2, err);
        if (rc < 0)
            return NULL;
        if (rc == 1 && env("AUTOSCALE_CONFIG")) {
            as_fail(err, AS_EXIT_BADINPUT, "bad_config", "%s does not exist", path);
            return NULL;
        }
        if (v[1])
            secret_register(v[1]);
        for (int i = 0; i < 2; i++)
            if (v[i] && strstr(v[i], "{{")) {
                /* st2 renders it (Jinja, st2kv, decrypt_kv); C cannot. */
                as_fail(err, AS_EXIT_BADINPUT, "bad_config",
                        "%s in %s is a template only st2 renders: export %s instead "
                        "(for a key kept in st2's datastore: st2 key get <name> --decrypt)",
                        keys[i], path, i ? "ST2_API_KEY" : "ST2_API_URL");
                free(v[0]), free(v[1]);
                return NULL;
            }
        int bad = 0;
        if (!url && (v[0] || v[1]))
            bad |= setenv("ST2_API_URL", v[0] ? v[0] : CLI_ST2_API_DEFAULT, 1);
        if (!have_cred && v[1] && *v[1])
            bad |= setenv("ST2_API_KEY", v[1], 1);
        free(v[0]), free(v[1]);
        if (bad) /* the names are valid: only memory fails */
            xalloc_die(0);
    }
    return ds_open_from_env_read_only(err);
}

/* ---- tables ---- */

struct table {
    size_t cols, rows, cap;
    const char *const *head;
    unsigned right; /* bit i: column i is numeric, aligned right */
    char **cells;   /* rows x cols, row-major */
};

/* A cell as a person's terminal may safely show it: a stored value is
 * outside input, and an escape sequence in it must not reach the screen. */
static char *cell_text(const char *s)
{
    char *c = xstrdup(s ? s : "-");
    for (unsigned char *p = (unsigned char *)c; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    return c;
}

static void table_row(struct table *t, ...)
{
    t->cells = xgrow(t->cells, t->rows + 1, &t->cap, t->cols * sizeof *t->cells);
    va_list ap;
    va_start(ap, t);
    for (size_t i = 0; i < t->cols; i++)
        t->cells[t->rows * t->cols + i] = cell_text(va_arg(ap, const char *));
    va_end(ap);
    t->rows++;
}

static size_t width_of(const char *s)
{
    size_t w = 0; /* UTF-8: count the characters, not the bytes */
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void table_print(struct table *t, FILE *out)
{
    size_t w[16] = {0};
    for (size_t c = 0; c < t->cols && c < 16; c++) {
        w[c] = width_of(t->head[c]);
        for (size_t r = 0; r < t->rows; r++) {
            size_t x = width_of(t->cells[r * t->cols + c]);
            w[c] = x > w[c] ? x : w[c];
        }
    }
    for (size_t r = 0; r <= t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * t->cols + c];
            size_t pad = w[c] - width_of(s ? s : "");
            bool last = c + 1 == t->cols;
            if (t->right & (1u << c))
                fprintf(out, "%*s%s", (int)pad, "", s ? s : "");
            else
                fprintf(out, "%s%*s", s ? s : "", last ? 0 : (int)pad, "");
            fputs(last ? "\n" : "  ", out);
        }
    }
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->rows = t->cap = 0;
}

/* ---- formatting values ---- */

struct fmt {
    char buf[12][64];
    int next;
};

/* A field as text, "-" when absent or null; buffers rotate so a row's
 * fields can be formatted in one call. */
static const char *field(struct fmt *f, struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return "-";
    char *b = f->buf[f->next++ % 12];
    if (json_object_is_type(v, json_type_string))
        snprintf(b, 64, "%s", json_object_get_string(v));
    else if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
        snprintf(b, 64, "(%zu)", json_object_is_type(v, json_type_array)
                                     ? json_object_array_length(v)
                                     : (size_t)json_object_object_length(v));
    else
        snprintf(b, 64, "%s", json_object_to_json_string(v));
    return b;
}

static const char *yes_no(struct json_object *o, const char *key)
{
    return jx_bool(o, key, false) ? "yes" : "no";
}

/* Unix seconds as UTC, which is what every log of an st2 host shows. */
static const char *when(struct fmt *f, struct json_object *o, const char *key)
{
    long long t = jx_int(o, key, -1);
    if (t <= 0)
        return "-";
    time_t tt = (time_t)t;
    struct tm tm;
    char *b = f->buf[f->next++ % 12];
    if (!gmtime_r(&tt, &tm) || !strftime(b, 64, "%Y-%m-%d %H:%M:%SZ", &tm))
        snprintf(b, 64, "%lld", t);
    return b;
}

/* ---- the commands ---- */

static int cmd_asg_list(struct ds *ds, FILE *out, struct as_error *err)
{
    struct json_object *doc = NULL;
    if (asg_list(ds, &doc, err) < 0)
        return -1;
    static const char *const head[] = {"GROUP", "STATUS", "MIN", "MAX", "NODES", "CAPACITY",
                                       "ACTIVE", "BUILDING", "FAILED", "ALERT", "BUSY"};
    struct table t = {.cols = 11, .head = head, .right = 0x1fcu};
    struct json_object *groups = jx_arr(doc, "groups");
    for (size_t i = 0; groups && i < json_object_array_length(groups); i++) {
        struct json_object *g = json_object_array_get_idx(groups, i);
        struct json_object *c = jx_obj(g, "counts");
        struct fmt f = {0};
        table_row(&t, field(&f, g, "name"), field(&f, g, "status"), field(&f, g, "min"),
                  field(&f, g, "max"), field(&f, c, "total"), field(&f, c, "capacity"),
                  field(&f, c, "active"), field(&f, c, "building"), field(&f, c, "failed"),
                  yes_no(g, "in_alert"), yes_no(g, "busy"));
    }
    size_t n = t.rows;
    table_print(&t, out);
    fprintf(out, "%zu group%s\n", n, n == 1 ? "" : "s");
    json_object_put(doc);
    return 0;
}

static void nodes_table(struct json_object *nodes, FILE *out)
{
    static const char *const head[] = {"NODE", "STATE", "ADDRESS", "PORT", "PROVIDER",
                                       "PROVIDER_ID", "CREATED", "UPDATED"};
    struct table t = {.cols = 8, .head = head, .right = 0x8u};
    size_t n = nodes ? json_object_array_length(nodes) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *r = json_object_array_get_idx(nodes, i);
        struct fmt f = {0};
        table_row(&t, field(&f, r, "name"), field(&f, r, "state"), field(&f, r, "address"),
                  field(&f, r, "port"), field(&f, r, "provider"), field(&f, r, "provider_id"),
                  when(&f, r, "created_at"), when(&f, r, "updated_at"));
    }
    table_print(&t, out);
    fprintf(out, "%zu node%s\n", n, n == 1 ? "" : "s");
}

/* asg_status's "nodes", as an array whatever shape the records come in. */
static struct json_object *node_array(struct json_object *doc)
{
    struct json_object *nodes = NULL, *arr = jx_new_array();
    if (!json_object_object_get_ex(doc, "nodes", &nodes) || !nodes)
        return arr;
    if (json_object_is_type(nodes, json_type_array)) {
        json_object_put(arr);
        return json_object_get(nodes);
    }
    json_object_object_foreach(nodes, k, v) {
        (void)k;
        json_object_array_add(arr, json_object_get(v));
    }
    return arr;
}

static int load_status(struct ds *ds, const char *name, int events, struct json_object **doc,
                       struct as_error *err)
{
    if (group_check_name(name, err) < 0)
        return -1;
    return asg_status(ds, name, events, doc, err);
}

static int cmd_node_list(struct ds *ds, const char *name, FILE *out, struct as_error *err)
{
    struct json_object *doc = NULL;
    if (load_status(ds, name, 0, &doc, err) < 0)
        return -1;
    struct json_object *nodes = node_array(doc);
    nodes_table(nodes, out);
    json_object_put(nodes);
    json_object_put(doc);
    return 0;
}

static void lease_line(struct json_object *lease, FILE *out)
{
    struct fmt f = {0};
    if (!lease) {
        fputs("lease:    none (no operation in flight)\n", out);
        return;
    }
    fprintf(out, "lease:    %s: %s of %s, taken %s, expires %s (%s)\n",
            field(&f, lease, "id"), field(&f, lease, "op"), field(&f, lease, "count"),
            when(&f, lease, "at"), when(&f, lease, "expires_at"), field(&f, lease, "reason"));
}

static int cmd_asg_get(struct ds *ds, const char *name, int events, FILE *out,
                       struct as_error *err)
{
    struct json_object *doc = NULL;
    if (load_status(ds, name, events, &doc, err) < 0)
        return -1;
    struct json_object *g = jx_obj(doc, "group"), *c = jx_obj(doc, "counts");
    struct json_object *alert = jx_obj(doc, "alert");
    struct fmt f = {0};

    fprintf(out, "group:    %s (%s)\n", field(&f, g, "name"), field(&f, g, "status"));
    fprintf(out, "size:     min %s, max %s, desired %s\n", field(&f, g, "min"),
            field(&f, g, "max"), field(&f, g, "desired"));
    fprintf(out, "nodes:    %s total, %s capacity: %s active, %s building, %s draining, "
                 "%s failed, %s deleting, %s unknown\n",
            field(&f, c, "total"), field(&f, c, "capacity"), field(&f, c, "active"),
            field(&f, c, "building"), field(&f, c, "draining"), field(&f, c, "failed"),
            field(&f, c, "deleting"), field(&f, c, "unknown"));
    struct json_object *inc = jx_arr(alert, "incidents");
    fprintf(out, "alert:    %s (%zu incident%s)\n",
            jx_bool(alert, "in_alert", false) ? "IN ALERT" : "none",
            inc ? json_object_array_length(inc) : 0,
            inc && json_object_array_length(inc) == 1 ? "" : "s");
    lease_line(jx_obj(doc, "lease"), out);

    /* Every setting of the spec but the group's own settings object,
     * whose values may be credentials: only its keys are named. */
    static const char *const shead[] = {"SETTING", "VALUE"};
    struct table st = {.cols = 2, .head = shead};
    json_object_object_foreach(g, key, val) {
        if (!val || strcmp(key, "name") == 0 || strcmp(key, "status") == 0)
            continue;
        struct fmt v = {0};
        char keys[64] = "";
        if (strcmp(key, "settings") == 0 && json_object_is_type(val, json_type_object)) {
            json_object_object_foreach(val, sk, sv) {
                (void)sv;
                snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s",
                         *keys ? "," : "", sk);
            }
            table_row(&st, key, keys);
        } else if (strcmp(key, "created_at") == 0 || strcmp(key, "updated_at") == 0) {
            table_row(&st, key, when(&v, g, key));
        } else {
            table_row(&st, key, field(&v, g, key));
        }
    }
    fputc('\n', out);
    table_print(&st, out);

    fputc('\n', out);
    struct json_object *nodes = node_array(doc);
    nodes_table(nodes, out);
    json_object_put(nodes);

    fputc('\n', out);
    static const char *const ehead[] = {"FINISHED", "OP", "COUNT", "SUCCEEDED", "FAILED",
                                        "RESULT", "LEASE"};
    struct table et = {.cols = 7, .head = ehead, .right = 0x1cu};
    struct json_object *ev = jx_arr(doc, "events");
    size_t n = ev ? json_object_array_length(ev) : 0;
    for (size_t i = n; i-- > 0;) { /* newest first, as a person reads a history */
        struct json_object *e = json_object_array_get_idx(ev, i);
        struct fmt ef = {0};
        table_row(&et, when(&ef, e, "finished_at"), field(&ef, e, "op"),
                  field(&ef, e, "count"), field(&ef, e, "succeeded"), field(&ef, e, "failed"),
                  field(&ef, e, "result"), field(&ef, e, "lease_id"));
    }
    table_print(&et, out);
    fprintf(out, "%zu scaling event%s shown\n", n, n == 1 ? "" : "s");
    json_object_put(doc);
    return 0;
}

static int cmd_lease_list(struct ds *ds, FILE *out, struct as_error *err)
{
    struct asg_state *st = NULL;
    size_t n = 0;
    if (asg_state_load_all(ds, &st, &n, err) < 0)
        return -1;
    static const char *const head[] = {"GROUP", "LEASE", "OP", "COUNT", "TAKEN", "EXPIRES",
                                       "REASON"};
    struct table t = {.cols = 7, .head = head, .right = 0x8u};
    for (size_t i = 0; i < n; i++) {
        struct json_object *l = st[i].lease;
        struct fmt f = {0};
        if (l)
            table_row(&t, st[i].spec.name, field(&f, l, "id"), field(&f, l, "op"),
                      field(&f, l, "count"), when(&f, l, "at"), when(&f, l, "expires_at"),
                      field(&f, l, "reason"));
    }
    size_t held = t.rows;
    table_print(&t, out);
    fprintf(out, "%zu lease%s held, %zu group%s\n", held, held == 1 ? "" : "s", n,
            n == 1 ? "" : "s");
    asg_state_free_all(st, n);
    return 0;
}

static const char operator_usage[] =
    "operator commands (read only; tables for people):\n"
    "  autoscale asg list                   every group: size, node counts, alert, lease\n"
    "  autoscale asg get NAME [--events=N]  one group: spec, nodes, lease, last N events\n"
    "  autoscale node list GROUP            a group's node records\n"
    "  autoscale lease list                 every operation in flight\n"
    "The datastore: st2's at $ST2_API_URL with $ST2_API_KEY (or $ST2_AUTH_TOKEN);\n"
    "what is unset comes from the pack config ($AUTOSCALE_CONFIG, default\n"
    CLI_CONFIG_DEFAULT ": st2_api_url, st2_api_key).\n"
    "Or the embedded store: AUTOSCALE_DB=<file>.\n";

/* The reason, the word it is about, and the usage: on stderr. */
static int usage_error(const char *why, const char *what)
{
    fprintf(stderr, "autoscale: %s: '%s'\n%s", why, what, operator_usage);
    return AS_EXIT_BADINPUT;
}

int cli_operator(int argc, char **argv, FILE *out)
{
    const char *noun = argv[0], *verb = argc > 1 ? argv[1] : "";
    const char *name = NULL;
    long long events = 10;
    int extra = 0;

    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--events=", 9) == 0 && strcmp(noun, "asg") == 0 &&
            strcmp(verb, "get") == 0) {
            char *end;
            events = strtoll(argv[i] + 9, &end, 10);
            if (*end || end == argv[i] + 9 || events < 0 || events > 1000)
                return usage_error("--events must be 0 to 1000", argv[i]);
        } else if (argv[i][0] == '-') {
            return usage_error("unknown option", argv[i]);
        } else if (!name) {
            name = argv[i];
        } else {
            extra = 1;
        }
    }
    bool needs_name = (strcmp(noun, "asg") == 0 && strcmp(verb, "get") == 0) ||
                      strcmp(noun, "node") == 0;
    bool known = (strcmp(noun, "asg") == 0 && (strcmp(verb, "list") == 0 ||
                                               strcmp(verb, "get") == 0)) ||
                 (strcmp(noun, "node") == 0 && strcmp(verb, "list") == 0) ||
                 (strcmp(noun, "lease") == 0 && strcmp(verb, "list") == 0);
    if (!known)
        return usage_error("unknown command", noun);
    if (extra || (name && !needs_name))
        return usage_error("too many arguments for", noun);
    if (needs_name && !name)
        return usage_error("a group name is needed by", noun);

    struct as_error err;
    as_error_clear(&err);
    struct ds *ds = open_store(&err);
    int rc = -1;
    if (ds) {
        if (strcmp(noun, "lease") == 0)
            rc = cmd_lease_list(ds, out, &err);
        else if (strcmp(noun, "node") == 0)
            rc = cmd_node_list(ds, name, out, &err);
        else if (strcmp(verb, "list") == 0)
            rc = cmd_asg_list(ds, out, &err);
        else
            rc = cmd_asg_get(ds, name, (int)events, out, &err);
        ds_close(ds);
    }
    fflush(out);
    if (rc < 0) {
        char *msg = secret_scrub(err.message);
        fprintf(stderr, "autoscale: %s: %s\n", err.code, msg);
        free(msg);
    }
    secret_clear();
    return rc < 0 ? (err.exit ? (int)err.exit : AS_EXIT_FAILURE) : AS_EXIT_OK;
}

/* ---- dispatch ---- */

static const struct as_action *find_action(const struct as_action *const *actions,
                                           const char *name)
{
    for (size_t i = 0; actions[i]; i++)
        if (strcmp(actions[i]->name, name) == 0)
            return actions[i];
    return NULL;
}

static int overview(FILE *out, const struct as_action *const *actions)
{
    fprintf(out, "usage: autoscale ACTION [--param=value ...]   run an action as st2 does\n"
                 "       autoscale ACTION --help                 its parameters\n"
                 "       autoscale asg|node|lease ...            operator commands, below\n"
                 "       autoscale --version\n\n"
                 "Each action is also the link actions/bin/ACTION, which st2 runs.\n"
                 "Actions:\n");
    for (size_t i = 0; actions[i]; i++) {
        const char *about = as_help_lookup(actions[i]->name, NULL);
        char line[80];
        /* The first clause, in one line: the whole text is in ACTION --help. */
        snprintf(line, sizeof line, "%s", about ? about : "");
        line[strcspn(line, ".:;(")] = '\0';
        if (strlen(line) > 58) {
            char *space = line + 55;
            while (space > line && *space != ' ')
                space--;
            strcpy(space, "...");
        }
        for (size_t len = strlen(line); len && (line[len - 1] == ' ' || line[len - 1] == '-');)
            line[--len] = '\0';
        fprintf(out, "  %-16s %s\n", actions[i]->name, line);
    }
    fprintf(out, "\n%s", operator_usage);
    fflush(out);
    return ferror(out) ? AS_EXIT_FAILURE : AS_EXIT_OK;
}

int cli_main(int argc, char **argv, const struct as_action *const *actions)
{
    const char *arg0 = argc > 0 && argv[0] ? argv[0] : "autoscale";
    const char *slash = strrchr(arg0, '/');
    const char *base = slash ? slash + 1 : arg0;
    const struct as_action *a = find_action(actions, base);

    if (a) /* run by st2 through actions/bin/<action> */
        return as_action_main(argc, argv, a->params, a->cmd);
    if (strncmp(base, "autoscale", 9) != 0) { /* autoscale, autoscale_chef */
        /* A link of a name no action has: st2 still wants one JSON document. */
        struct as_error err;
        as_fail(&err, AS_EXIT_BADINPUT, "unknown_action",
                "no action is named '%.64s' (actions/bin/autoscale --help lists them)", base);
        struct json_object *doc = as_error_json(&err);
        as_print_json(doc);
        json_object_put(doc);
        return AS_EXIT_BADINPUT;
    }
    if (argc < 2) {
        overview(stderr, actions);
        return AS_EXIT_BADINPUT;
    }
    if ((a = find_action(actions, argv[1])))
        return as_action_main(argc - 1, argv + 1, a->params, a->cmd);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return overview(stdout, actions);
    if (strcmp(argv[1], "--version") == 0)
        return as_version_print(stdout) < 0 ? AS_EXIT_FAILURE : AS_EXIT_OK;
    log_init("autoscale");
    return cli_operator(argc - 1, argv + 1, stdout);
}
