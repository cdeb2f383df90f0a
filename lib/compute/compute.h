/* compute.h - machines from a cloud, for the node actions (nodes.h) and
 * anything else that asks a compute provider for machines: open a session
 * with the group's provider, then create, get, find, destroy and list.
 *
 * A provider knows machines; it knows nothing of our datastore. The node
 * lifecycle (record first, create, wait, record the address; or destroy,
 * wait, forget) lives in nodes.c, above this interface, once for all
 * providers. The providers themselves sit below it (compute_int.h: one
 * table of operations per cloud, as curl has one per TLS library). */
#ifndef AS_COMPUTE_H
#define AS_COMPUTE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum machine_state {
    MACHINE_BUILDING, /* asked for, not yet usable */
    MACHINE_ACTIVE,   /* running, address known */
    MACHINE_ERROR,    /* the provider gave up on it */
    MACHINE_DELETING, /* going away */
    MACHINE_GONE,     /* no such machine (deleted, or never made) */
    MACHINE_STOPPED   /* parked: kept, not running (OpenStack SHUTOFF,
                         DigitalOcean off); only a provider that parks
                         stopped reports it */
};

const char *machine_state_name(enum machine_state s);

struct machine {
    char id[128];    /* the provider's id: a UUID, a droplet number, a local name */
    char name[64];   /* the node's name, which is also the machine's name */
    char group[32];  /* from the machine's tag or metadata; "" if none */
    enum machine_state state;
    char address[64];/* IPv4 address to reach it on; "" until known */
    int port;        /* the port it serves on when the provider decides it
                        (local); 0 when the service's own port applies */
    long long created_at; /* epoch seconds, 0 if unknown */
    char detail[256];/* the provider's words on an error state, one line */
};

/* What to create. Every string is validated before it reaches a provider
 * (group.c's rules for flavor/image/network/key_pair; names are DNS
 * labels), so providers may put them in URLs and JSON as they are. */
struct machine_spec {
    const char *group;
    const char *name;
    const char *flavor, *image, *network, *key_pair; /* NULL: provider default */
    const char *user_data;                           /* NULL: none */
};

struct compute_ops; /* a provider (compute_int.h) */
struct compute;     /* an open session with one provider */

/* The provider of that name, or NULL. */
const struct compute_ops *compute_lookup(const char *name);

/* Open a session with the provider of that name. settings: a JSON object of
 * its settings, keys without the provider prefix ("auth_url", not
 * "openstack_auth_url"), as compute_settings() (compute_params.h) builds
 * it. Opening does no network I/O. A name with no provider is
 * AS_EXIT_BADINPUT "unknown_provider". NULL with err on failure. */
struct compute *compute_open(const char *provider, struct json_object *settings,
                             struct as_error *err);
void compute_close(struct compute *c); /* NULL: nothing */

/* The provider's name ("local", "openstack", ...); the longest wait
 * between two get() while waiting, unless settings say otherwise; and the
 * first wait, from which the waits double up to that (as_backoff, clock.h). */
const char *compute_provider(const struct compute *c);
long compute_poll_ms(const struct compute *c);
long compute_poll_first_ms(const struct compute *c);

/* Ask for a machine; returns once the provider accepted it (state usually
 * BUILDING) with out->id set. Never retried on an ambiguous failure (a POST
 * may have created it): the caller looks with compute_find(). */
int compute_create(struct compute *c, const struct machine_spec *spec, struct machine *out,
                   struct as_error *err);
/* Current state. An absent machine is success with state MACHINE_GONE. */
int compute_get(struct compute *c, const char *id, struct machine *out, struct as_error *err);
/* The machine of this group with this name: 1 found (out filled), 0 none,
 * -1 error. How a retried add_node finds what it created. */
int compute_find(struct compute *c, const char *group, const char *name, struct machine *out,
                 struct as_error *err);
/* Ask for deletion; an absent machine is success. Does not wait. */
int compute_destroy(struct compute *c, const char *id, struct as_error *err);
/* The warm pool (nodes.h node_park/node_activate). A provider parks a
 * machine either stopped (OpenStack: a SHUTOFF server costs no CPU and
 * boots from its disk in seconds) or running (local: a started process is
 * already as cheap as it gets). compute_parks_stopped says which.
 * compute_stop/compute_start ask for the change and return once the
 * provider accepted it (the caller polls get() for STOPPED / ACTIVE); a
 * machine already there is success, one whose state does not allow it is
 * AS_EXIT_FAILURE "machine_conflict". On a provider that parks running
 * both are success without a request. */
bool compute_parks_stopped(const struct compute *c);
int compute_stop(struct compute *c, const char *id, struct as_error *err);
int compute_start(struct compute *c, const char *id, struct as_error *err);
/* Every machine tagged with the group (all pages). *out is malloc'd. */
int compute_list(struct compute *c, const char *group, struct machine **out, size_t *n,
                 struct as_error *err);

#endif
