/*
 * The native C references of scripts/compare-native.sh: single-thread
 * verify time per vector, with the same sampling as benches/native.rs
 * (ops per sample doubled until a sample takes 2 ms, then samples until
 * 300 ms and at least 5 have passed, at most 200; median ms per op).
 *
 * Reads the vectors TSV on stdin: name, kind, stored hash, kind fields.
 *   crypt   -                                libxcrypt crypt_rn
 *   argon2  t m p salt_hex hash_hex          reference argon2 (opt.c), 1 thread
 *   pbkdf2  alg iterations salt_hex dk_hex   nettle, OpenSSL PKCS5_PBKDF2_HMAC
 *   salted  alg salt_hex digest_hex          H(password || salt): OpenSSL low-level, nettle
 *   phpass  log2_count salt digest_hex       phpass's MD5 loop: OpenSSL low-level, nettle
 * Prints "name<TAB>implementation<TAB>ms<TAB>ok|MISMATCH" per candidate;
 * "ok" means the candidate computed the stored result for the password.
 *
 * Build: see scripts/compare-native.sh (needs libcrypt, nettle, libcrypto
 * and the argon2 reference sources).
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <argon2.h>
#include <nettle/md5.h>
#include <nettle/pbkdf2.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#define MIN_SAMPLE_MS 2.0
#define MIN_TOTAL_MS 300.0
#define MIN_SAMPLES 5
#define MAX_SAMPLES 200

static const char *password;
static size_t password_len;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ms per call of op(arg); op returns 1 when it computed the stored result. */
static double time_ms(int (*op)(void *), void *arg, int *ok) {
    *ok = op(arg);
    long per_sample = 1;
    for (;;) {
        double t = now_ms();
        for (long i = 0; i < per_sample; i++) op(arg);
        if (now_ms() - t >= MIN_SAMPLE_MS || per_sample >= (1L << 20)) break;
        per_sample *= 2;
    }
    double samples[MAX_SAMPLES];
    int n = 0;
    double start = now_ms();
    while (n < MAX_SAMPLES && (n < MIN_SAMPLES || now_ms() - start < MIN_TOTAL_MS)) {
        double t = now_ms();
        for (long i = 0; i < per_sample; i++) op(arg);
        samples[n++] = (now_ms() - t) / per_sample;
    }
    qsort(samples, n, sizeof samples[0], cmp_double);
    return samples[n / 2];
}

static size_t unhex(const char *hex, unsigned char *out, size_t cap) {
    size_t n = strlen(hex) / 2;
    if (n > cap) n = cap;
    for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
    return n;
}

/* ---- crypt ---- */
struct crypt_arg { const char *stored; struct crypt_data *data; };
static int op_crypt(void *p) {
    struct crypt_arg *a = p;
    const char *out = crypt_rn(password, a->stored, a->data, sizeof *a->data);
    return out && strcmp(out, a->stored) == 0;
}

/* ---- argon2 ---- */
struct argon2_arg { uint32_t t, m, p, threads; unsigned char salt[64], want[64], out[64]; size_t salt_len, len; };
static int op_argon2(void *p) {
    struct argon2_arg *a = p;
    argon2_context ctx = {0};
    ctx.out = a->out; ctx.outlen = a->len;
    ctx.pwd = (uint8_t *)password; ctx.pwdlen = password_len;
    ctx.salt = a->salt; ctx.saltlen = a->salt_len;
    ctx.t_cost = a->t; ctx.m_cost = a->m; ctx.lanes = a->p;
    ctx.threads = a->threads; /* 1: the lanes run one after another */
    ctx.version = ARGON2_VERSION_13;
    if (argon2_ctx(&ctx, Argon2_id) != ARGON2_OK) return 0;
    return memcmp(a->out, a->want, a->len) == 0;
}

