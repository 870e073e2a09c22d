// Linking a chat to an account, for both bots: the one-time code flow and every answer about it, worded once.
import type { Account } from "../../workers/services/accounts.ts";
import { LINK_CODE_TTL_MS, linkedAccount, redeemLinkCode, unlink, type ChatKind } from "../../workers/services/links.ts";

/** What differs between the bots: who is being linked, how a code is redeemed there, and the markup for code and emphasis. */
export interface LinkSurface {
	kind: ChatKind;
	/** "This chat", "Your Discord user". */
	subject: string;
	/** "send /start CODE here". */
	redeem: string;
	/** What unlinking means here, after "Unlinked.". */
	unlinked: string;
	code(text: string): string;
	bold(text: string): string;
}

const TTL = `${Math.round(LINK_CODE_TTL_MS / 60_000)} minutes`;

export function notLinkedText(s: LinkSurface): string {
	return [
		`🔗 ${s.bold("Link first.")} ${s.subject} is not linked to a pulsegrid account yet.`,
		`Get a one-time code with ${s.code("POST /v1/links")} (send your API key as ${s.code("Authorization: Bearer pgk_…")}; codes last ${TTL}), then ${s.redeem}.`,
	].join("\n");
}

export function redeemFailedText(s: LinkSurface, reason: "unknown" | "expired" | "used"): string {
	const again = `Create a new one with ${s.code("POST /v1/links")} and ${s.redeem}.`;
	switch (reason) {
		case "unknown": return `❌ That code is not valid. ${again}`;
		case "expired": return `⌛ That code has expired (codes last ${TTL}). ${again}`;
		case "used": return `❌ That code has already been used. ${again}`;
	}
}

export type LinkOutcome = { ok: true; account: Account; before: Account | null } | { ok: false; message: string };

/** Spends the code and links this chat to its account; `before` is the account it was linked to until now, if another. */
export async function linkWithCode(db: D1Database, s: LinkSurface, externalId: string, code: string, now: number): Promise<LinkOutcome> {
	const before = await linkedAccount(db, s.kind, externalId);
	const r = await redeemLinkCode(db, code, s.kind, externalId, now);
	if (!r.ok) return { ok: false, message: redeemFailedText(s, r.reason) };
	const account = await linkedAccount(db, s.kind, externalId);
	if (!account) return { ok: false, message: redeemFailedText(s, "unknown") };
	return { ok: true, account, before: before && before.id !== account.id ? before : null };
}

/** Unlinks this chat; the answer says what happened either way. */
export async function unlinkText(db: D1Database, s: LinkSurface, externalId: string): Promise<string> {
	if (!(await unlink(db, s.kind, externalId))) return notLinkedText(s);
	return `Unlinked. ${s.unlinked} Link again any time: ${s.redeem}.`;
}
