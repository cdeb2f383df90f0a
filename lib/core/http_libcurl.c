/* http_libcurl.c - what the archive gives http_libcurl_transport (http_int.h):
 * libcurl in this process, dlopen()ed on first use (http_curl.c). A static
 * binary links lib/link/http_libcurl_worker.c before the archive instead,
 * so this member, and with it http_curl.c, stays out of it. */
#include "http_int.h"

const struct http_transport *const http_libcurl_transport = &http_curl_transport;
