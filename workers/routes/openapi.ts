// The OpenAPI 3.1 document; request bodies are generated from the same zod schemas the routes validate with.
import type { IRequest } from "itty-router";
import { z } from "zod";
import type { ErrorCode } from "../failure.ts";
import { json } from "../http.ts";
import {
	Adjustment,
	CreateAccount,
	CreateCluster,
	CreateNode,
	CreditGrant,
	Heartbeat,
	NewFlag,
	PatchNode,
	QuoteRequest,
	RoleChange,
} from "../schemas.ts";
import { LEAF_FIELDS } from "../domain/merkle.ts";
import { ALERT_PATHS } from "./openapi-alerts.ts";
import { STAT_DEFINITIONS } from "./stats.ts";
import { ticketPaths } from "./openapi-tickets.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const body = (schema: z.ZodType) => ({
	required: true,
	content: { "application/json": { schema: z.toJSONSchema(schema, { io: "input" }) } },
});
const ok = (description: string, schema?: object) => ({
	description,
	...(schema ? { content: { "application/json": { schema } } } : {}),
});
const err = (description: string) => ({ description, content: { "application/json": { schema: ref("Error") } } });
const E = {
	400: err("Malformed JSON, wrong types or unknown fields (`invalid_json`, `validation_failed`)."),
	401: err("No or invalid credentials (`unauthorized`)."),
	403: err("The thing exists but is not the caller's (`forbidden`)."),
	404: err("Unknown id (`not_found`)."),
	409: err("Conflict (`conflict`)."),
	413: err("Body larger than 16 KiB (`payload_too_large`)."),
	415: err("Body not sent as application/json (`unsupported_media_type`)."),
	429: err("Rate limited (`rate_limited`); see Retry-After."),
};
/** Every `error.code` on the wire; a `Record` over `ErrorCode`, so the compiler keeps this list complete and exact. */
const ERROR_CODES: Record<ErrorCode, true> = {
	invalid_json: true,
	validation_failed: true,
	payload_too_large: true,
	unsupported_media_type: true,
	unauthorized: true,
	forbidden: true,
	not_found: true,
	method_not_allowed: true,
	conflict: true,
	unprocessable: true,
	payment_required: true,
	rate_limited: true,
	upgrade_required: true,
	internal: true,
};
const cents = (description: string) => ({ type: "integer", minimum: 0, description });
/** `Quote` in workers/domain/pricing.ts, as a deploy failure carries it. */
const Quote = {
	type: "object",
	additionalProperties: false,
	required: [
		"gpu_model",
		"gpu_count",
		"hours",
		"base_price_per_gpu_hour_cents",
		"utilisation",
		"multiplier",
		"price_per_gpu_hour_cents",
		"total_cents",
		"hold_cents",
		"fee_cents",
	],
	properties: {
		gpu_model: { type: "string" },
		gpu_count: { type: "integer", minimum: 1 },
		hours: { type: "number", exclusiveMinimum: 0 },
		base_price_per_gpu_hour_cents: cents("The model's base price per GPU-hour."),
		utilisation: { type: "number", minimum: 0, maximum: 1, description: "Reserved / online GPUs of the model." },
		multiplier: { type: "number", minimum: 1, maximum: 2, description: "1 + utilisation, bounded to 1–2." },
		price_per_gpu_hour_cents: cents("ceil(base × multiplier)."),
		total_cents: cents("What the renter pays if the cluster runs its full term."),
		hold_cents: cents("Held from the renter's credits at deployment; the unused part is refunded."),
		fee_cents: cents("The network's fee on the total: total − floor(95 % of total); operators receive the rest."),
	},
};
/**
 * `{"error": {...}}` exactly as workers/http.ts renders a failure: code and message, plus the failure's details beside
 * them (only a cluster deploy has any). Nothing else is ever in it.
 */
