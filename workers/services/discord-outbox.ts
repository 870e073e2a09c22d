// The outbox of bot posts to Discord channels: written with the change it announces, delivered at once or by the cron, never lost.
import { randomToken } from "../domain/challenge.ts";
import { retryDelayMs, shouldGiveUp } from "../domain/retry.ts";
import { postChannelMessage } from "../transports/discord-rest.ts";

/** How long a drain may hold claimed rows before another drain may take them (a crashed drain frees them by itself). */
export const LEASE_MS = 60_000;
/** Rows delivered per drain: Discord allows about 5 posts per 5 s in one channel; the rest wait for the next drain. */
export const DRAIN_BATCH = 5;

/** The staff channel, when the bot is configured to post there (channel id and bot token both set). */
export function staffChannel(env: Env): string | null {
	return env.DISCORD_STAFF_CHANNEL_ID && env.DISCORD_BOT_TOKEN ? env.DISCORD_STAFF_CHANNEL_ID : null;
}

/** A condition the post depends on, checked inside the batch (e.g. "the ticket is now closed, by this request"). */
export interface Guard { sql: string; params: unknown[] }

/** The statement that queues a post; run it in the same batch as the change the post announces. */
export function enqueueStatement(db: D1Database, channelId: string, content: string, now: number, guard?: Guard): D1PreparedStatement {
	return db
		.prepare(`INSERT INTO discord_outbox (channel_id, content, nonce, created_at, next_attempt_at) SELECT ?, ?, ?, ?, ? WHERE ${guard?.sql ?? "1"}`)
		.bind(channelId, content, `pg${randomToken(15)}`, now, now, ...(guard?.params ?? []));
}

interface OutboxRow { id: number; channel_id: string; content: string; nonce: string; attempts: number }

export interface DrainResult { sent: number; failed: number; gaveUp: number }

/**
 * Delivers due posts in order, oldest first. Rows are claimed with a lease in one statement, so two drains (the request
 * that wrote the row and the cron) never post the same row at once; the nonce covers a lease that ran out mid-post.
 * The first failure stops the drain, so an outage or a rate limit is not hammered; the failed row waits its backoff.
 */
export async function drainDiscordOutbox(env: Env, now: number): Promise<DrainResult> {
	const out: DrainResult = { sent: 0, failed: 0, gaveUp: 0 };
	if (!env.DISCORD_BOT_TOKEN) return out;
	const { results } = await env.DB
		.prepare(`UPDATE discord_outbox SET lease_until = ?1 + ?2
		          WHERE id IN (SELECT id FROM discord_outbox
		                       WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
		                       ORDER BY id LIMIT ?3)
		          RETURNING id, channel_id, content, nonce, attempts`)
		.bind(now, LEASE_MS, DRAIN_BATCH)
		.all<OutboxRow>();
	const rows = results.sort((a, b) => a.id - b.id);
	for (const [i, row] of rows.entries()) {
		const r = await postChannelMessage(env, row.channel_id, { content: row.content }, row.nonce);
		if (r.ok) {
			await env.DB.prepare("UPDATE discord_outbox SET sent_at = ?, message_id = ?, lease_until = NULL, last_error = NULL WHERE id = ?")
				.bind(Date.now(), String(r.body.id ?? ""), row.id).run();
			out.sent++;
			continue;
		}
		const attempts = row.attempts + 1;
		if (shouldGiveUp(attempts)) {
			console.error(`discord outbox: giving up on post ${row.id} to channel ${row.channel_id} after ${attempts} attempts: ${r.error}`);
			out.gaveUp++;
		} else {
			console.warn(`discord outbox: post ${row.id} failed (${r.error}); attempt ${attempts + 1} later`);
			out.failed++;
		}
		await env.DB.batch([
			env.DB.prepare(`UPDATE discord_outbox SET attempts = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?,
			                gave_up_at = CASE WHEN ? THEN ? END WHERE id = ?`)
				.bind(attempts, now + retryDelayMs(attempts, r.retryAfterMs), r.error.slice(0, 500), shouldGiveUp(attempts) ? 1 : 0, now, row.id),
			// Free the rest of this batch at once; they keep their place in line.
			env.DB.prepare("UPDATE discord_outbox SET lease_until = NULL WHERE id IN (SELECT value FROM json_each(?))")
				.bind(JSON.stringify(rows.slice(i + 1).map((x) => x.id))),
		]);
		break;
	}
	return out;
}

/** Undelivered posts (pending or given up), for tests and operators. */
export async function pendingPosts(db: D1Database): Promise<{ id: number; content: string; attempts: number; next_attempt_at: number; gave_up_at: number | null; last_error: string | null }[]> {
	return (await db.prepare("SELECT id, content, attempts, next_attempt_at, gave_up_at, last_error FROM discord_outbox WHERE sent_at IS NULL ORDER BY id").all<{ id: number; content: string; attempts: number; next_attempt_at: number; gave_up_at: number | null; last_error: string | null }>()).results;
}
