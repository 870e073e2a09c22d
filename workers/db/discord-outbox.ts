// Owns the `discord_outbox` table: posts the bot owes Discord channels, claimed with a lease and delivered in order.
import { randomToken } from "../domain/challenge.ts";

/** A post to queue: where, and what it says. */
export interface Post {
	channelId: string;
	content: string;
}

/** A condition the post depends on, checked inside the batch (e.g. "the ticket is now closed, by this request"). */
export interface Guard {
	sql: string;
	params: unknown[];
}

export interface OutboxRow {
	id: number;
	channel_id: string;
	content: string;
	nonce: string;
	attempts: number;
}

export interface PendingPost {
	id: number;
	content: string;
	attempts: number;
	next_attempt_at: number;
	gave_up_at: number | null;
	last_error: string | null;
}

/** The statement that queues a post; run it in the same batch as the change the post announces. */
export function enqueueStatement(db: D1Database, post: Post, now: number, guard?: Guard): D1PreparedStatement {
	return db
		.prepare(`INSERT INTO discord_outbox (channel_id, content, nonce, created_at, next_attempt_at)
			SELECT ?, ?, ?, ?, ? WHERE ${guard?.sql ?? "1"}`)
		.bind(post.channelId, post.content, `pg${randomToken(15)}`, now, now, ...(guard?.params ?? []));
}

/**
 * The statement that queues a direct message to every Discord user linked to the account, only if `guard` holds. The
 * channel is `dm:<user id>`: the drain opens the DM channel before posting. Nonces are random per row (`dm` + 22 hex).
 */
export function dmStatement(
	db: D1Database,
	accountId: string,
	content: string,
	now: number,
	guard: Guard,
): D1PreparedStatement {
	return db
		.prepare(`INSERT INTO discord_outbox (channel_id, content, nonce, created_at, next_attempt_at)
			SELECT 'dm:' || external_id, ?, 'dm' || lower(hex(randomblob(11))), ?, ?
			FROM chat_links WHERE kind = 'discord' AND account_id = ? AND ${guard.sql}`)
		.bind(content, now, now, accountId, ...guard.params);
}

/** Queues a post on its own (when it announces no D1 change of its own). */
export async function enqueue(db: D1Database, post: Post, now: number): Promise<void> {
	await enqueueStatement(db, post, now).run();
}

/** Claims up to `limit` due rows, oldest first, for `leaseMs`, in one statement (so two drains never share a row). */
export async function claimDue(db: D1Database, now: number, leaseMs: number, limit: number): Promise<OutboxRow[]> {
	const { results } = await db
		.prepare(`UPDATE discord_outbox SET lease_until = ?1 + ?2
			WHERE id IN (SELECT id FROM discord_outbox
				WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?1
					AND (lease_until IS NULL OR lease_until <= ?1)
				ORDER BY id LIMIT ?3)
			RETURNING id, channel_id, content, nonce, attempts`)
		.bind(now, leaseMs, limit)
		.all<OutboxRow>();
	return results.sort((a, b) => a.id - b.id);
}

export async function markSent(db: D1Database, id: number, messageId: string, sentAt: number): Promise<void> {
	await db
		.prepare(`UPDATE discord_outbox SET sent_at = ?, message_id = ?, lease_until = NULL, last_error = NULL
			WHERE id = ?`)
		.bind(sentAt, messageId, id)
		.run();
}

/**
 * Records a failed attempt of row `id` (retried at `nextAttemptAt`, or given up at `now`) and frees the leases of
 * `released` at once, so they keep their place in line.
 */
export async function markFailed(
	db: D1Database,
	id: number,
	f: { attempts: number; nextAttemptAt: number; error: string; gaveUp: boolean },
	released: number[],
	now: number,
): Promise<void> {
	await db.batch([
		db
			.prepare(`UPDATE discord_outbox SET attempts = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?,
				gave_up_at = CASE WHEN ? THEN ? END WHERE id = ?`)
			.bind(f.attempts, f.nextAttemptAt, f.error, f.gaveUp ? 1 : 0, now, id),
		db
			.prepare("UPDATE discord_outbox SET lease_until = NULL WHERE id IN (SELECT value FROM json_each(?))")
			.bind(JSON.stringify(released)),
	]);
}

/** Undelivered posts (pending or given up), for tests and operators. */
export async function pendingPosts(db: D1Database): Promise<PendingPost[]> {
	const { results } = await db
		.prepare(`SELECT id, content, attempts, next_attempt_at, gave_up_at, last_error FROM discord_outbox
			WHERE sent_at IS NULL ORDER BY id`)
		.all<PendingPost>();
	return results;
}
