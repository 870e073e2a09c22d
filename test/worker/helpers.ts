// Test helpers for the Workers runtime: real requests through the Worker's own fetch, real Ed25519 keys and tokens,
// and a shard's clock set by the test.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import type { LivenessShard } from "../../durable-objects/LivenessShard.ts";
import { systemClock, type Clock } from "../../durable-objects/kit.ts";
import type { ShardSockets } from "../../durable-objects/shard-sockets.ts";
import { readConfig } from "../../workers/config.ts";
import { recordVerification } from "../../workers/db/verifications.ts";
import type { VerificationRecord } from "../../workers/domain/verification.ts";
import { fromBase64url } from "../../workers/domain/challenge.ts";
import { type Shape, solve, wordsToBase64url } from "../../workers/domain/matmul.ts";
import { TEST_ADMIN_TOKEN } from "../constants.ts";

export { TEST_ADMIN_TOKEN };

let ipCounter = 0;
/** Each helper call comes from its own IP unless told otherwise, so per-IP rate limits do not couple tests. */
export function freshIp(): string {
	ipCounter++;
	return `198.51.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

export interface CallOptions {
	method?: string;
	body?: unknown;
	rawBody?: string;
	auth?: string;
	headers?: Record<string, string>;
}

export async function call(path: string, o: CallOptions = {}): Promise<Response> {
	const headers: Record<string, string> = { "cf-connecting-ip": freshIp(), ...o.headers };
	if (o.auth) headers.authorization = `Bearer ${o.auth}`;
	let body: string | undefined = o.rawBody;
	if (o.body !== undefined) body = JSON.stringify(o.body);
	if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
	return exports.default.fetch(
		new Request(`http://coordinator.test${path}`, {
			method: o.method ?? (body !== undefined ? "POST" : "GET"),
			headers,
			body,
		}),
	);
}

export async function callJson<T = Record<string, unknown>>(
	path: string,
	o: CallOptions = {},
): Promise<{ status: number; body: T }> {
	const res = await call(path, o);
	const text = await res.text();
	return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function newAccount(name = "alice"): Promise<{ id: string; key: string }> {
	const { status, body } = await callJson<{ account: { id: string }; api_key: string }>("/v1/accounts", {
		body: { name },
	});
	if (status !== 201) throw new Error(`account creation failed: ${status}`);
	return { id: body.account.id, key: body.api_key };
}

export interface NodeKeys {
	publicKey: string;
	privateKey: CryptoKey;
}

export async function newNodeKeys(): Promise<NodeKeys> {
	const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
	const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
	let bin = "";
	for (const b of raw) bin += String.fromCharCode(b);
	return {
		publicKey: btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""),
		privateKey: pair.privateKey,
	};
}

export const HARDWARE = { gpu_model: "RTX 4090", gpu_count: 1, vram_gb: 24, cpu_cores: 16, ram_gb: 64 };

/** Grants credits to an account through the admin route. */
export async function grant(accountId: string, cents: number): Promise<void> {
	const { status } = await callJson("/v1/admin/credits", {
		auth: TEST_ADMIN_TOKEN,
		body: { account_id: accountId, amount_cents: cents },
	});
	if (status !== 201) throw new Error(`grant failed: ${status}`);
}

/** Registers `n` nodes of a model, connects them as healthy agents; returns them with a stop-all function. */
export async function onlineFleet(n: number, hardware: Partial<typeof HARDWARE> = {}, region?: string) {
	const owner = await newAccount("operator");
	const fleet: { node: TestNode; link: Link; stop: () => void }[] = [];
	for (let i = 0; i < n; i++) {
		const node = await registerNode(owner, { hardware: { ...HARDWARE, ...hardware }, ...(region ? { region } : {}) });
		const link = await connect(node);
		await link.next("welcome");
		fleet.push({ node, link, stop: healthyAgent(link, node) });
	}
	return { owner, fleet, stopAll: () => fleet.forEach((f) => f.stop()) };
}

/**
 * Online nodes whose agents keep alive but never say `ready` themselves: the test says it, at times of its choosing.
 */
