// Owns the `link_codes` and `chat_links` tables: one-time link codes, and which Telegram chat or Discord user is whose.
import { sha256Hex } from "../ids.ts";
import type { Account } from "./accounts.ts";

export type ChatKind = "telegram" | "discord";

/** What spending a code found: the account it linked, or why it could not be spent. */
export type Redeemed = { ok: true; accountId: string } | { ok: false; reason: "unknown" | "expired" | "used" };

/** Stores a new code, hashed (the code itself is shown once and never stored). */
export async function createCode(db: D1Database, code: string, accountId: string, now: number, expiresAt: number) {
	await db
		.prepare("INSERT INTO link_codes (code_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
		.bind(await sha256Hex(code), accountId, now, expiresAt)
		.run();
}

/**
 * Spends a code (as typed: case and spaces ignored) once, atomically, and links `kind:externalId` to its account;
 * `linkedBy` is who sent the code (a Telegram user id; in a group, they may change things for the account).
 */
export async function redeem(
	db: D1Database,
	code: string,
	kind: ChatKind,
	externalId: string,
	now: number,
	linkedBy: string | null = null,
): Promise<Redeemed> {
	const codeHash = await sha256Hex(code.trim().toUpperCase());
	const spent = await db
		.prepare(`UPDATE link_codes SET used_at = ?1, used_by = ?2
			WHERE code_hash = ?3 AND used_at IS NULL AND expires_at > ?1 RETURNING account_id`)
		.bind(now, `${kind}:${externalId}`, codeHash)
		.first<{ account_id: string }>();
	if (!spent) {
		const row = await db
			.prepare("SELECT used_at, expires_at FROM link_codes WHERE code_hash = ?")
			.bind(codeHash)
			.first<{ used_at: number | null; expires_at: number }>();
		return { ok: false, reason: !row ? "unknown" : row.used_at !== null ? "used" : "expired" };
	}
	await db
		.prepare(`INSERT INTO chat_links (kind, external_id, account_id, linked_at, linked_by) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (kind, external_id) DO UPDATE SET account_id = excluded.account_id, linked_at = excluded.linked_at,
				linked_by = excluded.linked_by`)
		.bind(kind, externalId, spent.account_id, now, linkedBy)
		.run();
	return { ok: true, accountId: spent.account_id };
}

export async function linkedAccount(db: D1Database, kind: ChatKind, externalId: string): Promise<Account | null> {
	return db
		.prepare(`SELECT a.id, a.name, a.role, a.created_at FROM chat_links l JOIN accounts a ON a.id = l.account_id
			WHERE l.kind = ? AND l.external_id = ?`)
		.bind(kind, externalId)
		.first<Account>();
}

/** The chat's link: its account, and who linked it (null for links made before that was recorded). */
export async function chatLink(
	db: D1Database,
	kind: ChatKind,
	externalId: string,
): Promise<{ account: Account; linkedBy: string | null } | null> {
	const row = await db
		.prepare(`SELECT a.id, a.name, a.role, a.created_at, l.linked_by FROM chat_links l
			JOIN accounts a ON a.id = l.account_id WHERE l.kind = ? AND l.external_id = ?`)
		.bind(kind, externalId)
		.first<Account & { linked_by: string | null }>();
	if (!row) return null;
	const { linked_by, ...account } = row;
	return { account, linkedBy: linked_by };
}

/** Removes the link; false when there was none. */
export async function unlink(db: D1Database, kind: ChatKind, externalId: string): Promise<boolean> {
	const r = await db.prepare("DELETE FROM chat_links WHERE kind = ? AND external_id = ?").bind(kind, externalId).run();
	return (r.meta.changes ?? 0) > 0;
}

/** The account's linked Telegram chats, oldest link first: where its alerts go. */
export async function telegramChats(db: D1Database, accountId: string): Promise<string[]> {
	const { results } = await db
		.prepare("SELECT external_id FROM chat_links WHERE kind = 'telegram' AND account_id = ? ORDER BY linked_at")
		.bind(accountId)
		.all<{ external_id: string }>();
	return results.map((r) => r.external_id);
}
