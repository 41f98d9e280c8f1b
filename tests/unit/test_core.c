/* test_core: unit tests for server/core. The map against a plain reference array over a few
 * thousand random operations (dense keys, so deletions land in the middle of probe runs), the
 * token bucket and bucket table on a fake clock, sbuf growth and JSON string escaping, frame
 * reference counts, err's code table, cfg_parse over argv and NATTER_LIMITS, and loopq fed by
 * four threads at once. */
#include "core/bucket.h"
#include "core/cfg.h"
#include "core/err.h"
#include "core/frame.h"
#include "core/loopq.h"
#include "core/map.h"
#include "core/sbuf.h"
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A fixed-seed xorshift, so every run sees the same sequence. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- map ---- */

/* A value that is never a real pointer but is distinct per key and generation. */
static void *val_of(uint64_t key, unsigned gen) { return (void *)(uintptr_t)(key * 16 + gen + 1); }

#define REF_KEYS 300

/* Every key of the reference domain must read back exactly as the reference says. */
static int map_matches(const struct map *m, void *const ref[REF_KEYS + 1], size_t ref_len)
{
    if (m->len != ref_len)
        return 0;
    for (uint64_t k = 1; k <= REF_KEYS; k++)
        if (map_get(m, k) != ref[k])
            return 0;
    return map_get(m, REF_KEYS + 1) == NULL;
}

