// The compute challenge's pure core (workers/domain/matmul.ts, prng.ts), in the Workers runtime: the generator's
// known answers, determinism, the int32 bound, Merkle paths, Freivalds' check against honest and dishonest answers,
// sampling, sizes and deadlines. The verifier's CPU time is measured and printed, never asserted.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	buildTree,
	CALIBRATION,
	CHALLENGE_COLS,
	CHALLENGE_INNER,
	CHALLENGE_SIZES,
	type ChallengeClass,
	challengeClass,
	deadlineMs,
	deriveSeed,
	MAX_INNER,
	matrixB,
	multiplyRows,
	type OpenedRow,
	OPENED_ROWS,
	passProbability,
	pathLength,
	randomVector,
	rowHash,
	rowOfA,
	rowsFor,
	rowsOfA,
	type Shape,
	sampleRows,
	seedKeys,
	shapeProblem,
	treePath,
	treeRoot,
	valueBounds,
	verifyPath,
	verifyRows,
	commitTo,
	product,
} from "../../workers/domain/matmul.ts";
import { merkleProof, merkleRoot } from "../../workers/domain/merkle.ts";
import { fillEntries, threefry4x32 } from "../../workers/domain/prng.ts";
import { sparseCommitment } from "../../bench/sparse-commitment.ts";
import { lcg } from "../lcg.ts";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Everything a solver holds for a challenge: C (the honest product unless given), the leaves and the tree. */
function solve(seed: Uint8Array, shape: Shape, c?: Int32Array) {
	return commitTo(c ?? product(seed, shape), shape);
}

/** C by the textbook triple loop, for checking the packed kernel. */
function naiveProduct(a: Int8Array, b: Int8Array, shape: Shape, rows: number): Int32Array {
	const { inner, cols } = shape;
	const out = new Int32Array(rows * cols);
	for (let i = 0; i < rows; i++) {
		for (let n = 0; n < cols; n++) {
			let s = 0;
			for (let k = 0; k < inner; k++) s += (a[i * inner + k] as number) * (b[k * cols + n] as number);
			out[i * cols + n] = s;
		}
	}
	return out;
}

describe("Threefry-4x32-20", () => {
	it("matches Random123's known-answer vectors", () => {
		const out = new Uint32Array(4);
		const f = 0xffffffff;
		threefry4x32(0, 0, 0, 0, 0, 0, 0, 0, out);
		expect([...out]).toEqual([0x9c6ca96a, 0xe17eae66, 0xfc10ecd4, 0x5256a7d8]);
		threefry4x32(f, f, f, f, f, f, f, f, out);
		expect([...out]).toEqual([0x2a881696, 0x57012287, 0xf6c7446e, 0xa16a6732]);
		// counter = the first hex digits of pi, key = the next ones (Random123's kat_vectors)
		threefry4x32(0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89, 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, out);
		expect([...out]).toEqual([0x59cd1dbb, 0xb8879579, 0x86b5d00c, 0xac8b6d84]);
	});

	it("gives entries in [−8, 7], every value about equally often", () => {
		const out = new Int8Array(32 * 1024);
		fillEntries(new Uint32Array([1, 2, 3, 4]), 9, out, 0, out.length);
		const counts = new Map<number, number>();
		for (const x of out) counts.set(x, (counts.get(x) ?? 0) + 1);
		expect([...counts.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, j) => j - 8));
		for (const n of counts.values()) expect(Math.abs(n - out.length / 16)).toBeLessThan(out.length / 16 / 10);
	});
});

