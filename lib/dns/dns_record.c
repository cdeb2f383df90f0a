/* dns_record.c - what dns_register and dns_unregister do above the
 * providers (dns.h), once for every provider: the group record's
 * addresses, and the order of writes that leaves nothing half-done.
 *
 * Register writes the node's record first and the group record second: a
 * name that answers before the round robin does is harmless, the reverse
 * would send traffic to a name nobody can look up on its own. If the group
 * record cannot be written, both rrsets are put back as they were read, so a
 * failed register leaves the zone as it found it.
 *
 * Unregister goes the other way: the group record first (out of the round
 * robin before anything else), then the node's record. A failure part-way
 * leaves a state that a retry finishes; nothing is restored, because the
 * node is leaving anyway. */
#include "dns_int.h"
#include "asg.h"
#include "datastore.h"
#include "group.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "settings.h"

#include <stdio.h>
#include <string.h>

int dns_group_addresses(struct ds *ds, const char *group, const char *add_addr,
                        const char *without, struct dns_rrset *out, struct as_error *err)
{
    char prefix[KEY_MAX], state[16], addr[DNS_ADDR_MAX];
    struct ds_list l = {0};

    if (ds_list(ds, key_node_prefix(prefix, group), &l, err) < 0)
        return -1;
    for (size_t i = 0; i < l.count; i++) {
        const char *node = key_leaf(l.items[i].name);
        if (without && strcmp(node, without) == 0)
            continue;
        /* Peeking, not parsing: a group of a thousand nodes stays cheap. */
        if (jx_peek_str(l.items[i].value, "state", state, sizeof state) < 0 ||
            strcmp(state, "active") != 0 ||
            jx_peek_str(l.items[i].value, "address", addr, sizeof addr) < 0)
            continue;
        dns_rrset_add(out, addr); /* not an IPv4 address: left out */
    }
    ds_list_clear(&l);
    if (add_addr)
        dns_rrset_add(out, add_addr);
    return 0;
}

/* -------------------------------------------------------- the actions -- */

/* One run of dns_register or dns_unregister. */
struct job {
    struct group g;
    bool have_group;
    const char *node;
    const struct dns_ops *ops;
    struct dns *dns;
    char zone[DNS_NAME_MAX];
    char record[DNS_NAME_MAX];
    char group_record[DNS_NAME_MAX];
    long ttl;
    struct dns_rrset node_was, group_was; /* as read before any write */
    struct dns_rrset group_want;
};

static void job_clear(struct job *j)
{
    if (j->dns)
        j->ops->close(j->dns);
    if (j->have_group)
        group_clear(&j->g);
    dns_rrset_clear(&j->node_was);
    dns_rrset_clear(&j->group_was);
    dns_rrset_clear(&j->group_want);
    memset(j, 0, sizeof *j);
}

static struct json_object *result_base(const struct job *j, bool changed)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", j->g.name);
    jx_add_str(o, "node", j->node);
    jx_add_str(o, "provider", j->ops->name);
    jx_add_bool(o, "changed", changed);
    return o;
}

/* The group's provider keeps no records (none): say so and do nothing. */
static struct json_object *skipped(const struct job *j)
{
    struct json_object *o = result_base(j, false);
    jx_add_bool(o, "skipped", true);
    jx_add_str(o, "message", "the group's dns_provider is none: no DNS records to change");
    return o;
}

/* Everything that needs no network: names, the group, its zone, the TTL
 * and the record names. Returns 1 when the group's provider keeps no
 * records. An unknown provider is found out by dns_open(), later. */
