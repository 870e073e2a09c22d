// Accounts in D1: creation (API key returned once, stored hashed) and lookup by key hash.
import { newApiKey, newId, sha256Hex } from "../ids.ts";
import { iso } from "../http.ts";

export interface Account {
	id: string;
	name: string;
	role: "user" | "staff";
	created_at: number;
}

export function accountView(a: Account) {
	return { id: a.id, name: a.name, role: a.role, created_at: iso(a.created_at) };
}

export async function createAccount(db: D1Database, name: string, now: number): Promise<{ account: Account; apiKey: string }> {
	const apiKey = newApiKey();
	const account: Account = { id: newId("acc"), name, role: "user", created_at: now };
	await db
		.prepare("INSERT INTO accounts (id, name, api_key_hash, role, created_at) VALUES (?, ?, ?, ?, ?)")
		.bind(account.id, name, await sha256Hex(apiKey), account.role, now)
		.run();
	return { account, apiKey };
}

export async function findAccountByKeyHash(db: D1Database, hash: string): Promise<Account | null> {
	return db.prepare("SELECT id, name, role, created_at FROM accounts WHERE api_key_hash = ?").bind(hash).first<Account>();
}
