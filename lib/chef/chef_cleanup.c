/* chef_cleanup.c - what chef_cleanup does: delete a leaving node's node
 * and client on the Chef server, if one is configured, and forget its SSH
 * host key (see chef.h). */
#include "chef_int.h"

#include "asg.h"
#include "jsonx.h"
#include "log.h"
#include "node.h"
#include "ssh.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* The node's host key: its address may come back with another machine. */
static int forget_host_key(struct ds *ds, const struct chef_cleanup_request *rq, bool *forgot,
                           struct as_error *err)
{
    const struct chef_server_params *o = &rq->server;
    struct json_object *rec;
    *forgot = false;
    int rc = node_record_load(ds, rq->group, rq->node, &rec, err);
    if (rc <= 0)
        return rc;
    const char *addr = jx_str(rec, "address", NULL);
    char *kh = chef_is_set(o->ssh_known_hosts_file) ? xstrdup(o->ssh_known_hosts_file)
                                                    : sshc_default_known_hosts();
    int n = addr ? sshc_forget_host(kh, addr, (int)o->ssh_port, err) : 0;
    *forgot = n > 0;
    free(kh);
    json_object_put(rec);
    return n < 0 ? -1 : 0;
}

static int cleanup_server(const struct chef_cleanup_request *rq, struct json_object *out,
                          struct as_error *err)
{
    const struct chef_server_params *o = &rq->server;
    bool node_gone = false, client_gone = false;
    if (chef_check_server(o, err) < 0)
        return -1;
    struct chef_key *key = chef_client_key_load(o, err);
    struct chef_api *a = key ? chef_api_open(o->chef_server_url, o->chef_client_name, key,
                                             o->chef_ca_bundle, err)
                             : NULL;
    int rc = a ? chef_unregister_node(a, rq->node, &node_gone, &client_gone, err) : -1;
    chef_api_close(a);
    chef_key_free(key);
    jx_add_bool(out, "node_deleted", node_gone);
    jx_add_bool(out, "client_deleted", client_gone);
    return rc;
}

int chef_cleanup(struct ds *ds, const struct chef_cleanup_request *rq,
                 struct json_object **out, struct as_error *err)
{
    const struct chef_server_params *o = &rq->server;
    struct group g;
    bool forgot = false;
    if (group_check_name(rq->group, err) < 0 || node_check_name(rq->node, err) < 0)
        return -1;
    if (o->ssh_port < 1 || o->ssh_port > 65535)
        return chef_bad(err, "ssh_port", "a port between 1 and 65535");
    if (asg_load_spec(ds, rq->group, &g, err) < 0)
        return -1;
    group_clear(&g);

    struct json_object *res = jx_new_object();
    jx_add_str(res, "node", rq->node);
    jx_add_str(res, "group", rq->group);
    int rc = 0;
    if (chef_is_set(o->chef_server_url)) {
        jx_add_str(res, "chef_server", o->chef_server_url);
        rc = cleanup_server(rq, res, err);
    } else {
        json_object_object_add(res, "chef_server", NULL);
        jx_add_bool(res, "node_deleted", false);
        jx_add_bool(res, "client_deleted", false);
        jx_add_str(res, "message", "no Chef server configured: nothing to delete there");
        log_info("no Chef server configured: nothing to delete for node %s", rq->node);
    }
    if (rc == 0)
        rc = forget_host_key(ds, rq, &forgot, err);
    if (rc < 0) {
        json_object_put(res);
        return -1;
    }
    jx_add_bool(res, "host_key_forgotten", forgot);
    jx_add_bool(res, "changed", forgot || jx_bool(res, "node_deleted", false) ||
                                    jx_bool(res, "client_deleted", false));
    *out = res;
    return 0;
}
