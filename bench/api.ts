// The bench's HTTP calls to the coordinator: sign-ups, node registration with bounded concurrency, admin counters.
import { generateIdentity, type Identity } from "../agent/identity.ts";

export interface BenchAccount {
	id: string;
	apiKey: string;
}

export interface RegisteredNode {
	id: string;
	accountIndex: number;
	identity: Identity;
}

/** The summed shard counters of GET /v1/admin/liveness; keys the coordinator does not send read as 0. */
export const COUNTER_KEYS = [
	"alarms",
	"socketsSwept",
	"messagesIn",
	"connects",
	"heartbeats",
	"rowsWrittenDO",
	"rowsWrittenCheckpoint",
	"rowsWrittenD1",
	"rowsReadDO",
] as const;
export type LivenessCounters = Record<(typeof COUNTER_KEYS)[number], number>;

/** A coordinator's answer: its status and JSON body (a body that is not JSON is kept as `text`, cut to 200). */
export interface Call {
	status: number;
	body: Record<string, unknown>;
}

export interface CallOptions {
	method?: string;
	body?: unknown;
	auth?: string;
	/** The client address the edge would see (`cf-connecting-ip`). */
	ip?: string;
	timeoutMs?: number;
}

/** One request to the coordinator at `baseUrl`, as the scenarios' clients make them. */
export async function call(baseUrl: string, path: string, o: CallOptions = {}): Promise<Call> {
	const headers: Record<string, string> = { "cf-connecting-ip": o.ip ?? "198.51.100.7" };
	if (o.auth) headers.authorization = `Bearer ${o.auth}`;
	if (o.body !== undefined) headers["content-type"] = "application/json";
	const res = await fetch(`${baseUrl}${path}`, {
		method: o.method ?? (o.body !== undefined ? "POST" : "GET"),
		headers,
		body: o.body === undefined ? undefined : JSON.stringify(o.body),
		signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
	});
	const text = await res.text();
	let body: Record<string, unknown> = {};
	try {
		body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
	} catch {
		body = { text: text.slice(0, 200) };
	}
	return { status: res.status, body };
}

/** Runs `fn` over `count` indexes with at most `limit` in flight. */
export async function pool(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < count) await fn(next++);
	};
	await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** A POST with a few retries on network errors and 5xx (the worker may be busy); anything else is a setup failure. */
async function postJson(
	url: string,
	body: unknown,
	headers: Record<string, string>,
): Promise<{ status: number; json: unknown }> {
	let lastError = "";
	for (let attempt = 0; attempt < 4; attempt++) {
		try {
			const res = await fetch(url, {
				method: "POST",
				body: JSON.stringify(body),
				signal: AbortSignal.timeout(30_000),
				headers: { "content-type": "application/json", ...headers },
			});
			const text = await res.text();
			if (res.status < 500) return { status: res.status, json: text ? JSON.parse(text) : null };
			lastError = `${res.status} ${text.slice(0, 200)}`;
		} catch (err) {
			lastError = String(err);
		}
		await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
	}
	throw new Error(`POST ${url} kept failing: ${lastError}`);
}

/**
 * Sign-ups from distinct client addresses (the per-IP limit is 20 a minute); the header is all the local runtime looks
 * at.
 */
export async function createAccounts(baseUrl: string, count: number): Promise<BenchAccount[]> {
	const out: BenchAccount[] = [];
	await pool(count, 8, async (i) => {
		const ip = `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`;
		const r = await postJson(`${baseUrl}/v1/accounts`, { name: `bench operator ${i}` }, { "cf-connecting-ip": ip });
		const j = r.json as { account?: { id: string }; api_key?: string };
		if (r.status !== 201 || !j.account || !j.api_key)
			throw new Error(`sign-up ${i} answered ${r.status}: ${JSON.stringify(r.json)}`);
		out[i] = { id: j.account.id, apiKey: j.api_key };
	});
	return out;
}

/** The name node `i` is registered under: what alert messages call it. */
export function nodeName(i: number): string {
	return `bench-node-${i}`;
}

const GPUS = ["RTX 4090", "RTX 3090", "A100", "H100", "L40S", "M2 Ultra"];

/** Registers `count` nodes, each with its own Ed25519 key, spread round-robin over the accounts. */
export async function registerNodes(
	baseUrl: string,
	accounts: BenchAccount[],
	count: number,
	concurrency: number,
	progress: (done: number) => void,
): Promise<RegisteredNode[]> {
	const out: RegisteredNode[] = new Array(count);
	let done = 0;
	await pool(count, concurrency, async (i) => {
		const accountIndex = i % accounts.length;
		const identity = generateIdentity();
		const body = {
			name: nodeName(i),
			public_key: identity.publicKey,
			hardware: {
				gpu_model: GPUS[i % GPUS.length] as string,
				gpu_count: 1 + (i % 8),
				vram_gb: 24,
				cpu_cores: 16,
				ram_gb: 64,
			},
		};
		const r = await postJson(`${baseUrl}/v1/nodes`, body, {
			authorization: `Bearer ${(accounts[accountIndex] as BenchAccount).apiKey}`,
		});
		const j = r.json as { node?: { id: string } };
		if (r.status !== 201 || !j.node)
			throw new Error(`registering node ${i} answered ${r.status}: ${JSON.stringify(r.json)}`);
		out[i] = { id: j.node.id, accountIndex, identity };
		progress(++done);
	});
	return out;
}

export async function livenessCounters(
	baseUrl: string,
	adminToken: string,
): Promise<{ shards: number; total: LivenessCounters; extra: Record<string, number>; present: string[] }> {
	const res = await fetch(`${baseUrl}/v1/admin/liveness`, {
		headers: { authorization: `Bearer ${adminToken}` },
		signal: AbortSignal.timeout(30_000),
	});
	if (!res.ok) throw new Error(`GET /v1/admin/liveness answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
	const j = (await res.json()) as { shards: number; total: Record<string, unknown> };
	const total = Object.fromEntries(
		COUNTER_KEYS.map((k) => [k, typeof j.total[k] === "number" ? j.total[k] : 0]),
	) as LivenessCounters;
	const extra = Object.fromEntries(
		Object.entries(j.total).filter(
			([k, v]) => typeof v === "number" && !(COUNTER_KEYS as readonly string[]).includes(k),
		),
	) as Record<string, number>;
	return { shards: j.shards, total, extra, present: Object.keys(j.total) };
}

export function counterDelta(after: LivenessCounters, before: LivenessCounters): LivenessCounters {
	return Object.fromEntries(COUNTER_KEYS.map((k) => [k, after[k] - before[k]])) as LivenessCounters;
}
