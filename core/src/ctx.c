/*
 * The core's process-wide state: the error of the last call and the request
 * counter. core.wasm serves one caller at a time, so one context suffices.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static struct {
	char reason[512];
	int32_t command;
	int32_t kernel_error;
	uint32_t requests;
} ctx = { .command = -1 };

uint32_t tsbpf_abi_version(void)
{
	return TSBPF_ABI_VERSION;
}

void *tsbpf_malloc(uint32_t size)
{
	return malloc(size ? size : 1);
}

void tsbpf_free(void *ptr)
{
	free(ptr);
}

const char *tsbpf_last_error_reason(void)
{
	return ctx.reason;
}

int32_t tsbpf_last_error_command(void)
{
	return ctx.command;
}

int32_t tsbpf_last_kernel_error(void)
{
	return ctx.kernel_error;
}

uint32_t tsbpf_request_count(void)
{
	return ctx.requests;
}

void tsbpf_begin(int32_t cmd)
{
	ctx.reason[0] = '\0';
	ctx.command = cmd;
	ctx.kernel_error = 0;
}

int32_t tsbpf_error(int32_t err, const char *fmt, ...)
{
	va_list ap;

	/* Keep the first, most specific reason when errors propagate upwards. */
	if (ctx.reason[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ctx.reason, sizeof(ctx.reason), fmt, ap);
		va_end(ap);
	}
	return err;
}

bool tsbpf_opts_valid(const void *opts, uint32_t sz, size_t known)
{
	const uint8_t *p = opts;

	if (!opts || sz < sizeof(uint32_t))
		return false;
	for (size_t i = known; i < sz; i++)
		if (p[i])
			return false;
	return true;
}

bool tsbpf_buf_reserve(struct tsbpf_buf *buf, uint32_t size)
{
	uint8_t *p;

	if (size <= buf->cap)
		return true;
	p = malloc(size);
	if (!p)
		return false;
	free(buf->data);
	buf->data = p;
	buf->cap = size;
	return true;
}

void tsbpf_buf_trim(struct tsbpf_buf *buf, uint32_t keep)
{
	if (buf->cap <= keep)
		return;
	free(buf->data);
	buf->data = NULL;
	buf->cap = 0;
}

void tsbpf_request_init(struct tsbpf_request *req, size_t size)
{
	CORE_ASSERT(size <= TSBPF_ATTR_MAX);
	/* Only what the host reads: the attr's first `size` bytes and the fix-up count (fix-ups
	 * are written as they are added). Zeroing all ~420 bytes cost map lookups a quarter
	 * microsecond. */
	memset(&req->attr, 0, size);
	req->size = (uint32_t)size;
	req->n_fixups = 0;
}

int32_t tsbpf_request_ptr(struct tsbpf_request *req, size_t off, const void *p, uint32_t len, uint32_t dir)
{
	struct tsbpf_fixup *f;
	uint64_t addr = (uint64_t)(uintptr_t)p;

	CORE_ASSERT(off % 8 == 0 && off + 8 <= req->size && req->n_fixups < TSBPF_MAX_FIXUPS);
	memcpy((uint8_t *)&req->attr + off, &addr, sizeof(addr));
	if (!p)
		return -1; /* NULL stays NULL: nothing to translate */
	f = &req->fixups[req->n_fixups];
	f->attr_off = (uint32_t)off;
	f->ptr = (uint32_t)(uintptr_t)p;
	f->len = len;
	f->dir = dir;
	req->bufs[req->n_fixups] = (uint8_t *)(uintptr_t)p;
	return (int32_t)req->n_fixups++;
}

int32_t tsbpf_request_nested_ptr(struct tsbpf_request *req, int32_t parent, size_t off, const void *p, uint32_t len,
				 uint32_t dir)
{
	struct tsbpf_fixup *f;
	uint64_t addr = (uint64_t)(uintptr_t)p;

	CORE_ASSERT(parent >= 0 && (uint32_t)parent < req->n_fixups && req->n_fixups < TSBPF_MAX_FIXUPS);
	CORE_ASSERT(off % 8 == 0 && off + 8 <= req->fixups[parent].len);
	/* The field lives in the parent's Wasm buffer; the host patches its native copy. */
	memcpy(req->bufs[parent] + off, &addr, sizeof(addr));
	if (!p)
		return -1;
	f = &req->fixups[req->n_fixups];
	f->attr_off = (uint32_t)off;
	f->ptr = (uint32_t)(uintptr_t)p;
	f->len = len;
	f->dir = dir | TSBPF_FIXUP_NESTED | ((uint32_t)parent << TSBPF_FIXUP_PARENT_SHIFT);
	req->bufs[req->n_fixups] = (uint8_t *)(uintptr_t)p;
	return (int32_t)req->n_fixups++;
}

int32_t tsbpf_request_send(struct tsbpf_request *req, enum bpf_cmd cmd)
{
	int32_t ret;

	ctx.requests++;
	ctx.command = cmd;
	ret = host_bpf(cmd, &req->attr, req->size, req->n_fixups ? req->fixups : NULL, req->n_fixups);
	ctx.kernel_error = ret < 0 ? ret : 0;
	return ret;
}