static int job_prepare(struct ds *ds, const struct dns_request *rq, struct job *j,
                       struct json_object **settings, struct as_error *err)
{
    j->node = rq->node;
    if (group_check_name(rq->group, err) < 0 || node_check_name(j->node, err) < 0)
        return -1;
    if (asg_load_spec(ds, rq->group, &j->g, err) < 0)
        return -1;
    j->have_group = true;
    j->ops = dns_lookup(j->g.dns_provider);
    if (j->ops && !j->ops->open)
        return 1;
    if (!j->g.dns_zone || !*j->g.dns_zone)
        return as_fail(err, AS_EXIT_BADINPUT, "dns_zone_missing",
                       "group '%s' uses DNS provider %s but has no dns_zone (asg_update "
                       "--dns_zone=...)",
                       j->g.name, j->g.dns_provider);
    if (dns_zone_plain(j->g.dns_zone, j->zone, sizeof j->zone, err) < 0 ||
        dns_settings(&rq->p, j->g.dns_provider, &j->g, rq->allowed, settings, err) < 0)
        return -1;
    long long ttl = settings_int(*settings, "ttl", DNS_DEFAULT_TTL);
    if (ttl < DNS_TTL_MIN || ttl > DNS_TTL_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'dns_ttl' must be between %d and %d seconds", DNS_TTL_MIN,
                       DNS_TTL_MAX);
    j->ttl = (long)ttl;
    const char *tmpl = settings_str(*settings, "record_template");
    if (dns_record_name(tmpl, j->node, j->g.name, j->zone, j->record, err) < 0 ||
        dns_group_name(j->g.name, j->zone, j->group_record, err) < 0)
        return -1;
    return 0;
}

/* Open the provider, make sure the zone is there, read both rrsets. */
static int job_connect(struct job *j, struct json_object *settings, struct as_error *err)
{
    if (!(j->dns = dns_open(j->g.dns_provider, settings, &j->ops, err)))
        return -1;
    if (j->ops->zone_check(j->dns, j->zone, err) < 0 ||
        j->ops->get(j->dns, j->zone, j->record, &j->node_was, err) < 0 ||
        j->ops->get(j->dns, j->zone, j->group_record, &j->group_was, err) < 0)
        return -1;
    return 0;
}

/* Make rrset `name` hold `want` (removed when empty). */
static int put_rrset(struct job *j, const char *name, const struct dns_rrset *want,
                     struct as_error *err)
{
    if (want->n == 0)
        return j->ops->remove(j->dns, j->zone, name, err);
    return j->ops->replace(j->dns, j->zone, name, want, err);
}

/* Put an rrset back as it was read; a note on how that went into note. */
static void restore(struct job *j, const char *name, const struct dns_rrset *was, char *note,
                    size_t size)
{
    struct as_error e = {0};
    size_t used = strlen(note);
    if (put_rrset(j, name, was, &e) == 0) {
        log_warn("restored %s to its previous %zu address(es)", name, was->n);
        snprintf(note + used, size - used, "; %s restored", name);
    } else {
        log_error("could not restore %s: %s: %s", name, e.code, e.message);
        snprintf(note + used, size - used, "; %s NOT restored (%.60s)", name, e.code);
    }
}

static struct json_object *job_result(const struct job *j, const char *address, bool node_changed,
                                      bool group_changed)
{
    struct json_object *o = result_base(j, node_changed || group_changed);
    jx_add_str(o, "zone", j->zone);
    jx_add_str(o, "record", j->record);
    jx_add_str(o, "address", address);
    jx_add_str(o, "group_record", j->group_record);
    json_object_object_add(o, "group_addresses", dns_rrset_json(&j->group_want));
    jx_add_int(o, "ttl", j->ttl);
    jx_add_bool(o, "node_record_changed", node_changed);
    jx_add_bool(o, "group_record_changed", group_changed);
    return o;
}

/* The node's address from its record: it must exist, be building, active
 * or warming (registering a leaving node would put it back in the round
 * robin) and have an IPv4 address. *pool: it is a warm pool node being
 * prepared (warming): its own name only, kept out of the round robin until
 * node_activate makes it active and it is registered again. */
