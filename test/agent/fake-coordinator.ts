// A stand-in coordinator for agent tests: a real HTTP + WebSocket server that verifies node tokens like the real one.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { importJWK, jwtVerify } from "jose";
import { WebSocketServer, type WebSocket } from "ws";
import { createHash, randomBytes } from "node:crypto";
import { bandwidthOf, mbpsOf, type BandwidthSample } from "../../workers/domain/bandwidth.ts";

export interface FakeSocket {
	ws: WebSocket;
	jti: string;
	/** The upgrade request's `x-pulsegrid-gpu-uuids` header, if the agent sent one. */
	gpuUuids: string | null;
	/** Text frames received from the agent, in order. */
	frames: string[];
	closed: Promise<{ code: number; reason: string }>;
	/** Resolves with the first frame (already received or future) that matches. */
	frame(match: (f: string) => boolean): Promise<string>;
	/** The JSON messages received so far, parsed, in order (keepalive frames left out). */
	messages(): Record<string, unknown>[];
	/** Resolves with the first JSON message (already received or future) of this type and id (if given), parsed. */
	message(type: string, id?: string): Promise<Record<string, unknown>>;
	/** Sends a JSON message to the agent. */
	send(message: Record<string, unknown>): void;
}

export interface FakeOptions {
	nodeId: string;
	publicKey: string;
	/** Decides each upgrade: a status to refuse it with (e.g. 401), or null to accept. `n` counts attempts from 0. */
	refuse?: (n: number) => number | null;
	/** Answer "ping" with "pong" (the real coordinator's runtime does). Default true. */
	pong?: boolean;
	/** Sent on accept; null sends no welcome. */
	welcome?: Record<string, unknown> | null;
	/** POST /v1/nodes accepts this API key and registers the node as `nodeId`. */
	apiKey?: string;
	/** Handles POST /v1/nodes/:id/heartbeat; receives the parsed body (the beat is recorded before it answers). */
	heartbeat?: (body: unknown, n: number) => HeartbeatAnswer | Promise<HeartbeatAnswer>;
	/** Serves the bandwidth test routes (docs/VERIFICATION.md §12), timing transfers with its own clock. */
	bandwidth?: FakeBandwidth;
}

export interface FakeBandwidth {
	/** The download blob's size (default 1 MiB, so tests stay quick). */
	downloadBytes?: number;
	/** Answers a request instead of serving it (e.g. a 429); `n` counts that kind of request from 0. */
	refuse?: (kind: "upload" | "download" | "answer", n: number) => HeartbeatAnswer | null;
	/** Waits this many ms before reading a request (a slow link), by kind and count. */
	delayMs?: (kind: "upload" | "download" | "answer", n: number) => number;
}

export interface FakeUpload {
	bytes: number;
	contentLength: string | undefined;
	contentType: string | undefined;
	contentEncoding: string | undefined;
}

export interface HeartbeatAnswer {
	status: number;
	body: unknown;
}

export interface FakeCoordinator {
	url: string;
	/** Every token presented, accepted or not. */
	jtis: string[];
	sockets: FakeSocket[];
	beats: unknown[];
	/** Bodies of POST /v1/nodes. */
	registrations: unknown[];
	/** Bandwidth uploads received, and the hashes download tests were answered with (`right` if it matched). */
	uploads: FakeUpload[];
	downloadAnswers: { test: string; sha256: string; right: boolean }[];
	/** Every request to a bandwidth route, in order ("upload", "download", "answer"). */
	bandwidthCalls: string[];
	nextSocket(): Promise<FakeSocket>;
	close(): Promise<void>;
}

