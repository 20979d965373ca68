/*
 * Feature probes (see tsbpf/probe.h). Each table entry names the feature, the first kernel
 * that has it, what to send and how to read the answer. Probes leave their fds in the
 * result for the host to close: the core cannot close an fd itself.
 *
 * The requests are built here directly rather than through the public wrappers, because a
 * probe needs exact control of every attr field and must not retry or log.
 */
#include "internal.h"
#include "tsbpf/btf_load.h"
#include "tsbpf/probe.h"
#include "tsbpf/prog.h"

#define KV(a, b) (((a) << 16) + ((b) << 8))

/* Opcodes of the few instructions probes need (struct bpf_insn, little endian). */
#define INSN(code, dst, src, off, imm) { (code), (dst), (src), (off), (imm) }
#define MOV64_IMM(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

struct probe_insn {
	uint8_t code, dst, src;
	int16_t off;
	int32_t imm;
};

static void encode(const struct probe_insn *in, size_t n, struct bpf_insn *out)
{
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].code = in[i].code;
		out[i].dst_reg = in[i].dst;
		out[i].src_reg = in[i].src;
		out[i].off = in[i].off;
		out[i].imm = in[i].imm;
	}
}

/* ---- results ---------------------------------------------------------------------------- */

static void keep_fd(struct tsbpf_probe_result *out, int32_t fd)
{
	if (fd >= 0 && out->n_fds < TSBPF_PROBE_MAX_FDS)
		out->fds[out->n_fds++] = fd;
}

/* Errors that say nothing about the kernel's abilities, only about ours. (EACCES from a
 * load is the verifier speaking: each probe reads it for itself.) */
static bool inconclusive(int32_t err)
{
	return err == -EPERM || err == -ENOMEM || err == -EMFILE || err <= -TSBPF_ERR_BASE;
}

static void set_verdict(struct tsbpf_probe_result *out, uint32_t verdict, int32_t err)
{
	out->verdict = verdict;
	out->err = err < 0 ? -err : 0;
}

/* The common reading: success is yes, a permission problem says nothing, anything else no. */
static void decide(struct tsbpf_probe_result *out, int32_t err)
{
	if (err >= 0)
		set_verdict(out, TSBPF_VERDICT_YES, 0);
	else if (inconclusive(err))
		set_verdict(out, TSBPF_VERDICT_UNKNOWN, err);
	else
		set_verdict(out, TSBPF_VERDICT_NO, err);
}

/* ---- requests ----------------------------------------------------------------------------- */

struct prog_req {
	uint32_t type, expected_attach_type, flags, attach_btf_id, kern_version;
	const char *name;
	const struct bpf_insn *insns;
	uint32_t insn_cnt;
	char *log;         /* optional: log level 1 into this buffer */
	uint32_t log_size;
	uint32_t *log_true_size;
};

/* Log of the last probe load, for probes that read the verifier's words. */
static char probe_log[4096];

static int32_t load(const struct prog_req *p)
{
	/* Includes log_true_size (6.4+), right after core_relo_rec_size. */
	size_t true_size_off = offsetofend(union bpf_attr, core_relo_rec_size);
	struct tsbpf_request req;
	union bpf_attr *a = &req.attr;
	int32_t ret;

	tsbpf_request_init(&req, true_size_off + sizeof(uint32_t));
	a->prog_type = p->type;
	a->expected_attach_type = p->expected_attach_type;
	a->prog_flags = p->flags;
	a->attach_btf_id = p->attach_btf_id;
	a->kern_version = p->kern_version;
	a->insn_cnt = p->insn_cnt;
	if (p->name)
		memcpy(a->prog_name, p->name, strlen(p->name) + 1);
	REQ_PTR(&req, insns, p->insns, p->insn_cnt * (uint32_t)sizeof(struct bpf_insn), TSBPF_FIXUP_IN);
	REQ_PTR(&req, license, "GPL", 4, TSBPF_FIXUP_IN);
	if (p->log) {
		p->log[0] = '\0';
		a->log_level = 1;
		a->log_size = p->log_size;
		REQ_PTR(&req, log_buf, p->log, p->log_size, TSBPF_FIXUP_OUT);
	}
	ret = tsbpf_request_send(&req, BPF_PROG_LOAD);
	if (p->log)
		p->log[p->log_size - 1] = '\0';
	if (p->log_true_size)
		memcpy(p->log_true_size, (uint8_t *)a + true_size_off, sizeof(uint32_t));
	return ret;
}