static void test_map_random(void)
{
    static void *ref[REF_KEYS + 1];
    struct map m;
    size_t ref_len = 0;
    int mismatches = 0, dels = 0, hits = 0;

    map_init(&m);
    CHECK(map_get(&m, 1) == NULL);
    CHECK(map_del(&m, 1) == NULL); /* on an empty, never-allocated map */
    for (unsigned step = 0; step < 5000; step++) {
        uint64_t k = rng() % REF_KEYS + 1;
        /* Bias towards inserts until the map is about half full, then balance. */
        int put = (rng() % 100) < (ref_len < REF_KEYS / 2 ? 70u : 50u);
        if (put) {
            if (!ref[k])
                ref_len++;
            ref[k] = val_of(k, step);
            CHECK_EQ_INT(map_put(&m, k, ref[k]), 0);
        } else {
            void *want = ref[k];
            if (want) {
                ref_len--;
                hits++;
            }
            ref[k] = NULL;
            if (map_del(&m, k) != want)
                mismatches++;
            dels++;
        }
        if (!map_matches(&m, ref, ref_len)) {
            mismatches++;
            break; /* one report is enough; later steps would all differ */
        }
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(hits > 500); /* the run really did delete live keys */
    CHECK(dels > 1000);
    map_cleanup(&m);
    CHECK(m.keys == NULL && m.cap == 0 && m.len == 0);
}

/* Growth from empty to 50k keys, then deleting every other one and re-reading the rest. */
static void test_map_growth(void)
{
    struct map m;
    const uint64_t n = 50000;
    int bad = 0;

    map_init(&m);
    for (uint64_t k = 1; k <= n; k++)
        CHECK_EQ_INT(map_put(&m, k * 0x10001, val_of(k, 0)), 0);
    CHECK_EQ_INT(m.len, n);
    CHECK(m.cap >= n && (m.cap & (m.cap - 1)) == 0);
    CHECK(m.len * 10 <= m.cap * 7); /* kept under 70% full */
    for (uint64_t k = 1; k <= n; k += 2)
        if (map_del(&m, k * 0x10001) != val_of(k, 0))
            bad++;
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(m.len, n / 2);
    for (uint64_t k = 1; k <= n; k++)
        if (map_get(&m, k * 0x10001) != (k % 2 ? NULL : val_of(k, 0)))
            bad++;
    CHECK_EQ_INT(bad, 0);
    /* Replacing keeps the count; extreme keys work. */
    CHECK_EQ_INT(map_put(&m, 2 * 0x10001, val_of(2, 7)), 0);
    CHECK_EQ_INT(m.len, n / 2);
    CHECK(map_get(&m, 2 * 0x10001) == val_of(2, 7));
    CHECK_EQ_INT(map_put(&m, UINT64_MAX, val_of(3, 3)), 0);
    CHECK(map_get(&m, UINT64_MAX) == val_of(3, 3));
    CHECK(map_del(&m, UINT64_MAX) == val_of(3, 3));
    CHECK(map_get(&m, UINT64_MAX) == NULL);
    map_cleanup(&m);
}

/* ---- bucket ---- */

static void test_bucket(void)
{
    struct bucket b = {0};
    int64_t t = 1000000, wait;

    /* A fresh bucket is full: burst takes succeed at the same instant, then one is refused. */
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(bucket_take(&b, 2.0, 5.0, t), 0);
    wait = bucket_take(&b, 2.0, 5.0, t);
    CHECK_EQ_INT(wait, 500); /* 2 per second: the next token is 500 ms away */
    /* Refused calls do not take: 499 ms later it is still 1 ms short (the float maths may
     * round the wait up by a millisecond, never down)... */
    wait = bucket_take(&b, 2.0, 5.0, t + 499);
    CHECK(wait == 1 || wait == 2);
    /* ...and at 500 ms there is exactly one token. */
    CHECK_EQ_INT(bucket_take(&b, 2.0, 5.0, t + 500), 0);
    CHECK(bucket_take(&b, 2.0, 5.0, t + 500) > 0);
    /* A long idle refills only up to burst. */
    t += 3600 * 1000;
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(bucket_take(&b, 2.0, 5.0, t), 0);
    CHECK(bucket_take(&b, 2.0, 5.0, t) > 0);

    /* Sub-token refill: 1 per second, 1000 ms for the next one, never less than 1 ms. */
    struct bucket c = {0};
    CHECK_EQ_INT(bucket_take(&c, 1.0, 1.0, t), 0);
    CHECK_EQ_INT(bucket_take(&c, 1.0, 1.0, t), 1000);
    wait = bucket_take(&c, 1.0, 1.0, t + 999);
    CHECK(wait == 1 || wait == 2);
    CHECK_EQ_INT(bucket_take(&c, 1.0, 1.0, t + 1000), 0);
    /* Waiting exactly the returned time is always enough (rounded up, not down), and polling
     * while refused neither speeds up nor slows down the refill. */
    struct bucket w = {0};
    CHECK_EQ_INT(bucket_take(&w, 3.0, 1.0, t), 0);
    wait = bucket_take(&w, 3.0, 1.0, t);
    CHECK_EQ_INT(wait, 334); /* 333.3 ms */
    CHECK(bucket_take(&w, 3.0, 1.0, t + 100) > 0);
    CHECK(bucket_take(&w, 3.0, 1.0, t + 300) > 0);
    CHECK_EQ_INT(bucket_take(&w, 3.0, 1.0, t + wait), 0);
    /* A rate of 0 never refills but still reports a wait >= 1. */
    struct bucket z = {0};
    CHECK_EQ_INT(bucket_take(&z, 0.0, 1.0, t), 0);
    CHECK(bucket_take(&z, 0.0, 1.0, t + 100000) >= 1);

    /* Steady state: at 10/s with burst 1, one take every 100 ms always succeeds. */
    struct bucket s = {0};
    int refused = 0;
    for (int i = 0; i < 100; i++)
        refused += bucket_take(&s, 10.0, 1.0, t + 100 * i) != 0;
    CHECK_EQ_INT(refused, 0);
}

static void test_bucket_table(void)
{
    struct bucket_table *tab = calloc(1, sizeof *tab);
    char key[32];
    int64_t t = 5000000;
    int refused = 0, allowed = 0;

    CHECK(tab != NULL);
    if (!tab)
        return;
    /* One key: burst 3, then refused; another key is unaffected. */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(bucket_table_take(tab, "10.0.0.1", 1.0, 3.0, t), 0);
    CHECK_EQ_INT(bucket_table_take(tab, "10.0.0.1", 1.0, 3.0, t), 1000);
    CHECK_EQ_INT(bucket_table_take(tab, "10.0.0.2", 1.0, 3.0, t), 0);

    /* 3000 more keys at the same instant: a throttled key is never reset by a key that lands
     * in its slot, so 10.0.0.1 stays refused whatever else came through. */
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "user%d@example.org", i);
        allowed += bucket_table_take(tab, key, 1.0, 3.0, t) == 0;
    }
    CHECK(allowed >= 2900); /* most keys have a slot of their own, so a full bucket */
    CHECK(bucket_table_take(tab, "10.0.0.1", 1.0, 3.0, t) > 0);

    /* Exhaust 3000 keys; each is then refused at the same instant. */
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        for (int j = 0; j < 3; j++)
            bucket_table_take(tab, key, 1.0, 3.0, t + 10);
        refused += bucket_table_take(tab, key, 1.0, 3.0, t + 10) > 0;
    }
    CHECK_EQ_INT(refused, 3000);
    /* Each key, an hour after anything else touched the table, has a full bucket again. */
    allowed = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        t += 3600 * 1000;
        for (int j = 0; j < 3; j++)
            allowed += bucket_table_take(tab, key, 1.0, 3.0, t) == 0;
    }
    CHECK_EQ_INT(allowed, 3 * 3000);
    free(tab);
}

