// The agent's bandwidth measurement against a fake coordinator: what it sends, the hashes it answers with, when it runs
// and retries, that it never overlaps a hardware verification, and `run --no-bandwidth` in the real CLI.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { BandwidthRunner, SETTLE_MS, UPLOAD_BYTES, measureBandwidth } from "../../agent/bandwidth.ts";
import { newConfig } from "../../agent/config.ts";
import type { AgentEvent } from "../../agent/events.ts";
import { TokenSigner, generateIdentity } from "../../agent/identity.ts";
import { UPLOAD_MAX_BYTES, UPLOAD_MIN_BYTES } from "../../workers/domain/bandwidth.ts";
import { startFakeCoordinator, type FakeBandwidth, type FakeCoordinator } from "./fake-coordinator.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const NODE_BIN =
	major > 22 || (major === 22 && minor >= 18) ? process.execPath : join(ROOT, "node_modules/node/bin/node");

const NODE = "node_bandwidth0001";
let fake: FakeCoordinator | null = null;
let runner: BandwidthRunner | null = null;

afterEach(async () => {
	await runner?.stop();
	runner = null;
	await fake?.close();
	fake = null;
});

async function setup(bandwidth: FakeBandwidth = {}) {
	const identity = generateIdentity();
	fake = await startFakeCoordinator({ nodeId: NODE, publicKey: identity.publicKey, bandwidth });
	const signer = new TokenSigner(identity, NODE);
	const events: AgentEvent[] = [];
	const options = {
		coordinatorUrl: fake.url,
		nodeId: NODE,
		mintToken: () => signer.mint(),
		emit: (e: AgentEvent) => events.push(e),
	};
	return { fake, events, options, identity };
}

