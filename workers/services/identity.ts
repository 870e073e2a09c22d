// What a connection tells the coordinator about who is behind a node (docs/VERIFICATION.md §13): its address,
// recorded privately and only when it changed, and its GPU UUIDs, which flag duplicates and contradict claims.
import * as flags from "../db/flags.ts";
import { identityOf, otherHolders, recordIdentity } from "../db/identity.ts";
import { verificationsOf } from "../db/verifications.ts";
import { claimMismatch, observedAddress } from "../domain/identity.ts";
import { flagJudged, judged, recordAttempt } from "./verifications.ts";

interface ConnectingNode {
	id: string;
	gpu_model: string;
	gpu_count: number;
}

/**
 * Records the connection's address and UUIDs when they differ from the last ones (a reconnect from the same line
 * writes nothing), flags every pair of live nodes reporting one UUID `duplicate_identity` (once per node and UUID:
 * a flag staff cleared is not raised again), and fails a claim the UUIDs contradict. Returns true when the claim
 * was contradicted (no challenge is needed on this connection).
 */
export async function observeConnection(
	env: Env,
	node: ConnectingNode,
	ip: string | null,
	uuids: string[],
	now: number,
): Promise<boolean> {
	const address = observedAddress(ip);
	const prev = await identityOf(env.DB, node.id);
	const changed = !prev || prev.address !== address.address || prev.gpu_uuids !== JSON.stringify(uuids);
	if (changed) {
		await recordIdentity(env.DB, node.id, address, uuids, now);
		await flagDuplicates(env, node, uuids, now);
	}
	const mismatch = claimMismatch(uuids, node.gpu_count);
	if (!mismatch) return false;
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
		const pair = [node.id, other.node_id].sort();
		const evidence = { uuid: other.uuid, nodes: pair, seen_at: new Date(now).toISOString() };
		const reason = `GPU ${other.uuid} is reported by two nodes (${pair.join(", ")})`;
		for (const n of [node, { id: other.node_id, gpu_model: other.gpu_model, gpu_count: other.gpu_count }]) {
			if (await flags.everFlagged(env.DB, n.id, "duplicate_identity", "uuid", other.uuid)) continue;
			await flagJudged(env, n, "duplicate_identity", reason, evidence, now);
		}
	}
}