const ErrorBody = {
	type: "object",
	additionalProperties: false,
	required: ["error"],
	properties: {
		error: {
			type: "object",
			additionalProperties: false,
			required: ["code", "message"],
			properties: {
				code: { type: "string", enum: Object.keys(ERROR_CODES) },
				message: { type: "string", description: "For people; may change. Match on `code`." },
				quote: {
					...ref("Quote"),
					description:
						"`POST /v1/clusters` only: on 402 (the hold is more than the credits available) and on 422 when the " +
						"price is above `max_price_per_gpu_hour`, the quote the deploy was refused at.",
				},
				available_gpus: {
					type: "integer",
					minimum: 0,
					description: "`POST /v1/clusters` only: on 422 when capacity is short, the idle online GPUs of the model.",
				},
			},
		},
	},
};
/** An error response whose `error` always carries these detail fields (as the `Error` schema describes them). */
const errWith = (description: string, fields: Record<string, object>) => {
	const error = { type: "object", required: Object.keys(fields), properties: fields };
	const schema = { allOf: [ref("Error"), { type: "object", required: ["error"], properties: { error } }] };
	return { description, content: { "application/json": { schema } } };
};
const account = [{ apiKey: [] }];
const nodeToken = [{ nodeToken: [] }];
const staff = [{ admin: [] }, { apiKey: [] }];
const epochParam = { name: "n", in: "path", required: true, schema: { type: "integer", minimum: 1 } };
const E409 = err("Not settled yet, or another conflict (`conflict`).");
const idParam = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^node_" } };

const NodeStatus = { type: "string", enum: ["new", "online", "offline", "maintenance"] };
const NodePublic = {
	type: "object",
	properties: {
		id: { type: "string" },
		name: { type: "string" },
		status: NodeStatus,
		status_since: { type: "string", format: "date-time" },
		last_seen_at: {
			type: ["string", "null"],
			format: "date-time",
			description:
				"Last time the coordinator heard from the node (keepalive, message or heartbeat), measured by its shard.",
		},
		uptime_24h: {
			type: "number",
			description:
				"Share of the last 24 h (or of the node's life, if younger) spent online, from recorded online intervals.",
		},
		region: { type: ["string", "null"] },
		challenges: {
			type: ["object", "null"],
			description:
				"Availability challenges in the open (not yet settled) epoch: issued, passed (right answer in time), " +
				"failed (wrong answer), missed (no answer by the deadline, or the node left).",
			properties: {
				issued: { type: "integer" },
				passed: { type: "integer" },
				failed: { type: "integer" },
				missed: { type: "integer" },
			},
		},
		hardware: {
			type: "object",
			properties: {
				gpu_model: { type: "string" },
				gpu_count: { type: "integer" },
				vram_gb: { type: "number" },
				verified: { type: "boolean" },
			},
		},
		created_at: { type: "string", format: "date-time" },
	},
};
const NodeOwner = {
	allOf: [
		NodePublic,
		{
			type: "object",
			properties: {
				account_id: { type: "string" },
				public_key: { type: "string" },
				shard: { type: "string" },
				maintenance: { type: "boolean" },
			},
		},
	],
};

