// Times the compute challenge on this machine (docs/VERIFICATION.md, "Sizes and calibration"): the CPU solver's commit
// for every size of CHALLENGE_SIZES it accepts (the others are refused, with the time they would take at the measured
// rate), and the verifier for k = 32 opened rows. Usage: `node scripts/matmul-timing.ts [runs]` (default 20 runs).
import { cpuSolverRefusal, createCpuSolver } from "../agent/solver.ts";
import {
	CHALLENGE_SIZES,
	type ChallengeClass,
	deriveSeed,
	OPENED_ROWS,
	randomVector,
	sampleRows,
	secureRandom,
	verifyRows,
} from "../workers/domain/matmul.ts";

const runs = Number(process.argv[2] ?? 20);
const ms = (t: number) => `${t.toFixed(0)} ms`;
const percentile = (xs: number[], p: number) => {
	const sorted = xs.slice().sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};

const solver = createCpuSolver();
let macsPerSecond = 0;
try {
	// Smallest first, so the refused sizes can be given the time they would take at the rate just measured.
	const classes = (Object.keys(CHALLENGE_SIZES) as ChallengeClass[]).sort(
		(x, y) => CHALLENGE_SIZES[x].shape.rows - CHALLENGE_SIZES[y].shape.rows,
	);
	for (const cls of classes) {
		const { shape } = CHALLENGE_SIZES[cls];
		const macs = shape.rows * shape.inner * shape.cols;
		const refusal = cpuSolverRefusal(shape);
		if (refusal) {
			const would =
				macsPerSecond > 0 ? `; at the measured rate it would take ~${(macs / macsPerSecond).toFixed(0)} s` : "";
			console.log(`${cls}: refused (${refusal})${would}`);
			continue;
		}
		const commits: number[] = [];
		const verifies: number[] = [];
		for (let run = 0; run < runs; run++) {
			const seed = await deriveSeed("timing", run, "node_timing", cls);
			let t = performance.now();
			const root = await solver.commit({ seed, shape });
			commits.push(performance.now() - t);
			const rows = sampleRows(secureRandom, shape.rows, OPENED_ROWS);
			const opened = await solver.open(rows);
			const r = randomVector(secureRandom, shape.cols);
			t = performance.now();
			const result = await verifyRows(seed, shape, root, { r, rows }, opened);
			verifies.push(performance.now() - t);
			if (!result.ok) throw new Error(`${cls}: an honest answer failed: ${result.reason}`);
		}
		macsPerSecond = macs / (percentile(commits, 50) / 1000);
		console.log(
			`${cls} ${shape.rows}×${shape.inner}×${shape.cols}: commit p50 ${ms(percentile(commits, 50))}, ` +
				`p99 ${ms(percentile(commits, 99))}, max ${ms(Math.max(...commits))} over ${runs} runs ` +
				`(${(macsPerSecond / 1e9).toFixed(2)} × 10^9 multiply-adds/s incl. hashing); ` +
				`verify (Node, k = ${OPENED_ROWS}) p50 ${ms(percentile(verifies, 50))}, max ${ms(Math.max(...verifies))}`,
		);
	}
} finally {
	await solver.dispose();
}
