// Accounts: creation (API key returned once, stored hashed) and lookup by key hash.
import * as accounts from "../db/accounts.ts";
import { newApiKey, newId, sha256Hex } from "../ids.ts";
import { iso } from "../http.ts";
import type { Account } from "../db/accounts.ts";

export type { Account };

export function accountView(a: Account) {
	return { id: a.id, name: a.name, role: a.role, created_at: iso(a.created_at) };
}

export async function createAccount(
	db: D1Database,
	name: string,
	now: number,
): Promise<{ account: Account; apiKey: string }> {
	const apiKey = newApiKey();
	const account: Account = { id: newId("acc"), name, role: "user", created_at: now };
	await accounts.create(db, account, await sha256Hex(apiKey));
	return { account, apiKey };
}
