// Support tickets as pure rules: the statuses, what a reply or a close does to them, the limits, and who may see a
// ticket.

export const TICKET_STATUSES = ["open", "waiting_on_staff", "waiting_on_user", "closed"] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const SUBJECT_MAX = 120;
export const BODY_MAX = 4000;
/** Tickets one account may have open at once: enough for real trouble, too few to flood the staff channel. */
export const OPEN_TICKETS_MAX = 10;
/** Messages in one ticket, the opening one included; past this, open a new ticket. */
export const MESSAGES_MAX = 200;
/**
 * Tickets one account may open in an hour, closed ones included: open-and-close cycles cannot flood the staff channel.
 */
export const OPENED_PER_HOUR_MAX = 20;
/** Owner messages to one ticket per minute (each is posted to the staff channel); staff are not limited. */
export const OWNER_REPLIES_PER_MINUTE_MAX = 5;

export type TicketEvent = "owner_reply" | "staff_reply" | "close";

/**
 * The documented transitions (docs in README "Support tickets" and /openapi.json):
 *
 *   open             ── owner adds a message ─▶ open              (still waiting for a first answer)
 *   open             ── staff replies ───────▶ waiting_on_user
 *   waiting_on_user  ── owner replies ───────▶ waiting_on_staff
 *   waiting_on_staff ── staff replies ───────▶ waiting_on_user
 *   waiting_on_staff ── owner adds more ─────▶ waiting_on_staff
 *   waiting_on_user  ── staff adds more ─────▶ waiting_on_user
 *   any but closed   ── owner or staff closes ▶ closed
 *   closed           ── nothing: no replies, no second close; open a new ticket.
 */
export const TRANSITIONS: Readonly<Record<TicketStatus, Partial<Record<TicketEvent, TicketStatus>>>> = {
	open: { owner_reply: "open", staff_reply: "waiting_on_user", close: "closed" },
	waiting_on_staff: { owner_reply: "waiting_on_staff", staff_reply: "waiting_on_user", close: "closed" },
	waiting_on_user: { owner_reply: "waiting_on_staff", staff_reply: "waiting_on_user", close: "closed" },
	closed: {},
};

export type Transition = { ok: true; status: TicketStatus } | { ok: false; reason: string };

export function transition(from: TicketStatus, event: TicketEvent): Transition {
	const to = TRANSITIONS[from][event];
	if (to) return { ok: true, status: to };
	return {
		ok: false,
		reason:
			event === "close" ? "This ticket is already closed." : "This ticket is closed; open a new ticket to continue.",
	};
}

/** Who is looking: an account (maybe staff), or staff with no account (the admin token, a Discord staff role). */
export interface TicketViewer {
	accountId: string | null;
	staff: boolean;
}

/**
 * Staff: granted by the door (the admin token, a configured Discord role or user), or a staff account whichever door it
 * uses.
 */
export function isStaff(granted: boolean, account: { role: string } | null): boolean {
	return granted || account?.role === "staff";
}

/** Owners see their own tickets; staff see every ticket. */
export function canSee(ticket: { account_id: string }, viewer: TicketViewer): boolean {
	return viewer.staff || (viewer.accountId !== null && viewer.accountId === ticket.account_id);
}

/**
 * The role a viewer writes with: the owner as owner (even a staff member on their own ticket), other staff as staff.
 */
export function authorRole(ticket: { account_id: string }, viewer: TicketViewer): "owner" | "staff" | null {
	if (viewer.accountId !== null && viewer.accountId === ticket.account_id) return "owner";
	return viewer.staff ? "staff" : null;
}
