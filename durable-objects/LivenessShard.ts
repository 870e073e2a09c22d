// Owns the liveness of the nodes assigned to one shard: their sockets, status flips, challenges and incidents.
import type { ChallengeCounts, HeartbeatResult, NodeLiveness, ShardMetrics, Transport } from "../workers/contracts.ts";
import { readConfig } from "../workers/config.ts";
import { writeOutbox } from "../workers/db/flips.ts";
import { challengeSampleSize, echoAnswer, newChallenge, sample, type Challenge } from "../workers/domain/challenge.ts";
import { flipId, type Flip, type FlipReason } from "../workers/domain/flips.ts";
import {
	CLOSE,
	KEEPALIVE_PING,
	KEEPALIVE_PONG,
	MAX_AGENT_MESSAGE_BYTES,
	agentMessageBytes,
	parseAgentMessage,
	type CoordinatorMessage,
} from "../workers/domain/protocol.ts";
import type { Settings } from "../workers/domain/settings.ts";
import { deriveStatus, isSilent, type NodeStatus } from "../workers/domain/status.ts";
import type { Failure } from "../workers/failure.ts";
import { failureResponse } from "../workers/http.ts";
import { Coalesced, KitObject, Sql } from "./kit.ts";
import { AlertHandoff } from "./shard-alerts.ts";
import { HttpBeats } from "./shard-beats.ts";
import { Counters } from "./shard-counters.ts";
import { IncidentTracker } from "./shard-incidents.ts";
import { ShardSockets, type SocketState } from "./shard-sockets.ts";
import { ShardStore, type ShardNode } from "./shard-store.ts";

const REPLAYED: Failure = {
	status: 401,
	code: "unauthorized",
	message: "This node token was already used; mint a new one.",
};
const BAD_MESSAGE = "Unknown or malformed message; see docs/PROTOCOL.md.";
const BAD_UPGRADE: Failure = {
	status: 400,
	code: "validation_failed",
	message: "Expected a WebSocket upgrade with the node's verified claims.",
};

