// The adversarial fleet at run time: each identity's real WebSocket behind its simulated line, speaking the real
// verification protocol, its commit held back until its simulated card would have finished (shared cards divide
// their throughput among the identities they serve), with the real answer computed by the solver threads.
import WebSocket from "ws";
import type { TokenSigner } from "../agent/identity.ts";
import { fromBase64url, echoAnswer } from "../workers/domain/challenge.ts";
import { type Shape, wordsToBase64url } from "../workers/domain/matmul.ts";
import type { IdentityPlan } from "./adversarial-plan.ts";
import { garbageRows } from "./adversarial-score.ts";
import type { SolverPool } from "./adversarial-solver.ts";
import { challengeWork, DEVICE_MODEL, type DeviceQueue, Line } from "./devices.ts";

/** One simulated card at run time: the pure queue, and one timer pointing at its next finish. */
export class SimDevice {
	private readonly q: DeviceQueue;
	private readonly waiters = new Map<string, (at: number) => void>();
	private timer: NodeJS.Timeout | null = null;
	busyMax = 0;

	constructor(q: DeviceQueue) {
		this.q = q;
	}

	/** Resolves with the moment the card finishes `work` (multiply-adds), sharing it with whatever else runs. */
	run(id: string, work: number): Promise<number> {
		return new Promise((resolve) => {
			this.waiters.set(id, resolve);
			this.settle(this.q.submit(id, work, Date.now()));
			this.busyMax = Math.max(this.busyMax, this.q.busy);
		});
	}

	/** Stops a job (its challenge is over); its waiter hears NaN. */
	cancel(id: string): void {
		const waiter = this.waiters.get(id);
		this.waiters.delete(id);
		waiter?.(Number.NaN);
		this.settle(this.q.cancel(id, Date.now()));
	}

	/** When `work` started now would finish on this card alone: the solver threads' priority. */
	soloFinish(work: number): number {
		return Date.now() + work / this.q.perMs;
	}

	private settle(done: { id: string; at: number }[]): void {
		for (const d of done) {
			this.waiters.get(d.id)?.(d.at);
			this.waiters.delete(d.id);
		}
		if (this.timer) clearTimeout(this.timer);
		const next = this.q.nextFinish();
		this.timer = next === null ? null : setTimeout(() => this.settle(this.q.advance(Date.now())), next - Date.now());
	}
}

/** One challenge part as this identity lived it (times are the bench's clock, ms). */
export interface PartRecord {
	id: string;
	context: string;
	/** The challenge reached the bench's socket, and the node (after the line's delay). */
	wireAt: number;
	receivedAt: number;
	/** The ack left the bench's socket. */
	ackWireAt: number | null;
	/** The card would have finished / the real answer was ready / the commit was sent. */
	deviceAt: number | null;
	computedAt: number | null;
	commitSentAt: number | null;
	/** The commit left the bench's socket (after the line's delay). */
	commitWireAt: number | null;
	/** How much later than the card the real arithmetic was ready (the bench's own lag), ms. */
	overrunMs: number | null;
	revealed: boolean;
	opened: boolean;
}

export interface ResultRecord {
	at: number;
	context: string;
	state: string;
	reason: string | null;
	measured_ms: number | null;
}

export interface Coordinates {
	url: string;
	/** The current phase (a connect wave or a round), stamped on every challenge that arrives. */
	phase: () => string;
	pool: SolverPool;
}

export class AdvNode {
	readonly plan: IdentityPlan;
	readonly nodeId: string;
	readonly apiKey: string;
	private readonly signer: TokenSigner;
	private readonly device: SimDevice;
	private readonly up: Line;
	private readonly down: Line;
	private readonly c: Coordinates;
	ws: WebSocket | null = null;
	welcomeAt: number | null = null;
	heartbeatMs = 10_000;
	nextPingAt = 0;
	readonly parts: PartRecord[] = [];
	readonly results: ResultRecord[] = [];
	/** Challenges in progress on this connection. */
	private readonly live = new Map<string, PartRecord>();
	readonly counts = { welcomes: 0, verify: 0, errors: 0, closedByServer: 0 };

