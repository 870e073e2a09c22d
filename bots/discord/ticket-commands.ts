// /ticket open|list|view|reply|close: the same ticket service as /v1/tickets, so both doors meet in one store.
import {
	DISCORD_CONTENT_MAX as CONTENT_MAX,
	clip,
	escapeDiscord as md,
	newestThatFit,
	plural,
} from "../../workers/domain/text.ts";
import { code, quote } from "../../workers/domain/ticket-text.ts";
import { validate } from "../../workers/http.ts";
import {
	NewTicket,
	TicketListQuery,
	TicketReply,
	closeTicket,
	listTickets,
	openTicket,
	readTicket,
	replyToTicket,
	type MessageRow,
	type TicketRow,
} from "../../workers/services/tickets.ts";
import { NOT_LINKED, actorOf, text, type CommandContext } from "./context.ts";
import { fitLines, when } from "./format.ts";

export async function ticketOpen(c: CommandContext): Promise<string> {
	if (!c.account) return NOT_LINKED;
	const input = validate(NewTicket, {
		subject: text(c, "subject"),
		body: text(c, "body"),
		...(text(c, "node") ? { node_id: text(c, "node") } : {}),
		...(text(c, "flag") ? { flag_id: text(c, "flag") } : {}),
	});
	const { ticket } = await openTicket(c.env, actorOf(c), input, c.now, c.after);
	return (
		`🎫 Opened ${code(ticket.id)} — **${md(ticket.subject)}**. ` +
		`Staff have been told; follow it with \`/ticket view id:${ticket.id}\`.`
	);
}

function listLine(t: TicketRow & { account_name: string; messages: number; unread: number }, staff: boolean): string {
	const unread = !staff && t.unread ? ` · **${t.unread} unread repl${t.unread === 1 ? "y" : "ies"}**` : "";
	return (
		`${code(t.id)} **${md(clip(t.subject, 80))}** — \`${t.status}\` · updated ${when(t.updated_at)} · ` +
		`${t.messages} message${t.messages === 1 ? "" : "s"}${staff ? ` · ${md(t.account_name)}` : ""}${unread}`
	);
}

export async function ticketList(c: CommandContext): Promise<string> {
	if (!c.account && !c.staff) return NOT_LINKED;
	const q = validate(TicketListQuery, text(c, "status") ? { status: text(c, "status") } : {});
	const actor = actorOf(c);
	const { status, tickets } = await listTickets(c.env.DB, actor, q);
	const whose = actor.staff ? "All" : "Your";
	if (!tickets.length) return `${whose} tickets (${status}): none. Open one with \`/ticket open\`.`;
	return fitLines(
		[`**${whose} tickets** (${status}, newest activity first):`],
		tickets.map((t) => listLine(t, actor.staff)),
		(left) => `…and ${left} more (\`GET /v1/tickets\`).`,
	);
}

function messageBlock(m: MessageRow): string {
	return (
		`**${md(m.author_name)}**${m.author_role === "staff" ? " (staff)" : ""} ${when(m.created_at)}:\n` +
		`${quote(m.body, 900)}`
	);
}

export async function ticketView(c: CommandContext): Promise<string> {
	if (!c.account && !c.staff) return NOT_LINKED;
	const { ticket: t, messages } = await readTicket(c.env.DB, actorOf(c), text(c, "id") as string);
	const head = [
		`🎫 ${code(t.id)} **${md(t.subject)}** — \`${t.status}\`${t.node_id ? ` · node ${code(t.node_id)}` : ""}`,
		`Opened ${when(t.created_at)} via ` +
			`${t.opened_via}${t.closed_at ? ` · closed ${when(t.closed_at)} by ${md(t.closed_by ?? "")}` : ""}`,
		"",
	];
	const earlier = (left: number) => `…${plural(left, "earlier message")}: \`GET /v1/tickets/${t.id}\``;
	return newestThatFit(head, messages.map(messageBlock), earlier, CONTENT_MAX, 80);
}

export async function ticketReply(c: CommandContext): Promise<string> {
	if (!c.account && !c.staff) return NOT_LINKED;
	const { body } = validate(TicketReply, { body: text(c, "message") });
	const { ticket } = await replyToTicket(c.env, actorOf(c), text(c, "id") as string, body, c.now, c.after);
	return `💬 Added to ${code(ticket.id)}; it is now \`${ticket.status}\`.`;
}

export async function ticketClose(c: CommandContext): Promise<string> {
	if (!c.account && !c.staff) return NOT_LINKED;
	const { ticket } = await closeTicket(c.env, actorOf(c), text(c, "id") as string, c.now, c.after);
	return `🔒 Closed ${code(ticket.id)} — **${md(ticket.subject)}**. Open a new ticket any time with \`/ticket open\`.`;
}
