// The compute challenge (issue 11): a seeded integer product C = A · B whose rows the node commits to with a Merkle
// root, then opens where the coordinator asks; the coordinator checks the opened rows exactly with Freivalds' test.
// Pure: WebCrypto (`crypto.subtle`) for HMAC and SHA-256 and nothing else, so it runs in the Worker and the agent.
// The full description, enough to write another solver, is docs/VERIFICATION.md.
import { base64url, fromBase64url } from "./challenge.ts";
import { nodeHash } from "./merkle.ts";
import { fillEntries } from "./prng.ts";

/** The challenge's version: it prefixes the seed message and the row hashes. */
export const MATMUL_VERSION = "pulsegrid-matmul-v1";
/** The challenge's name on the wire (`verify.method`, docs/VERIFICATION.md §6). */
export const VERIFY_METHOD = "matmul-freivalds-v1";

/** C = A · B with A rows × inner and B inner × cols; C is rows × cols, int32. */
export interface Shape {
	rows: number;
	inner: number;
	cols: number;
}

/** Entries of A and B lie in [ENTRY_MIN, ENTRY_MAX] (a nibble minus 8, see prng.ts). */
export const ENTRY_MIN = -8;
export const ENTRY_MAX = 7;

/**
 * Shape limits, chosen so that every figure below is exact:
 * - int32: an entry of C is a sum of `inner` products a·b ∈ [−56, 64] (−8·7 and (−8)·(−8)), so
 *   |c| ≤ 64 · inner ≤ 64 · 2^18 = 2^24 < 2^31: every product fits exactly in int32, on any CPU or GPU.
 * - the verifier's sums in float64 stay below 2^53 (see `verifyRows`), and so do the CPU kernel's packed lanes
 *   (|c| ≤ 2^24 < 2^25, see `multiplyRows`).
 * - rows < 2^31: a row index is one 32-bit word in the PRNG counter and in the row hash.
 * Both inner and cols are multiples of 32, the entries of one PRNG block.
 */
export const MAX_ROWS = 2 ** 31 - 1;
export const MAX_INNER = 2 ** 18;
export const MAX_COLS = 2 ** 12;

/** Why a shape is not allowed, or null when it is. */
export function shapeProblem(shape: Shape): string | null {
	const { rows, inner, cols } = shape ?? ({} as Shape);
	if (!Number.isInteger(rows) || rows < 1 || rows > MAX_ROWS) return `rows must be an integer in [1, ${MAX_ROWS}]`;
	for (const [name, v, max] of [
		["inner", inner, MAX_INNER],
		["cols", cols, MAX_COLS],
	] as const) {
		if (!Number.isInteger(v) || v < 32 || v > max || v % 32 !== 0) {
			return `${name} must be a multiple of 32 in [32, ${max}]`;
		}
	}
	return null;
}

function assertShape(shape: Shape): void {
	const problem = shapeProblem(shape);
	if (problem) throw new RangeError(`bad challenge shape: ${problem}`);
}

/** The range every entry of an honest C lies in: [−56 · inner, 64 · inner]. */
export function valueBounds(inner: number): { min: number; max: number } {
	return { min: ENTRY_MIN * ENTRY_MAX * inner, max: ENTRY_MIN * ENTRY_MIN * inner };
}

const enc = new TextEncoder();

function hex(bytes: ArrayBuffer | Uint8Array): string {
	let s = "";
	for (const b of bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)) s += b.toString(16).padStart(2, "0");
	return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Seed and matrices

/**
 * The challenge seed: HMAC-SHA256 keyed with the UTF-8 bytes of the coordinator's secret over
 * `pulsegrid-matmul-v1:<epoch>:<nodeId>:<nonce>` (32 bytes). Bound to the node and the challenge's nonce, so no
 * answer serves another node or another challenge; unpredictable without the secret, so nothing can be precomputed.
 */
export async function deriveSeed(secret: string, epoch: number, nodeId: string, nonce: string): Promise<Uint8Array> {
	const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		"sign",
	]);
	const mac = await crypto.subtle.sign("HMAC", key, enc.encode(`${MATMUL_VERSION}:${epoch}:${nodeId}:${nonce}`));
	return new Uint8Array(mac);
}

/** The PRNG keys: A uses the seed's bytes 0–15, B bytes 16–31, each read as 4 little-endian 32-bit words. */
export function seedKeys(seed: Uint8Array): { a: Uint32Array; b: Uint32Array } {
	if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new RangeError("the seed is 32 bytes");
	const view = new DataView(seed.buffer, seed.byteOffset, 32);
	const words = (from: number) => Uint32Array.from({ length: 4 }, (_, j) => view.getUint32(from + 4 * j, true));
	return { a: words(0), b: words(16) };
}

