// LivenessShard behaviour in the real runtime: real sockets, keepalives answered without waking, sweeps by alarm,
// and the shard's clock driven by the test where time must pass.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { echoAnswer } from "../../workers/domain/challenge.ts";
import {
	OFFLINE_AFTER_MS,
	backdated,
	callJson,
	connect,
	eventually,
	lastKeepalive,
	newAccount,
	nodeFlips,
	nodeStatus,
	nodeToken,
	ping,
	registerNode,
	registeredAgo,
	shardOf,
	sleep,
	sweepAt,
} from "./helpers.ts";

describe("LivenessShard", () => {
	it("marks a new node online when it connects and says welcome", async () => {
		const node = await registerNode(await newAccount());
		expect(await nodeStatus(node)).toBe("new");
		const link = await connect(node);
		const welcome = await link.next("welcome");
		expect(welcome).toMatchObject({ node_id: node.id, heartbeat_interval_s: 1, offline_after_s: 3, status: "online" });
		expect(await nodeStatus(node)).toBe("online");
		expect(await nodeFlips(node)).toEqual([
			expect.objectContaining({ from: "new", to: "online", reason: "connected" }),
		]);
	});

	it("answers keepalive pings with pong", async () => {
		const link = await connect(await registerNode(await newAccount()));
		const pong = new Promise<string>((resolve) =>
			link.ws.addEventListener("message", (e) => e.data === "pong" && resolve(e.data)),
		);
		link.ws.send("ping");
		expect(await pong).toBe("pong");
	});

	it("marks a node offline at once when its socket closes cleanly", async () => {
		const node = await registerNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		link.ws.close(1000, "shutting down");
		await eventually(async () => (await nodeStatus(node)) === "offline");
		const [last] = await nodeFlips(node);
		expect(last).toMatchObject({ from: "online", to: "offline", reason: "disconnected" });
	});

	it("marks a silent node offline once OFFLINE_AFTER_S passes without a keepalive, and closes its socket", async () => {
		const node = await registerNode(await newAccount(), { region: "silent-ws" });
		const link = await connect(node);
		await link.next("welcome");
		const stub = await shardOf(node);
		await runDurableObjectAlarm(stub);
		expect(await nodeStatus(node)).toBe("online");
		await sweepAt(stub, Date.now() + OFFLINE_AFTER_MS + 500); // no keepalives: the node has gone silent without closing
		expect(await nodeStatus(node)).toBe("offline");
		expect((await nodeFlips(node))[0]).toMatchObject({ to: "offline", reason: "keepalive_timeout" });
		expect((await link.closed).code).toBe(4000);
	});

	it("keeps a node online while it sends keepalives", async () => {
		const node = await registerNode(await newAccount(), { region: "keepalive" });
		const link = await connect(node);
		await link.next("welcome");
		const stub = await shardOf(node);
		for (let i = 0; i < 5; i++) {
			// The runtime stamps a keepalive with the wall clock, so a few real milliseconds pass between two of them.
			await sleep(20);
			await ping(link);
			// The last moment this keepalive still counts: past OFFLINE_AFTER_S since the connect, which alone would not do.
			await sweepAt(stub, (await lastKeepalive(stub, node.id)) + OFFLINE_AFTER_MS);
		}
		expect(await nodeStatus(node)).toBe("online");
		expect(await nodeFlips(node)).toHaveLength(1);
	});

	it("records uptime intervals that close when the node leaves", async () => {
		const node = await registerNode(await newAccount());
		await registeredAgo(node, 10_000);
		const link = await backdated(await shardOf(node), 300, async () => connect(node)); // it connected 300 ms ago
		await link.next("welcome");
		link.ws.close(1000);
		await eventually(async () => (await nodeStatus(node)) === "offline");
		const { body } = await callJson<{
			online_seconds: number;
			intervals: { started_at: string; ended_at: string | null }[];
		}>(`/v1/nodes/${node.id}/uptime`);
		expect(body.intervals).toHaveLength(1);
		expect(body.intervals[0]?.ended_at).not.toBeNull();
		expect(body.online_seconds).toBeGreaterThan(0.2);
	});

	it("issues challenges and counts a correct answer as passed", async () => {
		const node = await registerNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		await runDurableObjectAlarm(await shardOf(node));
		const ch = (await link.next("challenge")) as { id: string; nonce: string; kind: string };
		expect(ch.kind).toBe("echo-sha256");
		link.ws.send(
			JSON.stringify({ type: "challenge_response", id: ch.id, answer: await echoAnswer(node.id, ch.nonce) }),
		);
		expect(await link.next("challenge_result")).toMatchObject({ id: ch.id, passed: true });
		const { body } = await callJson<{ node: { challenges: { issued: number; passed: number; failed: number } } }>(
			`/v1/nodes/${node.id}`,
		);
		expect(body.node.challenges.passed).toBe(1);
		expect(body.node.challenges.issued).toBeGreaterThanOrEqual(1);
		expect(body.node.challenges.failed).toBe(0);
	});

	it("counts a wrong answer as failed", async () => {
		const node = await registerNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		await runDurableObjectAlarm(await shardOf(node));
		const ch = (await link.next("challenge")) as { id: string };
		link.ws.send(JSON.stringify({ type: "challenge_response", id: ch.id, answer: "wrong" }));
		expect(await link.next("challenge_result")).toMatchObject({ id: ch.id, passed: false });
	});

	it("refuses a replayed connect token", async () => {
		const node = await registerNode(await newAccount());
		const token = await nodeToken(node);
		await connect(node, token);
		await expect(connect(node, token)).rejects.toThrow(/401/);
	});

	it("replaces an older connection by a newer one without flipping the node offline", async () => {
		const node = await registerNode(await newAccount());
		const first = await connect(node);
		await first.next("welcome");
		const second = await connect(node);
		await second.next("welcome");
		expect((await first.closed).code).toBe(4001);
		await runDurableObjectAlarm(await shardOf(node));
		expect(await nodeStatus(node)).toBe("online");
		expect(await nodeFlips(node)).toHaveLength(1);
	});

	it("puts a node in maintenance and back, recording both flips", async () => {
		const node = await registerNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		expect(
			(await callJson(`/v1/nodes/${node.id}`, { method: "PATCH", auth: node.owner.key, body: { maintenance: true } }))
				.status,
		).toBe(200);
		expect(await nodeStatus(node)).toBe("maintenance");
		await callJson(`/v1/nodes/${node.id}`, { method: "PATCH", auth: node.owner.key, body: { maintenance: false } });
		expect(await nodeStatus(node)).toBe("online");
		expect((await nodeFlips(node)).map((f) => f.reason)).toEqual(["maintenance_off", "maintenance_on", "connected"]);
	});

	it("still writes what an earlier version queued: flips without a seq, incident tags without node ids", async () => {
		const node = await registerNode(await newAccount(), { region: "legacy-outbox" });
		const at = Date.now() - 5000;
		const common = { nodeId: node.id, lastSeenAt: at, intervalEnd: null, incidentId: null };
		const flips = [
			{ ...common, id: `${node.id}:1`, from: "new", to: "online", at, reason: "connected", intervalStart: null },
			{
				...common,
				id: `${node.id}:2`,
				from: "online",
				to: "offline",
				at: at + 4000,
				reason: "keepalive_timeout",
				intervalStart: at,
				intervalEnd: at + 1000,
			},
		];
		const tag = { kind: "tag", incident_id: "inc_legacyoutbox", flip_ids: [`${node.id}:2`], intervals: [] };
		const stub = await shardOf(node);
		await runInDurableObject(stub, (_, state) => {
			const ops = [JSON.stringify({ kind: "flips", flips }), JSON.stringify(tag)];
			state.storage.sql.exec("INSERT INTO outbox (op) VALUES (?), (?)", ...ops);
		});
		await sweepAt(stub, Date.now()); // the sweep retries the outbox
		const row = await env.DB.prepare("SELECT status, status_seq FROM nodes WHERE id = ?").bind(node.id).first();
		expect(row).toEqual({ status: "offline", status_seq: 2 });
		expect(await nodeFlips(node)).toEqual([
			expect.objectContaining({ to: "offline", reason: "keepalive_timeout", incident_id: "inc_legacyoutbox" }),
			expect.objectContaining({ to: "online", reason: "connected", incident_id: null }),
		]);
		const count = "SELECT count(*) AS n FROM outbox";
		const queued = await runInDurableObject(stub, (_, state) => state.storage.sql.exec(count).one().n);
		expect(queued).toBe(0); // the whole flush went through: the scheduler and the alert hand-off took them too
	});
});
