/*
 * tsbpf_core_relocate: relocates one program and, on request, writes what loading it with
 * BTF needs: the program's own BTF (core_relo_btf.c), its func_info renumbered for that
 * BTF, and its line_info with a record on every poisoned instruction whose source line
 * reads "instruction poisoned by CO-RE: <relocation>, line <n>: <the original line>", so
 * the verifier's log says why when that instruction turns out to be reachable.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core_relo_internal.h"

int32_t core_relocate_records(struct tsbpf_core_relo_opts *o, const uint32_t *local_map, uint32_t local_map_n);

#define FUNC_INFO_LEN 8u
#define LINE_INFO_LEN 16u
#define POISON_NOTE_MAX 400u
#define MAX_TARGETS 4096u

static struct tsbpf_buf btf_out, func_out, line_out, notes;

/* A line_info record to emit, and which kind it is (at one slot: poison > original > restore). */
struct line {
	uint32_t insn, file, line, col;
	uint32_t prio;
};

enum { PRIO_RESTORE = 0, PRIO_ORIGINAL = 1, PRIO_POISON = 2 };

static int cmp_line(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	if (x->insn != y->insn)
		return x->insn < y->insn ? -1 : 1;
	return x->prio > y->prio ? -1 : x->prio < y->prio ? 1 : 0;
}

/* Index of the last record at or before slot `insn`, or -1. Records are in slot order. */
static int32_t line_at(const uint8_t *li, uint32_t n, uint32_t insn)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rd32(li + (size_t)mid * LINE_INFO_LEN) <= insn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int32_t)lo - 1;
}

static bool poisoned_at(const struct tsbpf_core_relo_opts *o, uint32_t slot)
{
	for (uint32_t i = 0; i < o->relo_cnt; i++)
		if (o->results[i].status == TSBPF_CORE_POISONED && slot >= o->results[i].insn &&
		    slot < o->results[i].insn + o->results[i].slots)
			return true;
	return false;
}

/* Appends a NUL-terminated note to `notes`; returns its offset there, or < 0 on OOM. */
static int64_t add_note(uint32_t *len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int64_t add_note(uint32_t *len, const char *fmt, ...)
{
	char buf[POISON_NOTE_MAX];
	va_list ap;
	uint32_t at = *len, n;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (uint32_t)w >= sizeof(buf) ? sizeof(buf) - 1 : (uint32_t)w;
	if (at + n + 1 > notes.cap) {
		struct tsbpf_buf bigger = { 0 };

		if (!tsbpf_buf_reserve(&bigger, (at + n + 1) * 2))
			return -1;
		if (at)
			memcpy(bigger.data, notes.data, at);
		free(notes.data);
		notes = bigger;
	}
	memcpy(notes.data + at, buf, n);
	notes.data[at + n] = '\0';
	*len = at + n + 1;
	return at;
}

/* Writes line_out: the original records, plus a note on every poisoned instruction and
 * the original line again right after it. */
static int32_t write_lines(struct tsbpf_core_relo_opts *o, uint32_t str_base, uint32_t *notes_len)
{
	const uint8_t *li = o->line_info;
	uint32_t n = o->line_info_cnt, cap = n + 2 * o->poisoned, cnt = 0, out = 0;
	struct line *lines;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *r = li + (size_t)i * LINE_INFO_LEN;

		if (i && rd32(r) < rd32(r - LINE_INFO_LEN))
			return tsbpf_error(-EINVAL, "CO-RE: line_info record %u is out of instruction order", i);
		if (!btf_str(o->local, rd32(r + 4)) || !btf_str(o->local, rd32(r + 8)))
			return tsbpf_error(-EINVAL, "CO-RE: line_info record %u names a string outside the BTF", i);
	}
	lines = calloc(cap ? cap : 1, sizeof(*lines));
	if (!lines)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory for line_info");
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *r = li + (size_t)i * LINE_INFO_LEN;

		lines[cnt++] = (struct line){ rd32(r), rd32(r + 4), rd32(r + 8), rd32(r + 12), PRIO_ORIGINAL };
	}
	for (uint32_t k = 0; k < o->relo_cnt; k++) {
		const struct tsbpf_core_result *res = &o->results[k];
		int32_t at = line_at(li, n, res->insn);
		const uint8_t *r = at >= 0 ? li + (size_t)at * LINE_INFO_LEN : NULL;
		const char *src = r ? btf_str(o->local, rd32(r + 8)) : NULL;
		uint32_t after = res->insn + res->slots;
		int64_t note;

		/* Without a record to extend (no line_info at all) a lone one would make the
		 * kernel ask for records at every function's start: leave it. */
		if (res->status != TSBPF_CORE_POISONED || !r || cnt + 2 > cap)
			continue;
		while (src && (*src == ' ' || *src == '\t'))
			src++;
		note = add_note(notes_len, "instruction poisoned by CO-RE: %s of %s, line %u: %s", core_kind_name(res->kind),
				res->desc ? res->desc : "?", rd32(r + 12) >> 10, src ? src : "");
		if (note < 0) {
			free(lines);
			return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory for line_info");
		}
		/* Line 0: the verifier prints a record only when file or line differ from the last
		 * one it printed, and the note must show even inside its original line. */
		lines[cnt++] = (struct line){ res->insn, rd32(r + 4), str_base + (uint32_t)note, 0, PRIO_POISON };
		/* Instructions after it belong to the original line again, unless they have
		 * their own record (which then wins). */
		if (after < o->insn_cnt && !poisoned_at(o, after))
			lines[cnt++] = (struct line){ after, rd32(r + 4), rd32(r + 8), rd32(r + 12), PRIO_RESTORE };
	}
	qsort(lines, cnt, sizeof(*lines), cmp_line);
	if (!tsbpf_buf_reserve(&line_out, (cnt ? cnt : 1) * LINE_INFO_LEN)) {
		free(lines);
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory for line_info");
	}
	for (uint32_t i = 0; i < cnt; i++) {
		uint8_t *w = line_out.data + (size_t)out * LINE_INFO_LEN;

		if (i > 0 && lines[i].insn == lines[i - 1].insn)
			continue; /* the first of a slot has the highest priority */
		wr32(w, lines[i].insn);
		wr32(w + 4, lines[i].file);
		wr32(w + 8, lines[i].line);
		wr32(w + 12, lines[i].col);
		out++;
	}
	free(lines);
	o->line_info_out = line_out.data;
	o->line_info_out_cnt = out;
	return 0;
}

