// Owns the `tickets` and `ticket_messages` tables: support tickets and their messages, each write guarded by state.
import type { TicketStatus } from "../domain/tickets.ts";
import { enqueueStatement, type Guard, type Post } from "./discord-outbox.ts";
import { noticeStatements, type Notice } from "./notices.ts";

export type Via = "api" | "discord" | "telegram";

export interface TicketRow {
	id: string;
	account_id: string;
	subject: string;
	node_id: string | null;
	/** The flag this ticket appeals, if it is an appeal. */
	flag_id: string | null;
	status: TicketStatus;
	opened_via: Via;
	created_at: number;
	updated_at: number;
	closed_at: number | null;
	closed_by: string | null;
	/** The newest message id the owner has seen (0: none); staff messages after it are unread. Absent before stored. */
	owner_seen_id?: number;
}

/** Staff messages of ticket `t` that its owner has not seen (SQL over a `tickets` row named t). */
const UNREAD_SQL = `(SELECT count(*) FROM ticket_messages m
	WHERE m.ticket_id = t.id AND m.author_role = 'staff' AND m.id > t.owner_seen_id)`;

export interface MessageRow {
	id: number;
	ticket_id: string;
	author_role: "owner" | "staff";
	author_account_id: string | null;
	author_name: string;
	via: Via;
	body: string;
	created_at: number;
}

export type NewMessage = Omit<MessageRow, "id">;

const HOUR_MS = 3_600_000;

/** "The ticket is in the state this request just put it in": a lost race writes nothing after the change. */
function stateGuard(t: TicketRow): Guard {
	return {
		sql: "EXISTS (SELECT 1 FROM tickets WHERE id = ? AND status = ? AND updated_at = ?)",
		params: [t.id, t.status, t.updated_at],
	};
}

/** Inserts a message only if the ticket is in the state `t` (the one this request just put it in). */
function messageStatement(db: D1Database, t: TicketRow, m: NewMessage): D1PreparedStatement {
	const guard = stateGuard(t);
	return db
		.prepare(`INSERT INTO ticket_messages
			(ticket_id, author_role, author_account_id, author_name, via, body, created_at)
			SELECT ?, ?, ?, ?, ?, ?, ? WHERE ${guard.sql} RETURNING id`)
		.bind(t.id, m.author_role, m.author_account_id, m.author_name, m.via, m.body, m.created_at, ...guard.params);
}

/** The staff-channel post announcing the change, queued only if the change happened. */
function announce(db: D1Database, post: Post | null, t: TicketRow, now: number): D1PreparedStatement[] {
	return post ? [enqueueStatement(db, post, now, stateGuard(t))] : [];
}

/** The owner's notice of the change (in their linked chats), queued only if the change happened. */
function tell(db: D1Database, notice: Notice | null, t: TicketRow, now: number): D1PreparedStatement[] {
	return notice ? noticeStatements(db, t.account_id, notice, now, stateGuard(t)) : [];
}

function insertedId(r: D1Result | undefined): number {
	return (r?.results[0] as { id: number }).id;
}

/**
 * Opens a ticket with its first message (and its staff-channel post), in one batch. The limits are checked inside the
 * insert, so two requests at once cannot both slip under them; null when a limit refused it.
 */
export async function open(
	db: D1Database,
	t: TicketRow,
	m: NewMessage,
	post: Post | null,
	limits: { open: number; perHour: number },
): Promise<{ messageId: number } | null> {
	const [inserted, message] = await db.batch([
		db
			.prepare(`INSERT INTO tickets (id, account_id, subject, node_id, status, opened_via, created_at, updated_at, flag_id)
				SELECT ?1, ?2, ?3, ?4, 'open', ?5, ?6, ?6, ?9
				WHERE (SELECT count(*) FROM tickets WHERE account_id = ?2 AND status != 'closed') < ?7
				  AND (SELECT count(*) FROM tickets WHERE account_id = ?2 AND created_at > ?6 - ${HOUR_MS}) < ?8`)
			.bind(
				t.id,
				t.account_id,
				t.subject,
				t.node_id,
				t.opened_via,
				t.created_at,
				limits.open,
				limits.perHour,
				t.flag_id,
			),
		messageStatement(db, t, m),
		...announce(db, post, t, t.created_at),
	]);
	return inserted?.meta.changes ? { messageId: insertedId(message) } : null;
}