static int node_address(struct ds *ds, struct job *j, char *addr, bool need_addr,
                        bool *pool, struct as_error *err)
{
    struct json_object *rec = NULL;
    int rc = node_record_load(ds, j->g.name, j->node, &rec, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_node", "group '%s' has no node '%s'",
                       j->g.name, j->node);
    enum node_state st = node_record_state(rec);
    const char *a = jx_str(rec, "address", NULL);
    rc = 0;
    *pool = st == NODE_WARMING;
    if (need_addr && st != NODE_BUILDING && st != NODE_ACTIVE && st != NODE_WARMING)
        rc = as_fail(err, AS_EXIT_BADINPUT, "invalid_node_state",
                     "node '%s' is %s: only a building, warming or active node is registered",
                     j->node, node_state_name(st));
    else if (need_addr && !dns_is_ipv4(a))
        rc = as_fail(err, AS_EXIT_BADINPUT, "node_no_address",
                     "node '%s' has no IPv4 address yet", j->node);
    else if (need_addr)
        snprintf(addr, DNS_ADDR_MAX, "%s", a);
    json_object_put(rec);
    return rc;
}

static int register_writes(struct job *j, const struct dns_rrset *node_want, bool *node_changed,
                           bool *group_changed, struct as_error *err)
{
    *node_changed = !dns_rrset_same(&j->node_was, node_want) || j->node_was.ttl != j->ttl;
    *group_changed =
        !dns_rrset_same(&j->group_was, &j->group_want) || j->group_was.ttl != j->ttl;
    if (*node_changed && put_rrset(j, j->record, node_want, err) < 0) {
        /* A provider that writes an rrset in several requests (DigitalOcean)
         * may have done some of them. */
        char note[256] = "";
        restore(j, j->record, &j->node_was, note, sizeof note);
        as_error_prefix(err, "node record %s not written%s", j->record, note);
        return -1;
    }
    if (*group_changed && put_rrset(j, j->group_record, &j->group_want, err) < 0) {
        char note[256] = "";
        restore(j, j->group_record, &j->group_was, note, sizeof note);
        if (*node_changed)
            restore(j, j->record, &j->node_was, note, sizeof note);
        as_error_prefix(err, "group record %s not written%s", j->group_record, note);
        return -1;
    }
    return 0;
}

/* Registering races a decommission: asg_delete marks the group deleting
 * (asg_retire), then each node's node_down unregisters it. A register whose
 * writes land after that unregister (a pool fill's node_up, between its
 * add_node and dns_register when the delete began) would leave the node's
 * record in the zone for good: the datastore record goes with the machine,
 * and nothing else knows the name. So a register checks the group twice:
 * before anything (a group being deleted or gone is refused, nothing
 * written), and again after its writes. If the second check still finds the
 * group active, it ran before asg_retire's mark, so the writes came before
 * every node_down of the delete, whose unregister takes them out; if not,
 * this register takes out what it wrote itself. Either way no record of it
 * survives the delete, with no lock between the two workflows. */
static bool group_leaving(struct ds *ds, const char *group)
{
    struct group g;
    struct as_error e = {0};
    if (asg_load_spec(ds, group, &g, &e) < 0)
        return as_error_is(&e, "unknown_group"); /* a store failure: not known to leave */
    bool leaving = strcmp(g.status, "active") != 0;
    group_clear(&g);
    return leaving;
}

/* The second check found the group leaving: remove what this register
 * wrote (the node's record; the round robin, which a group being deleted
 * no longer has), and fail. */
static int register_withdraw(struct job *j, bool group_changed, struct as_error *err)
{
    struct as_error e = {0};
    char note[DNS_NAME_MAX + 120] = "";
    if (j->ops->remove(j->dns, j->zone, j->record, &e) < 0)
        snprintf(note, sizeof note, "; %.255s NOT withdrawn (%.60s): run dns_unregister",
                 j->record, e.code);
    else if (group_changed && j->ops->remove(j->dns, j->zone, j->group_record, &e) < 0)
        snprintf(note, sizeof note, "; %.255s NOT withdrawn (%.60s): run dns_unregister",
                 j->group_record, e.code);
    log_warn("group %s began its deletion during this register: records withdrawn%s",
             j->g.name, note);
    return as_fail(err, AS_EXIT_FAILURE, "group_deleting",
                   "group '%s' is being deleted: node %s not registered (its records are "
                   "withdrawn%s)",
                   j->g.name, j->node, note);
}

