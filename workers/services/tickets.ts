// Support tickets, shared by the HTTP API and both bots: open, list, read, reply and close, each checked against the
// caller; staff answers reach the owner where they are (their linked Telegram chats and Discord DMs).
import { z } from "zod";
import { ApiError, iso } from "../http.ts";
import { newId } from "../ids.ts";
import { userText } from "../schemas.ts";
import {
	BODY_MAX,
	MESSAGES_MAX,
	OPENED_PER_HOUR_MAX,
	OPEN_TICKETS_MAX,
	OWNER_REPLIES_PER_MINUTE_MAX,
	SUBJECT_MAX,
	TICKET_STATUSES,
	authorRole,
	canSee,
	isStaff,
	transition,
	type TicketViewer,
} from "../domain/tickets.ts";
import { closedPost, newTicketPost, replyPost, staffClosedNotice, staffReplyNotice } from "../domain/ticket-text.ts";
import type { Account } from "../db/accounts.ts";
import { flagWithOwner } from "../db/flags.ts";
import * as nodes from "../db/nodes.ts";
import * as tickets from "../db/tickets.ts";
import type { MessageRow, NewMessage, TicketRow, Via } from "../db/tickets.ts";
import { drainDiscordOutbox, staffChannel } from "./discord-outbox.ts";

