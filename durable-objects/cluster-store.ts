// A Cluster's own storage: its state, its members, its event list and the rental starts not yet in D1. Every statement
// on these tables is here. The layout is the one deployed objects already hold (JSON rows, same keys), so it stays.
import type { MemberState } from "../workers/contracts.ts";
import type { ClusterEvent, ClusterState, Member, Outstanding } from "../workers/domain/cluster.ts";
import type { JsonValue } from "../workers/failure.ts";
import type { Sql } from "./kit.ts";

export type PendingRental = {
	node_id: string;
	gpu_count: number;
	started_at: number;
};

export class ClusterStore {
	constructor(private readonly sql: Sql) {
		sql.schema(`
			CREATE TABLE IF NOT EXISTS state (k TEXT PRIMARY KEY, v TEXT NOT NULL);
			CREATE TABLE IF NOT EXISTS members (node_id TEXT PRIMARY KEY, v TEXT NOT NULL);
			CREATE TABLE IF NOT EXISTS events (
				id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL
			);
			-- Rental starts not yet in D1: written in batches, since a 1,000-node cluster says "ready" 1,000 times at once.
			CREATE TABLE IF NOT EXISTS pending_rentals (
				node_id TEXT PRIMARY KEY, gpu_count INTEGER NOT NULL, started_at INTEGER NOT NULL
			);
		`);
	}

	// --- the cluster ---

	state(): ClusterState | null {
		const row = this.sql.first<{ v: string }>("SELECT v FROM state WHERE k = 'cluster'");
		return row ? (JSON.parse(row.v) as ClusterState) : null;
	}

	save(st: ClusterState): void {
		this.sql.run("INSERT OR REPLACE INTO state (k, v) VALUES ('cluster', ?)", JSON.stringify(st));
	}

	/** Forgets a deploy that never got anywhere, so the same request may try afresh. */
	forget(): void {
		this.sql.run("DELETE FROM state");
	}

	// --- members ---

	/** Every member, by node id. */
	members(): Member[] {
		return this.parse(this.sql.all<{ v: string }>("SELECT v FROM members ORDER BY node_id"));
	}

	membersIn(state: MemberState): Member[] {
		return this.parse(
			this.sql.all<{ v: string }>("SELECT v FROM members WHERE json_extract(v, '$.state') = ? ORDER BY node_id", state),
		);
	}

	/** Members dropped but not yet told, freed and their rentals closed. */
	unfreed(): Member[] {
		return this.parse(
			this.sql.all<{ v: string }>("SELECT v FROM members WHERE json_extract(v, '$.unfreed') ORDER BY node_id"),
		);
	}

	hasUnfreed(): boolean {
		return this.sql.exists("SELECT 1 FROM members WHERE json_extract(v, '$.unfreed') LIMIT 1");
	}

	member(nodeId: string): Member | null {
		const row = this.sql.first<{ v: string }>("SELECT v FROM members WHERE node_id = ?", nodeId);
		return row ? (JSON.parse(row.v) as Member) : null;
	}

	saveMember(m: Member): void {
		this.sql.run("INSERT OR REPLACE INTO members (node_id, v) VALUES (?, ?)", m.node_id, JSON.stringify(m));
	}

	/** GPUs of the members in any of `states`. */
	gpus(...states: MemberState[]): number {
		const list = states.map(() => "?").join(", ");
		return (
			this.sql.value<number>(
				`SELECT coalesce(sum(json_extract(v, '$.gpu_count')), 0) FROM members
				 WHERE json_extract(v, '$.state') IN (${list})`,
				...states,
			) ?? 0
		);
	}

	/** When the longest-waiting member still to acknowledge was assigned, or null. */
	firstAssignedAt(): number | null {
		return this.sql.value<number>(
			"SELECT min(json_extract(v, '$.assigned_at')) FROM members WHERE json_extract(v, '$.state') = 'assigned'",
		);
	}

	/** What the next deadline depends on besides the state, each read only when asked (see `nextAlarm`). */
	outstanding(): Outstanding {
		const store = this;
		return {
			get unfreed() {
				return store.hasUnfreed();
			},
			get activeGpus() {
				return store.gpus("assigned", "ready");
			},
			get firstAssignedAt() {
				return store.firstAssignedAt();
			},
			get rentals() {
				return store.hasRentals();
			},
		};
	}

	// --- events ---

	event(at: number, kind: string, detail: Record<string, unknown>): void {
		this.sql.run("INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)", at, kind, JSON.stringify(detail));
	}

	events(): ClusterEvent[] {
		return this.sql
			.all<{ at: number; kind: string; detail: string }>("SELECT at, kind, detail FROM events ORDER BY id")
			.map((e) => ({ at: e.at, kind: e.kind, detail: JSON.parse(e.detail) as Record<string, JsonValue> }));
	}

	lastEvent(): { kind: string; detail: Record<string, unknown> } | null {
		const row = this.sql.first<{ kind: string; detail: string }>(
			"SELECT kind, detail FROM events ORDER BY id DESC LIMIT 1",
		);
		return row ? { kind: row.kind, detail: JSON.parse(row.detail) as Record<string, unknown> } : null;
	}

	/** Bills recorded so far: numbers the next one. */
	bills(): number {
		return this.sql.value<number>("SELECT count(*) FROM events WHERE kind = 'billed'") ?? 0;
	}

	// --- rental starts waiting for D1 ---

	addRental(r: PendingRental): void {
		this.sql.run(
			"INSERT OR REPLACE INTO pending_rentals (node_id, gpu_count, started_at) VALUES (?, ?, ?)",
			r.node_id,
			r.gpu_count,
			r.started_at,
		);
	}

	rentals(): PendingRental[] {
		return this.sql.all<PendingRental>("SELECT node_id, gpu_count, started_at FROM pending_rentals");
	}

	hasRentals(): boolean {
		return this.sql.exists("SELECT 1 FROM pending_rentals LIMIT 1");
	}

	/** Forgets rental starts D1 now holds (a start replaced meanwhile stays). */
	rentalsWritten(rows: PendingRental[]): void {
		for (const r of rows) {
			this.sql.run("DELETE FROM pending_rentals WHERE node_id = ? AND started_at = ?", r.node_id, r.started_at);
		}
	}

	private parse(rows: { v: string }[]): Member[] {
		return rows.map((r) => JSON.parse(r.v) as Member);
	}
}