	constructor(
		plan: IdentityPlan,
		reg: { nodeId: string; apiKey: string; signer: TokenSigner },
		device: SimDevice,
		random: () => number,
		c: Coordinates,
	) {
		this.plan = plan;
		this.nodeId = reg.nodeId;
		this.apiKey = reg.apiKey;
		this.signer = reg.signer;
		this.device = device;
		this.up = new Line(plan.line, random);
		this.down = new Line(plan.line, random);
		this.c = c;
	}

	get spikes(): number {
		return this.up.spikes + this.down.spikes;
	}

	/** A challenge is being worked on, or waits for its result. */
	get verifying(): boolean {
		return this.live.size > 0;
	}

	/** Connects from the identity's address, reporting its UUIDs; resolves at "welcome" (true) or failure. */
	async connect(timeoutMs = 20_000): Promise<boolean> {
		const token = await this.signer.mint();
		return new Promise((resolve) => {
			const ws = new WebSocket(`${this.c.url.replace(/^http/, "ws")}/v1/nodes/${this.nodeId}/connect`, {
				headers: {
					authorization: `Bearer ${token}`,
					"cf-connecting-ip": this.plan.address,
					"x-pulsegrid-gpu-uuids": this.plan.uuids.join(","),
				},
				perMessageDeflate: false,
				handshakeTimeout: timeoutMs,
			});
			this.ws = ws;
			this.welcomeAt = null;
			let settled = false;
			const settle = (ok: boolean) => {
				if (!settled) resolve(ok);
				settled = true;
			};
			const timer = setTimeout(() => {
				ws.terminate();
				settle(false);
			}, timeoutMs);
			ws.on("message", (data) => {
				const text = data.toString();
				if (text === "pong") return;
				// Everything the coordinator sends crosses the line down to the node first.
				const wireAt = Date.now();
				const at = this.down.arrival(wireAt);
				const welcomed = () => {
					clearTimeout(timer);
					settle(true);
				};
				setTimeout(() => this.onMessage(ws, text, welcomed, wireAt), at - Date.now());
			});
			ws.on("close", () => {
				clearTimeout(timer);
				if (settled && this.ws === ws) this.counts.closedByServer++;
				this.endAll();
				settle(false);
			});
			ws.on("unexpected-response", (_req, res) => {
				res.resume();
				ws.terminate();
				settle(false);
			});
			ws.on("error", () => settle(false));
		});
	}

	/** Closes cleanly (an operator's restart); challenges in progress are abandoned. */
	close(): Promise<void> {
		const ws = this.ws;
		this.ws = null;
		this.endAll();
		if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
		return new Promise((resolve) => {
			ws.once("close", () => resolve());
			ws.close(1000, "bench: restart");
			setTimeout(() => {
				ws.terminate();
				resolve();
			}, 3000).unref();
		});
	}

	/** Sends across the line up to the coordinator (in order, after its delay). */
	send(ws: WebSocket, message: Record<string, unknown> | string, onWire?: (at: number) => void): void {
		const at = this.up.arrival(Date.now());
		const text = typeof message === "string" ? message : JSON.stringify(message);
		setTimeout(() => {
			if (ws.readyState !== WebSocket.OPEN) return;
			ws.send(text);
			onWire?.(Date.now());
		}, at - Date.now());
	}

	ping(now: number): void {
		if (this.ws?.readyState !== WebSocket.OPEN || this.welcomeAt === null) return;
		this.nextPingAt = now + this.heartbeatMs;
		this.ws.send("ping");
	}

