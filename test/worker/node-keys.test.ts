// A node's key (issue 12, item 12): rotated by a statement its old key signs, or set by the owner when the old key is
// lost; revoked by the owner (no token passes, open sockets close); every change in the owner's audit log.
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
	TEST_ADMIN_TOKEN,
	call,
	callJson,
	connect,
	newAccount,
	newNodeKeys,
	nodeToken,
	registerNode,
	type NodeKeys,
	type TestNode,
} from "./helpers.ts";

interface StatementOptions {
	sub?: string;
	aud?: string;
	iat?: number;
	exp?: number;
	newKey?: string;
}

/** A rotation statement for `node` to the key `next`, signed with `signer` (by default the node's current key). */
async function statement(node: TestNode, next: NodeKeys, signer?: CryptoKey, o: StatementOptions = {}) {
	const now = Math.floor(Date.now() / 1000);
	return new SignJWT({ new_public_key: o.newKey ?? next.publicKey })
		.setProtectedHeader({ alg: "EdDSA" })
		.setSubject(o.sub ?? node.id)
		.setAudience(o.aud ?? "pulsegrid:rotate-key")
		.setIssuedAt(o.iat ?? now)
		.setExpirationTime(o.exp ?? now + 120)
		.setJti(crypto.randomUUID())
		.sign(signer ?? node.keys.privateKey);
}

async function rotate(node: TestNode, token: string) {
	return callJson<{ key: { public_key: string; revoked_at: string | null }; error: { message: string } }>(
		`/v1/nodes/${node.id}/key/rotate`,
		{ method: "POST", auth: token },
	);
}

/** A heartbeat with a fresh token signed by `keys` (the node's current key by default); its status. */
async function beat(node: TestNode, keys: NodeKeys = node.keys): Promise<number> {
	return (await call(`/v1/nodes/${node.id}/heartbeat`, { auth: await nodeToken({ ...node, keys }), body: {} })).status;
}

async function publicKeyOf(node: TestNode): Promise<string> {
	const { body } = await callJson<{ node: { public_key: string } }>(`/v1/nodes/${node.id}`, { auth: node.owner.key });
	return body.node.public_key;
}

async function scopedKey(owner: { key: string }, scope: string): Promise<string> {
	const { status, body } = await callJson<{ api_key: string }>("/v1/me/keys", {
		auth: owner.key,
		body: { name: scope, scope },
	});
	expect(status).toBe(201);
	return body.api_key;
}

type Entry = { action: string; target: string; actor: string; details: Record<string, unknown> };

async function audit(auth: string, query = ""): Promise<{ entries: Entry[]; next_cursor: string | null }> {
	const { status, body } = await callJson<{ entries: Entry[]; next_cursor: string | null }>(`/v1/me/audit${query}`, {
		auth,
	});
	expect(status).toBe(200);
	return body;
}

