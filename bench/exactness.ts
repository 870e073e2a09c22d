// The exactness scenario (issue 10): a simulated fleet and a renter while N epochs are settled one by one through the
// admin route and a seeded schedule kills the coordinator (SIGKILL) at random moments, mid-settlement included; then
// every settled ledger row, epoch and billing step is read from D1 and checked with workers/domain/invariants.ts.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { nextBackoff, type BackoffPolicy } from "../agent/backoff.ts";
import { SHORT_TIMINGS, type Coordinator, type CoordinatorOptions } from "../scripts/local-coordinator.ts";
import { call, type Call, type CallOptions, createAccounts, registerNodes } from "./api.ts";
import type { BenchOptions } from "./args.ts";
import { snapshotCode, type CodeSnapshot } from "./coordinator.ts";
import { auditLedger, RULES, type Audit, type Rule } from "./exactness-audit.ts";
import { Fleet, type SimNode } from "./fleet.ts";
import { between, isOver, Renter, RENTER, seeded } from "./renter.ts";
import { Report } from "./report.ts";
import { round, summarize } from "./stats.ts";

/**
 * The e2e tests' short liveness timings, with 4 shards instead of 1 so that settlement gathers challenge counts from
 * several. Epochs are closed by the admin route only (EPOCH_SECONDS stays 3600, no cron).
 */
export const EXACTNESS_VARS: Record<string, string> = { ...SHORT_TIMINGS, SHARD_COUNT: "4" };
/** Time between two settle calls: mostly short (many epochs), sometimes a few seconds (whole online seconds). */
const SHORT_PACE_MS: [number, number] = [200, 500];
const LONG_PACE_MS: [number, number] = [1000, 4000];
const LONG_SHARE = 0.2;
/** Restart kinds and their shares of the schedule. */
const KINDS = [
	{ kind: "mid-settle", share: 0.5 },
	{ kind: "idle", share: 0.2 },
	{ kind: "mid-deploy", share: 0.15 },
	{ kind: "mid-terminate", share: 0.15 },
] as const;
type Kind = (typeof KINDS)[number]["kind"];
/** The agents' reconnect rule (agent/backoff.ts, full jitter), scaled down to the short timings. */
const AGENT_BACKOFF: BackoffPolicy = { baseMs: 250, factor: 2, capMs: 4000, resetAfterMs: 5000 };
/** A random agent misbehaves about this often: goes silent for 2–8 s, or closes cleanly for 1–5 s, then comes back. */
const CHURN_EVERY_MS: [number, number] = [500, 1500];
/** Every 40–80 s, 60 % of the agents up go silent at once for 6–10 s: each shard opens an incident (incident time). */
const STORM = {
	every_ms: [40_000, 80_000] as [number, number],
	share: 0.6,
	silent_ms: [6000, 10_000] as [number, number],
};
/** Consecutive settle calls that settle nothing before the loop gives up (an epoch stays blocked). */
const STALL_LIMIT = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export class SetupError extends Error {}

interface PlannedRestart {
	iteration: number;
	kind: Kind;
	/** Where in the pause before the settle call the kill lands (idle, mid-deploy, mid-terminate), 0–1. */
	at: number;
	/** Kill this long after firing the call (mid-*): a few ms, or anywhere in a typical settle. */
	quick: boolean;
	fraction: number;
}

export interface RestartRecord {
	n: number;
	kind: Kind;
	iteration: number;
	highest_settled_before: number;
	/** ms between firing the call (settle, deploy, terminate) and the SIGKILL; null for idle. */
	kill_after_ms: number | null;
	/** What the call in flight got: "dropped", or its HTTP status when it answered before the kill. */
	in_flight: string | null;
	/** SIGKILL → the restarted coordinator answers (migrations and wrangler dev start included). */
	down_ms: number;
	/** The restarted coordinator answers → 95 % of the agents meant to be up have their welcome again. */
	agents_back_ms: number | null;
}

/**
 * The seeded schedule: K distinct settle-call numbers in 2..N, each with a kind (every kind gets its share of K,
 * largest remainder first; which call gets which kind is drawn) and its timing.
 */
