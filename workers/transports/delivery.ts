// What a transport answers for one message, and the pace each kind of destination allows.

/** `tg:<chat id>` for a Telegram chat, `dc:<webhook id>/<token>` for a Discord channel webhook. */
export type Dest = string;

export type Delivery =
	| { ok: true; messageId: string }
	| { ok: false; retryAfterMs: number }
	| { ok: false; permanent: string }
	| { ok: false; transient: string };

export interface Transport {
	send(dest: Dest, text: string): Promise<Delivery>;
	edit(dest: Dest, messageId: string, text: string): Promise<Delivery>;
}

/**
 * Minimum gap between two requests to one destination: Telegram allows about one message a second per
 * chat and 20 a minute per group (negative chat ids); a Discord webhook about 30 a minute per channel.
 */
export function destGapMs(dest: Dest): number {
	if (dest.startsWith("dc:")) return 2_000;
	return dest.startsWith("tg:-") ? 3_100 : 1_050;
}

/** Requests per second across every Telegram chat (Telegram's limit is about 30; we keep a margin). */
export const TELEGRAM_PER_SECOND = 25;

export function transportOf(dest: Dest): "telegram" | "discord" {
	return dest.startsWith("dc:") ? "discord" : "telegram";
}