/* The program's BTF: select the types, relocate, then write BTF and records. */
static int32_t relocate_with_btf(struct tsbpf_core_relo_opts *o)
{
	const uint8_t *fi = o->func_info;
	uint32_t n_roots = 0, notes_len = 0, size = 0;
	uint32_t *roots;
	struct prog_btf sel;
	int32_t err;

	if (o->local->base)
		return tsbpf_error(-EINVAL, "CO-RE: the object's BTF cannot be split BTF");
	roots = malloc(((size_t)o->func_info_cnt + o->relo_cnt + 1) * sizeof(uint32_t));
	if (!roots)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory");
	for (uint32_t i = 0; i < o->func_info_cnt; i++) {
		uint32_t id = rd32(fi + (size_t)i * FUNC_INFO_LEN + 4);

		if (btf_kind(o->local, id) != BTF_KIND_FUNC) {
			free(roots);
			return tsbpf_error(-EINVAL, "CO-RE: func_info record %u names type [%u], which is not a FUNC", i, id);
		}
		roots[n_roots++] = id;
	}
	for (uint32_t i = 0; i < o->relo_cnt; i++) {
		const uint8_t *r = (const uint8_t *)o->relos + (size_t)i * 16;

		if (rd32(r + 12) == BPF_CORE_TYPE_ID_LOCAL)
			roots[n_roots++] = rd32(r + 4);
	}
	err = prog_btf_select(o->local, roots, n_roots, &sel);
	free(roots);
	if (err)
		return err;
	err = core_relocate_records(o, sel.new_id, sel.n_ids);
	if (!err)
		err = write_lines(o, o->local->strs_len, &notes_len);
	if (!err)
		err = prog_btf_write(o->local, &sel, (const char *)notes.data, notes_len, &btf_out, &size);
	if (!err && !tsbpf_buf_reserve(&func_out, (o->func_info_cnt ? o->func_info_cnt : 1) * FUNC_INFO_LEN))
		err = tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory for func_info");
	if (!err) {
		for (uint32_t i = 0; i < o->func_info_cnt; i++) {
			const uint8_t *r = fi + (size_t)i * FUNC_INFO_LEN;

			wr32(func_out.data + (size_t)i * FUNC_INFO_LEN, rd32(r));
			wr32(func_out.data + (size_t)i * FUNC_INFO_LEN + 4, sel.new_id[rd32(r + 4)]);
		}
		o->btf = btf_out.data;
		o->btf_size = size;
		o->func_info_out = func_out.data;
		o->func_info_out_cnt = o->func_info_cnt;
	}
	prog_btf_free(&sel);
	return err;
}

int32_t tsbpf_core_relocate(struct tsbpf_core_relo_opts *o)
{
	int32_t err;

	tsbpf_begin(-1);
	if (!OPTS_VALID(o, struct tsbpf_core_relo_opts))
		return tsbpf_error(-EINVAL, "CO-RE: missing or malformed options");
	if (o->flags & ~(uint32_t)TSBPF_CORE_PROG_BTF)
		return tsbpf_error(-EINVAL, "CO-RE: unknown flags 0x%x", o->flags);
	if (!o->local)
		return tsbpf_error(-EINVAL, "CO-RE: the object's BTF is missing");
	if ((o->insn_cnt && !o->insns) || (o->relo_cnt && (!o->relos || !o->results)) ||
	    (o->n_targets && !o->targets) || (o->func_info_cnt && !o->func_info) ||
	    (o->line_info_cnt && !o->line_info))
		return tsbpf_error(-EINVAL, "CO-RE: a count is set without its buffer");
	if (o->n_targets > MAX_TARGETS)
		return tsbpf_error(-EINVAL, "CO-RE: %u target BTFs are too many", o->n_targets);
	for (uint32_t t = 0; t < o->n_targets; t++)
		if (o->targets[t] && t > 0 && o->targets[t]->base && o->targets[t]->base != o->targets[0])
			return tsbpf_error(-EINVAL, "CO-RE: target %u is split BTF on another base than target 0", t);
	/* One huge program's BTF should not pin that much memory until the process exits. */
	tsbpf_buf_trim(&btf_out, 1u << 20);
	tsbpf_buf_trim(&notes, 1u << 20);
	o->poisoned = 0;
	o->btf = o->func_info_out = o->line_info_out = NULL;
	o->btf_size = o->func_info_out_cnt = o->line_info_out_cnt = 0;
	if (o->flags & TSBPF_CORE_PROG_BTF)
		err = relocate_with_btf(o);
	else
		err = core_relocate_records(o, NULL, 0);
	return err < 0 ? err : (int32_t)o->poisoned;
}
