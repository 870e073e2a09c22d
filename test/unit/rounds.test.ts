// Co-scheduled rounds, the pure parts (docs/VERIFICATION.md §14): who is challenged together, the verdicts, and
// the GPUs a round proves behind an address; and the consecutive-failure rule (§10).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	MAX_GROUP,
	MIN_DECOYS,
	judgeRound,
	membersOf,
	sharesHardware,
	planRound,
	provenGpus,
	type MemberResult,
} from "../../workers/domain/rounds.ts";
import { afterAttempt, verificationOf, type VerificationRecord } from "../../workers/domain/verification.ts";
import { lcg } from "../lcg.ts";

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("planning a round", () => {
	it("keeps groups of two or more, caps each, and adds decoys that are not suspects", () => {
		fc.assert(
			fc.property(
				fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 8 }),
				fc.integer({ min: 0, max: 60 }),
				fc.noBias(fc.integer({ min: 1, max: 2 ** 31 - 2 })),
				(sizes, others, seed) => {
					const groups = sizes.map((n, g) => ({ key: `net:${g}`, node_ids: ids(`g${g}_`, n) }));
					const pool = [...ids("o", others), ...(groups[0]?.node_ids ?? [])];
					const plan = planRound(groups, pool, lcg(seed));
					expect(plan.groups.map((g) => g.key)).toEqual(groups.filter((g) => g.node_ids.length >= 2).map((g) => g.key));
					for (const g of plan.groups) {
						const whole = groups.find((x) => x.key === g.key)?.node_ids ?? [];
						expect(g.node_ids.length).toBe(Math.min(MAX_GROUP, whole.length));
						expect(g.node_ids.every((id) => whole.includes(id))).toBe(true);
					}
					const suspects = new Set(plan.groups.flatMap((g) => g.node_ids));
					expect(plan.decoys.every((d) => pool.includes(d) && !suspects.has(d))).toBe(true);
					if (plan.groups.length > 0)
						expect(plan.decoys.length).toBe(
							Math.min(pool.filter((d) => !suspects.has(d)).length, Math.max(MIN_DECOYS, Math.ceil(suspects.size / 2))),
						);
					else expect(plan.decoys).toEqual([]);
				},
			),
		);
	});

	it("lists each member once, with every group it is in (a decoy with none)", () => {
		const m = membersOf({
			groups: [
				{ key: "net:a", node_ids: ["n1", "n2"] },
				{ key: "uuid:x", node_ids: ["n2", "n3"] },
			],
			decoys: ["d1"],
		});
		expect(Object.fromEntries(m)).toEqual({ d1: [], n1: ["net:a"], n2: ["net:a", "uuid:x"], n3: ["uuid:x"] });
	});
});

const member = (
	node_id: string,
	groups: string[],
	outcome: MemberResult["outcome"],
	measured_ms: number | null = 1500,
) => ({ node_id, groups, outcome, measured_ms }) as MemberResult;