export async function quietFleet(n: number, gpuModel: string, gpuCount = 1) {
	const f = await onlineFleet(n, { gpu_model: gpuModel, gpu_count: gpuCount });
	const stops = f.fleet.map((x) => {
		x.stop();
		return keepAlive(x.link);
	});
	return { ...f, stopAll: () => stops.forEach((s) => s()) };
}

export interface TestNode {
	id: string;
	keys: NodeKeys;
	owner: { id: string; key: string };
}

export async function registerNode(
	owner: { id: string; key: string },
	extra: Record<string, unknown> = {},
): Promise<TestNode> {
	const keys = await newNodeKeys();
	const { status, body } = await callJson<{ node: { id: string } }>("/v1/nodes", {
		auth: owner.key,
		body: { name: "rig-1", public_key: keys.publicKey, hardware: HARDWARE, ...extra },
	});
	if (status !== 201) throw new Error(`node registration failed: ${status} ${JSON.stringify(body)}`);
	return { id: body.node.id, keys, owner };
}

export interface TokenOverrides {
	sub?: string;
	aud?: string;
	iat?: number;
	exp?: number;
	jti?: string | null;
	key?: CryptoKey;
}

export async function nodeToken(node: TestNode, o: TokenOverrides = {}): Promise<string> {
	const now = Math.floor(Date.now() / 1000);
	const jwt = new SignJWT({})
		.setProtectedHeader({ alg: "EdDSA" })
		.setSubject(o.sub ?? node.id)
		.setAudience(o.aud ?? "pulsegrid")
		.setIssuedAt(o.iat ?? now)
		.setExpirationTime(o.exp ?? now + 120);
	if (o.jti !== null) jwt.setJti(o.jti ?? crypto.randomUUID());
	return jwt.sign(o.key ?? node.keys.privateKey);
}

/** A connected node: its socket and every message the coordinator sent it, in order. */
export interface Link {
	ws: WebSocket;
	messages: Record<string, unknown>[];
	next(type: string): Promise<Record<string, unknown>>;
	closed: Promise<{ code: number; reason: string }>;
}

/** Connects the node's WebSocket; `headers` add to the upgrade request (e.g. the edge's `cf-connecting-ip`). */
export async function connect(node: TestNode, token?: string, headers: Record<string, string> = {}): Promise<Link> {
	const res = await call(`/v1/nodes/${node.id}/connect`, {
		auth: token ?? (await nodeToken(node)),
		headers: { upgrade: "websocket", ...headers },
	});
	if (res.status !== 101 || !res.webSocket) throw new Error(`connect failed: ${res.status} ${await res.text()}`);
	const ws = res.webSocket;
	ws.accept();
	const messages: Record<string, unknown>[] = [];
	const waiters: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
	ws.addEventListener("message", (e) => {
		if (typeof e.data !== "string" || e.data === "pong") return;
		const m = JSON.parse(e.data) as Record<string, unknown>;
		messages.push(m);
		for (const w of waiters.filter((w) => w.type === m.type)) {
			waiters.splice(waiters.indexOf(w), 1);
			w.resolve(m);
		}
	});
	const closed = new Promise<{ code: number; reason: string }>((resolve) =>
		ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })),
	);
	return {
		ws,
		messages,
		closed,
		next: (type) => {
			const seen = messages.find((m) => m.type === type && !(m as { _taken?: boolean })._taken);
			if (seen) {
				(seen as { _taken?: boolean })._taken = true;
				return Promise.resolve(seen);
			}
			return new Promise((resolve) =>
				waiters.push({
					type,
					resolve: (m) => {
						(m as { _taken?: boolean })._taken = true;
						resolve(m);
					},
				}),
			);
		},
	};
}

/** A node's status as anyone reads it (GET /v1/nodes/:id). */
export async function nodeStatus(node: TestNode): Promise<string> {
	return (await callJson<{ node: { status: string } }>(`/v1/nodes/${node.id}`)).body.node.status;
}

export interface FlipView {
	from: string;
	to: string;
	reason: string;
	incident_id: string | null;
	last_seen_at: string | null;
}

