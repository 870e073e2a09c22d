// The CPU solver's thread (started by agent/solver.ts): computes every row of C with the pure reference code, commits
// with the Merkle root of the row hashes, and keeps C and the tree to answer the reveal.
import { parentPort } from "node:worker_threads";
import { type OpenedRow, type Shape, type Solution, solve } from "../workers/domain/matmul.ts";
import { cpuSolverRefusal, type SolverReply, type SolverRequest } from "./solver.ts";

let committed: { shape: Shape; solution: Solution } | null = null;

async function commit(seed: Uint8Array, shape: Shape): Promise<string> {
	const refusal = cpuSolverRefusal(shape);
	if (refusal) throw new Error(refusal);
	committed = null;
	const solution = await solve(seed, shape);
	committed = { shape, solution };
	return solution.root;
}

function open(rows: number[]): OpenedRow[] {
	if (committed === null) throw new Error("nothing is committed: open() needs a commit() first");
	const { shape, solution } = committed;
	const outside = rows.find((i) => !Number.isInteger(i) || i < 0 || i >= shape.rows);
	if (outside !== undefined) throw new Error(`row ${outside} is outside [0, ${shape.rows})`);
	return solution.open(rows);
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
