// POST /v1/links: a one-time code to link a Telegram chat (/start CODE, or the t.me deep link) or a Discord user (/link
// CODE).
import type { IRequest } from "itty-router";
import { requireAccount } from "../auth.ts";
import { iso, json } from "../http.ts";
import { createLinkCode, telegramStartUrl } from "../services/links.ts";

export async function postLink(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const { code, expires_at } = await createLinkCode(env.DB, account.id, Date.now());
	return json(
		{
			code,
			expires_at: iso(expires_at),
			telegram: `/start ${code}`,
			telegram_url: telegramStartUrl(env, code),
			discord: `/link code:${code}`,
		},
		201,
	);
}
