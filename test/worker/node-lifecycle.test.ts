// A node's life at its edges: tokens across transports, clean HTTP shutdown, oversized frames, registration races,
// deletion, uptime windows.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../workers/ids.ts";
import {
	backdated,
	call,
	callJson,
	connect,
	eventually,
	HARDWARE,
	newAccount,
	newNodeKeys,
	nodeFlips,
	nodeStatus,
	nodeToken,
	registerNode,
	registeredAgo,
	shardOf,
	type TestNode,
} from "./helpers.ts";

/** The node was online for the last `ms` (it connected `ms` ago by its shard's clock), then left cleanly. */
async function onlineFor(node: TestNode, ms: number): Promise<TestNode> {
	const link = await backdated(await shardOf(node), ms, () => connect(node));
	await link.next("welcome");
	link.ws.close(1000);
	await eventually(async () => (await nodeStatus(node)) === "offline");
	// The shard says offline before its outbox has closed the interval in D1, which uptime is read from.
	await eventually(async () => {
		const { body } = await callJson<{ intervals: { ended_at: string | null }[] }>(`/v1/nodes/${node.id}/uptime`);
		return body.intervals.length > 0 && body.intervals.every((i) => i.ended_at !== null);
	});
	return node;
}

const beat = async (node: TestNode, token: string, body: unknown = {}) =>
	call(`/v1/nodes/${node.id}/heartbeat`, { auth: token, body });

describe("node tokens across transports", () => {
	it("refuses a heartbeat's token when it is used again to connect", async () => {
		const node = await registerNode(await newAccount());
		const token = await nodeToken(node);
		expect((await beat(node, token)).status).toBe(200);
		const res = await call(`/v1/nodes/${node.id}/connect`, { auth: token, headers: { upgrade: "websocket" } });
		expect(res.status).toBe(401);
		expect(res.webSocket).toBeNull();
	});

	it("refuses a connect's token when it is used again for a heartbeat", async () => {
		const node = await registerNode(await newAccount());
		const token = await nodeToken(node);
		const link = await connect(node, token);
		await link.next("welcome");
		const res = await beat(node, token);
		expect(res.status).toBe(401);
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
		link.ws.close(1000);
	});

	it("refuses an expired token on connect, and the node stays new", async () => {
		const node = await registerNode(await newAccount());
		const now = Math.floor(Date.now() / 1000);
		const res = await call(`/v1/nodes/${node.id}/connect`, {
			auth: await nodeToken(node, { iat: now - 600, exp: now - 300 }),
			headers: { upgrade: "websocket" },
		});
		expect(res.status).toBe(401);
		expect(await nodeStatus(node)).toBe("new");
	});
});

describe("clean shutdowns and misbehaving agents", () => {
	it("marks an HTTP node offline at once when its agent says bye, never as an incident", async () => {
		const node = await registerNode(await newAccount());
		expect((await beat(node, await nodeToken(node))).status).toBe(200);
		expect(await nodeStatus(node)).toBe("online");
		const res = await callJson<{ status: string }>(`/v1/nodes/${node.id}/heartbeat`, {
			auth: await nodeToken(node),
			body: { bye: true },
		});
		expect(res).toMatchObject({ status: 200, body: { status: "offline" } });
		expect(await nodeStatus(node)).toBe("offline");
		expect((await nodeFlips(node))[0]).toMatchObject({
			from: "online",
			to: "offline",
			reason: "disconnected",
			incident_id: null,
		});
	});

	it("refuses a heartbeat body with bye set to anything but true", async () => {
		const node = await registerNode(await newAccount());
		expect((await beat(node, await nodeToken(node), { bye: false })).status).toBe(400);
		expect(await nodeStatus(node)).toBe("new");
	});

	it("closes a socket that sends a message over 4,096 bytes with 4003, and the node goes offline", async () => {
		const node = await registerNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		link.ws.send(JSON.stringify({ type: "bye", reason: "x".repeat(4200) }));
		expect((await link.closed).code).toBe(4003);
		await eventually(async () => (await nodeStatus(node)) === "offline");
		expect((await nodeFlips(node))[0]).toMatchObject({ to: "offline", reason: "disconnected", incident_id: null });
	});

	it("answers a malformed message with an error frame and keeps the socket open", async () => {
		const node = await registerNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		link.ws.send("{not json");
		expect(await link.next("error")).toMatchObject({ code: "bad_message" });
		expect(await nodeStatus(node)).toBe("online");
		link.ws.close(1000);
	});
});

describe("registration", () => {
	it("answers a race for one public key with one 201 and one 409, registering one node", async () => {
		const owner = await newAccount();
		const keys = await newNodeKeys();
		const body = { name: "twin", public_key: keys.publicKey, hardware: HARDWARE };
		const codes = (await Promise.all([0, 1, 2].map(() => call("/v1/nodes", { auth: owner.key, body }))))
			.map((r) => r.status)
			.sort();
		expect(codes).toEqual([201, 409, 409]);
		const { body: mine } = await callJson<{ nodes: { name: string }[] }>("/v1/nodes", { auth: owner.key });
		expect(mine.nodes.filter((n) => n.name === "twin")).toHaveLength(1);
	});

	it("stores the API key only as its SHA-256", async () => {
		const { status: code, body } = await callJson<{ account: { id: string }; api_key: string }>("/v1/accounts", {
			body: { name: "hashed" },
		});
		expect(code).toBe(201);
		const row = await env.DB.prepare("SELECT * FROM accounts WHERE id = ?")
			.bind(body.account.id)
			.first<Record<string, unknown>>();
		expect(row?.api_key_hash).toBe(await sha256Hex(body.api_key));
		expect(Object.values(row ?? {})).not.toContain(body.api_key);
	});
});

