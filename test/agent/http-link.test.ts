// The HTTP heartbeat fallback against a fake coordinator: signed beats, challenge answers in the next beat, fatal 404,
// and the final "bye" beat on a stop, from the link and from the real CLI on Ctrl-C.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { echoAnswer } from "../../workers/domain/challenge.ts";
import { newConfig } from "../../agent/config.ts";
import type { AgentEvent } from "../../agent/events.ts";
import { HttpLink } from "../../agent/http-link.ts";
import { TokenSigner, generateIdentity } from "../../agent/identity.ts";
import { startFakeCoordinator, type FakeCoordinator, type FakeOptions } from "./fake-coordinator.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** A Node that runs .ts files: the one running the tests when it is new enough (npm scripts), else the repo's own. */
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const NODE_BIN =
	major > 22 || (major === 22 && minor >= 18) ? process.execPath : join(ROOT, "node_modules/node/bin/node");

const NODE = "node_http000000001";
let fake: FakeCoordinator | null = null;

afterEach(async () => {
	await fake?.close();
	fake = null;
});

async function setup(heartbeat?: FakeOptions["heartbeat"]) {
	const identity = generateIdentity();
	fake = await startFakeCoordinator({ nodeId: NODE, publicKey: identity.publicKey, heartbeat });
	const signer = new TokenSigner(identity, NODE);
	const events: AgentEvent[] = [];
	const link = new HttpLink({
		coordinatorUrl: fake.url,
		nodeId: NODE,
		mintToken: () => signer.mint(),
		random: () => 0,
		emit: (e) => events.push(e),
	});
	return { fake, link, events };
}

const until = async (cond: () => boolean) => {
	for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
	expect(cond()).toBe(true);
};

describe("HttpLink", () => {
	it("answers a challenge in the next beat, each beat signed with a new token", async () => {
		const challenge = {
			id: "chl_h1",
			kind: "echo-sha256",
			nonce: "abc",
			deadline: new Date(Date.now() + 5000).toISOString(),
		};
		const { fake, link, events } = await setup((_body, n) => ({
			status: 200,
			body: {
				status: "online",
				next_heartbeat_s: 0.02,
				challenge: n === 0 ? challenge : null,
				results: n === 1 ? [{ id: "chl_h1", passed: true }] : [],
			},
		}));
		const outcome = link.run();
		await until(() => fake.beats.length >= 3);
		await link.stop();
		expect(await outcome).toEqual({ reason: "signal", exitCode: 0 });
		expect(fake.beats[0]).toEqual({ answers: [] });
		expect(fake.beats[1]).toEqual({ answers: [{ id: "chl_h1", answer: await echoAnswer(NODE, "abc") }] });
		expect(fake.beats[2]).toEqual({ answers: [] });
		expect(fake.beats.at(-1)).toEqual({ bye: true });
		expect(new Set(fake.jtis).size).toBe(fake.jtis.length);
		expect(events).toContainEqual(expect.objectContaining({ event: "challenge_result", id: "chl_h1", passed: true }));
	});

	it("backs off and retries after a server error", async () => {
		const { fake, link, events } = await setup((_b, n) =>
			n === 0
				? { status: 503, body: { error: { code: "internal", message: "busy" } } }
				: { status: 200, body: { status: "online", next_heartbeat_s: 0.02, challenge: null, results: [] } },
		);
		const outcome = link.run();
		await until(() => events.some((e) => e.event === "heartbeat"));
		await link.stop();
		await outcome;
		expect(events.map((e) => e.event).slice(0, 5)).toEqual([
			"connecting",
			"heartbeat_failed",
			"reconnecting",
			"connecting",
			"connected",
		]);
		expect(events[1]).toMatchObject({ status: 503, message: "busy" });
		expect(fake.beats.length).toBeGreaterThanOrEqual(2);
	});

	it("says no bye when stopped before the coordinator ever answered a beat", async () => {
		const { fake, link } = await setup(() => ({ status: 503, body: { error: { code: "internal", message: "busy" } } }));
		const outcome = link.run();
		await until(() => fake.beats.length >= 1);
		await link.stop();
		await outcome;
		expect(fake.beats.some((b) => "bye" in (b as object))).toBe(false);
	});

	it("resolves run() only once the bye beat was taken, so a caller that exits then has said it", async () => {
		const { fake, link, events } = await setup();
		const outcome = link.run();
		await until(() => fake.beats.length >= 2);
		void link.stop(); // as the CLI's signal handler does: it waits for run(), not for stop()
		expect(await outcome).toEqual({ reason: "signal", exitCode: 0 });
		expect(fake.beats.at(-1)).toEqual({ bye: true });
		expect(fake.beats.filter((b) => "bye" in (b as object))).toHaveLength(1);
		expect(new Set(fake.jtis).size).toBe(fake.jtis.length); // the bye carries a fresh token
		expect(events.at(-1)).toEqual({ event: "stopped", reason: "signal", exit_code: 0 });
	});

	it("waits at most 3 s for a coordinator that never answers the bye", async () => {
		const { fake, link, events } = await setup((body) =>
			"bye" in (body as object)
				? new Promise(() => {})
				: { status: 200, body: { status: "online", next_heartbeat_s: 0.02, challenge: null, results: [] } },
		);
		const outcome = link.run();
		await until(() => fake.beats.length >= 1);
		const t0 = Date.now();
		void link.stop();
		expect(await outcome).toEqual({ reason: "signal", exitCode: 0 });
		expect(Date.now() - t0).toBeLessThan(4000);
		// One bye was sent (a beat already in flight may be read by the fake after it: beats are 20 ms apart here).
		expect(fake.beats.filter((b) => "bye" in (b as object))).toEqual([{ bye: true }]);
		expect(events).toContainEqual(
			expect.objectContaining({ event: "heartbeat_failed", message: expect.stringMatching(/^bye: /) }),
		);
	}, 10_000);

	for (const signal of ["SIGINT", "SIGTERM"] as const) {
		it(`sends the bye from the real CLI on ${signal} (run --transport http), then exits 0`, async () => {
			const identity = generateIdentity();
			fake = await startFakeCoordinator({ nodeId: NODE, publicKey: identity.publicKey });
			const dir = await mkdtemp(join(tmpdir(), "pulsegrid-http-bye-"));
			try {
				const config = join(dir, "agent.json");
				const conf = { ...newConfig(identity, fake.url, "rig-1"), node_id: NODE };
				await writeFile(config, JSON.stringify(conf), { mode: 0o600 });
				const child = spawn(NODE_BIN, [
					join(ROOT, "agent/bin.ts"),
					"run",
					"--transport",
					"http",
					"--json",
					"--config",
					config,
				]);
				const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
				const events: string[] = [];
				for await (const line of createInterface({ input: child.stdout })) {
					events.push(JSON.parse(line).event);
					if (events.filter((e) => e === "heartbeat").length >= 2) break;
				}
				child.kill(signal);
				expect(await exited).toBe(0);
				expect(fake.beats.at(-1)).toEqual({ bye: true });
				expect(new Set(fake.jtis).size).toBe(fake.jtis.length);
			} finally {
				await rm(dir, { recursive: true, force: true });
			}
		}, 15_000);
	}

	it("stops with exit code 1 when the coordinator does not know the node", async () => {
		const { link } = await setup(() => ({ status: 404, body: { error: { code: "not_found", message: "No node." } } }));
		expect(await link.run()).toMatchObject({ reason: "unknown_node", exitCode: 1 });
	});
});
