// Inputs that must not hurt (issue 12, items 5 and 9): text that cannot be stored exactly, hostile characters in
// names, malformed percent-encoding in paths, and credentials sent to a public route that does not need them.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { grantOnce } from "../../workers/services/credits.ts";
import { TEST_ADMIN_TOKEN, call, callJson, freshIp, newAccount, nodeToken, registerNode } from "./helpers.ts";

async function expectError(res: Response, status: number, code: string): Promise<string> {
	expect(res.status).toBe(status);
	const body = (await res.json()) as { error: { code: string; message: string } };
	expect(body.error.code).toBe(code);
	return body.error.message;
}

async function grants(accountId: string): Promise<{ n: number; cents: number }> {
	const r = await env.DB.prepare(
		"SELECT count(*) AS n, coalesce(sum(available_delta), 0) AS cents FROM credit_entries WHERE account_id = ?",
	)
		.bind(accountId)
		.first<{ n: number; cents: number }>();
	return r ?? { n: -1, cents: -1 };
}

async function grantAudits(accountId: string): Promise<Record<string, unknown>[]> {
	const { results } = await env.DB.prepare(
		"SELECT details FROM audit_log WHERE action = 'credits.grant' AND target = ? ORDER BY id",
	)
		.bind(`account:${accountId}`)
		.all<{ details: string }>();
	return results.map((r) => JSON.parse(r.details) as Record<string, unknown>);
}

/** A grant's body, written by hand so that a lone surrogate reaches the Worker as the JSON escape a client sends. */
function grantBody(accountId: string, memoJson: string): string {
	return `{"account_id": "${accountId}", "amount_cents": 100, "memo": ${memoJson}}`;
}

