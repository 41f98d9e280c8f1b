/* /proc readers for the run's resource figures. */
#ifndef NATTER_BENCH_SYS_H
#define NATTER_BENCH_SYS_H

#include <stdint.h>
#include <sys/types.h>

#define SYS_MAX_CORES 64

struct sys_cores {
    int n;
    uint64_t busy[SYS_MAX_CORES], softirq[SYS_MAX_CORES], total[SYS_MAX_CORES];
};

/* utime + stime of every thread of pid, in clock ticks; -1 if the process is gone. */
int64_t sys_proc_ticks(pid_t pid);
/* VmRSS and VmHWM of pid in kB; 0 on success. */
int sys_proc_mem(pid_t pid, uint64_t *rss_kb, uint64_t *hwm_kb);
/* This process's user + system CPU time in ns. */
int64_t sys_self_cpu_ns(void);
/* The per-core lines of /proc/stat. */
void sys_cores_read(struct sys_cores *c);
long sys_ticks_per_s(void);

/* CPU used by every other process and kernel thread on the machine (all but ex1 and ex2):
 * sys_others_begin() remembers each one's utime+stime+cutime+cstime; sys_others_end() returns
 * the ticks they have used since (new processes count in full; a process that exited is
 * counted in its parent's cutime once reaped). */
void sys_others_begin(pid_t ex1, pid_t ex2);
int64_t sys_others_end(void);

#endif