describe("seed and matrices", () => {
	it("derives a 32-byte seed bound to the secret, epoch, node and nonce", async () => {
		const seed = await deriveSeed("test-secret", 1, "node_example", "nonce-1");
		// The example of docs/VERIFICATION.md (checked there against an independent Python implementation).
		expect(hex(seed)).toBe("f8bbe169145f5ce108d7795e7c54ac8807d7bfbed2f2aa4d61149f0d317fe7f2");
		const others = await Promise.all([
			deriveSeed("other-secret", 1, "node_example", "nonce-1"),
			deriveSeed("test-secret", 2, "node_example", "nonce-1"),
			deriveSeed("test-secret", 1, "node_other", "nonce-1"),
			deriveSeed("test-secret", 1, "node_example", "nonce-2"),
		]);
		expect(new Set([seed, ...others].map(hex)).size).toBe(5);
	});

	it("matches the documented example, entry for entry", async () => {
		const seed = await deriveSeed("test-secret", 1, "node_example", "nonce-1");
		const shape = { rows: 5, inner: 64, cols: 32 };
		expect([...seedKeys(seed).a]).toEqual([0x69e1bbf8, 0xe15c5f14, 0x5e79d708, 0x88ac547c]);
		expect([...rowOfA(seed, shape, 0).subarray(0, 8)]).toEqual([-5, -4, -6, 1, -6, -1, -4, 6]);
		expect([...rowOfA(seed, shape, 4).subarray(0, 8)]).toEqual([0, -3, 6, -7, -2, -4, 1, -8]);
		const b = matrixB(seed, shape);
		expect([...b.subarray(0, 8)]).toEqual([-5, -6, 4, 4, 3, 3, 6, 2]);
		expect([...b.subarray(63 * 32, 63 * 32 + 8)]).toEqual([-8, 6, 4, -4, -6, -8, 4, 4]);
		const { c, leaves, root } = await solve(seed, shape);
		expect([...c.subarray(0, 8)]).toEqual([-9, 191, -304, -202, -139, -87, -316, -141]);
		expect(leaves[0]).toBe("e7a28c858e22721af622b47d9153b874201f29854a2ce0876ba318c0fe5b6362");
		expect(root).toBe("92a16e1602e5193e948ffa424ff9bda340adaa23578b8135ca11d7b7ee7ed0fa");
	});

	it("generates the same rows from the same seed, each row on its own as in the whole", async () => {
		const seed = await deriveSeed("s", 7, "node_a", "n");
		const shape = { rows: 40, inner: 96, cols: 64 };
		const all = rowsOfA(seed, shape, 0, shape.rows);
		for (const i of [0, 1, 17, 39]) {
			expect(rowOfA(seed, shape, i)).toEqual(all.subarray(i * 96, (i + 1) * 96));
			expect(rowOfA(seed, shape, i)).toEqual(rowOfA(seed, shape, i));
		}
		expect(rowsOfA(seed, shape, 10, 13)).toEqual(all.subarray(10 * 96, 13 * 96));
		// Row k of B is stream k under the B key, whatever the rest of B.
		const b = matrixB(seed, shape);
		const row5 = new Int8Array(64);
		fillEntries(seedKeys(seed).b, 5, row5, 0, 64);
		expect(b.subarray(5 * 64, 6 * 64)).toEqual(row5);
		expect(matrixB(seed, shape)).toEqual(b);
		// Another seed, other matrices; A and B differ from each other (separate keys).
		const other = await deriveSeed("s", 7, "node_b", "n");
		expect(rowOfA(other, shape, 0)).not.toEqual(rowOfA(seed, shape, 0));
		expect(b.subarray(0, 96)).not.toEqual(all.subarray(0, 96));
	});

	it("refuses shapes outside the limits", () => {
		expect(shapeProblem({ rows: 1, inner: 32, cols: 32 })).toBeNull();
		for (const bad of [
			{ rows: 0, inner: 32, cols: 32 },
			{ rows: 1.5, inner: 32, cols: 32 },
			{ rows: 4, inner: 48, cols: 32 },
			{ rows: 4, inner: 32, cols: 16 },
			{ rows: 4, inner: MAX_INNER * 2, cols: 32 },
			{ rows: 4, inner: 32, cols: 8192 },
		]) {
			expect(shapeProblem(bad), JSON.stringify(bad)).not.toBeNull();
		}
		expect(() => rowOfA(new Uint8Array(32), { rows: 4, inner: 32, cols: 32 }, 4)).toThrow(RangeError);
		expect(() => seedKeys(new Uint8Array(16))).toThrow(RangeError);
	});
});

