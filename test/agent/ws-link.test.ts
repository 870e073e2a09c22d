// The WebSocket link against a fake coordinator: tokens, keepalive, challenges, close codes, reconnects and goodbye.
import { afterEach, describe, expect, it } from "vitest";
import { echoAnswer } from "../../workers/domain/challenge.ts";
import type { AgentEvent } from "../../agent/events.ts";
import { TokenSigner, generateIdentity } from "../../agent/identity.ts";
import { type Assignment, SimulatedDriver } from "../../agent/drivers.ts";
import { type LinkOptions, WsLink } from "../../agent/ws-link.ts";
import { startFakeCoordinator, type FakeCoordinator, type FakeOptions } from "./fake-coordinator.ts";

const NODE = "node_test0000000001";
let fake: FakeCoordinator | null = null;
let link: WsLink | null = null;

afterEach(async () => {
	await link?.stop();
	await fake?.close();
	link = fake = null;
});

async function setup(opts: Partial<FakeOptions> = {}, linkOpts: Partial<LinkOptions> = {}) {
	const identity = generateIdentity();
	fake = await startFakeCoordinator({ nodeId: NODE, publicKey: identity.publicKey, ...opts });
	const signer = new TokenSigner(identity, NODE);
	const events: AgentEvent[] = [];
	const waiters: { match: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }[] = [];
	link = new WsLink({
		coordinatorUrl: fake.url,
		nodeId: NODE,
		mintToken: () => signer.mint(),
		random: () => 0,
		...linkOpts,
		emit: (e) => {
			events.push(e);
			for (const w of waiters.splice(0)) w.match(e) ? w.resolve(e) : waiters.push(w);
		},
	});
	const event = <K extends AgentEvent["event"]>(
		name: K,
		match: (e: Extract<AgentEvent, { event: K }>) => boolean = () => true,
	) =>
		new Promise<Extract<AgentEvent, { event: K }>>((resolve) => {
			const m = (e: AgentEvent) => e.event === name && match(e as Extract<AgentEvent, { event: K }>);
			const seen = events.find(m);
			if (seen) resolve(seen as Extract<AgentEvent, { event: K }>);
			else waiters.push({ match: m, resolve: resolve as (e: AgentEvent) => void });
		});
	return { fake, link, events, event };
}

