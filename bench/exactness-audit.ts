// The exactness scenario's audit: every settled ledger row, epoch and billing step read from the local D1 file
// (read-only, after the coordinator stopped), checked with the coordinator's own rules (workers/domain/invariants.ts).
import { join } from "node:path";
import type * as InvariantsModule from "../workers/domain/invariants.ts";
import type * as MerkleModule from "../workers/domain/merkle.ts";
import { findD1File, loadSqlite } from "./flips.ts";
import { summarize, type Summary } from "./stats.ts";

/** The rules counted, in words; the first six are the invariants the settler and billing enforce. */
export const RULES = {
	challenges: "challenges issued = passed + failed + missed",
	rented: "rented GPU-seconds ≤ (online + incident) × GPUs",
	epochLength: "online + incident ≤ epoch length",
	terms: "a leaf-encoding-2 row's terms: GPUs credited by verification, no availability on probation, address share",
	uncounted: "a leaf-encoding-3 row's self-rented + unpaid GPU-seconds ≤ its rented GPU-seconds",
	rewards: "rewards = emission less < 1 unit per row",
	bill: "charge = payouts + fee, per billing step",
	negative: "no negative movement in a billing step",
	otherRow: "a row rule not named above",
} as const;
export type Rule = keyof typeof RULES;

export interface Violation {
	rule: Rule;
	epoch: number | null;
	node_id: string | null;
	/** A billing step: its cluster and number. */
	step?: { cluster_id: string; n: number };
	/** The rule's own message (invariants.ts). */
	message: string;
	/** The row, epoch or step as read from D1. */
	raw: unknown;
}

/** Checks beyond invariants.ts that the published figures match the rows they come from; each counts failures. */
export interface Consistency {
	/** Settled epochs whose published `nodes` differs from their ledger rows. */
	rows_vs_published: number;
	/** Settled epochs whose published total_points differs from the sum of their rows' points. */
	points_vs_published: number;
	/** Rows whose stored leaf is not the hash of their figures (workers/domain/merkle.ts leafHash). */
	leaf_mismatch: number;
	/** Settled epochs whose published root is not the Merkle root of their rows' leaves. */
	root_mismatch: number;
	/** Ledger rows of epochs without a root (left by a blocked or unfinished settlement). */
	rows_without_root: number;
	/** Ended clusters that still hold credits (hold − charges − refunds ≠ 0). */
	holds_left_on_ended_clusters: number;
}

export interface Audit {
	db_file: string;
	epochs_closed: number;
	epochs_settled: number;
	highest_settled: number;
	/** Epochs 1..target without a root. */
	missing_roots: number[];
	/** Closed epochs with no root (any number). */
	unsettled_closed: number[];
	rows_checked: number;
	billing_steps_checked: number;
	clusters_billed: number;
	violations_by_rule: Record<Rule, number>;
	violations: Violation[];
	consistency: Consistency;
	/** Epochs a settle call reported blocked (SettleResult.blocked, from the audit log of the admin route). */
	blocked_in_audit_log: number[];
	settle_audit_entries: number;
	/** How much the rules had to bite on: rows with non-zero figures, totals, epoch lengths. */
	exercised: {
		rows_online: number;
		rows_incident: number;
		rows_rented: number;
		rows_challenged: number;
		rows_at_rented_bound: number;
		rows_at_epoch_bound: number;
		challenges: { issued: number; passed: number; failed: number; missed: number };
		rented_gpu_seconds: number;
		incident_seconds: number;
		epoch_ms: Summary;
		rows_per_epoch: Summary;
		reward_short_max_per_row: number;
		billing: { charged: number; fees: number; payouts: number; refunds: number; payout_rows: number };
		/** Coordinator incidents the shards recorded, by reason. */
		incidents: Record<string, number>;
	};
}

interface EpochRow {
	n: number;
	started_at: number;
	ended_at: number | null;
	settled_at: number | null;
	root: string | null;
	nodes: number | null;
	total_points: number | null;
	emission: number | null;
}

/**
 * A `points_ledger` row as read from D1: the invariants' facts, the hashed fields (encoding 1, 2 or 3, by
 * `leaf_version`; an older row holds null in the columns later encodings added) and the leaf hash.
 */
type LedgerRow = InvariantsModule.SettledFacts &
	MerkleModule.LeafRow & {
		epoch: number;
		leaf: string;
		reward: number;
		points: number;
		leaf_version: number;
		credited_gpus: number | null;
		effective_weight_bp: number | null;
		probation: number | null;
		address_share_bp: number | null;
		bandwidth_tier: string | null;
		bandwidth_factor_bp: number | null;
		self_rented_gpu_seconds: number | null;
		unpaid_gpu_seconds: number | null;
	};

interface EntryRow {
	key: string;
	kind: string;
	available_delta: number;
	held_delta: number;
	cluster_id: string | null;
}

const STEP_KEY = /^(charge|fee|refund):(clu_[A-Za-z0-9_-]+):(\d+)$/;
const PAYOUT_KEY = /^payout:(clu_[A-Za-z0-9_-]+):(\d+):(.+)$/;
const OVER = new Set(["completed", "terminated", "failed"]);

