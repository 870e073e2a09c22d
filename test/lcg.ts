// A seeded generator for tests that must be reproducible (never for anything a node could predict).

/**
 * Park–Miller (minimal standard, multiplier 48271) for a seed ≥ 1, returning [0, 1). Its state must stay in
 * 1..2^31−2: 2^31−1 ≡ 0 is a fixed point (every draw 0), so the seed is reduced into that range first.
 */
export function lcg(seed: number): () => number {
	let s = seed % 2147483646 || 2147483646;
	return () => (s = (s * 48271) % 2147483647) / 2147483647;
}
