// Owns the liveness of the nodes assigned to one shard: their sockets, status flips, challenges and incidents.
import type {
	ChallengeCounts,
	HeartbeatOutcome,
	HeartbeatResult,
	NodeLiveness,
	ShardMetrics,
	Transport,
} from "../workers/contracts.ts";
import type { Origin } from "../workers/domain/incident.ts";
import { readConfig } from "../workers/config.ts";
import { flipId, type Flip, type FlipReason } from "../workers/domain/flips.ts";
import {
	CLOSE,
	KEEPALIVE_PING,
	KEEPALIVE_PONG,
	MAX_AGENT_MESSAGE_BYTES,
	frameAllowed,
	parseAgentMessage,
	type CoordinatorMessage,
} from "../workers/domain/protocol.ts";
import type { Settings } from "../workers/domain/settings.ts";
import { deriveStatus, isSilent, type NodeStatus } from "../workers/domain/status.ts";
import type { Failure } from "../workers/failure.ts";
import { failureResponse } from "../workers/http.ts";
import { KitObject, Sql } from "./kit.ts";
import { AlertHandoff } from "./shard-alerts.ts";
import { HttpBeats } from "./shard-beats.ts";
import { Counters } from "./shard-counters.ts";
import { IncidentTracker } from "./shard-incidents.ts";
import { ShardOutbox } from "./shard-outbox.ts";
import { ShardChallenges } from "./shard-challenges.ts";
import { ShardSockets } from "./shard-sockets.ts";
import { memberEnded } from "../workers/services/verify-rounds.ts";
import { recordAttempt } from "../workers/services/verifications.ts";
import { ShardVerifier } from "./shard-verify.ts";
import { ShardStore, type ShardNode } from "./shard-store.ts";
import { ChallengeTally, type Decided } from "./shard-tally.ts";

const REPLAYED: Failure = {
	status: 401,
	code: "unauthorized",
	message: "This node token was already used; mint a new one.",
};
/** A connection that came without its origin headers (an older Worker during a deploy). */
const UNKNOWN_ORIGIN: Origin = { accountId: "", network: "unknown" };
const BAD_MESSAGE = "Unknown or malformed message; see docs/PROTOCOL.md.";
const NOT_ASSIGNED = "This node holds no assignment to that cluster; `ready` answers an `assign`.";
const BAD_UPGRADE: Failure = {
	status: 400,
	code: "validation_failed",
	message: "Expected a WebSocket upgrade with the node's verified claims.",
};

