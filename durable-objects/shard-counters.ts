// A shard's counters: per-node challenge results for the points ledger, and billable operations for the benchmark.
import type { ChallengeCounts, ShardStore } from "./shard-store.ts";

/** Billable-operation counters, read by the benchmark's cost model (GET /v1/admin/liveness). */
export interface ShardMetrics {
	alarms: number;
	socketsSwept: number;
	messagesIn: number;
	connects: number;
	heartbeats: number;
	/** Rows written by events (flips, outbox, token ids): zero for a beat that changes nothing. */
	rowsWrittenDO: number;
	/** Rows written by periodic checkpoints: a few per CHECKPOINT_S, whatever the node count. */
	rowsWrittenCheckpoint: number;
	rowsWrittenD1: number;
}

const ZERO: ShardMetrics = { alarms: 0, socketsSwept: 0, messagesIn: 0, connects: 0, heartbeats: 0, rowsWrittenDO: 0, rowsWrittenCheckpoint: 0, rowsWrittenD1: 0 };

export class Counters {
	/** Counted by this instance since its last checkpoint. */
	metrics: ShardMetrics = { ...ZERO };
	private challenges: { epoch: number; byNode: Record<string, ChallengeCounts>; dirty: boolean } | null = null;

	constructor(private readonly store: ShardStore, private readonly epochSeconds: number) {}

	challenge(nodeId: string, what: keyof ChallengeCounts, now: number): void {
		const epoch = Math.floor(now / (this.epochSeconds * 1000));
		if (this.challenges?.epoch !== epoch) {
			this.saveChallenges();
			this.challenges = { epoch, byNode: this.store.challengeCounts(epoch), dirty: false };
		}
		const c = (this.challenges.byNode[nodeId] ??= { issued: 0, passed: 0, failed: 0, missed: 0 });
		c[what]++;
		this.challenges.dirty = true;
	}

	/** A node's challenge counts in the epoch containing `now`. */
	challengesOf(nodeId: string, now: number): ChallengeCounts & { epoch: number } {
		const epoch = Math.floor(now / (this.epochSeconds * 1000));
		const byNode = this.challenges?.epoch === epoch ? this.challenges.byNode : this.store.challengeCounts(epoch);
		return { epoch, ...(byNode[nodeId] ?? { issued: 0, passed: 0, failed: 0, missed: 0 }) };
	}

	/** Everything since the shard was created: the checkpointed total plus this instance's count. */
	total(): ShardMetrics {
		const saved = this.store.meta<ShardMetrics>("metrics");
		const m: ShardMetrics = { ...this.metrics, rowsWrittenDO: this.metrics.rowsWrittenDO + this.store.rowsWritten };
		for (const k of Object.keys(m) as (keyof ShardMetrics)[]) m[k] += saved?.[k] ?? 0;
		return m;
	}

	/** Runs the checkpoint's own `writes`, saves challenge counts (one row for all nodes) and the running totals. */
	checkpoint(writes: () => void): void {
		this.metrics.rowsWrittenDO += this.store.rowsWritten;
		this.store.rowsWritten = 0;
		writes();
		this.saveChallenges();
		this.metrics.rowsWrittenCheckpoint += this.store.rowsWritten + 1; // + the metrics row below
		this.store.rowsWritten = 0;
		const total = this.total();
		this.metrics = { ...ZERO };
		this.store.setMeta("metrics", total);
		this.store.rowsWritten = 0;
	}

	private saveChallenges(): void {
		if (!this.challenges?.dirty) return;
		this.store.saveChallengeCounts(this.challenges.epoch, this.challenges.byNode);
		this.challenges.dirty = false;
	}
}
