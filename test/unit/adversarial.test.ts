// The adversarial benchmark's pure parts: the simulated cards and lines, the fleet's make-up, and the scoring.
import { describe, expect, it } from "vitest";
import { duplicateUuidIdentities, planFleet, sharingIdentities, type Attack } from "../../bench/adversarial-plan.ts";
import {
	type ChallengeOutcome,
	garbageRows,
	honestFalsePositives,
	type Observed,
	passChance,
	scoreChallenges,
	scoreIdentities,
	type Truth,
	wilson,
} from "../../bench/adversarial-score.ts";
import { DeviceQueue, expectedPassShare, Line, macsPerSecond, passingShare, soloMs } from "../../bench/devices.ts";
import { passProbability, proofMs } from "../../workers/domain/matmul.ts";
import { MAX_RTT_MS } from "../../workers/domain/verify-session.ts";
import { lcg } from "../lcg.ts";

describe("simulated cards", () => {
	it("makes an honest card of the claimed class take 4.8–7.3 s, inside the 8.4 s that proves the claim", () => {
		expect(soloMs("RTX 4090", 1, "RTX 4090")).toBeCloseTo(5800, -1);
		expect(soloMs("H100 PCIe", 1, "NVIDIA H100 PCIe")).toBeCloseTo(5800, -1);
		expect(soloMs("RTX 4090", 1.2, "RTX 4090")).toBeGreaterThan(4800);
		expect(soloMs("RTX 4090", 0.8, "RTX 4090")).toBeLessThan(7300);
		expect(proofMs("RTX 4090", 0)).toBe(8400);
	});

	it("makes a card one tier below its claim miss the proof unless it is among the fastest of its kind", () => {
		// A 4080 runs at 59 % of a 4090; the claim is proven down to ~68 % of the class's nominal speed (100 ms round
		// trip), so only 4080s at +17 % or more pass, and holding the ack back 450 ms lets those at +11 % through.
		expect(soloMs("RTX 4080", 1, "RTX 4090") / soloMs("RTX 4090", 1, "RTX 4090")).toBeCloseTo(660.6 / 389.9, 3);
		expect(passingShare("RTX 4090", 100)).toBeCloseTo(5800 / 8500, 3);
		expect(soloMs("RTX 4080", 1.16, "RTX 4090")).toBeGreaterThan(proofMs("RTX 4090", 0));
		expect(soloMs("RTX 4080", 1.18, "RTX 4090")).toBeLessThan(proofMs("RTX 4090", 0));
		expect(expectedPassShare("RTX 4080", "RTX 4090", 0)).toBeCloseTo(0.075, 2);
		expect(expectedPassShare("RTX 4080", "RTX 4090", 450)).toBeCloseTo(0.224, 2);
		expect(expectedPassShare("RTX 4090", "RTX 4090", 0)).toBe(1); // every honest card proves its own claim
		expect(expectedPassShare("RTX 3090", "RTX 4090", 450)).toBe(0);
		expect(soloMs("RTX 4090", 1.2, "H100")).toBeGreaterThan(proofMs("H100", MAX_RTT_MS));
	});

	it("time-slices a shared card: two challenges at once both take twice as long", () => {
		const q = new DeviceQueue(macsPerSecond("RTX 4090", 1), "share");
		const work = 1e12;
		const solo = (work / macsPerSecond("RTX 4090", 1)) * 1000;
		q.submit("a", work, 0);
		q.submit("b", work, 0);
		expect(q.nextFinish()).toBeCloseTo(2 * solo, 6);
		const done = q.advance(10 * solo);
		expect(done.map((d) => d.id).sort()).toEqual(["a", "b"]);
		for (const d of done) expect(d.at).toBeCloseTo(2 * solo, 6);
	});

	it("queues on a farm's scheduler: the first challenge finishes as on a card of its own, the second after it", () => {
		const q = new DeviceQueue(1000, "queue");
		q.submit("a", 1000, 0);
		q.submit("b", 1000, 0);
		expect(q.advance(5000)).toEqual([
			{ id: "a", at: 1000 },
			{ id: "b", at: 2000 },
		]);
	});

	it("shares only while both run: a challenge arriving halfway slows the first one's second half", () => {
		const q = new DeviceQueue(1000, "share");
		q.submit("a", 1000, 0);
		expect(q.submit("b", 1000, 500)).toEqual([]);
		// a: 500 done alone, its other 500 at half speed → 1500; b: 500 shared by 1500, the rest alone → 2000.
		expect(q.advance(1500)).toEqual([{ id: "a", at: 1500 }]);
		expect(q.advance(2500)).toEqual([{ id: "b", at: 2000 }]);
	});

	it("frees the card when a challenge is given up", () => {
		const q = new DeviceQueue(1000, "share");
		q.submit("a", 1000, 0);
		q.submit("b", 1000, 0);
		q.cancel("b", 500);
		expect(q.advance(5000)).toEqual([{ id: "a", at: 1250 }]);
	});

	it("keeps a line's messages in order, whatever their delays", () => {
		const line = new Line({ baseMs: 20, jitterMs: 50, spikeP: 0.3, spikeMs: [200, 1500] }, lcg(3));
		let last = 0;
		for (let t = 0; t < 2000; t += 5) {
			const at = line.arrival(t);
			expect(at).toBeGreaterThanOrEqual(Math.max(last, t + 20));
			last = at;
		}
		expect(line.spikes).toBeGreaterThan(50);
	});
});

