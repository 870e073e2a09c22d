// Who is calling: accounts by scoped API key, the admin by secret, nodes by a short-lived EdDSA JWT signed with their
// own key. Each route's scope comes from the one table in workers/scopes.ts.
import type { IRequest } from "itty-router";
import { decodeProtectedHeader, importJWK, jwtVerify, errors as joseErrors } from "jose";
import { ApiError, clientIp } from "./http.ts";
import { secretsEqual, sha256Hex } from "./ids.ts";
import type { Account } from "./db/accounts.ts";
import { holderOf, node as keyedNode, type ApiKeyRow, type KeyedNode, type KeyHolder } from "./db/keys.ts";
import { covers, scopeFor, type Scope } from "./scopes.ts";

export const NODE_TOKEN_AUDIENCE = "pulsegrid";
/** A node token may live at most this long (DESIGN §4); a little clock skew is tolerated on top. */
export const NODE_TOKEN_MAX_LIFETIME_S = 300;
/**
 * How far a node's clock may be off ours: `exp` may be this much later than the lifetime allows, and `iat` at most
 * this far in the future (a token "issued" later would outlive the shard-restart replay rule, docs/PROTOCOL.md §1).
 */
export const CLOCK_SKEW_S = 30;

function bearer(request: Request): string | null {
	const h = request.headers.get("authorization");
	const m = h && /^Bearer\s+(\S+)$/i.exec(h);
	return m ? (m[1] as string) : null;
}

/** Counts a failed authentication against the caller's IP; past the limit the answer becomes 429. */
async function authFailure(env: Env, request: Request, message: string): Promise<ApiError> {
	const { success } = await env.AUTH_FAIL_LIMITER.limit({ key: clientIp(request) });
	if (!success)
		return new ApiError(429, "rate_limited", "Too many failed authentications from this address; wait a minute.", {
			"retry-after": "60",
		});
	return new ApiError(401, "unauthorized", message);
}

/**
 * An account as one of its keys presents it. `role` is what the key may act as: `staff` only with an `admin` key of a
 * staff account (a narrower key of a staff account acts as a user); `accountRole` is the account's own role.
 */
export interface Caller extends Account {
	key: ApiKeyRow;
	accountRole: Account["role"];
}

function callerOf({ account, key }: KeyHolder): Caller {
	const role = key.scope === "admin" ? account.role : "user";
	return { ...account, role, accountRole: account.role, key };
}

/** The live key a `pgk_` bearer token is, with its account; null for anything else (unknown, revoked, not a key). */
async function holder(env: Env, token: string | null): Promise<KeyHolder | null> {
	return token?.startsWith("pgk_") ? holderOf(env.DB, await sha256Hex(token)) : null;
}

/**
 * The calling account, by its API key, which must hold `scope`: by default the scope the route needs in
 * workers/scopes.ts (itty-router names the matched route on the request). 401 without a live key (a revoked key is
 * refused from the moment it is revoked); 403, naming both scopes, for a key of a lesser scope.
 */
export async function requireAccount(request: Request, env: Env, scope?: Scope): Promise<Caller> {
	const token = bearer(request);
	if (!token) throw await authFailure(env, request, "Send your API key as 'Authorization: Bearer <api_key>'.");
	const found = await holder(env, token);
	if (!found) throw await authFailure(env, request, "The API key is not valid (unknown or revoked).");
	const needed = scope ?? scopeFor(request.method, (request as Partial<IRequest>).route);
	if (!covers(found.key.scope, needed)) {
		throw new ApiError(
			403,
			"forbidden",
			`This needs an API key of scope '${needed}' or above; the key '${found.key.name}' has scope ` +
				`'${found.key.scope}'. Create one with POST /v1/me/keys.`,
			{},
			{ required_scope: needed, key_scope: found.key.scope },
		);
	}
	return callerOf(found);
}

/**
 * For public routes, which serve anyone: the account of a valid API key (so an owner sees more), otherwise null.
 * Credentials the route does not need are ignored, not refused: a node token, the admin token, another scheme or a
 * wrong or revoked key are served as anonymous. A wrong `pgk_` key still counts against the address's failed
 * authentications (else a public route would be an unlimited key-guessing oracle), so past that limit it is a 429.
 */
