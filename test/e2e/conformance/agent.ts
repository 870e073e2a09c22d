// A node agent written from docs/PROTOCOL.md alone, as an outside developer would write one: nothing here comes from
// agent/, workers/ or durable-objects/. It keeps a log of everything it sends and receives, with timestamps, so a
// test can hold every figure the coordinator publishes against what this side of the wire actually saw.
import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from "node:crypto";
import WebSocket from "ws";

/** How a node answers `challenge` (PROTOCOL §2 "Availability challenges"). */
export type Policy = "right" | "wrong" | "never" | "right-then-disconnect";

/**
 * What a `right-then-disconnect` agent does with the next challenge once armed: answer it right and close at once
 * (the answer is on the wire, its result never told), or close instead of answering (the challenge is left pending);
 * `now` is a close at a moment the test picks, whatever is pending.
 */
export type DepartureMode = "after-answer" | "instead-of-answer" | "now";

export interface Identity {
	privateKey: KeyObject;
	/** PROTOCOL §1: the raw 32-byte Ed25519 public key, base64url without padding (43 characters). */
	publicKey: string;
}

export function newIdentity(): Identity {
	const { privateKey, publicKey } = generateKeyPairSync("ed25519");
	const jwk = publicKey.export({ format: "jwk" }) as { x: string };
	return { privateKey, publicKey: jwk.x };
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

/** PROTOCOL §1: an EdDSA JWT the node signs itself, new for every connection attempt. */
export function mintToken(nodeId: string, key: KeyObject, nowMs = Date.now()): string {
	const iat = Math.floor(nowMs / 1000);
	// Well inside the 300 s ceiling so a few seconds of clock skew never make it "too long".
	const claims = { sub: nodeId, aud: "pulsegrid", iat, exp: iat + 240, jti: randomUUID() };
	const signingInput = `${b64url(JSON.stringify({ alg: "EdDSA", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
	// Ed25519 signs the message itself (no pre-hash), hence the null algorithm.
	return `${signingInput}.${b64url(sign(null, Buffer.from(signingInput), key))}`;
}

/** PROTOCOL §2: base64url(SHA-256("pulsegrid-echo:" + node_id + ":" + nonce)), UTF-8, no padding. */
export function echoAnswer(nodeId: string, nonce: string): string {
	return createHash("sha256").update(`pulsegrid-echo:${nodeId}:${nonce}`, "utf8").digest("base64url");
}

export interface Welcome {
	type: "welcome";
	node_id: string;
	heartbeat_interval_s: number;
	offline_after_s: number;
	server_time: string;
	status: string;
}

export interface ResultSeen {
	id: string;
	passed: boolean;
	outcome: "passed" | "failed" | "missed";
	epoch: number;
	conn: number;
	at: number;
}

export interface ChallengeSeen {
	id: string;
	kind: string;
	nonce: string;
	deadline: number;
	conn: number;
	receivedAt: number;
	/** Set when this agent sent a `challenge_response`; `right` says whether it was the echo rule's answer. */
	answer?: { at: number; right: boolean };
	result?: ResultSeen;
}

export interface Connection {
	n: number;
	/** When the upgrade request was sent: a connect is heard somewhere between this and `openAt`. */
	attemptAt: number;
	openAt?: number;
	welcome?: Welcome;
	closedAt?: number;
	closeCode?: number;
	/** `agent`: this side sent the close (bye, departure, dead connection); `server`: the socket ended under us. */
	closedBy?: "agent" | "server";
	why?: string;
	/** An upgrade the server refused or a connection that never opened (coordinator down). */
	failure?: string;
}

/** One frame this agent put on the wire, with when: the raw material for checking `last_seen_at`. */
export interface Sent {
	at: number;
	conn: number;
	/** `close`: the close frame this side sent (a node that closes is heard closing). */
	what: "ping" | "challenge_response" | "ready" | "bye" | "close";
}

export interface Received {
	at: number;
	conn: number;
	type: string;
	msg: Record<string, unknown> | string;
}

export interface AgentOptions {
	/** The coordinator's base URL, `http://…` or `https://…`. */
	url: string;
	nodeId: string;
	privateKey: KeyObject;
	policy: Policy;
	/**
	 * The reconnect backoff's ceiling. PROTOCOL §2 says 60 s; a test may lower it so that agents come back within
	 * seconds of a restart instead of up to a minute later. The full-jitter rule itself is kept.
	 */
	backoffCapMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ConformanceAgent {
	readonly nodeId: string;
	readonly policy: Policy;
	readonly connections: Connection[] = [];
	readonly challenges = new Map<string, ChallengeSeen>();
	readonly results: ResultSeen[] = [];
	readonly sent: Sent[] = [];
	readonly pongs: { at: number; conn: number }[] = [];
	readonly received: Received[] = [];
	readonly departures: { at: number; conn: number; mode: DepartureMode; challenge: string }[] = [];

	private readonly url: string;
	private readonly key: KeyObject;
	private readonly backoffCapMs: number;
	private ws: WebSocket | undefined;
	private current: Connection | undefined;
	private attempt = 0;
	private awayUntil = 0;
	private stopped = false;
	private armed: { mode: DepartureMode; awayMs: number } | undefined;
	private held: (() => void) | undefined;
	private holding = false;
	private timers: NodeJS.Timeout[] = [];
	private waiters: (() => void)[] = [];

	constructor(o: AgentOptions) {
		this.url = o.url.replace(/^http/, "ws");
		this.nodeId = o.nodeId;
		this.key = o.privateKey;
		this.policy = o.policy;
		this.backoffCapMs = o.backoffCapMs ?? 60_000;
	}

	start(): void {
		this.connect();
	}

	/**
	 * The next challenge makes this agent leave (see `DepartureMode`), as an operator restarting its agent would: it
	 * stays away `awayMs`, then reconnects as after any close.
	 */
	armDeparture(mode: DepartureMode, awayMs = 0): void {
		if (this.policy !== "right-then-disconnect") throw new Error(`${this.nodeId}: policy ${this.policy} never departs`);
		this.armed = { mode, awayMs };
	}

	/** Closes now (no `bye`), as an operator stopping its agent would, and stays away `awayMs` before reconnecting. */
	leaveNow(awayMs: number): void {
		const conn = this.current;
		if (!conn || !this.isOpen) throw new Error(`${this.nodeId}: not connected`);
		this.awayUntil = Date.now() + awayMs;
		this.departures.push({ at: Date.now(), conn: conn.n, mode: "now", challenge: "" });
		this.closeOurselves("departure (now)");
	}

	/** The machine is down: after the next close, no reconnect until `release()` (a node that does not come back). */
	hold(): void {
		this.holding = true;
	}

	release(): void {
		this.holding = false;
		this.held?.();
		this.held = undefined;
	}

	get isOpen(): boolean {
		return this.ws?.readyState === WebSocket.OPEN && this.current?.welcome !== undefined;
	}

	/** Resolves when `check` holds, re-checked on every frame and every close; throws after `timeoutMs`. */
	async until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (!check()) {
			if (Date.now() > deadline) throw new Error(`${this.nodeId}: timed out waiting for ${what}`);
			await new Promise<void>((resolve) => {
				this.waiters.push(resolve);
				setTimeout(resolve, 250);
			});
		}
	}

	/** PROTOCOL §2 "Other messages": `bye`, then close; the node is offline at once and never reconnects. */
	async bye(reason = "conformance test done"): Promise<void> {
		this.stopped = true;
		for (const t of this.timers.splice(0)) clearTimeout(t);
		const ws = this.ws;
		if (ws && ws.readyState === WebSocket.OPEN) {
			this.send({ type: "bye", reason }, "bye");
			this.closeOurselves("bye");
			await new Promise<void>((resolve) => {
				if (ws.readyState === WebSocket.CLOSED) resolve();
				else ws.once("close", () => resolve());
				setTimeout(resolve, 3000); // a peer that never completes the closing handshake must not hang the test
			});
		} else ws?.terminate();
	}

	private notify(): void {
		for (const w of this.waiters.splice(0)) w();
	}

	private connect(): void {
		if (this.stopped) return;
		const conn: Connection = { n: this.connections.length + 1, attemptAt: Date.now() };
		this.connections.push(conn);
		this.current = conn;
		const ws = new WebSocket(`${this.url}/v1/nodes/${this.nodeId}/connect`, {
			headers: { authorization: `Bearer ${mintToken(this.nodeId, this.key, conn.attemptAt)}` },
		});
		this.ws = ws;
		let upSince = 0;
		let resetTimer: NodeJS.Timeout | undefined;
		let pingTimer: NodeJS.Timeout | undefined;
		ws.on("open", () => {
			conn.openAt = Date.now();
			upSince = conn.openAt;
			// PROTOCOL: reset `attempt` once a connection has stayed up for 30 s.
			resetTimer = setTimeout(() => {
				this.attempt = 0;
			}, 30_000);
		});
		ws.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
			const at = Date.now();
			if (isBinary) return;
			const text = data.toString();
			if (text === "pong") {
				this.pongs.push({ at, conn: conn.n });
				this.received.push({ at, conn: conn.n, type: "pong", msg: text });
				this.notify();
				return;
			}
			let msg: Record<string, unknown>;
			try {
				msg = JSON.parse(text) as Record<string, unknown>;
			} catch {
				this.received.push({ at, conn: conn.n, type: "unparsable", msg: text });
				return;
			}
			const type = typeof msg.type === "string" ? msg.type : "untyped";
			this.received.push({ at, conn: conn.n, type, msg });
			if (type === "welcome") {
				conn.welcome = msg as unknown as Welcome;
				pingTimer = this.keepalive(ws, conn);
			} else if (type === "challenge") this.onChallenge(ws, conn, msg, at);
			else if (type === "challenge_result") this.onResult(conn, msg, at);
			else if (type === "assign") this.send({ type: "ready", cluster_id: msg.cluster_id }, "ready");
			// `release`, `error` and any type this agent does not know are only logged (PROTOCOL: ignore unknown types).
			this.notify();
		});
		ws.on("error", (err: Error) => {
			conn.failure ??= err.message;
		});
		ws.on("close", (code: number) => {
			conn.closedAt = Date.now();
			conn.closeCode = code;
			conn.closedBy ??= "server";
			clearTimeout(resetTimer);
			clearInterval(pingTimer);
			if (this.ws === ws) this.ws = undefined;
			this.notify();
			if (upSince && conn.closedAt - upSince >= 30_000) this.attempt = 0;
			// 4001: another process holds this identity; 4002: the node was deleted. Neither may reconnect.
			if (this.stopped || code === 4001 || code === 4002) return;
			const away = this.awayUntil - Date.now();
			if (this.holding) this.held = () => this.reconnectLater();
			else if (away > 0) this.timers.push(setTimeout(() => this.reconnectLater(), away));
			else this.reconnectLater();
		});
	}

	/** PROTOCOL "Reconnecting": full jitter, a random wait in [0, min(cap, 1 s × 2^attempt)). */
	private reconnectLater(): void {
		const window = Math.min(this.backoffCapMs, 1000 * 2 ** this.attempt);
		this.attempt++;
		const t = setTimeout(() => this.connect(), Math.random() * window);
		this.timers.push(t);
	}

	/** The text frame `ping` every `heartbeat_interval_s`; no `pong` for three intervals means a dead connection. */
	private keepalive(ws: WebSocket, conn: Connection): NodeJS.Timeout {
		const intervalMs = (conn.welcome?.heartbeat_interval_s ?? 10) * 1000;
		let lastPong = Date.now();
		return setInterval(() => {
			const last = this.pongs.at(-1);
			if (last && last.conn === conn.n) lastPong = Math.max(lastPong, last.at);
			if (Date.now() - lastPong > 3 * intervalMs) {
				this.closeOurselves("no pong for three intervals");
				return;
			}
			if (ws.readyState !== WebSocket.OPEN) return;
			ws.send("ping");
			this.sent.push({ at: Date.now(), conn: conn.n, what: "ping" });
		}, intervalMs);
	}

	private onChallenge(ws: WebSocket, conn: Connection, msg: Record<string, unknown>, at: number): void {
		const c: ChallengeSeen = {
			id: String(msg.id),
			kind: String(msg.kind),
			nonce: String(msg.nonce),
			deadline: Date.parse(String(msg.deadline)),
			conn: conn.n,
			receivedAt: at,
		};
		this.challenges.set(c.id, c);
		// PROTOCOL: an unknown kind is ignored (and counts as missed).
		if (c.kind !== "echo-sha256" || this.policy === "never") return;
		const departing = this.policy === "right-then-disconnect" ? this.armed?.mode : undefined;
		if (departing) {
			this.awayUntil = at + (this.armed?.awayMs ?? 0);
			this.armed = undefined;
			this.departures.push({ at, conn: conn.n, mode: departing, challenge: c.id });
		}
		if (departing !== "instead-of-answer") {
			const right = this.policy !== "wrong";
			const answer = right ? echoAnswer(this.nodeId, c.nonce) : echoAnswer(this.nodeId, `${c.nonce}-wrong`);
			if (ws.readyState === WebSocket.OPEN) {
				this.send({ type: "challenge_response", id: c.id, answer }, "challenge_response");
				c.answer = { at: Date.now(), right };
			}
		}
		if (departing) this.closeOurselves(`departure (${departing})`);
	}

	private onResult(conn: Connection, msg: Record<string, unknown>, at: number): void {
		const r: ResultSeen = {
			id: String(msg.id),
			passed: msg.passed === true,
			outcome: msg.outcome as ResultSeen["outcome"],
			epoch: Number(msg.epoch),
			conn: conn.n,
			at,
		};
		this.results.push(r);
		const c = this.challenges.get(r.id);
		if (c) c.result = r;
	}

	private send(msg: Record<string, unknown>, what: Sent["what"]): void {
		const ws = this.ws;
		const conn = this.current;
		if (!ws || !conn || ws.readyState !== WebSocket.OPEN) return;
		ws.send(JSON.stringify(msg));
		this.sent.push({ at: Date.now(), conn: conn.n, what });
	}

	private closeOurselves(why: string): void {
		const conn = this.current;
		if (conn && conn.closedBy === undefined) {
			conn.closedBy = "agent";
			conn.why = why;
		}
		if (this.ws?.readyState === WebSocket.OPEN && conn) this.sent.push({ at: Date.now(), conn: conn.n, what: "close" });
		this.ws?.close(1000, why.slice(0, 100));
	}

	/** Stops everything without a word (test teardown after a failure). */
	async kill(): Promise<void> {
		this.stopped = true;
		for (const t of this.timers.splice(0)) clearTimeout(t);
		this.ws?.terminate();
		await sleep(0);
	}
}
