/* auth internals shared by auth.c and seal.c. */
#ifndef NATTER_AUTH_INT_H
#define NATTER_AUTH_INT_H

/* Derives the seal key from the 32-byte signing seed (auth_keys_load). Returns 0 or -1. */
int auth__seal_derive(const unsigned char seed[32]);
void auth__seal_wipe(void);

#endif
