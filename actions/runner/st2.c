/* st2.c - argv parsing and the action process life (see st2.h).
 *
 * st2's local-shell-script runner renders each parameter, casts it to its
 * declared type and builds argv: named ones as --key=value (any order), a
 * true boolean as a bare --key, false and empty values omitted, numbers as
 * 5.0, and positional ones (objects as compact JSON, a missing value as an
 * empty argument) sorted by position. We accept exactly that, plus the forms
 * a person types (--flag=true, --key value is NOT accepted: it is ambiguous
 * with positionals). */
#include "st2.h"
#include "datastore.h"
#include "dns.h"
#include "group.h"
#include "help.h"
#include "lb.h"
#include "nodes.h"
#include "node_pool.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"
#include "utf8.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct as_value {
    bool given;
    const char *text;         /* as received; points into argv */
    long long i;
    double d;
    bool b;
    struct json_object *obj;  /* AS_T_OBJECT */
};

struct as_args {
    const struct as_param *params;
    const char *action; /* argv[0]'s last component, for as_param_range() */
    size_t n;
    struct as_value *v;
};

static const char *const type_names[] = {"string", "integer", "number", "boolean",
                                         "object"};

static size_t param_count(const struct as_param *params)
{
    size_t n = 0;
    while (params[n].name)
        n++;
    return n;
}

static int find_param(const struct as_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->n; i++)
        if (strlen(a->params[i].name) == len &&
            strncmp(a->params[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int find_position(const struct as_args *a, int pos)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->params[i].position == pos)
            return (int)i;
    return -1;
}

static int bad(struct as_error *err, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct as_error *err, const char *name, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                   "parameter '%s' %s", name, msg);
}

/* Exactly what st2 writes for an integer (Python's str() of an int, or of a
 * float for a value that went through a number: "5", "-1", "5.0"): an
 * optional minus, decimal digits without a leading zero, and at most ".0".
 * Not "0x10", "1e3", "+5", " 5", "05", "-0" or "5.5". */
static int parse_integer(const char *s, long long *out)
{
    const char *p = s + (*s == '-');
    const char *digits = p;
    while (*p >= '0' && *p <= '9')
        p++;
    size_t n = (size_t)(p - digits);
    if (n == 0 || n > 18 || (digits[0] == '0' && n > 1) || (*p && strcmp(p, ".0") != 0))
        return -1; /* 18 digits cannot overflow; every range is far below */
    long long v = 0;
    for (const char *d = digits; d < p; d++)
        v = v * 10 + (*d - '0');
    if (*s == '-' && v == 0 && !*p)
        return -1;
    *out = *s == '-' ? -v : v;
    return 0;
}

/* Python's str() of a float or an int: "0.5", "2", "-3.25", "1e-05",
 * "1e+16". Not hex, "inf", "nan", blanks or a '+' sign, which strtod takes. */
