// Which credential every route needs: the one table (README "API keys and scopes"), read by workers/auth.ts.

/** API key scopes, least first; each includes the ones before it. */
export const SCOPES = ["read", "operate", "rent", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** True when a key of scope `held` may do what needs `needed`. */
export function covers(held: Scope, needed: Scope): boolean {
	return SCOPES.indexOf(held) >= SCOPES.indexOf(needed);
}

/**
 * What a route needs. A scope: an account's API key of that scope or above. `public`: anyone (a key, of any scope,
 * only adds the owner's view). `anyone`: no credentials at all. `node`: the node's own token (or, for a key rotation,
 * a statement signed by its key). `admin_token`: ADMIN_TOKEN only. `staff`: ADMIN_TOKEN, or an `admin` key of a staff
 * account. `discord` / `telegram`: the platform's signature or secret.
 */
export type Access = Scope | "public" | "anyone" | "node" | "admin_token" | "staff" | "discord" | "telegram";

export const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
	"POST /v1/accounts": "anyone",
	"GET /v1/me": "read",
	"GET /v1/me/keys": "read",
	// Creating needs `rent` (a user's highest scope) and a scope no higher than the caller's own; `admin` keys only by
	// staff. Revoking: `read` to revoke the calling key itself, otherwise `rent` and a key of no higher scope.
	"POST /v1/me/keys": "rent",
	"DELETE /v1/me/keys/:id": "read",
	"GET /v1/me/audit": "read",
	"POST /v1/nodes": "operate",
	"GET /v1/nodes": "read",
	"GET /v1/nodes/:id": "public",
	"PATCH /v1/nodes/:id": "operate",
	"DELETE /v1/nodes/:id": "operate",
	"PUT /v1/nodes/:id/key": "operate",
	"DELETE /v1/nodes/:id/key": "operate",
	"POST /v1/nodes/:id/key/rotate": "node",
	"GET /v1/nodes/:id/uptime": "public",
	"GET /v1/nodes/:id/flips": "public",
	"GET /v1/nodes/:id/connect": "node",
	"POST /v1/nodes/:id/heartbeat": "node",
	"POST /v1/nodes/:id/bandwidth/upload": "node",
	"POST /v1/nodes/:id/bandwidth/download": "node",
	"POST /v1/nodes/:id/bandwidth/download/:test": "node",
	// A linked chat can change maintenance, alerts and tickets through the bots: what an `operate` key can do.
	"POST /v1/links": "operate",
	"GET /v1/stats": "public",
	"GET /v1/incidents": "public",
	"GET /v1/nodes/:id/points": "public",
	"GET /v1/points": "read",
	"GET /v1/leaderboard": "public",
	"GET /v1/epochs/:n": "public",
	"GET /v1/epochs/:n/proof/:node_id": "public",
	"GET /v1/prices": "public",
	"POST /v1/quotes": "public",
	"POST /v1/clusters": "rent",
	"GET /v1/clusters": "read",
	"GET /v1/clusters/:id": "read",
	"DELETE /v1/clusters/:id": "rent",
	"GET /v1/billing": "read",
	"GET /v1/alerts/settings": "read",
	"PATCH /v1/alerts/settings": "operate",
	"POST /v1/alerts/mutes": "operate",
	"DELETE /v1/alerts/mutes/:target": "operate",
	"POST /v1/tickets": "operate",
	"GET /v1/tickets": "read",
	"GET /v1/tickets/:id": "read",
	"POST /v1/tickets/:id/messages": "operate",
	"POST /v1/tickets/:id/close": "operate",
	"POST /v1/admin/credits": "admin_token",
	"GET /v1/admin/liveness": "admin_token",
	"POST /v1/admin/epochs/settle": "admin_token",
	"PUT /v1/admin/accounts/:id/role": "admin_token",
	"POST /v1/admin/adjustments": "staff",
	"POST /v1/admin/adjustments/:id/approve": "staff",
	"POST /v1/admin/flags": "staff",
	"DELETE /v1/admin/flags/:id": "staff",
	"POST /v1/admin/verify-rounds": "staff",
	"GET /v1/admin/verify-rounds/:id": "staff",
	"GET /v1/admin/audit": "staff",
	"POST /telegram/webhook": "telegram",
	"POST /discord/interactions": "discord",
	"GET /openapi.json": "anyone",
};

/**
 * The scope an account's key needs on the route `method path` (itty-router's pattern, e.g. `/v1/nodes/:id`). A route
 * missing from the table needs `admin`: a full key still works there, and no narrower key gets in by omission.
 */
export function scopeFor(method: string, path: string | undefined): Scope {
	const access = path === undefined ? undefined : ROUTE_ACCESS[`${method} ${path}`];
	if (access === "public") return "read";
	if (access !== undefined && (SCOPES as readonly string[]).includes(access)) return access as Scope;
	return "admin";
}
