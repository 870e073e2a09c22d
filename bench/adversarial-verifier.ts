// The verifier's cost per challenge at the real GPU sizes (k = 32 opened rows), measured in this Node process: the
// bench's coordinator runs a small stand-in shape, so its own CPU does not show the real check's cost.
import { loadavg } from "node:os";
import {
	CHALLENGE_SIZES,
	type ChallengeClass,
	deriveSeed,
	OPENED_ROWS,
	randomVector,
	sampleRows,
	secureRandom,
	type Shape,
	verifyRows,
} from "../workers/domain/matmul.ts";
import { sparseCommitment } from "./sparse-commitment.ts";
import { summarize, type Summary } from "./stats.ts";

const WARM_UP = 2;

export interface VerifierTiming {
	class: ChallengeClass;
	shape: Shape;
	runs: number;
	/** Wall time of verifyRows, and the process's CPU (main thread and libuv's, which runs WebCrypto digests). */
	wall_ms: Summary;
	cpu_ms: Summary;
	/** The machine's 1-minute load average when the runs ended (other work on the same cores). */
	loadavg: number;
}

/** verifyRows on an honest opening, `runs` times per class, each on a fresh seed, r and rows. */
export async function timeVerifier(classes: ChallengeClass[], runs: number): Promise<VerifierTiming[]> {
	const out: VerifierTiming[] = [];
	for (const cls of classes) {
		const shape = CHALLENGE_SIZES[cls].shape;
		const wall: number[] = [];
		const cpu: number[] = [];
		// WARM_UP runs first, not counted: the first calls compile the code paths (JIT) and fill WebCrypto's pool.
		for (let run = -WARM_UP; run < runs; run++) {
			const seed = await deriveSeed("bench-verifier", run, `node_${cls}`, String(run));
			const rows = sampleRows(secureRandom, shape.rows, OPENED_ROWS);
			const r = randomVector(secureRandom, shape.cols);
			const { root, answer } = await sparseCommitment(seed, shape, rows);
			const c0 = process.cpuUsage();
			const t0 = performance.now();
			const result = await verifyRows(seed, shape, root, { r, rows }, answer);
			const ms = performance.now() - t0;
			const c = process.cpuUsage(c0);
			if (!result.ok) throw new Error(`${cls}: an honest opening failed: ${result.reason} ${result.detail}`);
			if (run < 0) continue;
			cpu.push((c.user + c.system) / 1000);
			wall.push(ms);
		}
		out.push({ class: cls, shape, runs, wall_ms: summarize(wall), cpu_ms: summarize(cpu), loadavg: loadavg()[0] ?? 0 });
	}
	return out;
}
