// Sends and edits alert messages in Telegram chats through the Bot API (grammY's client, rooted at TELEGRAM_API_ROOT).
import { Api, GrammyError, HttpError } from "grammy";
import { readConfig } from "../config.ts";
import type { Delivery, Dest, Transport } from "./delivery.ts";

export function telegramApi(env: Env): Api {
	return new Api(env.TELEGRAM_BOT_TOKEN, { apiRoot: readConfig(env).telegram.apiRoot });
}

export function telegramDest(chatId: string | number): Dest {
	return `tg:${chatId}`;
}

function outcome(err: unknown): Delivery {
	if (err instanceof GrammyError) {
		if (err.error_code === 429) return { ok: false, retryAfterMs: (err.parameters.retry_after ?? 5) * 1000 };
		if (err.error_code >= 500) return { ok: false, transient: err.description };
		return { ok: false, permanent: `${err.error_code} ${err.description}` };
	}
	if (err instanceof HttpError) return { ok: false, transient: err.message };
	return { ok: false, transient: err instanceof Error ? err.message : String(err) };
}

export class TelegramTransport implements Transport {
	private readonly api: Api;

	constructor(env: Env) {
		this.api = telegramApi(env);
	}

	async send(dest: Dest, text: string): Promise<Delivery> {
		try {
			const m = await this.api.sendMessage(dest.slice(3), text, { link_preview_options: { is_disabled: true } });
			return { ok: true, messageId: String(m.message_id) };
		} catch (err) {
			return outcome(err);
		}
	}

	async edit(dest: Dest, messageId: string, text: string): Promise<Delivery> {
		try {
			await this.api.editMessageText(dest.slice(3), Number(messageId), text, {
				link_preview_options: { is_disabled: true },
			});
			return { ok: true, messageId };
		} catch (err) {
			// Editing to the same text is a success: the message already says it.
			if (err instanceof GrammyError && err.error_code === 400 && /not modified/i.test(err.description))
				return { ok: true, messageId };
			return outcome(err);
		}
	}
}
