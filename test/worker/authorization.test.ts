// Every route × every role: who may call what, and a refused mutation changes nothing.
import { describe, expect, it } from "vitest";
import { router } from "../../workers/router.ts";
import { HARDWARE, TEST_ADMIN_TOKEN, call, callJson, newAccount, newNodeKeys, nodeToken, registerNode, type TestNode } from "./helpers.ts";

type Role = "anonymous" | "owner" | "other" | "node" | "admin";
const ROLES: Role[] = ["anonymous", "owner", "other", "node", "admin"];

interface Route {
	method: string;
	path: string;
	/** Expected status per role. */
	expect: Record<Role, number>;
	body?: (n: TestNode) => unknown;
	headers?: Record<string, string>;
	/** The route changes state: a refusal must leave the node as it was. */
	mutates?: boolean;
	/** Runs as the owner before the call (e.g. creates what the route deletes). */
	before?: (n: TestNode) => Promise<void>;
}

const all = (s: number): Record<Role, number> => ({ anonymous: s, owner: s, other: s, node: s, admin: s });
const accountOnly = (owner: number, other: number): Record<Role, number> => ({ anonymous: 401, owner, other, node: 401, admin: 401 });

const TABLE: Route[] = [
	{ method: "POST", path: "/v1/accounts", expect: all(201), body: () => ({ name: "someone" }) },
	{ method: "GET", path: "/v1/me", expect: accountOnly(200, 200) },
	{ method: "POST", path: "/v1/nodes", expect: accountOnly(201, 201), body: async () => ({ name: "n", public_key: (await newNodeKeys()).publicKey, hardware: HARDWARE }) },
	{ method: "GET", path: "/v1/nodes", expect: accountOnly(200, 200) },
	{ method: "GET", path: "/v1/nodes/:id", expect: { anonymous: 200, owner: 200, other: 200, node: 401, admin: 401 } },
	{ method: "PATCH", path: "/v1/nodes/:id", expect: accountOnly(200, 403), body: () => ({ name: "renamed" }), mutates: true },
	{ method: "DELETE", path: "/v1/nodes/:id", expect: accountOnly(204, 403), mutates: true },
	{ method: "GET", path: "/v1/nodes/:id/uptime", expect: all(200) },
	{ method: "GET", path: "/v1/nodes/:id/flips", expect: all(200) },
	{ method: "GET", path: "/v1/nodes/:id/connect", expect: { anonymous: 401, owner: 401, other: 401, node: 101, admin: 401 }, headers: { upgrade: "websocket" } },
	{ method: "POST", path: "/v1/nodes/:id/heartbeat", expect: { anonymous: 401, owner: 401, other: 401, node: 200, admin: 401 }, body: () => ({}) },
	{ method: "POST", path: "/v1/links", expect: accountOnly(201, 201) },
	{ method: "GET", path: "/v1/stats", expect: all(200) },
	{ method: "GET", path: "/v1/incidents", expect: all(200) },
	{ method: "GET", path: "/v1/alerts/settings", expect: accountOnly(200, 200) },
	{ method: "PATCH", path: "/v1/alerts/settings", expect: accountOnly(200, 200), body: () => ({ digest: true }) },
	// Muting someone else's node by id is refused as unknown: a chat or key only ever sees its own nodes.
	{ method: "POST", path: "/v1/alerts/mutes", expect: accountOnly(201, 404), body: (n) => ({ target: n.id, duration: "1h" }) },
	{ method: "DELETE", path: "/v1/alerts/mutes/:target", expect: accountOnly(200, 404), before: async (n) => void (await call("/v1/alerts/mutes", { auth: n.owner.key, body: { target: n.id, duration: "1h" } })) },
	{ method: "POST", path: "/telegram/webhook", expect: all(401), body: () => ({ update_id: 1 }) },
	{ method: "GET", path: "/v1/admin/liveness", expect: { anonymous: 401, owner: 403, other: 403, node: 401, admin: 200 } },
	{ method: "GET", path: "/openapi.json", expect: all(200) },
];

async function credentialFor(role: Role, node: TestNode, other: { key: string }): Promise<string | undefined> {
	switch (role) {
		case "anonymous": return undefined;
		case "owner": return node.owner.key;
		case "other": return other.key;
		case "node": return nodeToken(node);
		case "admin": return TEST_ADMIN_TOKEN;
	}
}

describe("authorization table", () => {
	it("covers every route the router serves", () => {
		const served = router.routes.map(([method, , , path]) => `${method} ${path}`).filter((r) => !r.startsWith("ALL"));
		expect(served.sort()).toEqual(TABLE.map((r) => `${r.method} ${r.path}`).sort());
	});

	for (const route of TABLE) {
		for (const role of ROLES) {
			it(`${route.method} ${route.path} as ${role} → ${route.expect[role]}`, async () => {
				const node = await registerNode(await newAccount("owner"));
				const other = await newAccount("other");
				const auth = await credentialFor(role, node, other);
				await route.before?.(node);
				const res = await call(route.path.replace(":id", node.id).replace(":target", node.id), {
					method: route.method, auth, headers: route.headers, body: await route.body?.(node),
				});
				expect(res.status).toBe(route.expect[role]);
				if (res.status >= 400) {
					const body = (await res.json()) as { error: { code: string; message: string } };
					expect(body.error.code).toMatch(/^[a-z_]+$/);
					expect(body.error.message.length).toBeGreaterThan(0);
				}
				if (route.mutates && res.status >= 400) {
					const after = await callJson<{ node: { name: string } }>(`/v1/nodes/${node.id}`, { auth: node.owner.key });
					expect(after.status).toBe(200);
					expect(after.body.node.name).toBe("rig-1");
				}
			});
		}
	}

	it("refuses a valid token of one node on another node's routes", async () => {
		const a = await registerNode(await newAccount());
		const b = await registerNode(await newAccount());
		const token = await nodeToken(a);
		expect((await call(`/v1/nodes/${b.id}/heartbeat`, { auth: token, body: {} })).status).toBe(401);
		expect((await call(`/v1/nodes/${b.id}/connect`, { auth: await nodeToken(a), headers: { upgrade: "websocket" } })).status).toBe(401);
	});

	it("shows the owner the key and shard, and everyone else only public fields", async () => {
		const node = await registerNode(await newAccount());
		const mine = await callJson<{ node: Record<string, unknown> }>(`/v1/nodes/${node.id}`, { auth: node.owner.key });
		const theirs = await callJson<{ node: Record<string, unknown> }>(`/v1/nodes/${node.id}`, { auth: (await newAccount()).key });
		const anon = await callJson<{ node: Record<string, unknown> }>(`/v1/nodes/${node.id}`);
		expect(mine.body.node).toHaveProperty("public_key");
		expect(mine.body.node).toHaveProperty("account_id");
		for (const view of [theirs.body.node, anon.body.node]) {
			expect(view).not.toHaveProperty("public_key");
			expect(view).not.toHaveProperty("account_id");
			expect(view).not.toHaveProperty("shard");
			expect(view).toHaveProperty("status");
		}
	});

	it("lists only the caller's own nodes", async () => {
		const node = await registerNode(await newAccount());
		const other = await newAccount();
		const { body } = await callJson<{ nodes: { id: string }[] }>("/v1/nodes", { auth: other.key });
		expect(body.nodes.map((n) => n.id)).not.toContain(node.id);
		const mine = await callJson<{ nodes: { id: string }[] }>("/v1/nodes", { auth: node.owner.key });
		expect(mine.body.nodes.map((n) => n.id)).toEqual([node.id]);
	});
});
