// A shard's hardware verifications (docs/VERIFICATION.md §6, §14): one session per connected node whose claim is not
// verified, or that a co-scheduled round challenges, held in memory (a restart voids it: it runs again on the next
// connection, and the round judges it void); its outcome handed to the hooks, which record it in D1.
import type { ShardMetrics } from "../workers/contracts.ts";
import { MAX_GPUS_PER_NODE, type VerificationRecord } from "../workers/domain/verification.ts";
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
	refusalOf,
	unanswered,
	type Claim,
	type Session,
} from "../workers/domain/verify-session.ts";
import type { ShardSockets } from "./shard-sockets.ts";

/** A rig is challenged on every GPU it claims, at once (registration allows at most this many). */
const MAX_PARTS = MAX_GPUS_PER_NODE;

type VerifyMessage = Extract<AgentMessage, { type: `verify_${string}` }>;

/** Where a session's conclusion goes: a node's own attempt is recorded; a round's member reports to its round. */
export interface VerifyHooks {
	recorded(nodeId: string, attempt: VerificationRecord): Promise<unknown>;
	roundEnded(round: string, nodeId: string, attempt: VerificationRecord): Promise<void>;
}

export class ShardVerifier {
	private readonly sessions = new Map<string, Session & { round: string | null }>();

	constructor(
		private readonly sockets: ShardSockets,
		private readonly cfg: { secret: string; shape: Shape | null },
		private readonly epoch: () => Promise<number>,
		private readonly hooks: VerifyHooks,
		/** The shard's counters (their `metrics` object is replaced at each checkpoint: read it each time). */
		private readonly counters: { metrics: Pick<ShardMetrics, "verifyRefused"> },
	) {}

	get active(): number {
		return this.sessions.size;
	}

	/**
	 * Challenges the node on `ws`, one part per claimed GPU, all sent now, as a member of `round` if given. False when
	 * a session of the node is already running (it is not interrupted).
	 */
	async start(ws: WebSocket, nodeId: string, claim: Claim, now: number, round: string | null = null): Promise<boolean> {
		if (this.sessions.has(nodeId)) return false;
		const shape = this.cfg.shape ?? CHALLENGE_SIZES[challengeClass(claim.gpu_model)].shape;
		const epoch = await this.epoch();
		const seeds = [];
		for (let k = 0; k < Math.min(MAX_PARTS, Math.max(1, claim.gpu_count)); k++) {
			const seed = await deriveSeed(this.cfg.secret, epoch, nodeId, randomToken(12));
			seeds.push({ id: `vrf_${randomToken(9)}`, seed });
		}
		const s = { ...newSession(claim, shape, seeds, now), round };
		this.sessions.set(nodeId, s);
		const deadline = new Date(latestCommit(s)).toISOString();
		for (const p of s.parts) {
			this.sockets.send(ws, { type: "verify", id: p.id, method: VERIFY_METHOD, seed: p.seed, shape, deadline });
		}
		return true;
	}

	/**
	 * A verification message from the node on `ws`. One its session does not take (`refusalOf`) is answered with an
	 * `error` (`verify_refused`, the reason) and counted; it changes nothing.
	 */
	async message(ws: WebSocket, nodeId: string, msg: VerifyMessage, now: number): Promise<void> {
		const s = this.sessions.get(nodeId);
		const refused = refusalOf(s, msg);
		if (refused !== null || !s) {
			this.counters.metrics.verifyRefused++;
			this.sockets.send(ws, { type: "error", code: "verify_refused", message: refused ?? "" });
			return;
		}
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

	/**
	 * The node's connection ended: its own session is void (it runs again on the next connection); a round's member
	 * that left before finishing failed its attempt (`unanswered`).
	 */
	forget(nodeId: string, now: number): Promise<void> {
		const s = this.sessions.get(nodeId);
		this.sessions.delete(nodeId);
		if (!s?.round) return Promise.resolve();
		return this.hooks.roundEnded(s.round, nodeId, unanswered(s, "disconnected before finishing", now));
	}

	private async settle(nodeId: string, now: number): Promise<void> {
		const s = this.sessions.get(nodeId);
		if (!s) return;
		const o = outcome(s, now);
		if (o.kind === "pending") return;
		this.sessions.delete(nodeId);
		const attempt = o.kind === "done" ? o.record : s.round ? unanswered(s, o.why, now) : null;
		if (!attempt) return; // its own session, declined or never acknowledged: nothing is recorded
		if (s.round) await this.hooks.roundEnded(s.round, nodeId, attempt);
		else await this.hooks.recorded(nodeId, attempt);
		if (o.kind === "void") return;
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
