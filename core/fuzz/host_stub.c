/* The scripted kernel of the fuzz harnesses; see host_stub.h. */
#include "host_stub.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/bpf.h>

#include "tsbpf/abi.h"

/* Bounds the work of one input: a policy that never stops retrying is a bug worth finding,
 * but it must surface as a failed invariant, not a hang. */
#define MAX_CALLS 4096
#define MAX_MAPS 8

static const uint8_t *cur, *end;
static unsigned calls, fds;
struct stub_map_entry {
	uint32_t fd, key_size, value_len;
};
static struct stub_map_entry maps[MAX_MAPS];
static unsigned n_maps;

void stub_reset(const uint8_t *script, size_t len)
{
	cur = script;
	end = script + len;
	calls = 0;
	fds = 0;
	n_maps = 0;
}

unsigned stub_calls(void)
{
	return calls;
}

unsigned stub_fds(void)
{
	return fds;
}

/* Commands whose result is a new file descriptor. */
static int returns_fd(uint32_t cmd)
{
	switch (cmd) {
	case BPF_MAP_CREATE:
	case BPF_PROG_LOAD:
	case BPF_OBJ_GET:
	case BPF_PROG_GET_FD_BY_ID:
	case BPF_MAP_GET_FD_BY_ID:
	case BPF_RAW_TRACEPOINT_OPEN:
	case BPF_BTF_LOAD:
	case BPF_BTF_GET_FD_BY_ID:
	case BPF_LINK_CREATE:
	case BPF_LINK_GET_FD_BY_ID:
	case BPF_ENABLE_STATS:
	case BPF_ITER_CREATE:
		return 1;
	default:
		return 0;
	}
}

size_t stub_left(void)
{
	return (size_t)(end - cur);
}

void stub_take(void *dst, size_t n)
{
	size_t have = (size_t)(end - cur);

	if (have > n)
		have = n;
	if (have)
		memcpy(dst, cur, have);
	memset((uint8_t *)dst + have, 0, n - have);
	cur += have;
}

uint8_t stub_take8(void)
{
	uint8_t v;

	stub_take(&v, 1);
	return v;
}

uint32_t stub_take32(void)
{
	uint32_t v;

	stub_take(&v, 4);
	return v;
}

void stub_map(uint32_t fd, uint32_t key_size, uint32_t value_len)
{
	for (unsigned i = 0; i < n_maps; i++) {
		if (maps[i].fd == fd) {
			maps[i].key_size = key_size;
			maps[i].value_len = value_len;
			return;
		}
	}
	if (n_maps < MAX_MAPS) {
		maps[n_maps].fd = fd;
		maps[n_maps].key_size = key_size;
		maps[n_maps].value_len = value_len;
		n_maps++;
	}
}

