/*
 * What every fuzz harness needs to state an invariant: CHECK traps (libFuzzer records the
 * input as a crash), and fuzz_touch reads every byte a result claims to hold, so that
 * AddressSanitizer sees a length that runs past its buffer.
 */
#ifndef TSBPF_FUZZ_CHECK_H
#define TSBPF_FUZZ_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

/* Written so the compiler cannot drop the reads. */
static volatile uint8_t fuzz_sink;

static inline void fuzz_touch(const void *p, uint64_t n)
{
	if (n)
		CHECK(p != NULL);
	for (uint64_t i = 0; i < n; i++)
		fuzz_sink ^= ((const uint8_t *)p)[i];
}

static inline void fuzz_touch_str(const char *s)
{
	CHECK(s != NULL);
	fuzz_touch(s, strlen(s) + 1);
}

/* A copy of the input in a heap block of its own size, so reads past it are caught. */
static inline uint8_t *fuzz_copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	CHECK(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

#endif