struct map_req {
	uint32_t type, key_size, value_size, max_entries, flags;
	uint32_t inner_fd, btf_fd, btf_key_type_id, btf_value_type_id, vmlinux_value_type_id;
	const char *name;
};

static int32_t create_map(const struct map_req *m)
{
	struct tsbpf_request req;
	union bpf_attr *a = &req.attr;

	REQ_INIT(&req, btf_vmlinux_value_type_id);
	a->map_type = m->type;
	a->key_size = m->key_size;
	a->value_size = m->value_size;
	a->max_entries = m->max_entries;
	a->map_flags = m->flags;
	a->inner_map_fd = m->inner_fd;
	a->btf_fd = m->btf_fd;
	a->btf_key_type_id = m->btf_key_type_id;
	a->btf_value_type_id = m->btf_value_type_id;
	a->btf_vmlinux_value_type_id = m->vmlinux_value_type_id;
	if (m->name)
		memcpy(a->map_name, m->name, strlen(m->name) + 1);
	return tsbpf_request_send(&req, BPF_MAP_CREATE);
}

static int32_t array_map(struct tsbpf_probe_result *out, uint32_t value_size, uint32_t flags)
{
	struct map_req m = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = value_size, .max_entries = 1,
			     .flags = flags };
	int32_t fd = create_map(&m);

	keep_fd(out, fd);
	return fd;
}

/*
 * Minimal BTF blobs: [1] int, and with `func` also [2] FUNC_PROTO int(void) and [3] FUNC
 * "f". Built at run time so the layout comes from <linux/btf.h>.
 */
#include <linux/btf.h>

static int32_t load_btf(struct tsbpf_probe_result *out, bool func)
{
	static const char strs[] = "\0int\0f";
	uint8_t blob[sizeof(struct btf_header) + 3 * sizeof(struct btf_type) + sizeof(uint32_t) + sizeof(strs)];
	struct btf_header *h = (struct btf_header *)blob;
	uint8_t *t = blob + sizeof(*h);
	struct btf_type bt;
	uint32_t enc = (BTF_INT_SIGNED << 24) | 32, types;
	struct tsbpf_btf_load_opts o;
	int32_t fd;

	memset(blob, 0, sizeof(blob));
	memset(&bt, 0, sizeof(bt));
	bt.name_off = 1; /* "int" */
	bt.info = BTF_KIND_INT << 24;
	bt.size = 4;
	memcpy(t, &bt, sizeof(bt));
	memcpy(t + sizeof(bt), &enc, sizeof(enc));
	types = sizeof(bt) + sizeof(enc);
	if (func) {
		memset(&bt, 0, sizeof(bt));
		bt.info = BTF_KIND_FUNC_PROTO << 24;
		bt.type = 1;
		memcpy(t + types, &bt, sizeof(bt));
		types += sizeof(bt);
		bt.name_off = 5; /* "f" */
		bt.info = BTF_KIND_FUNC << 24;
		bt.type = 2;
		memcpy(t + types, &bt, sizeof(bt));
		types += sizeof(bt);
	}
	memcpy(t + types, strs, sizeof(strs));
	h->magic = BTF_MAGIC;
	h->version = BTF_VERSION;
	h->hdr_len = sizeof(*h);
	h->type_off = 0;
	h->type_len = types;
	h->str_off = types;
	h->str_len = sizeof(strs);
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.data = blob;
	o.size = (uint32_t)(sizeof(*h) + types + sizeof(strs));
	fd = tsbpf_btf_load(&o);
	keep_fd(out, fd);
	return fd;
}

/* ---- program types ------------------------------------------------------------------------ */

struct prog_type_probe {
	uint32_t min_kernel;
	uint32_t expected_attach_type;
	uint32_t flags;
	uint32_t attach_btf_id;
	int32_t expect_err;     /* non-zero: this error (not success) means yes */
	const char *expect_msg; /* ... when the log also says this */
};