export async function startFakeCoordinator(o: FakeOptions): Promise<FakeCoordinator> {
	const key = await importJWK({ kty: "OKP", crv: "Ed25519", x: o.publicKey }, "EdDSA");
	const wss = new WebSocketServer({ noServer: true });
	const jtis: string[] = [];
	const sockets: FakeSocket[] = [];
	const beats: unknown[] = [];
	const registrations: unknown[] = [];
	const uploads: FakeUpload[] = [];
	const downloadAnswers: { test: string; sha256: string; right: boolean }[] = [];
	const bandwidthCalls: string[] = [];
	const samples: BandwidthSample[] = [];
	const tests = new Map<string, { sha256: string; bytes: number; at: number }>();
	const waiters: ((s: FakeSocket) => void)[] = [];
	let attempts = 0;

	async function verify(req: IncomingMessage): Promise<string | null> {
		const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
		if (!token) return null;
		try {
			const { payload } = await jwtVerify(token, key, {
				algorithms: ["EdDSA"],
				subject: o.nodeId,
				audience: "pulsegrid",
			});
			if (typeof payload.jti !== "string" || jtis.includes(payload.jti)) return null; // replays refused
			jtis.push(payload.jti);
			return payload.jti;
		} catch {
			return null;
		}
	}

	function refuse(res: ServerResponse | import("node:stream").Duplex, status: number, code: string, message: string) {
		const body = JSON.stringify({ error: { code, message } });
		if ("writeHead" in res) {
			res.writeHead(status, { "content-type": "application/json" }).end(body);
		} else {
			res.end(
				`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\n` +
					`content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
			);
		}
	}

	const server = createServer(async (req, res) => {
		if (req.method === "POST" && req.url === `/v1/nodes/${o.nodeId}/heartbeat`) {
			let text = "";
			for await (const chunk of req) text += chunk;
			const jti = await verify(req);
			if (!jti) return refuse(res, 401, "unauthorized", "bad node token");
			const body = JSON.parse(text || "{}");
			beats.push(body);
			const answer = (await o.heartbeat?.(body, beats.length - 1)) ?? {
				status: 200,
				body: { status: "online", next_heartbeat_s: 0.05, challenge: null, results: [] },
			};
			res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
			return;
		}
		if (req.method === "POST" && req.url === "/v1/nodes") {
			let text = "";
			for await (const chunk of req) text += chunk;
			if (!o.apiKey || req.headers.authorization !== `Bearer ${o.apiKey}`)
				return refuse(res, 401, "unauthorized", "The API key is not valid.");
			const body = JSON.parse(text) as { name: string; hardware: unknown; region?: string };
			registrations.push(body);
			const node = {
				id: o.nodeId,
				name: body.name,
				status: "new",
				region: body.region ?? null,
				hardware: body.hardware,
			};
			res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ node }));
			return;
		}
		const bw = o.bandwidth && req.method === "POST" ? bandwidthRoute(req.url ?? "") : null;
		if (bw && o.bandwidth) return serveBandwidth(req, res, bw, o.bandwidth);
		refuse(res, 404, "not_found", `No route ${req.method} ${req.url}`);
	});

	function bandwidthRoute(url: string): { kind: "upload" | "download" | "answer"; test?: string } | null {
		const prefix = `/v1/nodes/${o.nodeId}/bandwidth/`;
		if (!url.startsWith(prefix)) return null;
		const tail = url.slice(prefix.length);
		if (tail === "upload" || tail === "download") return { kind: tail };
		const m = /^download\/(bwt_[\w-]+)$/.exec(tail);
		return m ? { kind: "answer", test: m[1] as string } : null;
	}

	/** The bandwidth routes as the coordinator serves them, with a fake's shortcuts (no limits, no expiry). */
	async function serveBandwidth(
		req: IncomingMessage,
		res: ServerResponse,
		route: { kind: "upload" | "download" | "answer"; test?: string },
		b: FakeBandwidth,
	) {
		const started = Date.now();
		const n = bandwidthCalls.filter((k) => k === route.kind).length;
		bandwidthCalls.push(route.kind);
		const delay = b.delayMs?.(route.kind, n) ?? 0;
		if (delay > 0) await new Promise((r) => setTimeout(r, delay));
		const chunks: Buffer[] = [];
		try {
			for await (const chunk of req) chunks.push(chunk as Buffer);
		} catch {
			return; // the agent gave the transfer up
		}
		const body = Buffer.concat(chunks);
		const jti = await verify(req);
		if (!jti) return refuse(res, 401, "unauthorized", "bad node token");
		const refused = b.refuse?.(route.kind, n);
		if (refused) {
			const headers: Record<string, string> = { "content-type": "application/json" };
			const retry = (refused.body as { error?: { retry_after?: number } }).error?.retry_after;
			if (retry !== undefined) headers["retry-after"] = String(retry);
			return res.writeHead(refused.status, headers).end(JSON.stringify(refused.body));
		}
		const record = (s: BandwidthSample) => {
			samples.push(s);
			const answer = { ...s, mbps: Math.round(mbpsOf(s.bytes, s.ms) * 10) / 10, bandwidth: bandwidthOf(samples) };
			res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
		};
		if (route.kind === "upload") {
			uploads.push({
				bytes: body.length,
				contentLength: req.headers["content-length"],
				contentType: req.headers["content-type"],
				contentEncoding: req.headers["content-encoding"],
			});
			return record({ direction: "up", bytes: body.length, ms: Date.now() - started, at: Date.now() });
		}
		if (route.kind === "download") {
			const blob = randomBytes(b.downloadBytes ?? 1 << 20);
			const id = `bwt_${randomBytes(6).toString("hex")}`;
			tests.set(id, { sha256: createHash("sha256").update(blob).digest("hex"), bytes: blob.length, at: Date.now() });
			res.writeHead(200, { "content-type": "application/octet-stream", "x-pulsegrid-bandwidth-test": id }).end(blob);
			return;
		}
		const test = tests.get(route.test as string);
		tests.delete(route.test as string);
		if (!test) return refuse(res, 404, "not_found", "No such download test.");
		const sha256 = String((JSON.parse(body.toString() || "{}") as { sha256?: unknown }).sha256);
		downloadAnswers.push({ test: route.test as string, sha256, right: sha256 === test.sha256 });
		if (sha256 !== test.sha256) return refuse(res, 422, "unprocessable", "wrong hash");
		record({ direction: "down", bytes: test.bytes, ms: Date.now() - test.at, at: Date.now() });
	}

	server.on("upgrade", async (req, socket, head) => {
		const n = attempts++;
		const jti = await verify(req);
		if (req.url !== `/v1/nodes/${o.nodeId}/connect`) return refuse(socket, 404, "not_found", "No node.");
		if (!jti) return refuse(socket, 401, "unauthorized", "The node token is not valid.");
		const status = o.refuse?.(n) ?? null;
		if (status !== null)
			return refuse(socket, status, status === 401 ? "unauthorized" : "refused", `refused with ${status}`);
		wss.handleUpgrade(req, socket, head, (ws) => {
			const frames: string[] = [];
			const frameWaiters: { match: (f: string) => boolean; resolve: (f: string) => void }[] = [];
			const fake: FakeSocket = {
				ws,
				jti,
				gpuUuids: (req.headers["x-pulsegrid-gpu-uuids"] as string | undefined) ?? null,
				frames,
				closed: new Promise((resolve) =>
					ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
				),
				frame(match) {
					const seen = frames.find(match);
					return seen !== undefined
						? Promise.resolve(seen)
						: new Promise((resolve) => frameWaiters.push({ match, resolve }));
				},
				messages: () => frames.filter((f) => f.startsWith("{")).map((f) => JSON.parse(f)),
				async message(type, id) {
					const text = await fake.frame((f) => {
						if (!f.startsWith("{")) return false;
						const m = JSON.parse(f) as Record<string, unknown>;
						return m.type === type && (id === undefined || m.id === id);
					});
					return JSON.parse(text);
				},
				send: (message) => ws.send(JSON.stringify(message)),
			};
			ws.on("message", (data) => {
				const text = data.toString();
				frames.push(text);
				if (text === "ping" && o.pong !== false) ws.send("pong");
				for (const w of frameWaiters.splice(0)) {
					if (w.match(text)) w.resolve(text);
					else frameWaiters.push(w);
				}
			});
			const welcome = o.welcome === undefined ? { heartbeat_interval_s: 0.05, offline_after_s: 1 } : o.welcome;
			if (welcome)
				ws.send(
					JSON.stringify({
						type: "welcome",
						node_id: o.nodeId,
						server_time: new Date().toISOString(),
						status: "online",
						...welcome,
					}),
				);
			sockets.push(fake);
			waiters.shift()?.(fake);
		});
	});

	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	let handed = 0;
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		jtis,
		sockets,
		beats,
		registrations,
		uploads,
		downloadAnswers,
		bandwidthCalls,
		nextSocket() {
			const i = handed++;
			const s = sockets[i];
			return s ? Promise.resolve(s) : new Promise((resolve) => waiters.push(resolve));
		},
		async close() {
			for (const c of wss.clients) c.terminate();
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
