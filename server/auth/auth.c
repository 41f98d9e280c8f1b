/* auth: the one wrapper of libsodium. It owns the Ed25519 signing key (loaded once at start-up
 * into static storage, wiped on unload), PASETO v4.public minting and checking of access tokens,
 * Argon2id password hashes, and random opaque tokens with their at-rest BLAKE2b hashes. Tokens
 * are untrusted input: every length is bounded and nothing is read past the given length. It
 * must never log, touch the network or the database, or hand key material to callers. */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HDR "v4.public."
#define HDR_LEN (sizeof HDR - 1)
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SIG_LEN crypto_sign_BYTES
#define M_OFF (8 + 8 + HDR_LEN + 8) /* where m starts in PAE(h, m, f, i) */
#define KID_HEX 16                  /* hex of the first 8 bytes of BLAKE2b-256(pk) */
#define SEED_HEX (2 * crypto_sign_SEEDBYTES)
#define RFC3339_LEN 21              /* "2026-11-23T12:15:00Z" + NUL */

_Static_assert(crypto_pwhash_STRBYTES <= AUTH_PW_HASH_LEN, "AUTH_PW_HASH_LEN too small");
_Static_assert(KID_HEX < AUTH_KID_LEN, "AUTH_KID_LEN too small");
_Static_assert(sodium_base64_ENCODED_LEN(32, B64) <= AUTH_TOKEN_LEN, "AUTH_TOKEN_LEN too small");

/* Written only by auth_keys_load/unload, at start-up and shutdown, so readers need no lock. */
static struct {
    bool loaded;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    char kid[KID_HEX + 1];
    char footer[32];    /* {"kid":"<kid>"}: the only footer we mint or accept */
    size_t footer_len;
} keys;

int auth_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

/* ---- key file ---- */