/* A request no correct core sends: say why, then crash so that libFuzzer keeps the input. */
static void violation(uint32_t cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void violation(uint32_t cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "host_stub: bad request for bpf command %u: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	__builtin_trap();
}

/* ---- the kernel's view of the commands it knows ------------------------------------- */

/* How the kernel sizes the buffer behind a pointer field. */
enum len_rule {
	L_ANY,    /* a length the stub cannot know (fd_array): only a fix-up is required */
	L_U32,    /* the u32 at a */
	L_MUL,    /* u32 at a times u32 at b */
	L_MULC,   /* u32 at a times c */
	L_STR,    /* a NUL-terminated string */
	L_KEY,    /* one key of the map at map_fd */
	L_VALUE,  /* one value of that map */
	L_TOKEN,  /* a batch position: a bucket (u32) or a key */
	L_KEYS,   /* batch.count keys */
	L_VALUES, /* batch.count values */
};

struct ptr_field {
	uint16_t off;
	uint8_t rule;
	uint16_t a, b;
	uint32_t c;
};

struct cmd_model {
	uint32_t cmd;
	uint16_t map_fd; /* offset of the map fd for L_KEY..L_VALUES */
	uint8_t n;
	struct ptr_field f[6];
};

#define OFF(field) ((uint16_t)offsetof(union bpf_attr, field))
#define PF(field, rule, a, b, c) { OFF(field), rule, a, b, c }
#define ELEM_MODEL(cmd, second)                                                                      \
	{ cmd, OFF(map_fd), 2, { PF(key, L_KEY, 0, 0, 0), PF(value, second, 0, 0, 0) } }
#define BATCH_MODEL(cmd)                                                                                   \
	{ cmd, OFF(batch.map_fd), 4,                                                                       \
	  { PF(batch.in_batch, L_TOKEN, 0, 0, 0), PF(batch.out_batch, L_TOKEN, 0, 0, 0),                   \
	    PF(batch.keys, L_KEYS, 0, 0, 0), PF(batch.values, L_VALUES, 0, 0, 0) } }

static const struct cmd_model models[] = {
	{ BPF_MAP_CREATE, 0, 0, { { 0 } } },
	ELEM_MODEL(BPF_MAP_LOOKUP_ELEM, L_VALUE),
	ELEM_MODEL(BPF_MAP_UPDATE_ELEM, L_VALUE),
	ELEM_MODEL(BPF_MAP_DELETE_ELEM, L_VALUE),
	ELEM_MODEL(BPF_MAP_GET_NEXT_KEY, L_KEY), /* next_key shares value's offset */
	ELEM_MODEL(BPF_MAP_LOOKUP_AND_DELETE_ELEM, L_VALUE),
	BATCH_MODEL(BPF_MAP_LOOKUP_BATCH),
	BATCH_MODEL(BPF_MAP_LOOKUP_AND_DELETE_BATCH),
	BATCH_MODEL(BPF_MAP_UPDATE_BATCH),
	BATCH_MODEL(BPF_MAP_DELETE_BATCH),
	{ BPF_MAP_FREEZE, 0, 0, { { 0 } } },
	{ BPF_PROG_LOAD,
	  0,
	  6,
	  { PF(insns, L_MULC, OFF(insn_cnt), 0, 8), PF(license, L_STR, 0, 0, 0),
	    PF(log_buf, L_U32, OFF(log_size), 0, 0),
	    PF(func_info, L_MUL, OFF(func_info_cnt), OFF(func_info_rec_size), 0),
	    PF(line_info, L_MUL, OFF(line_info_cnt), OFF(line_info_rec_size), 0), PF(fd_array, L_ANY, 0, 0, 0) } },
	{ BPF_OBJ_PIN, 0, 1, { PF(pathname, L_STR, 0, 0, 0) } },
	{ BPF_OBJ_GET, 0, 1, { PF(pathname, L_STR, 0, 0, 0) } },
	{ BPF_PROG_ATTACH, 0, 0, { { 0 } } },
	{ BPF_PROG_DETACH, 0, 0, { { 0 } } },
	{ BPF_PROG_TEST_RUN,
	  0,
	  4,
	  { PF(test.data_in, L_U32, OFF(test.data_size_in), 0, 0), PF(test.data_out, L_U32, OFF(test.data_size_out), 0, 0),
	    PF(test.ctx_in, L_U32, OFF(test.ctx_size_in), 0, 0), PF(test.ctx_out, L_U32, OFF(test.ctx_size_out), 0, 0) } },
	{ BPF_PROG_GET_NEXT_ID, 0, 0, { { 0 } } },
	{ BPF_MAP_GET_NEXT_ID, 0, 0, { { 0 } } },
	{ BPF_PROG_GET_FD_BY_ID, 0, 0, { { 0 } } },
	{ BPF_MAP_GET_FD_BY_ID, 0, 0, { { 0 } } },
	{ BPF_OBJ_GET_INFO_BY_FD, 0, 1, { PF(info.info, L_U32, OFF(info.info_len), 0, 0) } },
	{ BPF_PROG_QUERY,
	  0,
	  2,
	  { PF(query.prog_ids, L_MULC, OFF(query.prog_cnt), 0, 4),
	    PF(query.prog_attach_flags, L_MULC, OFF(query.prog_cnt), 0, 4) } },
	{ BPF_BTF_LOAD,
	  0,
	  2,
	  { PF(btf, L_U32, OFF(btf_size), 0, 0), PF(btf_log_buf, L_U32, OFF(btf_log_size), 0, 0) } },
	{ BPF_BTF_GET_FD_BY_ID, 0, 0, { { 0 } } },
	{ BPF_BTF_GET_NEXT_ID, 0, 0, { { 0 } } },
	{ BPF_LINK_GET_FD_BY_ID, 0, 0, { { 0 } } },
	{ BPF_LINK_GET_NEXT_ID, 0, 0, { { 0 } } },
	{ BPF_ENABLE_STATS, 0, 0, { { 0 } } },
};

/*
 * Pointers inside the buffer of BPF_OBJ_GET_INFO_BY_FD, with the fields that size them:
 * struct bpf_prog_info's arrays, and the (btf, btf_size) and (name, name_len) pairs that
 * struct bpf_btf_info and struct bpf_link_info's unions share at offsets 0 and 16.
 */
#define IOFF(field) ((uint16_t)offsetof(struct bpf_prog_info, field))
static const struct ptr_field info_fields[] = {
	{ IOFF(jited_prog_insns), L_U32, IOFF(jited_prog_len), 0, 0 },
	{ IOFF(xlated_prog_insns), L_U32, IOFF(xlated_prog_len), 0, 0 },
	{ IOFF(map_ids), L_MULC, IOFF(nr_map_ids), 0, 4 },
	{ IOFF(jited_ksyms), L_MULC, IOFF(nr_jited_ksyms), 0, 8 },
	{ IOFF(jited_func_lens), L_MULC, IOFF(nr_jited_func_lens), 0, 4 },
	{ IOFF(func_info), L_MUL, IOFF(nr_func_info), IOFF(func_info_rec_size), 0 },
	{ IOFF(line_info), L_MUL, IOFF(nr_line_info), IOFF(line_info_rec_size), 0 },
	{ IOFF(jited_line_info), L_MUL, IOFF(nr_jited_line_info), IOFF(jited_line_info_rec_size), 0 },
	{ IOFF(prog_tags), L_MULC, IOFF(nr_prog_tags), 0, 8 },
	{ offsetof(struct bpf_btf_info, btf), L_U32, offsetof(struct bpf_btf_info, btf_size), 0, 0 },
	{ offsetof(struct bpf_btf_info, name), L_U32, offsetof(struct bpf_btf_info, name_len), 0, 0 },
};
_Static_assert(offsetof(struct bpf_btf_info, name) == offsetof(struct bpf_link_info, raw_tracepoint.tp_name) &&
		       offsetof(struct bpf_btf_info, name_len) ==
			       offsetof(struct bpf_link_info, raw_tracepoint.tp_name_len),
	       "btf and link info share the (name, length) pair");

static const struct cmd_model *model_of(uint32_t cmd)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (models[i].cmd == cmd)
			return &models[i];
	return NULL;
}

