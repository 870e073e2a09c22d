// Owns the `node_verifications` table: each node's last hardware verification (docs/VERIFICATION.md).
import type { VerificationRecord } from "../domain/verification.ts";

/** The stored verification of each of the given nodes that has one. */
export async function verificationsOf(db: D1Database, ids: string[]): Promise<Map<string, VerificationRecord>> {
	if (ids.length === 0) return new Map();
	const { results } = await db
		.prepare(`SELECT node_id, state, gpu_model, gpu_count, tier, measured_ms, method, reason, evidence, updated_at,
				failures
			FROM node_verifications WHERE node_id IN (SELECT value FROM json_each(?1))`)
		.bind(JSON.stringify(ids))
		.all<VerificationRecord & { node_id: string }>();
	return new Map(results.map(({ node_id, ...r }) => [node_id, r]));
}

/** Records a verification's result for the claim it checked (the latest result replaces the one before). */
export async function recordVerification(db: D1Database, nodeId: string, r: VerificationRecord): Promise<void> {
	await db
		.prepare(`INSERT INTO node_verifications
			(node_id, state, gpu_model, gpu_count, tier, measured_ms, method, reason, evidence, updated_at, failures)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
			ON CONFLICT (node_id) DO UPDATE SET state = excluded.state, gpu_model = excluded.gpu_model,
			  gpu_count = excluded.gpu_count, tier = excluded.tier, measured_ms = excluded.measured_ms,
			  method = excluded.method, reason = excluded.reason, evidence = excluded.evidence,
			  updated_at = excluded.updated_at, failures = excluded.failures`)
		.bind(
			nodeId,
			r.state,
			r.gpu_model,
			r.gpu_count,
			r.tier,
			r.measured_ms,
			r.method,
			r.reason,
			r.evidence,
			r.updated_at,
			r.failures ?? 0,
		)
		.run();
}

/** Removes the node's failed verification when it failed for `reason` (a judgement undone): it is unverified again. */
export async function forgetJudgement(db: D1Database, nodeId: string, reason: string): Promise<void> {
	await db
		.prepare("DELETE FROM node_verifications WHERE node_id = ? AND state = 'failed' AND reason = ?")
		.bind(nodeId, reason)
		.run();
}
