// Owns the `accounts` table: accounts, their roles, and the hash of the key each was created with (the keys themselves,
// and what authentication reads, are in `api_keys`: workers/db/keys.ts).
import { auditedIf, type AuditEntry } from "./audit.ts";

export interface Account {
	id: string;
	name: string;
	role: "user" | "staff";
	created_at: number;
}

/** Inserts the account and, in the same transaction, `alsoRun` (its first key's row). */
export async function create(
	db: D1Database,
	account: Account,
	apiKeyHash: string,
	alsoRun: D1PreparedStatement[] = [],
): Promise<void> {
	await db.batch([
		db
			.prepare("INSERT INTO accounts (id, name, api_key_hash, role, created_at) VALUES (?, ?, ?, ?, ?)")
			.bind(account.id, account.name, apiKeyHash, account.role, account.created_at),
		...alsoRun,
	]);
}

/** The account created with the key of this hash (its sign-up key, even if since revoked; authentication uses keys). */
export async function byKeyHash(db: D1Database, hash: string): Promise<Account | null> {
	return db
		.prepare("SELECT id, name, role, created_at FROM accounts WHERE api_key_hash = ?")
		.bind(hash)
		.first<Account>();
}

export async function exists(db: D1Database, id: string): Promise<boolean> {
	return (await db.prepare("SELECT 1 FROM accounts WHERE id = ?").bind(id).first()) !== null;
}

/** Changes an account's role, with its audit entry; false (and no entry) when there is no account `id`. */
export async function setRole(db: D1Database, id: string, role: Account["role"], entry: AuditEntry, now: number) {
	const updated = await auditedIf(
		db,
		{ sql: "SELECT 1 FROM accounts WHERE id = ?", params: [id] },
		db.prepare("UPDATE accounts SET role = ? WHERE id = ? RETURNING id").bind(role, id),
		entry,
		now,
	);
	return updated.length > 0;
}
