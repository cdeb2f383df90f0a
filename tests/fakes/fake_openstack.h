/* fake_openstack.h - a stateful, in-process fake of the parts of OpenStack the
 * openstack compute provider (lib/compute/compute_openstack.c) talks to, on
 * libmicrohttpd, for tests and benchmarks.
 *
 * It follows the API references (Keystone v3, Nova v2.1, Glance v2,
 * Neutron v2.0):
 *
 *   POST   /v3/auth/tokens        password (user name + domain, project scope)
 *                                 or application_credential (id + secret)
 *                                 201 {"token": {..., "catalog": [...]}},
 *                                 token in X-Subject-Token | 400 | 401
 *   POST   /v2.1/servers          202 {"server": {"id","links","adminPass",...}}
 *                                 | 400 badRequest | 403 forbidden (quota)
 *   GET    /v2.1/servers/{id}     200 {"server": {...}} | 404 itemNotFound
 *   DELETE /v2.1/servers/{id}     204 | 404 itemNotFound | 409 conflictingRequest
 *   GET    /v2.1/servers/detail   ?name= (POSIX ERE, like Nova's regex filter)
 *                                 &limit=&marker=; newest first;
 *                                 "servers_links" next when a page is full
 *   GET    /v2.1/flavors/detail   ?limit=&marker=, "flavors_links"
 *   GET    /v2/images?name=       Glance: exact name
 *   GET    /v2.0/networks?name=   Neutron: exact name
 *
 * Every request but the token request needs a valid X-Auth-Token, else 401
 * {"error": {"code": 401, "title": "Unauthorized", "message": ...}} as
 * keystonemiddleware answers. Nova's errors are {"<kind>": {"message": ...,
 * "code": N}} with Nova's kinds (badRequest, itemNotFound, ...).
 *
 * URL layout: everything lives under fake_openstack_base(): the identity
 * service at <base>/identity/v3, and every other service once per region
 * (RegionOne, RegionTwo) and interface (public, internal, admin) at
 * <base>/<region>/<interface>/{compute/v2.1,image,network}, each listed in
 * the token's catalog. So a test can tell from fake_openstack_last_path()
 * which catalog endpoint a client picked. <base> carries a per-instance
 * path segment, so two fakes that happen to get the same port one after the
 * other still have different URLs (a client may cache tokens by auth URL).
 *
 * Servers go BUILD -> ACTIVE (or ERROR with a fault) after a configurable
 * number of GET /servers/{id} polls; DELETE marks them task_state "deleting"
 * and they are gone (404) after another number of polls. Listing shows the
 * state as it is and never advances it. An ACTIVE server's addresses list an
 * IPv6 fixed address before the IPv4 one on every network, so a client
 * that takes "the first address" gets it wrong.
 *
 * Where the reference leaves a choice the fake takes the one harder on a
 * client: the Nova schema's "additionalProperties": false is enforced on
 * the create body, "networks" is required from microversion 2.37 and "auto"
 * refused before it, limits above the maximum page are clamped, and with
 * echo on, credentials are echoed back in error bodies so tests prove the
 * client keeps them out of its own messages. Thread-safe: the server runs
 * one thread per connection and every knob may be turned while it runs. */
#ifndef FAKE_OPENSTACK_H
#define FAKE_OPENSTACK_H

#include <stddef.h>

/* The identities the fake accepts when started with NULL config. */
#define FAKE_OS_USERNAME "demo"
#define FAKE_OS_PASSWORD "pw-5ecret-0123456789"
#define FAKE_OS_PROJECT "demo-project"
#define FAKE_OS_DOMAIN "Default"
#define FAKE_OS_APPCRED_ID "6cb5fa6a13184e6fab65ba2108adf50c"
#define FAKE_OS_APPCRED_SECRET "ac-5ecret-fedcba9876543210"
/* Ids of the default catalogue: flavors "1" m1.tiny, "2" m1.small,
 * "3" m1.medium; images and networks below; key pair "mykey". */
#define FAKE_OS_IMAGE_NAME "cirros-0.6.2-x86_64-disk"
#define FAKE_OS_IMAGE_ID "8a2ea5f4-3c1b-4a9e-9c4e-0f1e2d3c4b5a"
#define FAKE_OS_NET_PRIVATE_ID "3f0a1c52-7d1e-4b8a-a2c4-9e8d7c6b5a40"
#define FAKE_OS_NET_PUBLIC_ID "b7e1f3a9-2c4d-4e6f-8a0b-1c2d3e4f5a6b"