describe("the product", () => {
	it("equals the textbook product (packed kernel, any block of rows)", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 6 }),
				fc.integer({ min: 1, max: 3 }),
				fc.integer({ min: 1, max: 3 }),
				fc.integer({ min: 0, max: 2 ** 31 }),
				(rows, innerBlocks, colBlocks, s) => {
					const shape = { rows, inner: 32 * innerBlocks, cols: 32 * colBlocks };
					const seed = new Uint8Array(32).map((_, j) => (s >>> (j % 24)) & 255);
					const a = rowsOfA(seed, shape, 0, rows);
					const b = matrixB(seed, shape);
					const want = naiveProduct(a, b, shape, rows);
					expect(multiplyRows(a, b, shape, 0, rows)).toEqual(want);
					const from = Math.floor(rows / 2);
					expect(multiplyRows(a, b, shape, from, rows)).toEqual(want.subarray(from * shape.cols));
				},
			),
			{ numRuns: 40 },
		);
	});

	it("stays exact at the int32 bound: |c| ≤ 64 · inner, reached by all-(−8) rows, at the largest inner", () => {
		const shape = { rows: 2, inner: MAX_INNER, cols: 32 };
		const a = new Int8Array(2 * MAX_INNER);
		a.fill(-8, 0, MAX_INNER); // row 0: all −8
		a.fill(7, MAX_INNER); // row 1: all 7
		const b = new Int8Array(MAX_INNER * 32).fill(-8);
		const c = multiplyRows(a, b, shape, 0, 2);
		const { min, max } = valueBounds(MAX_INNER);
		expect(max).toBe(2 ** 24);
		expect(max).toBeLessThan(2 ** 31);
		expect(min).toBe(-56 * MAX_INNER);
		expect([...new Set(c.subarray(0, 32))]).toEqual([max]); // (−8)·(−8)·inner
		expect([...new Set(c.subarray(32))]).toEqual([min]); // 7·(−8)·inner
	});
});

describe("row hashes and the Merkle tree", () => {
	it("builds the same root as merkle.ts, and every path verifies, for 1 to 33 rows", async () => {
		for (let rows = 1; rows <= 33; rows++) {
			const leaves = await Promise.all(
				Array.from({ length: rows }, (_, i) => rowHash(i, new Int32Array([i, -i, 2 ** 30]))),
			);
			const tree = await buildTree(leaves);
			const root = treeRoot(tree);
			expect(root).toBe(await merkleRoot(leaves));
			for (let i = 0; i < rows; i++) {
				const path = treePath(tree, i);
				expect(path).toEqual((await merkleProof(leaves, i)).map((step) => step.hash));
				expect(path.length).toBe(pathLength(i, rows));
				expect(await verifyPath(i, rows, leaves[i] as string, path, root)).toBe(true);
			}
		}
	});

	it("rejects a tampered path, a swapped index, another leaf and a path of the wrong length", async () => {
		const rows = 13;
		const leaves = await Promise.all(Array.from({ length: rows }, (_, i) => rowHash(i, new Int32Array([i]))));
		const tree = await buildTree(leaves);
		const root = treeRoot(tree);
		for (let i = 0; i < rows; i++) {
			const path = treePath(tree, i);
			const leaf = leaves[i] as string;
			for (let j = 0; j < path.length; j++) {
				const tampered = path.slice();
				tampered[j] = ((path[j] as string).startsWith("0") ? "1" : "0") + (path[j] as string).slice(1);
				expect(await verifyPath(i, rows, leaf, tampered, root)).toBe(false);
			}
			expect(await verifyPath(i, rows, leaves[(i + 1) % rows] as string, path, root)).toBe(false);
			expect(await verifyPath((i + 1) % rows, rows, leaf, path, root)).toBe(false);
			expect(await verifyPath(i, rows, leaf, [...path, root], root)).toBe(false);
		}
	});

	it("binds the row index and every value into the leaf", async () => {
		const row = new Int32Array([1, 2, 3]);
		expect(await rowHash(0, row)).not.toBe(await rowHash(1, row));
		expect(await rowHash(0, row)).not.toBe(await rowHash(0, new Int32Array([1, 2, 4])));
		// Little-endian int32 values: −1 is ff ff ff ff, so it differs from 2^31 − 1 (ff ff ff 7f) in one byte.
		expect(await rowHash(0, new Int32Array([-1]))).not.toBe(await rowHash(0, new Int32Array([2 ** 31 - 1])));
	});
});