/* ---- pbkdf2 ---- */
struct kdf_arg { const char *alg; unsigned iter; unsigned char salt[64], want[64], out[64]; size_t salt_len, len; };
static int op_pbkdf2_nettle(void *p) {
    struct kdf_arg *a = p;
    const uint8_t *pw = (const uint8_t *)password;
    if (!strcmp(a->alg, "sha1")) pbkdf2_hmac_sha1(password_len, pw, a->iter, a->salt_len, a->salt, a->len, a->out);
    else if (!strcmp(a->alg, "sha256")) pbkdf2_hmac_sha256(password_len, pw, a->iter, a->salt_len, a->salt, a->len, a->out);
    else pbkdf2_hmac_sha512(password_len, pw, a->iter, a->salt_len, a->salt, a->len, a->out);
    return memcmp(a->out, a->want, a->len) == 0;
}
static int op_pbkdf2_openssl(void *p) {
    struct kdf_arg *a = p;
    const EVP_MD *md = !strcmp(a->alg, "sha1") ? EVP_sha1() : !strcmp(a->alg, "sha256") ? EVP_sha256() : EVP_sha512();
    if (!PKCS5_PBKDF2_HMAC(password, (int)password_len, a->salt, (int)a->salt_len, (int)a->iter, md, (int)a->len, a->out)) return 0;
    return memcmp(a->out, a->want, a->len) == 0;
}

/* ---- salted digest, H(password || salt) ---- */
static int op_salted_openssl(void *p) {
    struct kdf_arg *a = p;
    if (!strcmp(a->alg, "sha1")) { SHA_CTX c; SHA1_Init(&c); SHA1_Update(&c, password, password_len); SHA1_Update(&c, a->salt, a->salt_len); SHA1_Final(a->out, &c); }
    else if (!strcmp(a->alg, "sha256")) { SHA256_CTX c; SHA256_Init(&c); SHA256_Update(&c, password, password_len); SHA256_Update(&c, a->salt, a->salt_len); SHA256_Final(a->out, &c); }
    else { SHA512_CTX c; SHA512_Init(&c); SHA512_Update(&c, password, password_len); SHA512_Update(&c, a->salt, a->salt_len); SHA512_Final(a->out, &c); }
    return memcmp(a->out, a->want, a->len) == 0;
}
static int op_salted_nettle(void *p) {
    struct kdf_arg *a = p;
    const uint8_t *pw = (const uint8_t *)password;
    if (!strcmp(a->alg, "sha1")) { struct sha1_ctx c; sha1_init(&c); sha1_update(&c, password_len, pw); sha1_update(&c, a->salt_len, a->salt); sha1_digest(&c, SHA1_DIGEST_SIZE, a->out); }
    else if (!strcmp(a->alg, "sha256")) { struct sha256_ctx c; sha256_init(&c); sha256_update(&c, password_len, pw); sha256_update(&c, a->salt_len, a->salt); sha256_digest(&c, SHA256_DIGEST_SIZE, a->out); }
    else { struct sha512_ctx c; sha512_init(&c); sha512_update(&c, password_len, pw); sha512_update(&c, a->salt_len, a->salt); sha512_digest(&c, SHA512_DIGEST_SIZE, a->out); }
    return memcmp(a->out, a->want, a->len) == 0;
}

/* ---- phpass: h = md5(salt || pw); repeat 2^n: h = md5(h || pw) ---- */
static int op_phpass_openssl(void *p) {
    struct kdf_arg *a = p;
    unsigned char h[16];
    MD5_CTX c;
    MD5_Init(&c); MD5_Update(&c, a->salt, a->salt_len); MD5_Update(&c, password, password_len); MD5_Final(h, &c);
    for (unsigned long i = 0; i < (1UL << a->iter); i++) {
        MD5_Init(&c); MD5_Update(&c, h, 16); MD5_Update(&c, password, password_len); MD5_Final(h, &c);
    }
    return memcmp(h, a->want, 16) == 0;
}
static int op_phpass_nettle(void *p) {
    struct kdf_arg *a = p;
    unsigned char h[16];
    struct md5_ctx c;
    md5_init(&c); md5_update(&c, a->salt_len, a->salt); md5_update(&c, password_len, (const uint8_t *)password); md5_digest(&c, 16, h);
    for (unsigned long i = 0; i < (1UL << a->iter); i++) {
        md5_update(&c, 16, h); md5_update(&c, password_len, (const uint8_t *)password); md5_digest(&c, 16, h);
    }
    return memcmp(h, a->want, 16) == 0;
}

