// Challenge sampling, answers and incident detection.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { challengeSampleSize, echoAnswer, sample } from "../../workers/domain/challenge.ts";
import { DEFAULT_SETTINGS as S } from "../../workers/domain/settings.ts";
import { assignShard } from "../../workers/domain/shards.ts";

describe("challenges", () => {
	it("samples each node once per CHALLENGE_EVERY_S on average", () => {
		let seed = 1;
		const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
		const sweeps = S.challengeEveryS / S.sweepIntervalS;
		let total = 0;
		for (let i = 0; i < sweeps * 50; i++) total += challengeSampleSize(1000, S, random);
		expect(total / 50).toBeGreaterThan(950);
		expect(total / 50).toBeLessThan(1050);
	});

	it("never samples more nodes than there are, nor the same one twice", () => {
		fc.assert(
			fc.property(fc.array(fc.integer(), { maxLength: 50 }), fc.nat(60), (items, k) => {
				const picked = sample(
					items.map((_, i) => i),
					k,
					Math.random,
				);
				return picked.length === Math.min(k, items.length) && new Set(picked).size === picked.length;
			}),
		);
	});

	it("binds the answer to the node, so one answer cannot serve two nodes", async () => {
		expect(await echoAnswer("node_a", "n1")).not.toBe(await echoAnswer("node_b", "n1"));
		expect(await echoAnswer("node_a", "n1")).toMatch(/^[A-Za-z0-9_-]{43}$/);
	});
});

describe("assignShard", () => {
	it("is stable and spreads nodes over every shard", () => {
		const ids = Array.from({ length: 2000 }, (_, i) => `node_${i.toString(36)}x`);
		const shards = new Set(ids.map((id) => assignShard(id, null, 16)));
		expect(shards.size).toBe(16);
		expect(assignShard("node_abc", "eu", 16)).toBe(assignShard("node_abc", "eu", 16));
		expect(assignShard("node_abc", "eu", 16)).toMatch(/^eu-\d+$/);
	});
});
