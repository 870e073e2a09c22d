// `npm start` on a fresh checkout: dev secrets generated once, migrations applied, a working coordinator on the asked
// port, and the cron triggers running (test/e2e/cron.test.ts runs a short schedule through the same ticker).
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nextFire, parseCron } from "../../scripts/cron.ts";
import { freePort, wranglerCrons } from "../../scripts/local-coordinator.ts";
import { DEFAULT_SETTINGS, readSettings } from "../../workers/domain/settings.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
/** What a clone holds that `npm start` reads; node_modules is linked, as `npm install` would have made it. */
const CHECKOUT = ["package.json", "wrangler.toml", "scripts", "workers", "durable-objects", "bots", "schema"];

function freshCheckout(): string {
	const dir = mkdtempSync(join(tmpdir(), "pulsegrid-start-"));
	for (const path of CHECKOUT) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
	symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
	return dir;
}

let running: ChildProcess | null = null;

afterEach(async () => {
	await stop(running);
	running = null;
});

async function stop(child: ChildProcess | null): Promise<void> {
	if (!child || child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise((resolve) => child.once("exit", resolve));
	try {
		process.kill(-(child.pid as number), "SIGTERM");
	} catch {
		/* gone */
	}
	await exited;
}

/** Runs `npm start` in `dir` and waits until the coordinator answers. */
async function npmStart(dir: string, port: number): Promise<{ child: ChildProcess; output: () => string }> {
	let output = "";
	const child = spawn("npm", ["start"], {
		cwd: dir,
		env: { ...process.env, PORT: String(port), CI: "1", WRANGLER_SEND_METRICS: "false" },
		detached: true,
	});
	child.stdout?.on("data", (d) => (output += String(d)));
	child.stderr?.on("data", (d) => (output += String(d)));
	running = child;
	for (let i = 0; i < 900; i++) {
		if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
		try {
			if ((await fetch(`http://127.0.0.1:${port}/openapi.json`)).ok) return { child, output: () => output };
		} catch {
			/* not up yet */
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`npm start did not answer within 90 s:\n${output}`);
}

/** Polls `check` for up to 60 s. */
async function until(check: () => boolean, output: () => string): Promise<void> {
	for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
	if (!check()) throw new Error(`npm start did not run the cron at start within 60 s:\n${output()}`);
}

/** Waits until nothing answers on the port any more. */
async function closed(port: number): Promise<void> {
	for (let i = 0; i < 300; i++) {
		try {
			await fetch(`http://127.0.0.1:${port}/openapi.json`);
		} catch {
			return;
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`port ${port} still answers 30 s after npm start stopped`);
}

function devVars(dir: string): Record<string, string> {
	return Object.fromEntries(
		readFileSync(join(dir, ".dev.vars"), "utf8")
			.split("\n")
			.filter((l) => /^[A-Z_]+=/.test(l))
			.map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
	);
}

describe("npm start on a fresh checkout", () => {
	it("writes .dev.vars with fresh secrets (0600) once, applies the migrations and serves the API", async () => {
		const dir = freshCheckout();
		const port = await freePort();
		const first = await npmStart(dir, port);
		expect(first.output()).toContain("wrote .dev.vars");
		expect(statSync(join(dir, ".dev.vars")).mode & 0o777).toBe(0o600);
		const vars = devVars(dir);
		expect(vars.ADMIN_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(vars.TELEGRAM_WEBHOOK_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(vars.ADMIN_TOKEN).not.toBe(vars.TELEGRAM_WEBHOOK_SECRET);

		// The scheduled handler ran at start, by itself: the first epoch is open from now on.
		await until(() => /cron "\* \* \* \* \*" at start, \S+: ok/.test(first.output()), first.output);
		const epoch = (await (await fetch(`http://127.0.0.1:${port}/v1/epochs/1`)).json()) as { status: string };
		expect(epoch.status).toBe("open");

		// Migrations applied: a sign-up writes D1, and the generated admin token is the one the coordinator uses.
		const signup = await fetch(`http://127.0.0.1:${port}/v1/accounts`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: '{"name":"first"}',
		});
		expect(signup.status).toBe(201);
		const settle = await fetch(`http://127.0.0.1:${port}/v1/admin/epochs/settle`, {
			method: "POST",
			headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}` },
		});
		expect(settle.status).toBe(200);
		await stop(first.child);
		await closed(port); // npm has exited; wait until its workerd let go of the port too

		// A second start keeps the secrets and the local state.
		const again = await npmStart(dir, port);
		expect(again.output()).not.toContain("wrote .dev.vars");
		expect(devVars(dir)).toEqual(vars);
		const { api_key } = (await signup.json()) as { api_key: string };
		const me = await fetch(`http://127.0.0.1:${port}/v1/me`, { headers: { authorization: `Bearer ${api_key}` } });
		expect(me.status).toBe(200);
	});
});

describe("the committed configuration", () => {
	it("ships wrangler.toml vars equal to the defaults the 45 s detection goal is checked against", () => {
		const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
		const section = toml.slice(toml.indexOf("[vars]")).split(/\n\[/)[0] ?? "";
		const vars = Object.fromEntries([...section.matchAll(/^([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
		expect(Object.keys(vars)).toContain("OFFLINE_AFTER_S");
		expect(readSettings(vars)).toEqual(DEFAULT_SETTINGS);
	});

	it("has cron triggers the local ticker can run", () => {
		const crons = wranglerCrons();
		expect(crons.length).toBeGreaterThan(0);
		for (const expr of crons) expect(nextFire(parseCron(expr), 0)).toBeGreaterThan(0);
	});
});
