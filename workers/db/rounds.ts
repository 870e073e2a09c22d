// Owns the `verify_rounds`, `verify_round_members` and `address_allowances` tables: co-scheduled verification rounds,
// their members' outcomes and verdicts, and the GPUs a round proved behind each address (docs/VERIFICATION.md §14).
import type { Judgement, MemberOutcome, MemberResult, RoundPlan, SuspectGroup } from "../domain/rounds.ts";

/** Online WebSocket nodes (only they can be challenged), as `live`. */
const LIVE = `SELECT id, account_id, created_at FROM nodes
	WHERE deleted_at IS NULL AND status = 'online' AND coalesce(transport, 'ws') = 'ws'`;

/** Groups of two or more online nodes: same network, same reported GPU UUID, or registered together. */
export async function suspectGroups(db: D1Database, windowMs: number): Promise<SuspectGroup[]> {
	const { results } = await db
		.prepare(`WITH live AS (${LIVE})
			SELECT 'net:' || i.network AS key, json_group_array(live.id) AS ids FROM live
				JOIN node_identity i ON i.node_id = live.id WHERE i.network != 'unknown'
				GROUP BY i.network HAVING count(*) > 1
			UNION ALL
			SELECT 'uuid:' || u.uuid, json_group_array(live.id) FROM live JOIN gpu_uuids u ON u.node_id = live.id
				GROUP BY u.uuid HAVING count(*) > 1
			UNION ALL
			SELECT 'reg:' || account_id || ':' || (created_at / CAST(?1 AS INTEGER)), json_group_array(id) FROM live
				GROUP BY account_id, created_at / CAST(?1 AS INTEGER) HAVING count(*) > 1`)
		.bind(windowMs)
		.all<{ key: string; ids: string }>();
	return results.map((r) => ({ key: r.key, node_ids: JSON.parse(r.ids) as string[] }));
}

/** Up to `n` online nodes drawn at random (the decoys' pool). */
export async function randomOnline(db: D1Database, n: number): Promise<string[]> {
	if (n <= 0) return [];
	const { results } = await db.prepare(`${LIVE} ORDER BY random() LIMIT ?`).bind(n).all<{ id: string }>();
	return results.map((r) => r.id);
}

export interface MemberFacts {
	node_id: string;
	shard: string;
	gpu_model: string;
	gpu_count: number;
	address_key: string;
}

/** What a round needs of its members: their shard, their claim and their address key. */
export async function memberFacts(db: D1Database, ids: string[]): Promise<MemberFacts[]> {
	if (ids.length === 0) return [];
	const { results } = await db
		.prepare(`SELECT n.id AS node_id, n.shard, n.gpu_model, n.gpu_count, coalesce(i.address_key, 'unknown') AS address_key
			FROM nodes n LEFT JOIN node_identity i ON i.node_id = n.id WHERE n.id IN (SELECT value FROM json_each(?1))`)
		.bind(JSON.stringify(ids))
		.all<MemberFacts>();
	return results;
}

/** The round and its members (each with its groups), in one batch. */
export async function insertRound(
	db: D1Database,
	id: string,
	at: number,
	plan: RoundPlan,
	members: Map<string, string[]>,
): Promise<void> {
	const rows = [...members].map(([node_id, groups]) => ({ node_id, groups: JSON.stringify(groups) }));
	await db.batch([
		db.prepare("INSERT INTO verify_rounds (id, at, plan) VALUES (?, ?, ?)").bind(id, at, JSON.stringify(plan)),
		db
			.prepare(`INSERT INTO verify_round_members (round_id, node_id, groups)
				SELECT ?1, json_extract(value, '$.node_id'), json_extract(value, '$.groups') FROM json_each(?2)`)
			.bind(id, JSON.stringify(rows)),
	]);
}

/** A member's challenge ended (first write wins: a late duplicate changes nothing). */
export async function endMember(
	db: D1Database,
	roundId: string,
	nodeId: string,
	e: { outcome: MemberOutcome; measured_ms: number | null; detail: string | null },
	now: number,
): Promise<void> {
	await db
		.prepare(`UPDATE verify_round_members SET outcome = ?3, measured_ms = ?4, detail = ?5, ended_at = ?6
			WHERE round_id = ?1 AND node_id = ?2 AND outcome IS NULL`)
		.bind(roundId, nodeId, e.outcome, e.measured_ms, e.detail, now)
		.run();
}

/** Members a round could not challenge (not connected, already verifying): void, in one statement. */
export async function voidMembers(db: D1Database, roundId: string, ids: string[], why: string, now: number) {
	if (ids.length === 0) return;
	await db
		.prepare(`UPDATE verify_round_members SET outcome = 'void', detail = ?3, ended_at = ?4
			WHERE round_id = ?1 AND node_id IN (SELECT value FROM json_each(?2)) AND outcome IS NULL`)
		.bind(roundId, JSON.stringify(ids), JSON.stringify({ why }), now)
		.run();
}

export interface MemberRow extends MemberResult {
	detail: string | null;
	verdict: string | null;
	applied_at: number | null;
}

export async function roundMembers(db: D1Database, roundId: string): Promise<MemberRow[]> {
	const { results } = await db
		.prepare(`SELECT node_id, groups, outcome, measured_ms, detail, verdict, applied_at FROM verify_round_members
			WHERE round_id = ? ORDER BY node_id`)
		.bind(roundId)
		.all<Omit<MemberRow, "groups"> & { groups: string }>();
	return results.map((r) => ({ ...r, groups: JSON.parse(r.groups) as string[] }));
}

