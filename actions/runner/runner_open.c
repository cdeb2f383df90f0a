/* runner_open.c - see runner_open.h. */
#include "runner_open.h"
#include "compute_params.h"
#include "settings.h"

#include <stdio.h>
#include <string.h>

#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "signals.h"

int as_node_open(struct as_ctx *ctx, long long deadline, bool any_status,
                 struct node_ctx *nc, struct group *g, struct as_error *err)
{
    return as_node_open_group(ctx, as_arg_str(ctx->args, "name"), deadline, any_status, nc, g,
                              err);
}

int as_node_open_group(struct as_ctx *ctx, const char *name, long long deadline,
                       bool any_status, struct node_ctx *nc, struct group *g,
                       struct as_error *err)
{
    struct node_request req = {.group = name,
                               .deadline = deadline,
                               .any_status = any_status,
                               .allowed = as_arg_str(ctx->args, SETTINGS_ALLOW_NAME)};
    as_args_fill(ctx->args, compute_param_desc, compute_param_count, &req.params);
    struct ds *ds;
    if (node_request_check(&req, err) < 0 || !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return node_ctx_open(nc, ds, &req, g, err);
}

void as_node_close(struct node_ctx *nc, struct group *g)
{
    node_ctx_close(nc);
    group_clear(g);
}

int as_lb_open(struct as_ctx *ctx, struct lb_ctx *c, struct as_error *err)
{
    return as_lb_open_group(ctx, as_arg_str(ctx->args, "name"), c, err);
}

int as_lb_open_group(struct as_ctx *ctx, const char *name, struct lb_ctx *c,
                     struct as_error *err)
{
    struct lb_params p;
    struct ds *ds;
    as_args_fill(ctx->args, lb_param_desc, lb_param_count, &p);
    if (group_check_name(name, err) < 0 || !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return lb_ctx_open(c, ds, name, &p, as_arg_str(ctx->args, SETTINGS_ALLOW_NAME), err);
}

/* Each group's outcome as one entry; a failure goes on stderr too, where
 * st2 keeps it with the execution. */
static void each_one(struct as_ctx *ctx, as_group_fn *one, const char *name,
                     struct json_object *groups, int *failed, struct as_error *first,
                     char *names, size_t namesz)
{
    struct json_object *res = NULL, *o = jx_new_object();
    struct as_error e;
    memset(&e, 0, sizeof e);
    jx_add_str(o, "group", name);
    int rc = one(ctx, name, &res, &e);
    if (rc < 0) {
        log_error("%s: %s: %s", name, e.code, e.message);
        if (!(*failed)++)
            *first = e;
        size_t n = strlen(names);
        snprintf(names + n, namesz - n, "%s%.40s", n ? ", " : "", name);
        struct json_object *eo = jx_new_object();
        jx_add_str(eo, "code", e.code);
        jx_add_str(eo, "message", e.message);
        json_object_object_add(o, "error", eo);
    } else {
        json_object_object_add(o, rc > 0 ? "skipped" : "result", res);
    }
    json_object_array_add(groups, o);
}

int as_each_group(struct as_ctx *ctx, as_group_fn *one, struct json_object **out,
                  struct as_error *err)
{
    char prefix[KEY_MAX], names[300] = "";
    struct ds_list l;
    struct ds *ds;
    struct as_error first;
    int failed = 0;
    memset(&l, 0, sizeof l);
    if (!(ds = as_ctx_ds(ctx, err)) || ds_list(ds, key_spec_prefix(prefix), &l, err) < 0)
        return -1;
    struct json_object *groups = jx_new_array();
    for (size_t i = 0; i < l.count && !as_interrupted(); i++)
        each_one(ctx, one, key_leaf(l.items[i].name), groups, &failed, &first, names,
                 sizeof names);
    size_t total = l.count;
    ds_list_clear(&l);
    if (as_interrupted()) {
        json_object_put(groups);
        return as_fail(err, AS_EXIT_FAILURE, "interrupted", "interrupted between groups");
    }
    if (failed) {
        json_object_put(groups);
        *err = first;
        int n = snprintf(err->message, sizeof err->message,
                         "%d of %zu groups failed (%.200s); first: ", failed, total, names);
        if (n > 0 && (size_t)n < sizeof err->message) { /* as much of it as fits */
            size_t len = strnlen(first.message, sizeof err->message - (size_t)n - 1);
            memcpy(err->message + n, first.message, len);
            err->message[(size_t)n + len] = '\0';
        }
        return -1;
    }
    *out = jx_new_object();
    json_object_object_add(*out, "groups", groups);
    jx_add_int(*out, "failed", 0);
    return 0;
}