export class LivenessShard extends KitObject {
	private readonly s: Settings = readConfig(this.env).liveness;
	private readonly store = new ShardStore(this.sql);
	private readonly sockets = new ShardSockets(this.ctx);
	private readonly counters = new Counters(this.sql, this.meta);
	private readonly incidents = new IncidentTracker(this.store, this.meta, this.s, `shard:${this.name}`);
	private readonly alerts = new AlertHandoff(new Sql(this.ctx.storage.sql), this.env);
	/** When this instance started, by its clock. */
	private readonly bootedAt = this.now();
	private readonly http = new HttpBeats(this.bootedAt);
	private readonly challenges = new ShardChallenges(
		this.sockets,
		this.http,
		new ChallengeTally(this.store, this.meta, this.env.DB),
		this.s,
	);
	/**
	 * Each node's last keepalive as the previous instance's last checkpoint recorded it (keepalives live in memory).
	 * Read only when a restart lost sockets: a wake from hibernation holds them all and needs none of it.
	 */
	private readonly heardAtBoot: Record<string, number>;
	/** Nodes stored online with a WebSocket when this instance started but holding none: a restart lost them. */
	private readonly missingAtBoot: Set<string>;
	/** The previous instance's last checkpoint: when the shard that held the lost sockets was last seen working. */
	private readonly checkpointAtBoot: number;
	/** The incident recorded when this instance found sockets lost by a restart, if it did. */
	private readonly restartIncident: string | null;
	private graceDone = false;
	private readonly outbox = new ShardOutbox(this.store, this.env, this.counters, this.alerts);
	private readonly verifier = new ShardVerifier(
		this.sockets,
		readConfig(this.env).verify,
		() => this.challenges.openEpoch(),
		{
			recorded: (nodeId, attempt) => recordAttempt(this.env, nodeId, attempt),
			roundEnded: (round, nodeId, attempt) => memberEnded(this.env, round, nodeId, attempt, this.now()),
		},
		this.counters,
	);

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		// Keepalives are answered by the runtime without waking this object: no CPU, no billing per keepalive.
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEPALIVE_PING, KEEPALIVE_PONG));
		// A wake from hibernation keeps every open socket (one closed meanwhile is delivered as a close): only an instance
		// that holds none can have lost sockets to a restart, so only then are the online rows read. Reading them on
		// every wake would read every online node's row each time the shard wakes for a sweep.
		const held = this.sockets.all().length;
		this.missingAtBoot = new Set(held > 0 ? [] : this.store.onlineNodes("ws").map((n) => n.nodeId));
		this.heardAtBoot = this.missingAtBoot.size ? (this.meta.get<Record<string, number>>("last_heard") ?? {}) : {};
		this.checkpointAtBoot = this.meta.get<number>("checkpoint_at") ?? this.bootedAt;
		this.restartIncident = this.incidents.restarted(this.checkpointAtBoot, this.missingAtBoot.size, this.bootedAt);
	}

	// --- WebSocket upgrade: the Worker has verified the node's token and passes its claims in headers ---

	override async fetch(request: Request): Promise<Response> {
		const now = this.now();
		const h = request.headers;
		const nodeId = h.get("x-pulsegrid-node");
		const jti = h.get("x-pulsegrid-jti");
		const exp = Number(h.get("x-pulsegrid-exp"));
		const origin = {
			accountId: h.get("x-pulsegrid-account") ?? "",
			network: h.get("x-pulsegrid-network") ?? "unknown",
		};
		if (!nodeId || !jti || !Number.isFinite(exp) || h.get("upgrade") !== "websocket") {
			return failureResponse(BAD_UPGRADE);
		}
		// A token is good for one use on either transport: a heartbeat's token cannot open a socket afterwards.
		if (this.http.seen(jti) || !this.store.useJti(jti, exp)) return failureResponse(REPLAYED);
		const owed: Decided[] = [];
		for (const old of this.sockets.all(nodeId))
			owed.push(...this.end(old, CLOSE.replaced, "replaced by a newer connection"));
		await this.challenges.record(owed);
		const { 0: client, 1: server } = new WebSocketPair();
		this.sockets.accept(server, { nodeId, connectedAt: now, lastMessageAt: now, challenge: null, origin });
		this.counters.metrics.connects++;
		const flip = this.heard(nodeId, "ws", now);
		const node = this.store.node(nodeId) as ShardNode;
		this.sockets.send(server, {
			type: "welcome",
			node_id: nodeId,
			heartbeat_interval_s: this.s.heartbeatIntervalS,
			offline_after_s: this.s.offlineAfterS,
			server_time: new Date(now).toISOString(),
			status: node.status,
		});
		// Assignments the node held before this connection: the socket that carried them is gone (PROTOCOL.md §2).
		for (const assign of this.store.assignmentsOf(nodeId)) this.sockets.send(server, assign as CoordinatorMessage);
		const claim = verifyClaim(h.get("x-pulsegrid-verify"));
		if (claim) await this.verifier.start(server, nodeId, claim, now);
		await this.commit(flip ? [flip] : []);
		await this.ensureAlarm(now);
		return new Response(null, { status: 101, webSocket: client });
	}

	override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
		const now = this.now();
		this.counters.metrics.messagesIn++;
		const st = this.sockets.state(ws);
		if (!st || st.done) return;
		st.lastMessageAt = now;
		if (!frameAllowed(message)) {
			this.sockets.set(ws, st);
			ws.close(CLOSE.badMessage, `messages are at most ${MAX_AGENT_MESSAGE_BYTES} bytes (verify_open: more)`);
			return this.disconnected(ws, false, now); // a misbehaving agent, not an outage
		}
		const msg = parseAgentMessage(message);
		if (!msg) {
			this.sockets.send(ws, { type: "error", code: "bad_message", message: BAD_MESSAGE });
		} else if (msg.type === "bye") {
			this.sockets.set(ws, st);
			ws.close(CLOSE.normal, "bye");
			return this.disconnected(ws, false, now);
		} else if (msg.type === "ready") {
			// The agent started the work it was assigned. Only a cluster that assigned this node is addressed: an id the
			// node made up would otherwise create a Cluster object of its own.
			if (this.store.isAssigned(st.nodeId, msg.cluster_id)) {
				await this.env.CLUSTERS.getByName(msg.cluster_id).ready(st.nodeId, now);
			} else {
				this.sockets.send(ws, { type: "error", code: "not_assigned", message: NOT_ASSIGNED });
			}
		} else if (msg.type === "challenge_response") {
			await this.challenges.answer(st, msg.id, msg.answer, now);
		} else {
			this.sockets.set(ws, st);
			return this.verifier.message(ws, st.nodeId, msg, now);
		}
		this.sockets.set(ws, st);
	}

	override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
		try {
			ws.close(code === 1005 || code === 1006 ? CLOSE.normal : code, reason.slice(0, 100));
		} catch {
			/* already closed */
		}
		await this.disconnected(ws, true, this.now());
	}

	override async webSocketError(ws: WebSocket): Promise<void> {
		await this.disconnected(ws, true, this.now());
	}

	/** A socket closed. An agent that said "bye" left on purpose, so its drop never counts toward an incident. */
	private async disconnected(ws: WebSocket, unannounced: boolean, now: number): Promise<void> {
		const st = this.sockets.state(ws);
		if (!st || st.done) return;
		await this.challenges.record(this.end(ws));
		if (this.isConnected(st.nodeId, now)) return;
		const flips: Flip[] = [];
		const origin = unannounced ? (st.origin ?? UNKNOWN_ORIGIN) : null;
		this.drop(st.nodeId, now, "disconnected", now, flips, origin); // the close itself is the last sign of life
		await this.commit(flips);
	}

	// --- RPC called by the Worker; `now` is the Worker's clock ---

	/** HTTP fallback: a beat is remembered in memory only; a status change or a judged answer is the only write. */
	async heartbeat(
		nodeId: string,
		jti: string,
		iat: number,
		exp: number,
		beat: { answers: { id: string; answer: string }[]; bye: boolean; origin: Origin },
		now: number,
	): Promise<HeartbeatOutcome | "replayed"> {
		if (this.store.jtiUsed(jti) || !this.http.accept(jti, iat, exp * 1000, now)) return "replayed";
		this.counters.metrics.heartbeats++;
		if (beat.bye) return { ...(await this.heartbeatBye(nodeId, now)), sessionStart: false };
		const sessionStart = !this.http.last.has(nodeId);
		this.http.last.set(nodeId, now);
		this.http.origins.set(nodeId, beat.origin);
		const flip = this.heard(nodeId, "http", now);
		const status = (this.store.node(nodeId) as ShardNode).status;
		const { results, challenge } = await this.challenges.beat(nodeId, beat.answers, status === "online", now);
		await this.commit(flip ? [flip] : []);
		await this.ensureAlarm(now);
		return {
			status,
			sessionStart,
			next_heartbeat_s: this.s.heartbeatIntervalS,
			results,
			challenge: challenge && {
				id: challenge.id,
				kind: challenge.kind,
				nonce: challenge.nonce,
				deadline: new Date(challenge.deadline).toISOString(),
			},
		};
	}

	/** The HTTP agent's clean shutdown: offline at once (unless a socket still holds the node), never an incident. */
	private async heartbeatBye(nodeId: string, now: number): Promise<HeartbeatResult> {
		const owed = this.challenges.owedByBeat(nodeId);
		await this.challenges.record(owed ? [owed] : []);
		const flips: Flip[] = [];
		if (!this.isConnected(nodeId, now)) this.drop(nodeId, now, "disconnected", now, flips, null);
		await this.commit(flips);
		const status = this.store.node(nodeId)?.status ?? "new";
		return { status, next_heartbeat_s: this.s.heartbeatIntervalS, challenge: null, results: [] };
	}

	async setMaintenance(nodeId: string, on: boolean, now: number): Promise<NodeStatus> {
		const node = this.store.nodeOrNew(nodeId, now);
		node.maintenance = on;
		node.lastSeenAt = this.lastHeard(nodeId) ?? node.lastSeenAt; // the flip says when it was last heard, not connected
		const to = this.statusOf(node, this.isConnected(nodeId, now), now);
		const flip = this.flipTo(node, to, now, on ? "maintenance_on" : "maintenance_off", now);
		this.store.saveNode(node);
		await this.commit(flip ? [flip] : []);
		await this.ensureAlarm(now);
		return node.status;
	}

	/** The node was deleted: drop its connection and its row (its history stays in D1). */
	async forget(nodeId: string, now: number): Promise<void> {
		for (const ws of this.sockets.all(nodeId)) this.sockets.finish(ws, CLOSE.deleted, "node deleted");
		this.http.forget(nodeId);
		const node = this.store.node(nodeId);
		const live = node && node.status !== "offline" && node.status !== "new";
		const flip = live ? this.flipTo(node, "offline", now, "node_deleted", now) : null;
		this.store.deleteNode(nodeId);
		await this.commit(flip ? [flip] : []);
	}

	/**
	 * Closes the node's open sockets with `code` (its key was rotated or revoked: the sockets were opened with the old
	 * one). The node goes offline as after a `bye` (a drop that never counts toward an incident) unless it reconnects.
	 */
	async closeNode(nodeId: string, code: number, reason: string, now: number): Promise<void> {
		for (const ws of this.sockets.all(nodeId)) {
			if (this.sockets.state(ws)?.done) continue;
			try {
				ws.close(code, reason);
			} catch {
				/* already closed */
			}
			await this.disconnected(ws, false, now);
		}
	}

	/** Live status and last-seen time of the given nodes, measured here rather than self-reported. */
	async liveness(nodeIds: string[], now: number): Promise<Record<string, NodeLiveness>> {
		const out: Record<string, NodeLiveness> = {};
		for (const id of nodeIds) {
			const node = this.store.node(id);
			out[id] = {
				status: node?.status ?? "new",
				last_seen_at: this.lastHeard(id) ?? node?.lastSeenAt ?? null,
				connected: this.isConnected(id, now),
				transport: node?.transport ?? null,
				challenges: await this.challenges.countsOf(id),
			};
		}
		return out;
	}

	/** Makes sure the sweep runs (the cron calls this so a restarted coordinator settles every shard). */
	async wake(now: number): Promise<void> {
		await this.ensureAlarm(now);
	}

	/**
	 * Challenges the given nodes now, as members of a co-scheduled round (docs/VERIFICATION.md §14), timed by this
	 * shard's clock like every verification. Returns those challenged: connected by WebSocket, not being verified.
	 */
	async coVerify(round: string, nodes: { id: string; claim: { gpu_model: string; gpu_count: number } }[]) {
		const now = this.now();
		const started: string[] = [];
		for (const { id, claim } of nodes) {
			const ws = this.sockets.open(id);
			if (ws && (await this.verifier.start(ws, id, claim, now, round))) started.push(id);
		}
		if (started.length) await this.ensureAlarm(now);
		return started;
	}

	/**
	 * Sends messages to connected nodes (cluster assignments); returns the nodes that are not connected. A delivered
	 * `assign` is kept until its `release` (sent again at a reconnect; what the node may address with `ready`).
	 */
	deliver(messages: { nodeId: string; message: CoordinatorMessage }[]): string[] {
		const missed: string[] = [];
		for (const { nodeId, message } of messages) {
			if (message.type === "release") this.store.forgetAssignment(nodeId, message.cluster_id);
			const ws = this.sockets.open(nodeId);
			if (!ws) {
				missed.push(nodeId);
				continue;
			}
			this.sockets.send(ws, message);
			if (message.type === "assign") this.store.recordAssignment(nodeId, message.cluster_id, message);
		}
		return missed;
	}

	/** Settlement closes epoch `n` here: the challenge counts of its nodes (idempotent). */
	closeEpoch(n: number): Promise<Record<string, ChallengeCounts>> {
		return this.challenges.closeEpoch(n);
	}

	metricsSnapshot(): ShardMetrics {
		return this.counters.total();
	}

	// --- The sweep: one alarm per shard, always pointing at the next sweep ---

	override async alarm(): Promise<void> {
		await this.sweep(this.now());
	}

	/** The alarm's work as of `now`: silent nodes go offline, challenges are settled and issued, the shard checkpoints. */
	async sweep(now: number): Promise<void> {
		this.counters.metrics.alarms++;
		const flips: Flip[] = [];
		const live: WebSocket[] = [];
		const owed: Decided[] = [];
		for (const ws of this.sockets.all()) {
			const st = this.sockets.state(ws);
			if (!st || st.done) continue;
			this.counters.metrics.socketsSwept++;
			const last = this.sockets.lastSeen(ws, st);
			if (isSilent(last, now, this.s)) {
				owed.push(...this.end(ws, CLOSE.keepaliveTimeout, "no keepalive"));
				this.drop(st.nodeId, now, "keepalive_timeout", last, flips, st.origin ?? UNKNOWN_ORIGIN);
			} else live.push(ws);
		}
		for (const [nodeId, beat] of this.http.last) {
			if (!isSilent(beat, now, this.s)) continue;
			const origin = this.http.origins.get(nodeId) ?? UNKNOWN_ORIGIN;
			const o = this.challenges.owedByBeat(nodeId);
			if (o) owed.push(o);
			this.drop(nodeId, now, "heartbeat_timeout", beat, flips, origin);
		}
		this.settleAfterBoot(now, flips);
		this.incidents.watch(now, live.length + this.http.last.size);
		const online = (nodeId: string) => this.store.node(nodeId)?.status === "online";
		// One row for the whole batch of outcomes, however many nodes: periodic, like a checkpoint.
		await this.counters.periodic(() => this.challenges.sweep(live, owed, online, now));
		await this.verifier.sweep(now);
		await this.commit(flips);
		await this.alerts.deliver(); // retries what an owner's OperatorAlerts did not take last time
		this.checkpoint(live, now);
		const busy = live.length > 0 || this.http.last.size > 0 || !this.graceDone || this.incidents.isOpen;
		if (busy || this.store.outboxSize() > 0 || this.alerts.pending() > 0) {
			await this.alarmAt(now + this.s.sweepIntervalS * 1000);
		}
	}

	/**
	 * After a restart, nodes that held a socket get OFFLINE_AFTER_S to come back before they are marked offline, as of
	 * their last keepalive the previous instance recorded; the restart's incident (any socket lost opens one) covers them.
	 */
	private settleAfterBoot(now: number, flips: Flip[]): void {
		if (this.graceDone || now < this.bootedAt + this.s.offlineAfterS * 1000) return;
		this.graceDone = true;
		let lost = 0;
		for (const n of this.store.onlineNodes()) {
			if (this.isConnected(n.nodeId, now)) continue;
			const missing = this.missingAtBoot.has(n.nodeId);
			const reason = missing
				? "coordinator_restart"
				: n.transport === "http"
					? "heartbeat_timeout"
					: "keepalive_timeout";
			// Its last sign of life on record: a keepalive the last checkpoint saw, or a later connect.
			const lastSeen = Math.max(n.lastSeenAt ?? 0, this.heardAtBoot[n.nodeId] ?? 0) || this.checkpointAtBoot;
			const flip = this.drop(n.nodeId, now, reason, lastSeen, flips, null);
			if (flip && missing && this.restartIncident) {
				flip.incidentId = this.restartIncident;
				lost++;
			}
		}
		if (lost > 0) this.incidents.settled(now);
	}

	/**
	 * Shard clock, token-id pruning, counters and every live node's last keepalive: a few rows per CHECKPOINT_S,
	 * whatever the node count.
	 */
	private checkpoint(live: WebSocket[], now: number): void {
		if (now - (this.meta.get<number>("checkpoint_at") ?? 0) < this.s.checkpointS * 1000) return;
		const heard: Record<string, number> = {};
		for (const ws of live) {
			const st = this.sockets.state(ws);
			if (st) heard[st.nodeId] = this.sockets.lastSeen(ws, st);
		}
		for (const [nodeId, beat] of this.http.last) heard[nodeId] = beat;
		this.counters.checkpoint(() => {
			this.store.pruneJti(now);
			this.meta.set("last_heard", heard);
			this.meta.set("checkpoint_at", now);
		});
	}

	// --- Status changes ---

	/** The node was just heard from over `transport`: it is online unless in maintenance. */
	private heard(nodeId: string, transport: Transport, now: number): Flip | null {
		this.missingAtBoot.delete(nodeId);
		const node = this.store.nodeOrNew(nodeId, now);
		const changed = node.transport !== transport || node.status !== this.statusOf(node, true, now);
		node.transport = transport;
		node.lastSeenAt = now;
		const flip = this.flipTo(node, this.statusOf(node, true, now), now, "connected", now);
		if (changed) this.store.saveNode(node);
		return flip;
	}

	/**
	 * The node's connection is gone (or silent): offline unless in maintenance. A drop with its `origin` (unannounced)
	 * may be part of an incident; an announced one (null: a bye, a restart's leftover) never is.
	 */
	private drop(
		nodeId: string,
		now: number,
		reason: FlipReason,
		lastSeen: number,
		flips: Flip[],
		origin: Origin | null,
	): Flip | null {
		this.http.forget(nodeId);
		const node = this.store.node(nodeId);
		if (!node) return null;
		node.lastSeenAt = lastSeen;
		const flip = this.flipTo(node, this.statusOf(node, false, now), now, reason, lastSeen);
		this.store.saveNode(node);
		if (!flip) return null;
		flips.push(flip);
		if (origin) this.incidents.dropped(now, flip, origin);
		return flip;
	}

	private statusOf(node: ShardNode, connected: boolean, now: number): NodeStatus {
		const lastSeenAt = connected ? now : node.lastSeenAt;
		const facts = { maintenance: node.maintenance, connected, lastSeenAt, everOnline: node.everOnline };
		return deriveStatus(facts, now, this.s);
	}

	/** Moves a node to `to`, returning the flip to record (or null when nothing changed). */
	private flipTo(node: ShardNode, to: NodeStatus, now: number, reason: FlipReason, intervalEnd: number): Flip | null {
		if (node.status === to) return null;
		node.seq += 1;
		const leavingOnline = node.status === "online";
		const flip: Flip = {
			id: flipId(node.nodeId, node.seq),
			nodeId: node.nodeId,
			seq: node.seq,
			from: node.status,
			to,
			at: now,
			reason,
			lastSeenAt: node.lastSeenAt,
			intervalStart: leavingOnline ? node.since : null,
			intervalEnd: leavingOnline ? intervalEnd : null,
			incidentId: to === "offline" ? this.incidents.currentId : null,
			transport: node.transport,
		};
		node.status = to;
		node.since = now;
		if (to === "online") node.everOnline = true;
		return flip;
	}

	/** Queues flips in this object's storage first, then writes the queue to D1 (retried next sweep on failure). */
	private async commit(flips: Flip[]): Promise<void> {
		await this.outbox.commit(flips, this.now());
	}

	// --- Connections ---

	/** Ends a socket this object closes or supersedes; returns the challenge outcome it still owes the tally. */
	private end(ws: WebSocket, code?: number, reason?: string): Decided[] {
		const st = this.sockets.state(ws);
		const owed = st && !st.done ? this.challenges.owed(st) : null;
		// A verification cut short records nothing, unless a round required it (then the attempt failed).
		if (st && !st.done) {
			this.ctx.waitUntil(this.verifier.forget(st.nodeId, this.now()).catch((err) => console.error(err)));
		}
		this.sockets.finish(ws, code, reason);
		return owed ? [owed] : [];
	}

	/** The last moment the node was heard on a live connection (a keepalive, a message, a beat), if it holds one. */
	private lastHeard(nodeId: string): number | null {
		const ws = this.sockets.open(nodeId);
		const st = ws && this.sockets.state(ws);
		if (ws && st) return this.sockets.lastSeen(ws, st);
		return this.http.last.get(nodeId) ?? null;
	}

	private isConnected(nodeId: string, now: number): boolean {
		if (this.sockets.open(nodeId)) return true;
		const beat = this.http.last.get(nodeId);
		return beat !== undefined && !isSilent(beat, now, this.s);
	}

	private async ensureAlarm(now: number): Promise<void> {
		await this.ensureAlarmAt(now + this.s.sweepIntervalS * 1000);
	}
}

/** The claim the Worker asks the shard to verify on this connection (`x-pulsegrid-verify`), if any. */
function verifyClaim(raw: string | null): { gpu_model: string; gpu_count: number } | null {
	if (!raw) return null;
	try {
		const c = JSON.parse(raw) as { gpu_model?: unknown; gpu_count?: unknown };
		if (typeof c.gpu_model === "string" && Number.isInteger(c.gpu_count) && (c.gpu_count as number) > 0) {
			return { gpu_model: c.gpu_model, gpu_count: c.gpu_count as number };
		}
	} catch {
		/* not ours: no verification */
	}
	return null;
}
