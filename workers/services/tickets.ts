// Support tickets in D1, shared by the HTTP API and the Discord bot: open, list, read, reply and close, each checked against the caller.
import { z } from "zod";
import { ApiError, iso } from "../http.ts";
import { newId } from "../ids.ts";
import {
	BODY_MAX, MESSAGES_MAX, OPENED_PER_HOUR_MAX, OPEN_TICKETS_MAX, OWNER_REPLIES_PER_MINUTE_MAX, SUBJECT_MAX, TICKET_STATUSES,
	authorRole, canSee, isStaff, transition,
	type TicketStatus, type TicketViewer,
} from "../domain/tickets.ts";
import { closedPost, newTicketPost, replyPost } from "../domain/ticket-text.ts";
import type { Account } from "./accounts.ts";
import { drainDiscordOutbox, enqueueStatement, staffChannel, type Guard } from "./discord-outbox.ts";
import { getNodeRow } from "./nodes.ts";

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);

export const NewTicket = z
	.object({ subject: text(SUBJECT_MAX), body: text(BODY_MAX), node_id: z.string().trim().min(1).max(64).optional().describe("One of your nodes, if the ticket is about it") })
	.strict();
export const TicketReply = z.object({ body: text(BODY_MAX) }).strict();
/** `active` = every status but closed. Default: all of an owner's tickets; for staff, the active ones of everyone. */
export const TicketListQuery = z
	.object({ status: z.enum([...TICKET_STATUSES, "active", "all"]).optional(), limit: z.coerce.number().int().min(1).max(100).optional() })
	.strict();

export type Via = "api" | "discord";

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

export interface TicketRow {
	id: string; account_id: string; subject: string; node_id: string | null; status: TicketStatus; opened_via: Via;
	created_at: number; updated_at: number; closed_at: number | null; closed_by: string | null;
}
export interface MessageRow {
	id: number; ticket_id: string; author_role: "owner" | "staff"; author_account_id: string | null; author_name: string;
	via: Via; body: string; created_at: number;
}

export function ticketView(t: TicketRow & { account_name?: string; messages?: number }) {
	return {
		id: t.id, account_id: t.account_id, ...(t.account_name !== undefined ? { account_name: t.account_name } : {}),
		subject: t.subject, node_id: t.node_id, status: t.status, opened_via: t.opened_via,
		created_at: iso(t.created_at), updated_at: iso(t.updated_at), closed_at: iso(t.closed_at), closed_by: t.closed_by,
		...(t.messages !== undefined ? { messages: t.messages } : {}),
	};
}

export function messageView(m: MessageRow) {
	return { id: m.id, author: { role: m.author_role, account_id: m.author_account_id, name: m.author_name }, via: m.via, body: m.body, created_at: iso(m.created_at) };
}

const INSERT_MESSAGE = `INSERT INTO ticket_messages (ticket_id, author_role, author_account_id, author_name, via, body, created_at)
	SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tickets WHERE id = ? AND status = ? AND updated_at = ?) RETURNING id`;

/** Inserts a message only if the ticket is in the state this request just put it in (so a lost race writes nothing). */
function messageStatement(db: D1Database, t: TicketRow, m: Omit<MessageRow, "id">): D1PreparedStatement {
	return db.prepare(INSERT_MESSAGE).bind(t.id, m.author_role, m.author_account_id, m.author_name, m.via, m.body, m.created_at, t.id, t.status, t.updated_at);
}

function stateGuard(t: TicketRow): Guard {
	return { sql: "EXISTS (SELECT 1 FROM tickets WHERE id = ? AND status = ? AND updated_at = ?)", params: [t.id, t.status, t.updated_at] };
}

/** Work a request finishes after its answer (`ctx.waitUntil`). */
export type Background = (work: Promise<unknown>) => void;

/** Sends the staff-channel post a write just queued, after the answer; the cron retries whatever this misses. */
function deliverSoon(env: Env, background: Background, now: number): void {
	if (!staffChannel(env)) return;
	background(drainDiscordOutbox(env, now).catch((err) => console.error("discord outbox drain failed", err)));
}

/** Statements that announce a change in the staff channel, when one is configured. */
function announce(env: Env, content: string, t: TicketRow, now: number): D1PreparedStatement[] {
	const channel = staffChannel(env);
	return channel ? [enqueueStatement(env.DB, channel, content, now, stateGuard(t))] : [];
}