/* A u32 of a struct of `size` bytes: fields past its end read as zero, as the kernel reads them. */
static uint32_t u32_at(const uint8_t *p, uint32_t size, uint32_t off)
{
	uint32_t v = 0;

	if ((uint64_t)off + 4 <= size)
		memcpy(&v, p + off, 4);
	return v;
}

static uint64_t u64_at(const uint8_t *p, uint32_t size, uint32_t off)
{
	uint64_t v = 0;

	if ((uint64_t)off + 8 <= size)
		memcpy(&v, p + off, 8);
	return v;
}

/* The map a request names, or NULL when the harness did not declare it. */
static const struct stub_map_entry *map_of(uint32_t fd)
{
	for (unsigned i = 0; i < n_maps; i++)
		if (maps[i].fd == fd)
			return &maps[i];
	return NULL;
}

/*
 * Bytes the kernel would read or write behind a pointer field (UINT64_MAX: unknown), for
 * field `pf` of a struct `s` of `size` bytes (the attr, or an info buffer).
 */
static uint64_t kernel_len(uint32_t cmd, const struct cmd_model *m, const struct ptr_field *pf, const uint8_t *s,
			   uint32_t size, const uint8_t *buf, uint32_t buf_len)
{
	const struct stub_map_entry *map = NULL;
	uint64_t count;

	if (pf->rule >= L_KEY) {
		map = map_of(u32_at(s, size, m->map_fd));
		if (!map)
			return UINT64_MAX;
	}
	count = u32_at(s, size, OFF(batch.count));
	switch (pf->rule) {
	case L_U32:
		return u32_at(s, size, pf->a);
	case L_MUL:
		return (uint64_t)u32_at(s, size, pf->a) * u32_at(s, size, pf->b);
	case L_MULC:
		return (uint64_t)u32_at(s, size, pf->a) * pf->c;
	case L_STR:
		if (!memchr(buf, 0, buf_len))
			violation(cmd, "the string at attr offset %u has no NUL within its %u bytes", pf->off, buf_len);
		return 0;
	case L_KEY:
		return map->key_size;
	case L_VALUE:
		return map->value_len;
	case L_TOKEN:
		return map->key_size > 4 ? map->key_size : 4;
	case L_KEYS:
		return count * map->key_size;
	case L_VALUES:
		return count * map->value_len;
	default:
		return UINT64_MAX;
	}
}

/* ---- host_bpf ------------------------------------------------------------------------ */

