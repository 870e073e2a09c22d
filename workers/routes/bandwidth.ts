// The bandwidth test routes a node calls with its own token: an upload the Worker times as it reads it, and a download
// whose hash the node sends back, timed from the blob's hand-out to the answer (docs/VERIFICATION.md §12).
import type { IRequest } from "itty-router";
import { z } from "zod";
import { type NodeCaller, requireNode } from "../auth.ts";
import { ApiError, json, readJson } from "../http.ts";
import { bandwidthSamplesOf, insertTest, recordSample, startAttempt, takeTest } from "../db/bandwidth.ts";
import {
	type BandwidthDirection,
	type BandwidthSample,
	bandwidthOf,
	DOWNLOAD_BYTES,
	mbpsOf,
	RANDOM_CHUNK_BYTES,
	RATE_LIMIT_TESTS,
	TEST_TTL_MS,
	UPLOAD_MAX_BYTES,
	UPLOAD_MIN_BYTES,
} from "../domain/bandwidth.ts";
import { randomToken } from "../domain/challenge.ts";

export const TEST_HEADER = "x-pulsegrid-bandwidth-test";

/** The answer to a download test: the blob's SHA-256 in hex. */
export const DownloadAnswer = z
	.object({ sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, "must be a SHA-256 in hex (64 characters)") })
	.strict();

/** Why a body was refused, beside the error's code: `too_small`, `too_large`, `length_mismatch`, `wrong_hash`… */
const because = (reason: string) => ({ reason });

/** POST /v1/nodes/:id/bandwidth/upload: the node sends 10–25 MB; the clock runs from here to the last byte read. */
export async function postUpload(request: IRequest, env: Env): Promise<Response> {
	const started = Date.now();
	const caller = await requireNode(request, env, request.params.id as string, started);
	const declared = uploadLength(request);
	await admit(env, caller, "up", Date.now());
	const received = await readCounted(request, declared);
	const ms = Date.now() - started;
	return json(await recorded(env, caller, { direction: "up", bytes: received, ms, at: Date.now() }));
}

/** POST /v1/nodes/:id/bandwidth/download: a fresh random blob, its test id in a header; timed from its hand-out. */
export async function postDownload(request: IRequest, env: Env): Promise<Response> {
	const caller = await requireNode(request, env, request.params.id as string, Date.now());
	await admit(env, caller, "down", Date.now());
	const blob = new Uint8Array(DOWNLOAD_BYTES);
	for (let i = 0; i < blob.length; i += RANDOM_CHUNK_BYTES)
		crypto.getRandomValues(blob.subarray(i, i + RANDOM_CHUNK_BYTES));
	const sha256 = hex(await crypto.subtle.digest("SHA-256", blob));
	const id = `bwt_${randomToken(12)}`;
	// Read last, so the blob's making and the row's write count against the node, never for it.
	const startedAt = Date.now();
	await insertTest(env.DB, { id, node_id: caller.node.id, bytes: blob.length, sha256, started_at: startedAt });
	return new Response(blob, {
		headers: {
			"content-type": "application/octet-stream",
			"cache-control": "no-store, no-transform",
			[TEST_HEADER]: id,
			"x-pulsegrid-bandwidth-expires-at": new Date(startedAt + TEST_TTL_MS).toISOString(),
		},
	});
}

/** POST /v1/nodes/:id/bandwidth/download/:test: the blob's hash; right → a sample timed hand-out to now. */
export async function postDownloadAnswer(request: IRequest, env: Env): Promise<Response> {
	const caller = await requireNode(request, env, request.params.id as string, Date.now());
	const answer = await readJson(request, DownloadAnswer);
	const now = Date.now();
	const test = await takeTest(env.DB, request.params.test as string, caller.node.id, now);
	if (!test)
		throw new ApiError(
			404,
			"not_found",
			`No pending download test '${request.params.test}' for this node: unknown, already answered, or older than ` +
				`${TEST_TTL_MS / 1000} s. Start another with POST /v1/nodes/{id}/bandwidth/download.`,
		);
	if (answer.sha256.toLowerCase() !== test.sha256)
		throw new ApiError(
			422,
			"unprocessable",
			"The hash does not match the blob that was sent; the test is used up and nothing was recorded.",
			{},
			because("wrong_hash"),
		);
	return json(
		await recorded(env, caller, { direction: "down", bytes: test.bytes, ms: now - test.started_at, at: now }),
	);
}

