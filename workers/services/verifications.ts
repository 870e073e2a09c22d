// Recording what verification concludes about a node (docs/VERIFICATION.md §10, §13): attempts under the
// consecutive-failure rule, the automatic flags of a judgement, and the scheduler told of every change.
import { randomToken } from "../domain/challenge.ts";
import * as flags from "../db/flags.ts";
import { recordVerification, verificationsOf } from "../db/verifications.ts";
import { VERIFY_METHOD } from "../domain/matmul.ts";
import { afterAttempt, type FailureReason, type VerificationRecord } from "../domain/verification.ts";

/** Records an attempt's result as `afterAttempt` combines it with the node's record, and tells the scheduler. */
export async function recordAttempt(
	env: Env,
	nodeId: string,
	attempt: VerificationRecord,
): Promise<VerificationRecord> {
	const prev = (await verificationsOf(env.DB, [nodeId])).get(nodeId) ?? null;
	const next = afterAttempt(prev, attempt);
	await recordVerification(env.DB, nodeId, next);
	await env.SCHEDULER.getByName("global")
		.onVerified(nodeId, next.state === "verified")
		.catch((err) => console.error("the scheduler did not hear of a verification; its hourly reconcile will", err));
	return next;
}

/** A judgement's failure for the node's claim (no challenge was needed to conclude it). */
export function judged(
	claim: { gpu_model: string; gpu_count: number },
	reason: FailureReason,
	evidence: unknown,
	now: number,
): VerificationRecord {
	return {
		state: "failed",
		...claim,
		tier: null,
		measured_ms: null,
		method: VERIFY_METHOD,
		reason,
		evidence: JSON.stringify(evidence),
		updated_at: now,
	};
}

/**
 * Fails the node's verification with a judgement and flags it (author `coordinator`, share 1: the node earns nothing
 * while the flag stands; audited, visible with its evidence to the owner, cleared by staff, appealed by ticket).
 */
export async function flagJudged(
	env: Env,
	node: { id: string; gpu_model: string; gpu_count: number },
	code: "shared_hardware" | "duplicate_identity",
	reason: string,
	evidence: Record<string, unknown>,
	now: number,
): Promise<void> {
	await recordAttempt(env, node.id, judged(node, code, evidence, now));
	const flag = { id: `flg_${randomToken(9)}`, node_id: node.id, code, reason, share: 1, author: "coordinator" };
	await flags.add(
		env.DB,
		{ ...flag, created_at: now, evidence: JSON.stringify(evidence) },
		{ actor: "coordinator", action: "flag.add", target: `node:${node.id}`, details: { ...flag, evidence } },
	);
}
