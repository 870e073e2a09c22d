// Pure ticket rules: every status × event, who sees a ticket and who writes as whom, and the retry schedule of staff
// posts.
import { describe, expect, it } from "vitest";
import { TICKET_STATUSES, authorRole, canSee, transition, type TicketEvent } from "../../workers/domain/tickets.ts";
import { clip } from "../../workers/domain/text.ts";
import { MAX_ATTEMPTS, RETRY_BASE_MS, RETRY_CAP_MS, retryDelayMs, shouldGiveUp } from "../../workers/domain/retry.ts";
import { closedPost, code, newTicketPost, replyPost } from "../../workers/domain/ticket-text.ts";

describe("ticket transitions", () => {
	const expected: Record<string, Record<TicketEvent, string | null>> = {
		open: { owner_reply: "open", staff_reply: "waiting_on_user", close: "closed" },
		waiting_on_staff: { owner_reply: "waiting_on_staff", staff_reply: "waiting_on_user", close: "closed" },
		waiting_on_user: { owner_reply: "waiting_on_staff", staff_reply: "waiting_on_user", close: "closed" },
		closed: { owner_reply: null, staff_reply: null, close: null },
	};
	for (const from of TICKET_STATUSES) {
		for (const event of ["owner_reply", "staff_reply", "close"] as const) {
			const to = expected[from]?.[event] ?? null;
			it(`${from} + ${event} → ${to ?? "refused"}`, () => {
				const r = transition(from, event);
				if (to) expect(r).toEqual({ ok: true, status: to });
				else expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/closed/) });
			});
		}
	}
});

describe("ticket visibility", () => {
	const ticket = { account_id: "acc_owner" };
	it("shows a ticket to its owner and to staff only", () => {
		expect(canSee(ticket, { accountId: "acc_owner", staff: false })).toBe(true);
		expect(canSee(ticket, { accountId: "acc_other", staff: false })).toBe(false);
		expect(canSee(ticket, { accountId: null, staff: false })).toBe(false);
		expect(canSee(ticket, { accountId: null, staff: true })).toBe(true);
	});

	it("lets the owner write as owner even when staff, other staff as staff, and nobody else", () => {
		expect(authorRole(ticket, { accountId: "acc_owner", staff: true })).toBe("owner");
		expect(authorRole(ticket, { accountId: "acc_helper", staff: true })).toBe("staff");
		expect(authorRole(ticket, { accountId: null, staff: true })).toBe("staff");
		expect(authorRole(ticket, { accountId: "acc_other", staff: false })).toBeNull();
	});

	it("clips text to the limit with an ellipsis", () => {
		expect(clip("abcdef", 4)).toBe("abc…");
		expect(clip("abc", 4)).toBe("abc");
	});
});

describe("staff posts", () => {
	const t = { id: "tkt_1", subject: "s", status: "open", node_id: null, account_id: "acc_1" };
	it("stays within Discord's 2000 characters with the longest body and quotes every line", () => {
		const body = "line\n".repeat(800);
		const post = newTicketPost({ ...t, subject: "x".repeat(120) }, "n".repeat(64), {
			author_name: "a",
			author_role: "owner",
			via: "api",
			body,
		});
		expect(post.length).toBeLessThanOrEqual(2000);
		expect(post).toContain("> line\n> line");
		expect(
			replyPost(t, { author_name: "a", author_role: "staff", via: "discord", body: "y".repeat(4000) }).length,
		).toBeLessThanOrEqual(2000);
		expect(closedPost(t, "admin", "api")).toContain("closed by **admin** via the API");
	});

	it("keeps backticks in user text from breaking out of inline code", () => {
		expect(code("a`b")).toBe("`a'b`");
	});
});

describe("retry schedule", () => {
	it("backs off exponentially from 30 s to an hourly cap, and honours a rate limit's retry_after as given", () => {
		expect(retryDelayMs(1)).toBe(RETRY_BASE_MS);
		expect(retryDelayMs(2)).toBe(2 * RETRY_BASE_MS);
		expect(retryDelayMs(20)).toBe(RETRY_CAP_MS);
		expect(retryDelayMs(1, 7_000)).toBe(7_000);
		expect(retryDelayMs(1, 10)).toBe(1_000);
	});

	it(`gives up at ${MAX_ATTEMPTS} attempts`, () => {
		expect(shouldGiveUp(MAX_ATTEMPTS - 1)).toBe(false);
		expect(shouldGiveUp(MAX_ATTEMPTS)).toBe(true);
	});
});
