// Linking a chat to an account, for both bots: the one-time code flow and every answer about it, worded once.
import * as links from "../../workers/db/links.ts";
import type { Account } from "../../workers/db/accounts.ts";
import { ApiError } from "../../workers/failure.ts";
import { LINK_CODE_TTL_MS } from "../../workers/services/links.ts";

/**
 * What differs between the bots: who is being linked, how a code is redeemed there, and the markup for code and
 * emphasis.
 */
export interface LinkSurface {
	kind: links.ChatKind;
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
		`Get a one-time code with ${s.code("POST /v1/links")} ` +
			`(send your API key as ${s.code("Authorization: Bearer pgk_…")}; codes last ${TTL}), then ${s.redeem}.`,
	].join("\n");
}

export function redeemFailedText(s: LinkSurface, reason: "unknown" | "expired" | "used"): string {
	const again = `Create a new one with ${s.code("POST /v1/links")} and ${s.redeem}.`;
	switch (reason) {
		case "unknown":
			return `❌ That code is not valid. ${again}`;
		case "expired":
			return `⌛ That code has expired (codes last ${TTL}). ${again}`;
		case "used":
			return `❌ That code has already been used. ${again}`;
	}
}

/** Why a code could not be spent, as the one failure type: worded for this surface, the reason kept in `details`. */
function redeemRefused(s: LinkSurface, reason: "unknown" | "expired" | "used"): ApiError {
	return reason === "unknown"
		? new ApiError(404, "not_found", redeemFailedText(s, reason), {}, { reason })
		: new ApiError(409, "conflict", redeemFailedText(s, reason), {}, { reason });
}

/**
 * Spends the code and links this chat to its account, recording who sent it (`linkedBy`); `before` is the account
 * it was linked to until now, if another. A code that cannot be spent is refused (an ApiError whose message is the
 * answer).
 */
export async function linkWithCode(
	db: D1Database,
	s: LinkSurface,
	externalId: string,
	code: string,
	now: number,
	linkedBy: string | null,
): Promise<{ account: Account; before: Account | null }> {
	const before = await links.linkedAccount(db, s.kind, externalId);
	const r = await links.redeem(db, code, s.kind, externalId, now, linkedBy);
	if (!r.ok) throw redeemRefused(s, r.reason);
	const account = await links.linkedAccount(db, s.kind, externalId);
	if (!account) throw redeemRefused(s, "unknown");
	return { account, before: before && before.id !== account.id ? before : null };
}

/** Unlinks this chat; the answer says what happened either way. */
export async function unlinkText(db: D1Database, s: LinkSurface, externalId: string): Promise<string> {
	if (!(await links.unlink(db, s.kind, externalId))) return notLinkedText(s);
	return `Unlinked. ${s.unlinked} Link again any time: ${s.redeem}.`;
}