static int parse_number(const char *s, double *out)
{
    const char *p = s + (*s == '-');
    size_t n = strspn(p, "0123456789");
    if (n == 0 || (p[0] == '0' && n > 1))
        return -1;
    p += n;
    if (*p == '.') {
        size_t f = strspn(p + 1, "0123456789");
        if (f == 0)
            return -1;
        p += 1 + f;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        p += (*p == '-' || *p == '+');
        size_t e = strspn(p, "0123456789");
        if (e == 0)
            return -1;
        p += e;
    }
    if (*p)
        return -1;
    errno = 0;
    double d = strtod(s, NULL);
    if (errno || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* ---- integer ranges ----
 *
 * Every integer parameter has a range, and a value outside it is refused
 * here, for every action alike. The ranges sit in one table rather than in
 * struct as_param because the rows of the shared settings (compute_params.h,
 * lb.h, dns.h, chef.h, group.h) are positional initialisers spread over many
 * headers: one name has one meaning (and one pack config key) across the
 * pack, so it has one range; the few names that mean different things in
 * different actions are qualified by the action. packlint checks each
 * action's YAML minimum/maximum against as_params_describe(), which prints
 * these. */
struct range {
    const char *action; /* NULL: every action */
    const char *name;
    long long lo, hi;
};

#define GROUP_RANGE(n, kind, def, cfg, lo, hi, check) {NULL, #n, lo, hi},
static const struct range ranges[] = {
    GROUP_FIELDS(GROUP_RANGE)
    {NULL, "deadline", 1, 86400},
    {NULL, "events", 0, 1000},
    {NULL, "lease_ttl", 60, 86400},
    {NULL, "stuck_after", 60, 604800},
    {"node_pick", "count", 1, NODE_PICK_MAX},
    {"pool_take", "count", 1, POOL_TAKE_MAX},
    {"notify", "count", 0, 1000000000},
    {"asg_history", "limit", 1, 1000},
    {"asg_resize", "size", 0, 1000},
    {"refresh_start", "min_healthy_percentage", 0, 100},
    {"refresh_start", "batch", 0, 1000},
    {NULL, "health_timeout", 1, 86400},
    {"asg_schedule_set", "min", -1, 1000},
    {"asg_schedule_set", "max", -1, 1000},
    {NULL, "requested", 0, 1000},
    {NULL, "succeeded", 0, 1000},
    {NULL, "failed", 0, 1000},
    {NULL, "local_port", 1, 65535},
    {NULL, "local_grace_ms", 0, NODE_GRACE_MAX_MS},
    {NULL, "poll_interval_ms", 0, NODE_POLL_MAX_MS},
    {NULL, "ssh_port", 1, 65535},
    {NULL, "dns_ttl", DNS_TTL_MIN, DNS_TTL_MAX},
    {NULL, "lb_server_port", 1, 65535},
    {NULL, "drain_timeout", 0, LB_DRAIN_MAX_S},
    {NULL, "check_timeout", 0, LB_CHECK_MAX_S},
    {NULL, "newrelic_account_id", 0, 2147483647},
};

bool as_param_range(const char *action, const char *name, long long *lo, long long *hi)
{
    const struct range *any = NULL;
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        const struct range *r = &ranges[i];
        if (strcmp(r->name, name) != 0 || (r->lo == 0 && r->hi == 0))
            continue;
        if (r->action && action && strcmp(r->action, action) == 0) {
            any = r;
            break;
        }
        if (!r->action && !any)
            any = r;
    }
    if (any) {
        *lo = any->lo;
        *hi = any->hi;
    }
    return any != NULL;
}

/* String parameters with a fixed set of values (the YAML's enum), refused
 * when parsed: an action that only uses the value on some paths (node_pick
 * reads haproxy_check only for least_loaded) must still refuse a bad one. */
struct choice {
    const char *name;
    const char *const *values;
};

static const struct choice choices[] = {
    {"haproxy_check", (const char *const[]){"on", "off", NULL}},
    {"strategy", (const char *const[]){"newest", "oldest", "least_loaded", "unhealthy", NULL}},
    {"notify_provider", (const char *const[]){"slack", "webhook", "none", NULL}},
};

static int check_choice(const char *name, const char *text, struct as_error *err)
{
    for (size_t i = 0; i < sizeof choices / sizeof *choices; i++) {
        if (strcmp(choices[i].name, name) != 0)
            continue;
        char list[96] = "";
        for (const char *const *v = choices[i].values; *v; v++) {
            if (strcmp(*v, text) == 0)
                return 0;
            strncat(list, v == choices[i].values ? "" : ", ", sizeof list - strlen(list) - 1);
            strncat(list, *v, sizeof list - strlen(list) - 1);
        }
        return bad(err, name, "must be one of %s", list);
    }
    return 0;
}

static int parse_boolean(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on", NULL};
    static const char *const no[] = {"false", "0", "no", "off", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    return -1;
}

static int set_value(struct as_args *a, int idx, const char *text,
                     struct as_error *err)
{
    const struct as_param *p = &a->params[idx];
    struct as_value *v = &a->v[idx];

    if (v->given)
        return as_fail(err, AS_EXIT_BADINPUT, "duplicate_parameter",
                       "parameter '%s' given twice", p->name);
    if (!utf8_valid(text, strlen(text)))
        return bad(err, p->name, "is not valid UTF-8");
    if (p->flags & AS_P_SECRET)
        secret_register(text);

    switch (p->type) {
    case AS_T_STRING:
        if (check_choice(p->name, text, err) < 0)
            return -1;
        break;
    case AS_T_INTEGER: {
        long long lo, hi;
        if (parse_integer(text, &v->i) < 0)
            return bad(err, p->name, "must be a decimal integer, got '%.40s'", text);
        if (as_param_range(a->action, p->name, &lo, &hi) && (v->i < lo || v->i > hi))
            return bad(err, p->name, "must be between %lld and %lld, got %lld", lo, hi,
                       v->i);
        break;
    }
    case AS_T_NUMBER:
        if (parse_number(text, &v->d) < 0)
            return bad(err, p->name, "must be a decimal number, got '%.40s'", text);
        break;
    case AS_T_BOOLEAN:
        if (parse_boolean(text, &v->b) < 0)
            return bad(err, p->name, "must be true or false, got '%s'", text);
        break;
    case AS_T_OBJECT: {
        struct as_error jerr;
        v->obj = jx_parse(text, strlen(text), "value", "invalid_parameter",
                          AS_EXIT_BADINPUT, &jerr);
        if (!v->obj)
            return bad(err, p->name, "%s", jerr.message);
        if (!json_object_is_type(v->obj, json_type_object))
            return bad(err, p->name, "must be a JSON object");
        break;
    }
    }
    v->given = true;
    v->text = text;
    return 0;
}

/* "--key=value" or bare "--key" (a true boolean). */
static int parse_named(struct as_args *a, const char *arg, struct as_error *err)
{
    const char *key = arg + 2, *eq = strchr(key, '=');
    size_t klen = eq ? (size_t)(eq - key) : strlen(key);
    int idx = find_param(a, key, klen);

    if (idx < 0) {
        if (!eq && strcmp(key, "debug") == 0) {
            log_set_level(LOG_DEBUG);
            return 0;
        }
        /* Report the name only when it is a sane identifier: it is echoed. */
        char name[64];
        size_t n = klen < sizeof name - 1 ? klen : sizeof name - 1;
        memcpy(name, key, n);
        name[n] = '\0';
        for (char *c = name; *c; c++)
            if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9')))
                *c = '?';
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_parameter",
                       "unknown parameter '%s'", name);
    }
    if (!eq) {
        if (a->params[idx].type != AS_T_BOOLEAN)
            return bad(err, a->params[idx].name, "needs a value (--%s=...)",
                       a->params[idx].name);
        if (a->v[idx].given)
            return as_fail(err, AS_EXIT_BADINPUT, "duplicate_parameter",
                           "parameter '%s' given twice", a->params[idx].name);
        a->v[idx].given = true;
        a->v[idx].b = true;
        a->v[idx].text = "true";
        return 0;
    }
    if (eq[1] == '\0') /* st2 omits empty values; treat an explicit one alike */
        return 0;
    return set_value(a, idx, eq + 1, err);
}

static int check_required(const struct as_args *a, struct as_error *err)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct as_param *p = &a->params[i];
        if ((p->flags & AS_P_REQUIRED) && !a->v[i].given && !p->def)
            return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                           "missing required parameter '%s'", p->name);
    }
    return 0;
}

