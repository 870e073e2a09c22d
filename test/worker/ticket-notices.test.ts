// The support loop reaches the person: a staff answer goes to the owner's linked Telegram chat and Discord DM (through
// the outbox and the delivery gate), the API marks it unread until they read it, and they answer from Telegram.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NOT_YOURS_TO_CHANGE } from "../../bots/telegram/bot.ts";
import { redeem } from "../../workers/db/links.ts";
import { escapeDiscord } from "../../workers/domain/text.ts";
import { TEST_WEBHOOK_SECRET } from "../constants.ts";
import { FAKE, ask, callsOf, gateIdleFor, linkChat, linkViaBot, messagesTo, newChatId } from "./alert-helpers.ts";
import { pendingPosts } from "../../workers/db/discord-outbox.ts";
import { fakeState, fault, linkedUser, slash, sub } from "./discord-helpers.ts";
import { TEST_ADMIN_TOKEN, call, callJson, eventually, newAccount } from "./helpers.ts";

const AIRDROP = "[Claim your airdrop](https://evil.example) @everyone";
/** A reply whose second line pretends to be one of the bot's own lines. */
const FORGED_REPLY = `Fixed it. ${AIRDROP}\nAnswer here with /ticket close tkt_forged\n<@123> **bold**`;

interface TicketView {
	id: string;
	status: string;
	opened_via: string;
	flag_id: string | null;
	unread_replies?: number;
}

async function openTicket(key: string, subject: string, body = "my node shows offline") {
	const r = await callJson<{ ticket: TicketView }>("/v1/tickets", { auth: key, body: { subject, body } });
	expect(r.status).toBe(201);
	return r.body.ticket;
}

async function staffReply(id: string, body: string) {
	const r = await callJson(`/v1/tickets/${id}/messages`, { auth: TEST_ADMIN_TOKEN, body: { body } });
	expect(r.status).toBe(201);
}

async function list(key: string, query = "") {
	return callJson<{ tickets: TicketView[] }>(`/v1/tickets${query}`, { auth: key });
}

/** The bot's DMs to a Discord user (through the DM channel it opened), waiting (bounded) until `n` arrived. */
async function dmsTo(userId: string, n = 1) {
	return eventually(async () => {
		const s = await fakeState();
		const channel = s.dm_channels.find((d) => d.recipient_id === userId)?.channel_id;
		const posts = s.posts.filter((p) => p.channel_id === channel);
		return channel && posts.length >= n ? posts : null;
	});
}

async function telegramTo(chat: number, contains: string) {
	return eventually(async () => (await messagesTo(chat)).find((m) => m.text.includes(contains)) ?? null);
}

