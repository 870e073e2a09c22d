// Who is calling: accounts by API key, the admin by secret, nodes by a short-lived EdDSA JWT signed with their own key.
import { decodeProtectedHeader, importJWK, jwtVerify, errors as joseErrors } from "jose";
import { ApiError, clientIp } from "./http.ts";
import { secretsEqual, sha256Hex } from "./ids.ts";
import { byKeyHash as accountByKeyHash, type Account } from "./db/accounts.ts";
import { byId as nodeById, type NodeRow } from "./db/nodes.ts";

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

export async function requireAccount(request: Request, env: Env): Promise<Account> {
	const token = bearer(request);
	if (!token) throw await authFailure(env, request, "Send your API key as 'Authorization: Bearer <api_key>'.");
	const account = token.startsWith("pgk_") ? await accountByKeyHash(env.DB, await sha256Hex(token)) : null;
	if (!account) throw await authFailure(env, request, "The API key is not valid.");
	return account;
}

/**
 * For public routes, which serve anyone: the account of a valid API key (so an owner sees more), otherwise null.
 * Credentials the route does not need are ignored, not refused: a node token, the admin token, another scheme or a
 * wrong or revoked key are served as anonymous. A wrong `pgk_` key still counts against the address's failed
 * authentications (else a public route would be an unlimited key-guessing oracle), so past that limit it is a 429.
 */
export async function optionalAccount(request: Request, env: Env): Promise<Account | null> {
	const token = bearer(request);
	if (!token?.startsWith("pgk_")) return null;
	const account = await accountByKeyHash(env.DB, await sha256Hex(token));
	if (account) return account;
	const failure = await authFailure(env, request, "The API key is not valid.");
	if (failure.status === 429) throw failure;
	return null;
}

/** The admin token, compared in constant time; an account key gets 403 (known caller, not allowed). */
export async function requireAdmin(request: Request, env: Env): Promise<void> {
	const token = bearer(request);
	if (token && env.ADMIN_TOKEN && (await secretsEqual(token, env.ADMIN_TOKEN))) return;
	if (token?.startsWith("pgk_") && (await accountByKeyHash(env.DB, await sha256Hex(token)))) {
		throw new ApiError(403, "forbidden", "This route is for the coordinator's admin only.");
	}
	throw await authFailure(env, request, "This route needs the admin token.");
}

/** True when the caller sent the admin token (compared in constant time); for routes that also serve accounts. */
export async function isAdminToken(request: Request, env: Env): Promise<boolean> {
	const token = bearer(request);
	return Boolean(token && env.ADMIN_TOKEN && (await secretsEqual(token, env.ADMIN_TOKEN)));
}

/** Staff actions: the admin token (actor "admin") or an account whose role is staff (actor = its id). */
export async function requireStaff(request: Request, env: Env): Promise<string> {
	const token = bearer(request);
	if (token && env.ADMIN_TOKEN && (await secretsEqual(token, env.ADMIN_TOKEN))) return "admin";
	const account = await requireAccount(request, env);
	if (account.role !== "staff") throw new ApiError(403, "forbidden", "This route is for staff.");
	return account.id;
}

export interface NodeCaller {
	node: NodeRow;
	jti: string;
	/** Seconds since the epoch, as in the token. */
	iat: number;
	exp: number;
}

/**
 * Verifies a node token for the node named in the path: EdDSA only, signed by that node's registered key,
 * `sub` = node id, `aud` = "pulsegrid", `exp` at most 5 minutes ahead, `iat` not in the future (beyond CLOCK_SKEW_S),
 * `jti` present.
 * Replays are refused by the node's shard, which remembers used `jti`s.
 */
export async function requireNode(request: Request, env: Env, nodeId: string, now: number): Promise<NodeCaller> {
	const token = bearer(request);
	if (!token) throw await authFailure(env, request, "Send a node token as 'Authorization: Bearer <jwt>'.");
	let alg: unknown;
	try {
		alg = decodeProtectedHeader(token).alg;
	} catch {
		throw await authFailure(env, request, "The node token is not a JWT.");
	}
	if (alg !== "EdDSA" && alg !== "Ed25519")
		throw await authFailure(env, request, "Node tokens must be signed with EdDSA (Ed25519).");
	const node = await nodeById(env.DB, nodeId);
	if (!node) throw new ApiError(404, "not_found", `No node '${nodeId}'.`);
	try {
		const key = await importJWK({ kty: "OKP", crv: "Ed25519", x: node.public_key }, "EdDSA");
		const { payload } = await jwtVerify(token, key, {
			algorithms: ["EdDSA", "Ed25519"],
			subject: nodeId,
			audience: NODE_TOKEN_AUDIENCE,
			requiredClaims: ["exp", "iat", "jti", "sub"],
			clockTolerance: CLOCK_SKEW_S,
			currentDate: new Date(now),
		});
		const exp = payload.exp as number;
		if ((payload.iat as number) * 1000 - now > CLOCK_SKEW_S * 1000) {
			throw await authFailure(
				env,
				request,
				`The node token's 'iat' is in the future; it may be at most ${CLOCK_SKEW_S} s ahead of the coordinator's clock.`,
			);
		}
		if (exp * 1000 - now > (NODE_TOKEN_MAX_LIFETIME_S + CLOCK_SKEW_S) * 1000) {
			throw await authFailure(env, request, `Node tokens may expire at most ${NODE_TOKEN_MAX_LIFETIME_S} s ahead.`);
		}
		if (typeof payload.jti !== "string" || payload.jti.length < 8 || payload.jti.length > 128) {
			throw await authFailure(env, request, "The node token needs a unique 'jti' of 8 to 128 characters.");
		}
		return { node, jti: payload.jti, iat: payload.iat as number, exp };
	} catch (err) {
		if (err instanceof ApiError) throw err;
		const why =
			err instanceof joseErrors.JWTExpired
				? "The node token has expired."
				: err instanceof joseErrors.JWTClaimValidationFailed
					? `The node token's '${err.claim}' claim is not valid.`
					: "The node token's signature does not match this node's key.";
		throw await authFailure(env, request, why);
	}
}
