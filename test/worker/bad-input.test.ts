// Bad input gets a clear 4xx in the one error shape, and changes nothing.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HARDWARE, call, callJson, freshIp, newAccount, newNodeKeys, nodeToken, registerNode } from "./helpers.ts";

async function expectError(res: Response, status: number, code: string) {
	expect(res.status).toBe(status);
	const body = (await res.json()) as { error: { code: string; message: string } };
	expect(body.error.code).toBe(code);
	expect(body.error.message).not.toMatch(/at .*\.ts:\d+/); // never a stack trace
}

async function nodeCount(): Promise<number> {
	return (await env.DB.prepare("SELECT count(*) AS n FROM nodes").first<{ n: number }>())?.n ?? -1;
}

describe("bad input on POST /v1/nodes", () => {
	const valid = async () => ({ name: "rig", public_key: (await newNodeKeys()).publicKey, hardware: HARDWARE });

	const cases: [string, (b: Record<string, unknown>) => unknown, number, string][] = [
		["an unknown top-level field", (b) => ({ ...b, status: "online" }), 400, "validation_failed"],
		[
			"an unknown hardware field",
			(b) => ({ ...b, hardware: { ...HARDWARE, fake_gpus: 100 } }),
			400,
			"validation_failed",
		],
		["a missing name", ({ name: _n, ...b }) => b, 400, "validation_failed"],
		[
			"a string where a number belongs",
			(b) => ({ ...b, hardware: { ...HARDWARE, gpu_count: "8" } }),
			400,
			"validation_failed",
		],
		["a fractional GPU count", (b) => ({ ...b, hardware: { ...HARDWARE, gpu_count: 1.5 } }), 400, "validation_failed"],
		["an absurd GPU count", (b) => ({ ...b, hardware: { ...HARDWARE, gpu_count: 100000 } }), 400, "validation_failed"],
		["a public key of the wrong length", (b) => ({ ...b, public_key: "abc" }), 400, "validation_failed"],
		["a bad region", (b) => ({ ...b, region: "EU WEST!" }), 400, "validation_failed"],
		["an array body", () => [1, 2], 400, "validation_failed"],
	];

	for (const [what, mutate, status, code] of cases) {
		it(`refuses ${what} with ${status} ${code} and creates nothing`, async () => {
			const owner = await newAccount();
			const before = await nodeCount();
			await expectError(await call("/v1/nodes", { auth: owner.key, body: mutate(await valid()) }), status, code);
			expect(await nodeCount()).toBe(before);
		});
	}

	it("refuses malformed JSON with 400 invalid_json", async () => {
		const owner = await newAccount();
		await expectError(await call("/v1/nodes", { auth: owner.key, rawBody: '{"name": "x",' }), 400, "invalid_json");
	});

	it("refuses a body that is not JSON with 415", async () => {
		const owner = await newAccount();
		await expectError(
			await call("/v1/nodes", {
				auth: owner.key,
				rawBody: "name=x",
				headers: { "content-type": "application/x-www-form-urlencoded" },
			}),
			415,
			"unsupported_media_type",
		);
	});

	it("refuses a body over 16 KiB with 413, whether or not it declares its length", async () => {
		const owner = await newAccount();
		const huge = JSON.stringify({ ...(await valid()), name: "x".repeat(20_000) });
		await expectError(await call("/v1/nodes", { auth: owner.key, rawBody: huge }), 413, "payload_too_large");
		const streamed = new Request("http://coordinator.test/v1/nodes", {
			method: "POST",
			body: new Blob([huge]).stream(),
			headers: {
				authorization: `Bearer ${owner.key}`,
				"content-type": "application/json",
				"cf-connecting-ip": freshIp(),
			},
		});
		expect(streamed.headers.get("content-length")).toBeNull();
		await expectError(await exports.default.fetch(streamed), 413, "payload_too_large");
	});

	it("refuses a second node with the same public key with 409", async () => {
		const owner = await newAccount();
		const body = await valid();
		expect((await call("/v1/nodes", { auth: owner.key, body })).status).toBe(201);
		await expectError(await call("/v1/nodes", { auth: owner.key, body: { ...body, name: "copy" } }), 409, "conflict");
	});
});

describe("bad input elsewhere", () => {
	it("refuses an empty PATCH and unknown fields in PATCH, leaving the node unchanged", async () => {
		const node = await registerNode(await newAccount());
		await expectError(
			await call(`/v1/nodes/${node.id}`, { method: "PATCH", auth: node.owner.key, body: {} }),
			400,
			"validation_failed",
		);
		await expectError(
			await call(`/v1/nodes/${node.id}`, { method: "PATCH", auth: node.owner.key, body: { status: "online" } }),
			400,
			"validation_failed",
		);
		const { body } = await callJson<{ node: { name: string; status: string } }>(`/v1/nodes/${node.id}`);
		expect(body.node).toMatchObject({ name: "rig-1", status: "new" });
	});

	it("answers unknown nodes and routes with 404", async () => {
		await expectError(await call("/v1/nodes/node_nope"), 404, "not_found");
		await expectError(await call("/v1/nope"), 404, "not_found");
	});

	it("refuses uptime windows that are reversed, too long or malformed", async () => {
		const node = await registerNode(await newAccount());
		await expectError(
			await call(`/v1/nodes/${node.id}/uptime?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`),
			400,
			"validation_failed",
		);
		await expectError(
			await call(`/v1/nodes/${node.id}/uptime?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`),
			400,
			"validation_failed",
		);
		await expectError(await call(`/v1/nodes/${node.id}/uptime?from=yesterday`), 400, "validation_failed");
		await expectError(await call(`/v1/nodes/${node.id}/uptime?window=1`), 400, "validation_failed");
	});

	it("refuses a connect that is not a WebSocket upgrade with 426", async () => {
		const node = await registerNode(await newAccount());
		await expectError(
			await call(`/v1/nodes/${node.id}/connect`, { auth: await nodeToken(node) }),
			426,
			"upgrade_required",
		);
	});
});

