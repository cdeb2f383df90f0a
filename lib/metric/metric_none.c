/* metric_none.c - no metric: a group that scales on alerts only. The table
 * holds it like any source, so nothing compares a source's name with
 * "none"; metric_collect leaves such a group alone. */
#include "metric_int.h"

const struct metric_ops metric_none_ops = {
    .name = "none",
    .reads_lb = false,
    .read = NULL,
};
