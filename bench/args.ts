// Command-line flags of `npm run bench` (pass them after `--`), with the defaults that make the headline run.
import { parseArgs } from "node:util";

export type Scenario = "liveness" | "exactness" | "adversarial";

export interface BenchOptions {
	/** liveness: the headline run (and its settlement and renting scenarios); exactness: see bench/exactness.ts. */
	scenario: Scenario;
	quick: boolean;
	nodes: number;
	accounts: number;
	soakMinutes: number;
	silent: number;
	clean: number;
	stormNodes: number;
	steadySeconds: number;
	settleSeconds: number;
	registerConcurrency: number;
	connectConcurrency: number;
	viaProxy: boolean;
	fdReserve: number;
	code: "worktree" | "head";
	out: string;
	keepState: boolean;
	model: { nodes: number; nodesPerShard: number; reconnectsPerNodePerDay: number; keepaliveS: number };
	/** The exactness scenario: epochs to settle, coordinator restarts to inject, the fault schedule's seed. */
	exactness: { epochs: number; restarts: number; seed: number };
	/**
	 * The adversarial scenario (bench/adversarial.ts): co-scheduled rounds (one per epoch), the fleet's seed, and the
	 * cost model's rounds a day (null: wrangler.toml's VERIFY_ROUND_INTERVAL_S) and share of nodes in suspect groups.
	 */
	adversarial: { rounds: number; seed: number; roundsPerDay: number | null; suspectShare: number };
}

export const USAGE =
	`npm run bench -- [flags]
  --scenario NAME         liveness (default: the headline run, then settlement and renting), exactness ` +
	`(epochs settled under injected coordinator crashes, every ledger and billing invariant checked) or adversarial ` +
	`(honest nodes, farms, overclaimers, partial computers, duplicated UUIDs, crowded addresses vs. verification)
  --quick                 liveness: 500 nodes, 1-minute soak, short windows, a 250-node storm (~5 min); ` +
	`exactness: 100 epochs, 5 restarts; adversarial: 40 identities, 3 rounds
  --nodes N               simulated nodes (default 10000; exactness 200; adversarial 200, quick 40)
  --accounts N            operator accounts (default 50)
  --soak-minutes M        soak length (default 10)
  --silent K              nodes that die silently during the soak (default 200; quick 25)
  --clean K               nodes that close cleanly during the soak (default 200; quick 25)
  --storm-nodes N         nodes that drop at once in the last phase, spread evenly over the accounts ` +
	`(default nodes/2: 5000; quick 250)
  --steady-seconds S      steady-state CPU/counter window (default 60; quick 20)
  --settle-seconds S      wait after connecting, so token-id prunes land before the steady window ` +
	`(default 150; quick 45)
  --register-concurrency  parallel POST /v1/nodes (default 32)
  --connect-concurrency   parallel WebSocket handshakes (default 200)
  --fd-reserve N          descriptors left free in the worker's workerd when connecting (default 300)
  --via-proxy             go through wrangler's dev proxy (doubles descriptors; fails above ~4,000 sockets here)
  --head                  run the committed HEAD instead of the working tree (both are copied first)
  --out FILE              results file (default bench/results.json)
  --keep-state            keep the coordinator's persist dir (D1/DO files, wrangler log)
  --model-nodes N         cost model fleet size (default 1000000)
  --model-nodes-per-shard N  (default 10000)
  --model-reconnects-per-day R  (default 1)
  --model-keepalive-s S   (default 30)
exactness only:
  --epochs N              epochs to settle (default 1000; quick 100)
  --restarts K            coordinator crashes (SIGKILL) to inject (default epochs/40: 25; quick 5)
  --seed S                seed of the crash schedule, pacing, churn and renter (default: random, printed)
adversarial only (and --nodes, --seed: the fleet's make-up):
  --rounds N              co-scheduled verification rounds, one per epoch (default 5; quick 3; at least 3)
  --rounds-per-day R      cost model: rounds a day (default: 86400 / wrangler.toml's VERIFY_ROUND_INTERVAL_S)
  --suspect-share S       cost model: share of nodes in a suspect group (default 0.3)`;

