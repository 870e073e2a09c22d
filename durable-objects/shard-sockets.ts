// A shard's WebSockets: each one's state in its hibernation attachment (cached per instance), sending, closing, and
// the last sign of life.
import type { Challenge, Outcome } from "../workers/domain/challenge.ts";
import type { Origin } from "../workers/domain/incident.ts";
import type { CoordinatorMessage } from "../workers/domain/protocol.ts";

/** Per-socket state; survives hibernation through serializeAttachment. */
export interface SocketState {
	nodeId: string;
	connectedAt: number;
	lastMessageAt: number;
	challenge: Challenge | null;
	/** An outcome judged but not yet recorded and told (the next sweep does both). */
	result?: { id: string; outcome: Outcome } | null;
	/** Who is behind the socket (account, network), for incident attribution. */
	origin?: Origin;
	/** Closed or superseded by this object: its close event must not flip the node. */
	done?: boolean;
}

export class ShardSockets {
	/** The attachment is the durable copy; this cache spares a sweep deserializing every socket's attachment. */
	private readonly attachments = new WeakMap<WebSocket, SocketState>();

	constructor(private readonly ctx: DurableObjectState) {}

	/** Accepts a node's socket with the hibernation API, tagged with its node id. */
	accept(ws: WebSocket, st: SocketState): void {
		this.ctx.acceptWebSocket(ws, [st.nodeId]);
		this.set(ws, st);
	}

	/** Every socket of the shard, or of one node (finished ones included: check `state(ws)?.done`). */
	all(nodeId?: string): WebSocket[] {
		return nodeId === undefined ? this.ctx.getWebSockets() : this.ctx.getWebSockets(nodeId);
	}

	/** The node's open socket that this object has not finished, if any. */
	open(nodeId: string): WebSocket | undefined {
		return this.all(nodeId).find((ws) => !this.state(ws)?.done && ws.readyState === WebSocket.OPEN);
	}

	state(ws: WebSocket): SocketState | null {
		const cached = this.attachments.get(ws);
		if (cached) return cached;
		const st = (ws.deserializeAttachment() as SocketState | null) ?? null;
		if (st) this.attachments.set(ws, st);
		return st;
	}

	set(ws: WebSocket, st: SocketState): void {
		ws.serializeAttachment(st);
		this.attachments.set(ws, st);
	}

	/** The last moment the node was heard on this socket: a keepalive the runtime answered, a message, or the connect. */
	lastSeen(ws: WebSocket, st: SocketState): number {
		const pong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
		return Math.max(pong, st.lastMessageAt, st.connectedAt);
	}

	/** Marks a socket as handled so its close event flips nothing, and closes it when given a code. */
	finish(ws: WebSocket, code?: number, reason?: string): void {
		const st = this.state(ws);
		try {
			if (st) this.set(ws, { ...st, challenge: null, result: null, done: true });
			if (code) ws.close(code, reason);
		} catch {
			/* already closed */
		}
	}

	send(ws: WebSocket, msg: CoordinatorMessage): void {
		try {
			ws.send(JSON.stringify(msg));
		} catch {
			/* closing */
		}
	}
}