const until = async (cond: () => boolean, tries = 500) => {
	for (let i = 0; i < tries && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
	expect(cond()).toBe(true);
};
const named = (events: AgentEvent[], name: string) => events.filter((e) => e.event === name);

describe("measureBandwidth", () => {
	it("uploads 4 random 12 MB bodies, then answers 4 download tests with their SHA-256, one at a time", async () => {
		const { fake, events, options } = await setup();
		const result = await measureBandwidth({ ...options, uploads: 4, downloads: 4, uploadBytes: UPLOAD_BYTES });
		expect(fake.bandwidthCalls).toEqual([
			...["upload", "upload", "upload", "upload"],
			...["download", "answer", "download", "answer", "download", "answer", "download", "answer"],
		]);
		expect(UPLOAD_BYTES).toBeGreaterThanOrEqual(UPLOAD_MIN_BYTES);
		expect(UPLOAD_BYTES).toBeLessThanOrEqual(UPLOAD_MAX_BYTES);
		for (const u of fake.uploads) {
			expect(u).toEqual({
				bytes: UPLOAD_BYTES,
				contentLength: String(UPLOAD_BYTES),
				contentType: "application/octet-stream",
				contentEncoding: undefined,
			});
		}
		expect(fake.downloadAnswers.map((a) => a.right)).toEqual([true, true, true, true]);
		// Each request carried its own token.
		expect(new Set(fake.jtis).size).toBe(12);
		expect(result.tier).not.toBe("unmeasured");
		expect(named(events, "bandwidth_start")).toEqual([{ event: "bandwidth_start", uploads: 4, downloads: 4 }]);
		expect(named(events, "bandwidth_sample").map((e) => "direction" in e && `${e.direction}${e.n}/${e.of}`)).toEqual([
			...["up1/4", "up2/4", "up3/4", "up4/4"],
			...["down1/4", "down2/4", "down3/4", "down4/4"],
		]);
		expect(events.at(-1)).toMatchObject({ event: "bandwidth_result", tier: result.tier });
	});

	it("fails with the coordinator's error and reports nothing measured", async () => {
		const { events, options } = await setup({
			refuse: (kind) =>
				kind === "download" ? { status: 429, body: { error: { code: "rate_limited", message: "slow down" } } } : null,
		});
		await expect(measureBandwidth({ ...options, uploads: 1, downloads: 1, uploadBytes: UPLOAD_BYTES })).rejects.toThrow(
			"slow down",
		);
		expect(named(events, "bandwidth_result")).toEqual([]);
	});
});

describe("BandwidthRunner", () => {
	it("measures once a connection has settled, and not again on the next connection within 24 h", async () => {
		const { fake, events, options } = await setup();
		runner = new BandwidthRunner({ ...options, uploads: 4, downloads: 4, settleMs: 20 });
		runner.observe({ event: "connected", transport: "ws" });
		await until(() => named(events, "bandwidth_result").length === 1);
		runner.observe({ event: "disconnected", code: 1006, reason: "", up_ms: 1 });
		runner.observe({ event: "connected", transport: "ws" });
		await new Promise((r) => setTimeout(r, 200));
		expect(named(events, "bandwidth_start")).toHaveLength(1);
		expect(fake.uploads).toHaveLength(4);
	});

	it("reports a failure without throwing, waits the Retry-After, then measures on the next connection", async () => {
		let refusals = 1;
		const { fake, events, options } = await setup({
			refuse: (kind) =>
				kind === "upload" && refusals-- > 0
					? { status: 429, body: { error: { code: "rate_limited", message: "at most 8", retry_after: 1 } } }
					: null,
		});
		runner = new BandwidthRunner({ ...options, uploads: 1, downloads: 1, settleMs: 0, retryMs: 10 });
		runner.observe({ event: "connected", transport: "http" });
		await until(() => named(events, "bandwidth_error").length === 1);
		expect(named(events, "bandwidth_error")[0]).toEqual({
			event: "bandwidth_error",
			message: "at most 8 (rate_limited)",
			retry_in_s: 1,
		});
		runner.observe({ event: "connected", transport: "http" });
		await new Promise((r) => setTimeout(r, 300));
		expect(named(events, "bandwidth_start")).toHaveLength(1); // the Retry-After has not passed yet
		await until(() => named(events, "bandwidth_result").length === 1);
		expect(fake.uploads).toHaveLength(1);
	});

	it("does not start while a hardware verification runs, and starts once its result is in", async () => {
		const { events, options } = await setup();
		runner = new BandwidthRunner({ ...options, uploads: 1, downloads: 1, settleMs: 20 });
		runner.observe({ event: "connected", transport: "ws" });
		runner.observe({ event: "verify", id: "vrf_1", method: "matmul-freivalds-v1", rows: 8, inner: 8, cols: 8 });
		await new Promise((r) => setTimeout(r, 300));
		expect(named(events, "bandwidth_sample")).toEqual([]);
		runner.observe({ event: "verify_result", state: "verified", measured_ms: 5 });
		await until(() => named(events, "bandwidth_result").length === 1);
	});

	it("redoes a transfer that a hardware verification interrupted, after the verification", async () => {
		const { fake, events, options } = await setup({ delayMs: (kind, n) => (kind === "upload" && n === 0 ? 2000 : 0) });
		runner = new BandwidthRunner({ ...options, uploads: 2, downloads: 1, settleMs: 0 });
		runner.observe({ event: "connected", transport: "ws" });
		await until(() => fake?.bandwidthCalls.length === 1, 1000);
		runner.observe({ event: "verify", id: "vrf_2", method: "matmul-freivalds-v1", rows: 8, inner: 8, cols: 8 });
		await new Promise((r) => setTimeout(r, 100));
		runner.observe({ event: "verify_result", state: "verified", measured_ms: 5 });
		await until(() => named(events, "bandwidth_result").length === 1);
		expect(named(events, "bandwidth_sample").filter((e) => "direction" in e && e.direction === "up")).toHaveLength(2);
		// The first upload was given up when the verification began, and sent again after it.
		expect(fake.bandwidthCalls.filter((k) => k === "upload")).toHaveLength(3);
		expect(fake.uploads).toHaveLength(2);
		expect(named(events, "bandwidth_error")).toEqual([]);
	});
});

describe("run --no-bandwidth (the real CLI)", () => {
	/** Runs the agent until `stopWhen` holds for the events it printed, then stops it with Ctrl-C. */
	async function runCli(extra: string[], stopWhen: (events: string[]) => boolean | Promise<boolean>) {
		const { fake, identity } = await setup();
		const dir = await mkdtemp(join(tmpdir(), "pulsegrid-bandwidth-"));
		try {
			const config = join(dir, "agent.json");
			await writeFile(config, JSON.stringify({ ...newConfig(identity, fake.url, "rig-1"), node_id: NODE }), {
				mode: 0o600,
			});
			const child = spawn(NODE_BIN, [join(ROOT, "agent/bin.ts"), "run", "--json", ...extra, "--config", config]);
			const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
			const events: string[] = [];
			for await (const line of createInterface({ input: child.stdout })) {
				events.push(JSON.parse(line).event);
				if (await stopWhen(events)) break;
			}
			child.kill("SIGINT");
			expect(await exited).toBe(0);
			return events;
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	}

	it("measures after connecting by default, and not at all with --no-bandwidth", async () => {
		const measured = await runCli([], (e) => e.includes("bandwidth_result") || e.includes("bandwidth_error"));
		expect(measured).toContain("bandwidth_result");
		expect(fake?.uploads).toHaveLength(4);

		await fake?.close();
		// Past the moment a measurement would have started.
		const quiet = await runCli(["--no-bandwidth"], async (e) => {
			if (!e.includes("welcome")) return false;
			await new Promise((r) => setTimeout(r, SETTLE_MS + 1000));
			return true;
		});
		expect(quiet.filter((e) => e.startsWith("bandwidth"))).toEqual([]);
		expect(fake?.bandwidthCalls).toEqual([]);
	}, 30_000);
});
