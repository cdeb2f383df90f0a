/* chef_server.h - the Chef Server stand-in for tests: tests/chef/
 * verify_signature.rb, a tiny WEBrick server that authenticates every
 * request with Debian's ruby-mixlib-authentication (the reference
 * implementation of Chef's request signing) and keeps clients and nodes in
 * memory. Started in a directory of the test's own, on a free 127.0.0.1
 * port; stopped (and killed with the test process) by PID. Run tests from
 * the repository root: the script is found at tests/chef/. */
#ifndef TEST_CHEF_SERVER_H
#define TEST_CHEF_SERVER_H

#include <sys/types.h>

struct chef_fake {
    char dir[200];
    int port;
    pid_t pid;
    char url[128];       /* http://127.0.0.1:<port>/organizations/test */
    char admin[64];      /* the admin client's name */
    char admin_key[256]; /* its private key (PEM file), made with openssl genrsa */
};

/* Start in dir (which must exist) with a fresh admin key. 0 or -1. */
int chef_fake_start(struct chef_fake *f, const char *dir, const char *admin);
void chef_fake_stop(struct chef_fake *f);

/* DIR/state.json and DIR/requests.log as text, newly allocated. */
char *chef_fake_state(const struct chef_fake *f);
char *chef_fake_requests(const struct chef_fake *f);

/* A new RSA private key (PEM) at path, with openssl genrsa; its public key
 * at pub_path if that is not NULL. */
int chef_fake_genrsa(const char *path, const char *pub_path);

#endif