/** Row i of A (inner entries): Threefry stream i under the A key (prng.ts `fillEntries`). */
export function rowOfA(seed: Uint8Array, shape: Shape, i: number): Int8Array {
	assertShape(shape);
	if (!Number.isInteger(i) || i < 0 || i >= shape.rows) throw new RangeError(`row ${i} is outside [0, ${shape.rows})`);
	const out = new Int8Array(shape.inner);
	fillEntries(seedKeys(seed).a, i, out, 0, shape.inner);
	return out;
}

/** Rows [from, to) of A, row-major ((to − from) × inner). */
export function rowsOfA(seed: Uint8Array, shape: Shape, from: number, to: number): Int8Array {
	assertShape(shape);
	if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= shape.rows)) {
		throw new RangeError(`rows [${from}, ${to}) are outside [0, ${shape.rows})`);
	}
	const key = seedKeys(seed).a;
	const out = new Int8Array((to - from) * shape.inner);
	for (let i = from; i < to; i++) fillEntries(key, i, out, (i - from) * shape.inner, shape.inner);
	return out;
}

/** B (inner × cols, row-major): row k is Threefry stream k under the B key. */
export function matrixB(seed: Uint8Array, shape: Shape): Int8Array {
	assertShape(shape);
	const key = seedKeys(seed).b;
	const out = new Int8Array(shape.inner * shape.cols);
	for (let k = 0; k < shape.inner; k++) fillEntries(key, k, out, k * shape.cols, shape.cols);
	return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The reference CPU kernel

/** 2^26: the two float64 lanes of the packed kernel. */
const LANE = 2 ** 26;
const packedB = new WeakMap<Int8Array, Float64Array>();

/** B with columns n and n + cols/2 packed in one float64 as b[n] + b[n + cols/2] · 2^26 (cached per B). */
function packB(b: Int8Array, shape: Shape): Float64Array {
	let packed = packedB.get(b);
	if (packed) return packed;
	const { inner, cols } = shape;
	const half = cols / 2;
	packed = new Float64Array(inner * half);
	for (let k = 0; k < inner; k++) {
		for (let n = 0; n < half; n++)
			packed[k * half + n] = (b[k * cols + n] as number) + (b[k * cols + n + half] as number) * LANE;
	}
	packedB.set(b, packed);
	return packed;
}

/**
 * Rows [from, to) of C = A · B, the reference CPU solver's kernel. `a` holds rows of A row-major, row i at offset
 * i · inner (so pass all of A, or a block of rows with from = 0); `b` is `matrixB`. Returns (to − from) × cols int32.
 *
 * Speed (1.7–2.5 × 10^9 multiply-adds a second on one core of the 2-core EPYC VM, 3× the plain i-k-n loop): row by
 * row, four columns of A at a time, over B with two columns packed in each float64 (b[n] + b[n + cols/2] · 2^26), so
 * one multiply-add serves two entries of C. Exact: each lane's sum is an integer with |sum| ≤ 64 · inner ≤ 2^24 <
 * 2^25 = LANE/2, the packed accumulator stays below 2^24 · 2^26 + 2^24 < 2^53, so float64 holds it exactly, and
 * rounding acc / 2^26 recovers the high lane (the low lane is within ±2^25 of 0).
 */
export function multiplyRows(a: Int8Array, b: Int8Array, shape: Shape, from: number, to: number): Int32Array {
	assertShape(shape);
	const { inner, cols } = shape;
	if (b.length !== inner * cols) throw new RangeError(`B has ${b.length} entries, want ${inner * cols}`);
	if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to * inner <= a.length)) {
		throw new RangeError(`rows [${from}, ${to}) are not all in the ${a.length / inner} rows of A given`);
	}
	const half = cols / 2;
	const bp = packB(b, shape);
	const out = new Int32Array((to - from) * cols);
	const acc = new Float64Array(half);
	for (let i = from; i < to; i++) {
		acc.fill(0);
		const ao = i * inner;
		for (let k = 0; k < inner; k += 4) {
			const x0 = a[ao + k] as number;
			const x1 = a[ao + k + 1] as number;
			const x2 = a[ao + k + 2] as number;
			const x3 = a[ao + k + 3] as number;
			const b0 = k * half;
			const b1 = b0 + half;
			const b2 = b1 + half;
			const b3 = b2 + half;
			for (let n = 0; n < half; n++) {
				acc[n] =
					(acc[n] as number) +
					x0 * (bp[b0 + n] as number) +
					x1 * (bp[b1 + n] as number) +
					x2 * (bp[b2 + n] as number) +
					x3 * (bp[b3 + n] as number);
			}
		}
		const o = (i - from) * cols;
		for (let n = 0; n < half; n++) {
			const s = acc[n] as number;
			const high = Math.round(s / LANE);
			out[o + n] = s - high * LANE;
			out[o + n + half] = high;
		}
	}
	return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Row hashes and the Merkle tree

