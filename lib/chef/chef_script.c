/* chef_script.c - the POSIX sh script chef_bootstrap runs on a node: shell
 * quoting, run lists, and the script itself (see chef_int.h). */
#include "chef_int.h"
#include "jsonx.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ strings -- */

static void add_quoted(struct strbuf *b, const char *s)
{
    char *q = chef_shell_quote(s);
    strbuf_add(b, q);
    free(q);
}

/* --------------------------------------------------------- quoting -- */

char *chef_shell_quote(const char *s)
{
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *out = xmalloc(n), *w = out;
    *w++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') { /* close, an escaped quote, reopen */
            memcpy(w, "'\\''", 4);
            w += 4;
        } else {
            *w++ = *p;
        }
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

/* -------------------------------------------------------- run lists -- */

static int run_list_item(const char *s, size_t n, struct json_object *items,
                         struct as_error *err)
{
    char item[300], name[300];
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof item)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'run_list' has an empty or overlong item");
    memcpy(item, s, n);
    item[n] = '\0';

    const char *kind = "recipe";
    const char *inner = item;
    size_t len = n;
    if (strncmp(item, "recipe[", 7) == 0 || strncmp(item, "role[", 5) == 0) {
        kind = item[2] == 'c' ? "recipe" : "role";
        inner = strchr(item, '[') + 1;
        len = strlen(inner);
        if (len < 2 || inner[len - 1] != ']')
            len = 0;
        else
            len--;
    }
    if (len == 0 || len >= sizeof name)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'run_list' item '%.80s' is not recipe[...] or role[...]",
                       item);
    memcpy(name, inner, len);
    name[len] = '\0';
    if (!chef_charset_ok(name, "_-.:@", 255))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'run_list' item '%.80s' has characters a Chef name "
                       "cannot have",
                       item);
    char full[320];
    snprintf(full, sizeof full, "%s[%s]", kind, name);
    json_object_array_add(items, jx_new_string(full));
    return 0;
}

int chef_run_list_parse(const char *s, struct json_object **items, struct as_error *err)
{
    *items = jx_new_array();
    if (!s || !*s)
        return 0;
    if (strlen(s) > 4096) {
        json_object_put(*items);
        *items = NULL;
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'run_list' is longer than 4096 bytes");
    }
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (run_list_item(p, n, *items, err) < 0) {
            json_object_put(*items);
            *items = NULL;
            return -1;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* "recipe[a],role[b]" for -o. */
static char *run_list_text(struct json_object *items)
{
    struct strbuf b = {0};
    strbuf_add(&b, "");
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        if (i)
            strbuf_add(&b, ",");
        strbuf_add(&b, json_object_get_string(json_object_array_get_idx(items, i)));
    }
    return b.s;
}

/* ------------------------------------------------------- the script -- */

/* The part every script starts with: strict, private, cleaned up. */
static void script_head(struct strbuf *b, const struct chef_run *r)
{
    strbuf_add(b, "# autoscale chef_bootstrap: generated, runs once\n"
              "set -u\n"
              "umask 077\n"
              "attrs=$(mktemp) || exit 125\n"
              "trap 'rm -f \"$attrs\"' EXIT\n"
              "trap 'exit 143' HUP INT TERM\n");
    strbuf_add(b, r->sudo ? "as_root() { sudo -n \"$@\"; }\n" : "as_root() { \"$@\"; }\n");
    strbuf_add(b, "printf '%s\\n' ");
    add_quoted(b, r->attributes ? r->attributes : "{}");
    strbuf_add(b, " >\"$attrs\"\n");
}

/* Install the client only when its program is missing. */
static void script_install(struct strbuf *b, const struct chef_run *r)
{
    strbuf_add(b, "if ! command -v ");
    add_quoted(b, r->program);
    strbuf_add(b, " >/dev/null 2>&1; then\n"
              "  printf 'autoscale: %s not found: installing the Chef client\\n' ");
    add_quoted(b, r->program);
    strbuf_add(b, "\n  as_root sh -c ");
    add_quoted(b, r->install_command);
    strbuf_add(b, " || { st=$?; echo \"autoscale: installing the Chef client failed "
              "(status $st)\"; exit $st; }\n"
              "  if ! command -v ");
    add_quoted(b, r->program);
    strbuf_add(b, " >/dev/null 2>&1; then\n"
              "    echo 'autoscale: the Chef client is still missing after the install'\n"
              "    exit 127\n"
              "  fi\n"
              "fi\n");
}

/* Write a private file as root: the text goes through a pipe from the
 * printf builtin, never through an argument list. */
static void script_write_file(struct strbuf *b, const char *text, const char *name)
{
    strbuf_add(b, "printf '%s\\n' ");
    add_quoted(b, text);
    strbuf_add(b, " | as_root sh -c 'umask 077; cat >\"$1\"' sh \"$cfg\"/");
    strbuf_add(b, name);
    strbuf_add(b, " || exit 125\n");
}

/* client.rb: Ruby single-quoted strings; the values were checked to hold
 * neither quotes nor backslashes. */
static void script_client_config(struct strbuf *b, const struct chef_run *r)
{
    struct strbuf rb = {0};
    strbuf_add(&rb, "# written by autoscale chef_bootstrap\nchef_server_url '");
    strbuf_add(&rb, r->server_url);
    strbuf_add(&rb, "'\nnode_name '");
    strbuf_add(&rb, r->node_name);
    strbuf_add(&rb, "'\nclient_key '");
    strbuf_add(&rb, r->config_dir);
    strbuf_add(&rb, "/client.pem'");
    if (r->environment && strcmp(r->environment, "_default") != 0) {
        strbuf_add(&rb, "\nenvironment '");
        strbuf_add(&rb, r->environment);
        strbuf_add(&rb, "'");
    }
    char *text = rb.s;

    strbuf_add(b, "cfg=");
    add_quoted(b, r->config_dir);
    strbuf_add(b, "\nas_root mkdir -p \"$cfg\" || exit 125\n");
    script_write_file(b, r->client_key ? r->client_key : "", "client.pem");
    script_write_file(b, text, "client.rb");
    free(text);
}

static void script_run(struct strbuf *b, const struct chef_run *r)
{
    strbuf_add(b, "as_root env ");
    if (r->license && *r->license) {
        strbuf_add(b, "CHEF_LICENSE=");
        add_quoted(b, r->license);
        strbuf_add(b, " ");
    }
    add_quoted(b, r->program);
    if (r->client) {
        strbuf_add(b, " -c \"$cfg\"/client.rb -j \"$attrs\"");
    } else {
        strbuf_add(b, " -j \"$attrs\" -N ");
        add_quoted(b, r->node_name);
        if (r->run_list && json_object_array_length(r->run_list) > 0) {
            char *rl = run_list_text(r->run_list);
            strbuf_add(b, " -o ");
            add_quoted(b, rl);
            free(rl);
        }
        if (r->cookbooks_url && *r->cookbooks_url) {
            strbuf_add(b, " --recipe-url ");
            add_quoted(b, r->cookbooks_url);
        }
    }
    if (r->environment && *r->environment && strcmp(r->environment, "_default") != 0) {
        strbuf_add(b, " -E ");
        add_quoted(b, r->environment);
    }
    strbuf_add(b, "\n");
}

char *chef_script(const struct chef_run *r)
{
    struct strbuf b = {0};
    script_head(&b, r);
    script_install(&b, r);
    if (r->client)
        script_client_config(&b, r);
    script_run(&b, r);
    return b.s;
}
