// Owns `bandwidth_samples`, `bandwidth_tests` and `bandwidth_attempts`: the transfers the coordinator timed, the
// download tests waiting for their hash, and the per-hour count of tests each node started (docs/VERIFICATION.md §12).
import {
	type BandwidthDirection,
	type BandwidthSample,
	RATE_LIMIT_TESTS,
	RATE_LIMIT_WINDOW_MS,
	TEST_TTL_MS,
	WINDOW_SAMPLES,
} from "../domain/bandwidth.ts";

/** The kept samples of each of the given nodes (every node asked for is in the map, maybe with none). */
export async function bandwidthSamplesOf(db: D1Database, nodeIds: string[]): Promise<Map<string, BandwidthSample[]>> {
	const out = new Map<string, BandwidthSample[]>(nodeIds.map((id) => [id, []]));
	if (nodeIds.length === 0) return out;
	const { results } = await db
		.prepare(`SELECT node_id, direction, bytes, ms, at FROM bandwidth_samples
			WHERE node_id IN (SELECT value FROM json_each(?1)) ORDER BY at DESC, id DESC`)
		.bind(JSON.stringify(nodeIds))
		.all<BandwidthSample & { node_id: string }>();
	for (const { node_id, ...s } of results) out.get(node_id)?.push(s);
	return out;
}

/** Records a timed transfer and drops that node's samples of the direction beyond the newest WINDOW_SAMPLES. */
export async function recordSample(db: D1Database, nodeId: string, s: BandwidthSample): Promise<void> {
	await db.batch([
		db
			.prepare("INSERT INTO bandwidth_samples (node_id, direction, bytes, ms, at) VALUES (?1, ?2, ?3, ?4, ?5)")
			.bind(nodeId, s.direction, s.bytes, s.ms, s.at),
		db
			.prepare(`DELETE FROM bandwidth_samples WHERE node_id = ?1 AND direction = ?2 AND id NOT IN
				(SELECT id FROM bandwidth_samples WHERE node_id = ?1 AND direction = ?2 ORDER BY at DESC, id DESC LIMIT ?3)`)
			.bind(nodeId, s.direction, WINDOW_SAMPLES),
	]);
}

export type AttemptOutcome = { ok: true } | { ok: false; reason: "replayed" } | { ok: false; retryAfterMs: number };

/**
 * Counts a test against the node's hourly allowance, in one statement (two racing requests cannot both take the last
 * place): refused when RATE_LIMIT_TESTS of that direction started within RATE_LIMIT_WINDOW_MS (with when the oldest
 * of them leaves the window), or when this token (`jti`) already started one. Attempts older than the window go.
 */
export async function startAttempt(
	db: D1Database,
	nodeId: string,
	direction: BandwidthDirection,
	jti: string,
	now: number,
): Promise<AttemptOutcome> {
	const since = now - RATE_LIMIT_WINDOW_MS;
	const [, insert] = await db.batch([
		db.prepare("DELETE FROM bandwidth_attempts WHERE at <= ?1").bind(since),
		db
			.prepare(`INSERT INTO bandwidth_attempts (node_id, direction, jti, at)
				SELECT ?1, ?2, ?3, ?4 WHERE (SELECT count(*) FROM bandwidth_attempts
					WHERE node_id = ?1 AND direction = ?2 AND at > ?5) < ?6
				ON CONFLICT (node_id, jti) DO NOTHING`)
			.bind(nodeId, direction, jti, now, since, RATE_LIMIT_TESTS),
	]);
	if ((insert?.meta.changes ?? 0) > 0) return { ok: true };
	const row = await db
		.prepare(`SELECT
				EXISTS (SELECT 1 FROM bandwidth_attempts WHERE node_id = ?1 AND jti = ?2) AS replayed,
				(SELECT min(at) FROM bandwidth_attempts WHERE node_id = ?1 AND direction = ?3 AND at > ?4) AS oldest`)
		.bind(nodeId, jti, direction, since)
		.first<{ replayed: number; oldest: number | null }>();
	if (row?.replayed) return { ok: false, reason: "replayed" };
	return { ok: false, retryAfterMs: Math.max(1000, (row?.oldest ?? now) + RATE_LIMIT_WINDOW_MS - now) };
}

export interface DownloadTest {
	id: string;
	node_id: string;
	bytes: number;
	sha256: string;
	started_at: number;
}

/** Stores a download test handed out now; expired tests of every node go in the same batch. */
export async function insertTest(db: D1Database, t: DownloadTest): Promise<void> {
	await db.batch([
		db.prepare("DELETE FROM bandwidth_tests WHERE started_at < ?1").bind(t.started_at - TEST_TTL_MS),
		db
			.prepare("INSERT INTO bandwidth_tests (id, node_id, bytes, sha256, started_at) VALUES (?1, ?2, ?3, ?4, ?5)")
			.bind(t.id, t.node_id, t.bytes, t.sha256, t.started_at),
	]);
}

/**
 * Takes the node's test out of the store (an answer consumes it, right or wrong): the test, or null when there is
 * none of that id for that node, or it expired (older than TEST_TTL_MS at `now`).
 */
export async function takeTest(db: D1Database, id: string, nodeId: string, now: number): Promise<DownloadTest | null> {
	const row = await db
		.prepare(
			"DELETE FROM bandwidth_tests WHERE id = ?1 AND node_id = ?2 RETURNING id, node_id, bytes, sha256, started_at",
		)
		.bind(id, nodeId)
		.first<DownloadTest>();
	return row && now - row.started_at <= TEST_TTL_MS ? row : null;
}
