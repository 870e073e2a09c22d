// Every route × every role: who may call what, and a refused mutation changes nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertRound } from "../../workers/db/rounds.ts";
import { router } from "../../workers/router.ts";
import { UPLOAD_MIN_BYTES } from "../../workers/domain/bandwidth.ts";
import { ROUTE_ACCESS, SCOPES, type Scope } from "../../workers/scopes.ts";
import { SignJWT } from "jose";
import {
	HARDWARE,
	TEST_ADMIN_TOKEN,
	call,
	callJson,
	newAccount,
	newNodeKeys,
	nodeToken,
	onlineFleet,
	registerNode,
	type TestNode,
} from "./helpers.ts";

type Role = "anonymous" | "owner" | "other" | "node" | "admin";
const ROLES: Role[] = ["anonymous", "owner", "other", "node", "admin"];

interface Route {
	method: string;
	path: string;
	/** Expected status per role. */
	expect: Record<Role, number>;
	body?: (n: TestNode) => unknown;
	/** A body sent as is (with `headers` naming its type), instead of `body` as JSON. */
	rawBody?: () => string;
	headers?: Record<string, string>;
	/** The route changes state: a refusal must leave the node as it was. */
	mutates?: boolean;
	/** Prepares what the route needs; returns path parameters (default: id = the node's id). */
	setup?: (n: TestNode, other: { id: string }) => Promise<Record<string, string>>;
	/** Runs as the owner before the call (e.g. creates what the route deletes). */
	before?: (n: TestNode) => Promise<void>;
	/** What the node role sends instead of a node token (a key-rotation statement). */
	nodeCredential?: (n: TestNode) => Promise<string>;
}

async function admin<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> {
	const { status, body: out } = await callJson<T>(path, { method: "POST", auth: TEST_ADMIN_TOKEN, body: body ?? {} });
	if (status >= 300) throw new Error(`${path}: ${status} ${JSON.stringify(out)}`);
	return out;
}

/** Settles an epoch that contains the node; its number. */
async function settled(): Promise<string> {
	return String((await admin<{ epoch: number }>("/v1/admin/epochs/settle")).epoch);
}

const adminOnly = (ok: number): Record<Role, number> => ({
	anonymous: 401,
	owner: 403,
	other: 403,
	node: 401,
	admin: ok,
});

/** A cluster deployed by the node's owner (on a fresh online node of another operator); its id. */
async function clusterOf(n: TestNode): Promise<string> {
	const { stopAll } = await onlineFleet(1, { gpu_model: "RTX 3090" });
	await admin("/v1/admin/credits", { account_id: n.owner.id, amount_cents: 100_000 });
	const { status, body } = await callJson<{ cluster: { id: string } }>("/v1/clusters", {
		auth: n.owner.key,
		body: { gpu_model: "RTX 3090", gpu_count: 1, hours: 1 },
	});
	if (status !== 201) throw new Error(`deploy failed: ${status}`);
	stopAll();
	return body.cluster.id;
}

const all = (s: number): Record<Role, number> => ({ anonymous: s, owner: s, other: s, node: s, admin: s });
const accountOnly = (owner: number, other: number): Record<Role, number> => ({
	anonymous: 401,
	owner,
	other,
	node: 401,
	admin: 401,
});

/** Someone else's ticket is 404 (its existence is not revealed); staff see every ticket. */
const ticketOwnerOrStaff = (ok: number): Record<Role, number> => ({
	anonymous: 401,
	owner: ok,
	other: 404,
	node: 401,
	admin: ok,
});

async function ownersTicket(n: TestNode): Promise<Record<string, string>> {
	const { status, body } = await callJson<{ ticket: { id: string } }>("/v1/tickets", {
		auth: n.owner.key,
		body: { subject: "table", body: "a ticket of the owner's" },
	});
	if (status !== 201) throw new Error(`ticket: ${status}`);
	return { id: body.ticket.id };
}

/** The node's own token, and nothing else. */
const nodeOnly = (ok: number): Record<Role, number> => ({
	anonymous: 401,
	owner: 401,
	other: 401,
	node: ok,
	admin: 401,
});

/** The hash that answers each node's pending download test (docs/VERIFICATION.md §12). */
const downloadHashes = new Map<string, string>();