export async function openTicket(env: Env, actor: TicketActor, input: z.infer<typeof NewTicket>, now: number, background: Background) {
	const account = actor.account;
	if (!account) throw new ApiError(403, "forbidden", "Tickets belong to an account: open one with an account's API key, or link your Discord user first.");
	if (input.node_id) {
		const node = await getNodeRow(env.DB, input.node_id);
		if (!node) throw new ApiError(404, "not_found", `No node '${input.node_id}'.`);
		if (node.account_id !== account.id) throw new ApiError(403, "forbidden", "That node belongs to another account; a ticket can name only your own nodes.");
	}
	const t: TicketRow = {
		id: newId("tkt"), account_id: account.id, subject: input.subject, node_id: input.node_id ?? null, status: "open",
		opened_via: actor.via, created_at: now, updated_at: now, closed_at: null, closed_by: null,
	};
	const m: Omit<MessageRow, "id"> = { ticket_id: t.id, author_role: "owner", author_account_id: account.id, author_name: actor.name, via: actor.via, body: input.body, created_at: now };
	const [inserted, message] = await env.DB.batch([
		// The limits are checked inside the insert, so two requests at once cannot both slip under them.
		env.DB.prepare(`INSERT INTO tickets (id, account_id, subject, node_id, status, opened_via, created_at, updated_at)
		                SELECT ?1, ?2, ?3, ?4, 'open', ?5, ?6, ?6
		                WHERE (SELECT count(*) FROM tickets WHERE account_id = ?2 AND status != 'closed') < ?7
		                  AND (SELECT count(*) FROM tickets WHERE account_id = ?2 AND created_at > ?6 - 3600000) < ?8`)
			.bind(t.id, t.account_id, t.subject, t.node_id, t.opened_via, now, OPEN_TICKETS_MAX, OPENED_PER_HOUR_MAX),
		messageStatement(env.DB, t, m),
		...announce(env, newTicketPost(t, account.name, m), t, now),
	]);
	if (!inserted?.meta.changes) throw await openRefusal(env.DB, account.id, now);
	deliverSoon(env, background, now);
	return { ticket: t, messages: [{ ...m, id: (message?.results[0] as { id: number }).id }] };
}

/** Why a ticket could not be opened: too many open (close one), or too many opened this hour (wait). */
async function openRefusal(db: D1Database, accountId: string, now: number): Promise<ApiError> {
	const r = await db
		.prepare(`SELECT (SELECT count(*) FROM tickets WHERE account_id = ?1 AND status != 'closed') AS open,
		                 (SELECT min(created_at) FROM tickets WHERE account_id = ?1 AND created_at > ?2 - 3600000) AS oldest`)
		.bind(accountId, now).first<{ open: number; oldest: number | null }>();
	if ((r?.open ?? 0) >= OPEN_TICKETS_MAX) return new ApiError(422, "unprocessable", `You already have ${OPEN_TICKETS_MAX} open tickets; add to one of them or close one first.`);
	const wait = Math.max(1, Math.ceil(((r?.oldest ?? now) + 3600_000 - now) / 1000));
	return new ApiError(429, "rate_limited", `You opened ${OPENED_PER_HOUR_MAX} tickets in the last hour; try again in ${Math.ceil(wait / 60)} min.`, { "retry-after": String(wait) });
}

/** Tickets of the account that are not closed yet (for the daily digest). */
export async function openTicketCount(db: D1Database, accountId: string): Promise<number> {
	return (await db.prepare("SELECT count(*) AS n FROM tickets WHERE account_id = ? AND status != 'closed'").bind(accountId).first<{ n: number }>())?.n ?? 0;
}

export async function listTickets(db: D1Database, actor: TicketActor, q: z.infer<typeof TicketListQuery>) {
	const status = q.status ?? (actor.staff ? "active" : "all");
	if (!actor.staff && !actor.accountId) throw new ApiError(403, "forbidden", "Link your account first to see your tickets.");
	const { results } = await db
		.prepare(`SELECT t.*, a.name AS account_name, (SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = t.id) AS messages
		          FROM tickets t JOIN accounts a ON a.id = t.account_id
		          WHERE (?1 OR t.account_id = ?2) AND (?3 = 'all' OR (?3 = 'active' AND t.status != 'closed') OR t.status = ?3)
		          ORDER BY t.updated_at DESC, t.id LIMIT ?4`)
		.bind(actor.staff ? 1 : 0, actor.accountId, status, q.limit ?? 50)
		.all<TicketRow & { account_name: string; messages: number }>();
	return { status, tickets: results };
}