export async function round(db: D1Database, id: string) {
	return db
		.prepare("SELECT id, at, plan, judged_at FROM verify_rounds WHERE id = ?")
		.bind(id)
		.first<{ id: string; at: number; plan: string; judged_at: number | null }>();
}

/**
 * Stores the verdicts and marks the round judged, in one transaction. Verdicts follow from the members' outcomes
 * alone, so two judges of one round store the same ones; a verdict already stored is kept.
 */
export async function storeVerdicts(db: D1Database, roundId: string, verdicts: Map<string, Judgement>, now: number) {
	const rows = [...verdicts].map(([node_id, j]) => ({ node_id, verdict: j.verdict }));
	await db.batch([
		db
			.prepare(`UPDATE verify_round_members SET verdict = (SELECT json_extract(value, '$.verdict') FROM json_each(?2)
					WHERE json_extract(value, '$.node_id') = verify_round_members.node_id)
				WHERE round_id = ?1 AND verdict IS NULL
				  AND node_id IN (SELECT json_extract(value, '$.node_id') FROM json_each(?2))`)
			.bind(roundId, JSON.stringify(rows)),
		db.prepare("UPDATE verify_rounds SET judged_at = coalesce(judged_at, ?2) WHERE id = ?1").bind(roundId, now),
	]);
}

/**
 * Takes one member's verdict for applying; false when it was taken already. Taken before it is applied, so a verdict
 * is never applied twice (a failure counted twice); one interrupted in between is lost, not repeated.
 */
export async function takeVerdict(db: D1Database, roundId: string, nodeId: string, now: number): Promise<boolean> {
	const r = await db
		.prepare(`UPDATE verify_round_members SET applied_at = ?3
			WHERE round_id = ?1 AND node_id = ?2 AND applied_at IS NULL AND verdict IS NOT NULL`)
		.bind(roundId, nodeId, now)
		.run();
	return (r.meta.changes ?? 0) > 0;
}

/**
 * Each node's verdicts in the judged rounds before `roundId` that concluded anything about it, newest first, at most
 * `count` of them.
 */
export async function previousVerdicts(
	db: D1Database,
	roundId: string,
	ids: string[],
	count: number,
): Promise<Map<string, string[]>> {
	if (ids.length === 0) return new Map();
	const { results } = await db
		.prepare(`SELECT node_id, verdict FROM (
				SELECT m.node_id, m.verdict, row_number() OVER (PARTITION BY m.node_id ORDER BY r.at DESC) AS k
				FROM verify_round_members m JOIN verify_rounds r ON r.id = m.round_id
				WHERE m.node_id IN (SELECT value FROM json_each(?2)) AND m.round_id != ?1
				  AND r.at < (SELECT at FROM verify_rounds WHERE id = ?1) AND m.verdict IS NOT NULL AND m.verdict != 'void'
			) WHERE k <= ?3 ORDER BY node_id, k`)
		.bind(roundId, JSON.stringify(ids), count)
		.all<{ node_id: string; verdict: string }>();
	const out = new Map<string, string[]>();
	for (const r of results) out.set(r.node_id, [...(out.get(r.node_id) ?? []), r.verdict]);
	return out;
}

/**
 * Rounds started before `before` that are not finished: never judged (a member's shard restarted, or the judge was
 * interrupted), or judged with verdicts not yet taken for applying.
 */
export async function staleRounds(db: D1Database, before: number): Promise<string[]> {
	const { results } = await db
		.prepare(`SELECT id FROM verify_rounds r WHERE r.at < ?1 AND (r.judged_at IS NULL OR EXISTS (
				SELECT 1 FROM verify_round_members m WHERE m.round_id = r.id AND m.verdict IS NOT NULL
				  AND m.verdict != 'void' AND m.applied_at IS NULL))
			ORDER BY r.at LIMIT 20`)
		.bind(before)
		.all<{ id: string }>();
	return results.map((r) => r.id);
}

/** A planning that found no suspects: recorded (judged, without members) so the cron waits its interval again. */
export async function recordEmptyRound(db: D1Database, id: string, at: number): Promise<void> {
	await db
		.prepare("INSERT INTO verify_rounds (id, at, plan, judged_at) VALUES (?1, ?2, ?3, ?2)")
		.bind(id, at, JSON.stringify({ groups: [], decoys: [] }))
		.run();
}

export async function lastRoundAt(db: D1Database): Promise<number | null> {
	const row = await db.prepare("SELECT max(at) AS at FROM verify_rounds").first<{ at: number | null }>();
	return row?.at ?? null;
}

/** The GPUs a round proved behind each address key (the latest round's figure replaces the one before). */
export async function setAllowances(
	db: D1Database,
	proven: Map<string, number>,
	roundId: string,
	now: number,
): Promise<void> {
	if (proven.size === 0) return;
	await db
		.prepare(`INSERT INTO address_allowances (address_key, gpus, round_id, at)
			SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2, ?3 FROM json_each(?1) WHERE true
			ON CONFLICT (address_key) DO UPDATE SET gpus = excluded.gpus, round_id = excluded.round_id, at = excluded.at`)
		.bind(JSON.stringify([...proven]), roundId, now)
		.run();
}

/** The GPUs a co-scheduled round proved behind each of `keys` (keys with no such round are absent). */
export async function provenAllowances(db: D1Database, keys: string[]): Promise<Map<string, number>> {
	if (keys.length === 0) return new Map();
	const { results } = await db
		.prepare(`SELECT address_key, gpus FROM address_allowances
			WHERE address_key IN (SELECT value FROM json_each(?1))`)
		.bind(JSON.stringify(keys))
		.all<{ address_key: string; gpus: number }>();
	return new Map(results.map((r) => [r.address_key, r.gpus]));
}