/* Kernel facts: the release that added each type, and what a minimal load needs. */
static const struct prog_type_probe prog_types[] = {
	[BPF_PROG_TYPE_SOCKET_FILTER] = { KV(3, 19) },
	[BPF_PROG_TYPE_KPROBE] = { KV(4, 1) },
	[BPF_PROG_TYPE_SCHED_CLS] = { KV(4, 1) },
	[BPF_PROG_TYPE_SCHED_ACT] = { KV(4, 1) },
	[BPF_PROG_TYPE_TRACEPOINT] = { KV(4, 7) },
	[BPF_PROG_TYPE_XDP] = { KV(4, 8) },
	[BPF_PROG_TYPE_PERF_EVENT] = { KV(4, 9) },
	[BPF_PROG_TYPE_CGROUP_SKB] = { KV(4, 10) },
	[BPF_PROG_TYPE_CGROUP_SOCK] = { KV(4, 10) },
	[BPF_PROG_TYPE_LWT_IN] = { KV(4, 10) },
	[BPF_PROG_TYPE_LWT_OUT] = { KV(4, 10) },
	[BPF_PROG_TYPE_LWT_XMIT] = { KV(4, 10) },
	[BPF_PROG_TYPE_SOCK_OPS] = { KV(4, 13) },
	[BPF_PROG_TYPE_SK_SKB] = { KV(4, 14) },
	[BPF_PROG_TYPE_CGROUP_DEVICE] = { KV(4, 15) },
	[BPF_PROG_TYPE_SK_MSG] = { KV(4, 17) },
	[BPF_PROG_TYPE_RAW_TRACEPOINT] = { KV(4, 17) },
	[BPF_PROG_TYPE_CGROUP_SOCK_ADDR] = { KV(4, 17), BPF_CGROUP_INET4_CONNECT },
	[BPF_PROG_TYPE_LWT_SEG6LOCAL] = { KV(4, 18) },
	[BPF_PROG_TYPE_LIRC_MODE2] = { KV(4, 18), BPF_LIRC_MODE2 },
	[BPF_PROG_TYPE_SK_REUSEPORT] = { KV(4, 19) },
	[BPF_PROG_TYPE_FLOW_DISSECTOR] = { KV(4, 20) },
	[BPF_PROG_TYPE_CGROUP_SYSCTL] = { KV(5, 2) },
	[BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE] = { KV(5, 2) },
	[BPF_PROG_TYPE_CGROUP_SOCKOPT] = { KV(5, 3), BPF_CGROUP_GETSOCKOPT },
	/* attach_btf_id 1 is vmlinux's first type, never a function: a kernel that knows
	 * the type gets that far and says so. */
	[BPF_PROG_TYPE_TRACING] = { KV(5, 5), BPF_TRACE_FENTRY, 0, 1, -EINVAL, "attach_btf_id 1 is not a function" },
	/* Without a struct_ops type to implement, a kernel that knows the type answers ENOTSUPP. */
	[BPF_PROG_TYPE_STRUCT_OPS] = { KV(5, 6), 0, 0, 0, -ENOTSUPP, NULL },
	[BPF_PROG_TYPE_EXT] = { KV(5, 6), 0, 0, 1, -EINVAL, "Cannot replace kernel functions" },
	[BPF_PROG_TYPE_LSM] = { KV(5, 7), BPF_MODIFY_RETURN, 0, 1, -EINVAL, "attach_btf_id 1 is not a function" },
	[BPF_PROG_TYPE_SK_LOOKUP] = { KV(5, 9), BPF_SK_LOOKUP },
	[BPF_PROG_TYPE_SYSCALL] = { KV(5, 14), 0, BPF_F_SLEEPABLE },
	/* 6.4; BPF_NETFILTER is attach type 45 (newer than the uapi header we build with). */
	[32 /* BPF_PROG_TYPE_NETFILTER */] = { KV(6, 4), 45 },
};

static const struct prog_type_probe *prog_type_entry(uint32_t type)
{
	if (type == BPF_PROG_TYPE_UNSPEC || type >= ARRAY_SIZE(prog_types) || !prog_types[type].min_kernel)
		return NULL;
	return &prog_types[type];
}

static void run_prog_probe(const struct prog_type_probe *e, uint32_t type, const struct tsbpf_probe_env *env,
			   const struct bpf_insn *insns, uint32_t cnt, struct tsbpf_probe_result *out, bool want_log)
{
	struct prog_req p = {
		.type = type,
		.expected_attach_type = e->expected_attach_type,
		.flags = e->flags,
		.attach_btf_id = e->attach_btf_id,
		.kern_version = env ? env->kernel_version : 0,
		.insns = insns,
		.insn_cnt = cnt,
	};
	int32_t fd;

	if (want_log || e->expect_msg) {
		p.log = probe_log;
		p.log_size = sizeof(probe_log);
	}
	fd = load(&p);
	keep_fd(out, fd);
	if (!e->expect_err) {
		decide(out, fd);
		return;
	}
	if (fd >= 0)
		set_verdict(out, TSBPF_VERDICT_UNKNOWN, 0); /* cannot succeed: proves nothing */
	else if (inconclusive(fd))
		decide(out, fd);
	else if (fd == e->expect_err && (!e->expect_msg || strstr(probe_log, e->expect_msg)))
		set_verdict(out, TSBPF_VERDICT_YES, 0);
	else
		set_verdict(out, TSBPF_VERDICT_NO, fd);
}

