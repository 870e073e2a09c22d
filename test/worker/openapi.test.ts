// The OpenAPI document stays true to the router, and its response schemas (Error among them) to real bodies.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { router } from "../../workers/router.ts";
import { echoAnswer } from "../../workers/domain/challenge.ts";
import {
	TEST_ADMIN_TOKEN,
	callJson,
	connect,
	grant,
	newAccount,
	nodeToken,
	onlineFleet,
	registerNode,
	shardOf,
	sweepAt,
	type TestNode,
} from "./helpers.ts";

describe("GET /openapi.json", () => {
	it("documents every route the router serves, with its method", async () => {
		const { status, body } = await callJson<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
			"/openapi.json",
		);
		expect(status).toBe(200);
		expect(body.openapi).toBe("3.1.0");
		const served = router.routes
			.filter(([method]) => method !== "ALL")
			.map(([method, , , path]) => `${method.toLowerCase()} ${(path as string).replace(/:(\w+)/g, "{$1}")}`);
		const documented = Object.entries(body.paths).flatMap(([path, ops]) =>
			Object.keys(ops)
				.filter((k) => k !== "parameters")
				.map((m) => `${m} ${path}`),
		);
		expect(documented.sort()).toEqual(served.sort());
	});

	it("rejects unknown fields in its request schemas, as the routes do", async () => {
		const { body } = await callJson<{
			paths: Record<
				string,
				{ post?: { requestBody?: { content: { "application/json": { schema: { additionalProperties?: boolean } } } } } }
			>;
		}>("/openapi.json");
		expect(body.paths["/v1/nodes"]?.post?.requestBody?.content["application/json"].schema.additionalProperties).toBe(
			false,
		);
	});
});

type Doc = {
	components: { schemas: Record<string, unknown> };
	paths: Record<
		string,
		Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
	>;
};

/** A validator for one response of the served document: its schema, with the components as `$defs`. */
function responseSchema(doc: Doc, path: string, method: string, status: number): z.ZodType {
	const schema = doc.paths[path]?.[method]?.responses[status]?.content?.["application/json"]?.schema;
	if (!schema) throw new Error(`${method} ${path} documents no ${status} body`);
	const local = JSON.parse(JSON.stringify(schema).replaceAll("#/components/schemas/", "#/$defs/"));
	const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll("#/components/schemas/", "#/$defs/"));
	return z.fromJSONSchema({ ...local, $defs: defs });
}

async function deploy(key: string, body: Record<string, unknown>) {
	return callJson<{ error: Record<string, unknown> }>("/v1/clusters", { auth: key, body });
}

