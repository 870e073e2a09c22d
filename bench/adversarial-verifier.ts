// The verifier's cost per challenge at the real GPU sizes (k = 32 opened rows), measured in this Node process: the
// bench's coordinator runs a small stand-in shape, so its own CPU does not show the real check's cost.
import { loadavg } from "node:os";
import { nodeHash } from "../workers/domain/merkle.ts";
import {
	CHALLENGE_SIZES,
	type ChallengeClass,
	deriveSeed,
	matrixB,
	multiplyRows,
	OPENED_ROWS,
	type OpenedRow,
	randomVector,
	rowHash,
	rowOfA,
	sampleRows,
	secureRandom,
	type Shape,
	verifyRows,
} from "../workers/domain/matmul.ts";
import { summarize, type Summary } from "./stats.ts";

/**
 * A commitment to a product too big to compute: the asked rows are computed honestly, every other leaf is one filler
 * hash, and the tree (buildTree's rules: odd last nodes move up) is computed only along the asked rows' paths. The
 * verifier does exactly its real work on it: B regenerated, B · r, 32 rows of A, 32 paths of ~27 hashes.
 */
export async function sparseCommitment(
	seed: Uint8Array,
	shape: Shape,
	rows: number[],
): Promise<{ root: string; answer: OpenedRow[] }> {
	const b = matrixB(seed, shape);
	const values = new Map<number, Int32Array>();
	const leaves = new Map<number, string>();
	for (const i of rows) {
		const v = multiplyRows(rowOfA(seed, shape, i), b, shape, 0, 1);
		values.set(i, v);
		leaves.set(i, await rowHash(i, v));
	}
	const filler = await rowHash(0, new Int32Array(shape.cols));
	const widths = [shape.rows];
	while ((widths.at(-1) as number) > 1) widths.push(Math.ceil((widths.at(-1) as number) / 2));
	const full = [filler];
	for (let l = 1; l < widths.length; l++) full.push(await nodeHash(full[l - 1] as string, full[l - 1] as string));
	const memo = new Map<string, string>();
	const node = async (level: number, j: number): Promise<string> => {
		if (level === 0) return leaves.get(j) ?? filler;
		const first = j * 2 ** level;
		const last = Math.min(shape.rows, (j + 1) * 2 ** level) - 1;
		if (!rows.some((i) => i >= first && i <= last) && last - first + 1 === 2 ** level) return full[level] as string;
		const key = `${level}:${j}`;
		const known = memo.get(key);
		if (known) return known;
		const h =
			2 * j + 1 < (widths[level - 1] as number)
				? await nodeHash(await node(level - 1, 2 * j), await node(level - 1, 2 * j + 1))
				: await node(level - 1, 2 * j);
		memo.set(key, h);
		return h;
	};
	const root = await node(widths.length - 1, 0);
	const answer: OpenedRow[] = [];
	for (const i of rows) {
		const path: string[] = [];
		for (let level = 0, at = i; level < widths.length - 1; level++, at >>>= 1)
			if ((at ^ 1) < (widths[level] as number)) path.push(await node(level, at ^ 1));
		answer.push({ i, values: values.get(i) as Int32Array, path });
	}
	return { root, answer };
}

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
