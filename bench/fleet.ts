// The fleet simulator: many agents' real WebSockets in one process, keepalives on one timing wheel, challenges
// answered, deaths on cue.
import WebSocket from "ws";
import { TokenSigner } from "../agent/identity.ts";
import { echoAnswer } from "../workers/domain/challenge.ts";
import type { RegisteredNode } from "./api.ts";

/** healthy: pings and answers; silent: keeps the TCP socket but says nothing; closed: sent a 1000 close. */
export type Mode = "healthy" | "silent" | "closed";

export interface SimNode {
	id: string;
	signer: TokenSigner;
	ws: WebSocket | null;
	mode: Mode;
	attempts: number;
	connectStartedAt: number | null;
	welcomeAt: number | null;
	heartbeatMs: number;
	lastPingAt: number | null;
	pings: number;
	silentAt: number | null;
	closedAt: number | null;
	serverClose: { code: number; at: number } | null;
	challenges: { received: number; answered: number; passed: number; failed: number };
	/** Bumped at every welcome: a keepalive chain of an earlier connection stops at its next slot. */
	generation: number;
}

/** One timer for the whole fleet: pings are due in 100 ms slots, each node in a random phase of its interval. */
const SLOT_MS = 100;
const MAX_RTT_SAMPLES = 50_000;

export class Fleet {
	readonly nodes: SimNode[];
	private readonly wheel = new Map<number, { n: SimNode; generation: number }[]>();
	private lastSlot = Math.floor(Date.now() / SLOT_MS);
	private timer: NodeJS.Timeout | null = null;
	private paused = false;
	private rtts: number[] = [];
	readonly counts = {
		pingsSent: 0,
		pongs: 0,
		errorsFromServer: 0,
		unexpectedMessages: 0,
		healthyClosedByServer: 0,
		connectFailures: 0,
		/** Cluster assignments received (each answered `ready`) and releases. */
		assigns: 0,
		releases: 0,
	};
	readonly closeCodesOfHealthy = new Map<number, number>();

	private readonly baseUrl: string;

	constructor(baseUrl: string, registered: RegisteredNode[]) {
		this.baseUrl = baseUrl;
		this.nodes = registered.map((r) => ({
			id: r.id,
			signer: new TokenSigner(r.identity, r.id),
			ws: null,
			mode: "healthy",
			attempts: 0,
			connectStartedAt: null,
			welcomeAt: null,
			heartbeatMs: 0,
			lastPingAt: null,
			pings: 0,
			silentAt: null,
			closedAt: null,
			serverClose: null,
			challenges: { received: 0, answered: 0, passed: 0, failed: 0 },
			generation: 0,
		}));
	}

	start(): void {
		this.lastSlot = Math.floor(Date.now() / SLOT_MS);
		this.timer = setInterval(() => this.tick(), SLOT_MS);
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
		for (const n of this.nodes) n.ws?.terminate();
	}

	/**
	 * Stops every keepalive for a while (used to measure what the coordinator spends without them); bounded by the caller.
	 */
	pauseKeepalives(on: boolean): void {
		this.paused = on;
	}

	/**
	 * Connects one node with a freshly minted token; resolves at its "welcome" (true) or on failure (false).
	 * Latency is measured from the socket's creation (after minting) to the welcome.
	 */
	connect(n: SimNode, timeoutMs: number): Promise<boolean> {
		return n.signer.mint().then(
			(token) =>
				new Promise<boolean>((resolve) => {
					n.attempts++;
					n.connectStartedAt = Date.now();
					n.welcomeAt = null;
					const ws = new WebSocket(`${this.baseUrl.replace(/^http/, "ws")}/v1/nodes/${n.id}/connect`, {
						headers: { authorization: `Bearer ${token}` },
						perMessageDeflate: false,
						handshakeTimeout: timeoutMs,
					});
					n.ws = ws;
					let settled = false;
					const settle = (ok: boolean) => {
						if (settled) return;
						settled = true;
						clearTimeout(timer);
						resolve(ok);
					};
					const timer = setTimeout(() => {
						ws.terminate();
						settle(false);
					}, timeoutMs);
					ws.on("message", (data, isBinary) => {
						const text = isBinary ? "" : data.toString();
						if (text === "pong") return this.onPong(n);
						if (n.mode !== "healthy") return; // a dead agent reads nothing
						let msg: { type?: string; [k: string]: unknown };
						try {
							msg = JSON.parse(text);
						} catch {
							this.counts.unexpectedMessages++;
							return;
						}
						if (msg.type === "welcome") {
							n.welcomeAt = Date.now();
							n.heartbeatMs = Number(msg.heartbeat_interval_s) * 1000;
							n.generation++;
							// First ping at a random phase of the interval, so the fleet's pings do not all fire together.
							this.schedule(n, n.welcomeAt + Math.random() * n.heartbeatMs);
							settle(true);
						} else if (msg.type === "challenge") {
							void this.answer(n, String(msg.id), String(msg.nonce));
						} else if (msg.type === "challenge_result") {
							if (msg.passed === true) n.challenges.passed++;
							else n.challenges.failed++;
						} else if (msg.type === "assign") {
							// As the agent does: it has the GPUs, so it says ready at once.
							this.counts.assigns++;
							ws.send(JSON.stringify({ type: "ready", cluster_id: String(msg.cluster_id) }));
						} else if (msg.type === "release") {
							this.counts.releases++;
						} else if (msg.type === "error") {
							this.counts.errorsFromServer++;
						} else {
							this.counts.unexpectedMessages++;
						}
					});
					ws.on("close", (code) => {
						n.serverClose = { code, at: Date.now() };
						if (n.mode === "healthy" && settled && n.welcomeAt !== null) {
							this.counts.healthyClosedByServer++;
							this.closeCodesOfHealthy.set(code, (this.closeCodesOfHealthy.get(code) ?? 0) + 1);
						}
						settle(false);
					});
					ws.on("unexpected-response", (_req, res) => {
						this.counts.connectFailures++;
						res.resume();
						ws.terminate();
						settle(false);
					});
					ws.on("error", () => settle(false));
				}),
		);
	}

