/* bench/openstack_requests.c - what one add_node + remove_node costs against
 * the OpenStack fake (tests/fakes/fake_openstack.c), in requests: the node
 * life of lib/compute/nodes.c with the provider's own poll interval. Prints
 * key=value lines for bench/openstack.bench.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asg.h"
#include "fake_openstack.h"
#include "jsonx.h"
#include "nodes.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print(const char *phase, struct fake_openstack *os, double secs)
{
    struct fake_openstack_stats s;
    fake_openstack_stats(os, &s);
    printf("phase=%s auth=%d list=%d create=%d get=%d delete=%d total=%d seconds=%.2f\n",
           phase, s.auth, s.list, s.create, s.get, s.delete, s.requests, secs);
    fake_openstack_reset_stats(os);
}

int main(int argc, char **argv)
{
    struct as_error err;
    struct json_object *out = NULL;
    struct group g;
    struct node_ctx nc = {0};
    const char *db = argc > 1 ? argv[1] : "/tmp/autoscale-bench-os.db";

    struct ds *ds = ds_open_embedded(db, &err);
    struct fake_openstack *os = fake_openstack_start(NULL);
    if (!ds || !os)
        return 1;
    group_init(&g, "bench");
    free(g.compute_provider);
    g.compute_provider = strdup("openstack");
    g.flavor = strdup("2");
    g.image = strdup(FAKE_OS_IMAGE_ID);
    g.network = strdup(FAKE_OS_NET_PRIVATE_ID);
    if (asg_define(ds, &g, &out, &err) < 0)
        return fprintf(stderr, "%s\n", err.message), 1;
    json_object_put(out);

    struct json_object *s = json_object_new_object();
    jx_add_str(s, "auth_url", fake_openstack_auth_url(os));
    jx_add_str(s, "username", FAKE_OS_USERNAME);
    jx_add_str(s, "password", FAKE_OS_PASSWORD);
    jx_add_str(s, "project_name", FAKE_OS_PROJECT);
    nc.compute = compute_open("openstack", s, &err);
    json_object_put(s);
    if (!nc.compute)
        return fprintf(stderr, "%s\n", err.message), 1;
    nc.ds = ds;
    nc.group = &g;
    nc.poll_ms = compute_poll_ms(nc.compute); /* the provider's own interval */
    nc.deadline = 120;
    printf("poll_ms=%ld build_polls=2\n", nc.poll_ms);

    double t = now_s();
    if (node_add(&nc, "bench-1", NULL, false, &out, &err) < 0)
        return fprintf(stderr, "add: %s\n", err.message), 1;
    json_object_put(out);
    print("add_node", os, now_s() - t);
    t = now_s();
    if (node_remove(&nc, "bench-1", &out, &err) < 0)
        return fprintf(stderr, "remove: %s\n", err.message), 1;
    json_object_put(out);
    print("remove_node", os, now_s() - t);

    node_ctx_close(&nc);
    group_clear(&g);
    ds_close(ds);
    fake_openstack_stop(os);
    unlink(db);
    return 0;
}