static int32_t begin_probe(struct tsbpf_probe_result *out)
{
	if (!OPTS_VALID(out, struct tsbpf_probe_result))
		return tsbpf_error(-EINVAL, "invalid result struct");
	out->verdict = TSBPF_VERDICT_UNKNOWN;
	out->err = 0;
	out->n_fds = 0;
	out->name = NULL;
	out->min_kernel = 0;
	return 0;
}

int32_t tsbpf_probe_prog_type(uint32_t type, const struct tsbpf_probe_env *env, struct tsbpf_probe_result *out)
{
	static const struct probe_insn ret0[] = { MOV64_IMM(0, 0), EXIT() };
	const struct prog_type_probe *e;
	struct bpf_insn insns[2];
	int32_t err;

	tsbpf_begin(BPF_PROG_LOAD);
	if ((err = begin_probe(out)) < 0)
		return err;
	if (env && !OPTS_VALID(env, struct tsbpf_probe_env))
		return tsbpf_error(-EINVAL, "invalid probe environment struct");
	if (!(e = prog_type_entry(type))) {
		/* Unknown to this table: probe it anyway, the kernel may be newer than we are. */
		static const struct prog_type_probe plain = { 0 };
		e = &plain;
	}
	out->min_kernel = e->min_kernel;
	encode(ret0, ARRAY_SIZE(ret0), insns);
	run_prog_probe(e, type, env, insns, ARRAY_SIZE(insns), out, false);
	/* The verifier looked at the program: the kernel knows the type. */
	if (out->verdict == TSBPF_VERDICT_NO && out->err == EACCES)
		set_verdict(out, TSBPF_VERDICT_YES, 0);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

int32_t tsbpf_probe_helper(uint32_t type, uint32_t helper, const struct tsbpf_probe_env *env,
			   struct tsbpf_probe_result *out)
{
	const struct prog_type_probe *e;
	struct bpf_insn insns[2];
	struct probe_insn call[] = { INSN(BPF_JMP | BPF_CALL, 0, 0, 0, (int32_t)helper), EXIT() };
	int32_t err;

	tsbpf_begin(BPF_PROG_LOAD);
	if ((err = begin_probe(out)) < 0)
		return err;
	if (env && !OPTS_VALID(env, struct tsbpf_probe_env))
		return tsbpf_error(-EINVAL, "invalid probe environment struct");
	e = prog_type_entry(type);
	/* These types fail on their attach target before the verifier looks at a call. */
	if (!e || e->attach_btf_id || type == BPF_PROG_TYPE_STRUCT_OPS) {
		set_verdict(out, TSBPF_VERDICT_UNKNOWN, -EOPNOTSUPP);
		return 0;
	}
	encode(call, ARRAY_SIZE(call), insns);
	run_prog_probe(e, type, env, insns, ARRAY_SIZE(insns), out, true);
	if (out->verdict == TSBPF_VERDICT_NO) {
		/* Any verifier complaint but these means the call itself is allowed (the arguments
		 * we did not set are what it objects to). The wording changed across releases. */
		if (probe_log[0] && !strstr(probe_log, "invalid func ") && !strstr(probe_log, "unknown func ") &&
		    !strstr(probe_log, "cannot use helper"))
			set_verdict(out, TSBPF_VERDICT_YES, 0);
	}
	return 0;
}

/* ---- map types --------------------------------------------------------------------------- */

enum map_needs { NEEDS_NOTHING, NEEDS_BTF, NEEDS_INNER };

struct map_type_probe {
	uint32_t min_kernel;
	uint32_t key_size, value_size, max_entries, flags;
	enum map_needs needs;
	uint32_t vmlinux_value_type_id;
	int32_t expect_err;
};

#define PLAIN(kv) { kv, 4, 4, 1, 0, NEEDS_NOTHING, 0, 0 }
#define STORAGE(kv) { kv, 4, 4, 0, BPF_F_NO_PREALLOC, NEEDS_BTF, 0, 0 }

static const struct map_type_probe map_types[] = {
	[BPF_MAP_TYPE_HASH] = PLAIN(KV(3, 19)),
	[BPF_MAP_TYPE_ARRAY] = PLAIN(KV(3, 19)),
	[BPF_MAP_TYPE_PROG_ARRAY] = PLAIN(KV(4, 2)),
	[BPF_MAP_TYPE_PERF_EVENT_ARRAY] = PLAIN(KV(4, 3)),
	[BPF_MAP_TYPE_PERCPU_HASH] = PLAIN(KV(4, 6)),
	[BPF_MAP_TYPE_PERCPU_ARRAY] = PLAIN(KV(4, 6)),
	[BPF_MAP_TYPE_STACK_TRACE] = { KV(4, 6), 4, 8, 1, 0, NEEDS_NOTHING, 0, 0 },
	[BPF_MAP_TYPE_CGROUP_ARRAY] = PLAIN(KV(4, 8)),
	[BPF_MAP_TYPE_LRU_HASH] = PLAIN(KV(4, 10)),
	[BPF_MAP_TYPE_LRU_PERCPU_HASH] = PLAIN(KV(4, 10)),
	/* Keys are a 4-byte prefix length plus the data. */
	[BPF_MAP_TYPE_LPM_TRIE] = { KV(4, 11), 8, 8, 1, BPF_F_NO_PREALLOC, NEEDS_NOTHING, 0, 0 },
	[BPF_MAP_TYPE_ARRAY_OF_MAPS] = { KV(4, 12), 4, 4, 1, 0, NEEDS_INNER, 0, 0 },
	[BPF_MAP_TYPE_HASH_OF_MAPS] = { KV(4, 12), 4, 4, 1, 0, NEEDS_INNER, 0, 0 },
	[BPF_MAP_TYPE_DEVMAP] = PLAIN(KV(4, 14)),
	[BPF_MAP_TYPE_SOCKMAP] = PLAIN(KV(4, 14)),
	[BPF_MAP_TYPE_CPUMAP] = PLAIN(KV(4, 15)),
	[BPF_MAP_TYPE_XSKMAP] = PLAIN(KV(4, 18)),
	[BPF_MAP_TYPE_SOCKHASH] = PLAIN(KV(4, 18)),
	/* Keys are struct bpf_cgroup_storage_key (16 bytes); entries come from attachments. */
	[BPF_MAP_TYPE_CGROUP_STORAGE] = { KV(4, 19), 16, 4, 0, 0, NEEDS_NOTHING, 0, 0 },
	[BPF_MAP_TYPE_REUSEPORT_SOCKARRAY] = PLAIN(KV(4, 19)),
	[BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE] = { KV(4, 20), 16, 4, 0, 0, NEEDS_NOTHING, 0, 0 },
	[BPF_MAP_TYPE_QUEUE] = { KV(4, 20), 0, 4, 1, 0, NEEDS_NOTHING, 0, 0 },
	[BPF_MAP_TYPE_STACK] = { KV(4, 20), 0, 4, 1, 0, NEEDS_NOTHING, 0, 0 },
	[BPF_MAP_TYPE_SK_STORAGE] = STORAGE(KV(5, 2)),
	[BPF_MAP_TYPE_DEVMAP_HASH] = PLAIN(KV(5, 4)),
	/* An unknown vmlinux value type makes a kernel that has struct_ops answer ENOTSUPP. */
	[BPF_MAP_TYPE_STRUCT_OPS] = { KV(5, 6), 4, 4, 1, 0, NEEDS_NOTHING, 1, -ENOTSUPP },
	/* Ring buffers are sized in bytes: a power-of-2 multiple of the page size. */
	[BPF_MAP_TYPE_RINGBUF] = { KV(5, 8), 0, 0, 4096, 0, NEEDS_NOTHING, 0, 0 },
	[BPF_MAP_TYPE_INODE_STORAGE] = STORAGE(KV(5, 10)),
	[BPF_MAP_TYPE_TASK_STORAGE] = STORAGE(KV(5, 11)),
	[BPF_MAP_TYPE_BLOOM_FILTER] = { KV(5, 16), 0, 4, 1, 0, NEEDS_NOTHING, 0, 0 },
	[BPF_MAP_TYPE_USER_RINGBUF] = { KV(6, 1), 0, 0, 4096, 0, NEEDS_NOTHING, 0, 0 },
	[32 /* BPF_MAP_TYPE_CGRP_STORAGE */] = STORAGE(KV(6, 2)),
	/* Sized in pages, and always mmapable. */
	[33 /* BPF_MAP_TYPE_ARENA */] = { KV(6, 9), 0, 0, 1, BPF_F_MMAPABLE, NEEDS_NOTHING, 0, 0 },
};

int32_t tsbpf_probe_map_type(uint32_t type, struct tsbpf_probe_result *out)
{
	static const struct map_type_probe plain = PLAIN(0);
	const struct map_type_probe *e = &plain;
	struct map_req m;
	int32_t err, fd;

	tsbpf_begin(BPF_MAP_CREATE);
	if ((err = begin_probe(out)) < 0)
		return err;
	if (type != BPF_MAP_TYPE_UNSPEC && type < ARRAY_SIZE(map_types) && map_types[type].min_kernel)
		e = &map_types[type];
	out->min_kernel = e->min_kernel;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.key_size = e->key_size;
	m.value_size = e->value_size;
	m.max_entries = e->max_entries;
	m.flags = e->flags;
	m.vmlinux_value_type_id = e->vmlinux_value_type_id;
	if (e->needs == NEEDS_BTF) {
		if ((fd = load_btf(out, false)) < 0) {
			decide(out, fd);
			if (out->verdict == TSBPF_VERDICT_NO)
				out->verdict = TSBPF_VERDICT_UNKNOWN; /* no BTF: the map type cannot be told */
			return 0;
		}
		m.btf_fd = (uint32_t)fd;
		m.btf_key_type_id = 1;
		m.btf_value_type_id = 1;
	} else if (e->needs == NEEDS_INNER) {
		if ((fd = array_map(out, 4, 0)) < 0) {
			set_verdict(out, TSBPF_VERDICT_UNKNOWN, fd);
			return 0;
		}
		m.inner_fd = (uint32_t)fd;
	}
	fd = create_map(&m);
	keep_fd(out, fd);
	if (!e->expect_err)
		decide(out, fd);
	else if (fd == e->expect_err)
		set_verdict(out, TSBPF_VERDICT_YES, 0);
	else
		decide(out, fd >= 0 ? -EINVAL : fd);
	return 0;
}

/* ---- other capabilities --------------------------------------------------------------------- */

static void load_socket_filter(struct tsbpf_probe_result *out, const struct probe_insn *in, size_t n,
			       const char *name)
{
	struct bpf_insn insns[8];
	struct prog_req p = { .type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = insns, .insn_cnt = (uint32_t)n,
			      .name = name };
	int32_t fd;

	CORE_ASSERT(n <= ARRAY_SIZE(insns));
	encode(in, n, insns);
	fd = load(&p);
	keep_fd(out, fd);
	decide(out, fd);
}

/* 4.12: BPF_PROG_TEST_RUN; a socket filter needs 14 bytes (an Ethernet header). */
static void probe_prog_test_run(struct tsbpf_probe_result *out)
{
	static const struct probe_insn ret0[] = { MOV64_IMM(0, 0), EXIT() };
	static const uint8_t pkt[14];
	struct tsbpf_test_run_opts o = { .sz = sizeof(o), .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1 };
	int32_t err;

	load_socket_filter(out, ret0, ARRAY_SIZE(ret0), NULL);
	if (out->verdict != TSBPF_VERDICT_YES) {
		out->verdict = TSBPF_VERDICT_UNKNOWN; /* no program, no test run to try */
		return;
	}
	o.prog_fd = (uint32_t)out->fds[out->n_fds - 1];
	err = tsbpf_prog_test_run(&o);
	/* An unknown command is EINVAL; the core turns ENOTSUPP into its own code. */
	decide(out, err == -TSBPF_ERR_NOTSUP ? -ENOTSUPP : err);
}

/* 4.15: object names. An older kernel sees a non-zero field it does not know (E2BIG). */
static void probe_prog_name(struct tsbpf_probe_result *out)
{
	static const struct probe_insn ret0[] = { MOV64_IMM(0, 0), EXIT() };

	load_socket_filter(out, ret0, ARRAY_SIZE(ret0), "tsbpf_probe");
}

static void probe_map_name(struct tsbpf_probe_result *out)
{
	struct map_req m = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1,
			     .name = "tsbpf_probe" };
	int32_t fd = create_map(&m);

	keep_fd(out, fd);
	decide(out, fd);
}

