// The OpenAPI document stays true to the router.
import { describe, expect, it } from "vitest";
import { router } from "../../workers/router.ts";
import { callJson } from "./helpers.ts";

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