describe("Freivalds' check", () => {
	const shape = { rows: 24, inner: 64, cols: 32 };

	it("accepts an honest answer", async () => {
		const seed = await deriveSeed("s", 1, "node_honest", "n");
		const { root, open } = await solve(seed, shape);
		const random = lcg(5);
		for (let run = 0; run < 5; run++) {
			const rows = sampleRows(random, shape.rows, 8);
			const r = randomVector(random, shape.cols);
			expect(await verifyRows(seed, shape, root, { r, rows }, open(rows))).toEqual({ ok: true });
			// In any order.
			expect(await verifyRows(seed, shape, root, { r, rows }, open(rows).reverse())).toEqual({ ok: true });
		}
	});

	it("rejects any single wrong entry committed with a right path (wrong_row)", async () => {
		const seed = await deriveSeed("s", 1, "node_cheat", "n");
		const honest = await solve(seed, shape);
		const { min, max } = valueBounds(shape.inner);
		await fc.assert(
			fc.asyncProperty(
				fc.integer({ min: 0, max: shape.rows - 1 }),
				fc.integer({ min: 0, max: shape.cols - 1 }),
				fc.integer({ min: -1000, max: 1000 }).filter((d) => d !== 0),
				fc.integer({ min: 1, max: 2 ** 31 - 1 }),
				async (i, n, delta, s) => {
					const c = honest.c.slice();
					const at = i * shape.cols + n;
					c[at] = Math.min(max, Math.max(min, (c[at] as number) + delta));
					fc.pre(c[at] !== honest.c[at]);
					const cheat = await solve(seed, shape, c);
					const random = lcg(s);
					const rows = [...new Set([i, ...sampleRows(random, shape.rows, 4)])];
					const result = await verifyRows(
						seed,
						shape,
						cheat.root,
						{ r: randomVector(random, shape.cols), rows },
						cheat.open(rows),
					);
					expect(result).toMatchObject({ ok: false, reason: "wrong_row", row: i });
				},
			),
			{ numRuns: 30 },
		);
	});

	it("rejects a row changed after the commitment (bad_path)", async () => {
		const seed = await deriveSeed("s", 1, "node_late", "n");
		const { root, open } = await solve(seed, shape);
		const rows = [2, 9];
		const answer = open(rows);
		(answer[1] as OpenedRow).values[0] = ((answer[1] as OpenedRow).values[0] as number) + 1;
		const r = randomVector(lcg(3), shape.cols);
		expect(await verifyRows(seed, shape, root, { r, rows }, answer)).toMatchObject({
			ok: false,
			reason: "bad_path",
			row: 9,
		});
		// A right row under another row's path.
		const swapped = open(rows);
		(swapped[0] as OpenedRow).path = (swapped[1] as OpenedRow).path;
		const result = await verifyRows(seed, shape, root, { r, rows }, swapped);
		expect(result).toMatchObject({ ok: false });
		expect(["bad_path", "malformed"]).toContain((result as { reason: string }).reason);
	});

	it("rejects a committed value outside the int32 bound (out_of_range)", async () => {
		const seed = await deriveSeed("s", 1, "node_wide", "n");
		const honest = await solve(seed, shape);
		const { max } = valueBounds(shape.inner);
		const c = honest.c.slice();
		c[5 * shape.cols + 3] = max + 1;
		const wide = await solve(seed, shape, c);
		const rows = [1, 5];
		const r = randomVector(lcg(4), shape.cols);
		expect(await verifyRows(seed, shape, wide.root, { r, rows }, wide.open(rows))).toMatchObject({
			ok: false,
			reason: "out_of_range",
			row: 5,
		});
		// Wrapped around int32 (what a mod-2^32 solver could send): also refused before any hashing.
		c[5 * shape.cols + 3] = -(2 ** 31);
		const wrapped = await solve(seed, shape, c);
		expect(await verifyRows(seed, shape, wrapped.root, { r, rows }, wrapped.open(rows))).toMatchObject({
			reason: "out_of_range",
		});
	});

	it("rejects an answer that leaves out an asked row (missing_row)", async () => {
		const seed = await deriveSeed("s", 1, "node_lazy", "n");
		const { root, open } = await solve(seed, shape);
		const r = randomVector(lcg(6), shape.cols);
		expect(await verifyRows(seed, shape, root, { r, rows: [3, 4, 20] }, open([3, 20]))).toMatchObject({
			ok: false,
			reason: "missing_row",
			row: 4,
		});
		expect(await verifyRows(seed, shape, root, { r, rows: [3] }, [])).toMatchObject({ reason: "missing_row" });
	});

	it("calls anything of the wrong form malformed, and never throws", async () => {
		const seed = await deriveSeed("s", 1, "node_odd", "n");
		const { root, open } = await solve(seed, shape);
		const r = randomVector(lcg(7), shape.cols);
		const rows = [0, 7];
		const good = () => open(rows);
		const cases: [string, () => Promise<unknown>][] = [
			["bad shape", () => verifyRows(seed, { ...shape, cols: 33 }, root, { r, rows }, good())],
			["bad root", () => verifyRows(seed, shape, "zz", { r, rows }, good())],
			["short seed", () => verifyRows(seed.subarray(1), shape, root, { r, rows }, good())],
			["short r", () => verifyRows(seed, shape, root, { r: r.subarray(1), rows }, good())],
			["row asked twice", () => verifyRows(seed, shape, root, { r, rows: [0, 0] }, good())],
			["row outside", () => verifyRows(seed, shape, root, { r, rows: [0, 24] }, good())],
			["row not asked", () => verifyRows(seed, shape, root, { r, rows: [0, 7] }, [...open([0]), ...open([8])])],
			["row answered twice", () => verifyRows(seed, shape, root, { r, rows: [0, 7] }, open([0, 0]))],
			["too many rows", () => verifyRows(seed, shape, root, { r, rows: [0] }, good())],
			[
				"short values",
				() =>
					verifyRows(
						seed,
						shape,
						root,
						{ r, rows },
						good().map((o) => ({ ...o, values: o.values.subarray(1) })),
					),
			],
			[
				"values not int32",
				() =>
					verifyRows(
						seed,
						shape,
						root,
						{ r, rows },
						good().map((o) => ({ ...o, values: [...o.values] as unknown as Int32Array })),
					),
			],
			[
				"short path",
				() =>
					verifyRows(
						seed,
						shape,
						root,
						{ r, rows },
						good().map((o) => ({ ...o, path: o.path.slice(1) })),
					),
			],
			[
				"path not hex",
				() =>
					verifyRows(
						seed,
						shape,
						root,
						{ r, rows },
						good().map((o) => ({ ...o, path: o.path.map((h) => h.toUpperCase()) })),
					),
			],
			["answer not a list", () => verifyRows(seed, shape, root, { r, rows }, null as unknown as OpenedRow[])],
			["row not a number", () => verifyRows(seed, shape, root, { r, rows }, [{}] as unknown as OpenedRow[])],
		];
		for (const [name, run] of cases) {
			expect(await run(), name).toMatchObject({ ok: false, reason: "malformed" });
		}
	});

	it("measures the verifier at the documented sizes (k = 32), printed, not asserted", async () => {
		const lines: string[] = [];
		for (const cls of ["cpu-reference", "RTX 4090", "H100"] as ChallengeClass[]) {
			const big = CHALLENGE_SIZES[cls].shape;
			const seed = await deriveSeed("s", 1, `node_${cls}`, "n");
			const rows = sampleRows(lcg(11), big.rows, OPENED_ROWS);
			const r = randomVector(lcg(12), big.cols);
			const { root, answer } = await sparseCommitment(seed, big, rows);
			const times: number[] = [];
			for (let run = 0; run < 5; run++) {
				const t = performance.now();
				expect(await verifyRows(seed, big, root, { r, rows }, answer)).toEqual({ ok: true });
				times.push(performance.now() - t);
			}
			lines.push(`${cls} (${big.rows} rows): ${times.map((t) => t.toFixed(1)).join(", ")} ms`);
		}
		console.log(`verifyRows, 5 runs each, ${CHALLENGE_INNER} × ${CHALLENGE_COLS}, k = 32:\n${lines.join("\n")}`);
	});
});

