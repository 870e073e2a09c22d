// Sends and edits alert messages through a Discord channel webhook (DISCORD_API_ROOT, the public API by default).
import type { DiscordWebhook } from "../contracts.ts";
import { DISCORD_CONTENT_MAX, clip, escapeDiscord } from "../domain/text.ts";
import type { Delivery, Dest, Transport } from "./delivery.ts";

export type { DiscordWebhook };

export function discordDest(w: DiscordWebhook): Dest {
	return `dc:${w.id}/${w.token}`;
}

export class DiscordTransport implements Transport {
	constructor(private readonly root: string) {}

	async send(dest: Dest, text: string): Promise<Delivery> {
		return this.call("POST", `${this.url(dest)}?wait=true`, text);
	}

	async edit(dest: Dest, messageId: string, text: string): Promise<Delivery> {
		return this.call("PATCH", `${this.url(dest)}/messages/${messageId}`, text);
	}

	private url(dest: Dest): string {
		return `${this.root.replace(/\/$/, "")}/webhooks/${dest.slice(3)}`;
	}

	private async call(method: string, url: string, content: string): Promise<Delivery> {
		let res: Response;
		try {
			res = await fetch(url, {
				method,
				headers: { "content-type": "application/json" },
				// Alert texts are plain text holding the operator's own names: shown literally, and no mention pings anyone.
				body: JSON.stringify({
					content: discordContent(content),
					allowed_mentions: { parse: [] },
				}),
			});
		} catch (err) {
			return { ok: false, transient: err instanceof Error ? err.message : String(err) };
		}
		const body = (await res.json().catch(() => ({}))) as { id?: string; retry_after?: number; message?: string };
		if (res.ok) return { ok: true, messageId: String(body.id ?? "") };
		if (res.status === 429)
			return {
				ok: false,
				retryAfterMs: Math.ceil((body.retry_after ?? Number(res.headers.get("retry-after") ?? 5)) * 1000),
			};
		if (res.status >= 500) return { ok: false, transient: `${res.status} ${body.message ?? ""}` };
		return { ok: false, permanent: `${res.status} ${body.message ?? ""}` };
	}
}

/**
 * The alert escaped for Discord, within its limit. Alerts are fitted to it before escaping, which can lengthen them:
 * one cut that much is cut at the end of a whole line, so no line (and no escape) is left half.
 */
export function discordContent(text: string): string {
	const escaped = escapeDiscord(text, "keep");
	if (escaped.length <= DISCORD_CONTENT_MAX) return escaped;
	const end = escaped.lastIndexOf("\n", DISCORD_CONTENT_MAX - 2);
	return end > 0 ? `${escaped.slice(0, end)}\n…` : clip(escaped, DISCORD_CONTENT_MAX);
}