static const char *action_name(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    return slash ? slash + 1 : argv0;
}

struct as_args *as_args_parse(const struct as_param *params, int argc,
                              char **argv, struct as_error *err)
{
    struct as_args *a = xcalloc(1, sizeof *a);
    a->params = params;
    a->action = argc > 0 && argv[0] ? action_name(argv[0]) : "";
    a->n = param_count(params);
    a->v = xcalloc(a->n ? a->n : 1, sizeof *a->v);

    int position = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc;
        if (strncmp(arg, "--", 2) == 0 && arg[2]) {
            rc = parse_named(a, arg, err);
        } else {
            int idx = find_position(a, position++);
            if (idx < 0)
                rc = as_fail(err, AS_EXIT_BADINPUT, "unexpected_argument",
                             "unexpected positional argument %d", position - 1);
            else
                rc = *arg ? set_value(a, idx, arg, err) : 0; /* empty = missing */
        }
        if (rc < 0) {
            as_args_free(a);
            return NULL;
        }
    }
    if (check_required(a, err) < 0) {
        as_args_free(a);
        return NULL;
    }
    return a;
}

void as_args_free(struct as_args *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        json_object_put(a->v[i].obj);
    free(a->v);
    free(a);
}

/* Index of a declared parameter; a name not in the table is a bug in the
 * action, caught by the first test that runs it. */