	private async answer(n: SimNode, id: string, nonce: string): Promise<void> {
		n.challenges.received++;
		const answer = await echoAnswer(n.id, nonce);
		if (n.mode !== "healthy" || n.ws?.readyState !== WebSocket.OPEN) return;
		n.ws.send(JSON.stringify({ type: "challenge_response", id, answer }));
		n.challenges.answered++;
	}

	private onPong(n: SimNode): void {
		this.counts.pongs++;
		if (n.lastPingAt === null || n.mode !== "healthy") return;
		const rtt = Date.now() - n.lastPingAt;
		if (this.rtts.length < MAX_RTT_SAMPLES) this.rtts.push(rtt);
		else this.rtts[Math.floor(Math.random() * MAX_RTT_SAMPLES)] = rtt;
	}

	/** Keepalive round-trip times sampled so far (ms), and resets the sample. */
	takeRtts(): number[] {
		const r = this.rtts;
		this.rtts = [];
		return r;
	}

	/**
	 * Slots are walked once, so a due time in a slot already walked goes to the next one (else the node would never ping).
	 */
	private schedule(n: SimNode, at: number): void {
		const slot = Math.max(Math.floor(at / SLOT_MS), this.lastSlot + 1);
		const entry = { n, generation: n.generation };
		const list = this.wheel.get(slot);
		if (list) list.push(entry);
		else this.wheel.set(slot, [entry]);
	}

	private tick(): void {
		const current = Math.floor(Date.now() / SLOT_MS);
		// Bounded catch-up: after a long stall, at most 10 minutes of slots are walked.
		const from = Math.max(this.lastSlot + 1, current - 6000);
		for (let slot = from; slot <= current; slot++) {
			const due = this.wheel.get(slot);
			if (!due) continue;
			this.wheel.delete(slot);
			for (const { n, generation } of due) {
				// A dead node, or a chain of an earlier connection (the node reconnected since), leaves the wheel.
				if (n.mode !== "healthy" || n.ws?.readyState !== WebSocket.OPEN || generation !== n.generation) continue;
				// Paused: this ping is skipped and the node keeps its phase (silence ≤ pause + one interval).
				if (!this.paused) {
					n.ws.send("ping");
					n.lastPingAt = Date.now();
					n.pings++;
					this.counts.pingsSent++;
				}
				this.schedule(n, slot * SLOT_MS + n.heartbeatMs);
			}
		}
		this.lastSlot = current;
	}

	/** The agent dies without a close frame: no more pings, no answers, the socket stays open. */
	silence(n: SimNode): void {
		n.mode = "silent";
		n.silentAt = Date.now();
	}

	/** The agent leaves cleanly with a 1000 close frame. */
	closeClean(n: SimNode): void {
		n.mode = "closed";
		n.closedAt = Date.now();
		n.ws?.close(1000, "bench: clean disconnect");
	}

	online(): SimNode[] {
		return this.nodes.filter(
			(n) => n.mode === "healthy" && n.welcomeAt !== null && n.ws?.readyState === WebSocket.OPEN,
		);
	}

	/** Node-hours the fleet held healthy and connected within [from, to]. */
	nodeHours(from: number, to: number): number {
		let ms = 0;
		for (const n of this.nodes) {
			if (n.welcomeAt === null) continue;
			const end = Math.min(n.silentAt ?? Infinity, n.closedAt ?? Infinity, n.serverClose?.at ?? Infinity, to);
			ms += Math.max(0, end - Math.max(n.welcomeAt, from));
		}
		return ms / 3_600_000;
	}

	challengeTotals(): { received: number; answered: number; passed: number; failed: number } {
		const t = { received: 0, answered: 0, passed: 0, failed: 0 };
		for (const n of this.nodes) for (const k of Object.keys(t) as (keyof typeof t)[]) t[k] += n.challenges[k];
		return t;
	}
}
