/* test_auth: unit tests for server/auth. The PASETO v4 vectors from $NATTER_SHARED/data (default
 * ../shared) must sign byte-for-byte and verify, and every other vector must fail our v4.public
 * check. Then access tokens (roundtrip, expiry, tampering, foreign keys, bad headers and claims,
 * tokens that are not NUL-terminated), the key file, password hashes at AUTH_COST_MIN and opaque
 * tokens. Key files go in a mkdtemp directory that is removed at the end. */
#include "auth/auth.h"
#include "check.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The 4-S vectors' key pair; tests that need our own key to sign odd claims load its seed. */
#define VEC_SEED "b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774"
#define VEC_PK "1eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2"
#define VEC_KID "a8dabd7213d7ec44" /* hex(BLAKE2b-256(VEC_PK))[0:16], from Python's hashlib */
#define NOW 1795000000             /* 2026-11-18T11:06:40Z, a fixed clock */

static char tmp_root[] = "/tmp/natter-test-auth-XXXXXX";

/* Returns the number of bytes, or 0 on bad hex or overflow. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    unsigned int b;

    if (strlen(hex) % 2 || n > cap)
        return 0;
    for (size_t k = 0; k < n; k++) {
        if (sscanf(hex + 2 * k, "%2x", &b) != 1)
            return 0;
        out[k] = (unsigned char)b;
    }
    return n;
}

static const char *str(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
    return s ? s : "";
}

static void test_vectors(void)
{
    const char *shared = getenv("NATTER_SHARED");
    char path[4096], m[1024], tok[1024];
    unsigned char pk[32], sk[64];
    size_t len = 0;
    int signed_ok = 0, rejected = 0;
    const cJSON *t;
    cJSON *root;
    char *text;

    snprintf(path, sizeof path, "%s/data/paseto-v4-test-vectors.json",
             shared ? shared : "../shared");
    text = check_slurp(path, &len);
    CHECK(text != NULL);
    if (!text) {
        fprintf(stderr, "cannot read %s (set NATTER_SHARED)\n", path);
        return;
    }
    root = cJSON_ParseWithLength(text, len);
    CHECK(unhex(VEC_PK, pk, sizeof pk) == 32);
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(root, "tests")) {
        const char *name = str(t, "name"), *want = str(t, "token"), *f = str(t, "footer");
        const char *i = str(t, "implicit-assertion"), *payload = str(t, "payload");
        size_t want_len = strlen(want);
        int n;

        if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(t, "expect-fail")) &&
            strncmp(name, "4-S-", 4) == 0) {
            CHECK(unhex(str(t, "secret-key"), sk, sizeof sk) == 64);
            CHECK(unhex(str(t, "public-key"), pk, sizeof pk) == 32);
            n = auth_paseto_sign(sk, payload, strlen(payload), f, strlen(f), i, strlen(i), tok,
                                 sizeof tok);
            CHECK_EQ_INT(n, want_len);
            CHECK_STREQ(tok, want);
            n = auth_paseto_verify(pk, want, want_len, f, strlen(f), i, strlen(i), m, sizeof m);
            CHECK_EQ_INT(n, strlen(payload));
            CHECK(n >= 0 && memcmp(m, payload, (size_t)n) == 0);
            /* too small a buffer fails rather than truncating */
            CHECK_EQ_INT(auth_paseto_sign(sk, payload, strlen(payload), f, strlen(f), i, strlen(i),
                                          tok, want_len), -1);
            signed_ok++;
        } else {
            /* 4-F-* and the v4.local vectors: none is a valid v4.public token under this key */
            n = auth_paseto_verify(pk, want, want_len, f, strlen(f), i, strlen(i), m, sizeof m);
            if (n != -1)
                fprintf(stderr, "vector %s verified\n", name);
            CHECK_EQ_INT(n, -1);
            rejected++;
        }
    }
    CHECK_EQ_INT(signed_ok, 3);
    CHECK(rejected >= 5);
    cJSON_Delete(root);
    free(text);
}