/* Returns NULL, or why the key file is unusable. */
static const char *read_seed(int fd, unsigned char seed[crypto_sign_SEEDBYTES])
{
    char hex[SEED_HEX + 2];     /* one spare byte tells an over-long file apart */
    size_t len = 0, bin_len = 0;
    const char *end = NULL, *why = "want 64 hex digits and a newline";
    ssize_t n;

    while (len < sizeof hex && (n = read(fd, hex + len, sizeof hex - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return strerror(errno);
        len += (size_t)n;
    }
    if (len == SEED_HEX + 1 && hex[SEED_HEX] == '\n')
        len = SEED_HEX;
    if (len == SEED_HEX &&
        sodium_hex2bin(seed, crypto_sign_SEEDBYTES, hex, len, NULL, &bin_len, &end) == 0 &&
        bin_len == crypto_sign_SEEDBYTES && end == hex + len)
        why = NULL;
    sodium_memzero(hex, sizeof hex);
    return why;
}

/* O_EXCL so that we never overwrite a key someone else just wrote; 0600 because it is a secret.
 * Returns NULL, or why it failed. */
static const char *write_seed(const char *path, const unsigned char seed[crypto_sign_SEEDBYTES])
{
    char hex[SEED_HEX + 2];
    const char *why = NULL;
    size_t off = 0;
    ssize_t n;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0)
        return strerror(errno);
    sodium_bin2hex(hex, sizeof hex, seed, crypto_sign_SEEDBYTES);
    hex[SEED_HEX] = '\n';
    while (off < SEED_HEX + 1) {
        n = write(fd, hex + off, SEED_HEX + 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;    /* close() releases it even when it fails */
        goto fail;
    }
    sodium_memzero(hex, sizeof hex);
    return NULL;
fail:
    why = strerror(errno);
    sodium_memzero(hex, sizeof hex);
    if (fd >= 0)
        close(fd);
    unlink(path);       /* a half-written key would stop every later start */
    return why;
}

int auth_keys_load(const char *dir, char *err, size_t err_len)
{
    unsigned char seed[crypto_sign_SEEDBYTES], h[crypto_generichash_BYTES];
    char path[PATH_MAX];
    const char *why;
    int fd;

    if ((size_t)snprintf(path, sizeof path, "%s/signing.key", dir) >= sizeof path) {
        why = "path too long";
        goto fail;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        why = read_seed(fd, seed);
        close(fd);
    } else if (errno == ENOENT) {
        randombytes_buf(seed, sizeof seed);
        why = write_seed(path, seed);
    } else {
        why = strerror(errno);
    }
    if (why)
        goto fail;
    why = "cannot derive the key pair";
    if (crypto_sign_seed_keypair(keys.pk, keys.sk, seed) != 0 ||
        crypto_generichash(h, sizeof h, keys.pk, sizeof keys.pk, NULL, 0) != 0)
        goto fail;
    sodium_bin2hex(keys.kid, sizeof keys.kid, h, KID_HEX / 2);
    keys.footer_len =
        (size_t)snprintf(keys.footer, sizeof keys.footer, "{\"kid\":\"%s\"}", keys.kid);
    why = "cannot derive the seal key";
    if (auth__seal_derive(seed))
        goto fail;
    keys.loaded = true;
    sodium_memzero(seed, sizeof seed);
    return 0;
fail:
    snprintf(err, err_len, "signing key %s: %s", path, why);
    sodium_memzero(seed, sizeof seed);
    auth_keys_unload();
    return -1;
}

void auth_keys_unload(void)
{
    sodium_memzero(&keys, sizeof keys);
    auth__seal_wipe();
}

/* ---- passwords ---- */

static void cost_limits(enum auth_cost cost, unsigned long long *ops, size_t *mem)
{
    switch (cost) {
    case AUTH_COST_MODERATE:
        *ops = crypto_pwhash_OPSLIMIT_MODERATE;
        *mem = crypto_pwhash_MEMLIMIT_MODERATE;
        return;
    case AUTH_COST_MIN:
        *ops = crypto_pwhash_OPSLIMIT_MIN;
        *mem = crypto_pwhash_MEMLIMIT_MIN;
        return;
    case AUTH_COST_INTERACTIVE:
        break;
    }
    *ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    *mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

int auth_pw_hash(const char *pw, size_t pw_len, enum auth_cost cost, char out[AUTH_PW_HASH_LEN])
{
    unsigned long long ops;
    size_t mem;

    cost_limits(cost, &ops, &mem);
    return crypto_pwhash_str(out, pw, pw_len, ops, mem) == 0 ? 0 : -1;
}

bool auth_pw_verify(const char *hash, const char *pw, size_t pw_len)
{
    return crypto_pwhash_str_verify(hash, pw, pw_len) == 0;
}

bool auth_pw_needs_rehash(const char *hash, enum auth_cost cost)
{
    unsigned long long ops;
    size_t mem;

    cost_limits(cost, &ops, &mem);
    return crypto_pwhash_str_needs_rehash(hash, ops, mem) != 0;    /* -1 (not a hash) too */
}

/* ---- PASETO v4.public ---- */

/* LE64(n) with the top bit clear, as PAE wants. Returns the end. */
static unsigned char *le64(unsigned char *p, size_t n)
{
    uint64_t v = (uint64_t)n & INT64_MAX;

    for (int k = 0; k < 8; k++, v >>= 8)
        *p++ = (unsigned char)(v & 0xff);
    return p;
}

/* One PAE piece: its length, then its bytes. Returns the end. */
static unsigned char *pae_put(unsigned char *p, const void *data, size_t n)
{
    p = le64(p, n);
    if (n)
        memcpy(p, data, n);
    return p + n;
}

/* The start of PAE(h, m, f, i): the piece count and h. m's piece starts at buf + M_OFF - 8. */
static void pae_head(unsigned char *buf)
{
    pae_put(le64(buf, 4), HDR, HDR_LEN);
}

int auth_paseto_sign(const unsigned char sk[64], const char *m, size_t m_len, const char *f,
                     size_t f_len, const char *i, size_t i_len, char *out, size_t out_cap)
{
    unsigned char sig[SIG_LEN], *buf, *p;
    size_t enc_m, enc_f, need, pos;

    if (m_len > SIZE_MAX / 4 || f_len > SIZE_MAX / 4 || i_len > SIZE_MAX / 4)
        return -1;
    enc_m = sodium_base64_ENCODED_LEN(m_len + SIG_LEN, B64);    /* each counts a NUL */
    enc_f = f_len ? sodium_base64_ENCODED_LEN(f_len, B64) : 0;  /* its NUL's byte is the '.' */
    need = HDR_LEN + enc_m + enc_f;
    if (need > out_cap || need - 1 > INT_MAX)
        return -1;
    if (!(buf = malloc(M_OFF + m_len + SIG_LEN + 16 + f_len + i_len)))
        return -1;
    pae_head(buf);
    p = pae_put(buf + M_OFF - 8, m, m_len);
    p = pae_put(p, f, f_len);
    p = pae_put(p, i, i_len);
    if (crypto_sign_detached(sig, NULL, buf, (size_t)(p - buf), sk) != 0) {
        free(buf);
        return -1;
    }
    memcpy(buf + M_OFF + m_len, sig, SIG_LEN);  /* m || sig, ready to encode */

    memcpy(out, HDR, HDR_LEN);
    sodium_bin2base64(out + HDR_LEN, out_cap - HDR_LEN, buf + M_OFF, m_len + SIG_LEN, B64);
    pos = HDR_LEN + enc_m - 1;
    if (f_len) {
        out[pos++] = '.';
        sodium_bin2base64(out + pos, out_cap - pos, (const unsigned char *)f, f_len, B64);
        pos += enc_f - 1;
    }
    free(buf);
    return (int)pos;
}

/* Check tok against pk, the expected footer f (empty: the token must have none) and the implicit
 * assertion i. On AUTH_OK, m is copied to m_out and its length stored in *m_len. */
static enum auth_verdict paseto_open(const unsigned char pk[32], const char *tok, size_t tok_len,
                                     const char *f, size_t f_len, const char *i, size_t i_len,
                                     char *m_out, size_t m_cap, size_t *m_len)
{
    enum auth_verdict v = AUTH_MALFORMED;
    unsigned char sig[SIG_LEN], *buf, *scratch, *p;
    const char *body, *dot;
    size_t body_len, pay_len, foot_len = 0, bin_len, tok_f_len = 0, cap;

    if (tok_len < HDR_LEN || memcmp(tok, HDR, HDR_LEN) != 0)
        return AUTH_MALFORMED;
    if (tok_len > SIZE_MAX / 4 || f_len > SIZE_MAX / 4 || i_len > SIZE_MAX / 4)
        return AUTH_MALFORMED;
    body = tok + HDR_LEN;
    body_len = tok_len - HDR_LEN;
    dot = memchr(body, '.', body_len);
    pay_len = dot ? (size_t)(dot - body) : body_len;
    if (dot && (foot_len = body_len - pay_len - 1) == 0)
        return AUTH_MALFORMED;  /* an empty footer is written without its dot */

    /* [PAE head | m || sig, later m || PAE tail | decoded footer]. Decoding never grows. */
    cap = M_OFF + pay_len + 16 + f_len + i_len + foot_len;
    if (!(buf = malloc(cap)))
        return AUTH_MALFORMED;
    if (sodium_base642bin(buf + M_OFF, pay_len, body, pay_len, NULL, &bin_len, NULL, B64) != 0 ||
        bin_len < SIG_LEN)
        goto out;
    *m_len = bin_len - SIG_LEN;
    memcpy(sig, buf + M_OFF + *m_len, SIG_LEN);
    scratch = buf + cap - foot_len;
    if (dot &&
        sodium_base642bin(scratch, foot_len, dot + 1, foot_len, NULL, &tok_f_len, NULL, B64) != 0)
        goto out;

    v = AUTH_BAD_SIG;
    if (tok_f_len != f_len || (f_len && sodium_memcmp(scratch, f, f_len) != 0))
        goto out;
    pae_head(buf);
    le64(buf + M_OFF - 8, *m_len);
    p = pae_put(buf + M_OFF + *m_len, f, f_len);
    p = pae_put(p, i, i_len);
    if (crypto_sign_verify_detached(sig, buf, (size_t)(p - buf), pk) != 0)
        goto out;

    v = AUTH_MALFORMED;
    if (*m_len > m_cap)
        goto out;
    memcpy(m_out, buf + M_OFF, *m_len);
    v = AUTH_OK;
out:
    free(buf);
    return v;
}

int auth_paseto_verify(const unsigned char pk[32], const char *tok, size_t tok_len, const char *f,
                       size_t f_len, const char *i, size_t i_len, char *m_out, size_t m_cap)
{
    size_t m_len;

    if (paseto_open(pk, tok, tok_len, f, f_len, i, i_len, m_out, m_cap, &m_len) != AUTH_OK ||
        m_len > INT_MAX)
        return -1;
    return (int)m_len;
}

/* ---- access tokens ---- */

static bool is_audience(const char *s, size_t cap)
{
    return (strnlen(s, cap) == 4 && memcmp(s, "chat", 4) == 0) ||
           (strnlen(s, cap) == 5 && memcmp(s, "admin", 5) == 0);
}

/* RFC 3339 in UTC, the only form we mint. Years before 1000 would not print as 4 digits. */
static int format_time(int64_t t, char out[RFC3339_LEN])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || tm.tm_year < 1000 - 1900 || tm.tm_year > 9999 - 1900)
        return -1;
    return strftime(out, RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == RFC3339_LEN - 1 ? 0 : -1;
}

/* n decimal digits at s, each checked, so a short string stops at its NUL. */
static bool digits(const char *s, int n, int *out)
{
    *out = 0;
    for (int k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return false;
        *out = *out * 10 + (s[k] - '0');
    }
    return true;
}

/* Any RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)". Fractions are dropped. */
static int parse_time(const char *s, int64_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    time_t t;

    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return -1;
    s += 19;
    if (*s == '.') {
        if (*++s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == '+' || *s == '-') {
        sign = *s == '+' ? 1 : -1;
        if (!digits(s + 1, 2, &oh) || s[3] != ':' || !digits(s + 4, 2, &om) || s[6] != '\0' ||
            oh > 23 || om > 59)
            return -1;
    } else if ((*s != 'Z' && *s != 'z') || s[1] != '\0') {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (tm.tm_mday != d)
        return -1;      /* timegm rolled an impossible date like Feb 30 into March */
    *out = (int64_t)t - sign * (oh * 3600 + om * 60);
    return 0;
}

/* A user or session id: 1 to 19 decimal digits, no sign, within int64_t. */
static int parse_id(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 19)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

static const char *claim(const cJSON *root, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, name));
}

int auth_access_mint(const struct auth_claims *c, char out[AUTH_ACCESS_MAX])
{
    char sub[24], sid[24], exp[RFC3339_LEN], iat[RFC3339_LEN], *m = NULL;
    cJSON *root = NULL;
    int n = -1;

    if (!keys.loaded || c->sub < 0 || c->sid < 0 || !is_audience(c->aud, sizeof c->aud) ||
        format_time(c->exp, exp) != 0 || format_time((int64_t)time(NULL), iat) != 0)
        return -1;
    snprintf(sub, sizeof sub, "%" PRId64, c->sub);
    snprintf(sid, sizeof sid, "%" PRId64, c->sid);
    if (!(root = cJSON_CreateObject()) || !cJSON_AddStringToObject(root, "sub", sub) ||
        !cJSON_AddStringToObject(root, "sid", sid) ||
        !cJSON_AddStringToObject(root, "aud", c->aud) ||
        !cJSON_AddStringToObject(root, "exp", exp) || !cJSON_AddStringToObject(root, "iat", iat) ||
        !(m = cJSON_PrintUnformatted(root)))
        goto out;
    n = auth_paseto_sign(keys.sk, m, strlen(m), keys.footer, keys.footer_len, "", 0, out,
                         AUTH_ACCESS_MAX);
out:
    cJSON_free(m);
    cJSON_Delete(root);
    return n;
}

enum auth_verdict auth_access_verify(const char *tok, size_t len, int64_t now,
                                     struct auth_claims *out)
{
    char m[AUTH_ACCESS_MAX];
    const char *end = NULL, *sub, *sid, *aud, *exp;
    size_t m_len = 0;
    cJSON *root = NULL;
    enum auth_verdict v;

    memset(out, 0, sizeof *out);
    if (len > AUTH_ACCESS_MAX)
        return AUTH_MALFORMED;
    if (!keys.loaded)
        return AUTH_BAD_SIG;
    v = paseto_open(keys.pk, tok, len, keys.footer, keys.footer_len, "", 0, m, sizeof m, &m_len);
    if (v != AUTH_OK)
        return v;

    /* Signed by us, so well-formed unless a bug minted it; checked anyway. iat is informational. */
    v = AUTH_MALFORMED;
    root = cJSON_ParseWithLengthOpts(m, m_len, &end, false);
    if (!cJSON_IsObject(root) || end != m + m_len)
        goto out;
    if (!(sub = claim(root, "sub")) || !(sid = claim(root, "sid")) || !(aud = claim(root, "aud")) ||
        !(exp = claim(root, "exp")) || parse_id(sub, &out->sub) != 0 ||
        parse_id(sid, &out->sid) != 0 || !is_audience(aud, sizeof out->aud) ||
        parse_time(exp, &out->exp) != 0)
        goto out;
    memcpy(out->aud, aud, strlen(aud) + 1);
    memcpy(out->kid, keys.kid, sizeof keys.kid);
    v = out->exp <= now ? AUTH_EXPIRED : AUTH_OK;
out:
    cJSON_Delete(root);
    if (v == AUTH_MALFORMED)
        memset(out, 0, sizeof *out);
    return v;
}

/* ---- opaque tokens ---- */

void auth_token_new(char out[AUTH_TOKEN_LEN])
{
    unsigned char b[32];

    randombytes_buf(b, sizeof b);
    sodium_bin2base64(out, AUTH_TOKEN_LEN, b, sizeof b, B64);
    sodium_memzero(b, sizeof b);
}

void auth_token_hash(const char *tok, size_t len, char out[AUTH_TOKEN_HASH_LEN])
{
    unsigned char h[32];

    crypto_generichash(h, sizeof h, (const unsigned char *)tok, len, NULL, 0);
    sodium_bin2hex(out, AUTH_TOKEN_HASH_LEN, h, sizeof h);
}

void auth_random_hex(char *out, size_t n)
{
    unsigned char b[32];
    size_t k;

    out[0] = '\0';
    for (; n > 0; n -= k, out += 2 * k) {
        k = n < sizeof b ? n : sizeof b;
        randombytes_buf(b, k);
        sodium_bin2hex(out, 2 * k + 1, b, k);
    }
}

bool auth_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}
