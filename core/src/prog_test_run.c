/*
 * BPF_PROG_TEST_RUN: checks the inputs before any syscall, sizes the output
 * buffers, retries when interrupted, and grows the buffers when the kernel
 * reports that the program produced more than fitted.
 */
#include <stdlib.h>

#include "internal.h"
#include "tsbpf/prog.h"

_Static_assert(offsetof(struct tsbpf_request, attr) == 0, "a plan frees its request through the attr pointer");

/* Interrupted runs are restarted this many times before giving up. */
#define MAX_EINTR_RETRIES 1000
/* Times an output buffer may be grown within one call. */
#define MAX_GROW_RETRIES 4
/* Output buffers above this size are released at the next call. */
#define KEEP_OUTPUT_BYTES (1u << 20)

static struct tsbpf_buf data_out, ctx_out;

_Static_assert(TSBPF_TEST_RUN_ON_CPU == BPF_F_TEST_RUN_ON_CPU, "BPF_F_TEST_RUN_ON_CPU");
_Static_assert(TSBPF_TEST_RUN_XDP_LIVE_FRAMES == BPF_F_TEST_XDP_LIVE_FRAMES, "BPF_F_TEST_XDP_LIVE_FRAMES");
_Static_assert(TSBPF_TEST_RUN_SKB_CHECKSUM_COMPLETE == BPF_F_TEST_SKB_CHECKSUM_COMPLETE,
	       "BPF_F_TEST_SKB_CHECKSUM_COMPLETE");

static uint32_t grown(uint32_t cap, uint32_t reported)
{
	if (reported > cap)
		return reported;
	return cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
}

int32_t tsbpf_prog_test_run(struct tsbpf_test_run_opts *o)
{
	struct tsbpf_request req;
	union bpf_attr *a = &req.attr;
	uint32_t data_cap, ctx_cap, eintr = 0, grows = 0;
	int32_t ret;

	tsbpf_begin(BPF_PROG_TEST_RUN);
	if (!OPTS_VALID(o, struct tsbpf_test_run_opts))
		return tsbpf_error(-EINVAL, "invalid options struct");
	tsbpf_buf_trim(&data_out, KEEP_OUTPUT_BYTES);
	tsbpf_buf_trim(&ctx_out, KEEP_OUTPUT_BYTES);
	o->retval = o->duration = o->data_size_out = o->ctx_size_out = o->attempts = 0;
	o->data_out = o->ctx_out = NULL;
	if (o->data_size_in == 0 && o->ctx_size_in == 0)
		return tsbpf_error(-EINVAL, "missing input: pass packet data (or a context) to run the program on");
	if (o->data_size_in > UINT32_MAX)
		return tsbpf_error(-E2BIG, "input is too long: %llu bytes, the kernel takes at most %u",
				   (unsigned long long)o->data_size_in, UINT32_MAX);
	if (o->repeat > UINT32_MAX)
		return tsbpf_error(-EINVAL, "repeat is too high: %llu, the kernel takes at most %u",
				   (unsigned long long)o->repeat, UINT32_MAX);
	if ((o->data_size_in && !o->data_in) || (o->ctx_size_in && !o->ctx_in))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "input does not fit in the core's memory");

	data_cap = o->data_out_cap;
	if (!data_cap && o->data_size_in)
		data_cap = o->data_size_in > UINT32_MAX - TSBPF_TEST_RUN_HEADROOM
				   ? UINT32_MAX
				   : (uint32_t)o->data_size_in + TSBPF_TEST_RUN_HEADROOM;
	ctx_cap = o->ctx_out_cap ? o->ctx_out_cap : o->ctx_size_in;
	if (!o->want_data_out)
		data_cap = 0;
	/* In place, the kernel refuses a ctx_out buffer: the context comes back in ctx_in. */
	if (!o->want_ctx_out || o->ctx_in_place)
		ctx_cap = 0;

	for (;;) {
		if (!tsbpf_buf_reserve(&data_out, data_cap) || !tsbpf_buf_reserve(&ctx_out, ctx_cap))
			return tsbpf_error(-TSBPF_ERR_NOMEM, "no memory for %u bytes of output", data_cap + ctx_cap);
		REQ_INIT(&req, test.batch_size);
		a->test.prog_fd = o->prog_fd;
		a->test.repeat = (uint32_t)o->repeat;
		a->test.flags = o->flags;
		a->test.cpu = o->cpu;
		a->test.batch_size = o->batch_size;
		a->test.data_size_in = (uint32_t)o->data_size_in;
		a->test.ctx_size_in = o->ctx_size_in;
		if (o->data_size_in)
			REQ_PTR(&req, test.data_in, o->data_in, (uint32_t)o->data_size_in, TSBPF_FIXUP_IN);
		if (o->ctx_size_in)
			REQ_PTR(&req, test.ctx_in, o->ctx_in, o->ctx_size_in,
				o->ctx_in_place ? TSBPF_FIXUP_INOUT : TSBPF_FIXUP_IN);
		/* A zero data_size_out would tell the kernel the buffer is unbounded. */
		if (data_cap) {
			a->test.data_size_out = data_cap;
			REQ_PTR(&req, test.data_out, data_out.data, data_cap, TSBPF_FIXUP_OUT);
		}
		if (ctx_cap) {
			a->test.ctx_size_out = ctx_cap;
			REQ_PTR(&req, test.ctx_out, ctx_out.data, ctx_cap, TSBPF_FIXUP_OUT);
		}
		ret = tsbpf_request_send(&req, BPF_PROG_TEST_RUN);
		o->attempts++;
		if (ret == -EINTR && eintr++ < MAX_EINTR_RETRIES)
			continue;
		if (ret == -ENOSPC && grows++ < MAX_GROW_RETRIES &&
		    ((data_cap && a->test.data_size_out > data_cap) || (ctx_cap && a->test.ctx_size_out > ctx_cap))) {
			if (a->test.data_size_out > TSBPF_TEST_RUN_OUTPUT_MAX ||
			    a->test.ctx_size_out > TSBPF_TEST_RUN_OUTPUT_MAX)
				return tsbpf_error(-TSBPF_ERR_KERNEL,
						   "the kernel asked for %u bytes of output, more than the %u tsbpf allows",
						   a->test.data_size_out > a->test.ctx_size_out ? a->test.data_size_out
												 : a->test.ctx_size_out,
						   TSBPF_TEST_RUN_OUTPUT_MAX);
			if (data_cap && a->test.data_size_out > data_cap)
				data_cap = grown(data_cap, a->test.data_size_out);
			if (ctx_cap && a->test.ctx_size_out > ctx_cap)
				ctx_cap = grown(ctx_cap, a->test.ctx_size_out);
			continue;
		}
		break;
	}
	if (ret == -ENOTSUPP)
		return tsbpf_error(-TSBPF_ERR_NOTSUP, "this program type cannot be test-run on this kernel");
	if (ret < 0)
		return tsbpf_error(ret, "the kernel refused to run the program");
	/* Sizes above the buffer would mean the kernel wrote past it; never copy them. */
	if (data_cap && a->test.data_size_out > data_cap)
		return tsbpf_error(-TSBPF_ERR_KERNEL, "the kernel reported %u bytes of output data for a %u-byte buffer",
				   a->test.data_size_out, data_cap);
	if (ctx_cap && a->test.ctx_size_out > ctx_cap)
		return tsbpf_error(-TSBPF_ERR_KERNEL, "the kernel reported %u bytes of output context for a %u-byte buffer",
				   a->test.ctx_size_out, ctx_cap);
	o->retval = a->test.retval;
	o->duration = a->test.duration;
	o->data_size_out = data_cap ? a->test.data_size_out : 0;
	o->ctx_size_out = ctx_cap ? a->test.ctx_size_out : 0;
	o->data_out = data_cap ? data_out.data : NULL;
	o->ctx_out = ctx_cap ? ctx_out.data : NULL;
	if (o->ctx_in_place && o->ctx_size_in) {
		o->ctx_out = o->ctx_in;
		o->ctx_size_out = o->ctx_size_in;
	}
	return 0;
}

