// POST /telegram/webhook: the secret token is checked in constant time before the body is read; then grammY's
// cloudflare-mod adapter handles the update.
import { webhookCallback } from "grammy";
import type { IRequest } from "itty-router";
import { createBot } from "../../bots/telegram/bot.ts";
import { ApiError } from "../http.ts";
import { secretsEqual } from "../ids.ts";

/** Telegram updates are small; anything bigger is not from Telegram. */
const MAX_UPDATE_BYTES = 256 * 1024;

export async function telegramWebhook(request: IRequest, env: Env): Promise<Response> {
	const given = request.headers.get("x-telegram-bot-api-secret-token");
	if (!env.TELEGRAM_WEBHOOK_SECRET || !given || !(await secretsEqual(given, env.TELEGRAM_WEBHOOK_SECRET))) {
		throw new ApiError(401, "unauthorized", "Missing or wrong X-Telegram-Bot-Api-Secret-Token.");
	}
	if (!env.TELEGRAM_BOT_TOKEN)
		throw new ApiError(422, "unprocessable", "The Telegram bot is not configured (TELEGRAM_BOT_TOKEN).");
	if (Number(request.headers.get("content-length") ?? "0") > MAX_UPDATE_BYTES)
		throw new ApiError(413, "payload_too_large", `Updates are at most ${MAX_UPDATE_BYTES} bytes.`);
	const text = await request.text();
	if (text.length > MAX_UPDATE_BYTES)
		throw new ApiError(413, "payload_too_large", `Updates are at most ${MAX_UPDATE_BYTES} bytes.`);
	let update: unknown;
	try {
		update = JSON.parse(text);
	} catch {
		throw new ApiError(400, "invalid_json", "The update is not valid JSON.");
	}
	if (
		typeof update !== "object" ||
		update === null ||
		typeof (update as { update_id?: unknown }).update_id !== "number"
	) {
		throw new ApiError(400, "validation_failed", "An update needs a numeric update_id.");
	}
	const handle = webhookCallback(createBot(env), "cloudflare-mod", { secretToken: env.TELEGRAM_WEBHOOK_SECRET });
	try {
		return await handle(new Request(request.url, { method: "POST", headers: request.headers, body: text }));
	} catch (err) {
		// Telegram sends an update again until it gets a 2xx: a command that failed half-way (its answer refused, the
		// user having blocked the bot) would run twice — two tickets for one /ticket open. Logged and acknowledged;
		// the user sends the command again if it did not happen.
		console.error("telegram update failed; acknowledged, not retried", err);
		return new Response(null, { status: 200 });
	}
}
