// The CPU solver's thread (started by agent/solver.ts): computes every row of C with the pure reference code, commits
// with the Merkle root of the row hashes, and keeps C and the tree to answer the reveal.
import { parentPort } from "node:worker_threads";
import {
	buildTree,
	matrixB,
	multiplyRows,
	type OpenedRow,
	type RowTree,
	rowHash,
	rowsOfA,
	type Shape,
	treePath,
	treeRoot,
} from "../workers/domain/matmul.ts";
import { cpuSolverRefusal, type SolverReply, type SolverRequest } from "./solver.ts";

/** Rows of A generated and multiplied at a time: 64 × 8192 bytes of A, small next to B. */
const CHUNK_ROWS = 64;

let committed: { shape: Shape; c: Int32Array; tree: RowTree } | null = null;

async function commit(seed: Uint8Array, shape: Shape): Promise<string> {
	const refusal = cpuSolverRefusal(shape);
	if (refusal) throw new Error(refusal);
	committed = null;
	const { rows, cols } = shape;
	const b = matrixB(seed, shape);
	const c = new Int32Array(rows * cols);
	for (let from = 0; from < rows; from += CHUNK_ROWS) {
		const to = Math.min(rows, from + CHUNK_ROWS);
		c.set(multiplyRows(rowsOfA(seed, shape, from, to), b, shape, 0, to - from), from * cols);
	}
	const leaves: string[] = [];
	for (let from = 0; from < rows; from += CHUNK_ROWS) {
		const to = Math.min(rows, from + CHUNK_ROWS);
		const hashes = [];
		for (let i = from; i < to; i++) hashes.push(rowHash(i, c.subarray(i * cols, (i + 1) * cols)));
		leaves.push(...(await Promise.all(hashes)));
	}
	const tree = await buildTree(leaves);
	committed = { shape, c, tree };
	return treeRoot(tree);
}

function open(rows: number[]): OpenedRow[] {
	if (committed === null) throw new Error("nothing is committed: open() needs a commit() first");
	const { shape, c, tree } = committed;
	return rows.map((i) => {
		if (!Number.isInteger(i) || i < 0 || i >= shape.rows) throw new Error(`row ${i} is outside [0, ${shape.rows})`);
		return { i, values: c.slice(i * shape.cols, (i + 1) * shape.cols), path: treePath(tree, i) };
	});
}

async function answer(request: SolverRequest): Promise<SolverReply> {
	try {
		if (request.type === "commit") return { id: request.id, ok: true, root: await commit(request.seed, request.shape) };
		return { id: request.id, ok: true, rows: open(request.rows) };
	} catch (err) {
		return { id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) };
	}
}

// Requests are answered one at a time, in the order they came: an open waits for the commit before it.
let queue: Promise<void> = Promise.resolve();
parentPort?.on("message", (request: SolverRequest) => {
	queue = queue.then(async () => parentPort?.postMessage(await answer(request)));
});