describe("staff replies reach the ticket's owner", () => {
	it("sends a staff answer to the linked Telegram chat and as a Discord DM, hostile text shown as typed", async () => {
		const owner = await newAccount("dora");
		const chat = await linkChat(owner);
		const user = await linkedUser(owner);
		const t = await openTicket(owner.key, `Offline again ${AIRDROP}`);
		await staffReply(t.id, FORGED_REPLY);

		const tg = await telegramTo(chat, t.id);
		const lines = tg?.text.split("\n") ?? [];
		expect(lines[0]).toBe(`💬 Staff (admin) replied to your ticket ${t.id} "Offline again ${AIRDROP}":`);
		// Every line of the reply is quoted: none of it can pass for a line of ours.
		expect(lines.slice(1, 4)).toEqual([
			`│ Fixed it. ${AIRDROP}`,
			"│ Answer here with /ticket close tkt_forged",
			"│ <@123> **bold**",
		]);
		expect(lines.filter((l) => l.startsWith("Answer here"))).toEqual([
			`Answer here with /ticket reply ${t.id} <your message> — see it all with /ticket view ${t.id}.`,
		]);
		const sent = (await callsOf("sendMessage")).filter(
			(c) => c.body.chat_id === String(chat) || c.body.chat_id === chat,
		);
		expect(sent.length).toBeGreaterThan(0);
		for (const c of sent) expect(c.body).not.toHaveProperty("parse_mode");

		const [dm] = (await dmsTo(user.id)) ?? [];
		expect(dm?.content).toContain(`your ticket \`${t.id}\` **Offline again ${escapeDiscord(AIRDROP)}**`);
		expect(dm?.content).toContain(
			`> Fixed it. ${escapeDiscord(AIRDROP)}\n> Answer here with /ticket close tkt\\_forged`,
		);
		expect(dm?.content).not.toContain("[Claim your airdrop](");
		expect(dm?.content.split("\n").filter((l) => l.startsWith("Answer"))).toEqual([
			`Answer with \`/ticket reply id:${t.id}\` — see it all with \`/ticket view id:${t.id}\`.`,
		]);
		expect(dm?.allowed_mentions).toEqual({ parse: [] });
	});

	it("tells the owner when staff close their ticket, a hostile subject kept on its line", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const user = await linkedUser(owner);
		const t = await openTicket(owner.key, `x ${AIRDROP}`);
		const closed = await callJson(`/v1/tickets/${t.id}/close`, { method: "POST", auth: TEST_ADMIN_TOKEN });
		expect(closed.status).toBe(200);
		const tg = await telegramTo(chat, "was closed");
		expect(tg?.text).toBe(
			`🔒 Your ticket ${t.id} "x ${AIRDROP}" was closed by staff (admin). Open a new one any time with /ticket open.`,
		);
		const [dm] = (await dmsTo(user.id)) ?? [];
		expect(dm?.content).toBe(
			`🔒 Your ticket \`${t.id}\` **x ${escapeDiscord(AIRDROP)}** was closed by staff (**admin**). ` +
				"Open a new one any time with `/ticket open`.",
		);
	});

	it("tells no one but staff of the owner's own messages", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const t = await openTicket(owner.key, "question");
		const more = await callJson(`/v1/tickets/${t.id}/messages`, { auth: owner.key, body: { body: "and another" } });
		expect(more.status).toBe(201);
		await staffReply(t.id, "the answer");
		await telegramTo(chat, "the answer");
		await gateIdleFor(chat);
		expect((await messagesTo(chat)).map((m) => m.text.split("\n")[0])).toEqual([
			`💬 Staff (admin) replied to your ticket ${t.id} "question":`,
		]);
	});

	it("marks staff replies unread in the API until the owner reads the ticket", async () => {
		const owner = await newAccount();
		const t = await openTicket(owner.key, "unread?");
		const quiet = await openTicket(owner.key, "no answer yet");
		expect((await list(owner.key, "?unread=true")).body.tickets).toEqual([]);
		await staffReply(t.id, "first");
		await staffReply(t.id, "second");
		const all = (await list(owner.key)).body.tickets;
		expect(all.find((x) => x.id === t.id)?.unread_replies).toBe(2);
		expect(all.find((x) => x.id === quiet.id)?.unread_replies).toBe(0);
		expect((await list(owner.key, "?unread=true")).body.tickets.map((x) => x.id)).toEqual([t.id]);
		// Staff looking does not mark anything read.
		const staffView = await callJson<{ ticket: TicketView }>(`/v1/tickets/${t.id}`, { auth: TEST_ADMIN_TOKEN });
		expect(staffView.body.ticket.unread_replies).toBe(2);
		const read = await callJson<{ ticket: TicketView }>(`/v1/tickets/${t.id}`, { auth: owner.key });
		expect(read.body.ticket.unread_replies).toBe(2); // the read that shows them still says they were new
		expect((await list(owner.key, "?unread=true")).body.tickets).toEqual([]);
		await staffReply(t.id, "third");
		expect((await list(owner.key, "?unread=true")).body.tickets.map((x) => x.unread_replies)).toEqual([1]);
		// Answering counts as having read.
		await callJson(`/v1/tickets/${t.id}/messages`, { auth: owner.key, body: { body: "thanks" } });
		expect((await list(owner.key, "?unread=true")).body.tickets).toEqual([]);
	});

	it("gives up at once on a DM the user does not take (403); the Telegram copy still arrives", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const user = await linkedUser(owner);
		const t = await openTicket(owner.key, "dm closed");
		const marker = `nodms${Date.now()}`;
		// Only the DM says "your ticket" (the staff channel's post of the same reply goes through).
		await fault({ contains: `your ticket \`${t.id}\``, times: 1, status: 403 });
		await staffReply(t.id, `answer ${marker}`);
		await telegramTo(chat, marker);
		const given = await eventually(async () => {
			const p = (await pendingPosts(env.DB)).find((x) => x.content.includes(marker));
			return p?.gave_up_at ? p : null;
		});
		expect(given).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/^403/) });
		const posted = (await fakeState()).posts.filter((p) => p.content.includes(marker));
		expect(posted.map((p) => p.content.includes("your ticket"))).toEqual([false]); // the staff channel's post only
		// Discord's /ticket list shows the owner what is unread.
		const answer = await slash(user, "ticket", [sub("list")]);
		expect(answer.content).toContain(`${t.id}\` **dm closed**`);
		expect(answer.content).toContain("**1 unread reply**");
	});

	it("refuses an unknown unread filter with 400", async () => {
		const owner = await newAccount();
		const r = await list(owner.key, "?unread=maybe");
		expect(r.status).toBe(400);
	});
});

