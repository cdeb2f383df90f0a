/* http_libcurl_worker.c - a link-time substitute (lib/link/README.md): the
 * static actions/bin/autoscale links this object before libautoscale.a, so
 * its libcurl requests go through the autoscale_curl helper
 * (lib/core/http_worker.c), and the archive's http_libcurl.o, which names
 * the in-process transport and so pulls in http_curl.c and its dlopen(), is
 * never linked. */
#include "http_int.h"
#include "http_worker.h"

const struct http_transport *const http_libcurl_transport = &http_worker_transport;
