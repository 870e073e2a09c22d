// Text helpers for Discord answers: fitting the 2000-character limit, timestamps Discord renders in each reader's time zone.
import { clip } from "../../workers/domain/tickets.ts";
import { CONTENT_MAX } from "./rest.ts";

export function fit(text: string): string {
	return clip(text, CONTENT_MAX);
}

/** `<t:…:R>` shows "3 hours ago", `<t:…:f>` a full date, both in the reader's own locale and time zone. */
export function when(at: string | number | null, style: "R" | "f" = "R"): string {
	if (at === null) return "never";
	const ms = typeof at === "number" ? at : Date.parse(at);
	return Number.isFinite(ms) ? `<t:${Math.floor(ms / 1000)}:${style}>` : "unknown";
}

export function percent(ratio: number): string {
	return `${(ratio * 100).toFixed(1)}%`;
}

export function tokens(units: number): string {
	return (units / 1e6).toFixed(6).replace(/\.?0+$/, "");
}

/** Joins lines until the next would break the limit, then says how many were left out and where to see them. */
export function fitLines(head: string[], lines: string[], more: (left: number) => string, max = CONTENT_MAX): string {
	const out = [...head];
	let size = out.join("\n").length;
	for (const [i, line] of lines.entries()) {
		const tail = lines.length - i - 1 > 0 ? more(lines.length - i - 1).length + 1 : 0;
		if (size + line.length + 1 + tail > max) {
			out.push(more(lines.length - i));
			return out.join("\n");
		}
		out.push(line);
		size += line.length + 1;
	}
	return out.join("\n");
}
