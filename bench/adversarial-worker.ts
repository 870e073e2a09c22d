// A solver thread of the adversarial scenario (started by bench/adversarial-solver.ts): computes C with the reference
// kernel (matmul.ts `product`) — honestly, or with some rows replaced by made-up values inside the honest range, as a
// partial computer would — commits to it, and opens the revealed rows.
//
// The row hashes and the tree are those of matmul.ts `rowHash` and `buildTree`, byte for byte, but with node:crypto's
// one-shot synchronous SHA-256 (~1 µs): WebCrypto costs ~40 µs a digest here, so 177 identities challenged in one
// second cost the bench ~5 s of CPU and held back their commits (measured). Every CHECK_EVERY-th commitment of a
// thread (the first included) is also made with `commitTo` and the roots compared; the coordinator checks every
// opening besides.
import { hash } from "node:crypto";
import { parentPort } from "node:worker_threads";
import {
	commitTo,
	MATMUL_VERSION,
	type OpenedRow,
	product,
	type Shape,
	valueBounds,
} from "../workers/domain/matmul.ts";
import type { WorkerReply, WorkerRequest } from "./adversarial-solver.ts";

const CHECK_EVERY = 100;
const ROW_TAG = Buffer.from(`${MATMUL_VERSION}:row`);

interface Held {
	c: Int32Array;
	cols: number;
	levels: Buffer[][];
}

const held = new Map<string, Held>();
let commits = 0;

/** `garbage` distinct rows, chosen before the reveal (the node cannot know which will be opened), filled in range. */
function spoil(c: Int32Array, shape: Shape, garbage: number): void {
	const { min, max } = valueBounds(shape.inner);
	const order = Array.from({ length: shape.rows }, (_, i) => i);
	for (let j = 0; j < garbage; j++) {
		const k = j + Math.floor(Math.random() * (shape.rows - j));
		[order[j], order[k]] = [order[k] as number, order[j] as number];
		const i = order[j] as number;
		for (let n = 0; n < shape.cols; n++) c[i * shape.cols + n] = min + Math.floor(Math.random() * (max - min + 1));
	}
}

/** matmul.ts `rowHash` and `buildTree` (leaf 0x00 ‖ tag ‖ u32le(i) ‖ int32le values; node 0x01 ‖ left ‖ right). */
function tree(c: Int32Array, shape: Shape): Buffer[][] {
	const leaf = Buffer.alloc(1 + ROW_TAG.length + 4 + shape.cols * 4);
	ROW_TAG.copy(leaf, 1);
	const at = 1 + ROW_TAG.length;
	let level: Buffer[] = [];
	for (let i = 0; i < shape.rows; i++) {
		leaf.writeUInt32LE(i, at);
		for (let n = 0; n < shape.cols; n++) leaf.writeInt32LE(c[i * shape.cols + n] as number, at + 4 + 4 * n);
		level.push(hash("sha256", leaf, "buffer"));
	}
	const levels = [level];
	const node = Buffer.alloc(65);
	node[0] = 1;
	while (level.length > 1) {
		const next: Buffer[] = [];
		for (let j = 0; j + 1 < level.length; j += 2) {
			(level[j] as Buffer).copy(node, 1);
			(level[j + 1] as Buffer).copy(node, 33);
			next.push(hash("sha256", node, "buffer"));
		}
		if (level.length % 2 === 1) next.push(level[level.length - 1] as Buffer);
		levels.push(next);
		level = next;
	}
	return levels;
}

/** matmul.ts `treePath`: siblings bottom first, none where the node is an unpaired last one. */
function open(h: Held, rows: number[]): OpenedRow[] {
	return rows.map((i) => {
		const path: string[] = [];
		let at = i;
		for (const level of h.levels.slice(0, -1)) {
			if ((at ^ 1) < level.length) path.push((level[at ^ 1] as Buffer).toString("hex"));
			at >>>= 1;
		}
		return { i, values: h.c.slice(i * h.cols, (i + 1) * h.cols), path };
	});
}

async function answer(r: WorkerRequest): Promise<WorkerReply | null> {
	try {
		if (r.type === "commit") {
			const c = product(r.seed, r.shape);
			if (r.garbage > 0) spoil(c, r.shape, r.garbage);
			const levels = tree(c, r.shape);
			const root = (levels[levels.length - 1]?.[0] as Buffer).toString("hex");
			if (commits++ % CHECK_EVERY === 0) {
				const reference = (await commitTo(c, r.shape)).root;
				if (reference !== root) throw new Error(`MISMATCH: root ${root}, matmul.ts commitTo ${reference}`);
			}
			held.set(r.job, { c, cols: r.shape.cols, levels });
			return { id: r.id, ok: true, root };
		}
		if (r.type === "open") {
			const h = held.get(r.job);
			held.delete(r.job);
			if (!h) throw new Error(`no commitment held for ${r.job}`);
			return { id: r.id, ok: true, rows: open(h, r.rows) };
		}
		held.delete(r.job);
		return null;
	} catch (err) {
		return { id: r.id, ok: false, error: err instanceof Error ? err.message : String(err) };
	}
}

let queue: Promise<void> = Promise.resolve();
parentPort?.on("message", (r: WorkerRequest) => {
	queue = queue.then(async () => {
		const reply = await answer(r);
		if (reply) parentPort?.postMessage(reply);
	});
});
