/* chef_plan.c - what one bootstrap resolved before it contacts anything:
 * every check passed, the group's settings.chef over the pack-wide
 * parameters, the node's address, and the keys (see chef_int.h). */
#include "chef_int.h"

#include "asg.h"
#include "jsonx.h"
#include "node.h"
#include "settings.h"
#include "secret.h"
#include "ssh.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTRIBUTES_MAX (64 * 1024)

void chef_plan_clear(struct chef_plan *p)
{
    if (p->have_group)
        group_clear(&p->g);
    json_object_put(p->run_list);
    json_object_put(p->attributes);
    secret_free(p->attributes_text);
    free(p->known_hosts);
    chef_key_free(p->admin_key);
    chef_key_free(p->node_key);
    secret_free(p->node_key_pem);
    secret_free(p->keys[0]);
    secret_free(p->keys[1]);
    memset(p, 0, sizeof *p);
}

/* Attributes: the parameter's object, then the group's settings.chef
 * attributes on top, key by key. */
static int resolve_attributes(struct chef_plan *p, const char *param,
                              struct json_object *chef, struct as_error *err)
{
    if (chef_is_set(param)) {
        if (strlen(param) > ATTRIBUTES_MAX)
            return chef_bad(err, "attributes", "a JSON object of at most 64 KiB");
        struct as_error jerr;
        p->attributes = jx_parse(param, strlen(param), "attributes", "invalid_parameter",
                                 AS_EXIT_BADINPUT, &jerr);
        if (!p->attributes || !json_object_is_type(p->attributes, json_type_object))
            return chef_bad(err, "attributes",
                            "a JSON object (such as {\"nginx\": {\"port\": 80}})");
    } else {
        p->attributes = jx_new_object();
    }
    struct json_object *own = jx_obj(chef, "attributes");
    if (own) {
        json_object_object_foreach(own, k, v)
            json_object_object_add(p->attributes, k, json_object_get(v));
    }
    p->attributes_text = jx_dump(p->attributes);
    if (strlen(p->attributes_text) > ATTRIBUTES_MAX)
        return chef_bad(err, "attributes", "a JSON object of at most 64 KiB");
    return 0;
}

/* The group's settings.chef overrides the pack-wide parameters, as a
 * group's settings.<provider> does for compute, as far as lib/model/settings.c
 * lets a group (a cookbook URL only if the operator listed it). */
static int resolve_from_group(struct chef_plan *p, const struct chef_bootstrap_request *rq,
                              struct as_error *err)
{
    if (settings_check_area(p->g.settings, "chef", rq->allowed, err) < 0) {
        as_error_prefix(err, "group %s", p->g.name);
        return -1;
    }
    struct json_object *chef = jx_obj(p->g.settings, "chef");
    p->cookbooks_url = jx_str(chef, "cookbooks_url", rq->p.cookbooks_url);
    p->environment = jx_str(chef, "chef_environment", rq->p.chef_environment);
    if (chef_is_set(p->cookbooks_url) && !chef_url_ok(p->cookbooks_url))
        return chef_bad(err, "cookbooks_url",
                        "an http(s) URL of a cookbook archive (.tar.gz)");
    if (chef_is_set(p->environment) && !chef_charset_ok(p->environment, "_-", 255))
        return chef_bad(err, "chef_environment",
                        "a Chef environment name ([A-Za-z0-9_-])");
    const char *rl = chef_is_set(rq->run_list) ? rq->run_list : p->g.run_list;
    if (chef_run_list_parse(rl, &p->run_list, err) < 0)
        return -1;
    return resolve_attributes(p, rq->attributes, chef, err);
}

/* The node must exist, be building or active, and have an IPv4 address. */
static int resolve_node(struct chef_plan *p, struct ds *ds, const char *group,
                        const char *node, struct as_error *err)
{
    struct json_object *rec;
    int rc = node_record_load(ds, group, node, &rec, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_node",
                       "group %s has no node %s", group, node);
    enum node_state st = node_record_state(rec);
    const char *addr = jx_str(rec, "address", NULL);
    struct in_addr ia;
    /* warming: a warm pool node is configured before it is parked */
    if (st != NODE_ACTIVE && st != NODE_BUILDING && st != NODE_WARMING) {
        json_object_put(rec);
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_node_state",
                       "node %s is %s: only building, warming or active nodes are configured",
                       node, node_state_name(st));
    }
    if (!addr || inet_pton(AF_INET, addr, &ia) != 1) {
        json_object_put(rec);
        return as_fail(err, AS_EXIT_FAILURE, "node_no_address",
                       "node %s has no IPv4 address yet", node);
    }
    snprintf(p->address, sizeof p->address, "%s", addr);
    json_object_put(rec);
    return 0;
}

/* A key file's text, for scrubbing only (NULL if unreadable). */
static char *read_small_file(const char *path)
{
    FILE *f = chef_is_set(path) ? fopen(path, "r") : NULL;
    if (!f)
        return NULL;
    char *buf = xmalloc(65537);
    buf[fread(buf, 1, 65536, f)] = '\0';
    fclose(f);
    return buf;
}

static void plan_keys(struct chef_plan *p, const struct chef_bootstrap_request *rq)
{
    const struct chef_bootstrap_params *o = &rq->p;
    const struct chef_server_params *s = &rq->server;
    p->keys[0] = chef_is_set(o->ssh_private_key) ? xstrdup(o->ssh_private_key)
                                                 : read_small_file(o->ssh_private_key_file);
    p->keys[1] = chef_is_set(s->chef_client_key) ? xstrdup(s->chef_client_key)
                                                 : read_small_file(s->chef_client_key_file);
}

int chef_plan_make(struct chef_plan *p, struct ds *ds, const struct chef_bootstrap_request *rq,
                   struct as_error *err)
{
    const char *mode = rq->p.chef_mode, *kh = rq->server.ssh_known_hosts_file;
    if (group_check_name(rq->group, err) < 0 || node_check_name(rq->node, err) < 0 ||
        chef_check_ssh(rq, err) < 0)
        return -1;
    if (!chef_is_set(mode) || (strcmp(mode, "solo") != 0 && strcmp(mode, "client") != 0))
        return chef_bad(err, "chef_mode", "solo or client");
    p->client = strcmp(mode, "client") == 0;
    if (chef_check_run(rq, p->client, err) < 0)
        return -1;
    p->known_hosts = chef_is_set(kh) ? xstrdup(kh) : sshc_default_known_hosts();
    if (asg_load_spec(ds, rq->group, &p->g, err) < 0)
        return -1;
    p->have_group = true;
    if (resolve_from_group(p, rq, err) < 0 || resolve_node(p, ds, rq->group, rq->node, err) < 0)
        return -1;
    plan_keys(p, rq);
    if (p->client && !(p->admin_key = chef_client_key_load(&rq->server, err)))
        return -1;
    return 0;
}