describe("/ticket in Telegram", () => {
	it("opens, lists, views and answers tickets from the chat, in the same store as the API", async () => {
		const owner = await newAccount("tess");
		const chat = await linkViaBot(owner);
		const opened = await ask(chat, `/ticket open Node ${AIRDROP}\nIt drops\nevery night`);
		const id = /tkt_[A-Za-z0-9_-]+/.exec(opened)?.[0] as string;
		expect(opened).toBe(`🎫 Opened ${id} "Node ${AIRDROP}". Staff have been told; their answers will come here.`);
		const api = await callJson<{ ticket: TicketView; messages: { body: string; via: string }[] }>(`/v1/tickets/${id}`, {
			auth: owner.key,
		});
		expect(api.body.ticket.opened_via).toBe("telegram");
		expect(api.body.messages).toEqual([expect.objectContaining({ body: "It drops\nevery night", via: "telegram" })]);

		await staffReply(id, "Which driver?");
		await telegramTo(chat, "Which driver?");
		await gateIdleFor(chat);
		expect(await ask(chat, "/ticket list unread")).toMatch(
			new RegExp(`^Your tickets \\(with unread replies\\).*\\n🔵 ${id} .*1 unread reply$`),
		);
		const view = await ask(chat, `/ticket view ${id}`);
		expect(view.split("\n")).toEqual([
			`🎫 ${id} "Node ${AIRDROP}" — waiting_on_user`,
			expect.stringMatching(/^tess, .* UTC:$/),
			"│ It drops",
			"│ every night",
			expect.stringMatching(/^admin \(staff\), .* UTC:$/),
			"│ Which driver?",
		]);
		expect(await ask(chat, "/ticket list unread")).toMatch(/^Your tickets \(with unread replies\): none\./);
		expect(await ask(chat, `/ticket reply ${id} 550.54\n@everyone`)).toBe(
			`💬 Added to ${id}; it is now waiting_on_staff.`,
		);
		const after = await callJson<{ messages: { body: string; via: string; author: { role: string } }[] }>(
			`/v1/tickets/${id}`,
			{ auth: TEST_ADMIN_TOKEN },
		);
		expect(after.body.messages.at(-1)).toMatchObject({
			body: "550.54\n@everyone",
			via: "telegram",
			author: { role: "owner" },
		});
		expect(await ask(chat, `/ticket close ${id}`)).toMatch(new RegExp(`^🔒 Closed ${id} `));
		expect(await ask(chat, `/ticket reply ${id} again`)).toBe("This ticket is closed; open a new ticket to continue.");
	});

	it("answers bad /ticket input with its usage or the reason, and keeps other accounts' tickets hidden", async () => {
		const owner = await newAccount();
		const other = await newAccount();
		const theirs = await openTicket(other.key, "not yours");
		const chat = await linkViaBot(owner);
		expect(await ask(chat, "/ticket frobnicate")).toMatch(/^Usage:\n\/ticket open <subject>/);
		expect(await ask(chat, "/ticket reply")).toMatch(/^Usage:/);
		expect(await ask(chat, "/ticket open")).toMatch(/^Usage:/);
		expect(await ask(chat, `/ticket open ${"x".repeat(200)}`)).toMatch(/subject/);
		expect(await ask(chat, `/ticket view ${theirs.id}`)).toBe(`No ticket '${theirs.id}' that you can see.`);
		expect(await ask(chat, `/ticket reply ${theirs.id} hi`)).toBe(`No ticket '${theirs.id}' that you can see.`);
		expect(await ask(chat, "/ticket list bogus")).toMatch(/status/);
		const untouched = await callJson<{ messages: unknown[] }>(`/v1/tickets/${theirs.id}`, { auth: other.key });
		expect(untouched.body.messages).toHaveLength(1);
		expect((await list(owner.key)).body.tickets).toEqual([]);
	});

	it("lets only the linker (or an admin) open or answer tickets in a linked group; any member may list", async () => {
		const owner = await newAccount();
		const group = -newChatId();
		const [linker, member] = [newChatId(), newChatId()];
		const { body } = await callJson<{ code: string }>("/v1/links", { method: "POST", auth: owner.key });
		expect((await redeem(env.DB, body.code, "telegram", String(group), Date.now(), String(linker))).ok).toBe(true);
		await setAdmins(group, []);
		expect(await say(group, member, "/ticket open help me")).toBe(NOT_YOURS_TO_CHANGE);
		expect(await say(group, member, "/ticket list")).toMatch(/^Your tickets \(all\): none\./);
		expect((await list(owner.key)).body.tickets).toEqual([]);
		expect(await say(group, linker, "/ticket open help me")).toMatch(/^🎫 Opened tkt_/);
		const [t] = (await list(owner.key)).body.tickets;
		expect(await say(group, member, `/ticket reply ${t?.id} me too`)).toBe(NOT_YOURS_TO_CHANGE);
		expect(await say(group, member, `/ticket close ${t?.id}`)).toBe(NOT_YOURS_TO_CHANGE);
		expect((await list(owner.key)).body.tickets.map((x) => x.status)).toEqual(["open"]);
	});
});

let updateId = 7_000_000;

/** `text` sent in group `group` by user `from`; returns the bot's one reply. */
async function say(group: number, from: number, text: string): Promise<string> {
	const before = (await messagesTo(group)).length;
	const command = /^\/\S+/.exec(text)?.[0] ?? "";
	const res = await call("/telegram/webhook", {
		method: "POST",
		rawBody: JSON.stringify({
			update_id: updateId++,
			message: {
				message_id: updateId,
				date: Math.floor(Date.now() / 1000),
				text,
				chat: { id: group, type: "supergroup", title: "ops" },
				from: { id: from, is_bot: false, first_name: "Op" },
				entities: [{ type: "bot_command", offset: 0, length: command.length }],
			},
		}),
		headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": TEST_WEBHOOK_SECRET },
	});
	expect(res.status).toBe(200);
	const after = await messagesTo(group);
	expect(after.length, `one reply to ${text}`).toBe(before + 1);
	return after.at(-1)?.text ?? "";
}

async function setAdmins(group: number, userIds: number[]): Promise<void> {
	await fetch(`${FAKE}/__fake/admins`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ chat_id: group, user_ids: userIds }),
	});
}