const ROW_TAG = enc.encode(`${MATMUL_VERSION}:row`);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A row's leaf: SHA-256(0x00 ‖ "pulsegrid-matmul-v1:row" ‖ u32le(i) ‖ the row's int32 values, little-endian), hex.
 * The 0x00 prefix (0x01 for inner nodes, merkle.ts `nodeHash`) keeps a leaf from ever passing for a node.
 */
export async function rowHash(i: number, row: Int32Array): Promise<string> {
	const bytes = new Uint8Array(1 + ROW_TAG.length + 4 + row.length * 4);
	const view = new DataView(bytes.buffer);
	bytes[0] = 0;
	bytes.set(ROW_TAG, 1);
	let o = 1 + ROW_TAG.length;
	view.setUint32(o, i, true);
	o += 4;
	if (LITTLE_ENDIAN) bytes.set(new Uint8Array(row.buffer, row.byteOffset, row.length * 4), o);
	else for (let n = 0; n < row.length; n++) view.setInt32(o + 4 * n, row[n] as number, true);
	return hex(await crypto.subtle.digest("SHA-256", bytes));
}

/** The tree's levels, leaves first, root last (hex hashes). */
export interface RowTree {
	levels: string[][];
}

/**
 * The Merkle tree over the row hashes in row order, with merkle.ts's rules: node = SHA-256(0x01 ‖ left ‖ right) over
 * the raw 32-byte hashes, and an odd last node moves up a level unchanged (never paired with itself, so no two leaf
 * lists share a root — the duplicated-last-leaf ambiguity of Bitcoin's tree does not arise). A single row's root is its
 * leaf. The shape of the tree depends only on the number of rows, which the verifier knows.
 */
export async function buildTree(leaves: string[]): Promise<RowTree> {
	if (leaves.length === 0) throw new RangeError("a tree needs at least one row");
	const levels = [leaves];
	let level = leaves;
	while (level.length > 1) {
		const pairs: Promise<string>[] = [];
		for (let j = 0; j + 1 < level.length; j += 2) pairs.push(nodeHash(level[j] as string, level[j + 1] as string));
		const next = await Promise.all(pairs);
		if (level.length % 2 === 1) next.push(level[level.length - 1] as string);
		levels.push(next);
		level = next;
	}
	return { levels };
}

export function treeRoot(tree: RowTree): string {
	return (tree.levels[tree.levels.length - 1] as string[])[0] as string;
}

/** The siblings from leaf i up to the root, bottom first; a level where i's node has no sibling adds nothing. */
export function treePath(tree: RowTree, i: number): string[] {
	const path: string[] = [];
	let at = i;
	for (const level of tree.levels.slice(0, -1)) {
		const sibling = at ^ 1;
		if (sibling < level.length) path.push(level[sibling] as string);
		at >>>= 1;
	}
	return path;
}

/** 32-bit words (r, or a row's values) as the wire carries them: base64url of their little-endian bytes. */
export function wordsToBase64url(words: Int32Array | Uint32Array): string {
	const bytes = new Uint8Array(words.length * 4);
	const view = new DataView(bytes.buffer);
	for (let n = 0; n < words.length; n++) view.setUint32(4 * n, (words[n] as number) >>> 0, true);
	return base64url(bytes);
}

/** The int32 words of a base64url string of little-endian bytes; null when it is not whole words of base64url. */
export function int32sFromBase64url(s: unknown): Int32Array | null {
	const bytes = fromBase64url(s);
	if (!bytes || bytes.length % 4 !== 0) return null;
	const view = new DataView(bytes.buffer);
	return Int32Array.from({ length: bytes.length / 4 }, (_, n) => view.getInt32(4 * n, true));
}

/** Rows of A generated and multiplied at a time by `product`: 64 × K bytes of A, small next to B. */
const PRODUCT_CHUNK_ROWS = 64;

/** C = A · B for the whole challenge, A generated a chunk of rows at a time (the reference kernel, on one thread). */
export function product(seed: Uint8Array, shape: Shape): Int32Array {
	const { rows, cols } = shape;
	const b = matrixB(seed, shape);
	const c = new Int32Array(rows * cols);
	for (let from = 0; from < rows; from += PRODUCT_CHUNK_ROWS) {
		const to = Math.min(rows, from + PRODUCT_CHUNK_ROWS);
		c.set(multiplyRows(rowsOfA(seed, shape, from, to), b, shape, 0, to - from), from * cols);
	}
	return c;
}

