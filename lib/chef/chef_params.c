/* chef_params.c - the Chef actions' parameters: their descriptors
 * (chef.h), and the checks every value passes before anything is
 * contacted (see chef_int.h). */
#include "chef_int.h"

#include "path.h"
#include "ssh.h"

#include <string.h>

#define CHEF_SERVER_DESC(n, kind, def, flags) PARAM_DESC(struct chef_server_params, n, kind)
#define CHEF_BOOTSTRAP_DESC(n, kind, def, flags)                                   \
    PARAM_DESC(struct chef_bootstrap_params, n, kind)

const struct param_desc chef_server_param_desc[] = {CHEF_SERVER_PARAMS(CHEF_SERVER_DESC)};
const size_t chef_server_param_count =
    sizeof chef_server_param_desc / sizeof chef_server_param_desc[0];
const struct param_desc chef_bootstrap_param_desc[] = {
    CHEF_BOOTSTRAP_PARAMS(CHEF_BOOTSTRAP_DESC)};
const size_t chef_bootstrap_param_count =
    sizeof chef_bootstrap_param_desc / sizeof chef_bootstrap_param_desc[0];

/* ------------------------------------------------------------ checks -- */

int chef_bad(struct as_error *err, const char *name, const char *what)
{
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter", "parameter '%s' must be %s",
                   name, what);
}

bool chef_charset_ok(const char *s, const char *extra, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || strchr(extra, *c)))
            return false;
    return true;
}

bool chef_url_ok(const char *s)
{
    if (!s || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) ||
        strlen(s) > 2048 || strlen(s) < 9)
        return false;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("'\"\\`<>{}|^", *c) ||
            (unsigned char)*c >= 0x80)
            return false;
    return true;
}

int chef_check_ssh(const struct chef_bootstrap_request *rq, struct as_error *err)
{
    const struct chef_bootstrap_params *o = &rq->p;
    enum sshc_policy pol;
    if (!chef_charset_ok(o->ssh_user, "_.-", 32) || o->ssh_user[0] == '-')
        return chef_bad(err, "ssh_user", "a user name ([A-Za-z0-9_.-], at most 32)");
    if (rq->server.ssh_port < 1 || rq->server.ssh_port > 65535)
        return chef_bad(err, "ssh_port", "a port between 1 and 65535");
    if (sshc_policy_parse(o->ssh_host_key_policy, &pol, err) < 0)
        return -1;
    if (pol == SSHC_STRICT && sshc_fingerprint_check(rq->ssh_host_fingerprint, err) < 0)
        return -1;
    if (!chef_is_set(o->ssh_private_key) && !chef_is_set(o->ssh_private_key_file))
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "give 'ssh_private_key' (the key text) or 'ssh_private_key_file'");
    return 0;
}

/* Every path a bootstrap may read or write (docs/actions.md, "Paths"),
 * checked first, whether or not the group needs configuring: bad input is
 * refused whatever else the action would decide. */
int chef_check_paths(const struct chef_bootstrap_request *rq, struct as_error *err)
{
    const struct {
        const char *name, *value;
    } paths[] = {
        {"ssh_private_key_file", rq->p.ssh_private_key_file},
        {"chef_client_key_file", rq->server.chef_client_key_file},
        {"chef_ca_bundle", rq->server.chef_ca_bundle},
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (chef_is_set(paths[i].value) &&
            as_path_check(paths[i].value, paths[i].name, err) < 0)
            return -1;
    if (chef_is_set(rq->server.ssh_known_hosts_file) &&
        sshc_known_hosts_check(rq->server.ssh_known_hosts_file, err) < 0)
        return -1;
    return 0;
}

int chef_check_server(const struct chef_server_params *s, struct as_error *err)
{
    const char *url = s->chef_server_url, *client = s->chef_client_name;
    if (chef_is_set(s->chef_client_key_file) &&
        as_path_check(s->chef_client_key_file, "chef_client_key_file", err) < 0)
        return -1;
    if (chef_is_set(s->chef_ca_bundle) &&
        as_path_check(s->chef_ca_bundle, "chef_ca_bundle", err) < 0)
        return -1;
    if (!chef_url_ok(url) || strchr(url, '?') || strchr(url, '#'))
        return chef_bad(err, "chef_server_url",
                        "an http(s) URL such as https://chef.example.com/organizations/acme");
    if (!chef_is_set(client))
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "a Chef server needs 'chef_client_name'");
    if (!chef_charset_ok(client, "_.-", 255))
        return chef_bad(err, "chef_client_name", "a Chef client name ([A-Za-z0-9_.-])");
    if (!chef_is_set(s->chef_client_key) && !chef_is_set(s->chef_client_key_file))
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "a Chef server needs 'chef_client_key' or 'chef_client_key_file'");
    return 0;
}

int chef_check_run(const struct chef_bootstrap_request *rq, bool client,
                   struct as_error *err)
{
    const struct chef_bootstrap_params *o = &rq->p;
    if (rq->deadline < 1 || rq->deadline > 86400)
        return chef_bad(err, "deadline", "between 1 and 86400 seconds");
    if (!chef_charset_ok(o->chef_solo_command, "_./+-", 255))
        return chef_bad(err, "chef_solo_command", "a command name or path ([A-Za-z0-9_./+-])");
    if (!chef_charset_ok(o->chef_client_command, "_./+-", 255))
        return chef_bad(err, "chef_client_command",
                        "a command name or path ([A-Za-z0-9_./+-])");
    if (!chef_is_set(o->chef_install_command) || strlen(o->chef_install_command) > 4096)
        return chef_bad(err, "chef_install_command", "a shell command of at most 4096 bytes");
    if (chef_is_set(o->chef_license) && !chef_charset_ok(o->chef_license, "-", 64))
        return chef_bad(err, "chef_license", "a CHEF_LICENSE value such as accept-silent");
    if (!client)
        return 0;
    if (!chef_charset_ok(o->chef_config_dir, "_./-", 1024) || o->chef_config_dir[0] != '/')
        return chef_bad(err, "chef_config_dir", "an absolute path ([A-Za-z0-9_./-])");
    return chef_check_server(&rq->server, err);
}
