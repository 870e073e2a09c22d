// Helpers for alert tests: linked chats, and what the local fake Bot API received (read over HTTP, as Telegram would have).
import { env } from "cloudflare:workers";
import { redeemLinkCode } from "../../workers/services/links.ts";
import type { FakeCall } from "../fakes/bot-api.ts";
import type { FakeMessage, FakeRequest } from "../fakes/bot-api-types.ts";
import { TEST_WEBHOOK_SECRET } from "../constants.ts";
import { TEST_ADMIN_TOKEN, call, callJson, connect, eventually, healthyAgent, registerNode, sleep, type TestNode } from "./helpers.ts";

export const FAKE = (env as unknown as { FAKE_BOT_API: string }).FAKE_BOT_API;

let chatCounter = 0;
/** A chat id no other test uses (test files run in parallel against one fake). */
export function newChatId(): number {
	chatCounter++;
	return Math.floor(Math.random() * 1e9) * 1000 + chatCounter;
}

/** Links a fresh Telegram chat to the account, as `/start <code>` would. */
export async function linkChat(account: { key: string }): Promise<number> {
	const chat = newChatId();
	const { body } = await callJson<{ code: string }>("/v1/links", { method: "POST", auth: account.key });
	const r = await redeemLinkCode(env.DB, body.code, "telegram", String(chat), Date.now());
	if (!r.ok) throw new Error(`link failed: ${r.reason}`);
	return chat;
}

export async function received(dest: string): Promise<{ messages: FakeMessage[]; requests: FakeRequest[]; violations: string[] }> {
	return (await fetch(`${FAKE}/__fake/messages?dest=${encodeURIComponent(dest)}`)).json();
}

export async function messagesTo(chat: number | string): Promise<FakeMessage[]> {
	return (await received(typeof chat === "number" ? `tg:${chat}` : chat)).messages;
}

/** Waits (bounded) until `n` messages reached the chat, then a little longer to be sure no more follow. */
export async function exactlyMessages(chat: number | string, n: number, settleMs = 3000): Promise<FakeMessage[]> {
	await eventually(async () => (await messagesTo(chat)).length >= n, 150, 100);
	await sleep(settleMs);
	return messagesTo(chat);
}

/** Every call of one Bot API method the fake received (from any test: filter by what only yours sends). */
export async function callsOf(method: string): Promise<FakeCall[]> {
	return ((await (await fetch(`${FAKE}/__fake/calls?method=${encodeURIComponent(method)}`)).json()) as { calls: FakeCall[] }).calls;
}

export async function throttle(dest: string, times: number, retryAfterS: number): Promise<void> {
	await fetch(`${FAKE}/__fake/throttle`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ dest, times, retry_after: retryAfterS }) });
}

let updateId = 1;
/** Posts a Telegram update carrying `text` from a private chat, as Telegram would (with the webhook secret unless told otherwise). */
export async function sendUpdate(chat: number, text: string, o: { secret?: string | null; type?: "private" | "group" } = {}): Promise<Response> {
	const command = /^\/\S+/.exec(text)?.[0];
	const update = {
		update_id: updateId++,
		message: {
			message_id: updateId, date: Math.floor(Date.now() / 1000), text,
			chat: o.type === "group" ? { id: -chat, type: "group", title: "ops" } : { id: chat, type: "private", first_name: "Op" },
			from: { id: chat, is_bot: false, first_name: "Op" },
			...(command ? { entities: [{ type: "bot_command", offset: 0, length: command.length }] } : {}),
		},
	};
	const headers: Record<string, string> = { "content-type": "application/json" };
	const secret = o.secret === undefined ? TEST_WEBHOOK_SECRET : o.secret;
	if (secret !== null) headers["x-telegram-bot-api-secret-token"] = secret;
	return call("/telegram/webhook", { method: "POST", rawBody: JSON.stringify(update), headers });
}

/** Sends a command and returns the bot's reply (the newest message the fake received for that chat). */
export async function ask(chat: number, text: string): Promise<string> {
	const before = (await messagesTo(chat)).length;
	const res = await sendUpdate(chat, text);
	if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
	const after = await messagesTo(chat);
	if (after.length !== before + 1) throw new Error(`expected one reply to ${text}, got ${after.length - before}`);
	return (after.at(-1) as FakeMessage).text;
}

/** Links a fresh chat through the bot itself: POST /v1/links, then /start CODE. */
export async function linkViaBot(account: { key: string }): Promise<number> {
	const chat = newChatId();
	const { body } = await callJson<{ code: string }>("/v1/links", { method: "POST", auth: account.key });
	const reply = await ask(chat, `/start ${body.code}`);
	if (!reply.startsWith("✅")) throw new Error(`link failed: ${reply}`);
	return chat;
}

/** Ends the open epoch now and settles it, as the cron would; returns its number. */
export async function settleEpoch(): Promise<number> {
	const { status, body } = await callJson<{ epoch: number }>("/v1/admin/epochs/settle", { method: "POST", auth: TEST_ADMIN_TOKEN, body: {} });
	if (status !== 200) throw new Error(`settling failed: ${status}`);
	return body.epoch;
}

/** A node of the account that is online for a whole epoch (then disconnected), and that settled epoch's number. */
export async function nodeWithPoints(account: { id: string; key: string }, name?: string, onlineMs = 2500): Promise<{ node: TestNode; epoch: number }> {
	const node = await registerNode(account, name ? { name } : {});
	const link = await connect(node);
	await link.next("welcome");
	const stop = healthyAgent(link, node);
	await settleEpoch(); // the node's epoch starts with it online
	await sleep(onlineMs);
	const epoch = await settleEpoch();
	stop();
	link.ws.close(1000);
	return { node, epoch };
}