static void report(const char *name, const char *impl, int (*op)(void *), void *arg) {
    int ok = 0;
    double ms = time_ms(op, arg, &ok);
    printf("%s\t%s\t%.6f\t%s\n", name, impl, ms, ok ? "ok" : "MISMATCH");
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: bench PASSWORD < vectors.tsv\n"); return 2; }
    password = argv[1];
    password_len = strlen(password);
    const char *filter = getenv("NATIVE_FILTER");
    static struct crypt_data data; /* 32 KiB: static, reused; crypt_rn needs it zeroed once */
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *f[8] = {0};
        int n = 0;
        for (char *s = strtok(line, "\t"); s && n < 8; s = strtok(NULL, "\t")) f[n++] = s;
        if (n < 3) continue;
        if (filter && !strstr(f[0], filter)) continue;
        const char *name = f[0], *kind = f[1];
        if (!strcmp(kind, "crypt")) {
            struct crypt_arg a = {f[2], &data};
            report(name, "libxcrypt crypt_rn", op_crypt, &a);
        } else if (!strcmp(kind, "argon2") && n >= 8) {
            struct argon2_arg a = {0};
            a.t = atoi(f[3]); a.m = atoi(f[4]); a.p = atoi(f[5]);
            a.salt_len = unhex(f[6], a.salt, sizeof a.salt);
            a.len = unhex(f[7], a.want, sizeof a.want);
            a.threads = 1;
            report(name, "argon2 reference opt.c -O3 -march=native, 1 thread", op_argon2, &a);
            if (a.p > 1) {
                /* The lanes side by side, one thread each (the row passbridge's
                 * lanes, benches/native.rs, compare against). */
                char wide[256];
                snprintf(wide, sizeof wide, "%s, %u threads", name, a.p);
                a.threads = a.p;
                report(wide, "argon2 reference opt.c -O3 -march=native, p threads", op_argon2, &a);
            }
        } else if (!strcmp(kind, "pbkdf2") && n >= 7) {
            struct kdf_arg a = {0};
            a.alg = f[3]; a.iter = atoi(f[4]);
            a.salt_len = unhex(f[5], a.salt, sizeof a.salt);
            a.len = unhex(f[6], a.want, sizeof a.want);
            report(name, "nettle pbkdf2_hmac", op_pbkdf2_nettle, &a);
            report(name, "OpenSSL PKCS5_PBKDF2_HMAC", op_pbkdf2_openssl, &a);
        } else if (!strcmp(kind, "salted") && n >= 6) {
            struct kdf_arg a = {0};
            a.alg = f[3];
            a.salt_len = unhex(f[4], a.salt, sizeof a.salt);
            a.len = unhex(f[5], a.want, sizeof a.want);
            report(name, "OpenSSL SHA*_ low-level", op_salted_openssl, &a);
            report(name, "nettle sha*", op_salted_nettle, &a);
        } else if (!strcmp(kind, "phpass") && n >= 6) {
            struct kdf_arg a = {0};
            a.iter = atoi(f[3]);
            a.salt_len = strlen(f[4]);
            memcpy(a.salt, f[4], a.salt_len < 64 ? a.salt_len : 64);
            a.len = unhex(f[5], a.want, sizeof a.want);
            report(name, "OpenSSL MD5_ low-level", op_phpass_openssl, &a);
            report(name, "nettle md5", op_phpass_nettle, &a);
        }
    }
    return 0;
}
