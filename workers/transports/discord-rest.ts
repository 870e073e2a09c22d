// The bot's calls to Discord's REST API (DISCORD_API_ROOT): channel posts and DMs with the bot token, and interaction
// follow-ups.
import { readConfig } from "../config.ts";

const USER_AGENT = "DiscordBot (https://github.com/pulsegrid/pulsegrid, 0.1.0)";

export type RestResult =
	| { ok: true; body: Record<string, unknown> }
	/** status 0: the request never got an answer (network error). */
	| { ok: false; status: number; retryAfterMs: number | null; error: string };

/** A message as we send it: plain content, and never a mention that pings anyone (the text may be a user's). */
export interface OutgoingMessage {
	content: string;
	flags?: number;
}

function payload(m: OutgoingMessage, extra: Record<string, unknown> = {}): string {
	return JSON.stringify({ ...m, allowed_mentions: { parse: [] }, ...extra });
}

async function call(url: string, init: RequestInit): Promise<RestResult> {
	let res: Response;
	try {
		res = await fetch(url, {
			...init,
			headers: { "content-type": "application/json", "user-agent": USER_AGENT, ...init.headers },
		});
	} catch (err) {
		return { ok: false, status: 0, retryAfterMs: null, error: err instanceof Error ? err.message : String(err) };
	}
	const text = await res.text();
	let body: Record<string, unknown> = {};
	try {
		const parsed: unknown = text ? JSON.parse(text) : {};
		if (parsed && typeof parsed === "object") body = parsed as Record<string, unknown>;
	} catch {
		/* an HTML error page from a proxy: keep the status */
	}
	if (res.ok) return { ok: true, body };
	const retryAfterS =
		typeof body.retry_after === "number" ? body.retry_after : Number(res.headers.get("retry-after") ?? NaN);
	return {
		ok: false,
		status: res.status,
		retryAfterMs: res.status === 429 && Number.isFinite(retryAfterS) ? Math.ceil(retryAfterS * 1000) : null,
		error: `${res.status} ${typeof body.message === "string" ? body.message : text.slice(0, 200)}`.trim(),
	};
}

/**
 * Posts to a channel as the bot. `nonce` (≤ 25 characters) with `enforce_nonce` makes Discord return the earlier
 * message instead of posting twice when a retry repeats a post that had in fact gone through.
 */
export async function postChannelMessage(
	env: Env,
	channelId: string,
	m: OutgoingMessage,
	nonce: string,
): Promise<RestResult> {
	return call(`${readConfig(env).discord.apiRoot}/channels/${encodeURIComponent(channelId)}/messages`, {
		method: "POST",
		headers: { authorization: `Bot ${env.DISCORD_BOT_TOKEN}` },
		body: payload(m, { nonce, enforce_nonce: true }),
	});
}

/** Opens (or finds: Discord answers the same channel again) the bot's DM channel with a user; its id is `body.id`. */
export async function openDmChannel(env: Env, userId: string): Promise<RestResult> {
	return call(`${readConfig(env).discord.apiRoot}/users/@me/channels`, {
		method: "POST",
		headers: { authorization: `Bot ${env.DISCORD_BOT_TOKEN}` },
		body: JSON.stringify({ recipient_id: userId }),
	});
}

/** Replaces the deferred "thinking…" answer to an interaction; the interaction token authorizes it for 15 minutes. */
export async function editOriginalResponse(
	env: Env,
	applicationId: string,
	token: string,
	m: OutgoingMessage,
): Promise<RestResult> {
	const root = readConfig(env).discord.apiRoot;
	return call(`${root}/webhooks/${encodeURIComponent(applicationId)}/${encodeURIComponent(token)}/messages/@original`, {
		method: "PATCH",
		body: payload(m),
	});
}
