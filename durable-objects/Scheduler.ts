// Owns the capacity index (one instance): which nodes are online over a WebSocket and idle, reserved atomically for
// clusters.
import type { CapacityChange, Reservation, Reserved } from "../workers/contracts.ts";
import { bandwidthSamplesOf } from "../workers/db/bandwidth.ts";
import { bandwidthOf, tierRank, type BandwidthTier } from "../workers/domain/bandwidth.ts";
import { place, unplaceable, type Candidate } from "../workers/domain/placement.ts";
import { skuByName, skuOf } from "../workers/domain/pricing.ts";
import { uptimes } from "../workers/services/uptime.ts";
import * as nodes from "../workers/db/nodes.ts";
import type { CapacityNode } from "../workers/db/nodes.ts";
import { KitObject } from "./kit.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS capacity (
  node_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, sku TEXT, gpu_count INTEGER NOT NULL, region TEXT,
  shard TEXT NOT NULL, reliability REAL NOT NULL, price_cents INTEGER NOT NULL, online INTEGER NOT NULL,
  seq INTEGER NOT NULL, cluster_id TEXT, verified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS capacity_idle ON capacity (sku, online, cluster_id);
CREATE INDEX IF NOT EXISTS capacity_by_cluster ON capacity (cluster_id);
`;

const WEEK_MS = 7 * 24 * 3600 * 1000;

export class Scheduler extends KitObject {
	private bootstrapped: Promise<void> | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql.schema(SCHEMA);
		// An index built before verification existed gets the column (the hourly reconcile fills it in).
		const cols = this.sql.all<{ name: string }>("SELECT name FROM pragma_table_info('capacity')");
		if (!cols.some((c) => c.name === "verified")) {
			this.sql.schema("ALTER TABLE capacity ADD COLUMN verified INTEGER NOT NULL DEFAULT 0");
		}
		if (!cols.some((c) => c.name === "bandwidth")) {
			this.sql.schema("ALTER TABLE capacity ADD COLUMN bandwidth INTEGER NOT NULL DEFAULT 0");
		}
	}

	/** A node's bandwidth tier changed (a sample was recorded): among equally reliable nodes the faster go first. */
	async onBandwidth(nodeId: string, tier: BandwidthTier): Promise<void> {
		await this.ready(this.now());
		this.sql.run("UPDATE capacity SET bandwidth = ? WHERE node_id = ?", tierRank(tier), nodeId);
	}

	/** A node's hardware verification ended (its shard recorded it): verified nodes are placed first. */
	async onVerified(nodeId: string, verified: boolean): Promise<void> {
		await this.ready(this.now());
		this.sql.run("UPDATE capacity SET verified = ? WHERE node_id = ?", verified ? 1 : 0, nodeId);
	}

	/**
	 * Status changes from the shards (idempotent: an older `seq` never overrides a newer one). Nodes lost by a cluster are
	 * reported to it, and their `seq` is stored only once it was told: if telling fails this throws, and the shard's
	 * retry of the same change reaches the cluster again (which ignores a loss it already knows).
	 */
	async onChanges(changes: CapacityChange[], now = this.now()): Promise<void> {
		await this.ready(now);
		const unknown = changes.filter((c) => !this.row(c.nodeId)).map((c) => c.nodeId);
		if (unknown.length) {
			await this.load(await nodes.capacityByIds(this.env.DB, unknown));
			await this.refreshBandwidth(unknown); // a tier measured before the node was first indexed
		}
		const lost: { clusterId: string; change: CapacityChange }[] = [];
		for (const c of changes) {
			const row = this.row(c.nodeId);
			if (!row || row.seq >= c.seq) continue;
			const online = rentable(c.to, c.transport) ? 1 : 0;
			if (!online && row.cluster_id) {
				this.sql.run("UPDATE capacity SET online = 0 WHERE node_id = ?", c.nodeId);
				lost.push({ clusterId: row.cluster_id, change: c });
			} else this.sql.run("UPDATE capacity SET online = ?, seq = ? WHERE node_id = ?", online, c.seq, c.nodeId);
		}
		const cameOnline = changes.filter((c) => c.to === "online").map((c) => c.nodeId);
		if (cameOnline.length) await this.refreshReliability(cameOnline, now);
		const told = await Promise.allSettled(
			// Lost as of its last sign of life: billing and rented time stop there, not when the silence was detected.
			lost.map((l) => {
				const at = Math.min(l.change.at, l.change.lastSeenAt ?? l.change.at);
				return this.env.CLUSTERS.getByName(l.clusterId).nodeLost(l.change.nodeId, at, now);
			}),
		);
		lost.forEach((l, i) => {
			if (told[i]?.status !== "fulfilled") return;
			this.sql.run("UPDATE capacity SET seq = max(seq, ?) WHERE node_id = ?", l.change.seq, l.change.nodeId);
		});
		const failed = told.find((t) => t.status === "rejected");
		if (failed) throw failed.reason;
	}

	/**
	 * Reserves whole idle online nodes of the model whose GPUs add up to exactly `gpuCount` (`place`), all or nothing,
	 * in one synchronous step; refused with the reason (`unplaceable`) when no such set is idle.
	 */
	async reserve(
		clusterId: string,
		gpuModel: string,
		gpuCount: number,
		region: string | null,
		exclude: string[] = [],
	): Promise<Reservation> {
		await this.ready(this.now());
		const sku = skuByName(gpuModel)?.name ?? gpuModel;
		const cands = this.sql.all<Candidate>(
			`SELECT node_id, gpu_count, region, reliability, price_cents, verified, bandwidth FROM capacity
			 WHERE sku = ? AND online = 1 AND cluster_id IS NULL`,
			sku,
		);
		const pool = cands.filter((c) => !exclude.includes(c.node_id));
		const picked = place(pool, gpuCount, region);
		if (!picked) {
			const available_gpus = pool.reduce((s, c) => s + c.gpu_count, 0);
			return { ok: false, available_gpus, why: unplaceable(pool, gpuCount, gpuModel) };
		}
		for (const p of picked) this.sql.run("UPDATE capacity SET cluster_id = ? WHERE node_id = ?", clusterId, p.node_id);
		return { ok: true, nodes: picked.map((p) => this.reservedView(p.node_id)) };
	}

	/** Frees a cluster's nodes (all, or the given ones). */
	async release(clusterId: string, nodeIds?: string[]): Promise<void> {
		if (!nodeIds) return void this.sql.run("UPDATE capacity SET cluster_id = NULL WHERE cluster_id = ?", clusterId);
		for (const id of nodeIds) {
			this.sql.run("UPDATE capacity SET cluster_id = NULL WHERE node_id = ? AND cluster_id = ?", id, clusterId);
		}
	}

	/** Online and reserved GPUs of a model: the utilisation that prices it. */
	async usage(gpuModel: string): Promise<{ online_gpus: number; reserved_gpus: number }> {
		await this.ready(this.now());
		const r = this.sql.first<{ online: number; reserved: number }>(
			`SELECT coalesce(sum(gpu_count), 0) AS online,
			        coalesce(sum(CASE WHEN cluster_id IS NOT NULL THEN gpu_count END), 0) AS reserved
			 FROM capacity WHERE sku = ? AND online = 1`,
			skuByName(gpuModel)?.name ?? gpuModel,
		);
		return { online_gpus: r?.online ?? 0, reserved_gpus: r?.reserved ?? 0 };
	}

	/** Rebuilds the index from D1's recorded status as of `now` (first use, and the cron's safety net). */
	async reconcile(now = this.now()): Promise<number> {
		const results: CapacityNode[] = await nodes.capacity(this.env.DB);
		await this.load(results);
		const ids = new Set(results.map((r) => r.id));
		for (const r of this.sql.all<{ node_id: string }>("SELECT node_id FROM capacity")) {
			if (!ids.has(r.node_id)) this.sql.run("DELETE FROM capacity WHERE node_id = ? AND cluster_id IS NULL", r.node_id);
		}
		const online = results.filter((r) => r.status === "online").map((r) => r.id);
		await this.refreshReliability(online, now);
		await this.refreshBandwidth(online);
		this.meta.set("reconciled_at", now);
		return results.length;
	}

	/** The index is built from D1 once, on first use (later changes come from the shards and the hourly reconcile). */
	private ready(now: number): Promise<void> {
		if (this.meta.get<number>("reconciled_at") !== null) return Promise.resolve();
		return (this.bootstrapped ??= this.reconcile(now).then(() => undefined));
	}

	private async load(nodes: CapacityNode[]): Promise<void> {
		for (const n of nodes) {
			const sku = skuOf(n.gpu_model);
			this.sql.run(
				`INSERT INTO capacity
				   (node_id, account_id, sku, gpu_count, region, shard, reliability, price_cents, online, seq, verified)
				 VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)
				 ON CONFLICT (node_id) DO UPDATE
				   SET online = CASE WHEN excluded.seq > capacity.seq THEN excluded.online ELSE capacity.online END,
				   seq = max(capacity.seq, excluded.seq), verified = excluded.verified`,
				n.id,
				n.account_id,
				sku?.name ?? null,
				n.gpu_count,
				n.region,
				n.shard,
				sku?.base_cents ?? 0,
				rentable(n.status, n.transport) ? 1 : 0,
				n.status_seq,
				n.verified ? 1 : 0,
			);
		}
	}

	/** Each node's bandwidth tier from its recorded samples (a safety net under `onBandwidth`). */
	private async refreshBandwidth(ids: string[]): Promise<void> {
		for (let i = 0; i < ids.length; i += 500) {
			const samples = await bandwidthSamplesOf(this.env.DB, ids.slice(i, i + 500));
			for (const [id, s] of samples) {
				this.sql.run("UPDATE capacity SET bandwidth = ? WHERE node_id = ?", tierRank(bandwidthOf(s).tier), id);
			}
		}
	}

	/** Reliability = uptime over the last 7 days (or the node's life) as of `now`, by the one definition of uptime. */
	private async refreshReliability(ids: string[], now: number): Promise<void> {
		for (let i = 0; i < ids.length; i += 500) {
			const chunk = await nodes.createdAt(this.env.DB, ids.slice(i, i + 500));
			const { uptime } = await uptimes(this.env.DB, chunk, { from: now - WEEK_MS, to: now, now });
			for (const [id, u] of uptime) {
				this.sql.run("UPDATE capacity SET reliability = ? WHERE node_id = ?", u.ratio, id);
			}
		}
	}

	private row(nodeId: string): { seq: number; cluster_id: string | null } | null {
		return this.sql.first<{ seq: number; cluster_id: string | null }>(
			"SELECT seq, cluster_id FROM capacity WHERE node_id = ?",
			nodeId,
		);
	}

	private reservedView(nodeId: string): Reserved {
		return this.sql.first<Reserved>(
			"SELECT node_id, gpu_count, shard, account_id, verified FROM capacity WHERE node_id = ?",
			nodeId,
		) as Reserved;
	}
}

/** Capacity is what can be told of work now: online over a WebSocket (HTTP-heartbeat nodes have no push). */
function rentable(status: string, transport: string | null | undefined): boolean {
	return status === "online" && transport !== "http";
}
