// The CPU solver (agent/solver.ts) in its worker thread: the same root as the pure module, rows that pass the
// coordinator's check, a clear refusal of sizes it cannot take, and a thread that ends on dispose().
import { afterEach, describe, expect, it } from "vitest";
import { CPU_SOLVER_MAX_MACS, type CpuSolver, createCpuSolver, SolverError } from "../../agent/solver.ts";
import {
	CHALLENGE_SIZES,
	deriveSeed,
	randomVector,
	sampleRows,
	secureRandom,
	verifyRows,
	solve,
} from "../../workers/domain/matmul.ts";

const solvers: CpuSolver[] = [];
function solver(): CpuSolver {
	const s = createCpuSolver();
	solvers.push(s);
	return s;
}
afterEach(async () => {
	await Promise.all(solvers.splice(0).map((s) => s.dispose()));
});

describe("CPU solver", () => {
	it("commits to the same root as the pure module, and opens rows that verify", async () => {
		const seed = await deriveSeed("secret", 3, "node_cpu", "nonce");
		const shape = { rows: 37, inner: 96, cols: 64 };
		const s = solver();
		const root = await s.commit({ seed, shape });
		expect(root).toBe((await solve(seed, shape)).root); // the same code, run in the worker thread

		const rows = sampleRows(secureRandom, shape.rows, 32);
		const opened = await s.open(rows);
		expect(opened.map((o) => o.i)).toEqual(rows);
		expect(opened[0]?.values).toBeInstanceOf(Int32Array);
		const r = randomVector(secureRandom, shape.cols);
		expect(await verifyRows(seed, shape, root, { r, rows }, opened)).toEqual({ ok: true });
	});

	it("answers the cpu-reference size, and a new commit replaces the previous challenge", async () => {
		const s = solver();
		const shape = CHALLENGE_SIZES["cpu-reference"].shape;
		const first = await deriveSeed("secret", 1, "node_cpu", "a");
		const second = await deriveSeed("secret", 1, "node_cpu", "b");
		const rootA = await s.commit({ seed: first, shape });
		const rootB = await s.commit({ seed: second, shape });
		expect(rootB).not.toBe(rootA);
		const rows = [0, 511, 1023];
		const r = randomVector(secureRandom, shape.cols);
		expect(await verifyRows(second, shape, rootB, { r, rows }, await s.open(rows))).toEqual({ ok: true });
		expect(await verifyRows(first, shape, rootA, { r, rows }, await s.open(rows))).toMatchObject({ ok: false });
	}, 60_000);

	it("refuses a size beyond its limit at once, saying it is too big for the CPU solver", async () => {
		const s = solver();
		const seed = await deriveSeed("secret", 1, "node_small", "n");
		for (const cls of ["Apple M-series", "RTX 4090", "H100"] as const) {
			const shape = CHALLENGE_SIZES[cls].shape;
			expect(shape.rows * shape.inner * shape.cols).toBeGreaterThan(CPU_SOLVER_MAX_MACS);
			const refused = s.commit({ seed, shape });
			await expect(refused).rejects.toBeInstanceOf(SolverError);
			await expect(refused).rejects.toThrow(/^too big for the CPU solver: .* this challenge needs a GPU solver$/);
		}
		await expect(s.commit({ seed, shape: { rows: 4, inner: 33, cols: 32 } })).rejects.toThrow(/not a valid/);
		// Still usable after a refusal.
		expect(await s.commit({ seed, shape: { rows: 2, inner: 32, cols: 32 } })).toMatch(/^[0-9a-f]{64}$/);
	});

	it("refuses to open before a commit, and rows outside the challenge", async () => {
		const s = solver();
		await expect(s.open([0])).rejects.toThrow(/nothing is committed/);
		const seed = await deriveSeed("secret", 1, "node_cpu", "n");
		await s.commit({ seed, shape: { rows: 4, inner: 32, cols: 32 } });
		await expect(s.open([4])).rejects.toThrow(/outside \[0, 4\)/);
	});

	it("ends its thread on dispose(), and refuses every later call", async () => {
		const s = createCpuSolver();
		const seed = await deriveSeed("secret", 1, "node_cpu", "n");
		await s.commit({ seed, shape: { rows: 4, inner: 32, cols: 32 } });
		await s.dispose();
		expect(typeof (await s.exited)).toBe("number");
		await expect(s.commit({ seed, shape: { rows: 4, inner: 32, cols: 32 } })).rejects.toThrow(/disposed/);
		await expect(s.open([0])).rejects.toThrow(/disposed/);
		await s.dispose(); // twice is harmless
	});

	it("rejects a pending commit when disposed mid-way", async () => {
		const s = createCpuSolver();
		const seed = await deriveSeed("secret", 1, "node_cpu", "n");
		const pending = expect(s.commit({ seed, shape: CHALLENGE_SIZES["cpu-reference"].shape })).rejects.toThrow(
			/disposed/,
		);
		await s.dispose();
		await pending;
	});
});
