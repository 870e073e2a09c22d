// A shard's challenge tally: each recorded outcome counted in the epoch the shard has open, stored before any agent
// is told, and handed to settlement once per epoch.
import type { ChallengeCounts } from "../workers/contracts.ts";
import { openEpochNumber } from "../workers/db/epochs.ts";
import type { Outcome } from "../workers/domain/challenge.ts";
import type { Meta } from "./kit.ts";
import type { ShardStore } from "./shard-store.ts";

/** An outcome decided for a node's challenge (answer judged, deadline passed, or the node left first). */
export interface Decided {
	nodeId: string;
	id: string;
	outcome: Outcome;
}

/** Bucket -1 held an earlier version's open epoch; it is folded into the open epoch's bucket on first use. */
const LEGACY_OPEN = -1;

const zero = (): ChallengeCounts => ({ issued: 0, passed: 0, failed: 0, missed: 0 });

export class ChallengeTally {
	/** The open epoch's number and counts, loaded on first use. */
	private open: { n: number; byNode: Record<string, ChallengeCounts> } | null = null;

	constructor(
		private readonly store: ShardStore,
		private readonly meta: Meta,
		private readonly db: D1Database,
	) {}

	/**
	 * Counts outcomes in the open epoch and stores the epoch's counts (one row, however many outcomes) before the
	 * caller tells any agent: what an agent is told is what the ledger will say. Each outcome adds one to `issued` and
	 * one to its own count, so issued = passed + failed + missed always. Returns the epoch they count in.
	 */
	async record(decided: Decided[]): Promise<number> {
		const open = await this.load();
		if (decided.length === 0) return open.n;
		for (const d of decided) {
			const c = (open.byNode[d.nodeId] ??= zero());
			c.issued++;
			c[d.outcome]++;
		}
		this.store.saveChallengeCounts(open.n, open.byNode);
		return open.n;
	}

	async openEpoch(): Promise<number> {
		return (await this.load()).n;
	}

	/** A node's counts in the open epoch (as stored: everything counted is stored). */
	async countsOf(nodeId: string): Promise<ChallengeCounts> {
		return (await this.load()).byNode[nodeId] ?? zero();
	}

	/**
	 * Settlement closes epoch `n`: its counts are final, and outcomes recorded from now on count in `n + 1`. Asking
	 * again returns the same counts, so settlement can retry.
	 */
	async closeEpoch(n: number): Promise<Record<string, ChallengeCounts>> {
		const open = await this.load();
		const counts = this.store.challengeCounts(n);
		if (open.n <= n) {
			this.open = { n: n + 1, byNode: this.store.challengeCounts(n + 1) };
			this.meta.set("open_epoch", n + 1);
			this.store.pruneChallengeCounts(n - 48);
		}
		return counts;
	}

	/** The open epoch: the one after the last this shard closed, else D1's open epoch (a read, no write). */
	private async load(): Promise<{ n: number; byNode: Record<string, ChallengeCounts> }> {
		if (this.open) return this.open;
		const n = this.meta.get<number>("open_epoch") ?? (await openEpochNumber(this.db));
		if (this.open) return this.open; // loaded by a concurrent call during the read
		const byNode = this.store.challengeCounts(n);
		const legacy = this.store.challengeCounts(LEGACY_OPEN);
		if (Object.keys(legacy).length) {
			for (const [id, c] of Object.entries(legacy)) {
				// Counted at issue then, so pending challenges were in `issued`: only outcomes carry over.
				const into = (byNode[id] ??= zero());
				into.issued += c.passed + c.failed + c.missed;
				into.passed += c.passed;
				into.failed += c.failed;
				into.missed += c.missed;
			}
			this.store.saveChallengeCounts(n, byNode);
			this.store.deleteChallengeCounts(LEGACY_OPEN);
		}
		this.open = { n, byNode };
		return this.open;
	}
}
