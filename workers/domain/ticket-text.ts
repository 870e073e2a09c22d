// What the bot posts to the staff channel about tickets, in Discord markdown with every user's text escaped: pure text,
// always within Discord's 2000 characters.
import { DISCORD_CONTENT_MAX as CONTENT_MAX, clip, escapeDiscord, oneLine } from "./text.ts";

export interface PostTicket {
	id: string;
	subject: string;
	status: string;
	node_id: string | null;
	account_id: string;
	/** Set when the ticket appeals a flag. */
	flag_id?: string | null;
}
export interface PostMessage {
	author_name: string;
	author_role: "owner" | "staff";
	via: "api" | "discord";
	body: string;
}

const VIA = { api: "the API", discord: "Discord" } as const;

/** Quotes a user's text as a Discord block quote, every line escaped (so no line leaves the quote), cut to fit. */
export function quote(text: string, max: number): string {
	return clip(escapeDiscord(text, "keep"), max)
		.split("\n")
		.map((l) => `> ${l}`)
		.join("\n");
}

/**
 * Inline code that stays one piece of inline code whatever the text holds (nothing is parsed inside it, so backticks,
 * which would end it, and line breaks are all that need taking out).
 */
export function code(text: string): string {
	return `\`${oneLine(text).replaceAll("`", "'")}\``;
}

/** A user's one-line text (a name, a subject), cut to `max` and escaped. */
const md = (text: string, max: number) => escapeDiscord(clip(text, max));

function withBody(head: string[], body: string, tail: string[]): string {
	const fixed = [...head, ...tail].join("\n").length + 2;
	return [...head, quote(body, Math.max(100, CONTENT_MAX - fixed - 200)), ...tail].join("\n").slice(0, CONTENT_MAX);
}

export function newTicketPost(t: PostTicket, accountName: string, m: PostMessage): string {
	return withBody(
		[
			`🎫 **New ticket** ${code(t.id)} from **${md(accountName, 64)}** (${code(t.account_id)}) via ${VIA[m.via]}`,
			`**Subject:** ${md(t.subject, 120)}${t.node_id ? `\n**Node:** ${code(t.node_id)}` : ""}` +
				(t.flag_id ? `\n**Appeal of flag:** ${code(t.flag_id)}` : ""),
		],
		m.body,
		[`Answer with \`/ticket reply id:${t.id}\` or POST /v1/tickets/${t.id}/messages`],
	);
}

export function replyPost(t: PostTicket, m: PostMessage): string {
	const who = m.author_role === "staff" ? "staff" : "owner";
	return withBody(
		[
			`💬 ${code(t.id)} **${md(t.subject, 120)}** — ` +
				`${who} **${md(m.author_name, 64)}** replied via ${VIA[m.via]}; now \`${t.status}\``,
		],
		m.body,
		[],
	);
}

export function closedPost(t: PostTicket, by: string, via: "api" | "discord"): string {
	return `🔒 ${code(t.id)} **${md(t.subject, 120)}** — closed by **${md(by, 64)}** via ${VIA[via]}`;
}
