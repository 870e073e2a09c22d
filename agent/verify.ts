// Hardware verification over the WebSocket (docs/VERIFICATION.md §6): acknowledges each `verify` challenge at once,
// solves it with a `Solver` off the main thread, commits with the root, opens the revealed rows, and frees the solvers.
import { availableParallelism } from "node:os";
import { fromBase64url } from "../workers/domain/challenge.ts";
import { type OpenedRow, type Shape, VERIFY_METHOD, wordsToBase64url } from "../workers/domain/matmul.ts";
import { messageOf } from "./errors.ts";
import type { AgentEvent, Emit } from "./events.ts";
import { cpuSolverRefusal, createCpuSolver, type Solver } from "./solver.ts";

/** The one challenge method this agent answers. */
/** The coordinator reads a decline's reason up to this many characters; longer ones are cut. */
export const MAX_DECLINE_REASON = 200;
/**
 * A committed part whose reveal has not come within this long is given up and its solver freed. The coordinator
 * reveals as soon as a commit arrives in time, and never after a late one or a declined sibling (the verification
 * is then over, or void, and no `verify_result` may follow), so without this a solver could sit for the whole
 * connection holding its matrices — on a GPU, device memory.
 */
export const REVEAL_WAIT_MS = 60_000;
const SEED_BYTES = 32;

/** What solves challenges: a fresh solver per part, the shapes it refuses up front, and how many run at once. */
export interface SolverBackend {
	/** A new solver for one part; disposed when the part ends. */
	create(): Solver;
	/** Why a shape cannot be taken (checked before a solver is created), or null; the solver may still refuse. */
	refusal(shape: Shape): string | null;
	/** Parts solved at the same time; the others wait their turn, in arrival order. */
	concurrency: number;
}

/**
 * The CPU reference solver (agent/solver.ts), one worker thread per part, as many at once as the machine has cores
 * (the main thread only sends frames, so it needs no core of its own). Parts beyond that wait: n parts on c cores
 * take about ceil(n / c) solving times, not n.
 */
export function cpuBackend(concurrency: number = availableParallelism()): SolverBackend {
	return { create: createCpuSolver, refusal: cpuSolverRefusal, concurrency: Math.max(1, Math.floor(concurrency)) };
}

export interface VerifierOptions {
	/** Sends a message on the connection (dropped when it is no longer open). */
	send(message: Record<string, unknown>): void;
	emit: Emit;
	/** False declines every challenge (`run --no-verify`). */
	enabled: boolean;
	backend: SolverBackend;
}

/**
 * One part (one challenge id): `waiting` for a solver slot, `solving`, `committed` (root sent, waiting for the
 * reveal), `opening`, then `ended` (opened, declined, given up, or the verification or the connection ended).
 */
interface Part {
	id: string;
	stage: "waiting" | "solving" | "committed" | "opening" | "ended";
	solver: Solver | null;
	revealTimer: NodeJS.Timeout | null;
}

/** The verification state of one connection; a new connection gets a new Verifier. */
export class Verifier {
	private readonly o: VerifierOptions;
	private readonly parts = new Map<string, Part>();
	private readonly queue: { part: Part; seed: Uint8Array; shape: Shape }[] = [];
	private running = 0;
	private readonly disposals: Promise<void>[] = [];

	constructor(o: VerifierOptions) {
		this.o = o;
	}

	/** Handles a verification message (`verify`, `verify_reveal`, `verify_result`); false for any other type. */
	handle(msg: Record<string, unknown>): boolean {
		switch (msg.type) {
			case "verify":
				this.challenge(msg);
				return true;
			case "verify_reveal":
				void this.reveal(msg);
				return true;
			case "verify_result":
				this.result(msg);
				return true;
			default:
				return false;
		}
	}

	/** The connection closed: ends every part and resolves once every solver is disposed. */
	async close(): Promise<void> {
		this.queue.length = 0;
		for (const part of this.parts.values()) this.end(part);
		await Promise.all(this.disposals);
	}

	private challenge(msg: Record<string, unknown>): void {
		const id = msg.id;
		if (typeof id !== "string" || id === "" || this.parts.has(id)) return; // nothing to answer, or a repeat
		// Before anything else: the first ack measures the round trip that the deadline counts.
		this.o.send({ type: "verify_ack", id });
		const shape = readShape(msg.shape);
		const method = String(msg.method);
		this.o.emit({
			event: "verify",
			id,
			method,
			rows: shape?.rows ?? null,
			inner: shape?.inner ?? null,
			cols: shape?.cols ?? null,
		});
		const part: Part = { id, stage: "waiting", solver: null, revealTimer: null };
		this.parts.set(id, part);
		const seed = fromBase64url(msg.seed);
		let refusal: string | null = null;
		if (!this.o.enabled) refusal = "hardware verification is turned off on this node (run --no-verify)";
		else if (method !== VERIFY_METHOD) refusal = `unknown method '${method}': this agent answers ${VERIFY_METHOD}`;
		else if (seed?.length !== SEED_BYTES) refusal = `the seed is not base64url of ${SEED_BYTES} bytes`;
		else if (!shape) refusal = "the shape is not {rows, inner, cols}";
		else refusal = this.o.backend.refusal(shape);
		if (refusal !== null || !seed || !shape) {
			this.decline(part, refusal ?? "unreadable challenge");
			return;
		}
		this.queue.push({ part, seed, shape });
		this.pump();
	}