/**
 * The nodes were heard (a message) at `at` by their shards: what keepalives going on until a clock-driven `at` would
 * show. A Cluster bills a member only up to when it was last heard, so tests that drive a cluster's clock ahead drive
 * this too.
 */
export async function heardAt(nodeIds: string[], at: number): Promise<void> {
	for (const id of nodeIds) {
		const row = await env.DB.prepare("SELECT shard FROM nodes WHERE id = ?").bind(id).first<{ shard: string }>();
		if (!row) continue;
		await runInDurableObject<LivenessShard, void>(env.LIVENESS.getByName(row.shard), (o, state) => {
			const sockets = (o as unknown as { sockets: ShardSockets }).sockets;
			for (const ws of state.getWebSockets(id)) {
				const st = sockets.state(ws);
				if (st && !st.done) sockets.set(ws, { ...st, lastMessageAt: Math.max(st.lastMessageAt, at) });
			}
		});
	}
}

/** Moves a node's registration `ms` earlier, so back-dated connections fall inside its life (uptime counts from it). */
export async function registeredAgo(node: TestNode, ms: number): Promise<void> {
	await env.DB.prepare("UPDATE nodes SET created_at = created_at - ? WHERE id = ?").bind(ms, node.id).run();
}

/** A node's recorded flips, newest first (GET /v1/nodes/:id/flips). */
export async function nodeFlips(node: TestNode): Promise<FlipView[]> {
	return (await callJson<{ flips: FlipView[] }>(`/v1/nodes/${node.id}/flips`)).body.flips;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a truthy value (or gives up after `tries`), returning it. */
export async function eventually<T>(check: () => Promise<T>, tries = 100, everyMs = 100): Promise<T> {
	let last: T | undefined;
	for (let i = 0; i < tries; i++) {
		last = await check();
		if (last) return last;
		await sleep(everyMs);
	}
	throw new Error(`condition not met; last value ${JSON.stringify(last)}`);
}

/** Sends keepalives every `everyMs` until the returned function is called. */
export function keepAlive(link: Link, everyMs = 500): () => void {
	const timer = setInterval(() => {
		try {
			link.ws.send("ping");
		} catch {
			/* closed */
		}
	}, everyMs);
	return () => clearInterval(timer);
}

/**
 * Behaves like a healthy agent: keepalives, a right answer to every challenge, `ready` for every assignment. Returns a
 * stop function.
 */
export function healthyAgent(link: Link, node: TestNode): () => void {
	const stopPings = keepAlive(link);
	let stopped = false;
	const onMessage = async (e: MessageEvent) => {
		if (stopped || typeof e.data !== "string" || !e.data.startsWith("{")) return;
		const m = JSON.parse(e.data) as { type: string; id: string; nonce: string; cluster_id: string };
		if (m.type === "assign") return link.ws.send(JSON.stringify({ type: "ready", cluster_id: m.cluster_id }));
		if (m.type !== "challenge") return;
		const { echoAnswer } = await import("../../workers/domain/challenge.ts");
		link.ws.send(JSON.stringify({ type: "challenge_response", id: m.id, answer: await echoAnswer(node.id, m.nonce) }));
	};
	link.ws.addEventListener("message", onMessage);
	return () => {
		stopped = true;
		stopPings();
	};
}

// --- A shard's time, driven by the test instead of waited for ---

/** OFFLINE_AFTER_S of the tests (vitest.config.ts), in ms: silence longer than this is offline. */
export const OFFLINE_AFTER_MS = readConfig(env).liveness.offlineAfterS * 1000;

type Shard = DurableObjectStub<LivenessShard>;

/** The shard that holds a node. */
export async function shardOf(node: TestNode): Promise<Shard> {
	const { body } = await callJson<{ node: { shard: string } }>(`/v1/nodes/${node.id}`, { auth: node.owner.key });
	return env.LIVENESS.getByName(body.node.shard);
}

/** A clock that stands still at `at` until the test moves it. */
export class TestClock implements Clock {
	constructor(public at: number) {}

	now(): number {
		return this.at;
	}
}

/** Gives the shard's running instance this clock (starting the instance if none runs). */
export async function setClock(shard: Shard, clock: Clock): Promise<void> {
	await runInDurableObject<LivenessShard, void>(shard, (o) => {
		o.clock = clock;
	});
}

/**
 * Stops the clock of the shard's instance where it stands (starting the instance if none runs, as after an
 * eviction): the returned clock is at or after the instant the instance started.
 */
export async function stopClock(shard: Shard): Promise<TestClock> {
	const clock = new TestClock(0);
	await runInDurableObject<LivenessShard, void>(shard, (o) => {
		clock.at = o.clock.now();
		o.clock = clock;
	});
	return clock;
}

/** Runs the shard's sweep (what its alarm does) as of `at`. */
export async function sweepAt(shard: Shard, at: number): Promise<void> {
	await runInDurableObject<LivenessShard, void>(shard, (o) => o.sweep(at));
}

/**
 * Runs `fn` with the shard's clock set `ms` back, then gives the shard the wall clock again: what the shard saw during
 * `fn` (a connect, say) happened `ms` ago. A sweep is scheduled first (as the cron does), so that a back-dated connect
 * does not schedule one in the past.
 */
export async function backdated<T>(shard: Shard, ms: number, fn: () => Promise<T>): Promise<T> {
	await shard.wake(Date.now());
	await setClock(shard, new TestClock(Date.now() - ms));
	try {
		return await fn();
	} finally {
		await setClock(shard, systemClock);
	}
}

/** When the runtime last answered a keepalive on the node's socket (by its wall clock); 0 if never. */
export async function lastKeepalive(shard: Shard, nodeId: string): Promise<number> {
	return runInDurableObject<LivenessShard, number>(shard, (_, state) => {
		const ws = state.getWebSockets(nodeId).at(-1);
		return (ws && state.getWebSocketAutoResponseTimestamp(ws)?.getTime()) ?? 0;
	});
}

/** Sends one keepalive and waits for its pong: the runtime answers it and stamps it with its own (wall) clock. */
export async function ping(link: Link): Promise<void> {
	const pong = new Promise<void>((resolve) => {
		const onPong = (e: MessageEvent) => {
			if (e.data !== "pong") return;
			link.ws.removeEventListener("message", onPong);
			resolve();
		};
		link.ws.addEventListener("message", onPong);
	});
	link.ws.send("ping");
	await pong;
}

/** A `verify` challenge as the node receives it (docs/VERIFICATION.md §6). */
export interface VerifyMsg {
	id: string;
	seed: string;
	shape: Shape;
	deadline: string;
}

/**
 * Answers the link's next `verify` as an honest single-GPU agent: ack, commit to the reference solve
 * (workers/domain/matmul.ts), open the rows the reveal asks for. Returns the challenge.
 */
export async function answerVerify(link: Link): Promise<VerifyMsg> {
	const v = (await link.next("verify")) as unknown as VerifyMsg;
	const send = (m: object) => link.ws.send(JSON.stringify(m));
	send({ type: "verify_ack", id: v.id });
	const s = await solve(fromBase64url(v.seed) as Uint8Array, v.shape);
	send({ type: "verify_commit", id: v.id, root: s.root });
	const reveal = (await link.next("verify_reveal")) as unknown as { rows: number[] };
	const rows = s.open(reveal.rows).map(({ i, values, path }) => ({ i, values: wordsToBase64url(values), path }));
	send({ type: "verify_open", id: v.id, rows });
	return v;
}

/** Records the node's claim as verified (as a passed verification would), so it is not challenged at connect. */
export async function markVerified(node: TestNode, o: Partial<VerificationRecord> = {}): Promise<void> {
	await recordVerification(env.DB, node.id, {
		state: "verified",
		gpu_model: HARDWARE.gpu_model,
		gpu_count: HARDWARE.gpu_count,
		tier: "consumer-high",
		measured_ms: 1500,
		method: "matmul-freivalds-v1",
		reason: null,
		evidence: null,
		updated_at: Date.now(),
		...o,
	});
}
