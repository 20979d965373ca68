/* Timing helpers shared by the raw C baselines: each prints op=<name> n=<count> ns_per_op=<float>. */
#ifndef TSBPF_BENCH_H
#define TSBPF_BENCH_H

#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline long sys_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
	return syscall(__NR_bpf, cmd, attr, size);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void report(const char *op, long n, uint64_t ns)
{
	printf("op=%s n=%ld ns_per_op=%.1f\n", op, n, (double)ns / (double)n);
	fflush(stdout);
}

static inline void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Loads `cnt` instructions as a program of `type`; returns the fd. */
static inline int load_prog(enum bpf_prog_type type, const struct bpf_insn *insns, unsigned int cnt)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = cnt;
	a.license = (uintptr_t) "MIT";
	return (int)sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

/* qsort order of uint64_t samples. */
static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The iteration count: argv[1], or a default. */
static inline long iterations(int argc, char **argv, long dflt)
{
	return argc > 1 ? atol(argv[1]) : dflt;
}

#endif