/* ---- sbuf ---- */

static void test_sbuf(void)
{
    struct sbuf b;

    sbuf_init(&b);
    CHECK_STREQ(sbuf_str(&b), "");
    sbuf_adds(&b, "abc");
    sbuf_add(&b, "defXYZ", 3);
    CHECK_STREQ(sbuf_str(&b), "abcdef");
    CHECK_EQ_INT(b.len, 6);
    sbuf_printf(&b, "-%d-%s-%lld", 42, "x", (long long)-7);
    CHECK_STREQ(sbuf_str(&b), "abcdef-42-x--7");
    sbuf_reset(&b);
    sbuf_add_i64(&b, 0), sbuf_adds(&b, ","), sbuf_add_i64(&b, -5), sbuf_adds(&b, ",");
    sbuf_add_i64(&b, INT64_MAX), sbuf_adds(&b, ","), sbuf_add_i64(&b, INT64_MIN);
    CHECK_STREQ(sbuf_str(&b), "0,-5,9223372036854775807,-9223372036854775808");
    /* Growth well past the first allocation, through both add and printf. */
    sbuf_reset(&b);
    CHECK_STREQ(sbuf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        sbuf_printf(&b, "%04d,", i);
    CHECK_EQ_INT(b.len, 5000);
    CHECK(memcmp(b.p, "0000,0001,", 10) == 0 && memcmp(b.p + 4995, "0999,", 5) == 0);
    CHECK_EQ_INT(strlen(sbuf_str(&b)), 5000);
    CHECK(!sbuf_failed(&b));

    /* JSON strings: quotes, backslashes, the short escapes and \u00XX for other controls. */
    sbuf_reset(&b);
    const char raw[] = "say \"hi\" \\ path\nnext\ttab\rcr\x01\x1f end";
    sbuf_add_json_str(&b, raw, sizeof raw - 1);
    CHECK_STREQ(sbuf_str(&b),
                "\"say \\\"hi\\\" \\\\ path\\nnext\\ttab\\rcr\\u0001\\u001f end\"");
    /* An embedded NUL is escaped, not a terminator; UTF-8 and DEL pass through. */
    sbuf_reset(&b);
    sbuf_add_json_str(&b, "a\0b", 3);
    sbuf_add_json_str(&b, "\xc3\xa9\x7f", 3);
    sbuf_add_json_str(&b, "", 0);
    CHECK_STREQ(sbuf_str(&b), "\"a\\u0000b\"\"\xc3\xa9\x7f\"\"\"");
    /* A long string with an escape every few bytes crosses growth boundaries intact. */
    sbuf_reset(&b);
    char big[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = i % 3 == 0 ? '"' : 'a';
    sbuf_add_json_str(&b, big, sizeof big);
    CHECK_EQ_INT(b.len, 2 + 3000 + 1000);
    CHECK(b.p[0] == '"' && b.p[1] == '\\' && b.p[2] == '"' && b.p[b.len - 1] == '"');
    CHECK(b.p[b.len] == '\0');
    sbuf_cleanup(&b);
    CHECK(b.p == NULL && b.len == 0);
}

/* ---- frame ---- */

static void test_frame(void)
{
    struct frame *f = frame_new("hello", 5, FRAME_EPHEMERAL), *g;

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ_INT(f->refs, 1);
    CHECK_EQ_INT(f->len, 5);
    CHECK_EQ_INT(f->flags, FRAME_EPHEMERAL);
    CHECK_EQ_INT(f->seq, 0);
    CHECK_STREQ((const char *)frame_payload(f), "hello"); /* NUL-terminated copy */
    CHECK(frame_payload(f) == f->buf + FRAME_PRE);
    g = frame_ref(f);
    CHECK(g == f);
    CHECK_EQ_INT(f->refs, 2);
    frame_unref(&f);
    CHECK(f == NULL);
    CHECK_EQ_INT(g->refs, 1);
    CHECK_STREQ((const char *)frame_payload(g), "hello"); /* still alive (ASan would tell) */
    frame_unref(&g);  /* frees: a leak here shows up in LeakSanitizer */
    CHECK(g == NULL);
    frame_unref(&g);  /* NULL is fine */
    struct frame *e = frame_new("", 0, 0);
    CHECK(e && e->len == 0 && frame_payload(e)[0] == '\0');
    frame_unref(&e);
}

/* ---- err ---- */

static void test_err(void)
{
    static const struct {
        int code;
        const char *name;
        int status, temporary;
    } tab[] = {
        {NATTER_EBADREQ, "bad_request", 400, 0},  {NATTER_EUNAUTH, "unauthorized", 401, 0},
        {NATTER_EFORBID, "forbidden", 403, 0},    {NATTER_ENOTFOUND, "not_found", 404, 0},
        {NATTER_ECONFLICT, "conflict", 409, 0},   {NATTER_ETOOLARGE, "too_large", 413, 0},
        {NATTER_ERATE, "rate_limited", 429, 1},   {NATTER_EINTERNAL, "internal", 500, 1},
        {NATTER_EUNAVAIL, "unavailable", 503, 1}, {NATTER_ENOMEM, "internal", 500, 1},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        /* Functions return -NATTER_E*; both signs must map the same way. */
        for (int sign = -1; sign <= 1; sign += 2) {
            int e = sign * tab[i].code;
            CHECK_STREQ(err_code(e), tab[i].name);
            CHECK_EQ_INT(err_http_status(e), tab[i].status);
            CHECK_EQ_INT(err_is_temporary(e) != 0, tab[i].temporary);
        }
    }
}

/* ---- cfg ---- */

static int parse(char **argv, char *err)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    err[0] = '\0';
    return cfg_parse(argc, argv, err);
}

static void test_cfg_defaults(void)
{
    char err[NATTER_ERR_LEN];

    CHECK_EQ_INT(parse((char *[]){"natter", NULL}, err), 0);
    CHECK_STREQ(cfg.listen_host, "127.0.0.1");
    CHECK_EQ_INT(cfg.listen_port, 8080);
    CHECK_STREQ(cfg.data_dir, "./data");
    CHECK_STREQ(cfg.public_url, "http://localhost:8080");
    CHECK_EQ_INT(cfg.pw_cost, 0);
    for (int i = 0; i < LIM__COUNT; i++)
        CHECK_EQ_INT(cfg.limits[i], cfg_limit_default(i));
    CHECK_EQ_INT(lim(LIM_MAX_BODY), 4000);
    CHECK_EQ_INT(lim(LIM_SEND_BURST), 50);
    CHECK_EQ_INT(lim(LIM_MAX_NAME), 64);
    CHECK_STREQ(cfg_limit_name(LIM_MAX_FRAME), "max_frame");
    CHECK_STREQ(cfg_limit_name(LIM_WRITE_QUEUE), "write_queue");
    /* "serve" is the default command, spelled out. */
    CHECK_EQ_INT(parse((char *[]){"natter", "serve", NULL}, err), 0);
}

static void test_cfg_listen(void)
{
    char err[NATTER_ERR_LEN];
    static const char *const bad[] = {"8080", ":8080", "localhost", "host:http", "host:70000",
                                      "host:-1", "host:80x", "host:", NULL};

    CHECK_EQ_INT(parse((char *[]){"natter", "--listen", "0.0.0.0:9001", NULL}, err), 0);
    CHECK_STREQ(cfg.listen_host, "0.0.0.0");
    CHECK_EQ_INT(cfg.listen_port, 9001);
    CHECK_STREQ(cfg.public_url, "http://localhost:9001");
    CHECK_EQ_INT(parse((char *[]){"natter", "--listen=[::1]:7000", NULL}, err), 0);
    CHECK_STREQ(cfg.listen_host, "[::1]");
    CHECK_EQ_INT(cfg.listen_port, 7000);
    for (int i = 0; bad[i]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--listen=%s", bad[i]);
        int rc = parse((char *[]){"natter", arg, NULL}, err);
        if (rc != -1)
            fprintf(stderr, "--listen '%s' was accepted (port %d)\n", bad[i], cfg.listen_port);
        CHECK_EQ_INT(rc, -1);
        CHECK(strstr(err, "--listen") != NULL);
    }
}

static void test_cfg_limits(void)
{
    char err[NATTER_ERR_LEN];

    CHECK_EQ_INT(parse((char *[]){"natter", "--limit", "max_body=10", "--limit",
                                  "send_per_s=1000,send_burst=2000", NULL}, err), 0);
    CHECK_EQ_INT(lim(LIM_MAX_BODY), 10);
    CHECK_EQ_INT(lim(LIM_SEND_PER_S), 1000);
    CHECK_EQ_INT(lim(LIM_SEND_BURST), 2000);
    CHECK_EQ_INT(lim(LIM_MAX_FRAME), 65536); /* the others keep their defaults */
    /* Each run starts again from the defaults. */
    CHECK_EQ_INT(parse((char *[]){"natter", NULL}, err), 0);
    CHECK_EQ_INT(lim(LIM_MAX_BODY), 4000);

    CHECK_EQ_INT(parse((char *[]){"natter", "--limit", "no_such_limit=1", NULL}, err), -1);
    CHECK(strstr(err, "unknown limit 'no_such_limit'") != NULL);
    CHECK_EQ_INT(parse((char *[]){"natter", "--limit", "max_body", NULL}, err), -1);
    CHECK(strstr(err, "NAME=VALUE") != NULL);
    static const char *const bad_values[] = {"max_body=", "max_body=abc", "max_body=-1",
                                             "max_body=1.5", "max_body=99999999999999999999",
                                             NULL};
    for (int i = 0; bad_values[i]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "%s", bad_values[i]);
        CHECK_EQ_INT(parse((char *[]){"natter", "--limit", arg, NULL}, err), -1);
        CHECK(strstr(err, "whole number") != NULL);
    }
    CHECK_EQ_INT(parse((char *[]){"natter", "--limit", NULL}, err), -1); /* missing value */
    CHECK_EQ_INT(parse((char *[]){"natter", "--no-such-flag", NULL}, err), -1);
    CHECK_EQ_INT(parse((char *[]){"natter", "bogus", NULL}, err), -1);
    CHECK(strstr(err, "unknown command 'bogus'") != NULL);

    /* cfg_set_limits directly. */
    CHECK_EQ_INT(cfg_set_limits("max_name=5,max_cid=6", err), 0);
    CHECK_EQ_INT(lim(LIM_MAX_NAME), 5);
    CHECK_EQ_INT(lim(LIM_MAX_CID), 6);
    CHECK_EQ_INT(cfg_set_limits("max_name=7,nope=1", err), -1);

    /* The environment, and flags winning over it. */
    CHECK_EQ_INT(setenv("NATTER_LIMITS", "max_body=7,resume_cap=3", 1), 0);
    CHECK_EQ_INT(parse((char *[]){"natter", NULL}, err), 0);
    CHECK_EQ_INT(lim(LIM_MAX_BODY), 7);
    CHECK_EQ_INT(lim(LIM_RESUME_CAP), 3);
    CHECK_EQ_INT(parse((char *[]){"natter", "--limit", "max_body=9", NULL}, err), 0);
    CHECK_EQ_INT(lim(LIM_MAX_BODY), 9);
    CHECK_EQ_INT(lim(LIM_RESUME_CAP), 3);
    CHECK_EQ_INT(setenv("NATTER_LIMITS", "max_bodyy=7", 1), 0);
    CHECK_EQ_INT(parse((char *[]){"natter", NULL}, err), -1);
    CHECK(strstr(err, "unknown limit") != NULL);
    CHECK_EQ_INT(unsetenv("NATTER_LIMITS"), 0);
    CHECK_EQ_INT(setenv("NATTER_LISTEN", "127.0.0.2:7777", 1), 0);
    CHECK_EQ_INT(parse((char *[]){"natter", NULL}, err), 0);
    CHECK_STREQ(cfg.listen_host, "127.0.0.2");
    CHECK_EQ_INT(cfg.listen_port, 7777);
    CHECK_EQ_INT(unsetenv("NATTER_LISTEN"), 0);
}

