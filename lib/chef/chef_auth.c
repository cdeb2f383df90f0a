/* chef_auth.c - how the pack and a node's client authenticate to a Chef
 * server (OpenSSL EVP): RSA keys (the key the pack signs as, each node's
 * new client key) and request signatures, protocol v1.3 (RSA-SHA256), as
 * mixlib-authentication verifies them (see chef_int.h). */
#include "chef_int.h"

#include "secret.h"
#include "ssh.h"
#include "xalloc.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- keys -- */

struct chef_key {
    EVP_PKEY *pkey;
};

/* Never prompt on a terminal for a passphrase: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static struct chef_key *key_from_bio(BIO *bio, const char *what, struct as_error *err)
{
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    if (!pkey || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pkey);
        as_fail(err, AS_EXIT_BADINPUT, "invalid_private_key",
                "%s is not an unencrypted RSA private key in PEM form", what);
        return NULL;
    }
    struct chef_key *k = xcalloc(1, sizeof *k);
    k->pkey = pkey;
    return k;
}

struct chef_key *chef_key_load(const char *pem, const char *what, struct as_error *err)
{
    char *text = sshc_pem_unescape(pem);
    BIO *bio = BIO_new_mem_buf(text, -1);
    struct chef_key *k = key_from_bio(bio, what, err);
    BIO_free(bio);
    secret_free(text);
    return k;
}

struct chef_key *chef_key_load_file(const char *path, struct as_error *err)
{
    BIO *bio = BIO_new_file(path, "r");
    if (!bio) {
        as_fail(err, AS_EXIT_BADINPUT, "invalid_private_key",
                "cannot read the key file %s", path);
        return NULL;
    }
    struct chef_key *k = key_from_bio(bio, path, err);
    BIO_free(bio);
    return k;
}

struct chef_key *chef_client_key_load(const struct chef_server_params *s,
                                      struct as_error *err)
{
    return chef_is_set(s->chef_client_key)
               ? chef_key_load(s->chef_client_key, "parameter 'chef_client_key'", err)
               : chef_key_load_file(s->chef_client_key_file, err);
}

struct chef_key *chef_key_generate(struct as_error *err)
{
    struct chef_key *k = xcalloc(1, sizeof *k);
    /* The EVP_PKEY_CTX calls, not OpenSSL 3's one-call EVP_RSA_gen(): they
     * exist from OpenSSL 1.1 (Ubuntu 20.04, EL8) on and are not deprecated
     * in 3, so every build runs and tests this one path. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
    if (ctx && (EVP_PKEY_keygen_init(ctx) <= 0 ||
                EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) <= 0 ||
                EVP_PKEY_keygen(ctx, &k->pkey) <= 0)) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    if (!k->pkey) {
        free(k);
        as_fail(err, AS_EXIT_FAILURE, "chef_error", "cannot generate an RSA key");
        return NULL;
    }
    return k;
}

static char *bio_text(BIO *bio, int ok)
{
    char *data = NULL, *out = NULL;
    long n = ok ? BIO_get_mem_data(bio, &data) : 0;
    if (n > 0) {
        out = xmalloc((size_t)n + 1);
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(bio); /* a memory BIO is cleared when freed */
    return out;
}

char *chef_key_private_pem(const struct chef_key *k)
{
    /* Traditional "RSA PRIVATE KEY": every Chef client reads it. */
    BIO *bio = BIO_new(BIO_s_mem());
    return bio ? bio_text(bio, PEM_write_bio_PrivateKey_traditional(bio, k->pkey, NULL, NULL,
                                                                    0, NULL, NULL))
               : NULL;
}

char *chef_key_public_pem(const struct chef_key *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    return bio ? bio_text(bio, PEM_write_bio_PUBKEY(bio, k->pkey)) : NULL;
}

void chef_key_free(struct chef_key *k)
{
    if (k) {
        EVP_PKEY_free(k->pkey);
        free(k);
    }
}

/* ---------------------------------------------------------- signing -- */

static char *base64(const unsigned char *in, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

static char *sha256_base64(const char *data, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL))
        return NULL;
    return base64(md, mdlen);
}

/* mixlib's canonical path: repeated slashes squeezed, no trailing slash
 * (unless the path is "/"). */
static char *canonical_path(const char *path)
{
    char *out = xmalloc(strlen(path) + 2), *w = out;
    for (const char *p = path; *p; p++)
        if (!(*p == '/' && w > out && w[-1] == '/'))
            *w++ = *p;
    if (w == out)
        *w++ = '/';
    if (w - out > 1 && w[-1] == '/')
        w--;
    *w = '\0';
    return out;
}

char *chef_canonical_request(const char *method, const char *path, const char *body,
                             size_t body_len, const char *timestamp, const char *user_id)
{
    char *hash = sha256_base64(body ? body : "", body ? body_len : 0);
    char *cpath = canonical_path(path);
    char *out = NULL;
    if (hash)
        out = xasprintf("Method:%s\nPath:%s\nX-Ops-Content-Hash:%s\nX-Ops-Sign:version=1.3\n"
                        "X-Ops-Timestamp:%s\nX-Ops-UserId:%s\nX-Ops-Server-API-Version:1",
                        method, cpath, hash, timestamp, user_id);
    free(hash);
    free(cpath);
    return out;
}

static char *rsa_sha256_base64(const struct chef_key *k, const char *data)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    char *out = NULL;
    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, strlen(data)) == 1 &&
        (sig = xmalloc(siglen)) &&
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, strlen(data)) == 1)
        out = base64(sig, siglen);
    free(sig);
    EVP_MD_CTX_free(ctx);
    return out;
}

void chef_headers_free(char **headers)
{
    for (size_t i = 0; headers && headers[i]; i++)
        free(headers[i]);
    free(headers);
}

char **chef_sign(const struct chef_key *k, const char *user_id, const char *method,
                 const char *path, const char *body, size_t body_len, time_t when,
                 struct as_error *err)
{
    char ts[32];
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);

    char *canon = chef_canonical_request(method, path, body, body_len, ts, user_id);
    char *sig = canon ? rsa_sha256_base64(k, canon) : NULL;
    char *hash = sha256_base64(body ? body : "", body ? body_len : 0);
    char **h = NULL;

    if (sig && hash) {
        size_t lines = (strlen(sig) + 59) / 60, n = 0;
        h = xcalloc(6 + lines + 1, sizeof *h);
        h[n++] = xasprintf("X-Ops-Sign: algorithm=sha256;version=1.3");
        h[n++] = xasprintf("X-Ops-Userid: %s", user_id);
        h[n++] = xasprintf("X-Ops-Timestamp: %s", ts);
        h[n++] = xasprintf("X-Ops-Content-Hash: %s", hash);
        h[n++] = xasprintf("X-Ops-Server-API-Version: 1");
        for (size_t i = 0; i < lines; i++)
            h[n++] = xasprintf("X-Ops-Authorization-%zu: %.60s", i + 1, sig + 60 * i);
    }
    free(canon);
    free(sig);
    free(hash);
    if (!h)
        as_fail(err, AS_EXIT_FAILURE, "chef_error", "cannot sign the Chef API request");
    return h;
}
