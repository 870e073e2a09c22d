// Owns the capacity index (one instance): which nodes are online and idle, reserved atomically for clusters.
import { DurableObject } from "cloudflare:workers";
import type { CapacityChange, Reservation, Reserved } from "../workers/contracts.ts";
import { place, type Candidate } from "../workers/domain/placement.ts";
import { skuByName, skuOf } from "../workers/domain/pricing.ts";
import { uptime } from "../workers/domain/uptime.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS capacity (
  node_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, sku TEXT, gpu_count INTEGER NOT NULL, region TEXT, shard TEXT NOT NULL,
  reliability REAL NOT NULL, price_cents INTEGER NOT NULL, online INTEGER NOT NULL, seq INTEGER NOT NULL, cluster_id TEXT
);
CREATE INDEX IF NOT EXISTS capacity_idle ON capacity (sku, online, cluster_id);
CREATE INDEX IF NOT EXISTS capacity_by_cluster ON capacity (cluster_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const WEEK_MS = 7 * 24 * 3600 * 1000;

interface NodeInfo { id: string; account_id: string; gpu_model: string; gpu_count: number; region: string | null; shard: string; status: string; status_seq: number; created_at: number }

export class Scheduler extends DurableObject<Env> {
	private readonly sql: SqlStorage;
	private bootstrapped: Promise<void> | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		this.sql.exec(SCHEMA);
	}

	/**
	 * Status changes from the shards (idempotent: an older `seq` never overrides a newer one). Nodes lost by a cluster are
	 * reported to it, and their `seq` is stored only once it was told: if telling fails this throws, and the shard's
	 * retry of the same change reaches the cluster again (which ignores a loss it already knows).
	 */
	async onChanges(changes: CapacityChange[]): Promise<void> {
		await this.ready();
		const unknown = changes.filter((c) => !this.row(c.nodeId)).map((c) => c.nodeId);
		if (unknown.length) await this.load(await this.nodeInfo(unknown));
		const lost: { clusterId: string; change: CapacityChange }[] = [];
		for (const c of changes) {
			const row = this.row(c.nodeId);
			if (!row || row.seq >= c.seq) continue;
			const online = c.to === "online" ? 1 : 0;
			if (!online && row.cluster_id) {
				this.sql.exec("UPDATE capacity SET online = 0 WHERE node_id = ?", c.nodeId);
				lost.push({ clusterId: row.cluster_id, change: c });
			} else this.sql.exec("UPDATE capacity SET online = ?, seq = ? WHERE node_id = ?", online, c.seq, c.nodeId);
		}
		if (changes.some((c) => c.to === "online")) await this.refreshReliability(changes.filter((c) => c.to === "online").map((c) => c.nodeId));
		const told = await Promise.allSettled(lost.map((l) => this.env.CLUSTERS.getByName(l.clusterId).nodeLost(l.change.nodeId, l.change.at)));
		lost.forEach((l, i) => told[i]?.status === "fulfilled" && this.sql.exec("UPDATE capacity SET seq = max(seq, ?) WHERE node_id = ?", l.change.seq, l.change.nodeId));
		const failed = told.find((t) => t.status === "rejected");
		if (failed) throw failed.reason;
	}

	/** Reserves whole idle online nodes of the model for a cluster, all or nothing, in one synchronous step. */
	async reserve(clusterId: string, gpuModel: string, gpuCount: number, region: string | null, exclude: string[] = []): Promise<Reservation> {
		await this.ready();
		const sku = skuByName(gpuModel)?.name ?? gpuModel;
		const cands = this.sql
			.exec("SELECT node_id, gpu_count, region, reliability, price_cents FROM capacity WHERE sku = ? AND online = 1 AND cluster_id IS NULL", sku)
			.toArray() as unknown as Candidate[];
		const pool = cands.filter((c) => !exclude.includes(c.node_id));
		const picked = place(pool, gpuCount, region);
		if (!picked) return { ok: false, available_gpus: pool.reduce((s, c) => s + c.gpu_count, 0) };
		for (const p of picked) this.sql.exec("UPDATE capacity SET cluster_id = ? WHERE node_id = ?", clusterId, p.node_id);
		return { ok: true, nodes: picked.map((p) => this.reservedView(p.node_id)) };
	}

	/** Frees a cluster's nodes (all, or the given ones). */
	async release(clusterId: string, nodeIds?: string[]): Promise<void> {
		if (nodeIds) for (const id of nodeIds) this.sql.exec("UPDATE capacity SET cluster_id = NULL WHERE node_id = ? AND cluster_id = ?", id, clusterId);
		else this.sql.exec("UPDATE capacity SET cluster_id = NULL WHERE cluster_id = ?", clusterId);
	}

	/** Online and reserved GPUs of a model: the utilisation that prices it. */
	async usage(gpuModel: string): Promise<{ online_gpus: number; reserved_gpus: number }> {
		await this.ready();
		const r = this.sql.exec(
			"SELECT coalesce(sum(gpu_count), 0) AS online, coalesce(sum(CASE WHEN cluster_id IS NOT NULL THEN gpu_count END), 0) AS reserved FROM capacity WHERE sku = ? AND online = 1",
			skuByName(gpuModel)?.name ?? gpuModel,
		).one();
		return { online_gpus: r.online as number, reserved_gpus: r.reserved as number };
	}

	/** Rebuilds the index from D1's recorded status (first use, and the cron's safety net). */
	async reconcile(): Promise<number> {
		const { results } = await this.env.DB.prepare("SELECT id, account_id, gpu_model, gpu_count, region, shard, status, status_seq, created_at FROM nodes WHERE deleted_at IS NULL").all<NodeInfo>();
		await this.load(results);
		const ids = new Set(results.map((r) => r.id));
		for (const r of this.sql.exec("SELECT node_id FROM capacity").toArray()) if (!ids.has(r.node_id as string)) this.sql.exec("DELETE FROM capacity WHERE node_id = ? AND cluster_id IS NULL", r.node_id);
		await this.refreshReliability(results.filter((r) => r.status === "online").map((r) => r.id));
		this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('reconciled_at', ?)", String(Date.now()));
		return results.length;
	}

	private ready(): Promise<void> {
		if (this.sql.exec("SELECT 1 FROM meta WHERE key = 'reconciled_at'").toArray().length) return Promise.resolve();
		return (this.bootstrapped ??= this.reconcile().then(() => undefined));
	}

	private async load(nodes: NodeInfo[]): Promise<void> {
		for (const n of nodes) {
			const sku = skuOf(n.gpu_model);
			this.sql.exec(
				`INSERT INTO capacity (node_id, account_id, sku, gpu_count, region, shard, reliability, price_cents, online, seq)
				 VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
				 ON CONFLICT (node_id) DO UPDATE SET online = CASE WHEN excluded.seq > capacity.seq THEN excluded.online ELSE capacity.online END,
				   seq = max(capacity.seq, excluded.seq)`,
				n.id, n.account_id, sku?.name ?? null, n.gpu_count, n.region, n.shard, sku?.base_cents ?? 0, n.status === "online" ? 1 : 0, n.status_seq,
			);
		}
	}

	private async nodeInfo(ids: string[]): Promise<NodeInfo[]> {
		const { results } = await this.env.DB.prepare("SELECT id, account_id, gpu_model, gpu_count, region, shard, 'new' AS status, 0 AS status_seq, created_at FROM nodes WHERE id IN (SELECT value FROM json_each(?1))")
			.bind(JSON.stringify(ids)).all<NodeInfo>();
		return results;
	}

	/** Reliability = share of the last 7 days (or of the node's life) online, from recorded intervals. */
	private async refreshReliability(ids: string[]): Promise<void> {
		const now = Date.now();
		for (let i = 0; i < ids.length; i += 500) {
			const chunk = ids.slice(i, i + 500);
			const { results } = await this.env.DB.prepare(
				`SELECT n.id, n.created_at, i.started_at, i.ended_at FROM nodes n LEFT JOIN online_intervals i ON i.node_id = n.id AND (i.ended_at IS NULL OR i.ended_at > ?2)
				 WHERE n.id IN (SELECT value FROM json_each(?1))`,
			).bind(JSON.stringify(chunk), now - WEEK_MS).all<{ id: string; created_at: number; started_at: number | null; ended_at: number | null }>();
			const byNode = new Map<string, { created: number; rows: { started_at: number; ended_at: number | null }[] }>();
			for (const r of results) {
				const e = byNode.get(r.id) ?? { created: r.created_at, rows: [] };
				if (r.started_at !== null) e.rows.push({ started_at: r.started_at, ended_at: r.ended_at });
				byNode.set(r.id, e);
			}
			for (const [id, e] of byNode) this.sql.exec("UPDATE capacity SET reliability = ? WHERE node_id = ?", uptime(e.rows, Math.max(now - WEEK_MS, e.created), now, now).ratio, id);
		}
	}

	private row(nodeId: string): { seq: number; cluster_id: string | null } | null {
		return (this.sql.exec("SELECT seq, cluster_id FROM capacity WHERE node_id = ?", nodeId).toArray()[0] as { seq: number; cluster_id: string | null } | undefined) ?? null;
	}

	private reservedView(nodeId: string): Reserved {
		return this.sql.exec("SELECT node_id, gpu_count, shard, account_id FROM capacity WHERE node_id = ?", nodeId).one() as unknown as Reserved;
	}
}
