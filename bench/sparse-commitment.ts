// A commitment to a product too big to compute, for timing the verifier at the real sizes (the benchmark and
// test/unit/matmul.test.ts): only the asked rows are real.
import { nodeHash } from "../workers/domain/merkle.ts";
import { matrixB, multiplyRows, rowHash, rowOfA, type OpenedRow, type Shape } from "../workers/domain/matmul.ts";

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
