/* runner_open.c - see runner_open.h. */
#include "runner_open.h"
#include "compute_params.h"
#include "settings.h"

int as_node_open(struct as_ctx *ctx, long long deadline, bool any_status,
                 struct node_ctx *nc, struct group *g, struct as_error *err)
{
    struct node_request req = {.group = as_arg_str(ctx->args, "name"),
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
    const char *name = as_arg_str(ctx->args, "name");
    struct lb_params p;
    struct ds *ds;
    as_args_fill(ctx->args, lb_param_desc, lb_param_count, &p);
    if (group_check_name(name, err) < 0 || !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return lb_ctx_open(c, ds, name, &p, as_arg_str(ctx->args, SETTINGS_ALLOW_NAME), err);
}