static size_t lookup(const struct as_args *a, const char *name)
{
    int idx = find_param(a, name, strlen(name));
    if (idx < 0) {
        fprintf(stderr, "BUG: parameter '%s' is not declared\n", name);
        abort();
    }
    return (size_t)idx;
}

bool as_arg_given(const struct as_args *a, const char *name)
{
    return a->v[lookup(a, name)].given;
}

const char *as_arg_str(const struct as_args *a, const char *name)
{
    size_t i = lookup(a, name);
    return a->v[i].given ? a->v[i].text : a->params[i].def;
}

long long as_arg_int(const struct as_args *a, const char *name, long long absent)
{
    size_t i = lookup(a, name);
    long long v;
    if (a->v[i].given)
        return a->v[i].i;
    if (a->params[i].def && parse_integer(a->params[i].def, &v) == 0)
        return v;
    return absent;
}

double as_arg_num(const struct as_args *a, const char *name, double absent)
{
    size_t i = lookup(a, name);
    if (a->v[i].given)
        return a->v[i].d;
    double d;
    if (a->params[i].def && parse_number(a->params[i].def, &d) == 0)
        return d;
    return absent;
}

bool as_arg_bool(const struct as_args *a, const char *name)
{
    size_t i = lookup(a, name);
    bool b = false;
    if (a->v[i].given)
        return a->v[i].b;
    if (a->params[i].def)
        parse_boolean(a->params[i].def, &b);
    return b;
}

struct json_object *as_arg_obj(const struct as_args *a, const char *name)
{
    return a->v[lookup(a, name)].obj;
}

_Static_assert(PARAM_SECRET == AS_P_SECRET, "params.h and st2.h disagree on secrets");

void as_args_fill(const struct as_args *a, const struct param_desc *desc, size_t n,
                  void *values)
{
    for (size_t i = 0; i < n; i++) {
        char *field = (char *)values + desc[i].offset;
        if (desc[i].kind == PARAM_INT)
            *(long long *)field = as_arg_int(a, desc[i].name, PARAM_ABSENT);
        else
            *(const char **)field = as_arg_str(a, desc[i].name);
    }
}

struct json_object *as_params_describe(const struct as_param *params)
{
    return as_params_describe_for(params, NULL);
}

struct json_object *as_params_describe_for(const struct as_param *params,
                                           const char *action)
{
    struct json_object *list = jx_new_array();
    for (size_t i = 0; params[i].name; i++) {
        const struct as_param *p = &params[i];
        struct json_object *o = jx_new_object();
        jx_add_str(o, "name", p->name);
        jx_add_str(o, "type", type_names[p->type]);
        jx_add_bool(o, "required", p->flags & AS_P_REQUIRED);
        jx_add_bool(o, "secret", p->flags & AS_P_SECRET);
        jx_add_str(o, "default", p->def);
        jx_add_str(o, "config", p->config);
        long long lo, hi;
        if (p->type == AS_T_INTEGER && as_param_range(action, p->name, &lo, &hi)) {
            jx_add_int(o, "minimum", lo);
            jx_add_int(o, "maximum", hi);
        }
        if (p->position == AS_NAMED)
            json_object_object_add(o, "position", NULL);
        else
            jx_add_int(o, "position", p->position);
        json_object_array_add(list, o);
    }
    return list;
}

struct ds *as_ctx_ds(struct as_ctx *ctx, struct as_error *err)
{
    if (!ctx->ds)
        ctx->ds = ds_open_from_env(err);
    return ctx->ds;
}

struct ds *as_ctx_ds_read_only(struct as_ctx *ctx, struct as_error *err)
{
    if (!ctx->ds)
        ctx->ds = ds_open_from_env_read_only(err);
    return ctx->ds;
}