static void probe_btf(struct tsbpf_probe_result *out)
{
	decide(out, load_btf(out, false));
}

static void probe_btf_func(struct tsbpf_probe_result *out)
{
	decide(out, load_btf(out, true));
}

/* 5.3: a backward jump the verifier can prove terminates. */
static void probe_bounded_loops(struct tsbpf_probe_result *out)
{
	static const struct probe_insn loop[] = {
		MOV64_IMM(0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 1),
		INSN(BPF_JMP | BPF_JLT | BPF_K, 0, 0, -2, 4),
		EXIT(),
	};

	load_socket_filter(out, loop, ARRAY_SIZE(loop), NULL);
}

/* 5.1: 32-bit jumps (BPF_JMP32, ISA v3). */
static void probe_jmp32(struct tsbpf_probe_result *out)
{
	static const struct probe_insn jmp32[] = {
		MOV64_IMM(0, 0),
		INSN(BPF_JMP32 | BPF_JGT | BPF_K, 0, 0, 0, 1),
		EXIT(),
	};

	load_socket_filter(out, jmp32, ARRAY_SIZE(jmp32), NULL);
}

/* 5.2: more than BPF_MAXINSNS (4096) instructions for privileged programs. */
static void probe_large_programs(struct tsbpf_probe_result *out)
{
	static struct bpf_insn insns[BPF_MAXINSNS + 1];
	struct prog_req p = { .type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = insns, .insn_cnt = ARRAY_SIZE(insns) };
	static const struct probe_insn mov = MOV64_IMM(0, 0), ex = EXIT();
	int32_t fd;

	for (size_t i = 0; i + 1 < ARRAY_SIZE(insns); i++)
		encode(&mov, 1, &insns[i]);
	encode(&ex, 1, &insns[ARRAY_SIZE(insns) - 1]);
	fd = load(&p);
	keep_fd(out, fd);
	decide(out, fd);
}

