// Placement as a pure function: verified hardware first, then reliability (in 1 % steps), the asked-for region,
// price; whole nodes only.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { place, rank, unplaceable, type Candidate } from "../../workers/domain/placement.ts";

const node = (node_id: string, o: Partial<Candidate> = {}): Candidate => ({
	node_id,
	gpu_count: 1,
	region: null,
	reliability: 1,
	price_cents: 39,
	verified: 0,
	bandwidth: 0,
	...o,
});
const ids = (cs: Candidate[] | null) => cs?.map((c) => c.node_id) ?? null;

describe("rank", () => {
	it("puts the more reliable node first, even against locality and price", () => {
		expect(
			ids(
				rank(
					[
						node("a", { reliability: 0.9, region: "eu", price_cents: 10 }),
						node("b", { reliability: 0.99, region: "us", price_cents: 99 }),
					],
					"eu",
				),
			),
		).toEqual(["b", "a"]);
	});

	it("prefers the asked-for region between equally reliable nodes, then the lower price", () => {
		const cands = [
			node("a", { region: "us", price_cents: 10 }),
			node("b", { region: "eu", price_cents: 50 }),
			node("c", { region: "eu", price_cents: 20 }),
		];
		expect(ids(rank(cands, "eu"))).toEqual(["c", "b", "a"]);
	});

	it("treats reliabilities within the same 1 % step as equal, so locality decides", () => {
		expect(
			ids(
				rank([node("a", { reliability: 0.991, region: "us" }), node("b", { reliability: 0.988, region: "eu" })], "eu"),
			),
		).toEqual(["b", "a"]);
	});

	it("orders by price without a region, and by node id when all else is equal", () => {
		expect(ids(rank([node("c", { region: "eu" }), node("b", { price_cents: 20 }), node("a")], null))).toEqual([
			"b",
			"a",
			"c",
		]);
	});
});

describe("place", () => {
	it("takes whole nodes in rank order whose GPUs add up exactly, skipping one that would overshoot", () => {
		const cands = [
			node("a", { gpu_count: 4 }),
			node("b", { gpu_count: 8, reliability: 0.99 }),
			node("c", { gpu_count: 2, reliability: 0.98 }),
			node("d", { gpu_count: 2, reliability: 0.97 }),
		];
		expect(ids(place(cands, 8, null))).toEqual(["a", "c", "d"]);
		expect(ids(place(cands, 12, null))).toEqual(["a", "b"]);
	});

	it("returns null when the idle pool cannot make the count", () => {
		expect(place([node("a", { gpu_count: 4 }), node("b", { gpu_count: 4 })], 6, null)).toBeNull();
		expect(place([node("a", { gpu_count: 4 })], 5, null)).toBeNull();
	});

	it("places verified nodes before unverified ones, whatever their reliability", () => {
		const cands = [node("a", { reliability: 1 }), node("b", { reliability: 0.5, verified: 1 })];
		expect(ids(rank(cands, null))).toEqual(["b", "a"]);
		expect(ids(place(cands, 1, null))).toEqual(["b"]);
	});

	it("prefers the better-connected of equally reliable nodes, never over verification or reliability", () => {
		const cands = [
			node("slow", { bandwidth: 1 }),
			node("fast", { bandwidth: 4 }),
			node("unreliable", { bandwidth: 4, reliability: 0.9 }),
			node("proven", { verified: 1 }),
		];
		expect(ids(rank(cands, null))).toEqual(["proven", "fast", "slow", "unreliable"]);
	});
});

