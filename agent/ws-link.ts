// The WebSocket link: connect with a fresh token, keep alive with "ping", answer challenges and hardware verification,
// reconnect with backoff.
import type { IncomingMessage } from "node:http";
import WebSocket from "ws";
import { ECHO_KIND, echoAnswer } from "../workers/domain/challenge.ts";
import { CLOSE, KEEPALIVE_PING, KEEPALIVE_PONG } from "../workers/domain/protocol.ts";
import { describeErrorBody, retryAfterSeconds, websocketUrl } from "./api.ts";
import { BACKOFF, nextBackoff, type BackoffPolicy } from "./backoff.ts";
import { type Assignment, SimulatedDriver, parseAssignment, type WorkloadDriver } from "./drivers.ts";
import { messageOf } from "./errors.ts";
import { UNKNOWN_NODE, challengeResult, type Emit, type LinkOutcome } from "./events.ts";
import { Verifier, cpuBackend, type SolverBackend } from "./verify.ts";

/** The socket is dead when nothing (not even a pong) came back for this many keepalive intervals. */
export const MISSED_KEEPALIVES = 3;
/** Keepalive interval until the coordinator's welcome names its own (the coordinator's default). */
const DEFAULT_HEARTBEAT_S = 10;
const HANDSHAKE_TIMEOUT_MS = 15_000;
/** After "bye", how long to wait for the coordinator's close frame before dropping the socket. */
const CLOSE_WAIT_MS = 2_000;

export interface LinkOptions {
	coordinatorUrl: string;
	nodeId: string;
	/** Mints a fresh node token; called once per connection attempt (tokens are single-use). */
	mintToken: () => Promise<string>;
	emit: Emit;
	/** Runs assigned work (default: the simulated driver). */
	driver?: WorkloadDriver;
	random?: () => number;
	backoff?: BackoffPolicy;
	/** Answer hardware verification (docs/VERIFICATION.md §6); false declines every challenge. Default true. */
	verify?: boolean;
	/** Solves verification challenges (default: the CPU solver, one thread per core at most). */
	solvers?: SolverBackend;
	/** This machine's GPU UUIDs (`detectGpuUuids`), sent with every connection; none: not sent. */
	gpuUuids?: string[];
}

/** One connection attempt and what is known about it. */
interface Attempt {
	ws: WebSocket;
	openedAt: number | null;
	lastHeardAt: number;
	intervalMs: number;
	failure: { status: number | null; code: string | null; message: string; retryAfterS: number | null } | null;
	keepalive: NodeJS.Timeout | null;
	/** This connection's hardware verification; closed (its solvers disposed) with the socket. */
	verifier: Verifier;
}

export class WsLink {
	private readonly o: LinkOptions;
	private readonly url: string;
	private readonly random: () => number;
	private readonly policy: BackoffPolicy;
	private readonly driver: WorkloadDriver;
	/** Jobs whose driver start is under way, by cluster id. */
	private readonly starting = new Map<string, Promise<void>>();
	private readonly solvers: SolverBackend;
	/** Resolves once the solvers of every closed connection are disposed. */
	private verifiersClosed: Promise<unknown> = Promise.resolve();
	private current: Attempt | null = null;
	private failures = 0;
	private stopping = false;
	private ended = false;
	private reconnectTimer: NodeJS.Timeout | null = null;
	private closed: (() => void) | null = null;
	private resolve: (o: LinkOutcome) => void = () => {};
	private readonly outcome: Promise<LinkOutcome>;

	constructor(o: LinkOptions) {
		this.o = o;
		this.url = websocketUrl(o.coordinatorUrl, `/v1/nodes/${encodeURIComponent(o.nodeId)}/connect`);
		this.random = o.random ?? Math.random;
		this.policy = o.backoff ?? BACKOFF;
		this.driver = o.driver ?? new SimulatedDriver();
		this.solvers = o.solvers ?? cpuBackend();
		this.outcome = new Promise((r) => (this.resolve = r));
	}

	/** Connects, and keeps reconnecting until stop() or a failure retrying cannot fix. */
	run(): Promise<LinkOutcome> {
		this.tryConnect();
		return this.outcome;
	}

	/** Says "bye", closes with 1000, waits briefly for the coordinator's close, and ends any solver threads. */
	async stop(): Promise<void> {
		if (this.stopping || this.ended) return;
		this.stopping = true;
		if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
		const a = this.current;
		if (a && a.ws.readyState === WebSocket.OPEN) {
			const closed = new Promise<void>((r) => (this.closed = r));
			a.ws.send(JSON.stringify({ type: "bye" }));
			a.ws.close(CLOSE.normal, "agent stopping");
			const timer = setTimeout(() => a.ws.terminate(), CLOSE_WAIT_MS);
			await closed;
			clearTimeout(timer);
		} else if (a) {
			a.ws.terminate();
		}
		this.end({ reason: "signal", exitCode: 0 });
		await this.verifiersClosed;
	}

