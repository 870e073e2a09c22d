// The one failure type: what services, routes and Durable Objects throw or return when a caller's request cannot be
// met. It imports nothing, so objects, services and both renderers (http.ts for JSON, bots/shared/failure.ts for chat)
// share it.

export type ErrorCode =
	| "invalid_json"
	| "validation_failed"
	| "payload_too_large"
	| "unsupported_media_type"
	| "unauthorized"
	| "forbidden"
	| "not_found"
	| "method_not_allowed"
	| "conflict"
	| "unprocessable"
	| "payment_required"
	| "rate_limited"
	| "upgrade_required"
	| "internal";

type JsonLeaf = string | number | boolean | null;
type JsonLevel<T> = T | readonly T[] | { readonly [key: string]: T };
/**
 * Plain JSON, three levels deep: what crosses an RPC boundary and a wire body alike. (A recursive JSON type is
 * too deep for the runtime's RPC type mapping; three levels hold every detail and event we send.)
 */
export type JsonValue = JsonLevel<JsonLevel<JsonLevel<JsonLeaf>>>;

/** A failure as plain data: it crosses a Durable Object RPC boundary intact (a thrown class would lose its fields). */
export interface Failure {
	status: number;
	code: ErrorCode;
	message: string;
	/** Extra fields the wire error carries beside code and message (e.g. `available_gpus`, `quote`). */
	details?: { readonly [key: string]: JsonValue };
	/** Response headers, e.g. `retry-after` on 429 or `www-authenticate` on 401. */
	headers?: Record<string, string>;
}

/** What an object's RPC method returns when it can fail: the value, or the failure to rethrow on the Worker's side. */
export type Result<T> = { ok: true; value: T } | { ok: false; failure: Failure };

/** A failure the client caused or may see; anything else becomes a generic 500. */
export class ApiError extends Error implements Failure {
	readonly status: number;
	readonly code: ErrorCode;
	readonly details: Failure["details"];
	readonly headers: Record<string, string>;

	constructor(
		status: number,
		code: ErrorCode,
		message: string,
		headers: Record<string, string> = {},
		details?: Failure["details"],
	) {
		super(message);
		this.status = status;
		this.code = code;
		this.headers = headers;
		this.details = details;
	}

	static from(f: Failure): ApiError {
		return new ApiError(f.status, f.code, f.message, f.headers ?? {}, f.details);
	}

	/** The plain-data form, for returning across an RPC boundary. */
	toFailure(): Failure {
		return {
			status: this.status,
			code: this.code,
			message: this.message,
			...(this.details ? { details: this.details } : {}),
			...(Object.keys(this.headers).length ? { headers: this.headers } : {}),
		};
	}
}

/** A failed Result, from the same arguments as ApiError. */
export function failed(
	status: number,
	code: ErrorCode,
	message: string,
	details?: Failure["details"],
): { ok: false; failure: Failure } {
	return { ok: false, failure: { status, code, message, ...(details ? { details } : {}) } };
}

/** The value of a Result, or its failure thrown as an ApiError (on the Worker's side of an RPC call). */
export function unwrap<T>(r: Result<T>): T {
	if (!r.ok) throw ApiError.from(r.failure);
	return r.value;
}
