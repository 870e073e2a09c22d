// The compute challenge's matrix generator: Threefry-4x32-20, a counter-based PRNG (shared with the agent).
//
// Why Threefry-4x32-20 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the
// Random123 library): every output block is a pure function of (key, counter), so any row of a matrix is generated
// on its own, in any order, on any thread; it uses only 32-bit additions, rotations and XORs, so CUDA, Metal, C and
// JavaScript all produce the same bits; Random123's C header compiles for CUDA and OpenCL as is, and its published
// known-answer vectors pin the implementation (test/unit/matmul.test.ts checks them). Measured on a 2-core AMD EPYC
// VM (Node 22.23, 2026-12-03): 2^21 entries (all of B) in about 5 ms, 2.5 ns an entry with the unpacking, against
// about 1.9 µs an entry for SHA-256 in counter mode through WebCrypto (one awaited `crypto.subtle.digest` per
// 32-byte block of 64 entries, 120 µs a call in Node): 4 s for B, far too slow for the verifier, which regenerates B
// for every challenge. The matrices need no secrecy (the
// solver is given the seed); what matters is that they are unpredictable before the seed is known and have no
// structure a solver could exploit, which 20 rounds give with a wide margin (13 already pass BigCrush).

/** Skein's key-schedule parity constant, 32-bit variant. */
const PARITY = 0x1bd11bda;

/**
 * Threefry-4x32 with 20 rounds: `out` receives the 4 output words of block (counter c0..c3) under key k0..k3.
 * Words are unsigned 32-bit; the result equals Random123's `threefry4x32_R(20, ctr, key)`. Rounds 0–3 rotate by
 * Random123's R_32x4 constants (10, 26), (11, 21), (13, 27), (23, 5) and rounds 4–7 by (6, 20), (17, 11), (25, 10),
 * (18, 20), repeating; after every 4 rounds, key injection s adds key words (s, s+1, s+2, s+3) mod 5 of
 * (k0, k1, k2, k3, k4 = PARITY ^ k0 ^ k1 ^ k2 ^ k3), plus s on the last word. Written with literal rotations: it is
 * the hot loop of both the solver and the verifier (3× faster than table-driven rotations here).
 */
export function threefry4x32(
	k0: number,
	k1: number,
	k2: number,
	k3: number,
	c0: number,
	c1: number,
	c2: number,
	c3: number,
	out: Uint32Array,
): void {
	let x0 = (c0 + k0) | 0;
	let x1 = (c1 + k1) | 0;
	let x2 = (c2 + k2) | 0;
	let x3 = (c3 + k3) | 0;
	// The five injected key words, rotated by one after each injection.
	let a = k1 | 0;
	let b = k2 | 0;
	let c = k3 | 0;
	let d = (PARITY ^ k0 ^ k1 ^ k2 ^ k3) | 0;
	let e = k0 | 0;
	for (let s = 1; s <= 5; s++) {
		if (s & 1) {
			x0 = (x0 + x1) | 0;
			x1 = ((x1 << 10) | (x1 >>> 22)) ^ x0;
			x2 = (x2 + x3) | 0;
			x3 = ((x3 << 26) | (x3 >>> 6)) ^ x2;
			x0 = (x0 + x3) | 0;
			x3 = ((x3 << 11) | (x3 >>> 21)) ^ x0;
			x2 = (x2 + x1) | 0;
			x1 = ((x1 << 21) | (x1 >>> 11)) ^ x2;
			x0 = (x0 + x1) | 0;
			x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
			x2 = (x2 + x3) | 0;
			x3 = ((x3 << 27) | (x3 >>> 5)) ^ x2;
			x0 = (x0 + x3) | 0;
			x3 = ((x3 << 23) | (x3 >>> 9)) ^ x0;
			x2 = (x2 + x1) | 0;
			x1 = ((x1 << 5) | (x1 >>> 27)) ^ x2;
		} else {
			x0 = (x0 + x1) | 0;
			x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
			x2 = (x2 + x3) | 0;
			x3 = ((x3 << 20) | (x3 >>> 12)) ^ x2;
			x0 = (x0 + x3) | 0;
			x3 = ((x3 << 17) | (x3 >>> 15)) ^ x0;
			x2 = (x2 + x1) | 0;
			x1 = ((x1 << 11) | (x1 >>> 21)) ^ x2;
			x0 = (x0 + x1) | 0;
			x1 = ((x1 << 25) | (x1 >>> 7)) ^ x0;
			x2 = (x2 + x3) | 0;
			x3 = ((x3 << 10) | (x3 >>> 22)) ^ x2;
			x0 = (x0 + x3) | 0;
			x3 = ((x3 << 18) | (x3 >>> 14)) ^ x0;
			x2 = (x2 + x1) | 0;
			x1 = ((x1 << 20) | (x1 >>> 12)) ^ x2;
		}
		x0 = (x0 + a) | 0;
		x1 = (x1 + b) | 0;
		x2 = (x2 + c) | 0;
		x3 = (x3 + d + s) | 0;
		const t = a;
		a = b;
		b = c;
		c = d;
		d = e;
		e = t;
	}
	out[0] = x0;
	out[1] = x1;
	out[2] = x2;
	out[3] = x3;
}

/** Entries per Threefry block: 4 words × 8 four-bit nibbles. */
export const ENTRIES_PER_BLOCK = 32;

/**
 * Fills `out[offset … offset + count)` with matrix entries of stream `stream` under `key` (4 words): block b (counter
 * (b, stream, 0, 0)) gives entries 32b … 32b + 31, word w's nibble j (bits 4j … 4j + 3, least significant first) is
 * entry 32b + 8w + j, and an entry is the nibble minus 8, so every entry lies in [−8, 7]. `count` is a multiple of 32.
 */
export function fillEntries(key: Uint32Array, stream: number, out: Int8Array, offset: number, count: number): void {
	const k0 = key[0] as number;
	const k1 = key[1] as number;
	const k2 = key[2] as number;
	const k3 = key[3] as number;
	const words = new Uint32Array(4);
	for (let b = 0, o = offset; b < count / ENTRIES_PER_BLOCK; b++) {
		threefry4x32(k0, k1, k2, k3, b, stream, 0, 0, words);
		for (let w = 0; w < 4; w++) {
			const x = words[w] as number;
			out[o++] = (x & 15) - 8;
			out[o++] = ((x >>> 4) & 15) - 8;
			out[o++] = ((x >>> 8) & 15) - 8;
			out[o++] = ((x >>> 12) & 15) - 8;
			out[o++] = ((x >>> 16) & 15) - 8;
			out[o++] = ((x >>> 20) & 15) - 8;
			out[o++] = ((x >>> 24) & 15) - 8;
			out[o++] = ((x >>> 28) & 15) - 8;
		}
	}
}
