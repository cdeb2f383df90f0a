/* help.c - `--help` and `--version` of every action (see help.h). */
#include "help.h"

#include <ctype.h>
#include <string.h>

#ifndef AS_VERSION
#error "AS_VERSION (the pack.yaml version) comes from the Makefile"
#endif

static const char *const type_words[] = {"string", "integer", "number", "boolean",
                                         "JSON object"};

const char *as_help_lookup(const char *action, const char *param)
{
    for (const struct as_help_text *t = as_help_texts; t->action; t++)
        if (strcmp(t->action, action) == 0 &&
            (param ? t->param && strcmp(t->param, param) == 0 : !t->param))
            return t->text;
    return NULL;
}

int as_help_wrap(FILE *out, const char *text, int indent, int width)
{
    int col = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == '\n' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, " \n\t");
        /* A word longer than the line (a URL) gets a line of its own. */
        if (col > indent && col + 1 + (int)n > width) {
            fputc('\n', out);
            col = 0;
        }
        if (col == 0)
            col = fprintf(out, "%*s", indent, "");
        else
            col += fprintf(out, " ");
        col += fprintf(out, "%.*s", (int)n, p);
        p += n;
    }
    if (col)
        fputc('\n', out);
    return ferror(out) ? -1 : 0;
}

/* "--name=STRING", "--force", "<body>" (a positional). */
static void param_form(const struct as_param *p, char *buf, size_t sz)
{
    char meta[32];
    size_t i = 0;
    for (; p->name[i] && i < sizeof meta - 1; i++)
        meta[i] = (char)toupper((unsigned char)p->name[i]);
    meta[i] = '\0';
    if (p->position != AS_NAMED)
        snprintf(buf, sz, "<%s>", p->name);
    else if (p->type == AS_T_BOOLEAN)
        snprintf(buf, sz, "--%s", p->name);
    else
        snprintf(buf, sz, "--%s=%s", p->name, meta);
}

static void usage_line(FILE *out, const char *action, const struct as_param *params)
{
    int col = fprintf(out, "usage: %s", action);
    for (const struct as_param *p = params; p->name; p++) {
        char form[96], word[104];
        param_form(p, form, sizeof form);
        snprintf(word, sizeof word, (p->flags & AS_P_REQUIRED) && !p->def ? "%s" : "[%s]",
                 form);
        if (col + 1 + (int)strlen(word) > 78)
            col = fprintf(out, "\n%*s", (int)strlen("usage: ") + (int)strlen(action), "") - 1;
        col += fprintf(out, " %s", word);
    }
    fputc('\n', out);
}

static void param_facts(FILE *out, const char *action, const struct as_param *p)
{
    char facts[512];
    size_t n = 0;
#define FACT(...)                                                                  \
    do {                                                                           \
        if (n < sizeof facts)                                                      \
            n += (size_t)snprintf(facts + n, sizeof facts - n, "%s", n ? "; " : ""); \
        if (n < sizeof facts)                                                      \
            n += (size_t)snprintf(facts + n, sizeof facts - n, __VA_ARGS__);      \
    } while (0)

    FACT("%s", type_words[p->type]);
    if (p->position != AS_NAMED)
        FACT("position %d", p->position);
    if ((p->flags & AS_P_REQUIRED) && !p->def)
        FACT("required");
    if (p->flags & AS_P_SECRET) {
        char env[96];
        size_t i = (size_t)snprintf(env, sizeof env, "AUTOSCALE_SECRET_");
        for (const char *c = p->name; *c && i < sizeof env - 1; c++)
            env[i++] = (char)toupper((unsigned char)*c);
        env[i] = '\0';
        FACT("secret, or from $%s", env);
    }
    if (p->def)
        FACT("default %s", p->def);
    if (p->config)
        FACT("under st2 from the pack config's %s", p->config);
    long long lo, hi;
    if (p->type == AS_T_INTEGER && as_param_range(action, p->name, &lo, &hi))
        FACT("%lld..%lld", lo, hi);
#undef FACT
    fprintf(out, "      (%s)\n", facts);
}

int as_help_print(FILE *out, const char *action, const struct as_param *params)
{
    const char *about = as_help_lookup(action, NULL);

    usage_line(out, action, params);
    fprintf(out, "       autoscale %s ...\n\n", action);
    if (about) {
        as_help_wrap(out, about, 0, 78);
        fputc('\n', out);
    }
    if (params[0].name)
        fputs("Parameters:\n", out);
    for (const struct as_param *p = params; p->name; p++) {
        char form[96];
        const char *text = as_help_lookup(action, p->name);
        param_form(p, form, sizeof form);
        fprintf(out, "  %s\n", form);
        if (text)
            as_help_wrap(out, text, 6, 78);
        param_facts(out, action, p);
    }
    fprintf(out,
            "\nst2 runs this as actions/bin/%s (a link to actions/bin/autoscale).\n"
            "Result: one JSON document on stdout, logs on stderr; exit 0 on success,\n"
            "1 on a failure a retry may cure, 2 on input that can never succeed.\n"
            "Datastore: st2's ($ST2_API_URL with $ST2_API_KEY or $ST2_AUTH_TOKEN), or\n"
            "the embedded one ($AUTOSCALE_DB). --debug logs more. Version %s.\n",
            action, AS_VERSION);
    fflush(out);
    return ferror(out) ? -1 : 0;
}

int as_version_print(FILE *out)
{
    fprintf(out, "autoscale %s\n", AS_VERSION);
    fflush(out);
    return ferror(out) ? -1 : 0;
}