describe("node tokens", () => {
	const now = () => Math.floor(Date.now() / 1000);
	const bad: [string, Parameters<typeof nodeToken>[1] | "garbage" | "hs256"][] = [
		["an expired token", { iat: now() - 600, exp: now() - 300 }],
		["a token living longer than 5 minutes", { exp: now() + 3600 }],
		["a token without jti", { jti: null }],
		["a token for another audience", { aud: "someone-else" }],
		["a token whose sub is another node", { sub: "node_other" }],
		// Issued "tomorrow", it would outlive the shard-restart replay rule (docs/PROTOCOL.md §1).
		["a token issued a day in the future", { iat: now() + 86_400 }],
		["a token issued 60 s in the future (beyond the 30 s skew)", { iat: now() + 60 }],
		["something that is not a JWT", "garbage"],
		["an HS256 token", "hs256"],
	];
	for (const [what, o] of bad) {
		it(`refuses ${what} with 401`, async () => {
			const node = await registerNode(await newAccount());
			let token: string;
			if (o === "garbage") token = "not.a.jwt";
			else if (o === "hs256") token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
			else token = await nodeToken(node, o);
			await expectError(await call(`/v1/nodes/${node.id}/heartbeat`, { auth: token, body: {} }), 401, "unauthorized");
			const { body } = await callJson<{ node: { status: string } }>(`/v1/nodes/${node.id}`);
			expect(body.node.status).toBe("new");
		});
	}

	it("says why a future-dated token is refused, in the one error shape", async () => {
		const node = await registerNode(await newAccount());
		const token = await nodeToken(node, { iat: now() + 86_400 });
		const res = await call(`/v1/nodes/${node.id}/connect`, { auth: token, headers: { upgrade: "websocket" } });
		expect(res.status).toBe(401);
		const body = (await res.json()) as { error: { code: string; message: string } };
		expect(body.error).toEqual({ code: "unauthorized", message: expect.stringMatching(/'iat' is in the future/) });
	});

	it("accepts a token issued a few seconds ahead, within the tolerated clock skew", async () => {
		const node = await registerNode(await newAccount());
		const token = await nodeToken(node, { iat: now() + 10 });
		expect((await call(`/v1/nodes/${node.id}/heartbeat`, { auth: token, body: {} })).status).toBe(200);
	});

	it("refuses a token signed by another key", async () => {
		const node = await registerNode(await newAccount());
		const stranger = await newNodeKeys();
		await expectError(
			await call(`/v1/nodes/${node.id}/heartbeat`, {
				auth: await nodeToken(node, { key: stranger.privateKey }),
				body: {},
			}),
			401,
			"unauthorized",
		);
	});

	it("refuses a replayed heartbeat token", async () => {
		const node = await registerNode(await newAccount());
		const token = await nodeToken(node);
		expect((await call(`/v1/nodes/${node.id}/heartbeat`, { auth: token, body: {} })).status).toBe(200);
		await expectError(await call(`/v1/nodes/${node.id}/heartbeat`, { auth: token, body: {} }), 401, "unauthorized");
	});
});

describe("rate limits", () => {
	it("limits sign-ups per address with 429 and a Retry-After", async () => {
		const ip = freshIp();
		const statuses: number[] = [];
		for (let i = 0; i < 25; i++) {
			statuses.push(
				(await call("/v1/accounts", { body: { name: `n${i}` }, headers: { "cf-connecting-ip": ip } })).status,
			);
		}
		expect(statuses.slice(0, 20).every((s) => s === 201)).toBe(true);
		expect(statuses.slice(20)).toContain(429);
		const limited = await call("/v1/accounts", { body: { name: "late" }, headers: { "cf-connecting-ip": ip } });
		expect(limited.status).toBe(429);
		expect(limited.headers.get("retry-after")).toBe("60");
	});

	it("limits failed authentications per address with 429", async () => {
		const ip = freshIp();
		const statuses: number[] = [];
		for (let i = 0; i < 35; i++)
			statuses.push((await call("/v1/me", { auth: "pgk_wrong", headers: { "cf-connecting-ip": ip } })).status);
		expect(statuses[0]).toBe(401);
		expect(statuses.at(-1)).toBe(429);
	});
});