describe("the Error schema", () => {
	it("describes exactly the bodies of a refused deploy (402, and both 422s)", async () => {
		const doc = (await callJson<Doc>("/openapi.json")).body;
		const err = (status: number) => responseSchema(doc, "/v1/clusters", "post", status);

		await onlineFleet(1, { gpu_model: "RTX 3090" });
		const poor = await newAccount("poor");
		await grant(poor.id, 1);
		const short = await deploy(poor.key, { gpu_model: "RTX 3090", gpu_count: 1, hours: 1 });
		expect(short.status).toBe(402);
		const rich = await newAccount("rich");
		await grant(rich.id, 100_000);
		const capacity = await deploy(rich.key, { gpu_model: "RTX 3090", gpu_count: 5, hours: 1 });
		expect(capacity.status).toBe(422);
		const capped = await deploy(rich.key, {
			gpu_model: "RTX 3090",
			gpu_count: 1,
			hours: 1,
			max_price_per_gpu_hour: 0.01,
		});
		expect(capped.status).toBe(422);

		for (const [status, body] of [
			[402, short.body],
			[422, capacity.body],
			[422, capped.body],
		] as const) {
			const r = err(status).safeParse(body);
			expect(r.success, `${status} ${JSON.stringify(body)}: ${r.error?.message}`).toBe(true);
		}
		expect(Object.keys(short.body.error).sort()).toEqual(["code", "message", "quote"]);
		expect(Object.keys(capacity.body.error).sort()).toEqual(["available_gpus", "code", "message"]);
		expect(Object.keys(capped.body.error).sort()).toEqual(["code", "message", "quote"]);

		// The schema says what is there, and nothing else: the 402's quote is required, its fields typed, and an
		// undocumented field, or a quote field missing, fails.
		const { quote, ...noQuote } = short.body.error;
		expect(err(402).safeParse({ error: noQuote }).success).toBe(false);
		expect(err(402).safeParse({ error: { ...short.body.error, extra: 1 } }).success).toBe(false);
		const q = quote as Record<string, unknown>;
		expect(err(402).safeParse({ error: { ...noQuote, quote: { ...q, total_cents: "1" } } }).success).toBe(false);
		const { fee_cents: _, ...noFee } = q;
		expect(err(402).safeParse({ error: { ...noQuote, quote: noFee } }).success).toBe(false);
		expect(err(422).safeParse({ error: { ...capacity.body.error, available_gpus: -1 } }).success).toBe(false);
		expect(err(422).safeParse({ error: { ...capacity.body.error, code: "no_such_code" } }).success).toBe(false);
	});
});

/** Validates `body` against the documented response, saying why not. */
function expectValid(doc: Doc, path: string, method: string, status: number, body: unknown): void {
	const r = responseSchema(doc, path, method, status).safeParse(body);
	expect(r.success, `${method} ${path} ${status} ${JSON.stringify(body)}: ${r.error?.message}`).toBe(true);
}

type Result = { id: string; passed: boolean; outcome: string; epoch: number };
interface Beat {
	challenge: { id: string; nonce: string; deadline: string } | null;
	results: Result[];
}

async function beat(node: TestNode, answers?: { id: string; answer: string }[]) {
	return callJson<Beat>(`/v1/nodes/${node.id}/heartbeat`, {
		auth: await nodeToken(node),
		body: answers ? { answers } : {},
	});
}

