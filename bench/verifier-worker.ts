// A Worker for timing the verifier in workerd, the coordinator's runtime (bench/adversarial-verifier.ts bundles it
// and runs it in Miniflare): POST /prepare builds fresh honest openings at a class's real size and keeps them in the
// isolate; POST /verify checks each once with verifyRows and returns each check's wall time. The CPU the checks cost
// is read from outside, as the workerd process's own CPU time over /verify.
import {
	CHALLENGE_SIZES,
	type ChallengeClass,
	deriveSeed,
	OPENED_ROWS,
	type OpenedRow,
	randomVector,
	sampleRows,
	secureRandom,
	verifyRows,
} from "../workers/domain/matmul.ts";
import { sparseCommitment } from "./sparse-commitment.ts";

interface Opening {
	seed: Uint8Array;
	root: string;
	r: Uint32Array;
	rows: number[];
	answer: OpenedRow[];
}

let prepared: { cls: ChallengeClass; openings: Opening[] } | null = null;

export default {
	async fetch(request: Request): Promise<Response> {
		const url = new URL(request.url);
		if (url.pathname === "/prepare") {
			const { cls, count } = (await request.json()) as { cls: ChallengeClass; count: number };
			const shape = CHALLENGE_SIZES[cls].shape;
			const openings: Opening[] = [];
			for (let n = 0; n < count; n++) {
				const seed = await deriveSeed("bench-verifier", n, `node_${cls}`, String(n));
				const rows = sampleRows(secureRandom, shape.rows, OPENED_ROWS);
				const r = randomVector(secureRandom, shape.cols);
				openings.push({ seed, r, rows, ...(await sparseCommitment(seed, shape, rows)) });
			}
			prepared = { cls, openings };
			return Response.json({ prepared: count });
		}
		if (url.pathname === "/verify" && prepared) {
			const shape = CHALLENGE_SIZES[prepared.cls].shape;
			const wall: number[] = [];
			for (const o of prepared.openings) {
				const t0 = performance.now();
				const result = await verifyRows(o.seed, shape, o.root, { r: o.r, rows: o.rows }, o.answer);
				wall.push(performance.now() - t0);
				if (!result.ok) return Response.json({ error: `${result.reason}: ${result.detail}` }, { status: 500 });
			}
			return Response.json({ wall_ms: wall });
		}
		return new Response("POST /prepare, then POST /verify", { status: 404 });
	},
};