/** The declared Content-Length of an upload, checked before a byte is read. */
function uploadLength(request: Request): number {
	const encoding = request.headers.get("content-encoding");
	if (encoding && encoding.trim().toLowerCase() !== "identity")
		throw new ApiError(
			415,
			"unsupported_media_type",
			`Send the upload without Content-Encoding (got '${encoding}'): compressed bytes would not measure the link.`,
		);
	const type = request.headers.get("content-type") ?? "";
	if (!/^application\/octet-stream\s*(;|$)/i.test(type))
		throw new ApiError(415, "unsupported_media_type", "Send the upload as 'Content-Type: application/octet-stream'.");
	const raw = request.headers.get("content-length");
	if (raw === null || !/^\d{1,12}$/.test(raw.trim()))
		throw new ApiError(
			411,
			"validation_failed",
			"Declare the upload's size with 'Content-Length' (a chunked body is refused).",
			{},
			because("length_required"),
		);
	const declared = Number(raw);
	const range = `between ${UPLOAD_MIN_BYTES} and ${UPLOAD_MAX_BYTES} bytes`;
	if (declared < UPLOAD_MIN_BYTES)
		throw new ApiError(
			400,
			"validation_failed",
			`The upload is too small to time (${declared} bytes); send ${range}.`,
			{},
			because("too_small"),
		);
	if (declared > UPLOAD_MAX_BYTES)
		throw new ApiError(
			413,
			"payload_too_large",
			`The upload is too large (${declared} bytes); send ${range}.`,
			{},
			because("too_large"),
		);
	return declared;
}

/** Reads the whole body in the chunks the runtime delivers, counting them: exactly `declared` bytes, else 400. */
async function readCounted(request: Request, declared: number): Promise<number> {
	const mismatch = (got: string) =>
		new ApiError(
			400,
			"validation_failed",
			`The body delivered ${got} bytes, not the ${declared} its Content-Length declared; nothing was recorded.`,
			{},
			because("length_mismatch"),
		);
	if (!request.body) throw mismatch("0");
	const reader = request.body.getReader();
	let count = 0;
	for (;;) {
		let chunk: ReadableStreamReadResult<Uint8Array>;
		try {
			chunk = await reader.read();
		} catch {
			throw mismatch(`only ${count}`);
		}
		if (chunk.done) break;
		count += chunk.value.byteLength;
		if (count > declared) {
			await reader.cancel().catch(() => {});
			throw mismatch("more than");
		}
	}
	if (count !== declared) throw mismatch(`only ${count}`);
	return count;
}

/** Counts the test against the node's hourly allowance, or refuses it (429, or 401 for a token used twice). */
async function admit(env: Env, caller: NodeCaller, direction: BandwidthDirection, now: number): Promise<void> {
	const outcome = await startAttempt(env.DB, caller.node.id, direction, caller.jti, now);
	if (outcome.ok) return;
	if ("reason" in outcome)
		throw new ApiError(401, "unauthorized", "This node token already started a bandwidth test; mint a new one.");
	const retryAfter = Math.ceil(outcome.retryAfterMs / 1000);
	throw new ApiError(
		429,
		"rate_limited",
		`At most ${RATE_LIMIT_TESTS} ${direction === "up" ? "upload" : "download"} tests per node per hour; ` +
			`try again in ${retryAfter} s.`,
		{ "retry-after": String(retryAfter) },
		{ retry_after: retryAfter },
	);
}

/** Records the sample, then answers with it and the node's bandwidth as it now stands. */
async function recorded(env: Env, caller: NodeCaller, s: BandwidthSample) {
	await recordSample(env.DB, caller.node.id, s);
	const samples = (await bandwidthSamplesOf(env.DB, [caller.node.id])).get(caller.node.id) ?? [];
	const bandwidth = bandwidthOf(samples);
	await env.SCHEDULER.getByName("global")
		.onBandwidth(caller.node.id, bandwidth.tier)
		.catch((err) => console.error("the scheduler did not hear of a bandwidth tier; its hourly reconcile will", err));
	return {
		direction: s.direction,
		bytes: s.bytes,
		ms: s.ms,
		mbps: Math.round(mbpsOf(s.bytes, s.ms) * 10) / 10,
		bandwidth,
	};
}

function hex(buf: ArrayBuffer): string {
	return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
