// The Telegram bot in groups: every member may read, only the member who linked the chat (or a group admin) may change
// anything; and an update without a chat is ignored, never a 500.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TEST_WEBHOOK_SECRET } from "../constants.ts";
import { chatLink, redeem } from "../../workers/db/links.ts";
import { NOT_YOURS_TO_CHANGE } from "../../bots/telegram/bot.ts";
import { FAKE, callsOf, messagesTo, newChatId } from "./alert-helpers.ts";
import { call, callJson, newAccount, registerNode } from "./helpers.ts";

/** Telegram's id of the user an anonymous group admin's messages come from. */
const ANONYMOUS_ADMIN = 1087968824;

let updateId = 5_000_000;

async function postUpdate(message: Record<string, unknown>): Promise<Response> {
	return call("/telegram/webhook", {
		method: "POST",
		rawBody: JSON.stringify({ update_id: updateId++, message }),
		headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": TEST_WEBHOOK_SECRET },
	});
}

interface From {
	from?: number;
	/** The message is sent as the group itself (an anonymous admin). */
	asGroup?: boolean;
}

/** `text` sent in group `group` (a negative chat id) by user `from`; returns the bot's one reply. */
async function say(group: number, who: From, text: string): Promise<string> {
	const before = (await messagesTo(group)).length;
	const command = /^\/\S+/.exec(text)?.[0] ?? "";
	const res = await postUpdate({
		message_id: updateId,
		date: Math.floor(Date.now() / 1000),
		text,
		chat: { id: group, type: "supergroup", title: "ops" },
		...(who.from !== undefined ? { from: { id: who.from, is_bot: false, first_name: "Op" } } : {}),
		...(who.asGroup ? { sender_chat: { id: group, type: "supergroup", title: "ops" } } : {}),
		entities: [{ type: "bot_command", offset: 0, length: command.length }],
	});
	expect(res.status).toBe(200);
	const after = await messagesTo(group);
	expect(after.length, `one reply to ${text}`).toBe(before + 1);
	return after.at(-1)?.text ?? "";
}

async function code(account: { key: string }): Promise<string> {
	return (await callJson<{ code: string }>("/v1/links", { method: "POST", auth: account.key })).body.code;
}

async function setAdmins(group: number, userIds: number[]): Promise<void> {
	await fetch(`${FAKE}/__fake/admins`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ chat_id: group, user_ids: userIds }),
	});
}

async function settings(account: { key: string }) {
	return (
		await callJson<{ settings: { alerts: boolean; mutes: unknown[] } }>("/v1/alerts/settings", { auth: account.key })
	).body.settings;
}

async function maintenance(account: { key: string }, nodeId: string): Promise<boolean> {
	return (await callJson<{ node: { maintenance: boolean } }>(`/v1/nodes/${nodeId}`, { auth: account.key })).body.node
		.maintenance;
}

/** A group linked to a fresh account by `linker`, with one node `rig`. */
async function linkedGroup() {
	const owner = await newAccount("group-owner");
	const node = await registerNode(owner, { name: "rig" });
	const group = -newChatId();
	const linker = newChatId();
	expect(await say(group, { from: linker }, `/start ${await code(owner)}`)).toMatch(/^✅ Linked to group-owner\./);
	return { owner, node, group, linker };
}