describe("judging a round", () => {
	it("calls members late together in one group shared, with every member's timing; a lone late one is late", () => {
		const v = judgeRound([
			member("a", ["net:x"], "late", 3900),
			member("b", ["net:x"], "late", 3800),
			member("c", ["net:x"], "passed", 1500),
			member("d", ["net:y"], "late", 4000),
			member("e", ["net:y"], "passed", 3000), // 75 % of d's time: not served before it
			member("z", [], "late"),
		]);
		expect(v.get("a")).toEqual({
			verdict: "shared",
			group: {
				key: "net:x",
				members: [
					{ node_id: "a", outcome: "late", measured_ms: 3900 },
					{ node_id: "b", outcome: "late", measured_ms: 3800 },
					{ node_id: "c", outcome: "passed", measured_ms: 1500 },
				],
			},
		});
		expect(v.get("b")?.verdict).toBe("shared");
		// c passed in 38 % of a's time in a group of three: served first, on the same device.
		expect([v.get("c"), v.get("d"), v.get("e"), v.get("z")].map((j) => j?.verdict)).toEqual([
			"shared",
			"late",
			"passed",
			"late",
		]);
	});

	it("calls a late member shared when a group-mate was served before it (a queue: about half its time)", () => {
		const v = judgeRound([
			member("first", ["net:q"], "passed", 1500),
			member("second", ["net:q"], "late", 3000),
			member("slow", ["net:h"], "late", 2700),
			member("peer", ["net:h"], "passed", 2000),
		]);
		expect(v.get("second")?.verdict).toBe("shared");
		expect(v.get("first")?.verdict).toBe("shared"); // a small group: the one served first holds the same device
		expect(v.get("slow")?.verdict).toBe("late"); // its neighbour took 74 % of its time: not one after the other
	});

	it("never marks a fast member of a large group for a neighbour's late answer", () => {
		const big = Array.from({ length: 6 }, (_, i) => member(`n${i}`, ["net:dc"], "passed", 1500));
		const v = judgeRound([...big, member("spike", ["net:dc"], "late", 2800)]);
		expect(v.get("spike")?.verdict).toBe("shared");
		expect(big.map((m) => v.get(m.node_id)?.verdict)).toEqual(Array(6).fill("passed"));
	});

	it("concludes nothing from a member that never ended, and a wrong answer is never 'shared'", () => {
		const v = judgeRound([
			member("a", ["uuid:u"], null),
			member("b", ["uuid:u"], "late"),
			member("c", ["uuid:u"], "wrong_answer"),
		]);
		expect([v.get("a")?.verdict, v.get("b")?.verdict, v.get("c")?.verdict]).toEqual(["void", "late", "wrong_answer"]);
	});

	it("proves the GPUs behind an address only as far as they passed together", () => {
		const facts = [
			{ node_id: "a", address_key: "1.1.1.1", gpu_count: 8 },
			{ node_id: "b", address_key: "1.1.1.1", gpu_count: 8 },
			{ node_id: "c", address_key: "2.2.2.2", gpu_count: 4 },
			{ node_id: "d", address_key: "2.2.2.2", gpu_count: 4 },
			{ node_id: "e", address_key: "3.3.3.3", gpu_count: 4 },
			{ node_id: "f", address_key: "unknown", gpu_count: 4 },
			{ node_id: "g", address_key: "unknown", gpu_count: 4 },
		];
		const verdicts = judgeRound([
			member("a", ["net:1"], "passed"),
			member("b", ["net:1"], "passed"),
			member("c", ["net:2"], "passed"),
			member("d", ["net:2"], "late"),
			member("e", [], "passed"),
			member("f", [], "passed"),
			member("g", [], "passed"),
		]);
		expect(Object.fromEntries(provenGpus(facts, verdicts))).toEqual({ "1.1.1.1": 16, "2.2.2.2": 4 });
	});

	it("proves nothing behind an address where a member's challenge never ended (an earlier figure stands)", () => {
		const facts = [
			{ node_id: "a", address_key: "1.1.1.1", gpu_count: 8 },
			{ node_id: "b", address_key: "1.1.1.1", gpu_count: 8 },
		];
		const verdicts = judgeRound([member("a", ["net:1"], "passed"), member("b", ["net:1"], null)]);
		expect(provenGpus(facts, verdicts).size).toBe(0);
	});
});

const claim = { gpu_model: "RTX 4090", gpu_count: 1 };
const base = { ...claim, method: "matmul-freivalds-v1", evidence: "{}", updated_at: 1000 };
const pass = (at: number): VerificationRecord => ({
	...base,
	state: "verified",
	tier: "consumer-high",
	measured_ms: 1500,
	reason: null,
	updated_at: at,
});
const fail = (at: number, reason: VerificationRecord["reason"] = "late"): VerificationRecord => ({
	...base,
	state: "failed",
	tier: null,
	measured_ms: 3900,
	reason,
	evidence: `{"at":${at}}`,
	updated_at: at,
});

describe("the consecutive-failure rule", () => {
	it("keeps a verified node through one failed attempt and fails it on the second in a row", () => {
		const one = afterAttempt(pass(1), fail(2));
		expect(one).toMatchObject({ state: "verified", failures: 1, updated_at: 1, evidence: '{"at":2}' });
		expect(verificationOf(one, claim)).toMatchObject({ state: "verified", failures: 1 });
		expect(afterAttempt(one, fail(3))).toMatchObject({ state: "failed", reason: "late", failures: 2 });
		expect(afterAttempt(one, pass(3))).toMatchObject({ state: "verified", failures: 0, updated_at: 3 });
	});

	it("fails at once a node never verified for the claim, and applies judgements at once", () => {
		expect(afterAttempt(null, fail(1))).toMatchObject({ state: "failed", failures: 1 });
		expect(afterAttempt({ ...pass(1), gpu_count: 2 }, fail(2))).toMatchObject({ state: "failed", failures: 1 });
		for (const reason of ["shared_hardware", "duplicate_identity", "claim_mismatch"] as const) {
			expect(afterAttempt(pass(1), fail(2, reason))).toMatchObject({ state: "failed", reason });
		}
	});
});

describe("shared hardware over rounds", () => {
	it("takes a second `shared` within three rounds: in a row, or with one round between (a farm taking turns)", () => {
		expect(sharesHardware([])).toBe(false);
		expect(sharesHardware(["passed"])).toBe(false);
		expect(sharesHardware(["shared"])).toBe(true);
		expect(sharesHardware(["passed", "shared"])).toBe(true);
		expect(sharesHardware(["late", "passed", "shared"])).toBe(false); // three rounds back: out of the window
	});
});
