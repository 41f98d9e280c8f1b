/* test_twilio: unit tests for server/auth/twilio.c and server/auth/seal.c. Twilio Access Tokens
 * must equal, byte for byte, those that twilio-node minted for $NATTER_TESTS_DIR/unit/
 * twilio_vectors.json (default tests/ under the working directory; regenerate it with
 * tests/unit/gen/twilio-vectors.js); their header and claims are decoded here independently and
 * their HMAC recomputed. Then bad arguments and short buffers. Then sealing: roundtrip, tampering,
 * truncation, short buffers, and a key from another directory. Key files go in a mkdtemp
 * directory that is removed at the end. */
#include "auth/auth.h"
#include "check.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACCOUNT "AC0123456789abcdef0123456789abcdef"
#define KEY "SKfedcba9876543210fedcba9876543210"
#define SECRET "Xk3pQ9rT1vW5yZ7bD2fH4jL6nP8sU0wA"
#define HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}"
#define NOW 1795000000
/* The signing seed of test_auth's vectors, written to a key file so the seal key is known. */
#define VEC_SEED "b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774"
/* "invite-code-42" sealed under VEC_SEED when seal.c was written, and opened then outside
 * libsodium too (the key from Python's hashlib.blake2b with key=seed, salt=LE64(1), person=
 * "natterSB"; the box with npm tweetnacl's secretbox.open). It pins the derivation and the layout:
 * rows sealed by one release must open in the next. */
#define VEC_SEALED "EkJJuF55fuMzwidisbjuonmqTDqdeUFVaIdp05NfsdA2D_j2VzQcCkkH-yoLpxEHR7dVmI3f"

static char tmp_root[] = "/tmp/natter-test-twilio-XXXXXX";

/* base64url without padding, written here rather than borrowed from auth so that the header and
 * claims are checked by a second decoder. Returns the decoded length, or -1. */
static long unb64url(const char *s, size_t len, char *out, size_t cap)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned long acc = 0;
    size_t n = 0;
    int bits = 0;

    if (len % 4 == 1)
        return -1;
    for (size_t k = 0; k < len; k++) {
        const char *p = s[k] ? strchr(abc, s[k]) : NULL;

        if (!p)
            return -1;
        acc = (acc << 6 | (unsigned long)(p - abc)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    return (long)n;
}

/* Segment k (0-2) of a JWT, decoded and NUL-terminated into out; false if it is not there. */
static bool segment(const char *tok, int k, char *out, size_t cap)
{
    const char *p = tok, *end;
    long n;

    for (; k > 0; k--)
        if (!(p = strchr(p, '.')) || !*++p)
            return false;
    end = strchr(p, '.');
    n = unb64url(p, end ? (size_t)(end - p) : strlen(p), out, cap - 1);
    if (n < 0)
        return false;
    out[n] = '\0';
    return true;
}

static const char *str(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
    return s ? s : "";
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(n) ? n->valuedouble : -1;
}

/* What every token we mint must be, whatever its inputs: our header, the claims as given, and an
 * HMAC that verifies under the secret and under no other. */
static void check_token(const char *tok, const char *account, const char *key, const char *secret,
                        const char *identity, const char *room, int64_t iat, int64_t ttl)
{
    char buf[AUTH_TWILIO_MAX], jti[128], other[256], *bad;
    const cJSON *grants, *video;
    cJSON *h, *p;
    size_t len = strlen(tok);

    CHECK(segment(tok, 0, buf, sizeof buf));
    CHECK_STREQ(buf, HEADER);
    h = cJSON_Parse(buf);
    CHECK_STREQ(str(h, "alg"), "HS256");
    CHECK_STREQ(str(h, "typ"), "JWT");
    CHECK_STREQ(str(h, "cty"), "twilio-fpa;v=1");
    cJSON_Delete(h);

    CHECK(segment(tok, 1, buf, sizeof buf));
    p = cJSON_Parse(buf);
    CHECK(cJSON_IsObject(p));
    snprintf(jti, sizeof jti, "%s-%lld", key, (long long)iat);
    CHECK_STREQ(str(p, "jti"), jti);
    CHECK_STREQ(str(p, "iss"), key);
    CHECK_STREQ(str(p, "sub"), account);
    CHECK(num(p, "iat") == (double)iat);
    CHECK(num(p, "exp") == (double)(iat + ttl));
    CHECK(!cJSON_HasObjectItem(p, "nbf"));  /* twilio-node adds it only when asked */
    grants = cJSON_GetObjectItemCaseSensitive(p, "grants");
    video = cJSON_GetObjectItemCaseSensitive(grants, "video");
    CHECK_STREQ(str(grants, "identity"), identity);
    CHECK_STREQ(str(video, "room"), room);
    CHECK_EQ_INT(cJSON_GetArraySize(p), 6);
    CHECK_EQ_INT(cJSON_GetArraySize(grants), 2);
    CHECK_EQ_INT(cJSON_GetArraySize(video), 1);
    cJSON_Delete(p);

    CHECK(segment(tok, 2, buf, sizeof buf));
    CHECK_EQ_INT(strlen(tok) - (size_t)(strrchr(tok, '.') - tok) - 1, 43);  /* 32 bytes */
    CHECK(auth_twilio_verify(tok, len, secret));
    snprintf(other, sizeof other, "%sx", secret);
    CHECK(!auth_twilio_verify(tok, len, other));
    CHECK(!auth_twilio_verify(tok, len - 1, secret));
    CHECK(!auth_twilio_verify(tok, len, ""));
    /* one changed character anywhere in header.payload breaks the signature */
    if ((bad = strdup(tok))) {
        size_t at[] = {0, 10, (size_t)(strchr(tok, '.') - tok) + 5,
                       (size_t)(strrchr(tok, '.') - tok) - 1};

        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
            char was = bad[at[k]];

            bad[at[k]] = was == 'A' ? 'B' : 'A';
            CHECK(!auth_twilio_verify(bad, len, secret));
            bad[at[k]] = was;
        }
        CHECK(auth_twilio_verify(bad, len, secret));
        free(bad);
    }
}