async function pendingDownload(n: TestNode): Promise<Record<string, string>> {
	const res = await call(`/v1/nodes/${n.id}/bandwidth/download`, { method: "POST", auth: await nodeToken(n) });
	if (res.status !== 200) throw new Error(`download test: ${res.status}`);
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await res.arrayBuffer()));
	downloadHashes.set(n.id, [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
	return { id: n.id, test: res.headers.get("x-pulsegrid-bandwidth-test") ?? "" };
}

/** A new API key of `scope` on the account (made with its full sign-up key). */
async function scopedKey(owner: { key: string }, scope: Scope): Promise<{ key: string; id: string }> {
	const { status, body } = await callJson<{ api_key: string; key: { id: string } }>("/v1/me/keys", {
		auth: owner.key,
		body: { name: `${scope} key`, scope },
	});
	if (status !== 201) throw new Error(`key: ${status}`);
	return { key: body.api_key, id: body.key.id };
}

/** A statement rotating the node's key to a fresh one, signed by its current key (docs/PROTOCOL.md). */
async function rotationStatement(n: TestNode): Promise<string> {
	const now = Math.floor(Date.now() / 1000);
	return new SignJWT({ new_public_key: (await newNodeKeys()).publicKey })
		.setProtectedHeader({ alg: "EdDSA" })
		.setSubject(n.id)
		.setAudience("pulsegrid:rotate-key")
		.setIssuedAt(now)
		.setExpirationTime(now + 120)
		.setJti(crypto.randomUUID())
		.sign(n.keys.privateKey);
}

const TABLE: Route[] = [
	{ method: "POST", path: "/v1/accounts", expect: all(201), body: () => ({ name: "someone" }) },
	{ method: "GET", path: "/v1/me", expect: accountOnly(200, 200) },
	{
		method: "POST",
		path: "/v1/me/keys",
		expect: accountOnly(201, 201),
		body: () => ({ name: "table", scope: "read" }),
	},
	{ method: "GET", path: "/v1/me/keys", expect: accountOnly(200, 200) },
	// Another account's key is unknown to the caller (404), and stays live.
	{
		method: "DELETE",
		path: "/v1/me/keys/:id",
		expect: accountOnly(200, 404),
		setup: async (n) => ({ id: (await scopedKey(n.owner, "read")).id }),
	},
	{ method: "GET", path: "/v1/me/audit", expect: accountOnly(200, 200) },
	{
		method: "PUT",
		path: "/v1/nodes/:id/key",
		expect: accountOnly(200, 403),
		body: async () => ({ public_key: (await newNodeKeys()).publicKey }),
		mutates: true,
	},
	{ method: "DELETE", path: "/v1/nodes/:id/key", expect: accountOnly(200, 403), mutates: true },
	// The node's credential here is a statement its key signed; its ordinary token, or anyone else's, is refused.
	{
		method: "POST",
		path: "/v1/nodes/:id/key/rotate",
		expect: nodeOnly(200),
		nodeCredential: rotationStatement,
		mutates: true,
	},
	{
		method: "POST",
		path: "/v1/nodes",
		expect: accountOnly(201, 201),
		body: async () => ({ name: "n", public_key: (await newNodeKeys()).publicKey, hardware: HARDWARE }),
	},
	{ method: "GET", path: "/v1/nodes", expect: accountOnly(200, 200) },
	// A public route ignores credentials it does not need: a node token or the admin token gets the public view.
	{ method: "GET", path: "/v1/nodes/:id", expect: all(200) },
	{
		method: "PATCH",
		path: "/v1/nodes/:id",
		expect: accountOnly(200, 403),
		body: () => ({ name: "renamed" }),
		mutates: true,
	},
	{ method: "DELETE", path: "/v1/nodes/:id", expect: accountOnly(204, 403), mutates: true },
	{ method: "GET", path: "/v1/nodes/:id/uptime", expect: all(200) },
	{ method: "GET", path: "/v1/nodes/:id/flips", expect: all(200) },
	{
		method: "GET",
		path: "/v1/nodes/:id/connect",
		expect: { anonymous: 401, owner: 401, other: 401, node: 101, admin: 401 },
		headers: { upgrade: "websocket" },
	},
	{
		method: "POST",
		path: "/v1/nodes/:id/heartbeat",
		expect: { anonymous: 401, owner: 401, other: 401, node: 200, admin: 401 },
		body: () => ({}),
	},
	{
		method: "POST",
		path: "/v1/nodes/:id/bandwidth/upload",
		expect: nodeOnly(200),
		headers: { "content-type": "application/octet-stream" },
		rawBody: () => "x".repeat(UPLOAD_MIN_BYTES),
	},
	{ method: "POST", path: "/v1/nodes/:id/bandwidth/download", expect: nodeOnly(200) },
	{
		method: "POST",
		path: "/v1/nodes/:id/bandwidth/download/:test",
		expect: nodeOnly(200),
		setup: pendingDownload,
		body: (n) => ({ sha256: downloadHashes.get(n.id) }),
	},
	{ method: "POST", path: "/v1/links", expect: accountOnly(201, 201) },
	{ method: "GET", path: "/v1/stats", expect: all(200) },
	{ method: "GET", path: "/v1/incidents", expect: all(200) },
	{ method: "GET", path: "/v1/alerts/settings", expect: accountOnly(200, 200) },
	{ method: "PATCH", path: "/v1/alerts/settings", expect: accountOnly(200, 200), body: () => ({ digest: true }) },
	// Muting someone else's node by id is refused as unknown: a chat or key only ever sees its own nodes.
	{
		method: "POST",
		path: "/v1/alerts/mutes",
		expect: accountOnly(201, 404),
		body: (n) => ({ target: n.id, duration: "1h" }),
	},
	{
		method: "DELETE",
		path: "/v1/alerts/mutes/:target",
		expect: accountOnly(200, 404),
		before: async (n) =>
			void (await call("/v1/alerts/mutes", { auth: n.owner.key, body: { target: n.id, duration: "1h" } })),
	},
	{ method: "POST", path: "/telegram/webhook", expect: all(401), body: () => ({ update_id: 1 }) },
	{
		method: "GET",
		path: "/v1/admin/liveness",
		expect: { anonymous: 401, owner: 403, other: 403, node: 401, admin: 200 },
	},
	{ method: "GET", path: "/openapi.json", expect: all(200) },
	{
		method: "GET",
		path: "/v1/nodes/:id/points",
		expect: all(200),
		setup: async (n) => ({ id: n.id, q: await settled() }),
	},
	{ method: "GET", path: "/v1/points", expect: accountOnly(200, 200) },
	{ method: "GET", path: "/v1/leaderboard", expect: all(200), setup: async () => ({ q: await settled() }) },
	{ method: "GET", path: "/v1/epochs/:n", expect: all(200), setup: async () => ({ n: await settled() }) },
	{
		method: "GET",
		path: "/v1/epochs/:n/proof/:node_id",
		expect: all(200),
		setup: async (n) => ({ n: await settled(), node_id: n.id }),
	},
	{ method: "POST", path: "/v1/admin/epochs/settle", expect: adminOnly(200), body: () => ({}) },
	{
		method: "POST",
		path: "/v1/admin/adjustments",
		expect: adminOnly(201),
		setup: async (n) => ({ epoch: await settled(), node: n.id }),
		body: (n) => ({ node_id: n.id, epoch: 0, points: 5, reason: "test adjustment" }),
	},
	{
		method: "POST",
		path: "/v1/admin/adjustments/:id/approve",
		expect: adminOnly(200),
		mutates: true,
		// A staff account's adjustment above the size waits for a second staff member: the admin token is one.
		setup: async (n) => {
			const epoch = Number(await settled());
			const staff = await newAccount("authz-staff");
			const role = { method: "PUT", auth: TEST_ADMIN_TOKEN, body: { role: "staff" } };
			if ((await callJson(`/v1/admin/accounts/${staff.id}/role`, role)).status !== 200) throw new Error("role");
			const { body } = await callJson<{ adjustment: { id: string } }>("/v1/admin/adjustments", {
				auth: staff.key,
				body: { node_id: n.id, epoch, points: 1e6, reason: "authorization table" },
			});
			return { id: body.adjustment.id };
		},
	},
	{
		method: "POST",
		path: "/v1/admin/flags",
		expect: adminOnly(201),
		body: (n) => ({ node_id: n.id, code: "duplicate_fingerprint", reason: "shares a GPU with another node", share: 1 }),
	},
	{
		method: "DELETE",
		path: "/v1/admin/flags/:id",
		expect: adminOnly(200),
		setup: async (n) => ({
			id: (
				await admin<{ flag: { id: string } }>("/v1/admin/flags", {
					node_id: n.id,
					code: "test_flag",
					reason: "for the table",
					share: 0.5,
				})
			).flag.id,
		}),
	},
	{ method: "GET", path: "/v1/admin/audit", expect: adminOnly(200) },
	{ method: "POST", path: "/v1/admin/verify-rounds", expect: adminOnly(200) },
	{
		method: "GET",
		path: "/v1/admin/verify-rounds/:id",
		expect: adminOnly(200),
		setup: async (n) => {
			const plan = { groups: [{ key: "net:test", node_ids: [n.id] }], decoys: [] };
			await insertRound(env.DB, `vrd_${n.id}`, Date.now(), plan, new Map([[n.id, ["net:test"]]]));
			return { id: `vrd_${n.id}` };
		},
	},
	{ method: "GET", path: "/v1/prices", expect: all(200) },
	{
		method: "POST",
		path: "/v1/quotes",
		expect: all(200),
		body: () => ({ gpu_model: "RTX 4090", gpu_count: 1, hours: 1 }),
	},
	{
		method: "POST",
		path: "/v1/clusters",
		expect: accountOnly(402, 402),
		body: () => ({ gpu_model: "RTX 4090", gpu_count: 1, hours: 1 }),
		setup: async (n) => {
			(await onlineFleet(1)).stopAll();
			return { id: n.id };
		},
	},
	{ method: "GET", path: "/v1/clusters", expect: accountOnly(200, 200) },
	{
		method: "GET",
		path: "/v1/clusters/:id",
		expect: accountOnly(200, 403),
		setup: async (n) => ({ id: await clusterOf(n) }),
	},
	{
		method: "DELETE",
		path: "/v1/clusters/:id",
		expect: accountOnly(200, 403),
		setup: async (n) => ({ id: await clusterOf(n) }),
	},
	{ method: "GET", path: "/v1/billing", expect: accountOnly(200, 200) },
	{
		method: "POST",
		path: "/v1/admin/credits",
		expect: adminOnly(201),
		body: (n) => ({ account_id: n.owner.id, amount_cents: 100 }),
	},
	{
		method: "PUT",
		path: "/v1/admin/accounts/:id/role",
		expect: adminOnly(200),
		setup: async (_n, other) => ({ id: other.id }),
		body: () => ({ role: "user" }),
	},
	// Tickets: the node in the body is the owner's, so another account may not name it; the admin token is staff but no
	// account.
	{
		method: "POST",
		path: "/v1/tickets",
		expect: { anonymous: 401, owner: 201, other: 403, node: 401, admin: 403 },
		body: (n) => ({ subject: "help", body: "my node", node_id: n.id }),
	},
	{ method: "GET", path: "/v1/tickets", expect: { anonymous: 401, owner: 200, other: 200, node: 401, admin: 200 } },
	{ method: "GET", path: "/v1/tickets/:id", expect: ticketOwnerOrStaff(200), setup: ownersTicket },
	{
		method: "POST",
		path: "/v1/tickets/:id/messages",
		expect: ticketOwnerOrStaff(201),
		setup: ownersTicket,
		body: () => ({ body: "more details" }),
	},
	{ method: "POST", path: "/v1/tickets/:id/close", expect: ticketOwnerOrStaff(200), setup: ownersTicket },
	// Only Discord can call this: nobody's credentials replace its signature.
	{ method: "POST", path: "/discord/interactions", expect: all(401), body: () => ({ type: 1 }) },
];

async function credentialFor(role: Role, node: TestNode, other: { key: string }): Promise<string | undefined> {
	switch (role) {
		case "anonymous":
			return undefined;
		case "owner":
			return node.owner.key;
		case "other":
			return other.key;
		case "node":
			return nodeToken(node);
		case "admin":
			return TEST_ADMIN_TOKEN;
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
				const params = (await route.setup?.(node, other)) ?? { id: node.id };
				const auth =
					role === "node" && route.nodeCredential
						? await route.nodeCredential(node)
						: await credentialFor(role, node, other);
				await route.before?.(node);
				const path = route.path.replace(/:(\w+)/g, (_, k: string) => params[k] ?? node.id);
				let body = await route.body?.(node);
				if (body && typeof body === "object" && "epoch" in body) body = { ...body, epoch: Number(params.epoch) };
				const res = await call(path, {
					method: route.method,
					auth,
					headers: route.headers,
					body,
					rawBody: route.rawBody?.(),
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

	it("names the credential of every route the router serves in the one scope table", () => {
		const served = router.routes.map(([method, , , path]) => `${method} ${path}`).filter((r) => !r.startsWith("ALL"));
		expect(served.sort()).toEqual(Object.keys(ROUTE_ACCESS).sort());
	});

	it("refuses a valid token of one node on another node's routes", async () => {
		const a = await registerNode(await newAccount());
		const b = await registerNode(await newAccount());
		const token = await nodeToken(a);
		expect((await call(`/v1/nodes/${b.id}/heartbeat`, { auth: token, body: {} })).status).toBe(401);
		expect((await call(`/v1/nodes/${b.id}/bandwidth/download`, { method: "POST", auth: token })).status).toBe(401);
		expect(
			(await call(`/v1/nodes/${b.id}/connect`, { auth: await nodeToken(a), headers: { upgrade: "websocket" } })).status,
		).toBe(401);
	});

	it("shows the owner the key and shard, and everyone else only public fields", async () => {
		const node = await registerNode(await newAccount());
		const mine = await callJson<{ node: Record<string, unknown> }>(`/v1/nodes/${node.id}`, { auth: node.owner.key });
		const theirs = await callJson<{ node: Record<string, unknown> }>(`/v1/nodes/${node.id}`, {
			auth: (await newAccount()).key,
		});
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

/** Routes whose handler adds a rule on top of the scope: `read` revokes only the calling key (api-keys.test.ts). */
const FURTHER_RULES = new Set(["DELETE /v1/me/keys/:id"]);

/** The scope just below `s`, or null for the least. */
const below = (s: Scope): Scope | null => SCOPES[SCOPES.indexOf(s) - 1] ?? null;

describe("authorization table: API key scopes", () => {
	for (const route of TABLE) {
		const access = ROUTE_ACCESS[`${route.method} ${route.path}`];
		if (!access || !(SCOPES as readonly string[]).includes(access)) continue;
		const needed = access as Scope;
		const lesser = below(needed);
		if (lesser) {
			it(`${route.method} ${route.path} with a '${lesser}' key → 403 (needs '${needed}')`, async () => {
				const node = await registerNode(await newAccount("owner"));
				const params = (await route.setup?.(node, await newAccount("other"))) ?? { id: node.id };
				await route.before?.(node);
				const path = route.path.replace(/:(\w+)/g, (_, k: string) => params[k] ?? node.id);
				let body = await route.body?.(node);
				if (body && typeof body === "object" && "epoch" in body) body = { ...body, epoch: Number(params.epoch) };
				const key = await scopedKey(node.owner, lesser);
				const res = await callJson<{ error: { code: string; required_scope: string; key_scope: string } }>(path, {
					method: route.method,
					auth: key.key,
					headers: route.headers,
					body,
					rawBody: route.rawBody?.(),
				});
				expect(res.status).toBe(403);
				expect(res.body.error).toMatchObject({ code: "forbidden", required_scope: needed, key_scope: lesser });
				if (route.mutates) {
					const after = await callJson<{ node: { name: string; public_key: string } }>(`/v1/nodes/${node.id}`, {
						auth: node.owner.key,
					});
					expect(after.body.node).toMatchObject({ name: "rig-1", public_key: node.keys.publicKey });
				}
			});
		}
		if (FURTHER_RULES.has(`${route.method} ${route.path}`)) continue;
		const same = `${route.method} ${route.path} with a '${needed}' key → ${route.expect.owner}, as the owner's full key`;
		it(same, async () => {
			const node = await registerNode(await newAccount("owner"));
			const params = (await route.setup?.(node, await newAccount("other"))) ?? { id: node.id };
			await route.before?.(node);
			const path = route.path.replace(/:(\w+)/g, (_, k: string) => params[k] ?? node.id);
			let body = await route.body?.(node);
			if (body && typeof body === "object" && "epoch" in body) body = { ...body, epoch: Number(params.epoch) };
			const key = await scopedKey(node.owner, needed);
			const res = await call(path, {
				method: route.method,
				auth: key.key,
				headers: route.headers,
				body,
				rawBody: route.rawBody?.(),
			});
			expect(res.status).toBe(route.expect.owner);
		});
	}
});