void as_print_json(struct json_object *doc)
{
    const char *text = json_object_to_json_string_ext(
        doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text) /* json-c's print buffer could not grow */
        xalloc_die(0);
    char *clean = secret_scrub_changed(text);
    fputs(clean ? clean : text, stdout);
    fputc('\n', stdout);
    free(clean);
    fflush(stdout);
}

struct json_object *as_error_json(const struct as_error *err)
{
    struct json_object *e = jx_new_object(), *doc = jx_new_object();
    jx_add_str(e, "code", err->code[0] ? err->code : "error");
    jx_add_str(e, "message", err->message);
    json_object_object_add(doc, "error", e);
    return doc;
}

/* xalloc_die()'s last words in an action: the one JSON document st2
 * shows (as as_error_json() would make it), then exit 1, the status the
 * registry gives out_of_memory. Nothing here allocates: the text is made in
 * a static buffer and written with write(2), not stdio, whose buffers may
 * not exist yet; nothing was printed before, as the document comes last. */
static void action_out_of_memory(size_t n)
{
    static char doc[160];
    const char *code = "out_of_memory";
    int len = n ? snprintf(doc, sizeof doc,
                           "{\"error\":{\"code\":\"%s\",\"message\":\"out of memory "
                           "allocating %zu bytes\"}}\n",
                           code, n)
                : snprintf(doc, sizeof doc,
                           "{\"error\":{\"code\":\"%s\",\"message\":\"out of memory\"}}\n",
                           code);
    ssize_t ignored = write(STDOUT_FILENO, doc, (size_t)len);
    ignored = write(STDERR_FILENO, "autoscale: out of memory\n", 25);
    (void)ignored;
    _exit(AS_EXIT_FAILURE);
}

static int finish(struct json_object *doc)
{
    as_print_json(doc);
    json_object_put(doc);
    return 0;
}

int as_action_main(int argc, char **argv, const struct as_param *params,
                   as_cmd_fn cmd)
{
    /* First: st2's timeout may come at any instant, and from here on a
     * SIGTERM must end in a JSON document, never in a bare death. */
    as_signals_install();
    xalloc_set_handler(action_out_of_memory);

    struct as_error err;
    struct as_ctx ctx = {0};
    struct json_object *result = NULL;
    const char *describe = getenv("AUTOSCALE_DESCRIBE_PARAMS");

    as_error_clear(&err);
    log_init(argv[0]);
    ctx.progname = action_name(argv[0]);
    if (describe && strcmp(describe, "1") == 0)
        return finish(as_params_describe_for(params, ctx.progname));
    /* Before the parser, which would call either an unknown parameter, and
     * before secrets are read: help shows none. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return as_help_print(stdout, ctx.progname, params) < 0 ? AS_EXIT_FAILURE
                                                                   : AS_EXIT_OK;
        if (strcmp(argv[i], "--version") == 0)
            return as_version_print(stdout) < 0 ? AS_EXIT_FAILURE : AS_EXIT_OK;
    }

    ctx.execution_id = getenv("ST2_ACTION_EXECUTION_ID");
    secret_env_args(params, &argc, &argv);
    ctx.args = as_args_parse(params, argc, argv, &err);

    /* A signal that came during start-up stops the action before the
     * command's first write, rather than after its work. */
    int rc = !ctx.args ? -1
             : as_interrupted() ? as_fail(&err, AS_EXIT_FAILURE, "interrupted",
                                          "interrupted by a signal before starting")
                                : cmd(&ctx, &result, &err);
    if (rc == 0 && as_interrupted() && !result)
        rc = as_fail(&err, AS_EXIT_FAILURE, "interrupted", "interrupted by a signal");
    if (rc < 0) {
        log_debug("%s failed: %s: %s", ctx.progname, err.code, err.message);
        finish(as_error_json(&err));
    } else {
        finish(result ? result : jx_new_object());
    }

    ds_close(ctx.ds);
    as_args_free((struct as_args *)ctx.args);
    secret_clear();
    return rc < 0 ? (err.exit ? (int)err.exit : AS_EXIT_FAILURE) : AS_EXIT_OK;
}