int32_t tsbpf_prog_test_run_plan(uint32_t prog_fd, uint32_t data_in_cap, uint32_t want_data_out,
				 struct tsbpf_test_run_plan *plan)
{
	struct tsbpf_request *req;
	uint8_t *in, *out = NULL;
	uint32_t out_cap = 0;

	tsbpf_begin(BPF_PROG_TEST_RUN);
	if (!OPTS_VALID(plan, struct tsbpf_test_run_plan))
		return tsbpf_error(-EINVAL, "invalid plan struct");
	if (data_in_cap == 0 || data_in_cap > UINT32_MAX - TSBPF_TEST_RUN_HEADROOM)
		return tsbpf_error(-EINVAL, "cannot plan test runs on packets of %u bytes", data_in_cap);
	if (want_data_out)
		out_cap = data_in_cap + TSBPF_TEST_RUN_HEADROOM;
	req = malloc(sizeof(*req));
	in = malloc(data_in_cap);
	if (out_cap)
		out = malloc(out_cap);
	if (!req || !in || (out_cap && !out)) {
		free(req);
		free(in);
		free(out);
		return tsbpf_error(-TSBPF_ERR_NOMEM, "no memory for a test-run plan of %u bytes", data_in_cap);
	}
	/* The same request tsbpf_prog_test_run builds for one packet, with full buffers. */
	REQ_INIT(req, test.batch_size);
	req->attr.test.prog_fd = prog_fd;
	req->attr.test.repeat = 1;
	req->attr.test.data_size_in = data_in_cap;
	REQ_PTR(req, test.data_in, in, data_in_cap, TSBPF_FIXUP_IN);
	if (out) {
		req->attr.test.data_size_out = out_cap;
		REQ_PTR(req, test.data_out, out, out_cap, TSBPF_FIXUP_OUT);
	}
	plan->cmd = BPF_PROG_TEST_RUN;
	plan->attr = &req->attr; /* first member: also the allocation freed by plan_free */
	plan->attr_size = req->size;
	plan->fixups = req->fixups;
	plan->n_fixups = req->n_fixups;
	plan->data_in = in;
	plan->data_in_cap = data_in_cap;
	plan->data_out = out;
	plan->data_out_cap = out_cap;
	plan->off_data_size_in = offsetof(union bpf_attr, test.data_size_in);
	plan->off_data_size_out = offsetof(union bpf_attr, test.data_size_out);
	plan->off_repeat = offsetof(union bpf_attr, test.repeat);
	plan->off_retval = offsetof(union bpf_attr, test.retval);
	plan->off_duration = offsetof(union bpf_attr, test.duration);
	return 0;
}

void tsbpf_prog_test_run_plan_free(struct tsbpf_test_run_plan *plan)
{
	if (!plan)
		return;
	free((void *)(uintptr_t)plan->attr);
	free(plan->data_in);
	free((void *)(uintptr_t)plan->data_out);
	memset((uint8_t *)plan + sizeof(plan->sz), 0, sizeof(*plan) - sizeof(plan->sz));
}
