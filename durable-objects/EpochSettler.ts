// Owns epoch settlement (one instance): closes epochs, computes every node's row, writes the ledger and publishes
// the root.
import { accrue, rentedOnlineEach } from "../workers/domain/accrual.ts";
import { rewardViolation, rowViolations } from "../workers/domain/invariants.ts";
import { emissionBetween, shareRewards } from "../workers/domain/emission.ts";
import { bandwidthFactorBp, bandwidthOf } from "../workers/domain/bandwidth.ts";
import { LEAF_VERSION, leafHash, merkleRoot, type LeafRow } from "../workers/domain/merkle.ts";
import {
	BP,
	addressShares,
	computePoints,
	creditedGpus,
	onProbation,
	splitRented,
	type RentalPart,
} from "../workers/domain/points.ts";
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
import { bandwidthSamplesOf } from "../workers/db/bandwidth.ts";
import { addressKeysOf, nodesBehind } from "../workers/db/identity.ts";
import { provenAllowances } from "../workers/db/rounds.ts";
import { epochNodes, shards as distinctShards, type EpochNode } from "../workers/db/nodes.ts";
import { enqueue } from "../workers/db/discord-outbox.ts";
import { pairKey, rentalsIn, tiedRenters, type RentalRow } from "../workers/db/rentals.ts";
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
			const violations: string[] = [];
			for (const row of await this.rowsOf(e.n, nodes, counts, from, to)) {
				violations.push(...rowViolations(row, (to - from) / 1000));
				this.sql.run(
					"INSERT OR REPLACE INTO stage (epoch, node_id, row) VALUES (?, ?, ?)",
					e.n,
					row.node_id,
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
			// A row staged by code from before leaf encoding 2 has no version: it is written and hashed as version 1.
			const staged = page.map((r): Staged => {
				const row = JSON.parse(r.row) as Omit<Staged, "leaf_version"> & { leaf_version?: number };
				return { ...row, leaf_version: row.leaf_version ?? 1 };
			});
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
	 * The rows of one page of the epoch's nodes, from what D1 holds now (docs/POINTS.md "Inputs of one row"). Every
	 * node behind the page's addresses is read too: the allowance is shared by all of them, in this page or another.
	 */
	private async rowsOf(
		epoch: number,
		nodes: EpochNode[],
		counts: Map<string, ChallengeCounts>,
		from: number,
		to: number,
	): Promise<Staged[]> {
		const db = this.env.DB;
		const ids = nodes.map((n) => n.id);
		const addressOf = await addressKeysOf(db, ids);
		const keys = [...new Set(addressOf.values())];
		const peers = await nodesBehind(db, keys, from, to);
		const all = [...new Set([...ids, ...peers.map((q) => q.id)])];
		const [intervals, flags, rentals, verifications, samples, proven] = await Promise.all([
			windowIntervals(db, all, from, to),
			activeFlags(db, ids, from, to),
			rentalsIn(db, ids, from, to),
			verificationsOf(db, all),
			bandwidthSamplesOf(db, ids),
			provenAllowances(db, keys),
		]);
		const ties = await tiedRenters(db, renterPairs(nodes, rentals));
		const incidentIds = [...intervals.values()].flat().flatMap((i) => (i.incident_id ? [i.incident_id] : []));
		const incidents = await incidentEnds(db, [...new Set(incidentIds)]);
		const accrued = new Map(all.map((id) => [id, accrue(intervals.get(id) ?? [], incidents, from, to)]));
		const verified = (n: { id: string; gpu_model: string; gpu_count: number }) =>
			verificationOf(verifications.get(n.id), n).state === "verified";
		const probation = (n: { created_at: number }) => onProbation(n.created_at, from, this.s.probationS);
		// An address's allowance is shared by its nodes that earn availability in the epoch: credited time, no probation.
		const earning = peers.filter((q) => {
			const a = accrued.get(q.id);
			return !probation(q) && a !== undefined && a.online_seconds + a.incident_seconds > 0;
		});
		const shares = addressShares(
			earning.map((q) => ({ address_key: q.address_key, credited_gpus: creditedGpus(verified(q), q.gpu_count) })),
			(key) => Math.max(this.s.addressAllowanceGpus, proven.get(key) ?? 0),
		);
		return nodes.map((n): Staged => {
			const a = accrued.get(n.id) ?? { online_seconds: 0, incident_seconds: 0 };
			const c = counts.get(n.id) ?? { issued: 0, passed: 0, failed: 0, missed: 0 };
			const penalties = flags.get(n.id) ?? [];
			const isVerified = verified(n);
			const onProbationNow = probation(n);
			const key = addressOf.get(n.id);
			const address_share_bp = (key === undefined ? undefined : shares.get(key)) ?? BP;
			const bandwidth_tier = bandwidthOf(samples.get(n.id) ?? []).tier;
			const bandwidth_factor_bp = bandwidthFactorBp(bandwidth_tier);
			const own = rentals.get(n.id) ?? [];
			const seconds = rentedOnlineEach(own, intervals.get(n.id) ?? [], from, to);
			// Each cluster's time in the epoch is judged once: no renter on record is no independent renter, and no
			// price on record is nothing paid.
			const perCluster = new Map<string, RentalPart>();
			for (const [k, r] of own.entries()) {
				const tied =
					r.renter_id === null || r.renter_id === n.account_id || ties.has(pairKey({ ...r, renter: r.renter_id }));
				const part = perCluster.get(r.cluster_id) ?? { gpu_seconds: 0, price_cents: r.price_cents ?? 0, tied };
				perCluster.set(r.cluster_id, { ...part, gpu_seconds: part.gpu_seconds + (seconds[k] ?? 0) });
			}
			const rented = splitRented([...perCluster.values()]);
			const t = computePoints({
				gpu_model: n.gpu_model,
				gpu_count: n.gpu_count,
				verified: isVerified,
				probation: onProbationNow,
				address_share_bp,
				bandwidth_factor_bp,
				...a,
				...rented,
				challenges: c,
				penalties,
			});
			return {
				leaf_version: LEAF_VERSION,
				epoch,
				node_id: n.id,
				account_id: n.account_id,
				gpu_model: n.gpu_model,
				gpu_count: n.gpu_count,
				tier: t.tier,
				tier_weight_bp: t.tier_weight_bp,
				verified: isVerified ? 1 : 0,
				credited_gpus: t.credited_gpus,
				effective_weight_bp: t.effective_weight_bp,
				probation: onProbationNow ? 1 : 0,
				address_share_bp,
				bandwidth_tier,
				bandwidth_factor_bp,
				...a,
				...rented,
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
		});
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

/** Each rented node's operator and its renters from other accounts, whose ties settlement looks up. */
function renterPairs(nodes: EpochNode[], rentals: Map<string, RentalRow[]>) {
	return nodes.flatMap((n) =>
		(rentals.get(n.id) ?? []).flatMap((r) =>
			r.renter_id !== null && r.renter_id !== n.account_id
				? [{ node_id: n.id, operator: n.account_id, renter: r.renter_id }]
				: [],
		),
	);
}

/** Rewards of one page, pro rata to the epoch's total (fixed before the first row is written). */
function shareRewardsOf(p: Progress, rows: Staged[]): number[] {
	const points = rows.map((r) => r.points);
	return shareRewards(p.emission, [...points, p.total_points - points.reduce((s, x) => s + x, 0)]).slice(
		0,
		rows.length,
	);
}
