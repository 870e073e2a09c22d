// Maintenance on or off for one node: the D1 flag and the shard's status, for the HTTP PATCH and the bots alike.
import { setMaintenance, type NodeRow } from "../db/nodes.ts";
import type { NodeStatus } from "../domain/status.ts";
import { shard } from "./liveness.ts";

/** The caller has checked ownership; returns the node's status afterwards (as its shard decided). */
export async function setNodeMaintenance(env: Env, row: NodeRow, on: boolean): Promise<NodeStatus> {
	await setMaintenance(env.DB, row.id, on);
	return shard(env, row.shard).setMaintenance(row.id, on, Date.now());
}
