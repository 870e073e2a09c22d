// The points formula, accrual from intervals, Merkle proofs and the emission schedule: pure, property-tested.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INCIDENT_GRACE_MS, accrue } from "../../workers/domain/accrual.ts";
import {
	MAX_SUPPLY,
	MICRO,
	emissionBetween,
	monthlyEmission,
	shareRewards,
	MONTH_MS,
} from "../../workers/domain/emission.ts";
import {
	canonicalLeaf,
	leafHash,
	merkleProof,
	merkleRoot,
	verifyProof,
	type LeafRow,
} from "../../workers/domain/merkle.ts";
import { computePoints, tierOf, type PointsInputs } from "../../workers/domain/points.ts";

const inputs = fc.record({
	gpu_model: fc.constantFrom("RTX 4090", "H100", "A100", "RTX 3090", "Apple M2", "Radeon VII"),
	gpu_count: fc.integer({ min: 1, max: 8 }),
	verified: fc.boolean(),
	online_seconds: fc.integer({ min: 0, max: 3600 }),
	incident_seconds: fc.integer({ min: 0, max: 600 }),
	rented_gpu_seconds: fc.integer({ min: 0, max: 28800 }),
	challenges: fc.record({ issued: fc.nat(10), passed: fc.nat(10), failed: fc.nat(3), missed: fc.nat(3) }),
	penalties: fc.array(
		fc.record({
			code: fc.constant("f"),
			reason: fc.constant("r"),
			share: fc.double({ min: 0.01, max: 1, noNaN: true }),
		}),
		{ maxLength: 3 },
	),
}) as fc.Arbitrary<PointsInputs>;

describe("computePoints", () => {
	it("sums its terms to the total", () => {
		fc.assert(
			fc.property(inputs, (i) => {
				const t = computePoints(i);
				return t.points === t.availability_points + t.compute_points - t.penalty_points && t.points >= 0;
			}),
		);
	});

	it("never lowers points for more uptime", () => {
		fc.assert(
			fc.property(
				inputs,
				fc.integer({ min: 0, max: 3600 }),
				(i, more) => computePoints({ ...i, online_seconds: i.online_seconds + more }).points >= computePoints(i).points,
			),
		);
	});

	it("gives a node flagged with a full share zero, and says why", () => {
		fc.assert(
			fc.property(inputs, (i) => {
				const t = computePoints({ ...i, penalties: [{ code: "sybil", reason: "same /24 as 300 nodes", share: 1 }] });
				return t.points === 0 && t.penalty_points === t.availability_points + t.compute_points;
			}),
		);
	});

	it("counts claimed hardware at half weight until it is verified", () => {
		const base = {
			gpu_model: "RTX 4090",
			gpu_count: 1,
			online_seconds: 3600,
			incident_seconds: 0,
			rented_gpu_seconds: 0,
			challenges: { issued: 0, passed: 0, failed: 0, missed: 0 },
			penalties: [],
		};
		expect(computePoints({ ...base, verified: true }).points).toBe(3600);
		expect(computePoints({ ...base, verified: false }).points).toBe(1800);
	});

	it("scales availability by the share of challenges passed", () => {
		const t = computePoints({
			gpu_model: "H100",
			gpu_count: 2,
			verified: false,
			online_seconds: 1800,
			incident_seconds: 0,
			rented_gpu_seconds: 0,
			challenges: { issued: 4, passed: 3, failed: 0, missed: 1 },
			penalties: [],
		});
		// 0.5 h × 2 GPUs × weight 3.0 × 0.5 unverified × 0.75 passed × 3600
		expect(t.availability_points).toBe(4050);
		expect(t.pass_ratio).toBe(0.75);
	});

	it("maps models to documented tiers", () => {
		expect(tierOf("NVIDIA H100 80GB HBM3").tier).toBe("datacenter-hopper");
		expect(tierOf("NVIDIA GeForce RTX 4090").weight_bp).toBe(10000);
		expect(tierOf("Apple M2 Max").tier).toBe("apple-max");
		expect(tierOf("Something Else").tier).toBe("other");
	});
});

describe("accrue", () => {
	const H = 3600_000;
	it("counts online time inside the epoch only", () => {
		expect(accrue([{ started_at: -H, ended_at: H / 2, incident_id: null }], new Map(), 0, H)).toEqual({
			online_seconds: 1800,
			incident_seconds: 0,
		});
	});

	it("credits offline time after a drop in a coordinator incident until the node returns", () => {
		const a = accrue(
			[
				{ started_at: 0, ended_at: 1000_000, incident_id: "inc_1" },
				{ started_at: 1300_000, ended_at: null, incident_id: null },
			],
			new Map([["inc_1", 1010_000]]),
			0,
			H,
		);
		expect(a.incident_seconds).toBe(300);
		expect(a.online_seconds + a.incident_seconds).toBe(3600);
	});

	it("stops crediting INCIDENT_GRACE after the incident ended if the node never returns", () => {
		const a = accrue(
			[{ started_at: 0, ended_at: 100_000, incident_id: "inc_1" }],
			new Map([["inc_1", 200_000]]),
			0,
			10 * H,
		);
		expect(a.incident_seconds).toBe((200_000 + INCIDENT_GRACE_MS - 100_000) / 1000);
	});

	it("credits nothing for an ordinary drop", () => {
		expect(accrue([{ started_at: 0, ended_at: 1000, incident_id: null }], new Map(), 0, H).incident_seconds).toBe(0);
	});
});

