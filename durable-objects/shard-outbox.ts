// A shard's way out: flips and incident records queued in its own storage, then written to D1, the scheduler's
// capacity index and the owners' alert queues, in that order, each step idempotent so a retry after a failure is safe.
import type { CapacityChange } from "../workers/contracts.ts";
import { writeOutbox } from "../workers/db/flips.ts";
import type { Flip } from "../workers/domain/flips.ts";
import { Coalesced } from "./kit.ts";
import type { AlertHandoff } from "./shard-alerts.ts";
import type { Counters } from "./shard-counters.ts";
import type { ShardStore } from "./shard-store.ts";

export class ShardOutbox {
	/** When the flush in progress started (the scheduler is told of changes as of then). */
	private now = 0;
	/** One flush at a time; a commit during one waits for the next. */
	private readonly flushing = new Coalesced(() => this.flush());

	constructor(
		private readonly store: ShardStore,
		private readonly env: Env,
		private readonly counters: Counters,
		private readonly alerts: AlertHandoff,
	) {}

	/** Queues `flips` in the shard's storage first, then writes the queue out (left for the next sweep on failure). */
	async commit(flips: Flip[], now: number): Promise<void> {
		if (flips.length) this.store.enqueue({ kind: "flips", flips });
		this.now = now;
		await this.flushing.run();
	}

	private async flush(): Promise<void> {
		if (this.store.outboxSize() === 0) return;
		for (let batch = this.store.outbox(); batch.length; batch = this.store.outbox()) {
			const ops = batch.map((b) => b.op);
			let owners: Map<string, string>;
			try {
				this.counters.metrics.rowsWrittenD1 += await writeOutbox(this.env.DB, ops);
				const changes = ops.flatMap((op) => (op.kind === "flips" ? op.flips.map(capacityChange) : []));
				if (changes.length) await this.env.SCHEDULER.getByName("global").onChanges(changes, this.now);
				owners = await this.alerts.owners(ops);
			} catch (err) {
				console.error("writing flips failed; the outbox keeps them for the next sweep", err);
				return;
			}
			// Queued for the alert pipeline in the same step as the ack: a restart in between neither loses nor repeats.
			this.alerts.queue(ops, owners);
			this.store.ack(batch[batch.length - 1]?.id ?? 0);
		}
		this.alerts.deliver().catch((err) => console.error("alert hand-off failed; retrying next sweep", err));
	}
}

/** What the scheduler needs of a flip: a lost member is billed until its last sign of life, not its detection. */
function capacityChange(f: Flip): CapacityChange {
	const lastSeenAt = f.intervalEnd ?? f.lastSeenAt;
	return { nodeId: f.nodeId, to: f.to, at: f.at, seq: f.seq, lastSeenAt, transport: f.transport ?? null };
}
