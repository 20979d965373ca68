/*
 * The scripted kernel's own test: it must catch what the fuzz targets rely on it to catch.
 * Each case sends host_bpf() a request a correct core never builds, in a child process, and
 * expects the stub to trap (SIGILL from __builtin_trap); the well-formed requests must be
 * answered. Prints one line per case and exits non-zero if any case went the other way.
 * Built natively beside the fuzz targets; `make test` runs it.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "host_stub.h"
#include "tsbpf/abi.h"

#define OFFSETOFEND(T, F) (offsetof(T, F) + sizeof(((T *)0)->F))

struct req {
	union bpf_attr attr;
	uint8_t tail[TSBPF_ATTR_MAX - sizeof(union bpf_attr)];
	struct tsbpf_fixup fixups[TSBPF_MAX_FIXUPS];
	uint32_t n;
};

static uint8_t buf_a[256] __attribute__((aligned(8)));
static uint8_t buf_b[256] __attribute__((aligned(8)));
static const char gpl[] = "GPL";

/* Points attr field `off` at p with a fix-up, as tsbpf_request_ptr does. */
static void ptr(struct req *r, size_t off, const void *p, uint32_t len, uint32_t dir)
{
	uint64_t a = (uint64_t)(uintptr_t)p;

	memcpy((uint8_t *)&r->attr + off, &a, 8);
	r->fixups[r->n++] = (struct tsbpf_fixup){ (uint32_t)off, (uint32_t)(uintptr_t)p, len, dir };
}

static void prog_load(struct req *r, uint32_t insn_cnt, uint32_t insns_len)
{
	memset(r, 0, sizeof(*r));
	r->attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	r->attr.insn_cnt = insn_cnt;
	ptr(r, offsetof(union bpf_attr, insns), buf_a, insns_len, TSBPF_FIXUP_IN);
	ptr(r, offsetof(union bpf_attr, license), gpl, sizeof(gpl), TSBPF_FIXUP_IN);
}

struct tcase {
	const char *name;
	int traps;
	uint32_t cmd;
	uint32_t size;
	void (*build)(struct req *r);
};

static void ok_load(struct req *r)
{
	prog_load(r, 2, 16);
}
static void short_insns(struct req *r)
{
	prog_load(r, 3, 16); /* the kernel reads 24 bytes */
}
static void log_without_fixup(struct req *r)
{
	prog_load(r, 2, 16);
	r->attr.log_level = 1;
	r->attr.log_size = 64;
	r->attr.log_buf = (uint64_t)(uintptr_t)buf_b; /* a raw pointer the host would not translate */
}
static void short_log(struct req *r)
{
	prog_load(r, 2, 16);
	r->attr.log_level = 1;
	r->attr.log_size = 200;
	ptr(r, offsetof(union bpf_attr, log_buf), buf_b, 100, TSBPF_FIXUP_OUT);
}
static void license_without_nul(struct req *r)
{
	prog_load(r, 2, 16);
	r->fixups[1].len = 3; /* "GPL" without its NUL */
}
static void fixup_on_scalar(struct req *r)
{
	prog_load(r, 2, 16);
	r->fixups[0].attr_off = 0; /* prog_type and insn_cnt are no pointer */
}
static void overlapping_outputs(struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->attr.test.data_size_in = 16;
	r->attr.test.data_size_out = 64;
	ptr(r, offsetof(union bpf_attr, test.data_in), buf_a, 16, TSBPF_FIXUP_IN);
	ptr(r, offsetof(union bpf_attr, test.data_out), buf_a + 8, 64, TSBPF_FIXUP_OUT);
}
static void ok_info(struct req *r)
{
	struct bpf_prog_info *info = (struct bpf_prog_info *)buf_a;
	int32_t parent;
	uint64_t ids = (uint64_t)(uintptr_t)buf_b;

	memset(r, 0, sizeof(*r));
	memset(buf_a, 0, sizeof(buf_a));
	r->attr.info.info_len = sizeof(*info);
	ptr(r, offsetof(union bpf_attr, info.info), info, sizeof(*info), TSBPF_FIXUP_INOUT);
	parent = 0;
	info->nr_map_ids = 4;
	memcpy(&info->map_ids, &ids, 8);
	r->fixups[r->n++] = (struct tsbpf_fixup){ offsetof(struct bpf_prog_info, map_ids), (uint32_t)ids, 16,
						  TSBPF_FIXUP_OUT | TSBPF_FIXUP_NESTED | (uint32_t)parent << 8 };
}
static void short_map_ids(struct req *r)
{
	ok_info(r);
	((struct bpf_prog_info *)buf_a)->nr_map_ids = 5; /* 20 bytes into a 16-byte buffer */
}
static void nested_bad_parent(struct req *r)
{
	ok_info(r);
	r->fixups[1].dir = TSBPF_FIXUP_OUT | TSBPF_FIXUP_NESTED | 1u << 8; /* nests in itself */
}
static void big_info_len(struct req *r)
{
	ok_info(r);
	r->attr.info.info_len = sizeof(struct bpf_prog_info) + 8;
}
static void batch_keys_short(struct req *r)
{
	memset(r, 0, sizeof(*r));
	stub_map(7, 4, 8);
	r->attr.batch.map_fd = 7;
	r->attr.batch.count = 5;
	ptr(r, offsetof(union bpf_attr, batch.keys), buf_a, 16, TSBPF_FIXUP_OUT); /* 5 keys need 20 */
	ptr(r, offsetof(union bpf_attr, batch.values), buf_b, 40, TSBPF_FIXUP_OUT);
}
static void ok_batch(struct req *r)
{
	batch_keys_short(r);
	r->attr.batch.count = 4;
}
static void value_short(struct req *r)
{
	memset(r, 0, sizeof(*r));
	stub_map(9, 4, 16); /* per-CPU: two 8-byte slots */
	r->attr.map_fd = 9;
	ptr(r, offsetof(union bpf_attr, key), buf_a, 4, TSBPF_FIXUP_IN);
	ptr(r, offsetof(union bpf_attr, value), buf_b, 12, TSBPF_FIXUP_OUT);
}

