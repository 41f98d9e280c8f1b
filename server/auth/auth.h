/* auth: every use of libsodium in Natter: password hashes (Argon2id), access tokens
 * (PASETO v4.public, Ed25519), opaque random tokens and their at-rest hashes.
 * It is the only includer of <sodium.h>. Functions are pure or thread-safe: the
 * password functions are slow (tens of ms) and must only run on a worker thread.
 * It never touches the network or the database. */
#ifndef NATTER_AUTH_H
#define NATTER_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define AUTH_PW_HASH_LEN 128    /* room for crypto_pwhash_STRBYTES */
#define AUTH_TOKEN_LEN 64       /* text form of an opaque token: 43 chars + NUL fits */
#define AUTH_TOKEN_HASH_LEN 65  /* hex of a 32-byte BLAKE2b hash + NUL */
#define AUTH_ACCESS_MAX 512     /* longest access token we mint or accept */
#define AUTH_KID_LEN 24

enum auth_cost { AUTH_COST_INTERACTIVE, AUTH_COST_MODERATE, AUTH_COST_MIN };

/* Claims of an access token. aud is "chat" or "admin". */
struct auth_claims {
    int64_t sub;       /* user id */
    int64_t sid;       /* session id */
    char aud[8];
    int64_t exp;       /* unix seconds */
    char kid[AUTH_KID_LEN];
};

enum auth_verdict {
    AUTH_OK = 0,
    AUTH_MALFORMED = -1,  /* not a v4.public token, bad base64, bad JSON, missing claims */
    AUTH_BAD_SIG = -2,    /* signature or key id does not verify */
    AUTH_EXPIRED = -3,    /* exp <= now */
};

/* Call once at start-up, before any thread uses auth. Returns 0, or -1 if libsodium fails. */
int auth_init(void);

/* The signing key lives in DIR/signing.key (mode 0600): created on first use.
 * Returns 0, or -1 with a reason in err (err_len bytes). Start-up only. */
int auth_keys_load(const char *dir, char *err, size_t err_len);
void auth_keys_unload(void);

/* Argon2id via crypto_pwhash_str at the given cost. out is NUL-terminated.
 * Slow: worker threads only. Returns 0 or -1 (out of memory). */
int auth_pw_hash(const char *pw, size_t pw_len, enum auth_cost cost, char out[AUTH_PW_HASH_LEN]);
/* true when pw matches hash. Slow: worker threads only. */
bool auth_pw_verify(const char *hash, const char *pw, size_t pw_len);
/* true when the hash was made with other parameters than `cost` (libsodium checks for equality,
 * so lowering the cost rehashes too), or is not a hash at all. Rehash on login. */
bool auth_pw_needs_rehash(const char *hash, enum auth_cost cost);

/* Mint a PASETO v4.public token for c (c->kid is ignored: the current key's id is used),
 * footer {"kid":"..."}. out is NUL-terminated. Returns its length, or -1: no key loaded, aud not
 * "chat"/"admin", a negative id, or exp outside the years 1000-9999. Thread-safe after
 * auth_keys_load. */
int auth_access_mint(const struct auth_claims *c, char out[AUTH_ACCESS_MAX]);
/* Verify a token of len bytes (need not be NUL-terminated) at time now (unix seconds).
 * Fills *out on AUTH_OK (and on AUTH_EXPIRED, so callers can log the subject); zeroes it otherwise.
 * A footer other than our key's exactly, or no key loaded, is AUTH_BAD_SIG. iat is not checked. */
enum auth_verdict auth_access_verify(const char *tok, size_t len, int64_t now,
                                     struct auth_claims *out);

/* Low-level PASETO v4.public, exposed for the test vectors: sign m with the 64-byte secret key,
 * footer f and implicit assertion i (each may be empty). Returns the token length or -1 (out is
 * NUL-terminated; out_cap too small is -1). verify returns the message length (copied to m_out)
 * or -1, also when it is longer than m_cap. Its f is the footer expected: the token's must match
 * it exactly (compared in constant time), and an empty f means the token has none. */
