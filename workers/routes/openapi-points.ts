// The OpenAPI schemas of a ledger row: the breakdown of GET /v1/nodes/{id}/points (`breakdown` in
// workers/services/points.ts) and the leaf of a proof, in both leaf encodings (docs/POINTS.md).
import { TIER_FACTOR_BP } from "../domain/bandwidth.ts";
import { LEAF_FIELDS, LEAF_FIELDS_V1, LEAF_FIELDS_V2 } from "../domain/merkle.ts";
import { BP, LOWEST_TIER } from "../domain/points.ts";

const int = (description: string) => ({ type: "integer", minimum: 0, description });
const num = (description: string) => ({ type: "number", minimum: 0, description });
const bandwidthTiers = Object.keys(TIER_FACTOR_BP);

/** A proof's `leaf`: the row's hashed fields, in the order of its encoding. */
export const LeafSchema = {
	type: "object",
	description:
		`The row's hashed fields. Encoding 3 (\`leaf_version\`: 3, every row settled since migration 0014), hashed ` +
		`in this order: ${LEAF_FIELDS.join(", ")}. Encoding 2 (\`leaf_version\`: 2, rows settled from 0012 to 0014): ` +
		`${LEAF_FIELDS_V2.join(", ")}. Encoding 1 (older rows: no \`leaf_version\`): ` +
		`${LEAF_FIELDS_V1.join(", ")}. docs/POINTS.md "Checking your row".`,
};

export const BreakdownSchema = {
	type: "object",
	required: ["epoch", "node_id", "leaf_version", "inputs", "terms", "points", "reward", "formula", "leaf", "leaf_hash"],
	properties: {
		epoch: { type: "integer" },
		node_id: { type: "string" },
		node_deleted_at: { type: ["string", "null"], format: "date-time" },
		leaf_version: {
			enum: [1, 2, 3],
			description:
				"The row's leaf encoding: 3 since migration 0014; 2 rows (since 0012) counted every rented second; 1 rows " +
				"predate probation, allowance, bandwidth.",
		},
		inputs: {
			type: "object",
			properties: {
				gpu_model: { type: "string" },
				gpu_count: { type: "integer" },
				tier: { type: "string", description: "The claimed model's tier." },
				tier_weight: num("The claimed tier's weight (1.0 = an RTX 4090)."),
				verified: { type: "boolean", description: "The node's verification held for its claim at settlement." },
				probation: {
					type: "boolean",
					description: "The epoch began less than PROBATION_S (default 24 h) after the node registered.",
				},
				address_share_bp: int(
					"What the node's address allowance left of its availability, basis points (10000 = all): " +
						"floor(allowance × 10000 / GPUs credited behind the address) when they exceed the allowance.",
				),
				bandwidth_tier: { enum: [...bandwidthTiers, null], description: "Null on encoding-1 rows." },
				bandwidth_factor_bp: int(
					`The bandwidth tier's factor on availability, basis points: ${bandwidthTiers
						.map((t) => `${t} ${TIER_FACTOR_BP[t as keyof typeof TIER_FACTOR_BP]}`)
						.join(", ")}.`,
				),
				online_seconds: { type: "integer" },
				incident_seconds: { type: "integer" },
				rented_gpu_seconds: int("GPU-seconds rented out while online, whoever rented them."),
				self_rented_gpu_seconds: int(
					"Of those, rented by the operator's own account or a renter tied to it (the same Discord user or " +
						"Telegram chat linked to both, or a node of the renter's behind this node's address): they earn no " +
						"points. 0 on rows before encoding 3.",
				),
				unpaid_gpu_seconds: int(
					"Of those, rented by independent renters but not covered by whole cents paid: per rental, the " +
						"GPU-seconds beyond floor(floor(seconds × price / 3600) × 3600 / price). 0 on rows before encoding 3.",
				),
				challenges: {
					type: "object",
					properties: {
						issued: { type: "integer" },
						passed: { type: "integer" },
						failed: { type: "integer" },
						missed: { type: "integer" },
					},
				},
			},
		},
		terms: {
			type: "object",
			properties: {
				credited_gpus: int("GPUs availability is paid for: gpu_count once verified, else 1."),
				effective_weight: num(
					`The weight applied: the tier's once verified, else the lowest tier's (${LOWEST_TIER.weight_bp / BP}).`,
				),
				pass_ratio: num("passed / (passed + failed + missed), 1 when none resolved."),
				address_share: num("address_share_bp / 10000."),
				bandwidth_factor: num("bandwidth_factor_bp / 10000."),
				counted_gpu_seconds: int(
					"Rented GPU-seconds that earn compute points: rented − self_rented − unpaid (an independent renter paid).",
				),
				availability_points: { type: "integer" },
				compute_points: { type: "integer" },
				penalty_points: { type: "integer" },
				penalties: {
					type: "array",
					description: "The flags active in the epoch; a share of 1 (e.g. shared_hardware) takes everything.",
					items: {
						type: "object",
						properties: { code: { type: "string" }, reason: { type: "string" }, share: { type: "number" } },
					},
				},
			},
		},
		points: { type: "integer" },
		reward: { type: "integer", description: "Micro-tokens." },
		adjustments: { type: "array", items: { type: "object" } },
		points_after_adjustments: { type: "integer" },
		formula: { type: "object", additionalProperties: { type: "string" } },
		leaf: LeafSchema,
		leaf_hash: { type: "string" },
	},
};
