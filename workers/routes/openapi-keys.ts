// The OpenAPI paths of credentials people manage: API keys, the account's audit log, a node's key (merged into
// /openapi.json). Each operation names the scope it needs (workers/scopes.ts).
import type { z } from "zod";
import { ROUTE_ACCESS, SCOPES } from "../scopes.ts";
import { AuditQuery, CreateKey } from "./keys.ts";
import { SetNodeKey } from "./node-keys.ts";

interface Helpers {
	ok(description: string, schema?: object): object;
	err(description: string): object;
	body(schema: z.ZodType): object;
	E: Record<400 | 401 | 403 | 404 | 409 | 413 | 415 | 429, object>;
}

const date = { type: "string", format: "date-time" };
const ApiKey = {
	type: "object",
	required: ["id", "name", "scope", "created_at", "revoked_at"],
	properties: {
		id: { type: "string", pattern: "^key_" },
		name: { type: "string", maxLength: 64 },
		scope: { type: "string", enum: [...SCOPES] },
		created_at: date,
		revoked_at: { type: ["string", "null"], format: "date-time" },
		current: { type: "boolean", description: "In lists: the key this request was made with." },
	},
};
const NodeKey = {
	type: "object",
	required: ["node_id", "public_key", "set_at", "revoked_at"],
	properties: {
		node_id: { type: "string" },
		public_key: { type: "string", description: "Raw 32-byte Ed25519 public key, base64url." },
		set_at: date,
		revoked_at: { type: ["string", "null"], format: "date-time", description: "Set while no token is accepted." },
	},
};
const AuditEntry = {
	type: "object",
	properties: {
		id: { type: "integer" },
		at: date,
		actor: { type: "string", description: "An account id, `admin`, `coordinator` or `node:<id>`." },
		action: {
			type: "string",
			description:
				"e.g. api_key.create, api_key.revoke, node.key.rotate, node.key.revoke, flag.add, flag.clear, " +
				"points.adjust, credits.grant, account.role.",
		},
		target: { type: ["string", "null"], description: "`key:<id>`, `node:<id>`, `flag:<id>` or `account:<id>`." },
		details: { type: "object" },
	},
};

/** The scope sentence of an operation, from the one table. */
const needs = (route: string) => `Needs an API key of scope \`${ROUTE_ACCESS[route]}\` or above.`;
const nodeId = { name: "id", in: "path", required: true, schema: { type: "string" } };

export function keyPaths({ ok, err, body, E }: Helpers) {
	const account = [{ apiKey: [] }];
	const scope403 = err("The key's scope is too low for this (`forbidden`, with `required_scope` and `key_scope`).");
	const keyOut = (d: string) => ok(d, { type: "object", properties: { key: ApiKey } });
	const nodeKeyOut = (d: string) => ok(d, { type: "object", properties: { key: NodeKey } });
	return {
		"/v1/me/keys": {
			post: {
				summary:
					"Create an API key with a name and a scope (`read` when not given; scopes: read < operate < rent < " +
					"admin, each including the ones before). The key is in `api_key`, shown this once and stored hashed. " +
					"A key never creates one above its own scope; only staff accounts create `admin` keys. " +
					needs("POST /v1/me/keys"),
				security: account,
				requestBody: body(CreateKey),
				responses: {
					201: ok("The key, and its secret (shown once)", {
						type: "object",
						properties: { key: ApiKey, api_key: { type: "string", pattern: "^pgk_" } },
					}),
					400: E[400],
					401: E[401],
					403: scope403,
					409: err("The account already holds 25 live keys (`conflict`)."),
					413: E[413],
					415: E[415],
				},
			},
			get: {
				summary: `The account's keys, revoked ones included, oldest first (never a secret). ${needs("GET /v1/me/keys")}`,
				security: account,
				responses: {
					200: ok("Keys", { type: "object", properties: { keys: { type: "array", items: ApiKey } } }),
					401: E[401],
				},
			},
		},
		"/v1/me/keys/{id}": {
			delete: {
				summary:
					"Revoke a key: refused (401) from this moment on. A key may revoke itself; another key needs a caller " +
					"of scope `rent` or above and no lower than that key's. The account's last live key of scope `rent` or " +
					"above is kept (409): create another first. Revoking twice answers the same.",
				security: account,
				parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
				responses: { 200: keyOut("The revoked key"), 401: E[401], 403: scope403, 404: E[404], 409: E[409] },
			},
		},
		"/v1/me/audit": {
			get: {
				summary:
					"Every audit entry concerning the account (its keys, its nodes and their keys, flags, adjustments, " +
					`credit grants, its role), newest first; \`limit\` (1–100, default 50) per page, then \`cursor\` = ` +
					`the previous page's \`next_cursor\` (null on the last page). ${needs("GET /v1/me/audit")}`,
				security: account,
				parameters: Object.keys(AuditQuery.shape).map((name) => ({ name, in: "query", schema: { type: "string" } })),
				responses: {
					200: ok("A page of entries", {
						type: "object",
						properties: {
							entries: { type: "array", items: AuditEntry },
							next_cursor: { type: ["string", "null"] },
						},
					}),
					400: E[400],
					401: E[401],
				},
			},
		},
		"/v1/nodes/{id}/key": {
			put: {
				summary:
					"The owner sets the node's public key (the old key lost or stolen; also after a revocation). The node's " +
					`open sockets are closed (4004); audited as node.key.rotate. ${needs("PUT /v1/nodes/:id/key")}`,
				security: account,
				parameters: [nodeId],
				requestBody: body(SetNodeKey),
				responses: {
					200: nodeKeyOut("The node's key"),
					400: E[400],
					401: E[401],
					403: err("Another account's node, or the key's scope is too low (`forbidden`)."),
					404: E[404],
					409: err("The key is already registered to a node, or is already this node's key (`conflict`)."),
				},
			},
			delete: {
				summary:
					"Revoke the node's key: no token of the node is accepted (401) until a new key is set with PUT; its " +
					`open sockets are closed (4004); audited as node.key.revoke. ${needs("DELETE /v1/nodes/:id/key")}`,
				security: account,
				parameters: [nodeId],
				responses: {
					200: nodeKeyOut("The node's key, revoked"),
					401: E[401],
					403: err("Another account's node, or the key's scope is too low (`forbidden`)."),
					404: E[404],
				},
			},
		},
		"/v1/nodes/{id}/key/rotate": {
			post: {
				summary:
					"The node rotates its own key. The bearer credential is a statement signed by the current key: an EdDSA " +
					'JWT with sub = node id, aud = "pulsegrid:rotate-key", new_public_key, iat (not before the current key ' +
					"was set), exp ≤ 5 min ahead, jti (docs/PROTOCOL.md). Open sockets are closed (4004); audited.",
				security: [{ rotationStatement: [] }],
				parameters: [nodeId],
				responses: {
					200: nodeKeyOut("The node's new key"),
					400: err("The statement's new_public_key is not a raw Ed25519 key (`validation_failed`)."),
					401: err("No statement, a bad signature, a revoked key, or a statement older than the key (`unauthorized`)."),
					404: E[404],
					409: err("The new key is registered already, or is the current key (`conflict`)."),
				},
			},
		},
	};
}

/** The security scheme of a rotation statement. */
export const ROTATION_STATEMENT_SCHEME = {
	type: "http",
	scheme: "bearer",
	bearerFormat: "JWT",
	description:
		'EdDSA JWT signed by the node\'s current key: sub = node id, aud = "pulsegrid:rotate-key", new_public_key, iat, ' +
		"exp ≤ 5 min ahead, jti.",
};