/** The ticket if the caller may see it; anyone else gets the same 404 as for a ticket that does not exist. */
export async function visibleTicket(db: D1Database, actor: TicketViewer, id: string): Promise<TicketRow> {
	const t = await db.prepare("SELECT * FROM tickets WHERE id = ?").bind(id).first<TicketRow>();
	if (!t || !canSee(t, actor)) throw new ApiError(404, "not_found", `No ticket '${id}' that you can see.`);
	return t;
}

export async function readTicket(db: D1Database, actor: TicketViewer, id: string) {
	const t = await visibleTicket(db, actor, id);
	const { results } = await db.prepare("SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id LIMIT ?").bind(id, MESSAGES_MAX).all<MessageRow>();
	return { ticket: t, messages: results };
}

export async function replyToTicket(env: Env, actor: TicketActor, id: string, body: string, now: number, background: Background) {
	const t = await visibleTicket(env.DB, actor, id);
	const role = authorRole(t, actor);
	if (!role) throw new ApiError(404, "not_found", `No ticket '${id}' that you can see.`);
	const next = transition(t.status, role === "owner" ? "owner_reply" : "staff_reply");
	if (!next.ok) throw new ApiError(409, "conflict", next.reason);
	const count = await env.DB
		.prepare("SELECT count(*) AS n, coalesce(sum(author_role = 'owner' AND created_at > ?2 - 60000), 0) AS recent FROM ticket_messages WHERE ticket_id = ?1")
		.bind(id, now).first<{ n: number; recent: number }>();
	if ((count?.n ?? 0) >= MESSAGES_MAX) throw new ApiError(422, "unprocessable", `This ticket has ${MESSAGES_MAX} messages; open a new ticket to continue.`);
	if (role === "owner" && (count?.recent ?? 0) >= OWNER_REPLIES_PER_MINUTE_MAX) {
		throw new ApiError(429, "rate_limited", `You added ${OWNER_REPLIES_PER_MINUTE_MAX} messages to this ticket in the last minute; wait a moment.`, { "retry-after": "60" });
	}
	const after: TicketRow = { ...t, status: next.status, updated_at: now };
	const m: Omit<MessageRow, "id"> = { ticket_id: id, author_role: role, author_account_id: actor.accountId, author_name: actor.name, via: actor.via, body, created_at: now };
	const [updated, message] = await env.DB.batch([
		env.DB.prepare("UPDATE tickets SET status = ?, updated_at = ? WHERE id = ? AND status = ? AND updated_at = ?").bind(after.status, now, id, t.status, t.updated_at),
		messageStatement(env.DB, after, m),
		...announce(env, replyPost(after, m), after, now),
	]);
	if (!updated?.meta.changes) throw new ApiError(409, "conflict", "The ticket changed while you were replying; look at it again and retry.");
	deliverSoon(env, background, now);
	return { ticket: after, message: { ...m, id: (message?.results[0] as { id: number }).id } };
}

export async function closeTicket(env: Env, actor: TicketActor, id: string, now: number, background: Background) {
	const t = await visibleTicket(env.DB, actor, id);
	const next = transition(t.status, "close");
	if (!next.ok) throw new ApiError(409, "conflict", next.reason);
	const after: TicketRow = { ...t, status: "closed", updated_at: now, closed_at: now, closed_by: actor.name };
	const [updated] = await env.DB.batch([
		env.DB.prepare("UPDATE tickets SET status = 'closed', updated_at = ?, closed_at = ?, closed_by = ? WHERE id = ? AND status = ? AND updated_at = ?")
			.bind(now, now, actor.name, id, t.status, t.updated_at),
		...announce(env, closedPost(after, actor.name, actor.via), after, now),
	]);
	if (!updated?.meta.changes) throw new ApiError(409, "conflict", "The ticket changed meanwhile; look at it again.");
	deliverSoon(env, background, now);
	return { ticket: after };
}
