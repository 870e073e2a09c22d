// The real CLI in a child process: init writes the config, errors carry the right exit codes, run speaks --json.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeCoordinator, type FakeCoordinator } from "./fake-coordinator.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "agent/bin.ts");
/** A Node that runs .ts files: the one running the tests when it is new enough (npm scripts), else the repo's own. */
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const NODE = major > 22 || (major === 22 && minor >= 18) ? process.execPath : join(ROOT, "node_modules/node/bin/node");

interface Result {
	code: number | null;
	stdout: string;
	stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
	return new Promise((resolve, reject) => {
		const child = spawn(NODE, [BIN, ...args], {
			env: { ...process.env, PULSEGRID_AGENT_CONFIG: "", PULSEGRID_API_KEY: "", ...env },
		});
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (d) => (stdout += d));
		child.stderr.on("data", (d) => (stderr += d));
		child.on("error", reject);
		child.on("close", (code) => resolve({ code, stdout, stderr }));
	});
}

let dir: string;
let config: string;
let fake: FakeCoordinator | null = null;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), "pulsegrid-agent-cli-"));
	config = join(dir, "conf", "agent.json");
});
afterEach(async () => {
	await fake?.close();
	fake = null;
	await rm(dir, { recursive: true, force: true });
});

describe("pulsegrid-agent init", () => {
	it("writes a 0600 config with a fresh Ed25519 identity and no node id", async () => {
		const r = await cli([
			"init",
			"--config",
			config,
			"--coordinator",
			"http://coordinator.test:8787/",
			"--name",
			"rig-1",
		]);
		expect(r.code).toBe(0);
		expect(r.stdout).toContain(config);
		expect((await stat(config)).mode & 0o777).toBe(0o600);
		expect((await stat(join(dir, "conf"))).mode & 0o777).toBe(0o700);
		const saved = JSON.parse(await readFile(config, "utf8"));
		expect(saved).toMatchObject({ coordinator_url: "http://coordinator.test:8787", node_id: null, name: "rig-1" });
		expect(saved.public_key).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(saved.private_jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", x: saved.public_key, d: expect.any(String) });
	});

	it("refuses to replace an identity without --force (exit 1), and replaces it with --force", async () => {
		expect((await cli(["init", "--config", config])).code).toBe(0);
		const before = await readFile(config, "utf8");
		const again = await cli(["init", "--config", config]);
		expect(again.code).toBe(1);
		expect(again.stderr).toContain("--force");
		expect(await readFile(config, "utf8")).toBe(before);
		expect((await cli(["init", "--config", config, "--force"])).code).toBe(0);
		expect(JSON.parse(await readFile(config, "utf8")).public_key).not.toBe(JSON.parse(before).public_key);
	});

	it("uses $PULSEGRID_AGENT_CONFIG and $PULSEGRID_URL when no flags are given", async () => {
		expect((await cli(["init"], { PULSEGRID_AGENT_CONFIG: config, PULSEGRID_URL: "https://pg.example" })).code).toBe(0);
		expect(JSON.parse(await readFile(config, "utf8")).coordinator_url).toBe("https://pg.example");
	});
});

describe("pulsegrid-agent usage and errors", () => {
	it("exits 2 on an unknown flag or command", async () => {
		expect((await cli(["init", "--config", config, "--bogus"])).code).toBe(2);
		expect((await cli(["fly"])).code).toBe(2);
	});

	it("prints --help for every command and exits 0", async () => {
		for (const cmd of ["init", "register", "run", "status"]) {
			const r = await cli([cmd, "--help"]);
			expect(r.code).toBe(0);
			expect(r.stdout).toContain(`Usage: pulsegrid-agent ${cmd}`);
		}
	});

	it("tells the user to run init when the config is missing (exit 1)", async () => {
		const r = await cli(["status", "--config", config]);
		expect(r.code).toBe(1);
		expect(r.stderr).toContain("run `pulsegrid-agent init` first");
	});

	it("refuses to run before the node is registered (exit 1)", async () => {
		await cli(["init", "--config", config]);
		const r = await cli(["run", "--config", config]);
		expect(r.code).toBe(1);
		expect(r.stderr).toContain("not registered");
	});

	it("says which flags to pass when no GPU is detected (exit 2)", async () => {
		await cli(["init", "--config", config]);
		// no nvidia-smi, no system_profiler
		const r = await cli(["register", "--config", config, "--api-key", "pgk_x"], { PATH: dir });
		expect(r.code).toBe(2);
		expect(r.stderr).toMatch(/No GPU detected.*--gpu-model NAME --gpu-count N --vram-gb/);
	});

	it("reports an unreachable coordinator (exit 1)", async () => {
		await cli(["init", "--config", config, "--coordinator", "http://127.0.0.1:9"]);
		const r = await cli([
			"register",
			"--config",
			config,
			"--api-key",
			"pgk_x",
			"--gpu-model",
			"RTX 4090",
			"--vram-gb",
			"24",
		]);
		expect(r.code).toBe(1);
		expect(r.stderr).toContain("Cannot reach the coordinator at http://127.0.0.1:9");
	});
});

describe("pulsegrid-agent register and run", () => {
	async function registered(): Promise<FakeCoordinator> {
		await cli(["init", "--config", config, "--name", "rig-1"]);
		const saved = JSON.parse(await readFile(config, "utf8"));
		fake = await startFakeCoordinator({
			nodeId: "node_cli00000000001",
			publicKey: saved.public_key,
			apiKey: "pgk_secret",
		});
		await writeFile(config, JSON.stringify({ ...saved, coordinator_url: fake.url }), { mode: 0o600 });
		const r = await cli(
			[
				"register",
				"--config",
				config,
				"--gpu-model",
				"NVIDIA H100",
				"--gpu-count",
				"8",
				"--vram-gb",
				"80",
				"--region",
				"eu-west",
			],
			{ PULSEGRID_API_KEY: "pgk_secret" },
		);
		expect(r.stderr).toBe("");
		expect(r.code).toBe(0);
		return fake;
	}

	it("registers with the flags' hardware, saves the node id and never stores the API key", async () => {
		const fake = await registered();
		expect(fake.registrations[0]).toMatchObject({
			name: "rig-1",
			region: "eu-west",
			hardware: { gpu_model: "NVIDIA H100", gpu_count: 8, vram_gb: 80 },
		});
		const text = await readFile(config, "utf8");
		expect(JSON.parse(text).node_id).toBe("node_cli00000000001");
		expect(text).not.toContain("pgk_secret");
		expect((await stat(config)).mode & 0o777).toBe(0o600);
	});

	it("prints one JSON event per line and says bye on SIGTERM, exiting 0", async () => {
		const fake = await registered();
		const child = spawn(NODE, [BIN, "run", "--json", "--config", config]);
		const events: Record<string, unknown>[] = [];
		const lines = createInterface({ input: child.stdout });
		const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
		for await (const line of lines) {
			events.push(JSON.parse(line));
			if (events.at(-1)?.event === "welcome") break;
		}
		const sock = fake.sockets[0]!;
		child.kill("SIGTERM");
		expect(await exited).toBe(0);
		expect(sock.frames).toContain(JSON.stringify({ type: "bye" }));
		expect((await sock.closed).code).toBe(1000);
		expect(events.map((e) => e.event)).toEqual(["starting", "connecting", "connected", "welcome"]);
		expect(events[3]).toMatchObject({
			heartbeat_interval_s: 0.05,
			status: "online",
			at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
		});
	});
});