static void test_vectors(void)
{
    const char *dir = getenv("NATTER_TESTS_DIR");
    char path[4096], tok[AUTH_TWILIO_MAX];
    const cJSON *v;
    cJSON *root;
    size_t len = 0;
    char *text;
    int count = 0, n;

    snprintf(path, sizeof path, "%s/unit/twilio_vectors.json", dir && *dir ? dir : "tests");
    text = check_slurp(path, &len);
    CHECK(text != NULL);
    if (!text) {
        fprintf(stderr, "cannot read %s (set NATTER_TESTS_DIR to the tests directory)\n", path);
        return;
    }
    root = cJSON_ParseWithLength(text, len);
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "vectors")) {
        const char *want = str(v, "token");
        int64_t iat = (int64_t)num(v, "iat"), ttl = (int64_t)num(v, "ttl");

        n = auth_twilio_token(str(v, "account_sid"), str(v, "api_key_sid"), str(v, "api_secret"),
                              str(v, "identity"), str(v, "room"), iat, ttl, tok, sizeof tok);
        if (strcmp(tok, want) != 0)
            fprintf(stderr, "vector %s differs\n", str(v, "name"));
        CHECK_EQ_INT(n, strlen(want));
        CHECK_STREQ(tok, want);
        check_token(tok, str(v, "account_sid"), str(v, "api_key_sid"), str(v, "api_secret"),
                    str(v, "identity"), str(v, "room"), iat, ttl);
        /* the generator's decoded halves agree with the token it recorded */
        CHECK_STREQ(str(v, "header"), HEADER);
        count++;
    }
    CHECK(count >= 1);
    CHECK_STREQ(str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "vectors"), 0),
                    "identity"),
                "u_7");
    cJSON_Delete(root);
    free(text);
}

