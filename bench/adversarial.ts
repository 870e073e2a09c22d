// The adversarial scenario (issue 11, part 8): a fleet of honest nodes, farms, overclaimers, partial computers,
// duplicated UUIDs and crowded addresses speaking the real verification protocol to a real local coordinator, then
// co-scheduled rounds; the coordinator's verdicts are scored against what each identity really is.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { generateIdentity, TokenSigner } from "../agent/identity.ts";
import type { Coordinator, CoordinatorOptions } from "../scripts/local-coordinator.ts";
import { type AdvNode as Node, AdvNode, SimDevice } from "./adversarial-fleet.ts";
import { addWritten, allowances, rowsWritten, snapshot, totalBilled, type Written } from "./adversarial-d1.ts";
import { planFleet, type FleetPlan } from "./adversarial-plan.ts";
import { type AdversarialRun, printAndWrite, type RoundRecord } from "./adversarial-report.ts";
import type { Observed } from "./adversarial-score.ts";
import { SolverPool } from "./adversarial-solver.ts";
import { timeVerifierInNode, timeVerifierInWorkerd } from "./adversarial-verifier.ts";
import { call, type Call, type CallOptions, livenessCounters, pool } from "./api.ts";
import type { BenchOptions } from "./args.ts";
import { snapshotCode, wranglerVars, type CodeSnapshot } from "./coordinator.ts";
import { DeviceQueue, macsPerSecond } from "./devices.ts";
import { treeCpuMs } from "./proc.ts";
import type { ChallengeClass } from "../workers/domain/matmul.ts";
import { seeded } from "./renter.ts";

/** The stand-in shape the coordinator sends every claim: real arithmetic stays cheap (the card's time is modelled). */
export const VERIFY_SHAPE = "1024x32x32";
/** How long a farm waits after one member's welcome for a connect challenge to show up before the next connects. */
const CHALLENGE_SHOWS_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Items grouped by a key, groups in order of first appearance. */
function groupBy<T, K>(items: T[], key: (t: T) => K): T[][] {
	const out = new Map<K, T[]>();
	for (const t of items) out.set(key(t), [...(out.get(key(t)) ?? []), t]);
	return [...out.values()];
}

export class SetupError extends Error {}

export class Adversarial {
	private c: Coordinator | null = null;
	private code: CodeSnapshot | null = null;
	private solvers: SolverPool | null = null;
	private ticker: NodeJS.Timeout | null = null;
	private phase = "setup";
	readonly nodes: Node[] = [];
	readonly rounds: RoundRecord[] = [];
	readonly epochs: Map<number, Observed>[] = [];
	readonly connects: { epoch: number; connects: number; d1: Record<string, Written>; billed: number }[] = [];
	plan: FleetPlan | null = null;
	readonly o: BenchOptions;
	private readonly log: (m: string) => void;

	constructor(o: BenchOptions, log: (m: string) => void) {
		this.o = o;
		this.log = log;
	}

	private get coordinator(): Coordinator {
		if (!this.c) throw new SetupError("coordinator not started");
		return this.c;
	}

	private http(path: string, o: CallOptions = {}): Promise<Call> {
		return call(this.coordinator.url, path, { timeoutMs: 60_000, ...o });
	}