/* 5.2: direct access to map values (ld_imm64 with BPF_PSEUDO_MAP_VALUE), i.e. global data. */
static void probe_global_data(struct tsbpf_probe_result *out)
{
	struct probe_insn prog[] = {
		INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_VALUE, 0, 0),
		INSN(0, 0, 0, 0, 0), /* second half: offset 0 into the value */
		MOV64_IMM(0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 1, 0, 0, 0),
		EXIT(),
	};
	int32_t map = array_map(out, 8, 0);

	if (map < 0) {
		set_verdict(out, TSBPF_VERDICT_UNKNOWN, map);
		return;
	}
	prog[0].imm = map;
	load_socket_filter(out, prog, ARRAY_SIZE(prog), NULL);
}

/* 5.5: BPF_F_MMAPABLE arrays. */
static void probe_mmapable_maps(struct tsbpf_probe_result *out)
{
	decide(out, array_map(out, 8, BPF_F_MMAPABLE));
}

static void probe_ringbuf(struct tsbpf_probe_result *out)
{
	tsbpf_probe_map_type(BPF_MAP_TYPE_RINGBUF, out);
}

/* 5.6: batch commands. On an empty map a kernel that has them answers ENOENT. */
static void probe_batch_ops(struct tsbpf_probe_result *out)
{
	struct map_req m = { .type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 4, .max_entries = 1 };
	uint32_t out_batch = 0, keys = 0, values = 0;
	struct tsbpf_request req;
	int32_t fd = create_map(&m), err;

	keep_fd(out, fd);
	if (fd < 0) {
		set_verdict(out, TSBPF_VERDICT_UNKNOWN, fd);
		return;
	}
	REQ_INIT(&req, batch.flags);
	req.attr.batch.map_fd = (uint32_t)fd;
	req.attr.batch.count = 1;
	REQ_PTR(&req, batch.out_batch, &out_batch, sizeof(out_batch), TSBPF_FIXUP_OUT);
	REQ_PTR(&req, batch.keys, &keys, sizeof(keys), TSBPF_FIXUP_OUT);
	REQ_PTR(&req, batch.values, &values, sizeof(values), TSBPF_FIXUP_OUT);
	err = tsbpf_request_send(&req, BPF_MAP_LOOKUP_BATCH);
	decide(out, err == -ENOENT ? 0 : err);
}

