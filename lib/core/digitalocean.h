/* digitalocean.h - what the DigitalOcean providers (compute, DNS, load
 * balancer) share: the token and API URL checks, the authenticated API
 * connection, reading DO's replies (its "not found", its pages), and how a
 * refused reply becomes one of our errors. */
#ifndef AS_DIGITALOCEAN_H
#define AS_DIGITALOCEAN_H

#include "error.h"
#include "http.h"

struct json_object;

/* AS_EXIT_BADINPUT "bad_settings", naming the key, never its value. */
int digitalocean_bad_setting(struct as_error *err, const char *key, const char *why);

/* api_url without its trailing '/', newly allocated, or NULL with err set.
 * https, or plain http to a loopback address only (tests, a local proxy):
 * anywhere else the token would cross the network in clear. */
char *digitalocean_base_url(const char *url, struct as_error *err);

/* The token checks every provider makes before anything else: present
 * (else "is required (<hint>)"), registered as a secret (it may come from a
 * group's settings rather than argv, where the parser registers it), and
 * one header value. 0, or -1 with err set. */
int digitalocean_token_check(const char *token, const char *hint, struct as_error *err);

/* The API at api_url (NULL: DO's own), authenticated with the token. */
int digitalocean_api_open(struct http_api *a, const char *token, const char *api_url,
                          const char *ca_bundle, struct as_error *err);

/* DO's own answer for something that does not exist: a 404 whose body is
 * {"id": "not_found", ...}. Any other 404 (a proxy's page, a wrong api_url
 * path) is no proof that a droplet or record is gone, and taking it for one
 * would have reconcile replace machines that still run. */
int digitalocean_not_found(long status, struct json_object *doc);

/* Listings come in pages: the page a reply's links.pages.next URL asks for,
 * 0 if there is no next page, -1 if it names none after `page`. Only the
 * page number is taken: the next request goes to our own api_url, so the
 * token never follows a link to wherever a reply points (DO writes its own
 * host there, whatever proxy or test server the request went through). */
#define DIGITALOCEAN_PER_PAGE 200   /* the API's largest page */
#define DIGITALOCEAN_MAX_PAGES 1000 /* far past any account's droplets or records:
                                       only a server sending us round in circles
                                       gets here */
long digitalocean_next_page(struct json_object *doc, long page);

/* Our codes for a reply DigitalOcean refused. Each provider has its own
 * family ("provider_*", "dns_*", "lb_*"), which is what its actions'
 * callers branch on, so the codes are the provider's; which status gets
 * which code, and which exit class, is the same for all three. */
struct digitalocean_codes {
    const char *unauthorized; /* 401 */
    const char *forbidden;    /* 403 */
    const char *not_found;    /* 404, AS_EXIT_BADINPUT; NULL: a 404 is `other`.
                                 What a 404 means differs (a missing load
                                 balancer, a missing size or image on create,
                                 a missing domain, a wrong api_url), so each
                                 caller sets this per call. */
    const char *rejected;     /* 400 and 422: AS_EXIT_BADINPUT, never cured by
                                 asking again */
    const char *over_limit;   /* 429, reaching here only after retries */
    const char *other;        /* 5xx and anything else */
};

/* Fill err for a reply DigitalOcean refused with `status`, and return -1.
 * The message is "digitalocean: <what>: <why><request_id>", where <what> is
 * fmt and its arguments (the request), <why> is `why` or, when NULL,
 * "HTTP <status>: <text>" (text: http_error_text(), DO's own words), and
 * <request_id> is " (request_id <id>)" when doc, DO's parsed JSON error body
 * {"id", "message", "request_id"}, has one (what DO's support asks for).
 *
 * One function because the three providers mapped DO's errors with the
 * same code, which had begun to drift; what genuinely differs - the code
 * family, the meaning of a 404, DNS's wording - stays at the call site. */
int digitalocean_refusal(struct as_error *err, const struct digitalocean_codes *codes,
                         long status, struct json_object *doc, const char *text,
                         const char *why, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#endif
