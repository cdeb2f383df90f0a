/* dns_none.c - the provider of a group without DNS (dns_provider none, the
 * default): it keeps no records, so it has no operations, and
 * dns_register/dns_unregister succeed doing nothing and say so
 * ("skipped"): one workflow serves groups with and without DNS. */
#include "dns_int.h"

const struct dns_ops dns_none_ops = {
    .name = "none",
};