/* 5.7: BPF_LINK_CREATE. An invalid program fd gets EBADF from a kernel that knows the
 * command, EINVAL from one that does not. */
static void probe_links(struct tsbpf_probe_result *out)
{
	struct tsbpf_request req;
	int32_t err;

	REQ_INIT(&req, link_create.flags);
	req.attr.link_create.prog_fd = UINT32_MAX;
	err = tsbpf_request_send(&req, BPF_LINK_CREATE);
	/* No kernel makes a link of fd -1; if one answered with an fd, the host must close it. */
	keep_fd(out, err);
	decide(out, err == -EBADF ? 0 : err);
}

/* 6.4: the kernel reports the size a whole verifier log needs. */
static void probe_log_true_size(struct tsbpf_probe_result *out)
{
	static const struct probe_insn bad[] = { EXIT() }; /* R0 !read_ok */
	struct bpf_insn insns[1];
	uint32_t true_size = 0;
	struct prog_req p = { .type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = insns, .insn_cnt = 1, .log = probe_log,
			      .log_size = sizeof(probe_log), .log_true_size = &true_size };
	int32_t fd;

	encode(bad, 1, insns);
	fd = load(&p);
	keep_fd(out, fd);
	if (fd >= 0)
		set_verdict(out, TSBPF_VERDICT_UNKNOWN, 0); /* the verifier must reject it */
	else if (inconclusive(fd))
		decide(out, fd);
	else
		set_verdict(out, true_size ? TSBPF_VERDICT_YES : TSBPF_VERDICT_NO, true_size ? 0 : fd);
}

