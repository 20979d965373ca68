/*
 * The program tag: what the kernel's bpf_prog_calc_tag() computes before verification,
 * the first 8 bytes of a hash over the instructions, with the immediates of ld_imm64
 * instructions that name a map by fd (BPF_PSEUDO_MAP_FD / _VALUE) zeroed because fds
 * differ from one process to the next. The hash was SHA-1 until Linux 6.18 and is SHA-256
 * since. Both are written here from FIPS 180-4.
 */
#include "insn_internal.h"

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct hash {
	uint32_t h[8];
	uint8_t block[64];
	uint32_t used;
	uint64_t total;
	void (*compress)(uint32_t *h, const uint8_t *block);
};

static void sha1_compress(uint32_t *h, const uint8_t *block)
{
	uint32_t w[80];
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = be32(block + 4 * i);
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, tmp;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		tmp = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(b, 30);
		b = a;
		a = tmp;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_compress(uint32_t *h, const uint8_t *block)
{
	uint32_t w[64];
	uint32_t s[8];

	for (int i = 0; i < 16; i++)
		w[i] = be32(block + 4 * i);
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(s, h, sizeof(s));
	for (int i = 0; i < 64; i++) {
		uint32_t e = s[4], a = s[0];
		uint32_t t1 = s[7] + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & s[5]) ^ (~e & s[6])) +
			      sha256_k[i] + w[i];
		uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2]));
		memmove(s + 1, s, 7 * sizeof(s[0]));
		s[4] += t1;
		s[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += s[i];
}

static void hash_init(struct hash *x, uint32_t which)
{
	static const uint32_t sha1_iv[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
	static const uint32_t sha256_iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memset(x, 0, sizeof(*x));
	if (which == TSBPF_TAG_SHA1) {
		memcpy(x->h, sha1_iv, sizeof(sha1_iv));
		x->compress = sha1_compress;
	} else {
		memcpy(x->h, sha256_iv, sizeof(sha256_iv));
		x->compress = sha256_compress;
	}
}

static void hash_update(struct hash *x, const uint8_t *p, uint32_t n)
{
	x->total += n;
	while (n) {
		uint32_t take = 64 - x->used < n ? 64 - x->used : n;
		memcpy(x->block + x->used, p, take);
		x->used += take;
		p += take;
		n -= take;
		if (x->used == 64) {
			x->compress(x->h, x->block);
			x->used = 0;
		}
	}
}

/* Pads (0x80, zeros, the bit length big-endian) and writes the first 8 bytes of the digest. */
static void hash_tag(struct hash *x, uint8_t out[8])
{
	uint64_t bits = x->total * 8;
	uint8_t pad = 0x80;
	uint8_t len[8];

	hash_update(x, &pad, 1);
	pad = 0;
	while (x->used != 56)
		hash_update(x, &pad, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	hash_update(x, len, 8);
	for (int i = 0; i < 2; i++) {
		out[4 * i] = (uint8_t)(x->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(x->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(x->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)x->h[i];
	}
}

int32_t tsbpf_insns_tag(const uint8_t *code, uint32_t code_len, uint32_t hash, uint8_t *out)
{
	struct hash x;
	bool was_ld_map = false;

	tsbpf_begin(-1);
	if ((code_len && !code) || !out)
		return tsbpf_error(-EINVAL, "missing bytecode or output buffer");
	if (code_len % 8)
		return tsbpf_error(-EINVAL, "bytecode of %u bytes is not a whole number of 8-byte instructions", code_len);
	if (hash != TSBPF_TAG_SHA1 && hash != TSBPF_TAG_SHA256)
		return tsbpf_error(-EINVAL, "unknown tag hash %u (1: SHA-1, 2: SHA-256)", hash);
	hash_init(&x, hash);
	/* The same walk as the kernel's: the first half of a map ld_imm64 loses its imm, and so
	 * does the slot after it when that looks like a second half (code, regs and off zero). */
	for (uint32_t i = 0; i < code_len; i += 8) {
		struct bpf_insn insn;

		memcpy(&insn, code + i, sizeof(insn));
		if (!was_ld_map && insn.code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    (insn.src_reg == BPF_PSEUDO_MAP_FD || insn.src_reg == BPF_PSEUDO_MAP_VALUE)) {
			was_ld_map = true;
			insn.imm = 0;
		} else if (was_ld_map && insn.code == 0 && insn.dst_reg == 0 && insn.src_reg == 0 && insn.off == 0) {
			was_ld_map = false;
			insn.imm = 0;
		} else {
			was_ld_map = false;
		}
		hash_update(&x, (const uint8_t *)&insn, sizeof(insn));
	}
	hash_tag(&x, out);
	return 8;
}