describe("sampling", () => {
	it("picks k distinct rows in range (all of them when k ≥ rows)", () => {
		fc.assert(
			fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 64 }), fc.nat(), (rows, k, s) => {
				const picked = sampleRows(lcg(s + 1), rows, k);
				expect(picked.length).toBe(Math.min(k, rows));
				expect(new Set(picked).size).toBe(picked.length);
				expect(picked.every((i) => Number.isInteger(i) && i >= 0 && i < rows)).toBe(true);
			}),
		);
		expect(sampleRows(lcg(1), 5, 9)).toEqual([0, 1, 2, 3, 4]);
	});

	it("opens every row about equally often", () => {
		const random = lcg(99);
		const counts = new Array(10).fill(0);
		for (let run = 0; run < 5000; run++) for (const i of sampleRows(random, 10, 3)) counts[i]++;
		for (const n of counts) expect(Math.abs(n - 1500)).toBeLessThan(150);
	});

	it("draws r over the whole 32-bit range", () => {
		const r = randomVector(lcg(2), 4096);
		expect(r.length).toBe(4096);
		expect(Math.max(...r)).toBeGreaterThan(2 ** 31);
		expect(Math.min(...r)).toBeLessThan(2 ** 20);
	});
});

describe("pass probability", () => {
	it("lets a node that computed 90 % of the rows through at k = 32 with probability ≤ 3.4 %", () => {
		const p = passProbability(0.9, 32);
		// 0.9^32 = 0.034337…: "3.4 %" rounded; the goal (≥ 96 % caught) holds with room.
		expect(p).toBeCloseTo(0.034337, 5);
		expect(p).toBeLessThan(0.0344);
		expect(1 - p).toBeGreaterThanOrEqual(0.96);
		expect(OPENED_ROWS).toBe(32);
		expect(passProbability(1, 32)).toBe(1);
		expect(passProbability(0.5, 32)).toBeLessThan(1e-9);
	});
});