/** What a solver holds once it has committed: C, the row hashes, the tree and its root, and the openings. */
export interface Solution {
	c: Int32Array;
	leaves: string[];
	tree: RowTree;
	root: string;
	/** The asked rows with their values and Merkle paths, as the node sends them. */
	open(rows: number[]): OpenedRow[];
}

/** The commitment to a given C (honest or not): its row hashes, tree and root. */
export async function commitTo(c: Int32Array, shape: Shape): Promise<Solution> {
	const row = (i: number) => c.subarray(i * shape.cols, (i + 1) * shape.cols);
	const leaves = await Promise.all(Array.from({ length: shape.rows }, (_, i) => rowHash(i, row(i))));
	const tree = await buildTree(leaves);
	const open = (rows: number[]) => rows.map((i) => ({ i, values: row(i).slice(), path: treePath(tree, i) }));
	return { c, leaves, tree, root: treeRoot(tree), open };
}

/** The honest answer to a challenge, as the reference solver commits to it (the agent's CPU solver runs this). */
export async function solve(seed: Uint8Array, shape: Shape): Promise<Solution> {
	return commitTo(product(seed, shape), shape);
}

/** How many siblings leaf i's path has in a tree of `rows` leaves. */
export function pathLength(i: number, rows: number): number {
	let count = 0;
	for (let at = i, width = rows; width > 1; at >>>= 1, width = Math.ceil(width / 2)) if ((at ^ 1) < width) count++;
	return count;
}

/** Recomputes the root from leaf i of `rows` and its path: even positions hash (self, sibling), odd (sibling, self). */
export async function verifyPath(
	i: number,
	rows: number,
	leaf: string,
	path: string[],
	root: string,
): Promise<boolean> {
	if (path.length !== pathLength(i, rows)) return false;
	let h = leaf;
	let j = 0;
	for (let at = i, width = rows; width > 1; at >>>= 1, width = Math.ceil(width / 2)) {
		if ((at ^ 1) >= width) continue;
		const sibling = path[j++] as string;
		h = at % 2 === 0 ? await nodeHash(h, sibling) : await nodeHash(sibling, h);
	}
	return h === root;
}

// ---------------------------------------------------------------------------------------------------------------
// Freivalds' check

/** What the coordinator reveals after the commitment: the vector r (cols entries, 32-bit) and the rows to open. */
export interface Reveal {
	r: Uint32Array;
	rows: number[];
}

/** One opened row: its index, its cols values and its Merkle path (bottom first, hex). */
export interface OpenedRow {
	i: number;
	values: Int32Array;
	path: string[];
}

export type VerifyFailure = "bad_path" | "wrong_row" | "out_of_range" | "missing_row" | "malformed";
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure; row?: number; detail: string };

/** The modulus of the check: the Mersenne prime 2^61 − 1. */
export const FREIVALDS_PRIME = (1n << 61n) - 1n;
/** Upper bound on the chance that one wrong opened row passes (see `verifyRows`). */
export const FALSE_PASS_PER_WRONG_ROW = 2 ** -32;

const HEX64 = /^[0-9a-f]{64}$/;

/** B · r over the integers, in float64: |Σ b·r| ≤ 8 · cols · 2^32 ≤ 2^47, exact. B is generated row by row. */
function bTimesR(seed: Uint8Array, shape: Shape, r: Uint32Array): Float64Array {
	const { inner, cols } = shape;
	const key = seedKeys(seed).b;
	const rd = Float64Array.from(r);
	const row = new Int8Array(cols);
	const v = new Float64Array(inner);
	for (let k = 0; k < inner; k++) {
		fillEntries(key, k, row, 0, cols);
		let s = 0;
		for (let n = 0; n < cols; n++) s += (row[n] as number) * (rd[n] as number);
		v[k] = s;
	}
	return v;
}

function fail(reason: VerifyFailure, detail: string, row?: number): VerifyResult {
	return row === undefined ? { ok: false, reason, detail } : { ok: false, reason, row, detail };
}

