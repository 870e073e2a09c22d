// What a connection tells the coordinator about who is behind a node (docs/VERIFICATION.md §13): its address,
// recorded privately and only when it changed, and its GPU UUIDs, which flag duplicates and contradict claims.
import { identityOf, otherHolders, recordIdentity } from "../db/identity.ts";
import { forgetJudgement, verificationsOf } from "../db/verifications.ts";
import { claimMismatch, observedAddress } from "../domain/identity.ts";
import { flagJudged, judged, recordAttempt } from "./verifications.ts";

interface ConnectingNode {
	id: string;
	gpu_model: string;
	gpu_count: number;
}

/**
 * Records the connection's address and UUIDs when they differ from the last ones (a reconnect from the same line
 * writes nothing; `reported` null, an HTTP beat: keep the last UUIDs), flags every pair of live nodes reporting one
 * UUID `duplicate_identity` (once per node and UUID: a flag staff cleared is not raised again), and fails a claim
 * the UUIDs contradict (undone once they no longer do). Returns true when the claim is contradicted (no challenge
 * is needed on this connection).
 */
export async function observeConnection(
	env: Env,
	node: ConnectingNode,
	ip: string | null,
	reported: string[] | null,
	now: number,
): Promise<boolean> {
	const address = observedAddress(ip);
	const prev = await identityOf(env.DB, node.id);
	// An HTTP beat reports no UUIDs (null): the ones its last WebSocket connection reported stand.
	const uuids = reported ?? (JSON.parse(prev?.gpu_uuids ?? "[]") as string[]);
	const changed = !prev || prev.address !== address.address || prev.gpu_uuids !== JSON.stringify(uuids);
	if (changed) {
		await recordIdentity(env.DB, node.id, address, uuids, now);
		await flagDuplicates(env, node, uuids, now);
	}
	const mismatch = claimMismatch(uuids, node.gpu_count);
	if (!mismatch) {
		// The GPUs no longer contradict the claim (fixed hardware or a corrected count): challenge it afresh.
		if (changed) await forgetJudgement(env.DB, node.id, "claim_mismatch");
		return false;
	}
	const rec = (await verificationsOf(env.DB, [node.id])).get(node.id);
	const already =
		rec?.reason === "claim_mismatch" && rec.gpu_model === node.gpu_model && rec.gpu_count === node.gpu_count;
	if (!already) {
		const evidence = { detail: mismatch, reported_uuids: uuids.length, claimed_gpus: node.gpu_count };
		await recordAttempt(env, node.id, judged(node, "claim_mismatch", evidence, now));
	}
	return true;
}

async function flagDuplicates(env: Env, node: ConnectingNode, uuids: string[], now: number): Promise<void> {
	for (const other of await otherHolders(env.DB, node.id, uuids)) {
		// The owner sees the UUID and the other node's id (evidence); the public sees the reason, which names neither.
		const evidence = { uuid: other.uuid, nodes: [node.id, other.node_id].sort(), seen_at: new Date(now).toISOString() };
		const reason = "one of its GPUs (by UUID) is reported by another node too";
		for (const n of [node, { id: other.node_id, gpu_model: other.gpu_model, gpu_count: other.gpu_count }]) {
			await flagJudged(env, n, "duplicate_identity", reason, evidence, `${n.id}:${other.uuid}`, now);
		}
	}
}
