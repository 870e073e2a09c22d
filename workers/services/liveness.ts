// The Worker's view of liveness: asks each node's shard (the authority) and falls back to D1's projection.
import type { NodeLiveness } from "../contracts.ts";
import type { NodeRow } from "../db/nodes.ts";
import type { Live } from "./nodes.ts";

export function shard(env: Env, name: string) {
	return env.LIVENESS.getByName(name);
}

/** Live status of each row, one RPC per shard involved. */
export async function liveStatus(env: Env, rows: NodeRow[]): Promise<Map<string, Live>> {
	const byShard = new Map<string, string[]>();
	for (const r of rows) byShard.set(r.shard, [...(byShard.get(r.shard) ?? []), r.id]);
	const out = new Map<string, Live>(rows.map((r) => [r.id, { status: r.status, last_seen_at: r.last_seen_at }]));
	await Promise.all(
		[...byShard].map(async ([name, ids]) => {
			try {
				const live: Record<string, NodeLiveness> = await shard(env, name).liveness(ids, Date.now());
				for (const [id, l] of Object.entries(live))
					out.set(id, { status: l.status, last_seen_at: l.last_seen_at, challenges: l.challenges });
			} catch (err) {
				console.error(`shard ${name} did not answer; showing D1's recorded status`, err);
			}
		}),
	);
	return out;
}
