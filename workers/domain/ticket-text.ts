// What the bots say about tickets and flags: staff-channel posts (Discord markdown, every user's text escaped) and the
// notices that reach an owner (Telegram plain text, Discord markdown); pure text, always within each platform's limit.
import { DISCORD_CONTENT_MAX as CONTENT_MAX, TELEGRAM_TEXT_MAX, clip, escapeDiscord, oneLine } from "./text.ts";

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
	via: "api" | "discord" | "telegram";
	body: string;
}

const VIA = { api: "the API", discord: "Discord", telegram: "Telegram" } as const;

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

export function closedPost(t: PostTicket, by: string, via: PostMessage["via"]): string {
	return `🔒 ${code(t.id)} **${md(t.subject, 120)}** — closed by **${md(by, 64)}** via ${VIA[via]}`;
}

// --- Notices to the owner, where they are (Telegram plain text, without a parse mode; a Discord DM in markdown) ---

/** One message per platform: plain text for Telegram (user text kept on its lines), Discord markdown (escaped). */
export interface Notice {
	telegram: string;
	discord: string;
}

/** Room left for a quoted body in a Telegram notice (the rest of the notice is short). */
const TELEGRAM_QUOTE_MAX = TELEGRAM_TEXT_MAX - 600;

/**
 * Quotes a user's text in a plain-text (Telegram) message: every line starts with "│ ", so no line of it can pass for
 * one of ours; control characters become spaces; cut to fit.
 */
export function plainQuote(text: string, max: number): string {
	return clip(text, max)
		.split(/\r\n?|[\n\u0085\u2028\u2029]/)
		.map((l) => `│ ${oneLine(l)}`)
		.join("\n");
}

/** A one-line user text for a Telegram notice. */
const plain = (text: string, max: number) => oneLine(clip(text, max));

export interface NoticeTicket {
	id: string;
	subject: string;
	status: string;
}

/** Staff answered the owner's ticket: the reply's text, and how to answer from here. */
export function staffReplyNotice(t: NoticeTicket, m: { author_name: string; body: string }): Notice {
	return {
		telegram: clip(
			[
				`💬 Staff (${plain(m.author_name, 64)}) replied to your ticket ${t.id} "${plain(t.subject, 120)}":`,
				plainQuote(m.body, TELEGRAM_QUOTE_MAX),
				`Answer here with /ticket reply ${t.id} <your message> — see it all with /ticket view ${t.id}.`,
			].join("\n"),
			TELEGRAM_TEXT_MAX,
		),
		discord: withBody(
			[`💬 Staff (**${md(m.author_name, 64)}**) replied to your ticket ${code(t.id)} **${md(t.subject, 120)}**:`],
			m.body,
			[`Answer with \`/ticket reply id:${t.id}\` — see it all with \`/ticket view id:${t.id}\`.`],
		),
	};
}

/** Staff closed the owner's ticket. */
export function staffClosedNotice(t: NoticeTicket, by: string): Notice {
	return {
		telegram:
			`🔒 Your ticket ${t.id} "${plain(t.subject, 120)}" was closed by staff (${plain(by, 64)}). ` +
			"Open a new one any time with /ticket open.",
		discord:
			`🔒 Your ticket ${code(t.id)} **${md(t.subject, 120)}** was closed by staff (**${md(by, 64)}**). ` +
			"Open a new one any time with `/ticket open`.",
	};
}

export interface NoticeFlag {
	id: string;
	code: string;
	reason: string;
	share: number;
	node_id: string;
}

/** A flag on one of the owner's nodes, at once, with how to appeal it. */
export function flagNotice(f: NoticeFlag, nodeName: string): Notice {
	const cut = `${Math.round(f.share * 100)}%`;
	return {
		telegram: clip(
			[
				`🚩 Your node ${plain(nodeName, 64)} (${f.node_id}) was flagged: ${plain(f.code, 64)}, ` +
					`${cut} of its points withheld while the flag stands.`,
				`Reason: ${plain(f.reason, 500)}`,
				`Appeal: /ticket appeal ${f.id} <why the flag is wrong> — or POST /v1/tickets with "flag_id": "${f.id}".`,
			].join("\n"),
			TELEGRAM_TEXT_MAX,
		),
		discord: clip(
			[
				`🚩 Your node **${md(nodeName, 64)}** (${code(f.node_id)}) was flagged: ${code(f.code)}, ` +
					`${cut} of its points withheld while the flag stands.`,
				`**Reason:** ${md(f.reason, 500)}`,
				`Appeal: \`/ticket open flag:${f.id}\` (with why the flag is wrong), ` +
					`or POST /v1/tickets with \`"flag_id": "${f.id}"\`.`,
			].join("\n"),
			CONTENT_MAX,
		),
	};
}

/** The note staff leave in an appeal when its flag is cleared (the ticket is then closed). */
export function flagClearedNote(flagId: string): string {
	return `The flag ${flagId} was cleared by staff, so this appeal is closed. Thank you for raising it.`;
}

/** A flag on the owner's node was cleared; its open appeals (if any) are answered and closed. */
export function flagClearedNotice(f: { id: string; code: string; node_id: string }, tickets: string[]): Notice {
	const closed = tickets.length ? ` Your appeal ${tickets.join(", ")} is answered and closed.` : "";
	return {
		telegram:
			`✅ The flag ${f.id} (${plain(f.code, 64)}) on your node ${f.node_id} was cleared by staff: ` +
			`its points are no longer withheld.${closed}`,
		discord:
			`✅ The flag ${code(f.id)} (${code(f.code)}) on your node ${code(f.node_id)} was cleared by staff: ` +
			`its points are no longer withheld.` +
			(tickets.length ? ` Your appeal ${tickets.map((t) => code(t)).join(", ")} is answered and closed.` : ""),
	};
}
