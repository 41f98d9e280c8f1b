/* /proc readers: see sys.h. */
#include "sys.h"

#include <stdbool.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* utime+stime (+ cutime+cstime when children) of pid; -1 if it is gone. */
static int64_t proc_ticks(pid_t pid, bool children)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Fields after the ")" that ends comm: state(3) ... utime(14) stime(15). */
    char *p = strrchr(line, ')');
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    long long cut = 0, cst = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ut, &st,
               &cut, &cst) != 4)
        return -1;
    return (int64_t)(ut + st) + (children ? cut + cst : 0);
}

int64_t sys_proc_ticks(pid_t pid) { return proc_ticks(pid, false); }

struct pt {
    pid_t pid;
    int64_t ticks;
};
static struct pt *others;
static size_t n_others;
static pid_t ex_a, ex_b;

/* Calls fn for every process but the excluded ones. */
static void each_proc(void (*fn)(pid_t, int64_t, void *), void *arg)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (*end || v <= 0 || v == ex_a || v == ex_b)
            continue;
        int64_t t = proc_ticks((pid_t)v, true);
        if (t >= 0)
            fn((pid_t)v, t, arg);
    }
    closedir(d);
}

static void remember(pid_t pid, int64_t t, void *arg)
{
    size_t *cap = arg;
    if (n_others == *cap) {
        size_t nc = *cap ? *cap * 2 : 512;
        struct pt *q = realloc(others, nc * sizeof *q);
        if (!q)
            return;
        others = q;
        *cap = nc;
    }
    others[n_others++] = (struct pt){pid, t};
}

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = ((const struct pt *)a)->pid, y = ((const struct pt *)b)->pid;
    return (x > y) - (x < y);
}

void sys_others_begin(pid_t ex1, pid_t ex2)
{
    size_t cap = 0;
    free(others);
    others = NULL;
    n_others = 0;
    ex_a = ex1;
    ex_b = ex2;
    each_proc(remember, &cap);
    qsort(others, n_others, sizeof *others, cmp_pid);
}

static void add_delta(pid_t pid, int64_t t, void *arg)
{
    struct pt key = {pid, 0}, *was = bsearch(&key, others, n_others, sizeof *others, cmp_pid);
    int64_t d = t - (was ? was->ticks : 0);
    if (d > 0)
        *(int64_t *)arg += d;
}

int64_t sys_others_end(void)
{
    int64_t sum = 0;
    each_proc(add_delta, &sum);
    return sum;
}

int sys_proc_mem(pid_t pid, uint64_t *rss_kb, uint64_t *hwm_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    *rss_kb = *hwm_kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            *rss_kb = strtoull(line + 6, NULL, 10);
        else if (!strncmp(line, "VmHWM:", 6))
            *hwm_kb = strtoull(line + 6, NULL, 10);
    }
    fclose(f);
    return 0;
}

int64_t sys_self_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

void sys_cores_read(struct sys_cores *c)
{
    char line[512];
    FILE *f = fopen("/proc/stat", "r");
    c->n = 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f) && c->n < SYS_MAX_CORES) {
        unsigned long long v[8] = {0};
        int id;
        if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
            continue;
        if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &id, &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 8)
            continue;
        /* user nice system idle iowait irq softirq steal */
        uint64_t total = 0;
        for (int i = 0; i < 8; i++)
            total += v[i];
        c->total[c->n] = total;
        c->busy[c->n] = total - v[3] - v[4];
        c->softirq[c->n] = v[6];
        c->n++;
    }
    fclose(f);
}

long sys_ticks_per_s(void) { return sysconf(_SC_CLK_TCK); }
