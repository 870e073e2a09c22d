// An account's points in one settled epoch, for both bots: the ledger reads GET /v1/nodes/:id/points and GET /v1/points
// serve.
import { accountEpochRows, accountPoints } from "../../workers/db/ledger.ts";
import { settledEpoch } from "../../workers/services/points-reads.ts";
import { breakdown } from "../../workers/services/points.ts";

export type Breakdown = Awaited<ReturnType<typeof breakdown>>;

/**
 * The epoch asked for (default: the newest settled one; an epoch that does not exist or is not settled is an ApiError
 * whose message says so), the account's totals in it, the full breakdown of its `detailed` best nodes, and lifetime
 * points.
 */
export async function epochPoints(db: D1Database, accountId: string, epoch: number | undefined, detailed: number) {
	const e = await settledEpoch(db, epoch);
	const [{ rows, totals }, { lifetime }] = await Promise.all([
		accountEpochRows(db, accountId, e.n, detailed),
		accountPoints(db, accountId, 1),
	]);
	const details = await Promise.all(rows.map((r) => breakdown(db, r)));
	const life = lifetime as { points: number; adjustments: number } | null;
	return { epoch: e, totals, details, lifetimePoints: life ? life.points + life.adjustments : 0 };
}