	private tryConnect(): void {
		this.connect().catch((err: unknown) =>
			this.end({ reason: "fatal", exitCode: 1, message: `Cannot connect to ${this.url}: ${messageOf(err)}` }),
		);
	}

	private async connect(): Promise<void> {
		this.reconnectTimer = null;
		if (this.stopping) return;
		this.o.emit({ event: "connecting", attempt: this.failures });
		let token: string;
		try {
			token = await this.o.mintToken();
		} catch (err) {
			this.end({
				reason: "fatal",
				exitCode: 1,
				message: `Cannot sign a node token with the configured key: ${messageOf(err)}`,
			});
			return;
		}
		if (this.stopping) return;
		const ws = new WebSocket(this.url, {
			headers: {
				authorization: `Bearer ${token}`,
				...(this.o.gpuUuids?.length ? { "x-pulsegrid-gpu-uuids": this.o.gpuUuids.join(",") } : {}),
			},
			handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
			perMessageDeflate: false,
		});
		const a: Attempt = {
			ws,
			openedAt: null,
			lastHeardAt: Date.now(),
			intervalMs: DEFAULT_HEARTBEAT_S * 1000,
			failure: null,
			keepalive: null,
			verifier: new Verifier({
				send: (m) => {
					if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
				},
				emit: this.o.emit,
				enabled: this.o.verify !== false,
				backend: this.solvers,
			}),
		};
		this.current = a;
		ws.on("unexpected-response", (_req, res) => void this.refused(a, res));
		ws.on("error", (err) => {
			a.failure ??= {
				status: null,
				code: (err as NodeJS.ErrnoException).code ?? null,
				message: messageOf(err),
				retryAfterS: null,
			};
		});
		ws.on("open", () => {
			a.openedAt = a.lastHeardAt = Date.now();
			this.o.emit({ event: "connected", transport: "ws" });
			this.keepAlive(a);
		});
		ws.on("message", (data, isBinary) => void this.received(a, data, isBinary));
		ws.on("close", (code, reason) => this.onClose(a, code, reason.toString("utf8")));
	}