/**
 * Checks the opened rows of a committed product C: every asked row is answered (`missing_row`), with cols values
 * inside `valueBounds` (`out_of_range`), hashing into `root` through its path (`bad_path`), and passing Freivalds'
 * test C_i · r ≡ A_i · (B · r) (mod p) with p = 2^61 − 1 (`wrong_row`). Anything not of the expected shape —
 * lengths, types, hex, duplicate or unasked rows — is `malformed`. Checks run in that order, cheapest first.
 *
 * Why the check is sound. Let d = C_i − (A · B)_i be a wrong row's error: d ≠ 0 over the integers. Every value of
 * C_i passed the range check and every honest value lies in the same range, so |d_j| ≤ 120 · inner < 2^25 < p: a
 * nonzero d_j is nonzero mod p, and p is prime, so d_j is invertible mod p. Fix every r_m except r_j: the row passes
 * only if r_j ≡ t (mod p) for the one residue t that cancels the rest. The r_j are uniform over [0, 2^32) ⊂ [0, p),
 * so at most one value of r_j does it: the row passes with probability ≤ 2^-32 (FALSE_PASS_PER_WRONG_ROW). With r
 * uniform over all of [0, p) it would be exactly 1/p; the bound is set by r's 32-bit entries, and a wrong row also
 * has to be among the k rows opened (see `passProbability`). Modulo 2^32 instead, the natural int32 wrap-around of a
 * GPU, the check would be weak: Z/2^32 has zero divisors, so an error d_j = 2^s · odd passes whenever r_j ≡ t
 * (mod 2^(32−s)), with probability 2^(s−32); a cheater adding d_j = 2^19 to an entry (still inside the range for
 * inner = 8192 when the true entry is ≤ 0) would pass one time in 8192. Without the range check, p = 2^31 − 1 would
 * need it too (d_j = p is an int32 difference); with p = 2^61 − 1 any int32 difference is already nonzero mod p.
 *
 * Exact arithmetic, no BigInt in the loops: v = B · r in float64 (|v_k| ≤ 2^47, exact), split v_k = hi · 2^24 + lo
 * with lo ∈ [0, 2^24), so Σ a·lo ≤ 8 · inner · 2^24 ≤ 2^45 and Σ a·hi ≤ 8 · inner · 2^23 ≤ 2^44 are exact; likewise
 * r_n = hi · 2^16 + lo, so Σ c·lo and Σ c·hi ≤ cols · 2^24 · 2^16 ≤ 2^52 are exact. Each side is then assembled and
 * reduced mod p in BigInt once per row. Cost: one generation of B and cols × inner multiply-adds, plus inner + cols
 * per opened row and the path hashes (measured in test/unit/matmul.test.ts, printed, not asserted).
 */
