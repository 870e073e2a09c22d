// The verification session as a pure state machine: timing by the coordinator's clock, acks, declines and outcomes.
import { describe, expect, it } from "vitest";
import { fromBase64url } from "../../workers/domain/challenge.ts";
import { deadlineMs, proofMs, solve } from "../../workers/domain/matmul.ts";
import {
	MAX_RTT_MS,
	expire,
	latestCommit,
	newSession,
	onAck,
	onCommit,
	onDecline,
	onOpen,
	outcome,
	rttOf,
} from "../../workers/domain/verify-session.ts";

const T = 1_000_000;
const shape = { rows: 64, inner: 64, cols: 32 };
const claim = { gpu_model: "RTX 4090", gpu_count: 2 };
const seeds = [
	{ id: "vrf_a", seed: new Uint8Array(32).fill(1) },
	{ id: "vrf_b", seed: new Uint8Array(32).fill(2) },
];
const ROOT = "ab".repeat(32);
const random = () => 0.5;

describe("a verification session", () => {
	it("measures the round trip from the first ack, capped, and times commits against p99 × 1.25 + RTT", () => {
		const s = newSession(claim, shape, seeds, T);
		expect(rttOf(s)).toBe(MAX_RTT_MS); // until an ack, the largest round trip is assumed (for the stated deadline)
		onAck(s, T + 80);
		onAck(s, T + 400); // only the first one counts
		expect(rttOf(s)).toBe(80);
		const due = T + deadlineMs(s.cls, 80);
		expect(onCommit(s, "vrf_a", ROOT, due, random)).not.toBeNull(); // on the dot: in time, revealed
		expect(onCommit(s, "vrf_b", ROOT, due + 1, random)).toBeNull(); // a millisecond late: no reveal
		expect(s.parts[1]?.ended).toBe("late");
	});

	it("records a failure as late with the timings as evidence once every part has ended", () => {
		const s = newSession(claim, shape, seeds, T);
		onAck(s, T + 10);
		expire(s, latestCommit(s) + 1);
		const o = outcome(s, latestCommit(s) + 1);
		expect(o.kind).toBe("done");
		if (o.kind !== "done") return;
		expect(o.record).toMatchObject({ state: "failed", reason: "late", gpu_model: "RTX 4090", gpu_count: 2 });
		expect(JSON.parse(o.record.evidence as string)).toMatchObject({ rtt_ms: 10, parts: [{ ended: "late" }, {}] });
	});

	it("is void, recording nothing, when the agent declines or never acknowledges", () => {
		const declined = newSession(claim, shape, seeds, T);
		onAck(declined, T + 5);
		onDecline(declined, "too big for the CPU solver");
		expect(outcome(declined, T + 10)).toEqual({ kind: "void", why: "declined: too big for the CPU solver" });
		const silent = newSession(claim, shape, seeds, T);
		expire(silent, latestCommit(silent) + 1); // nothing ends: an agent without verification is not judged
		expect(outcome(silent, latestCommit(silent)).kind).toBe("pending");
		expect(outcome(silent, latestCommit(silent) + 1)).toEqual({ kind: "void", why: "never acknowledged" });
	});

	it("takes a commit without an ack as speaking verification", () => {
		const s = newSession(claim, shape, seeds.slice(0, 1), T);
		expect(onCommit(s, "vrf_a", ROOT, T + 300, random)).not.toBeNull();
		expect(s.ackAt).toBe(T + 300);
		expect(outcome(s, latestCommit(s) + 1).kind).toBe("pending"); // waiting for the opening, not void
	});

	it("proves the claim only within p99 × 1.05 + RTT: a right answer after that fails as late", async () => {
		const run = async (commitAfter: (proof: number) => number) => {
			const s = newSession(claim, shape, seeds, T);
			onAck(s, T + 40);
			const proof = proofMs(s.cls, 40);
			for (const [k, p] of s.parts.entries()) {
				const solution = await solve(fromBase64url(p.seed) as Uint8Array, shape);
				const at = k === 0 ? T + 100 : T + commitAfter(proof); // the slowest part decides
				const reveal = onCommit(s, p.id, solution.root, at, Math.random);
				expect(reveal, "a commit before the deadline is revealed").not.toBeNull();
				await onOpen(s, p.id, solution.open(reveal?.rows ?? []), at + 50);
			}
			expect(s.parts.map((p) => p.ended)).toEqual(["passed", "passed"]); // the answers were right either way
			const o = outcome(s, T + 20_000);
			return o.kind === "done" ? { ...o.record, evidence: JSON.parse(o.record.evidence as string) } : null;
		};
		expect(proofMs("RTX 4090", 40)).toBeLessThan(deadlineMs("RTX 4090", 40));
		expect(await run((proof) => proof)).toMatchObject({ state: "verified", tier: "consumer-high" });
		const slow = await run((proof) => proof + 1);
		expect(slow).toMatchObject({ state: "failed", reason: "late", tier: null });
		expect(slow?.evidence.slower_than_claim).toMatch(/^right answers, committed after \d+ ms: RTX 4090 hardware/);
		expect(slow?.evidence).toMatchObject({ rtt_ms: 40, proof_ms: proofMs("RTX 4090", 40) });
	});
});