const text = (max: number, multiline: boolean) =>
	userText(z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`), { multiline });

export const NewTicket = z
	.object({
		subject: text(SUBJECT_MAX, false),
		body: text(BODY_MAX, true),
		node_id: z.string().trim().min(1).max(64).optional().describe("One of your nodes, if the ticket is about it"),
		flag_id: z
			.string()
			.trim()
			.min(1)
			.max(64)
			.optional()
			.describe("A flag on one of your nodes: the ticket is its appeal (the node is the flag's)"),
	})
	.strict();
export const TicketReply = z.object({ body: text(BODY_MAX, true) }).strict();
/** `active` = every status but closed. Default: all of an owner's tickets; for staff, the active ones of everyone. */
export const TicketListQuery = z
	.object({
		status: z.enum([...TICKET_STATUSES, "active", "all"]).optional(),
		limit: z.coerce.number().int().min(1).max(100).optional(),
		unread: z
			.enum(["true", "false"])
			.optional()
			.describe("true: only tickets with staff replies the owner has not seen"),
	})
	.strict();

export type { MessageRow, TicketRow, Via };

/** The caller as the ticket rules see it, whichever door they came through. */
export interface TicketActor extends TicketViewer {
	account: Account | null;
	/** Shown as the author: the account's name, "admin", or "discord:<username>" for unlinked Discord staff. */
	name: string;
	via: Via;
}

export function ticketActor(account: Account | null, staff: boolean, name: string, via: Via): TicketActor {
	return { account, accountId: account?.id ?? null, staff: isStaff(staff, account), name, via };
}

export function ticketView(t: TicketRow & { account_name?: string; messages?: number; unread?: number }) {
	return {
		id: t.id,
		account_id: t.account_id,
		...(t.account_name !== undefined ? { account_name: t.account_name } : {}),
		subject: t.subject,
		node_id: t.node_id,
		flag_id: t.flag_id ?? null,
		status: t.status,
		opened_via: t.opened_via,
		created_at: iso(t.created_at),
		updated_at: iso(t.updated_at),
		closed_at: iso(t.closed_at),
		closed_by: t.closed_by,
		...(t.messages !== undefined ? { messages: t.messages } : {}),
		...(t.unread !== undefined ? { unread_replies: t.unread } : {}),
	};
}

export function messageView(m: MessageRow) {
	return {
		id: m.id,
		author: { role: m.author_role, account_id: m.author_account_id, name: m.author_name },
		via: m.via,
		body: m.body,
		created_at: iso(m.created_at),
	};
}

/** Work a request finishes after its answer (`ctx.waitUntil`). */
export type Background = (work: Promise<unknown>) => void;

/**
 * Sends what a write just queued (the staff-channel post, the owner's DMs, their Telegram notices to the gate), after
 * the answer; the cron retries whatever this misses.
 */
export function deliverSoon(env: Env, background: Background, now: number): void {
	background(drainDiscordOutbox(env, now).catch((err) => console.error("discord outbox drain failed", err)));
}

/** The post announcing a change in the staff channel, when one is configured. */
function announcement(env: Env, content: string): { channelId: string; content: string } | null {
	const channelId = staffChannel(env);
	return channelId ? { channelId, content } : null;
}

export async function openTicket(
	env: Env,
	actor: TicketActor,
	input: z.infer<typeof NewTicket>,
	now: number,
	background: Background,
) {
	const account = actor.account;
	if (!account)
		throw new ApiError(
			403,
			"forbidden",
			"Tickets belong to an account: open one with an account's API key, or link your Discord user first.",
		);
	const flag = input.flag_id ? await appealed(env.DB, input.flag_id, account.id, input.node_id) : null;
	if (input.node_id) {
		const node = await nodes.byId(env.DB, input.node_id);
		if (!node) throw new ApiError(404, "not_found", `No node '${input.node_id}'.`);
		if (node.account_id !== account.id)
			throw new ApiError(
				403,
				"forbidden",
				"That node belongs to another account; a ticket can name only your own nodes.",
			);
	}
	const t: TicketRow = {
		id: newId("tkt"),
		account_id: account.id,
		subject: input.subject,
		node_id: input.node_id ?? flag?.node_id ?? null,
		flag_id: flag?.id ?? null,
		status: "open",
		opened_via: actor.via,
		created_at: now,
		updated_at: now,
		closed_at: null,
		closed_by: null,
	};
	const m: NewMessage = {
		ticket_id: t.id,
		author_role: "owner",
		author_account_id: account.id,
		author_name: actor.name,
		via: actor.via,
		body: input.body,
		created_at: now,
	};
	const limits = { open: OPEN_TICKETS_MAX, perHour: OPENED_PER_HOUR_MAX };
	const opened = await tickets.open(env.DB, t, m, announcement(env, newTicketPost(t, account.name, m)), limits);
	if (!opened) throw await openRefusal(env.DB, account.id, now);
	deliverSoon(env, background, now);
	return { ticket: t, messages: [{ ...m, id: opened.messageId }] };
}

/** The flag a new ticket appeals: it must exist, be on the caller's node, and match `nodeId` if one is named. */
async function appealed(db: D1Database, flagId: string, accountId: string, nodeId: string | undefined) {
	const flag = await flagWithOwner(db, flagId);
	if (!flag) throw new ApiError(404, "not_found", `No flag '${flagId}'.`);
	if (flag.account_id !== accountId)
		throw new ApiError(403, "forbidden", "That flag is on another account's node; appeal only your own flags.");
	if (nodeId !== undefined && nodeId !== flag.node_id)
		throw new ApiError(422, "unprocessable", `Flag '${flagId}' is on node '${flag.node_id}', not '${nodeId}'.`);
	if (flag.cleared_at !== null) throw new ApiError(409, "conflict", `Flag '${flagId}' is already cleared.`);
	return flag;
}

/** Why a ticket could not be opened: too many open (close one), or too many opened this hour (wait). */
async function openRefusal(db: D1Database, accountId: string, now: number): Promise<ApiError> {
	const r = await tickets.openingLoad(db, accountId, now);
	if (r.open >= OPEN_TICKETS_MAX)
		return new ApiError(
			422,
			"unprocessable",
			`You already have ${OPEN_TICKETS_MAX} open tickets; add to one of them or close one first.`,
		);
	const wait = Math.max(1, Math.ceil(((r.oldest ?? now) + 3600_000 - now) / 1000));
	return new ApiError(
		429,
		"rate_limited",
		`You opened ${OPENED_PER_HOUR_MAX} tickets in the last hour; try again in ${Math.ceil(wait / 60)} min.`,
		{ "retry-after": String(wait) },
	);
}

/** Tickets of the account that are not closed yet (for the daily digest). */
export async function openTicketCount(db: D1Database, accountId: string): Promise<number> {
	return tickets.openCount(db, accountId);
}

export async function listTickets(db: D1Database, actor: TicketActor, q: z.infer<typeof TicketListQuery>) {
	const status = q.status ?? (actor.staff ? "active" : "all");
	if (!actor.staff && !actor.accountId)
		throw new ApiError(403, "forbidden", "Link your account first to see your tickets.");
	const list = await tickets.list(db, {
		everyone: actor.staff,
		accountId: actor.accountId,
		status,
		limit: q.limit ?? 50,
		unreadOnly: q.unread === "true",
	});
	return { status, tickets: list };
}

/** The ticket if the caller may see it; anyone else gets the same 404 as for a ticket that does not exist. */
export async function visibleTicket(db: D1Database, actor: TicketViewer, id: string): Promise<TicketRow> {
	const t = await tickets.byId(db, id);
	if (!t || !canSee(t, actor)) throw new ApiError(404, "not_found", `No ticket '${id}' that you can see.`);
	return t;
}

/**
 * The ticket and its messages. When its owner reads it, every message becomes seen; `unread` still counts the staff
 * replies this read showed them for the first time (for staff it is what the owner has not seen).
 */
export async function readTicket(db: D1Database, actor: TicketViewer, id: string) {
	const t = await visibleTicket(db, actor, id);
	const unread = authorRole(t, actor) === "owner" ? await tickets.markSeen(db, id) : await tickets.unreadOf(db, id);
	return { ticket: { ...t, unread }, messages: await tickets.messages(db, id, MESSAGES_MAX) };
}

export async function replyToTicket(
	env: Env,
	actor: TicketActor,
	id: string,
	body: string,
	now: number,
	background: Background,
) {
	const t = await visibleTicket(env.DB, actor, id);
	const role = authorRole(t, actor);
	if (!role) throw new ApiError(404, "not_found", `No ticket '${id}' that you can see.`);
	const next = transition(t.status, role === "owner" ? "owner_reply" : "staff_reply");
	if (!next.ok) throw new ApiError(409, "conflict", next.reason);
	const count = await tickets.messageLoad(env.DB, id, now);
	if (count.n >= MESSAGES_MAX)
		throw new ApiError(
			422,
			"unprocessable",
			`This ticket has ${MESSAGES_MAX} messages; open a new ticket to continue.`,
		);
	if (role === "owner" && count.recent >= OWNER_REPLIES_PER_MINUTE_MAX) {
		throw new ApiError(
			429,
			"rate_limited",
			`You added ${OWNER_REPLIES_PER_MINUTE_MAX} messages to this ticket in the last minute; wait a moment.`,
			{ "retry-after": "60" },
		);
	}
	const after: TicketRow = { ...t, status: next.status, updated_at: now };
	const m: NewMessage = {
		ticket_id: id,
		author_role: role,
		author_account_id: actor.accountId,
		author_name: actor.name,
		via: actor.via,
		body,
		created_at: now,
	};
	// A staff answer reaches the owner where they are; an owner's own words are only posted to staff.
	const notice = role === "staff" ? staffReplyNotice(after, m) : null;
	const replied = await tickets.reply(env.DB, t, after, m, announcement(env, replyPost(after, m)), notice);
	if (!replied)
		throw new ApiError(409, "conflict", "The ticket changed while you were replying; look at it again and retry.");
	deliverSoon(env, background, now);
	return { ticket: after, message: { ...m, id: replied.messageId } };
}

export async function closeTicket(env: Env, actor: TicketActor, id: string, now: number, background: Background) {
	const t = await visibleTicket(env.DB, actor, id);
	const next = transition(t.status, "close");
	if (!next.ok) throw new ApiError(409, "conflict", next.reason);
	const after: TicketRow = { ...t, status: "closed", updated_at: now, closed_at: now, closed_by: actor.name };
	const notice = authorRole(t, actor) === "staff" ? staffClosedNotice(after, actor.name) : null;
	if (!(await tickets.close(env.DB, t, after, announcement(env, closedPost(after, actor.name, actor.via)), notice)))
		throw new ApiError(409, "conflict", "The ticket changed meanwhile; look at it again.");
	deliverSoon(env, background, now);
	return { ticket: after };
}
