/* fake_digitalocean.h - a stateful, in-process fake of the DigitalOcean API
 * v2 droplet and action endpoints on libmicrohttpd, for tests.
 *
 * It follows DigitalOcean's OpenAPI description (digitalocean/openapi,
 * specification/resources/droplets and actions):
 *
 *   POST   /v2/droplets        body {name, region, size, image, ssh_keys, tags,
 *                              user_data, vpc_uuid, monitoring, ...}
 *                              202 {"droplet": {.., "status": "new"},
 *                                   "links": {"actions": [{id, rel: "create", href}]}}
 *                              422 for an unknown region/size/image or a bad field
 *   GET    /v2/droplets/{id}   200 {"droplet": {...}} | 404
 *   DELETE /v2/droplets/{id}   204 | 404
 *   GET    /v2/droplets?tag_name=&page=&per_page=
 *                              200 {"droplets": [...], "links": {"pages": {first,
 *                                   prev, next, last}}, "meta": {"total": n}}
 *   GET    /v2/actions/{id}    200 {"action": {id, status, type, ...}} | 404
 *   POST   /v2/droplets/{id}/actions   body {"type": "shutdown" | "power_off" |
 *                              "power_on"} 201 {"action": {.., "status":
 *                              "in-progress"}} | 404 | 422 (a pending event,
 *                              already off / already on, another type)
 *   GET    /v2/droplets/{id}/actions/{action}   200 {"action": {...}} | 404
 *
 * Every request needs "Authorization: Bearer <token>" with the token the fake
 * was started with, else 401 {"id": "unauthorized", "message": "Unable to
 * authenticate you."}. Every error body is {"id", "message", "request_id"};
 * every reply carries ratelimit-limit/-remaining/-reset headers.
 *
 * Life of a droplet: "new" (no addresses yet) until it has been fetched by id
 * `active_after` times, then "active" with a private 10.x and a public
 * 203.0.113.x (documentation range) IPv4 address, and its create action goes
 * from "in-progress" to "completed". A create marked to fail keeps the
 * droplet "new" for ever with its create action "errored". A deleted droplet
 * still answers (and lists) for `gone_after` fetches by id, then is 404.
 *
 * A power action is "in-progress" for `power_after` looks (fetches of it or
 * of its droplet), then "completed" and the droplet "off" (shutdown,
 * power_off) or "active" (power_on); one marked to fail ends "errored"
 * with the droplet unchanged.
 *
 * Listing is by ascending id. per_page defaults to 20 and is clamped to the
 * maximum (200, settable), so a client asking for more than the server gives
 * must follow the links. Links are absolute URLs on the fake's own address
 * unless fake_do_set_link_base() names another (as the real API names
 * api.digitalocean.com whatever proxy the client went through).
 *
 * Thread-safe: the server runs one thread per connection and every knob may
 * be turned while it runs. */
#ifndef FAKE_DIGITALOCEAN_H
#define FAKE_DIGITALOCEAN_H

#include <stddef.h>

struct fake_do;

/* Listen on an ephemeral port of 127.0.0.1, accepting `token`. NULL on
 * failure. */
struct fake_do *fake_do_start(const char *token);
void fake_do_stop(struct fake_do *f);

/* "http://127.0.0.1:PORT/v2" - what the provider's api_url setting holds. */
const char *fake_do_url(const struct fake_do *f);

/* ---- behaviour ---- */
/* Fetches by id before a new droplet becomes active (default 2; 0: at once). */
void fake_do_set_active_after(struct fake_do *f, int polls);
/* Fetches by id a deleted droplet still answers before it is 404 (default 1). */
void fake_do_set_gone_after(struct fake_do *f, int polls);
/* The next n creates are accepted (202) but their create action errors. */
void fake_do_fail_create_next(struct fake_do *f, int n);
/* Looks before a power action completes (default 2; 0: on the first). */
void fake_do_set_power_after(struct fake_do *f, int looks);
/* The next n power actions are accepted (201) but end "errored". */
void fake_do_fail_power_next(struct fake_do *f, int n);
/* 1: a shutdown completes yet the droplet stays active (a guest that does
 * not act on ACPI, or hangs): DO's shutdown only issues the command. */