export async function optionalAccount(request: Request, env: Env): Promise<Caller | null> {
	const token = bearer(request);
	if (!token?.startsWith("pgk_")) return null;
	const found = await holder(env, token);
	if (found) return callerOf(found);
	const failure = await authFailure(env, request, "The API key is not valid.");
	if (failure.status === 429) throw failure;
	return null;
}

/** The admin token, compared in constant time; an account key gets 403 (known caller, not allowed). */
export async function requireAdmin(request: Request, env: Env): Promise<void> {
	const token = bearer(request);
	if (token && env.ADMIN_TOKEN && (await secretsEqual(token, env.ADMIN_TOKEN))) return;
	if (await holder(env, token)) {
		throw new ApiError(403, "forbidden", "This route is for the coordinator's admin only.");
	}
	throw await authFailure(env, request, "This route needs the admin token.");
}

/** True when the caller sent the admin token (compared in constant time); for routes that also serve accounts. */
export async function isAdminToken(request: Request, env: Env): Promise<boolean> {
	const token = bearer(request);
	return Boolean(token && env.ADMIN_TOKEN && (await secretsEqual(token, env.ADMIN_TOKEN)));
}

/** Staff actions: the admin token (actor "admin") or an `admin` key of a staff account (actor = its id). */
export async function requireStaff(request: Request, env: Env): Promise<string> {
	const token = bearer(request);
	if (token && env.ADMIN_TOKEN && (await secretsEqual(token, env.ADMIN_TOKEN))) return "admin";
	const account = await requireAccount(request, env, "admin");
	if (account.role !== "staff") throw new ApiError(403, "forbidden", "This route is for staff.");
	return account.id;
}

export interface NodeCaller {
	node: KeyedNode;
	jti: string;
	/** Seconds since the epoch, as in the token. */
	iat: number;
	exp: number;
}

/**
 * Verifies a node token for the node named in the path: EdDSA only, signed by that node's registered key,
 * `sub` = node id, `aud` = "pulsegrid", `exp` at most 5 minutes ahead, `iat` not in the future (beyond CLOCK_SKEW_S),
 * `jti` present. A node whose key was revoked has no valid token until a new key is set.
 * Replays are refused by the node's shard, which remembers used `jti`s.
 */
export async function requireNode(request: Request, env: Env, nodeId: string, now: number): Promise<NodeCaller> {
	const token = bearer(request);
	if (!token) throw await authFailure(env, request, "Send a node token as 'Authorization: Bearer <jwt>'.");
	await eddsaOnly(env, request, token, "node token"); // before the lookup: a non-token never learns if a node exists
	const node = await keyedNode(env.DB, nodeId);
	if (!node) throw new ApiError(404, "not_found", `No node '${nodeId}'.`);
	const claims = await signedByNode(env, request, node, token, NODE_TOKEN_AUDIENCE, "node token", now);
	return { node, jti: claims.jti, iat: claims.iat, exp: claims.exp };
}

/** The audience of a key-rotation statement: a statement is never a node token, nor a token a statement. */
export const KEY_ROTATION_AUDIENCE = "pulsegrid:rotate-key";

/**
 * Verifies a key-rotation statement sent as `Authorization: Bearer <statement>` for the node named in the path
 * (docs/PROTOCOL.md "Rotating a node's key"): a JWT like a node token, signed by the node's current, unrevoked key,
 * with `aud` = "pulsegrid:rotate-key" and `new_public_key`, issued no earlier than the current key was set (so a
 * statement cannot be replayed once that key is set again). Returns the node, the new key and the statement's `jti`.
 */