	/** The upgrade was answered with an HTTP error (401 bad or replayed token, 404 unknown node, 429, 5xx). */
	private async refused(a: Attempt, res: IncomingMessage): Promise<void> {
		const chunks: Buffer[] = [];
		let size = 0;
		await new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, 5_000);
			res.on("data", (c: Buffer) => {
				if ((size += c.length) <= 4096) chunks.push(c);
			});
			res.on("end", () => {
				clearTimeout(timer);
				resolve();
			});
			res.on("error", () => {
				clearTimeout(timer);
				resolve();
			});
		});
		const status = res.statusCode ?? 0;
		const { code, message } = describeErrorBody(
			status,
			res.statusMessage ?? "",
			Buffer.concat(chunks).toString("utf8"),
		);
		a.failure = {
			status,
			code,
			message,
			retryAfterS: retryAfterSeconds(res.headers["retry-after"] as string | undefined),
		};
		a.ws.terminate();
	}

	private keepAlive(a: Attempt): void {
		if (a.keepalive) clearInterval(a.keepalive);
		a.keepalive = setInterval(() => {
			const silentMs = Date.now() - a.lastHeardAt;
			if (silentMs >= MISSED_KEEPALIVES * a.intervalMs) {
				this.o.emit({ event: "keepalive_timeout", silent_ms: silentMs });
				if (a.keepalive) clearInterval(a.keepalive);
				a.ws.terminate(); // "close" follows, and with it the reconnect
				return;
			}
			if (a.ws.readyState === WebSocket.OPEN) a.ws.send(KEEPALIVE_PING);
		}, a.intervalMs);
	}

	private async received(a: Attempt, data: WebSocket.RawData, isBinary: boolean): Promise<void> {
		a.lastHeardAt = Date.now();
		if (isBinary) return;
		const text = rawText(data);
		if (text === KEEPALIVE_PONG) {
			this.o.emit({ event: "pong" });
			return;
		}
		let msg: Record<string, unknown>;
		try {
			const parsed: unknown = JSON.parse(text);
			if (!parsed || typeof parsed !== "object") return;
			msg = parsed as Record<string, unknown>;
		} catch {
			return;
		}
		// Hardware verification runs its solvers off the main thread, so keepalives go on while it computes.
		if (a.verifier.handle(msg)) return;
		switch (msg.type) {
			case "welcome": {
				const hb = Number(msg.heartbeat_interval_s);
				if (Number.isFinite(hb) && hb > 0) a.intervalMs = hb * 1000;
				this.keepAlive(a);
				this.o.emit({
					event: "welcome",
					heartbeat_interval_s: a.intervalMs / 1000,
					offline_after_s: Number(msg.offline_after_s),
					status: String(msg.status ?? "unknown"),
					server_time: typeof msg.server_time === "string" ? msg.server_time : null,
				});
				return;
			}
			case "challenge": {
				if (typeof msg.id !== "string" || typeof msg.nonce !== "string") return;
				const kind = String(msg.kind);
				// Kinds this agent does not know are left unanswered: the coordinator counts them as missed.
				if (kind !== ECHO_KIND) {
					this.o.emit({ event: "challenge", id: msg.id, kind, answered: false });
					return;
				}
				const answer = await echoAnswer(this.o.nodeId, msg.nonce);
				if (a.ws.readyState !== WebSocket.OPEN) return;
				a.ws.send(JSON.stringify({ type: "challenge_response", id: msg.id, answer }));
				this.o.emit({ event: "challenge", id: msg.id, kind, answered: true });
				return;
			}
			case "challenge_result":
				if (typeof msg.id === "string") this.o.emit(challengeResult(msg));
				return;
			case "status":
				if (typeof msg.status === "string") this.o.emit({ event: "status", status: msg.status });
				return;
			case "error":
				this.o.emit({ event: "server_error", code: String(msg.code ?? "unknown"), message: String(msg.message ?? "") });
				return;
			case "assign": {
				const job = parseAssignment(msg);
				if (!job) return;
				this.o.emit({
					event: "assign",
					cluster_id: job.cluster_id,
					gpu_count: job.gpu_count,
					duration_s: job.duration_s,
					peers: job.peers.length,
				});
				await this.startOnce(job);
				if (a.ws.readyState !== WebSocket.OPEN) return;
				a.ws.send(JSON.stringify({ type: "ready", cluster_id: job.cluster_id }));
				this.o.emit({ event: "ready", cluster_id: job.cluster_id });
				return;
			}
			case "release":
				if (typeof msg.cluster_id !== "string") return;
				await this.driver.stop(msg.cluster_id);
				this.o.emit({ event: "release", cluster_id: msg.cluster_id });
				return;
			default:
				return; // message types newer than this agent are ignored
		}
	}

	/**
	 * Starts a job once. The coordinator repeats an `assign` until it hears `ready` (on each reconnect, and every 10 s
	 * while it waits): a repeat for a job running, or starting, waits for that start instead of starting it again.
	 */
	private startOnce(job: Assignment): Promise<void> {
		if (this.driver.running().includes(job.cluster_id)) return Promise.resolve();
		let started = this.starting.get(job.cluster_id);
		if (!started) {
			started = this.driver.start(job).finally(() => this.starting.delete(job.cluster_id));
			this.starting.set(job.cluster_id, started);
		}
		return started;
	}

	private onClose(a: Attempt, code: number, reason: string): void {
		if (a.keepalive) clearInterval(a.keepalive);
		// A verification interrupted by a disconnect is void; the next connection starts afresh.
		this.verifiersClosed = Promise.all([this.verifiersClosed, a.verifier.close()]);
		if (a !== this.current) return;
		this.current = null;
		const upMs = a.openedAt === null ? 0 : Date.now() - a.openedAt;
		if (a.openedAt === null) {
			const f = a.failure ?? {
				status: null,
				code: null,
				message: `closed before opening (code ${code})`,
				retryAfterS: null,
			};
			this.o.emit({ event: "connect_failed", status: f.status, code: f.code, message: f.message });
		} else {
			// A socket error (e.g. a malformed frame) closes with 1006; its message says why.
			this.o.emit({
				event: "disconnected",
				code,
				reason,
				up_ms: upMs,
				...(a.failure ? { error: a.failure.message } : {}),
			});
		}
		if (this.stopping) {
			this.closed?.();
			return;
		}
		if (a.failure?.status === 404) {
			this.end({ reason: "unknown_node", exitCode: 1, message: UNKNOWN_NODE(this.o.nodeId) });
			return;
		}
		if (code === CLOSE.deleted) {
			this.end({
				reason: "node_deleted",
				exitCode: 1,
				message:
					`Node ${this.o.nodeId} was deleted by its owner (close code 4002); ` +
					`stopping. Register a new node to come back.`,
			});
			return;
		}
		if (code === CLOSE.replaced) {
			this.end({
				reason: "replaced",
				exitCode: 1,
				message:
					`Another agent connected with node ${this.o.nodeId}'s identity ` +
					`(close code 4001); only one agent may run per node, so this one stops.`,
			});
			return;
		}
		const next = nextBackoff(this.failures, upMs, this.random, this.policy);
		this.failures = next.attempt;
		const delay = Math.max(next.delayMs, (a.failure?.retryAfterS ?? 0) * 1000);
		this.o.emit({ event: "reconnecting", in_ms: delay, attempt: this.failures });
		this.reconnectTimer = setTimeout(() => this.tryConnect(), delay);
	}

	private end(outcome: LinkOutcome): void {
		if (this.ended) return;
		this.ended = true;
		if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
		this.o.emit({ event: "stopped", reason: outcome.reason, exit_code: outcome.exitCode });
		// Solver threads are ended before the caller (which may exit the process) hears the outcome.
		void this.verifiersClosed.then(() => this.resolve(outcome));
	}
}

function rawText(data: WebSocket.RawData): string {
	if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
	return Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data).toString("utf8");
}