const row = (node_id: string, points: number): LeafRow => ({
	epoch: 1,
	node_id,
	account_id: "acc_1",
	gpu_model: "RTX 4090",
	gpu_count: 1,
	tier: "consumer-high",
	tier_weight_bp: 10000,
	verified: 0,
	online_seconds: 3600,
	incident_seconds: 0,
	rented_gpu_seconds: 0,
	challenges_issued: 1,
	challenges_passed: 1,
	challenges_failed: 0,
	challenges_missed: 0,
	availability_points: points,
	compute_points: 0,
	penalty_points: 0,
	points,
	penalties: "[]",
	reward: 7,
});

describe("Merkle proofs", () => {
	it("proves every row of trees of every size, and rejects a changed field", async () => {
		for (const n of [1, 2, 3, 5, 8, 13]) {
			const rows = Array.from({ length: n }, (_, i) => row(`node_${String(i).padStart(3, "0")}`, i * 10));
			const leaves = await Promise.all(rows.map(leafHash));
			const root = await merkleRoot(leaves);
			for (let i = 0; i < n; i++) {
				const proof = await merkleProof(leaves, i);
				expect(await verifyProof(rows[i] as LeafRow, proof, root)).toBe(true);
				expect(
					await verifyProof({ ...(rows[i] as LeafRow), points: (rows[i]?.points as number) + 1 }, proof, root),
				).toBe(false);
			}
		}
	});

	it("encodes a leaf as a JSON array in the documented field order", () => {
		expect(canonicalLeaf(row("node_a", 5)).startsWith('[1,"node_a","acc_1","RTX 4090",1,')).toBe(true);
	});

	it("gives the empty epoch a fixed root", async () => {
		expect(await merkleRoot([])).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	});
});

describe("emission", () => {
	it("emits about 300M over 240 months and never passes the 800M cap", () => {
		const after = monthlyEmission(239).supplyAfter;
		expect(after - 500_000_000).toBeGreaterThan(290_000_000);
		expect(after - 500_000_000).toBeLessThan(310_000_000);
		expect(monthlyEmission(2000).supplyAfter).toBeLessThanOrEqual(MAX_SUPPLY);
	});

	it("starts at 8 % a year of the initial supply", () => {
		expect(monthlyEmission(0).emitted).toBeCloseTo((500_000_000 * 0.08) / 12, 0);
	});

	it("splits a window's emission additively", () => {
		const g = 0;
		const whole = emissionBetween(g, 0, 3 * MONTH_MS);
		const parts = emissionBetween(g, 0, MONTH_MS / 2) + emissionBetween(g, MONTH_MS / 2, 3 * MONTH_MS);
		expect(Math.abs(whole - parts)).toBeLessThanOrEqual(1);
		expect(whole / MICRO).toBeGreaterThan(9_000_000);
	});

	it("shares rewards pro rata without ever handing out more than the emission", () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.array(fc.nat(10 ** 7), { maxLength: 50 }), (e, pts) => {
				const shares = shareRewards(e, pts);
				return (
					shares.reduce((s, x) => s + x, 0) <= e && shares.every((x, i) => x >= 0 && (pts[i] === 0 ? x === 0 : true))
				);
			}),
		);
	});
});

describe("shareRewards", () => {
	const emission = fc.integer({ min: 0, max: 2 ** 40 });
	const someoneEarned = fc
		.array(fc.nat(10 ** 7), { minLength: 1, maxLength: 50 })
		.filter((pts) => pts.some((p) => p > 0));

	it("gives every row floor(emission × points / total points): its share to within one micro-token", () => {
		fc.assert(
			fc.property(emission, someoneEarned, (e, pts) => {
				const total = BigInt(pts.reduce((s, p) => s + p, 0));
				return shareRewards(e, pts).every((x, i) => {
					const exact = BigInt(e) * BigInt(pts[i] as number); // share × total, exactly
					return BigInt(x) * total <= exact && exact < BigInt(x + 1) * total;
				});
			}),
		);
	});

	it("hands out the whole emission when any points exist, less at most one micro-token per earning row", () => {
		fc.assert(
			fc.property(emission, someoneEarned, (e, pts) => {
				const sum = shareRewards(e, pts).reduce((s, x) => s + x, 0);
				const earning = pts.filter((p) => p > 0).length;
				return sum <= e && e - sum <= earning - 1;
			}),
		);
	});

	it("never gives fewer points a larger share", () => {
		fc.assert(
			fc.property(emission, someoneEarned, (e, pts) => {
				const shares = shareRewards(e, pts);
				return pts.every((p, i) =>
					pts.every((q, j) => (p < q ? (shares[i] as number) <= (shares[j] as number) : true)),
				);
			}),
		);
	});

	it("gives nothing when nobody earned points, and splits small emissions as documented", () => {
		expect(shareRewards(1000, [0, 0])).toEqual([0, 0]);
		expect(shareRewards(10, [3, 1])).toEqual([7, 2]); // 7.5 and 2.5, floored; 1 micro-token not emitted
		expect(shareRewards(1000, [1, 1, 1])).toEqual([333, 333, 333]);
		// exact past 2^53 intermediate products
		expect(shareRewards(2 ** 40, [2 ** 23, 2 ** 23])).toEqual([2 ** 39, 2 ** 39]);
	});
});

