// A shard's counters of billable operations (rows, messages, alarms), read by the benchmark's cost model.
import type { ShardMetrics } from "../workers/contracts.ts";
import type { Meta, Sql } from "./kit.ts";

const ZERO: ShardMetrics = {
	alarms: 0,
	socketsSwept: 0,
	messagesIn: 0,
	verifyRefused: 0,
	connects: 0,
	heartbeats: 0,
	rowsWrittenDO: 0,
	rowsWrittenCheckpoint: 0,
	rowsWrittenD1: 0,
	rowsReadDO: 0,
};

export class Counters {
	/** Counted by this instance since its last checkpoint. */
	metrics: ShardMetrics = { ...ZERO };

	/** `sql` is the shard's counted SQL: its rows written and read are the DO rows of the metrics. */
	constructor(
		private readonly sql: Sql,
		private readonly meta: Meta,
	) {}

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

	/**
	 * Runs `work` and counts the rows it writes as periodic (like a checkpoint's): a few per sweep and shard, whatever
	 * the node count — the sweep's batch of challenge outcomes is one row. The cost model scales these per shard-hour.
	 */
	async periodic<T>(work: () => Promise<T>): Promise<T> {
		const before = this.sql.rowsWritten;
		try {
			return await work();
		} finally {
			const written = Math.max(0, this.sql.rowsWritten - before);
			this.sql.rowsWritten -= written;
			this.metrics.rowsWrittenCheckpoint += written;
		}
	}

	/** Runs the checkpoint's own `writes` and saves the totals. */
	checkpoint(writes: () => void): void {
		this.metrics.rowsWrittenDO += this.sql.rowsWritten;
		this.metrics.rowsReadDO += this.sql.rowsRead;
		this.sql.rowsWritten = 0;
		this.sql.rowsRead = 0;
		writes();
		this.metrics.rowsWrittenCheckpoint += this.sql.rowsWritten + 1; // + the metrics row below
		this.sql.rowsWritten = 0;
		const total = this.total();
		this.metrics = { ...ZERO };
		this.meta.set("metrics", total);
		this.sql.rowsWritten = 0;
		this.sql.rowsRead = 0;
	}
}
