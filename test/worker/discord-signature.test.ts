// POST /discord/interactions: nothing is parsed or answered unless Discord's Ed25519 signature over the raw body checks
// out.
import { InteractionResponseType, InteractionType } from "discord-interactions";
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { firstSighting } from "../../workers/db/discord-interactions.ts";
import { call } from "./helpers.ts";
import { commandPayload, discordUser, signedPost, snowflake } from "./discord-helpers.ts";

const PING = JSON.stringify({
	id: "1",
	application_id: "700000000000000001",
	type: InteractionType.PING,
	token: "t",
	version: 1,
});

async function otherKey(): Promise<CryptoKey> {
	return ((await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair)
		.privateKey;
}

describe("POST /discord/interactions signature", () => {
	it("answers a signed PING with PONG", async () => {
		const res = await signedPost(PING);
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ type: InteractionResponseType.PONG });
	});

	it("refuses a request without signature headers with 401", async () => {
		const res = await call("/discord/interactions", { rawBody: PING, headers: { "content-type": "application/json" } });
		expect(res.status).toBe(401);
		expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "Invalid request signature." } });
	});

	it("refuses a request signed with another key with 401", async () => {
		expect((await signedPost(PING, { key: await otherKey() })).status).toBe(401);
	});

	it("refuses a body changed after signing with 401", async () => {
		const signed = JSON.stringify(commandPayload(discordUser(), "help"));
		const sent = signed.replace('"help"', '"status"');
		expect((await signedPost(sent, { signed })).status).toBe(401);
	});

	it("refuses a signature whose timestamp is not the one signed with 401", async () => {
		const ts = String(Math.floor(Date.now() / 1000));
		const res = await signedPost(PING, { timestamp: ts, headers: { "x-signature-timestamp": String(Number(ts) - 1) } });
		expect(res.status).toBe(401);
	});

	it("refuses a correctly signed request replayed after 15 minutes with 401", async () => {
		expect((await signedPost(PING, { timestamp: String(Math.floor(Date.now() / 1000) - 16 * 60) })).status).toBe(401);
	});

	it("refuses a malformed signature header with 401 and never a 500", async () => {
		for (const sig of ["", "zz", "00".repeat(64) + "ff", "x".repeat(128)]) {
			const res = await call("/discord/interactions", {
				rawBody: PING,
				headers: { "x-signature-ed25519": sig, "x-signature-timestamp": String(Math.floor(Date.now() / 1000)) },
			});
			expect(res.status).toBe(401);
		}
	});

	it(
		"refuses a body that is not JSON with 401 when it is unsigned or badly signed: " +
			"the signature is checked before parsing",
		async () => {
			const unsigned = await call("/discord/interactions", {
				rawBody: "{not json",
				headers: { "content-type": "application/json" },
			});
			expect(unsigned.status).toBe(401);
			expect(await unsigned.json()).toEqual({ error: { code: "unauthorized", message: "Invalid request signature." } });
			expect((await signedPost("{not json", { key: await otherKey() })).status).toBe(401);
			expect((await signedPost("{not json", { signed: "{not json}" })).status).toBe(401);
		},
	);

	it("answers a signed body that is not JSON with 400", async () => {
		const res = await signedPost("{not json");
		expect(res.status).toBe(400);
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
	});

	it("answers a signed body without the interaction fields with 400", async () => {
		const res = await signedPost(JSON.stringify({ type: 2 }));
		expect(res.status).toBe(400);
	});

	it("refuses a body over 64 KiB with 413 before checking anything else", async () => {
		const res = await call("/discord/interactions", { rawBody: "x".repeat(65 * 1024) });
		expect(res.status).toBe(413);
	});

	it("handles a signed interaction once: its replay within 15 minutes is refused with 409 before it runs", async () => {
		const body = JSON.stringify(commandPayload(discordUser(), "help"));
		const timestamp = String(Math.floor(Date.now() / 1000));
		const first = await signedPost(body, { timestamp });
		expect(first.status).toBe(200);
		expect(((await first.json()) as { data: { content: string } }).data.content).toMatch(/^\*\*pulsegrid\*\*/);
		for (const replay of [await signedPost(body, { timestamp }), await signedPost(body)]) {
			expect(replay.status).toBe(409);
			expect(await replay.json()).toEqual({
				error: { code: "conflict", message: "This interaction was already handled." },
			});
		}
	});

	it("keeps handled interaction ids for 30 minutes (the whole replay window), then forgets them", async () => {
		const id = snowflake();
		const t = Date.now();
		const keep = 30 * 60_000;
		expect(await firstSighting(env.DB, id, t, keep)).toBe(true);
		expect(await firstSighting(env.DB, id, t + keep - 1, keep)).toBe(false);
		// A later interaction's insert deletes ids older than the window.
		expect(await firstSighting(env.DB, snowflake(), t + keep + 1, keep)).toBe(true);
		expect(await firstSighting(env.DB, id, t + keep + 2, keep)).toBe(true);
	});
});
