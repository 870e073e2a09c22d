// A node's hardware verification as everyone reads it: unverified, verified (tier, measured time, when, how), or
// failed (a reason, with the attempts as evidence). It holds for the claim it checked; another claim starts over.

/** A node claims at most this many GPUs (registration refuses more), and verification challenges every one at once. */
export const MAX_GPUS_PER_NODE = 64;

export const FAILURE_REASONS = [
	"wrong_answer",
	"late",
	"claim_mismatch",
	"shared_hardware",
	"duplicate_identity",
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * A verified node keeps its state through this many consecutive failed attempts minus one: the second failure in a
 * row fails it (an honest node on a jittery line may miss one deadline; a node that cannot do the work misses every
 * one). Failures that are judgements, not timings (`shared_hardware` over two rounds, `duplicate_identity`,
 * `claim_mismatch`), apply at once.
 */
export const FAILURES_TO_PENALISE = 2;

export type Verification =
	/** `failures`: 1 when the one attempt so far came late (a jittery line gets a second chance before "failed"). */
	| { state: "unverified"; failures?: number }
	| {
			state: "verified";
			tier: string;
			measured_ms: number;
			verified_at: string;
			method: string;
			/** Failed attempts since, fewer than FAILURES_TO_PENALISE (the next one in a row fails the node). */
			failures: number;
	  }
	| { state: "failed"; reason: FailureReason; evidence: unknown; failed_at: string };

/** A stored verification (`node_verifications` row). */
export interface VerificationRecord {
	state: "verified" | "failed";
	gpu_model: string;
	gpu_count: number;
	tier: string | null;
	measured_ms: number | null;
	method: string | null;
	reason: FailureReason | null;
	evidence: string | null;
	updated_at: number;
	/** Consecutive failed attempts (0 after a pass); absent = 0. */
	failures?: number;
}

/**
 * The record after an attempt: a pass replaces whatever was there; a timing or answer failure of a node verified for
 * the same claim keeps it verified until the FAILURES_TO_PENALISE-th failure in a row (the attempt's evidence is
 * kept either way); a judgement (`shared_hardware`, `duplicate_identity`, `claim_mismatch`) applies at once.
 */
export function afterAttempt(prev: VerificationRecord | null, attempt: VerificationRecord): VerificationRecord {
	const sameClaim = prev !== null && prev.gpu_model === attempt.gpu_model && prev.gpu_count === attempt.gpu_count;
	// A judgement stands until staff clear its flag or the claim changes: no challenge passed later undoes it.
	if (sameClaim && isJudgement(prev) && !isJudgement(attempt)) return prev;
	if (attempt.state === "verified") return { ...attempt, failures: 0 };
	const failures = (sameClaim ? (prev.failures ?? 0) : 0) + 1;
	if (sameClaim && prev.state === "verified" && !isJudgement(attempt) && failures < FAILURES_TO_PENALISE) {
		return { ...prev, evidence: attempt.evidence, failures };
	}
	return { ...attempt, failures };
}

/** What anyone may see: a failure's evidence (timings, the group, GPU UUIDs) is the owner's alone. */
export type PublicVerification =
	| Exclude<Verification, { state: "failed" }>
	| Omit<Extract<Verification, { state: "failed" }>, "evidence">;

export function publicVerification(v: Verification): PublicVerification {
	if (v.state !== "failed") return v;
	const { evidence: _owners, ...rest } = v;
	return rest;
}

/** A failure concluded without a timing: it applies at once and stands until undone (§13, §14). */
export function isJudgement(r: Pick<VerificationRecord, "state" | "reason">): boolean {
	return r.state === "failed" && r.reason !== "late" && r.reason !== "wrong_answer";
}

/**
 * Whether a connection brings the node a challenge of its own: when its claim is unverified, or failed by its own
 * attempt outside a round. A judgement, or a failure in a co-scheduled round, is proven again only in a round (a
 * farm's identities each pass alone: that is what rounds are for), or undone by staff.
 */
export function challengedAtConnect(v: Verification): boolean {
	if (v.state === "unverified") return true;
	if (v.state === "verified" || isJudgement(v)) return false;
	return typeof (v.evidence as { round?: unknown } | null)?.round !== "string";
}

/** The node's verification for its current claim: a record of another claim (or none) is `unverified`. */
export function verificationOf(
	rec: VerificationRecord | null | undefined,
	claim: { gpu_model: string; gpu_count: number },
): Verification {
	if (!rec || rec.gpu_model !== claim.gpu_model || rec.gpu_count !== claim.gpu_count) return { state: "unverified" };
	const at = new Date(rec.updated_at).toISOString();
	// A first attempt that came late is not a failure yet: the node is retried on its next connection or round.
	if (rec.state === "failed" && rec.reason === "late" && rec.failures === 1)
		return { state: "unverified", failures: 1 };
	if (rec.state === "verified") {
		return {
			state: "verified",
			tier: rec.tier ?? "",
			measured_ms: rec.measured_ms ?? 0,
			verified_at: at,
			method: rec.method ?? "",
			failures: rec.failures ?? 0,
		};
	}
	return {
		state: "failed",
		reason: rec.reason ?? "wrong_answer",
		evidence: parseEvidence(rec.evidence),
		failed_at: at,
	};
}

function parseEvidence(json: string | null): unknown {
	if (json === null) return null;
	try {
		return JSON.parse(json);
	} catch {
		return json;
	}
}

/** How a chat message names the state: one short phrase per state. */
export function verificationText(v: PublicVerification): string {
	if (v.state === "verified") {
		const retry = v.failures > 0 ? `; ${v.failures} failed attempt since, the next in a row fails it` : "";
		return `verified (${v.tier}, ${v.measured_ms} ms, ${v.method}${retry})`;
	}
	if (v.state === "failed") return `verification failed: ${v.reason.replaceAll("_", " ")}`;
	return "not yet verified";
}
