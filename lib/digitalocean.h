/* digitalocean.h - what the DigitalOcean providers (compute, DNS, load
 * balancer) share about their settings: one token and one API URL. */
#ifndef AS_DIGITALOCEAN_H
#define AS_DIGITALOCEAN_H

#include "error.h"

/* AS_EXIT_BADINPUT "bad_settings", naming the key, never its value. */
int digitalocean_bad_setting(struct as_error *err, const char *key, const char *why);

/* A token is one header value: printable, no space (a CR or LF would let it
 * add headers of its own). */
int digitalocean_token_ok(const char *t);

/* api_url without its trailing '/', newly allocated, or NULL with err set.
 * https, or plain http to a loopback address only (tests, a local proxy):
 * anywhere else the token would cross the network in clear. */
char *digitalocean_base_url(const char *url, struct as_error *err);

#endif