function planRestarts(rng: () => number, epochs: number, restarts: number): Map<number, PlannedRestart> {
	const quota = KINDS.map((k) => ({ kind: k.kind, n: Math.floor(restarts * k.share), rest: restarts * k.share }));
	for (const q of quota) q.rest -= q.n;
	let left = restarts - quota.reduce((a, q) => a + q.n, 0);
	for (const q of quota.slice().sort((a, b) => b.rest - a.rest)) if (left-- > 0) q.n++;
	const kinds: Kind[] = quota.flatMap((q) => Array.from({ length: q.n }, () => q.kind));
	for (let i = kinds.length - 1; i > 0; i--) {
		const j = Math.floor(rng() * (i + 1));
		[kinds[i], kinds[j]] = [kinds[j] as Kind, kinds[i] as Kind];
	}
	const plan = new Map<number, PlannedRestart>();
	for (const kind of kinds) {
		let iteration: number;
		do iteration = 2 + Math.floor(rng() * (epochs - 1));
		while (plan.has(iteration));
		plan.set(iteration, { iteration, kind, at: rng(), quick: rng() < 0.5, fraction: rng() });
	}
	return plan;
}

export class Exactness {
	readonly report = new Report();
	code: CodeSnapshot | null = null;
	private c: Coordinator | null = null;
	private fleet: Fleet | null = null;
	private startCoordinator: ((o?: CoordinatorOptions) => Promise<Coordinator>) | null = null;
	private stopped = false;
	private readonly restarts: RestartRecord[] = [];
	private readonly settleMs: number[] = [];
	private readonly calls = { ok: 0, caught_up: 0, conflict: 0, other: 0, dropped: 0 };
	private readonly churn = { silent: 0, closed: 0, storms: 0, storm_agents: 0 };
	private welcomes = 0;

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
		return call(this.coordinator.url, path, o);
	}

	/** Starts the coordinator; again on the same port and persist dir (and admin token) after a crash. */
	private async start(): Promise<void> {
		const start = this.startCoordinator as (o?: CoordinatorOptions) => Promise<Coordinator>;
		const prev = this.c;
		const opts: CoordinatorOptions = prev
			? { port: prev.port, persistDir: prev.persistDir, vars: { ...EXACTNESS_VARS, ADMIN_TOKEN: prev.adminToken } }
			: { vars: EXACTNESS_VARS };
		for (let attempt = 1; ; attempt++) {
			try {
				this.c = await start(opts);
				return;
			} catch (err) {
				if (attempt >= 3) throw new SetupError(`the coordinator did not start: ${(err as Error).message}`);
				this.log(`exactness: start attempt ${attempt} failed (${(err as Error).message}); retrying in 2 s`);
				await sleep(2000);
			}
		}
	}

	/** One agent as the real one behaves: connected, and after any drop reconnecting with jittered backoff. */
	private async keepConnected(fleet: Fleet, n: SimNode): Promise<void> {
		let attempt = 0;
		while (!this.stopped) {
			while (n.mode !== "healthy" && !this.stopped) await sleep(100);
			if (this.stopped) break;
			const ok = await fleet.connect(n, 15_000);
			let upMs = 0;
			if (ok) {
				this.welcomes++;
				const at = Date.now();
				const ws = n.ws as WebSocket;
				if (ws.readyState !== WebSocket.CLOSED) await new Promise((r) => ws.once("close", r));
				upMs = Date.now() - at;
			}
			const b = nextBackoff(attempt, upMs, Math.random, AGENT_BACKOFF);
			attempt = b.attempt;
			await sleep(b.delayMs);
		}
	}

	/** Now and then a random connected agent goes silent or closes cleanly for a few seconds, then comes back. */
	private async churnLoop(fleet: Fleet, rng: () => number): Promise<void> {
		while (!this.stopped) {
			await sleep(between(rng, CHURN_EVERY_MS));
			const up = fleet.online();
			const n = up[Math.floor(rng() * up.length)];
			if (!n || this.stopped) continue;
			if (rng() < 0.5) {
				fleet.silence(n);
				this.churn.silent++;
				setTimeout(
					() => {
						n.mode = "healthy";
						n.ws?.terminate();
					},
					between(rng, [2000, 8000]),
				);
			} else {
				fleet.closeClean(n);
				this.churn.closed++;
				setTimeout(
					() => {
						n.mode = "healthy";
					},
					between(rng, [1000, 5000]),
				);
			}
		}
	}

	/** Now and then most agents go silent together, as an uplink cut would look: a coordinator-side incident. */
	private async stormLoop(fleet: Fleet, rng: () => number): Promise<void> {
		for (;;) {
			const end = Date.now() + between(rng, STORM.every_ms);
			while (!this.stopped && Date.now() < end) await sleep(250);
			if (this.stopped) return;
			const up = fleet.online().filter(() => rng() < STORM.share);
			for (const n of up) fleet.silence(n);
			this.churn.storms++;
			this.churn.storm_agents += up.length;
			setTimeout(
				() => {
					for (const n of up) {
						n.mode = "healthy";
						n.ws?.terminate();
					}
				},
				between(rng, STORM.silent_ms),
			);
		}
	}

	private connectedSince(t: number): { up: number; meant: number } {
		const fleet = this.fleet as Fleet;
		const meant = fleet.nodes.filter((n) => n.mode === "healthy").length;
		const up = fleet.nodes.filter(
			(n) => n.mode === "healthy" && n.ws?.readyState === WebSocket.OPEN && (n.welcomeAt ?? 0) >= t,
		).length;
		return { up, meant };
	}

	/** SIGKILL (wrangler and workerd, the whole group), start again, and wait for the agents to come back (≤ 30 s). */
	private async crash(
		p: PlannedRestart,
		highest: number,
		inFlight: { firedAt: number; result: Promise<string> } | null,
	): Promise<void> {
		const killAt = Date.now();
		await this.coordinator.stop("SIGKILL");
		const outcome = inFlight ? await inFlight.result : null;
		await this.start();
		const upAt = Date.now();
		let backAt: number | null = null;
		while (Date.now() - upAt < 30_000) {
			const { up, meant } = this.connectedSince(killAt);
			if (up >= meant * 0.95) {
				backAt = Date.now();
				break;
			}
			await sleep(100);
		}
		const rec: RestartRecord = {
			n: this.restarts.length + 1,
			kind: p.kind,
			iteration: p.iteration,
			highest_settled_before: highest,
			kill_after_ms: inFlight ? killAt - inFlight.firedAt : null,
			in_flight: outcome,
			down_ms: upAt - killAt,
			agents_back_ms: backAt === null ? null : backAt - upAt,
		};
		this.restarts.push(rec);
		const killed = rec.kill_after_ms === null ? "" : `, killed ${rec.kill_after_ms} ms after the call: ${outcome}`;
		const back = rec.agents_back_ms === null ? "NOT within 30 s" : `in ${(rec.agents_back_ms / 1000).toFixed(1)} s`;
		this.log(
			`exactness: restart ${rec.n} (${rec.kind}${killed}) after epoch ${highest}: ` +
				`down ${(rec.down_ms / 1000).toFixed(1)} s, agents back ${back}`,
		);
	}

	/** One admin settle call; returns the epochs it settled (none when refused or cut). */
	private async settle(): Promise<{ outcome: string; settled: number[] }> {
		const t = Date.now();
		try {
			const r = await this.http("/v1/admin/epochs/settle", {
				body: {},
				auth: this.coordinator.adminToken,
				timeoutMs: 120_000,
			});
			if (r.status === 200) {
				this.settleMs.push(Date.now() - t);
				const settled = (r.body.settled as { epoch: number }[]).map((s) => s.epoch);
				this.calls.ok++;
				if (settled.length > 1) this.calls.caught_up++;
				return { outcome: "200", settled };
			}
			if (r.status === 409) this.calls.conflict++;
			else this.calls.other++;
			return { outcome: String(r.status), settled: [] };
		} catch {
			this.calls.dropped++;
			return { outcome: "dropped", settled: [] };
		}
	}

	async run(): Promise<void> {
		const o = this.o;
		const { epochs: target, restarts, seed } = o.exactness;
		const t0 = Date.now();
		const load0 = loadavg();
		this.log(
			`exactness: ${target} epochs, ${o.nodes} agents, ${restarts} coordinator crashes (SIGKILL), seed ${seed}` +
				`${o.quick ? " (quick)" : ""}`,
		);
		this.code = snapshotCode(o.code);
		this.startCoordinator = (
			(await import(join(this.code.root, "scripts/local-coordinator.ts"))) as {
				startCoordinator(o?: CoordinatorOptions): Promise<Coordinator>;
			}
		).startCoordinator;
		this.log(`code: ${this.code.source} at ${this.code.commit.slice(0, 12)}, copied to ${this.code.root}`);
		await this.start();
		const c = this.coordinator;
		this.log(`coordinator up at ${c.url} (persist dir ${c.persistDir}); vars ${JSON.stringify(EXACTNESS_VARS)}`);

		// Operators, the fleet and the renter.
		const accounts = await createAccounts(c.url, Math.max(1, Math.min(o.accounts, Math.ceil(o.nodes / 20))));
		const registered = await registerNodes(c.url, accounts, o.nodes, 16, () => undefined);
		const renterAccount = await this.http("/v1/accounts", { body: { name: "exactness renter" }, ip: "198.51.100.9" });
		if (renterAccount.status !== 201) throw new SetupError(`renter sign-up answered ${renterAccount.status}`);
		const renterId = (renterAccount.body.account as { id: string }).id;
		const grant = await this.http("/v1/admin/credits", {
			body: { account_id: renterId, amount_cents: 1_000_000_000 },
			auth: c.adminToken,
		});
		if (grant.status >= 300) throw new SetupError(`credit grant answered ${grant.status}`);
		const fleet = new Fleet(c.url, registered);
		this.fleet = fleet;
		fleet.start();
		const agents = fleet.nodes.map((n) => this.keepConnected(fleet, n));
		for (let i = 0; i < 600 && this.connectedSince(0).up < o.nodes; i++) await sleep(100);
		this.log(`${accounts.length} operators, ${this.connectedSince(0).up}/${o.nodes} agents connected`);
		if (this.connectedSince(0).up < o.nodes * 0.9) throw new SetupError("fewer than 90 % of the agents connected");

		const rngPlan = seeded(seed);
		const rngPace = seeded(seed ^ 0x5bd1e995);
		const rngChurn = seeded(seed ^ 0x27d4eb2f);
		const rngRenter = seeded(seed ^ 0x165667b1);
		const renter = new Renter((path, x) => this.http(path, x), renterAccount.body.api_key as string, rngRenter);
		const rngStorm = seeded(seed ^ 0x61c88647);
		const background = [
			this.churnLoop(fleet, rngChurn),
			this.stormLoop(fleet, rngStorm),
			renter.loop(() => this.stopped),
		];
		const plan = planRestarts(rngPlan, target, restarts);

		// Settle epoch after epoch; the planned crashes land where the schedule says.
		const loopStart = Date.now();
		let highest = 0;
		let iteration = 0;
		let idle = 0;
		let stalled = false;
		let nextProgress = 50;
		const typicalSettleMs = () => summarize(this.settleMs.slice(-20)).p50 ?? 200;
		while (highest < target) {
			iteration++;
			const pace = rngPace() < LONG_SHARE ? between(rngPace, LONG_PACE_MS) : between(rngPace, SHORT_PACE_MS);
			const p = plan.get(iteration);
			const killDelay = (q: PlannedRestart, typical: number) => (q.quick ? q.fraction * 5 : q.fraction * typical);
			if (p && p.kind !== "mid-settle") {
				await sleep(pace * p.at);
				let inFlight: { firedAt: number; result: Promise<string> } | null = null;
				const victim = p.kind === "mid-terminate" ? renter.pick() : null;
				if (p.kind === "mid-deploy" || (p.kind === "mid-terminate" && victim === null)) {
					const firedAt = Date.now();
					inFlight = { firedAt, result: renter.deploy() };
				} else if (p.kind === "mid-terminate" && victim !== null) {
					const firedAt = Date.now();
					inFlight = { firedAt, result: renter.terminate(victim) };
				}
				if (inFlight) await sleep(killDelay(p, 60));
				await this.crash(p, highest, inFlight);
				await sleep(pace * (1 - p.at));
			} else {
				await sleep(pace);
			}
			let got: { outcome: string; settled: number[] };
			if (p?.kind === "mid-settle") {
				const firedAt = Date.now();
				const call = this.settle();
				await sleep(killDelay(p, typicalSettleMs() * 1.2));
				await this.crash(p, highest, { firedAt, result: call.then((r) => `settle ${r.outcome}`) });
				got = await call;
			} else {
				got = await this.settle();
			}
			if (got.settled.length) {
				highest = Math.max(highest, ...got.settled);
				idle = 0;
			} else if (++idle >= STALL_LIMIT) {
				stalled = true;
				this.log(`exactness: ${STALL_LIMIT} settle calls in a row settled nothing (last: ${got.outcome}); stopping`);
				break;
			}
			if (highest >= nextProgress || highest >= target) {
				nextProgress = (Math.floor(highest / 50) + 1) * 50;
				const s = summarize(this.settleMs.slice(-50));
				const { up, meant } = this.connectedSince(0);
				this.log(
					`exactness: ${highest}/${target} epochs settled (${iteration} calls, ${this.restarts.length} crashes), ` +
						`agents ${up}/${meant} up, clusters ${renter.counts.deployed} deployed ${renter.active.size} active, ` +
						`settle p50 ${s.p50} ms max ${s.max} ms, ${((Date.now() - loopStart) / 1000).toFixed(0)} s`,
				);
			}
		}
		const loopS = (Date.now() - loopStart) / 1000;

		// Wind down: the renter stops, its clusters end (final bills), the agents stop, the coordinator stops cleanly.
		this.stopped = true;
		await Promise.all(background);
		const windDown = Date.now();
		let open: string[] = [];
		for (let i = 0; i < 60; i++) {
			const list = await this.http("/v1/clusters", { auth: renterAccount.body.api_key as string }).catch(() => null);
			const rows = (list?.body.clusters ?? []) as { id: string; status: string }[];
			open = rows.filter((r) => !isOver(r.status)).map((r) => r.id);
			if (list && open.length === 0) break;
			for (const id of open) await renter.terminate(id);
			await sleep(2000);
		}
		await sleep(3000); // a last alarm's bill, if any
		this.log(
			`exactness: wound down in ${((Date.now() - windDown) / 1000).toFixed(0)} s` +
				`${open.length ? `; ${open.length} clusters still not over` : ""}; stopping the coordinator`,
		);
		fleet.stop();
		await Promise.all(agents);
		await this.coordinator.stop();

		// The audit.
		const auditStart = Date.now();
		const audit = await auditLedger(this.coordinator.persistDir, this.code.root, target);
		const auditS = (Date.now() - auditStart) / 1000;
		const logText = existsSync(this.coordinator.logFile) ? readFileSync(this.coordinator.logFile, "utf8") : "";
		const notPublished = new Set([...logText.matchAll(/epoch (\d+) not published/g)].map((m) => Number(m[1])));
		const blocked = new Set([...audit.blocked_in_audit_log, ...notPublished, ...audit.missing_roots]);
		const wallS = (Date.now() - t0) / 1000;
		this.log(
			`exactness: audited ${audit.rows_checked} ledger rows of ${audit.epochs_settled} epochs and ` +
				`${audit.billing_steps_checked} billing steps in ${auditS.toFixed(1)} s: ` +
				`${audit.violations.length} violations, ${blocked.size} blocked epochs`,
		);
		this.record({
			audit,
			blocked: [...blocked].sort((a, b) => a - b),
			notPublished: [...notPublished].sort((a, b) => a - b),
			renter,
			stalled,
			iteration,
			loopS,
			wallS,
			auditS,
			errorLines: (logText.match(/\[ERROR\]/g) ?? []).length,
			load0,
			openClusters: open.length,
		});
	}

	private record(r: {
		audit: Audit;
		blocked: number[];
		notPublished: number[];
		renter: Renter;
		stalled: boolean;
		iteration: number;
		loopS: number;
		wallS: number;
		auditS: number;
		errorLines: number;
		load0: number[];
		openClusters: number;
	}): void {
		const { audit: a, renter } = r;
		this.audit = a;
		const o = this.o;
		const target = o.exactness.epochs;
		const rep = this.report;
		const S = "exactness";
		const byKind = Object.fromEntries(KINDS.map((k) => [k.kind, 0])) as Record<Kind, number>;
		for (const x of this.restarts) byKind[x.kind]++;
		const down = summarize(this.restarts.map((x) => x.down_ms / 1000));
		const back = summarize(this.restarts.flatMap((x) => (x.agents_back_ms === null ? [] : [x.agents_back_ms / 1000])));
		const settleS = summarize(this.settleMs);
		rep.add({
			section: S,
			name: "epochs settled",
			value: a.epochs_settled,
			unit: "epochs",
			how:
				`POST /v1/admin/epochs/settle every ${SHORT_PACE_MS.join("–")} ms (${100 - LONG_SHARE * 100} %) or ` +
				`${LONG_PACE_MS.join("–")} ms (${LONG_SHARE * 100} %), until epoch ${target} was settled; ` +
				`${r.iteration} calls; epochs in D1 with a root`,
			goal: `≥ ${target}`,
			pass: a.epochs_settled >= target,
		});
		rep.add({
			section: S,
			name: `epochs 1..${target} without a root`,
			value: a.missing_roots.length,
			unit: "epochs",
			how: `D1 epochs table, after the run${a.missing_roots.length ? `: ${a.missing_roots.slice(0, 20).join(", ")}` : ""}`,
			goal: "0",
			pass: a.missing_roots.length === 0,
		});
		rep.add({
			section: S,
			name: "blocked epochs",
			value: r.blocked.length,
			unit: "epochs",
			how:
				`epochs the settler refused to publish: SettleResult.blocked in the admin route's audit entries ` +
				`(${a.blocked_in_audit_log.length}), "epoch N not published" in the coordinator log ` +
				`(${r.notPublished.length}), or left without a root; ${this.calls.conflict} settle calls answered 409`,
			goal: "0",
			pass: r.blocked.length === 0,
		});
		rep.add({
			section: S,
			name: "coordinator restarts injected",
			value: this.restarts.length,
			unit: "crashes",
			how:
				`SIGKILL of wrangler and workerd, started again on the same port and persist dir; seeded schedule ` +
				`(seed ${o.exactness.seed}): ${Object.entries(byKind)
					.map(([k, v]) => `${v} ${k}`)
					.join(", ")}`,
		});
		rep.add({
			section: S,
			name: "downtime per restart p50 / max",
			value: `${round(down.p50, 1)} / ${round(down.max, 1)}`,
			unit: "s",
			how: "SIGKILL → the new coordinator answers /openapi.json (D1 migrations check and wrangler dev start)",
		});
		rep.add({
			section: S,
			name: "agents back after a restart p50 / max",
			value: `${round(back.p50, 1)} / ${round(back.max, 1)}`,
			unit: "s",
			how:
				`coordinator up → 95 % of the agents meant to be up have a new welcome ` +
				`(backoff ${AGENT_BACKOFF.baseMs} ms × 2^n, cap ${AGENT_BACKOFF.capMs} ms, full jitter); ` +
				`${this.restarts.filter((x) => x.agents_back_ms === null).length} restarts not within 30 s`,
		});
		rep.add({
			section: S,
			name: "settle calls",
			value: r.iteration,
			unit: "calls",
			how:
				`${this.calls.ok} answered 200 (${this.calls.caught_up} settled more than one epoch: catching up after a ` +
				`crash), ${this.calls.conflict} 409, ${this.calls.other} other, ${this.calls.dropped} cut by a crash` +
				`${r.stalled ? `; STOPPED after ${STALL_LIMIT} calls in a row settled nothing` : ""}`,
		});
		rep.add({
			section: S,
			name: "settle call p50 / p99 / max",
			value: `${settleS.p50} / ${settleS.p99} / ${settleS.max}`,
			unit: "ms",
			how: "calls answered 200, through the dev proxy",
		});
		rep.add({
			section: S,
			name: "ledger rows checked",
			value: a.rows_checked,
			unit: "rows",
			how:
				`every points_ledger row of every settled epoch, read from the D1 sqlite file read-only; ` +
				`rows per epoch p50 ${a.exercised.rows_per_epoch.p50}`,
		});
		rep.add({
			section: S,
			name: "billing steps checked",
			value: a.billing_steps_checked,
			unit: "steps",
			how:
				`credit_entries grouped by step key (charge|fee|refund:<cluster>:<n>, payout:<cluster>:<n>:<node>) ` +
				`of ${a.clusters_billed} clusters; ${renter.counts.deployed} deployed, ` +
				`${renter.counts.terminate_calls} terminate calls`,
		});
		for (const rule of Object.keys(RULES) as Rule[]) {
			if (rule === "otherRow" && a.violations_by_rule.otherRow === 0) continue;
			rep.add({
				section: S,
				name: `violations: ${RULES[rule]}`,
				value: a.violations_by_rule[rule],
				unit: "violations",
				how:
					rule === "rewards"
						? "rewardViolation per settled epoch (workers/domain/invariants.ts)"
						: rule === "bill" || rule === "negative"
							? "billViolations per billing step (workers/domain/invariants.ts)"
							: "rowViolations per ledger row, epoch length from D1 (workers/domain/invariants.ts)",
				goal: "0",
				pass: a.violations_by_rule[rule] === 0,
			});
		}
		const cons = a.consistency;
		rep.add({
			section: S,
			name: "published figures ≠ their rows",
			value: cons.rows_vs_published + cons.points_vs_published + cons.leaf_mismatch + cons.root_mismatch,
			unit: "mismatches",
			how:
				`beyond invariants.ts: epochs whose nodes (${cons.rows_vs_published}) or total_points ` +
				`(${cons.points_vs_published}) differ from their rows, rows whose leaf is not the hash of their figures ` +
				`(${cons.leaf_mismatch}), roots not the Merkle root of the rows (${cons.root_mismatch}); ` +
				`${cons.rows_without_root} rows in epochs without a root; ` +
				`${cons.holds_left_on_ended_clusters} ended clusters still holding credits`,
		});
		const x = a.exercised;
		rep.add({
			section: S,
			name: "rows with online / incident / rented / challenges",
			value: `${x.rows_online} / ${x.rows_incident} / ${x.rows_rented} / ${x.rows_challenged}`,
			unit: "rows",
			how:
				`how much the rules bit on: rows with non-zero figures; ${x.rows_at_rented_bound} rows exactly at the rented ` +
				`bound, ${x.rows_at_epoch_bound} at the epoch-length bound; epoch length p50 ${x.epoch_ms.p50} ms ` +
				`(min ${x.epoch_ms.min}, max ${x.epoch_ms.max}); incidents ${JSON.stringify(x.incidents)}; ` +
				`challenges ${x.challenges.issued} issued = ` +
				`${x.challenges.passed} passed + ${x.challenges.failed} failed + ${x.challenges.missed} missed`,
		});
		rep.add({
			section: S,
			name: "wall time",
			value: round(r.wallS, 0),
			unit: "s",
			how:
				`whole scenario (setup, ${round(r.loopS, 0)} s settling, wind-down, ${round(r.auditS, 1)} s audit); ` +
				`2 cores shared with other work (load average ${r.load0.map((l) => l.toFixed(2)).join(" ")} at the start)`,
		});
		this.summary = {
			what:
				"N epochs of a simulated fleet settled through POST /v1/admin/epochs/settle while a seeded schedule " +
				"SIGKILLs the coordinator (wrangler dev: wrangler and workerd) at random moments — mid-settlement, " +
				"mid-deploy, mid-terminate or between calls — and starts it again on the same port and persist dir; " +
				"agents reconnect by themselves, a renter deploys and ends small clusters, random agents go silent or " +
				"close for a few seconds. Afterwards every settled ledger row, epoch and billing step is read from the " +
				"D1 sqlite file and checked with workers/domain/invariants.ts (rowViolations, rewardViolation, " +
				"billViolations).",
			measured_at: new Date().toISOString(),
			command: `node bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
			code: { commit: this.code?.commit, source: this.code?.source, uncommitted_files: this.code?.dirtyFiles },
			seed: o.exactness.seed,
			settings: {
				epochs: target,
				agents: o.nodes,
				restarts: o.exactness.restarts,
				vars: EXACTNESS_VARS,
				pacing: { short_ms: SHORT_PACE_MS, long_ms: LONG_PACE_MS, long_share: LONG_SHARE },
				restart_kinds: KINDS,
				agent_backoff: AGENT_BACKOFF,
				churn_every_ms: CHURN_EVERY_MS,
				storm: STORM,
				renter: RENTER,
			},
			figures: rep.figures,
			audit: { ...a, violations: a.violations.slice(0, 50) },
			blocked_epochs: r.blocked,
			restarts: this.restarts,
			settle_calls: { ...this.calls, total: r.iteration, latency_ms: settleS },
			renter: renter.counts,
			churn: this.churn,
			agents: { welcomes: this.welcomes, assigns: this.fleet?.counts.assigns, counts: this.fleet?.counts },
			coordinator_error_lines: r.errorLines,
			clusters_not_over_at_end: r.openClusters,
			wall_seconds: round(r.wallS, 1),
			machine: { nproc: cpus().length, loadavg_start: r.load0, loadavg_end: loadavg() },
			note:
				"Wall times are noisy: the machine has 2 cores and other work (e2e tests) ran at the same time. " +
				"Agent reconnect jitter uses Math.random; the seed fixes the crash schedule, pacing, churn and renter.",
		};
	}

	summary: Record<string, unknown> | null = null;
	audit: Audit | null = null;

	/** Writes every violation with its raw row to a file under /tmp; returns its path (null when there is none). */
	dumpViolations(): string | null {
		if (!this.audit || this.audit.violations.length === 0) return null;
		const file = `/tmp/pulsegrid-exactness-violations-${this.o.exactness.seed}-${Date.now()}.json`;
		writeFileSync(file, `${JSON.stringify(this.audit.violations, null, 2)}\n`);
		return file;
	}

	/** Adds (or replaces) the `exactness` key of the results file, keeping everything else in it. */
	writeResults(path: string): void {
		let body: Record<string, unknown> = {};
		if (existsSync(path)) body = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
		body.exactness = this.summary;
		writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
	}

	/** Stops everything; the persist dir (D1 file, DO state, wrangler log) stays if asked or if anything broke. */
	async cleanup(keep: boolean): Promise<void> {
		this.stopped = true;
		this.fleet?.stop();
		await this.c?.stop().catch(() => undefined);
		if (this.c && !keep) rmSync(this.c.persistDir, { recursive: true, force: true });
		else if (this.c) this.log(`kept the coordinator's persist dir: ${this.c.persistDir}`);
		this.code?.remove();
	}
}

