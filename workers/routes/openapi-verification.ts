// The OpenAPI paths of the co-scheduled verification rounds (staff) and the connect route's GPU UUID header (merged
// into /openapi.json; docs/VERIFICATION.md §13–§14).
import { MAX_GPU_UUIDS } from "../domain/identity.ts";
import { DECOY_SHARE, MAX_GROUP, MAX_GROUPS, MIN_DECOYS } from "../domain/rounds.ts";

interface Helpers {
	ok(description: string, schema?: object): object;
	E: Record<400 | 401 | 403 | 404, object>;
}

const staff = [{ admin: [] }, { apiKey: [] }];
const ids = { type: "array", items: { type: "string" } };
const Group = {
	type: "object",
	additionalProperties: false,
	required: ["key", "node_ids"],
	properties: {
		key: {
			type: "string",
			description: "`net:<IPv4 /24 | IPv6 /64>`, `uuid:<GPU UUID>` or `reg:<account>:<10-minute window>`",
		},
		node_ids: ids,
	},
};

/** The `x-pulsegrid-gpu-uuids` header of `GET /v1/nodes/{id}/connect`. */
export const GpuUuidsHeader = {
	name: "x-pulsegrid-gpu-uuids",
	in: "header",
	required: false,
	description:
		`This machine's NVIDIA GPU UUIDs as nvidia-smi prints them, comma-separated (at most ${MAX_GPU_UUIDS}, distinct). ` +
		"One UUID on two nodes flags both `duplicate_identity`; fewer UUIDs than the claimed GPUs fails the claim " +
		"(`claim_mismatch`). A malformed list is refused with 400.",
	schema: { type: "string" },
};

export function verificationPaths({ ok, E }: Helpers) {
	return {
		"/v1/admin/verify-rounds": {
			post: {
				summary:
					"Start a co-scheduled verification round now: every suspect group (same network, same GPU UUID, " +
					`registered together; at most ${MAX_GROUPS} groups of ${MAX_GROUP}) and random decoys ` +
					`(${DECOY_SHARE * 100} % of the suspects, at least ${MIN_DECOYS}) challenged at the same moment; audited. ` +
					"No body.",
				security: staff,
				responses: {
					200: ok("The round started, or `round_id: null` with a `reason` when no two online nodes are suspects", {
						type: "object",
						properties: {
							round_id: { type: ["string", "null"] },
							reason: { type: "string" },
							at: { type: "string", format: "date-time" },
							groups: { type: "array", items: Group },
							decoys: ids,
							nodes: { type: "integer", description: "Members challenged" },
							not_started: { ...ids, description: "Members not connected by WebSocket or already verifying" },
						},
					}),
					400: E[400],
					401: E[401],
					403: E[403],
				},
			},
		},
		"/v1/admin/verify-rounds/{id}": {
			parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
			get: {
				summary: "A round: its plan, and each member's outcome and verdict",
				security: staff,
				responses: {
					200: ok("The round", {
						type: "object",
						required: ["round_id", "at", "judged_at", "groups", "decoys", "members"],
						properties: {
							round_id: { type: "string" },
							at: { type: "string", format: "date-time" },
							judged_at: { type: ["string", "null"], format: "date-time" },
							groups: { type: "array", items: Group },
							decoys: ids,
							members: {
								type: "array",
								items: {
									type: "object",
									additionalProperties: false,
									required: ["node_id", "groups", "outcome", "measured_ms", "verdict"],
									properties: {
										node_id: { type: "string" },
										groups: { type: "array", items: { type: "string" } },
										outcome: { type: ["string", "null"], enum: ["passed", "late", "wrong_answer", "void", null] },
										measured_ms: { type: ["integer", "null"] },
										verdict: {
											type: ["string", "null"],
											enum: ["passed", "shared", "late", "wrong_answer", "void", null],
										},
									},
								},
							},
						},
					}),
					401: E[401],
					403: E[403],
					404: E[404],
				},
			},
		},
	};
}