export async function verifyRows(
	seed: Uint8Array,
	shape: Shape,
	root: string,
	revealed: Reveal,
	answer: OpenedRow[],
): Promise<VerifyResult> {
	const problem = shapeProblem(shape);
	if (problem) return fail("malformed", `shape: ${problem}`);
	if (!(seed instanceof Uint8Array) || seed.length !== 32) return fail("malformed", "the seed is not 32 bytes");
	const { rows, inner, cols } = shape;
	if (typeof root !== "string" || !HEX64.test(root)) return fail("malformed", "root is not 64 hex characters");
	if (!(revealed?.r instanceof Uint32Array) || revealed.r.length !== cols) {
		return fail("malformed", `r must be a Uint32Array of ${cols} entries`);
	}
	const asked = revealed.rows;
	if (!Array.isArray(asked) || asked.some((i) => !Number.isInteger(i) || i < 0 || i >= rows)) {
		return fail("malformed", `the rows asked must be integers in [0, ${rows})`);
	}
	if (new Set(asked).size !== asked.length) return fail("malformed", "the rows asked repeat");
	if (!Array.isArray(answer) || answer.length > asked.length) {
		return fail("malformed", `the answer must be a list of at most ${asked.length} rows`);
	}
	const askedSet = new Set(asked);
	const byRow = new Map<number, OpenedRow>();
	for (const opened of answer) {
		const i = opened?.i;
		if (!Number.isInteger(i) || !askedSet.has(i)) return fail("malformed", `row ${String(i)} was not asked for`);
		if (byRow.has(i)) return fail("malformed", `row ${i} is answered twice`, i);
		if (!(opened.values instanceof Int32Array) || opened.values.length !== cols) {
			return fail("malformed", `row ${i} must have ${cols} int32 values`, i);
		}
		if (!Array.isArray(opened.path) || opened.path.length !== pathLength(i, rows)) {
			return fail("malformed", `row ${i}'s path must have ${pathLength(i, rows)} hashes`, i);
		}
		if (opened.path.some((h) => typeof h !== "string" || !HEX64.test(h))) {
			return fail("malformed", `row ${i}'s path holds something other than 64 hex characters`, i);
		}
		byRow.set(i, opened);
	}
	const missing = asked.find((i) => !byRow.has(i));
	if (missing !== undefined) return fail("missing_row", `row ${missing} was asked for and not answered`, missing);

	const { min, max } = valueBounds(inner);
	for (const { i, values } of byRow.values()) {
		const n = values.findIndex((c) => c < min || c > max);
		if (n >= 0) return fail("out_of_range", `row ${i}, column ${n}: ${values[n]} is outside [${min}, ${max}]`, i);
	}

	const opened = [...byRow.values()];
	const pathsOk = await Promise.all(
		opened.map(async ({ i, values, path }) => verifyPath(i, rows, await rowHash(i, values), path, root)),
	);
	const badPath = opened.findIndex((_, j) => !pathsOk[j]);
	if (badPath >= 0) {
		const i = (opened[badPath] as OpenedRow).i;
		return fail("bad_path", `row ${i} does not hash into the root through its path`, i);
	}

	const v = bTimesR(seed, shape, revealed.r);
	const vHigh = new Float64Array(inner);
	const vLow = new Float64Array(inner);
	for (let k = 0; k < inner; k++) {
		const high = Math.floor((v[k] as number) / 2 ** 24);
		vHigh[k] = high;
		vLow[k] = (v[k] as number) - high * 2 ** 24;
	}
	const rHigh = new Float64Array(cols);
	const rLow = new Float64Array(cols);
	for (let n = 0; n < cols; n++) {
		rHigh[n] = (revealed.r[n] as number) >>> 16;
		rLow[n] = (revealed.r[n] as number) & 0xffff;
	}
	const key = seedKeys(seed).a;
	const a = new Int8Array(inner);
	for (const { i, values } of opened) {
		fillEntries(key, i, a, 0, inner);
		let aHigh = 0;
		let aLow = 0;
		for (let k = 0; k < inner; k++) {
			aHigh += (a[k] as number) * (vHigh[k] as number);
			aLow += (a[k] as number) * (vLow[k] as number);
		}
		let cHigh = 0;
		let cLow = 0;
		for (let n = 0; n < cols; n++) {
			cHigh += (values[n] as number) * (rHigh[n] as number);
			cLow += (values[n] as number) * (rLow[n] as number);
		}
		const rhs = (BigInt(aHigh) << 24n) + BigInt(aLow);
		const lhs = (BigInt(cHigh) << 16n) + BigInt(cLow);
		if ((((lhs - rhs) % FREIVALDS_PRIME) + FREIVALDS_PRIME) % FREIVALDS_PRIME !== 0n) {
			return fail("wrong_row", `row ${i} fails C_i · r ≡ A_i · (B · r) (mod 2^61 − 1)`, i);
		}
	}
	return { ok: true };
}

// ---------------------------------------------------------------------------------------------------------------
// Sampling

/**
 * k distinct row indices of [0, rows), ascending (Floyd's algorithm: k draws, whatever rows is); all rows when k ≥
 * rows. `random` returns [0, 1); the coordinator passes `secureRandom`, so a node cannot predict the rows.
 */
export function sampleRows(random: () => number, rows: number, k: number): number[] {
	const n = Math.max(0, Math.min(Math.floor(k), rows));
	const chosen = new Set<number>();
	for (let j = rows - n; j < rows; j++) {
		const t = Math.floor(random() * (j + 1));
		chosen.add(chosen.has(t) ? j : t);
	}
	return [...chosen].sort((x, y) => x - y);
}

/** r for Freivalds' test: `cols` entries uniform over [0, 2^32). */
export function randomVector(random: () => number, cols: number): Uint32Array {
	const r = new Uint32Array(cols);
	for (let n = 0; n < cols; n++) r[n] = Math.floor(random() * 2 ** 32);
	return r;
}

/** A uniform double in [0, 1) with 53 random bits from `crypto.getRandomValues`. */
export function secureRandom(): number {
	const w = crypto.getRandomValues(new Uint32Array(2));
	return ((w[0] as number) * 2 ** 21 + ((w[1] as number) >>> 11)) / 2 ** 53;
}

/**
 * The chance that a node which computed only `fractionComputed` of the rows (and committed garbage for the rest)
 * has none of k uniformly opened rows land on garbage: fractionComputed^k. This is the with-replacement bound; the
 * rows are opened without replacement, which only lowers it, and the ≤ 2^-32 of a wrong row passing Freivalds' test
 * adds nothing visible. k = 32 at 90 %: 0.9^32 ≈ 3.43 %.
 */
export function passProbability(fractionComputed: number, k: number): number {
	return fractionComputed ** k;
}

