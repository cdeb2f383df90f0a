/* fuzz_http.c - libFuzzer target for every HTTP reply the pack parses: the
 * OpenStack (Keystone tokens and catalogue, Nova servers, flavor/image/
 * network look-ups: lib/compute/compute_openstack.c), DigitalOcean (droplets and
 * actions, domain records, load balancers: lib/compute/compute_digitalocean.c,
 * lib/dns/dns_digitalocean.c, lib/lb/lb_digitalocean.c, lib/core/digitalocean.c),
 * PowerDNS (lib/dns/dns_powerdns.c) and st2 datastore (lib/store/ds_st2.c) replies,
 * and under them lib/core/http.c itself: status lines, Retry-After (seconds or an
 * HTTP date), header capture, error bodies (http_error_text), retries.
 *
 * Every provider runs unchanged; only libcurl is replaced (fake_curl.c), and
 * it answers each request with the next reply of the input: every request
 * goes by the curl transport, the http:// ones too (http_force_transport;
 * the plain transport's parser has a target of its own, fuzz_http_response). The input's
 * first line names a scenario (a provider and the operations it runs; an
 * unknown name picks one by its first byte); the rest is replies separated
 * by "\n===\n", each "<status>\n<header lines>\n\n<body>" (status 0: the
 * transfer fails).
 * Invariants: no crash, leak or UB; a failure is a clean one-line error; a
 * machine, rrset or member read back has bounded, clean fields; what is
 * returned never contains a registered secret (the scrubbed error path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "compute.h"
#include "datastore.h"
#include "dns_int.h"
#include "fuzz_common.h"
#include "http_int.h"
#include "jsonx.h"
#include "lb_int.h"
#include "log.h"
#include "secret.h"

#define MAX_REPLIES 24
#define PASSWORD "fuzz-Password-1"

static unsigned long iteration;

static void result(int rc, const struct as_error *err)
{
    if (rc < 0) {
        fz_check_error(err);
        fz_check(!strstr(err->message, PASSWORD), "no secret in an error");
    }
}

static void check_machine(const struct machine *m)
{
    fz_check(strnlen(m->id, sizeof m->id) < sizeof m->id, "machine id terminated");
    fz_check(fz_clean(m->name, sizeof m->name), "machine name clean");
    fz_check(fz_clean(m->group, sizeof m->group), "machine group clean");
    fz_check(fz_clean(m->address, sizeof m->address), "machine address clean");
    fz_check(fz_clean(m->detail, sizeof m->detail), "machine detail clean");
    fz_check(m->state <= MACHINE_GONE, "machine state in range");
}

static struct json_object *settings_of(const char *json)
{
    struct json_object *s = json_tokener_parse(json);
    fz_check(s != NULL, "scenario settings parse");
    return s;
}

static void compute(const char *provider, int op)
{
    struct as_error err;
    char json[512];
    if (strcmp(provider, "openstack") == 0)
        /* A new user name each time: the process token cache must miss, or
         * the token reply would be parsed once only. */
        snprintf(json, sizeof json,
                 "{\"auth_url\":\"http://keystone.test:5000/v3\",\"username\":\"u%lu\","
                 "\"password\":\"" PASSWORD "\",\"project_name\":\"demo\","
                 "\"region\":\"RegionOne\",\"network\":\"private\"}",
                 iteration);
    else
        snprintf(json, sizeof json,
                 "{\"token\":\"" PASSWORD "\",\"api_url\":\"https://api.do.test\","
                 "\"region\":\"nyc3\"}");
    struct json_object *settings = settings_of(json);
    as_error_clear(&err);
    struct compute *c = compute_open(provider, settings, &err);
    fz_check(c != NULL, "compute opens");
    struct machine m, *list = NULL;
    size_t n = 0;
    memset(&m, 0, sizeof m);
    const char *id = strcmp(provider, "openstack") == 0 ? "0b5f2d1e-6c2a-4f3e-9a1d-2f4e5d6c7b8a"
                                                        : "3164444";
    struct machine_spec spec = {.group = "web", .name = "web-1a2b3c4d",
                                .flavor = "m1.small", .image = "Ubuntu 22.04",
                                .network = "private", .key_pair = "ops",
                                .user_data = "#cloud-config\n"};
    if (strcmp(provider, "digitalocean") == 0) {
        spec.flavor = "s-1vcpu-1gb";
        spec.image = "ubuntu-22-04-x64";
        spec.network = NULL;
    }
    int rc;
    as_error_clear(&err);
    switch (op) {
    case 0:
        rc = compute_list(c, "web", &list, &n, &err);
        result(rc, &err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            check_machine(&list[i]);
        free(list);
        break;
    case 1:
        rc = compute_get(c, id, &m, &err);
        result(rc, &err);
        if (rc >= 0)
            check_machine(&m);
        break;
    case 2:
        rc = compute_create(c, &spec, &m, &err);
        result(rc, &err);
        if (rc >= 0)
            check_machine(&m);
        break;
    case 3:
        rc = compute_find(c, "web", "web-1a2b3c4d", &m, &err);
        result(rc, &err);
        if (rc > 0)
            check_machine(&m);
        break;
    default:
        result(compute_destroy(c, id, &err), &err);
        break;
    }
    compute_close(c);
    json_object_put(settings);
}