struct fake_openstack;

struct fake_openstack_config {
    const char *username, *password, *user_domain; /* user_domain: its name */
    const char *project, *project_domain;
    const char *app_cred_id, *app_cred_secret;       /* NULL: none accepted */
};

/* Listen on an ephemeral port of 127.0.0.1. cfg NULL: the FAKE_OS_*
 * identities above. NULL on failure. */
struct fake_openstack *fake_openstack_start(const struct fake_openstack_config *cfg);
void fake_openstack_stop(struct fake_openstack *f);

/* "http://127.0.0.1:PORT/os<N>/identity/v3": what auth_url holds. */
const char *fake_openstack_auth_url(const struct fake_openstack *f);
/* "http://127.0.0.1:PORT/os<N>": every URL the fake serves starts so. */
const char *fake_openstack_base(const struct fake_openstack *f);

/* ---- endpoints, for counters, faults and delays ---- */
enum fake_os_endpoint {
    FAKE_OS_ANY = 0,
    FAKE_OS_AUTH,     /* POST /v3/auth/tokens */
    FAKE_OS_CREATE,   /* POST /servers */
    FAKE_OS_GET,      /* GET /servers/{id} */
    FAKE_OS_DELETE,   /* DELETE /servers/{id} */
    FAKE_OS_LIST,     /* GET /servers/detail (and /servers) */
    FAKE_OS_FLAVORS,  /* GET /flavors/detail (and /flavors) */
    FAKE_OS_IMAGES,   /* GET /v2/images */
    FAKE_OS_NETWORKS, /* GET /v2.0/networks */
    FAKE_OS_ACTION,   /* POST /servers/{id}/action (os-stop, os-start) */
    FAKE_OS_OTHER     /* anything else (404/405) */
};

/* ---- lifecycle ---- */
/* How many GET /servers/{id} answer BUILD before the server turns ACTIVE
 * (default 2), and how many answer task_state "deleting" after a DELETE
 * before 404 (default 1). Apply to servers created afterwards. */
void fake_openstack_set_build_polls(struct fake_openstack *f, int n);
void fake_openstack_set_delete_polls(struct fake_openstack *f, int n);
/* How many GET /servers/{id} show task_state powering-off (os-stop) or
 * powering-on (os-start) before the server is SHUTOFF / ACTIVE (default
 * 2). Applies to actions accepted afterwards. */
void fake_openstack_set_power_polls(struct fake_openstack *f, int n);
/* The next n servers created end in ERROR with this fault message instead
 * of ACTIVE (fault code 500, as Nova's "No valid host was found"). */
void fake_openstack_fail_builds(struct fake_openstack *f, int n, const char *message);
/* A locked server refuses DELETE with 409, as Nova does. */
void fake_openstack_lock_server(struct fake_openstack *f, const char *id, int locked);
/* At most this many servers (0: unlimited, the default): one more create
 * is 403 "Quota exceeded for instances: ...". */
void fake_openstack_set_quota(struct fake_openstack *f, int max_instances);
/* Nova's osapi_max_limit: the largest page (default 1000). */
void fake_openstack_set_max_limit(struct fake_openstack *f, int n);

/* ---- catalogue ---- */
void fake_openstack_add_flavor(struct fake_openstack *f, const char *id, const char *name);
void fake_openstack_add_image(struct fake_openstack *f, const char *id, const char *name);
void fake_openstack_add_network(struct fake_openstack *f, const char *id, const char *name);
void fake_openstack_add_keypair(struct fake_openstack *f, const char *name);

/* ---- tokens ---- */
/* Every token issued so far stops working (as if expired or revoked): the
 * next request with one is 401. */
void fake_openstack_expire_tokens(struct fake_openstack *f);
/* Newly allocated copy of the last token issued, NULL if none. */
char *fake_openstack_token(struct fake_openstack *f);

/* ---- fault injection ---- */
/* The next n requests to endpoint ep (FAKE_OS_ANY: any) get `status` with
 * the service's error body, before authentication, as an overloaded API
 * answers. retry_after_s >= 0 adds "Retry-After: <s>". Replaces any pending
 * injection (one at a time). */
void fake_openstack_fail_next(struct fake_openstack *f, enum fake_os_endpoint ep, int n,
                              int status, long retry_after_s);
/* The next n requests to ep get their success status with a body that is
 * not JSON (cut short). */
void fake_openstack_malformed_next(struct fake_openstack *f, enum fake_os_endpoint ep,
                                   int n);
