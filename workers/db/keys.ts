// Owns credentials in D1: the `api_keys` table (named, scoped, revocable; only the key's SHA-256 is stored) and the
// key columns of `nodes` (public_key, key_set_at, key_revoked_at), each change written with its audit entry.
import type { Account } from "./accounts.ts";
import { auditedAfter, auditedIf, type AuditEntry } from "./audit.ts";
import type { NodeRow } from "./nodes.ts";
import type { Scope } from "../scopes.ts";

export type { Scope };

export interface ApiKeyRow {
	id: string;
	account_id: string;
	name: string;
	scope: Scope;
	created_at: number;
	revoked_at: number | null;
}

/** A live key and the account it belongs to, as authentication needs them. */
export interface KeyHolder {
	account: Account;
	key: ApiKeyRow;
}

const KEY_COLUMNS = "k.id, k.account_id, k.name, k.scope, k.created_at, k.revoked_at";

/** The account of an unrevoked key with this hash, and the key; null for an unknown or revoked key. */
export async function holderOf(db: D1Database, hash: string): Promise<KeyHolder | null> {
	const row = await db
		.prepare(`SELECT ${KEY_COLUMNS}, a.name AS account_name, a.role, a.created_at AS account_created_at
			FROM api_keys k JOIN accounts a ON a.id = k.account_id
			WHERE k.key_hash = ? AND k.revoked_at IS NULL`)
		.bind(hash)
		.first<ApiKeyRow & { account_name: string; role: Account["role"]; account_created_at: number }>();
	if (!row) return null;
	const { account_name, role, account_created_at, ...key } = row;
	return { account: { id: key.account_id, name: account_name, role, created_at: account_created_at }, key };
}

/** The statement that stores a new key (for a batch with the account that owns it, or on its own). */
export function insertStatement(db: D1Database, k: ApiKeyRow, hash: string): D1PreparedStatement {
	return db
		.prepare("INSERT INTO api_keys (id, account_id, name, scope, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)")
		.bind(k.id, k.account_id, k.name, k.scope, hash, k.created_at);
}

/**
 * Stores a new key with its audit entry, unless the account already holds `max` live keys (one statement: two racing
 * creations cannot both pass the limit). True when stored.
 */
export async function createLimited(
	db: D1Database,
	k: ApiKeyRow,
	hash: string,
	max: number,
	entry: AuditEntry,
): Promise<boolean> {
	const inserted = await auditedAfter(
		db,
		db
			.prepare(`INSERT INTO api_keys (id, account_id, name, scope, key_hash, created_at)
				SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM api_keys WHERE account_id = ? AND revoked_at IS NULL) < ?`)
			.bind(k.id, k.account_id, k.name, k.scope, hash, k.created_at, k.account_id, max),
		// The entry is written only if the key was; its account is found through the key row (workers/db/audit.ts).
		{ sql: "SELECT 1 FROM api_keys WHERE id = ?", params: [k.id] },
		entry,
		k.created_at,
	);
	return inserted.meta.changes > 0;
}

/** The account's keys, revoked ones included, oldest first. */
export async function ofAccount(db: D1Database, accountId: string): Promise<ApiKeyRow[]> {
	const { results } = await db
		.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys k WHERE k.account_id = ? ORDER BY k.created_at, k.id`)
		.bind(accountId)
		.all<ApiKeyRow>();
	return results;
}

export async function byId(db: D1Database, accountId: string, id: string): Promise<ApiKeyRow | null> {
	return db
		.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys k WHERE k.id = ? AND k.account_id = ?`)
		.bind(id, accountId)
		.first<ApiKeyRow>();
}

/** The scopes that manage keys (creating needs `rent`): an account always keeps one live key of them. */
const MANAGING = "('rent', 'admin')";

/**
 * Revokes a live key with its audit entry, unless it is the account's last live key that can manage keys (checked in
 * the same statement: two racing revocations cannot both remove the last two). "already" (and no entry) when it
 * was revoked before.
 */
export async function revoke(
	db: D1Database,
	k: ApiKeyRow,
	now: number,
	entry: AuditEntry,
): Promise<"revoked" | "already" | "last_manager"> {
	const allowed = `id = ? AND revoked_at IS NULL AND (scope NOT IN ${MANAGING} OR EXISTS (SELECT 1 FROM api_keys o
		WHERE o.account_id = ? AND o.id != ? AND o.revoked_at IS NULL AND o.scope IN ${MANAGING}))`;
	const params = [k.id, k.account_id, k.id];
	const changed = await auditedIf(
		db,
		{ sql: `SELECT 1 FROM api_keys WHERE ${allowed}`, params },
		db.prepare(`UPDATE api_keys SET revoked_at = ? WHERE ${allowed} RETURNING id`).bind(now, ...params),
		entry,
		now,
	);
	if (changed.length > 0) return "revoked";
	const row = await db.prepare("SELECT revoked_at FROM api_keys WHERE id = ?").bind(k.id).first<ApiKeyRow>();
	return row?.revoked_at === null ? "last_manager" : "already";
}

// --- Node keys ---

/** A live node with the state of its key. */
export type KeyedNode = NodeRow & { key_set_at: number | null; key_revoked_at: number | null };

export async function node(db: D1Database, id: string): Promise<KeyedNode | null> {
	return db.prepare("SELECT * FROM nodes WHERE id = ? AND deleted_at IS NULL").bind(id).first<KeyedNode>();
}

/**
 * Sets a node's public key (clearing a revocation) with its audit entry, only while the node still has the key
 * `expected` (a rotation that raced another one changes nothing). "taken" when another node has that key.
 */
export async function setNodeKey(
	db: D1Database,
	nodeId: string,
	expected: string,
	publicKey: string,
	now: number,
	entry: AuditEntry,
): Promise<"set" | "changed" | "taken"> {
	const taken = await db.prepare("SELECT 1 FROM nodes WHERE public_key = ?").bind(publicKey).first();
	if (taken) return "taken";
	try {
		const changed = await auditedIf(
			db,
			{ sql: "SELECT 1 FROM nodes WHERE id = ? AND public_key = ? AND deleted_at IS NULL", params: [nodeId, expected] },
			db
				.prepare(`UPDATE nodes SET public_key = ?, key_set_at = ?, key_revoked_at = NULL
					WHERE id = ? AND public_key = ? AND deleted_at IS NULL RETURNING id`)
				.bind(publicKey, now, nodeId, expected),
			entry,
			now,
		);
		return changed.length > 0 ? "set" : "changed";
	} catch (err) {
		// The key was registered between the check and the update (UNIQUE): the batch wrote nothing.
		if (err instanceof Error && /UNIQUE/i.test(err.message)) return "taken";
		throw err;
	}
}

/** Revokes a node's key with its audit entry; false (and no entry) when it was revoked already. */
export async function revokeNodeKey(db: D1Database, nodeId: string, now: number, entry: AuditEntry): Promise<boolean> {
	const live = "SELECT 1 FROM nodes WHERE id = ? AND key_revoked_at IS NULL AND deleted_at IS NULL";
	const changed = await auditedIf(
		db,
		{ sql: live, params: [nodeId] },
		db
			.prepare(`UPDATE nodes SET key_revoked_at = ?
				WHERE id = ? AND key_revoked_at IS NULL AND deleted_at IS NULL RETURNING id`)
			.bind(now, nodeId),
		entry,
		now,
	);
	return changed.length > 0;
}
