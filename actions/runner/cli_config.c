/* cli_config.c - the pack config's few keys the operator commands need,
 * read with libyaml (cli.h). st2 itself reads that file with PyYAML's
 * safe_load (st2common/util/config_loader.py), so this follows safe_load
 * where they could differ: the last of duplicate keys wins, a plain `~`,
 * `null` or empty value is null, and a file of several documents is an
 * error. */
#include "cli.h"
#include "xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static bool plain_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
            strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

static int syntax(struct as_error *err, const char *path, const yaml_parser_t *p)
{
    return as_fail(err, AS_EXIT_BADINPUT, "bad_config", "%s: line %lu: %s", path,
                   (unsigned long)p->problem_mark.line + 1,
                   p->problem ? p->problem : "not valid YAML");
}

int cli_config_read(const char *path, const char *const *keys, char **values, size_t n,
                    struct as_error *err)
{
    for (size_t i = 0; i < n; i++)
        values[i] = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        return as_fail(err, AS_EXIT_FAILURE, "bad_config", "cannot read %s: %s", path,
                       strerror(errno));
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) /* it only allocates */
        xalloc_die(0);
    yaml_parser_set_input_file(&parser, f);

    /* depth: 0 outside the root, 1 inside the root mapping, deeper inside a
     * value. At depth 1 events alternate key, value; `want` is the index of
     * the key just read (-1: not one of ours, -2: expecting a key). */
    int depth = 0, docs = 0, rc = 0, want = -2;
    bool done = false;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = syntax(err, path, &parser);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = as_fail(err, AS_EXIT_BADINPUT, "bad_config",
                             "%s: more than one YAML document", path);
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (depth == 0 && ev.type != YAML_MAPPING_START_EVENT)
                rc = as_fail(err, AS_EXIT_BADINPUT, "bad_config",
                             "%s: not a mapping of keys to values", path);
            else if (depth == 1 && want == -2)
                rc = as_fail(err, AS_EXIT_BADINPUT, "bad_config",
                             "%s: a key that is not a string", path);
            else if (depth == 1 && want >= 0)
                rc = as_fail(err, AS_EXIT_BADINPUT, "bad_config",
                             "%s: %s must be a string", path, keys[want]);
            else if (depth == 1)
                want = -2; /* a value we skip, whole */
            depth++;
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_ALIAS_EVENT:
            if (depth == 1 && want >= 0)
                rc = as_fail(err, AS_EXIT_BADINPUT, "bad_config",
                             "%s: %s must be a string, not an alias", path, keys[want]);
            else if (depth == 1)
                want = -2;
            break;
        case YAML_SCALAR_EVENT:
            if (depth == 0) {
                rc = as_fail(err, AS_EXIT_BADINPUT, "bad_config",
                             "%s: not a mapping of keys to values", path);
            } else if (depth == 1 && want == -2) {
                want = -1;
                for (size_t i = 0; i < n; i++)
                    if (strcmp((const char *)ev.data.scalar.value, keys[i]) == 0)
                        want = (int)i;
            } else if (depth == 1) {
                if (want >= 0) {
                    free(values[want]);
                    values[want] = plain_null(&ev)
                                       ? NULL
                                       : xstrdup((const char *)ev.data.scalar.value);
                }
                want = -2;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc < 0)
        for (size_t i = 0; i < n; i++) {
            free(values[i]);
            values[i] = NULL;
        }
    return rc;
}
