/* admin: runs one store job synchronously (submit, then drain loopq until it is done). */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "core/cfg.h"
#include "core/loopq.h"
#include "store/store.h"

struct admin_job {
    struct store_job job;
    int argc;
    char **argv;
    FILE *out;
    int rc;
    bool done;
};

static int64_t now_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void finished(void *arg, int rc)
{
    struct admin_job *j = arg;
    j->rc = rc;
    j->done = true;
}

static int run_sync(struct admin_job *j, int (*run)(struct store_tx *, void *))
{
    j->job.run = run;
    j->job.done = finished;
    j->job.arg = j;
    if (store_submit(&j->job))
        return 1;
    while (!j->done) {
        loopq_drain();
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return j->rc ? 1 : 0;
}

static int run_make_admin(struct store_tx *tx, void *arg)
{
    struct admin_job *j = arg;
    struct store_user u;
    int rc = store_tx_user_by_email(tx, j->argv[1], &u);
    if (rc) {
        fprintf(stderr, "natter admin: no user with email %s\n", j->argv[1]);
        return rc;
    }
    return store_tx_user_set_admin(tx, u.id, true);
}

/* bench-setup USERS GROUP_SIZE FILE: users in groups of GROUP_SIZE, each with a session;
 * FILE gets one line per user: "<access token> <room id>". For the load generator. */
static int run_bench_setup(struct store_tx *tx, void *arg)
{
    struct admin_job *j = arg;
    long users = atol(j->argv[1]), size = atol(j->argv[2]);
    int64_t now = now_unix_ms(), group = 0, room = 0, uid, sid;
    char email[64], name[32], tok[AUTH_TOKEN_LEN], hash[AUTH_TOKEN_HASH_LEN], access[AUTH_ACCESS_MAX];
    char stamp[16];
    snprintf(stamp, sizeof stamp, "%lld", (long long)(now % 100000000));
    for (long i = 0; i < users; i++) {
        int rc;
        snprintf(email, sizeof email, "bench%ld-%s@bench.invalid", i, stamp);
        snprintf(name, sizeof name, "bench %ld", i);
        if ((rc = store_tx_user_insert(tx, email, name, NULL, now, &uid)))
            return rc;
        if (i % size == 0) {
            if ((rc = store_tx_group_insert(tx, "bench", uid, now, &group)) ||
                (rc = store_tx_member_insert(tx, group, uid, ROLE_OWNER, now)) ||
                (rc = store_tx_room_insert(tx, group, "general", now, &room)))
                return rc;
        } else if ((rc = store_tx_member_insert(tx, group, uid, ROLE_MEMBER, now))) {
            return rc;
        }
        auth_token_new(tok);
        auth_token_hash(tok, strlen(tok), hash);
        if ((rc = store_tx_session_insert(tx, uid, hash, "chat", now, now + 86400000LL * 30, &sid)))
            return rc;
        struct auth_claims cl = {.sub = uid, .sid = sid, .aud = "chat",
                                 .exp = now / 1000 + lim(LIM_TOKEN_TTL_S)};
        if (auth_access_mint(&cl, access) < 0)
            return -NATTER_EINTERNAL;
        fprintf(j->out, "%s r_%lld\n", access, (long long)room);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: natter [--data-dir DIR] admin <command>\n"
            "  make-admin EMAIL                   make an existing user a server admin\n"
            "  bench-setup USERS GROUP_SIZE FILE  benchmark users and tokens (one per line);\n"
            "                                     tokens live for the token_ttl_s limit\n");
}

int admin_main(int argc, char **argv)
{
    struct admin_job j = {.argc = argc - 1, .argv = argv + 1};
    if (argc == 3 && !strcmp(argv[1], "make-admin")) {
        int rc = run_sync(&j, run_make_admin);
        if (!rc)
            printf("%s is now a server admin\n", argv[2]);
        return rc;
    }
    if (argc == 5 && !strcmp(argv[1], "bench-setup") && atol(argv[2]) > 0 && atol(argv[3]) > 0) {
        if (!(j.out = fopen(argv[4], "w"))) {
            perror(argv[4]);
            return 1;
        }
        int rc = run_sync(&j, run_bench_setup);
        if (fclose(j.out))
            rc = 1;
        return rc;
    }
    usage();
    return 2;
}