static const struct tcase cases[] = {
	{ "a well-formed program load is answered", 0, BPF_PROG_LOAD, OFFSETOFEND(union bpf_attr, fd_array), ok_load },
	{ "insn_cnt beyond the instructions' fix-up", 1, BPF_PROG_LOAD, OFFSETOFEND(union bpf_attr, fd_array), short_insns },
	{ "a pointer field without a fix-up", 1, BPF_PROG_LOAD, OFFSETOFEND(union bpf_attr, fd_array), log_without_fixup },
	{ "log_size beyond the log's fix-up", 1, BPF_PROG_LOAD, OFFSETOFEND(union bpf_attr, fd_array), short_log },
	{ "a string without its NUL", 1, BPF_PROG_LOAD, OFFSETOFEND(union bpf_attr, fd_array), license_without_nul },
	{ "a fix-up on a field that is no pointer", 1, BPF_PROG_LOAD, OFFSETOFEND(union bpf_attr, fd_array), fixup_on_scalar },
	{ "an output overlapping an input", 1, BPF_PROG_TEST_RUN, OFFSETOFEND(union bpf_attr, test), overlapping_outputs },
	{ "a program info with a nested map id array is answered", 0, BPF_OBJ_GET_INFO_BY_FD, OFFSETOFEND(union bpf_attr, info), ok_info },
	{ "nr_map_ids beyond the nested fix-up", 1, BPF_OBJ_GET_INFO_BY_FD, OFFSETOFEND(union bpf_attr, info), short_map_ids },
	{ "a nested fix-up whose parent does not come before it", 1, BPF_OBJ_GET_INFO_BY_FD, OFFSETOFEND(union bpf_attr, info), nested_bad_parent },
	{ "info_len beyond the info's fix-up", 1, BPF_OBJ_GET_INFO_BY_FD, OFFSETOFEND(union bpf_attr, info), big_info_len },
	{ "a batch of a declared map is answered", 0, BPF_MAP_LOOKUP_BATCH, OFFSETOFEND(union bpf_attr, batch), ok_batch },
	{ "count x key_size beyond the keys' fix-up", 1, BPF_MAP_LOOKUP_BATCH, OFFSETOFEND(union bpf_attr, batch), batch_keys_short },
	{ "a value shorter than the declared map's", 1, BPF_MAP_LOOKUP_ELEM, OFFSETOFEND(union bpf_attr, flags), value_short },
};

int main(void)
{
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		pid_t pid;
		int status = 0, trapped;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			struct req r;
			static const uint8_t script[1];

			stub_reset(script, 0);
			c->build(&r);
			/* stderr closed: the expected complaints would only clutter the output. */
			if (c->traps && !freopen("/dev/null", "w", stderr))
				_exit(2);
			host_bpf(c->cmd, &r.attr, c->size, r.n ? r.fixups : NULL, r.n);
			_exit(0);
		}
		waitpid(pid, &status, 0);
		trapped = WIFSIGNALED(status) && (WTERMSIG(status) == SIGILL || WTERMSIG(status) == SIGTRAP);
		if (trapped != c->traps || (!trapped && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))) {
			bad++;
			printf("not ok %zu - %s (%s)\n", i + 1, c->name, trapped ? "trapped" : "answered");
		} else {
			printf("ok %zu - %s\n", i + 1, c->name);
		}
	}
	printf("1..%zu\n", sizeof(cases) / sizeof(cases[0]));
	return bad ? 1 : 0;
}
