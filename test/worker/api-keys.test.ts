// API keys people manage (issue 12, item 11): several named, scoped keys per account, shown once, revoked at once; each
// route's scope enforced from the one table; keys made before scopes keep working.
import type { D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../workers/ids.ts";
import { TEST_ADMIN_TOKEN, call, callJson, newAccount, registerNode } from "./helpers.ts";

interface KeyView {
	id: string;
	name: string;
	scope: string;
	created_at: string;
	revoked_at: string | null;
	current?: boolean;
}

type Owner = { id: string; key: string };

async function makeKey(auth: string, body: Record<string, unknown>) {
	return callJson<{ key: KeyView; api_key: string; error: { code: string; message: string } }>("/v1/me/keys", {
		auth,
		body,
	});
}

/** A new key of `scope` on the account of `owner` (made with its full sign-up key); its secret and id. */
async function keyOf(owner: Owner, scope: string, name = `${scope} key`): Promise<{ key: string; id: string }> {
	const { status, body } = await makeKey(owner.key, { name, scope });
	if (status !== 201) throw new Error(`key: ${status} ${JSON.stringify(body)}`);
	return { key: body.api_key, id: body.key.id };
}

async function keysOf(auth: string): Promise<KeyView[]> {
	const { status, body } = await callJson<{ keys: KeyView[] }>("/v1/me/keys", { auth });
	expect(status).toBe(200);
	return body.keys;
}

async function makeStaff(account: Owner): Promise<void> {
	const res = await call(`/v1/admin/accounts/${account.id}/role`, {
		method: "PUT",
		auth: TEST_ADMIN_TOKEN,
		body: { role: "staff" },
	});
	expect(res.status).toBe(200);
}

// First in the file: the migration's own statements run again over a pre-0016 row. The keys table is emptied first, as
// before 0016 (the migration makes every account's sign-up key its 'default' again).
describe("keys made before keys had names and scopes", () => {
	it("keep working as a key named 'default' with scope admin, and their audit entries find their account", async () => {
		const migration = (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS.find((m) =>
			m.name.startsWith("0016_"),
		);
		const statement = (has: string) => migration?.queries.find((q) => q.includes(has)) as string;
		const legacyKey = "pgk_legacy-key-made-before-scopes-000000000000";
		await env.DB.prepare("INSERT INTO accounts (id, name, api_key_hash, role, created_at) VALUES (?, ?, ?, 'user', 1)")
			.bind("acc_legacy", "legacy", await sha256Hex(legacyKey))
			.run();
		await env.DB.prepare(
			"INSERT INTO audit_log (at, actor, action, target, details) VALUES (1, 'admin', 'credits.grant', ?, '{}')",
		)
			.bind("account:acc_legacy")
			.run();
		await env.DB.prepare("DELETE FROM api_keys").run();
		await env.DB.prepare(statement("INSERT INTO api_keys")).run();
		await env.DB.prepare(statement("UPDATE audit_log")).run();

		const me = await callJson<{ account: { id: string }; key: KeyView }>("/v1/me", { auth: legacyKey });
		expect(me.status).toBe(200);
		expect(me.body.account.id).toBe("acc_legacy");
		expect(me.body.key).toMatchObject({ name: "default", scope: "admin", revoked_at: null });
		const audit = await callJson<{ entries: { action: string }[] }>("/v1/me/audit", { auth: legacyKey });
		expect(audit.body.entries.map((e) => e.action)).toEqual(["credits.grant"]);
	});
});

describe("POST /v1/me/keys", () => {
	it("creates a named, scoped key, shows its secret once, and stores only its hash", async () => {
		const owner = await newAccount("keys");
		const { status, body } = await makeKey(owner.key, { name: "ci deploys", scope: "rent" });
		expect(status).toBe(201);
		expect(body.api_key).toMatch(/^pgk_/);
		expect(body.key).toMatchObject({ name: "ci deploys", scope: "rent", revoked_at: null });
		expect(body.key.id).toMatch(/^key_/);
		const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(body.key.id).first();
		expect(row?.key_hash).toBe(await sha256Hex(body.api_key));
		expect(JSON.stringify(row)).not.toContain(body.api_key);

		const listed = await keysOf(owner.key);
		expect(listed.map((k) => [k.name, k.scope])).toEqual([
			["default", "admin"],
			["ci deploys", "rent"],
		]);
		expect(JSON.stringify(listed)).not.toContain("pgk_");
		const me = await callJson<{ key: KeyView }>("/v1/me", { auth: body.api_key });
		expect(me.body.key).toMatchObject({ id: body.key.id, scope: "rent" });
	});

	it("gives a key scope read when none is asked for", async () => {
		const owner = await newAccount();
		const { status, body } = await makeKey(owner.key, { name: "dashboard" });
		expect(status).toBe(201);
		expect(body.key.scope).toBe("read");
	});

	it("refuses bad names and scopes with a 400 naming the field, and makes no key", async () => {
		const owner = await newAccount();
		for (const bad of [
			{ name: "" },
			{ name: "x".repeat(65) },
			{ name: "evil\u202Egnp.exe" },
			{ name: "line\nbreak" },
			{ name: "ok", scope: "root" },
			{ name: "ok", scope: "read", extra: 1 },
			{ scope: "read" },
		]) {
			const { status, body } = await makeKey(owner.key, bad);
			expect(status, JSON.stringify(bad)).toBe(400);
			expect(body.error.code).toBe("validation_failed");
		}
		expect(await keysOf(owner.key)).toHaveLength(1);
	});

	it("lets only staff accounts create admin keys", async () => {
		const user = await newAccount("user");
		const refused = await makeKey(user.key, { name: "all", scope: "admin" });
		expect(refused.status).toBe(403);
		expect(refused.body.error.message).toMatch(/staff/);
		const staff = await newAccount("staff");
		await makeStaff(staff);
		expect((await makeKey(staff.key, { name: "all", scope: "admin" })).status).toBe(201);
	});

	it("never lets a key create a key above its own scope, nor a key below rent create any", async () => {
		const owner = await newAccount();
		const operate = await keyOf(owner, "operate");
		const rent = await keyOf(owner, "rent");
		const byOperate = await makeKey(operate.key, { name: "more", scope: "read" });
		expect(byOperate.status).toBe(403);
		expect(byOperate.body.error.message).toMatch(/'rent'/);
		expect((await makeKey(rent.key, { name: "same", scope: "rent" })).status).toBe(201);
		const staff = await newAccount("staff");
		await makeStaff(staff);
		const staffRent = await keyOf(staff, "rent");
		const up = await makeKey(staffRent.key, { name: "up", scope: "admin" });
		expect(up.status).toBe(403);
		expect(up.body.error.message).toMatch(/never grants more/);
		expect((await keysOf(staff.key)).map((k) => k.scope)).toEqual(["admin", "rent"]);
	});

	it("refuses a 26th live key with 409 and creates it once one is revoked", async () => {
		const owner = await newAccount();
		const made: string[] = [];
		for (let i = 0; i < 24; i++) made.push((await keyOf(owner, "read", `k${i}`)).id);
		const over = await makeKey(owner.key, { name: "one too many" });
		expect(over.status).toBe(409);
		expect(await keysOf(owner.key)).toHaveLength(25);
		expect((await call(`/v1/me/keys/${made[0]}`, { method: "DELETE", auth: owner.key })).status).toBe(200);
		expect((await makeKey(owner.key, { name: "now it fits" })).status).toBe(201);
	});
});

describe("DELETE /v1/me/keys/{id}", () => {
	it("makes a revoked key answer 401 at once, and shows it revoked in the list", async () => {
		const owner = await newAccount();
		const k = await keyOf(owner, "operate");
		expect((await call("/v1/me", { auth: k.key })).status).toBe(200);
		const { status, body } = await callJson<{ key: KeyView }>(`/v1/me/keys/${k.id}`, {
			method: "DELETE",
			auth: owner.key,
		});
		expect(status).toBe(200);
		expect(body.key.revoked_at).not.toBeNull();
		const after = await callJson<{ error: { code: string } }>("/v1/me", { auth: k.key });
		expect(after.status).toBe(401);
		expect(after.body.error.code).toBe("unauthorized");
		expect((await call("/v1/nodes", { auth: k.key })).status).toBe(401);
		expect((await keysOf(owner.key)).find((x) => x.id === k.id)?.revoked_at).not.toBeNull();
	});

	it("lets any key revoke itself, but a lesser key nobody else's", async () => {
		const owner = await newAccount();
		const read = await keyOf(owner, "read");
		const other = await keyOf(owner, "operate");
		const rent = await keyOf(owner, "rent");
		expect((await call(`/v1/me/keys/${other.id}`, { method: "DELETE", auth: read.key })).status).toBe(403);
		expect((await call(`/v1/me/keys/${rent.id}`, { method: "DELETE", auth: other.key })).status).toBe(403);
		expect((await call(`/v1/me/keys/${read.id}`, { method: "DELETE", auth: read.key })).status).toBe(200);
		expect((await call("/v1/me", { auth: read.key })).status).toBe(401);
		expect((await call("/v1/me", { auth: other.key })).status).toBe(200);
		// A rent key may not revoke the account's admin key (a higher scope).
		const admin = (await keysOf(owner.key)).find((k) => k.scope === "admin") as KeyView;
		expect((await call(`/v1/me/keys/${admin.id}`, { method: "DELETE", auth: rent.key })).status).toBe(403);
	});

	it("keeps the account's last key that can manage keys", async () => {
		const owner = await newAccount();
		const first = (await keysOf(owner.key))[0] as KeyView;
		const last = await callJson<{ error: { message: string } }>(`/v1/me/keys/${first.id}`, {
			method: "DELETE",
			auth: owner.key,
		});
		expect(last.status).toBe(409);
		expect(last.body.error.message).toMatch(/last key/);
		const rent = await keyOf(owner, "rent");
		expect((await call(`/v1/me/keys/${first.id}`, { method: "DELETE", auth: rent.key })).status).toBe(403);
		expect((await call(`/v1/me/keys/${first.id}`, { method: "DELETE", auth: owner.key })).status).toBe(200);
		expect((await call("/v1/me", { auth: owner.key })).status).toBe(401);
	});

	it("answers 404 for a key of another account, and leaves it working", async () => {
		const a = await newAccount();
		const b = await newAccount();
		const bs = await keyOf(b, "read");
		expect((await call(`/v1/me/keys/${bs.id}`, { method: "DELETE", auth: a.key })).status).toBe(404);
		expect((await call("/v1/me/keys/key_nosuchkey", { method: "DELETE", auth: a.key })).status).toBe(404);
		expect((await call("/v1/me", { auth: bs.key })).status).toBe(200);
	});
});

describe("scopes", () => {
	it("answers 403 naming the scope when a key's scope is too low, and changes nothing", async () => {
		const owner = await newAccount();
		const node = await registerNode(owner);
		const read = await keyOf(owner, "read");
		const operate = await keyOf(owner, "operate");
		const refused = await callJson<{ error: { code: string; message: string; required_scope: string } }>(
			`/v1/nodes/${node.id}`,
			{ method: "PATCH", auth: read.key, body: { name: "by a read key" } },
		);
		expect(refused.status).toBe(403);
		expect(refused.body.error).toMatchObject({ code: "forbidden", required_scope: "operate", key_scope: "read" });
		expect(refused.body.error.message).toMatch(/scope 'operate'/);
		expect(
			(await callJson<{ node: { name: string } }>(`/v1/nodes/${node.id}`, { auth: read.key })).body.node.name,
		).toBe("rig-1");
		expect((await call(`/v1/nodes/${node.id}`, { method: "DELETE", auth: read.key })).status).toBe(403);
		expect((await call("/v1/nodes", { auth: read.key })).status).toBe(200);
		const deploy = await callJson<{ error: { required_scope: string } }>("/v1/clusters", {
			auth: operate.key,
			body: { gpu_model: "RTX 4090", gpu_count: 1, hours: 1 },
		});
		expect(deploy.status).toBe(403);
		expect(deploy.body.error.required_scope).toBe("rent");
		const patched = await call(`/v1/nodes/${node.id}`, {
			method: "PATCH",
			auth: operate.key,
			body: { name: "by an operate key" },
		});
		expect(patched.status).toBe(200);
	});

	it("gives a staff account its staff powers only with an admin key", async () => {
		const staff = await newAccount("staff");
		await makeStaff(staff);
		const rent = await keyOf(staff, "rent");
		const withRent = await call("/v1/admin/audit", { auth: rent.key });
		expect(withRent.status).toBe(403);
		expect((await call("/v1/admin/audit", { auth: staff.key })).status).toBe(200);
		// A narrower key of a staff account sees tickets as a user does: only its own.
		const user = await newAccount("user");
		const t = await callJson<{ ticket: { id: string } }>("/v1/tickets", {
			auth: user.key,
			body: { subject: "help", body: "please" },
		});
		expect(t.status).toBe(201);
		expect((await call(`/v1/tickets/${t.body.ticket.id}`, { auth: rent.key })).status).toBe(404);
		expect((await call(`/v1/tickets/${t.body.ticket.id}`, { auth: staff.key })).status).toBe(200);
		const me = await callJson<{ account: { role: string }; key: KeyView }>("/v1/me", { auth: rent.key });
		expect(me.body.account.role).toBe("staff");
		expect(me.body.key.scope).toBe("rent");
	});

	it("needs an operate key to create a link code, since a linked chat can change things", async () => {
		const owner = await newAccount();
		const read = await keyOf(owner, "read");
		const operate = await keyOf(owner, "operate");
		expect((await call("/v1/links", { method: "POST", auth: read.key })).status).toBe(403);
		expect((await call("/v1/links", { method: "POST", auth: operate.key })).status).toBe(201);
	});
});

describe("GET /v1/me/audit", () => {
	it("records each key created and revoked, by which key, newest first, only for its account", async () => {
		const owner = await newAccount();
		const other = await newAccount();
		const k = await keyOf(owner, "operate", "agent box");
		expect((await call(`/v1/me/keys/${k.id}`, { method: "DELETE", auth: owner.key })).status).toBe(200);
		const { status, body } = await callJson<{
			entries: { action: string; target: string; actor: string; details: Record<string, unknown> }[];
			next_cursor: string | null;
		}>("/v1/me/audit", { auth: owner.key });
		expect(status).toBe(200);
		expect(body.entries.map((e) => [e.action, e.target])).toEqual([
			["api_key.revoke", `key:${k.id}`],
			["api_key.create", `key:${k.id}`],
		]);
		expect(body.entries[1]).toMatchObject({ actor: owner.id, details: { name: "agent box", scope: "operate" } });
		expect(JSON.stringify(body)).not.toContain(k.key);
		expect(body.next_cursor).toBeNull();
		const theirs = await callJson<{ entries: unknown[] }>("/v1/me/audit", { auth: other.key });
		expect(theirs.body.entries).toEqual([]);
	});

	it("refuses a malformed cursor or limit with 400", async () => {
		const owner = await newAccount();
		for (const q of ["?cursor=abc", "?limit=0", "?limit=101", "?cursor=-1", "?other=1"]) {
			expect((await call(`/v1/me/audit${q}`, { auth: owner.key })).status, q).toBe(400);
		}
	});
});
