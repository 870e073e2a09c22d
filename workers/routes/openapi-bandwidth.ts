// The OpenAPI paths of the bandwidth test routes and the `hardware.bandwidth` schema of a node (merged into
// /openapi.json).
import type { z } from "zod";
import {
	DOWNLOAD_BYTES,
	MIN_SAMPLES,
	RATE_LIMIT_TESTS,
	TEST_TTL_MS,
	TIER_FLOORS_MBPS,
	UPLOAD_MAX_BYTES,
	UPLOAD_MIN_BYTES,
	WINDOW_SAMPLES,
} from "../domain/bandwidth.ts";
import { DownloadAnswer, TEST_HEADER } from "./bandwidth.ts";

interface Helpers {
	ok(description: string, schema?: object): object;
	err(description: string): object;
	body(schema: z.ZodType): object;
	E: Record<400 | 401 | 403 | 404 | 409 | 413 | 415 | 429, object>;
}

const mbps = (description: string) => ({ type: ["number", "null"], minimum: 0, description });
const f = TIER_FLOORS_MBPS;

/** `bandwidthOf` in workers/domain/bandwidth.ts. */
export const BandwidthSchema = {
	type: "object",
	additionalProperties: false,
	required: ["tier", "up_mbps", "down_mbps", "samples", "measured_at"],
	description:
		"The node's bandwidth as the coordinator timed it (docs/VERIFICATION.md §12): per direction, the newest " +
		`${WINDOW_SAMPLES} transfers, rated at the 90th percentile of their duration per byte (the slow end).`,
	properties: {
		tier: {
			type: "string",
			enum: ["unmeasured", "low", "standard", "high", "premium"],
			description:
				`By the slower direction: low < ${f.standard} Mbps ≤ standard < ${f.high} Mbps ≤ high < ${f.premium} Mbps ` +
				`≤ premium; \`unmeasured\` until both directions have ${MIN_SAMPLES} samples.`,
		},
		up_mbps: mbps(`Node → coordinator, to 0.1 Mbps; null below ${MIN_SAMPLES} samples.`),
		down_mbps: mbps(`Coordinator → node, to 0.1 Mbps; null below ${MIN_SAMPLES} samples.`),
		samples: {
			type: "object",
			additionalProperties: false,
			required: ["up", "down"],
			properties: {
				up: { type: "integer", minimum: 0, maximum: WINDOW_SAMPLES },
				down: { type: "integer", minimum: 0, maximum: WINDOW_SAMPLES },
			},
		},
		measured_at: {
			type: ["string", "null"],
			format: "date-time",
			description: "The newest sample counted; null while the tier is `unmeasured`.",
		},
	},
};

const Sample = {
	type: "object",
	additionalProperties: false,
	required: ["direction", "bytes", "ms", "mbps", "bandwidth"],
	properties: {
		direction: { type: "string", enum: ["up", "down"] },
		bytes: { type: "integer" },
		ms: { type: "integer", description: "The coordinator's clock, start to end of this transfer." },
		mbps: { type: "number", description: "bytes × 8 / max(ms, 1) / 1000, to 0.1." },
		bandwidth: BandwidthSchema,
	},
};

const idParam = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^node_" } };
const nodeToken = [{ nodeToken: [] }];

export function bandwidthPaths({ ok, err, body, E }: Helpers) {
	const limited = err(
		`More than ${RATE_LIMIT_TESTS} tests of this direction in an hour (\`rate_limited\`, with \`retry_after\` s).`,
	);
	const auth = err(
		"No or invalid node token, another node's, or a token that already started a test (`unauthorized`).",
	);
	return {
		"/v1/nodes/{id}/bandwidth/upload": {
			parameters: [idParam],
			post: {
				summary:
					`Upload test: ${UPLOAD_MIN_BYTES}–${UPLOAD_MAX_BYTES} random bytes, timed by the coordinator from the ` +
					"request's start to the last byte read; records a sample",
				security: nodeToken,
				requestBody: {
					required: true,
					content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
				},
				responses: {
					200: ok("The sample and the node's bandwidth", Sample),
					400: err("Fewer bytes than the limit (`reason: too_small`), or not as many as declared (`length_mismatch`)."),
					401: auth,
					404: E[404],
					411: err("No Content-Length (`validation_failed`, `reason: length_required`)."),
					413: err(`Declared more than ${UPLOAD_MAX_BYTES} bytes (\`payload_too_large\`, \`reason: too_large\`).`),
					415: err("Not application/octet-stream, or sent with a Content-Encoding (`unsupported_media_type`)."),
					429: limited,
				},
			},
		},
		"/v1/nodes/{id}/bandwidth/download": {
			parameters: [idParam],
			post: {
				summary:
					`Download test: ${DOWNLOAD_BYTES} fresh random bytes; the test id is in the \`${TEST_HEADER}\` header. ` +
					`Answer with the blob's SHA-256 within ${TEST_TTL_MS / 1000} s`,
				security: nodeToken,
				responses: {
					200: {
						description: "The blob",
						headers: {
							[TEST_HEADER]: { schema: { type: "string", pattern: "^bwt_" }, description: "The test to answer." },
							"x-pulsegrid-bandwidth-expires-at": { schema: { type: "string", format: "date-time" } },
						},
						content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
					},
					401: auth,
					404: E[404],
					429: limited,
				},
			},
		},
		"/v1/nodes/{id}/bandwidth/download/{test}": {
			parameters: [idParam, { name: "test", in: "path", required: true, schema: { type: "string" } }],
			post: {
				summary:
					"Answer a download test with the blob's SHA-256; right: a sample timed from the blob's hand-out to this " +
					"answer. Either way the test is used up",
				security: nodeToken,
				requestBody: body(DownloadAnswer),
				responses: {
					200: ok("The sample and the node's bandwidth", Sample),
					400: E[400],
					401: E[401],
					404: err("No such pending test of this node: unknown, answered, another node's, or expired."),
					415: E[415],
					422: err("Wrong hash (`unprocessable`, `reason: wrong_hash`); nothing recorded."),
				},
			},
		},
	};
}
