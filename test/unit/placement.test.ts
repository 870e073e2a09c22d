// Placement as a pure function: verified hardware first, then reliability (in 1 % steps), the asked-for region,
// price; whole nodes only.
import { describe, expect, it } from "vitest";
import { place, rank, type Candidate } from "../../workers/domain/placement.ts";

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
