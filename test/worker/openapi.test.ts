// The OpenAPI document stays true to the router, and its Error schema to real error bodies.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { router } from "../../workers/router.ts";
import { callJson, grant, newAccount, onlineFleet } from "./helpers.ts";

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