void fake_do_set_shutdown_ignored(struct fake_do *f, int on);
/* 0: new droplets get no private address (default 1). */
void fake_do_set_private_network(struct fake_do *f, int on);
/* Largest page served (default and API maximum: 200). */
void fake_do_set_max_per_page(struct fake_do *f, int n);
/* Absolute base written into links ("https://api.digitalocean.com/v2");
 * NULL: the fake's own URL. */
void fake_do_set_link_base(struct fake_do *f, const char *base);
/* 1: a 401 names the bearer token it refused, so tests prove the client keeps
 * a server's echo of its credential out of its own messages. */
void fake_do_set_echo_token(struct fake_do *f, int on);

/* ---- fault injection ---- */
/* The next n requests get `status` (429, 500, 503, 403, ...) in the API's
 * error shape, before authentication, as DO's edge answers them; nothing
 * happens. retry_after_s >= 0 adds "Retry-After: <s>". */
void fake_do_fail_next(struct fake_do *f, int n, int status, long retry_after_s);
/* The next n requests are carried out, then answered with `status` instead:
 * the ambiguous failure (did the POST create a droplet?). */
void fake_do_fail_next_after(struct fake_do *f, int n, int status);
/* The next n requests are carried out, then answered with their real status
 * and the first half of their JSON body. */
void fake_do_malformed_next(struct fake_do *f, int n);
/* Hold every response this long (0: off). */
void fake_do_set_delay_ms(struct fake_do *f, long ms);

/* ---- direct access to the droplets (no HTTP, not counted) ---- */
/* Add a droplet as if created and already `status` ("new", "active", "off",
 * "archive"; NULL: "active"), with these tags (NULL-terminated, may be NULL).
 * Returns its id, or -1. */
long long fake_do_add_droplet(struct fake_do *f, const char *name,
                              const char *const *tags, const char *status);
/* Set a droplet's status as DO's control panel would; 0, or -1 if absent. */
int fake_do_set_status(struct fake_do *f, long long id, const char *status);
/* The droplet as GET /v2/droplets/{id} would show it (newly allocated JSON
 * text, not counted as a fetch) plus "user_data" as created, or NULL. */
char *fake_do_droplet_json(struct fake_do *f, long long id);
/* The id of the first droplet with this name, or -1. */
long long fake_do_find(struct fake_do *f, const char *name);
size_t fake_do_droplet_count(struct fake_do *f); /* deleted ones excluded */

/* ---- what the server saw ---- */
struct fake_do_stats {
    int requests;     /* every request */
    /* requests per endpoint as the server received them, whatever the answer
     * (401s, injected faults and 422s included): a create retried is 2 */
    int creates, gets, deletes, lists, actions;
    int power;        /* POST /v2/droplets/{id}/actions */
    int unauthorized; /* 401 answers */
    int faults;       /* answers from the fault knobs */
    int rejected;     /* 4xx answers from validation (400, 404, 422) */
};
void fake_do_stats(struct fake_do *f, struct fake_do_stats *out);
void fake_do_reset_stats(struct fake_do *f);

/* Newly allocated copies from the last request, NULL when absent. */
char *fake_do_last_header(struct fake_do *f, const char *name); /* any case */
char *fake_do_last_query(struct fake_do *f, const char *name);
char *fake_do_last_method(struct fake_do *f);
char *fake_do_last_path(struct fake_do *f);
char *fake_do_last_body(struct fake_do *f);
/* The body of the last POST /v2/droplets, whatever came after it. */
char *fake_do_last_create_body(struct fake_do *f);
/* The body of the last POST /v2/droplets/{id}/actions, likewise. */
char *fake_do_last_power_body(struct fake_do *f);

#endif
