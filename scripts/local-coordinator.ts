// Starts a real local coordinator (wrangler dev: workerd, local D1 and Durable Objects) for e2e tests and the
// benchmark.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { cronsOf, parseCron, startCronTicker, type CronTicker } from "./cron.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
/** Wrangler needs Node ≥ 22.12: run it with the Node that runs us (the repo's own, under npm scripts). */
const NODE = process.execPath;

/**
 * Short liveness timings for a coordinator that tests or benchmarks drive (a silent death takes seconds, not a
 * minute); the defaults are measured by `npm run bench`. Every agent of a test runs on this machine, on one network
 * and mostly one account, so the incident spread rule is off here (it has unit tests).
 */
export const SHORT_TIMINGS: Readonly<Record<string, string>> = {
	HEARTBEAT_INTERVAL_S: "1",
	OFFLINE_AFTER_S: "4",
	SWEEP_INTERVAL_S: "1",
	CHALLENGE_EVERY_S: "2",
	CHALLENGE_TIMEOUT_S: "3",
	CHECKPOINT_S: "1",
	SHARD_COUNT: "1",
	INCIDENT_MIN_NODES: "2",
	INCIDENT_MIN_ACCOUNTS: "1",
	INCIDENT_MIN_NETWORKS: "1",
	// A test's nodes earn from the epoch they register in (the 24 h probation has its own tests).
	PROBATION_S: "0",
	// Co-scheduled verification rounds only when a test or the bench starts one (POST /v1/admin/verify-rounds).
	VERIFY_ROUND_INTERVAL_S: "0",
};

export interface CoordinatorOptions {
	port?: number;
	/** Where local D1 and Durable Object state live; a fresh temp dir by default. Reuse it to restart with state. */
	persistDir?: string;
	/** Extra wrangler vars (settings), e.g. { OFFLINE_AFTER_S: "6" }. */
	vars?: Record<string, string>;
	/** File that receives wrangler's output (default: a file in the persist dir). */
	logFile?: string;
	/**
	 * Fire the scheduled handler by itself, as production does (wrangler dev never does; see scripts/cron.ts): `true`
	 * runs wrangler.toml's crons, a list runs these instead (a six-field expression starts with seconds). Off by
	 * default: tests and the bench drive time themselves. When on, the handler has run once when the coordinator is
	 * returned, and each firing is a line in the log file.
	 */
	cron?: boolean | readonly string[];
}

export interface Coordinator {
	url: string;
	port: number;
	persistDir: string;
	adminToken: string;
	logFile: string;
	process: ChildProcess;
	/** Stops the coordinator; SIGKILL simulates a crash. */
	stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = createServer();
		srv.listen(0, "127.0.0.1", () => {
			const port = (srv.address() as { port: number }).port;
			srv.close(() => resolve(port));
		});
		srv.on("error", reject);
	});
}

/** The cron expressions wrangler.toml triggers the scheduled handler with. */
export function wranglerCrons(): string[] {
	return cronsOf(readFileSync(join(ROOT, "wrangler.toml"), "utf8"));
}

export async function startCoordinator(o: CoordinatorOptions = {}): Promise<Coordinator> {
	const crons = o.cron === true ? wranglerCrons() : o.cron || [];
	for (const expr of crons) parseCron(expr); // a bad expression fails before anything starts
	const persistDir = o.persistDir ?? mkdtempSync(join(tmpdir(), "pulsegrid-"));
	const port = o.port ?? (await freePort());
	const adminToken = o.vars?.ADMIN_TOKEN ?? randomBytes(24).toString("base64url");
	const logFile = o.logFile ?? join(persistDir, `wrangler-${port}.log`);
	const env = {
		...process.env,
		PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
		CI: "1",
		WRANGLER_SEND_METRICS: "false",
		NO_D1_WARNING: "true",
	};
	const migrate = spawnSync(
		NODE,
		[WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir],
		{ cwd: ROOT, env, encoding: "utf8" },
	);
	if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
	const vars = { ADMIN_TOKEN: adminToken, TELEGRAM_WEBHOOK_SECRET: "e2e-webhook-secret", ...o.vars };
	const args = [
		"dev",
		"--ip",
		"127.0.0.1",
		"--port",
		String(port),
		"--persist-to",
		persistDir,
		"--show-interactive-dev-session=false",
		"--log-level",
		"warn",
	];
	// Only silences wrangler's warning that crons do not run locally, which the ticker makes untrue.
	if (crons.length > 0) args.push("--test-scheduled");
	for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
	const out = openSync(logFile, "a");
	const child = spawn(NODE, [WRANGLER, ...args], { cwd: ROOT, env, stdio: ["ignore", out, out], detached: true });
	const url = `http://127.0.0.1:${port}`;
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	let ticker: CronTicker | undefined;
	const coordinator: Coordinator = {
		url,
		port,
		persistDir,
		adminToken,
		logFile,
		process: child,
		async stop(signal = "SIGTERM") {
			ticker?.stop();
			if (child.exitCode !== null || child.signalCode !== null) return;
			try {
				process.kill(-(child.pid as number), signal); // the whole group: wrangler and its workerd
			} catch {
				/* already gone */
			}
			await exited;
		},
	};
	if (!(await answers(url, child, logFile))) {
		await coordinator.stop("SIGKILL");
		throw new Error(`coordinator did not start within 60 s; see ${logFile}`);
	}
	if (crons.length > 0) {
		ticker = startCronTicker({ url, crons, log: (line) => appendFileSync(logFile, `pulsegrid: ${line}\n`) });
		await ticker.started;
	}
	return coordinator;
}

/** Waits about a minute for an answer (a failed build leaves requests hanging); throws if wrangler exits first. */
async function answers(url: string, child: ChildProcess, logFile: string): Promise<boolean> {
	for (let i = 0; i < 600; i++) {
		if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}; see ${logFile}`);
		try {
			if ((await fetch(`${url}/openapi.json`, { signal: AbortSignal.timeout(5000) })).ok) return true;
		} catch {
			/* not up yet */
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	return false;
}
