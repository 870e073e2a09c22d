// Owns the `telegram_outbox` table: messages owed to an account's linked Telegram chats (a staff reply, a flag),
// queued with the change they tell of, and queues the same account's Discord DMs beside them.
import type { Notice } from "../domain/ticket-text.ts";
import { dmStatement, type Guard } from "./discord-outbox.ts";

export type { Notice };

export interface TelegramNoticeRow {
	id: number;
	chat_id: string;
	text: string;
}

/**
 * The statements that queue `notice` for every Telegram chat and Discord user linked to the account (none when it has
 * none), only if `guard` holds: run them in the batch of the change they tell of.
 */
export function noticeStatements(
	db: D1Database,
	accountId: string,
	notice: Notice,
	now: number,
	guard: Guard,
): D1PreparedStatement[] {
	return [
		db
			.prepare(`INSERT INTO telegram_outbox (chat_id, text, created_at)
				SELECT external_id, ?, ? FROM chat_links WHERE kind = 'telegram' AND account_id = ? AND ${guard.sql}`)
			.bind(notice.telegram, now, accountId, ...guard.params),
		dmStatement(db, accountId, notice.discord, now, guard),
	];
}

/** Telegram notices the gate does not have yet, oldest first. */
export async function pendingTelegram(db: D1Database, limit: number): Promise<TelegramNoticeRow[]> {
	const { results } = await db
		.prepare("SELECT id, chat_id, text FROM telegram_outbox WHERE handed_at IS NULL ORDER BY id LIMIT ?")
		.bind(limit)
		.all<TelegramNoticeRow>();
	return results;
}

export async function markHanded(db: D1Database, ids: number[], now: number): Promise<void> {
	if (!ids.length) return;
	await db
		.prepare("UPDATE telegram_outbox SET handed_at = ? WHERE id IN (SELECT value FROM json_each(?))")
		.bind(now, JSON.stringify(ids))
		.run();
}
