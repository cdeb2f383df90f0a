/* chef_bootstrap.c - what chef_bootstrap does once its plan is made
 * (chef_plan.c): SSH to the node, register it on the Chef server in client
 * mode, run the script there, and read the run's result (see chef.h). */
#include "chef_int.h"

#include "asg.h"
#include "clock.h"
#include "jsonx.h"
#include "log.h"
#include "node.h"
#include "secret.h"
#include "ssh.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define MESSAGE_TAIL 240 /* output bytes quoted in a chef_failed message */

/* Remove every occurrence of s[0..n) from text, in place. */
static void scrub_span(char *text, const char *s, size_t n)
{
    char *hit;
    while ((hit = memmem(text, strlen(text), s, n))) {
        memcpy(hit, "***", 3);
        memmove(hit + 3, hit + n, strlen(hit + n) + 1);
    }
}

/* Remove every line of a PEM key's body from text (a node's output: a
 * careless recipe may print a key file). The secret registry masks whole
 * values, but a key arrives line by line, and its lines would outnumber
 * the registry's slots. Lines are separated by newlines or, in a key pasted
 * into a one-line value, by literal "\n". */
static void scrub_pem_lines(char *text, const char *pem)
{
    for (const char *p = pem; text && p && *p;) {
        const char *end = p;
        while (*end && *end != '\n' && !(end[0] == '\\' && end[1] == 'n'))
            end++;
        size_t n = (size_t)(end - p);
        if (n >= 16 && strncmp(p, "-----", 5) != 0)
            scrub_span(text, p, n);
        p = *end == '\n' ? end + 1 : *end ? end + 2 : end;
    }
}

/* Every private key this bootstrap knows, so none can leave in output. */
static void scrub_keys(const struct chef_plan *p, char *text)
{
    for (size_t i = 0; i < sizeof p->keys / sizeof p->keys[0]; i++)
        scrub_pem_lines(text, p->keys[i]);
}

static struct sshc *connect_node(const struct chef_plan *p,
                                 const struct chef_bootstrap_request *rq, long long deadline_ms,
                                 struct as_error *err)
{
    const struct chef_bootstrap_params *o = &rq->p;
    struct sshc_opts so = {
        .host = p->address, .port = (int)rq->server.ssh_port, .user = o->ssh_user,
        .key_pem = chef_is_set(o->ssh_private_key) ? o->ssh_private_key : NULL,
        .key_file = o->ssh_private_key_file, .known_hosts = p->known_hosts,
        .fingerprint = rq->ssh_host_fingerprint, .deadline_ms = deadline_ms,
    };
    sshc_policy_parse(o->ssh_host_key_policy, &so.policy, err);
    struct sshc *c = sshc_connect(&so, err);
    if (!c)
        as_error_prefix(err, "node %s (%s)", rq->node, p->address);
    return c;
}

/* Server side of client mode: fresh client and node, the key for the node. */
static int register_on_server(struct chef_plan *p, const struct chef_bootstrap_request *rq,
                              struct as_error *err)
{
    const struct chef_server_params *o = &rq->server;
    struct chef_api *admin = chef_api_open(o->chef_server_url, o->chef_client_name,
                                           p->admin_key, o->chef_ca_bundle, err);
    int rc = admin ? chef_register_node(admin, rq->node, p->run_list, p->environment,
                                        p->attributes, o->chef_ca_bundle, &p->node_key, err)
                   : -1;
    chef_api_close(admin);
    if (rc == 0 && !(p->node_key_pem = chef_key_private_pem(p->node_key)))
        rc = as_fail(err, AS_EXIT_FAILURE, "chef_error", "cannot export the node's key");
    if (rc == 0)
        secret_register(p->node_key_pem);
    p->keys[2] = p->node_key_pem;
    return rc;
}

/* "Chef Infra Client finished, 3/25 resources updated" (also chef-solo's
 * and older "Chef Client finished" lines): the last one in the output, or
 * -1 when there is none. */
static long long resources_updated(const char *out)
{
    const char *hit = NULL;
    for (const char *p = out; (p = strstr(p, " resources updated")); p++)
        hit = p;
    if (!hit)
        return -1;
    const char *q = hit;
    while (q > out && q[-1] >= '0' && q[-1] <= '9')
        q--;
    if (q == hit || q == out || q[-1] != '/')
        return -1;
    const char *slash = --q;
    while (q > out && q[-1] >= '0' && q[-1] <= '9')
        q--;
    return q == slash ? -1 : strtoll(q, NULL, 10);
}

/* The end of the output as one bounded line for an error message. */
static char *message_tail(const char *tail)
{
    char *t = sshc_utf8_tail(tail, strlen(tail), MESSAGE_TAIL);
    utf8_clean_line(t);
    return t;
}

