/* The scripted kernel of the fuzz harnesses; see host_stub.h. */
#include "host_stub.h"

#include <string.h>

#include "tsbpf/abi.h"

/* Bounds the work of one input: a policy that never stops retrying is a bug worth finding,
 * but it must surface as a failed invariant, not a hang. */
#define MAX_CALLS 4096

static const uint8_t *cur, *end;
static unsigned calls;

void stub_reset(const uint8_t *script, size_t len)
{
	cur = script;
	end = script + len;
	calls = 0;
}

unsigned stub_calls(void)
{
	return calls;
}

void stub_take(void *dst, size_t n)
{
	size_t have = (size_t)(end - cur);

	if (have > n)
		have = n;
	memcpy(dst, cur, have);
	memset((uint8_t *)dst + have, 0, n - have);
	cur += have;
}

static uint8_t take8(void)
{
	uint8_t b;

	stub_take(&b, 1);
	return b;
}

static uint32_t take32(void)
{
	uint32_t v;

	stub_take(&v, 4);
	return v;
}

/* Results a kernel gives to bpf(2): success values and the errnos the core reacts to. */
static const int32_t answers[] = { 0, 5, 1000, -4 /*EINTR*/, -28 /*ENOSPC*/, -11 /*EAGAIN*/, -13 /*EACCES*/,
				   -22 /*EINVAL*/, -7 /*E2BIG*/, -1 /*EPERM*/, -2 /*ENOENT*/, -524 /*ENOTSUPP*/ };

int32_t host_bpf(uint32_t cmd, void *attr, uint32_t attr_size, const struct tsbpf_fixup *fixups, uint32_t n_fixups)
{
	uint8_t *a = attr;

	(void)cmd;
	if (++calls > MAX_CALLS)
		__builtin_trap();
	if (attr_size == 0 || attr_size > TSBPF_ATTR_MAX || n_fixups > TSBPF_MAX_FIXUPS)
		__builtin_trap();
	for (uint32_t i = 0; i < n_fixups; i++) {
		const struct tsbpf_fixup *f = &fixups[i];
		uint8_t *buf;
		uint64_t p;

		if (f->dir & TSBPF_FIXUP_NESTED)
			continue; /* its parent's copy holds the pointer; covered by the parent */
		if (f->attr_off % 8 || f->attr_off + 8 > attr_size)
			__builtin_trap();
		memcpy(&p, a + f->attr_off, 8);
		buf = (uint8_t *)(uintptr_t)p;
		/* Touch every byte the core declared: reads of inputs, writes of outputs. */
		if (f->dir & TSBPF_FIXUP_IN) {
			volatile uint8_t sink = 0;
			for (uint32_t j = 0; j < f->len; j++)
				sink ^= buf[j];
			(void)sink;
		}
		if (f->dir & TSBPF_FIXUP_OUT)
			stub_take(buf, f->len);
	}
	/* The kernel writes results into the attr: overwrite a few u32 fields. */
	for (uint8_t n = take8() % 4; n; n--) {
		uint32_t off = (take8() % (attr_size / 4)) * 4, v = take32();
		int pointer = 0;

		/* Mostly plausible sizes; huge ones only when the top bit asks for them, since
		 * every huge size the core accepts costs the fuzzer a huge allocation. */
		if (!(v & 0x80000000u))
			v %= 1u << 20;

		for (uint32_t i = 0; i < n_fixups; i++)
			if (!(fixups[i].dir & TSBPF_FIXUP_NESTED) && off >= fixups[i].attr_off && off < fixups[i].attr_off + 8)
				pointer = 1;
		if (!pointer) /* the kernel never rewrites pointer fields */
			memcpy(a + off, &v, 4);
	}
	return answers[take8() % (sizeof(answers) / sizeof(answers[0]))];
}
