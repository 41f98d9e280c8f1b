/* seal: secrets that must wait at rest in plain storage, such as the invite code of a mail still in
 * the outbox, are kept as base64url(nonce || crypto_secretbox) under a key derived from the
 * signing seed. It owns that derived key (static storage, derived by auth_keys_load from the
 * seed it reads, wiped by auth_keys_unload). Sealed text is untrusted input: lengths are bounded and it is read only within
 * the length given. It never logs and never hands the key out. */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define NONCE_LEN crypto_secretbox_NONCEBYTES
#define BOX_OVERHEAD (NONCE_LEN + crypto_secretbox_MACBYTES)
#define SEED_LEN 32
#define KDF_CONTEXT "natterSB"
#define KDF_SUBKEY 1
#define SEAL_MAX ((size_t)INT_MAX / 2) /* keeps every length below in an int, even where size_t
                                        * is 32 bits */

_Static_assert(BOX_OVERHEAD == AUTH_SEAL_OVERHEAD, "AUTH_SEAL_OVERHEAD is wrong");
_Static_assert(crypto_kdf_KEYBYTES == SEED_LEN, "the seed is not a crypto_kdf key");
_Static_assert(crypto_secretbox_KEYBYTES >= crypto_kdf_BYTES_MIN &&
                   crypto_secretbox_KEYBYTES <= crypto_kdf_BYTES_MAX,
               "crypto_kdf cannot make a secretbox key");
_Static_assert(sizeof KDF_CONTEXT - 1 == crypto_kdf_CONTEXTBYTES, "the KDF context is 8 bytes");

/* Written only by auth_keys_load/unload, at start-up and shutdown, so readers need no lock. */
static struct {
    bool loaded;
    unsigned char key[crypto_secretbox_KEYBYTES];
} seal;

int auth__seal_derive(const unsigned char seed[SEED_LEN])
{
    auth__seal_wipe();
    if (crypto_kdf_derive_from_key(seal.key, sizeof seal.key, KDF_SUBKEY, KDF_CONTEXT, seed) != 0)
        return -1;
    seal.loaded = true;
    return 0;
}

void auth__seal_wipe(void)
{
    sodium_memzero(&seal, sizeof seal);
}

int auth_seal(const void *plain, size_t len, char *out, size_t cap)
{
    unsigned char *buf = NULL;
    size_t bin_len, need;
    int n = -1;

    if (!out || cap == 0)
        return -1;
    out[0] = '\0';
    if (!seal.loaded || (!plain && len) || len > SEAL_MAX)
        return -1;
    bin_len = BOX_OVERHEAD + len;
    need = sodium_base64_ENCODED_LEN(bin_len, B64);     /* counts the NUL */
    if (need > cap || !(buf = malloc(bin_len)))
        return -1;
    /* A fresh random nonce per seal: 24 bytes make a collision negligible, so no counter. */
    randombytes_buf(buf, NONCE_LEN);
    if (crypto_secretbox_easy(buf + NONCE_LEN, len ? plain : "", len, buf, seal.key) != 0 ||
        !sodium_bin2base64(out, cap, buf, bin_len, B64)) {
        out[0] = '\0';
        goto out;
    }
    n = (int)(need - 1);
out:
    free(buf);
    return n;
}

int auth_unseal(const char *sealed, size_t len, void *out, size_t cap)
{
    unsigned char *buf = NULL;
    size_t max_bin, bin_len = 0, plain_len;
    int n = -1;

    if (!seal.loaded || !sealed || !out || len > SEAL_MAX)
        return -1;
    max_bin = len / 4 * 3 + 2;  /* at least what len base64 characters decode to */
    if (!(buf = malloc(max_bin)))
        return -1;
    /* No ignore set and no end pointer: any character outside the alphabet fails the decode. */
    if (sodium_base642bin(buf, max_bin, sealed, len, NULL, &bin_len, NULL, B64) != 0 ||
        bin_len < BOX_OVERHEAD)
        goto out;
    plain_len = bin_len - BOX_OVERHEAD;
    if (plain_len > cap)
        goto out;
    if (crypto_secretbox_open_easy(out, buf + NONCE_LEN, bin_len - NONCE_LEN, buf, seal.key) != 0) {
        sodium_memzero(out, plain_len);     /* nothing unverified may leak out */
        goto out;
    }
    n = (int)plain_len;
out:
    free(buf);
    return n;
}
