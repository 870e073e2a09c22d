// The Telegram bot on POST /telegram/webhook: the secret first, then linking, commands, and a chat confined to its own
// account.
import { env } from "cloudflare:workers";
import { Api } from "grammy";
import { describe, expect, it } from "vitest";
import { TEST_BOT_TOKEN } from "../constants.ts";
import { LINK_CODE_TTL_MS, createLinkCode } from "../../workers/services/links.ts";
import { callJson, newAccount, registerNode } from "./helpers.ts";
import {
	FAKE,
	ask,
	callsOf,
	linkViaBot,
	messagesTo,
	newChatId,
	nodeWithPoints,
	sendUpdate,
	throttle,
} from "./alert-helpers.ts";

describe("POST /telegram/webhook", () => {
	it("answers 401 without the secret token, or with a wrong one, and does nothing", async () => {
		const chat = newChatId();
		for (const secret of [null, "", "wrong-secret", "test-webhook-secret-but-longer"]) {
			const res = await sendUpdate(chat, "/help", { secret });
			expect(res.status).toBe(401);
			expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
		}
		expect(await messagesTo(chat)).toEqual([]);
	});

	it("refuses a body that is not an update, once the secret is right", async () => {
		const res = await callJson("/telegram/webhook", {
			method: "POST",
			rawBody: "{not json",
			headers: { "x-telegram-bot-api-secret-token": "test-webhook-secret" },
		});
		expect(res.status).toBe(400);
		const res2 = await callJson("/telegram/webhook", {
			method: "POST",
			body: { hello: 1 },
			headers: { "x-telegram-bot-api-secret-token": "test-webhook-secret" },
		});
		expect(res2.status).toBe(400);
	});

	it("links a chat with /start CODE, and the code works only once", async () => {
		const owner = await newAccount("ada");
		const { body } = await callJson<{ code: string }>("/v1/links", { method: "POST", auth: owner.key });
		const chat = newChatId();
		expect(await ask(chat, `/start ${body.code}`)).toMatch(/^✅ Linked to ada\./);
		expect(await ask(newChatId(), `/start ${body.code}`)).toMatch(/already been used/);
		expect(await ask(chat, "/status")).toMatch(/^ada: 0 nodes/);
	});

	it("refuses an expired code and an unknown one on /start", async () => {
		const owner = await newAccount();
		const { code } = await createLinkCode(env.DB, owner.id, Date.now() - LINK_CODE_TTL_MS - 1000);
		const chat = newChatId();
		expect(await ask(chat, `/start ${code}`)).toMatch(/expired/);
		expect(await ask(chat, "/start NOTACODE99")).toMatch(/not valid/);
		expect(await ask(chat, "/nodes")).toMatch(/not linked/);
	});

	it("answers an unknown command, and plain text in a private chat, with help", async () => {
		const chat = newChatId();
		expect(await ask(chat, "/frobnicate now")).toMatch(
			/^I don't know that command\.\n\npulsegrid tells you[\s\S]*\/mute <node\|all>/,
		);
		expect(await ask(chat, "hello?")).toMatch(/^I only understand commands\.[\s\S]*\/help/);
		expect(await ask(chat, "/help")).toMatch(/\/maintenance <node> on\|off/);
	});

	it("tells a chat that is not linked how to link, whatever it asks", async () => {
		const chat = newChatId();
		for (const cmd of ["/status", "/nodes", "/points", "/mute all 1h", "/unmute", "/maintenance x on", "/alerts"]) {
			expect(await ask(chat, cmd)).toMatch(/not linked to a pulsegrid account/);
		}
	});

	it("shows a chat only the nodes of the account it is linked to", async () => {
		const mine = await newAccount("mine");
		const theirs = await newAccount("theirs");
		const a = await registerNode(mine, { name: "my-rig" });
		const b = await registerNode(theirs, { name: "their-rig" });
		const chat = await linkViaBot(mine);
		const nodes = await ask(chat, "/nodes");
		expect(nodes).toContain(`my-rig (${a.id})`);
		expect(nodes).not.toContain("their-rig");
		expect(await ask(chat, "/status")).toMatch(
			/^mine: 1 node — 0 online, 0 offline, 0 in maintenance, 1 never connected/,
		);
		// Someone else's node cannot be muted or put in maintenance, by id or by name.
		expect(await ask(chat, `/mute ${b.id} 1h`)).toMatch(/^You have no node/);
		expect(await ask(chat, "/maintenance their-rig on")).toMatch(/^You have no node/);
		const theirNode = await callJson<{ node: { maintenance: boolean } }>(`/v1/nodes/${b.id}`, { auth: theirs.key });
		expect(theirNode.body.node.maintenance).toBe(false);
	});

	it("validates /mute durations: positive, m/h/d, at most 30 days", async () => {
		const owner = await newAccount();
		await registerNode(owner, { name: "rig" });
		const chat = await linkViaBot(owner);
		for (const bad of ["0m", "31d", "5w", "1.5h", "-2h", "soon"])
			expect(await ask(chat, `/mute rig ${bad}`), bad).toMatch(/Usage: \/mute/);
		expect(await ask(chat, "/mute rig")).toMatch(/^Usage: \/mute/);
		expect(await ask(chat, "/mute rig 30d")).toMatch(/^🔕 Muted rig for 30d/);
		const { body } = await callJson<{ settings: { mutes: { target: string }[] } }>("/v1/alerts/settings", {
			auth: owner.key,
		});
		expect(body.settings.mutes).toHaveLength(1);
		expect(await ask(chat, "/unmute rig")).toMatch(/^🔔 Unmuted/);
		expect(await ask(chat, "/unmute")).toBe("Nothing was muted.");
	});

	it("puts a node in maintenance with /maintenance, through the same service as PATCH /v1/nodes/:id", async () => {
		const owner = await newAccount();
		const node = await registerNode(owner, { name: "rig-m" });
		const chat = await linkViaBot(owner);
		expect(await ask(chat, "/maintenance rig-m on")).toMatch(/^🛠 rig-m is in maintenance/);
		const on = await callJson<{ node: { maintenance: boolean; status: string } }>(`/v1/nodes/${node.id}`, {
			auth: owner.key,
		});
		expect(on.body.node).toMatchObject({ maintenance: true, status: "maintenance" });
		expect(await ask(chat, `/maintenance ${node.id} off`)).toMatch(/^rig-m is out of maintenance/);
		expect(await ask(chat, "/maintenance rig-m sideways")).toMatch(/^Usage: \/maintenance/);
	});

	it("shows and toggles alert settings with /alerts, the same settings the API serves", async () => {
		const owner = await newAccount();
		const chat = await linkViaBot(owner);
		expect(await ask(chat, "/alerts")).toMatch(/Alerts: on\nDaily digest: off \(08:00 UTC\)\nTelegram chats linked: 1/);
		expect(await ask(chat, "/alerts digest on")).toMatch(/^Saved\.\nAlerts: on\nDaily digest: on/);
		expect(await ask(chat, "/alerts digest-hour 6")).toMatch(/Daily digest: on \(06:00 UTC\)/);
		expect(await ask(chat, "/alerts digest-hour 24")).toMatch(/^Usage: \/alerts/);
		const { body } = await callJson<{ settings: Record<string, unknown> }>("/v1/alerts/settings", { auth: owner.key });
		expect(body.settings).toMatchObject({ alerts: true, digest: true, digest_hour_utc: 6, telegram_chats: 1 });
	});

	it(
		"answers /points with the ledger's figures for a settled epoch, " +
			"the same as GET /v1/nodes/:id/points and GET /v1/points",
		async () => {
			const owner = await newAccount("earner");
			const chat = await linkViaBot(owner);
			expect(await ask(chat, "/points")).toBe("No epoch has been settled yet.");
			const { node, epoch } = await nodeWithPoints(owner, "rig-p");
			const row = (
				await callJson<{
					points: number;
					reward: number;
					terms: { availability_points: number; compute_points: number; penalty_points: number };
				}>(`/v1/nodes/${node.id}/points?epoch=${epoch}`)
			).body;
			expect(row.points).toBeGreaterThan(0);
			const lifetime = (
				await callJson<{ lifetime: { points: number; adjustments: number } }>("/v1/points", { auth: owner.key })
			).body.lifetime;

			const answer = await ask(chat, "/points");
			expect(answer).toMatch(
				new RegExp(
					`^Epoch ${epoch} \\(settled \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\): ${row.points} points from 1 node, reward `,
				),
			);
			expect(answer).toContain(
				`• ${node.id}: ${row.points} points = availability ${row.terms.availability_points} + ` +
					`compute ${row.terms.compute_points} − penalty ${row.terms.penalty_points}; online `,
			);
			expect(answer).toContain(`Lifetime: ${lifetime.points + lifetime.adjustments} points.`);
			expect(answer).not.toMatch(/not live/);
			expect(await ask(chat, `/points ${epoch}`)).toBe(answer);
			expect(await ask(chat, "/points 999999")).toBe("No epoch 999999.");
			expect(await ask(chat, "/points soon")).toMatch(/^Usage: \/points/);
		},
	);

	it("acknowledges an update whose answer Telegram refused, so the command is not run a second time", async () => {
		const account = await newAccount();
		const chat = await linkViaBot(account);
		await throttle(`tg:${chat}`, 1, 1); // Telegram answers the bot's next message 429
		const res = await sendUpdate(chat, "/ticket open Fan is loud\nSince this morning");
		expect(res.status).toBe(200); // a 500 would make Telegram send the update again: a second ticket
		const { body } = await callJson<{ tickets: { subject: string }[] }>("/v1/tickets", { auth: account.key });
		expect(body.tickets.map((t) => t.subject)).toEqual(["Fan is loud"]);
	});

	it("handles updates without ever calling getMe: the bot's identity is preset (botInfo)", async () => {
		const chat = newChatId();
		const before = (await callsOf("getMe")).length;
		// The fake does record getMe: a client that asks is counted.
		await new Api(TEST_BOT_TOKEN, { apiRoot: FAKE }).getMe();
		expect((await callsOf("getMe")).length).toBe(before + 1);
		for (const text of ["/help", "/status", "hello", "/frobnicate"]) await ask(chat, text);
		expect((await callsOf("getMe")).length).toBe(before + 1);
		expect((await callsOf("sendMessage")).filter((c) => c.body.chat_id === chat)).toHaveLength(4);
	});

	it("unlinks a chat with /unlink", async () => {
		const chat = await linkViaBot(await newAccount());
		expect(await ask(chat, "/unlink")).toMatch(/^Unlinked/);
		expect(await ask(chat, "/status")).toMatch(/not linked/);
	});
});