	/** Accounts (one sign-up address each: 20 a minute per address) and nodes, each claiming its model. */
	private async register(
		plan: FleetPlan,
	): Promise<Map<number, { nodeId: string; apiKey: string; signer: TokenSigner }>> {
		const keys = new Map<string, string>();
		await pool(plan.accounts.length, 8, async (i) => {
			const ip = `10.78.${Math.floor(i / 250)}.${(i % 250) + 1}`;
			const r = await this.http("/v1/accounts", { body: { name: `adversarial ${plan.accounts[i]}` }, ip });
			if (r.status !== 201) throw new SetupError(`sign-up ${i} answered ${r.status}: ${JSON.stringify(r.body)}`);
			keys.set(plan.accounts[i] as string, r.body.api_key as string);
		});
		const out = new Map<number, { nodeId: string; apiKey: string; signer: TokenSigner }>();
		// One account's machines one after another (registered together), accounts in parallel.
		const byAccount = groupBy(plan.identities, (i) => i.account);
		await pool(byAccount.length, 8, async (a) => {
			for (const p of byAccount[a] ?? []) {
				const identity = generateIdentity();
				const apiKey = keys.get(p.account) as string;
				const r = await this.http("/v1/nodes", {
					auth: apiKey,
					ip: p.address,
					body: {
						name: `adv-${p.index}-${p.attack}`,
						public_key: identity.publicKey,
						hardware: { gpu_model: p.claim, gpu_count: 1, vram_gb: 24, cpu_cores: 16, ram_gb: 64 },
					},
				});
				const id = (r.body.node as { id?: string } | undefined)?.id;
				if (r.status !== 201 || !id) throw new SetupError(`registering ${p.index} answered ${r.status}`);
				out.set(p.index, { nodeId: id, apiKey, signer: new TokenSigner(identity, id) });
			}
		});
		return out;
	}

	/**
	 * Every identity connects; the identities of one card one after another, each waiting until the challenge its
	 * connect drew (if any) has ended — a farm never lets two of its identities be challenged at once by choice.
	 */
	private async connectWave(label: string): Promise<number> {
		this.phase = label;
		const byDevice = groupBy(this.nodes, (n) => n.plan.device);
		let connected = 0;
		await pool(byDevice.length, 12, async (d) => {
			for (const n of byDevice[d] ?? []) {
				await n.close();
				if (await n.connect()) connected++;
				if ((byDevice[d]?.length ?? 0) < 2) continue;
				await sleep(CHALLENGE_SHOWS_MS);
				for (let t = 0; n.verifying && t < 300; t++) await sleep(100);
			}
		});
		for (let t = 0; this.nodes.some((n) => n.verifying) && t < 600; t++) await sleep(100);
		return connected;
	}

	/** Every identity's verification state and active flags, from its owner's `GET /v1/nodes`. */
	private async observe(): Promise<Map<number, Observed>> {
		const byKey = groupBy(this.nodes, (n) => n.apiKey);
		const byId = new Map(this.nodes.map((n) => [n.nodeId, n.plan.index]));
		const out = new Map<number, Observed>();
		await pool(byKey.length, 8, async (i) => {
			const r = await this.http("/v1/nodes", { auth: (byKey[i] as Node[])[0]?.apiKey });
			for (const v of (r.body.nodes ?? []) as {
				id: string;
				hardware?: { verification?: { state?: string; reason?: string } };
				flags?: { code: string }[];
			}[]) {
				const index = byId.get(v.id);
				if (index === undefined) continue;
				const ver = v.hardware?.verification;
				out.set(index, {
					state: ver?.state ?? "unknown",
					reason: ver?.reason ?? null,
					flags: (v.flags ?? []).map((f) => f.code),
				});
			}
		});
		return out;
	}

	/** One co-scheduled round: planned now, every member challenged at once, waited on until judged. */
	private async round(n: number, idleCpuPerS: number): Promise<RoundRecord> {
		const c = this.coordinator;
		const d1Before = await snapshot(c.persistDir);
		const counters0 = await livenessCounters(c.url, c.adminToken);
		const cpu0 = treeCpuMs(c.process.pid as number);
		const t0 = Date.now();
		this.phase = `round ${n}`;
		const post = await this.http("/v1/admin/verify-rounds", { method: "POST", auth: c.adminToken });
		const id = typeof post.body.round_id === "string" ? post.body.round_id : null;
		// The round's rows are inserted before the POST answers; read them now, so that the updates at the end show.
		const d1Planned = await snapshot(c.persistDir);
		const rec: RoundRecord = {
			n,
			status: post.status,
			round_id: id,
			started: post.body,
			judged: false,
			wall_ms: null,
			members: [],
			coordinator_cpu_ms: 0,
			messages_in: 0,
			d1: {},
			d1_billed: 0,
		};
		if (id !== null) {
			for (let t = 0; t < 180; t++) {
				await sleep(500);
				const view = await this.http(`/v1/admin/verify-rounds/${id}`, { auth: c.adminToken });
				if (view.status === 200 && view.body.judged_at) {
					rec.judged = true;
					rec.wall_ms = Date.now() - t0;
					rec.members = view.body.members as RoundRecord["members"];
					break;
				}
			}
		}
		for (let t = 0; this.nodes.some((x) => x.verifying) && t < 300; t++) await sleep(100);
		await sleep(1000); // the last results' D1 writes
		const cpu = treeCpuMs(c.process.pid as number) - cpu0;
		rec.coordinator_cpu_ms = Math.max(0, cpu - (idleCpuPerS * (Date.now() - t0)) / 1000);
		rec.messages_in = (await livenessCounters(c.url, c.adminToken)).total.messagesIn - counters0.total.messagesIn;
		rec.d1 = addWritten(rowsWritten(d1Before, d1Planned), rowsWritten(d1Planned, await snapshot(c.persistDir)));
		rec.d1_billed = totalBilled(rec.d1);
		return rec;
	}