export async function requireKeyRotation(
	request: Request,
	env: Env,
	nodeId: string,
	now: number,
): Promise<{ node: KeyedNode; publicKey: string; jti: string }> {
	const token = bearer(request);
	if (!token) {
		throw await authFailure(env, request, "Send the rotation statement as 'Authorization: Bearer <jwt>'.");
	}
	await eddsaOnly(env, request, token, "statement");
	const node = await keyedNode(env.DB, nodeId);
	if (!node) throw new ApiError(404, "not_found", `No node '${nodeId}'.`);
	const claims = await signedByNode(env, request, node, token, KEY_ROTATION_AUDIENCE, "statement", now);
	const key = claims.payload.new_public_key;
	if (typeof key !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(key)) {
		throw new ApiError(
			400,
			"validation_failed",
			"The statement's 'new_public_key' must be a raw 32-byte Ed25519 public key, base64url (43 characters).",
		);
	}
	if (node.key_set_at !== null && claims.iat < Math.floor(node.key_set_at / 1000)) {
		throw await authFailure(env, request, "The statement was issued before the node's current key was set.");
	}
	return { node, publicKey: key, jti: claims.jti };
}

/** A 401 unless `token` is a JWT whose header names EdDSA. */
async function eddsaOnly(env: Env, request: Request, token: string, what: string): Promise<void> {
	let alg: unknown;
	try {
		alg = decodeProtectedHeader(token).alg;
	} catch {
		throw await authFailure(env, request, `The ${what} is not a JWT.`);
	}
	if (alg !== "EdDSA" && alg !== "Ed25519")
		throw await authFailure(env, request, `A ${what} must be signed with EdDSA (Ed25519).`);
}

/**
 * A compact JWT (`what`: "node token" or "statement") signed by `node`'s registered key for `audience`: EdDSA only,
 * `sub` = node id, `exp` at most 5 minutes ahead, `iat` at most CLOCK_SKEW_S ahead, a `jti` of 8 to 128 characters.
 * Every refusal is a 401 counted against the caller's address.
 */
async function signedByNode(
	env: Env,
	request: Request,
	node: KeyedNode,
	token: string,
	audience: string,
	what: string,
	now: number,
): Promise<{ jti: string; iat: number; exp: number; payload: Record<string, unknown> }> {
	if (node.key_revoked_at !== null) {
		const again = "its owner must set a new one (PUT /v1/nodes/{id}/key)";
		throw await authFailure(env, request, `This node's key was revoked; ${again}.`);
	}
	await eddsaOnly(env, request, token, what);
	try {
		const key = await importJWK({ kty: "OKP", crv: "Ed25519", x: node.public_key }, "EdDSA");
		const { payload } = await jwtVerify(token, key, {
			algorithms: ["EdDSA", "Ed25519"],
			subject: node.id,
			audience,
			requiredClaims: ["exp", "iat", "jti", "sub"],
			clockTolerance: CLOCK_SKEW_S,
			currentDate: new Date(now),
		});
		const exp = payload.exp as number;
		if ((payload.iat as number) * 1000 - now > CLOCK_SKEW_S * 1000) {
			throw await authFailure(
				env,
				request,
				`The ${what}'s 'iat' is in the future; it may be at most ${CLOCK_SKEW_S} s ahead of the coordinator's clock.`,
			);
		}
		if (exp * 1000 - now > (NODE_TOKEN_MAX_LIFETIME_S + CLOCK_SKEW_S) * 1000) {
			throw await authFailure(env, request, `A ${what} may expire at most ${NODE_TOKEN_MAX_LIFETIME_S} s ahead.`);
		}
		if (typeof payload.jti !== "string" || payload.jti.length < 8 || payload.jti.length > 128) {
			throw await authFailure(env, request, `The ${what} needs a unique 'jti' of 8 to 128 characters.`);
		}
		return { jti: payload.jti, iat: payload.iat as number, exp, payload: payload as Record<string, unknown> };
	} catch (err) {
		if (err instanceof ApiError) throw err;
		const why =
			err instanceof joseErrors.JWTExpired
				? `The ${what} has expired.`
				: err instanceof joseErrors.JWTClaimValidationFailed
					? `The ${what}'s '${err.claim}' claim is not valid.`
					: `The ${what}'s signature does not match this node's key.`;
		throw await authFailure(env, request, why);
	}
}