int dns_register(struct ds *ds, const struct dns_request *rq, struct json_object **out,
                 struct as_error *err)
{
    struct job j;
    struct json_object *settings = NULL;
    struct dns_rrset node_want = {0};
    char addr[DNS_ADDR_MAX] = "";
    bool node_changed = false, group_changed = false, pool = false;

    memset(&j, 0, sizeof j);
    int rc = job_prepare(ds, rq, &j, &settings, err);
    if (rc >= 0 && strcmp(j.g.status, "active") != 0)
        rc = as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                     "group '%s' is being deleted: no node is registered in DNS", j.g.name);
    if (rc >= 0 && node_address(ds, &j, addr, rc == 0, &pool, err) < 0)
        rc = -1;
    if (rc == 1) {
        *out = skipped(&j);
        rc = 0;
        goto done;
    }
    if (rc < 0 ||
        dns_group_addresses(ds, j.g.name, pool ? NULL : addr, NULL, &j.group_want, err) < 0 ||
        dns_rrset_add(&node_want, addr) < 0 || job_connect(&j, settings, err) < 0) {
        rc = -1;
        goto done;
    }
    node_want.ttl = j.group_want.ttl = j.ttl;
    if (register_writes(&j, &node_want, &node_changed, &group_changed, err) < 0) {
        rc = -1;
        goto done;
    }
    if (group_leaving(ds, j.g.name)) {
        rc = register_withdraw(&j, group_changed, err);
        goto done;
    }
    log_info("%s %s -> %s; %s -> %zu address(es)%s", node_changed ? "wrote" : "kept", j.record,
             addr, j.group_record, j.group_want.n, group_changed ? " (written)" : "");
    *out = job_result(&j, addr, node_changed, group_changed);
done:
    json_object_put(settings);
    dns_rrset_clear(&node_want);
    job_clear(&j);
    return rc;
}

int dns_unregister(struct ds *ds, const struct dns_request *rq, struct json_object **out,
                   struct as_error *err)
{
    struct job j;
    struct json_object *settings = NULL;
    bool node_changed = false, group_changed = false;

    memset(&j, 0, sizeof j);
    int rc = job_prepare(ds, rq, &j, &settings, err);
    if (rc == 1) {
        *out = skipped(&j);
        rc = 0;
        goto done;
    }
    /* A group being deleted (asg_retire) is leaving as a whole: its round
     * robin is emptied by the first unregister. Computing it from the other
     * nodes' records instead would race: the asg_delete workflow takes its
     * nodes down concurrently, none of them marked draining, and each
     * unregister would put back the nodes the others just took out. */
    bool leaving = strcmp(j.g.status, "active") != 0;
    if (rc < 0 ||
        (!leaving && dns_group_addresses(ds, j.g.name, NULL, j.node, &j.group_want, err) < 0) ||
        job_connect(&j, settings, err) < 0) {
        rc = -1;
        goto done;
    }
    j.group_want.ttl = j.ttl;
    /* Only the addresses matter here: unregistering is no time to rewrite
     * the group record for a TTL. */
    group_changed = !dns_rrset_same(&j.group_was, &j.group_want);
    if (group_changed && put_rrset(&j, j.group_record, &j.group_want, err) < 0) {
        as_error_prefix(err, "group record %s not updated, node record kept", j.group_record);
        rc = -1;
        goto done;
    }
    node_changed = j.node_was.n > 0;
    if (node_changed && j.ops->remove(j.dns, j.zone, j.record, err) < 0) {
        as_error_prefix(err, "group record %s, but node record %s not deleted (retry)",
                        group_changed ? "updated" : "unchanged", j.record);
        rc = -1;
        goto done;
    }
    log_info("%s %s; %s -> %zu address(es)%s", node_changed ? "deleted" : "no record", j.record,
             j.group_record, j.group_want.n, group_changed ? " (written)" : "");
    *out = job_result(&j, j.node_was.n ? j.node_was.addr[0] : NULL, node_changed,
                      group_changed);
done:
    json_object_put(settings);
    job_clear(&j);
    return rc;
}
