// Owns the `discord_interactions` table: the ids of the Discord interactions already handled, kept while a replay of
// one could still carry a fresh signature.

/**
 * Records the interaction id; true the first time it is seen, false for a replay. Ids older than `keepMs` are deleted
 * in the same batch, so the table holds only the replay window's interactions.
 */
export async function firstSighting(db: D1Database, id: string, now: number, keepMs: number): Promise<boolean> {
	const [, inserted] = await db.batch([
		db.prepare("DELETE FROM discord_interactions WHERE seen_at < ?").bind(now - keepMs),
		db
			.prepare("INSERT INTO discord_interactions (id, seen_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING")
			.bind(id, now),
	]);
	return (inserted?.meta.changes ?? 0) > 0;
}
