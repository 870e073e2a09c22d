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
					content: clip(escapeDiscord(content, "keep"), DISCORD_CONTENT_MAX),
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