describe("the response schemas", () => {
	it("describe the uptime route's bodies exactly", async () => {
		const doc = (await callJson<Doc>("/openapi.json")).body;
		const path = "/v1/nodes/{id}/uptime";
		const owner = await newAccount();
		const linked = await registerNode(owner);
		await (await connect(linked)).next("welcome");
		const never = await registerNode(owner);
		const bodies = [
			await callJson<Record<string, unknown>>(`/v1/nodes/${linked.id}/uptime`), // one interval, still open
			await callJson<Record<string, unknown>>(`/v1/nodes/${never.id}/uptime`), // never online
			// A window that ended before the node existed: nothing measurable.
			await callJson<Record<string, unknown>>(
				`/v1/nodes/${linked.id}/uptime?to=${new Date(Date.now() - 3600_000).toISOString()}`,
			),
		];
		for (const { status, body } of bodies) {
			expect(status).toBe(200);
			expectValid(doc, path, "get", 200, body);
		}
		const [open, none, before] = bodies.map((b) => b.body);
		expect(open?.intervals).toEqual([{ started_at: expect.any(String), ended_at: null }]);
		expect(open?.incident_seconds).toBe(0);
		expect(none).toMatchObject({ online_seconds: 0, incident_seconds: 0, ratio: 0, intervals: [] });
		expect(before).toMatchObject({ ratio: 0, measured_to: before?.measured_from });

		const schema = responseSchema(doc, path, "get", 200);
		const { incident_seconds: _, ...noIncident } = open as Record<string, unknown>;
		expect(schema.safeParse(noIncident).success).toBe(false);
		expect(schema.safeParse({ ...open, extra: 1 }).success).toBe(false);
		expect(schema.safeParse({ ...open, ratio: 1.5 }).success).toBe(false);
	});

	it("describe the HTTP heartbeat reply exactly: a challenge, a told pass, and a miss found by a sweep", async () => {
		const doc = (await callJson<Doc>("/openapi.json")).body;
		const path = "/v1/nodes/{id}/heartbeat";
		const node = await registerNode(await newAccount(), { region: "openapi-beats" });
		const replies: Beat[] = [];
		const next = async (answers?: { id: string; answer: string }[]) => {
			const { status, body } = await beat(node, answers);
			expect(status).toBe(200);
			replies.push(body);
			return body;
		};
		let c: Beat["challenge"] = null;
		for (let i = 0; i < 5 && !c; i++) c = (await next()).challenge;
		if (!c) throw new Error("no challenge in five beats");
		const answered = await next([{ id: c.id, answer: await echoAnswer(node.id, c.nonce) }]);
		expect(answered.results).toEqual([{ id: c.id, passed: true, outcome: "passed", epoch: expect.any(Number) }]);

		// A challenge left unanswered past its deadline: the sweep records the miss, the next reply tells it.
		const pending = answered.challenge ?? (await next()).challenge;
		if (!pending) throw new Error("no second challenge");
		await new Promise((r) => setTimeout(r, 20));
		await next(); // keeps the node online through the sweep below
		await sweepAt(await shardOf(node), Date.parse(pending.deadline) + 1);
		const told = await next();
		expect(told.results).toEqual([{ id: pending.id, passed: false, outcome: "missed", epoch: expect.any(Number) }]);

		for (const body of replies) expectValid(doc, path, "post", 200, body);
		const schema = responseSchema(doc, path, "post", 200);
		const result = told.results[0] as Result;
		expect(schema.safeParse({ ...told, results: [{ ...result, outcome: "void" }] }).success).toBe(false);
		expect(schema.safeParse({ ...told, results: [{ id: result.id, passed: false }] }).success).toBe(false);
	});

	it("describe a node, the prices, a quote, a grant (made and replayed) and billing", async () => {
		const doc = (await callJson<Doc>("/openapi.json")).body;
		const { fleet } = await onlineFleet(1, { gpu_model: "RTX 3090" });
		const node = (fleet[0] as { node: TestNode }).node;
		const pub = await callJson(`/v1/nodes/${node.id}`);
		const own = await callJson(`/v1/nodes/${node.id}`, { auth: node.owner.key });
		for (const r of [pub, own]) expectValid(doc, "/v1/nodes/{id}", "get", 200, r.body);

		expectValid(doc, "/v1/prices", "get", 200, (await callJson("/v1/prices")).body);
		const q = await callJson("/v1/quotes", { body: { gpu_model: "RTX 3090", gpu_count: 1, hours: 2 } });
		expect(q.status).toBe(200);
		expectValid(doc, "/v1/quotes", "post", 200, q.body);

		const renter = await newAccount("renter");
		const g = { auth: TEST_ADMIN_TOKEN, headers: { "idempotency-key": `openapi-${renter.id}` } };
		const made = await callJson("/v1/admin/credits", { ...g, body: { account_id: renter.id, amount_cents: 500 } });
		const replay = await callJson("/v1/admin/credits", { ...g, body: { account_id: renter.id, amount_cents: 500 } });
		expect([made.status, replay.status]).toEqual([201, 200]);
		expect(replay.body).toEqual(made.body);
		expectValid(doc, "/v1/admin/credits", "post", 201, made.body);
		expectValid(doc, "/v1/admin/credits", "post", 200, replay.body);

		const billing = await callJson<Record<string, unknown>>("/v1/billing", { auth: renter.key });
		expectValid(doc, "/v1/billing", "get", 200, billing.body);
		const schema = responseSchema(doc, "/v1/billing", "get", 200);
		const { fees: _, ...noFees } = billing.body;
		expect(schema.safeParse(noFees).success).toBe(false);
	});
});