describe("the fleet's make-up", () => {
	const plan = planFleet(200, lcg(7));

	it("is the same for the same seed", () => {
		expect(planFleet(200, lcg(7)).identities).toEqual(plan.identities);
	});

	it("puts every farm and crowded address on fewer cards than identities, and nobody else on a shared card", () => {
		const sharing = sharingIdentities(plan);
		for (const p of plan.identities) {
			const isSharer = p.attack === "farm" || p.attack === "one_address";
			expect(sharing.has(p.index), `${p.index} ${p.attack}`).toBe(isSharer);
		}
	});

	it("reports one UUID on two identities only for duplicated UUIDs and shared-UUID farms", () => {
		const dup = duplicateUuidIdentities(plan);
		for (const p of plan.identities)
			expect(dup.has(p.index)).toBe(p.attack === "dup_uuid" || p.variant.startsWith("shared-uuid"));
	});

	it("has overclaimers of every pairing both ack at once and hold their ack back, and nobody else hold it", () => {
		const over = plan.identities.filter((p) => p.attack === "overclaim");
		for (const claim of new Set(over.map((p) => p.variant.split(",")[0])))
			for (const held of [true, false])
				expect(
					over.some((p) => p.variant.startsWith(`${claim}`) && p.ackHoldMs > 0 === held),
					`${claim}`,
				).toBe(true);
		expect(plan.identities.every((p) => p.ackHoldMs === 0 || p.variant.endsWith("ack held 450 ms"))).toBe(true);
	});

	it("connects from the benchmark range 198.18.0.0/15, one /24 per honest loner", () => {
		for (const p of plan.identities) expect(p.address).toMatch(/^198\.1[89]\.\d+\.\d+$/);
		const loners = plan.identities.filter((p) => p.variant === "alone").map((p) => p.address.split(".", 3).join("."));
		expect(new Set(loners).size).toBe(loners.length);
	});
});

describe("scoring", () => {
	const t = (index: number, attack: Attack, extra: Partial<Truth> = {}): Truth => ({
		index,
		attack,
		variant: "v",
		sharing: attack === "farm",
		duplicateUuid: false,
		fraction: null,
		...extra,
	});
	const ok: Observed = { state: "verified", reason: null, flags: [] };
	const truth = [t(0, "farm"), t(1, "farm"), t(2, "farm"), t(3, "honest"), t(4, "honest"), t(5, "overclaim")];
	const final = new Map<number, Observed>([
		[0, { state: "failed", reason: "shared_hardware", flags: ["shared_hardware"] }],
		[1, { state: "verified", reason: null, flags: ["duplicate_identity"] }],
		[2, ok],
		[3, { state: "verified", reason: null, flags: ["shared_hardware"] }],
		[4, ok],
		[5, { state: "failed", reason: "late", flags: [] }],
	]);

	it("counts a sharer flagged shared_hardware or duplicate_identity as caught, a flagged honest one as false", () => {
		const s = scoreIdentities(truth, final);
		expect(s.sharing).toMatchObject({ n: 3, hit: 2, flagged: 3, flagged_honest: 1 });
		expect(s.sharing.recall).toBeCloseTo(2 / 3);
		expect(s.sharing.precision).toBeCloseTo(2 / 3);
		expect(s.sharingByTiming).toMatchObject({ hit: 1, flagged: 2, flagged_honest: 1 });
		expect(s.overclaim).toMatchObject({ n: 1, hit: 1, recall: 1, precision: 1 });
		expect(s.penalised.honest).toMatchObject({ n: 2, hit: 1 });
	});

	it("rates honest false positives per epoch from who is failed or flagged at each epoch's end", () => {
		const epochs = [new Map([[3, ok]]), final];
		expect(honestFalsePositives(truth, epochs)).toEqual({ honest: 2, perEpoch: [0, 1], pooled: 0.25, worst: 0.5 });
	});

	it("scores challenges that ended, leaving void ones out", () => {
		const c = (identity: number, outcome: ChallengeOutcome["outcome"]): ChallengeOutcome => ({
			identity,
			context: "round 1",
			outcome,
			measured_ms: null,
		});
		const s = scoreChallenges(
			[c(5, "wrong_answer"), c(5, "wrong_answer"), c(5, "passed"), c(5, "void"), c(5, null), c(3, "passed")],
			(i) => i === 5,
			["wrong_answer"],
		);
		expect(s).toEqual({
			n: 3,
			caught: 2,
			recall: 2 / 3,
			outcomes: { wrong_answer: 2, passed: 1, void: 1, unknown: 1 },
		});
	});

	it("expects a partial computer to pass less often at the stand-in's 256 rows than f^32 at the real sizes", () => {
		expect(garbageRows(256, 0.9)).toBe(26);
		const small = passChance(256, garbageRows(256, 0.9), 32);
		expect(small).toBeLessThan(passProbability(0.9, 32));
		expect(small).toBeGreaterThan(0.015);
		expect(passChance(180_363_264, garbageRows(180_363_264, 0.9), 32)).toBeCloseTo(passProbability(0.9, 32), 4);
		expect(passChance(256, 0, 32)).toBe(1);
	});

	it("bounds a rate from its counts (Wilson, 95 %)", () => {
		const [lo, hi] = wilson(96, 100) as [number, number];
		expect(lo).toBeCloseTo(0.9016, 3);
		expect(hi).toBeCloseTo(0.9843, 3);
		expect(wilson(0, 0)).toBeNull();
	});
});
