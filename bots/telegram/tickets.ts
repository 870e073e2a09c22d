// /ticket in Telegram (open, appeal, list, view, reply, close): the same ticket service as /v1/tickets and Discord's
// /ticket, answered in plain text (no parse mode; user text through `oneLine` and `plainQuote`).
import { formatDuration } from "../../workers/domain/duration.ts";
import { plainQuote } from "../../workers/domain/ticket-text.ts";
import { TELEGRAM_TEXT_MAX, clip, fitLines, newestThatFit, oneLine, plural } from "../../workers/domain/text.ts";
import { validate } from "../../workers/http.ts";
import type { Account } from "../../workers/services/accounts.ts";
import {
	NewTicket,
	TicketListQuery,
	TicketReply,
	closeTicket,
	listTickets,
	openTicket,
	readTicket,
	replyToTicket,
	ticketActor,
	type Background,
	type MessageRow,
} from "../../workers/services/tickets.ts";
import { usageOf } from "./commands.ts";

/** Subcommands that change something (in a group, only the linker or an admin may use them). */
const CHANGING = new Set(["open", "appeal", "reply", "close"]);

export function ticketChanges(args: string): boolean {
	return CHANGING.has(firstWord(args).toLowerCase());
}

function firstWord(text: string): string {
	return /^\s*(\S*)/.exec(text)?.[1] ?? "";
}

/** The first word and everything after it (line breaks in the rest kept). */
function split(text: string): [string, string] {
	const m = /^\s*(\S*)[^\S\n]*\n?([\s\S]*)$/.exec(text);
	return [m?.[1] ?? "", (m?.[2] ?? "").trim()];
}

const usage = () => `Usage:\n${usageOf("ticket")}`;

function ago(at: number, now: number): string {
	return `${formatDuration(Math.max(0, now - at))} ago`;
}

/** `/ticket …` for the account this chat is linked to, as `from` (the Telegram account name shown to staff). */
export async function ticketCommand(
	env: Env,
	account: Account,
	args: string,
	now: number,
	background: Background,
): Promise<string> {
	const actor = ticketActor(account, false, account.name, "telegram");
	const [sub, rest] = split(args);
	switch (sub.toLowerCase()) {
		case "":
		case "list": {
			const filter = rest.toLowerCase();
			if (rest && filter !== "unread" && !/^[a-z_]+$/.test(filter)) return usage();
			const q = validate(TicketListQuery, filter === "unread" ? { unread: "true" } : rest ? { status: filter } : {});
			const { status, tickets } = await listTickets(env.DB, actor, q);
			const which = filter === "unread" ? "with unread replies" : status;
			if (!tickets.length) return `Your tickets (${which}): none. ${usageOf("ticket").split("\n")[0]}`;
			return fitLines(
				[`Your tickets (${which}), newest activity first:`],
				tickets.map(
					(t) =>
						`${t.unread ? "🔵" : "•"} ${t.id} "${oneLine(clip(t.subject, 80))}" — ${t.status}, ` +
						`updated ${ago(t.updated_at, now)}, ${plural(t.messages, "message")}` +
						(t.unread ? `, ${plural(t.unread, "unread reply", "unread replies")}` : ""),
				),
				(left) => `…and ${left} more (GET /v1/tickets).`,
				{ maxChars: TELEGRAM_TEXT_MAX },
			);
		}
		case "open": {
			// The subject is the first line; the message the lines after it (or the subject again when there are none).
			const [subject = "", ...lines] = rest.split("\n");
			if (!subject.trim()) return usage();
			const input = validate(NewTicket, { subject, body: lines.join("\n").trim() || subject });
			const { ticket } = await openTicket(env, actor, input, now, background);
			return `🎫 Opened ${ticket.id} "${oneLine(ticket.subject)}". Staff have been told; their answers will come here.`;
		}
		case "appeal": {
			const [flagId, why] = split(rest);
			if (!flagId || !why) return usage();
			const input = validate(NewTicket, { subject: `Appeal of flag ${flagId}`, body: why, flag_id: flagId });
			const { ticket } = await openTicket(env, actor, input, now, background);
			const of = `your appeal of ${ticket.flag_id} (node ${ticket.node_id})`;
			return `🎫 Opened ${ticket.id}: ${of}. Staff's answer will come here.`;
		}
		case "view": {
			const [id, extra] = split(rest);
			if (!id || extra) return usage();
			const { ticket: t, messages } = await readTicket(env.DB, actor, id);
			const head = [
				`🎫 ${t.id} "${oneLine(t.subject)}" — ${t.status}${t.node_id ? `, node ${t.node_id}` : ""}` +
					(t.flag_id ? `, appeal of ${t.flag_id}` : ""),
			];
			const earlier = (left: number) => `…${plural(left, "earlier message")}: GET /v1/tickets/${t.id}`;
			return newestThatFit(head, messages.map(block), earlier, TELEGRAM_TEXT_MAX, 100);
		}
		case "reply": {
			const [id, message] = split(rest);
			if (!id || !message) return usage();
			const { body } = validate(TicketReply, { body: message });
			const { ticket } = await replyToTicket(env, actor, id, body, now, background);
			return `💬 Added to ${ticket.id}; it is now ${ticket.status}.`;
		}
		case "close": {
			const [id, extra] = split(rest);
			if (!id || extra) return usage();
			const { ticket } = await closeTicket(env, actor, id, now, background);
			return `🔒 Closed ${ticket.id} "${oneLine(ticket.subject)}". Open a new one any time with /ticket open.`;
		}
		default:
			return usage();
	}
}

function block(m: MessageRow): string {
	const who = `${oneLine(m.author_name)}${m.author_role === "staff" ? " (staff)" : ""}`;
	const at = new Date(m.created_at).toISOString().slice(0, 16).replace("T", " ");
	return `${who}, ${at} UTC:\n${plainQuote(m.body, 1500)}`;
}
