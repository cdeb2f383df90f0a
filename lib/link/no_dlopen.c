/* no_dlopen.c - a link-time substitute (lib/link/README.md) for glibc's
 * dlopen() family in the static actions/bin/autoscale, which links with
 * -Wl,--wrap=dlopen (and dlsym, dlclose, dlerror), so that every call to
 * them in the objects it links comes here. The one caller is SQLite's
 * extension loader (os_unix.c, unixDlOpen), which the store never uses (it
 * never enables load_extension). glibc's own would, in a static binary,
 * need "the shared libraries from the glibc version used for linking" (the
 * warning ld prints for any reference to it) and bring a second libc with
 * any library it opened. */
#include <stddef.h>

void *__wrap_dlopen(const char *file, int mode);
void *__wrap_dlsym(void *handle, const char *name);
int __wrap_dlclose(void *handle);
char *__wrap_dlerror(void);

void *__wrap_dlopen(const char *file, int mode)
{
    (void)file, (void)mode;
    return NULL;
}

void *__wrap_dlsym(void *handle, const char *name)
{
    (void)handle, (void)name;
    return NULL;
}

int __wrap_dlclose(void *handle)
{
    (void)handle;
    return 0;
}

char *__wrap_dlerror(void)
{
    static char why[] = "dynamic loading is not available in this static binary";
    return why;
}
