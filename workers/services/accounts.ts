// Accounts: creation, with the account's first API key (returned once, stored hashed), and the account's view.
import * as accounts from "../db/accounts.ts";
import { insertStatement } from "../db/keys.ts";
import { newApiKey, newId, sha256Hex } from "../ids.ts";
import { iso } from "../http.ts";
import type { Account } from "../db/accounts.ts";
import { FIRST_KEY_NAME, newKeyRow } from "./keys.ts";

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
	const hash = await sha256Hex(apiKey);
	const account: Account = { id: newId("acc"), name, role: "user", created_at: now };
	// The first key has scope `admin`: everything the account may do (staff routes only once it is made staff), as
	// every key did before keys had scopes. Narrower keys are made with POST /v1/me/keys.
	const first = newKeyRow(account.id, FIRST_KEY_NAME, "admin", now);
	await accounts.create(db, account, hash, [insertStatement(db, first, hash)]);
	return { account, apiKey };
}
