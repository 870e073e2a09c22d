// Which settled epoch a points question is about, and how an epoch reads: shared by the points routes and the bots.
import { getEpoch, latestSettled, type EpochRow } from "../db/epochs.ts";
import { ApiError, iso, validate } from "../http.ts";
import { EpochParam } from "../schemas.ts";

export function epochStatus(e: EpochRow): "open" | "closing" | "settled" {
	return e.settled_at !== null ? "settled" : e.ended_at !== null ? "closing" : "open";
}

export function epochView(e: EpochRow) {
	return {
		epoch: e.n,
		status: epochStatus(e),
		started_at: iso(e.started_at),
		ended_at: iso(e.ended_at),
		settled_at: iso(e.settled_at),
		root: e.root,
		nodes: e.nodes,
		total_points: e.total_points,
		emission: e.emission,
	};
}

export async function epochOr404(db: D1Database, raw: unknown): Promise<EpochRow> {
	const n = validate(EpochParam, raw);
	const e = await getEpoch(db, n);
	if (!e) throw new ApiError(404, "not_found", `No epoch ${n}.`);
	return e;
}

export function requireSettled(e: EpochRow): void {
	if (epochStatus(e) !== "settled")
		throw new ApiError(
			409,
			"conflict",
			`Epoch ${e.n} is not settled yet (status: ${epochStatus(e)}); its rows and root appear when it is.`,
		);
}

/** The given epoch, or the newest settled one when none is given. */
export async function settledEpoch(db: D1Database, n: number | undefined): Promise<EpochRow> {
	const e = n === undefined ? await latestSettled(db) : await epochOr404(db, n);
	if (!e) throw new ApiError(409, "conflict", "No epoch has been settled yet.");
	requireSettled(e);
	return e;
}
