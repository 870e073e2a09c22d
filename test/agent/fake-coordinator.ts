// A stand-in coordinator for agent tests: a real HTTP + WebSocket server that verifies node tokens like the real one.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { importJWK, jwtVerify } from "jose";
import { WebSocketServer, type WebSocket } from "ws";

export interface FakeSocket {
	ws: WebSocket;
	jti: string;
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
		refuse(res, 404, "not_found", `No route ${req.method} ${req.url}`);
	});

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