function bytesHex(s: string): string {
	return [...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");
}

describe("credit grants with text that cannot be stored exactly", () => {
	for (const idempotencyKey of [undefined, "grant-surrogate-1"]) {
		it(`refuses a memo with a lone surrogate with 400, three times, granting and auditing nothing (${
			idempotencyKey ? "with" : "without"
		} an Idempotency-Key)`, async () => {
			const acc = await newAccount();
			for (let i = 0; i < 3; i++) {
				const res = await call("/v1/admin/credits", {
					auth: TEST_ADMIN_TOKEN,
					rawBody: grantBody(acc.id, '"bonus \\ud800 x"'),
					headers: idempotencyKey ? { "idempotency-key": idempotencyKey } : {},
				});
				expect(await expectError(res, 400, "validation_failed")).toMatch(/^memo: .*surrogate/);
			}
			expect(await grants(acc.id)).toEqual({ n: 0, cents: 0 });
			expect(await grantAudits(acc.id)).toEqual([]);
		});
	}

	it("answers the call that wrote a grant with it, even if its memo reads back changed (never 409)", async () => {
		// Below the schema: a memo D1 cannot store exactly (it reads back as U+FFFD) once made the grant land and the
		// answer say 409, so retries granted again. The writer of the entry is now told it was created.
		const acc = await newAccount();
		const trace = { actor: "admin", action: "credits.grant", target: `account:${acc.id}`, details: {} };
		const key = `grant:lossy-${acc.id}`;
		const r = await grantOnce(env.DB, key, acc.id, 100, "x\ud800y", trace, Date.now());
		expect(r?.created).toBe(true);
		expect(r?.entry.available_delta_cents).toBe(100);
		expect(await grants(acc.id)).toEqual({ n: 1, cents: 100 });
		expect(await grantAudits(acc.id)).toHaveLength(1);
	});

	it("audits a grant with its memo once, and answers a replay under the same key like the first", async () => {
		const acc = await newAccount();
		const memo = "welcome credit ✓ 🎉 שלום";
		const send = () =>
			callJson<{ entry: { memo: string; available_delta_cents: number } }>("/v1/admin/credits", {
				auth: TEST_ADMIN_TOKEN,
				body: { account_id: acc.id, amount_cents: 250, memo },
				headers: { "idempotency-key": `memo-${acc.id}` },
			});
		const first = await send();
		const replay = await send();
		expect(first.status).toBe(201);
		expect(replay.status).toBe(200);
		expect(replay.body).toEqual(first.body);
		expect(first.body.entry.memo).toBe(memo);
		expect(await grants(acc.id)).toEqual({ n: 1, cents: 250 });
		const audits = await grantAudits(acc.id);
		expect(audits).toHaveLength(1);
		expect(audits[0]).toMatchObject({ amount_cents: 250, memo });
	});

	it("refuses a key reused for a different grant with 409, writing nothing", async () => {
		const acc = await newAccount();
		const headers = { "idempotency-key": `reuse-${acc.id}` };
		const body = { account_id: acc.id, amount_cents: 100, memo: "first" };
		expect((await call("/v1/admin/credits", { auth: TEST_ADMIN_TOKEN, body, headers })).status).toBe(201);
		await expectError(
			await call("/v1/admin/credits", { auth: TEST_ADMIN_TOKEN, body: { ...body, memo: "second" }, headers }),
			409,
			"conflict",
		);
		expect(await grants(acc.id)).toEqual({ n: 1, cents: 100 });
		expect(await grantAudits(acc.id)).toHaveLength(1);
	});

	it("stores every clean memo byte for byte (property)", async () => {
		const acc = await newAccount();
		const clean = fc
			.string({ unit: "grapheme", minLength: 1, maxLength: 16 })
			.filter((s) => !/[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u.test(s));
		await fc.assert(
			fc.asyncProperty(clean, async (memo) => {
				const { status, body } = await callJson<{ entry: { id: number; memo: string } }>("/v1/admin/credits", {
					auth: TEST_ADMIN_TOKEN,
					body: { account_id: acc.id, amount_cents: 1, memo },
				});
				expect(status).toBe(201);
				expect(body.entry.memo).toBe(memo);
				const row = await env.DB.prepare("SELECT hex(memo) AS h FROM credit_entries WHERE id = ?")
					.bind(body.entry.id)
					.first<{ h: string }>();
				expect(row?.h).toBe(bytesHex(memo));
			}),
			{ numRuns: 40 },
		);
	});
});

/** One node and one ticket of one owner: what the hostile-field table writes into. */
async function world() {
	const node = await registerNode(await newAccount("owner"));
	const { body } = await callJson<{ ticket: { id: string } }>("/v1/tickets", {
		auth: node.owner.key,
		body: { subject: "help", body: "first message" },
	});
	return { node, ticket: body.ticket.id };
}
type World = Awaited<ReturnType<typeof world>>;

const TABLES = ["accounts", "nodes", "tickets", "ticket_messages", "credit_entries", "audit_log", "flags"];

async function snapshot(w: World) {
	const counts = await Promise.all(
		TABLES.map(async (t) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${t}`).first<{ n: number }>())?.n),
	);
	const node = await callJson(`/v1/nodes/${w.node.id}`, { auth: w.node.owner.key });
	const settings = await callJson("/v1/alerts/settings", { auth: w.node.owner.key });
	return { counts, node: node.body, settings: settings.body };
}

interface Field {
	field: string;
	method?: string;
	path: (w: World) => string;
	auth: (w: World) => string;
	body: (w: World, text: string) => Record<string, unknown>;
}

const owner = (w: World) => w.node.owner.key;
const admin = () => TEST_ADMIN_TOKEN;
const hw = { gpu_model: "RTX 4090", gpu_count: 1, vram_gb: 24, cpu_cores: 16, ram_gb: 64 };
const KEY = "A".repeat(43);

/** Every user-supplied text field the API stores or acts on, each written through its own route. */
const FIELDS: Field[] = [
	{ field: "name", path: () => "/v1/accounts", auth: () => "", body: (_w, t) => ({ name: t }) },
	{
		field: "name",
		path: () => "/v1/nodes",
		auth: owner,
		body: (_w, t) => ({ name: t, public_key: KEY, hardware: hw }),
	},
	{
		field: "hardware.gpu_model",
		path: () => "/v1/nodes",
		auth: owner,
		body: (_w, t) => ({ name: "rig", public_key: KEY, hardware: { ...hw, gpu_model: t } }),
	},
	{
		field: "name",
		method: "PATCH",
		path: (w) => `/v1/nodes/${w.node.id}`,
		auth: owner,
		body: (_w, t) => ({ name: t }),
	},
	{ field: "subject", path: () => "/v1/tickets", auth: owner, body: (_w, t) => ({ subject: t, body: "hello" }) },
	{ field: "body", path: () => "/v1/tickets", auth: owner, body: (_w, t) => ({ subject: "hello", body: t }) },
	{ field: "body", path: (w) => `/v1/tickets/${w.ticket}/messages`, auth: owner, body: (_w, t) => ({ body: t }) },
	{
		field: "memo",
		path: () => "/v1/admin/credits",
		auth: admin,
		body: (w, t) => ({ account_id: w.node.owner.id, amount_cents: 5, memo: t }),
	},
	{
		field: "reason",
		path: () => "/v1/admin/adjustments",
		auth: admin,
		body: (w, t) => ({ node_id: w.node.id, epoch: 1, points: 5, reason: `because ${t}` }),
	},
	{
		field: "reason",
		path: () => "/v1/admin/flags",
		auth: admin,
		body: (w, t) => ({ node_id: w.node.id, code: "test_flag", reason: `because ${t}`, share: 0.5 }),
	},
	{ field: "target", path: () => "/v1/alerts/mutes", auth: owner, body: (_w, t) => ({ target: t, duration: "1h" }) },
	{
		field: "discord_webhook_url",
		method: "PATCH",
		path: () => "/v1/alerts/settings",
		auth: owner,
		body: (_w, t) => ({ discord_webhook_url: `https://discord.com/api/webhooks/1/${t}` }),
	},
	{
		field: "gpu_model",
		path: () => "/v1/quotes",
		auth: owner,
		body: (_w, t) => ({ gpu_model: `RTX 4090${t}`, gpu_count: 1, hours: 1 }),
	},
];

/** JSON escapes, so a lone surrogate travels as a client would send it. */
const HOSTILE: [string, string][] = [
	["NUL", "\\u0000"],
	["a bell", "\\u0007"],
	["a C1 control", "\\u0085"],
	["an RTL override", "\\u202e"],
	["a first-strong isolate", "\\u2068"],
	["a line separator", "\\u2028"],
	["a lone high surrogate", "\\ud83d"],
	["a lone low surrogate", "\\ude00"],
];

describe("hostile characters in user text", () => {
	for (const f of FIELDS) {
		it(`refuses ${HOSTILE.map(([what]) => what).join(", ")} in ${f.method ?? "POST"} ${f.path({
			node: { id: ":id" },
			ticket: ":id",
		} as World)} ${f.field} with a 400 naming the field, changing nothing`, async () => {
			const w = await world();
			const before = await snapshot(w);
			for (const [, jsonEscape] of HOSTILE) {
				const sentinel = "\u0001marker\u0001";
				const raw = JSON.stringify(f.body(w, `a${sentinel}b`)).replace(
					JSON.stringify(sentinel).slice(1, -1),
					jsonEscape,
				);
				expect(raw).toContain(jsonEscape);
				const res = await call(f.path(w), { method: f.method ?? "POST", auth: f.auth(w) || undefined, rawBody: raw });
				const message = await expectError(res, 400, "validation_failed");
				expect(message.startsWith(`${f.field}: `)).toBe(true);
			}
			expect(await snapshot(w)).toEqual(before);
		});
	}

	it("keeps newlines and tabs in a ticket body (CRLF becomes LF) and refuses a newline in its subject", async () => {
		const w = await world();
		const { status, body } = await callJson<{ messages: { body: string }[] }>("/v1/tickets", {
			auth: w.node.owner.key,
			body: { subject: "two lines", body: "line one\r\n\tline two\nthree" },
		});
		expect(status).toBe(201);
		expect(body.messages[0]?.body).toBe("line one\n\tline two\nthree");
		const forged = await call("/v1/tickets", {
			auth: w.node.owner.key,
			body: { subject: "help\nNode: node_forged", body: "x" },
		});
		expect(await expectError(forged, 400, "validation_failed")).toMatch(/^subject: must not contain control/);
	});

	it("accepts right-to-left names, bidi marks and emoji, and shows them back exactly", async () => {
		const w = await world();
		const name = "خادم\u200F 🚀 rig";
		const res = await callJson<{ node: { name: string } }>(`/v1/nodes/${w.node.id}`, {
			method: "PATCH",
			auth: w.node.owner.key,
			body: { name },
		});
		expect(res.status).toBe(200);
		expect(res.body.node.name).toBe(name);
	});
});

describe("malformed percent-encoding in path parameters", () => {
	const BAD: [string, string, "owner" | "admin" | "node"][] = [
		["DELETE", "/v1/alerts/mutes/%ff", "owner"],
		["GET", "/v1/nodes/%ff", "owner"],
		["PATCH", "/v1/nodes/%E2%82", "owner"],
		["GET", "/v1/nodes/%c0%af/uptime", "owner"],
		["POST", "/v1/nodes/%ff/heartbeat", "node"],
		["GET", "/v1/tickets/%ff", "owner"],
		["GET", "/v1/clusters/%ff", "owner"],
		["GET", "/v1/epochs/%ff/proof/node_x", "owner"],
		["DELETE", "/v1/admin/flags/%ed%a0%80", "admin"],
		["GET", "/v1/nope/%ff", "owner"],
	];
	for (const [method, path, who] of BAD) {
		it(`answers ${method} ${path} with 400 validation_failed, not 500`, async () => {
			const node = await registerNode(await newAccount());
			const auth = who === "admin" ? TEST_ADMIN_TOKEN : who === "node" ? await nodeToken(node) : node.owner.key;
			const body = method === "POST" || method === "PATCH" ? {} : undefined;
			const message = await expectError(await call(path, { method, auth, body }), 400, "validation_failed");
			expect(message).toMatch(/percent-encoded UTF-8/);
		});
	}

	it("refuses a path parameter that decodes to a control or bidi character with 400 naming it", async () => {
		const node = await registerNode(await newAccount());
		for (const p of ["%00", "%E2%80%AE", "%0A"]) {
			const message = await expectError(await call(`/v1/nodes/${p}`), 400, "validation_failed");
			expect(message).toMatch(/^The path parameter 'id' must not contain/);
		}
		expect((await call(`/v1/nodes/${node.id}`)).status).toBe(200);
	});

	it("decodes a parameter exactly once: unmutes nodes named 'my rig' and '100%ff' by name", async () => {
		const node = await registerNode(await newAccount());
		const other = await registerNode(node.owner, { name: "100%ff" });
		await call(`/v1/nodes/${node.id}`, { method: "PATCH", auth: node.owner.key, body: { name: "my rig" } });
		for (const [target, path] of [
			["my rig", "my%20rig"],
			["100%ff", "100%25ff"],
		]) {
			const muted = await call("/v1/alerts/mutes", { auth: node.owner.key, body: { target, duration: "1h" } });
			expect(muted.status).toBe(201);
			const { status, body } = await callJson<{ lifted: string[] }>(`/v1/alerts/mutes/${path}`, {
				method: "DELETE",
				auth: node.owner.key,
			});
			expect(status).toBe(200);
			expect(body.lifted.join(" ")).toContain(target === "my rig" ? node.id : other.id);
		}
	});
});

describe("credentials on the public GET /v1/nodes/:id", () => {
	it("ignores a node token, the admin token, another scheme and a wrong key: 200 with the public view", async () => {
		const node = await registerNode(await newAccount());
		const credentials = [await nodeToken(node), TEST_ADMIN_TOKEN, "pgk_not_a_real_key", "garbage"];
		for (const auth of credentials) {
			const { status, body } = await callJson<{ node: Record<string, unknown> }>(`/v1/nodes/${node.id}`, { auth });
			expect(status).toBe(200);
			expect(body.node.id).toBe(node.id);
			expect(body.node).not.toHaveProperty("public_key");
		}
		const basic = await call(`/v1/nodes/${node.id}`, { headers: { authorization: "Basic dXNlcjpwYXNz" } });
		expect(basic.status).toBe(200);
		const mine = await callJson<{ node: Record<string, unknown> }>(`/v1/nodes/${node.id}`, { auth: node.owner.key });
		expect(mine.body.node).toHaveProperty("public_key");
	});

	it("still counts wrong API keys against the address, so guessing keys there ends in 429", async () => {
		const node = await registerNode(await newAccount());
		const ip = freshIp();
		const statuses: number[] = [];
		for (let i = 0; i < 35; i++) {
			const res = await call(`/v1/nodes/${node.id}`, { auth: `pgk_guess${i}`, headers: { "cf-connecting-ip": ip } });
			statuses.push(res.status);
		}
		expect(statuses[0]).toBe(200);
		expect(statuses.at(-1)).toBe(429);
		// A node token from the same address is not a failed authentication: it is simply not needed here.
		const other = freshIp();
		for (let i = 0; i < 35; i++) {
			const res = await call(`/v1/nodes/${node.id}`, {
				auth: TEST_ADMIN_TOKEN,
				headers: { "cf-connecting-ip": other },
			});
			expect(res.status).toBe(200);
		}
	});
});
