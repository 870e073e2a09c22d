// Compute-challenge solvers (issue 11): the `Solver` interface a GPU solver implements, and the CPU reference solver,
// which runs workers/domain/matmul.ts in a worker thread (agent/solver-worker.ts) so the agent's main thread keeps
// answering keepalives while it multiplies. docs/VERIFICATION.md describes the challenge.
import { Worker } from "node:worker_threads";
import type { OpenedRow, Shape } from "../workers/domain/matmul.ts";
import { shapeProblem } from "../workers/domain/matmul.ts";

/** What the coordinator sends to start a challenge: the seed (32 bytes) and the shape. */
export interface SolverChallenge {
	seed: Uint8Array;
	shape: Shape;
}

/**
 * A compute-challenge solver. One challenge at a time: `commit` computes C = A · B for the challenge and resolves
 * with the Merkle root of its rows (hex); `open` answers the coordinator's reveal with the asked rows of that C and
 * their paths, as `verifyRows` expects them; `dispose` frees what the solver holds (threads, device memory) and makes
 * every later call reject. A new `commit` replaces the previous challenge. A solver that cannot take a shape (too big
 * for it) rejects `commit` at once with a `SolverError` whose message says so, rather than starting.
 *
 * A GPU solver implements the same three calls: generate A and B from the seed with Threefry-4x32-20 exactly as
 * prng.ts does, multiply with int8 inputs and int32 accumulation, hash each row with `rowHash`'s layout, build the
 * tree with merkle.ts's node rule, and keep what `open` needs (the tree, or enough of it, and C or the means to
 * recompute its asked rows). Its root must equal the CPU solver's for the same challenge, bit for bit.
 */
export interface Solver {
	commit(challenge: SolverChallenge): Promise<string>;
	open(rows: number[]): Promise<OpenedRow[]>;
	dispose(): Promise<void>;
}

/** A solver refused or failed a request: the message is meant for the operator. */
export class SolverError extends Error {}

/**
 * The CPU solver's limit: 2^33 multiply-adds, about 6 s on one core of a 2-core EPYC VM (1.3–1.7 × 10^9 a second
 * measured, 2026-12-03) and under a minute on a slow machine. The `cpu-reference` size (1024 rows × 8192 × 256 = 2^31)
 * fits; every GPU size of CHALLENGE_SIZES is far beyond it (the smallest, Apple M-series, is about 75 times over).
 */
export const CPU_SOLVER_MAX_MACS = 2 ** 33;

/** Why the CPU solver refuses a shape, or null when it takes it. */
export function cpuSolverRefusal(shape: Shape): string | null {
	const problem = shapeProblem(shape);
	if (problem) return `not a valid challenge shape: ${problem}`;
	const macs = shape.rows * shape.inner * shape.cols;
	if (macs > CPU_SOLVER_MAX_MACS) {
		return (
			`too big for the CPU solver: ${shape.rows} × ${shape.inner} × ${shape.cols} = ${macs.toExponential(2)} ` +
			`multiply-adds, over its limit of 2^33 (${CPU_SOLVER_MAX_MACS.toExponential(2)}); this challenge needs a GPU solver`
		);
	}
	return null;
}

/** Messages to the worker thread. */
export type SolverRequest =
	| { id: number; type: "commit"; seed: Uint8Array; shape: Shape }
	| { id: number; type: "open"; rows: number[] };

/** Omit applied to each member of a union. */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Messages from the worker thread. */
export type SolverReply =
	| { id: number; ok: true; root: string }
	| { id: number; ok: true; rows: OpenedRow[] }
	| { id: number; ok: false; error: string };

/** The CPU solver: a worker thread running the pure reference code. */
export class CpuSolver implements Solver {
	/** Resolves with the thread's exit code once it has ended (after `dispose`, or a crash). */
	readonly exited: Promise<number>;
	private readonly worker: Worker;
	private readonly pending = new Map<number, { resolve: (reply: SolverReply) => void; reject: (e: Error) => void }>();
	private nextId = 1;
	private dead: string | null = null;

	constructor() {
		this.worker = new Worker(new URL("./solver-worker.ts", import.meta.url));
		// An idle solver does not keep the process alive; a pending request does (see `request`).
		this.worker.unref();
		this.worker.on("message", (reply: SolverReply) => {
			const waiter = this.pending.get(reply.id);
			this.pending.delete(reply.id);
			if (this.pending.size === 0) this.worker.unref();
			waiter?.resolve(reply);
		});
		this.worker.on("error", (err) => this.fail(`the CPU solver's thread failed: ${err.message}`));
		this.exited = new Promise((resolve) => {
			this.worker.once("exit", (code) => {
				this.fail("the CPU solver has ended");
				resolve(code);
			});
		});
	}

	async commit(challenge: SolverChallenge): Promise<string> {
		const refusal = cpuSolverRefusal(challenge.shape);
		if (refusal) throw new SolverError(refusal);
		const reply = await this.request({ type: "commit", seed: challenge.seed, shape: challenge.shape });
		if (!("root" in reply)) throw new SolverError("the CPU solver answered a commit without a root");
		return reply.root;
	}

	async open(rows: number[]): Promise<OpenedRow[]> {
		const reply = await this.request({ type: "open", rows });
		if (!("rows" in reply)) throw new SolverError("the CPU solver answered an open without rows");
		return reply.rows;
	}

	async dispose(): Promise<void> {
		if (this.dead === null) this.fail("the CPU solver was disposed");
		await this.worker.terminate();
		await this.exited;
	}

	private request(message: OmitEach<SolverRequest, "id">): Promise<SolverReply & { ok: true }> {
		if (this.dead !== null) return Promise.reject(new SolverError(this.dead));
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			this.pending.set(id, {
				resolve: (reply) => (reply.ok ? resolve(reply) : reject(new SolverError(reply.error))),
				reject,
			});
			this.worker.ref();
			this.worker.postMessage({ ...message, id } as SolverRequest);
		});
	}

	/** Rejects everything pending and every later call with `reason`. */
	private fail(reason: string): void {
		this.dead ??= reason;
		for (const waiter of this.pending.values()) waiter.reject(new SolverError(this.dead));
		this.pending.clear();
	}
}

/** The CPU reference solver, in its own worker thread. */
export function createCpuSolver(): CpuSolver {
	return new CpuSolver();
}