static void test_cfg_other(void)
{
    char err[NATTER_ERR_LEN];

    CHECK_EQ_INT(parse((char *[]){"natter", "--password-cost", "min", NULL}, err), 0);
    CHECK_EQ_INT(cfg.pw_cost, 2);
    CHECK_EQ_INT(parse((char *[]){"natter", "--password-cost=moderate", NULL}, err), 0);
    CHECK_EQ_INT(cfg.pw_cost, 1);
    CHECK_EQ_INT(parse((char *[]){"natter", "--password-cost", "interactive", NULL}, err), 0);
    CHECK_EQ_INT(cfg.pw_cost, 0);
    CHECK_EQ_INT(parse((char *[]){"natter", "--password-cost", "cheap", NULL}, err), -1);
    CHECK(strstr(err, "--password-cost") != NULL);

    CHECK_EQ_INT(parse((char *[]){"natter", "--data-dir", "/tmp/x", "--public-url",
                                  "https://chat.example", NULL}, err), 0);
    CHECK_STREQ(cfg.data_dir, "/tmp/x");
    CHECK_STREQ(cfg.public_url, "https://chat.example");
    CHECK_EQ_INT(parse((char *[]){"natter", "--tls-cert", "c.pem", NULL}, err), -1);
    CHECK(strstr(err, "go together") != NULL);
    CHECK_EQ_INT(parse((char *[]){"natter", "--tls-cert", "c.pem", "--tls-key", "k.pem", NULL},
                       err), 0);
    CHECK_STREQ(cfg.public_url, "https://localhost:8080");
    /* An over-long value is refused rather than truncated. */
    char longdir[600];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    CHECK_EQ_INT(parse((char *[]){"natter", "--data-dir", longdir, NULL}, err), -1);
    CHECK(strstr(err, "too long") != NULL);
    CHECK_EQ_INT(parse((char *[]){"natter", "--version", NULL}, err), 1);
}

