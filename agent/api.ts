// HTTP calls to the coordinator: JSON in and out, with its error shape turned into readable CLI errors.
import { CliError, messageOf } from "./errors.ts";

const REQUEST_TIMEOUT_MS = 15_000;

/** The coordinator answered with an error status; `code` and the message come from its {"error": {...}} body. */
export class ApiError extends CliError {
	readonly status: number;
	readonly code: string;
	readonly retryAfterS: number | null;

	constructor(status: number, code: string, message: string, retryAfterS: number | null = null) {
		super(message);
		this.status = status;
		this.code = code;
		this.retryAfterS = retryAfterS;
	}
}

/** The coordinator could not be reached at all (refused, DNS, timeout, TLS). */
export class UnreachableError extends CliError {}

export interface CallOptions {
	bearer?: string;
	body?: unknown;
	signal?: AbortSignal;
}

/** Reads the server's error sentence from a body, falling back to the status line. */
export function describeErrorBody(status: number, statusText: string, body: string): { code: string; message: string } {
	try {
		const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
		const e = parsed.error;
		if (e && typeof e.message === "string") {
			return { code: typeof e.code === "string" ? e.code : `http_${status}`, message: e.message };
		}
	} catch {
		/* not our JSON shape */
	}
	const text = body.trim().slice(0, 200);
	return {
		code: `http_${status}`,
		message: `HTTP ${status}${statusText ? ` ${statusText}` : ""}${text ? `: ${text}` : ""}`,
	};
}

export function retryAfterSeconds(header: string | null | undefined): number | null {
	if (!header) return null;
	const n = Number(header);
	return Number.isFinite(n) && n >= 0 ? n : null;
}

export async function callApi<T>(baseUrl: string, method: string, path: string, o: CallOptions = {}): Promise<T> {
	const headers: Record<string, string> = { accept: "application/json" };
	if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
	if (o.body !== undefined) headers["content-type"] = "application/json";
	const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
	let res: Response;
	try {
		res = await fetch(`${baseUrl}${path}`, {
			method,
			headers,
			body: o.body === undefined ? undefined : JSON.stringify(o.body),
			signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
		});
	} catch (err) {
		if (o.signal?.aborted) throw err;
		const cause = (err as { cause?: unknown }).cause;
		const why = timeout.aborted ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : messageOf(cause ?? err);
		throw new UnreachableError(
			`Cannot reach the coordinator at ${baseUrl}: ${why}. Is the URL right and the coordinator running?`,
		);
	}
	const text = await res.text();
	if (!res.ok) {
		const { code, message } = describeErrorBody(res.status, res.statusText, text);
		throw new ApiError(res.status, code, message, retryAfterSeconds(res.headers.get("retry-after")));
	}
	try {
		return (text ? JSON.parse(text) : {}) as T;
	} catch {
		throw new CliError(`The coordinator at ${baseUrl} answered ${method} ${path} with something that is not JSON.`);
	}
}

/** ws:// or wss:// for the coordinator's http:// or https:// URL. */
export function websocketUrl(coordinatorUrl: string, path: string): string {
	return `${coordinatorUrl.replace(/^http/, "ws")}${path}`;
}