/** Which invariants.ts row rule a message comes from (its wording is the rule's). */
function rowRule(message: string): Rule {
	if (/ self-rented \+ .* unpaid exceed /.test(message)) return "uncounted";
	if (/ challenges issued but /.test(message)) return "challenges";
	if (/ rented GPU-seconds exceed /.test(message)) return "rented";
	if (/ incident seconds exceed the epoch$/.test(message)) return "epochLength";
	if (/ GPUs credited, verified = | availability points during probation$| address share .* outside /.test(message))
		return "terms";
	return "otherRow";
}

/**
 * Reads the D1 file under `persistDir` and checks every settled epoch, every ledger row and every billing step.
 * `codeRoot` is the frozen copy the coordinator ran: its invariants and Merkle code are the ones applied.
 */
export async function auditLedger(persistDir: string, codeRoot: string, target: number): Promise<Audit> {
	const inv = (await import(join(codeRoot, "workers/domain/invariants.ts"))) as typeof InvariantsModule;
	const merkle = (await import(join(codeRoot, "workers/domain/merkle.ts"))) as typeof MerkleModule;
	const file = await findD1File(persistDir);
	if (!file) throw new Error(`no D1 database file under ${persistDir}`);
	const { DatabaseSync } = await loadSqlite();
	const db = new DatabaseSync(file, { readOnly: true });
	try {
		const violations: Violation[] = [];
		const consistency: Consistency = {
			rows_vs_published: 0,
			points_vs_published: 0,
			leaf_mismatch: 0,
			root_mismatch: 0,
			rows_without_root: 0,
			holds_left_on_ended_clusters: 0,
		};
		const x = {
			rows_online: 0,
			rows_incident: 0,
			rows_rented: 0,
			rows_challenged: 0,
			rows_at_rented_bound: 0,
			rows_at_epoch_bound: 0,
			challenges: { issued: 0, passed: 0, failed: 0, missed: 0 },
			rented_gpu_seconds: 0,
			incident_seconds: 0,
			reward_short_max_per_row: 0,
		};
		const epochs = db.prepare("SELECT * FROM epochs ORDER BY n").all() as unknown as EpochRow[];
		const closed = epochs.filter((e) => e.ended_at !== null);
		const settled = closed.filter((e) => e.root !== null);
		const rowsOf = db.prepare("SELECT * FROM points_ledger WHERE epoch = ? ORDER BY node_id");
		const epochMs: number[] = [];
		const rowsPerEpoch: number[] = [];
		let rowsChecked = 0;
		for (const e of settled) {
			const rows = rowsOf.all(e.n) as unknown as LedgerRow[];
			const lengthMs = (e.ended_at as number) - e.started_at;
			epochMs.push(lengthMs);
			rowsPerEpoch.push(rows.length);
			rowsChecked += rows.length;
			for (const r of rows) {
				for (const message of inv.rowViolations(r, lengthMs / 1000)) {
					violations.push({ rule: rowRule(message), epoch: e.n, node_id: r.node_id, message, raw: r });
				}
				if (r.online_seconds > 0) x.rows_online++;
				if (r.incident_seconds > 0) x.rows_incident++;
				if (r.rented_gpu_seconds > 0) x.rows_rented++;
				if (r.challenges_issued > 0) x.rows_challenged++;
				const credited = (r.online_seconds + r.incident_seconds) * r.gpu_count;
				if (r.rented_gpu_seconds > 0 && r.rented_gpu_seconds === credited) x.rows_at_rented_bound++;
				if (r.online_seconds + r.incident_seconds === Math.floor(lengthMs / 1000) && lengthMs >= 1000)
					x.rows_at_epoch_bound++;
				x.challenges.issued += r.challenges_issued;
				x.challenges.passed += r.challenges_passed;
				x.challenges.failed += r.challenges_failed;
				x.challenges.missed += r.challenges_missed;
				x.rented_gpu_seconds += r.rented_gpu_seconds;
				x.incident_seconds += r.incident_seconds;
				if ((await merkle.leafHash(r)) !== r.leaf) consistency.leaf_mismatch++;
			}
			const rewardSum = rows.reduce((s, r) => s + r.reward, 0);
			const pointSum = rows.reduce((s, r) => s + r.points, 0);
			const broken = inv.rewardViolation(rewardSum, e.emission ?? 0, rows.length, e.total_points ?? 0);
			if (broken) {
				const raw = { epoch: e, reward_sum: rewardSum, rows: rows.length, point_sum: pointSum };
				violations.push({ rule: "rewards", epoch: e.n, node_id: null, message: broken, raw });
			}
			if (rows.length > 0 && (e.total_points ?? 0) > 0) {
				x.reward_short_max_per_row = Math.max(
					x.reward_short_max_per_row,
					((e.emission ?? 0) - rewardSum) / rows.length,
				);
			}
			if (rows.length !== e.nodes) consistency.rows_vs_published++;
			if (pointSum !== e.total_points) consistency.points_vs_published++;
			if ((await merkle.merkleRoot(rows.map((r) => r.leaf))) !== e.root) consistency.root_mismatch++;
		}
		const unsettled = closed.filter((e) => e.root === null).map((e) => e.n);
		for (const n of unsettled) {
			consistency.rows_without_root += (
				db.prepare("SELECT count(*) AS k FROM points_ledger WHERE epoch = ?").get(n) as { k: number }
			).k;
		}
		const byN = new Map(epochs.map((e) => [e.n, e]));
		const missing: number[] = [];
		for (let n = 1; n <= target; n++) if (!byN.get(n)?.root) missing.push(n);

		// Billing: every step's movements, grouped by the step's key (workers/domain/cluster.ts `movements`).
		const entries = db
			.prepare(
				"SELECT key, kind, available_delta, held_delta, cluster_id FROM credit_entries " +
					"WHERE kind IN ('charge', 'fee', 'refund', 'payout') ORDER BY id",
			)
			.all() as unknown as EntryRow[];
		const steps = new Map<string, { cluster_id: string; n: number; step: Parameters<typeof inv.billViolations>[0] }>();
		const billing = { charged: 0, fees: 0, payouts: 0, refunds: 0, payout_rows: 0 };
		const stepOf = (cluster: string, n: number) => {
			const k = `${cluster}:${n}`;
			let s = steps.get(k);
			if (!s) {
				s = { cluster_id: cluster, n, step: { charge: 0, fee: 0, payouts: {}, refund: 0 } };
				steps.set(k, s);
			}
			return s.step;
		};
		for (const e of entries) {
			const m = STEP_KEY.exec(e.key);
			if (m) {
				const step = stepOf(m[2] as string, Number(m[3]));
				if (m[1] === "charge") {
					step.charge += -e.held_delta;
					billing.charged += -e.held_delta;
				} else if (m[1] === "fee") {
					step.fee += e.available_delta;
					billing.fees += e.available_delta;
				} else {
					step.refund += e.available_delta;
					billing.refunds += e.available_delta;
				}
				continue;
			}
			const p = PAYOUT_KEY.exec(e.key);
			if (p) {
				const step = stepOf(p[1] as string, Number(p[2]));
				step.payouts[p[3] as string] = (step.payouts[p[3] as string] ?? 0) + e.available_delta;
				billing.payouts += e.available_delta;
				billing.payout_rows++;
			}
			// Other keys (`refund:<cluster>:undone`, a deploy undone before it started) are not billing steps.
		}
		for (const s of steps.values()) {
			for (const message of inv.billViolations(s.step)) {
				const rule: Rule = /negative/.test(message) ? "negative" : "bill";
				const step = { cluster_id: s.cluster_id, n: s.n };
				const raw = { ...step, ...s.step, entries: entries.filter((e) => e.key.includes(`:${s.cluster_id}:${s.n}`)) };
				violations.push({ rule, epoch: null, node_id: null, step, message, raw });
			}
		}
		const clusters = db
			.prepare(
				"SELECT c.id, c.status, coalesce(sum(e.held_delta), 0) AS held FROM clusters c " +
					"LEFT JOIN credit_entries e ON e.cluster_id = c.id GROUP BY c.id",
			)
			.all() as unknown as { id: string; status: string; held: number }[];
		consistency.holds_left_on_ended_clusters = clusters.filter((c) => OVER.has(c.status) && c.held !== 0).length;

		const audits = db.prepare("SELECT details FROM audit_log WHERE action = 'epoch.settle' ORDER BY id").all() as {
			details: string;
		}[];
		const blocked = new Set<number>();
		for (const a of audits) {
			const d = JSON.parse(a.details) as { blocked?: { epoch: number } };
			if (d.blocked) blocked.add(d.blocked.epoch);
		}

		const incidents = Object.fromEntries(
			(
				db.prepare("SELECT reason, count(*) AS k FROM incidents GROUP BY reason").all() as {
					reason: string;
					k: number;
				}[]
			).map((r) => [r.reason, r.k]),
		);

		const byRule = Object.fromEntries(Object.keys(RULES).map((k) => [k, 0])) as Record<Rule, number>;
		for (const v of violations) byRule[v.rule]++;
		return {
			db_file: file,
			epochs_closed: closed.length,
			epochs_settled: settled.length,
			highest_settled: settled.reduce((m, e) => Math.max(m, e.n), 0),
			missing_roots: missing,
			unsettled_closed: unsettled,
			rows_checked: rowsChecked,
			billing_steps_checked: steps.size,
			clusters_billed: new Set([...steps.values()].map((s) => s.cluster_id)).size,
			violations_by_rule: byRule,
			violations,
			consistency,
			blocked_in_audit_log: [...blocked].sort((a, b) => a - b),
			settle_audit_entries: audits.length,
			exercised: {
				...x,
				epoch_ms: summarize(epochMs),
				rows_per_epoch: summarize(rowsPerEpoch),
				billing,
				incidents,
			},
		};
	} finally {
		db.close();
	}
}