/* The 4-S-3 token with its implicit assertion or footer changed, and with the wrong key. */
static void test_paseto_params(void)
{
    const char *m = "{\"data\":\"x\"}", *f = "{\"kid\":\"k\"}", *i = "{\"a\":1}";
    size_t fl = strlen(f), il = strlen(i);
    unsigned char sk[64], pk[32];
    char tok[512], out[64];
    int n;

    CHECK(unhex(VEC_SEED VEC_PK, sk, sizeof sk) == 64);
    CHECK(unhex(VEC_PK, pk, sizeof pk) == 32);
    n = auth_paseto_sign(sk, m, strlen(m), f, fl, i, il, tok, sizeof tok);
    CHECK(n > 0);
    CHECK_EQ_INT(auth_paseto_verify(pk, tok, (size_t)n, f, fl, i, il, out, sizeof out), strlen(m));
    CHECK_EQ_INT(auth_paseto_verify(pk, tok, (size_t)n, f, fl, "", 0, out, sizeof out), -1);
    CHECK_EQ_INT(auth_paseto_verify(pk, tok, (size_t)n, "", 0, i, il, out, sizeof out), -1);
    CHECK_EQ_INT(auth_paseto_verify(pk, tok, (size_t)n, f, fl - 1, i, il, out, sizeof out), -1);
    CHECK_EQ_INT(auth_paseto_verify(pk, tok, (size_t)n, f, fl, i, il, out, 4), -1);
    pk[0] ^= 1;
    CHECK_EQ_INT(auth_paseto_verify(pk, tok, (size_t)n, f, fl, i, il, out, sizeof out), -1);
}

/* Writes DIR/signing.key with the given contents, like an operator would. */
static void put_key(const char *dir, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/signing.key", dir);
    CHECK((f = fopen(path, "w")) != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void make_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmp_root, name);
    CHECK(mkdir(out, 0700) == 0);
}

static void remove_dir(const char *dir)
{
    char path[256];

    snprintf(path, sizeof path, "%s/signing.key", dir);
    unlink(path);
    CHECK(rmdir(dir) == 0);
}

static struct auth_claims claims(int64_t sub, int64_t sid, const char *aud, int64_t exp)
{
    struct auth_claims c = {.sub = sub, .sid = sid, .exp = exp};

    snprintf(c.aud, sizeof c.aud, "%s", aud);
    return c;
}

/* Verifies a copy of tok with no NUL after it, so ASan catches any read past len. */
static enum auth_verdict verify_exact(const char *tok, size_t len, int64_t now,
                                      struct auth_claims *out)
{
    char *copy = malloc(len ? len : 1);
    enum auth_verdict v;

    memcpy(copy, tok, len);
    v = auth_access_verify(copy, len, now, out);
    free(copy);
    return v;
}

