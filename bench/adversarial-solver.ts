// The adversarial scenario's real arithmetic, off the main thread: a few solver threads shared by the whole fleet,
// fed the commitment whose modelled commit time is nearest first, so the main thread keeps every simulated clock.
import { Worker } from "node:worker_threads";
import type { OpenedRow, Shape } from "../workers/domain/matmul.ts";

export type WorkerRequest =
	| { id: number; type: "commit"; job: string; seed: Uint8Array; shape: Shape; garbage: number }
	| { id: number; type: "open"; job: string; rows: number[] }
	| { id: number; type: "drop"; job: string };

/** Omit applied to each member of a union. */
type OmitId<T> = T extends unknown ? Omit<T, "id"> : never;

export type WorkerReply =
	| { id: number; ok: true; root: string }
	| { id: number; ok: true; rows: OpenedRow[] }
	| { id: number; ok: false; error: string };

interface Thread {
	worker: Worker;
	/** A commit is running on it (opens queue behind it in the thread). */
	busy: boolean;
}

interface Pending {
	job: string;
	seed: Uint8Array;
	shape: Shape;
	garbage: number;
	due: number;
	resolve: (root: string) => void;
	reject: (e: Error) => void;
}

export class SolverPool {
	private readonly threads: Thread[];
	private readonly waiting: Pending[] = [];
	private readonly replies = new Map<number, { resolve: (r: WorkerReply) => void }>();
	/** Which thread holds each committed job (its opening must come from there). */
	private readonly holder = new Map<string, Thread>();
	private nextId = 1;
	readonly stats = { commits: 0, opens: 0, computeMs: [] as number[], queuedMax: 0, errors: [] as string[] };

	constructor(threads: number) {
		this.threads = Array.from({ length: Math.max(1, threads) }, () => {
			const worker = new Worker(new URL("./adversarial-worker.ts", import.meta.url));
			worker.on("message", (reply: WorkerReply) => {
				const w = this.replies.get(reply.id);
				this.replies.delete(reply.id);
				w?.resolve(reply);
			});
			worker.unref();
			return { worker, busy: false };
		});
	}

	/**
	 * Computes a commitment (with `garbage` rows made up); the one whose modelled commit is due first goes first.
	 * Resolves with the root once it is computed.
	 */
	commit(job: string, seed: Uint8Array, shape: Shape, garbage: number, due: number): Promise<string> {
		return new Promise((resolve, reject) => {
			this.waiting.push({ job, seed, shape, garbage, due, resolve, reject });
			this.stats.queuedMax = Math.max(this.stats.queuedMax, this.waiting.length);
			this.pump();
		});
	}

	async open(job: string, rows: number[]): Promise<OpenedRow[]> {
		const t = this.holder.get(job);
		this.holder.delete(job);
		if (!t) throw new Error(`no thread holds ${job}`);
		const reply = await this.request(t, { type: "open", job, rows });
		if (!reply.ok) throw new Error(reply.error);
		if (!("rows" in reply)) throw new Error("an open answered without rows");
		this.stats.opens++;
		return reply.rows;
	}

	/** Forgets a commitment that will not be opened (late, or the identity went away). */
	drop(job: string): void {
		const t = this.holder.get(job);
		this.holder.delete(job);
		const i = this.waiting.findIndex((p) => p.job === job);
		if (i >= 0) this.waiting.splice(i, 1)[0]?.reject(new Error("dropped"));
		if (t) t.worker.postMessage({ id: 0, type: "drop", job } satisfies WorkerRequest);
	}

	private request(t: Thread, body: OmitId<WorkerRequest>): Promise<WorkerReply> {
		const id = this.nextId++;
		return new Promise((resolve) => {
			this.replies.set(id, { resolve });
			t.worker.ref();
			t.worker.postMessage({ ...body, id } as WorkerRequest);
		}).finally(() => {
			if (this.replies.size === 0) for (const x of this.threads) x.worker.unref();
		}) as Promise<WorkerReply>;
	}

	private pump(): void {
		for (const t of this.threads) {
			if (t.busy || this.waiting.length === 0) continue;
			this.waiting.sort((a, b) => a.due - b.due);
			const p = this.waiting.shift() as Pending;
			t.busy = true;
			const started = performance.now();
			void this.request(t, { type: "commit", job: p.job, seed: p.seed, shape: p.shape, garbage: p.garbage }).then(
				(reply) => {
					t.busy = false;
					this.stats.commits++;
					this.stats.computeMs.push(performance.now() - started);
					if (reply.ok && "root" in reply) {
						this.holder.set(p.job, t);
						p.resolve(reply.root);
					} else {
						const error = reply.ok ? "a commit answered without a root" : reply.error;
						if (this.stats.errors.length < 20) this.stats.errors.push(error);
						p.reject(new Error(error));
					}
					this.pump();
				},
			);
		}
	}

	async stop(): Promise<void> {
		for (const p of this.waiting.splice(0)) p.reject(new Error("stopped"));
		await Promise.all(this.threads.map((t) => t.worker.terminate()));
	}
}
