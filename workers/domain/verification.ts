// A node's hardware verification as everyone reads it: unverified, verified (tier, measured time, when, how), or
// failed (a reason, with the attempts as evidence). It holds for the claim it checked; another claim starts over.

export const FAILURE_REASONS = [
	"wrong_answer",
	"late",
	"claim_mismatch",
	"shared_hardware",
	"duplicate_identity",
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export type Verification =
	| { state: "unverified" }
	| { state: "verified"; tier: string; measured_ms: number; verified_at: string; method: string }
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
}

/** The node's verification for its current claim: a record of another claim (or none) is `unverified`. */
export function verificationOf(
	rec: VerificationRecord | null | undefined,
	claim: { gpu_model: string; gpu_count: number },
): Verification {
	if (!rec || rec.gpu_model !== claim.gpu_model || rec.gpu_count !== claim.gpu_count) return { state: "unverified" };
	const at = new Date(rec.updated_at).toISOString();
	if (rec.state === "verified") {
		return {
			state: "verified",
			tier: rec.tier ?? "",
			measured_ms: rec.measured_ms ?? 0,
			verified_at: at,
			method: rec.method ?? "",
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
export function verificationText(v: Verification): string {
	if (v.state === "verified") return `verified (${v.tier}, ${v.measured_ms} ms, ${v.method})`;
	if (v.state === "failed") return `verification failed: ${v.reason.replaceAll("_", " ")}`;
	return "not yet verified";
}