static void dns(const char *provider, int op)
{
    struct as_error err;
    struct json_object *settings = settings_of(
        strcmp(provider, "powerdns") == 0
            ? "{\"api_url\":\"http://127.0.0.1:8081/api/v1/servers/localhost\","
              "\"api_key\":\"" PASSWORD "\"}"
            : "{\"token\":\"" PASSWORD "\",\"api_url\":\"https://api.do.test\"}");
    const struct dns_ops *ops = NULL;
    as_error_clear(&err);
    struct dns *d = dns_open(provider, settings, &ops, &err);
    fz_check(d != NULL, "dns opens");
    struct dns_rrset rr = {0}, want = {0};
    dns_rrset_add(&want, "10.0.0.11");
    dns_rrset_add(&want, "10.0.0.12");
    want.ttl = 60;
    int rc;
    switch (op) {
    case 0:
        result(ops->zone_check(d, "example.test", &err), &err);
        break;
    case 1:
        rc = ops->get(d, "example.test", "web.example.test.", &rr, &err);
        result(rc, &err);
        for (size_t i = 0; rc == 0 && i < rr.n; i++)
            fz_check(dns_is_ipv4(rr.addr[i]), "an rrset holds IPv4 addresses");
        break;
    case 2:
        result(ops->replace(d, "example.test", "web.example.test.", &want, &err), &err);
        break;
    default:
        result(ops->remove(d, "example.test", "web.example.test.", &err), &err);
        break;
    }
    dns_rrset_clear(&rr);
    dns_rrset_clear(&want);
    ops->close(d);
    json_object_put(settings);
}

