/* compute.c - the table of compute providers and the session every caller
 * holds (see compute.h; providers: compute_int.h). */
#include "compute_int.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct compute_ops *const providers[] = {
    &compute_local_ops,
    &compute_openstack_ops,
    &compute_digitalocean_ops,
};
#define NPROVIDERS (sizeof providers / sizeof providers[0])

struct compute {
    const struct compute_ops *ops;
    struct compute_be *be;
};

static const char *const state_names[] = {"building", "active", "error", "deleting",
                                          "gone", "stopped"};

const char *machine_state_name(enum machine_state s)
{
    return s <= MACHINE_STOPPED ? state_names[s] : "unknown";
}

const struct compute_ops *compute_lookup(const char *name)
{
    for (size_t i = 0; name && i < NPROVIDERS; i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

static const char *provider_name(size_t i) { return providers[i]->name; }

struct compute *compute_open(const char *provider, struct json_object *settings,
                             struct as_error *err)
{
    const struct compute_ops *ops = compute_lookup(provider);
    if (!ops) {
        as_fail_unknown_provider(err, "compute", provider, provider_name, NPROVIDERS);
        return NULL;
    }
    struct compute *c = xcalloc(1, sizeof *c);
    c->ops = ops;
    if (!(c->be = ops->open(settings, err))) {
        free(c);
        return NULL;
    }
    return c;
}

void compute_close(struct compute *c)
{
    if (!c)
        return;
    c->ops->close(c->be);
    free(c);
}

const char *compute_provider(const struct compute *c)
{
    return c->ops->name;
}

long compute_poll_ms(const struct compute *c)
{
    return c->ops->poll_ms;
}

long compute_poll_first_ms(const struct compute *c)
{
    return c->ops->poll_first_ms;
}

int compute_create(struct compute *c, const struct machine_spec *spec, struct machine *out,
                   struct as_error *err)
{
    return c->ops->create(c->be, spec, out, err);
}

int compute_get(struct compute *c, const char *id, struct machine *out, struct as_error *err)
{
    return c->ops->get(c->be, id, out, err);
}

int compute_find(struct compute *c, const char *group, const char *name, struct machine *out,
                 struct as_error *err)
{
    return c->ops->find(c->be, group, name, out, err);
}

int compute_destroy(struct compute *c, const char *id, struct as_error *err)
{
    return c->ops->destroy(c->be, id, err);
}

int compute_list(struct compute *c, const char *group, struct machine **out, size_t *n,
                 struct as_error *err)
{
    return c->ops->list(c->be, group, out, n, err);
}

bool compute_parks_stopped(const struct compute *c)
{
    return c->ops->stop != NULL;
}

int compute_stop(struct compute *c, const char *id, struct as_error *err)
{
    return c->ops->stop ? c->ops->stop(c->be, id, err) : 0;
}

int compute_start(struct compute *c, const char *id, struct as_error *err)
{
    return c->ops->start ? c->ops->start(c->be, id, err) : 0;
}
