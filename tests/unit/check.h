/* check.h: the assertion macros every tests/unit/test_<module>.c uses (after libuv's task.h). A
 * failed CHECK prints file:line and the expression, counts, and carries on, so one run shows every
 * failure. Include it in exactly one file per test binary: it defines check_failures. End main()
 * with CHECK_MAIN_END(), which prints the tally and returns non-zero when anything failed. */
#ifndef NATTER_CHECK_H
#define NATTER_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_total;
static int check_failures;

#define CHECK_FAIL_(fmt, ...)                                                                      \
    (check_failures++, fprintf(stderr, "%s:%d: FAIL " fmt "\n", __FILE__, __LINE__, __VA_ARGS__))

#define CHECK(cond) (check_total++, (cond) ? (void)0 : (void)CHECK_FAIL_("%s", #cond))

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        check_total++;                                                                             \
        if (check_a_ != check_b_)                                                                  \
            CHECK_FAIL_("%s == %s (%lld != %lld)", #a, #b, check_a_, check_b_);                    \
    } while (0)

#define CHECK_STREQ(a, b)                                                                          \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        check_total++;                                                                             \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0)                             \
            CHECK_FAIL_("%s == %s (\"%s\" != \"%s\")", #a, #b, check_a_ ? check_a_ : "(null)",     \
                        check_b_ ? check_b_ : "(null)");                                           \
    } while (0)

/* A whole file, NUL-terminated (free()), or NULL. For test vectors. */
static inline char *check_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

#define CHECK_MAIN_END()                                                                           \
    do {                                                                                           \
        printf("%d checks, %d failed\n", check_total, check_failures);                             \
        return check_failures != 0;                                                                \
    } while (0)

#endif