/* Hold every answer of ep (FAKE_OS_ANY: all) this long after doing the work
 * (0: off), so a client that times out leaves the effect behind, as a real
 * slow API does. Cut short by stop. */
void fake_openstack_set_delay_ms(struct fake_openstack *f, enum fake_os_endpoint ep,
                                 long ms);
/* 1: error bodies quote the X-Auth-Token (and a refused password) back. */
void fake_openstack_set_echo_credentials(struct fake_openstack *f, int on);
/* The form a refused password is quoted back in: as given, or encoded the
 * way some server, library or log writes it, inside the error's message
 * (which the body then carries as a JSON string, as Keystone's does). */
enum fake_os_echo_form {
    FAKE_OS_ECHO_RAW,
    FAKE_OS_ECHO_JSON,          /* \" \\ \n, \u0001; UTF-8 kept (json-c) */
    FAKE_OS_ECHO_JSON_SLASH,    /* and \/ (json-c by default, PHP) */
    FAKE_OS_ECHO_JSON_ASCII,    /* non-ASCII as \u00e9, \ud83d\ude00 (Python) */
    FAKE_OS_ECHO_JSON_ALL_U,    /* every non-alphanumeric as \u00XX, upper hex */
    FAKE_OS_ECHO_JSON_IN_JSON,  /* JSON-escaped twice */
    FAKE_OS_ECHO_URL,           /* %XX, upper-case hex, %20 */
    FAKE_OS_ECHO_URL_LOWER,     /* %xx */
    FAKE_OS_ECHO_FORM,          /* + for a space */
    FAKE_OS_ECHO_SHELL,         /* '...'\''...' */
    FAKE_OS_ECHO_SHLEX,         /* '...'"'"'...' (Python's shlex.quote) */
    FAKE_OS_ECHO_PYREPR,        /* '...\'...\x09' (Python's repr) */
    FAKE_OS_ECHO_FORMS          /* how many there are */
};
/* Turns echo on, with the refused password in that form. */
void fake_openstack_set_echo_form(struct fake_openstack *f, enum fake_os_echo_form form);
/* s in that form, as the fake writes it (newly allocated). */
char *fake_openstack_echo_encode(enum fake_os_echo_form form, const char *s);

/* ---- direct access to servers (no HTTP, not counted) ---- */
/* A server made as if created long ago. status "ACTIVE" (addresses
 * assigned), "BUILD" (the normal lifecycle from here), "ERROR" (with a
 * fault) or any other Nova status, kept as is. group NULL: no "asg"
 * metadata. networks: comma-separated network names, NULL: "private".
 * Returns its id, newly allocated. */
char *fake_openstack_add_server(struct fake_openstack *f, const char *name,
                                const char *group, const char *status,
                                const char *networks);
size_t fake_openstack_server_count(struct fake_openstack *f); /* not yet gone */
/* Newly allocated copies, NULL when the server (or the thing) is absent. */
char *fake_openstack_server_status(struct fake_openstack *f, const char *id);
char *fake_openstack_server_metadata(struct fake_openstack *f, const char *id,
                                     const char *key);
char *fake_openstack_server_user_data(struct fake_openstack *f, const char *id); /* decoded */
/* The "server" object of the POST that created it, as JSON text. */
char *fake_openstack_server_request(struct fake_openstack *f, const char *id);
/* The id of the (first) server of that name, or NULL. */
char *fake_openstack_server_id(struct fake_openstack *f, const char *name);

/* ---- what the server saw ---- */
struct fake_openstack_stats {
    int requests;     /* every request */
    /* every request addressed to the endpoint, whatever the answer
     * (injected faults and 401s included) */
    int auth, create, get, delete, list, flavors, images, networks, action, other;
    int stops, starts; /* os-stop / os-start accepted (202) */
    int auth_password, auth_appcred; /* tokens issued, by method */
    int unauthorized; /* 401 answers */
    int faults;       /* answers from fail_next / malformed_next */
};
void fake_openstack_stats(struct fake_openstack *f, struct fake_openstack_stats *out);
void fake_openstack_reset_stats(struct fake_openstack *f);

/* Newly allocated copies from the last request, NULL when absent. The path
 * is as the server decoded it, query values too. */
char *fake_openstack_last_method(struct fake_openstack *f);
char *fake_openstack_last_path(struct fake_openstack *f);
char *fake_openstack_last_header(struct fake_openstack *f, const char *name);
char *fake_openstack_last_query(struct fake_openstack *f, const char *name);
char *fake_openstack_last_body(struct fake_openstack *f);

#endif
