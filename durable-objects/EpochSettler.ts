// Owns epoch settlement (one instance): closes epochs, computes every node's row, writes the ledger and publishes
// the root.
import { accrue, rentedOnline } from "../workers/domain/accrual.ts";
import { rewardViolation, rowViolations } from "../workers/domain/invariants.ts";
import { emissionBetween, shareRewards } from "../workers/domain/emission.ts";
import { leafHash, merkleRoot, type LeafRow } from "../workers/domain/merkle.ts";
import { computePoints } from "../workers/domain/points.ts";
import type { Settings } from "../workers/domain/settings.ts";
import { readConfig } from "../workers/config.ts";
import {
	closeEpoch,
	firstEpoch,
	markSettled,
	openEpoch,
	unsettledClosedEpochs,
	type EpochRow,
} from "../workers/db/epochs.ts";
import { activeFlags } from "../workers/db/flags.ts";
import { incidentEnds, windowIntervals } from "../workers/db/flips.ts";
import { insertLedgerRows, ledgerLeaves, type LedgerRow } from "../workers/db/ledger.ts";
import { epochNodes, shards as distinctShards } from "../workers/db/nodes.ts";
import { enqueue } from "../workers/db/discord-outbox.ts";
import { rentalsIn } from "../workers/db/rentals.ts";
import { verificationsOf } from "../workers/db/verifications.ts";
import { verificationOf } from "../workers/domain/verification.ts";
import { staffChannel } from "../workers/services/discord-outbox.ts";
import { shard } from "../workers/services/liveness.ts";
import type { ChallengeCounts, SettleBudget, SettleResult } from "../workers/contracts.ts";
import { KitObject, Serial } from "./kit.ts";

/** Nodes computed per page (one D1 read of nodes, intervals and flags each). */
const PAGE = 2000;

/** Rows per D1 insert statement (one JSON parameter). */
const WRITE_CHUNK = 1000;