static void lb(int op)
{
    struct as_error err;
    struct json_object *settings = settings_of(
        "{\"token\":\"" PASSWORD "\",\"api_url\":\"https://api.do.test\","
        "\"lb_id\":\"4de7ac8b-495b-4884-9a69-1050c6793cd6\"}");
    const struct lb_ops *ops = lb_lookup("digitalocean");
    as_error_clear(&err);
    struct lb *l = ops->open(settings, "web", &err);
    fz_check(l != NULL, "lb opens");
    struct lb_member *all = NULL, one;
    size_t n = 0;
    struct lb_target t = {.name = "web-1", .address = "10.0.0.11", .port = 80,
                          .provider_id = "3164444"};
    int rc;
    switch (op) {
    case 0:
        rc = ops->list(l, &all, &n, &err);
        result(rc, &err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            fz_check(fz_clean(all[i].key, sizeof all[i].key), "member key clean");
        free(all);
        break;
    case 1:
        result(ops->get(l, "3164444", &one, &err), &err);
        break;
    case 2:
        result(ops->add(l, &t, &err), &err);
        break;
    default:
        result(ops->remove(l, "3164444", as_mono_ms() - 1, false, &err), &err);
        break;
    }
    ops->close(l);
    json_object_put(settings);
}

static void st2(int op)
{
    struct as_error err;
    struct ds_st2_config cfg = {.base_url = "http://127.0.0.1:9101/v1",
                                .api_key = PASSWORD, .page_size = 2};
    as_error_clear(&err);
    struct ds *ds = ds_open_st2(&cfg, &err);
    fz_check(ds != NULL, "st2 datastore opens");
    char *v = NULL;
    struct ds_list l = {0};
    int rc;
    switch (op) {
    case 0:
        rc = ds_get(ds, "autoscale.spec.web", &v, &err);
        result(rc, &err);
        if (rc == 0)
            fz_check(v != NULL, "a value read");
        free(v);
        break;
    case 1:
        rc = ds_list(ds, "autoscale.node.web.", &l, &err);
        result(rc, &err);
        for (size_t i = 0; rc == 0 && i < l.count; i++) {
            fz_check(strncmp(l.items[i].name, "autoscale.node.web.", 19) == 0,
                     "a listing holds only its prefix");
            fz_check(i == 0 || strcmp(l.items[i - 1].name, l.items[i].name) < 0,
                     "a listing is sorted without repeats");
        }
        ds_list_clear(&l);
        break;
    case 2:
        result(ds_put(ds, "autoscale.lease.web", "{\"id\":\"x\"}", 600, &err), &err);
        break;
    default:
        result(ds_del(ds, "autoscale.lease.web", &err), &err);
        break;
    }
    ds_close(ds);
}

struct scenario {
    const char *name;
    void (*run)(int op);
    int op;
};

static void os_(int op) { compute("openstack", op); }
static void do_(int op) { compute("digitalocean", op); }
static void pdns_(int op) { dns("powerdns", op); }
static void dodns_(int op) { dns("digitalocean", op); }

static const struct scenario scenarios[] = {
    {"openstack_list", os_, 0},   {"openstack_get", os_, 1},    {"openstack_create", os_, 2},
    {"openstack_find", os_, 3},   {"openstack_destroy", os_, 4}, {"do_list", do_, 0},
    {"do_get", do_, 1},           {"do_create", do_, 2},        {"do_find", do_, 3},
    {"do_destroy", do_, 4},       {"pdns_zone", pdns_, 0},      {"pdns_get", pdns_, 1},
    {"pdns_replace", pdns_, 2},   {"pdns_remove", pdns_, 3},    {"dodns_zone", dodns_, 0},
    {"dodns_get", dodns_, 1},     {"dodns_replace", dodns_, 2}, {"dodns_remove", dodns_, 3},
    {"dolb_list", lb, 0},         {"dolb_get", lb, 1},          {"dolb_add", lb, 2},
    {"dolb_remove", lb, 3},       {"st2_get", st2, 0},          {"st2_list", st2, 1},
    {"st2_put", st2, 2},          {"st2_del", st2, 3},
};
#define NSCEN (sizeof scenarios / sizeof *scenarios)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_level(LOG_ERROR);
    fz_check(http_force_transport("curl") == 0, "the curl transport exists");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_piece p[MAX_REPLIES + 1];
    if (size == 0 || size > 1 << 20)
        return 0;
    size_t n = fz_split(data, size, "\n===\n", p, MAX_REPLIES + 1);
    const struct scenario *sc = &scenarios[data[0] % NSCEN];
    size_t name_len = strcspn(p[0].s, "\n");
    for (size_t i = 0; i < NSCEN; i++)
        if (strlen(scenarios[i].name) == name_len &&
            strncmp(p[0].s, scenarios[i].name, name_len) == 0)
            sc = &scenarios[i];
    fz_http_script(p + 1, n - 1);
    iteration++;
    sc->run(sc->op);
    fz_pieces_free(p, n);
    secret_clear();
    return 0;
}