/* Results a kernel gives to bpf(2): success values and the errnos the core reacts to. */
static const int32_t answers[] = { 0, 5, 1000, -4 /*EINTR*/, -28 /*ENOSPC*/, -11 /*EAGAIN*/, -13 /*EACCES*/,
				   -22 /*EINVAL*/, -7 /*E2BIG*/, -1 /*EPERM*/, -2 /*ENOENT*/, -524 /*ENOTSUPP*/ };

/*
 * Buffers up to FULL_LEN are read or written whole. Beyond that (a 1 GiB verifier log the
 * kernel asked for) only the head and the last bytes are: ASan still sees a buffer shorter
 * than declared, and an input costs milliseconds instead of seconds.
 */
#define FULL_LEN (1u << 20)
#define HEAD_LEN (64u << 10)
#define TAIL_LEN 64u

static void touch_in(const uint8_t *p, uint32_t len)
{
	volatile uint8_t sink = 0;

	for (uint32_t j = 0; j < len; j++) {
		if (len > FULL_LEN && j == HEAD_LEN)
			j = len - TAIL_LEN;
		sink ^= p[j];
	}
	(void)sink;
}

static void write_out(uint8_t *p, uint32_t len)
{
	if (len <= FULL_LEN) {
		stub_take(p, len);
		return;
	}
	stub_take(p, HEAD_LEN);
	stub_take(p + len - TAIL_LEN, TAIL_LEN);
}