type Staged = Omit<LedgerRow, "reward" | "leaf">;
interface Progress {
	epoch: number;
	phase: "counts" | "compute" | "write" | "root" | "blocked";
	cursor: string;
	total_points: number;
	emission: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS progress (
  epoch INTEGER PRIMARY KEY, phase TEXT NOT NULL, cursor TEXT NOT NULL, total_points INTEGER NOT NULL,
  emission INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS shard_counts (
  epoch INTEGER NOT NULL, shard TEXT NOT NULL, counts TEXT NOT NULL, PRIMARY KEY (epoch, shard)
);
CREATE TABLE IF NOT EXISTS stage (
  epoch INTEGER NOT NULL, node_id TEXT NOT NULL, row TEXT NOT NULL, PRIMARY KEY (epoch, node_id)
);
`;

export class EpochSettler extends KitObject {
	private readonly s: Settings;
	/** Settlement runs one at a time, even across awaits. */
	private readonly serial = new Serial();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.s = readConfig(env).liveness;
		this.sql.schema(SCHEMA);
	}

	/** Admin: ends the open epoch at `now`, then settles it (and anything left unsettled) at once, without the delay. */
	settleNow(now: number, budget: SettleBudget = {}): Promise<SettleResult> {
		return this.serial.run(async () => {
			const open = await openEpoch(this.env.DB, now);
			await closeEpoch(this.env.DB, open.n, now);
			return this.settleClosed(budget, now, now);
		});
	}

	/**
	 * Cron: closes every epoch whose EPOCH_SECONDS are up by `now` (at its exact boundary), then settles those whose
	 * every silence has been noticed: a node that went silent just before the end is found OFFLINE_AFTER_S plus a
	 * sweep later, and its interval then ends at its last keepalive, inside the epoch.
	 */
	tick(now: number, budget: SettleBudget = {}): Promise<SettleResult> {
		const length = this.s.epochSeconds * 1000;
		return this.serial.run(async () => {
			let open = await openEpoch(this.env.DB, now);
			while (open.started_at + length <= now) {
				await closeEpoch(this.env.DB, open.n, open.started_at + length);
				open = await openEpoch(this.env.DB, now);
			}
			return this.settleClosed(budget, now, now - settleDelayMs(this.s));
		});
	}

	/** Continues whatever settlement is unfinished (after a crash or a spent budget). */
	resume(budget: SettleBudget = {}, now = this.now()): Promise<SettleResult> {
		return this.serial.run(() => this.settleClosed(budget, now, Number.POSITIVE_INFINITY));
	}

	/** Settles closed epochs, oldest first, that ended by `endedBy`. */
	private async settleClosed(b: SettleBudget, now: number, endedBy: number): Promise<SettleResult> {
		const budget = { pages: b.maxPages ?? Number.POSITIVE_INFINITY, size: b.pageSize ?? PAGE };
		const settled: SettleResult["settled"] = [];
		for (const e of await unsettledClosedEpochs(this.env.DB)) {
			if ((e.ended_at as number) > endedBy) break; // too fresh: a silence in its last seconds may be unnoticed yet
			const root = await this.settle(e, budget, now);
			if (root === null) return { settled, done: false };
			if (typeof root !== "string") return { settled, done: false, blocked: { epoch: e.n, violations: root } };
			settled.push({ epoch: e.n, root });
		}
		return { settled, done: true };
	}

	/**
	 * Settles one closed epoch through its phases, each resumable, as of `now`: its root, null when the budget ran out,
	 * or the invariants its figures break (then nothing is published and the next call computes it afresh).
	 */
	private async settle(
		e: EpochRow,
		budget: { pages: number; size: number },
		now: number,
	): Promise<string | string[] | null> {
		const from = e.started_at;
		const to = e.ended_at as number;
		let p =
			this.progress(e.n) ??
			this.saveProgress({ epoch: e.n, phase: "counts", cursor: "", total_points: 0, emission: 0 });
		if (p.phase === "blocked") {
			this.sql.run("DELETE FROM stage WHERE epoch = ?", e.n);
			p = this.saveProgress({ ...p, phase: "compute", cursor: "" });
		}
		if (p.phase === "counts") {
			// Each shard hands over (once, idempotently) the challenge counts of the epoch it closes.
			for (const name of await distinctShards(this.env.DB)) {
				const counts = await shard(this.env, name).closeEpoch(e.n);
				this.sql.run(
					"INSERT OR REPLACE INTO shard_counts (epoch, shard, counts) VALUES (?, ?, ?)",
					e.n,
					name,
					JSON.stringify(counts),
				);
			}
			p = this.saveProgress({ ...p, phase: "compute" });
		}
		const counts = p.phase === "compute" ? this.countsOf(e.n) : new Map<string, ChallengeCounts>();
		while (p.phase === "compute") {
			if (budget.pages-- <= 0) return null;
			const nodes = await epochNodes(this.env.DB, from, to, p.cursor, budget.size);
			const ids = nodes.map((n) => n.id);
			const [intervals, flags, rentals, verifications] = await Promise.all([
				windowIntervals(this.env.DB, ids, from, to),
				activeFlags(this.env.DB, ids, from, to),
				rentalsIn(this.env.DB, ids, from, to),
				verificationsOf(this.env.DB, ids),
			]);
			const violations: string[] = [];
			const incidentIds = [...intervals.values()].flat().flatMap((i) => (i.incident_id ? [i.incident_id] : []));
			const incidents = await incidentEnds(this.env.DB, [...new Set(incidentIds)]);
			for (const n of nodes) {
				const a = accrue(intervals.get(n.id) ?? [], incidents, from, to);
				const c = counts.get(n.id) ?? { issued: 0, passed: 0, failed: 0, missed: 0 };
				const penalties = flags.get(n.id) ?? [];
				const verified = verificationOf(verifications.get(n.id), n).state === "verified";
				const rented_gpu_seconds = rentedOnline(rentals.get(n.id) ?? [], intervals.get(n.id) ?? [], from, to);
				const t = computePoints({
					gpu_model: n.gpu_model,
					gpu_count: n.gpu_count,
					verified,
					...a,
					rented_gpu_seconds,
					challenges: c,
					penalties,
				});
				const row: Staged = {
					epoch: e.n,
					node_id: n.id,
					account_id: n.account_id,
					gpu_model: n.gpu_model,
					gpu_count: n.gpu_count,
					tier: t.tier,
					tier_weight_bp: t.tier_weight_bp,
					verified: verified ? 1 : 0,
					...a,
					rented_gpu_seconds,
					challenges_issued: c.issued,
					challenges_passed: c.passed,
					challenges_failed: c.failed,
					challenges_missed: c.missed,
					availability_points: t.availability_points,
					compute_points: t.compute_points,
					penalty_points: t.penalty_points,
					points: t.points,
					penalties: JSON.stringify(penalties),
				};
				violations.push(...rowViolations(row, (to - from) / 1000));
				this.sql.run(
					"INSERT OR REPLACE INTO stage (epoch, node_id, row) VALUES (?, ?, ?)",
					e.n,
					n.id,
					JSON.stringify(row),
				);
			}
			if (violations.length) return this.block(e, p, violations, now);
			p =
				nodes.length < budget.size
					? await this.finishCompute(e, p)
					: this.saveProgress({ ...p, cursor: nodes[nodes.length - 1]?.id ?? p.cursor });
		}
		while (p.phase === "write") {
			if (budget.pages-- <= 0) return null;
			const page = this.sql.all<{ node_id: string; row: string }>(
				"SELECT node_id, row FROM stage WHERE epoch = ? AND node_id > ? ORDER BY node_id LIMIT ?",
				e.n,
				p.cursor,
				budget.size,
			);
			const staged = page.map((r) => JSON.parse(r.row) as Staged);
			const rewards = shareRewardsOf(p, staged);
			const rows: LedgerRow[] = [];
			for (const [k, r] of staged.entries()) {
				const reward = rewards[k] as number;
				rows.push({ ...r, reward, leaf: await leafHash({ ...r, reward } as LeafRow) });
			}
			for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
				await insertLedgerRows(this.env.DB, rows.slice(i, i + WRITE_CHUNK));
			}
			const last = page[page.length - 1]?.node_id as string;
			p = this.saveProgress(page.length < budget.size ? { ...p, phase: "root", cursor: "" } : { ...p, cursor: last });
		}
		// The root is computed from what D1 holds, so it always matches what anyone can read back.
		const leaves = await ledgerLeaves(this.env.DB, e.n);
		const rewards = leaves.reduce((sum, l) => sum + l.reward, 0);
		const broken = rewardViolation(rewards, p.emission, leaves.length, p.total_points);
		if (broken) return this.block(e, p, [broken], now);
		const root = await merkleRoot(leaves.map((l) => l.leaf));
		const totals = { n: e.n, root, nodes: leaves.length, total_points: p.total_points, emission: p.emission };
		await markSettled(this.env.DB, totals, now);
		this.sql.run("DELETE FROM stage WHERE epoch = ?", e.n);
		this.sql.run("DELETE FROM shard_counts WHERE epoch = ?", e.n);
		this.sql.run("DELETE FROM progress WHERE epoch = ?", e.n);
		return root;
	}

	/**
	 * The epoch's figures break an invariant: it is not published, staff hear of it once (the staff channel, and the
	 * log), and the next call computes it afresh (a row already written stays; ledger inserts ignore repeats).
	 */
	private async block(e: EpochRow, p: Progress, violations: string[], now: number): Promise<string[]> {
		this.saveProgress({ ...p, phase: "blocked", cursor: "" });
		console.error(`epoch ${e.n} not published: ${violations.join("; ")}`);
		const channel = staffChannel(this.env);
		if (channel && this.meta.get<number>(`alerted:${e.n}`) === null) {
			const list = violations.slice(0, 10).map((v) => `• ${v}`);
			const content = [`Epoch ${e.n} was not published: its figures break an invariant.`, ...list].join("\n");
			await enqueue(this.env.DB, { channelId: channel, content: content.slice(0, 1900) }, now);
			this.meta.set(`alerted:${e.n}`, now);
		}
		return violations;
	}

	/** Every row is staged: fix the epoch's total points and emission, which every reward is derived from. */
	private async finishCompute(e: EpochRow, p: Progress): Promise<Progress> {
		const sum = "SELECT coalesce(sum(json_extract(row, '$.points')), 0) FROM stage WHERE epoch = ?";
		const total = this.sql.value<number>(sum, e.n) ?? 0;
		const genesis = (await firstEpoch(this.env.DB))?.started_at ?? e.started_at; // emission month 0 starts with epoch 1
		const emission = emissionBetween(genesis, e.started_at, e.ended_at as number);
		return this.saveProgress({ ...p, phase: "write", cursor: "", total_points: total, emission });
	}

	private countsOf(epoch: number): Map<string, ChallengeCounts> {
		const out = new Map<string, ChallengeCounts>();
		for (const r of this.sql.all<{ counts: string }>("SELECT counts FROM shard_counts WHERE epoch = ?", epoch)) {
			for (const [id, c] of Object.entries(JSON.parse(r.counts) as Record<string, ChallengeCounts>)) out.set(id, c);
		}
		return out;
	}

	private progress(epoch: number): Progress | null {
		return this.sql.first<Progress>("SELECT * FROM progress WHERE epoch = ?", epoch);
	}

	private saveProgress(p: Progress): Progress {
		this.sql.run(
			"INSERT OR REPLACE INTO progress (epoch, phase, cursor, total_points, emission) VALUES (?, ?, ?, ?, ?)",
			p.epoch,
			p.phase,
			p.cursor,
			p.total_points,
			p.emission,
		);
		return p;
	}
}

/** How long after an epoch's end the cron waits to settle it: the longest a silence can go unnoticed, and a sweep. */
export function settleDelayMs(s: Settings): number {
	return (s.offlineAfterS + 2 * s.sweepIntervalS) * 1000;
}

/** Rewards of one page, pro rata to the epoch's total (fixed before the first row is written). */
function shareRewardsOf(p: Progress, rows: Staged[]): number[] {
	const points = rows.map((r) => r.points);
	return shareRewards(p.emission, [...points, p.total_points - points.reduce((s, x) => s + x, 0)]).slice(
		0,
		rows.length,
	);
}