/** Rows opened per challenge: a node that computed 90 % of the rows passes with probability 0.9^32 ≈ 3.4 %. */
export const OPENED_ROWS = 32;

// ---------------------------------------------------------------------------------------------------------------
// Sizes and deadlines per claimed model

/**
 * Every size shares inner × cols = 8192 × 256, so the verifier's cost is the same whatever the claim (one B of 2^21
 * entries and 2^21 multiply-adds for B · r), and only `rows` grows with the claimed throughput. Why these two: per
 * multiply-add a GPU solver also generates A (about 10 integer operations per entry, each entry used `cols` times,
 * so ∝ 1/cols) and hashes C (4 bytes per entry at about 47 operations a byte for SHA-256, each entry costing `inner`
 * multiply-adds, so ∝ 1/inner); with inner · cols fixed by the verifier's budget, 8192 × 256 keeps both overheads
 * near their minimum (each a few % of an RTX 4090's int8 tensor time). Entries are 4-bit, so int8 tensor cores with
 * int32 accumulation (NVIDIA IMMA) compute the product exactly.
 */
export const CHALLENGE_INNER = 8192;
export const CHALLENGE_COLS = 256;
/**
 * A challenge is sized to take this long on the claimed hardware running at ASSUMED_EFFICIENCY of its peak. Long
 * enough that what a node can add to its own timing is small next to it: the round trip counted into its deadline
 * (at most MAX_RTT_MS = 500 ms, verify-session.ts, and a node can slow its ack to get all of it) is 6 % of 8 s, and
 * a card one tier below the claim is at least 30 % slower (points.ts TIERS; an RTX 4080 has 59 % of an RTX 4090's
 * INT8 rate). At 2 s the same 500 ms was 25 %, and an RTX 4080 claiming an RTX 4090 passed (docs/VERIFICATION.md
 * §15). The cost is the node's time, measured in the same place.
 */
export const TARGET_SECONDS = 8;
/**
 * The share of the datasheet's dense INT8 peak a straightforward solver is assumed to reach (generating A on the
 * fly, an int8 GEMM, hashing rows): an assumption, not a measurement, until calibration replaces it.
 */
export const ASSUMED_EFFICIENCY = 0.25;

export type ChallengeClass = "H100" | "A100" | "RTX 4090" | "Apple M-series" | "other" | "cpu-reference";

export interface ChallengeSize {
	shape: Shape;
	/** The dense INT8 rate the size is computed from, TOPS (10^12 operations a second; a multiply-add is two). */
	int8_tops: number;
	/** Where int8_tops comes from. */
	source: string;
	/** Memory of the slowest model in the class, GB (unified memory for Apple), for the working-set share. */
	memory_gb: number;
}

/**
 * rows = TARGET_SECONDS × ASSUMED_EFFICIENCY × int8_tops × 10^12 / 2 multiply-adds, divided by the inner × cols
 * multiply-adds of one row, rounded down to a multiple of 1024.
 */
export function rowsFor(int8Tops: number): number {
	const macs = (TARGET_SECONDS * ASSUMED_EFFICIENCY * int8Tops * 1e12) / 2;
	return Math.max(1024, Math.floor(macs / (CHALLENGE_INNER * CHALLENGE_COLS) / 1024) * 1024);
}

function sized(int8Tops: number, source: string, memoryGb: number): ChallengeSize {
	const shape = { rows: rowsFor(int8Tops), inner: CHALLENGE_INNER, cols: CHALLENGE_COLS };
	return { shape, int8_tops: int8Tops, source, memory_gb: memoryGb };
}

/**
 * The challenge per class of claimed model, sized for the slowest model the class matches (a faster one finishes
 * early and passes). Throughput, not memory, is what a challenge proves: a solver streams A and C, and keeps only the
 * row hashes for the reveal, in host memory — the whole tree is (2 · rows − 1) × 32 bytes (RTX 4090: 20 GB; H100:
 * 46 GB; A100: 19 GB), but a solver may keep only the levels from 32 rows up (1/32 of that: 630 MB for an RTX 4090)
 * and hash the 32 rows under each opened row again, so no share of memory is enforced. Sharing one device between
 * identities is caught by co-scheduled challenges instead: each needs the device's full throughput for
 * TARGET_SECONDS at the same moment.
 */