/* ---- loopq ---- */

#define LQ_THREADS 4
#define LQ_ITEMS 1000

struct lq_item {
    struct loopq_item it;
    int thread, index;
};

static struct lq_item lq_items[LQ_THREADS][LQ_ITEMS];
static int lq_next[LQ_THREADS]; /* the index each thread's next callback should carry */
static int lq_ran, lq_out_of_order;
static int lq_wakes;

static void lq_noop(void *arg)
{
    (void)arg;
}
static pthread_mutex_t lq_wake_mu = PTHREAD_MUTEX_INITIALIZER;

static void lq_run(void *arg)
{
    struct lq_item *x = arg;
    if (x->index != lq_next[x->thread])
        lq_out_of_order++;
    lq_next[x->thread] = x->index + 1;
    lq_ran++;
}

static void lq_wake(void *ctx)
{
    pthread_mutex_lock(&lq_wake_mu);
    (*(int *)ctx)++;
    pthread_mutex_unlock(&lq_wake_mu);
}

static void *lq_poster(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < LQ_ITEMS; i++) {
        struct lq_item *x = &lq_items[t][i];
        x->thread = t;
        x->index = i;
        x->it.fn = lq_run;
        x->it.arg = x;
        loopq_post(&x->it);
    }
    return NULL;
}