	async run(): Promise<AdversarialRun> {
		const o = this.o;
		const { rounds, seed } = o.adversarial;
		const t0 = Date.now();
		this.log(`adversarial: ${o.nodes} identities, ${rounds} rounds, seed ${seed}${o.quick ? " (quick)" : ""}`);
		this.log("adversarial: timing the verifier at the real GPU sizes in workerd and Node (before anything else runs)…");
		const classes: ChallengeClass[] = ["RTX 4090", "H100"];
		const runs = o.quick ? 8 : 20;
		const verifier = [...(await timeVerifierInWorkerd(classes, runs)), ...(await timeVerifierInNode(classes, runs))];
		for (const v of verifier)
			this.log(
				`  verifyRows in ${v.runtime}, ${v.class} ${v.shape.rows} rows: CPU ${v.cpu_ms_mean.toFixed(1)} ms a ` +
					`challenge, wall p50 ${v.wall_ms.p50?.toFixed(1)} ms (${v.runs} runs)`,
			);

		const plan = planFleet(o.nodes, seeded(seed));
		this.plan = plan;
		this.code = snapshotCode(o.code);
		const { startCoordinator } = (await import(join(this.code.root, "scripts/local-coordinator.ts"))) as {
			startCoordinator(o?: CoordinatorOptions): Promise<Coordinator>;
		};
		const vars = { VERIFY_SHAPE, VERIFY_ROUND_INTERVAL_S: "0" };
		try {
			this.c = await startCoordinator({ vars });
		} catch (err) {
			throw new SetupError(`the coordinator did not start: ${(err as Error).message}`);
		}
		const c = this.coordinator;
		const settings = wranglerVars(this.code.root);
		this.log(
			`coordinator up at ${c.url}; code ${this.code.source} at ${this.code.commit.slice(0, 12)}; ` +
				`vars ${JSON.stringify(vars)}`,
		);

		const regs = await this.register(plan);
		this.log(`adversarial: ${plan.accounts.length} accounts, ${regs.size} nodes registered`);
		this.solvers = new SolverPool(2);
		const devices = new Map(
			[...plan.devices.values()].map((d) => [
				d.key,
				new SimDevice(new DeviceQueue(macsPerSecond(d.model, d.unevenness), d.policy)),
			]),
		);
		const rng = seeded(seed ^ 0x9e3779b9);
		const coords = { url: c.url, phase: () => this.phase, pool: this.solvers };
		for (const p of plan.identities) {
			const reg = regs.get(p.index);
			if (!reg) throw new SetupError(`identity ${p.index} was not registered`);
			this.nodes.push(new AdvNode(p, reg, devices.get(p.device) as SimDevice, rng, coords));
		}
		const loop = monitorEventLoopDelay({ resolution: 10 });
		loop.enable();
		this.ticker = setInterval(() => {
			const now = Date.now();
			for (const n of this.nodes) if (n.nextPingAt <= now) n.ping(now);
		}, 250);

		// Idle coordinator CPU, to take out of each round's.
		await sleep(2000);
		const idle0 = treeCpuMs(c.process.pid as number);
		await sleep(5000);
		const idleCpuPerS = (treeCpuMs(c.process.pid as number) - idle0) / 5;

		for (let e = 1; e <= rounds; e++) {
			const before = await snapshot(c.persistDir);
			const connected = await this.connectWave(e === 1 ? "connect" : `reconnect ${e}`);
			const d1 = rowsWritten(before, await snapshot(c.persistDir));
			this.connects.push({ epoch: e, connects: connected, d1, billed: totalBilled(d1) });
			if (connected < this.nodes.length * 0.9) throw new SetupError(`only ${connected}/${this.nodes.length} connected`);
			const r = await this.round(e, idleCpuPerS);
			this.rounds.push(r);
			const observed = await this.observe();
			this.epochs.push(observed);
			const failed = [...observed.values()].filter((x) => x.state === "failed").length;
			const flagged = [...observed.values()].filter((x) => x.flags.length > 0).length;
			this.log(
				`adversarial: epoch ${e}/${rounds}: ${connected} connected` +
					(r.round_id
						? `, round ${r.round_id} ${r.judged ? `judged in ${((r.wall_ms ?? 0) / 1000).toFixed(1)} s` : "NOT judged"}: ` +
							`${r.members.length} members, ${r.members.filter((m) => m.verdict === "shared").length} shared`
						: `, no round (POST answered ${r.status})`) +
					`; ${failed} failed, ${flagged} flagged; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
			);
		}
		loop.disable();
		const mismatch = this.solvers.stats.errors.find((e) => e.startsWith("MISMATCH"));
		if (mismatch) throw new SetupError(`the solver threads' commitment differs from matmul.ts commitTo: ${mismatch}`);
		const proven = Object.fromEntries(allowances(await snapshot(c.persistDir)));
		return {
			o,
			plan,
			allowances: proven,
			nodes: this.nodes,
			rounds: this.rounds,
			epochs: this.epochs,
			connects: this.connects,
			verifier,
			solver: this.solvers.stats,
			settings: { ...settings, ...vars },
			round_interval_s: Number(settings.VERIFY_ROUND_INTERVAL_S) || 3600,
			idle_cpu_ms_per_s: idleCpuPerS,
			event_loop_delay_ms: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
			code: { commit: this.code.commit, source: this.code.source, uncommitted_files: this.code.dirtyFiles },
			wall_s: (Date.now() - t0) / 1000,
		};
	}

	async cleanup(keep: boolean): Promise<void> {
		if (this.ticker) clearInterval(this.ticker);
		for (const n of this.nodes) n.ws?.terminate();
		await this.solvers?.stop().catch(() => undefined);
		await this.c?.stop().catch(() => undefined);
		if (this.c && keep) this.log(`kept the coordinator's persist dir: ${this.c.persistDir}`);
		else if (this.c) rmSync(this.c.persistDir, { recursive: true, force: true });
		this.code?.remove();
	}
}

/** `npm run bench -- --scenario adversarial`: runs it, prints the table, adds `adversarial` to the results file. */
export async function adversarialMain(o: BenchOptions, log: (m: string) => void): Promise<number> {
	const x = new Adversarial(o, log);
	const onSignal = (sig: NodeJS.Signals) => {
		console.error(`\nbench: ${sig}; stopping the coordinator…`);
		void x.cleanup(o.keepState).finally(() => process.exit(130));
	};
	process.once("SIGINT", onSignal);
	process.once("SIGTERM", onSignal);
	const budgetMs = (15 + o.adversarial.rounds * 3 + o.nodes / 50) * 60_000;
	setTimeout(() => {
		console.error(`bench: FAILED — did not finish within ${Math.round(budgetMs / 60_000)} min`);
		void x.cleanup(true).finally(() => process.exit(1));
	}, budgetMs).unref();
	let run: AdversarialRun;
	try {
		run = await x.run();
	} catch (err) {
		console.error(
			`\nbench: FAILED — ${err instanceof SetupError ? "" : "unexpected error: "}` +
				`${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
		);
		await x.cleanup(true);
		return 1;
	}
	printAndWrite(run, o.out, log);
	await x.cleanup(o.keepState);
	return 0;
}
