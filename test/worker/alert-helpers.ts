// Helpers for alert tests: linked chats, and what the local fake Bot API received (read over HTTP, as Telegram would have).
import { env } from "cloudflare:workers";
import { redeemLinkCode } from "../../workers/services/links.ts";
import type { FakeMessage, FakeRequest } from "../fakes/bot-api-types.ts";
import { callJson, eventually, sleep } from "./helpers.ts";

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

export async function throttle(dest: string, times: number, retryAfterS: number): Promise<void> {
	await fetch(`${FAKE}/__fake/throttle`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ dest, times, retry_after: retryAfterS }) });
}
