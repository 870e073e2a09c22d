// A Cluster's effects outside its own storage: its row in D1, the money and rental time it records there, and messages
// to its members' agents through their shards. Each is idempotent, so a step retried after a failure repeats it safely.
import * as clusters from "../workers/db/clusters.ts";
import { record } from "../workers/db/credits.ts";
import * as rentals from "../workers/db/rentals.ts";
import type { ClusterStatus, Reserved } from "../workers/contracts.ts";
import { isOver, type ClusterState, type Member } from "../workers/domain/cluster.ts";
import type { CoordinatorMessage } from "../workers/domain/protocol.ts";
import { shard } from "../workers/services/liveness.ts";
import type { ClusterStore } from "./cluster-store.ts";

export class ClusterEffects {
	constructor(
		private readonly env: Env,
		private readonly store: ClusterStore,
	) {}

	/** The cluster's row in D1 (what routes look up), created or brought up to date. */
	async recordRow(st: ClusterState, now: number): Promise<void> {
		const { account_id, gpu_model, gpu_count, hours } = st.spec;
		await clusters.record(this.env.DB, {
			id: st.id,
			account_id,
			gpu_model,
			gpu_count,
			hours,
			status: st.status,
			price_cents: st.price_cents,
			created_at: st.created_at,
			ended_at: isOver(st.status) ? now : null,
		});
	}

	/** Saves the cluster with its new status, then brings its D1 row up to date. */
	async setStatus(st: ClusterState, status: ClusterStatus, now: number): Promise<void> {
		st.status = status;
		this.store.save(st);
		await clusters.setStatus(this.env.DB, st.id, status, isOver(status) ? now : null);
	}

	/** Writes the money movement saved with the state (if any) to D1, then applies it and records the bill. */
	async flushPending(st: ClusterState, now: number): Promise<ClusterState> {
		const p = st.pending;
		if (!p) return st;
		await record(this.env.DB, p.entries, now);
		st.billing = p.billing;
		st.pending = null;
		this.store.save(st);
		this.store.event(now, "billed", p.summary);
		return st;
	}

	/** Writes pending rental starts to D1 in one statement (idempotent), then forgets them. */
	async flushRentals(id: string): Promise<void> {
		const rows = this.store.rentals();
		if (!rows.length) return;
		await rentals.start(this.env.DB, id, rows);
		this.store.rentalsWritten(rows);
	}

	/** Closes dropped members' rentals; one gone silent before the cluster started ends where it began, not before. */
	async endRentals(id: string, dropped: Member[]): Promise<void> {
		await rentals.end(
			this.env.DB,
			id,
			dropped.map((m) => ({ node_id: m.node_id, ended_at: m.ended_at })),
		);
	}

	/**
	 * When each of `members` was last heard, as its shard measures it (keepalives included), capped at `now`. A shard that
	 * does not answer gives no time for its members: nothing past what is known is billed, a later bill catches up.
	 */
	async lastHeard(members: Reserved[], now: number): Promise<Map<string, number>> {
		const byShard = new Map<string, string[]>();
		for (const m of members) byShard.set(m.shard, [...(byShard.get(m.shard) ?? []), m.node_id]);
		const out = new Map<string, number>();
		await Promise.all(
			[...byShard].map(async ([name, ids]) => {
				try {
					const live = await shard(this.env, name).liveness(ids, now);
					for (const [id, l] of Object.entries(live)) {
						if (l.connected && l.last_seen_at !== null) out.set(id, Math.min(now, l.last_seen_at));
					}
				} catch (err) {
					console.error(`shard ${name} did not answer; its members are billed up to their last known time`, err);
				}
			}),
		);
		return out;
	}

	/** Sends each of `nodes` its message through its shard; returns the nodes that are not connected. */
	async tell(nodes: Reserved[], message: (n: Reserved) => CoordinatorMessage): Promise<string[]> {
		const byShard = new Map<string, { nodeId: string; message: CoordinatorMessage }[]>();
		for (const n of nodes) {
			const list = byShard.get(n.shard) ?? [];
			list.push({ nodeId: n.node_id, message: message(n) });
			byShard.set(n.shard, list);
		}
		return (await Promise.all([...byShard].map(([name, list]) => shard(this.env, name).deliver(list)))).flat();
	}
}
