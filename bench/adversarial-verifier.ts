// The verifier's cost per challenge at the real GPU sizes (k = 32 opened rows). The bench's coordinator runs a small
// stand-in shape, so its own CPU does not show the real check's cost; this times verifyRows on honest openings at the
// real sizes, in workerd (the coordinator's runtime: bench/verifier-worker.ts, bundled with esbuild and run in
// Miniflare, CPU read from the workerd process in /proc) and in this Node process, for comparison.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
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
import { processTree } from "./proc.ts";
import { sparseCommitment } from "./sparse-commitment.ts";
import { summarize, type Summary } from "./stats.ts";

/** Runs left out before timing: the first calls compile the code paths (JIT) and fill WebCrypto's pool. */
export const WARM_UP = 2;

export interface VerifierTiming {
	runtime: "workerd" | "node";
	class: ChallengeClass;
	shape: Shape;
	runs: number;
	/** Wall time of each verifyRows, as the runtime's own clock measures it (workerd's counts whole milliseconds). */
	wall_ms: Summary;
	/**
	 * CPU per challenge: the process's CPU time over all the runs ÷ runs. workerd: the workerd process's utime + stime
	 * from /proc (10 ms ticks, so ± 10 ms ÷ runs); Node: process.cpuUsage, WebCrypto's libuv threads included.
	 */
	cpu_ms_mean: number;
	/** The machine's 1-minute load average when the runs ended (other work on the same cores). */
	loadavg: number;
}

/** verifyRows on honest openings in this Node process, `runs` times per class, each on a fresh seed, r and rows. */
export async function timeVerifierInNode(classes: ChallengeClass[], runs: number): Promise<VerifierTiming[]> {
	const out: VerifierTiming[] = [];
	for (const cls of classes) {
		const shape = CHALLENGE_SIZES[cls].shape;
		const wall: number[] = [];
		let cpuUs = 0;
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
			cpuUs += c.user + c.system;
			wall.push(ms);
		}
		const load = loadavg()[0] ?? 0;
		out.push({
			runtime: "node",
			class: cls,
			shape,
			runs,
			wall_ms: summarize(wall),
			cpu_ms_mean: cpuUs / 1000 / runs,
			loadavg: load,
		});
	}
	return out;
}

/** The CPU time of the workerd processes under this one, ms. */
function workerdCpuMs(): number {
	return processTree(process.pid)
		.filter((p) => p.comm.startsWith("workerd"))
		.reduce((sum, p) => sum + p.cpuMs, 0);
}

/**
 * verifyRows in workerd: bench/verifier-worker.ts builds `runs` fresh honest openings per class (plus WARM_UP), then
 * checks them one after another in one request, while this process reads the workerd process's CPU before and after.
 */
export async function timeVerifierInWorkerd(classes: ChallengeClass[], runs: number): Promise<VerifierTiming[]> {
	const toml = readFileSync(fileURLToPath(new URL("../wrangler.toml", import.meta.url)), "utf8");
	const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
	if (!compatibilityDate) throw new Error("wrangler.toml has no compatibility_date");
	const bundle = await build({
		entryPoints: [fileURLToPath(new URL("./verifier-worker.ts", import.meta.url))],
		bundle: true,
		format: "esm",
		platform: "neutral",
		write: false,
	});
	const script = bundle.outputFiles[0]?.text ?? "";
	const mf = new Miniflare(convertV4MiniflareOptions({ modules: true, script, compatibilityDate }));
	try {
		await mf.ready;
		const post = async (path: string, body: unknown) => {
			const res = await mf.dispatchFetch(`http://verifier${path}`, { method: "POST", body: JSON.stringify(body) });
			const json = (await res.json()) as { error?: string; wall_ms?: number[] };
			if (!res.ok) throw new Error(`verifier worker ${path}: ${res.status} ${json.error ?? ""}`);
			return json;
		};
		const out: VerifierTiming[] = [];
		for (const cls of classes) {
			await post("/prepare", { cls, count: WARM_UP });
			await post("/verify", {});
			await post("/prepare", { cls, count: runs });
			const c0 = workerdCpuMs();
			const { wall_ms = [] } = await post("/verify", {});
			const cpu = workerdCpuMs() - c0;
			const shape = CHALLENGE_SIZES[cls].shape;
			const load = loadavg()[0] ?? 0;
			out.push({
				runtime: "workerd",
				class: cls,
				shape,
				runs,
				wall_ms: summarize(wall_ms),
				cpu_ms_mean: cpu / runs,
				loadavg: load,
			});
		}
		return out;
	} finally {
		await mf.dispose();
	}
}