/** The account's tickets not closed yet, and when the oldest of those opened in the hour before `now` was opened. */
export async function openingLoad(db: D1Database, accountId: string, now: number) {
	const r = await db
		.prepare(`SELECT (SELECT count(*) FROM tickets WHERE account_id = ?1 AND status != 'closed') AS open,
				(SELECT min(created_at) FROM tickets WHERE account_id = ?1 AND created_at > ?2 - ${HOUR_MS}) AS oldest`)
		.bind(accountId, now)
		.first<{ open: number; oldest: number | null }>();
	return { open: r?.open ?? 0, oldest: r?.oldest ?? null };
}

/** Tickets of the account that are not closed yet. */
export async function openCount(db: D1Database, accountId: string): Promise<number> {
	const r = await db
		.prepare("SELECT count(*) AS n FROM tickets WHERE account_id = ? AND status != 'closed'")
		.bind(accountId)
		.first<{ n: number }>();
	return r?.n ?? 0;
}

/**
 * Tickets most recently updated first, with their account's name and message count: everyone's (`all`) or one
 * account's, of one status, `active` (not closed) or `all`.
 */
export async function list(
	db: D1Database,
	q: { everyone: boolean; accountId: string | null; status: string; limit: number; unreadOnly?: boolean },
) {
	const { results } = await db
		.prepare(`SELECT * FROM (SELECT t.*, a.name AS account_name,
				(SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = t.id) AS messages, ${UNREAD_SQL} AS unread
			FROM tickets t JOIN accounts a ON a.id = t.account_id
			WHERE (?1 OR t.account_id = ?2) AND (?3 = 'all' OR (?3 = 'active' AND t.status != 'closed') OR t.status = ?3))
			WHERE NOT ?5 OR unread > 0
			ORDER BY updated_at DESC, id LIMIT ?4`)
		.bind(q.everyone ? 1 : 0, q.accountId, q.status, q.limit, q.unreadOnly ? 1 : 0)
		.all<TicketRow & { account_name: string; messages: number; unread: number }>();
	return results;
}

/** Staff messages of the ticket its owner has not seen. */
export async function unreadOf(db: D1Database, id: string): Promise<number> {
	const r = await db
		.prepare(`SELECT ${UNREAD_SQL} AS unread FROM tickets t WHERE t.id = ?`)
		.bind(id)
		.first<{ unread: number }>();
	return r?.unread ?? 0;
}

/**
 * Marks every message of the ticket seen by its owner; returns how many staff messages they had not seen before (the
 * answer that marks them still shows them as new).
 */
export async function markSeen(db: D1Database, id: string): Promise<number> {
	const [before] = await db.batch([
		db.prepare(`SELECT ${UNREAD_SQL} AS unread FROM tickets t WHERE t.id = ?`).bind(id),
		db
			.prepare(`UPDATE tickets SET owner_seen_id = (SELECT coalesce(max(id), 0) FROM ticket_messages WHERE ticket_id = ?1)
				WHERE id = ?1`)
			.bind(id),
	]);
	return (before?.results[0] as { unread: number } | undefined)?.unread ?? 0;
}

export async function byId(db: D1Database, id: string): Promise<TicketRow | null> {
	return db.prepare("SELECT * FROM tickets WHERE id = ?").bind(id).first<TicketRow>();
}

/** The ticket's messages, oldest first. */
export async function messages(db: D1Database, id: string, limit: number): Promise<MessageRow[]> {
	const { results } = await db
		.prepare("SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id LIMIT ?")
		.bind(id, limit)
		.all<MessageRow>();
	return results;
}