describe("sizes, calibration and deadlines", () => {
	it("gives every class a valid shape with the same inner × cols, rows following the claimed throughput", () => {
		for (const [cls, size] of Object.entries(CHALLENGE_SIZES)) {
			expect(shapeProblem(size.shape), cls).toBeNull();
			expect([size.shape.inner, size.shape.cols]).toEqual([CHALLENGE_INNER, CHALLENGE_COLS]);
			expect(size.source.length, cls).toBeGreaterThan(10);
			if (cls !== "cpu-reference") expect(size.shape.rows, cls).toBe(rowsFor(size.int8_tops));
		}
		expect(CHALLENGE_SIZES.H100.shape.rows).toBeGreaterThan(CHALLENGE_SIZES["RTX 4090"].shape.rows);
		expect(CHALLENGE_SIZES["RTX 4090"].shape.rows).toBeGreaterThan(CHALLENGE_SIZES.A100.shape.rows);
		expect(CHALLENGE_SIZES.other.shape.rows).toBeGreaterThan(CHALLENGE_SIZES["Apple M-series"].shape.rows);
	});

	it("says where every calibration figure comes from", () => {
		for (const [cls, cal] of Object.entries(CALIBRATION)) {
			expect(cal.source === "uncalibrated" || /^measured on /.test(cal.source), cls).toBe(true);
			expect(cal.p99_ms, cls).toBeGreaterThan(0);
		}
		expect(CALIBRATION["cpu-reference"].source).toMatch(/^measured on /);
	});

	it("maps claimed models to classes, unlisted ones to the conservative class", () => {
		expect(challengeClass("NVIDIA H100 80GB HBM3")).toBe("H100");
		expect(challengeClass("NVIDIA A100-SXM4-40GB")).toBe("A100");
		expect(challengeClass("NVIDIA GeForce RTX 4090")).toBe("RTX 4090");
		expect(challengeClass("Apple M2 Max")).toBe("Apple M-series");
		expect(challengeClass("NVIDIA GeForce RTX 3060")).toBe("other");
	});

	it("sets the deadline to p99 × 1.25 plus the measured round trip", () => {
		expect(deadlineMs("RTX 4090", 80)).toBe(Math.ceil(CALIBRATION["RTX 4090"].p99_ms * 1.25 + 80));
		expect(deadlineMs("cpu-reference", 0)).toBe(Math.ceil(CALIBRATION["cpu-reference"].p99_ms * 1.25));
		expect(deadlineMs("other", -5)).toBe(deadlineMs("other", 0));
	});
});
