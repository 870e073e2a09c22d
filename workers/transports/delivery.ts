// What a transport answers for one message, and the pace each kind of destination allows.

import type { Dest } from "../contracts.ts";

export type { Dest };

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

/**
 * A per-second limit counted as the receiver counts it. The receiver sees a request arrive somewhere between our
 * start and its reply, so a request holds a slot from its start until a second after its reply: then no second of
 * arrivals can hold more than `perSecond`, however late replies come (counting starts only, a slow request and the
 * next second's quick ones arrive together).
 */
export class SlidingLimit {
	private done: number[] = [];
	private inFlight = 0;

	constructor(private readonly perSecond: number) {}

	/** True when a request may start at `now`; otherwise when to look again. */
	free(now: number): true | number {
		this.done = this.done.filter((t) => now - t < 1000);
		if (this.done.length + this.inFlight < this.perSecond) return true;
		return this.done[0] === undefined ? now + 50 : this.done[0] + 1000;
	}

	start(): void {
		this.inFlight++;
	}

	/** The request started earlier got its reply (or failed) at `at`. */
	finish(at: number): void {
		this.inFlight--;
		this.done.push(at);
	}
}

export function transportOf(dest: Dest): "telegram" | "discord" {
	return dest.startsWith("dc:") ? "discord" : "telegram";
}
