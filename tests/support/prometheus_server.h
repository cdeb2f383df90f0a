/* prometheus_server.h - a real Prometheus for tests (Debian's prometheus
 * package, /usr/bin/prometheus), scraping a tiny exporter the test serves.
 *
 * prometheus_start() starts the exporter (a thread answering GET /metrics
 * on a free 127.0.0.1 port with the text the test last set), writes a
 * config scraping it every second into a fresh temporary directory (the
 * TSDB goes there too), runs prometheus in the foreground on another free
 * 127.0.0.1 port and waits until /-/ready answers 200. prometheus_stop()
 * ends it by PID (SIGTERM, then SIGKILL), stops the exporter and removes
 * the directory; call it from teardown so it runs on failure.
 *
 * The exporter's text is the Prometheus exposition format, such as
 * "app_load{group=\"web\"} 42\n". A test sets it, then waits with
 * prometheus_wait_value() until Prometheus has scraped it: a wait bounded
 * by an upper limit, never an assertion on timing. */
#ifndef TEST_PROMETHEUS_SERVER_H
#define TEST_PROMETHEUS_SERVER_H

struct prometheus_server;

/* NULL (with a reason on stderr) when it cannot be started. */
struct prometheus_server *prometheus_start(void);
/* Stop Prometheus and the exporter, delete the directory, free. NULL is fine. */
void prometheus_stop(struct prometheus_server *p);
/* Stop only Prometheus (the exporter stays): "Prometheus is down". */
void prometheus_halt(struct prometheus_server *p);

/* "http://127.0.0.1:PORT", no trailing slash. */
const char *prometheus_url(const struct prometheus_server *p);

/* What the exporter serves from now on (copied). */
void prometheus_export(struct prometheus_server *p, const char *text);

/* Poll the instant query `query` until its first sample's value text is
 * `value` (such as "42"), for at most wait_ms: 0 when seen, -1 when not. */
int prometheus_wait_value(struct prometheus_server *p, const char *query, const char *value,
                          long wait_ms);

#endif
