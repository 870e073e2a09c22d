// Credentials people manage: an account's API keys (created with a name and a scope, shown once, revoked at once) and
// a node's public key (rotated by the old key or by the owner, revoked by the owner); every change audited.
import type { Caller } from "../auth.ts";
import * as keys from "../db/keys.ts";
import type { ApiKeyRow, KeyedNode } from "../db/keys.ts";
import { ApiError, iso } from "../http.ts";
import { newApiKey, sha256Hex } from "../ids.ts";
import { randomToken } from "../domain/challenge.ts";
import { CLOSE } from "../domain/protocol.ts";
import { covers, type Scope } from "../scopes.ts";
import { shard } from "./liveness.ts";

/** Live keys an account may hold at once. */
export const MAX_LIVE_KEYS = 25;
/** The name of the key an account is created with (and of every key that existed before named keys). */
export const FIRST_KEY_NAME = "default";

export function newKeyRow(accountId: string, name: string, scope: Scope, now: number): ApiKeyRow {
	return { id: `key_${randomToken(12)}`, account_id: accountId, name, scope, created_at: now, revoked_at: null };
}

export function keyView(k: ApiKeyRow) {
	return {
		id: k.id,
		name: k.name,
		scope: k.scope,
		created_at: iso(k.created_at),
		revoked_at: k.revoked_at === null ? null : iso(k.revoked_at),
	};
}

/**
 * A new key for the caller's account, returned once with its secret. A key never makes one above its own scope, and
 * only a staff account makes `admin` keys.
 */
export async function createKey(db: D1Database, caller: Caller, name: string, scope: Scope, now: number) {
	if (scope === "admin" && caller.accountRole !== "staff") {
		throw new ApiError(403, "forbidden", "Only staff accounts may create 'admin' keys; use 'rent' for full access.");
	}
	if (!covers(caller.key.scope, scope)) {
		throw new ApiError(
			403,
			"forbidden",
			`A key of scope '${caller.key.scope}' cannot create a key of scope '${scope}' (a key never grants more).`,
		);
	}
	const apiKey = newApiKey();
	const row = newKeyRow(caller.id, name, scope, now);
	const entry = {
		actor: caller.id,
		action: "api_key.create",
		target: `key:${row.id}`,
		details: { name, scope, by_key: caller.key.id },
	};
	if (!(await keys.createLimited(db, row, await sha256Hex(apiKey), MAX_LIVE_KEYS, entry))) {
		throw new ApiError(
			409,
			"conflict",
			`An account may hold at most ${MAX_LIVE_KEYS} live keys; revoke one (DELETE /v1/me/keys/{id}) first.`,
		);
	}
	return { key: row, apiKey };
}

/**
 * Revokes one of the caller's keys: the calling key may always revoke itself; another key needs a caller of scope
 * `rent` or above and no lower than that key's. The account's last live key of scope `rent` or above (what creates
 * keys) is kept, so an account can always make keys again. 404 for a key that is not the caller's.
 */
export async function revokeKey(db: D1Database, caller: Caller, id: string, now: number): Promise<ApiKeyRow> {
	const key = await keys.byId(db, caller.id, id);
	if (!key) throw new ApiError(404, "not_found", `No key '${id}' on this account.`);
	if (key.revoked_at !== null) return key; // revoking twice changes nothing, and is not an error
	if (key.id !== caller.key.id && !(covers(caller.key.scope, "rent") && covers(caller.key.scope, key.scope))) {
		throw new ApiError(
			403,
			"forbidden",
			`A key of scope '${caller.key.scope}' may revoke only itself or keys of a scope no higher than its own, ` +
				"and only from scope 'rent' up.",
		);
	}
	const entry = {
		actor: caller.id,
		action: "api_key.revoke",
		target: `key:${key.id}`,
		details: { name: key.name, scope: key.scope, by_key: caller.key.id },
	};
	const outcome = await keys.revoke(db, key, now, entry);
	if (outcome === "last_manager") {
		throw new ApiError(
			409,
			"conflict",
			"This is the account's last key that can manage keys; create another of scope 'rent' or above first.",
		);
	}
	return (await keys.byId(db, caller.id, id)) as ApiKeyRow;
}

// --- Node keys ---

export function nodeKeyView(n: KeyedNode) {
	return {
		node_id: n.id,
		public_key: n.public_key,
		set_at: iso(n.key_set_at ?? n.created_at),
		revoked_at: n.key_revoked_at === null ? null : iso(n.key_revoked_at),
	};
}

/** Ends the node's open sockets (opened with the key that just changed): the agent reconnects with its current key. */
async function closeSessions(env: Env, n: KeyedNode, why: string, now: number): Promise<void> {
	await shard(env, n.shard).closeNode(n.id, CLOSE.keyChanged, why, now);
}

/**
 * Sets the node's public key to `publicKey`, by `actor` (the owner's account id, or `node:<id>` when the old key
 * signed a statement `jti`), clearing a revocation; the node's open sockets are closed.
 */
export async function setNodeKey(
	env: Env,
	n: KeyedNode,
	publicKey: string,
	by: { actor: string; via: "owner" | "old_key"; jti?: string },
	now: number,
): Promise<KeyedNode> {
	if (publicKey === n.public_key) {
		const why = n.key_revoked_at === null ? "This is already the node's key" : "This key was revoked";
		throw new ApiError(409, "conflict", `${why}; setting a key needs a new key pair.`);
	}
	const entry = {
		actor: by.actor,
		action: "node.key.rotate",
		target: `node:${n.id}`,
		details: { from: n.public_key, to: publicKey, via: by.via, ...(by.jti ? { jti: by.jti } : {}) },
	};
	const outcome = await keys.setNodeKey(env.DB, n.id, n.public_key, publicKey, now, entry);
	if (outcome === "taken") {
		throw new ApiError(409, "conflict", "This public key is already registered; every node needs its own key pair.");
	}
	if (outcome === "changed") throw new ApiError(409, "conflict", "The node's key changed meanwhile; try again.");
	await closeSessions(env, n, "node key rotated", now);
	return (await keys.node(env.DB, n.id)) as KeyedNode;
}

/** Revokes the node's key (no token of the node is accepted until a new key is set) and closes its sockets. */
export async function revokeNodeKey(env: Env, n: KeyedNode, actor: string, now: number): Promise<KeyedNode> {
	const entry = { actor, action: "node.key.revoke", target: `node:${n.id}`, details: { public_key: n.public_key } };
	if (await keys.revokeNodeKey(env.DB, n.id, now, entry)) await closeSessions(env, n, "node key revoked", now);
	return (await keys.node(env.DB, n.id)) as KeyedNode;
}
