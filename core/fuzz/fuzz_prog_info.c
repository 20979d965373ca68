/*
 * Reading the kernel's answers about programs, against a scripted kernel: struct
 * bpf_prog_info decoded into struct tsbpf_prog_info (fuzzed info_len and counts, map lists
 * that grow between the two requests, translated instructions the kernel keeps back),
 * BPF_PROG_QUERY (counts that change between calls), BPF_PROG_ATTACH / DETACH with fuzzed
 * fds, types and flags, BPF_ENABLE_STATS, and struct bpf_map_info.
 *
 * Invariants: a result or an error, never both; the stub checks that the nested map_ids and
 * xlated buffers hold what nr_map_ids and xlated_prog_len announce; the arrays reported are
 * readable for the counts reported (read here); names are NUL-terminated; the `have` bits
 * form a prefix (a kernel that knows a field knows every older one).
 */
#include <stdint.h>
#include <string.h>

#include "host_stub.h"
#include "tsbpf/core.h"
#include "tsbpf/map.h"
#include "tsbpf/prog.h"
#include "fuzz_check.h"

static void failed(int32_t ret)
{
	CHECK(ret >= 0 || tsbpf_last_error_reason()[0] != '\0');
}

static void prog_info(uint32_t want)
{
	struct tsbpf_prog_info info;
	uint32_t fields;
	int32_t ret;

	memset(&info, 0, sizeof(info));
	info.sz = sizeof(info);
	info.want = want;
	ret = tsbpf_prog_get_info(stub_take32() % 64, &info);
	failed(ret);
	if (ret < 0)
		return;
	CHECK(info.sz == sizeof(info) && info.want == want);
	fields = info.have & ~(uint32_t)TSBPF_PROG_INFO_XLATED_WITHHELD;
	CHECK((fields & (fields + 1)) == 0);
	CHECK(memchr(info.name, 0, sizeof(info.name)) != NULL);
	/* Answers no kernel gives are refused before the core allocates for them. */
	if (want & TSBPF_PROG_INFO_WANT_MAP_IDS)
		CHECK(info.nr_map_ids <= (1u << 20));
	if (want & TSBPF_PROG_INFO_WANT_XLATED)
		CHECK(info.xlated_prog_len <= (64u << 20));
	if (want & TSBPF_PROG_INFO_WANT_MAP_IDS)
		fuzz_touch(info.map_ids, (uint64_t)info.nr_map_ids * 4);
	else
		CHECK(info.nr_map_ids == 0 && info.map_ids == NULL);
	if (info.xlated) {
		CHECK(want & TSBPF_PROG_INFO_WANT_XLATED);
		CHECK(!(info.have & TSBPF_PROG_INFO_XLATED_WITHHELD));
		fuzz_touch(info.xlated, info.xlated_prog_len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pick;

	stub_reset(data, size);
	while (stub_left() > 0) {
		stub_take(&pick, 1);
		switch (pick % 6) {
		case 0:
			prog_info((pick >> 3) & 3);
			break;
		case 1: {
			struct tsbpf_prog_query q;
			int32_t ret;

			memset(&q, 0, sizeof(q));
			q.sz = sizeof(q);
			q.target_fd = stub_take32();
			q.attach_type = stub_take32();
			q.query_flags = stub_take32();
			ret = tsbpf_prog_query(&q);
			failed(ret);
			if (ret >= 0) {
				CHECK(q.count <= (1u << 20));
				CHECK(q.count == 0 ? q.prog_ids == NULL : q.prog_ids != NULL);
				fuzz_touch(q.prog_ids, (uint64_t)q.count * 4);
			}
			break;
		}
		case 2: {
			uint32_t target = stub_take32(), prog = stub_take32(), type = stub_take32(), flags = stub_take32(),
				 replace = pick & 0x80 ? stub_take32() : 0;

			failed(tsbpf_prog_attach(target, prog, type, flags, replace));
			break;
		}
		case 3: {
			uint32_t target = stub_take32(), prog = stub_take32();

			failed(tsbpf_prog_detach(target, prog, stub_take32()));
			break;
		}
		case 4:
			failed(tsbpf_enable_stats(stub_take32()));
			break;
		default: {
			struct tsbpf_map_info mi;
			int32_t ret = tsbpf_map_get_info(stub_take32(), &mi);

			failed(ret);
			if (ret >= 0)
				CHECK(memchr(mi.name, 0, sizeof(mi.name)) != NULL);
		}
		}
	}
	return 0;
}