describe("WsLink", () => {
	it("answers an echo challenge with SHA-256 of the node id and nonce", async () => {
		const { fake, link, event } = await setup();
		void link.run();
		const sock = await fake.nextSocket();
		sock.ws.send(
			JSON.stringify({
				type: "challenge",
				id: "chl_1",
				kind: "echo-sha256",
				nonce: "n0nce",
				deadline: new Date(Date.now() + 5000).toISOString(),
			}),
		);
		const reply = JSON.parse(await sock.frame((f) => f.includes("challenge_response")));
		expect(reply).toEqual({ type: "challenge_response", id: "chl_1", answer: await echoAnswer(NODE, "n0nce") });
		sock.ws.send(JSON.stringify({ type: "challenge_result", id: "chl_1", passed: false, outcome: "missed", epoch: 4 }));
		expect(await event("challenge_result")).toMatchObject({ id: "chl_1", passed: false, outcome: "missed", epoch: 4 });
	});

	it("ignores message types it does not know and stays connected", async () => {
		const { fake, link, events, event } = await setup();
		void link.run();
		const sock = await fake.nextSocket();
		sock.ws.send(JSON.stringify({ type: "assign", cluster_id: "clu_1" }));
		sock.ws.send("not json at all");
		sock.ws.send(JSON.stringify({ type: "status", status: "maintenance" }));
		expect(await event("status")).toMatchObject({ status: "maintenance" });
		expect(events.map((e) => e.event)).not.toContain("disconnected");
		expect(sock.frames.filter((f) => f !== "ping")).toEqual([]);
	});

	it("starts a repeated assignment once, even while its start is under way, and answers `ready` each time", async () => {
		const starts: string[] = [];
		let finish = () => {};
		const slow = new (class extends SimulatedDriver {
			override async start(a: Assignment): Promise<void> {
				starts.push(a.cluster_id);
				await new Promise<void>((resolve) => {
					finish = resolve;
				});
				await super.start(a);
			}
		})();
		const { fake, link, event } = await setup({}, { driver: slow });
		void link.run();
		const sock = await fake.nextSocket();
		const assign = { type: "assign", cluster_id: "clu_again0001", gpu_count: 1, peers: [NODE], duration_s: 60 };
		const readies = () => sock.frames.filter((f) => f.includes('"ready"'));
		sock.ws.send(JSON.stringify(assign));
		sock.ws.send(JSON.stringify(assign)); // repeated while the first start is still under way
		await event("assign", () => starts.length === 1);
		finish();
		await sock.frame(() => readies().length === 2);
		sock.ws.send(JSON.stringify(assign)); // and once it runs
		await sock.frame(() => readies().length === 3);
		expect(readies().map((f) => JSON.parse(f))).toEqual(Array(3).fill({ type: "ready", cluster_id: "clu_again0001" }));
		expect(starts).toEqual(["clu_again0001"]);
	});

	it('sends "ping" every heartbeat interval named in the welcome', async () => {
		const { fake, link } = await setup({ welcome: { heartbeat_interval_s: 0.04, offline_after_s: 1 } });
		void link.run();
		const sock = await fake.nextSocket();
		await new Promise((r) => setTimeout(r, 300));
		const pings = sock.frames.filter((f) => f === "ping").length;
		expect(pings).toBeGreaterThanOrEqual(4);
		expect(pings).toBeLessThanOrEqual(8);
	});

	it("drops a socket that stops answering pings and reconnects with a new token", async () => {
		const { fake, link, event } = await setup({
			pong: false,
			welcome: { heartbeat_interval_s: 0.05, offline_after_s: 1 },
		});
		void link.run();
		const first = await fake.nextSocket();
		const timeout = await event("keepalive_timeout");
		expect(timeout.silent_ms).toBeGreaterThanOrEqual(150);
		const second = await fake.nextSocket();
		expect(second.jti).not.toBe(first.jti);
		expect((await first.closed).code).toBe(1006);
	});

	it("retries a refused upgrade (401) with a fresh token after a backoff", async () => {
		const { fake, link, event } = await setup({ refuse: (n) => (n < 2 ? 401 : null) });
		void link.run();
		await fake.nextSocket();
		const failed = await event("connect_failed");
		expect(failed).toMatchObject({ status: 401, code: "unauthorized", message: "refused with 401" });
		expect(await event("reconnecting", (e) => e.attempt === 2)).toBeTruthy();
		expect(new Set(fake.jtis).size).toBe(3);
	});

	it("stops with exit code 1 when the coordinator says the node was deleted (4002)", async () => {
		const { fake, link } = await setup();
		const outcome = link.run();
		const sock = await fake.nextSocket();
		sock.ws.close(4002, "node deleted");
		expect(await outcome).toMatchObject({
			reason: "node_deleted",
			exitCode: 1,
			message: expect.stringMatching(/deleted/),
		});
		await new Promise((r) => setTimeout(r, 100));
		expect(fake.sockets).toHaveLength(1);
	});

	it("stops with exit code 1 when another agent took over the node (4001) instead of fighting it", async () => {
		const { fake, link } = await setup();
		const outcome = link.run();
		(await fake.nextSocket()).ws.close(4001, "replaced by a newer connection");
		expect(await outcome).toMatchObject({ reason: "replaced", exitCode: 1 });
	});

	it("stops with exit code 1 when the coordinator does not know the node (404 on upgrade)", async () => {
		const { link, events } = await setup({ refuse: () => 404 });
		expect(await link.run()).toMatchObject({
			reason: "unknown_node",
			exitCode: 1,
			message: expect.stringMatching(/init --force/),
		});
		expect(events.map((e) => e.event)).not.toContain("reconnecting");
	});

	it("reconnects after an ordinary drop", async () => {
		const { fake, link, event } = await setup();
		void link.run();
		const first = await fake.nextSocket();
		first.ws.close(1001, "going away");
		expect(await event("disconnected")).toMatchObject({ code: 1001, reason: "going away" });
		await fake.nextSocket();
		expect(fake.sockets).toHaveLength(2);
	});

	it("says bye and closes with 1000 when stopped", async () => {
		const { fake, link, events, event } = await setup();
		const outcome = link.run();
		const sock = await fake.nextSocket();
		await event("welcome");
		sock.ws.on("message", (d) => {
			if (String(d).includes("bye")) sock.ws.close(1000, "bye");
		});
		await link.stop();
		expect(await outcome).toEqual({ reason: "signal", exitCode: 0 });
		expect(sock.frames.map((f) => (f === "ping" ? f : JSON.parse(f)))).toContainEqual({ type: "bye" });
		expect((await sock.closed).code).toBe(1000);
		expect(events.at(-1)).toMatchObject({ event: "stopped", reason: "signal", exit_code: 0 });
	});
});

describe("the GPU UUIDs", () => {
	it("are sent with every connection when the machine has them, and not at all when it has none", async () => {
		const uuids = ["GPU-00000000-1111-2222-3333-444444444444", "GPU-5a3b2c1d-0e0f-4a4b-8c8d-112233445566"];
		const withUuids = await setup({}, { gpuUuids: uuids });
		void withUuids.link.run();
		expect((await withUuids.fake.nextSocket()).gpuUuids).toBe(uuids.join(","));
		await link?.stop();
		await fake?.close();
		const without = await setup();
		void without.link.run();
		expect((await without.fake.nextSocket()).gpuUuids).toBeNull();
	});
});