static void test_keys(void)
{
    char dir[256], other[256], err[512], path[300], tok[AUTH_ACCESS_MAX], kid[AUTH_KID_LEN];
    struct auth_claims c = claims(42, 7, "chat", NOW + 900), out;
    struct stat st;
    int n, n2;

    make_dir(dir, sizeof dir, "keys");
    make_dir(other, sizeof other, "other");
    CHECK_EQ_INT(auth_access_mint(&c, tok), -1);        /* no key yet */
    CHECK_EQ_INT(auth_access_verify("v4.public.", 10, NOW, &out), AUTH_BAD_SIG);

    CHECK_EQ_INT(auth_keys_load(dir, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/signing.key", dir);
    CHECK(stat(path, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    CHECK_EQ_INT(st.st_size, 65);
    n = auth_access_mint(&c, tok);
    CHECK(n > 0 && n < AUTH_ACCESS_MAX);
    CHECK_EQ_INT(verify_exact(tok, (size_t)n, NOW, &out), AUTH_OK);
    CHECK_EQ_INT(strlen(out.kid), 16);
    snprintf(kid, sizeof kid, "%s", out.kid);

    /* a restart: same file, same kid, old tokens still good */
    auth_keys_unload();
    CHECK_EQ_INT(verify_exact(tok, (size_t)n, NOW, &out), AUTH_BAD_SIG);
    CHECK_EQ_INT(auth_keys_load(dir, err, sizeof err), 0);
    CHECK_EQ_INT(verify_exact(tok, (size_t)n, NOW, &out), AUTH_OK);
    CHECK_STREQ(out.kid, kid);

    /* another server's key: its token carries another kid */
    CHECK_EQ_INT(auth_keys_load(other, err, sizeof err), 0);
    n2 = auth_access_mint(&c, tok);
    CHECK(n2 > 0);
    CHECK_EQ_INT(auth_keys_load(dir, err, sizeof err), 0);
    CHECK_EQ_INT(verify_exact(tok, (size_t)n2, NOW, &out), AUTH_BAD_SIG);

    /* a file we did not write: the seed is loaded as is, and bad files are refused */
    remove_dir(other);
    make_dir(other, sizeof other, "other");
    put_key(other, VEC_SEED "\n");
    CHECK_EQ_INT(auth_keys_load(other, err, sizeof err), 0);
    n = auth_access_mint(&c, tok);
    CHECK_EQ_INT(verify_exact(tok, (size_t)n, NOW, &out), AUTH_OK);
    CHECK_STREQ(out.kid, VEC_KID);
    put_key(other, VEC_SEED);   /* no newline is fine too */
    CHECK_EQ_INT(auth_keys_load(other, err, sizeof err), 0);
    put_key(other, VEC_SEED "0\n");
    CHECK_EQ_INT(auth_keys_load(other, err, sizeof err), -1);
    CHECK(strstr(err, "signing.key") != NULL);
    CHECK_EQ_INT(auth_access_mint(&c, tok), -1);        /* a failed load leaves no key */
    put_key(other, "zz");
    CHECK_EQ_INT(auth_keys_load(other, err, sizeof err), -1);
    CHECK_EQ_INT(auth_keys_load("/nonexistent/natter", err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent/natter/signing.key") != NULL);
    auth_keys_unload();
    remove_dir(other);
    remove_dir(dir);
}

static void test_access(void)
{
    char dir[256], err[512], tok[AUTH_ACCESS_MAX], bad[AUTH_ACCESS_MAX + 16], kid[AUTH_KID_LEN];
    struct auth_claims c = claims(42, 7, "chat", NOW + 900), out;
    int n;

    make_dir(dir, sizeof dir, "access");
    CHECK_EQ_INT(auth_keys_load(dir, err, sizeof err), 0);

    n = auth_access_mint(&c, tok);
    CHECK(n > 0);
    CHECK_EQ_INT((int)strlen(tok), n);
    CHECK(strncmp(tok, "v4.public.", 10) == 0);
    CHECK_EQ_INT(verify_exact(tok, (size_t)n, NOW, &out), AUTH_OK);
    CHECK_EQ_INT(out.sub, 42);
    CHECK_EQ_INT(out.sid, 7);
    CHECK_STREQ(out.aud, "chat");
    CHECK_EQ_INT(out.exp, NOW + 900);
    snprintf(kid, sizeof kid, "%s", out.kid);

    c = claims(INT64_MAX, 0, "admin", NOW + 1);
    snprintf(c.kid, sizeof c.kid, "ignored");
    n = auth_access_mint(&c, tok);
    CHECK_EQ_INT(verify_exact(tok, (size_t)n, NOW, &out), AUTH_OK);
    CHECK_EQ_INT(out.sub, INT64_MAX);
    CHECK_EQ_INT(out.sid, 0);
    CHECK_STREQ(out.aud, "admin");
    CHECK_STREQ(out.kid, kid);

    /* expiry: exp <= now, with the claims still filled for the log */
    CHECK_EQ_INT(verify_exact(tok, (size_t)n, NOW + 1, &out), AUTH_EXPIRED);
    CHECK_EQ_INT(out.sub, INT64_MAX);
    CHECK_EQ_INT(out.exp, NOW + 1);
    CHECK_STREQ(out.aud, "admin");

    /* what mint refuses */
    c = claims(1, 1, "root", NOW);
    CHECK_EQ_INT(auth_access_mint(&c, tok), -1);
    c = claims(-1, 1, "chat", NOW);
    CHECK_EQ_INT(auth_access_mint(&c, tok), -1);
    c = claims(1, 1, "chat", INT64_MAX);
    CHECK_EQ_INT(auth_access_mint(&c, tok), -1);
    memcpy(c.aud, "chatchat", sizeof c.aud);            /* not NUL-terminated */
    c.exp = NOW;
    CHECK_EQ_INT(auth_access_mint(&c, tok), -1);

    /* every byte changed, and every truncation, fails cleanly */
    c = claims(42, 7, "chat", NOW + 900);
    n = auth_access_mint(&c, tok);
    for (int k = 0; k < n; k++) {
        enum auth_verdict v;

        memcpy(bad, tok, (size_t)n);
        bad[k] = bad[k] == 'A' ? 'B' : 'A';
        v = verify_exact(bad, (size_t)n, NOW, &out);
        CHECK(v == AUTH_BAD_SIG || v == AUTH_MALFORMED);
        v = verify_exact(tok, (size_t)k, NOW, &out);    /* a cut footer may still decode */
        CHECK(v == AUTH_BAD_SIG || v == AUTH_MALFORMED);
    }
    memcpy(bad, tok, (size_t)n);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';               /* inside the claims: a signature failure */
    CHECK_EQ_INT(verify_exact(bad, (size_t)n, NOW, &out), AUTH_BAD_SIG);
    CHECK_EQ_INT(out.sub, 0);

    /* wrong headers, padding, a trailing dot, and over-long tokens */
    memcpy(bad, "v4.local.", 9);
    memcpy(bad + 9, tok + 10, (size_t)n - 10);
    CHECK_EQ_INT(verify_exact(bad, (size_t)n - 1, NOW, &out), AUTH_MALFORMED);
    memcpy(bad, tok, (size_t)n);
    bad[1] = '3';
    CHECK_EQ_INT(verify_exact(bad, (size_t)n, NOW, &out), AUTH_MALFORMED);
    memcpy(bad, tok, (size_t)n);
    memcpy(bad + n, "=", 1);
    CHECK_EQ_INT(verify_exact(bad, (size_t)n + 1, NOW, &out), AUTH_MALFORMED);
    memcpy(bad + n, ".", 1);
    CHECK_EQ_INT(verify_exact(bad, (size_t)n + 1, NOW, &out), AUTH_MALFORMED);
    CHECK_EQ_INT(verify_exact(tok, (size_t)(strchr(tok + 10, '.') - tok), NOW, &out),
                 AUTH_BAD_SIG);                         /* no footer: not our kid */
    memset(bad, 'A', sizeof bad);
    memcpy(bad, tok, (size_t)n);
    CHECK_EQ_INT(verify_exact(bad, AUTH_ACCESS_MAX + 1, NOW, &out), AUTH_MALFORMED);
    CHECK_EQ_INT(verify_exact("", 0, NOW, &out), AUTH_MALFORMED);

    auth_keys_unload();
    remove_dir(dir);
}

/* Claims we never mint, signed with our own key (the vector seed) to reach the claims checks. */
#define SUB "\"sub\":\"1\","
#define SID "\"sid\":\"2\","
#define AUD "\"aud\":\"chat\","
#define EXP "\"exp\":\"2026-11-23T12:15:00Z\"" /* 1795436100 */
static void test_claims(void)
{
    static const struct {
        const char *m;
        enum auth_verdict want;
        int64_t exp;
    } cases[] = {
        {"{" SUB SID AUD EXP "}", AUTH_OK, 1795436100},
        {"{" SUB SID AUD EXP ",\"iat\":7,\"x\":[]}", AUTH_OK, 1795436100},
        {"{" SUB SID AUD "\"exp\":\"2026-11-23T13:15:00.123+01:00\"}", AUTH_OK, 1795436100},
        {"{" SUB SID AUD "\"exp\":\"2026-11-23t07:15:00-05:00\"}", AUTH_OK, 1795436100},
        {"{" SUB SID AUD "\"exp\":\"2020-01-01T00:00:00Z\"}", AUTH_EXPIRED, 1577836800},
        {"{" SID AUD EXP "}", AUTH_MALFORMED, 0},
        {"{" SUB AUD EXP "}", AUTH_MALFORMED, 0},
        {"{" SUB SID EXP "}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"x\":1}", AUTH_MALFORMED, 0},
        {"{\"sub\":1," SID AUD EXP "}", AUTH_MALFORMED, 0},
        {"{\"sub\":\"-1\"," SID AUD EXP "}", AUTH_MALFORMED, 0},
        {"{\"sub\":\"9223372036854775808\"," SID AUD EXP "}", AUTH_MALFORMED, 0},
        {"{" SUB "\"sid\":\"\"," AUD EXP "}", AUTH_MALFORMED, 0},
        {"{" SUB SID "\"aud\":\"chats\"," EXP "}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"exp\":1795436100}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"exp\":\"2026-02-30T12:15:00Z\"}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"exp\":\"2026-11-23T24:15:00Z\"}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"exp\":\"2026-11-23T12:15:00\"}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"exp\":\"2026-11-23T12:15:00Zx\"}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"exp\":\"2026-11-23T12:15:00.Z\"}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"exp\":\"2026-11-23T12:15:00+0100\"}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD "\"exp\":\"2026-11-23\"}", AUTH_MALFORMED, 0},
        {"{" SUB SID AUD EXP "} ", AUTH_MALFORMED, 0},
        {"[" SUB SID AUD EXP "]", AUTH_MALFORMED, 0},
        {"not json", AUTH_MALFORMED, 0},
        {"", AUTH_MALFORMED, 0},
    };
    const char *footer = "{\"kid\":\"" VEC_KID "\"}";
    char dir[256], err[512], tok[AUTH_ACCESS_MAX];
    unsigned char sk[64];
    struct auth_claims out;
    int n;

    make_dir(dir, sizeof dir, "claims");
    put_key(dir, VEC_SEED "\n");
    CHECK_EQ_INT(auth_keys_load(dir, err, sizeof err), 0);
    CHECK(unhex(VEC_SEED VEC_PK, sk, sizeof sk) == 64);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        enum auth_verdict v;

        n = auth_paseto_sign(sk, cases[k].m, strlen(cases[k].m), footer, strlen(footer), "", 0,
                             tok, sizeof tok);
        v = verify_exact(tok, (size_t)n, NOW, &out);

        if (v != cases[k].want)
            fprintf(stderr, "claims case %zu: %s\n", k, cases[k].m);
        CHECK_EQ_INT(v, cases[k].want);
        CHECK_EQ_INT(out.exp, cases[k].exp);
    }

    /* right kid and our footer, but another key's signature */
    CHECK(unhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" VEC_PK, sk,
                sizeof sk) == 64);
    n = auth_paseto_sign(sk, cases[0].m, strlen(cases[0].m), footer, strlen(footer), "", 0, tok,
                         sizeof tok);
    CHECK_EQ_INT(verify_exact(tok, (size_t)n, NOW, &out), AUTH_BAD_SIG);

    auth_keys_unload();
    remove_dir(dir);
}

static void test_passwords(void)
{
    char h[AUTH_PW_HASH_LEN], h2[AUTH_PW_HASH_LEN];

    CHECK_EQ_INT(auth_pw_hash("hunter2", 7, AUTH_COST_MIN, h), 0);
    CHECK(strncmp(h, "$argon2id$", 10) == 0);
    CHECK(auth_pw_verify(h, "hunter2", 7));
    CHECK(!auth_pw_verify(h, "hunter3", 7));
    CHECK(auth_pw_verify(h, "hunter2x", 7));            /* only pw_len bytes count */
    CHECK(!auth_pw_verify(h, "hunter2", 6));
    CHECK(!auth_pw_verify("not a hash", "hunter2", 7));
    CHECK(!auth_pw_needs_rehash(h, AUTH_COST_MIN));
    CHECK(auth_pw_needs_rehash(h, AUTH_COST_INTERACTIVE));
    CHECK(auth_pw_needs_rehash("not a hash", AUTH_COST_MIN));
    CHECK_EQ_INT(auth_pw_hash("hunter2", 7, AUTH_COST_MIN, h2), 0);
    CHECK(strcmp(h, h2) != 0);                          /* salted */
}

static bool is_b64url(const char *s)
{
    for (; *s; s++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *s))
            return false;
    return true;
}

static void test_opaque(void)
{
    char a[AUTH_TOKEN_LEN], b[AUTH_TOKEN_LEN], ha[AUTH_TOKEN_HASH_LEN], hb[AUTH_TOKEN_HASH_LEN];
    char hex[70];

    auth_token_new(a);
    auth_token_new(b);
    CHECK_EQ_INT(strlen(a), 43);
    CHECK(is_b64url(a));
    CHECK(strcmp(a, b) != 0);

    auth_token_hash(a, strlen(a), ha);
    auth_token_hash(a, strlen(a), hb);
    CHECK_EQ_INT(strlen(ha), 64);
    CHECK(strspn(ha, "0123456789abcdef") == 64);
    CHECK_STREQ(ha, hb);
    auth_token_hash(b, strlen(b), hb);
    CHECK(strcmp(ha, hb) != 0);
    auth_token_hash("abc", 3, ha);                      /* BLAKE2b-256("abc"), from hashlib */
    CHECK_STREQ(ha, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");

    memset(hex, 'x', sizeof hex);
    auth_random_hex(hex, 33);                           /* more than one 32-byte chunk */
    CHECK_EQ_INT(strlen(hex), 66);
    CHECK(strspn(hex, "0123456789abcdef") == 66);
    auth_random_hex(hex, 0);
    CHECK_STREQ(hex, "");

    CHECK(auth_equal("abcd", "abcd", 4));
    CHECK(!auth_equal("abcd", "abce", 4));
    CHECK(auth_equal("abcd", "abce", 3));
}

int main(void)
{
    CHECK_EQ_INT(auth_init(), 0);
    CHECK(mkdtemp(tmp_root) != NULL);
    test_vectors();
    test_paseto_params();
    test_keys();
    test_access();
    test_claims();
    test_passwords();
    test_opaque();
    CHECK(rmdir(tmp_root) == 0);
    CHECK_MAIN_END();
}