static struct loopq_item lq_second;
static int lq_chain_ran;

static void lq_chain2(void *arg)
{
    (void)arg;
    lq_chain_ran++;
}

static void lq_chain1(void *arg)
{
    (void)arg;
    lq_chain_ran++;
    lq_second.fn = lq_chain2;
    loopq_post(&lq_second); /* posted from inside a callback: the same drain runs it */
}

static void test_loopq(void)
{
    pthread_t th[LQ_THREADS];
    int drained = 0;

    CHECK_EQ_INT(loopq_drain(), 0);
    loopq_set_wake(lq_wake, &lq_wakes);
    for (int t = 0; t < LQ_THREADS; t++)
        CHECK_EQ_INT(pthread_create(&th[t], NULL, lq_poster, (void *)(intptr_t)t), 0);
    /* Drain while the posters run, as the loop would. */
    while (lq_ran < LQ_THREADS * LQ_ITEMS) {
        int n = loopq_drain();
        drained += n;
        if (!n) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    for (int t = 0; t < LQ_THREADS; t++)
        pthread_join(th[t], NULL);
    drained += loopq_drain();
    CHECK_EQ_INT(drained, LQ_THREADS * LQ_ITEMS);
    CHECK_EQ_INT(lq_ran, LQ_THREADS * LQ_ITEMS);
    CHECK_EQ_INT(lq_out_of_order, 0);
    for (int t = 0; t < LQ_THREADS; t++)
        CHECK_EQ_INT(lq_next[t], LQ_ITEMS);
    /* A wake only when the queue goes from empty to non-empty: at least one, never more than posts. */
    int wakes = lq_wakes;
    CHECK(wakes >= 1 && wakes <= LQ_THREADS * LQ_ITEMS);
    struct loopq_item w1 = {lq_noop, NULL, NULL}, w2 = {lq_noop, NULL, NULL};
    loopq_post(&w1); /* empty -> non-empty: wakes */
    CHECK_EQ_INT(lq_wakes, wakes + 1);
    loopq_post(&w2); /* already pending: the loop will drain it too */
    CHECK_EQ_INT(lq_wakes, wakes + 1);
    CHECK_EQ_INT(loopq_drain(), 2);
    wakes = lq_wakes;
    loopq_set_wake(NULL, NULL);

    struct loopq_item first = {lq_chain1, NULL, NULL};
    loopq_post(&first);
    CHECK_EQ_INT(loopq_drain(), 2);
    CHECK_EQ_INT(lq_chain_ran, 2);
    CHECK_EQ_INT(loopq_drain(), 0);
    CHECK_EQ_INT(lq_wakes, wakes); /* the hook was removed */
}

int main(void)
{
    test_map_random();
    test_map_growth();
    test_bucket();
    test_bucket_table();
    test_sbuf();
    test_frame();
    test_err();
    test_cfg_defaults();
    test_cfg_listen();
    test_cfg_limits();
    test_cfg_other();
    test_loopq();
    CHECK_MAIN_END();
}