struct probe {
	const char *name;
	uint32_t min_kernel;
	void (*run)(struct tsbpf_probe_result *out);
};

static const struct probe probes[TSBPF_FEATURE__COUNT] = {
	[TSBPF_FEATURE_PROG_TEST_RUN] = { "prog_test_run", KV(4, 12), probe_prog_test_run },
	[TSBPF_FEATURE_PROG_NAME] = { "prog_name", KV(4, 15), probe_prog_name },
	[TSBPF_FEATURE_MAP_NAME] = { "map_name", KV(4, 15), probe_map_name },
	[TSBPF_FEATURE_BTF] = { "btf", KV(4, 18), probe_btf },
	[TSBPF_FEATURE_BTF_FUNC] = { "btf_func", KV(5, 0), probe_btf_func },
	[TSBPF_FEATURE_BOUNDED_LOOPS] = { "bounded_loops", KV(5, 3), probe_bounded_loops },
	[TSBPF_FEATURE_LARGE_PROGRAMS] = { "large_programs", KV(5, 2), probe_large_programs },
	[TSBPF_FEATURE_JMP32] = { "jmp32", KV(5, 1), probe_jmp32 },
	[TSBPF_FEATURE_GLOBAL_DATA] = { "global_data", KV(5, 2), probe_global_data },
	[TSBPF_FEATURE_MMAPABLE_MAPS] = { "mmapable_maps", KV(5, 5), probe_mmapable_maps },
	[TSBPF_FEATURE_RINGBUF] = { "ringbuf", KV(5, 8), probe_ringbuf },
	[TSBPF_FEATURE_BATCH_OPS] = { "batch_ops", KV(5, 6), probe_batch_ops },
	[TSBPF_FEATURE_LINKS] = { "links", KV(5, 7), probe_links },
	[TSBPF_FEATURE_LOG_TRUE_SIZE] = { "log_true_size", KV(6, 4), probe_log_true_size },
};

uint32_t tsbpf_feature_count(void)
{
	return TSBPF_FEATURE__COUNT;
}

int32_t tsbpf_feature_describe(uint32_t feature, struct tsbpf_probe_result *out)
{
	int32_t err;

	tsbpf_begin(-1);
	if ((err = begin_probe(out)) < 0)
		return err;
	if (feature >= TSBPF_FEATURE__COUNT)
		return tsbpf_error(-EINVAL, "unknown feature %u", feature);
	out->name = probes[feature].name;
	out->min_kernel = probes[feature].min_kernel;
	return 0;
}

int32_t tsbpf_feature_probe(uint32_t feature, struct tsbpf_probe_result *out)
{
	int32_t err = tsbpf_feature_describe(feature, out);

	if (err < 0)
		return err;
	probes[feature].run(out);
	/* A probe that delegates (ringbuf) may have overwritten the description. */
	out->name = probes[feature].name;
	out->min_kernel = probes[feature].min_kernel;
	return 0;
}