	/** Starts waiting parts while solver slots are free. */
	private pump(): void {
		while (this.running < this.o.backend.concurrency) {
			const next = this.queue.shift();
			if (!next) return;
			if (next.part.stage !== "waiting") continue;
			this.running++;
			void this.solve(next.part, next.seed, next.shape).finally(() => {
				this.running--;
				this.pump();
			});
		}
	}

	private async solve(part: Part, seed: Uint8Array, shape: Shape): Promise<void> {
		part.stage = "solving";
		const started = performance.now();
		let root: string;
		try {
			part.solver = this.o.backend.create();
			root = await part.solver.commit({ seed, shape });
		} catch (err) {
			// A refusal or a failed solver: decline (the node stays unverified) rather than let the part turn late.
			if (part.stage === "solving") this.decline(part, messageOf(err));
			return;
		}
		if (part.stage !== "solving") return; // the connection or the verification ended meanwhile
		part.stage = "committed";
		this.o.send({ type: "verify_commit", id: part.id, root });
		this.o.emit({ event: "verify_commit", id: part.id, solve_ms: Math.round(performance.now() - started) });
		part.revealTimer = setTimeout(() => {
			if (part.stage !== "committed") return;
			this.o.emit({ event: "verify_error", id: part.id, message: `no reveal within ${REVEAL_WAIT_MS} ms` });
			this.end(part);
		}, REVEAL_WAIT_MS);
		part.revealTimer.unref();
	}

	/**
	 * Declines `part`, and every other part still waiting or solving: the coordinator voids the whole verification
	 * on a decline, so their commits would serve nothing.
	 */
	private decline(part: Part, reason: string): void {
		this.sendDecline(part, reason);
		for (const other of this.parts.values()) {
			if (other.stage === "waiting" || other.stage === "solving")
				this.sendDecline(other, `another part of this verification was declined: ${reason}`);
		}
	}

	private sendDecline(part: Part, reason: string): void {
		const cut = reason.length > MAX_DECLINE_REASON ? `${reason.slice(0, MAX_DECLINE_REASON - 1)}…` : reason;
		this.end(part);
		this.o.send({ type: "verify_decline", id: part.id, reason: cut });
		this.o.emit({ event: "verify_decline", id: part.id, reason });
	}

	private async reveal(msg: Record<string, unknown>): Promise<void> {
		const id = String(msg.id);
		const part = this.parts.get(id);
		if (part?.stage !== "committed" || !part.solver) {
			this.o.emit({ event: "verify_error", id, message: "a reveal for no committed challenge of this connection" });
			return;
		}
		// `r` is the coordinator's, for its check; opening needs only the rows.
		const rows = msg.rows;
		if (!Array.isArray(rows) || !rows.every((i) => Number.isInteger(i) && i >= 0)) {
			this.o.emit({ event: "verify_error", id, message: "the reveal's rows are not row numbers" });
			this.end(part);
			return;
		}
		part.stage = "opening";
		if (part.revealTimer) clearTimeout(part.revealTimer);
		let opened: OpenedRow[];
		try {
			opened = await part.solver.open(rows as number[]);
		} catch (err) {
			if (part.stage === "opening") {
				this.o.emit({ event: "verify_error", id, message: `cannot open the rows: ${messageOf(err)}` });
				this.end(part);
			}
			return;
		}
		if (part.stage !== "opening") return;
		this.o.send({
			type: "verify_open",
			id,
			rows: opened.map((r) => ({ i: r.i, values: wordsToBase64url(r.values), path: r.path })),
		});
		this.o.emit({ event: "verify_open", id, rows: opened.length });
		this.end(part); // nothing more is asked of a part once opened: free its solver now
	}

	/** The coordinator's verdict on the whole verification: every part is over. */
	private result(msg: Record<string, unknown>): void {
		const event: Extract<AgentEvent, { event: "verify_result" }> = {
			event: "verify_result",
			state: typeof msg.state === "string" ? msg.state : "unknown",
			measured_ms: typeof msg.measured_ms === "number" ? msg.measured_ms : null,
		};
		if (typeof msg.reason === "string") event.reason = msg.reason;
		this.queue.length = 0;
		for (const part of this.parts.values()) this.end(part);
		this.o.emit(event);
	}

	/** Ends a part: no further message for it, and its solver (if any) is disposed. */
	private end(part: Part): void {
		part.stage = "ended";
		if (part.revealTimer) clearTimeout(part.revealTimer);
		part.revealTimer = null;
		const solver = part.solver;
		part.solver = null;
		if (solver) this.disposals.push(solver.dispose().catch(() => {}));
	}
}

/** `{rows, inner, cols}` as numbers, or null; the solver judges the values. */
function readShape(raw: unknown): Shape | null {
	if (!raw || typeof raw !== "object") return null;
	const { rows, inner, cols } = raw as Record<string, unknown>;
	if (typeof rows !== "number" || typeof inner !== "number" || typeof cols !== "number") return null;
	return { rows, inner, cols };
}