static void test_args(void)
{
    char tok[AUTH_TWILIO_MAX], small[64];
    int n;

    n = auth_twilio_token(ACCOUNT, KEY, SECRET, "u_7", "natter-abcd1234-r_3", NOW, 3600, tok,
                          sizeof tok);
    CHECK(n > 0 && (size_t)n == strlen(tok));
    check_token(tok, ACCOUNT, KEY, SECRET, "u_7", "natter-abcd1234-r_3", NOW, 3600);

    /* exactly enough room, then one byte less: -1 and "", never a truncated token */
    {
        char *exact = malloc((size_t)n + 1);

        CHECK(exact != NULL);
        if (exact) {
            CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u_7", "natter-abcd1234-r_3",
                                           NOW, 3600, exact, (size_t)n + 1), n);
            CHECK_STREQ(exact, tok);
            exact[0] = 'x';
            CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u_7", "natter-abcd1234-r_3",
                                           NOW, 3600, exact, (size_t)n), -1);
            CHECK_EQ_INT(exact[0], '\0');
            free(exact);
        }
    }
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", NOW, 60, small, sizeof small),
                 -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", NOW, 60, tok, 0), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", NOW, 60, NULL, 10), -1);

    /* missing, empty or control-character strings */
    CHECK_EQ_INT(auth_twilio_token(NULL, KEY, SECRET, "u", "r", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, NULL, SECRET, "u", "r", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, NULL, "u", "r", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, NULL, "r", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", NULL, NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token("", KEY, SECRET, "u", "r", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, "", "u", "r", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "", "r", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u\n7", "r", NOW, 60, tok, sizeof tok),
                 -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r\x7f", NOW, 60, tok, sizeof tok),
                 -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT "\t", KEY, SECRET, "u", "r", NOW, 60, tok, sizeof tok),
                 -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, "s\x1b", "u", "r", NOW, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, "\x01", SECRET, "u", "r", NOW, 60, tok, sizeof tok),
                 -1);
    CHECK_EQ_INT(tok[0], '\0');

    /* times: iat >= 0, ttl > 0, exp no later than 9999-12-31T23:59:59Z */
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", -1, 60, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", NOW, 0, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", NOW, -5, tok, sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", INT64_MAX, 1, tok, sizeof tok),
                 -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", NOW, INT64_MAX, tok,
                                   sizeof tok), -1);
    CHECK_EQ_INT(auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", 253402300799 - 60, 61, tok,
                                   sizeof tok), -1);
    n = auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", 253402300799 - 60, 60, tok, sizeof tok);
    CHECK(n > 0);
    check_token(tok, ACCOUNT, KEY, SECRET, "u", "r", 253402300799 - 60, 60);
    n = auth_twilio_token(ACCOUNT, KEY, SECRET, "u", "r", 0, 1, tok, sizeof tok);
    CHECK(n > 0);
    check_token(tok, ACCOUNT, KEY, SECRET, "u", "r", 0, 1);

    /* verify reads only len bytes and rejects what is not one of our tokens */
    n = auth_twilio_token(ACCOUNT, KEY, SECRET, "u_7", "r_1", NOW, 60, tok, sizeof tok);
    CHECK(n > 0);
    tok[n] = '.';   /* no NUL: the length alone bounds it */
    CHECK(auth_twilio_verify(tok, (size_t)n, SECRET));
    CHECK(!auth_twilio_verify(tok, (size_t)n + 1, SECRET));
    tok[n] = '\0';
    CHECK(!auth_twilio_verify(NULL, 10, SECRET));
    CHECK(!auth_twilio_verify(tok, (size_t)n, NULL));
    CHECK(!auth_twilio_verify("", 0, SECRET));
    CHECK(!auth_twilio_verify("a.b.c", 5, SECRET));
}

static void write_seed(const char *dir, const char *hex)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/signing.key", dir);
    CHECK((f = fopen(path, "w")) != NULL);
    if (f) {
        fprintf(f, "%s\n", hex);
        CHECK(fclose(f) == 0);
    }
}