/** `npm run bench -- --scenario exactness`: runs it, prints the table, adds `exactness` to the results file. */
export async function exactnessMain(o: BenchOptions, log: (m: string) => void): Promise<number> {
	const x = new Exactness(o, log);
	let interrupted = false;
	const onSignal = (sig: NodeJS.Signals) => {
		if (interrupted) return;
		interrupted = true;
		console.error(`\nbench: ${sig}; stopping the coordinator…`);
		void x.cleanup(o.keepState).finally(() => process.exit(130));
	};
	process.once("SIGINT", onSignal);
	process.once("SIGTERM", onSignal);
	const budgetMs = (20 + o.exactness.epochs * 0.01 + o.exactness.restarts * 1.5) * 60_000;
	const watchdog = setTimeout(() => {
		console.error(`bench: FAILED — did not finish within ${Math.round(budgetMs / 60_000)} min`);
		void x.cleanup(true).finally(() => process.exit(1));
	}, budgetMs);
	watchdog.unref();
	try {
		await x.run();
	} catch (err) {
		console.error(
			`\nbench: FAILED — ${err instanceof SetupError ? "" : "unexpected error: "}` +
				`${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
		);
		await x.cleanup(true);
		return 1;
	}
	console.log(`\n${x.report.table()}\n`);
	const violations = x.audit?.violations ?? [];
	const dump = x.dumpViolations();
	if (dump) {
		console.log(`VIOLATIONS: ${violations.length}; every one with its raw row in ${dump}. The first ones:`);
		for (const v of violations.slice(0, 10)) {
			const where = v.step
				? `cluster ${v.step.cluster_id} step ${v.step.n}`
				: `epoch ${v.epoch}${v.node_id ? `, node ${v.node_id}` : ""}`;
			console.log(`  · [${RULES[v.rule]}] ${where}: ${v.message}\n    ${JSON.stringify(v.raw)}`);
		}
	}
	const goals = x.report.goals();
	console.log(`goals: ${goals.filter((g) => g.pass).length}/${goals.length} pass`);
	x.writeResults(o.out);
	console.log(`results added to ${o.out} under "exactness"`);
	await x.cleanup(o.keepState || violations.length > 0 || goals.some((g) => !g.pass));
	return 0;
}
