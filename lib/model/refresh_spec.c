/* refresh_spec.c - the group spec as a refresh loads and changes it: a
 * refresh starts by setting image, flavor and run list, and a rollback
 * sets them back, both through asg_update() under the spec lock, so a
 * refresh never writes a spec record itself. */
#include "refresh_int.h"

#include "asg.h"
#include "group.h"

#include <stdio.h>
#include <string.h>

#define ABSENT_STR(n) p->n = NULL;
#define ABSENT_INT(n) p->n = PARAM_ABSENT;
#define ABSENT(n, kind, def, cfg, lo, hi, check) ABSENT_##kind(n)
void refresh_params_absent(struct group_params *p)
{
    GROUP_FIELDS(ABSENT)
}

int refresh_spec_set(struct ds *ds, const char *group, const char *image, const char *flavor,
                     const char *run_list, struct group *g, struct as_error *err)
{
    struct asg_request req;
    struct json_object *o = NULL;
    char name[GROUP_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", group); /* group may be g->name, cleared below */
    memset(&req, 0, sizeof req);
    refresh_params_absent(&req.p);
    req.name = name;
    req.p.image = image;
    req.p.flavor = flavor;
    req.p.run_list = run_list;
    if (asg_update(ds, &req, &o, err) < 0)
        return -1;
    json_object_put(o);
    group_clear(g);
    return asg_load_spec(ds, name, g, err);
}

int refresh_load_group(struct ds *ds, const char *group, struct group *g,
                       struct as_error *err)
{
    if (group_check_name(group, err) < 0 || asg_load_spec(ds, group, g, err) < 0)
        return -1;
    if (strcmp(g->status, "active") != 0) {
        group_clear(g);
        return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                       "group '%s' is being deleted: no refresh", group);
    }
    return 0;
}
