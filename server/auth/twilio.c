/* twilio: Twilio Access Tokens (HS256 JWTs with a Video grant) for the call ops, minted exactly as
 * twilio-node's AccessToken mints them, so the tokens we hand out are the ones Twilio's own helper
 * libraries would, checked byte for byte by tests/unit/test_twilio.c. It owns the JWT encoding
 * (base64url without padding, the claim order jsonwebtoken produces) and the HMAC; it keeps no
 * state, never logs, and never holds the API secret longer than one call. */
#include "auth/auth.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define MAC_LEN crypto_auth_hmacsha256_BYTES
#define MAC_B64 (sodium_base64_ENCODED_LEN(MAC_LEN, B64) - 1)
/* jsonwebtoken writes {alg, typ, kid} and then Object.assign()s twilio's {cty, typ}: typ keeps
 * its first place and the undefined kid is dropped, so this is the order on the wire. */
#define HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}"
#define HEADER_LEN (sizeof HEADER - 1)
#define HEADER_B64 (sodium_base64_ENCODED_LEN(HEADER_LEN, B64) - 1)
#define TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* Non-empty and no C0 control or DEL. cJSON would escape them much as JSON.stringify does, but
 * nothing legitimate carries them, and rejecting them keeps the two encoders' corner cases away. */
static bool is_clean(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* HMAC-SHA256 of msg under a key of any length (init hashes a long one, as RFC 2104 says). */
static int hs256(const char *key, const char *msg, size_t len, unsigned char mac[MAC_LEN])
{
    crypto_auth_hmacsha256_state st;
    int rc = -1;

    if (crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key)) != 0 ||
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len) != 0 ||
        crypto_auth_hmacsha256_final(&st, mac) != 0)
        goto out;
    rc = 0;
out:
    sodium_memzero(&st, sizeof st);     /* its pads are derived from the secret */
    return rc;
}

/* The claims, in the order twilio-node and jsonwebtoken add them: jti and grants (AccessToken),
 * then iat, exp, iss, sub (jsonwebtoken's timestamp, expiresIn, issuer, subject). Returns a
 * cJSON_free()d string, or NULL. */
static char *payload_json(const char *account_sid, const char *api_key_sid, const char *identity,
                          const char *room, int64_t iat, int64_t exp)
{
    cJSON *root = NULL, *grants, *video;
    char *jti = NULL, *s = NULL;
    size_t jti_cap = strlen(api_key_sid) + 1 + 20 + 1;

    if (!(jti = malloc(jti_cap)))
        return NULL;
    snprintf(jti, jti_cap, "%s-%" PRId64, api_key_sid, iat);
    /* Numbers go through cJSON's double: exact, and printed without an exponent, for every value
     * below 1e15, and TIME_MAX keeps iat and exp there. */
    if (!(root = cJSON_CreateObject()) || !cJSON_AddStringToObject(root, "jti", jti) ||
        !(grants = cJSON_AddObjectToObject(root, "grants")) ||
        !cJSON_AddStringToObject(grants, "identity", identity) ||
        !(video = cJSON_AddObjectToObject(grants, "video")) ||
        !cJSON_AddStringToObject(video, "room", room) ||
        !cJSON_AddNumberToObject(root, "iat", (double)iat) ||
        !cJSON_AddNumberToObject(root, "exp", (double)exp) ||
        !cJSON_AddStringToObject(root, "iss", api_key_sid) ||
        !cJSON_AddStringToObject(root, "sub", account_sid))
        goto out;
    s = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    free(jti);
    return s;
}

int auth_twilio_token(const char *account_sid, const char *api_key_sid, const char *api_secret,
                      const char *identity, const char *room, int64_t iat, int64_t ttl_s,
                      char *out, size_t cap)
{
    unsigned char mac[MAC_LEN];
    char *payload = NULL;
    size_t pay_len, enc_pay, need, pos;
    int n = -1;

    if (!out || cap == 0)
        return -1;
    out[0] = '\0';
    if (!is_clean(account_sid) || !is_clean(api_key_sid) || !is_clean(api_secret) ||
        !is_clean(identity) || !is_clean(room) || iat < 0 || ttl_s <= 0 || iat > TIME_MAX ||
        ttl_s > TIME_MAX - iat)
        return -1;
    if (!(payload = payload_json(account_sid, api_key_sid, identity, room, iat, iat + ttl_s)))
        return -1;
    pay_len = strlen(payload);
    if (pay_len > INT_MAX / 2)
        goto out;
    enc_pay = sodium_base64_ENCODED_LEN(pay_len, B64) - 1;
    need = HEADER_B64 + 1 + enc_pay + 1 + MAC_B64 + 1;
    if (need > cap)
        goto out;

    /* header.payload is written straight into out, then signed where it lies. */
    if (!sodium_bin2base64(out, cap, (const unsigned char *)HEADER, HEADER_LEN, B64))
        goto out;
    pos = HEADER_B64;
    out[pos++] = '.';
    if (!sodium_bin2base64(out + pos, cap - pos, (const unsigned char *)payload, pay_len, B64))
        goto out;
    pos += enc_pay;
    if (hs256(api_secret, out, pos, mac) != 0)
        goto out;
    out[pos++] = '.';
    if (!sodium_bin2base64(out + pos, cap - pos, mac, sizeof mac, B64))
        goto out;
    pos += MAC_B64;
    n = (int)pos;
out:
    if (n < 0)
        out[0] = '\0';
    cJSON_free(payload);
    return n;
}

bool auth_twilio_verify(const char *tok, size_t len, const char *api_secret)
{
    unsigned char mac[MAC_LEN], got[MAC_LEN];
    char head[HEADER_B64 + 1];
    const char *pay, *sig;
    size_t bin_len = 0;
    bool ok = false;

    /* At least our header, a one-character payload and the signature, each after a dot. */
    if (!tok || !api_secret || !*api_secret || len < HEADER_B64 + 1 + 1 + 1 + MAC_B64 ||
        len > INT_MAX)
        return false;
    if (!sodium_bin2base64(head, sizeof head, (const unsigned char *)HEADER, HEADER_LEN, B64))
        return false;
    pay = tok + HEADER_B64 + 1;
    sig = tok + len - MAC_B64;
    if (memcmp(tok, head, HEADER_B64) != 0 || pay[-1] != '.' || sig[-1] != '.' ||
        memchr(pay, '.', (size_t)(sig - 1 - pay)))
        return false;
    if (sodium_base642bin(got, sizeof got, sig, MAC_B64, NULL, &bin_len, NULL, B64) != 0 ||
        bin_len != sizeof got)
        return false;
    if (hs256(api_secret, tok, (size_t)(sig - 1 - tok), mac) == 0)
        ok = sodium_memcmp(mac, got, sizeof mac) == 0;
    return ok;
}
