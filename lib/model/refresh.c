/* refresh.c - the parts of refresh.h that need no datastore: a batch's
 * size, and the parameters the actions parse (checkpoints, node lists, a
 * refresh id), so each action can refuse bad input before it opens the
 * store. The operations are in refresh_start.c, refresh_step.c and
 * refresh_batch.c (refresh_int.h lists the files). */
#include "refresh.h"

#include "jsonx.h"
#include "keys.h"

#include <ctype.h>
#include <string.h>

long long refresh_batch_size(long long capacity, long long pct)
{
    if (pct < 0)
        pct = 0;
    if (pct > 100)
        pct = 100;
    if (capacity < 0)
        capacity = 0;
    long long keep = (capacity * pct + 99) / 100;
    return capacity - keep < 1 ? 1 : capacity - keep;
}

int refresh_parse_checkpoints(const char *s, struct json_object **out, struct as_error *err)
{
    struct json_object *a = jx_new_array();
    long long prev = 0;
    size_t n = 0;
    for (const char *p = s ? s : ""; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        long long v = 0;
        bool ok = len >= 1 && len <= 3;
        for (size_t i = 0; ok && i < len; i++) {
            ok = isdigit((unsigned char)p[i]) != 0;
            v = v * 10 + (p[i] - '0');
        }
        if (!ok || v < 1 || v > 100 || v <= prev || ++n > REFRESH_CHECKPOINTS_MAX) {
            json_object_put(a);
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter 'checkpoints' must be at most %d comma-separated "
                           "percentages 1-100 in ascending order, such as 25,50",
                           REFRESH_CHECKPOINTS_MAX);
        }
        json_object_array_add(a, jx_new_int(v));
        prev = v;
        p += len;
        if (*p == ',' && !*++p) { /* a trailing comma */
            json_object_put(a);
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter 'checkpoints' ends with a comma");
        }
    }
    *out = a;
    return 0;
}

int refresh_parse_nodes(const char *s, const char *what, struct json_object **out,
                        struct as_error *err)
{
    struct json_object *a = jx_new_array();
    for (const char *p = s ? s : ""; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name || !key_label_ok(p, len)) {
            json_object_put(a);
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_node_name",
                           "parameter '%s' must be comma-separated node names (DNS labels)",
                           what);
        }
        memcpy(name, p, len);
        name[len] = '\0';
        json_object_array_add(a, jx_new_string(name));
        p += len;
        if (*p == ',' && !*++p) {
            json_object_put(a);
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_node_name",
                           "parameter '%s' ends with a comma", what);
        }
    }
    *out = a;
    return 0;
}

int refresh_check_id(const char *id, struct as_error *err)
{
    size_t n = id ? strlen(id) : 0, digits = strspn(id ? id : "", "0123456789");
    bool ok = digits >= 1 && digits <= 12 && n == digits + 9 && id[digits] == '-' &&
              strspn(id + digits + 1, "0123456789abcdef") == 8;
    return ok ? 0
              : as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                        "refresh_id must be the id refresh_start answered "
                        "(<epoch>-<8 hex digits>)");
}