/** The ticket's message count, and how many of them the owner wrote in the minute before `now`. */
export async function messageLoad(db: D1Database, id: string, now: number): Promise<{ n: number; recent: number }> {
	const r = await db
		.prepare(`SELECT count(*) AS n, coalesce(sum(author_role = 'owner' AND created_at > ?2 - 60000), 0) AS recent
			FROM ticket_messages WHERE ticket_id = ?1`)
		.bind(id, now)
		.first<{ n: number; recent: number }>();
	return { n: r?.n ?? 0, recent: r?.recent ?? 0 };
}

/**
 * Moves the ticket from `before` to `after` (status and updated_at), adding a message and a post, in one batch; null
 * when the ticket changed meanwhile (then nothing is written).
 */
export async function reply(
	db: D1Database,
	before: TicketRow,
	after: TicketRow,
	m: NewMessage,
	post: Post | null,
	notice: Notice | null = null,
): Promise<{ messageId: number } | null> {
	const [updated, message] = await db.batch([
		db
			.prepare("UPDATE tickets SET status = ?, updated_at = ? WHERE id = ? AND status = ? AND updated_at = ?")
			.bind(after.status, after.updated_at, before.id, before.status, before.updated_at),
		messageStatement(db, after, m),
		...announce(db, post, after, after.updated_at),
		...tell(db, notice, after, after.updated_at),
		// The owner who answers has seen everything up to their answer.
		...(m.author_role === "owner"
			? [
					db
						.prepare(`UPDATE tickets SET owner_seen_id = (SELECT max(id) FROM ticket_messages WHERE ticket_id = ?1)
							WHERE id = ?1 AND status = ?2 AND updated_at = ?3`)
						.bind(after.id, after.status, after.updated_at),
				]
			: []),
	]);
	return updated?.meta.changes ? { messageId: insertedId(message) } : null;
}

/** Closes the ticket (as `after` says) with its post, in one batch; false when the ticket changed meanwhile. */
export async function close(
	db: D1Database,
	before: TicketRow,
	after: TicketRow,
	post: Post | null,
	notice: Notice | null = null,
): Promise<boolean> {
	const [updated] = await db.batch([
		db
			.prepare(`UPDATE tickets SET status = 'closed', updated_at = ?, closed_at = ?, closed_by = ?
				WHERE id = ? AND status = ? AND updated_at = ?`)
			.bind(after.updated_at, after.closed_at, after.closed_by, before.id, before.status, before.updated_at),
		...announce(db, post, after, after.updated_at),
		...tell(db, notice, after, after.updated_at),
	]);
	return !!updated?.meta.changes;
}

/** The ids of the tickets appealing a flag that are not closed yet. */
export async function openAppeals(db: D1Database, flagId: string): Promise<string[]> {
	const { results } = await db
		.prepare("SELECT id FROM tickets WHERE flag_id = ? AND status != 'closed' ORDER BY created_at")
		.bind(flagId)
		.all<{ id: string }>();
	return results.map((r) => r.id);
}

/**
 * Answers every open appeal of a flag with staff's `note` and closes it, only if `guard` holds (the flag was just
 * cleared): statements for the batch that clears the flag.
 */
export function closeAppealsStatements(
	db: D1Database,
	flagId: string,
	note: { author: string; body: string },
	now: number,
	guard: Guard,
): D1PreparedStatement[] {
	return [
		db
			.prepare(`INSERT INTO ticket_messages (ticket_id, author_role, author_account_id, author_name, via, body, created_at)
				SELECT id, 'staff', NULL, ?, 'api', ?, ? FROM tickets WHERE flag_id = ? AND status != 'closed' AND ${guard.sql}
				ORDER BY created_at`)
			.bind(note.author, note.body, now, flagId, ...guard.params),
		db
			.prepare(`UPDATE tickets SET status = 'closed', updated_at = ?1, closed_at = ?1, closed_by = ?2
				WHERE flag_id = ?3 AND status != 'closed' AND ${guard.sql}`)
			.bind(now, note.author, flagId, ...guard.params),
	];
}
