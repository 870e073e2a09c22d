// Owns the liveness of the nodes assigned to one shard: their sockets, status flips, challenges and incidents.
import { DurableObject } from "cloudflare:workers";
import { echoAnswer, challengeSampleSize, newChallenge, sample, type Challenge } from "../workers/domain/challenge.ts";
import type { Flip, FlipReason } from "../workers/domain/flips.ts";
import { DropWindow, incidentWindowMs, isIncident } from "../workers/domain/incident.ts";
import { AgentMessage, CLOSE, KEEPALIVE_PING, KEEPALIVE_PONG, MAX_AGENT_MESSAGE_BYTES, type CoordinatorMessage } from "../workers/domain/protocol.ts";
import { readSettings, type Settings } from "../workers/domain/settings.ts";
import { deriveStatus, isSilent, type NodeStatus } from "../workers/domain/status.ts";
import { randomToken } from "../workers/domain/challenge.ts";
import { writeOutbox } from "../workers/services/liveness-writes.ts";
import { ShardStore, type ChallengeCounts, type ShardNode, type Transport } from "./shard-store.ts";

/** Per-socket state; survives hibernation through serializeAttachment. */
interface SocketState {
	nodeId: string;
	connectedAt: number;
	lastMessageAt: number;
	challenge: Challenge | null;
	replaced?: boolean;
}

export interface NodeLiveness {
	status: NodeStatus;
	last_seen_at: number | null;
	connected: boolean;
	transport: Transport | null;
}

export interface HeartbeatResult {
	status: NodeStatus;
	next_heartbeat_s: number;
	challenge: { id: string; kind: string; nonce: string; deadline: string } | null;
	results: { id: string; passed: boolean }[];
}

/** Billable-operation counters, read by the benchmark's cost model. */
export interface ShardMetrics {
	alarms: number;
	socketsSwept: number;
	messagesIn: number;
	connects: number;
	heartbeats: number;
	/** Rows written by events (flips, outbox, token ids): zero for a beat that changes nothing. */
	rowsWrittenDO: number;
	/** Rows written by periodic checkpoints: a few per CHECKPOINT_S, whatever the node count. */
	rowsWrittenCheckpoint: number;
	rowsWrittenD1: number;
}

const NO_METRICS: ShardMetrics = { alarms: 0, socketsSwept: 0, messagesIn: 0, connects: 0, heartbeats: 0, rowsWrittenDO: 0, rowsWrittenCheckpoint: 0, rowsWrittenD1: 0 };

type IncidentReason = "mass_drop" | "coordinator_restart";
interface OpenIncident { id: string; reason: IncidentReason; startedAt: number; lastDropAt: number; affected: number }

