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
	LEAF_FIELDS,
	LEAF_FIELDS_ADDED_V2,
	LEAF_FIELDS_ADDED_V3,
	LEAF_FIELDS_V1,
	LEAF_FIELDS_V2,
	canonicalLeaf,
	leafHash,
	merkleProof,
	merkleRoot,
	verifyProof,
	type LeafRow,
} from "../../workers/domain/merkle.ts";
import {
	LOWEST_TIER,
	OTHER_TIER,
	TIERS,
	addressShareBp,
	addressShares,
	computePoints,
	countedGpuSeconds,
	onProbation,
	paidGpuSeconds,
	splitRented,
	tierOf,
	type PointsInputs,
} from "../../workers/domain/points.ts";
import { rowViolations } from "../../workers/domain/invariants.ts";
import { readSettings } from "../../workers/domain/settings.ts";

const inputs = fc.record({
	gpu_model: fc.constantFrom("RTX 4090", "H100", "A100", "RTX 3090", "Apple M2", "Radeon VII"),
	gpu_count: fc.integer({ min: 1, max: 8 }),
	verified: fc.boolean(),
	probation: fc.boolean(),
	address_share_bp: fc.integer({ min: 0, max: 10000 }),
	bandwidth_factor_bp: fc.constantFrom(9000, 10000, 10500, 11000),
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

/** Eight claimed H100s online for a whole hour, nothing else: the figures below scale from it. */
const hour: PointsInputs = {
	gpu_model: "H100",
	gpu_count: 8,
	verified: false,
	probation: false,
	address_share_bp: 10000,
	bandwidth_factor_bp: 10000,
	online_seconds: 3600,
	incident_seconds: 0,
	rented_gpu_seconds: 0,
	challenges: { issued: 0, passed: 0, failed: 0, missed: 0 },
	penalties: [],
};

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

	it("gives a share-1 flag (shared_hardware, duplicate_identity) everything, and names it in the penalties", () => {
		fc.assert(
			fc.property(inputs, fc.constantFrom("shared_hardware", "duplicate_identity"), (i, code) => {
				const flag = { code, reason: "late together with node_x in round vr_1", share: 1 };
				const t = computePoints({ ...i, penalties: [...i.penalties, flag] });
				return t.points === 0 && t.penalty_points === t.availability_points + t.compute_points;
			}),
		);
	});

	it("credits a verified node its tier's full weight for every claimed GPU", () => {
		fc.assert(
			fc.property(inputs, (i) => {
				const t = computePoints({ ...i, verified: true });
				return t.credited_gpus === i.gpu_count && t.effective_weight_bp === tierOf(i.gpu_model).weight_bp;
			}),
		);
		expect(computePoints({ ...hour, verified: true }).availability_points).toBe(86400); // 8 GPUs × 3.0 × 3600
	});

	it("credits a node that is not verified one GPU of the lowest tier, whatever it claims", () => {
		fc.assert(
			fc.property(inputs, (i) => {
				const t = computePoints({ ...i, verified: false });
				const asOneOther = computePoints({ ...i, verified: true, gpu_model: "Radeon VII", gpu_count: 1 });
				return (
					t.credited_gpus === 1 &&
					t.effective_weight_bp === LOWEST_TIER.weight_bp &&
					t.tier === tierOf(i.gpu_model).tier &&
					t.availability_points === asOneOther.availability_points &&
					t.availability_points <= computePoints({ ...i, verified: true }).availability_points
				);
			}),
		);
		// 8 claimed H100s, unverified: one GPU at weight 0.15 for the hour.
		expect(computePoints({ ...hour, verified: false }).availability_points).toBe(540);
		// Rented time of a node that is not verified counts at the lowest weight too: 3600 GPU-s × 0.15 × 2.
		expect(computePoints({ ...hour, verified: false, rented_gpu_seconds: 3600 }).compute_points).toBe(1080);
	});

	it("finds the lowest tier among the table and `other`", () => {
		const all = [...TIERS.map((t) => t.tier), OTHER_TIER];
		expect(all.every((t) => t.weight_bp >= LOWEST_TIER.weight_bp)).toBe(true);
		expect(all).toContain(LOWEST_TIER);
		expect(LOWEST_TIER).toEqual({ tier: "other", weight_bp: 1500 });
	});

	it("pays no availability during probation, but still pays rented time", () => {
		fc.assert(
			fc.property(inputs, (i) => {
				const t = computePoints({ ...i, probation: true });
				const free = computePoints({ ...i, probation: false });
				return t.availability_points === 0 && t.compute_points === free.compute_points;
			}),
		);
		const t = computePoints({ ...hour, verified: true, probation: true, rented_gpu_seconds: 1800 });
		expect(t).toMatchObject({ availability_points: 0, compute_points: 10800, points: 10800 });
	});

	it("reads PROBATION_S (0 allowed: off) and ADDRESS_ALLOWANCE_GPUS, with defaults of 24 h and 8 GPUs", () => {
		expect(readSettings({})).toMatchObject({ probationS: 86_400, addressAllowanceGpus: 8 });
		expect(readSettings({ PROBATION_S: "0", ADDRESS_ALLOWANCE_GPUS: "0" })).toMatchObject({
			probationS: 0,
			addressAllowanceGpus: 8, // an allowance of no GPU is not a setting: the default stays
		});
		expect(readSettings({ PROBATION_S: "", ADDRESS_ALLOWANCE_GPUS: "64" })).toMatchObject({
			probationS: 86_400,
			addressAllowanceGpus: 64,
		});
	});

	it("puts an epoch on probation when it starts less than PROBATION_S after registration; 0 turns it off", () => {
		const day = 86_400;
		const at = 1_700_000_000_000;
		expect(onProbation(at, at - 1000, day)).toBe(true); // the epoch it registered in
		expect(onProbation(at, at + day * 1000 - 1, day)).toBe(true);
		expect(onProbation(at, at + day * 1000, day)).toBe(false);
		expect(onProbation(at, at - 1000, 0)).toBe(false);
	});

	it("scales availability by the address share and the bandwidth factor, and nothing else by them", () => {
		fc.assert(
			fc.property(inputs, fc.integer({ min: 0, max: 10000 }), (i, less) => {
				const t = computePoints(i);
				const lower = computePoints({ ...i, address_share_bp: Math.min(less, i.address_share_bp) });
				const faster = computePoints({ ...i, bandwidth_factor_bp: 11000 });
				return (
					lower.availability_points <= t.availability_points &&
					t.availability_points <= faster.availability_points &&
					lower.compute_points === t.compute_points &&
					faster.compute_points === t.compute_points
				);
			}),
		);
		const t = (address_share_bp: number, bandwidth_factor_bp: number) =>
			computePoints({ ...hour, verified: true, address_share_bp, bandwidth_factor_bp }).availability_points;
		expect(t(10000, 10000)).toBe(86400);
		expect(t(5000, 10000)).toBe(43200);
		expect(t(10000, 9000)).toBe(77760);
		expect(t(10000, 11000)).toBe(95040);
		// Exact: 3600 s × 8 × 30000 × 6666 × 10500 / 10000³ = 60473.952, floored once.
		expect(t(6666, 10500)).toBe(60473);
		// 200 s × 0.9 is 180, not the 179.99999999999997 of a left-to-right evaluation in doubles.
		expect(computePoints({ ...hour, gpu_count: 1, online_seconds: 200, bandwidth_factor_bp: 9000 }).points).toBe(27);
		expect(
			computePoints({
				...hour,
				verified: true,
				gpu_model: "RTX 4090",
				gpu_count: 1,
				online_seconds: 200,
				bandwidth_factor_bp: 9000,
			}).points,
		).toBe(180);
	});

	it("shares an address's allowance: floor(allowance × 10000 / credited GPUs) once they exceed it", () => {
		expect(addressShareBp(8, 8)).toBe(10000);
		expect(addressShareBp(8, 12)).toBe(6666);
		expect(addressShareBp(8, 24)).toBe(3333);
		const shares = addressShares(
			[
				{ address_key: "203.0.113.7", credited_gpus: 8 },
				{ address_key: "203.0.113.7", credited_gpus: 4 },
				{ address_key: "2001:db8:1:2::/64", credited_gpus: 1 },
			],
			(key) => (key === "203.0.113.7" ? 8 : 8),
		);
		expect(Object.fromEntries(shares)).toEqual({ "203.0.113.7": 6666, "2001:db8:1:2::/64": 10000 });
		// A round that proved 12 GPUs behind the address raises its allowance to them.
		expect(addressShares([{ address_key: "a", credited_gpus: 12 }], () => 12).get("a")).toBe(10000);
		fc.assert(
			fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 10_000 }), (allowance, total) => {
				const bp = addressShareBp(allowance, total);
				// Paid GPU-equivalents never exceed the allowance, and the share is never above 1.
				return bp <= 10000 && (total <= allowance ? bp === 10000 : (bp * total) / 10000 <= allowance);
			}),
		);
	});

	it("scales availability by the share of challenges passed", () => {
		const t = computePoints({
			gpu_model: "H100",
			gpu_count: 2,
			verified: true,
			probation: false,
			address_share_bp: 10000,
			bandwidth_factor_bp: 10000,
			online_seconds: 1800,
			incident_seconds: 0,
			rented_gpu_seconds: 0,
			challenges: { issued: 4, passed: 3, failed: 0, missed: 1 },
			penalties: [],
		});
		// 0.5 h × 2 GPUs × weight 3.0 × 0.75 passed × 3600
		expect(t.availability_points).toBe(8100);
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
	leaf_version: 2,
	epoch: 7,
	node_id: "node_ab12cd34ef56",
	account_id: "acc_0123456789ab",
	gpu_model: "RTX 4090",
	gpu_count: 2,
	tier: "consumer-high",
	tier_weight_bp: 10000,
	verified: 1,
	credited_gpus: 2,
	effective_weight_bp: 10000,
	probation: 0,
	address_share_bp: 8000,
	bandwidth_tier: "high",
	bandwidth_factor_bp: 10500,
	online_seconds: 3000,
	incident_seconds: 300,
	rented_gpu_seconds: 0,
	challenges_issued: 4,
	challenges_passed: 3,
	challenges_failed: 0,
	challenges_missed: 1,
	availability_points: 4158,
	compute_points: 0,
	penalty_points: 0,
	points: 4158,
	penalties: "[]",
	reward: 1234567,
};
const DOC_FLAGGED: LeafRow = {
	...DOC_LEAF,
	gpu_model: "GeForce RTX 4090 \u201cTi\u201d \u00e9\t/\u0001",
	penalty_points: 1039,
	points: 3119,
	penalties: JSON.stringify([{ code: "shared_gpu", reason: 'same "GPU" as node_x \u2014 see ticket', share: 0.25 }]),
};
/** POINTS.md "Rows settled before encoding 2": a row of leaf encoding 1, as it was hashed when it was settled. */
const DOC_LEAF_V1: LeafRow = {
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

/** POINTS.md "Worked example of a leaf": the worked example's node with rented time that partly did not count. */
const DOC_LEAF_V3: LeafRow = {
	...DOC_LEAF,
	leaf_version: 3,
	rented_gpu_seconds: 1120,
	self_rented_gpu_seconds: 120,
	unpaid_gpu_seconds: 77,
	compute_points: 1846,
	points: 6004,
};

/** The worked example's inputs (docs/POINTS.md "Worked example"). */
const WORKED: PointsInputs = {
	gpu_model: "RTX 4090",
	gpu_count: 2,
	verified: true,
	probation: false,
	address_share_bp: 8000,
	bandwidth_factor_bp: 10500,
	online_seconds: 3000,
	incident_seconds: 300,
	rented_gpu_seconds: 0,
	challenges: { issued: 4, passed: 3, failed: 0, missed: 1 },
	penalties: [],
};

describe("the documented leaf encoding", () => {
	it("gives the worked example of docs/POINTS.md the points, leaf and hash written there", async () => {
		const t = computePoints(WORKED);
		expect(t).toMatchObject({
			availability_points: 4158,
			compute_points: 0,
			penalty_points: 0,
			points: 4158,
			tier: "consumer-high",
			tier_weight_bp: 10000,
			credited_gpus: 2,
			effective_weight_bp: 10000,
		});
		// The same node unverified: one GPU at the lowest weight, and its address then counts 9 GPUs (share 8888).
		expect(computePoints({ ...WORKED, verified: false, address_share_bp: 8888 }).points).toBe(346);
		expect(computePoints({ ...WORKED, probation: true }).points).toBe(0);
		expect(canonicalLeaf(DOC_LEAF)).toBe(
			'[2,7,"node_ab12cd34ef56","acc_0123456789ab","RTX 4090",2,"consumer-high",10000,1,2,10000,0,8000,"high",' +
				'10500,3000,300,0,4,3,0,1,4158,0,0,4158,"[]",1234567]',
		);
		expect(new TextEncoder().encode(canonicalLeaf(DOC_LEAF)).length).toBe(155);
		expect(await leafHash(DOC_LEAF)).toBe("eac38d61b564de140a5800fb6dd7f544f9730e8a04b18067a9551a990f1eb111");
	});

	it(
		"escapes strings exactly as documented: quote, " + "backslash and control characters; non-ASCII and '/' raw",
		async () => {
			const t = computePoints({
				...WORKED,
				gpu_model: DOC_FLAGGED.gpu_model as string,
				penalties: [{ code: "shared_gpu", reason: "x", share: 0.25 }],
			});
			expect(t).toMatchObject({ penalty_points: 1039, points: 3119 });
			expect(canonicalLeaf(DOC_FLAGGED)).toBe(
				String.raw`[2,7,"node_ab12cd34ef56","acc_0123456789ab","GeForce RTX 4090 “Ti” é\t/\u0001",2,"consumer-high",` +
					String.raw`10000,1,2,10000,0,8000,"high",10500,3000,300,0,4,3,0,1,4158,0,1039,3119,"[{\"code\":\"shared_gpu\",` +
					String.raw`\"reason\":\"same \\\"GPU\\\" as node_x — see ticket\",\"share\":0.25}]",1234567]`,
			);
			expect(await leafHash(DOC_FLAGGED)).toBe("7a28e7b02ccf3f8b4bcbc328f3e65514d7fd8df0255021bb221bf1fe3631b635");
			const every = canonicalLeaf({ ...DOC_LEAF, gpu_model: '\b\f\n\r\t\u0000\u001f\u007f\\"/\u2028\u00e9' });
			expect(every).toContain(
				String.raw`"\b\f\n\r\t\u0000\u001f` + "\u007f" + String.raw`\\\"/` + "\u2028\u00e9" + '"',
			);
		},
	);

	it("hashes a row settled before encoding 2 exactly as it was hashed then", async () => {
		expect(canonicalLeaf(DOC_LEAF_V1)).toBe(
			'[7,"node_ab12cd34ef56","acc_0123456789ab","RTX 4090",2,' +
				'"consumer-high",10000,0,3000,300,0,4,3,0,1,2475,0,0,2475,"[]",1234567]',
		);
		expect(await leafHash(DOC_LEAF_V1)).toBe("b51034fde034e20ccce64d3cc368e0fdf8e5e3415acb389ea554ffbc8225b4f0");
		// As read back from D1 after migration 0012: version 1, nulls in the columns it added.
		const stored = { ...DOC_LEAF_V1, leaf_version: 1, credited_gpus: null, bandwidth_tier: null } as unknown as LeafRow;
		expect(await leafHash(stored)).toBe("b51034fde034e20ccce64d3cc368e0fdf8e5e3415acb389ea554ffbc8225b4f0");
	});

	it("lists encoding 2's fields as encoding 1's with the version first and the new terms after `verified`", () => {
		const v = LEAF_FIELDS_V1.indexOf("verified") + 1;
		expect([...LEAF_FIELDS_V2]).toEqual([
			"leaf_version",
			...LEAF_FIELDS_V1.slice(0, v),
			...LEAF_FIELDS_ADDED_V2,
			...LEAF_FIELDS_V1.slice(v),
		]);
		expect(() => canonicalLeaf({ ...DOC_LEAF, leaf_version: 4 })).toThrow(/leaf_version/);
		expect(() => canonicalLeaf({ ...DOC_LEAF, bandwidth_tier: undefined })).toThrow(/bandwidth_tier/);
	});

	it("lists encoding 3's fields as encoding 2's with the uncounted rented time after `rented_gpu_seconds`", () => {
		const r = LEAF_FIELDS_V2.indexOf("rented_gpu_seconds") + 1;
		expect([...LEAF_FIELDS]).toEqual([
			...LEAF_FIELDS_V2.slice(0, r),
			...LEAF_FIELDS_ADDED_V3,
			...LEAF_FIELDS_V2.slice(r),
		]);
		expect([...LEAF_FIELDS_ADDED_V3]).toEqual(["self_rented_gpu_seconds", "unpaid_gpu_seconds"]);
		expect(() => canonicalLeaf({ ...DOC_LEAF_V3, unpaid_gpu_seconds: undefined })).toThrow(/unpaid_gpu_seconds/);
	});

	it("gives the encoding-3 worked example of docs/POINTS.md the points, leaf and hash written there", async () => {
		// 60 s × 2 GPUs rented by the operator itself, 500 s × 2 GPUs by an independent renter at 39¢ per GPU-hour.
		const split = splitRented([
			{ gpu_seconds: 120, price_cents: 39, tied: true },
			{ gpu_seconds: 1000, price_cents: 39, tied: false },
		]);
		expect(split).toEqual({ rented_gpu_seconds: 1120, self_rented_gpu_seconds: 120, unpaid_gpu_seconds: 77 });
		expect(computePoints({ ...WORKED, ...split })).toMatchObject({ compute_points: 1846, points: 6004 });
		expect(canonicalLeaf(DOC_LEAF_V3)).toBe(
			'[3,7,"node_ab12cd34ef56","acc_0123456789ab","RTX 4090",2,"consumer-high",10000,1,2,10000,0,8000,"high",' +
				'10500,3000,300,1120,120,77,4,3,0,1,4158,1846,0,6004,"[]",1234567]',
		);
		expect(new TextEncoder().encode(canonicalLeaf(DOC_LEAF_V3)).length).toBe(168);
		expect(await leafHash(DOC_LEAF_V3)).toBe("a900bd2e6e9147367033a3385f4556d64b6b1ceeaba29fde69a0292d41e858bb");
		// The encoding-2 rows keep their hashes: read back from D1 after 0014, with nulls in the columns it added.
		const stored = { ...DOC_LEAF, self_rented_gpu_seconds: null, unpaid_gpu_seconds: null } as unknown as LeafRow;
		expect(await leafHash(stored)).toBe("eac38d61b564de140a5800fb6dd7f544f9730e8a04b18067a9551a990f1eb111");
	});
});

describe("rented time that counts", () => {
	it("counts nothing the operator rented from itself: the issue's 60 s self-rental earns 0 compute points", () => {
		// 60 s of 8 GPUs rented by the node's own account: the charge came back as its payout, less the fee.
		const split = splitRented([{ gpu_seconds: 60 * 8, price_cents: 4000, tied: true }]);
		expect(split).toEqual({ rented_gpu_seconds: 480, self_rented_gpu_seconds: 480, unpaid_gpu_seconds: 0 });
		expect(computePoints({ ...WORKED, ...split }).compute_points).toBe(0);
		expect(computePoints({ ...WORKED, rented_gpu_seconds: 480 }).compute_points).toBe(960);
	});

	it("counts nothing of a rental too short to cost a cent (2 s of one GPU is 0¢)", () => {
		expect(paidGpuSeconds(2, 39)).toBe(0);
		expect(paidGpuSeconds(92, 39)).toBe(0); // 0.99¢
		expect(paidGpuSeconds(93, 39)).toBe(92); // 1¢ pays for 3600 / 39 = 92.3 GPU-seconds
		expect(paidGpuSeconds(3600, 39)).toBe(3600); // a whole hour at a whole-cent price counts in full
		expect(paidGpuSeconds(1000, 0)).toBe(0); // nothing paid
		const short = splitRented([{ gpu_seconds: 2, price_cents: 39, tied: false }]);
		expect(short).toEqual({ rented_gpu_seconds: 2, self_rented_gpu_seconds: 0, unpaid_gpu_seconds: 2 });
		expect(computePoints({ ...WORKED, ...short }).compute_points).toBe(0);
	});

	it("never counts more than was paid for, nor more than was rented, and loses under a cent's worth", () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 2000 }), (s, price) => {
				const paid = paidGpuSeconds(s, price);
				const cents = Math.floor((s * price) / 3600);
				return (
					paid >= 0 &&
					paid <= s &&
					paid * price <= cents * 3600 && // what counts is covered by the cents charged
					(s - paid) * price < 3600 + price // and what does not is under one cent's worth (plus flooring)
				);
			}),
		);
	});

	it("holds an encoding-3 row whose uncounted time exceeds its rented time back from publication", () => {
		const row = {
			node_id: "node_x",
			gpu_count: 1,
			online_seconds: 3600,
			incident_seconds: 0,
			rented_gpu_seconds: 100,
			challenges_issued: 0,
			challenges_passed: 0,
			challenges_failed: 0,
			challenges_missed: 0,
			leaf_version: 3,
			verified: 0,
			credited_gpus: 1,
			probation: 0,
			address_share_bp: 10000,
			availability_points: 540,
		};
		expect(rowViolations({ ...row, self_rented_gpu_seconds: 60, unpaid_gpu_seconds: 40 }, 3600)).toEqual([]);
		expect(rowViolations({ ...row, self_rented_gpu_seconds: 60, unpaid_gpu_seconds: 41 }, 3600)).toEqual([
			"node_x: 60 self-rented + 41 unpaid exceed 100 rented GPU-seconds",
		]);
		expect(rowViolations({ ...row, self_rented_gpu_seconds: null, unpaid_gpu_seconds: 0 }, 3600)).toHaveLength(1);
	});

	it("splits any mix of rentals so that self-rented + unpaid + counted = rented", () => {
		const part = fc.record({
			gpu_seconds: fc.integer({ min: 0, max: 28_800 }),
			price_cents: fc.integer({ min: 0, max: 600 }),
			tied: fc.boolean(),
		});
		fc.assert(
			fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
				const s = splitRented(parts);
				const counted = countedGpuSeconds(s);
				const independentPaid = parts
					.filter((p) => !p.tied)
					.reduce((sum, p) => sum + paidGpuSeconds(p.gpu_seconds, p.price_cents), 0);
				return (
					s.self_rented_gpu_seconds + s.unpaid_gpu_seconds + counted === s.rented_gpu_seconds &&
					counted === independentPaid &&
					s.self_rented_gpu_seconds === parts.filter((p) => p.tied).reduce((sum, p) => sum + p.gpu_seconds, 0)
				);
			}),
		);
	});
});