describe("deleting a node", () => {
	it("closes its socket with 4002, records node_deleted, then answers 404 and refuses its tokens", async () => {
		const node = await registerNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		expect((await call(`/v1/nodes/${node.id}`, { method: "DELETE", auth: node.owner.key })).status).toBe(204);
		expect((await link.closed).code).toBe(4002);
		const history = await env.DB.prepare("SELECT reason FROM flips WHERE node_id = ? ORDER BY at DESC LIMIT 1")
			.bind(node.id)
			.first<{ reason: string }>();
		expect(history?.reason).toBe("node_deleted");
		expect((await call(`/v1/nodes/${node.id}`)).status).toBe(404);
		expect((await beat(node, await nodeToken(node))).status).toBe(404);
		const { body } = await callJson<{ nodes: { id: string }[] }>("/v1/nodes", { auth: node.owner.key });
		expect(body.nodes.map((n) => n.id)).not.toContain(node.id);
	});
});

describe("uptime", () => {
	it("clips intervals to the asked window and gives the online ratio of that window", async () => {
		const registered = await registerNode(await newAccount());
		await registeredAgo(registered, 10_000); // the window below lies inside the node's life
		const node = await onlineFor(registered, 400);
		const all = await callJson<{ intervals: { started_at: string; ended_at: string }[] }>(
			`/v1/nodes/${node.id}/uptime`,
		);
		const [iv] = all.body.intervals;
		const start = Date.parse(iv?.started_at ?? ""),
			end = Date.parse(iv?.ended_at ?? "");
		expect(end - start).toBeGreaterThanOrEqual(400);
		// A window from one second before the interval to its middle: half of the interval is inside it.
		const mid = start + Math.floor((end - start) / 2);
		const from = new Date(start - 1000).toISOString(),
			to = new Date(mid).toISOString();
		const { body } = await callJson<{
			online_seconds: number;
			ratio: number;
			intervals: { started_at: string; ended_at: string | null }[];
		}>(`/v1/nodes/${node.id}/uptime?from=${from}&to=${to}`);
		expect(body.intervals).toEqual([{ started_at: iv?.started_at, ended_at: to }]);
		expect(body.online_seconds).toBeCloseTo((mid - start) / 1000, 3);
		expect(body.ratio).toBeCloseTo((mid - start) / (mid - start + 1000), 3);
	});

	it("shows one uptime: uptime_24h, GET /uptime and the incident credit agree to the digit", async () => {
		const node = await registerNode(await newAccount());
		await registeredAgo(node, 2 * 24 * 3600_000); // older than the window: the window is the whole day
		await onlineFor(node, 3600_000); // online for one hour…
		const interval = (sql: string, ...args: unknown[]) =>
			env.DB.prepare(sql)
				.bind(...args, node.id)
				.run();
		await interval("UPDATE online_intervals SET ended_at = ended_at - 1800000 WHERE node_id = ?"); // …until 30 min ago
		const read = async () => ({
			view: (await callJson<{ node: { uptime_24h: number } }>(`/v1/nodes/${node.id}`)).body.node.uptime_24h,
			window: (await callJson<{ ratio: number; incident_seconds: number }>(`/v1/nodes/${node.id}/uptime`)).body,
		});
		const own = await read();
		expect(own.view).toBe(own.window.ratio);
		expect(own.window.ratio).toBeCloseTo(0.5 / 24, 4); // half an hour of a day
		expect(own.window.incident_seconds).toBe(0);
		// Had that drop been our incident (ended now), the 30 minutes offline count as online in both figures.
		await env.DB.prepare(
			"INSERT INTO incidents (id, scope, reason, started_at, ended_at, nodes_affected) VALUES (?, ?, ?, ?, ?, 1)",
		)
			.bind(`inc_${node.id}`, "shard:test", "coordinator_restart", Date.now() - 1800_000, Date.now())
			.run();
		await interval("UPDATE online_intervals SET incident_id = ? WHERE node_id = ?", `inc_${node.id}`);
		const ours = await read();
		expect(ours.view).toBe(ours.window.ratio);
		expect(ours.window.ratio).toBeCloseTo(1 / 24, 4);
		expect(ours.window.incident_seconds).toBeCloseTo(1800, 0);
	});

	it("gives uptime_24h as the online share of the node's life when it is younger than a day", async () => {
		const node = await registerNode(await newAccount());
		await registeredAgo(node, 4000); // registered 4 s ago (by D1's record), no waiting
		await onlineFor(node, 1000); // online for the last second of it
		const created = (await env.DB.prepare("SELECT created_at FROM nodes WHERE id = ?")
			.bind(node.id)
			.first<number>("created_at")) as number;
		const before = Date.now();
		const { body } = await callJson<{ nodes: { id: string; uptime_24h: number }[] }>("/v1/nodes", {
			auth: node.owner.key,
		});
		const after = Date.now();
		const ratio = body.nodes.find((n) => n.id === node.id)?.uptime_24h ?? -1;
		const online =
			(await callJson<{ online_seconds: number }>(`/v1/nodes/${node.id}/uptime`)).body.online_seconds * 1000;
		expect(online).toBeGreaterThanOrEqual(1000);
		// The Worker read its clock between `before` and `after` (give or take the runtime's coarse clock, which only
		// moves at I/O: 0.01 of slack); over a day's window the share would be ~0.00001, over its life it is ~0.25.
		expect(ratio).toBeLessThanOrEqual(online / (before - created) + 0.01);
		expect(ratio).toBeGreaterThanOrEqual(online / (after - created) - 0.01);
		expect(ratio).toBeGreaterThan(0.1);
	});
});