function int(v: string | undefined, name: string, fallback: number, min = 0): number {
	if (v === undefined) return fallback;
	const n = Number(v);
	if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got '${v}'`);
	return n;
}

export function parseBenchArgs(argv: string[]): BenchOptions {
	const { values } = parseArgs({
		args: argv,
		strict: true,
		options: {
			quick: { type: "boolean" },
			nodes: { type: "string" },
			accounts: { type: "string" },
			"soak-minutes": { type: "string" },
			silent: { type: "string" },
			clean: { type: "string" },
			"storm-nodes": { type: "string" },
			"steady-seconds": { type: "string" },
			"settle-seconds": { type: "string" },
			"register-concurrency": { type: "string" },
			"connect-concurrency": { type: "string" },
			"via-proxy": { type: "boolean" },
			"fd-reserve": { type: "string" },
			head: { type: "boolean" },
			out: { type: "string" },
			"keep-state": { type: "boolean" },
			help: { type: "boolean" },
			"model-nodes": { type: "string" },
			"model-nodes-per-shard": { type: "string" },
			"model-reconnects-per-day": { type: "string" },
			"model-keepalive-s": { type: "string" },
			scenario: { type: "string" },
			epochs: { type: "string" },
			restarts: { type: "string" },
			seed: { type: "string" },
			rounds: { type: "string" },
			"rounds-per-day": { type: "string" },
			"suspect-share": { type: "string" },
		},
	});
	if (values.help) {
		console.log(USAGE);
		process.exit(0);
	}
	const quick = values.quick === true;
	const scenario = values.scenario ?? "liveness";
	if (scenario !== "liveness" && scenario !== "exactness" && scenario !== "adversarial")
		throw new Error(`--scenario must be liveness, exactness or adversarial, got '${scenario}'`);
	const exact = scenario === "exactness";
	const adversarial = scenario === "adversarial";
	const nodes = int(
		values.nodes,
		"nodes",
		exact ? 200 : adversarial ? (quick ? 40 : 200) : quick ? 500 : 10_000,
		adversarial ? 20 : 1,
	);
	const seed = Math.floor(int(values.seed, "seed", Math.floor(Math.random() * 2 ** 31)));
	const epochs = Math.floor(int(values.epochs, "epochs", quick ? 100 : 1000, 1));
	const o: BenchOptions = {
		scenario,
		quick,
		nodes,
		accounts: int(values.accounts, "accounts", 50, 1),
		soakMinutes: int(values["soak-minutes"], "soak-minutes", quick ? 1 : 10, 0.5),
		silent: int(values.silent, "silent", quick ? 25 : 200),
		clean: int(values.clean, "clean", quick ? 25 : 200),
		stormNodes: int(values["storm-nodes"], "storm-nodes", Math.floor(nodes / 2)),
		steadySeconds: int(values["steady-seconds"], "steady-seconds", quick ? 20 : 60, 5),
		settleSeconds: int(values["settle-seconds"], "settle-seconds", quick ? 45 : 150),
		registerConcurrency: int(values["register-concurrency"], "register-concurrency", 32, 1),
		connectConcurrency: int(values["connect-concurrency"], "connect-concurrency", 200, 1),
		viaProxy: values["via-proxy"] === true,
		fdReserve: int(values["fd-reserve"], "fd-reserve", 300),
		code: values.head ? "head" : "worktree",
		out: values.out ?? new URL("./results.json", import.meta.url).pathname,
		keepState: values["keep-state"] === true,
		model: {
			nodes: int(values["model-nodes"], "model-nodes", 1_000_000, 1),
			nodesPerShard: int(values["model-nodes-per-shard"], "model-nodes-per-shard", 10_000, 1),
			reconnectsPerNodePerDay: int(values["model-reconnects-per-day"], "model-reconnects-per-day", 1),
			keepaliveS: int(values["model-keepalive-s"], "model-keepalive-s", 30, 1),
		},
		exactness: {
			epochs,
			restarts: Math.floor(int(values.restarts, "restarts", quick ? 5 : Math.floor(epochs / 40))),
			seed,
		},
		adversarial: {
			rounds: Math.floor(int(values.rounds, "rounds", quick ? 3 : 5, 3)),
			seed,
			roundsPerDay: values["rounds-per-day"] === undefined ? null : int(values["rounds-per-day"], "rounds-per-day", 0),
			suspectShare: int(values["suspect-share"], "suspect-share", 0.3),
		},
	};
	if (adversarial) {
		if (o.adversarial.suspectShare > 1) throw new Error("--suspect-share must be at most 1");
		return o;
	}
	if (exact) {
		if (o.exactness.restarts >= epochs) throw new Error(`--restarts must be under --epochs (${epochs})`);
		return o;
	}
	if (o.silent + o.clean > o.nodes / 2)
		throw new Error(`--silent + --clean (${o.silent + o.clean}) must be at most half of --nodes (${o.nodes})`);
	if (o.silent + o.clean + o.stormNodes > o.nodes)
		throw new Error(
			`--silent + --clean + --storm-nodes (${o.silent + o.clean + o.stormNodes}) must be at most --nodes (${o.nodes})`,
		);
	return o;
}
