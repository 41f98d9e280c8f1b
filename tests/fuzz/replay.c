/* replay: a plain main() for libFuzzer harnesses, so ctest can replay a seed corpus under gcc and
 * the sanitizers without libFuzzer. Usage: replay_<target> DIR|FILE...; each regular file (a
 * directory's entries in name order, not recursing) goes once through LLVMFuzzerTestOneInput in a
 * buffer of exactly its size, so ASan sees any read past the end. Exits 1 when an argument is
 * missing or nothing was replayed; a harness bug crashes or trips a sanitizer. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Weak, as in libFuzzer: a harness may leave it out. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Returns 1 if path was replayed, 0 if it is not a regular file, -1 on error. */
static int replay_file(const char *path)
{
    struct stat st;
    uint8_t *buf = NULL;
    FILE *f = NULL;
    int rc = -1;

    errno = 0;
    if (stat(path, &st) != 0)
        goto out;
    if (!S_ISREG(st.st_mode)) {
        rc = 0;
        goto out;
    }
    /* malloc(0) may return NULL; a 1-byte buffer with size 0 is still checked by ASan */
    if (!(f = fopen(path, "rb")) || !(buf = malloc(st.st_size ? (size_t)st.st_size : 1)) ||
        fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        goto out;
    LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
    rc = 1;
out:
    if (rc < 0)
        fprintf(stderr, "replay: %s: %s\n", path, errno ? strerror(errno) : "short read");
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

/* Returns the number replayed, or -1 on error. */
static int replay_dir(const char *dir)
{
    struct dirent **names;
    char path[4096];
    int n = scandir(dir, &names, NULL, alphasort), count = 0, rc;

    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int k = 0; k < n; k++) {
        if (names[k]->d_name[0] == '.')
            rc = 0;     /* ".", ".." and editor droppings */
        else if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[k]->d_name) >= sizeof path)
            rc = -1;
        else
            rc = replay_file(path);
        count = count < 0 || rc < 0 ? -1 : count + rc;
        free(names[k]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    struct stat st;
    int total = 0, rc;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 1;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int k = 1; k < argc; k++) {
        rc = stat(argv[k], &st) == 0 && S_ISDIR(st.st_mode) ? replay_dir(argv[k])
                                                            : replay_file(argv[k]);
        if (rc < 0)
            return 1;
        total += rc;
    }
    printf("replayed %d inputs\n", total);
    return total > 0 ? 0 : 1;
}
