// Text helpers for Discord answers: fitting the 2000-character limit, timestamps Discord renders in each reader's time
// zone.
import { DISCORD_CONTENT_MAX as CONTENT_MAX, clip, fitLines as fitWithin } from "../../workers/domain/text.ts";

export function fit(text: string): string {
	return clip(text, CONTENT_MAX);
}

/** `<t:…:R>` shows "3 hours ago", `<t:…:f>` a full date, both in the reader's own locale and time zone. */
export function when(at: string | number | null, style: "R" | "f" = "R"): string {
	if (at === null) return "never";
	const ms = typeof at === "number" ? at : Date.parse(at);
	return Number.isFinite(ms) ? `<t:${Math.floor(ms / 1000)}:${style}>` : "unknown";
}

/** Joins lines within one Discord message, then says how many were left out and where to see them. */
export function fitLines(head: string[], lines: string[], more: (left: number) => string): string {
	return fitWithin(head, lines, more, { maxChars: CONTENT_MAX });
}