/** The examples of docs/POINTS.md ("Worked example of a leaf"): the leaves and hashes written there. */
const DOC_LEAF: LeafRow = {
	epoch: 7,
	node_id: "node_ab12cd34ef56",
	account_id: "acc_0123456789ab",
	gpu_model: "RTX 4090",
	gpu_count: 2,
	tier: "consumer-high",
	tier_weight_bp: 10000,
	verified: 0,
	online_seconds: 3000,
	incident_seconds: 300,
	rented_gpu_seconds: 0,
	challenges_issued: 4,
	challenges_passed: 3,
	challenges_failed: 0,
	challenges_missed: 1,
	availability_points: 2475,
	compute_points: 0,
	penalty_points: 0,
	points: 2475,
	penalties: "[]",
	reward: 1234567,
};
const DOC_FLAGGED: LeafRow = {
	...DOC_LEAF,
	gpu_model: "GeForce RTX 4090 \u201cTi\u201d \u00e9\t/\u0001",
	penalty_points: 618,
	points: 1857,
	penalties: JSON.stringify([{ code: "shared_gpu", reason: 'same "GPU" as node_x \u2014 see ticket', share: 0.25 }]),
};

describe("the documented leaf encoding", () => {
	it("gives the worked example of docs/POINTS.md the points, leaf and hash written there", async () => {
		const t = computePoints({
			gpu_model: "RTX 4090",
			gpu_count: 2,
			verified: false,
			online_seconds: 3000,
			incident_seconds: 300,
			rented_gpu_seconds: 0,
			challenges: { issued: 4, passed: 3, failed: 0, missed: 1 },
			penalties: [],
		});
		expect(t).toMatchObject({
			availability_points: 2475,
			compute_points: 0,
			penalty_points: 0,
			points: 2475,
			tier: "consumer-high",
			tier_weight_bp: 10000,
		});
		expect(canonicalLeaf(DOC_LEAF)).toBe(
			'[7,"node_ab12cd34ef56","acc_0123456789ab","RTX 4090",2,' +
				'"consumer-high",10000,0,3000,300,0,4,3,0,1,2475,0,0,2475,"[]",1234567]',
		);
		expect(await leafHash(DOC_LEAF)).toBe("b51034fde034e20ccce64d3cc368e0fdf8e5e3415acb389ea554ffbc8225b4f0");
	});

	it(
		"escapes strings exactly as documented: quote, " + "backslash and control characters; non-ASCII and '/' raw",
		async () => {
			const t = computePoints({
				gpu_model: DOC_FLAGGED.gpu_model as string,
				gpu_count: 2,
				verified: false,
				online_seconds: 3000,
				incident_seconds: 300,
				rented_gpu_seconds: 0,
				challenges: { issued: 4, passed: 3, failed: 0, missed: 1 },
				penalties: [{ code: "shared_gpu", reason: "x", share: 0.25 }],
			});
			expect(t).toMatchObject({ penalty_points: 618, points: 1857 });
			expect(canonicalLeaf(DOC_FLAGGED)).toBe(
				String.raw`[7,"node_ab12cd34ef56","acc_0123456789ab","GeForce RTX 4090 “Ti” é\t/\u0001",2,"consumer-high",` +
					String.raw`10000,0,3000,300,0,4,3,0,1,2475,0,618,1857,"[{\"code\":\"shared_gpu\",\"reason\":` +
					String.raw`\"same \\\"GPU\\\" as node_x — see ticket\",\"share\":0.25}]",1234567]`,
			);
			expect(await leafHash(DOC_FLAGGED)).toBe("6a825aeef84ce5e6f9df8bcf218a856d8a018272cd5a840594e73333c4e8ec27");
			const every = canonicalLeaf({ ...DOC_LEAF, gpu_model: '\b\f\n\r\t\u0000\u001f\u007f\\"/\u2028\u00e9' });
			expect(every).toContain(
				String.raw`"\b\f\n\r\t\u0000\u001f` + "\u007f" + String.raw`\\\"/` + "\u2028\u00e9" + '"',
			);
		},
	);
});
