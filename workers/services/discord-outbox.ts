// The outbox of bot posts to Discord channels: written with the change it announces, delivered at once or by the cron,
// never lost.
import { readConfig } from "../config.ts";
import * as outbox from "../db/discord-outbox.ts";
import { retryDelayMs, shouldGiveUp } from "../domain/retry.ts";
import {
	openDmChannel,
	postChannelMessage,
	type OutgoingMessage,
	type RestResult,
} from "../transports/discord-rest.ts";
import { handTelegramNotices } from "./notices.ts";

/** How long a drain may hold claimed rows before another drain may take them (a crashed drain frees them by itself). */
export const LEASE_MS = 60_000;
/** Rows delivered per drain: Discord allows about 5 posts per 5 s in one channel; the rest wait for the next drain. */
export const DRAIN_BATCH = 5;

/** The staff channel, when the bot is configured to post there (channel id and bot token both set). */
export function staffChannel(env: Env): string | null {
	const channel = readConfig(env).discord.staffChannelId;
	return channel && env.DISCORD_BOT_TOKEN ? channel : null;
}

export interface DrainResult {
	sent: number;
	failed: number;
	gaveUp: number;
}

/**
 * Delivers due posts in order, oldest first. Rows are claimed with a lease in one statement, so two drains (the request
 * that wrote the row and the cron) never post the same row at once; the nonce covers a lease that ran out mid-post.
 * The first failure stops the drain, so an outage or a rate limit is not hammered; the failed row waits its backoff.
 */
export async function drainDiscordOutbox(env: Env, now: number): Promise<DrainResult> {
	const out: DrainResult = { sent: 0, failed: 0, gaveUp: 0 };
	// The owners' Telegram notices ride the same drains (the request's and the cron's) to the delivery gate.
	await handTelegramNotices(env, now).catch((err) => console.error("handing telegram notices to the gate failed", err));
	if (!env.DISCORD_BOT_TOKEN) return out;
	const rows = await outbox.claimDue(env.DB, now, LEASE_MS, DRAIN_BATCH);
	for (const [i, row] of rows.entries()) {
		const r = await post(env, row.channel_id, { content: row.content }, row.nonce);
		if (r.ok) {
			await outbox.markSent(env.DB, row.id, String(r.body.id ?? ""), Date.now());
			out.sent++;
			continue;
		}
		const attempts = row.attempts + 1;
		// A user who does not take DMs from the bot (403) will not start to on a retry.
		const gaveUp = shouldGiveUp(attempts) || (row.channel_id.startsWith("dm:") && r.status === 403);
		if (gaveUp) {
			console.error(
				`discord outbox: giving up on post ${row.id} to channel ${row.channel_id} after ${attempts} attempts: ${r.error}`,
			);
			out.gaveUp++;
		} else {
			console.warn(`discord outbox: post ${row.id} failed (${r.error}); attempt ${attempts + 1} later`);
			out.failed++;
		}
		const nextAttemptAt = now + retryDelayMs(attempts, r.retryAfterMs);
		const failure = { attempts, nextAttemptAt, error: r.error.slice(0, 500), gaveUp };
		// The rest of this batch is freed at once; they keep their place in line.
		await outbox.markFailed(
			env.DB,
			row.id,
			failure,
			rows.slice(i + 1).map((x) => x.id),
			now,
		);
		break;
	}
	return out;
}

/** A post to a channel, or to a user's DM channel (`dm:<user id>`, opened first). */
async function post(env: Env, channel: string, m: OutgoingMessage, nonce: string): Promise<RestResult> {
	if (!channel.startsWith("dm:")) return postChannelMessage(env, channel, m, nonce);
	const dm = await openDmChannel(env, channel.slice(3));
	if (!dm.ok) return dm;
	return postChannelMessage(env, String(dm.body.id ?? ""), m, nonce);
}