describe("place by exact fill", () => {
	it("fills 4 GPUs from idle nodes of 3, 3, 2 and 2 GPUs (the two 2-GPU nodes)", () => {
		const cands = [
			node("a", { gpu_count: 3 }),
			node("b", { gpu_count: 3 }),
			node("c", { gpu_count: 2, reliability: 0.9 }),
			node("d", { gpu_count: 2, reliability: 0.8 }),
		];
		expect(ids(place(cands, 4, null))).toEqual(["c", "d"]);
		expect(ids(place(cands, 6, null))).toEqual(["a", "b"]);
		expect(ids(place(cands, 7, null))).toEqual(["a", "c", "d"]);
		expect(place(cands, 1, null)).toBeNull();
		expect(place(cands, 11, null)).toBeNull();
	});

	it("keeps the ranking as the tie-breaker: the best-ranked node that is in any exact fill is taken", () => {
		// 5 = 3 + 2 (verified first) or 4 + 1; the verified 3 is ranked first, so 3 + the better 2.
		const cands = [
			node("four", { gpu_count: 4, reliability: 1 }),
			node("one", { gpu_count: 1, reliability: 1 }),
			node("three", { gpu_count: 3, verified: 1 }),
			node("two-slow", { gpu_count: 2, bandwidth: 1 }),
			node("two-fast", { gpu_count: 2, bandwidth: 4 }),
		];
		expect(ids(place(cands, 5, null))).toEqual(["three", "two-fast"]);
		// Ranked: three, two-fast, two-slow, four, one. Taking each that fits makes 3 + 2 + 2 + 1 = 8 ≠ 9; the exact
		// fill keeps the best-ranked nodes it can: three, two-fast, then four instead of two-slow.
		expect(ids(place(cands, 9, null))).toEqual(["three", "two-fast", "four"]);
	});

	/** Every subset of a small fleet, as the brute-force reference. */
	function exactFills(cands: Candidate[], gpuCount: number): Candidate[][] {
		const out: Candidate[][] = [];
		for (let mask = 0; mask < 1 << cands.length; mask++) {
			const set = cands.filter((_, i) => mask & (1 << i));
			if (set.reduce((s, c) => s + c.gpu_count, 0) === gpuCount) out.push(set);
		}
		return out;
	}
	const fleet = fc
		.array(
			fc.record({
				gpu_count: fc.integer({ min: 1, max: 8 }),
				reliability: fc.constantFrom(0.5, 0.9, 1),
				verified: fc.constantFrom(0, 1),
				bandwidth: fc.integer({ min: 0, max: 4 }),
			}),
			{ maxLength: 11 },
		)
		.map((rs) => rs.map((r, i) => node(`n${String(i).padStart(2, "0")}`, r)));

	it("finds an exact fill whenever one exists, and the one the ranking prefers (checked against brute force)", () => {
		fc.assert(
			fc.property(fleet, fc.integer({ min: 1, max: 40 }), (cands, want) => {
				const fills = exactFills(cands, want);
				const got = place(cands, want, null);
				if (fills.length === 0) return got === null;
				if (got === null) return false;
				// The preferred fill: lexicographically first by rank position.
				const order = new Map(rank(cands, null).map((c, i) => [c.node_id, i]));
				const key = (set: Candidate[]) => set.map((c) => order.get(c.node_id) as number).sort((a, b) => a - b);
				const best = fills.map(key).sort((x, y) => {
					for (let i = 0; i < Math.min(x.length, y.length); i++)
						if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
					return x.length - y.length;
				})[0];
				return (
					JSON.stringify(key(got)) === JSON.stringify(best) && new Set(got.map((c) => c.node_id)).size === got.length
				);
			}),
			{ numRuns: 500 },
		);
	});

	it("places 4096 GPUs from thousands of nodes where taking each that fits in rank order fails", () => {
		// 3,000 well-ranked 3-GPU nodes and 100 lesser 2-GPU ones: 1,365 threes make 4,095 and nothing fits the last GPU;
		// the exact fill keeps the best-ranked 1,364 threes and adds two twos.
		const threes = Array.from({ length: 3000 }, (_, i) => node(`t${String(i).padStart(5, "0")}`, { gpu_count: 3 }));
		const twos = Array.from({ length: 100 }, (_, i) =>
			node(`w${String(i).padStart(5, "0")}`, { gpu_count: 2, reliability: 0.5 }),
		);
		const picked = place([...twos, ...threes], 4096, null) ?? [];
		expect(picked.reduce((s, c) => s + c.gpu_count, 0)).toBe(4096);
		expect(new Set(picked.map((c) => c.node_id)).size).toBe(picked.length);
		expect(ids(picked)).toEqual([...threes.slice(0, 1364), ...twos.slice(0, 2)].map((c) => c.node_id));
		const odd = [node("x", { gpu_count: 3 }), node("y", { gpu_count: 5 }), node("z", { gpu_count: 2, reliability: 0 })];
		expect(ids(place(odd, 7, null))).toEqual(["y", "z"]);
	});
});

describe("unplaceable", () => {
	it("says too few GPUs are idle only when that is so", () => {
		expect(unplaceable([node("a", { gpu_count: 3 })], 4, "RTX 4090")).toBe(
			"Only 3 idle RTX 4090 GPUs are online; 4 were asked for.",
		);
	});

	it("says no set of whole nodes adds up to the count, with their sizes and the nearest count below", () => {
		const cands = [node("a", { gpu_count: 3 }), node("b", { gpu_count: 3 }), node("c", { gpu_count: 8 })];
		expect(place(cands, 7, null)).toBeNull();
		expect(unplaceable(cands, 7, "RTX 4090")).toBe(
			"No set of idle online RTX 4090 nodes adds up to exactly 7 GPUs (a cluster takes whole nodes): " +
				"14 GPUs are idle, on nodes of 8, 3, 3 GPUs. The largest count that can be placed now below 7 is 6.",
		);
	});

	it("groups the sizes of a large pool", () => {
		const cands = Array.from({ length: 20 }, (_, i) => node(`n${i}`, { gpu_count: i < 15 ? 8 : 3 }));
		expect(unplaceable(cands, 7, "H100")).toMatch(/on nodes of 15 × 8, 5 × 3 GPUs\. .* below 7 is 6\.$/);
	});
});
