// Helpers for alert tests: linked chats, and what the local fake Bot API received (read over HTTP, as Telegram would
// have).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { redeem as redeemLinkCode } from "../../workers/db/links.ts";
import type { FakeCall } from "../fakes/bot-api.ts";
import type { FakeMessage, FakeRequest } from "../fakes/bot-api-types.ts";
import { TEST_WEBHOOK_SECRET } from "../constants.ts";
import { readConfig } from "../../workers/config.ts";
import { advanceAlerts } from "./clock.ts";
import {
	markVerified,
	TEST_ADMIN_TOKEN,
	call,
	callJson,
	connect,
	eventually,
	healthyAgent,
	registerNode,
	type TestNode,
} from "./helpers.ts";

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

export async function received(
	dest: string,
): Promise<{ messages: FakeMessage[]; requests: FakeRequest[]; violations: string[] }> {
	return (await fetch(`${FAKE}/__fake/messages?dest=${encodeURIComponent(dest)}`)).json();
}

/** A chat's destination as the gate names it: `tg:<chat id>` for a Telegram chat, a `dc:` destination as it is. */
export function destOf(chat: number | string): string {
	return typeof chat === "number" ? `tg:${chat}` : chat;
}

export async function messagesTo(chat: number | string): Promise<FakeMessage[]> {
	return (await received(destOf(chat))).messages;
}

/**
 * Waits (bounded) until `n` messages reached the chat; then lets `settleMs` pass for the owner's alerts (every deadline
 * of theirs in that time runs now) and waits until the gate has sent all it holds for the chat, so no more follow.
 */
export async function exactlyMessages(
	owner: { id: string },
	chat: number | string,
	n: number,
	settleMs = 3000,
): Promise<FakeMessage[]> {
	await eventually(async () => (await messagesTo(chat)).length >= n, 150, 100);
	await advanceAlerts(owner.id, settleMs);
	await gateIdleFor(chat);
	return messagesTo(chat);
}

/** Waits (bounded) until the delivery gate holds nothing more to send to the chat (it sends at the APIs' real pace). */
export async function gateIdleFor(chat: number | string): Promise<void> {
	const dest = destOf(chat);
	const query = "SELECT count(*) AS n FROM job WHERE dest = ? AND state = 'queued'";
	const queued = () =>
		runInDurableObject(env.GATE.getByName("global"), (_, state) => {
			return state.storage.sql.exec(query, dest).one().n as number;
		});
	await eventually(async () => (await queued()) === 0, 150, 100);
}

/** Waits (bounded) until the owner's alerts object has received the flips that leave `n` of their nodes in `status`. */
export async function alertsSaw(owner: { id: string }, status: string, n: number): Promise<void> {
	const query = "SELECT count(*) AS n FROM node WHERE json_extract(v, '$.status') = ?";
	const count = () =>
		runInDurableObject(env.ALERTS.getByName(owner.id), (_, state) => {
			return state.storage.sql.exec(query, status).one().n as number;
		});
	await eventually(async () => (await count()) === n, 150, 100);
}

/**
 * Once the owner's alerts hold the flips that leave `n` of their nodes in `status`, lets their group window pass on
 * their clock: what they gathered goes to the gate now, not when the window would have closed in real time.
 */
export async function closeGroup(owner: { id: string }, status: string, n: number): Promise<void> {
	await alertsSaw(owner, status, n);
	await advanceAlerts(owner.id, readConfig(env).alertRules.groupWindowMs);
}

/** Every call of one Bot API method the fake received (from any test: filter by what only yours sends). */
export async function callsOf(method: string): Promise<FakeCall[]> {
	return (
		(await (await fetch(`${FAKE}/__fake/calls?method=${encodeURIComponent(method)}`)).json()) as { calls: FakeCall[] }
	).calls;
}

export async function throttle(dest: string, times: number, retryAfterS: number): Promise<void> {
	await fetch(`${FAKE}/__fake/throttle`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ dest, times, retry_after: retryAfterS }),
	});
}

let updateId = 1;
/**
 * Posts a Telegram update carrying `text` from a private chat, as Telegram would (with the webhook secret unless told
 * otherwise).
 */
export async function sendUpdate(
	chat: number,
	text: string,
	o: { secret?: string | null; type?: "private" | "group" } = {},
): Promise<Response> {
	const command = /^\/\S+/.exec(text)?.[0];
	const update = {
		update_id: updateId++,
		message: {
			message_id: updateId,
			date: Math.floor(Date.now() / 1000),
			text,
			chat:
				o.type === "group"
					? { id: -chat, type: "group", title: "ops" }
					: { id: chat, type: "private", first_name: "Op" },
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
	const { status, body } = await callJson<{ epoch: number }>("/v1/admin/epochs/settle", {
		method: "POST",
		auth: TEST_ADMIN_TOKEN,
		body: {},
	});
	if (status !== 200) throw new Error(`settling failed: ${status}`);
	return body.epoch;
}

/**
 * A node of the account that is online for a whole epoch of `onlineMs` (then disconnected), and that settled epoch's
 * number. The epoch ends `onlineMs` later on the settler's clock: nothing waits for that time to pass.
 */
export async function nodeWithPoints(
	account: { id: string; key: string },
	name?: string,
	onlineMs = 2500,
): Promise<{ node: TestNode; epoch: number }> {
	const node = await registerNode(account, name ? { name } : {});
	// Verified, so that the seconds it is online earn points: a node that is not verified is paid one GPU at the lowest
	// weight, 0.15 × 0.9 of a point a second (docs/POINTS.md), nothing in 2.5 s.
	await markVerified(node);
	const link = await connect(node);
	await link.next("welcome");
	const stop = healthyAgent(link, node);
	// The node's online interval is in D1 before its epoch starts, so settlement counts the whole epoch.
	const open = env.DB.prepare("SELECT 1 FROM online_intervals WHERE node_id = ? AND ended_at IS NULL").bind(node.id);
	await eventually(async () => (await open.first()) !== null);
	await settleEpoch(); // the node's epoch starts with it online
	const { settled } = await env.SETTLER.getByName("global").settleNow(Date.now() + onlineMs);
	const epoch = settled.at(-1)?.epoch;
	if (epoch === undefined) throw new Error("settling failed: nothing was settled");
	stop();
	link.ws.close(1000);
	return { node, epoch };
}
