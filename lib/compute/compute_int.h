/* compute_int.h - what a compute provider implements: one table of
 * operations per cloud, so a new cloud is one new file
 * (lib/compute_<name>.c, filling a struct compute_ops), one extern below
 * and one line in compute.c's table, plus its settings in compute_params.h
 * and settings.c's table. Included by compute.c and the providers only;
 * everyone else uses compute.h.
 *
 * A provider reads its settings with settings_str()/settings_int()
 * (settings.h), times with as_parse_time() (clock.h), and waits with
 * as_sleep_ms()/as_interrupted() (signals.h). It never calls up into the
 * node lifecycle (nodes.h) nor into another area. */
#ifndef AS_COMPUTE_INT_H
#define AS_COMPUTE_INT_H

#include <stdio.h>
#include <string.h>

#include "compute.h"

/* A provider's own session state: each provider file defines the struct
 * (one definition per file); compute.c never looks inside. */
struct compute_be;

struct compute_ops {
    const char *name;
    /* settings: see compute_open() (compute.h); compute_params.h lists
     * them and config.schema.yaml says what they mean. No network I/O. */
    struct compute_be *(*open)(struct json_object *settings, struct as_error *err);
    /* What compute_create() ... compute_list() in compute.h promise. */
    int (*create)(struct compute_be *c, const struct machine_spec *spec,
                  struct machine *out, struct as_error *err);
    int (*get)(struct compute_be *c, const char *id, struct machine *out,
               struct as_error *err);
    int (*find)(struct compute_be *c, const char *group, const char *name,
                struct machine *out, struct as_error *err);
    int (*destroy)(struct compute_be *c, const char *id, struct as_error *err);
    int (*list)(struct compute_be *c, const char *group, struct machine **out,
                size_t *n, struct as_error *err);
    /* compute_stop()/compute_start() (compute.h); NULL both: the provider
     * parks a machine running (nothing to stop or start). */
    int (*stop)(struct compute_be *c, const char *id, struct as_error *err);
    int (*start)(struct compute_be *c, const char *id, struct as_error *err);
    void (*close)(struct compute_be *c);
    /* How a wait polls get() (as_backoff, clock.h): first poll_first_ms
     * after the create or destroy, then doubling up to poll_ms, unless
     * settings say another ceiling (poll_interval_ms). The first wait is
     * how soon a look can be worth its cost: a cloud's API counts each
     * request against a rate limit and boots no machine in milliseconds,
     * a local process starts in a few. Each provider says why its own. */
    long poll_first_ms;
    long poll_ms;
};

/* What get() answers for a machine that does not exist: success, with
 * out holding only the id asked for and MACHINE_GONE. */
static inline void machine_gone(struct machine *out, const char *id)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", id);
    out->state = MACHINE_GONE;
}

extern const struct compute_ops compute_local_ops;
extern const struct compute_ops compute_openstack_ops;
extern const struct compute_ops compute_digitalocean_ops;

#endif