export class LivenessShard extends KitObject {
	private readonly s: Settings = readConfig(this.env).liveness;
	private readonly store = new ShardStore(this.sql);
	private readonly sockets = new ShardSockets(this.ctx);
	private readonly counters = new Counters(this.store, this.sql, this.meta);
	private readonly incidents = new IncidentTracker(this.store, this.meta, this.s, `shard:${this.name}`);
	private readonly alerts = new AlertHandoff(new Sql(this.ctx.storage.sql), this.env);
	/** When this instance started, by its clock. */
	private readonly bootedAt = this.now();
	private readonly http = new HttpBeats(this.bootedAt);
	/** Nodes stored online with a WebSocket when this instance started but holding none: a restart lost them. */
	private readonly missingAtBoot: Set<string>;
	/** The previous instance's last checkpoint: when the shard that held the lost sockets was last seen working. */
	private readonly checkpointAtBoot: number;
	/** The incident recorded when this instance found sockets lost by a restart, if it did. */
	private readonly restartIncident: string | null;
	private graceDone = false;
	/** Writes the outbox to D1, one flush at a time. */
	private readonly flushing = new Coalesced(() => this.flush());

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		// Keepalives are answered by the runtime without waking this object: no CPU, no billing per keepalive.
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEPALIVE_PING, KEEPALIVE_PONG));
		const held = new Set(this.sockets.all().map((ws) => this.sockets.state(ws)?.nodeId));
		this.missingAtBoot = new Set(
			this.store
				.onlineNodes("ws")
				.map((n) => n.nodeId)
				.filter((id) => !held.has(id)),
		);
		this.checkpointAtBoot = this.meta.get<number>("checkpoint_at") ?? this.bootedAt;
		this.restartIncident = this.incidents.restarted(this.checkpointAtBoot, this.missingAtBoot.size, this.bootedAt);
	}

	// --- WebSocket upgrade: the Worker has verified the node's token and passes its claims in headers ---

	override async fetch(request: Request): Promise<Response> {
		const now = this.now();
		const nodeId = request.headers.get("x-pulsegrid-node");
		const jti = request.headers.get("x-pulsegrid-jti");
		const exp = Number(request.headers.get("x-pulsegrid-exp"));
		if (!nodeId || !jti || !Number.isFinite(exp) || request.headers.get("upgrade") !== "websocket") {
			return failureResponse(BAD_UPGRADE);
		}
		// A token is good for one use on either transport: a heartbeat's token cannot open a socket afterwards.
		if (this.http.seen(jti) || !this.store.useJti(jti, exp)) return failureResponse(REPLAYED);
		for (const old of this.sockets.all(nodeId)) {
			this.sockets.finish(old, CLOSE.replaced, "replaced by a newer connection");
		}
		const { 0: client, 1: server } = new WebSocketPair();
		this.sockets.accept(server, { nodeId, connectedAt: now, lastMessageAt: now, challenge: null });
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
		if (agentMessageBytes(message) > MAX_AGENT_MESSAGE_BYTES) {
			this.sockets.set(ws, st);
			ws.close(CLOSE.badMessage, `messages are at most ${MAX_AGENT_MESSAGE_BYTES} bytes`);
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
			// The agent started the work it was assigned; the cluster checks the node is its member.
			await this.env.CLUSTERS.getByName(msg.cluster_id).ready(st.nodeId, now);
		} else if (st.challenge?.id === msg.id) {
			const passed = now <= st.challenge.deadline && msg.answer === (await echoAnswer(st.nodeId, st.challenge.nonce));
			this.counters.challenge(st.nodeId, passed ? "passed" : "failed");
			st.challenge = null;
			this.sockets.send(ws, { type: "challenge_result", id: msg.id, passed });
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
		this.sockets.finish(ws);
		if (st.challenge) this.counters.challenge(st.nodeId, "missed");
		if (this.isConnected(st.nodeId, now)) return;
		const flips: Flip[] = [];
		this.drop(st.nodeId, now, "disconnected", now, flips, unannounced); // the close itself is the last sign of life
		await this.commit(flips);
	}

	// --- RPC called by the Worker; `now` is the Worker's clock ---

	/** HTTP fallback: a beat is remembered in memory only; a status change is the only write. */
	async heartbeat(
		nodeId: string,
		jti: string,
		iat: number,
		exp: number,
		answers: { id: string; answer: string }[],
		bye: boolean,
		now: number,
	): Promise<HeartbeatResult | "replayed"> {
		if (this.store.jtiUsed(jti) || !this.http.accept(jti, iat, exp * 1000, now)) return "replayed";
		this.counters.metrics.heartbeats++;
		if (bye) return this.heartbeatBye(nodeId, now);
		this.http.last.set(nodeId, now);
		const results: { id: string; passed: boolean }[] = [];
		const pending = this.http.challenges.get(nodeId);
		const answer = pending && answers.find((a) => a.id === pending.id);
		if (pending && answer) {
			const passed = now <= pending.deadline && answer.answer === (await echoAnswer(nodeId, pending.nonce));
			this.counters.challenge(nodeId, passed ? "passed" : "failed");
			this.http.challenges.delete(nodeId);
			results.push({ id: pending.id, passed });
		}
		const flip = this.heard(nodeId, "http", now);
		const status = (this.store.node(nodeId) as ShardNode).status;
		let challenge: Challenge | null = null;
		const due = Math.random() < this.s.heartbeatIntervalS / this.s.challengeEveryS;
		if (status === "online" && !this.http.challenges.has(nodeId) && due) {
			// The answer comes with the next beat, so the deadline allows one heartbeat interval more.
			challenge = newChallenge(now + this.s.heartbeatIntervalS * 1000, this.s);
			this.http.challenges.set(nodeId, challenge);
			this.counters.challenge(nodeId, "issued");
		}
		await this.commit(flip ? [flip] : []);
		await this.ensureAlarm(now);
		return {
			status,
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
		this.http.forget(nodeId);
		const flips: Flip[] = [];
		if (!this.isConnected(nodeId, now)) this.drop(nodeId, now, "disconnected", now, flips, false);
		await this.commit(flips);
		const status = this.store.node(nodeId)?.status ?? "new";
		return { status, next_heartbeat_s: this.s.heartbeatIntervalS, challenge: null, results: [] };
	}

	async setMaintenance(nodeId: string, on: boolean, now: number): Promise<NodeStatus> {
		const node = this.store.nodeOrNew(nodeId, now);
		node.maintenance = on;
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

	/** Live status and last-seen time of the given nodes, measured here rather than self-reported. */
	liveness(nodeIds: string[], now: number): Record<string, NodeLiveness> {
		const out: Record<string, NodeLiveness> = {};
		for (const id of nodeIds) {
			const node = this.store.node(id);
			const ws = this.sockets.all(id).find((w) => !this.sockets.state(w)?.done);
			const st = ws && this.sockets.state(ws);
			const last = ws && st ? this.sockets.lastSeen(ws, st) : (this.http.last.get(id) ?? node?.lastSeenAt ?? null);
			out[id] = {
				status: node?.status ?? "new",
				last_seen_at: last,
				connected: this.isConnected(id, now),
				transport: node?.transport ?? null,
				challenges: this.counters.challengesOf(id),
			};
		}
		return out;
	}

	/** Makes sure the sweep runs (the cron calls this so a restarted coordinator settles every shard). */
	async wake(now: number): Promise<void> {
		await this.ensureAlarm(now);
	}

	/** Sends messages to connected nodes (cluster assignments); returns the nodes that are not connected. */
	deliver(messages: { nodeId: string; message: CoordinatorMessage }[]): string[] {
		const missed: string[] = [];
		for (const { nodeId, message } of messages) {
			const ws = this.sockets.open(nodeId);
			if (ws) this.sockets.send(ws, message);
			else missed.push(nodeId);
		}
		return missed;
	}

	/** Settlement closes epoch `n` here: the challenge counts of its nodes (idempotent). */
	closeEpoch(n: number): Record<string, ChallengeCounts> {
		return this.counters.closeEpoch(n);
	}

	metricsSnapshot(): ShardMetrics {
		return this.counters.total();
	}

	// --- The sweep: one alarm per shard, always pointing at the next sweep ---

	override async alarm(): Promise<void> {
		await this.sweep(this.now());
	}

	/** The alarm's work as of `now`: silent nodes go offline, challenges are issued and expire, the shard checkpoints. */
	async sweep(now: number): Promise<void> {
		this.counters.metrics.alarms++;
		const flips: Flip[] = [];
		const live: WebSocket[] = [];
		for (const ws of this.sockets.all()) {
			const st = this.sockets.state(ws);
			if (!st || st.done) continue;
			this.counters.metrics.socketsSwept++;
			const last = this.sockets.lastSeen(ws, st);
			if (isSilent(last, now, this.s)) {
				if (st.challenge) this.counters.challenge(st.nodeId, "missed");
				this.sockets.finish(ws, CLOSE.keepaliveTimeout, "no keepalive");
				this.drop(st.nodeId, now, "keepalive_timeout", last, flips, true);
			} else {
				if (st.challenge && st.challenge.deadline < now) {
					this.counters.challenge(st.nodeId, "missed");
					this.sockets.set(ws, { ...st, challenge: null });
				}
				live.push(ws);
			}
		}
		for (const [nodeId, beat] of this.http.last) {
			if (isSilent(beat, now, this.s)) this.drop(nodeId, now, "heartbeat_timeout", beat, flips, true);
		}
		for (const [nodeId, c] of this.http.challenges) {
			if (c.deadline >= now) continue;
			this.http.challenges.delete(nodeId);
			this.counters.challenge(nodeId, "missed");
		}
		this.settleAfterBoot(now, flips);
		this.incidents.watch(now, live.length + this.http.last.size);
		this.issueChallenges(live, now);
		await this.commit(flips);
		await this.alerts.deliver(); // retries what an owner's OperatorAlerts did not take last time
		this.checkpoint(now);
		const busy = live.length > 0 || this.http.last.size > 0 || !this.graceDone || this.incidents.isOpen;
		if (busy || this.store.outboxSize() > 0 || this.alerts.pending() > 0) {
			await this.alarmAt(now + this.s.sweepIntervalS * 1000);
		}
	}

	/** After a restart, nodes that held a socket get OFFLINE_AFTER_S to come back before they are marked offline. */
	private settleAfterBoot(now: number, flips: Flip[]): void {
		if (this.graceDone || now < this.bootedAt + this.s.offlineAfterS * 1000) return;
		this.graceDone = true;
		const lastCheckpoint = this.checkpointAtBoot;
		const lostFlips: Flip[] = [];
		for (const n of this.store.onlineNodes()) {
			if (this.isConnected(n.nodeId, now)) continue;
			const lost = this.missingAtBoot.has(n.nodeId);
			const reason = lost ? "coordinator_restart" : n.transport === "http" ? "heartbeat_timeout" : "keepalive_timeout";
			// Its last sign of life we know: the previous instance's last checkpoint, whose sweep found it alive (its
			// stored last_seen_at is only its connect, since keepalives are not written), or a later connect.
			const lastSeen = Math.max(n.lastSeenAt ?? lastCheckpoint, lastCheckpoint);
			const flip = this.drop(n.nodeId, now, reason, lastSeen, flips, false);
			if (flip && lost) lostFlips.push(flip);
		}
		if (lostFlips.length === 0) return;
		const incidentId = this.restartIncident ?? this.incidents.lostInRestart(lastCheckpoint, lostFlips.length, now);
		for (const flip of lostFlips) flip.incidentId = incidentId;
	}

	/** Samples first, then reads the node rows of the sampled few only: a sweep reads no row per healthy node. */
	private issueChallenges(live: WebSocket[], now: number): void {
		const idle = live.filter((ws) => !this.sockets.state(ws)?.challenge);
		for (const ws of sample(idle, challengeSampleSize(idle.length, this.s, Math.random), Math.random)) {
			const st = this.sockets.state(ws) as SocketState;
			if (this.store.node(st.nodeId)?.status !== "online") continue; // in maintenance: not challenged
			const c = newChallenge(now, this.s);
			this.sockets.set(ws, { ...st, challenge: c });
			this.counters.challenge(st.nodeId, "issued");
			const deadline = new Date(c.deadline).toISOString();
			this.sockets.send(ws, { type: "challenge", id: c.id, kind: c.kind, nonce: c.nonce, deadline });
		}
	}

	/** Shard clock, token-id pruning, challenge counts and counters: a few rows per CHECKPOINT_S, whatever the nodes. */
	private checkpoint(now: number): void {
		if (now - (this.meta.get<number>("checkpoint_at") ?? 0) < this.s.checkpointS * 1000) return;
		this.counters.checkpoint(() => {
			this.store.pruneJti(now);
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

	/** The node's connection is gone (or silent): offline unless in maintenance; unannounced drops may be an incident. */
	private drop(
		nodeId: string,
		now: number,
		reason: FlipReason,
		lastSeen: number,
		flips: Flip[],
		unannounced: boolean,
	): Flip | null {
		this.http.forget(nodeId);
		const node = this.store.node(nodeId);
		if (!node) return null;
		node.lastSeenAt = lastSeen;
		const flip = this.flipTo(node, this.statusOf(node, false, now), now, reason, lastSeen);
		this.store.saveNode(node);
		if (!flip) return null;
		flips.push(flip);
		if (unannounced) this.incidents.dropped(now, flip);
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
		};
		node.status = to;
		node.since = now;
		if (to === "online") node.everOnline = true;
		return flip;
	}

	/** Queues flips in this object's storage first, then writes the queue to D1 (retried next sweep on failure). */
	private async commit(flips: Flip[]): Promise<void> {
		if (flips.length) this.store.enqueue({ kind: "flips", flips });
		await this.flushing.run();
	}

	/**
	 * D1 first, then the scheduler's capacity index, then the alert queue; each step is idempotent, so a retry after a
	 * failure is safe.
	 */
	private async flush(): Promise<void> {
		if (this.store.outboxSize() === 0) return;
		for (let batch = this.store.outbox(); batch.length; batch = this.store.outbox()) {
			const ops = batch.map((b) => b.op);
			let owners: Map<string, string>;
			try {
				this.counters.metrics.rowsWrittenD1 += await writeOutbox(this.env.DB, ops);
				const changes = ops
					.flatMap((op) => (op.kind === "flips" ? op.flips : []))
					.map((f) => ({ nodeId: f.nodeId, to: f.to, at: f.at, seq: f.seq }));
				if (changes.length) await this.env.SCHEDULER.getByName("global").onChanges(changes, this.now());
				owners = await this.alerts.owners(ops);
			} catch (err) {
				console.error("writing flips failed; the outbox keeps them for the next sweep", err);
				return;
			}
			// Queued for the alert pipeline in the same step as the ack: a restart in between neither loses nor repeats.
			this.alerts.queue(ops, owners);
			this.store.ack(batch[batch.length - 1]?.id ?? 0);
		}
		this.alerts.deliver().catch((err) => console.error("alert hand-off failed; retrying next sweep", err));
	}

	// --- Connections ---

	private isConnected(nodeId: string, now: number): boolean {
		if (this.sockets.open(nodeId)) return true;
		const beat = this.http.last.get(nodeId);
		return beat !== undefined && !isSilent(beat, now, this.s);
	}

	private async ensureAlarm(now: number): Promise<void> {
		await this.ensureAlarmAt(now + this.s.sweepIntervalS * 1000);
	}
}
