// Recording what verification concludes about a node (docs/VERIFICATION.md §10, §13): attempts under the
// consecutive-failure rule, the automatic flags of a judgement, and the scheduler told of every change.
import * as flags from "../db/flags.ts";
import { forgetJudgement, recordVerification, verificationsOf } from "../db/verifications.ts";
import { sha256Hex } from "../ids.ts";
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
 * Flags the node with a judgement (author `coordinator`, share 1: the node earns nothing while the flag stands;
 * audited, visible with its evidence to the owner, cleared by staff, appealed by ticket) and fails its verification
 * with it. `key` names the judgement (a round and node, a node and UUID): its flag id derives from it, so reaching it
 * twice, or again after staff cleared it, changes nothing.
 */
export async function flagJudged(
	env: Env,
	node: { id: string; gpu_model: string; gpu_count: number },
	code: JudgedFlag,
	reason: string,
	evidence: Record<string, unknown>,
	key: string,
	now: number,
): Promise<void> {
	const id = `flg_${(await sha256Hex(`${code}:${key}`)).slice(0, 20)}`;
	const flag = { id, node_id: node.id, code, reason, share: 1, author: "coordinator" };
	const added = await flags.addOnce(
		env.DB,
		{ ...flag, created_at: now, evidence: JSON.stringify(evidence) },
		{ actor: "coordinator", action: "flag.add", target: `node:${node.id}`, details: { ...flag, evidence } },
	);
	if (added) await recordAttempt(env, node.id, judged(node, code, evidence, now));
}

export type JudgedFlag = "shared_hardware" | "duplicate_identity";

/**
 * Staff cleared a judgement's flag: the failure it caused is undone (the node is unverified and is challenged again on
 * its next connection), so the appeal restores what the judgement took.
 */
export async function flagCleared(env: Env, flag: { node_id: string; code: string }): Promise<void> {
	if (flag.code !== "shared_hardware" && flag.code !== "duplicate_identity") return;
	await forgetJudgement(env.DB, flag.node_id, flag.code);
}
