/* compute.h - the compute provider interface: one table of operations per
 * cloud (as curl has one per protocol), so a new cloud is one new file
 * (lib/compute_<name>.c) and one line in compute.c's table.
 *
 * A provider knows machines; it knows nothing of our datastore. The node
 * lifecycle (record first, create, wait, record the address; or destroy,
 * wait, forget) lives in nodes.c, above this interface, once for all
 * providers. */
#ifndef AS_COMPUTE_H
#define AS_COMPUTE_H

#include <json-c/json.h>
#include <stddef.h>

#include "error.h"

enum machine_state {
    MACHINE_BUILDING, /* asked for, not yet usable */
    MACHINE_ACTIVE,   /* running, address known */
    MACHINE_ERROR,    /* the provider gave up on it */
    MACHINE_DELETING, /* going away */
    MACHINE_GONE      /* no such machine (deleted, or never made) */
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

struct compute; /* an open session with one provider */

struct compute_ops {
    const char *name;
    /* settings: a JSON object of this provider's settings, keys without the
     * provider prefix ("auth_url", not "openstack_auth_url"); see
     * compute_params.h for the list and config.schema.yaml for meanings.
     * Opening does no network I/O. */
    struct compute *(*open)(struct json_object *settings, struct as_error *err);
    /* Ask for a machine; returns once the provider accepted it (state
     * usually BUILDING) with out->id set. Never retried on an ambiguous
     * failure (a POST may have created it): the caller looks with find(). */
    int (*create)(struct compute *c, const struct machine_spec *spec,
                  struct machine *out, struct as_error *err);
    /* Current state. An absent machine is success with state MACHINE_GONE. */
    int (*get)(struct compute *c, const char *id, struct machine *out,
               struct as_error *err);
    /* The machine of this group with this name: 1 found (out filled),
     * 0 none, -1 error. How a retried add_node finds what it created. */
    int (*find)(struct compute *c, const char *group, const char *name,
                struct machine *out, struct as_error *err);
    /* Ask for deletion; an absent machine is success. Does not wait. */
    int (*destroy)(struct compute *c, const char *id, struct as_error *err);
    /* Every machine tagged with the group (all pages). *out is malloc'd. */
    int (*list)(struct compute *c, const char *group, struct machine **out,
                size_t *n, struct as_error *err);
    void (*close)(struct compute *c);
    /* Milliseconds between two get() while waiting, unless settings say. */
    long poll_ms;
};

/* The provider of that name, or NULL. */
const struct compute_ops *compute_lookup(const char *name);

/* Open a provider by name with its settings; a name with no provider is
 * AS_EXIT_BADINPUT "unknown_provider". */
struct compute *compute_open(const char *provider, struct json_object *settings,
                             const struct compute_ops **ops, struct as_error *err);

/* Settings helpers for providers: a string (NULL if absent or empty), an
 * integer (fallback if absent), each type-checked. */
const char *compute_setting(struct json_object *settings, const char *key);
long long compute_setting_int(struct json_object *settings, const char *key,
                              long long fallback);

#endif