static struct json_object *bootstrap_result(const struct chef_plan *p,
                                            const struct chef_bootstrap_request *rq,
                                            struct sshc *c, const struct sshc_result *r)
{
    struct json_object *out = jx_new_object();
    long long updated = resources_updated(r->tail);
    jx_add_str(out, "node", rq->node);
    jx_add_str(out, "group", rq->group);
    jx_add_str(out, "address", p->address);
    jx_add_str(out, "mode", p->client ? "client" : "solo");
    json_object_object_add(out, "run_list", json_object_get(p->run_list));
    jx_add_int(out, "exit_status", r->exit_status);
    jx_add_str(out, "output_tail", r->tail);
    jx_add_int(out, "output_bytes", r->output_bytes);
    jx_add_str(out, "host_key_fingerprint", sshc_host_fingerprint(c));
    jx_add_bool(out, "host_key_recorded", sshc_host_key_recorded(c));
    jx_add_bool(out, "registered", p->client);
    if (updated >= 0)
        jx_add_int(out, "resources_updated", updated);
    else
        json_object_object_add(out, "resources_updated", NULL);
    /* Unknown counts as changed: a run we cannot read may have done anything. */
    jx_add_bool(out, "changed", p->client || updated != 0);
    return out;
}

static int run_chef(struct chef_plan *p, const struct chef_bootstrap_request *rq,
                    struct sshc *c, struct json_object **out, struct as_error *err)
{
    const struct chef_bootstrap_params *o = &rq->p;
    struct chef_run run = {
        .client = p->client, .sudo = rq->ssh_sudo,
        .program = p->client ? o->chef_client_command : o->chef_solo_command,
        .install_command = o->chef_install_command, .license = o->chef_license,
        .run_list = p->run_list, .attributes = p->attributes_text,
        .environment = p->environment, .node_name = rq->node,
        .cookbooks_url = p->cookbooks_url, .server_url = rq->server.chef_server_url,
        .client_key = p->node_key_pem, .config_dir = o->chef_config_dir,
    };
    char *script = chef_script(&run);
    struct sshc_result r;
    log_info("running %s on node %s (%s)", run.program, rq->node, p->address);
    int rc = sshc_run_script(c, script, &r, err);
    secret_free(script);
    scrub_keys(p, r.tail);
    char *last = message_tail(r.tail);
    if (rc < 0) {
        as_error_prefix(err, "node %s", rq->node);
        if (*last) {
            struct as_error first = *err;
            as_fail(err, first.exit, first.code, "%s; last output: %s", first.message, last);
        }
    } else if (r.exit_status < 0) {
        rc = as_fail(err, AS_EXIT_FAILURE, "chef_failed",
                     "%s on node %s ended without an exit status (killed by a signal?); "
                     "last output: %s",
                     run.program, rq->node, last);
    } else if (r.exit_status != 0) {
        rc = as_fail(err, AS_EXIT_FAILURE, "chef_failed",
                     "%s on node %s exited with status %d; last output: %s", run.program,
                     rq->node, r.exit_status, last);
    } else {
        *out = bootstrap_result(p, rq, c, &r);
    }
    free(last);
    sshc_result_clear(&r);
    return rc;
}

/* chef-solo with an empty run list would converge nothing, so a group
 * that names no run list is not configured at all: its nodes come up
 * without SSH, and the pack works for people who do not use Chef. 1 when
 * that is the case (*out says so), 0 to go on, -1 on error. */
static int nothing_to_configure(struct ds *ds, const struct chef_bootstrap_request *rq,
                                struct json_object **out, struct as_error *err)
{
    const char *mode = rq->p.chef_mode;
    struct group g;
    if (group_check_name(rq->group, err) < 0 || node_check_name(rq->node, err) < 0 ||
        chef_check_paths(rq, err) < 0)
        return -1;
    if (chef_is_set(rq->run_list) || (chef_is_set(mode) && strcmp(mode, "solo") != 0))
        return 0;
    if (asg_load_spec(ds, rq->group, &g, err) < 0)
        return -1;
    bool none = !chef_is_set(g.run_list);
    group_clear(&g);
    if (!none)
        return 0;
    log_info("group %s has no run list: node %s needs no configuration", rq->group, rq->node);
    *out = jx_new_object();
    jx_add_str(*out, "node", rq->node);
    jx_add_str(*out, "group", rq->group);
    jx_add_str(*out, "skipped", "no_run_list");
    jx_add_bool(*out, "changed", false);
    return 1;
}

int chef_bootstrap(struct ds *ds, const struct chef_bootstrap_request *rq,
                   struct json_object **out, struct as_error *err)
{
    int skip = nothing_to_configure(ds, rq, out, err);
    if (skip != 0)
        return skip < 0 ? -1 : 0;
    struct chef_plan p;
    memset(&p, 0, sizeof p);
    long long deadline_ms = as_mono_ms() + rq->deadline * 1000;
    int rc = chef_plan_make(&p, ds, rq, err);
    struct sshc *c = rc == 0 ? connect_node(&p, rq, deadline_ms, err) : NULL;
    if (rc == 0 && !c)
        rc = -1;
    /* Only once the node answered: a node we cannot reach gets nothing
     * registered in its name. */
    if (rc == 0 && p.client)
        rc = register_on_server(&p, rq, err);
    if (rc == 0)
        rc = run_chef(&p, rq, c, out, err);
    sshc_close(c);
    chef_plan_clear(&p);
    return rc;
}