	private onMessage(ws: WebSocket, text: string, welcomed: () => void, wireAt: number): void {
		let msg: Record<string, unknown>;
		try {
			msg = JSON.parse(text) as Record<string, unknown>;
		} catch {
			return;
		}
		if (msg.type === "welcome") {
			this.welcomeAt = Date.now();
			this.counts.welcomes++;
			this.heartbeatMs = Number(msg.heartbeat_interval_s) * 1000 || 10_000;
			this.nextPingAt = this.welcomeAt + Math.random() * this.heartbeatMs;
			welcomed();
		} else if (msg.type === "challenge") {
			void echoAnswer(this.nodeId, String(msg.nonce)).then((answer) =>
				this.send(ws, { type: "challenge_response", id: String(msg.id), answer }),
			);
		} else if (msg.type === "verify") void this.verify(ws, msg, wireAt);
		else if (msg.type === "verify_reveal") void this.reveal(ws, msg);
		else if (msg.type === "verify_result") this.result(msg);
		else if (msg.type === "error") this.counts.errors++;
	}

	private async verify(ws: WebSocket, msg: Record<string, unknown>, wireAt: number): Promise<void> {
		const id = String(msg.id);
		const now = Date.now();
		this.counts.verify++;
		const part: PartRecord = {
			id,
			context: this.c.phase(),
			wireAt,
			receivedAt: now,
			ackWireAt: null,
			deviceAt: null,
			computedAt: null,
			commitSentAt: null,
			commitWireAt: null,
			overrunMs: null,
			revealed: false,
			opened: false,
		};
		const ack = () =>
			this.send(ws, { type: "verify_ack", id }, (at) => {
				part.ackWireAt = at;
			});
		if (this.plan.ackHoldMs > 0) setTimeout(ack, this.plan.ackHoldMs);
		else ack();
		this.parts.push(part);
		this.live.set(id, part);
		const seed = fromBase64url(msg.seed);
		const shape = msg.shape as Shape;
		// The card does the real size of the claimed model's challenge (a partial computer only its share of rows).
		const jitter = 1 + (Math.random() * 2 - 1) * DEVICE_MODEL.jitter;
		const work = challengeWork(this.plan.claim) * (this.plan.fraction ?? 1) * jitter;
		const garbage = this.plan.fraction === null ? 0 : garbageRows(shape.rows, this.plan.fraction);
		const job = `${this.nodeId}:${id}`;
		const card = this.device.run(job, work);
		const due = this.device.soloFinish(work);
		let root: string;
		try {
			const [deviceAt, computed] = await Promise.all([
				card.then((at) => (part.deviceAt = at)),
				this.c.pool.commit(job, seed as Uint8Array, shape, garbage, due).then((r) => {
					part.computedAt = Date.now();
					return r;
				}),
			]);
			root = computed;
			if (Number.isNaN(deviceAt)) return this.c.pool.drop(job);
			part.overrunMs = Math.max(0, (part.computedAt ?? deviceAt) - deviceAt);
		} catch {
			return;
		}
		if (!this.live.has(id) || this.ws !== ws) return this.c.pool.drop(job);
		part.commitSentAt = Date.now();
		this.send(ws, { type: "verify_commit", id, root }, (at) => {
			part.commitWireAt = at;
		});
	}

	private async reveal(ws: WebSocket, msg: Record<string, unknown>): Promise<void> {
		const id = String(msg.id);
		const part = this.live.get(id);
		if (!part) return;
		part.revealed = true;
		try {
			const rows = await this.c.pool.open(`${this.nodeId}:${id}`, msg.rows as number[]);
			const opened = rows.map((r) => ({ i: r.i, values: wordsToBase64url(r.values), path: r.path }));
			part.opened = true;
			this.send(ws, { type: "verify_open", id, rows: opened });
		} catch {
			/* the job was dropped: the connection ended */
		}
	}

	private result(msg: Record<string, unknown>): void {
		const context = [...this.live.values()][0]?.context ?? this.c.phase();
		this.results.push({
			at: Date.now(),
			context,
			state: String(msg.state),
			reason: typeof msg.reason === "string" ? msg.reason : null,
			measured_ms: typeof msg.measured_ms === "number" ? msg.measured_ms : null,
		});
		this.endAll(false);
	}

	/** Every challenge of this connection is over: free the card and the held answers. */
	private endAll(cancel = true): void {
		for (const p of this.live.values()) {
			const job = `${this.nodeId}:${p.id}`;
			if (cancel) this.device.cancel(job);
			this.c.pool.drop(job);
		}
		this.live.clear();
	}
}