static void remove_dir(const char *dir)
{
    char path[512];

    snprintf(path, sizeof path, "%s/signing.key", dir);
    unlink(path);
    CHECK(rmdir(dir) == 0);
}

/* Both keys from dir, as start-up loads them. */
static bool load(const char *dir)
{
    char err[256] = "";
    bool ok = auth_keys_load(dir, err, sizeof err) == 0;

    if (!ok)
        fprintf(stderr, "load %s: %s\n", dir, err);
    return ok;
}

static void test_seal(void)
{
    const char secret[] = "invite-code-42";
    char a[128], b[256], err[256], sealed[AUTH_SEAL_LEN(sizeof secret)], *bad;
    char dir1[300], dir2[300], dir3[300], out[64];
    int n, m, opened;

    snprintf(dir1, sizeof dir1, "%s/one", tmp_root);
    snprintf(dir2, sizeof dir2, "%s/two", tmp_root);
    snprintf(dir3, sizeof dir3, "%s/empty", tmp_root);
    CHECK(mkdir(dir1, 0700) == 0 && mkdir(dir2, 0700) == 0 && mkdir(dir3, 0700) == 0);

    /* no key yet: nothing seals or opens */
    auth_keys_unload();
    CHECK_EQ_INT(auth_seal(secret, strlen(secret), a, sizeof a), -1);
    CHECK_EQ_INT(a[0], '\0');
    CHECK_EQ_INT(auth_unseal("AAAA", 4, out, sizeof out), -1);

    write_seed(dir1, VEC_SEED);
    CHECK(load(dir1));

    /* roundtrip; a fresh nonce each time, so the same secret seals differently */
    n = auth_seal(secret, strlen(secret), a, sizeof a);
    CHECK(n > 0 && (size_t)n == strlen(a));
    CHECK_EQ_INT(n, 72);    /* 14 + 40 bytes in base64 */
    CHECK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          (size_t)n);
    CHECK_EQ_INT(auth_seal(secret, strlen(secret), b, sizeof b), n);
    CHECK(strcmp(a, b) != 0);
    memset(out, 0, sizeof out);
    CHECK_EQ_INT(auth_unseal(a, (size_t)n, out, sizeof out), strlen(secret));
    CHECK_STREQ(out, secret);
    memset(out, 0, sizeof out);
    CHECK_EQ_INT(auth_unseal(b, (size_t)n, out, sizeof out), strlen(secret));
    CHECK_STREQ(out, secret);

    /* the pinned vector opens under VEC_SEED */
    memset(out, 0, sizeof out);
    CHECK_EQ_INT(auth_unseal(VEC_SEALED, strlen(VEC_SEALED), out, sizeof out), strlen(secret));
    CHECK_STREQ(out, secret);

    /* empty and binary plaintexts */
    CHECK_EQ_INT(auth_seal("", 0, b, sizeof b), 54);
    CHECK_EQ_INT(auth_seal(NULL, 0, b, sizeof b), 54);
    CHECK_EQ_INT(auth_unseal(b, 54, out, 0), 0);
    CHECK_EQ_INT(auth_seal(NULL, 1, b, sizeof b), -1);
    {
        unsigned char bin[100], back[100];

        for (size_t k = 0; k < sizeof bin; k++)
            bin[k] = (unsigned char)(k * 37);
        m = auth_seal(bin, sizeof bin, b, sizeof b);
        CHECK(m > 0);
        CHECK_EQ_INT(auth_unseal(b, (size_t)m, back, sizeof back), sizeof bin);
        CHECK(memcmp(bin, back, sizeof bin) == 0);
    }

    /* AUTH_SEAL_LEN is enough; one byte less than the exact need is -1 and "" */
    CHECK_EQ_INT(auth_seal(secret, sizeof secret, sealed, sizeof sealed), 74);
    CHECK_EQ_INT(auth_seal(secret, strlen(secret), b, (size_t)n + 1), n);
    CHECK_EQ_INT(auth_seal(secret, strlen(secret), b, (size_t)n), -1);
    CHECK_EQ_INT(b[0], '\0');
    CHECK_EQ_INT(auth_seal(secret, strlen(secret), b, 0), -1);
    CHECK_EQ_INT(auth_seal(secret, strlen(secret), NULL, sizeof b), -1);

    /* an out buffer one byte too small for the plaintext */
    CHECK_EQ_INT(auth_unseal(a, (size_t)n, out, strlen(secret) - 1), -1);
    CHECK_EQ_INT(auth_unseal(a, (size_t)n, out, strlen(secret)), strlen(secret));
    CHECK_EQ_INT(auth_unseal(a, (size_t)n, NULL, 0), -1);

    /* wrong lengths: every truncation, one extra character, and less than nonce + MAC */
    opened = 0;
    for (int k = 0; k < n; k++)
        opened += auth_unseal(a, (size_t)k, out, sizeof out) != -1;
    CHECK_EQ_INT(opened, 0);
    snprintf(b, sizeof b, "%sA", a);
    CHECK_EQ_INT(auth_unseal(b, (size_t)n + 1, out, sizeof out), -1);
    snprintf(b, sizeof b, "%sAA", a);
    CHECK_EQ_INT(auth_unseal(b, (size_t)n + 2, out, sizeof out), -1);
    CHECK_EQ_INT(auth_unseal(a, 52, out, sizeof out), -1);   /* 39 bytes: under the overhead */

    /* tampering: any changed character, characters outside the alphabet, padding, a NUL */
    if ((bad = strdup(a))) {
        opened = 0;
        for (int k = 0; k < n; k++) {
            char was = bad[k];

            bad[k] = was == 'A' ? 'B' : 'A';
            opened += auth_unseal(bad, (size_t)n, out, sizeof out) != -1;
            bad[k] = was;
        }
        CHECK_EQ_INT(opened, 0);
        bad[5] = '+';
        CHECK_EQ_INT(auth_unseal(bad, (size_t)n, out, sizeof out), -1);
        bad[5] = '\0';
        CHECK_EQ_INT(auth_unseal(bad, (size_t)n, out, sizeof out), -1);
        memcpy(bad, a, (size_t)n);
        CHECK_EQ_INT(auth_unseal(bad, (size_t)n, out, sizeof out), strlen(secret));
        free(bad);
    }
    snprintf(b, sizeof b, "%s==", a);
    CHECK_EQ_INT(auth_unseal(b, (size_t)n + 2, out, sizeof out), -1);

    /* another directory's key cannot open it; back to the first and it opens again */
    CHECK(load(dir2));
    CHECK_EQ_INT(auth_unseal(a, (size_t)n, out, sizeof out), -1);
    CHECK_EQ_INT(auth_unseal(VEC_SEALED, strlen(VEC_SEALED), out, sizeof out), -1);
    m = auth_seal(secret, strlen(secret), b, sizeof b);
    CHECK(m > 0);
    CHECK(load(dir1));
    CHECK_EQ_INT(auth_unseal(b, (size_t)m, out, sizeof out), -1);
    memset(out, 0, sizeof out);
    CHECK_EQ_INT(auth_unseal(a, (size_t)n, out, sizeof out), strlen(secret));
    CHECK_STREQ(out, secret);

    /* a failed load leaves no key behind */
    write_seed(dir3, "not hex");
    CHECK_EQ_INT(auth_keys_load(dir3, err, sizeof err), -1);
    CHECK_EQ_INT(auth_unseal(a, (size_t)n, out, sizeof out), -1);
    CHECK(load(dir1));
    auth_keys_unload();
    CHECK_EQ_INT(auth_unseal(a, (size_t)n, out, sizeof out), -1);
    auth_keys_unload();

    remove_dir(dir1);
    remove_dir(dir2);
    remove_dir(dir3);
}

int main(void)
{
    CHECK(auth_init() == 0);
    CHECK(mkdtemp(tmp_root) != NULL);
    test_vectors();
    test_args();
    test_seal();
    CHECK(rmdir(tmp_root) == 0);
    CHECK_MAIN_END();
}