int auth_paseto_sign(const unsigned char sk[64], const char *m, size_t m_len, const char *f,
                     size_t f_len, const char *i, size_t i_len, char *out, size_t out_cap);
int auth_paseto_verify(const unsigned char pk[32], const char *tok, size_t tok_len, const char *f,
                       size_t f_len, const char *i, size_t i_len, char *m_out, size_t m_cap);

/* 32 random bytes, base64url without padding (43 chars), NUL-terminated. */
void auth_token_new(char out[AUTH_TOKEN_LEN]);
/* hex(BLAKE2b-256(tok)), for storing opaque tokens and codes at rest. */
void auth_token_hash(const char *tok, size_t len, char out[AUTH_TOKEN_HASH_LEN]);
/* n random bytes as lowercase hex (2n chars + NUL). */
void auth_random_hex(char *out, size_t n);
/* Constant-time equality of two equal-length buffers. */
bool auth_equal(const void *a, const void *b, size_t len);

/* ---- Twilio Access Tokens (twilio.c) ---- */

#define AUTH_TWILIO_MAX 2048    /* ample for Twilio's SIDs with Natter's user and room ids */

/* A Twilio Access Token for Video: identity plus a grant for one room, minted byte for byte as
 * twilio-node's AccessToken + VideoGrant (jsonwebtoken, HS256) mints it: header
 * {"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}, payload {"jti":"<api_key_sid>-<iat>",
 * "grants":{"identity":..,"video":{"room":..}},"iat":..,"exp":iat+ttl_s,"iss":api_key_sid,
 * "sub":account_sid}, no nbf. The signature is HMAC-SHA256 keyed by api_secret (any length).
 * Every string must be non-empty (a video grant without a room would admit the bearer to every
 * room of the account), free of control characters, and UTF-8 (copied into JSON as is). iat
 * (unix seconds) >= 0, ttl_s > 0, and iat + ttl_s before the year 10000. out is NUL-terminated.
 * Returns its length, or -1 for a bad argument or cap too small (out is then ""). Thread-safe. */
int auth_twilio_token(const char *account_sid, const char *api_key_sid, const char *api_secret,
                      const char *identity, const char *room, int64_t iat, int64_t ttl_s,
                      char *out, size_t cap);
/* true when tok (len bytes, need not be NUL-terminated) is header.payload.signature with exactly
 * the header above, a non-empty payload, and the base64url HMAC-SHA256 of "header.payload" under
 * api_secret (compared in constant time). The payload is neither decoded nor read. For tests. */
bool auth_twilio_verify(const char *tok, size_t len, const char *api_secret);

/* ---- secrets sealed at rest (seal.c) ---- */

#define AUTH_SEAL_OVERHEAD 40   /* nonce (24) and MAC (16), before base64 */
/* Room for the sealed text of n plain bytes, NUL included (an upper bound). */
#define AUTH_SEAL_LEN(n) ((((size_t)(n) + AUTH_SEAL_OVERHEAD + 2) / 3) * 4 + 1)

/* The seal key is derived from the signing seed (crypto_kdf, context "natterSB", subkey 1) by
 * auth_keys_load, and wiped by auth_keys_unload: it lives and dies with the signing key. */

/* Encrypt len bytes (XSalsa20-Poly1305, random nonce) to base64url(nonce || box), for a secret
 * that must wait at rest, such as an invite code in a pending mail. out is NUL-terminated; cap of
 * AUTH_SEAL_LEN(len) is enough. Returns its length, or -1 (no key, cap too small). Thread-safe. */
int auth_seal(const void *plain, size_t len, char *out, size_t cap);
/* Open len bytes of auth_seal's text (need not be NUL-terminated) into out, which is not
 * NUL-terminated. Returns the plain length, or -1: no key, not our base64url, too short, tampered,
 * sealed under another key, or longer than cap. Thread-safe. */
int auth_unseal(const char *sealed, size_t len, void *out, size_t cap);

#endif
