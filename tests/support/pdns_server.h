/* pdns_server.h - a real PowerDNS Authoritative server for tests.
 *
 * pdns_server (package pdns-server) with the gsqlite3 backend, started in
 * the foreground from its own config in a fresh temporary directory, bound
 * to 127.0.0.1 only, on a free DNS port (UDP and TCP) and a free API port,
 * as /work/shared/backends.md shows. Readiness is polled (the API answers
 * and a DNS query gets a reply); stopping is by PID: SIGTERM, then SIGKILL.
 * The child is also told to die with the test process (PR_SET_PDEATHSIG),
 * so a crashed test leaves no daemon behind.
 *
 * Queries go through dig (bind9-dnsutils), exactly as an operator checks:
 * `dig @127.0.0.1 -p PORT name A +short`. */
#ifndef TEST_PDNS_SERVER_H
#define TEST_PDNS_SERVER_H

struct pdns_server;

/* Start a server accepting `api_key`; NULL (a reason on stderr) if it
 * cannot (pdns_server missing, no free ports after a few tries...). */
struct pdns_server *pdns_server_start(const char *api_key);
/* Stop the daemon, delete its directory, free. NULL is fine. */
void pdns_server_stop(struct pdns_server *p);

/* Stop only the daemon (its data and ports stay): "the server is down". */
void pdns_server_halt(struct pdns_server *p);
/* Start it again on the same ports and data; 0, or -1. */
int pdns_server_resume(struct pdns_server *p);

/* "http://127.0.0.1:PORT/api/v1/servers/localhost" */
const char *pdns_server_api_url(const struct pdns_server *p);
const char *pdns_server_api_key(const struct pdns_server *p);
int pdns_server_dns_port(const struct pdns_server *p);
int pdns_server_api_port(const struct pdns_server *p);

/* One API request with the server's key; path is appended to the API URL.
 * Returns the HTTP status (0 if no reply); *body (may be NULL) receives the
 * reply, newly allocated. */
int pdns_server_api(struct pdns_server *p, const char *method, const char *path,
                    const char *json, char **body);

/* Create a Native zone ("example.test", no trailing dot); 0, or -1. */
int pdns_server_create_zone(struct pdns_server *p, const char *zone);
int pdns_server_delete_zone(struct pdns_server *p, const char *zone);

/* ---- dig ---- */
/* The A addresses `name` answers, sorted, joined by ','; "" for none.
 * Newly allocated; NULL if dig itself failed (no reply). */
char *pdns_dig(const struct pdns_server *p, const char *name);
/* The TTL of the first A answer, -1 if none. */
long pdns_dig_ttl(const struct pdns_server *p, const char *name);
/* The reply's status ("NOERROR", "NXDOMAIN", ...) into out (size 16); -1 if
 * no reply. */
int pdns_dig_status(const struct pdns_server *p, const char *name, char *out);

#endif