describe("POST /v1/nodes/{id}/key/rotate", () => {
	it("rotates to the key a statement signed by the old key names: old tokens 401, new ones pass", async () => {
		const node = await registerNode(await newAccount());
		const next = await newNodeKeys();
		const { status, body } = await rotate(node, await statement(node, next));
		expect(status).toBe(200);
		expect(body.key).toMatchObject({ public_key: next.publicKey, revoked_at: null });
		expect(await publicKeyOf(node)).toBe(next.publicKey);
		expect(await beat(node)).toBe(401);
		expect(await beat(node, next)).toBe(200);
	});

	it("refuses a statement the node's key did not sign, or not meant as a rotation, and keeps the key", async () => {
		const node = await registerNode(await newAccount());
		const other = await registerNode(await newAccount());
		const next = await newNodeKeys();
		const stranger = await newNodeKeys();
		const refused = [
			await statement(node, next, stranger.privateKey), // signed by another key
			await statement(node, next, undefined, { aud: "pulsegrid" }), // a node token's audience
			await statement(node, next, undefined, { sub: other.id }), // for another node
			await statement(node, next, undefined, { exp: Math.floor(Date.now() / 1000) + 3600 }), // lives too long
			await nodeToken(node), // a node token is not a statement
			node.owner.key, // nor is the owner's API key
		];
		for (const token of refused) expect((await rotate(node, token)).status).toBe(401);
		expect((await call(`/v1/nodes/${node.id}/key/rotate`, { method: "POST" })).status).toBe(401);
		const bad = await rotate(node, await statement(node, next, undefined, { newKey: "not-a-key" }));
		expect(bad.status).toBe(400);
		expect(await publicKeyOf(node)).toBe(node.keys.publicKey);
		// A rotation statement is not a node token either.
		const asToken = await call(`/v1/nodes/${node.id}/heartbeat`, { auth: await statement(node, next), body: {} });
		expect(asToken.status).toBe(401);
	});

	it("cannot be replayed: a statement issued before the current key was set is refused", async () => {
		const node = await registerNode(await newAccount());
		const a = await newNodeKeys();
		const early = Math.floor(Date.now() / 1000) - 60;
		const stale = await statement(node, a, undefined, { iat: early });
		// The owner sets a key, then sets the original key back: the statement signed before is no longer good.
		const put = (public_key: string) =>
			call(`/v1/nodes/${node.id}/key`, { method: "PUT", auth: node.owner.key, body: { public_key } });
		expect((await put((await newNodeKeys()).publicKey)).status).toBe(200);
		expect((await put(node.keys.publicKey)).status).toBe(200);
		const replay = await rotate(node, stale);
		expect(replay.status).toBe(401);
		expect(replay.body.error.message).toMatch(/before the node's current key was set/);
		expect(await publicKeyOf(node)).toBe(node.keys.publicKey);
	});

	it("refuses a key another node has (409) and the current key (409)", async () => {
		const node = await registerNode(await newAccount());
		const other = await registerNode(await newAccount());
		expect((await rotate(node, await statement(node, other.keys))).status).toBe(409);
		expect((await rotate(node, await statement(node, node.keys))).status).toBe(409);
		expect(await publicKeyOf(node)).toBe(node.keys.publicKey);
	});
});

describe("DELETE /v1/nodes/{id}/key and PUT /v1/nodes/{id}/key", () => {
	it("revokes the key: the open socket is closed, no token passes, until the owner sets a new key", async () => {
		const node = await registerNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		const operate = await scopedKey(node.owner, "operate");
		const revoked = await callJson<{ key: { revoked_at: string | null } }>(`/v1/nodes/${node.id}/key`, {
			method: "DELETE",
			auth: operate,
		});
		expect(revoked.status).toBe(200);
		expect(revoked.body.key.revoked_at).not.toBeNull();
		expect((await link.closed).code).toBe(4004);
		expect(await beat(node)).toBe(401);
		const again = await call(`/v1/nodes/${node.id}/connect`, {
			auth: await nodeToken(node),
			headers: { upgrade: "websocket" },
		});
		expect(again.status).toBe(401);
		// A revoked key signs no rotation either, and is not set again: a new key pair is.
		expect((await rotate(node, await statement(node, await newNodeKeys()))).status).toBe(401);
		const same = { method: "PUT", auth: operate, body: { public_key: node.keys.publicKey } };
		expect((await call(`/v1/nodes/${node.id}/key`, same)).status).toBe(409);
		expect(await beat(node)).toBe(401);

		const next = await newNodeKeys();
		const set = await callJson<{ key: { public_key: string; revoked_at: string | null } }>(`/v1/nodes/${node.id}/key`, {
			method: "PUT",
			auth: operate,
			body: { public_key: next.publicKey },
		});
		expect(set.status).toBe(200);
		expect(set.body.key).toMatchObject({ public_key: next.publicKey, revoked_at: null });
		expect(await beat(node, next)).toBe(200);
		expect(await beat(node)).toBe(401);
	});

	it("lets only the owner, with an operate key, change the node's key", async () => {
		const node = await registerNode(await newAccount());
		const other = await newAccount();
		const read = await scopedKey(node.owner, "read");
		const body = { public_key: (await newNodeKeys()).publicKey };
		const tries = [
			{ method: "PUT", auth: read, body, expect: 403 },
			{ method: "DELETE", auth: read, expect: 403 },
			{ method: "PUT", auth: other.key, body, expect: 403 },
			{ method: "DELETE", auth: other.key, expect: 403 },
			{ method: "PUT", auth: TEST_ADMIN_TOKEN, body, expect: 401 },
			{ method: "DELETE", auth: await nodeToken(node), expect: 401 },
			{ method: "PUT", auth: undefined, body, expect: 401 },
		];
		for (const t of tries) {
			const res = await call(`/v1/nodes/${node.id}/key`, t);
			expect(res.status, `${t.method} ${t.expect}`).toBe(t.expect);
		}
		expect(await publicKeyOf(node)).toBe(node.keys.publicKey);
		expect(await beat(node)).toBe(200);
		expect((await audit(node.owner.key)).entries.filter((e) => e.action.startsWith("node.key"))).toEqual([]);
	});

	it("refuses a malformed or taken key with a 4xx and changes nothing", async () => {
		const node = await registerNode(await newAccount());
		const other = await registerNode(await newAccount());
		const put = (body: unknown) => call(`/v1/nodes/${node.id}/key`, { method: "PUT", auth: node.owner.key, body });
		expect((await put({ public_key: "short" })).status).toBe(400);
		expect((await put({ public_key: node.keys.publicKey, extra: 1 })).status).toBe(400);
		expect((await put({})).status).toBe(400);
		expect((await put({ public_key: other.keys.publicKey })).status).toBe(409);
		expect(await publicKeyOf(node)).toBe(node.keys.publicKey);
		const unknown = await call("/v1/nodes/node_nosuchnode/key", { method: "DELETE", auth: node.owner.key });
		expect(unknown.status).toBe(404);
	});
});

describe("the owner's audit log", () => {
	it("lists every node key change and the account's other entries, newest first, page by page", async () => {
		const node = await registerNode(await newAccount());
		const owner = node.owner;
		const [b, c] = [await newNodeKeys(), await newNodeKeys()];
		expect((await rotate(node, await statement(node, b))).status).toBe(200);
		expect((await call(`/v1/nodes/${node.id}/key`, { method: "DELETE", auth: owner.key })).status).toBe(200);
		const put = { method: "PUT", auth: owner.key, body: { public_key: c.publicKey } };
		expect((await call(`/v1/nodes/${node.id}/key`, put)).status).toBe(200);
		// What the audit table already recorded for the account: a staff flag on its node, a credit grant.
		const flag = { node_id: node.id, code: "test_flag", reason: "for the audit log", share: 0.5 };
		expect((await call("/v1/admin/flags", { auth: TEST_ADMIN_TOKEN, body: flag })).status).toBe(201);
		const grant = { account_id: owner.id, amount_cents: 100 };
		expect((await call("/v1/admin/credits", { auth: TEST_ADMIN_TOKEN, body: grant })).status).toBe(201);

		const all = await audit(owner.key);
		expect(all.entries.map((e) => e.action)).toEqual([
			"credits.grant",
			"flag.add",
			"node.key.rotate",
			"node.key.revoke",
			"node.key.rotate",
		]);
		expect(all.entries[4]).toMatchObject({
			actor: `node:${node.id}`,
			target: `node:${node.id}`,
			details: { from: node.keys.publicKey, to: b.publicKey, via: "old_key" },
		});
		expect(all.entries[3]).toMatchObject({ actor: owner.id, details: { public_key: b.publicKey } });
		expect(all.entries[2]).toMatchObject({
			actor: owner.id,
			details: { from: b.publicKey, to: c.publicKey, via: "owner" },
		});

		const pages: string[] = [];
		let cursor: string | null = null;
		do {
			const page = await audit(owner.key, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
			expect(page.entries.length).toBeLessThanOrEqual(2);
			pages.push(...page.entries.map((e) => e.action));
			cursor = page.next_cursor;
		} while (cursor);
		expect(pages).toEqual(all.entries.map((e) => e.action));
		expect((await audit((await newAccount()).key)).entries).toEqual([]);
	});
});
