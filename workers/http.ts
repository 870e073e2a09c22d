// The HTTP edge: one JSON error shape, JSON responses, and bounded, strictly validated request bodies.
import type { IRequest } from "itty-router";
import type { z } from "zod";
import { ApiError, type Failure } from "./failure.ts";
import { textProblem } from "./schemas.ts";

export const MAX_BODY_BYTES = 16 * 1024;

export { ApiError, type ErrorCode, type Failure } from "./failure.ts";

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(body), {
		status,
		headers: { "content-type": "application/json; charset=utf-8", ...headers },
	});
}

/** The one place a failure becomes the wire's `{"error": {"code", "message", ...details}}` body. */
export function failureResponse(f: Failure): Response {
	return json({ error: { code: f.code, message: f.message, ...f.details } }, f.status, f.headers ?? {});
}

export function errorResponse(err: unknown): Response {
	if (err instanceof ApiError) return failureResponse(err);
	console.error("unhandled error", err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : err);
	return json({ error: { code: "internal", message: "Something went wrong on our side; it has been logged." } }, 500);
}

/** `raw` percent-decoded, or a 400 that says which part of the path (`what`) is malformed. */
function percentDecoded(raw: string, what: string): string {
	try {
		return decodeURIComponent(raw);
	} catch {
		throw new ApiError(400, "validation_failed", `${what} is not valid percent-encoded UTF-8.`);
	}
}

function decodedParam(name: string, raw: string): string {
	const value = percentDecoded(raw, `The path parameter '${name}'`);
	const problem = textProblem(value);
	if (problem) throw new ApiError(400, "validation_failed", `The path parameter '${name}' ${problem}.`);
	return value;
}

/**
 * The router's first step, for every route at once: a path whose percent-encoding is malformed (`/v1/x/%ff`) is a 400
 * before any handler runs, and path parameters reach handlers decoded (itty-router hands them over raw), so
 * `DELETE /v1/alerts/mutes/my%20rig` names "my rig". A decoded parameter is held to the user-text rules (no control or
 * bidi characters): ids and names never contain them.
 */
export function decodePath(request: IRequest): void {
	percentDecoded(new URL(request.url).pathname, "The path");
	let params: Record<string, string> = {};
	Object.defineProperty(request, "params", {
		configurable: true,
		enumerable: true,
		get: () => params,
		set: (raw: Record<string, string>) => {
			params = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, decodedParam(k, v)]));
		},
	});
}

/** Reads at most MAX_BODY_BYTES of a JSON body, then validates it; unknown fields are refused by the strict schemas. */
export async function readJson<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
	const type = request.headers.get("content-type") ?? "";
	if (!/^application\/json\b/i.test(type)) {
		throw new ApiError(415, "unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'.");
	}
	const text = await readBounded(request, MAX_BODY_BYTES);
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		throw new ApiError(400, "invalid_json", "The body is not valid JSON.");
	}
	return validate(schema, value);
}

export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
	const parsed = schema.safeParse(value);
	if (!parsed.success) throw new ApiError(400, "validation_failed", describeIssues(parsed.error.issues));
	return parsed.data;
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
	return issues
		.slice(0, 5)
		.map((i) => {
			const where = i.path.length ? i.path.join(".") : "body";
			if (i.code === "unrecognized_keys") return `${where}: unknown field(s) ${i.keys.map((k) => `'${k}'`).join(", ")}`;
			return `${where}: ${i.message}`;
		})
		.join("; ");
}

async function readBounded(request: Request, limit: number): Promise<string> {
	const all = await readBoundedBytes(request, limit);
	try {
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(all);
	} catch {
		throw new ApiError(400, "invalid_json", "The body is not valid UTF-8.");
	}
}

/** The raw body, at most `limit` bytes (413 beyond): what a signature is checked against before anything is parsed. */
export async function readBoundedBytes(request: Request, limit: number): Promise<Uint8Array> {
	const declared = Number(request.headers.get("content-length") ?? "0");
	if (declared > limit) throw tooLarge(limit);
	if (!request.body) return new Uint8Array();
	const reader = request.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > limit) {
			await reader.cancel();
			throw tooLarge(limit);
		}
		chunks.push(value);
	}
	const all = new Uint8Array(size);
	let offset = 0;
	for (const c of chunks) {
		all.set(c, offset);
		offset += c.byteLength;
	}
	return all;
}

function tooLarge(limit: number): ApiError {
	return new ApiError(413, "payload_too_large", `The body is larger than ${limit} bytes.`);
}

export function iso(ms: number | null | undefined): string | null {
	return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** The client's IP as Cloudflare reports it; "local" when absent (tests, wrangler dev without a proxy). */
export function clientIp(request: Request): string {
	return request.headers.get("cf-connecting-ip") ?? "local";
}
