// Settlement benchmark: N node-epochs (default 100,000) seeded into a local coordinator's D1, settled, timed, checked.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Coordinator } from "../scripts/local-coordinator.ts";

const REPO = new URL("..", import.meta.url).pathname;
const WRANGLER = join(REPO, "node_modules/wrangler/bin/wrangler.js");
const MODELS = ["RTX 4090", "RTX 3090", "H100", "A100", "Apple M2", "RTX 4070"];

export interface SettlementResult {
	node_epochs: number;
	seed_seconds: number;
	settle_seconds: number;
	rows_written: number;
	root: string;
	proof_checked: boolean;
}

/** Seeds accounts, nodes and one epoch of online intervals straight into the local D1 (the recorded inputs). */
function seed(c: Coordinator, nodes: number, epochStart: number): void {
	const dir = mkdtempSync(join(tmpdir(), "pulsegrid-seed-"));
	const lines: string[] = [];
	const accounts = Math.max(1, Math.floor(nodes / 100));
	for (let a = 0; a < accounts; a += 500) {
		const vals = [];
		for (let k = a; k < Math.min(accounts, a + 500); k++)
			vals.push(`('acc_bench${k}','operator ${k}','hash${k}','user',${epochStart - 86400_000})`);
		lines.push(`INSERT INTO accounts (id,name,api_key_hash,role,created_at) VALUES ${vals.join(",")};`);
	}
	for (let i = 0; i < nodes; i += 500) {
		const n = [];
		const iv = [];
		for (let k = i; k < Math.min(nodes, i + 500); k++) {
			const id = `node_bench${String(k).padStart(7, "0")}`;
			n.push(
				`('${id}','acc_bench${k % accounts}','n${k}','pk${k}','${MODELS[k % MODELS.length]}',` +
					`${1 + (k % 4)},24,16,64,NULL,'global-${k % 16}','online',${epochStart},1,${epochStart - 3600_000})`,
			);
			// Most nodes online the whole epoch; every 5th left half-way; every 7th came back a quarter in.
			const start = k % 7 === 0 ? epochStart + 900_000 : epochStart - 600_000;
			const end = k % 5 === 0 ? epochStart + 1800_000 : null;
			iv.push(`('${id}',${start},${end ?? "NULL"})`);
		}
		lines.push(
			`INSERT INTO nodes (id,account_id,name,public_key,gpu_model,gpu_count,vram_gb,cpu_cores,` +
				`ram_gb,region,shard,status,status_since,status_seq,created_at) VALUES ${n.join(",")};`,
		);
		lines.push(`INSERT INTO online_intervals (node_id,started_at,ended_at) VALUES ${iv.join(",")};`);
	}
	lines.push(`INSERT INTO epochs (n, started_at) VALUES (1, ${epochStart});`);
	const file = join(dir, "seed.sql");
	writeFileSync(file, lines.join("\n"));
	const r = spawnSync(
		process.execPath,
		[WRANGLER, "d1", "execute", "DB", "--local", "--persist-to", c.persistDir, "--file", file],
		{
			cwd: REPO,
			encoding: "utf8",
			env: { ...process.env, CI: "1" },
			maxBuffer: 64 * 1024 * 1024,
		},
	);
	if (r.status !== 0) throw new Error(`seeding D1 failed:\n${r.stderr.slice(-2000)}`);
}

/** Seeds, settles through the admin route, and checks one row's proof against the published root. */
export async function benchSettlement(
	c: Coordinator,
	nodes: number,
	log: (m: string) => void,
): Promise<SettlementResult> {
	const epochStart = Date.now() - 3600_000;
	let t = Date.now();
	log(`settlement: seeding ${nodes} nodes and their intervals into D1…`);
	seed(c, nodes, epochStart);
	const seedSeconds = (Date.now() - t) / 1000;
	log(`settlement: seeded in ${seedSeconds.toFixed(1)} s; settling epoch 1…`);
	t = Date.now();
	const res = await fetch(`${c.url}/v1/admin/epochs/settle`, {
		method: "POST",
		headers: { authorization: `Bearer ${c.adminToken}`, "content-type": "application/json" },
		body: "{}",
	});
	const settleSeconds = (Date.now() - t) / 1000;
	const body = (await res.json()) as { epoch: number; root: string };
	if (res.status !== 200) throw new Error(`settle answered ${res.status}: ${JSON.stringify(body)}`);
	log(`settlement: epoch ${body.epoch} settled in ${settleSeconds.toFixed(1)} s, root ${body.root.slice(0, 16)}…`);
	const epoch = (await (await fetch(`${c.url}/v1/epochs/${body.epoch}`)).json()) as { nodes: number };
	const { verifyProof } = await import("../workers/domain/merkle.ts");
	const proof = (await (
		await fetch(`${c.url}/v1/epochs/${body.epoch}/proof/node_bench${String(Math.floor(nodes / 2)).padStart(7, "0")}`)
	).json()) as Parameters<typeof verifyProof>[0] extends infer L
		? { leaf: L; proof: Parameters<typeof verifyProof>[1] }
		: never;
	return {
		node_epochs: nodes,
		seed_seconds: seedSeconds,
		settle_seconds: settleSeconds,
		rows_written: epoch.nodes,
		root: body.root,
		proof_checked: await verifyProof(proof.leaf, proof.proof, body.root),
	};
}

// Standalone: `node bench/settlement.ts [--nodes N]`
if (import.meta.url === `file://${process.argv[1]}`) {
	const { startCoordinator } = await import("../scripts/local-coordinator.ts");
	const i = process.argv.indexOf("--nodes");
	const nodes = i > 0 ? Number(process.argv[i + 1]) : 100_000;
	const c = await startCoordinator();
	try {
		const r = await benchSettlement(c, nodes, (m) => console.log(m));
		console.log(JSON.stringify(r, null, 2));
	} finally {
		await c.stop();
	}
}
