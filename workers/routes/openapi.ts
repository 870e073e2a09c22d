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
import { ALERT_PATHS } from "./openapi-alerts.ts";
import { BreakdownSchema, LeafSchema } from "./openapi-points.ts";
import { BandwidthSchema, bandwidthPaths } from "./openapi-bandwidth.ts";
import { GpuUuidsHeader, verificationPaths } from "./openapi-verification.ts";
import { STAT_DEFINITIONS } from "./stats.ts";
import { ticketPaths } from "./openapi-tickets.ts";
import { ROTATION_STATEMENT_SCHEME, keyPaths } from "./openapi-keys.ts";

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
	400: err(
		"Malformed JSON, wrong types or unknown fields (`invalid_json`, `validation_failed`); text with a control, bidi " +
			"override or isolate character or a lone surrogate; a path whose percent-encoding is malformed.",
	),
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
/** `Quote` in workers/domain/pricing.ts, as a deploy failure carries it (`POST /v1/quotes` adds one field). */
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
		utilisation: {
			type: "number",
			minimum: 0,
			maximum: 1,
			description:
				"Reserved / online GPUs of the model before this order (1 when none are online); only WebSocket-connected " +
				"nodes count as online.",
		},
		multiplier: { type: "number", minimum: 1, maximum: 2, description: "1 + utilisation, bounded to 1–2." },
		price_per_gpu_hour_cents: cents(
			"ceil(base × (1 + reserved / online)) at the model's usage before this order: " +
				"the price `/v1/prices` shows at that moment.",
		),
		total_cents: cents(
			"What billing charges if the cluster runs its full term: " +
				"floor(price × GPUs × term in ms / 3,600,000); also the hold.",
		),
		hold_cents: cents("Held from the renter's credits at deployment; the unused part is refunded."),
		fee_cents: cents(
			"The network's fee on `total_cents`: total − floor(95 % of total) (operators share floor(95 %)), " +
				"so at least 5 %; exactly the fees billing takes over the full term.",
		),
	},
};
/** `ChallengeResult` in workers/domain/challenge.ts: what an agent is told of a challenge, over either transport. */
const ChallengeResult = {
	type: "object",
	additionalProperties: false,
	required: ["id", "passed", "outcome", "epoch"],
	description:
		"Recorded before it is told: what an agent is told is what the ledger settles. A result is told once; a node " +
		"that leaves (bye, silence) first is told nothing, though the outcome (a pending challenge: `missed`) is counted.",
	properties: {
		id: { type: "string", description: "The challenge's id." },
		passed: { type: "boolean", description: "`outcome` is `passed`." },
		outcome: {
			type: "string",
			enum: ["passed", "failed", "missed"],
			description:
				"`passed`: the right answer by the deadline; `failed`: a wrong or late answer; " +
				"`missed`: no answer by the deadline.",
		},
		epoch: { type: "integer", minimum: 1, description: "The ledger epoch whose row counts it." },
	},
};
/** An entry of the credit ledger, as `entryView` in workers/services/credits.ts shows it. */
const CreditEntry = {
	type: "object",
	additionalProperties: false,
	required: ["id", "kind", "available_delta_cents", "held_delta_cents", "cluster_id", "node_id", "memo", "created_at"],
	properties: {
		id: { type: "integer" },
		kind: { type: "string", enum: ["grant", "hold", "charge", "refund", "payout", "fee"] },
		available_delta_cents: { type: "integer", description: "Signed change of the available balance." },
		held_delta_cents: { type: "integer", description: "Signed change of the held balance." },
		cluster_id: { type: ["string", "null"] },
		node_id: { type: ["string", "null"] },
		memo: { type: ["string", "null"] },
		created_at: { type: "string", format: "date-time" },
	},
};
const int = (description: string) => ({ type: "integer", description });
/** `fees` of `GET /v1/billing`: workers/services/fees.ts. */
const BillingFees = {
	type: "object",
	additionalProperties: false,
	required: ["rule", "as_renter", "as_operator", "steps"],
	description:
		"The network fee, which sits on the network's account and so is in none of the caller's `entries`: every " +
		"billing step the caller was charged or paid in (newest 200), and totals over all of them.",
	properties: {
		rule: { type: "string", description: "The rule in words: charge = payouts to operators + fee." },
		as_renter: {
			type: "object",
			additionalProperties: false,
			required: ["charges_cents", "payouts_cents", "fees_cents"],
			description: "Over every step that charged the caller: charges = payouts + fees.",
			properties: {
				charges_cents: cents("What the caller was charged."),
				payouts_cents: cents("What those charges paid operators."),
				fees_cents: cents("What those charges paid the network."),
			},
		},
		as_operator: {
			type: "object",
			additionalProperties: false,
			required: ["payouts_cents", "fees_cents"],
			description: "Over every step that paid the caller's nodes.",
			properties: {
				payouts_cents: cents("What the caller's nodes were paid."),
				fees_cents: cents("The network's fees on those steps' charges."),
			},
		},
		steps: {
			type: "array",
			description: "Newest first.",
			items: {
				type: "object",
				additionalProperties: false,
				required: [
					"kind",
					"cluster_id",
					"step",
					"charge_cents",
					"payouts_cents",
					"fee_cents",
					"paid_by_you_cents",
					"paid_to_you_cents",
					"created_at",
				],
				properties: {
					kind: { type: "string", enum: ["fee"] },
					cluster_id: { type: "string" },
					step: int("The billing step's number within the cluster."),
					charge_cents: cents("The step's charge to the renter."),
					payouts_cents: cents("What the step paid all operators: floor(95 %) of the charge."),
					fee_cents: cents("What the network kept: charge − payouts."),
					paid_by_you_cents: cents("The charge, if the caller is the renter; else 0."),
					paid_to_you_cents: cents("The payouts to the caller's nodes in this step."),
					created_at: { type: "string", format: "date-time" },
				},
			},
		},
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
				blocked: {
					type: "object",
					required: ["epoch", "violations"],
					additionalProperties: false,
					properties: { epoch: { type: "integer" }, violations: { type: "array", items: { type: "string" } } },
					description:
						"`POST /v1/admin/epochs/settle` only: on 409 when the epoch breaks an invariant and was not " +
						"published (docs/POINTS.md), the epoch and the rules it breaks.",
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
const grantBody = {
	type: "object",
	additionalProperties: false,
	required: ["entry"],
	properties: { entry: ref("CreditEntry") },
};
const idParam = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^node_" } };

const NodeStatus = { type: "string", enum: ["new", "online", "offline", "maintenance"] };
/** A staff adjustment as anyone reads it (the node's page, its breakdown, the staff routes). */
const AdjustmentView = {
	type: "object",
	required: ["id", "epoch", "node_id", "points", "reason", "author", "status", "needs_approval"],
	properties: {
		id: { type: "string" },
		epoch: { type: "integer" },
		node_id: { type: "string" },
		points: { type: "integer", description: "Signed: added to the node's points in that epoch once applied." },
		reason: { type: "string" },
		author: { type: "string", description: "`admin` or the staff account's id." },
		created_at: { type: "string", format: "date-time" },
		status: {
			enum: ["applied", "pending"],
			description: "`pending` counts nowhere until a second staff member approves it (docs/POINTS.md).",
		},
		needs_approval: { type: ["string", "null"], description: "Why it needs a second staff member; null: it did not." },
		approved_by: { type: ["string", "null"] },
		approved_at: { type: ["string", "null"], format: "date-time" },
	},
	additionalProperties: false,
};
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
				"Always a moment the coordinator heard the node (keepalive, message, beat or connect), measured by its " +
				"shard: the latest while the node holds a connection, else the last one its flips recorded.",
		},
		uptime_24h: {
			type: "number",
			minimum: 0,
			maximum: 1,
			description:
				"`ratio` of `GET /v1/nodes/{id}/uptime` over the last 24 h: (online + incident seconds) ÷ the part of " +
				"the last 24 h after the node's registration, 4 decimals. Offline time inside coordinator incidents " +
				"counts as online.",
		},
		region: { type: ["string", "null"] },
		challenges: {
			type: ["object", "null"],
			description:
				"Availability challenges of the open (not yet settled) epoch, as its ledger row will count them: passed " +
				"(right answer in time), failed (wrong or late answer), missed (no answer by the deadline, or the node " +
				"left). A challenge is counted when its outcome is recorded, so issued = passed + failed + missed always " +
				"(a pending challenge is in none). null when the node's shard did not answer.",
			required: ["issued", "passed", "failed", "missed"],
			properties: {
				issued: { type: "integer", minimum: 0 },
				passed: { type: "integer", minimum: 0 },
				failed: { type: "integer", minimum: 0 },
				missed: { type: "integer", minimum: 0 },
			},
		},
		hardware: {
			type: "object",
			properties: {
				gpu_model: { type: "string" },
				gpu_count: { type: "integer" },
				vram_gb: { type: "number" },
				verified: { type: "boolean", description: "True when `verification.state` is `verified`." },
				verification: {
					description:
						"Hardware verification of the current claim (docs/VERIFICATION.md); a record of another claim " +
						"(model or GPU count) does not count: the node is unverified again.",
					oneOf: [
						{
							type: "object",
							required: ["state"],
							properties: {
								state: { const: "unverified" },
								failures: {
									type: "integer",
									description: "1 when the one attempt so far came late: retried before it counts as failed.",
								},
							},
							additionalProperties: false,
						},
						{
							type: "object",
							required: ["state", "tier", "measured_ms", "verified_at", "method", "failures"],
							properties: {
								state: { const: "verified" },
								tier: { type: "string" },
								measured_ms: { type: "integer", description: "The challenge time the coordinator measured." },
								verified_at: { type: "string", format: "date-time" },
								method: { type: "string", example: "matmul-freivalds-v1" },
								failures: {
									type: "integer",
									minimum: 0,
									description: "Failed attempts since (0 or 1): the second in a row fails the node (§14).",
								},
							},
							additionalProperties: false,
						},
						{
							type: "object",
							required: ["state", "reason", "failed_at"],
							properties: {
								state: { const: "failed" },
								reason: {
									enum: ["wrong_answer", "late", "claim_mismatch", "shared_hardware", "duplicate_identity"],
								},
								evidence: { description: "Owner's view only: the attempts (times, rows, checks, the group)." },
								failed_at: { type: "string", format: "date-time" },
							},
							additionalProperties: false,
						},
					],
				},
				bandwidth: BandwidthSchema,
			},
		},
		flags: {
			type: "array",
			description:
				"Active flags (set by staff, or by the coordinator for `shared_hardware` and `duplicate_identity`), public " +
				"with their reason; each cuts the node's points by `share`. The owner's view adds each flag's `evidence` " +
				"and `appeal_ticket_id` (appeal with POST /v1/tickets and `flag_id`).",
			items: {
				type: "object",
				properties: {
					id: { type: "string" },
					code: { type: "string" },
					reason: { type: "string" },
					share: { type: "number" },
					created_at: { type: ["string", "null"], format: "date-time" },
					evidence: { description: "Owner's view only: what the flag rests on (JSON), or null." },
					appeal_ticket_id: { type: ["string", "null"], description: "Owner's view only: the latest appeal." },
				},
			},
		},
		created_at: { type: "string", format: "date-time" },
		adjustments: {
			type: "array",
			description:
				"GET /v1/nodes/{id} only: the node's newest 50 staff adjustments, newest first, public with their reason " +
				"and author, pending ones too.",
			items: AdjustmentView,
		},
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
			"Times are ISO-8601 UTC. The node protocol is in docs/PROTOCOL.md. Every text field a person types refuses " +
			"control characters (multi-line bodies keep newline and tab; CRLF becomes LF), bidi embedding, override and " +
			"isolate controls (U+202A–U+202E, U+2066–U+2069), U+2028/U+2029 and lone surrogates with a 400 " +
			"`validation_failed` whose message starts with the field; what is accepted is stored and shown back exactly. " +
			"Path parameters are percent-decoded once; malformed percent-encoding is a 400.",
	},
	components: {
		securitySchemes: {
			apiKey: {
				type: "http",
				scheme: "bearer",
				description:
					"An API key of the account (POST /v1/accounts, POST /v1/me/keys); each operation needs a scope " +
					"(read < operate < rent < admin; README, API keys and scopes).",
			},
			nodeToken: {
				type: "http",
				scheme: "bearer",
				bearerFormat: "JWT",
				description:
					'EdDSA JWT signed by the node\'s own key: sub = node id, aud = "pulsegrid", iat (at most 30 s in the future), ' +
					"exp ≤ 5 min ahead, unique jti.",
			},
			admin: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN." },
			rotationStatement: ROTATION_STATEMENT_SCHEME,
		},
		schemas: {
			Error: ErrorBody,
			Quote,
			ChallengeResult,
			CreditEntry,
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
				summary: "The caller's account, and the key the request was made with (its name and scope)",
				security: account,
				responses: {
					200: ok("The account and the key", {
						type: "object",
						properties: { account: ref("Account"), key: { type: "object", description: "As in GET /v1/me/keys." } },
					}),
					401: E[401],
				},
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
				description:
					"Public: a credential other than a valid API key (a node token, the admin token, a wrong key) is ignored " +
					"and the public view served, never a 401; wrong API keys still count against the address (429 past 30 a " +
					"minute).",
				security: [{}, ...account],
				responses: {
					200: ok("The node", {
						type: "object",
						properties: {
							node: {
								anyOf: [ref("NodeOwner"), ref("NodePublic")],
								description: "`NodeOwner` for the owner, `NodePublic` for everyone else.",
							},
						},
					}),
					400: E[400],
					404: E[404],
					429: E[429],
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
				summary:
					"Credited uptime in [from, to] (default the last 24 h, at most 31 days): online seconds plus offline " +
					"seconds inside coordinator incidents, over the part of the window after the node's registration and " +
					"before now; and the online intervals. The one uptime definition: `uptime_24h` is this over the last 24 h",
				responses: {
					200: ok("Uptime", {
						type: "object",
						additionalProperties: false,
						required: [
							"node_id",
							"from",
							"to",
							"measured_from",
							"measured_to",
							"online_seconds",
							"incident_seconds",
							"ratio",
							"intervals",
						],
						properties: {
							node_id: { type: "string" },
							from: { type: "string", format: "date-time", description: "The window asked for." },
							to: { type: "string", format: "date-time", description: "The window asked for (default now)." },
							measured_from: {
								type: "string",
								format: "date-time",
								description: "The later of `from` and the node's registration.",
							},
							measured_to: {
								type: "string",
								format: "date-time",
								description:
									"The earlier of `to` and now; `measured_from` when nothing of the window is measurable " +
									"(it ended before the node was registered).",
							},
							online_seconds: {
								type: "number",
								minimum: 0,
								description: "Seconds online in [measured_from, measured_to], to the millisecond.",
							},
							incident_seconds: {
								type: "number",
								minimum: 0,
								description:
									"Seconds offline inside coordinator incidents, credited as online (as the ledger credits " +
									"them): after an interval an incident ended, the gap until the node came back, at most until " +
									"15 minutes after the incident ended; to the millisecond.",
							},
							ratio: {
								type: "number",
								minimum: 0,
								maximum: 1,
								description:
									"(online_seconds + incident_seconds) ÷ (measured_to − measured_from), 4 decimals; 0 when " +
									"that span is empty.",
							},
							intervals: {
								type: "array",
								description: "Online intervals clipped to the window and merged, oldest first.",
								items: {
									type: "object",
									additionalProperties: false,
									required: ["started_at", "ended_at"],
									properties: {
										started_at: { type: "string", format: "date-time" },
										ended_at: {
											type: ["string", "null"],
											format: "date-time",
											description: "null while the node is still online and the window reaches now.",
										},
									},
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
										last_seen_at: {
											type: ["string", "null"],
											description: "The last moment the node was heard before the flip, if known.",
										},
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
			parameters: [idParam, GpuUuidsHeader],
			get: {
				summary: "WebSocket upgrade for the node agent (docs/PROTOCOL.md)",
				security: nodeToken,
				responses: {
					101: ok("Switching protocols"),
					400: err("A malformed `x-pulsegrid-gpu-uuids` (`validation_failed`)."),
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
					200: ok("Status, next interval, maybe a challenge, and challenge results", {
						type: "object",
						additionalProperties: false,
						required: ["status", "next_heartbeat_s", "challenge", "results"],
						properties: {
							status: NodeStatus,
							next_heartbeat_s: { type: "integer", minimum: 1 },
							challenge: {
								type: ["object", "null"],
								description:
									"A challenge to answer in the `answers` of a later beat by `deadline` (which allows one beat more).",
								additionalProperties: false,
								required: ["id", "kind", "nonce", "deadline"],
								properties: {
									id: { type: "string" },
									kind: { type: "string" },
									nonce: { type: "string" },
									deadline: { type: "string", format: "date-time" },
								},
							},
							results: {
								type: "array",
								description:
									"Results recorded before this reply was sent: the outcome of an answer in this beat, and any " +
									"miss a sweep found since the last beat. None in the reply to a `bye`.",
								items: ref("ChallengeResult"),
							},
						},
					}),
					400: E[400],
					401: E[401],
					404: E[404],
				},
			},
		},
		...bandwidthPaths({ ok, err, body, E }),
		...verificationPaths({ ok, E }),
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
				responses: { 200: ok("Breakdown", BreakdownSchema), 400: E[400], 404: E[404], 409: E409 },
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
							leaf: LeafSchema,
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
					200: ok("Settled: the newest epoch settled, and every epoch this call settled, oldest first", {
						type: "object",
						properties: {
							epoch: { type: "integer" },
							root: { type: "string" },
							settled: {
								type: "array",
								items: { type: "object", properties: { epoch: { type: "integer" }, root: { type: "string" } } },
							},
						},
					}),
					401: E[401],
					403: E[403],
					409: err(
						"Nothing was settled (`conflict`): another settlement is running, or an epoch's figures break an " +
							"invariant (it is not published, staff are alerted, and it is recomputed on the next call).",
					),
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
				responses: {
					201: ok(
						"The adjustment: `applied`, or `pending` (the author owns the node, or more than 25,000 points either " +
							"way) until a second staff member approves it",
						{ type: "object", properties: { adjustment: AdjustmentView }, required: ["adjustment"] },
					),
					400: E[400],
					401: E[401],
					403: E[403],
					404: E[404],
					409: E409,
				},
			},
		},
		"/v1/admin/adjustments/{id}/approve": {
			parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
			post: {
				summary:
					"A second staff member approves a pending adjustment: from now it counts; audited (`points.approve`). " +
					"403 for its author or the node's owner, 409 when there is nothing to approve",
				security: staff,
				responses: {
					200: ok("The adjustment, applied", {
						type: "object",
						properties: { adjustment: AdjustmentView },
						required: ["adjustment"],
					}),
					401: E[401],
					403: E[403],
					404: E[404],
					409: E409,
				},
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
					"Price per GPU-hour of every model now: ceil(base × (1 + reserved / online)), " +
					"between 1× and 2× the base; online and reserved GPUs",
				responses: {
					200: ok("Prices", {
						type: "object",
						additionalProperties: false,
						required: ["currency", "prices", "rule"],
						properties: {
							currency: { type: "string", enum: ["USD"] },
							rule: { type: "string" },
							prices: {
								type: "array",
								items: {
									type: "object",
									additionalProperties: false,
									required: [
										"gpu_model",
										"base_price_per_gpu_hour_cents",
										"online_gpus",
										"reserved_gpus",
										"multiplier",
										"price_per_gpu_hour_cents",
									],
									properties: {
										gpu_model: { type: "string" },
										base_price_per_gpu_hour_cents: cents("The model's base price per GPU-hour."),
										online_gpus: int(
											"GPUs of online nodes connected over WebSocket. HTTP-heartbeat nodes cannot be told of work, " +
												"so they are never rented or counted as capacity.",
										),
										reserved_gpus: int("GPUs reserved by running clusters."),
										multiplier: { type: "number", minimum: 1, maximum: 2 },
										price_per_gpu_hour_cents: cents(
											"ceil(base × (1 + reserved / online)); 2 × base when none are online. A quote or a " +
												"deploy at this moment pays this.",
										),
									},
								},
							},
						},
					}),
				},
			},
		},
		"/v1/quotes": {
			post: {
				summary:
					"Price, total (also the hold) and network fee for a cluster, at the model's usage now (before this " +
					"order): what a deploy now would pay, and what billing charges over the full term",
				requestBody: body(QuoteRequest),
				responses: {
					200: ok("Quote", {
						type: "object",
						additionalProperties: false,
						required: ["quote"],
						properties: {
							quote: {
								...Quote,
								required: [...Quote.required, "available_gpus"],
								properties: {
									...Quote.properties,
									available_gpus: int("Idle GPUs of the model: online (WebSocket-connected) minus reserved."),
								},
							},
						},
					}),
					400: E[400],
				},
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
						"`unprocessable`: no set of idle nodes adds up to the GPUs asked for (the message says why; with " +
							"`available_gpus`), " +
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
				responses: {
					200: ok("Billing", {
						type: "object",
						additionalProperties: false,
						required: ["account_id", "currency", "available_cents", "held_cents", "entries", "fees"],
						properties: {
							account_id: { type: "string" },
							currency: { type: "string", enum: ["USD"] },
							available_cents: int("The sum of the account's entries' `available_delta_cents`."),
							held_cents: int("The sum of the account's entries' `held_delta_cents`."),
							entries: { type: "array", description: "Newest 200, newest first.", items: ref("CreditEntry") },
							fees: BillingFees,
						},
					}),
					401: E[401],
				},
			},
		},
		"/v1/admin/credits": {
			post: {
				summary:
					"Grant credits (payment rails are outside this project). An optional Idempotency-Key makes the grant " +
					"happen once: 201 when made, 200 with the same entry on a replay, 409 for the same key with a different " +
					"body; audited once",
				security: [{ admin: [] }],
				parameters: [{ name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 64 } }],
				requestBody: body(CreditGrant),
				responses: {
					201: ok("The ledger entry", grantBody),
					200: ok("The same ledger entry: a replay of a grant already made with this Idempotency-Key", grantBody),
					400: E[400],
					401: E[401],
					403: E[403],
					404: E[404],
					409: err("This Idempotency-Key was used for a different grant (`conflict`)."),
				},
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
		...keyPaths({ ok, err, body, E }),
		"/openapi.json": { get: { summary: "This document", responses: { 200: ok("OpenAPI 3.1") } } },
		...ALERT_PATHS,
	},
};

export function getOpenApi(_request: IRequest): Response {
	return json(openApiDocument);
}