export const openApiDocument = {
	openapi: "3.1.0",
	info: {
		title: "pulsegrid coordinator",
		version: "1.0.0",
		description:
			'Coordinator of a decentralized GPU network. Errors are always `{"error": {"code", "message"}}`; a ' +
			"refused cluster deploy adds `quote` or `available_gpus` beside them (the `Error` schema). " +
			"Times are ISO-8601 UTC. The node protocol is in docs/PROTOCOL.md.",
	},
	components: {
		securitySchemes: {
			apiKey: { type: "http", scheme: "bearer", description: "The account's API key from POST /v1/accounts." },
			nodeToken: {
				type: "http",
				scheme: "bearer",
				bearerFormat: "JWT",
				description:
					'EdDSA JWT signed by the node\'s own key: sub = node id, aud = "pulsegrid", iat, exp ≤ 5 min ahead, unique jti.',
			},
			admin: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN." },
		},
		schemas: {
			Error: ErrorBody,
			Quote,
			Account: {
				type: "object",
				properties: {
					id: { type: "string" },
					name: { type: "string" },
					role: { type: "string", enum: ["user", "staff"] },
					created_at: { type: "string", format: "date-time" },
				},
			},
			NodePublic,
			NodeOwner,
		},
	},
	paths: {
		"/v1/accounts": {
			post: {
				summary: "Create an account; the API key is shown once and stored hashed",
				requestBody: body(CreateAccount),
				responses: {
					201: ok("Created", { type: "object", properties: { account: ref("Account"), api_key: { type: "string" } } }),
					400: E[400],
					413: E[413],
					415: E[415],
					429: E[429],
				},
			},
		},
		"/v1/me": {
			get: {
				summary: "The caller's account",
				security: account,
				responses: { 200: ok("The account", { type: "object", properties: { account: ref("Account") } }), 401: E[401] },
			},
		},
		"/v1/nodes": {
			post: {
				summary: "Register a node with its Ed25519 public key and hardware claims",
				security: account,
				requestBody: body(CreateNode),
				responses: {
					201: ok("Registered", { type: "object", properties: { node: ref("NodeOwner") } }),
					400: E[400],
					401: E[401],
					409: E[409],
					413: E[413],
				},
			},
			get: {
				summary: "The caller's nodes with status, last_seen_at and uptime_24h",
				security: account,
				responses: {
					200: ok("Nodes", { type: "object", properties: { nodes: { type: "array", items: ref("NodeOwner") } } }),
					401: E[401],
				},
			},
		},
		"/v1/nodes/{id}": {
			parameters: [idParam],
			get: {
				summary: "A node: the owner sees everything, others the public fields",
				security: [{}, ...account],
				responses: {
					200: ok("The node", {
						type: "object",
						properties: { node: { oneOf: [ref("NodeOwner"), ref("NodePublic")] } },
					}),
					401: E[401],
					404: E[404],
				},
			},
			patch: {
				summary: "Rename or toggle maintenance (owner only)",
				security: account,
				requestBody: body(PatchNode),
				responses: {
					200: ok("Updated", { type: "object", properties: { node: ref("NodeOwner") } }),
					400: E[400],
					401: E[401],
					403: E[403],
					404: E[404],
				},
			},
			delete: {
				summary: "Delete a node (owner only); its history is kept",
				security: account,
				responses: { 204: ok("Deleted"), 401: E[401], 403: E[403], 404: E[404] },
			},
		},
		"/v1/nodes/{id}/uptime": {
			parameters: [
				idParam,
				{ name: "from", in: "query", schema: { type: "string", format: "date-time" } },
				{ name: "to", in: "query", schema: { type: "string", format: "date-time" } },
			],
			get: {
				summary: "Online intervals and ratio in [from, to] (default the last 24 h, at most 31 days)",
				responses: {
					200: ok("Uptime", {
						type: "object",
						properties: {
							node_id: { type: "string" },
							from: { type: "string" },
							to: { type: "string" },
							online_seconds: { type: "number" },
							ratio: { type: "number" },
							intervals: {
								type: "array",
								items: {
									type: "object",
									properties: { started_at: { type: "string" }, ended_at: { type: ["string", "null"] } },
								},
							},
						},
					}),
					400: E[400],
					404: E[404],
				},
			},
		},
		"/v1/nodes/{id}/flips": {
			parameters: [idParam, { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500 } }],
			get: {
				summary: "Recorded status flips, newest first",
				responses: {
					200: ok("Flips", {
						type: "object",
						properties: {
							flips: {
								type: "array",
								items: {
									type: "object",
									properties: {
										from: NodeStatus,
										to: NodeStatus,
										at: { type: "string" },
										reason: { type: "string" },
										last_seen_at: { type: ["string", "null"] },
										incident_id: { type: ["string", "null"] },
									},
								},
							},
						},
					}),
					404: E[404],
				},
			},
		},
		"/v1/nodes/{id}/connect": {
			parameters: [idParam],
			get: {
				summary: "WebSocket upgrade for the node agent (docs/PROTOCOL.md)",
				security: nodeToken,
				responses: {
					101: ok("Switching protocols"),
					401: E[401],
					404: E[404],
					426: err("Not a WebSocket upgrade (`upgrade_required`)."),
				},
			},
		},
		"/v1/nodes/{id}/heartbeat": {
			parameters: [idParam],
			post: {
				summary: "HTTP heartbeat fallback for networks that block WebSockets; writes no storage per beat",
				security: nodeToken,
				requestBody: body(Heartbeat),
				responses: {
					200: ok("Status, next interval and maybe a challenge", {
						type: "object",
						properties: {
							status: NodeStatus,
							next_heartbeat_s: { type: "integer" },
							challenge: { type: ["object", "null"] },
							results: { type: "array" },
						},
					}),
					400: E[400],
					401: E[401],
					404: E[404],
				},
			},
		},
		"/v1/links": {
			post: {
				summary:
					"A one-time code (10 minutes, single use) to link a Telegram chat (`/start CODE`, " +
					"or open `telegram_url`) or a Discord user (`/link code:CODE`) to the caller's account",
				security: account,
				responses: {
					201: ok("The code", {
						type: "object",
						properties: {
							code: { type: "string" },
							expires_at: { type: "string", format: "date-time" },
							telegram: { type: "string", description: "What to send the Telegram bot: /start CODE" },
							telegram_url: {
								type: "string",
								format: "uri",
								description: "https://t.me/<TELEGRAM_BOT_USERNAME>?start=CODE: opens the bot and sends /start CODE",
							},
							discord: { type: "string", description: "The Discord command: /link code:CODE" },
						},
					}),
					401: E[401],
				},
			},
		},
		"/v1/stats": {
			get: {
				summary: "Network statistics derived from recorded state",
				responses: {
					200: ok("Statistics", {
						type: "object",
						properties: Object.fromEntries(Object.entries(STAT_DEFINITIONS).map(([k, d]) => [k, { description: d }])),
					}),
				},
			},
		},
		"/v1/incidents": {
			get: {
				summary: "Coordinator incidents (mass drops and restarts we attribute to ourselves), newest first",
				responses: { 200: ok("Incidents") },
			},
		},
		"/v1/nodes/{id}/points": {
			parameters: [
				idParam,
				{
					name: "epoch",
					in: "query",
					schema: { type: "integer", minimum: 1 },
					description: "Default: the newest settled epoch.",
				},
			],
			get: {
				summary:
					"The node's ledger row in an epoch with every input and term, the formula, and staff adjustments. " +
					"Settled rows are public and never change: a deleted node's rows stay readable (and provable), " +
					"with `node_deleted_at` set; a deleted node without a row is unknown (404)",
				responses: { 200: ok("Breakdown"), 400: E[400], 404: E[404], 409: E409 },
			},
		},
		"/v1/points": {
			get: {
				summary: "The caller's points and rewards per settled epoch (newest 48) and lifetime",
				security: account,
				responses: { 200: ok("Summary"), 401: E[401] },
			},
		},
		"/v1/leaderboard": {
			parameters: [
				{ name: "epoch", in: "query", schema: { type: "integer" } },
				{ name: "window", in: "query", schema: { type: "string", enum: ["7d"] } },
			],
			get: {
				summary:
					"Top 100 accounts by points (with adjustments) and rewards in one settled epoch " +
					"(default the newest), or with `window=7d` over every settled epoch that ended " +
					"less than 7 days before the newest settled one ended (`from_epoch`..`to_epoch`)",
				responses: { 200: ok("Leaders"), 400: E[400], 404: E[404], 409: E409 },
			},
		},
		"/v1/epochs/{n}": {
			parameters: [epochParam],
			get: {
				summary:
					"An epoch: status (open, closing, settled), window, " +
					"Merkle root, node count, total points, emission (micro-tokens)",
				responses: { 200: ok("Epoch"), 400: E[400], 404: E[404] },
			},
		},
		"/v1/epochs/{n}/proof/{node_id}": {
			parameters: [epochParam, { name: "node_id", in: "path", required: true, schema: { type: "string" } }],
			get: {
				summary:
					"A node's ledger row (the leaf) and its Merkle inclusion proof against the epoch root; " +
					"a node deleted since keeps its rows and proofs",
				responses: {
					200: ok("Leaf and proof", {
						type: "object",
						properties: {
							epoch: { type: "integer" },
							root: { type: "string" },
							index: { type: "integer" },
							leaf: { type: "object", description: `Fields, hashed in this order: ${LEAF_FIELDS.join(", ")}` },
							leaf_hash: { type: "string" },
							proof: {
								type: "array",
								items: { type: "object", properties: { side: { enum: ["left", "right"] }, hash: { type: "string" } } },
							},
						},
					}),
					404: E[404],
					409: E409,
				},
			},
		},
		"/v1/admin/epochs/settle": {
			post: {
				summary: "Ends the open epoch now and settles it (idempotent per epoch); audited",
				security: [{ admin: [] }],
				responses: {
					200: ok("Settled", { type: "object", properties: { epoch: { type: "integer" }, root: { type: "string" } } }),
					401: E[401],
					403: E[403],
					409: E409,
				},
			},
		},
		"/v1/admin/adjustments": {
			post: {
				summary:
					"A staff adjustment of a node's points in a settled epoch: " +
					"a new row with a reason and an author, never an edit; audited",
				security: staff,
				requestBody: body(Adjustment),
				responses: { 201: ok("Adjustment"), 400: E[400], 401: E[401], 403: E[403], 404: E[404], 409: E409 },
			},
		},
		"/v1/admin/flags": {
			post: {
				summary: "Flag a node: cuts its points by `share` while active, shown publicly with the reason; audited",
				security: staff,
				requestBody: body(NewFlag),
				responses: { 201: ok("Flag"), 400: E[400], 401: E[401], 403: E[403], 404: E[404] },
			},
		},
		"/v1/admin/flags/{id}": {
			parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
			delete: {
				summary: "Clear a flag; audited",
				security: staff,
				responses: { 200: ok("Cleared"), 401: E[401], 403: E[403], 404: E[404] },
			},
		},
		"/v1/admin/audit": {
			get: {
				summary: "The newest 200 audit entries",
				security: staff,
				responses: { 200: ok("Entries"), 401: E[401], 403: E[403] },
			},
		},
		"/v1/admin/accounts/{id}/role": {
			parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
			put: {
				summary: "Make an account staff (or user again); audited",
				security: [{ admin: [] }],
				requestBody: body(RoleChange),
				responses: { 200: ok("Role"), 400: E[400], 401: E[401], 403: E[403], 404: E[404] },
			},
		},
		"/v1/prices": {
			get: {
				summary:
					"Price per GPU-hour of every model now: base × (1 + utilisation), " +
					"between 1× and 2× the base; online and reserved GPUs",
				responses: { 200: ok("Prices") },
			},
		},
		"/v1/quotes": {
			post: {
				summary: "Price, hold and network fee (5 %) for a cluster, at the current utilisation",
				requestBody: body(QuoteRequest),
				responses: { 200: ok("Quote"), 400: E[400] },
			},
		},
		"/v1/clusters": {
			post: {
				summary:
					"Deploy a cluster: reserves whole idle online nodes (reliability first, then locality, then price), " +
					"holds the credits, tells every agent. An optional `Idempotency-Key` header " +
					"makes retries return the same cluster (409 if reused with another body).",
				security: account,
				parameters: [{ name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 64 } }],
				requestBody: body(CreateCluster),
				responses: {
					201: ok("Created"),
					200: ok("Replayed: the cluster created earlier with this key"),
					400: E[400],
					401: E[401],
					402: errWith("Not enough credits for the hold (`payment_required`), with the `quote`.", {
						quote: ref("Quote"),
					}),
					409: E409,
					422: err(
						"`unprocessable`: not enough idle capacity (with `available_gpus`), " +
							"or the price is above `max_price_per_gpu_hour` (with the `quote`).",
					),
				},
			},
			get: {
				summary: "The caller's clusters, newest first",
				security: account,
				responses: { 200: ok("Clusters"), 401: E[401] },
			},
		},
		"/v1/clusters/{id}": {
			parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: "^clu_" } }],
			get: {
				summary:
					"A cluster with its nodes, money and event list: pending → " +
					"running (→ degraded) → completed | terminated | failed",
				security: account,
				responses: { 200: ok("Cluster"), 401: E[401], 403: E[403], 404: E[404] },
			},
			delete: {
				summary: "Terminate: release the nodes, charge what was delivered, refund the unused hold",
				security: account,
				responses: { 200: ok("Cluster"), 401: E[401], 403: E[403], 404: E[404] },
			},
		},
		"/v1/billing": {
			get: {
				summary:
					"The caller's balances (available, held) in cents and ledger entries (grant, hold, charge, refund, payout), " +
					"and `fees`: the network fee of every billing step the caller was charged or paid in (charge = payouts " +
					"to operators + fee), with totals as renter and as operator",
				security: account,
				responses: { 200: ok("Billing"), 401: E[401] },
			},
		},
		"/v1/admin/credits": {
			post: {
				summary:
					"Grant credits (payment rails are outside this project); " +
					"an optional Idempotency-Key makes the grant happen once (the same key with a different body: 409); audited",
				security: [{ admin: [] }],
				requestBody: body(CreditGrant),
				responses: { 201: ok("The ledger entry"), 400: E[400], 401: E[401], 403: E[403], 404: E[404], 409: E[409] },
			},
		},
		"/v1/admin/liveness": {
			get: {
				summary:
					"Billable-operation counters summed over every shard (alarms, sockets swept, " +
					"messages, connects, heartbeats, rows written); the benchmark's cost model reads it",
				security: [{ admin: [] }],
				responses: { 200: ok("Counters"), 401: E[401], 403: E[403] },
			},
		},
		...ticketPaths({ ok, err, body, E }),
		"/openapi.json": { get: { summary: "This document", responses: { 200: ok("OpenAPI 3.1") } } },
		...ALERT_PATHS,
	},
};

export function getOpenApi(_request: IRequest): Response {
	return json(openApiDocument);
}
