// A shard's hardware verifications (docs/VERIFICATION.md §6): one session per connected node whose claim is not
// verified, held in memory (a restart voids it: it runs again on the next connection), its outcome recorded in D1.
import { recordVerification } from "../workers/db/verifications.ts";
import { randomToken } from "../workers/domain/challenge.ts";
import {
	CHALLENGE_SIZES,
	VERIFY_METHOD,
	challengeClass,
	deriveSeed,
	int32sFromBase64url,
	secureRandom,
	type OpenedRow,
	type Shape,
} from "../workers/domain/matmul.ts";
import type { AgentMessage } from "../workers/domain/protocol.ts";
import {
	expire,
	latestCommit,
	newSession,
	onAck,
	onCommit,
	onDecline,
	onOpen,
	outcome,
	type Claim,
	type Session,
} from "../workers/domain/verify-session.ts";
import type { ShardSockets } from "./shard-sockets.ts";

/** A rig is challenged on at most this many GPUs at once (a bigger claim is checked on this many). */
const MAX_PARTS = 16;

type VerifyMessage = Extract<AgentMessage, { type: `verify_${string}` }>;

export class ShardVerifier {
	private readonly sessions = new Map<string, Session>();

	constructor(
		private readonly sockets: ShardSockets,
		private readonly db: D1Database,
		private readonly cfg: { secret: string; shape: Shape | null },
		private readonly epoch: () => Promise<number>,
		/** Told of every recorded outcome (the scheduler places verified nodes first). */
		private readonly recorded: (nodeId: string, verified: boolean) => Promise<void>,
	) {}

	get active(): number {
		return this.sessions.size;
	}

	/** Challenges the node on `ws`, one part per claimed GPU, all sent now. */
	async start(ws: WebSocket, nodeId: string, claim: Claim, now: number): Promise<void> {
		if (this.sessions.has(nodeId)) return;
		const shape = this.cfg.shape ?? CHALLENGE_SIZES[challengeClass(claim.gpu_model)].shape;
		const epoch = await this.epoch();
		const seeds = [];
		for (let k = 0; k < Math.min(MAX_PARTS, Math.max(1, claim.gpu_count)); k++) {
			const seed = await deriveSeed(this.cfg.secret, epoch, nodeId, randomToken(12));
			seeds.push({ id: `vrf_${randomToken(9)}`, seed });
		}
		const s = newSession(claim, shape, seeds, now);
		this.sessions.set(nodeId, s);
		const deadline = new Date(latestCommit(s)).toISOString();
		for (const p of s.parts) {
			this.sockets.send(ws, { type: "verify", id: p.id, method: VERIFY_METHOD, seed: p.seed, shape, deadline });
		}
	}

	/** A verification message from the node on `ws`; anything for a session it does not have is ignored. */
	async message(ws: WebSocket, nodeId: string, msg: VerifyMessage, now: number): Promise<void> {
		const s = this.sessions.get(nodeId);
		if (!s) return;
		if (msg.type === "verify_ack") onAck(s, now);
		else if (msg.type === "verify_decline") onDecline(s, msg.reason);
		else if (msg.type === "verify_commit") {
			const reveal = onCommit(s, msg.id, msg.root, now, secureRandom);
			if (reveal) this.sockets.send(ws, { type: "verify_reveal", id: msg.id, ...reveal });
		} else {
			const rows = msg.rows.map((r) => ({ i: r.i, values: int32sFromBase64url(r.values), path: r.path }));
			// Undecodable values: checked as a missing opening.
			const decoded = rows.every((r) => r.values !== null) ? (rows as OpenedRow[]) : [];
			await onOpen(s, msg.id, decoded, now);
		}
		await this.settle(nodeId, now);
	}

	/** The sweep's part: parts past their deadlines end as late, and finished sessions are recorded. */
	async sweep(now: number): Promise<void> {
		for (const [nodeId, s] of this.sessions) {
			expire(s, now);
			await this.settle(nodeId, now);
		}
	}

	/** The node's connection ended: its session is void (it runs again on the next connection). */
	forget(nodeId: string): void {
		this.sessions.delete(nodeId);
	}

	private async settle(nodeId: string, now: number): Promise<void> {
		const s = this.sessions.get(nodeId);
		if (!s) return;
		const o = outcome(s, now);
		if (o.kind === "pending") return;
		this.sessions.delete(nodeId);
		if (o.kind === "void") return;
		await recordVerification(this.db, nodeId, o.record);
		await this.recorded(nodeId, o.record.state === "verified").catch((err) => {
			console.error("the scheduler did not hear of a verification; its hourly reconcile will", err);
		});
		const ws = this.sockets.open(nodeId);
		if (!ws) return;
		const { state, reason, measured_ms } = o.record;
		this.sockets.send(ws, {
			type: "verify_result",
			state,
			measured_ms: measured_ms ?? 0,
			...(reason ? { reason } : {}),
		});
	}
}
