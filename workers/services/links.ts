// Linking a Telegram chat or a Discord user to an account with a one-time, expiring code.
import { sha256Hex } from "../ids.ts";
import type { Account } from "./accounts.ts";

export type ChatKind = "telegram" | "discord";
/** The bot's @username when TELEGRAM_BOT_USERNAME is not set. */
export const DEFAULT_TELEGRAM_BOT_USERNAME = "pulsegrid_bot";
export const LINK_CODE_TTL_MS = 10 * 60 * 1000;
/** No 0/O, 1/I/L: codes are typed by hand. */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

export function newLinkCode(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(10));
	return [...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join("");
}

export function telegramBotUsername(env: { TELEGRAM_BOT_USERNAME?: string }): string {
	return env.TELEGRAM_BOT_USERNAME?.replace(/^@/, "") || DEFAULT_TELEGRAM_BOT_USERNAME;
}

/** Telegram's deep link: opening it starts a chat with the bot and sends `/start <code>` (codes use only A–Z and 2–9, as Telegram requires). */
export function telegramStartUrl(env: { TELEGRAM_BOT_USERNAME?: string }, code: string): string {
	return `https://t.me/${telegramBotUsername(env)}?start=${encodeURIComponent(code)}`;
}

export async function createLinkCode(db: D1Database, accountId: string, now: number): Promise<{ code: string; expires_at: number }> {
	const code = newLinkCode();
	const expires_at = now + LINK_CODE_TTL_MS;
	await db.prepare("INSERT INTO link_codes (code_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
		.bind(await sha256Hex(code), accountId, now, expires_at).run();
	return { code, expires_at };
}

export type RedeemResult = { ok: true; accountId: string } | { ok: false; reason: "unknown" | "expired" | "used" };

/** Spends a code once (atomically) and links `kind:externalId` to its account, replacing an older link. */
export async function redeemLinkCode(db: D1Database, code: string, kind: ChatKind, externalId: string, now: number): Promise<RedeemResult> {
	const hash = await sha256Hex(code.trim().toUpperCase());
	const spent = await db
		.prepare("UPDATE link_codes SET used_at = ?1, used_by = ?2 WHERE code_hash = ?3 AND used_at IS NULL AND expires_at > ?1 RETURNING account_id")
		.bind(now, `${kind}:${externalId}`, hash)
		.first<{ account_id: string }>();
	if (!spent) {
		const row = await db.prepare("SELECT used_at, expires_at FROM link_codes WHERE code_hash = ?").bind(hash).first<{ used_at: number | null; expires_at: number }>();
		return { ok: false, reason: !row ? "unknown" : row.used_at !== null ? "used" : "expired" };
	}
	await db
		.prepare(`INSERT INTO chat_links (kind, external_id, account_id, linked_at) VALUES (?, ?, ?, ?)
		          ON CONFLICT (kind, external_id) DO UPDATE SET account_id = excluded.account_id, linked_at = excluded.linked_at`)
		.bind(kind, externalId, spent.account_id, now)
		.run();
	return { ok: true, accountId: spent.account_id };
}

export async function linkedAccount(db: D1Database, kind: ChatKind, externalId: string): Promise<Account | null> {
	return db
		.prepare("SELECT a.id, a.name, a.role, a.created_at FROM chat_links l JOIN accounts a ON a.id = l.account_id WHERE l.kind = ? AND l.external_id = ?")
		.bind(kind, externalId)
		.first<Account>();
}

export async function unlink(db: D1Database, kind: ChatKind, externalId: string): Promise<boolean> {
	const r = await db.prepare("DELETE FROM chat_links WHERE kind = ? AND external_id = ?").bind(kind, externalId).run();
	return (r.meta.changes ?? 0) > 0;
}
