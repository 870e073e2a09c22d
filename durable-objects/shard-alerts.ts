// A LivenessShard's hand-off to the alert pipeline: flips D1 has acknowledged are queued per owner and delivered to each owner's OperatorAlerts until it acknowledges them.
import type { AlertFlip } from "../workers/domain/alerts.ts";
import type { AlertTag, OutboxOp } from "../workers/contracts.ts";

const SCHEMA = `CREATE TABLE IF NOT EXISTS alert_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, flips TEXT NOT NULL, tags TEXT NOT NULL);`;

function nodeOfFlip(flipId: string): string {
	return flipId.slice(0, flipId.lastIndexOf(":"));
}

export class AlertHandoff {
	private delivering: Promise<void> | null = null;

	constructor(private readonly sql: SqlStorage, private readonly env: Env) {
		sql.exec(SCHEMA);
	}

	/** Owners of the nodes in `ops`, read from D1 right after D1 accepted the ops (deleted nodes included: their last flip is still news). */
	async owners(ops: OutboxOp[]): Promise<Map<string, string>> {
		const ids = new Set<string>();
		for (const op of ops) {
			if (op.kind === "flips") for (const f of op.flips) ids.add(f.nodeId);
			if (op.kind === "tag") for (const id of op.flip_ids) ids.add(nodeOfFlip(id));
		}
		if (ids.size === 0) return new Map();
		const { results } = await this.env.DB.prepare("SELECT id, account_id FROM nodes WHERE id IN (SELECT value FROM json_each(?1))")
			.bind(JSON.stringify([...ids])).all<{ id: string; account_id: string }>();
		return new Map(results.map((r) => [r.id, r.account_id]));
	}

	/** Queues the alert-relevant part of `ops`, one row per owner; call in the same synchronous step that acknowledges the ops. */
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
				for (const fid of op.flip_ids) {
					const owner = owners.get(nodeOfFlip(fid));
					if (owner) byOwner.set(owner, [...(byOwner.get(owner) ?? []), nodeOfFlip(fid)]);
				}
				for (const [owner, nodeIds] of byOwner) tags.set(owner, [...(tags.get(owner) ?? []), { incidentId: op.incident_id, nodeIds }]);
			}
		}
		for (const owner of new Set([...flips.keys(), ...tags.keys()])) {
			this.sql.exec("INSERT INTO alert_outbox (account_id, flips, tags) VALUES (?, ?, ?)", owner, JSON.stringify(flips.get(owner) ?? []), JSON.stringify(tags.get(owner) ?? []));
		}
	}

	pending(): number {
		return this.sql.exec("SELECT count(*) AS n FROM alert_outbox").one().n as number;
	}

	/** Delivers queued rows: owners in parallel, each owner's rows in order, stopping at an owner's first failure (retried next sweep). */
	async deliver(): Promise<void> {
		while (this.delivering) await this.delivering;
		if (this.pending() === 0) return;
		this.delivering = this.deliverAll().finally(() => (this.delivering = null));
		await this.delivering;
	}

	private async deliverAll(): Promise<void> {
		const rows = this.sql.exec("SELECT id, account_id, flips, tags FROM alert_outbox ORDER BY id LIMIT 2000").toArray();
		const byOwner = new Map<string, typeof rows>();
		for (const r of rows) byOwner.set(r.account_id as string, [...(byOwner.get(r.account_id as string) ?? []), r]);
		await Promise.all([...byOwner].map(async ([owner, list]) => {
			for (const r of list) {
				try {
					await this.env.ALERTS.getByName(owner).receive(owner, JSON.parse(r.flips as string) as AlertFlip[], JSON.parse(r.tags as string) as AlertTag[]);
				} catch (err) {
					console.error(`alerts for ${owner} not delivered; retrying next sweep`, err);
					return;
				}
				this.sql.exec("DELETE FROM alert_outbox WHERE id = ?", r.id as number);
			}
		}));
	}
}
