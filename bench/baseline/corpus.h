/* What the libbpf baselines share: reading a corpus object into memory, where the corpus
 * is, and a print callback that keeps libbpf quiet. */
#ifndef TSBPF_BENCH_CORPUS_H
#define TSBPF_BENCH_CORPUS_H

#include <stdarg.h>

#include "bench.h"

static inline char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f)
		die(path);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len);
	if (!buf || fread(buf, 1, *len, f) != *len)
		die(path);
	fclose(f);
	return buf;
}

static inline const char *corpus(void)
{
	const char *env = getenv("TSBPF_CORPUS");

	if (env)
		return env;
	if (access("../../shared/corpus/manifest.json", R_OK) == 0)
		return "../../shared/corpus";
	return "/work/shared/corpus";
}

static inline int quiet(int level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

#endif