static int overlap(const uint8_t *a, uint64_t alen, const uint8_t *b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

int32_t host_bpf(uint32_t cmd, void *attr, uint32_t attr_size, const struct tsbpf_fixup *fixups, uint32_t n_fixups)
{
	const uint32_t known = TSBPF_FIXUP_INOUT | TSBPF_FIXUP_NESTED | (0xfu << TSBPF_FIXUP_PARENT_SHIFT);
	const struct cmd_model *model = model_of(cmd);
	uint8_t *a = attr, *bufs[TSBPF_MAX_FIXUPS];
	int32_t parents[TSBPF_MAX_FIXUPS];
	uint64_t saved[TSBPF_MAX_FIXUPS];

	if (++calls > MAX_CALLS)
		violation(cmd, "more than %d requests for one input: a retry loop that never ends", MAX_CALLS);
	if (attr_size == 0 || attr_size > TSBPF_ATTR_MAX)
		violation(cmd, "attr size %u", attr_size);
	if (n_fixups > TSBPF_MAX_FIXUPS || (n_fixups && !fixups))
		violation(cmd, "%u fix-ups", n_fixups);

	/* The fix-up table, as the bridge validates it; pointers are read before any write. */
	for (uint32_t i = 0; i < n_fixups; i++) {
		const struct tsbpf_fixup *f = &fixups[i];
		int32_t parent = f->dir & TSBPF_FIXUP_NESTED ? (int32_t)((f->dir >> TSBPF_FIXUP_PARENT_SHIFT) & 0xf) : -1;
		uint32_t holder_len;
		uint8_t *holder;

		if ((f->dir & ~known) || !(f->dir & TSBPF_FIXUP_INOUT))
			violation(cmd, "fix-up %u has direction 0x%x", i, f->dir);
		if (parent >= (int32_t)i)
			violation(cmd, "fix-up %u nests in fix-up %d, which does not come before it", i, parent);
		holder = parent < 0 ? a : bufs[parent];
		holder_len = parent < 0 ? attr_size : fixups[parent].len;
		if (f->attr_off % 8 || (uint64_t)f->attr_off + 8 > holder_len)
			violation(cmd, "fix-up %u patches offset %u of a %u-byte holder", i, f->attr_off, holder_len);
		if (f->len > TSBPF_FIXUP_MAX_LEN)
			violation(cmd, "fix-up %u is %u bytes long", i, f->len);
		memcpy(&saved[i], holder + f->attr_off, 8);
		if (saved[i] == 0 || (uint32_t)saved[i] != f->ptr)
			violation(cmd, "fix-up %u: the field holds 0x%llx, the fix-up says 0x%x", i,
				  (unsigned long long)saved[i], f->ptr);
		bufs[i] = (uint8_t *)(uintptr_t)saved[i];
		parents[i] = parent;
		if (overlap(bufs[i], f->len, a, attr_size))
			violation(cmd, "fix-up %u overlaps the attr", i);
		for (uint32_t j = 0; j < i; j++) {
			if (fixups[j].attr_off == f->attr_off && parents[j] == parent)
				violation(cmd, "fix-ups %u and %u patch the same field", j, i);
			if (((f->dir | fixups[j].dir) & TSBPF_FIXUP_OUT) && overlap(bufs[i], f->len, bufs[j], fixups[j].len))
				violation(cmd, "fix-ups %u and %u overlap and one is written", j, i);
		}
	}

	/* The kernel's view: pointer fields, and the lengths it derives from the attr. */
	if (model) {
		for (uint32_t i = 0; i < n_fixups; i++) {
			int found = 0;

			if (parents[i] >= 0)
				continue;
			for (uint8_t k = 0; k < model->n; k++)
				found |= model->f[k].off == fixups[i].attr_off;
			if (!found)
				violation(cmd, "fix-up %u sits at attr offset %u, which is not a pointer field", i,
					  fixups[i].attr_off);
		}
		for (uint8_t k = 0; k < model->n; k++) {
			const struct ptr_field *pf = &model->f[k];
			uint64_t want;
			int32_t idx = -1;

			if ((uint64_t)pf->off + 8 > attr_size)
				continue;
			for (uint32_t i = 0; i < n_fixups; i++)
				if (parents[i] < 0 && fixups[i].attr_off == pf->off)
					idx = (int32_t)i;
			if (idx < 0) {
				if (u64_at(a, attr_size, pf->off))
					violation(cmd, "the pointer at attr offset %u has no fix-up", pf->off);
				continue;
			}
			want = kernel_len(cmd, model, pf, a, attr_size, bufs[idx], fixups[idx].len);
			if (want != UINT64_MAX && want > fixups[idx].len)
				violation(cmd, "the kernel would use %llu bytes at attr offset %u, the fix-up has %u",
					  (unsigned long long)want, pf->off, fixups[idx].len);
		}
		for (uint32_t i = 0; i < n_fixups; i++) {
			uint32_t p = (uint32_t)parents[i];

			if (parents[i] < 0 || cmd != BPF_OBJ_GET_INFO_BY_FD)
				continue;
			for (size_t k = 0; k < sizeof(info_fields) / sizeof(info_fields[0]); k++) {
				const struct ptr_field *pf = &info_fields[k];
				uint64_t want;

				if (pf->off != fixups[i].attr_off)
					continue;
				want = kernel_len(cmd, model, pf, bufs[p], fixups[p].len, bufs[i], fixups[i].len);
				if (want > fixups[i].len)
					violation(cmd, "the kernel would use %llu bytes at offset %u of the info, the fix-up has %u",
						  (unsigned long long)want, pf->off, fixups[i].len);
			}
		}
	}

	/* Touch every byte the core declared: reads of inputs, then writes of outputs. */
	for (uint32_t i = 0; i < n_fixups; i++)
		if (fixups[i].dir & TSBPF_FIXUP_IN)
			touch_in(bufs[i], fixups[i].len);
	for (uint32_t i = 0; i < n_fixups; i++)
		if (fixups[i].dir & TSBPF_FIXUP_OUT)
			write_out(bufs[i], fixups[i].len);
	/* The kernel writes a struct back with the pointers it was given. */
	for (uint32_t i = 0; i < n_fixups; i++)
		if (parents[i] >= 0)
			memcpy(bufs[parents[i]] + fixups[i].attr_off, &saved[i], 8);

	/* The kernel writes results into the attr: overwrite a few u32 fields. */
	for (uint8_t n = stub_take8() % 4; n; n--) {
		uint32_t off = (stub_take8() % (attr_size / 4)) * 4, v = stub_take32();
		int pointer = 0;

		/* Mostly plausible sizes; huge ones only when the top bit asks for them, since
		 * every huge size the core accepts costs the fuzzer a huge allocation. */
		if (!(v & 0x80000000u))
			v %= 1u << 20;

		for (uint32_t i = 0; i < n_fixups; i++)
			if (parents[i] < 0 && off >= fixups[i].attr_off && off < fixups[i].attr_off + 8)
				pointer = 1;
		for (uint8_t k = 0; model && k < model->n; k++)
			if (off >= model->f[k].off && off < model->f[k].off + 8u)
				pointer = 1;
		if (!pointer) /* the kernel never rewrites pointer fields */
			memcpy(a + off, &v, 4);
	}
	{
		int32_t ret = answers[stub_take8() % (sizeof(answers) / sizeof(answers[0]))];

		if (ret >= 0 && returns_fd(cmd))
			fds++;
		return ret;
	}
}
