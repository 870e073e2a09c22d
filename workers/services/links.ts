// Linking a Telegram chat or a Discord user to an account with a one-time, expiring code.
import { readConfig } from "../config.ts";
import * as links from "../db/links.ts";

export const LINK_CODE_TTL_MS = 10 * 60 * 1000;
/** No 0/O, 1/I/L: codes are typed by hand. */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

export function newLinkCode(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(10));
	return [...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join("");
}

/**
 * Telegram's deep link: it starts a chat with the bot and sends `/start <code>` (codes use A–Z and 2–9, as Telegram
 * needs).
 */
export function telegramStartUrl(env: Env, code: string): string {
	return `https://t.me/${readConfig(env).telegram.botUsername}?start=${encodeURIComponent(code)}`;
}

export async function createLinkCode(
	db: D1Database,
	accountId: string,
	now: number,
): Promise<{ code: string; expires_at: number }> {
	const code = newLinkCode();
	const expires_at = now + LINK_CODE_TTL_MS;
	await links.createCode(db, code, accountId, now, expires_at);
	return { code, expires_at };
}
