// Link codes: single use, expiring, and a link ties a chat to exactly one account.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { linkedAccount, redeem as redeemLinkCode, unlink } from "../../workers/db/links.ts";
import { LINK_CODE_TTL_MS } from "../../workers/services/links.ts";
import { callJson, newAccount } from "./helpers.ts";

async function code(key: string): Promise<string> {
	const { status, body } = await callJson<{ code: string; telegram: string; telegram_url: string }>("/v1/links", {
		method: "POST",
		auth: key,
	});
	expect(status).toBe(201);
	expect(body.telegram).toBe(`/start ${body.code}`);
	expect(body.telegram_url).toBe(`https://t.me/${env.TELEGRAM_BOT_USERNAME}?start=${body.code}`);
	return body.code;
}

describe("link codes", () => {
	it("links a chat to the account that asked for the code", async () => {
		const a = await newAccount();
		const result = await redeemLinkCode(env.DB, await code(a.key), "telegram", "chat-1", Date.now());
		expect(result).toEqual({ ok: true, accountId: a.id });
		expect((await linkedAccount(env.DB, "telegram", "chat-1"))?.id).toBe(a.id);
	});

	it("can be used only once", async () => {
		const c = await code((await newAccount()).key);
		expect((await redeemLinkCode(env.DB, c, "discord", "u1", Date.now())).ok).toBe(true);
		expect(await redeemLinkCode(env.DB, c, "discord", "u2", Date.now())).toEqual({ ok: false, reason: "used" });
		expect(await linkedAccount(env.DB, "discord", "u2")).toBeNull();
	});

	it("expires after ten minutes", async () => {
		const c = await code((await newAccount()).key);
		expect(await redeemLinkCode(env.DB, c, "telegram", "late", Date.now() + LINK_CODE_TTL_MS + 1)).toEqual({
			ok: false,
			reason: "expired",
		});
	});

	it(
		"gives a Telegram deep link that starts the bot with the code, " +
			"and codes Telegram accepts as a start parameter",
		async () => {
			const { body } = await callJson<{ code: string; telegram_url: string }>("/v1/links", {
				method: "POST",
				auth: (await newAccount()).key,
			});
			const url = new URL(body.telegram_url);
			expect(url.origin).toBe("https://t.me");
			expect(url.pathname).toBe(`/${env.TELEGRAM_BOT_USERNAME}`);
			expect(url.searchParams.get("start")).toBe(body.code);
			expect(body.code).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
			const doc = (
				await callJson<{
					paths: Record<
						string,
						{
							post: {
								responses: Record<
									string,
									{ content: { "application/json": { schema: { properties: Record<string, unknown> } } } }
								>;
							};
						}
					>;
				}>("/openapi.json")
			).body;
			expect(
				doc.paths["/v1/links"]?.post.responses["201"]?.content["application/json"].schema.properties,
			).toHaveProperty("telegram_url");
		},
	);

	it("refuses a code that was never issued", async () => {
		expect(await redeemLinkCode(env.DB, "NOTACODE42", "telegram", "x", Date.now())).toEqual({
			ok: false,
			reason: "unknown",
		});
	});

	it("moves a chat to the newer account when it links again, and can be unlinked", async () => {
		const a = await newAccount();
		const b = await newAccount();
		await redeemLinkCode(env.DB, await code(a.key), "telegram", "moving", Date.now());
		await redeemLinkCode(env.DB, await code(b.key), "telegram", "moving", Date.now());
		expect((await linkedAccount(env.DB, "telegram", "moving"))?.id).toBe(b.id);
		expect(await unlink(env.DB, "telegram", "moving")).toBe(true);
		expect(await linkedAccount(env.DB, "telegram", "moving")).toBeNull();
	});
});