export class LivenessShard extends DurableObject<Env> {
	private readonly s: Settings;
	private readonly store: ShardStore;
	private readonly bootedAt = Date.now();
	/** HTTP-heartbeat nodes: last beat, in memory only, so a beat writes nothing (see docs/PROTOCOL.md). */
	private readonly beats = new Map<string, number>();
	private readonly beatJtis = new Map<string, number>();
	private readonly httpChallenges = new Map<string, Challenge>();
	private readonly drops: DropWindow;
	/** Nodes stored online with a WebSocket when this instance started but holding none: a restart lost them. */
	private missingAtBoot = new Set<string>();
	private missingAtBootCount = 0;
	private graceDone = false;
	private incident: OpenIncident | null = null;
	private counts: { epoch: number; byNode: Record<string, ChallengeCounts>; dirty: boolean } | null = null;
	private metrics: ShardMetrics = { ...NO_METRICS };
	private flushing: Promise<void> | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.s = readSettings(env as unknown as Record<string, unknown>);
		this.store = new ShardStore(ctx.storage.sql);
		this.drops = new DropWindow(incidentWindowMs(this.s));
		// Keepalives are answered by the runtime without waking this object (billing and CPU stay flat).
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEPALIVE_PING, KEEPALIVE_PONG));
		ctx.blockConcurrencyWhile(async () => {
			this.incident = this.store.meta<OpenIncident>("incident");
			const held = new Set(ctx.getWebSockets().map((ws) => this.state(ws)?.nodeId));
			this.missingAtBoot = new Set(this.store.onlineNodes("ws").map((n) => n.node_id).filter((id) => !held.has(id)));
			this.missingAtBootCount = this.missingAtBoot.size;
		});
	}

	// --- WebSocket upgrade (the Worker has verified the node's token) ---

	override async fetch(request: Request): Promise<Response> {
		const nodeId = request.headers.get("x-pulsegrid-node");
		const jti = request.headers.get("x-pulsegrid-jti");
		const exp = Number(request.headers.get("x-pulsegrid-exp"));
		if (!nodeId || !jti || !Number.isFinite(exp) || request.headers.get("upgrade") !== "websocket") {
			return new Response("bad upgrade", { status: 400 });
		}
		if (!this.store.useJti(jti, exp)) return replayed();
		const now = Date.now();
		for (const old of this.ctx.getWebSockets(nodeId)) {
			this.setState(old, { ...(this.state(old) as SocketState), replaced: true });
			old.close(CLOSE.replaced, "replaced by a newer connection");
		}
		const { 0: client, 1: server } = new WebSocketPair();
		this.ctx.acceptWebSocket(server, [nodeId]);
		this.setState(server, { nodeId, connectedAt: now, lastMessageAt: now, challenge: null });
		this.missingAtBoot.delete(nodeId);
		this.metrics.connects++;

		const node = this.store.nodeOrNew(nodeId, now);
		node.transport = "ws";
		node.last_seen_at = now;
		const flip = this.flipTo(node, this.statusOf(node, true, now), now, "connected", now);
		this.store.saveNode(node);
		this.send(server, {
			type: "welcome", node_id: nodeId, heartbeat_interval_s: this.s.heartbeatIntervalS,
			offline_after_s: this.s.offlineAfterS, server_time: new Date(now).toISOString(), status: node.status,
		});
		await this.commit(flip ? [flip] : []);
		await this.ensureAlarm();
		return new Response(null, { status: 101, webSocket: client });
	}

	override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
		this.metrics.messagesIn++;
		const st = this.state(ws);
		if (!st) return;
		const now = Date.now();
		st.lastMessageAt = now;
		const size = typeof message === "string" ? message.length : message.byteLength;
		let parsed: AgentMessage | null = null;
		if (size <= MAX_AGENT_MESSAGE_BYTES && typeof message === "string") {
			try {
				const r = AgentMessage.safeParse(JSON.parse(message));
				parsed = r.success ? r.data : null;
			} catch { /* not JSON */ }
		}
		if (!parsed) {
			this.send(ws, { type: "error", code: "bad_message", message: "Unknown or malformed message; see docs/PROTOCOL.md." });
			this.setState(ws, st);
			return;
		}
		if (parsed.type === "bye") {
			this.setState(ws, st);
			ws.close(CLOSE.normal, "bye");
			await this.disconnected(ws, false);
			return;
		}
		if (st.challenge && st.challenge.id === parsed.id) {
			const passed = now <= st.challenge.deadline && parsed.answer === (await echoAnswer(st.nodeId, st.challenge.nonce));
			this.count(st.nodeId, passed ? "passed" : "failed", now);
			st.challenge = null;
			this.send(ws, { type: "challenge_result", id: parsed.id, passed });
		}
		this.setState(ws, st);
	}

	override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
		try {
			ws.close(code === 1005 || code === 1006 ? CLOSE.normal : code, reason.slice(0, 100));
		} catch { /* already closed */ }
		await this.disconnected(ws, true);
	}

	override async webSocketError(ws: WebSocket): Promise<void> {
		await this.disconnected(ws, true);
	}

	/** A socket closed. An agent that said "bye" left on purpose, so its drop never counts toward an incident. */
	private async disconnected(ws: WebSocket, unannounced: boolean): Promise<void> {
		const st = this.state(ws);
		if (!st || st.replaced) return;
		try {
			this.setState(ws, { ...st, challenge: null, replaced: true });
		} catch { /* the socket is gone; its state no longer matters */ }
		const stillHeld = this.ctx.getWebSockets(st.nodeId).some((o) => o !== ws && o.readyState === WebSocket.OPEN);
		if (stillHeld) return;
		const now = Date.now();
		if (st.challenge) this.count(st.nodeId, "missed", now);
		const node = this.store.node(st.nodeId);
		if (!node) return;
		const last = this.lastSeen(ws, st);
		node.last_seen_at = last;
		const flip = this.flipTo(node, this.statusOf(node, false, now), now, "disconnected", now);
		this.store.saveNode(node);
		if (flip && unannounced) this.drops.add(now, flip);
		await this.commit(flip ? [flip] : []);
	}

	// --- RPC called by the Worker ---

	/** HTTP fallback: a beat is remembered in memory only; a status change is the only write. */
	async heartbeat(nodeId: string, jti: string, iat: number, exp: number, answers: { id: string; answer: string }[]): Promise<HeartbeatResult | "replayed"> {
		const now = Date.now();
		for (const [j, e] of this.beatJtis) if (e < now) this.beatJtis.delete(j);
		// Tokens minted before this instance started may have been seen by the previous one.
		if (this.beatJtis.has(jti) || iat * 1000 < this.bootedAt - 1000) return "replayed";
		this.beatJtis.set(jti, exp * 1000);
		this.metrics.heartbeats++;
		this.beats.set(nodeId, now);
		const results: { id: string; passed: boolean }[] = [];
		const pending = this.httpChallenges.get(nodeId);
		for (const a of answers) {
			if (!pending || pending.id !== a.id) continue;
			const passed = now <= pending.deadline && a.answer === (await echoAnswer(nodeId, pending.nonce));
			this.count(nodeId, passed ? "passed" : "failed", now);
			this.httpChallenges.delete(nodeId);
			results.push({ id: a.id, passed });
		}
		const node = this.store.nodeOrNew(nodeId, now);
		node.transport = "http";
		node.last_seen_at = now;
		const flip = this.flipTo(node, this.statusOf(node, true, now), now, "connected", now);
		if (flip) this.store.saveNode(node);
		let challenge: Challenge | null = null;
		if (node.status === "online" && !this.httpChallenges.has(nodeId) && Math.random() < this.s.heartbeatIntervalS / this.s.challengeEveryS) {
			challenge = newChallenge(now, this.s);
			challenge.deadline += this.s.heartbeatIntervalS * 1000;
			this.httpChallenges.set(nodeId, challenge);
		}
		await this.commit(flip ? [flip] : []);
		await this.ensureAlarm();
		return {
			status: node.status, next_heartbeat_s: this.s.heartbeatIntervalS, results,
			challenge: challenge && { id: challenge.id, kind: challenge.kind, nonce: challenge.nonce, deadline: new Date(challenge.deadline).toISOString() },
		};
	}

	async setMaintenance(nodeId: string, on: boolean): Promise<NodeStatus> {
		const now = Date.now();
		const node = this.store.nodeOrNew(nodeId, now);
		node.maintenance = on ? 1 : 0;
		const flip = this.flipTo(node, this.statusOf(node, this.isConnected(nodeId, now), now), now, on ? "maintenance_on" : "maintenance_off", now);
		this.store.saveNode(node);
		await this.commit(flip ? [flip] : []);
		await this.ensureAlarm();
		return node.status;
	}

	/** The node was deleted: drop its connection and its row (its history stays in D1). */
	async forget(nodeId: string): Promise<void> {
		const now = Date.now();
		for (const ws of this.ctx.getWebSockets(nodeId)) {
			this.setState(ws, { ...(this.state(ws) as SocketState), replaced: true });
			ws.close(CLOSE.deleted, "node deleted");
		}
		this.beats.delete(nodeId);
		const node = this.store.node(nodeId);
		const flip = node && node.status !== "offline" && node.status !== "new" ? this.flipTo(node, "offline", now, "node_deleted", now) : null;
		this.store.deleteNode(nodeId);
		await this.commit(flip ? [flip] : []);
	}

	/** Live status and last-seen time of the given nodes, measured here rather than self-reported. */
	liveness(nodeIds: string[]): Record<string, NodeLiveness> {
		const now = Date.now();
		const out: Record<string, NodeLiveness> = {};
		for (const id of nodeIds) {
			const node = this.store.node(id);
			const ws = this.ctx.getWebSockets(id).find((w) => !this.state(w)?.replaced);
			const st = ws && this.state(ws);
			const last = ws && st ? this.lastSeen(ws, st) : this.beats.get(id) ?? node?.last_seen_at ?? null;
			out[id] = { status: node?.status ?? "new", last_seen_at: last, connected: this.isConnected(id, now), transport: node?.transport ?? null };
		}
		return out;
	}

	/** Makes sure the sweep runs (the cron calls this so a restarted coordinator settles every shard). */
	async wake(): Promise<void> {
		await this.ensureAlarm();
	}

	/** Counters since the shard was created: the checkpointed total plus what this instance counted since. */
	metricsSnapshot(): ShardMetrics {
		return this.totalMetrics();
	}

	private totalMetrics(): ShardMetrics {
		const saved = this.store.meta<ShardMetrics>("metrics");
		const m: ShardMetrics = { ...this.metrics, rowsWrittenDO: this.metrics.rowsWrittenDO + this.store.rowsWritten };
		for (const k of Object.keys(m) as (keyof ShardMetrics)[]) m[k] += saved?.[k] ?? 0;
		return m;
	}

	// --- The sweep: one alarm per shard, always pointing at the next sweep ---

	override async alarm(): Promise<void> {
		const now = Date.now();
		this.metrics.alarms++;
		const flips: Flip[] = [];
		const live: WebSocket[] = [];
		for (const ws of this.ctx.getWebSockets()) {
			const st = this.state(ws);
			if (!st || st.replaced) continue;
			this.metrics.socketsSwept++;
			const last = this.lastSeen(ws, st);
			if (isSilent(last, now, this.s)) {
				ws.close(CLOSE.keepaliveTimeout, "no keepalive");
				this.setState(ws, { ...st, replaced: true });
				if (st.challenge) this.count(st.nodeId, "missed", now);
				this.drop(st.nodeId, now, "keepalive_timeout", last, flips);
				continue;
			}
			if (st.challenge && st.challenge.deadline < now) {
				this.count(st.nodeId, "missed", now);
				this.setState(ws, { ...st, challenge: null });
			}
			live.push(ws);
		}
		for (const [nodeId, beat] of this.beats) {
			if (!isSilent(beat, now, this.s)) continue;
			this.beats.delete(nodeId);
			this.drop(nodeId, now, "heartbeat_timeout", beat, flips);
		}
		for (const [nodeId, c] of this.httpChallenges) {
			if (c.deadline >= now) continue;
			this.httpChallenges.delete(nodeId);
			this.count(nodeId, "missed", now);
		}
		this.settleAfterBoot(now, flips);
		this.watchIncident(now, live.length + this.beats.size);
		this.issueChallenges(live, now);
		await this.commit(flips);
		this.checkpoint(now);
		if (live.length > 0 || this.beats.size > 0 || !this.graceDone || this.incident || this.store.outboxSize() > 0) {
			await this.ctx.storage.setAlarm(now + this.s.sweepIntervalS * 1000);
		}
	}

	/** After a restart, nodes that held a socket get OFFLINE_AFTER_S to come back before they are marked offline. */
	private settleAfterBoot(now: number, flips: Flip[]): void {
		if (this.graceDone || now < this.bootedAt + this.s.offlineAfterS * 1000) return;
		this.graceDone = true;
		const lastCheckpoint = this.store.meta<number>("checkpoint_at") ?? this.bootedAt;
		const lost = this.store.onlineNodes().filter((n) => !this.isConnected(n.node_id, now));
		if (this.missingAtBootCount >= this.s.incidentMinNodes) {
			this.openIncident("coordinator_restart", lastCheckpoint, this.missingAtBootCount, now);
		}
		for (const n of lost) {
			const reason = this.missingAtBoot.has(n.node_id) ? "coordinator_restart" : n.transport === "http" ? "heartbeat_timeout" : "keepalive_timeout";
			this.drop(n.node_id, now, reason, Math.min(n.last_seen_at ?? lastCheckpoint, lastCheckpoint), flips);
		}
		this.missingAtBoot.clear();
	}

	private drop(nodeId: string, now: number, reason: FlipReason, lastSeen: number | null, flips: Flip[]): void {
		const node = this.store.node(nodeId);
		if (!node) return;
		if (lastSeen !== null) node.last_seen_at = lastSeen;
		const flip = this.flipTo(node, this.statusOf(node, false, now), now, reason, lastSeen ?? now);
		this.store.saveNode(node);
		if (!flip) return;
		flips.push(flip);
		this.drops.add(now, flip);
	}

	/** Opens a shard incident when most nodes dropped together; closes it once drops stop for a window. */
	private watchIncident(now: number, onlineNow: number): void {
		const recent = this.drops.recent(now);
		if (!this.incident && isIncident(recent.length, onlineNow + recent.length, this.s)) {
			this.openIncident("mass_drop", recent[0]?.at ?? now, recent.length, now);
			const inc = this.incident as OpenIncident | null;
			if (inc) {
				this.store.enqueue({
					kind: "tag", incident_id: inc.id, flip_ids: recent.map((d) => d.flipId),
					intervals: recent.filter((d) => d.intervalStart !== null).map((d) => ({ node_id: d.nodeId, started_at: d.intervalStart as number })),
				});
			}
		} else if (this.incident) {
			if (recent.length > 0) {
				this.incident.lastDropAt = Math.max(this.incident.lastDropAt, recent[recent.length - 1]?.at ?? now);
				this.incident.affected = Math.max(this.incident.affected, recent.length);
			}
			if (now - this.incident.lastDropAt > incidentWindowMs(this.s)) {
				this.enqueueIncident(this.incident, this.incident.lastDropAt);
				this.incident = null;
			}
			this.store.setMeta("incident", this.incident);
		}
	}

	private openIncident(reason: IncidentReason, startedAt: number, affected: number, now: number): void {
		this.incident = { id: `inc_${randomToken(9)}`, reason, startedAt, lastDropAt: now, affected };
		this.store.setMeta("incident", this.incident);
		this.enqueueIncident(this.incident, null);
	}

	private enqueueIncident(inc: OpenIncident, endedAt: number | null): void {
		this.store.enqueue({
			kind: "incident", id: inc.id, scope: `shard:${this.ctx.id.name ?? this.ctx.id.toString()}`, reason: inc.reason,
			started_at: inc.startedAt, ended_at: endedAt, nodes_affected: inc.affected,
		});
	}

	private issueChallenges(live: WebSocket[], now: number): void {
		const idle = live.filter((ws) => !this.state(ws)?.challenge && this.store.node(this.state(ws)?.nodeId ?? "")?.status === "online");
		for (const ws of sample(idle, challengeSampleSize(idle.length, this.s, Math.random), Math.random)) {
			const st = this.state(ws) as SocketState;
			const c = newChallenge(now, this.s);
			this.setState(ws, { ...st, challenge: c });
			this.count(st.nodeId, "issued", now);
			this.send(ws, { type: "challenge", id: c.id, kind: c.kind, nonce: c.nonce, deadline: new Date(c.deadline).toISOString() });
		}
	}

	private count(nodeId: string, what: keyof ChallengeCounts, now: number): void {
		const epoch = Math.floor(now / (this.s.epochSeconds * 1000));
		if (!this.counts || this.counts.epoch !== epoch) {
			if (this.counts?.dirty) this.store.saveChallengeCounts(this.counts.epoch, this.counts.byNode);
			this.counts = { epoch, byNode: this.store.challengeCounts(epoch), dirty: false };
		}
		const c = (this.counts.byNode[nodeId] ??= { issued: 0, passed: 0, failed: 0, missed: 0 });
		c[what]++;
		this.counts.dirty = true;
	}

	/** Challenge counters and the shard clock go to storage at most once per CHECKPOINT_S: a few rows. */
	private checkpoint(now: number): void {
		const last = this.store.meta<number>("checkpoint_at") ?? 0;
		if (now - last < this.s.checkpointS * 1000) return;
		this.metrics.rowsWrittenDO += this.store.rowsWritten;
		this.store.rowsWritten = 0;
		if (this.counts?.dirty) {
			this.store.saveChallengeCounts(this.counts.epoch, this.counts.byNode);
			this.counts.dirty = false;
		}
		this.store.pruneJti(now);
		this.store.setMeta("checkpoint_at", now);
		this.metrics.rowsWrittenCheckpoint += this.store.rowsWritten + 1; // + the metrics row itself
		this.store.rowsWritten = 0;
		const total = this.totalMetrics();
		this.metrics = { ...NO_METRICS };
		this.store.setMeta("metrics", total);
		this.store.rowsWritten = 0;
	}

	// --- Flips and the outbox ---

	private statusOf(node: ShardNode, connected: boolean, now: number): NodeStatus {
		return deriveStatus({ maintenance: node.maintenance === 1, connected, lastSeenAt: connected ? now : node.last_seen_at, everOnline: node.ever_online === 1 }, now, this.s);
	}

	/** Moves a node to `to`, returning the flip to record (or null when nothing changed). */
	private flipTo(node: ShardNode, to: NodeStatus, now: number, reason: FlipReason, intervalEnd: number): Flip | null {
		if (node.status === to) return null;
		node.seq += 1;
		const flip: Flip = {
			id: `${node.node_id}:${node.seq}`, nodeId: node.node_id, from: node.status, to, at: now, reason,
			lastSeenAt: node.last_seen_at, intervalStart: node.status === "online" ? node.since : null,
			intervalEnd: node.status === "online" ? intervalEnd : null,
			incidentId: reason === "connected" || reason.startsWith("maintenance") ? null : this.incident?.id ?? null,
		};
		node.status = to;
		node.since = now;
		if (to === "online") node.ever_online = 1;
		return flip;
	}

	/** Queues flips in this object's storage first, then writes everything queued to D1. */
	private async commit(flips: Flip[]): Promise<void> {
		if (flips.length) this.store.enqueue({ kind: "flips", flips });
		while (this.flushing) await this.flushing;
		if (this.store.outboxSize() === 0) return;
		this.flushing = this.flush().finally(() => (this.flushing = null));
		await this.flushing;
	}

	private async flush(): Promise<void> {
		for (let batch = this.store.outbox(); batch.length; batch = this.store.outbox()) {
			try {
				this.metrics.rowsWrittenD1 += await writeOutbox(this.env.DB, batch.map((b) => b.op));
			} catch (err) {
				console.error("D1 write failed; the outbox keeps it for the next sweep", err);
				return;
			}
			this.store.ack(batch[batch.length - 1]?.id ?? 0);
		}
	}

	// --- helpers ---

	private isConnected(nodeId: string, now: number): boolean {
		if (this.ctx.getWebSockets(nodeId).some((ws) => !this.state(ws)?.replaced && ws.readyState === WebSocket.OPEN)) return true;
		const beat = this.beats.get(nodeId);
		return beat !== undefined && !isSilent(beat, now, this.s);
	}

	private lastSeen(ws: WebSocket, st: SocketState): number {
		const pong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
		return Math.max(pong, st.lastMessageAt, st.connectedAt);
	}

	private state(ws: WebSocket): SocketState | null {
		return (ws.deserializeAttachment() as SocketState | null) ?? null;
	}

	private setState(ws: WebSocket, st: SocketState): void {
		ws.serializeAttachment(st);
	}

	private send(ws: WebSocket, msg: CoordinatorMessage): void {
		try {
			ws.send(JSON.stringify(msg));
		} catch { /* closing */ }
	}

	private async ensureAlarm(): Promise<void> {
		if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.s.sweepIntervalS * 1000);
	}
}

function replayed(): Response {
	return new Response(JSON.stringify({ error: { code: "token_replayed", message: "This node token was already used; mint a new one." } }), {
		status: 401, headers: { "content-type": "application/json" },
	});
}
