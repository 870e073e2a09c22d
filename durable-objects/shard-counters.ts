// A shard's counters: per-node challenge results for the points ledger, and billable operations for the benchmark.
import type { ChallengeCounts, ShardMetrics } from "../workers/contracts.ts";
import type { Meta, Sql } from "./kit.ts";
import type { ShardStore } from "./shard-store.ts";

const ZERO: ShardMetrics = {
	alarms: 0,
	socketsSwept: 0,
	messagesIn: 0,
	connects: 0,
	heartbeats: 0,
	rowsWrittenDO: 0,
	rowsWrittenCheckpoint: 0,
	rowsWrittenD1: 0,
	rowsReadDO: 0,
};

/** The open epoch's bucket; closed buckets are stored under their epoch number. */
const OPEN = -1;

export class Counters {
	/** Counted by this instance since its last checkpoint. */
	metrics: ShardMetrics = { ...ZERO };
	private open: { byNode: Record<string, ChallengeCounts>; dirty: boolean } | null = null;

	/** `sql` is the shard's counted SQL: its rows written and read are the DO rows of the metrics. */
	constructor(
		private readonly store: ShardStore,
		private readonly sql: Sql,
		private readonly meta: Meta,
	) {}

	private bucket(): { byNode: Record<string, ChallengeCounts>; dirty: boolean } {
		return (this.open ??= { byNode: this.store.challengeCounts(OPEN), dirty: false });
	}

	/** Counts a challenge result in the open epoch. */
	challenge(nodeId: string, what: keyof ChallengeCounts): void {
		const b = this.bucket();
		const c = (b.byNode[nodeId] ??= { issued: 0, passed: 0, failed: 0, missed: 0 });
		c[what]++;
		b.dirty = true;
	}

	/** A node's challenge counts in the open epoch. */
	challengesOf(nodeId: string): ChallengeCounts {
		return this.bucket().byNode[nodeId] ?? { issued: 0, passed: 0, failed: 0, missed: 0 };
	}

	/**
	 * Closes epoch `n`: everything counted so far belongs to it and counting starts afresh. Asking again
	 * for a closed epoch returns what was stored, so settlement can retry.
	 */
	closeEpoch(n: number): Record<string, ChallengeCounts> {
		if (this.store.hasChallengeCounts(n)) return this.store.challengeCounts(n);
		const closed = this.bucket().byNode;
		this.store.saveChallengeCounts(n, closed);
		this.store.saveChallengeCounts(OPEN, {});
		this.store.pruneChallengeCounts(n - 48);
		this.open = { byNode: {}, dirty: false };
		return closed;
	}

	/** Everything since the shard was created: the checkpointed total plus this instance's count. */
	total(): ShardMetrics {
		const saved = this.meta.get<ShardMetrics>("metrics");
		const m: ShardMetrics = {
			...this.metrics,
			rowsWrittenDO: this.metrics.rowsWrittenDO + this.sql.rowsWritten,
			rowsReadDO: this.metrics.rowsReadDO + this.sql.rowsRead,
		};
		for (const k of Object.keys(m) as (keyof ShardMetrics)[]) m[k] += saved?.[k] ?? 0;
		return m;
	}

	/** Runs the checkpoint's own `writes`, saves the open epoch's counts (one row for all nodes) and the totals. */
	checkpoint(writes: () => void): void {
		this.metrics.rowsWrittenDO += this.sql.rowsWritten;
		this.metrics.rowsReadDO += this.sql.rowsRead;
		this.sql.rowsWritten = 0;
		this.sql.rowsRead = 0;
		writes();
		if (this.open?.dirty) {
			this.store.saveChallengeCounts(OPEN, this.open.byNode);
			this.open.dirty = false;
		}
		this.metrics.rowsWrittenCheckpoint += this.sql.rowsWritten + 1; // + the metrics row below
		this.sql.rowsWritten = 0;
		const total = this.total();
		this.metrics = { ...ZERO };
		this.meta.set("metrics", total);
		this.sql.rowsWritten = 0;
		this.sql.rowsRead = 0;
	}
}
