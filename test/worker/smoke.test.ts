import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
	it("creates an account and reads it back", async () => {
		const res = await exports.default.fetch(
			new Request("http://x/v1/accounts", {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify({ name: "alice" }),
			}),
		);
		expect(res.status).toBe(201);
		const body = (await res.json()) as { api_key: string; account: { id: string } };
		const me = await exports.default.fetch(
			new Request("http://x/v1/me", { headers: { authorization: `Bearer ${body.api_key}` } }),
		);
		expect(await me.json()).toMatchObject({ account: { id: body.account.id, name: "alice" } });
	});
});
