// Credits as the API shows them: entries for the renter, and grants made once per key.
import type { AuditEntry } from "../db/audit.ts";
import * as credits from "../db/credits.ts";
import type { EntryRow } from "../db/credits.ts";
import { iso } from "../http.ts";

export function entryView(r: EntryRow) {
	return {
		id: r.id,
		kind: r.kind,
		available_delta_cents: r.available_delta,
		held_delta_cents: r.held_delta,
		cluster_id: r.cluster_id,
		node_id: r.node_id,
		memo: r.memo,
		created_at: iso(r.created_at),
	};
}

export async function entries(db: D1Database, accountId: string, limit: number) {
	return (await credits.entries(db, accountId, limit)).map(entryView);
}

/**
 * Grants credits once per key, with `trace` (and the memo) in the audit log, the entry and its audit entry written in
 * one transaction: `created` says whether this call granted them or found the same grant already made (a replay:
 * answered like the first, audited once); null, with nothing written, when the key was already used for a different
 * grant. The memo must already be storable text (schemas.ts `userText`), so a replay compares equal.
 */
export async function grantOnce(
	db: D1Database,
	key: string,
	accountId: string,
	cents: number,
	memo: string | null,
	trace: AuditEntry & { details: Record<string, unknown> },
	now: number,
): Promise<{ entry: ReturnType<typeof entryView>; created: boolean } | null> {
	const created = await credits.recordOnceAudited(
		db,
		{ key, account_id: accountId, kind: "grant", available_delta: cents, held_delta: 0, memo },
		{ ...trace, details: { ...trace.details, memo } },
		now,
	);
	const r = await credits.byKey(db, key);
	if (!r) return null;
	// The call that wrote the entry is answered with it: its money moved, so it must never read as a refusal.
	if (created) return { entry: entryView(r), created };
	const same = r.account_id === accountId && r.available_delta === cents && r.memo === memo;
	return same ? { entry: entryView(r), created } : null;
}