describe("a linked Telegram group", () => {
	it("records the Telegram user who linked it", async () => {
		const { owner, group, linker } = await linkedGroup();
		expect(await chatLink(env.DB, "telegram", String(group))).toMatchObject({
			account: { id: owner.id },
			linkedBy: String(linker),
		});
	});

	it("answers every member's read-only commands", async () => {
		const { group } = await linkedGroup();
		const member = newChatId();
		expect(await say(group, { from: member }, "/status")).toMatch(/^group-owner: 1 node/);
		expect(await say(group, { from: member }, "/nodes")).toContain("rig (");
		expect(await say(group, { from: member }, "/alerts")).toMatch(/^Alert settings:\nAlerts: on/);
		expect(await say(group, { from: member }, "/start")).toMatch(/^This chat is linked to group-owner\./);
	});

	it("refuses other members' /maintenance, /alerts, /mute, /unmute, /unlink, /start CODE: no change", async () => {
		const { owner, node, group, linker } = await linkedGroup();
		const member = newChatId();
		const intruder = await newAccount("intruder");
		const intruderCode = await code(intruder);
		for (const cmd of [
			"/maintenance rig on",
			"/alerts off",
			"/alerts digest on",
			"/mute all 1h",
			"/unmute",
			"/unlink",
			`/start ${intruderCode}`,
		])
			expect(await say(group, { from: member }, cmd), cmd).toBe(NOT_YOURS_TO_CHANGE);
		expect(await maintenance(owner, node.id)).toBe(false);
		expect(await settings(owner)).toMatchObject({ alerts: true, mutes: [] });
		expect(await chatLink(env.DB, "telegram", String(group))).toMatchObject({
			account: { id: owner.id },
			linkedBy: String(linker),
		});
		// The intruder's code was not spent on the refused /start: it still links a chat of their own.
		expect(await redeem(env.DB, intruderCode, "telegram", String(newChatId()), Date.now())).toMatchObject({ ok: true });
		// A message with no sender at all changes nothing either.
		expect(await say(group, {}, "/alerts off")).toBe(NOT_YOURS_TO_CHANGE);
	});

	it("lets the member who linked it change things", async () => {
		const { owner, node, group, linker } = await linkedGroup();
		expect(await say(group, { from: linker }, "/maintenance rig on")).toMatch(/^🛠 rig is in maintenance/);
		expect(await say(group, { from: linker }, "/alerts off")).toMatch(/^Saved\.\nAlerts: off/);
		expect(await maintenance(owner, node.id)).toBe(true);
		expect((await settings(owner)).alerts).toBe(false);
		expect(await say(group, { from: linker }, "/unlink")).toMatch(/^Unlinked\./);
		expect(await chatLink(env.DB, "telegram", String(group))).toBeNull();
	});

	it("lets a group administrator change things, and an anonymous admin posting as the group", async () => {
		const { owner, group } = await linkedGroup();
		const admin = newChatId();
		await setAdmins(group, [admin]);
		expect(await say(group, { from: newChatId() }, "/alerts off")).toBe(NOT_YOURS_TO_CHANGE);
		expect(await say(group, { from: admin }, "/alerts off")).toMatch(/^Saved\.\nAlerts: off/);
		expect(await say(group, { from: ANONYMOUS_ADMIN, asGroup: true }, "/alerts on")).toMatch(/^Saved\.\nAlerts: on/);
		expect((await settings(owner)).alerts).toBe(true);
		const asked = (await callsOf("getChatAdministrators")).filter((c) => c.body.chat_id === group);
		expect(asked.length).toBeGreaterThan(0);
	});

	it("lets only administrators change a group linked before linkers were recorded", async () => {
		const owner = await newAccount("old-link");
		const group = -newChatId();
		expect((await redeem(env.DB, await code(owner), "telegram", String(group), Date.now())).ok).toBe(true);
		const admin = newChatId();
		await setAdmins(group, [admin]);
		expect(await say(group, { from: newChatId() }, "/mute all 1h")).toBe(NOT_YOURS_TO_CHANGE);
		expect((await settings(owner)).mutes).toEqual([]);
		expect(await say(group, { from: admin }, "/mute all 1h")).toMatch(/^🔕 Muted all nodes/);
	});
});

describe("Telegram updates without a chat", () => {
	it("answers 200 and sends nothing to a message without a chat, so Telegram does not retry it", async () => {
		const res = await postUpdate({
			message_id: 1,
			date: Math.floor(Date.now() / 1000),
			text: "/status",
			from: { id: newChatId(), is_bot: false, first_name: "x" },
			entities: [{ type: "bot_command", offset: 0, length: 7 }],
		});
		expect(res.status).toBe(200);
		// grammY would have tried to answer it with a sendMessage without a chat_id.
		expect((await callsOf("sendMessage")).filter((c) => c.body.chat_id === undefined)).toEqual([]);
	});
});
