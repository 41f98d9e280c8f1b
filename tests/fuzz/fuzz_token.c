/* fuzz_token: libFuzzer harness for auth_access_verify, the parser that sees every access token
 * before anything else does. It loads a fixed test key (the PASETO 4-S vectors' seed, written to
 * a temp dir once) so that seeds minted with it reach the claims checks, then verifies arbitrary
 * bytes at a fixed clock. It must never crash, and it aborts when a verdict breaks the header's
 * contract (claims filled only on AUTH_OK and AUTH_EXPIRED). */
#include "auth/auth.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEED "b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774\n"
#define NOW 1795000000 /* 2026-11-18T11:06:40Z: the seeds' "valid" tokens expire after this */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/natter-fuzz-token-XXXXXX", path[64], err[256] = "cannot write the key";
    int fd;

    (void)argc;
    (void)argv;
    if (auth_init() != 0 || !mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/signing.key", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, SEED, strlen(SEED)) != (ssize_t)strlen(SEED) || close(fd) != 0 ||
        auth_keys_load(dir, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_token: %s\n", err);
        abort();
    }
    unlink(path);   /* the key stays in memory; leave nothing behind */
    rmdir(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct auth_claims zero;
    struct auth_claims c;
    enum auth_verdict v = auth_access_verify((const char *)data, size, NOW, &c);

    switch (v) {
    case AUTH_OK:
    case AUTH_EXPIRED:
        if ((strcmp(c.aud, "chat") != 0 && strcmp(c.aud, "admin") != 0) || c.sub < 0 ||
            c.sid < 0 || (v == AUTH_OK) != (c.exp > NOW) || strlen(c.kid) != 16)
            abort();
        break;
    case AUTH_MALFORMED:
    case AUTH_BAD_SIG:
        if (memcmp(&c, &zero, sizeof c) != 0)
            abort();
        break;
    default:
        abort();
    }
    return 0;
}
