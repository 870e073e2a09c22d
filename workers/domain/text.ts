// Text every chat message uses: user text made literal (one line; Discord markdown), clipping to a limit, lists that
// end in "…and N more" when they do not fit, plurals, percentages, tokens.

/** Discord's limit on a message's content. */
export const DISCORD_CONTENT_MAX = 2000;
/** Telegram's limit on a message's text. */
export const TELEGRAM_TEXT_MAX = 4096;

/**
 * User text for a one-line field of any message: line breaks and every other control character become one space, so
 * a name or a subject can never start a line of its own (and forge one). Telegram messages are sent as plain text,
 * without a parse mode, so this is all Telegram needs: nothing in them is parsed as markup.
 */
export function oneLine(text: string): string {
	return text.replace(/[\p{Cc}\u2028\u2029]+/gu, " ");
}

/**
 * Every character Discord's markdown gives a meaning to: emphasis, spoilers, code, quotes, headings, lists, masked
 * links, mentions (`@everyone`, `<@id>`, `<@&role>`, `<#channel>`) and the backslash itself.
 */
const DISCORD_MARKUP = /[\\*_~`|>#\-[\]()<@]/g;

/**
 * The one way user text goes into a Discord message: each markdown character backslash-escaped, which Discord renders
 * as the character itself, so the text reads exactly as typed and nothing in it formats, links or mentions. One line
 * (`oneLine`) unless `lines` is "keep" (a whole plain-text message, or a body quoted line by line). Messages also go
 * with `allowed_mentions: {parse: []}`, so even a mention that got through would ping no one.
 */
export function escapeDiscord(text: string, lines: "one" | "keep" = "one"): string {
	return (lines === "one" ? oneLine(text) : keptLines(text)).replace(DISCORD_MARKUP, "\\$&");
}

/** Text whose lines are kept: each line break as "\n", every other control character a space. */
function keptLines(text: string): string {
	return text.replace(/\r\n?|[\u0085\u2028\u2029]/g, "\n").replace(/[^\P{Cc}\n]/gu, " ");
}

/** Shortens text to at most `max` characters, marking the cut with an ellipsis. */
export function clip(text: string, max: number): string {
	return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

export interface FitLimits {
	/** Characters of the whole text, head and "more" line included. */
	maxChars?: number;
	/** Lines after the head, the "more" line included. */
	maxLines?: number;
}

/**
 * The head, then as many lines as fit both limits; when some do not fit, the last line is `more(left)` and says how
 * many were left out (and where to see them).
 */
export function fitLines(head: string[], lines: string[], more: (left: number) => string, limits: FitLimits): string {
	const maxChars = limits.maxChars ?? Infinity;
	const maxLines = limits.maxLines ?? Infinity;
	const out = [...head];
	let size = out.join("\n").length;
	for (const [i, line] of lines.entries()) {
		const after = lines.length - i - 1;
		const tail = after > 0 ? more(after).length + 1 : 0;
		if (size + line.length + 1 + tail > maxChars || i + 1 + (after > 0 ? 1 : 0) > maxLines) {
			out.push(more(lines.length - i));
			return out.join("\n");
		}
		out.push(line);
		size += line.length + 1;
	}
	return out.join("\n");
}

/**
 * The head, then the newest blocks (the last of `blocks`) that fit `maxChars` with `reserve` characters to spare, in
 * their order; when earlier ones do not fit, `earlier(left)` says how many, right after the head. A ticket's view in
 * both bots: the newest messages matter most.
 */
export function newestThatFit(
	head: string[],
	blocks: string[],
	earlier: (left: number) => string,
	maxChars: number,
	reserve: number,
): string {
	const budget = maxChars - head.join("\n").length - reserve;
	const chosen: string[] = [];
	let size = 0;
	for (const block of [...blocks].reverse()) {
		if (size + block.length + 1 > budget) break;
		chosen.unshift(block);
		size += block.length + 1;
	}
	const left = blocks.length - chosen.length;
	return [...head, ...(left ? [earlier(left)] : []), ...chosen].join("\n");
}

export function plural(n: number, one: string, many = `${one}s`): string {
	return `${n} ${n === 1 ? one : many}`;
}

/** 0.987 → "98.7%". */
export function percent(ratio: number): string {
	return `${(ratio * 100).toFixed(1)}%`;
}

/** Reward units (1e-6 token) as tokens, without trailing zeros. */
export function tokens(units: number): string {
	return (units / 1e6).toFixed(6).replace(/\.?0+$/, "");
}