export const CHALLENGE_SIZES: Record<ChallengeClass, ChallengeSize> = {
	H100: sized(
		1513,
		"NVIDIA H100 PCIe product brief (PB-11133-001): 3,026 INT8 tensor TOPS with sparsity, half dense; the PCIe card " +
			"is the slowest H100 (SXM5: 1,979 dense); H200, GH200 and B200 claims are sized as H100",
		80,
	),
	A100: sized(624, "NVIDIA A100 datasheet: INT8 tensor core 624 TOPS dense (1,248 with sparsity), 40 and 80 GB", 40),
	"RTX 4090": sized(
		660.6,
		"NVIDIA Ada Lovelace architecture whitepaper: RTX 4090 peak INT8 tensor 660.6 TOPS dense (1,321.2 with " +
			"sparsity); RTX 5090 claims are sized as RTX 4090",
		24,
	),
	"Apple M-series": sized(
		2.6,
		"Apple M1 announcement (Nov 2020): 2.6 TFLOPS FP32 on the 8-core GPU, the slowest M-series GPU; no int8 matrix " +
			"rate is published, so one 32-bit multiply-add per FP32 FMA is assumed",
		8,
	),
	other: sized(
		10,
		"assumption, no source: a floor for unlisted GPUs (a GTX 10-series card reaches it with DP4A); an unlisted " +
			"claim is only ever shown to have this much",
		4,
	),
	"cpu-reference": {
		shape: { rows: 1024, inner: CHALLENGE_INNER, cols: CHALLENGE_COLS },
		int8_tops: 0.0034,
		source:
			"the agent's CPU solver (agent/solver.ts), about 1.7 × 10^9 multiply-adds a second measured on a 2-core " +
			"AMD EPYC VM, Node 22.23, 2026-12-03; for tests, the benchmark and machines without a supported GPU",
		memory_gb: 0,
	},
};

/** The class whose size a claimed model is challenged with; unlisted models get the conservative `other`. */
export function challengeClass(gpuModel: string): ChallengeClass {
	if (/\b(H100|H200|GH200|B200)\b/i.test(gpuModel)) return "H100";
	if (/\bA100\b/i.test(gpuModel)) return "A100";
	if (/\b(RTX\s*)?(4090|5090)\b/i.test(gpuModel)) return "RTX 4090";
	if (/\b(Apple|M[1-4])\b/i.test(gpuModel)) return "Apple M-series";
	return "other";
}

export interface Calibration {
	/** The 99th percentile of the commit time (seed received → root sent) on real hardware of the class, ms. */
	p99_ms: number;
	/** "uncalibrated", or how and where p99_ms was measured. */
	source: string;
}

/**
 * Measured commit times per class. An "uncalibrated" p99 is the design target (TARGET_SECONDS at
 * ASSUMED_EFFICIENCY), not a measurement: replace it with a p99 measured on that hardware, saying where and by whom.
 */
export const CALIBRATION: Record<ChallengeClass, Calibration> = {
	H100: { p99_ms: TARGET_SECONDS * 1000, source: "uncalibrated" },
	A100: { p99_ms: TARGET_SECONDS * 1000, source: "uncalibrated" },
	"RTX 4090": { p99_ms: TARGET_SECONDS * 1000, source: "uncalibrated" },
	"Apple M-series": { p99_ms: TARGET_SECONDS * 1000, source: "uncalibrated" },
	other: { p99_ms: TARGET_SECONDS * 1000, source: "uncalibrated" },
	"cpu-reference": {
		p99_ms: 2833,
		source:
			"measured on a shared 2-core AMD EPYC VM (load average 2–3 from other test runs), Node 22.23, 2026-12-03, by " +
			"the issue-11 matmul helper with `node scripts/matmul-timing.ts` (20, then 40 runs): p99 = max of the 60 " +
			"commits (seed in → root out, through the worker thread); p50 1464–1621 ms",
	},
};

/** The commit deadline: the class's p99 × 1.25 plus the round-trip time the coordinator measured, ms. */
export function deadlineMs(cls: ChallengeClass, measuredRttMs: number): number {
	return Math.ceil(CALIBRATION[cls].p99_ms * 1.25 + Math.max(0, measuredRttMs));
}

/**
 * How much over the class's p99 a commit may come and still prove the claimed model: 5 % for an honest card's own
 * spread past the 99th percentile (clocks, cooling, power limits; the benchmark models ± 20 % between cards).
 */
export const PROOF_MARGIN = 1.05;

/**
 * The time that proves the claim: the class's p99 × PROOF_MARGIN plus the measured round trip, ms. A right answer
 * committed after it but before `deadlineMs` came from slower hardware than the claim (a card one tier below takes
 * at least 1.4 × as long) and fails as `late`; the 25 % to the deadline only decides how long the coordinator waits.
 */
export function proofMs(cls: ChallengeClass, measuredRttMs: number): number {
	return Math.ceil(CALIBRATION[cls].p99_ms * PROOF_MARGIN + Math.max(0, measuredRttMs));
}
