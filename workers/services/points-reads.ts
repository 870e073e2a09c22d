// Which settled epoch a points question is about, and an account's ledger rows in it: shared by the points routes and the bots.
import { ApiError, validate } from "../http.ts";
import { EpochParam } from "../schemas.ts";
import { epochStatus, getEpoch, latestSettled, type EpochRow, type LedgerRow } from "./epochs.ts";

export async function epochOr404(db: D1Database, raw: unknown): Promise<EpochRow> {
	const n = validate(EpochParam, raw);
	const e = await getEpoch(db, n);
	if (!e) throw new ApiError(404, "not_found", `No epoch ${n}.`);
	return e;
}

export function requireSettled(e: EpochRow): void {
	if (epochStatus(e) !== "settled") throw new ApiError(409, "conflict", `Epoch ${e.n} is not settled yet (status: ${epochStatus(e)}); its rows and root appear when it is.`);
}

/** The given epoch, or the newest settled one when none is given. */
export async function settledEpoch(db: D1Database, n: number | undefined): Promise<EpochRow> {
	const e = n === undefined ? await latestSettled(db) : await epochOr404(db, n);
	if (!e) throw new ApiError(409, "conflict", "No epoch has been settled yet.");
	requireSettled(e);
	return e;
}

/** An account's rows in one epoch, most points first, with the epoch's totals for the account (adjustments included). */
export async function accountEpochRows(db: D1Database, accountId: string, epoch: number, limit: number) {
	const [rows, totals] = await db.batch([
		db.prepare("SELECT * FROM points_ledger WHERE account_id = ? AND epoch = ? ORDER BY points DESC, node_id LIMIT ?").bind(accountId, epoch, limit),
		db.prepare(`SELECT count(*) AS nodes, coalesce(sum(points), 0) AS points, coalesce(sum(reward), 0) AS reward,
		                   coalesce((SELECT sum(a.points) FROM points_adjustments a JOIN nodes n ON n.id = a.node_id WHERE n.account_id = ?1 AND a.epoch = ?2), 0) AS adjustments
		            FROM points_ledger WHERE account_id = ?1 AND epoch = ?2`).bind(accountId, epoch),
	]);
	return {
		rows: (rows?.results ?? []) as LedgerRow[],
		totals: (totals?.results[0] ?? { nodes: 0, points: 0, reward: 0, adjustments: 0 }) as { nodes: number; points: number; reward: number; adjustments: number },
	};
}
