/* natter: wiring only. Parse the configuration, open the modules, run the loop, close in
 * reverse. `natter admin …` is the operator's door (admin.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "auth/auth.h"
#include "core/cfg.h"
#include "core/log.h"
#include "net/net.h"
#include "store/store.h"

/* The client-web/ installed beside the binary (../share/natter/client-web), else the
 * source tree's. */
static void default_web_root(void)
{
    char exe[PATH_MAX], *slash;
    struct stat st;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/'))) {
            *slash = '\0';
            snprintf(cfg.web_root, sizeof cfg.web_root, "%.400s/../share/natter/client-web", exe);
            if (stat(cfg.web_root, &st) == 0)
                return;
        }
    }
    snprintf(cfg.web_root, sizeof cfg.web_root, "%s", NATTER_SOURCE_WEB_ROOT);
}

static int open_data(char *err)
{
    char path[600];
    if (mkdir(cfg.data_dir, 0700) && errno != EEXIST) {
        snprintf(err, NATTER_ERR_LEN, "cannot create %.200s: %s", cfg.data_dir, strerror(errno));
        return -1;
    }
    if (auth_init() || auth_keys_load(cfg.data_dir, err, NATTER_ERR_LEN))
        return -1;
    snprintf(path, sizeof path, "%s/natter.db", cfg.data_dir);
    return store_open(path, err);
}

int main(int argc, char **argv)
{
    char err[NATTER_ERR_LEN] = "";
    /* `natter [flags] admin …`: the flags configure, the rest is the admin command. */
    int split = argc;
    for (int i = argc - 1; i > 0; i--)
        if (!strcmp(argv[i], "admin"))
            split = i;
    bool admin = split < argc;
    int rc = cfg_parse(split, argv, err);
    if (rc) {
        if (rc < 0)
            fprintf(stderr, "natter: %s\n", err);
        return rc < 0 ? 2 : 0;
    }
    if (!cfg.web_root[0])
        default_web_root();
    if (cfg.pw_cost == 2)
        LOG_WARN("--password-cost min: passwords are hashed with test-only parameters");
    if (open_data(err)) {
        LOG_ERR("%s", err);
        return 1;
    }
    rc = admin ? admin_main(argc - split, argv + split) : net_run(store_close);
    if (admin)
        store_close();
    auth_keys_unload();
    return rc;
}
